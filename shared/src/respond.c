/*
 * respond.c - the one way to answer a request: status line, headers and body
 * in two writes, error documents, and data-layer failures mapped to answers.
 */
#include "arcade/respond.h"

#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "arcade/json.h"
#include "arcade/log.h"
#include "internal/http_internal.h"

/* Scratch for assembling a response head and an error body. Workers are
 * single-threaded and an answer is written before the next one is built, so one
 * process-wide pair is enough and is reused for the life of the process. */
static arc_buf resp_head;
static arc_buf resp_body;

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
arc_respond_header_str(arc_req *r, const char *name, const char *value, size_t len)
{
    append_header_text(&r->resp_headers, name, strlen(name));
    arc_buf_append(&r->resp_headers, ": ", 2);
    append_header_text(&r->resp_headers, value, len);
    arc_buf_append(&r->resp_headers, "\r\n", 2);
}

void
arc_respond_header(arc_req *r, const char *name, const char *fmt, ...)
{
    static arc_buf value;
    arc_buf_reset(&value);
    va_list ap;
    va_start(ap, fmt);
    arc_buf_vprintf(&value, fmt, ap);
    va_end(ap);
    arc_respond_header_str(r, name, value.ptr ? value.ptr : "", value.len);
}

void
arc_http_head(arc_buf *out, int status, const char *ctype, bool with_length, size_t len,
              const struct arc_trace *trace, const arc_buf *extra)
{
    arc_buf_append(out, "Status: ", 8);
    arc_buf_append_uint(out, (size_t)(status > 0 ? status : 500));
    arc_buf_append_char(out, ' ');
    arc_buf_append_str(out, arc_http_status_text(status));
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
        arc_respond_header_str(r, "Cache-Control", "no-store", 8);
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
arc_respond_failure(arc_req *r, enum arc_err err)
{
    switch (err) {
    case ARC_UNAVAILABLE:
        arc_respond_header(r, "Retry-After", "1");
        arc_respond_error(r, 503, "unavailable", "a backing service is unavailable, try again",
                          NULL);
        return;
    case ARC_NOT_FOUND:
        arc_respond_error(r, 404, "not_found", "not found", NULL);
        return;
    case ARC_CONFLICT:
        arc_respond_error(r, 409, "conflict", "conflicts with the current state", NULL);
        return;
    default:
        arc_respond_error(r, 500, "internal_error", "internal error", NULL);
        return;
    }
}
