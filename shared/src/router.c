/*
 * router.c - matches a request against a static route table.
 *
 * Patterns and paths are compared segment by segment ('/' separated), without
 * building any intermediate structure: a route table is short and patterns are
 * static strings, so walking them for every request costs less than caching.
 */
#include "arcade/router.h"

#include <assert.h>
#include <string.h>

#include "internal/http_internal.h"

enum match { MATCH_NO, MATCH_YES, MATCH_BAD_PARAM };

struct capture {
    const char *ptr; /* into the path */
    size_t len;
    bool text;
    int64_t i;
};

static bool
text_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '~' || c == '-';
}

/* "{id}": 1..18 decimal digits, no sign, value >= 1. Returns 0 and the value, or -1. */
static int
parse_id(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || len > 18 || s[0] == '-' || arc_http_parse_int64(s, len, out) != 0)
        return -1;
    return *out >= 1 ? 0 : -1;
}

static bool
text_segment(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!text_char(s[i]))
            return false;
    return true;
}

/* Matches one pattern against path. On MATCH_YES the captures are filled. An
 * integer segment that is not a positive integer gives MATCH_BAD_PARAM, but
 * only when every other segment matches. */
static enum match
match_pattern(const char *pattern, const char *path, struct capture *caps, size_t *ncaps)
{
    *ncaps = 0;
    if (pattern[0] != '/' || path[0] != '/')
        return MATCH_NO;
    if (pattern[1] == '\0' || path[1] == '\0')
        return strcmp(pattern, path) == 0 ? MATCH_YES : MATCH_NO;

    bool bad = false;
    const char *p = pattern;
    const char *s = path;
    while (*p == '/' && *s == '/') {
        p++;
        s++;
        const char *pend = strchr(p, '/');
        size_t plen = pend ? (size_t)(pend - p) : strlen(p);
        const char *send = strchr(s, '/');
        size_t slen = send ? (size_t)(send - s) : strlen(s);
        if (slen == 0)
            return MATCH_NO; /* "//" or a trailing slash */

        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            bool text = plen >= 4 && p[plen - 3] == ':' && p[plen - 2] == 's';
            assert(*ncaps < ARC_MAX_PARAMS && "too many parameters in a route pattern");
            if (*ncaps >= ARC_MAX_PARAMS)
                return MATCH_NO;
            struct capture *c = &caps[(*ncaps)++];
            c->ptr = s;
            c->len = slen;
            c->text = text;
            c->i = 0;
            if (text) {
                if (!text_segment(s, slen))
                    return MATCH_NO;
            } else if (parse_id(s, slen, &c->i) != 0) {
                bad = true;
            }
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return MATCH_NO;
        }
        p += plen;
        s += slen;
    }
    if (*p != '\0' || *s != '\0')
        return MATCH_NO; /* different numbers of segments */
    return bad ? MATCH_BAD_PARAM : MATCH_YES;
}

static bool
method_allowed(unsigned mask, enum arc_method m)
{
    if (m == ARC_HEAD)
        return (mask & (ARC_HEAD | ARC_GET)) != 0;
    return (mask & (unsigned)m) != 0;
}

enum arc_route_rc
arc_route_match(const struct arc_route *routes, size_t nroutes, arc_req *r,
                const struct arc_route **found, unsigned *allow)
{
    unsigned allowed = 0;
    bool path_matched = false;
    bool bad_param = false;
    struct capture caps[ARC_MAX_PARAMS];
    size_t ncaps = 0;

    *found = NULL;
    if (allow != NULL)
        *allow = 0;
    if (r->path == NULL)
        return ARC_ROUTE_NOT_FOUND;

    /* Internal routes exist only on the internal listener, which sets
     * ARCADE_INTERNAL=1 for the backend (a client header cannot: it would be
     * HTTP_ARCADE_INTERNAL). Elsewhere they are not matched at all: 404, and
     * not part of Allow. */
    int internal = -1; /* looked up on the first internal route */

    for (size_t i = 0; i < nroutes; i++) {
        if (routes[i].flags & ARC_ROUTE_INTERNAL) {
            if (internal < 0) {
                const char *v = arc_req_header(r, "ARCADE_INTERNAL");
                internal = v != NULL && strcmp(v, "1") == 0;
            }
            if (!internal)
                continue;
        }
        enum match m = match_pattern(routes[i].pattern, r->path, caps, &ncaps);
        if (m == MATCH_NO)
            continue;
        if (m == MATCH_BAD_PARAM) {
            bad_param = true;
            continue;
        }
        path_matched = true;
        allowed |= routes[i].methods;
        if (routes[i].methods & ARC_GET)
            allowed |= ARC_HEAD;
        if (!method_allowed(routes[i].methods, r->method))
            continue;

        /* Found: copy text parameters into the request's own storage. */
        arc_buf_reset(&r->param_store);
        arc_buf_reserve(&r->param_store, strlen(r->path) + ARC_MAX_PARAMS + 1);
        for (size_t k = 0; k < ncaps; k++) {
            struct arc_param *prm = &r->params[k];
            prm->i = caps[k].i;
            prm->s = NULL;
            prm->len = 0;
            if (caps[k].text) {
                prm->s = r->param_store.ptr + r->param_store.len;
                prm->len = caps[k].len;
                arc_buf_append(&r->param_store, caps[k].ptr, caps[k].len);
                arc_buf_append_char(&r->param_store, '\0');
            }
        }
        r->nparams = ncaps;
        r->route = routes[i].pattern;
        *found = &routes[i];
        if (allow != NULL)
            *allow = allowed;
        return ARC_ROUTE_FOUND;
    }
    if (allow != NULL)
        *allow = allowed;
    if (path_matched)
        return ARC_ROUTE_BAD_METHOD;
    if (bad_param)
        return ARC_ROUTE_BAD_PARAM;
    return ARC_ROUTE_NOT_FOUND;
}
