/*
 * routes.c - the catalog's one static route table.
 */
#include "catalog.h"

#include <arcade/router.h>

const struct arc_route catalog_routes[] = {
    {ARC_GET, "/api/v1/products/{id}", handle_product_get},
    {ARC_PATCH, "/api/v1/products/{id}", handle_product_update},
    {ARC_DELETE, "/api/v1/products/{id}", handle_product_delete},
    {ARC_GET, "/api/v1/products", handle_product_list},
    {ARC_POST, "/api/v1/products", handle_product_create},
    {ARC_PUT, "/api/v1/products/{id}/inventory", handle_inventory_put},
    {ARC_GET, "/api/v1/categories", handle_category_list},
    {ARC_POST, "/api/v1/categories", handle_category_create},
    {ARC_GET, "/api/v1/categories/{slug:s}", handle_category_get},
    {ARC_GET, "/health/catalog", handle_health},
};
const size_t catalog_nroutes = ARC_ARRAY_LEN(catalog_routes);
