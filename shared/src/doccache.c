/*
 * doccache.c - read-through document cache (see doccache.h, docs/caching.md).
 */
#include "arcade/doccache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arcade/gen.h"
#include "arcade/log.h"

#define CACHE_TTL 3600     /* seconds a generation-keyed document lives */
#define CACHE_TTL_PLAIN 60 /* without generations: bounds the add-after-delete race */
#define LOCAL_BITS 15      /* 32768 documents per worker */
#define GEN_SLOTS_LOG2 16  /* 65536 counters shared by the host's workers */

struct local_doc {
    int64_t id; /* 0: empty slot */
    uint64_t gen;
    char *data; /* tag bytes followed by body bytes; owned */
    size_t tag_len;
    size_t body_len;
};

struct arc_doccache {
    char *prefix; /* "arcade:<service>:<kind>:v2" */
    arc_cache *cache;
    arc_doc_load_fn load;
    void *load_ud;
    arc_gen *gen;            /* NULL: no level 1, keys without generation */
    struct local_doc *local; /* 2^LOCAL_BITS slots when gen != NULL */
    arc_buf doc;             /* scratch: one document */
    arc_buf key;
};

arc_doccache *
arc_doccache_new(const struct arc_config *cfg, const char *kind, arc_cache *cache,
                 arc_doc_load_fn load, void *load_ud)
{
    arc_doccache *dc = arc_xcalloc(1, sizeof *dc);
    arc_buf prefix = ARC_BUF_INIT;
    /* v2: one counter per slot (v1 added a table-wide counter). A new version
     * never reads what an older layout of the counters keyed. */
    arc_buf_printf(&prefix, "arcade:%s:%s:v2", cfg->service, kind);
    dc->prefix = prefix.ptr;
    dc->cache = cache;
    dc->load = load;
    dc->load_ud = load_ud;
    if (!cfg->local_cache)
        return dc;
    char path[4096];
    snprintf(path, sizeof path, "%s/arcade-%s-%s.gen", cfg->run_dir, cfg->service, kind);
    dc->gen = arc_gen_open(path, GEN_SLOTS_LOG2);
    if (dc->gen == NULL) {
        arc_log_warn("cannot map %s (%m): %s documents without the local cache", path, kind);
        return dc;
    }
    dc->local = arc_xcalloc((size_t)1 << LOCAL_BITS, sizeof *dc->local);
    return dc;
}

void
arc_doccache_free(arc_doccache *dc)
{
    if (dc == NULL)
        return;
    if (dc->local != NULL) {
        for (size_t i = 0; i < (size_t)1 << LOCAL_BITS; i++)
            free(dc->local[i].data);
        free(dc->local);
    }
    arc_gen_close(dc->gen);
    arc_buf_cleanup(&dc->doc);
    arc_buf_cleanup(&dc->key);
    free(dc->prefix);
    free(dc);
}

static void
make_key(arc_doccache *dc, int64_t id, uint64_t gen)
{
    arc_buf_reset(&dc->key);
    arc_buf_append_str(&dc->key, dc->prefix);
    arc_buf_append_char(&dc->key, ':');
    arc_buf_append_uint(&dc->key, (uint64_t)id);
    if (dc->gen != NULL) {
        arc_buf_printf(&dc->key, ":%llx:", (unsigned long long)arc_gen_epoch(dc->gen));
        arc_buf_append_uint(&dc->key, gen);
    }
}

/* dc->doc holds "<tag>\n<body>"; split it. */
static int
split_doc(const arc_buf *doc, struct arc_doc *out)
{
    const char *nl = doc->len ? memchr(doc->ptr, '\n', doc->len) : NULL;
    if (nl == NULL)
        return -1;
    out->tag = (arc_str){doc->ptr, (size_t)(nl - doc->ptr)};
    out->body = (arc_str){nl + 1, doc->len - out->tag.len - 1};
    return 0;
}

static struct local_doc *
local_slot(arc_doccache *dc, int64_t id)
{
    return &dc->local[(uint64_t)id & (((uint64_t)1 << LOCAL_BITS) - 1)];
}

static void
local_store(arc_doccache *dc, int64_t id, uint64_t gen, const struct arc_doc *doc)
{
    struct local_doc *d = local_slot(dc, id);
    free(d->data);
    d->data = arc_xmalloc(doc->tag.len + doc->body.len + 1);
    memcpy(d->data, doc->tag.ptr, doc->tag.len);
    memcpy(d->data + doc->tag.len, doc->body.ptr, doc->body.len);
    d->id = id;
    d->gen = gen;
    d->tag_len = doc->tag.len;
    d->body_len = doc->body.len;
}

enum arc_err
arc_doccache_get(arc_doccache *dc, int64_t id, struct arc_doc *out)
{
    /* The generation is read before anything is looked up: whatever is found
     * afterwards is at least as new as this generation. */
    uint64_t gen = 0;
    if (dc->gen != NULL) {
        gen = arc_gen_get(dc->gen, (uint64_t)id);
        struct local_doc *d = local_slot(dc, id);
        if (d->id == id && d->gen == gen) {
            out->tag = (arc_str){d->data, d->tag_len};
            out->body = (arc_str){d->data + d->tag_len, d->body_len};
            return ARC_OK;
        }
    }

    make_key(dc, id, gen);
    if (dc->cache != NULL &&
        arc_cache_get(dc->cache, dc->key.ptr, dc->key.len, &dc->doc) == ARC_OK &&
        split_doc(&dc->doc, out) == 0) {
        if (dc->gen != NULL)
            local_store(dc, id, gen, out);
        return ARC_OK;
    }

    arc_buf_reset(&dc->doc);
    enum arc_err e = dc->load(dc->load_ud, id, &dc->doc);
    if (e != ARC_OK)
        return e;
    if (split_doc(&dc->doc, out) != 0) {
        arc_log_error("%s: the loader of document %lld wrote no tag line", dc->prefix,
                      (long long)id);
        return ARC_INTERNAL;
    }
    /* add, not set: a document someone else stored under this key is as new. */
    if (dc->cache != NULL)
        (void)arc_cache_add(dc->cache, dc->key.ptr, dc->key.len, dc->doc.ptr, dc->doc.len,
                            dc->gen != NULL ? CACHE_TTL : CACHE_TTL_PLAIN);
    if (dc->gen != NULL)
        local_store(dc, id, gen, out);
    return ARC_OK;
}

void
arc_doccache_invalidate(arc_doccache *dc, int64_t id)
{
    if (dc->gen != NULL) {
        arc_gen_bump(dc->gen, (uint64_t)id);
        return;
    }
    make_key(dc, id, 0);
    if (dc->cache != NULL)
        (void)arc_cache_delete(dc->cache, dc->key.ptr, dc->key.len);
}
