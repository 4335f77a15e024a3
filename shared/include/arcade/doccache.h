/*
 * doccache.h - read-through caching of rendered JSON documents by id, never
 * stale after a write on this host (see docs/caching.md).
 *
 * Three levels, nearest first: the worker's own memory (a direct-mapped table
 * of documents, each stamped with the shared generation counter of its id,
 * arc_gen), memcached keyed by id and generation, and the loader (the
 * database). A writer calls arc_doccache_invalidate after its commit: from
 * then on every worker of the host computes a new generation, so neither its
 * memory copy nor the memcached key it asks for can be old. A hot read costs
 * one shared-memory load and a compare; the bytes are sent as they are.
 *
 * Without the shared table (ARCADE_LOCAL_CACHE=0: several web hosts taking
 * writes), level 1 is off, the memcached key carries no generation, writers
 * delete it and a short TTL bounds the rare add-after-delete race.
 *
 * A document is a tag (e.g. an ETag; may be empty) and a body.
 */
#ifndef ARCADE_DOCCACHE_H
#define ARCADE_DOCCACHE_H

#include "arcade/buf.h"
#include "arcade/cache.h"
#include "arcade/config.h"

typedef struct arc_doccache arc_doccache;

struct arc_doc {
    arc_str tag;  /* borrowed until the next call on the cache */
    arc_str body; /* borrowed until the next call on the cache */
};

/* Renders the current document of id from the source of truth: appends the
 * tag, one '\n', then the body to out. ARC_NOT_FOUND when readers must not
 * see it (nothing is cached then); any other error is passed on. */
typedef enum arc_err (*arc_doc_load_fn)(void *ud, int64_t id, arc_buf *out);

/* kind names the documents ("product", "user"): it is part of the shared
 * table's file name ($ARCADE_RUN_DIR/arcade-<service>-<kind>.gen) and of the
 * memcached keys. cache may be NULL. Never NULL: without a shared table the
 * cache runs without level 1 (logged). */
arc_doccache *arc_doccache_new(const struct arc_config *cfg, const char *kind, arc_cache *cache,
                               arc_doc_load_fn load, void *load_ud);
void arc_doccache_free(arc_doccache *dc);

/* The current document of id, through the caches. */
enum arc_err arc_doccache_get(arc_doccache *dc, int64_t id, struct arc_doc *out) ARC_NODISCARD;

/* After every committed write that changes the document of id. */
void arc_doccache_invalidate(arc_doccache *dc, int64_t id);

#endif
