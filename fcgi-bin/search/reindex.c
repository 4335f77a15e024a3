/*
 * reindex.c - `arcade-search reindex`: rebuilds the read model from the
 * catalog's export (GET {ARCADE_CATALOG_URL}/internal/v1/products/export,
 * pages of {"items":[{"version","data"}],"next_after"}), never from the
 * catalog's schema. Each page is applied in one transaction through
 * search_apply (the consumer's path: an older version never overwrites a newer
 * one, so events applied meanwhile are safe), which also marks every product
 * it sees. At the end the products the export did not list (the catalog no
 * longer has them) are deleted, the facet counts are recomputed, and the
 * products table is rebuilt to compact its full-text index. Safe to run while
 * the consumer runs (which waits during that rebuild).
 */
#include "search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arcade/httpc.h>
#include <arcade/json.h>
#include <arcade/log.h>

#define PAGE_LIMIT 500
#define PAGE_LIMIT_MIN 25
#define HTTP_TIMEOUT_MS 30000
#define FETCH_ATTEMPTS 5

struct reindex {
    arc_db *db;
    arc_httpc *http;
    const char *base; /* ARCADE_CATALOG_URL, without a trailing '/' */
    size_t base_len;
    struct arc_trace trace;
    struct arc_httpc_response resp;
    int64_t read, applied_pages, invalid;
};

/* Fetches the page after id `after` into r->resp (status 200). An answer too
 * large for the client (1 MiB) fails like a lost connection: each retry asks
 * for half as many products. */
static int
fetch_page(struct reindex *r, int64_t after, unsigned *limit)
{
    char url[2048];
    for (int attempt = 1; attempt <= FETCH_ATTEMPTS; attempt++) {
        snprintf(url, sizeof url, "%.*s/internal/v1/products/export?after=%lld&limit=%u",
                 (int)r->base_len, r->base, (long long)after, *limit);
        enum arc_err e = arc_httpc_request(r->http, "GET", url,
                                           (const char *const[]){"Accept: application/json", NULL},
                                           NULL, 0, &r->trace, &r->resp);
        if (e == ARC_OK && r->resp.status == 200)
            return 0;
        if (e == ARC_OK && r->resp.status != 503) {
            fprintf(stderr, "reindex: GET %s answered %d: %.300s\n", url, r->resp.status,
                    r->resp.body.len ? r->resp.body.ptr : "");
            return -1;
        }
        fprintf(stderr, "reindex: GET %s: %s (attempt %d of %d)\n", url,
                e == ARC_OK ? "503 unavailable" : "no answer (unreachable, timed out or too large)",
                attempt, FETCH_ATTEMPTS);
        if (*limit / 2 >= PAGE_LIMIT_MIN)
            *limit /= 2;
        struct timespec ts = {0, 200 * 1000 * 1000L * attempt};
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* Applies every item of a page in one transaction. Items that are not product
 * documents are counted (and logged by search_apply), not applied. */
struct page_tx {
    json_object *items;
    int64_t invalid;
};

static enum arc_err
apply_page_tx(arc_db *db, void *ud)
{
    struct page_tx *t = ud;
    json_object *items = t->items;
    int64_t *invalid = &t->invalid;
    size_t n = json_object_array_length(items);
    *invalid = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(items, i), *version, *data;
        if (!json_object_is_type(item, json_type_object) ||
            !json_object_object_get_ex(item, "version", &version) ||
            !json_object_is_type(version, json_type_int) ||
            !json_object_object_get_ex(item, "data", &data)) {
            arc_log_warn("reindex: export item %zu is not {\"version\",\"data\"}", i);
            (*invalid)++;
            continue;
        }
        enum arc_err e = search_apply(db, json_object_get_int64(version), data);
        if (e == ARC_INVALID) {
            (*invalid)++;
            continue;
        }
        if (e != ARC_OK)
            return e;
    }
    return ARC_OK;
}

static enum arc_err
apply_page(struct reindex *r, json_object *items)
{
    struct page_tx t = {items, 0};
    enum arc_err e = arc_db_tx(r->db, "reindex page", apply_page_tx, &t);
    if (e == ARC_OK) {
        r->read += (int64_t)json_object_array_length(items);
        r->invalid += t.invalid;
    }
    return e;
}

/* Reads one page answer: items (borrowed from *root) and the next cursor
 * (-1 at the end). */
static int
read_page(struct reindex *r, int64_t after, json_object **root, json_object **items, int64_t *next)
{
    json_object *cursor;
    *root = arc_json_parse(r->resp.body.ptr, r->resp.body.len, ARC_JSON_DEPTH);
    if (*root == NULL || !json_object_is_type(*root, json_type_object) ||
        !json_object_object_get_ex(*root, "items", items) ||
        !json_object_is_type(*items, json_type_array) ||
        !json_object_object_get_ex(*root, "next_after", &cursor)) {
        fprintf(stderr, "reindex: the export's answer is not {\"items\":[…],\"next_after\"}\n");
        return -1;
    }
    if (cursor == NULL) {
        *next = -1;
        return 0;
    }
    if (!json_object_is_type(cursor, json_type_int) || json_object_get_int64(cursor) <= after) {
        fprintf(stderr, "reindex: the export's next_after does not move past %lld\n",
                (long long)after);
        return -1;
    }
    *next = json_object_get_int64(cursor);
    return 0;
}

static int
run(struct reindex *r)
{
    char start[32];
    int64_t after = 0, removed = 0;
    unsigned limit = PAGE_LIMIT;
    uint64_t t0 = arc_now_ns();
    /* The database's clock: rows confirmed from now on are newer than this. */
    enum arc_err e = store_now(r->db, start);
    if (e != ARC_OK) {
        fprintf(stderr, "reindex: the search database is %s\n", arc_err_name(e));
        return -1;
    }
    while (after >= 0) {
        json_object *root = NULL, *items;
        int64_t next;
        if (fetch_page(r, after, &limit) != 0 || read_page(r, after, &root, &items, &next) != 0) {
            json_object_put(root);
            return -1;
        }
        e = apply_page(r, items);
        json_object_put(root);
        if (e != ARC_OK) {
            fprintf(stderr, "reindex: applying products after id %lld: %s\n", (long long)after,
                    arc_err_name(e));
            return -1;
        }
        after = next;
    }
    if (r->invalid > 0) {
        /* Their rows were not confirmed: a sweep would delete products the
         * catalog still has. */
        fprintf(stderr,
                "reindex: %lld exported products were not product documents (see the "
                "search log); nothing was removed\n",
                (long long)r->invalid);
        return -1;
    }
    e = store_reindex_finish(r->db, start, &removed);
    if (e != ARC_OK) {
        fprintf(stderr, "reindex: removing products the catalog no longer has: %s\n",
                arc_err_name(e));
        return -1;
    }
    /* The moment to compact the full-text index: not a failure of the
     * reindex when it cannot be done now. */
    uint64_t t1 = arc_now_ns();
    e = store_optimize(r->db);
    if (e != ARC_OK)
        fprintf(stderr,
                "reindex: compacting the full-text index failed (%s); searches work, "
                "maybe slower\n",
                arc_err_name(e));
    else
        arc_log_info("reindex: full-text index compacted in %.2f s",
                     (double)(arc_now_ns() - t1) / 1e9);
    double secs = (double)(arc_now_ns() - t0) / 1e9;
    printf("reindex: %lld products applied, %lld removed, %.2f s\n", (long long)r->read,
           (long long)removed, secs);
    arc_log_info("reindex: %lld products applied, %lld removed, %.2f s", (long long)r->read,
                 (long long)removed, secs);
    return 0;
}

int
reindex_main(const struct arc_config *cfg)
{
    struct reindex r = {0};
    r.base = arc_env_str("ARCADE_CATALOG_URL", "");
    r.base_len = strlen(r.base);
    while (r.base_len > 0 && r.base[r.base_len - 1] == '/')
        r.base_len--;
    if (r.base_len == 0) {
        fprintf(stderr, "reindex: ARCADE_CATALOG_URL is not set: the base URL of the catalog's "
                        "internal listener (e.g. http://127.0.0.1:8081)\n");
        return EXIT_FAILURE;
    }
    r.db = arc_db_new(&cfg->db, search_sql, search_nsql);
    r.http = arc_httpc_new(HTTP_TIMEOUT_MS);
    if (r.db == NULL || r.http == NULL) {
        fprintf(stderr, "reindex: cannot start\n");
        arc_db_free(r.db);
        arc_httpc_free(r.http);
        return EXIT_FAILURE;
    }
    arc_buf_init(&r.resp.body);
    arc_trace_start(&r.trace, NULL);
    arc_log_set_trace(r.trace.trace_id);
    arc_log_info("reindex from %.*s started", (int)r.base_len, r.base);
    int rc = run(&r);
    if (rc != 0)
        arc_log_error("reindex failed");
    arc_log_set_trace(NULL);
    arc_buf_cleanup(&r.resp.body);
    arc_httpc_free(r.http);
    arc_db_free(r.db);
    return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
