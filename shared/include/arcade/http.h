/*
 * http.h - the HTTP vocabulary of the request path: the limits every request
 * is held to, methods, reason phrases. The request itself is req.h; the one
 * way to answer it is respond.h.
 */
#ifndef ARCADE_HTTP_H
#define ARCADE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define ARC_BODY_MAX (64 * 1024) /* larger bodies are refused with 413 */
#define ARC_JSON_DEPTH 16        /* deeper JSON documents are refused with 400 */
#define ARC_MAX_PARAMS 4         /* path parameters per route */
#define ARC_MAX_QUERY 32         /* query pairs kept; more is a 400 */

enum arc_method {
    ARC_GET = 1 << 0,
    ARC_HEAD = 1 << 1,
    ARC_POST = 1 << 2,
    ARC_PUT = 1 << 3,
    ARC_PATCH = 1 << 4,
    ARC_DELETE = 1 << 5,
    ARC_OPTIONS = 1 << 6,
    ARC_METHOD_OTHER = 1 << 7,
};

/* Strict base-10 int64: optional '-', digits only, no spaces or '+', overflow
 * detected. Returns 0 or -1. */
int arc_http_parse_int64(const char *s, size_t len, int64_t *out);

/* Reason phrase for a status code ("Not Found"). */
const char *arc_http_status_text(int status);

/* "GET, HEAD" for a method mask, into out (at least 64 bytes). */
void arc_http_methods_format(unsigned mask, char *out, size_t outlen);

#endif
