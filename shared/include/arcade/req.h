/*
 * req.h - one FastCGI request as the service sees it. The accept loop
 * (server.h) fills an arc_req, bounds and reads the body, routes it, and the
 * handler answers with exactly one arc_respond_* call (respond.h). Helpers
 * named arc_req_require_* / arc_req_read_* answer the client error themselves
 * and return -1, so a handler just returns.
 */
#ifndef ARCADE_REQ_H
#define ARCADE_REQ_H

#include <fcgiapp.h>
#include <json-c/json.h>

#include "arcade/buf.h"
#include "arcade/http.h"
#include "arcade/trace.h"

/* A path parameter: "{id}" segments are positive integers (i set), "{slug:s}"
 * segments are text (s, len; NUL-terminated, owned by the request). */
struct arc_param {
    int64_t i;
    const char *s;
    size_t len;
};

struct arc_query_pair {
    char *key; /* percent-decoded, NUL-terminated, valid UTF-8 */
    char *val;
};

typedef struct arc_req {
    FCGX_Request *fcgx;
    void *ctx; /* the service's context (arc_service.ctx) */

    enum arc_method method;
    const char *method_name; /* REQUEST_METHOD as sent */
    char *path;              /* REQUEST_URI up to '?', not decoded; borrowed: a
                              * buffer of the accept loop (server.c), valid until
                              * the request ends */
    const char *query;       /* raw QUERY_STRING, "" when absent */
    struct arc_param params[ARC_MAX_PARAMS];
    size_t nparams;
    const char *route; /* the matched pattern, for logs and metrics */

    char *body; /* NUL-terminated; body_len bytes as declared by CONTENT_LENGTH */
    size_t body_len;

    struct arc_trace trace;
    uint64_t started_ns;

    /* Parsed on first use by arc_req_query_get. */
    struct arc_query_pair qpairs[ARC_MAX_QUERY];
    size_t nq;
    int q_state; /* 0 not parsed, 1 parsed, -1 invalid */

    /* Response state, for the log line. */
    arc_buf resp_headers; /* extra header lines added with arc_respond_header */
    int status;
    size_t resp_bytes;
    bool responded;
    const char *error_code; /* the error code sent, if any */

    /* Storage owned by the request for the text path parameters and the decoded
     * query pairs. The accept loop reuses it from one request to the next; an
     * arc_req built by hand starts zeroed and ends with arc_req_cleanup. */
    arc_buf param_store;
    arc_buf query_store;
} arc_req;

/* Frees the storage an arc_req owns (param_store, query_store, resp_headers).
 * Only for an arc_req built by hand (tests); the accept loop manages its own. */
void arc_req_cleanup(arc_req *r);

/* A CGI parameter such as "HTTP_IF_NONE_MATCH" or "CONTENT_TYPE"; NULL if absent.
 * Never take identity from HTTP_X_* variables. Borrowed until the request ends. */
const char *arc_req_header(const arc_req *r, const char *cgi_name);

/* Query parameter lookup. Returns the decoded value (borrowed until the request
 * ends) or NULL when absent. A query string that is malformed (bad percent
 * escape, invalid UTF-8, too many pairs) answers 400 and sets *bad = true. */
const char *arc_req_query_get(arc_req *r, const char *key, bool *bad);

/* Integer query parameter: absent -> *out = def, returns 0; present and a
 * base-10 integer within [min,max] -> *out, returns 0; otherwise adds a message
 * to *fields under key and returns -1. Does not answer. */
int arc_req_query_int(arc_req *r, const char *key, int64_t def, int64_t min, int64_t max,
                      int64_t *out, json_object **fields);

/* Parses the body as a JSON object. Content-Type must be application/json
 * (parameters such as charset allowed) -> else 415. Malformed JSON, invalid
 * UTF-8, nesting deeper than ARC_JSON_DEPTH, or a non-object -> 400.
 * On success *out is a new reference the caller puts. Returns 0 or -1 (answered). */
int arc_req_read_json(arc_req *r, json_object **out) ARC_NODISCARD;

#endif
