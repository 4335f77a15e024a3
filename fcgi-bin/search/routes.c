/*
 * routes.c - the search service's one static route table. Every route is
 * public: search reads only what the catalog shows anyone.
 */
#include "search.h"

#include <arcade/router.h>

const struct arc_route search_routes[] = {
    {ARC_GET, "/api/v1/search", handle_search, 0},
    {ARC_GET, "/api/v1/search/suggest", handle_suggest, 0},
    {ARC_GET, "/health/search", handle_health, 0},
};
const size_t search_nroutes = ARC_ARRAY_LEN(search_routes);
