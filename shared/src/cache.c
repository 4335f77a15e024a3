/*
 * cache.c - memcached through libmemcached 1.1, as a cache that may be absent.
 *
 * Behaviours, and why (measured against memcached 1.6 on loopback):
 * - Non-blocking I/O with connect and poll timeouts of timeout_ms (libmemcached
 *   counts both in milliseconds; its defaults are 4 s and 5 s). SND/RCV
 *   timeouts are in microseconds and only matter for blocking sockets; set
 *   anyway so that no wait is unbounded.
 * - Text protocol (libmemcached's default). The binary protocol is deprecated
 *   in memcached 1.6; keys are checked here so the text protocol's key rules
 *   (no spaces or control characters, at most 250 bytes) always hold.
 * - Ketama consistent hashing, so a pool can grow with few keys moving.
 * - A server that refuses connections is skipped for RETRY_TIMEOUT (1 s) and
 *   then tried again (libmemcached's own back-off; calls meanwhile fail at once).
 * - REMOVE_FAILED_SERVERS is deliberately off. With it on, libmemcached removes
 *   a failed server from the continuum: its keys move to the other servers, and
 *   with DEAD_TIMEOUT 0 (the default) the server never comes back in this
 *   process (observed). Worse, moving keys breaks read-after-write: workers
 *   that disagree on which servers are alive invalidate a key on one server
 *   and read it from another, and a server that was only unreachable comes
 *   back with entries that missed their invalidation. Without removal a failed
 *   server's keys are misses until it answers again: slower, never stale.
 * - A server that accepts connections but does not answer (hung) costs one
 *   poll timeout, after which this module skips it for HUNG_BACKOFF_NS, so a
 *   request with several cache calls does not pay the timeout each time.
 *   libmemcached closes a connection whose request timed out, so a late answer
 *   is never taken for the answer to a later request (checked in the tests).
 */
#include "arcade/cache.h"

#include <libmemcached/memcached.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arcade/log.h"

#define KEY_MAX 250
#define RETRY_TIMEOUT_S 1
#define HUNG_BACKOFF_NS (1000ull * 1000 * 1000)
#define RECREATE_BACKOFF_NS (1000ull * 1000 * 1000)
#define WARN_INTERVAL_NS (10ull * 1000 * 1000 * 1000)

struct arc_cache {
    memcached_st *mc; /* NULL: no servers configured, every call is UNAVAILABLE */
    char *servers;
    unsigned timeout_ms;
    uint32_t nservers;
    uint64_t *skip_until; /* per server position: skipped after a timeout until then */
    uint32_t nskipped;    /* how many entries of skip_until may be in the future */
    uint64_t recreate_at; /* when non-zero, build a fresh memcached_st at this time */
    bool failing;         /* the last call failed */
    bool warned;          /* a failure was logged and no recovery yet */
    uint64_t last_warn;   /* failures are logged at most every WARN_INTERVAL_NS */
};

static memcached_st *
create_mc(const char *servers, unsigned timeout_ms, uint32_t *nservers)
{
    memcached_server_st *list = memcached_servers_parse(servers);
    if (list == NULL)
        return NULL;
    memcached_st *mc = memcached_create(NULL);
    if (mc == NULL) {
        memcached_server_list_free(list);
        return NULL;
    }
    memcached_return_t rc = memcached_server_push(mc, list);
    memcached_server_list_free(list);
    const struct {
        memcached_behavior_t b;
        uint64_t v;
    } behaviours[] = {
        {MEMCACHED_BEHAVIOR_NO_BLOCK, 1},
        {MEMCACHED_BEHAVIOR_TCP_NODELAY, 1},
        {MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, timeout_ms},              /* ms */
        {MEMCACHED_BEHAVIOR_POLL_TIMEOUT, timeout_ms},                 /* ms */
        {MEMCACHED_BEHAVIOR_SND_TIMEOUT, (uint64_t)timeout_ms * 1000}, /* us */
        {MEMCACHED_BEHAVIOR_RCV_TIMEOUT, (uint64_t)timeout_ms * 1000}, /* us */
        {MEMCACHED_BEHAVIOR_DISTRIBUTION, MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA},
        {MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 0},
        {MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, 1},
        {MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, RETRY_TIMEOUT_S}, /* s */
        {MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 0},
    };
    for (size_t i = 0; memcached_success(rc) && i < ARC_ARRAY_LEN(behaviours); i++)
        rc = memcached_behavior_set(mc, behaviours[i].b, behaviours[i].v);
    if (!memcached_success(rc)) {
        arc_log_error("cache: cannot configure libmemcached: %s", memcached_strerror(mc, rc));
        memcached_free(mc);
        return NULL;
    }
    *nservers = memcached_server_count(mc);
    return mc;
}

/* "host:port[,host:port...]" with non-empty hosts and ports in 1..65535.
 * memcached_servers_parse is lenient (",,," gives localhost:11211), so a typo
 * would silently point the cache elsewhere. */
static bool
servers_ok(const char *s)
{
    for (;;) {
        size_t n = strcspn(s, ",");
        const char *colon = memchr(s, ':', n);
        if (colon == NULL || colon == s)
            return false;
        for (const char *p = s; p < colon; p++)
            if (*p <= ' ' || *p == 0x7f)
                return false;
        unsigned port = 0;
        const char *p = colon + 1;
        if (p == s + n)
            return false;
        for (; p < s + n; p++) {
            if (*p < '0' || *p > '9' || port > 65535)
                return false;
            port = port * 10 + (unsigned)(*p - '0');
        }
        if (port == 0 || port > 65535)
            return false;
        if (s[n] == '\0')
            return true;
        s += n + 1;
    }
}

arc_cache *
arc_cache_new(const char *servers, unsigned timeout_ms)
{
    arc_cache *c = arc_xcalloc(1, sizeof(*c));
    c->timeout_ms = timeout_ms ? timeout_ms : 50;
    if (servers == NULL || servers[0] == '\0')
        return c;
    c->servers = arc_xstrdup(servers);
    if (servers_ok(servers))
        c->mc = create_mc(servers, c->timeout_ms, &c->nservers);
    if (c->mc == NULL || c->nservers == 0) {
        /* A typo in the configuration: run without a cache, loudly. */
        arc_log_error("cache: cannot use memcached servers \"%s\": running without a cache",
                      servers);
        if (c->mc != NULL)
            memcached_free(c->mc);
        c->mc = NULL;
        return c;
    }
    c->skip_until = arc_xcalloc(c->nservers, sizeof(*c->skip_until));
    return c;
}

void
arc_cache_free(arc_cache *c)
{
    if (c == NULL)
        return;
    if (c->mc != NULL)
        memcached_free(c->mc);
    free(c->skip_until);
    free(c->servers);
    free(c);
}

static bool
key_ok(const char *key, size_t klen)
{
    if (key == NULL || klen == 0 || klen > KEY_MAX)
        return false;
    for (size_t i = 0; i < klen; i++) {
        unsigned char ch = (unsigned char)key[i];
        if (ch <= 0x20 || ch == 0x7f)
            return false;
    }
    return true;
}

/* Position of the server key maps to, or UINT32_MAX. */
static uint32_t
server_of(arc_cache *c, const char *key, size_t klen)
{
    memcached_return_t rc;
    const memcached_instance_st *inst = memcached_server_by_key(c->mc, key, klen, &rc);
    if (inst == NULL)
        return UINT32_MAX;
    for (uint32_t i = 0; i < c->nservers; i++)
        if (memcached_server_instance_by_position(c->mc, i) == inst)
            return i;
    return UINT32_MAX;
}

/* Rebuilds the handle when that was scheduled. False when there is none. */
static bool
have_mc(arc_cache *c)
{
    if (c == NULL)
        return false;
    if (c->recreate_at != 0 && arc_now_ns() >= c->recreate_at) {
        uint32_t n = 0;
        memcached_st *mc = create_mc(c->servers, c->timeout_ms, &n);
        if (mc != NULL && n == c->nservers) {
            memcached_free(c->mc);
            c->mc = mc;
            c->recreate_at = 0;
            memset(c->skip_until, 0, c->nservers * sizeof(*c->skip_until));
            c->nskipped = 0;
        } else {
            if (mc != NULL)
                memcached_free(mc);
            c->recreate_at = arc_now_ns() + RECREATE_BACKOFF_NS;
        }
    }
    return c->mc != NULL;
}

/* Called before each key operation: false while the key's server is skipped
 * after a timeout. */
static bool
usable(arc_cache *c, const char *key, size_t klen)
{
    if (!have_mc(c))
        return false;
    if (c->nskipped == 0)
        return true; /* the hot path: nothing is skipped */
    uint32_t s = server_of(c, key, klen);
    if (s == UINT32_MAX || c->skip_until[s] == 0)
        return true;
    if (arc_now_ns() < c->skip_until[s])
        return false;
    c->skip_until[s] = 0; /* back-off over: try it again */
    c->nskipped--;
    return true;
}

/* Maps a libmemcached result that is not a success or an expected miss, and
 * reacts: a timeout skips the key's server for a while; "no servers" or "marked
 * dead" (a server removed from the continuum, which this configuration should
 * never do) rebuilds the handle after a back-off. Logs state changes only. */
static enum arc_err
failed(arc_cache *c, const char *op, const char *key, size_t klen, memcached_return_t rc)
{
    if (rc == MEMCACHED_TIMEOUT && key != NULL) {
        uint32_t s = server_of(c, key, klen);
        if (s != UINT32_MAX) {
            if (c->skip_until[s] == 0)
                c->nskipped++;
            c->skip_until[s] = arc_now_ns() + HUNG_BACKOFF_NS;
        }
    } else if (rc == MEMCACHED_NO_SERVERS || rc == MEMCACHED_SERVER_MARKED_DEAD) {
        if (c->recreate_at == 0)
            c->recreate_at = arc_now_ns() + RECREATE_BACKOFF_NS;
    }
    if (!c->failing) {
        c->failing = true;
        uint64_t now = arc_now_ns();
        if (c->last_warn == 0 || now - c->last_warn >= WARN_INTERVAL_NS) {
            c->last_warn = now;
            c->warned = true;
            arc_log_warn("cache: %s failed: %s (calls fail fast until memcached answers)", op,
                         memcached_last_error_message(c->mc));
        }
    }
    return ARC_UNAVAILABLE;
}

static void
succeeded(arc_cache *c)
{
    c->failing = false;
    if (c->warned) {
        c->warned = false;
        arc_log_info("cache: memcached answers again");
    }
}

enum arc_err
arc_cache_get(arc_cache *c, const char *key, size_t klen, arc_buf *out)
{
    if (!key_ok(key, klen))
        return ARC_INVALID;
    if (!usable(c, key, klen))
        return ARC_UNAVAILABLE;
    size_t vlen = 0;
    uint32_t flags = 0;
    memcached_return_t rc;
    char *v = memcached_get(c->mc, key, klen, &vlen, &flags, &rc);
    if (v != NULL && memcached_success(rc)) {
        arc_buf_reset(out);
        arc_buf_append(out, v, vlen);
        free(v);
        succeeded(c);
        return ARC_OK;
    }
    free(v);
    if (rc == MEMCACHED_NOTFOUND) {
        succeeded(c);
        return ARC_NOT_FOUND;
    }
    if (memcached_success(rc)) { /* an empty value: libmemcached returns NULL */
        arc_buf_reset(out);
        arc_buf_reserve(out, 1);
        succeeded(c);
        return ARC_OK;
    }
    return failed(c, "get", key, klen, rc);
}

static enum arc_err
store(arc_cache *c, bool add, const char *key, size_t klen, const void *val, size_t vlen,
      unsigned ttl_s)
{
    if (!key_ok(key, klen) || (val == NULL && vlen > 0))
        return ARC_INVALID;
    if (!usable(c, key, klen))
        return ARC_UNAVAILABLE;
    /* memcached reads expirations above 30 days as a Unix time. */
    time_t exp = ttl_s > 30u * 24 * 3600 ? time(NULL) + (time_t)ttl_s : (time_t)ttl_s;
    const char *v = val ? val : "";
    memcached_return_t rc = add ? memcached_add(c->mc, key, klen, v, vlen, exp, 0)
                                : memcached_set(c->mc, key, klen, v, vlen, exp, 0);
    if (memcached_success(rc)) {
        succeeded(c);
        return ARC_OK;
    }
    if (add && (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS)) {
        succeeded(c);
        return ARC_CONFLICT;
    }
    if (rc == MEMCACHED_E2BIG) /* larger than the server's item size: never cached */
        return ARC_INVALID;
    return failed(c, add ? "add" : "set", key, klen, rc);
}

enum arc_err
arc_cache_set(arc_cache *c, const char *key, size_t klen, const void *val, size_t vlen,
              unsigned ttl_s)
{
    return store(c, false, key, klen, val, vlen, ttl_s);
}

enum arc_err
arc_cache_add(arc_cache *c, const char *key, size_t klen, const void *val, size_t vlen,
              unsigned ttl_s)
{
    return store(c, true, key, klen, val, vlen, ttl_s);
}

enum arc_err
arc_cache_delete(arc_cache *c, const char *key, size_t klen)
{
    if (!key_ok(key, klen))
        return ARC_INVALID;
    if (!usable(c, key, klen))
        return ARC_UNAVAILABLE;
    memcached_return_t rc = memcached_delete(c->mc, key, klen, 0);
    if (memcached_success(rc) || rc == MEMCACHED_NOTFOUND) {
        succeeded(c);
        return ARC_OK;
    }
    return failed(c, "delete", key, klen, rc);
}

/* Asks every server for its version; libmemcached reports an error when any
 * server does not answer. */
enum arc_err
arc_cache_ping(arc_cache *c)
{
    if (!have_mc(c))
        return ARC_UNAVAILABLE;
    /* A real round trip to every server: memcached_version() asks each server
     * only once per handle and then answers from memory. */
    memcached_return_t rc = MEMCACHED_FAILURE;
    memcached_stat_st *st = memcached_stat(c->mc, NULL, &rc);
    if (st != NULL)
        memcached_stat_free(c->mc, st);
    if (memcached_success(rc)) {
        succeeded(c);
        return ARC_OK;
    }
    return failed(c, "stats", NULL, 0, rc);
}
