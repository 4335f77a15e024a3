/*
 * fuzz_router.c - route matching of arbitrary paths and methods against a
 * table shaped like a real service's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arcade/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
h(arc_req *r)
{
    (void)r;
}

static const struct arc_route routes[] = {
    {ARC_GET | ARC_POST, "/api/v1/products", h, 0},
    {ARC_GET | ARC_PATCH | ARC_DELETE, "/api/v1/products/{id}", h, 0},
    {ARC_PUT, "/api/v1/products/{id}/inventory", h, 0},
    {ARC_GET | ARC_POST, "/api/v1/categories", h, 0},
    {ARC_GET, "/api/v1/categories/{slug:s}", h, 0},
    {ARC_GET, "/a/{x}/b/{y:s}/c/{z}/{w:s}", h, 0},
    {ARC_GET, "/internal/v1/sessions/current", h, ARC_ROUTE_INTERNAL},
    {ARC_GET, "/", h, 0},
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const enum arc_method methods[] = {ARC_GET,   ARC_HEAD,   ARC_POST,    ARC_PUT,
                                              ARC_PATCH, ARC_DELETE, ARC_OPTIONS, ARC_METHOD_OTHER};
    char *path = malloc(size);
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';

    arc_req r;
    memset(&r, 0, sizeof r);
    r.method = methods[data[0] % 8];
    r.path = path;
    const struct arc_route *found = NULL;
    unsigned allow = 0;
    enum arc_route_rc rc =
        arc_route_match(routes, sizeof routes / sizeof routes[0], &r, &found, &allow);
    if (rc == ARC_ROUTE_FOUND) {
        if (found == NULL || r.nparams > ARC_MAX_PARAMS || r.route != found->pattern)
            abort();
        for (size_t i = 0; i < r.nparams; i++) {
            if (r.params[i].s == NULL
                    ? r.params[i].i < 1
                    : strlen(r.params[i].s) != r.params[i].len || r.params[i].len == 0)
                abort();
        }
    } else if (found != NULL || (rc == ARC_ROUTE_BAD_METHOD && allow == 0)) {
        abort();
    }
    arc_req_cleanup(&r);
    free(path);
    return 0;
}
