/*
 * auth.h - who is calling, for every service.
 *
 * Credentials are "Authorization: Bearer <credential>". A credential is either
 * the operator key (ARCADE_ADMIN_KEY, compared in constant time; counts as an
 * admin with user_id 0) or a session token issued by the users service
 * (POST /api/v1/sessions). A session token is resolved to (user id, role):
 *   1. memcached: key "arcade:session:v1:<hex SHA-256 of the token>", value
 *      "<user_id> <role> <expires_at unix seconds>" (ASCII), short TTL;
 *   2. on a miss, the resolver: by default the users service's internal
 *      endpoint GET <ARCADE_USERS_URL>/internal/v1/sessions/current with the
 *      same Authorization header (200 {"user_id","role","expires_at"} or 401);
 *      the users service itself plugs in its own database lookup instead.
 * The users database is the source of truth: with memcached down every lookup
 * goes to the resolver; logout, a password change and a role change delete the
 * cached entries, and an entry never outlives the session or
 * ARC_SESSION_CACHE_TTL seconds. Tokens are never logged.
 */
#ifndef ARCADE_AUTH_H
#define ARCADE_AUTH_H

#include "arcade/cache.h"
#include "arcade/req.h"

enum arc_role { ARC_ROLE_NONE = 0, ARC_ROLE_CUSTOMER, ARC_ROLE_ADMIN };

#define ARC_SESSION_CACHE_TTL 60 /* seconds */
#define ARC_TOKEN_HASH_HEX 64    /* hex SHA-256 of a token */

struct arc_principal {
    int64_t user_id; /* 0 for the operator key */
    enum arc_role role;
    int64_t expires_at; /* unix seconds; 0 for the operator key */
};

/* "customer" / "admin" and back; arc_role_parse returns ARC_ROLE_NONE when unknown. */
const char *arc_role_name(enum arc_role role);
enum arc_role arc_role_parse(const char *s, size_t len);

/* Resolves a session token (not the operator key) to a principal: ARC_OK,
 * ARC_NOT_FOUND (unknown, expired or revoked: 401), ARC_UNAVAILABLE (cannot
 * tell now: 503). */
typedef enum arc_err (*arc_session_resolver_fn)(void *ud, const char *token, size_t len,
                                                struct arc_principal *out);

struct arc_httpc;

struct arc_auth {
    const char *admin_key; /* "" or NULL: no operator key */
    arc_cache *cache;      /* may be NULL: no session cache */
    /* The resolver on a cache miss. NULL: the users service's internal
     * endpoint at users_url through http. */
    arc_session_resolver_fn resolve;
    void *resolve_ud;
    struct arc_httpc *http;
    const char *users_url; /* ARCADE_USERS_URL, e.g. http://127.0.0.1:8081 */
};

/* The bearer credential of the request, or NULL (no or malformed Authorization). */
const char *arc_auth_bearer(const arc_req *r, size_t *len);

/* hex SHA-256 of token into out (ARC_TOKEN_HASH_HEX + 1 bytes). */
void arc_auth_token_hash(const char *token, size_t len, char out[ARC_TOKEN_HASH_HEX + 1]);

/* Who is calling. Returns 0 and fills *who; or answers 401 (missing, malformed,
 * unknown or expired credentials; WWW-Authenticate: Bearer realm="arcade"),
 * or 503 when the session cannot be checked now, and returns -1. */
int arc_auth_identify(arc_req *r, const struct arc_auth *a,
                      struct arc_principal *who) ARC_NODISCARD;

/* arc_auth_identify, then requires role admin: a valid non-admin gets 403. */
int arc_auth_require_admin(arc_req *r, const struct arc_auth *a,
                           struct arc_principal *who) ARC_NODISCARD;

/* Session cache maintenance for the users service: store after a successful
 * resolve (TTL = min(ARC_SESSION_CACHE_TTL, expires_at - now)), forget on
 * logout / password change / role change. Failures are logged, not fatal. */
void arc_auth_cache_put(arc_cache *c, const char *token_hash, const struct arc_principal *p);
void arc_auth_cache_forget(arc_cache *c, const char *token_hash);

#endif
