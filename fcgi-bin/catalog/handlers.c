/*
 * handlers.c - one function per catalog endpoint. Each validates first and
 * returns early, calls the store, and answers once.
 */
#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arcade/auth.h>
#include <arcade/json.h>
#include <arcade/health.h>

static const char *const sort_names[SORT_COUNT] = {
    [SORT_CREATED] = "created", [SORT_CREATED_DESC] = "-created", [SORT_NAME] = "name",
    [SORT_NAME_DESC] = "-name", [SORT_PRICE] = "price",           [SORT_PRICE_DESC] = "-price",
};

static bool
require_admin(arc_req *r)
{
    struct catalog *c = r->ctx;
    return arc_auth_require_admin(r, &c->auth, NULL) == 0;
}

/* Answers a store failure on a product write. Returns true when e was one. */
static bool
product_failed(arc_req *r, enum arc_err e)
{
    switch (e) {
    case ARC_OK:
        return false;
    case ARC_CONFLICT:
        arc_respond_error(r, 409, "conflict", "a product with this sku already exists", NULL);
        return true;
    default:
        arc_respond_lookup(r, e, "product not found");
        return true;
    }
}

/* 412 after a write whose If-Match / If-None-Match did not hold (nothing changed). */
static void
precondition_failed(arc_req *r, const struct arc_precond *pc)
{
    const char *message = pc->if_match == NULL
                              ? "the product exists and matches If-None-Match; nothing changed"
                              : "the product changed since the ETag in If-Match";
    if (pc->if_match != NULL && pc->if_none_match != NULL)
        message = "the product does not meet If-Match and If-None-Match; nothing changed";
    arc_respond_error(r, 412, "precondition_failed", message, NULL);
}

/* Preconditions on a create: the collection exists and has no entity tag, so
 * If-Match "*" and If-None-Match with tags hold, the other forms are 412.
 * Returns -1 when answered (400 or 412). */
static int
require_create_precond(arc_req *r)
{
    struct arc_precond pc;
    if (arc_precond_read(r, &pc) != 0)
        return -1;
    if (arc_precond_holds(&pc, NULL, 0))
        return 0;
    arc_respond_error(r, 412, "precondition_failed",
                      "the collection exists and has no entity tag; nothing was created", NULL);
    return -1;
}

/* ---- reading products ----------------------------------------------------- */

struct doc_state {
    arc_buf *out;
    bool active;
};

static void
on_product_doc(void *ud, const struct product_view *p)
{
    struct doc_state *st = ud;
    char etag[48];
    size_t n = product_etag(p->doc.id, p->version, etag, sizeof etag);
    arc_buf_append(st->out, etag, n);
    arc_buf_append_char(st->out, '\n');
    arc_product_render(&p->doc, st->out);
    st->active = p->doc.active;
}

enum arc_err
load_product_doc(void *ud, int64_t id, arc_buf *out)
{
    struct catalog *c = ud;
    struct doc_state st = {out, false};
    enum arc_err e = store_product_get(c->db, id, on_product_doc, &st);
    return e == ARC_OK && !st.active ? ARC_NOT_FOUND : e;
}

void
handle_product_get(arc_req *r)
{
    struct catalog *c = r->ctx;
    struct arc_doc doc;
    enum arc_err e = arc_doccache_get(c->docs, r->params[0].i, &doc);
    if (e != ARC_OK) {
        arc_respond_lookup(r, e, "product not found");
        return;
    }
    arc_respond_header_str(r, "ETag", doc.tag.ptr, doc.tag.len);
    if (arc_precond_matches(arc_req_header(r, "HTTP_IF_NONE_MATCH"), doc.tag.ptr, doc.tag.len,
                            true)) {
        arc_respond_empty(r, 304);
        return;
    }
    arc_respond_raw(r, 200, NULL, doc.body.ptr, doc.body.len);
}

struct list_state {
    arc_buf *out;
    size_t n;
};

static void
on_list_item(void *ud, const struct product_view *p)
{
    struct list_state *st = ud;
    if (st->n++ > 0)
        arc_buf_append_char(st->out, ',');
    arc_product_render(&p->doc, st->out);
}

void
handle_product_list(arc_req *r)
{
    struct catalog *c = r->ctx;
    bool bad = false;
    const char *category = arc_req_query_get(r, "category", &bad);
    const char *sort_name = bad ? NULL : arc_req_query_get(r, "sort", &bad);
    if (bad)
        return;
    json_object *fields = NULL;
    struct arc_page pg;
    (void)arc_req_paging(r, PER_PAGE_DEFAULT, PER_PAGE_MAX, 0, &pg, &fields);
    enum product_sort sort = SORT_CREATED;
    if (sort_name != NULL) {
        size_t i = 0;
        while (i < SORT_COUNT && strcmp(sort_names[i], sort_name) != 0)
            i++;
        if (i == SORT_COUNT)
            arc_json_field_error(&fields, "sort",
                                 "must be one of name, -name, price, -price, "
                                 "created, -created");
        else
            sort = (enum product_sort)i;
    }
    if (fields != NULL) {
        arc_respond_error(r, 400, "invalid_parameter", "invalid query parameter", fields);
        return;
    }

    struct category_row cat;
    if (category != NULL) {
        enum arc_err e = store_category_find(c->db, category, strlen(category), &cat);
        if (e != ARC_OK) {
            arc_respond_lookup(r, e, "category not found");
            return;
        }
    }

    arc_buf *out = &c->doc;
    arc_buf_reset(out);
    arc_buf_append_str(out, "{\"items\":[");
    struct list_state st = {out, 0};
    int64_t total = 0;
    enum arc_err e = store_product_list(c->db, category ? cat.path : NULL, sort, pg.per_page,
                                        pg.offset, on_list_item, &st, &total);
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        return;
    }
    arc_buf_printf(out, "],\"page\":%lld,\"per_page\":%lld,\"total\":%lld}", (long long)pg.page,
                   (long long)pg.per_page, (long long)total);
    arc_respond_raw(r, 200, NULL, out->ptr, out->len);
}

/* ---- export (internal): every product, for rebuilding read models -------- */

#define EXPORT_LIMIT_MAX 1000

struct export_state {
    arc_buf *out;
    size_t n;
    int64_t last_id;
};

static void
on_export_item(void *ud, const struct product_view *p)
{
    struct export_state *st = ud;
    arc_buf_printf(st->out, "%s{\"version\":%lld,\"data\":", st->n++ > 0 ? "," : "",
                   (long long)p->version);
    product_render_event(p, st->out);
    arc_buf_append_char(st->out, '}');
    st->last_id = p->doc.id;
}

/* GET /internal/v1/products/export?after=&limit= : products with id > after
 * (active or not) in id order, each with its version and the document its
 * events carry; "next_after" is null after the last page. */
void
handle_product_export(arc_req *r)
{
    struct catalog *c = r->ctx;
    json_object *fields = NULL;
    int64_t after, limit;
    (void)arc_req_query_int(r, "after", 0, 0, INT64_MAX, &after, &fields);
    (void)arc_req_query_int(r, "limit", 500, 1, EXPORT_LIMIT_MAX, &limit, &fields);
    if (fields != NULL) {
        arc_respond_error(r, 400, "invalid_parameter", "invalid query parameter", fields);
        return;
    }
    arc_buf *out = &c->doc;
    arc_buf_reset(out);
    arc_buf_append_str(out, "{\"items\":[");
    struct export_state st = {out, 0, after};
    enum arc_err e = store_product_export(c->db, after, limit, on_export_item, &st);
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        return;
    }
    if ((int64_t)st.n == limit)
        arc_buf_printf(out, "],\"next_after\":%lld}", (long long)st.last_id);
    else
        arc_buf_append_str(out, "],\"next_after\":null}");
    arc_respond_header(r, "Cache-Control", "no-store");
    arc_respond_raw(r, 200, NULL, out->ptr, out->len);
}

/* ---- writing products ----------------------------------------------------- */

/* The category a body field names by its slug: 1 found (*out), 0 not (a
 * message under field in *fields), -1 answered with the database's failure
 * (*fields put). */
static int
category_field(arc_req *r, const char *field, const char *slug, size_t len,
               struct category_row *out, json_object **fields)
{
    struct catalog *c = r->ctx;
    enum arc_err e = store_category_find(c->db, slug, len, out);
    if (e == ARC_OK)
        return 1;
    if (e == ARC_NOT_FOUND) {
        arc_json_field_error(fields, field, "no such category");
        return 0;
    }
    json_object_put(*fields);
    *fields = NULL;
    arc_respond_failure(r, e);
    return -1;
}

/* Reads the product fields of a create (all required ones present) or of a
 * partial update into in, with per-field messages in *fields. Answers and
 * returns -1 only when the database cannot be asked about the category. */
static int
read_product_fields(arc_req *r, json_object *body, bool create, struct product_input *in,
                    json_object **fields)
{
    unsigned req = create ? ARC_REQUIRED : 0;
    const char *s;
    size_t len;

    if (arc_json_string(body, "sku", req, 1, SKU_MAX, &s, &len, fields) == ARC_FIELD_OK) {
        if (arc_sku_valid(s, len)) {
            in->sku = (arc_str){s, len};
            in->set |= F_SKU;
        } else {
            arc_json_field_error(fields, "sku",
                                 "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', "
                                 "'_' and '-'");
        }
    }
    if (arc_json_string(body, "name", req, 1, PRODUCT_NAME_MAX, &s, &len, fields) == ARC_FIELD_OK) {
        in->name = (arc_str){s, len};
        in->set |= F_NAME;
    }
    if (arc_json_string(body, "description", ARC_MULTILINE, 0, DESCRIPTION_MAX, &s, &len, fields) ==
        ARC_FIELD_OK) {
        in->description = (arc_str){s, len};
        in->set |= F_DESCRIPTION;
    }
    if (arc_json_int(body, "price", req, 0, PRICE_MAX, &in->price, fields) == ARC_FIELD_OK)
        in->set |= F_PRICE;
    if (arc_json_string(body, "currency", req, 3, 3, &s, &len, fields) == ARC_FIELD_OK) {
        if (currency_known(s, len)) {
            in->currency = (arc_str){s, len};
            in->set |= F_CURRENCY;
        } else {
            arc_json_field_error(fields, "currency", "must be an active ISO 4217 code such as EUR");
        }
    }
    if (arc_json_bool(body, "active", 0, &in->active, fields) == ARC_FIELD_OK)
        in->set |= F_ACTIVE;
    if (create) {
        if (arc_json_int(body, "on_hand", 0, 0, ON_HAND_MAX, &in->on_hand, fields) == ARC_FIELD_OK)
            in->set |= F_ON_HAND;
    } else if (json_object_object_get_ex(body, "on_hand", NULL)) {
        arc_json_field_error(fields, "on_hand", "is set with PUT /api/v1/products/{id}/inventory");
    }

    int rc = arc_json_string(body, "category", ARC_NULLABLE, 1, SLUG_MAX, &s, &len, fields);
    if (rc == ARC_FIELD_NULL) {
        in->category_id = 0;
        in->set |= F_CATEGORY;
    } else if (rc == ARC_FIELD_OK) {
        struct category_row cat;
        int found = category_field(r, "category", s, len, &cat, fields);
        if (found < 0)
            return -1;
        if (found) {
            in->category_id = cat.id;
            in->set |= F_CATEGORY;
        }
    }
    return 0;
}

/* A product write of this request under its preconditions (pc: NULL for a
 * create): its event carries the request's trace. */
static struct store_writer
writer(arc_req *r, const struct arc_precond *pc)
{
    struct catalog *c = r->ctx;
    return (struct store_writer){.db = c->db,
                                 .trace = &r->trace,
                                 .data = &c->event_data,
                                 .envelope = &c->envelope,
                                 .doc = &c->doc,
                                 .pc = pc};
}

/* Answers a product write that did not happen: the store's failure e, or
 * preconditions that did not hold (412). Returns true when it answered. */
static bool
write_failed(arc_req *r, const struct store_writer *w, enum arc_err e)
{
    if (product_failed(r, e))
        return true;
    if (!w->precondition_failed)
        return false;
    precondition_failed(r, w->pc);
    return true;
}

/* Answers a write with the product as the write committed it (read inside its
 * transaction for the event: no second read). */
static void
respond_product(arc_req *r, int status, int64_t id, const struct store_writer *w)
{
    char etag[48];
    size_t n = product_etag(id, w->version, etag, sizeof etag);
    arc_respond_header_str(r, "ETag", etag, n);
    arc_respond_raw(r, status, NULL, w->doc->ptr, w->doc->len);
}

void
handle_product_create(arc_req *r)
{
    struct catalog *c = r->ctx;
    json_object *body, *fields = NULL;
    if (!require_admin(r) || require_create_precond(r) != 0 || arc_req_read_json(r, &body) != 0)
        return;
    struct product_input in = {0};
    in.description = (arc_str){"", 0};
    if (read_product_fields(r, body, true, &in, &fields) != 0)
        goto out;
    if (fields != NULL) {
        arc_respond_invalid(r, fields);
        goto out;
    }
    int64_t id = 0;
    struct store_writer w = writer(r, NULL);
    if (write_failed(r, &w, store_product_create(&w, &in, &id)))
        goto out;
    arc_doccache_invalidate(c->docs, id);
    arc_respond_header(r, "Location", "/api/v1/products/%lld", (long long)id);
    respond_product(r, 201, id, &w);
out:
    json_object_put(body);
}

void
handle_product_update(arc_req *r)
{
    struct catalog *c = r->ctx;
    int64_t id = r->params[0].i;
    json_object *body, *fields = NULL;
    struct arc_precond pc;
    if (!require_admin(r) || arc_precond_read(r, &pc) != 0 || arc_req_read_json(r, &body) != 0)
        return;
    struct product_input in = {0};
    if (read_product_fields(r, body, false, &in, &fields) != 0)
        goto out;
    if (fields != NULL) {
        arc_respond_invalid(r, fields);
        goto out;
    }
    struct store_writer w = writer(r, &pc);
    if (write_failed(r, &w, store_product_update(&w, id, &in)))
        goto out;
    arc_doccache_invalidate(c->docs, id);
    respond_product(r, 200, id, &w);
out:
    json_object_put(body);
}

void
handle_product_delete(arc_req *r)
{
    struct catalog *c = r->ctx;
    int64_t id = r->params[0].i;
    struct arc_precond pc;
    if (!require_admin(r) || arc_precond_read(r, &pc) != 0)
        return;
    struct store_writer w = writer(r, &pc);
    if (write_failed(r, &w, store_product_deactivate(&w, id)))
        return;
    arc_doccache_invalidate(c->docs, id);
    arc_respond_empty(r, 204);
}

void
handle_inventory_put(arc_req *r)
{
    struct catalog *c = r->ctx;
    int64_t id = r->params[0].i;
    json_object *body, *fields = NULL;
    struct arc_precond pc;
    if (!require_admin(r) || arc_precond_read(r, &pc) != 0 || arc_req_read_json(r, &body) != 0)
        return;
    int64_t on_hand = 0;
    (void)arc_json_int(body, "on_hand", ARC_REQUIRED, 0, ON_HAND_MAX, &on_hand, &fields);
    json_object_put(body);
    if (fields != NULL) {
        arc_respond_invalid(r, fields);
        return;
    }
    bool below_reserved = false;
    struct store_writer w = writer(r, &pc);
    if (write_failed(r, &w, store_inventory_set(&w, id, on_hand, &below_reserved)))
        return;
    if (below_reserved) {
        arc_json_field_error(&fields, "on_hand", "must not be below the units already reserved");
        arc_respond_error(r, 409, "below_reserved",
                          "on_hand must not be below the units already reserved", fields);
        return;
    }
    arc_doccache_invalidate(c->docs, id);
    respond_product(r, 200, id, &w);
}

/* The admin's view of a product's stock: what is on hand, held by orders
 * (reserved), sold, and what customers may still buy (available, the
 * document's stock). Inactive products too. */
void
handle_inventory_get(arc_req *r)
{
    struct catalog *c = r->ctx;
    struct inventory inv;
    if (!require_admin(r))
        return;
    enum arc_err e = store_inventory_get(c->db, r->params[0].i, &inv);
    if (e != ARC_OK) {
        arc_respond_lookup(r, e, "product not found");
        return;
    }
    arc_buf_reset(&c->doc);
    inventory_render(&inv, &c->doc);
    arc_respond_header(r, "Cache-Control", "no-store");
    arc_respond_raw(r, 200, NULL, c->doc.ptr, c->doc.len);
}

/* ---- categories ------------------------------------------------------------ */

struct tree_node {
    int64_t id;
    int64_t parent_id;
    json_object *obj;
};

struct tree {
    struct tree_node *nodes;
    size_t n, cap;
};

static json_object *
category_summary(int64_t id, arc_str slug, arc_str name)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(id));
    json_object_object_add(o, "slug", json_object_new_string_len(slug.ptr, (int)slug.len));
    json_object_object_add(o, "name", json_object_new_string_len(name.ptr, (int)name.len));
    return o;
}

static void
on_tree_row(void *ud, int64_t id, int64_t parent_id, arc_str slug, arc_str name)
{
    struct tree *t = ud;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->nodes = arc_xrealloc(t->nodes, t->cap * sizeof *t->nodes);
    }
    json_object *o = category_summary(id, slug, name);
    json_object_object_add(o, "parent", NULL);
    json_object_object_add(o, "children", json_object_new_array());
    t->nodes[t->n++] = (struct tree_node){id, parent_id, o};
}

static int
cmp_node_id(const void *a, const void *b)
{
    const struct tree_node *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

void
handle_category_list(arc_req *r)
{
    struct catalog *c = r->ctx;
    struct tree t = {0};
    enum arc_err e = store_category_all(c->db, on_tree_row, &t);
    if (e != ARC_OK) {
        for (size_t i = 0; i < t.n; i++)
            json_object_put(t.nodes[i].obj);
        free(t.nodes);
        arc_respond_failure(r, e);
        return;
    }
    /* Rows come sorted by name; an index sorted by id finds each parent. */
    struct tree_node *by_id = arc_xmalloc((t.n ? t.n : 1) * sizeof *by_id);
    memcpy(by_id, t.nodes, t.n * sizeof *by_id);
    qsort(by_id, t.n, sizeof *by_id, cmp_node_id);
    json_object *items = json_object_new_array();
    for (size_t i = 0; i < t.n; i++) {
        struct tree_node *node = &t.nodes[i];
        struct tree_node key = {.id = node->parent_id};
        struct tree_node *parent =
            node->parent_id ? bsearch(&key, by_id, t.n, sizeof *by_id, cmp_node_id) : NULL;
        if (parent == NULL) {
            json_object_array_add(items, node->obj);
            continue;
        }
        json_object *slug, *children;
        json_object_object_get_ex(parent->obj, "slug", &slug);
        json_object_object_get_ex(parent->obj, "children", &children);
        json_object_object_add(node->obj, "parent", json_object_get(slug));
        json_object_array_add(children, node->obj);
    }
    free(by_id);
    free(t.nodes);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "items", items);
    arc_respond_json(r, 200, o);
}

static void
on_child_row(void *ud, int64_t id, int64_t parent_id, arc_str slug, arc_str name)
{
    json_object_array_add(ud, category_summary(id, slug, name));
}

/* Answers with category cat and its direct children. */
static void
respond_category(arc_req *r, int status, const struct category_row *cat)
{
    struct catalog *c = r->ctx;
    json_object *children = json_object_new_array();
    enum arc_err e = store_category_children(c->db, cat->id, on_child_row, children);
    if (e != ARC_OK) {
        json_object_put(children);
        arc_respond_failure(r, e);
        return;
    }
    json_object *o = category_summary(cat->id, (arc_str){cat->slug, strlen(cat->slug)},
                                      (arc_str){cat->name, strlen(cat->name)});
    json_object_object_add(o, "parent",
                           cat->parent_slug[0] ? json_object_new_string(cat->parent_slug) : NULL);
    json_object_object_add(o, "children", children);
    arc_respond_json(r, status, o);
}

void
handle_category_get(arc_req *r)
{
    struct catalog *c = r->ctx;
    struct category_row cat;
    const struct arc_param *slug = &r->params[0];
    enum arc_err e = store_category_find(c->db, slug->s, slug->len, &cat);
    if (e != ARC_OK) {
        arc_respond_lookup(r, e, "category not found");
        return;
    }
    respond_category(r, 200, &cat);
}

static size_t
path_depth(const char *path)
{
    size_t depth = 0;
    for (const char *p = path; *p; p++)
        depth += *p == '/';
    return depth ? depth - 1 : 0;
}

void
handle_category_create(arc_req *r)
{
    struct catalog *c = r->ctx;
    json_object *body, *fields = NULL;
    if (!require_admin(r) || require_create_precond(r) != 0 || arc_req_read_json(r, &body) != 0)
        return;
    const char *slug = NULL, *name = NULL, *parent_slug = NULL;
    size_t slug_len = 0, name_len = 0, parent_len = 0;
    if (arc_json_string(body, "slug", ARC_REQUIRED, 1, SLUG_MAX, &slug, &slug_len, &fields) ==
            ARC_FIELD_OK &&
        !arc_slug_valid(slug, slug_len))
        arc_json_field_error(&fields, "slug", "must be 1 to 64 characters of a-z, 0-9 and '-'");
    (void)arc_json_string(body, "name", ARC_REQUIRED, 1, CATEGORY_NAME_MAX, &name, &name_len,
                          &fields);
    struct category_row parent;
    bool has_parent = false;
    if (arc_json_string(body, "parent", ARC_NULLABLE, 1, SLUG_MAX, &parent_slug, &parent_len,
                        &fields) == ARC_FIELD_OK) {
        int found = category_field(r, "parent", parent_slug, parent_len, &parent, &fields);
        if (found < 0)
            goto out;
        if (found && path_depth(parent.path) >= CATEGORY_DEPTH_MAX)
            arc_json_field_error(&fields, "parent", "categories nest at most %d levels deep",
                                 CATEGORY_DEPTH_MAX);
        else
            has_parent = found;
    }
    if (fields != NULL) {
        arc_respond_invalid(r, fields);
        goto out;
    }
    int64_t id = 0;
    enum arc_err e =
        store_category_create(c->db, (arc_str){slug, slug_len}, (arc_str){name, name_len},
                              has_parent ? &parent : NULL, &id);
    if (e == ARC_CONFLICT) {
        arc_respond_error(r, 409, "conflict", "a category with this slug already exists", NULL);
        goto out;
    }
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        goto out;
    }
    struct category_row cat = {.id = id};
    snprintf(cat.slug, sizeof cat.slug, "%.*s", (int)slug_len, slug);
    snprintf(cat.name, sizeof cat.name, "%.*s", (int)name_len, name);
    snprintf(cat.parent_slug, sizeof cat.parent_slug, "%s", has_parent ? parent.slug : "");
    arc_respond_header(r, "Location", "/api/v1/categories/%s", cat.slug);
    respond_category(r, 201, &cat);
out:
    json_object_put(body);
}

/* ---- health ---------------------------------------------------------------- */

void
handle_health(arc_req *r)
{
    struct catalog *c = r->ctx;
    struct arc_health h;
    arc_health_init(&h);
    enum arc_err db = arc_db_ping(c->db);
    arc_health_add(&h, "db", db, true);
    arc_health_add(&h, "cache", arc_cache_ping(c->cache), false);
    /* Events wait in the outbox while the broker is away: degraded, not down. */
    (void)arc_health_check_broker(&h, &c->amqp, &c->cfg);
    int64_t rows = 0, oldest_ms = 0;
    if (db == ARC_OK && store_outbox_backlog(c->db, &rows, &oldest_ms) == ARC_OK) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "pending", json_object_new_int64(rows));
        json_object_object_add(o, "oldest_ms", json_object_new_int64(oldest_ms));
        arc_health_detail(&h, "outbox", o);
    }
    arc_health_respond(r, &h);
}
