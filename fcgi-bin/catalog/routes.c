/*
 * routes.c - the catalog's one static route table.
 */
#include "catalog.h"

#include <arcade/router.h>

const struct arc_route catalog_routes[] = {
    {ARC_GET, "/api/v1/products/{id}", handle_product_get, 0},
    {ARC_PATCH, "/api/v1/products/{id}", handle_product_update, 0},
    {ARC_DELETE, "/api/v1/products/{id}", handle_product_delete, 0},
    {ARC_GET, "/api/v1/products", handle_product_list, 0},
    {ARC_POST, "/api/v1/products", handle_product_create, 0},
    {ARC_PUT, "/api/v1/products/{id}/inventory", handle_inventory_put, 0},
    {ARC_GET, "/api/v1/products/{id}/inventory", handle_inventory_get, 0},
    {ARC_GET, "/api/v1/categories", handle_category_list, 0},
    {ARC_POST, "/api/v1/categories", handle_category_create, 0},
    {ARC_GET, "/api/v1/categories/{slug:s}", handle_category_get, 0},
    {ARC_GET, "/internal/v1/products/export", handle_product_export, ARC_ROUTE_INTERNAL},
    {ARC_GET, "/internal/v1/products/lookup", handle_product_lookup, ARC_ROUTE_INTERNAL},
    {ARC_GET, "/health/catalog", handle_health, 0},
};
const size_t catalog_nroutes = ARC_ARRAY_LEN(catalog_routes);
