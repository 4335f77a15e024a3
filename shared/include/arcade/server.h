/*
 * server.h - the accept loop every responder runs.
 *
 * For each request: start the trace (traceparent accepted or created), refuse
 * a request target with a control character (400; a NUL is reported by the web
 * server as ARCADE_BAD_TARGET=1, since libfcgi's C strings cannot carry it), read a
 * bounded body (CONTENT_LENGTH > ARC_BODY_MAX -> 413 without reading; fewer
 * bytes than declared -> 400), route (404 / 405 with Allow / 400), call
 * svc->before (if set) and the handler, make sure exactly one answer was sent
 * (a handler that sent nothing is a bug: 500 and an error log line), and write
 * one JSON log line: method, path, route, status, duration_ms, bytes, trace_id.
 * Every answer carries the traceparent header of this request's span.
 *
 * SIGTERM, SIGINT, SIGQUIT, SIGHUP and SIGUSR1 only call FCGX_ShutdownPending():
 * the current request finishes, then the loop returns.
 */
#ifndef ARCADE_SERVER_H
#define ARCADE_SERVER_H

#include "arcade/router.h"

struct arc_service {
    const char *name; /* "catalog" */
    const struct arc_route *routes;
    size_t nroutes;
    void *ctx; /* handed to handlers as r->ctx */
    /* Runs before each routed handler; returns 0 to go on, -1 when it answered
     * (e.g. 503 because the database is unreachable). May be NULL. */
    int (*before)(arc_req *r);
};

/* Serves FastCGI requests on descriptor 0 (the socket spawn-fcgi hands over)
 * until shutdown. Returns 0 on a clean shutdown, -1 if the loop could not start. */
int arc_server_run(const struct arc_service *svc);

/* Handles one already-accepted FastCGI request (what arc_server_run does per
 * accept); exposed for tests. */
void arc_server_handle(const struct arc_service *svc, FCGX_Request *fcgx);

#endif
