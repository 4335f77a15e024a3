/*
 * fuzz_query.c - the query string parser and the query readers built on it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arcade/respond.h"
#include "arcade/json.h"
#include "internal/http_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* QUERY_STRING is a C string: stop at the first NUL like the CGI layer. */
    char *q = malloc(size + 1);
    memcpy(q, data, size);
    q[size] = '\0';

    arc_req r;
    memset(&r, 0, sizeof r);
    r.query = q;
    r.method = ARC_GET;
    r.method_name = "GET";
    r.path = "/x";
    json_object *fields = NULL;
    int64_t v;
    bool bad = false;
    const char *page = arc_req_query_get(&r, "page", &bad);
    if (page != NULL && !arc_utf8_valid(page, strlen(page)))
        abort();
    if (arc_req_query_int(&r, "per_page", 20, 1, 100, &v, &fields) == 0 && (v < 1 || v > 100))
        abort();
    for (size_t i = 0; i < r.nq; i++) {
        if (!arc_utf8_valid(r.qpairs[i].key, strlen(r.qpairs[i].key)) ||
            !arc_utf8_valid(r.qpairs[i].val, strlen(r.qpairs[i].val)))
            abort();
    }
    json_object_put(fields);
    arc_req_cleanup(&r);
    free(q);
    return 0;
}
