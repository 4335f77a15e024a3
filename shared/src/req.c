/*
 * req.c - the request as a handler sees it: CGI parameters, the query string
 * and the JSON body.
 */
#include "arcade/req.h"

#include <stdlib.h>
#include <string.h>

#include "arcade/json.h"
#include "arcade/respond.h"
#include "internal/http_internal.h"

const char *
arc_req_header(const arc_req *r, const char *cgi_name)
{
    if (r->fcgx == NULL || r->fcgx->envp == NULL)
        return NULL;
    return FCGX_GetParam(cgi_name, r->fcgx->envp);
}

void
arc_req_reset(arc_req *r, FCGX_Request *fcgx)
{
    arc_buf headers = r->resp_headers;
    arc_buf params = r->param_store;
    arc_buf query = r->query_store;
    memset(r, 0, sizeof *r);
    r->fcgx = fcgx;
    r->query = "";
    r->resp_headers = headers;
    r->param_store = params;
    r->query_store = query;
    arc_buf_reset(&r->resp_headers);
    arc_buf_reset(&r->param_store);
    arc_buf_reset(&r->query_store);
}

void
arc_req_cleanup(arc_req *r)
{
    arc_buf_cleanup(&r->resp_headers);
    arc_buf_cleanup(&r->param_store);
    arc_buf_cleanup(&r->query_store);
}

/* --- Query string -------------------------------------------------------------- */

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes src[0..n) onto the end of store, NUL-terminated. The caller reserved
 * the room, so store->ptr does not move. Returns the decoded text or NULL. */
static char *
query_decode(arc_buf *store, const char *src, size_t n)
{
    char *start = store->ptr + store->len;
    char *d = start;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (n - i < 3)
                return NULL;
            int hi = hex_value(src[i + 1]);
            int lo = hex_value(src[i + 2]);
            if (hi < 0 || lo < 0)
                return NULL;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0')
            return NULL;
        *d++ = c;
    }
    *d = '\0';
    size_t len = (size_t)(d - start);
    if (!arc_utf8_valid(start, len))
        return NULL;
    store->len += len + 1;
    return start;
}

int
arc_query_parse(const char *q, size_t qlen, arc_buf *store, struct arc_query_pair *pairs,
                size_t max, size_t *npairs)
{
    *npairs = 0;
    arc_buf_reset(store);
    /* Decoded text is never longer than the raw text; each pair adds two NULs.
     * Reserving once keeps every pointer handed out valid. */
    if (qlen > (SIZE_MAX - 2 * max - 1))
        return -1;
    arc_buf_reserve(store, qlen + 2 * max + 1);
    size_t n = 0;
    size_t pos = 0;
    while (pos < qlen) {
        const char *piece = q + pos;
        const char *amp = memchr(piece, '&', qlen - pos);
        size_t plen = amp ? (size_t)(amp - piece) : qlen - pos;
        pos += plen + 1;
        if (plen == 0)
            continue;
        if (n == max)
            return -1;
        const char *eq = memchr(piece, '=', plen);
        size_t klen = eq ? (size_t)(eq - piece) : plen;
        char *key = query_decode(store, piece, klen);
        if (key == NULL)
            return -1;
        char *val = eq ? query_decode(store, eq + 1, plen - klen - 1) : query_decode(store, "", 0);
        if (val == NULL)
            return -1;
        pairs[n].key = key;
        pairs[n].val = val;
        n++;
    }
    *npairs = n;
    return 0;
}

static int
query_ensure_parsed(arc_req *r)
{
    if (r->q_state == 0) {
        const char *q = r->query ? r->query : "";
        r->q_state =
            arc_query_parse(q, strlen(q), &r->query_store, r->qpairs, ARC_MAX_QUERY, &r->nq) == 0
                ? 1
                : -1;
        if (r->q_state < 0)
            r->nq = 0;
    }
    return r->q_state > 0 ? 0 : -1;
}

static const char *
query_lookup(const arc_req *r, const char *key)
{
    for (size_t i = 0; i < r->nq; i++)
        if (strcmp(r->qpairs[i].key, key) == 0)
            return r->qpairs[i].val; /* the first occurrence wins */
    return NULL;
}

const char *
arc_req_query_get(arc_req *r, const char *key, bool *bad)
{
    if (query_ensure_parsed(r) != 0) {
        if (bad != NULL)
            *bad = true;
        if (!r->responded)
            arc_respond_error(r, 400, "invalid_parameter", "malformed query string", NULL);
        return NULL;
    }
    return query_lookup(r, key);
}

int
arc_req_query_int(arc_req *r, const char *key, int64_t def, int64_t min, int64_t max, int64_t *out,
                  json_object **fields)
{
    if (query_ensure_parsed(r) != 0) {
        arc_json_field_error(fields, key, "malformed query string");
        return -1;
    }
    const char *v = query_lookup(r, key);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    int64_t n;
    if (arc_http_parse_int64(v, strlen(v), &n) != 0) {
        arc_json_field_error(fields, key, "must be an integer");
        return -1;
    }
    if (n < min || n > max) {
        arc_json_field_error(fields, key, "must be between %" PRId64 " and %" PRId64, min, max);
        return -1;
    }
    *out = n;
    return 0;
}

/* The value of a paging parameter, NULL when absent. */
static const char *
paging_value(const arc_req *r, const char *key, unsigned flags)
{
    const char *v = query_lookup(r, key);
    return v != NULL && v[0] == '\0' && (flags & ARC_PAGE_EMPTY_ABSENT) ? NULL : v;
}

int
arc_req_paging(arc_req *r, int64_t per_page_default, int64_t per_page_max, unsigned flags,
               struct arc_page *out, json_object **fields)
{
    *out = (struct arc_page){.page = 1, .per_page = per_page_default, .offset = 0};
    if (query_ensure_parsed(r) != 0) {
        arc_json_field_error(fields, "page", "malformed query string");
        return -1;
    }
    int rc = 0;
    int64_t n;
    const char *v = paging_value(r, "page", flags);
    if (v != NULL && (arc_http_parse_int64(v, strlen(v), &n) != 0 || n < 1 || n > ARC_PAGE_MAX)) {
        arc_json_field_error(fields, "page", "must be an integer from 1 to %d", ARC_PAGE_MAX);
        rc = -1;
    } else if (v != NULL) {
        out->page = n;
    }
    v = paging_value(r, "per_page", flags);
    if (v != NULL && (arc_http_parse_int64(v, strlen(v), &n) != 0 || n < 1)) {
        arc_json_field_error(fields, "per_page", "must be a positive integer");
        rc = -1;
    } else if (v != NULL) {
        out->per_page = n < per_page_max ? n : per_page_max;
    }
    /* At most ARC_PAGE_MAX x per_page_max: no overflow for any list's maximum. */
    out->offset = (out->page - 1) * out->per_page;
    return rc;
}

int
arc_req_read_json(arc_req *r, json_object **out)
{
    *out = NULL;
    const char *ct = arc_req_header(r, "CONTENT_TYPE");
    bool ct_absent = ct == NULL || *ct == '\0';
    if (r->body_len == 0 && (ct_absent || arc_content_type_is_json(ct))) {
        arc_respond_error(r, 400, "invalid_json", "request body must be a JSON object", NULL);
        return -1;
    }
    if (!arc_content_type_is_json(ct)) {
        arc_respond_error(r, 415, "unsupported_media_type", "Content-Type must be application/json",
                          NULL);
        return -1;
    }
    json_object *obj = arc_json_parse(r->body, r->body_len, ARC_JSON_DEPTH);
    if (obj == NULL) {
        arc_respond_error(r, 400, "invalid_json", "request body is not valid JSON", NULL);
        return -1;
    }
    if (!json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        arc_respond_error(r, 400, "invalid_json", "request body must be a JSON object", NULL);
        return -1;
    }
    *out = obj;
    return 0;
}
