/*
 * routes.c - the orders service's one static route table.
 */
#include "orders.h"

#include <arcade/router.h>

const struct arc_route orders_routes[] = {
    {ARC_GET, "/api/v1/cart", handle_cart_get, 0},
    {ARC_DELETE, "/api/v1/cart", handle_cart_clear, 0},
    {ARC_PUT, "/api/v1/cart/items/{product_id}", handle_cart_put_item, 0},
    {ARC_DELETE, "/api/v1/cart/items/{product_id}", handle_cart_delete_item, 0},
    {ARC_POST, "/api/v1/orders", handle_order_create, 0},
    {ARC_GET, "/api/v1/orders", handle_order_list, 0},
    {ARC_GET, "/api/v1/orders/{id}", handle_order_get, 0},
    {ARC_GET, "/api/v1/orders/{id}/timeline", handle_order_timeline, 0},
    {ARC_POST, "/api/v1/orders/{id}/cancel", handle_order_cancel, 0},
    {ARC_POST, "/api/v1/orders/{id}/ship", handle_order_ship, 0},
    {ARC_POST, "/api/v1/orders/{id}/deliver", handle_order_deliver, 0},
    {ARC_GET, "/internal/v1/orders/{id}", handle_internal_order, ARC_ROUTE_INTERNAL},
    {ARC_GET, "/health/orders", handle_health, 0},
};
const size_t orders_nroutes = ARC_ARRAY_LEN(orders_routes);
