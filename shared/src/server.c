/*
 * server.c - the FastCGI accept loop and the per-request pipeline:
 * trace -> bounded body -> route -> before -> handler -> one log line.
 *
 * A worker is single-threaded and serves one request at a time, so the request
 * and its buffers are process-wide and reused: after the first few requests the
 * hot path allocates nothing.
 */
#include "arcade/server.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>

#include "arcade/json.h"
#include "arcade/log.h"
#include "arcade/respond.h"
#include "internal/daemon.h"
#include "internal/http_internal.h"
#include "internal/log_internal.h"

static struct {
    arc_req req;
    arc_buf path;
    arc_buf body;
    arc_buf line;
    arc_buf scratch;
} S;

static void
on_shutdown_signal(int sig)
{
    (void)sig;
    FCGX_ShutdownPending();
}

/* Path from REQUEST_URI up to '?', else SCRIPT_NAME + PATH_INFO. */
static void
set_path(arc_req *r)
{
    arc_buf_reset(&S.path);
    const char *uri = arc_req_header(r, "REQUEST_URI");
    if (uri != NULL) {
        const char *q = strchr(uri, '?');
        arc_buf_append(&S.path, uri, q ? (size_t)(q - uri) : strlen(uri));
    } else {
        const char *script = arc_req_header(r, "SCRIPT_NAME");
        const char *info = arc_req_header(r, "PATH_INFO");
        arc_buf_append_str(&S.path, script ? script : "");
        arc_buf_append_str(&S.path, info ? info : "");
    }
    if (S.path.len == 0)
        arc_buf_append_char(&S.path, '/');
    r->path = S.path.ptr;
}

/* A request target with a control character (NUL included) is refused with
 * 400. A NUL never reaches us: libfcgi hands parameters over as C strings, so
 * "/products/1<NUL>" would read as "/products/1". The web server sees the
 * real length and sets ARCADE_BAD_TARGET=1 (httpd/lighttpd/arcade.conf.in);
 * other control characters are seen here too. Returns 0, or -1 after
 * answering. */
static int
check_target(arc_req *r)
{
    const char *uri = arc_req_header(r, "REQUEST_URI");
    bool bad = arc_req_header(r, "ARCADE_BAD_TARGET") != NULL;
    for (const char *p = uri; !bad && p != NULL && *p != '\0'; p++)
        bad = (unsigned char)*p < 0x20 || *p == 0x7f;
    if (!bad)
        return 0;
    arc_respond_error(r, 400, "bad_request", "the request target holds a control character", NULL);
    return -1;
}

/* Reads the body announced by CONTENT_LENGTH. Returns 0, or -1 after answering. */
static int
read_body(arc_req *r)
{
    size_t n = 0;
    if (arc_parse_content_length(arc_req_header(r, "CONTENT_LENGTH"), &n) != 0) {
        arc_respond_error(r, 400, "bad_request", "malformed Content-Length", NULL);
        return -1;
    }
    if (n > ARC_BODY_MAX) {
        arc_respond_error(r, 413, "payload_too_large", "request body is larger than 64 KiB", NULL);
        return -1;
    }
    arc_buf_reset(&S.body);
    arc_buf_reserve(&S.body, n);
    size_t got = 0;
    while (got < n) {
        int k = FCGX_GetStr(S.body.ptr + got, (int)(n - got), r->fcgx->in);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    S.body.len = got;
    S.body.ptr[got] = '\0';
    r->body = S.body.ptr;
    r->body_len = got;
    if (got < n) {
        arc_respond_error(r, 400, "bad_request", "request body is shorter than its Content-Length",
                          NULL);
        return -1;
    }
    return 0;
}

static void
route_and_run(const struct arc_service *svc, arc_req *r)
{
    const struct arc_route *route = NULL;
    unsigned allow = 0;
    switch (arc_route_match(svc->routes, svc->nroutes, r, &route, &allow)) {
    case ARC_ROUTE_FOUND:
        break;
    case ARC_ROUTE_NOT_FOUND:
        arc_respond_error(r, 404, "not_found", "no such resource", NULL);
        return;
    case ARC_ROUTE_BAD_METHOD: {
        char methods[64];
        arc_http_methods_format(allow, methods, sizeof methods);
        arc_respond_header(r, "Allow", "%s", methods);
        arc_respond_error(r, 405, "method_not_allowed", "method not allowed for this resource",
                          NULL);
        return;
    }
    case ARC_ROUTE_BAD_PARAM:
        arc_respond_error(r, 400, "invalid_parameter", "path parameter must be a positive integer",
                          NULL);
        return;
    }
    if (svc->before != NULL && svc->before(r) != 0) {
        if (!r->responded) {
            arc_log_error("before hook of %s refused without answering", r->route);
            arc_respond_error(r, 500, "internal_error", "internal error", NULL);
        }
        return;
    }
    route->handler(r);
}

/* The path as a JSON string for the log line: bytes that are not well-formed
 * UTF-8 (a client may send any) are written %XX, so the line stays valid
 * UTF-8 JSON and still says which bytes came. */
static void
append_log_path(arc_buf *l, const char *path, size_t n)
{
    if (arc_utf8_valid(path, n)) {
        arc_buf_append_json_string(l, path, n);
        return;
    }
    static const char hex[] = "0123456789ABCDEF";
    arc_buf_reset(&S.scratch);
    for (size_t i = 0; i < n;) {
        size_t k = arc_utf8_seq(path + i, n - i);
        if (k > 0) {
            arc_buf_append(&S.scratch, path + i, k);
            i += k;
            continue;
        }
        unsigned char c = (unsigned char)path[i++];
        char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
        arc_buf_append(&S.scratch, esc, sizeof esc);
    }
    arc_buf_append_json_string(l, S.scratch.ptr, S.scratch.len);
}

static void
log_request(const arc_req *r)
{
    if (!arc_log_enabled(ARC_LOG_INFO))
        return;
    arc_buf *l = &S.line;
    uint64_t us = (arc_now_ns() - r->started_ns) / 1000;
    arc_log_begin(l, ARC_LOG_INFO);
    arc_buf_append_str(l, ",\"msg\":\"request\",\"method\":");
    arc_buf_append_json_string(l, r->method_name, strlen(r->method_name));
    arc_buf_append_str(l, ",\"path\":");
    append_log_path(l, r->path, strlen(r->path));
    arc_buf_append_str(l, ",\"route\":");
    if (r->route != NULL)
        arc_buf_append_json_string(l, r->route, strlen(r->route));
    else
        arc_buf_append_str(l, "null");
    /* Integers by hand: printf was a sixth of a cached read's instructions. */
    char frac[4] = {(char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10), (char)('0' + us % 10),
                    '\0'};
    arc_buf_append_str(l, ",\"status\":");
    arc_buf_append_uint(l, (uint64_t)(r->status > 0 ? r->status : 0));
    arc_buf_append_str(l, ",\"duration_ms\":");
    arc_buf_append_uint(l, us / 1000);
    arc_buf_append_char(l, '.');
    arc_buf_append_str(l, frac);
    arc_buf_append_str(l, ",\"bytes\":");
    arc_buf_append_uint(l, r->resp_bytes);
    arc_buf_append_str(l, ",\"trace_id\":\"");
    arc_buf_append_str(l, r->trace.trace_id);
    arc_buf_append_str(l, "\",\"span_id\":\"");
    arc_buf_append_str(l, r->trace.span_id);
    arc_buf_append_char(l, '"');
    if (r->error_code != NULL) {
        arc_buf_append_str(l, ",\"error\":");
        arc_buf_append_json_string(l, r->error_code, strlen(r->error_code));
    }
    arc_log_end(l);
}

void
arc_server_handle(const struct arc_service *svc, FCGX_Request *fcgx)
{
    arc_req *r = &S.req;
    arc_req_reset(r, fcgx);
    r->started_ns = arc_now_ns();
    r->ctx = svc->ctx;

    const char *method = arc_req_header(r, "REQUEST_METHOD");
    r->method_name = method ? method : "";
    r->method = arc_method_parse(method);
    set_path(r);
    const char *query = arc_req_header(r, "QUERY_STRING");
    r->query = query ? query : "";
    arc_buf_reset(&S.body);
    arc_buf_reserve(&S.body, 0);
    r->body = S.body.ptr;

    arc_trace_start(&r->trace, arc_req_header(r, "HTTP_TRACEPARENT"));
    arc_log_set_trace(r->trace.trace_id);

    if (check_target(r) == 0 && read_body(r) == 0)
        route_and_run(svc, r);
    if (!r->responded) {
        arc_log_error("handler for %s %s (%s) sent no answer", r->method_name, r->path,
                      r->route ? r->route : "-");
        arc_respond_error(r, 500, "internal_error", "internal error", NULL);
    }
    log_request(r);
    arc_log_set_trace(NULL);
}

int
arc_server_run(const struct arc_service *svc)
{
    if (sodium_init() < 0) {
        arc_log_error("sodium_init failed");
        return -1;
    }
    if (FCGX_Init() != 0) {
        arc_log_error("FCGX_Init failed");
        return -1;
    }
    FCGX_Request req;
    if (FCGX_InitRequest(&req, 0, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
        arc_log_error("FCGX_InitRequest failed");
        return -1;
    }

    /* The signal must interrupt accept() (no SA_RESTART) so that the loop
     * sees the pending shutdown; a request in progress is finished first. */
    if (arc_daemon_signals(on_shutdown_signal) != 0) {
        arc_log_error("sigaction: %s", strerror(errno));
        return -1;
    }

    arc_log_info("%s: serving", svc->name ? svc->name : "service");
    while (FCGX_Accept_r(&req) >= 0)
        arc_server_handle(svc, &req);
    FCGX_Finish_r(&req);
    arc_log_info("%s: shutting down", svc->name ? svc->name : "service");

    arc_req_cleanup(&S.req);
    arc_buf_cleanup(&S.path);
    arc_buf_cleanup(&S.body);
    arc_buf_cleanup(&S.line);
    arc_buf_cleanup(&S.scratch);
    return 0;
}
