/*
 * http.c - the request as a handler sees it (CGI parameters, query, JSON body)
 * and the one way to answer it (status line, headers, body in two writes).
 */
#include "arcade/http.h"

#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arcade/json.h"
#include "arcade/log.h"
#include "internal/http_internal.h"

/* Scratch for assembling a response head and an error body. Workers are
 * single-threaded and an answer is written before the next one is built, so one
 * process-wide pair is enough and is reused for the life of the process. */
static arc_buf resp_head;
static arc_buf resp_body;

const char *
arc_req_header(const arc_req *r, const char *cgi_name)
{
    if (r->fcgx == NULL || r->fcgx->envp == NULL)
        return NULL;
    return FCGX_GetParam(cgi_name, r->fcgx->envp);
}

enum arc_method
arc_method_parse(const char *name)
{
    static const struct {
        const char *name;
        enum arc_method m;
    } methods[] = {
        {"GET", ARC_GET},     {"HEAD", ARC_HEAD},     {"POST", ARC_POST},       {"PUT", ARC_PUT},
        {"PATCH", ARC_PATCH}, {"DELETE", ARC_DELETE}, {"OPTIONS", ARC_OPTIONS},
    };
    if (name == NULL)
        return ARC_METHOD_OTHER;
    for (size_t i = 0; i < ARC_ARRAY_LEN(methods); i++)
        if (strcmp(name, methods[i].name) == 0)
            return methods[i].m;
    return ARC_METHOD_OTHER;
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

/* --- Numbers ------------------------------------------------------------------- */

int
arc_parse_int64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (len > 0 && s[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == len)
        return -1;
    /* Accumulate as a negative number: its range includes INT64_MIN. */
    int64_t v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        int d = s[i] - '0';
        if (v < (INT64_MIN + d) / 10)
            return -1;
        v = v * 10 - d;
    }
    if (!neg) {
        if (v == INT64_MIN)
            return -1;
        v = -v;
    }
    *out = v;
    return 0;
}

int
arc_parse_content_length(const char *s, size_t *out)
{
    if (s == NULL || *s == '\0') {
        *out = 0;
        return 0;
    }
    size_t v = 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        size_t d = (size_t)(*s - '0');
        if (v > (SIZE_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
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
        arc_field_error(fields, key, "malformed query string");
        return -1;
    }
    const char *v = query_lookup(r, key);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    int64_t n;
    if (arc_parse_int64(v, strlen(v), &n) != 0) {
        arc_field_error(fields, key, "must be an integer");
        return -1;
    }
    if (n < min || n > max) {
        arc_field_error(fields, key, "must be between %" PRId64 " and %" PRId64, min, max);
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
        arc_field_error(fields, "page", "malformed query string");
        return -1;
    }
    int rc = 0;
    int64_t n;
    const char *v = paging_value(r, "page", flags);
    if (v != NULL && (arc_parse_int64(v, strlen(v), &n) != 0 || n < 1 || n > ARC_PAGE_MAX)) {
        arc_field_error(fields, "page", "must be an integer from 1 to %d", ARC_PAGE_MAX);
        rc = -1;
    } else if (v != NULL) {
        out->page = n;
    }
    v = paging_value(r, "per_page", flags);
    if (v != NULL && (arc_parse_int64(v, strlen(v), &n) != 0 || n < 1)) {
        arc_field_error(fields, "per_page", "must be a positive integer");
        rc = -1;
    } else if (v != NULL) {
        out->per_page = n < per_page_max ? n : per_page_max;
    }
    /* At most ARC_PAGE_MAX x per_page_max: no overflow for any list's maximum. */
    out->offset = (out->page - 1) * out->per_page;
    return rc;
}

/* --- JSON body ----------------------------------------------------------------- */

bool
arc_content_type_is_json(const char *ct)
{
    static const char json[] = "application/json";
    if (ct == NULL)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, json, sizeof json - 1) != 0)
        return false;
    ct += sizeof json - 1;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
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

/* --- Answering ------------------------------------------------------------------ */

/* Appends s with every control character (CR, LF, NUL, ...) replaced by a
 * space, so that no value can split or end the header block. */
static void
append_header_text(arc_buf *b, const char *s, size_t n)
{
    size_t start = b->len;
    arc_buf_append(b, s, n);
    for (size_t i = start; i < b->len; i++) {
        unsigned char c = (unsigned char)b->ptr[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            b->ptr[i] = ' ';
    }
}

void
arc_resp_header_str(arc_req *r, const char *name, const char *value, size_t len)
{
    append_header_text(&r->resp_headers, name, strlen(name));
    arc_buf_append(&r->resp_headers, ": ", 2);
    append_header_text(&r->resp_headers, value, len);
    arc_buf_append(&r->resp_headers, "\r\n", 2);
}

void
arc_resp_header(arc_req *r, const char *name, const char *fmt, ...)
{
    static arc_buf value;
    arc_buf_reset(&value);
    va_list ap;
    va_start(ap, fmt);
    arc_buf_vprintf(&value, fmt, ap);
    va_end(ap);
    arc_resp_header_str(r, name, value.ptr ? value.ptr : "", value.len);
}

void
arc_http_head(arc_buf *out, int status, const char *ctype, bool with_length, size_t len,
              const struct arc_trace *trace, const arc_buf *extra)
{
    arc_buf_append(out, "Status: ", 8);
    arc_buf_append_uint(out, (size_t)(status > 0 ? status : 500));
    arc_buf_append_char(out, ' ');
    arc_buf_append_str(out, arc_status_text(status));
    arc_buf_append(out, "\r\n", 2);
    if (ctype != NULL) {
        arc_buf_append(out, "Content-Type: ", 14);
        append_header_text(out, ctype, strlen(ctype));
        arc_buf_append(out, "\r\n", 2);
    }
    if (with_length) {
        arc_buf_append(out, "Content-Length: ", 16);
        arc_buf_append_uint(out, len);
        arc_buf_append(out, "\r\n", 2);
    }
    if (trace != NULL && trace->trace_id[0] != '\0') {
        char tp[ARC_TRACEPARENT_LEN + 1];
        arc_trace_format(trace, tp);
        arc_buf_append(out, "traceparent: ", 13);
        arc_buf_append(out, tp, ARC_TRACEPARENT_LEN);
        arc_buf_append(out, "\r\n", 2);
    }
    arc_buf_append_str(out, "X-Content-Type-Options: nosniff\r\n");
    if (extra != NULL && extra->len > 0)
        arc_buf_append(out, extra->ptr, extra->len);
    arc_buf_append(out, "\r\n", 2);
}

/* True when the header lines in b (each "Name: value\r\n") have one named
 * name (as this library writes it: case as given). */
static bool
has_header(const arc_buf *b, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i + n < b->len; i++) {
        bool line_start = i == 0 || b->ptr[i - 1] == '\n';
        if (line_start && b->ptr[i + n] == ':' && memcmp(b->ptr + i, name, n) == 0)
            return true;
    }
    return false;
}

/* No cache, shared or private, keeps an answer to a request that carried
 * credentials (it may be personal) or an error (it is about this request
 * only): Cache-Control: no-store, unless the handler set Cache-Control. */
static void
add_cache_control(arc_req *r, int status)
{
    bool credentials = arc_req_header(r, "HTTP_AUTHORIZATION") != NULL;
    if ((status >= 400 || credentials) && !has_header(&r->resp_headers, "Cache-Control"))
        arc_resp_header_str(r, "Cache-Control", "no-store", 8);
}

/* FCGX_PutStr takes an int length. Returns 0, or -1 when the stream failed
 * (the client or the web server went away: nothing more to do). */
static int
put_all(FCGX_Stream *s, const char *p, size_t n)
{
    while (n > 0) {
        int chunk = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        if (FCGX_PutStr(p, chunk, s) != chunk)
            return -1;
        p += chunk;
        n -= (size_t)chunk;
    }
    return 0;
}

/* Claims the single answer of the request. Answering twice is a bug in the
 * caller: an assertion in debug builds, a logged and dropped answer otherwise. */
static bool
claim_response(arc_req *r, int status)
{
    if (r->responded) {
        arc_log_error("second answer %d to %s %s dropped (already answered %d)", status,
                      r->method_name ? r->method_name : "-", r->path ? r->path : "-", r->status);
        assert(!"request answered twice");
        return false;
    }
    r->responded = true;
    r->status = status;
    return true;
}

static void
send_response(arc_req *r, int status, const char *ctype, const void *body, size_t len)
{
    bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
    if (no_body) {
        ctype = NULL;
        len = 0;
    }
    bool head_only = r->method == ARC_HEAD;
    add_cache_control(r, status);
    arc_buf_reset(&resp_head);
    arc_http_head(&resp_head, status, ctype, !no_body, len, &r->trace, &r->resp_headers);
    r->resp_bytes = 0;
    if (r->fcgx == NULL || r->fcgx->out == NULL)
        return;
    if (put_all(r->fcgx->out, resp_head.ptr, resp_head.len) != 0)
        return;
    if (!no_body && !head_only && len > 0) {
        if (put_all(r->fcgx->out, body, len) != 0)
            return;
        r->resp_bytes = len;
    }
}

void
arc_respond_raw(arc_req *r, int status, const char *content_type, const void *body, size_t len)
{
    if (!claim_response(r, status))
        return;
    send_response(r, status, content_type ? content_type : "application/json", body, len);
}

void
arc_respond_json(arc_req *r, int status, json_object *obj)
{
    if (!claim_response(r, status)) {
        json_object_put(obj);
        return;
    }
    size_t len = 4;
    const char *text = "null";
    if (obj != NULL)
        text = json_object_to_json_string_length(
            obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    send_response(r, status, "application/json", text, len);
    json_object_put(obj);
}

void
arc_respond_empty(arc_req *r, int status)
{
    if (!claim_response(r, status))
        return;
    send_response(r, status, NULL, NULL, 0);
}

void
arc_respond_error(arc_req *r, int status, const char *code, const char *message,
                  json_object *fields)
{
    if (!claim_response(r, status)) {
        json_object_put(fields);
        return;
    }
    r->error_code = code;
    arc_buf_reset(&resp_body);
    arc_buf_append_str(&resp_body, "{\"error\":{\"code\":");
    arc_buf_append_json_string(&resp_body, code, strlen(code));
    arc_buf_append_str(&resp_body, ",\"message\":");
    arc_buf_append_json_string(&resp_body, message, strlen(message));
    if (fields != NULL) {
        arc_buf_append_str(&resp_body, ",\"fields\":");
        arc_json_append(&resp_body, fields);
        json_object_put(fields);
    }
    arc_buf_append_str(&resp_body, "}}");
    send_response(r, status, "application/json", resp_body.ptr, resp_body.len);
}

void
arc_respond_invalid(arc_req *r, json_object *fields)
{
    arc_respond_error(r, 422, "validation_failed", "the request has invalid fields", fields);
}

void
arc_field_error(json_object **fields, const char *name, const char *fmt, ...)
{
    if (fields == NULL)
        return;
    if (*fields != NULL && json_object_object_get_ex(*fields, name, NULL))
        return; /* the first message for a field wins */
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (*fields == NULL)
        *fields = json_object_new_object();
    json_object *v = json_object_new_string(msg);
    if (*fields == NULL || v == NULL || json_object_object_add(*fields, name, v) != 0)
        json_object_put(v);
}

const char *
arc_status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    }
    return "Unknown";
}

void
arc_methods_format(unsigned mask, char *out, size_t outlen)
{
    static const struct {
        unsigned bit;
        const char *name;
    } order[] = {
        {ARC_GET, "GET"},     {ARC_HEAD, "HEAD"},     {ARC_POST, "POST"},       {ARC_PUT, "PUT"},
        {ARC_PATCH, "PATCH"}, {ARC_DELETE, "DELETE"}, {ARC_OPTIONS, "OPTIONS"},
    };
    if (outlen == 0)
        return;
    if (mask & ARC_GET)
        mask |= ARC_HEAD;
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < ARC_ARRAY_LEN(order); i++) {
        if (!(mask & order[i].bit))
            continue;
        int n = snprintf(out + len, outlen - len, "%s%s", len ? ", " : "", order[i].name);
        if (n < 0 || (size_t)n >= outlen - len)
            return; /* truncated, still NUL-terminated */
        len += (size_t)n;
    }
}
