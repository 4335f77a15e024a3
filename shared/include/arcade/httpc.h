/*
 * httpc.h - the HTTP client services use to call each other (libcurl easy
 * interface). One handle per worker, kept alive across requests (connection
 * reuse), with short connect and total timeouts. Every call carries the
 * traceparent of the request being served (this span as the parent), so a
 * trace follows the request across services.
 */
#ifndef ARCADE_HTTPC_H
#define ARCADE_HTTPC_H

#include "arcade/buf.h"
#include "arcade/trace.h"

typedef struct arc_httpc arc_httpc;

/* timeout_ms bounds a whole call (connect included). NULL on failure. */
arc_httpc *arc_httpc_new(unsigned timeout_ms);
void arc_httpc_free(arc_httpc *h);

struct arc_httpc_response {
    int status;   /* 0 when no HTTP answer arrived */
    arc_buf body; /* caller-owned; reset by each call */
};

/* Performs one request. headers: NULL-terminated "Name: value" lines (may be
 * NULL); body may be NULL (then no body); trace may be NULL (no traceparent).
 * The response body is capped at 1 MiB. ARC_OK when an HTTP answer of any
 * status arrived, ARC_UNAVAILABLE otherwise (refused, timed out, ...). */
enum arc_err arc_httpc_request(arc_httpc *h, const char *method, const char *url,
                               const char *const *headers, const void *body, size_t body_len,
                               const struct arc_trace *trace, struct arc_httpc_response *out);

#endif
