/*
 * docs.c - product documents: read-through cached, never stale after a write.
 *
 * Three levels, nearest first:
 *   1. this worker's memory: a direct-mapped table of rendered documents
 *      (ETag + JSON bytes), each stamped with the shared generation counter of
 *      its product id (arc_gen, one mapping per host shared by all workers);
 *   2. memcached, keyed by id AND by that generation (and the table's epoch);
 *   3. MariaDB, the source of truth.
 * A writer commits, then bumps the generation of the product. From then on
 * every worker on the host computes a new generation, so its own copy and the
 * memcached key it asks for are both new: no stale document can be served,
 * and a slow reader that stores an old document later stores it under the old
 * key, where no one looks. Old keys simply expire. The hot path is one shared
 * memory load and a compare: no system call, no round trip, no JSON work.
 *
 * Without the shared table (ARCADE_LOCAL_CACHE=0, e.g. several web hosts that
 * all write), level 1 is off and the memcached key carries no generation:
 * writers delete it after commit, and a short TTL bounds the rare race of a
 * reader re-adding an old document (CACHE_TTL_PLAIN); see docs/caching.md.
 */
#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arcade/log.h>

#define CACHE_TTL 3600     /* seconds a generation-keyed document lives */
#define CACHE_TTL_PLAIN 60 /* without generations: bounds the add-after-delete race */
#define LOCAL_BITS 15      /* 32768 slots per worker */
#define GEN_SLOTS_LOG2 16  /* 65536 counters shared by the host's workers */

int
docs_init(struct catalog *c)
{
    arc_buf_init(&c->doc);
    arc_buf_init(&c->key);
    c->gen = NULL;
    c->local = NULL;
    c->local_bits = 0;
    if (!c->cfg.local_cache)
        return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/arcade-%s.gen", c->cfg.run_dir, c->cfg.service);
    c->gen = arc_gen_open(path, GEN_SLOTS_LOG2);
    if (c->gen == NULL) {
        arc_log_warn("cannot map %s (%m): running without the local document cache", path);
        return 0;
    }
    c->local_bits = LOCAL_BITS;
    c->local = arc_xcalloc((size_t)1 << LOCAL_BITS, sizeof *c->local);
    return 0;
}

void
docs_cleanup(struct catalog *c)
{
    if (c->local != NULL) {
        for (size_t i = 0; i < (size_t)1 << c->local_bits; i++)
            free(c->local[i].data);
        free(c->local);
        c->local = NULL;
    }
    arc_gen_close(c->gen);
    c->gen = NULL;
    arc_buf_cleanup(&c->doc);
    arc_buf_cleanup(&c->key);
}

static void
make_key(struct catalog *c, int64_t id, uint64_t gen)
{
    arc_buf_reset(&c->key);
    if (c->gen != NULL)
        arc_buf_printf(&c->key, "arcade:catalog:v1:p:%lld:%llx:%llu", (long long)id,
                       (unsigned long long)arc_gen_epoch(c->gen), (unsigned long long)gen);
    else
        arc_buf_printf(&c->key, "arcade:catalog:v1:p:%lld", (long long)id);
}

/* c->doc holds "<etag>\n<json>"; split it. */
static int
split_doc(const arc_buf *doc, arc_str *etag, arc_str *body)
{
    const char *nl = memchr(doc->ptr, '\n', doc->len);
    if (nl == NULL || nl == doc->ptr || doc->ptr[0] != '"')
        return -1;
    *etag = (arc_str){doc->ptr, (size_t)(nl - doc->ptr)};
    *body = (arc_str){nl + 1, doc->len - etag->len - 1};
    return 0;
}

static struct local_doc *
local_slot(struct catalog *c, int64_t id)
{
    return &c->local[(uint64_t)id & (((uint64_t)1 << c->local_bits) - 1)];
}

static void
local_store(struct catalog *c, int64_t id, uint64_t gen, arc_str etag, arc_str body)
{
    struct local_doc *d = local_slot(c, id);
    free(d->data);
    d->data = arc_xmalloc(etag.len + body.len);
    memcpy(d->data, etag.ptr, etag.len);
    memcpy(d->data + etag.len, body.ptr, body.len);
    d->id = id;
    d->gen = gen;
    d->etag_len = etag.len;
    d->body_len = body.len;
}

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

enum arc_err
docs_load(struct catalog *c, int64_t id, arc_str *etag, arc_str *body, bool *active)
{
    arc_buf_reset(&c->doc);
    struct render_state st = {&c->doc, false};
    enum arc_err e = store_product_get(c->db, id, on_product, &st);
    if (e != ARC_OK)
        return e;
    *active = st.active;
    return split_doc(&c->doc, etag, body) == 0 ? ARC_OK : ARC_INTERNAL;
}

enum arc_err
docs_get(struct catalog *c, int64_t id, arc_str *etag, arc_str *body)
{
    uint64_t gen = 0;
    if (c->gen != NULL) {
        gen = arc_gen_get(c->gen, id);
        struct local_doc *d = local_slot(c, id);
        if (d->id == id && d->gen == gen) {
            *etag = (arc_str){d->data, d->etag_len};
            *body = (arc_str){d->data + d->etag_len, d->body_len};
            return ARC_OK;
        }
    }

    make_key(c, id, gen);
    if (arc_cache_get(c->cache, c->key.ptr, c->key.len, &c->doc) == ARC_OK &&
        split_doc(&c->doc, etag, body) == 0) {
        if (c->gen != NULL)
            local_store(c, id, gen, *etag, *body);
        return ARC_OK;
    }

    bool active = false;
    enum arc_err e = docs_load(c, id, etag, body, &active);
    if (e != ARC_OK)
        return e;
    if (!active)
        return ARC_NOT_FOUND; /* inactive products are not cached: rare reads */
    /* add, not set: a document someone else stored for this key is as new. */
    (void)arc_cache_add(c->cache, c->key.ptr, c->key.len, c->doc.ptr, c->doc.len,
                        c->gen != NULL ? CACHE_TTL : CACHE_TTL_PLAIN);
    if (c->gen != NULL)
        local_store(c, id, gen, *etag, *body);
    return ARC_OK;
}

void
docs_invalidate(struct catalog *c, int64_t id)
{
    if (c->gen != NULL) {
        arc_gen_bump(c->gen, id);
        return;
    }
    make_key(c, id, 0);
    (void)arc_cache_delete(c->cache, c->key.ptr, c->key.len);
}

enum arc_err
docs_cache_ping(struct catalog *c)
{
    return arc_cache_ping(c->cache);
}
