/*
 * docs.c - product documents: an ETag line and the product's JSON, rendered
 * from MariaDB and read through the shared document cache (arc_doccache).
 * Inactive products are not documents readers may see: they are never cached.
 */
#include "catalog.h"

struct render_state {
    arc_buf *out;
    bool active;
};

static void
on_product(void *ud, const struct product_view *p)
{
    struct render_state *st = ud;
    char etag[48];
    size_t n = product_etag(p->id, p->version, etag, sizeof etag);
    arc_buf_append(st->out, etag, n);
    arc_buf_append_char(st->out, '\n');
    product_render(p, st->out);
    st->active = p->active;
}

/* arc_doc_load_fn: the document readers see (an ETag line and the product's
 * JSON), or ARC_NOT_FOUND. */
static enum arc_err
load_product(void *ud, int64_t id, arc_buf *out)
{
    struct catalog *c = ud;
    struct render_state st = {out, false};
    enum arc_err e = store_product_get(c->db, id, on_product, &st);
    return e == ARC_OK && !st.active ? ARC_NOT_FOUND : e;
}

int
docs_init(struct catalog *c)
{
    arc_buf_init(&c->doc);
    c->docs = arc_doccache_new(&c->cfg, "product", c->cache, load_product, c);
    return 0;
}

void
docs_cleanup(struct catalog *c)
{
    arc_doccache_free(c->docs);
    c->docs = NULL;
    arc_buf_cleanup(&c->doc);
}

enum arc_err
docs_get(struct catalog *c, int64_t id, arc_str *etag, arc_str *body)
{
    struct arc_doc doc;
    enum arc_err e = arc_doccache_get(c->docs, id, &doc);
    if (e == ARC_OK) {
        *etag = doc.tag;
        *body = doc.body;
    }
    return e;
}

void
docs_invalidate(struct catalog *c, int64_t id)
{
    arc_doccache_invalidate(c->docs, id);
}
