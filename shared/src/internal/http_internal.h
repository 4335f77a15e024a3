/*
 * internal/http_internal.h - the pure pieces of the HTTP core, split out of
 * http.c, router.c and server.c so that unit tests and fuzz targets reach them
 * without a FastCGI connection. Private to the library.
 */
#ifndef ARCADE_INTERNAL_HTTP_INTERNAL_H
#define ARCADE_INTERNAL_HTTP_INTERNAL_H

#include "arcade/req.h"

/* Parses a raw query string into pairs. Decoded text goes into store (reset
 * first; reserved once, so the pair pointers stay valid until the next reset).
 * '+' is a space, %XX is decoded; empty pieces ("a=1&&b=2") are skipped; a
 * piece without '=' has the value "". Returns 0, or -1 on a bad escape,
 * decoded text that is not UTF-8 or holds a NUL, or more than max pairs. */
int arc_query_parse(const char *q, size_t qlen, arc_buf *store, struct arc_query_pair *pairs,
                    size_t max, size_t *npairs);

/* Strict base-10 int64: optional '-', digits only, no spaces or '+', overflow
 * detected. Returns 0 or -1. */
int arc_parse_int64(const char *s, size_t len, int64_t *out);

/* CONTENT_LENGTH: NULL or "" is 0; otherwise digits only (no sign, no spaces),
 * no overflow. Returns 0 or -1. */
int arc_parse_content_length(const char *s, size_t *out);

/* True for "application/json", any case, optionally followed by parameters
 * after ';' (e.g. "; charset=utf-8"). */
bool arc_content_type_is_json(const char *ct);

/* REQUEST_METHOD -> enum arc_method (ARC_METHOD_OTHER when unknown or NULL). */
enum arc_method arc_method_parse(const char *name);

/* Appends the CGI response head: Status line, Content-Type (when ctype is not
 * NULL), Content-Length (when with_length), traceparent (when the trace was
 * started), X-Content-Type-Options: nosniff, the extra header lines, and the
 * blank line. */
void arc_http_head(arc_buf *out, int status, const char *ctype, bool with_length, size_t len,
                   const struct arc_trace *trace, const arc_buf *extra);

/* Resets r for a new request on fcgx, keeping the memory of its buffers. */
void arc_req_reset(arc_req *r, FCGX_Request *fcgx);

#endif
