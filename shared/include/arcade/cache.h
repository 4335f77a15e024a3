/*
 * cache.h - memcached through libmemcached, as a cache that may be absent.
 * Millisecond timeouts, non-blocking I/O, consistent (ketama) hashing over a
 * pool, failed servers skipped and retried after a short interval. Every call
 * degrades to ARC_UNAVAILABLE instead of blocking or failing the request; the
 * caller falls back to MariaDB. When the server returns, calls succeed again.
 */
#ifndef ARCADE_CACHE_H
#define ARCADE_CACHE_H

#include "arcade/buf.h"

typedef struct arc_cache arc_cache;

/* servers: "host:port[,host:port…]"; NULL or "" gives a cache that is always
 * a miss (ARC_UNAVAILABLE). timeout_ms bounds every network wait. */
arc_cache *arc_cache_new(const char *servers, unsigned timeout_ms);
void arc_cache_free(arc_cache *c);

/* Reads key into out (replacing its content). ARC_OK, ARC_NOT_FOUND, ARC_UNAVAILABLE. */
enum arc_err arc_cache_get(arc_cache *c, const char *key, size_t klen, arc_buf *out);
/* Stores unconditionally / only when absent. ttl_s 0 = no expiry.
 * ARC_OK, ARC_CONFLICT (add: already present), ARC_UNAVAILABLE. */
enum arc_err arc_cache_set(arc_cache *c, const char *key, size_t klen, const void *val, size_t vlen,
                           unsigned ttl_s);
enum arc_err arc_cache_add(arc_cache *c, const char *key, size_t klen, const void *val, size_t vlen,
                           unsigned ttl_s);
/* ARC_OK also when the key was absent. */
enum arc_err arc_cache_delete(arc_cache *c, const char *key, size_t klen);

/* For health checks: ARC_OK when every configured server answers. */
enum arc_err arc_cache_ping(arc_cache *c);

#endif
