/*
 * auth.h - who is calling. For now the operator key (ARCADE_ADMIN_KEY) is the
 * only admin credential; the users service will add admin sessions.
 */
#ifndef ARCADE_AUTH_H
#define ARCADE_AUTH_H

#include "arcade/http.h"

enum arc_role { ARC_ROLE_NONE = 0, ARC_ROLE_CUSTOMER, ARC_ROLE_ADMIN };

struct arc_principal {
    int64_t user_id; /* 0 for the operator key */
    enum arc_role role;
};

/* The bearer token of the request, or NULL (no or malformed Authorization). */
const char *arc_auth_bearer(const arc_req *r, size_t *len);

/* Requires an admin: answers 401 (with WWW-Authenticate: Bearer) when the
 * credentials are missing or wrong, 403 when valid without the right, and
 * returns -1; returns 0 and fills *who (may be NULL) when allowed.
 * admin_key is compared in constant time; "" never matches. */
int arc_auth_require_admin(arc_req *r, const char *admin_key,
                           struct arc_principal *who) ARC_NODISCARD;

#endif
