/*
 * checkout.c - POST /api/v1/orders and the orders' reads (GET /orders,
 * /orders/{id}, /orders/{id}/timeline). Checkout: the Idempotency-Key is
 * claimed first in its own short transaction; the order, its lines, the
 * cart lines it bought, order.created and the key's answer then commit in
 * one transaction, only while the claim is still this request's.
 */
#include "orders.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include <arcade/address.h>
#include <arcade/json.h>
#include <arcade/log.h>
#include <arcade/req.h>

/* The caller: a user's session (customer or admin), or the operator key
 * (admin, user_id 0). */
static bool
identify(arc_req *r, struct arc_principal *who)
{
    struct orders *o = r->ctx;
    return arc_auth_identify(r, &o->auth, who) == 0;
}

static bool
is_admin(const struct arc_principal *who)
{
    return who->role == ARC_ROLE_ADMIN;
}

/* ---- the request ---------------------------------------------------------- */

/* The Idempotency-Key header: 1..IDEM_KEY_MAX printable ASCII characters.
 * NULL when answered (400). */
static const char *
read_idempotency_key(arc_req *r)
{
    const char *k = arc_req_header(r, "HTTP_IDEMPOTENCY_KEY");
    if (k == NULL || k[0] == '\0') {
        arc_respond_error(r, 400, "idempotency_key_required",
                          "POST /orders needs an Idempotency-Key header", NULL);
        return NULL;
    }
    size_t len = strlen(k);
    bool ok = len <= IDEM_KEY_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = k[i] > 0x20 && k[i] < 0x7f;
    if (!ok) {
        arc_respond_error(r, 400, "invalid_idempotency_key",
                          "an Idempotency-Key is 1 to 255 printable ASCII characters", NULL);
        return NULL;
    }
    return k;
}

/* What the body asks for. */
struct checkout_in {
    int64_t address_id; /* 0: shipping_address */
    arc_buf address;    /* the address as the order keeps it (JSON) */
    struct cart_line lines[CART_LINES_MAX];
    size_t nlines;
    bool from_cart;
};

/* Validates an address object like the users service does and renders it
 * (name, line1, line2, city, postal_code, country, phone) into out. field
 * is the name under which its messages go ("shipping_address"). Returns
 * false with messages in *fields. */
static bool
read_address(json_object *a, const char *field, arc_buf *out, json_object **fields)
{
    static const struct {
        const char *key;
        unsigned flags;
        size_t max;
    } text[] = {
        {"name", ARC_REQUIRED, ARC_ADDR_NAME_MAX},
        {"line1", ARC_REQUIRED, ARC_ADDR_LINE_MAX},
        {"line2", 0, ARC_ADDR_LINE_MAX},
        {"city", ARC_REQUIRED, ARC_ADDR_CITY_MAX},
        {"postal_code", ARC_REQUIRED, ARC_ADDR_POSTAL_MAX},
    };
    json_object *sub = NULL;
    char name[64];
    const char *s[7] = {0};
    size_t len[7] = {0};
    for (size_t i = 0; i < ARC_ARRAY_LEN(text); i++)
        (void)arc_json_string(a, text[i].key, text[i].flags, text[i].flags ? 1 : 0, text[i].max,
                              &s[i], &len[i], &sub);
    if (arc_json_string(a, "country", ARC_REQUIRED, 0, SIZE_MAX, &s[5], &len[5], &sub) ==
            ARC_FIELD_OK &&
        !arc_country_known(s[5], len[5]))
        arc_json_field_error(&sub, "country",
                             "must be an ISO 3166-1 alpha-2 code in upper case, such as DE");
    if (arc_json_string(a, "phone", 0, 0, SIZE_MAX, &s[6], &len[6], &sub) == ARC_FIELD_OK &&
        !arc_phone_valid(s[6], len[6]))
        arc_json_field_error(&sub, "phone",
                             "must be at most 32 characters of digits, spaces and + - ( ) .");
    if (sub != NULL) {
        json_object_object_foreach(sub, k, v)
        {
            snprintf(name, sizeof name, "%s.%s", field, k);
            arc_json_field_error(fields, name, "%s", json_object_get_string(v));
        }
        json_object_put(sub);
        return false;
    }
    static const char *const keys[] = {"name",        "line1",   "line2", "city",
                                       "postal_code", "country", "phone"};
    arc_buf_reset(out);
    for (size_t i = 0; i < 7; i++) {
        arc_buf_append_str(out, i ? ",\"" : "{\"");
        arc_buf_append_str(out, keys[i]);
        arc_buf_append_str(out, "\":");
        arc_buf_append_json_string(out, s[i] ? s[i] : "", s[i] ? len[i] : 0);
    }
    arc_buf_append_char(out, '}');
    return true;
}

/* "items": 1..CART_LINES_MAX lines of {product_id, quantity 1..99}, each
 * product once. */
static void
read_items(json_object *items, struct checkout_in *in, json_object **fields)
{
    size_t n = json_object_is_type(items, json_type_array) ? json_object_array_length(items) : 0;
    if (n < 1 || n > CART_LINES_MAX) {
        arc_json_field_error(fields, "items", "must be an array of 1 to %d lines", CART_LINES_MAX);
        return;
    }
    char name[32];
    for (size_t i = 0; i < n; i++) {
        json_object *it = json_object_array_get_idx(items, i), *sub = NULL;
        struct cart_line l = {0, 0};
        snprintf(name, sizeof name, "items[%zu]", i);
        if (!json_object_is_type(it, json_type_object)) {
            arc_json_field_error(fields, name, "must be an object");
            continue;
        }
        (void)arc_json_int(it, "product_id", ARC_REQUIRED, 1, INT64_MAX, &l.product_id, &sub);
        (void)arc_json_int(it, "quantity", ARC_REQUIRED, 1, QUANTITY_MAX, &l.quantity, &sub);
        for (size_t j = 0; sub == NULL && j < in->nlines; j++)
            if (in->lines[j].product_id == l.product_id)
                arc_json_field_error(&sub, "product_id", "names a product of an earlier line");
        if (sub != NULL) {
            json_object_object_foreach(sub, k, v)
            {
                char full[64];
                snprintf(full, sizeof full, "%s.%s", name, k);
                arc_json_field_error(fields, full, "%s", json_object_get_string(v));
            }
            json_object_put(sub);
            continue;
        }
        in->lines[in->nlines++] = l;
    }
}

static bool
read_checkout(json_object *body, struct checkout_in *in, json_object **fields)
{
    json_object *addr = NULL, *items = NULL;
    bool has_addr = json_object_object_get_ex(body, "shipping_address", &addr) && addr != NULL;
    bool has_id = json_object_object_get_ex(body, "address_id", NULL);
    if (has_addr == has_id)
        arc_json_field_error(fields, has_addr ? "address_id" : "shipping_address",
                             "give exactly one of shipping_address and address_id");
    else if (has_id)
        (void)arc_json_int(body, "address_id", ARC_REQUIRED, 1, INT64_MAX, &in->address_id, fields);
    else if (!json_object_is_type(addr, json_type_object))
        arc_json_field_error(fields, "shipping_address", "must be an object");
    else
        (void)read_address(addr, "shipping_address", &in->address, fields);
    in->from_cart = !json_object_object_get_ex(body, "items", &items) || items == NULL;
    if (!in->from_cart)
        read_items(items, in, fields);
    return *fields == NULL;
}

/* The body's hash, so a key used again with another body is recognised. */
static void
hash_body(const arc_req *r, char hex[65])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)r->body, r->body_len, NULL, 0);
    sodium_bin2hex(hex, 65, h, sizeof h);
}

/* ---- the address book (users, internal) ----------------------------------- */

/* The user's address address_id from the users service, rendered into
 * in->address. 0, or -1 answered (422 unknown address, 503). */
static int
fetch_address(arc_req *r, int64_t user_id, struct checkout_in *in)
{
    struct orders *o = r->ctx;
    char url[512];
    snprintf(url, sizeof url, "%s/internal/v1/users/%lld/addresses/%lld", o->cfg.users_url,
             (long long)user_id, (long long)in->address_id);
    enum arc_err e = o->cfg.users_url[0] == '\0'
                         ? ARC_UNAVAILABLE
                         : arc_httpc_request(o->users_http, "GET", url, NULL, NULL, 0, &r->trace,
                                             &o->users_resp);
    int status = o->users_resp.status;
    if (e == ARC_OK && status == 404) {
        json_object *f = NULL;
        arc_json_field_error(&f, "address_id", "is not one of your addresses");
        arc_respond_invalid(r, f);
        return -1;
    }
    json_object *doc = NULL, *fields = NULL;
    if (e == ARC_OK && status == 200)
        doc = arc_json_parse(o->users_resp.body.ptr ? o->users_resp.body.ptr : "",
                             o->users_resp.body.len, 4);
    bool ok = doc != NULL && json_object_is_type(doc, json_type_object) &&
              read_address(doc, "address", &in->address, &fields);
    json_object_put(doc);
    json_object_put(fields);
    if (!ok) {
        arc_log_warn("orders: address lookup failed (%s, status %d)", arc_err_name(e), status);
        arc_respond_header(r, "Retry-After", "1");
        arc_respond_error(r, 503, "unavailable", "the address book is unavailable, try again",
                          NULL);
        return -1;
    }
    return 0;
}

/* ---- pricing ------------------------------------------------------------------ */

/* Prices in->lines from the catalog's answer into o->order.lines. 0, or -1
 * answered: 409 out_of_stock (every short line), 422 mixed_currencies. */
static int
price_lines(arc_req *r, const struct checkout_in *in, const char **currency)
{
    struct orders *o = r->ctx;
    json_object *short_lines = json_object_new_array();
    *currency = NULL;
    bool mixed = false;
    for (size_t i = 0; i < in->nlines; i++) {
        const struct cart_line *l = &in->lines[i];
        const struct catalog_item *it = catalog_item_find(o->items, o->nitems, l->product_id);
        int64_t available = it != NULL && it->active ? it->available : 0;
        if (available < l->quantity) {
            json_object *s = json_object_new_object();
            json_object_object_add(s, "product_id", json_object_new_int64(l->product_id));
            json_object_object_add(s, "requested", json_object_new_int64(l->quantity));
            json_object_object_add(s, "available", json_object_new_int64(available));
            json_object_array_add(short_lines, s);
            continue;
        }
        if (*currency == NULL)
            *currency = it->currency;
        else if (strcmp(*currency, it->currency) != 0)
            mixed = true;
        struct order_line *ol = &o->order.lines[i];
        ol->product_id = l->product_id;
        snprintf(ol->sku, sizeof ol->sku, "%s", it->sku);
        snprintf(ol->name, sizeof ol->name, "%s", it->name);
        ol->unit_price = it->price;
        ol->quantity = l->quantity;
        ol->line_total = it->price * l->quantity;
    }
    if (json_object_array_length(short_lines) > 0) {
        json_object *err = json_object_new_object(), *doc = json_object_new_object();
        json_object_object_add(err, "code", json_object_new_string("out_of_stock"));
        json_object_object_add(err, "message",
                               json_object_new_string("some lines are not available"));
        json_object_object_add(err, "lines", short_lines);
        json_object_object_add(doc, "error", err);
        arc_respond_json(r, 409, doc);
        return -1;
    }
    json_object_put(short_lines);
    if (mixed) {
        arc_respond_error(r, 422, "mixed_currencies",
                          "the products of an order must be priced in one currency", NULL);
        return -1;
    }
    return 0;
}

/* ---- POST /api/v1/orders ------------------------------------------------------ */

static void
respond_order(arc_req *r, int status, const char *body, size_t len, int64_t id, bool replayed)
{
    if (id > 0 && status == 201)
        arc_respond_header(r, "Location", "/api/v1/orders/%lld", (long long)id);
    if (replayed)
        arc_respond_header(r, "Idempotent-Replayed", "true");
    arc_respond_header(r, "Cache-Control", "no-store");
    arc_respond_raw(r, status, NULL, body, len);
}

/* The checkout once the key is ours: lines, address, prices, the order.
 * Returns true when an order was stored (and answered). */
static bool
checkout(arc_req *r, int64_t user_id, const char *key, const char *token, struct checkout_in *in)
{
    struct orders *o = r->ctx;
    if (in->from_cart) {
        enum arc_err e = store_cart_get(o->db, user_id, &o->cart);
        if (e != ARC_OK) {
            arc_respond_failure(r, e);
            return false;
        }
        if (o->cart.n == 0) {
            arc_respond_error(r, 422, "cart_empty", "the cart is empty", NULL);
            return false;
        }
        memcpy(in->lines, o->cart.lines, o->cart.n * sizeof in->lines[0]);
        in->nlines = o->cart.n;
    }
    if (in->address_id > 0 && fetch_address(r, user_id, in) != 0)
        return false;
    int64_t ids[CART_LINES_MAX];
    for (size_t i = 0; i < in->nlines; i++)
        ids[i] = in->lines[i].product_id;
    enum arc_err e = catalog_lookup(o, &r->trace, ids, in->nlines);
    if (e == ARC_UNAVAILABLE) {
        respond_catalog_unavailable(r, o);
        return false;
    }
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        return false;
    }
    const char *currency = NULL;
    if (price_lines(r, in, &currency) != 0)
        return false;
    char cur[ARC_CURRENCY_LEN + 1];
    snprintf(cur, sizeof cur, "%s", currency);
    struct order_line lines[CART_LINES_MAX];
    memcpy(lines, o->order.lines, in->nlines * sizeof lines[0]);
    const struct checkout c = {
        .user_id = user_id,
        .key = key,
        .token = token,
        .from_cart = in->from_cart,
        .currency = cur,
        .address = in->address.ptr,
        .lines = lines,
        .nlines = in->nlines,
        .trace = &r->trace,
    };
    e = store_order_create(o->db, &c, &o->order, &o->out, &o->scratch);
    if (e == ARC_CONFLICT) {
        arc_respond_error(r, 409, "idempotency_key_in_use",
                          "another request with this Idempotency-Key took it over", NULL);
        return false;
    }
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        return false;
    }
    respond_order(r, 201, o->out.ptr, o->out.len, o->order.id, false);
    return true;
}

void
handle_order_create(arc_req *r)
{
    struct orders *o = r->ctx;
    struct arc_principal who;
    if (!identify(r, &who))
        return;
    if (who.user_id == 0) {
        arc_respond_error(r, 403, "forbidden", "the operator key cannot place orders", NULL);
        return;
    }
    const char *key = read_idempotency_key(r);
    json_object *body = NULL, *fields = NULL;
    if (key == NULL || arc_req_read_json(r, &body) != 0)
        return;
    static struct checkout_in in;
    in.address_id = 0;
    in.nlines = 0;
    if (!read_checkout(body, &in, &fields)) {
        json_object_put(body);
        arc_respond_invalid(r, fields);
        return;
    }
    json_object_put(body);
    char hash[65], token[33];
    unsigned char raw[16];
    hash_body(r, hash);
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(token, sizeof token, raw, sizeof raw);
    enum idem_claim claim = IDEM_IN_USE;
    int status = 0;
    int64_t order_id = 0;
    enum arc_err e =
        store_idem_claim(o->db, who.user_id, key, hash, token, &claim, &status, &order_id, &o->out);
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        return;
    }
    switch (claim) {
    case IDEM_DONE:
        respond_order(r, status, o->out.ptr, o->out.len, order_id, true);
        return;
    case IDEM_IN_USE:
        arc_respond_error(r, 409, "idempotency_key_in_use",
                          "a request with this Idempotency-Key is still in progress", NULL);
        return;
    case IDEM_REUSED:
        arc_respond_error(r, 422, "idempotency_key_reused",
                          "this Idempotency-Key was used with another request body", NULL);
        return;
    case IDEM_CLAIMED:
        break;
    }
    if (!checkout(r, who.user_id, key, token, &in) &&
        store_idem_release(o->db, who.user_id, key, token) != ARC_OK)
        arc_log_warn("orders: could not release an idempotency claim (it is taken over later)");
    /* Now and then, keys older than 24 hours go. */
    if (randombytes_uniform(64) == 0 && store_idem_purge(o->db) != ARC_OK)
        arc_log_warn("orders: idempotency key purge failed");
}

/* ---- reads ------------------------------------------------------------------------ */

/* The order of the path, when the caller may see it (its owner or an
 * admin; anyone else's is 404). -1 when answered. */
static int
load_visible(arc_req *r, struct arc_principal *who)
{
    struct orders *o = r->ctx;
    if (!identify(r, who))
        return -1;
    enum arc_err e = store_order_get(o->db, r->params[0].i, &o->order);
    if (e == ARC_OK && !is_admin(who) && o->order.user_id != who->user_id)
        e = ARC_NOT_FOUND;
    if (e != ARC_OK) {
        arc_respond_lookup(r, e, "order not found");
        return -1;
    }
    return 0;
}

void
handle_order_get(arc_req *r)
{
    struct orders *o = r->ctx;
    struct arc_principal who;
    if (load_visible(r, &who) != 0)
        return;
    arc_buf_reset(&o->out);
    order_render(&o->order, false, &o->out);
    arc_respond_header(r, "Cache-Control", "no-store");
    arc_respond_raw(r, 200, NULL, o->out.ptr, o->out.len);
}

/* GET /internal/v1/orders/{id} (internal listener only: the payments
 * service reads what an order costs and whose it is): the order with its
 * user_id. */
void
handle_internal_order(arc_req *r)
{
    struct orders *o = r->ctx;
    enum arc_err e = store_order_get(o->db, r->params[0].i, &o->order);
    if (e != ARC_OK) {
        arc_respond_lookup(r, e, "order not found");
        return;
    }
    arc_buf_reset(&o->out);
    order_render(&o->order, true, &o->out);
    arc_respond_header(r, "Cache-Control", "no-store");
    arc_respond_raw(r, 200, NULL, o->out.ptr, o->out.len);
}

void
handle_order_timeline(arc_req *r)
{
    struct orders *o = r->ctx;
    struct arc_principal who;
    if (load_visible(r, &who) != 0)
        return;
    arc_buf_reset(&o->out);
    enum arc_err e = store_order_timeline(o->db, o->order.id, &o->out);
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        return;
    }
    arc_respond_header(r, "Cache-Control", "no-store");
    arc_respond_raw(r, 200, NULL, o->out.ptr, o->out.len);
}

static bool
status_known(const char *s)
{
    static const char *const all[] = {"pending",   "awaiting_payment", "rejected",  "paid",
                                      "cancelled", "shipped",          "delivered", "refunded"};
    for (size_t i = 0; i < ARC_ARRAY_LEN(all); i++)
        if (strcmp(s, all[i]) == 0)
            return true;
    return false;
}

#define ORDERS_PER_PAGE 20
#define ORDERS_PER_PAGE_MAX 50

void
handle_order_list(arc_req *r)
{
    struct orders *o = r->ctx;
    struct arc_principal who;
    if (!identify(r, &who))
        return;
    json_object *fields = NULL;
    struct arc_page page;
    bool bad = false;
    (void)arc_req_paging(r, ORDERS_PER_PAGE, ORDERS_PER_PAGE_MAX, 0, &page, &fields);
    const char *status = arc_req_query_get(r, "status", &bad);
    if (bad)
        return;
    if (status != NULL && !status_known(status))
        arc_json_field_error(&fields, "status", "is not an order status");
    int64_t user_id = who.user_id;
    if (is_admin(&who))
        (void)arc_req_query_int(r, "user_id", 0, 1, INT64_MAX, &user_id, &fields);
    else if (arc_req_query_get(r, "user_id", &bad) != NULL && !bad)
        arc_json_field_error(&fields, "user_id", "is for admins");
    if (bad) {
        json_object_put(fields);
        return;
    }
    if (fields != NULL) {
        arc_respond_error(r, 400, "invalid_parameter", "invalid query parameters", fields);
        return;
    }
    int64_t ids[ORDERS_PER_PAGE_MAX];
    size_t n = 0;
    enum arc_err e =
        store_order_list(o->db, user_id, status ? status : "", page.per_page, page.offset, ids, &n);
    arc_buf_reset(&o->out);
    arc_buf_append_str(&o->out, "{\"items\":[");
    size_t shown = 0;
    for (size_t i = 0; i < n && e == ARC_OK; i++) {
        e = store_order_get(o->db, ids[i], &o->order);
        if (e == ARC_NOT_FOUND) { /* cannot happen: orders are never deleted */
            e = ARC_OK;
            continue;
        }
        if (e == ARC_OK && shown++ > 0)
            arc_buf_append_char(&o->out, ',');
        if (e == ARC_OK)
            order_render(&o->order, false, &o->out);
    }
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        return;
    }
    arc_buf_printf(&o->out, "],\"page\":%lld,\"per_page\":%lld}", (long long)page.page,
                   (long long)page.per_page);
    arc_respond_header(r, "Cache-Control", "no-store");
    arc_respond_raw(r, 200, NULL, o->out.ptr, o->out.len);
}

/* ---- POST /api/v1/orders/{id}/cancel, /ship, /deliver ----------------------------- */

/* Runs the action and answers: 200 with the order as it is now, 404, or 409
 * invalid_transition naming the order's status. */
static void
respond_action(arc_req *r, const struct action *a)
{
    struct orders *o = r->ctx;
    char status[ORDER_STATUS_MAX + 1];
    enum action_result res = ACTION_NOT_FOUND;
    enum arc_err e = store_order_act(o->db, a, status, &res, &o->scratch);
    if (e == ARC_OK && res == ACTION_NOT_FOUND)
        e = ARC_NOT_FOUND;
    if (e != ARC_OK) {
        arc_respond_lookup(r, e, "order not found");
        return;
    }
    if (res == ACTION_INVALID) {
        static const char *const verbs[] = {[ACTION_CANCEL] = "cancelled",
                                            [ACTION_SHIP] = "shipped",
                                            [ACTION_DELIVER] = "delivered"};
        char msg[96];
        snprintf(msg, sizeof msg, "an order in status %s cannot be %s", status, verbs[a->what]);
        json_object *err = json_object_new_object(), *doc = json_object_new_object();
        json_object_object_add(err, "code", json_object_new_string("invalid_transition"));
        json_object_object_add(err, "message", json_object_new_string(msg));
        json_object_object_add(err, "status", json_object_new_string(status));
        json_object_object_add(doc, "error", err);
        arc_respond_json(r, 409, doc);
        return;
    }
    e = store_order_get(o->db, a->order_id, &o->order);
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        return;
    }
    arc_buf_reset(&o->out);
    order_render(&o->order, false, &o->out);
    arc_respond_header(r, "Cache-Control", "no-store");
    arc_respond_raw(r, 200, NULL, o->out.ptr, o->out.len);
}

void
handle_order_cancel(arc_req *r)
{
    struct arc_principal who;
    if (!identify(r, &who))
        return;
    const struct action a = {.what = ACTION_CANCEL,
                             .order_id = r->params[0].i,
                             .user_id = who.user_id,
                             .admin = is_admin(&who),
                             .trace = &r->trace};
    respond_action(r, &a);
}

/* {"carrier","tracking_number"}: single-line text of 1..64 characters. */
void
handle_order_ship(arc_req *r)
{
    struct orders *o = r->ctx;
    json_object *body, *fields = NULL;
    if (arc_auth_require_admin(r, &o->auth, NULL) != 0 || arc_req_read_json(r, &body) != 0)
        return;
    const char *carrier = NULL, *tracking = NULL;
    size_t carrier_len = 0, tracking_len = 0;
    (void)arc_json_string(body, "carrier", ARC_REQUIRED, 1, SHIPMENT_TEXT_MAX, &carrier,
                          &carrier_len, &fields);
    (void)arc_json_string(body, "tracking_number", ARC_REQUIRED, 1, SHIPMENT_TEXT_MAX, &tracking,
                          &tracking_len, &fields);
    if (fields != NULL) {
        json_object_put(body);
        arc_respond_invalid(r, fields);
        return;
    }
    char c[SHIPMENT_TEXT_MAX * 4 + 1], t[SHIPMENT_TEXT_MAX * 4 + 1];
    memcpy(c, carrier, carrier_len);
    c[carrier_len] = '\0';
    memcpy(t, tracking, tracking_len);
    t[tracking_len] = '\0';
    json_object_put(body);
    const struct action a = {.what = ACTION_SHIP,
                             .order_id = r->params[0].i,
                             .admin = true,
                             .carrier = c,
                             .tracking_number = t,
                             .trace = &r->trace};
    respond_action(r, &a);
}

void
handle_order_deliver(arc_req *r)
{
    struct orders *o = r->ctx;
    if (arc_auth_require_admin(r, &o->auth, NULL) != 0)
        return;
    const struct action a = {
        .what = ACTION_DELIVER, .order_id = r->params[0].i, .admin = true, .trace = &r->trace};
    respond_action(r, &a);
}
