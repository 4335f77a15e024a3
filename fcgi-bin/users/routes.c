/*
 * routes.c - the users service's one static route table.
 */
#include "users.h"

#include <arcade/router.h>

const struct arc_route users_routes[] = {
    {ARC_POST, "/api/v1/users", handle_user_create, 0},
    {ARC_GET, "/api/v1/users", handle_user_list, 0},
    {ARC_GET, "/api/v1/users/me", handle_me_get, 0},
    {ARC_PATCH, "/api/v1/users/me", handle_me_update, 0},
    {ARC_GET, "/api/v1/users/me/addresses", handle_address_list, 0},
    {ARC_POST, "/api/v1/users/me/addresses", handle_address_create, 0},
    {ARC_GET, "/api/v1/users/me/addresses/{id}", handle_address_get, 0},
    {ARC_DELETE, "/api/v1/users/me/addresses/{id}", handle_address_delete, 0},
    {ARC_GET, "/api/v1/users/{id}", handle_user_get, 0},
    {ARC_PATCH, "/api/v1/users/{id}", handle_user_update, 0},
    {ARC_POST, "/api/v1/sessions", handle_session_create, 0},
    {ARC_DELETE, "/api/v1/sessions/current", handle_session_delete, 0},
    {ARC_GET, "/internal/v1/sessions/current", handle_internal_session, ARC_ROUTE_INTERNAL},
    {ARC_GET, "/internal/v1/users/{user_id}/addresses/{id}", handle_internal_address,
     ARC_ROUTE_INTERNAL},
    {ARC_GET, "/health/users", handle_health, 0},
};
const size_t users_nroutes = ARC_ARRAY_LEN(users_routes);
