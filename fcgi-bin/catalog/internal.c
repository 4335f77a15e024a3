/*
 * internal.c - what other services ask the catalog on the internal listener
 * (ARC_ROUTE_INTERNAL): the price and availability of a few products at once,
 * for the orders service's cart and checkout.
 */
#include "catalog.h"

#include <string.h>

#include <arcade/json.h>

/* Reads "1,2,3" (1..LOOKUP_IDS_MAX positive ids, duplicates dropped) into
 * ids. Returns the number of ids, or -1 with a message in *why. */
int
lookup_ids_parse(const char *s, int64_t ids[LOOKUP_IDS_MAX], const char **why)
{
    size_t n = 0;
    if (s == NULL || *s == '\0') {
        *why = "is required: a comma-separated list of product ids";
        return -1;
    }
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        int64_t id;
        if (len == 0 || len > 19 || *s == '-' || arc_http_parse_int64(s, len, &id) != 0 ||
            id <= 0) {
            *why = "must be a comma-separated list of positive integers";
            return -1;
        }
        bool seen = false;
        for (size_t i = 0; i < n && !seen; i++)
            seen = ids[i] == id;
        if (!seen) {
            if (n == LOOKUP_IDS_MAX) {
                *why = "names at most 50 products";
                return -1;
            }
            ids[n++] = id;
        }
        if (comma == NULL)
            return (int)n;
        s = comma + 1;
    }
}

static void
render_item(arc_buf *out, bool first, const struct arc_product *p)
{
    arc_buf_printf(out, "%s{\"id\":%lld", first ? "" : ",", (long long)p->id);
    arc_buf_append_json_member(out, ",\"sku\":", p->sku);
    arc_buf_append_json_member(out, ",\"name\":", p->name);
    arc_buf_printf(out, ",\"price\":%lld", (long long)p->price);
    arc_buf_append_json_member(out, ",\"currency\":", p->currency);
    arc_buf_printf(out, ",\"active\":%s,\"available\":%lld}", p->active ? "true" : "false",
                   (long long)(p->stock > 0 ? p->stock : 0));
}

struct row_state {
    arc_buf *out;
    bool first;
};

static void
on_row(void *ud, const struct product_view *p)
{
    struct row_state *st = ud;
    render_item(st->out, st->first, &p->doc);
    st->first = false;
}

/* One product into out: from the document cache when it holds it (active
 * products), else from the database (inactive ones, which are never
 * documents). Returns ARC_OK (*first cleared) or ARC_NOT_FOUND when it does
 * not exist, or the store's failure. */
static enum arc_err
lookup_one(struct catalog *c, int64_t id, arc_buf *out, bool *first)
{
    struct arc_doc doc;
    enum arc_err e = arc_doccache_get(c->docs, id, &doc);
    if (e == ARC_OK) {
        json_object *o = arc_json_parse(doc.body.ptr, doc.body.len, ARC_JSON_DEPTH);
        struct arc_product p;
        const char *why = NULL;
        if (o != NULL && arc_product_read(o, 0, &p, &why) == 0) {
            render_item(out, *first, &p);
            *first = false;
            json_object_put(o);
            return ARC_OK;
        }
        json_object_put(o); /* unreadable: the database decides below */
    } else if (e != ARC_NOT_FOUND) {
        return e;
    }
    struct row_state st = {out, *first};
    e = store_product_get(c->db, id, on_row, &st);
    *first = st.first;
    return e;
}

/* GET /internal/v1/products/lookup?ids=1,2,3 -> {"items":[{"id","sku","name",
 * "price","currency","active","available"}]}: the products that exist, in the
 * order asked, inactive ones included (active false); unknown ids are absent. */
void
handle_product_lookup(arc_req *r)
{
    struct catalog *c = r->ctx;
    bool bad = false;
    const char *s = arc_req_query_get(r, "ids", &bad);
    if (bad)
        return;
    int64_t ids[LOOKUP_IDS_MAX];
    const char *why = NULL;
    int n = lookup_ids_parse(s, ids, &why);
    if (n < 0) {
        json_object *fields = NULL;
        arc_json_field_error(&fields, "ids", "%s", why);
        arc_respond_error(r, 400, "invalid_parameter", "invalid query parameter", fields);
        return;
    }
    arc_buf *out = &c->doc;
    arc_buf_reset(out);
    arc_buf_append_str(out, "{\"items\":[");
    bool first = true;
    for (int i = 0; i < n; i++) {
        enum arc_err e = lookup_one(c, ids[i], out, &first);
        if (e != ARC_OK && e != ARC_NOT_FOUND) {
            arc_respond_failure(r, e);
            return;
        }
    }
    arc_buf_append_str(out, "]}");
    arc_respond_header(r, "Cache-Control", "no-store");
    arc_respond_raw(r, 200, NULL, out->ptr, out->len);
}
