/*
 * handlers.c - one function per orders endpoint. Each validates first and
 * returns early, calls the store and the catalog, and answers once.
 */
#include "orders.h"

#include <string.h>

#include <arcade/health.h>
#include <arcade/json.h>

/* Who is calling: a session of a user. The operator key is an admin
 * without an account, so without a cart: 403. */
static bool
require_user(arc_req *r, struct arc_principal *who)
{
    struct orders *o = r->ctx;
    if (arc_auth_identify(r, &o->auth, who) != 0)
        return false;
    if (who->user_id == 0) {
        arc_respond_error(r, 403, "forbidden", "the operator key has no cart", NULL);
        return false;
    }
    return true;
}

/* Answers with user_id's cart priced by the catalog now (an empty cart
 * without asking it). */
static void
respond_cart(arc_req *r, int64_t user_id)
{
    struct orders *o = r->ctx;
    struct cart *c = &o->cart;
    enum arc_err e = store_cart_get(o->db, user_id, c);
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        return;
    }
    o->nitems = 0;
    if (c->n > 0) {
        int64_t ids[CART_LINES_MAX];
        for (size_t i = 0; i < c->n; i++)
            ids[i] = c->lines[i].product_id;
        e = catalog_lookup(o, &r->trace, ids, c->n);
        if (e == ARC_UNAVAILABLE) {
            respond_catalog_unavailable(r, o);
            return;
        }
        if (e != ARC_OK) {
            arc_respond_failure(r, e);
            return;
        }
    }
    arc_buf_reset(&o->out);
    cart_render(c, o->items, o->nitems, &o->out);
    arc_respond_header(r, "Cache-Control", "no-store");
    arc_respond_raw(r, 200, NULL, o->out.ptr, o->out.len);
}

void
handle_cart_get(arc_req *r)
{
    struct arc_principal who;
    if (!require_user(r, &who))
        return;
    respond_cart(r, who.user_id);
}

/* The product a PUT names, as the catalog has it now: 0 found and active
 * (*it), -1 answered (404 unknown or inactive, 503, ...). */
static int
product_for_cart(arc_req *r, int64_t product_id, struct catalog_item *it)
{
    struct orders *o = r->ctx;
    enum arc_err e = catalog_lookup(o, &r->trace, &product_id, 1);
    if (e == ARC_UNAVAILABLE) {
        respond_catalog_unavailable(r, o);
        return -1;
    }
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        return -1;
    }
    const struct catalog_item *found = catalog_item_find(o->items, o->nitems, product_id);
    if (found == NULL || !found->active) {
        arc_respond_error(r, 404, "not_found", "product not found", NULL);
        return -1;
    }
    *it = *found;
    return 0;
}

/* PUT /cart/items/{product_id} {"quantity":0..99}: 0 removes the line. */
void
handle_cart_put_item(arc_req *r)
{
    struct orders *o = r->ctx;
    int64_t product_id = r->params[0].i;
    struct arc_principal who;
    json_object *body, *fields = NULL;
    if (!require_user(r, &who) || arc_req_read_json(r, &body) != 0)
        return;
    int64_t quantity = 0;
    (void)arc_json_int(body, "quantity", ARC_REQUIRED, 0, QUANTITY_MAX, &quantity, &fields);
    json_object_put(body);
    if (fields != NULL) {
        arc_respond_invalid(r, fields);
        return;
    }
    enum arc_err e;
    if (quantity == 0) {
        e = store_cart_remove(o->db, who.user_id, product_id);
        if (e != ARC_OK)
            arc_respond_failure(r, e);
        else
            respond_cart(r, who.user_id);
        return;
    }
    struct catalog_item it;
    if (product_for_cart(r, product_id, &it) != 0)
        return;
    enum cart_put_result res = CART_PUT_OK;
    e = store_cart_put(o->db, who.user_id, product_id, quantity, it.currency, &res);
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        return;
    }
    switch (res) {
    case CART_PUT_CURRENCY_MISMATCH:
        arc_respond_error(r, 409, "currency_mismatch",
                          "the product is priced in another currency than the cart", NULL);
        return;
    case CART_PUT_FULL:
        arc_respond_error(r, 422, "cart_full", "a cart holds at most 50 lines", NULL);
        return;
    case CART_PUT_OK:
        break;
    }
    respond_cart(r, who.user_id);
}

void
handle_cart_delete_item(arc_req *r)
{
    struct orders *o = r->ctx;
    struct arc_principal who;
    if (!require_user(r, &who))
        return;
    enum arc_err e = store_cart_remove(o->db, who.user_id, r->params[0].i);
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        return;
    }
    respond_cart(r, who.user_id);
}

void
handle_cart_clear(arc_req *r)
{
    struct orders *o = r->ctx;
    struct arc_principal who;
    if (!require_user(r, &who))
        return;
    enum arc_err e = store_cart_clear(o->db, who.user_id);
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        return;
    }
    arc_respond_empty(r, 204);
}

/* ---- health ---------------------------------------------------------------- */

/* The database is critical; the catalog degrades (carts cannot be priced,
 * but they can be emptied). The catalog check is one lookup through the
 * breaker: while it is open the check costs nothing and says unavailable. */
void
handle_health(arc_req *r)
{
    struct orders *o = r->ctx;
    struct arc_health h;
    arc_health_init(&h);
    arc_health_add(&h, "db", arc_db_ping(o->db), true);
    arc_health_add(&h, "cache", arc_cache_ping(o->cache), false);
    int64_t probe = 1;
    enum arc_err e = catalog_lookup(o, &r->trace, &probe, 1);
    arc_health_add(&h, "catalog", e == ARC_OK ? ARC_OK : ARC_UNAVAILABLE, false);
    arc_health_respond(r, &h);
}
