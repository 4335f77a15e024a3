/*
 * router.h - a static route table: method mask + path pattern -> handler.
 * Pattern segments are literals, "{name}" (a positive 63-bit integer) or
 * "{name:s}" (any non-empty segment of [A-Za-z0-9._~-]). The table is searched
 * in order; the first route whose pattern matches wins.
 */
#ifndef ARCADE_ROUTER_H
#define ARCADE_ROUTER_H

#include "arcade/req.h"

typedef void (*arc_handler_fn)(arc_req *r);

/* Route flags. An internal route is answered only when the web server marks
 * the request internal (CGI variable ARCADE_INTERNAL=1, set by the internal
 * listener's configuration, which a client cannot forge); otherwise it does
 * not exist (404). */
#define ARC_ROUTE_INTERNAL 0x1u

struct arc_route {
    unsigned methods; /* enum arc_method mask; GET implies HEAD */
    const char *pattern;
    arc_handler_fn handler;
    unsigned flags; /* ARC_ROUTE_* */
};

enum arc_route_rc {
    ARC_ROUTE_FOUND,
    ARC_ROUTE_NOT_FOUND,  /* no pattern matches the path: 404 */
    ARC_ROUTE_BAD_METHOD, /* a pattern matches, not for this method: 405, *allow set */
    ARC_ROUTE_BAD_PARAM,  /* an integer segment is not a positive integer: 400 */
};

/* Matches r->method and r->path; on FOUND fills r->params, r->nparams, r->route
 * and *found. *allow receives the union of methods of all matching patterns. */
enum arc_route_rc arc_route_match(const struct arc_route *routes, size_t nroutes, arc_req *r,
                                  const struct arc_route **found, unsigned *allow);

#endif
