/*
 * auth.c - who is calling: the operator key, or a session token resolved
 * through memcached and, on a miss, the users service (see auth.h).
 *
 * Tokens never reach a log line: the cache key and every message use the hex
 * SHA-256 of the token at most.
 */
#include "arcade/auth.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "arcade/httpc.h"
#include "arcade/json.h"
#include "arcade/log.h"
#include "arcade/respond.h"
#include "internal/http_internal.h"

#define REALM "Bearer realm=\"arcade\""
#define CACHE_PREFIX "arcade:session:v1:"
#define CACHE_PREFIX_LEN (sizeof CACHE_PREFIX - 1)
#define SESSION_PATH "/internal/v1/sessions/current"
#define MAX_TOKEN 512 /* longer bearer credentials are not ours: 401 */

/* RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool
b64token(const char *s, size_t *len)
{
    size_t i = 0;
    while ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
           (s[i] >= '0' && s[i] <= '9') || strchr("-._~+/", s[i]) != NULL) {
        if (s[i] == '\0')
            break;
        i++;
    }
    if (i == 0)
        return false;
    while (s[i] == '=')
        i++;
    if (s[i] != '\0')
        return false;
    *len = i;
    return true;
}

const char *
arc_auth_bearer(const arc_req *r, size_t *len)
{
    const char *h = arc_req_header(r, "HTTP_AUTHORIZATION");
    size_t n = 0;
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    const char *token = h + 7;
    if (!b64token(token, &n))
        return NULL;
    if (len != NULL)
        *len = n;
    return token;
}

void
arc_auth_token_hash(const char *token, size_t len, char out[ARC_TOKEN_HASH_HEX + 1])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)token, len);
    sodium_bin2hex(out, ARC_TOKEN_HASH_HEX + 1, digest, sizeof digest);
}

const char *
arc_role_name(enum arc_role role)
{
    switch (role) {
    case ARC_ROLE_CUSTOMER:
        return "customer";
    case ARC_ROLE_ADMIN:
        return "admin";
    case ARC_ROLE_NONE:
        break;
    }
    return "none";
}

enum arc_role
arc_role_parse(const char *s, size_t len)
{
    if (s == NULL)
        return ARC_ROLE_NONE;
    if (len == 8 && memcmp(s, "customer", 8) == 0)
        return ARC_ROLE_CUSTOMER;
    if (len == 5 && memcmp(s, "admin", 5) == 0)
        return ARC_ROLE_ADMIN;
    return ARC_ROLE_NONE;
}

/* Unsigned decimal of 1..18 digits, no sign, no leading zero (except "0"):
 * exactly what arc_auth_cache_put writes. */
static int
parse_dec(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || len > 18 || s[0] == '-' || (len > 1 && s[0] == '0'))
        return -1;
    return arc_http_parse_int64(s, len, out);
}

/* "<user_id> <role> <expires_at>", single spaces, nothing else. */
static int
parse_cached(const char *v, size_t len, struct arc_principal *p)
{
    if (v == NULL || len == 0)
        return -1;
    const char *end = v + len;
    const char *sp1 = memchr(v, ' ', len);
    if (sp1 == NULL)
        return -1;
    const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
    if (sp2 == NULL)
        return -1;
    int64_t uid = 0, exp = 0;
    if (parse_dec(v, (size_t)(sp1 - v), &uid) != 0 || uid < 1)
        return -1;
    enum arc_role role = arc_role_parse(sp1 + 1, (size_t)(sp2 - sp1 - 1));
    if (role == ARC_ROLE_NONE)
        return -1;
    if (parse_dec(sp2 + 1, (size_t)(end - sp2 - 1), &exp) != 0 || exp < 1)
        return -1;
    p->user_id = uid;
    p->role = role;
    p->expires_at = exp;
    return 0;
}

static size_t
cache_key(char *key, const char *token_hash)
{
    memcpy(key, CACHE_PREFIX, CACHE_PREFIX_LEN);
    memcpy(key + CACHE_PREFIX_LEN, token_hash, ARC_TOKEN_HASH_HEX);
    key[CACHE_PREFIX_LEN + ARC_TOKEN_HASH_HEX] = '\0';
    return CACHE_PREFIX_LEN + ARC_TOKEN_HASH_HEX;
}

void
arc_auth_cache_put(arc_cache *c, const char *token_hash, const struct arc_principal *p)
{
    if (c == NULL || p == NULL || p->user_id < 1 || p->role == ARC_ROLE_NONE)
        return;
    int64_t left = p->expires_at - (int64_t)time(NULL);
    if (left <= 0)
        return;
    unsigned ttl = left < ARC_SESSION_CACHE_TTL ? (unsigned)left : ARC_SESSION_CACHE_TTL;
    char key[CACHE_PREFIX_LEN + ARC_TOKEN_HASH_HEX + 1];
    size_t klen = cache_key(key, token_hash);
    char val[64];
    int n = snprintf(val, sizeof val, "%lld %s %lld", (long long)p->user_id, arc_role_name(p->role),
                     (long long)p->expires_at);
    if (n <= 0 || (size_t)n >= sizeof val)
        return;
    enum arc_err e = arc_cache_set(c, key, klen, val, (size_t)n, ttl);
    if (e != ARC_OK)
        arc_log(ARC_LOG_DEBUG, "session cache: store failed: %s", arc_err_name(e));
}

void
arc_auth_cache_forget(arc_cache *c, const char *token_hash)
{
    if (c == NULL)
        return;
    char key[CACHE_PREFIX_LEN + ARC_TOKEN_HASH_HEX + 1];
    size_t klen = cache_key(key, token_hash);
    enum arc_err e = arc_cache_delete(c, key, klen);
    if (e != ARC_OK)
        arc_log_warn("session cache: delete failed (%s); the entry expires within %d s",
                     arc_err_name(e), ARC_SESSION_CACHE_TTL);
}

/* Reads {"user_id":n,"role":"…","expires_at":n} strictly. */
static int
parse_session_json(const char *text, size_t len, struct arc_principal *p)
{
    int rc = -1;
    json_object *o = arc_json_parse(text, len, 4);
    json_object *uid = NULL, *role = NULL, *exp = NULL;
    if (o == NULL || !json_object_is_type(o, json_type_object))
        goto out;
    if (!json_object_object_get_ex(o, "user_id", &uid) ||
        !json_object_is_type(uid, json_type_int) || !json_object_object_get_ex(o, "role", &role) ||
        !json_object_is_type(role, json_type_string) ||
        !json_object_object_get_ex(o, "expires_at", &exp) ||
        !json_object_is_type(exp, json_type_int))
        goto out;
    int64_t u = json_object_get_int64(uid), e = json_object_get_int64(exp);
    enum arc_role rl =
        arc_role_parse(json_object_get_string(role), (size_t)json_object_get_string_len(role));
    if (u < 1 || e < 1 || rl == ARC_ROLE_NONE)
        goto out;
    p->user_id = u;
    p->role = rl;
    p->expires_at = e;
    rc = 0;
out:
    json_object_put(o);
    return rc;
}

/* The default resolver: the users service's internal endpoint, with the
 * caller's Authorization header and this request's trace. */
static enum arc_err
resolve_remote(const struct arc_auth *a, const arc_req *r, const char *token, size_t len,
               struct arc_principal *out)
{
    if (a->users_url == NULL || *a->users_url == '\0' || a->http == NULL)
        return ARC_NOT_FOUND; /* nobody can vouch for a session token */
    arc_buf url = ARC_BUF_INIT, auth = ARC_BUF_INIT;
    size_t base = strlen(a->users_url);
    while (base > 0 && a->users_url[base - 1] == '/')
        base--;
    arc_buf_append(&url, a->users_url, base);
    arc_buf_append_str(&url, SESSION_PATH);
    arc_buf_append_str(&auth, "Authorization: Bearer ");
    arc_buf_append(&auth, token, len);
    const char *headers[] = {auth.ptr, "Accept: application/json", NULL};
    struct arc_httpc_response resp = {0, ARC_BUF_INIT};

    enum arc_err rc =
        arc_httpc_request(a->http, "GET", url.ptr, headers, NULL, 0, &r->trace, &resp);
    if (rc != ARC_OK) {
        rc = ARC_UNAVAILABLE; /* httpc logged why */
    } else if (resp.status == 200) {
        if (parse_session_json(resp.body.ptr != NULL ? resp.body.ptr : "", resp.body.len, out) ==
            0) {
            rc = ARC_OK;
        } else {
            arc_log_error("session lookup: malformed answer from the users service");
            rc = ARC_UNAVAILABLE;
        }
    } else if (resp.status == 401) {
        rc = ARC_NOT_FOUND;
    } else {
        arc_log_warn("session lookup: users service answered %d", resp.status);
        rc = ARC_UNAVAILABLE;
    }
    sodium_memzero(auth.ptr, auth.len);
    arc_buf_cleanup(&auth);
    arc_buf_cleanup(&url);
    arc_buf_cleanup(&resp.body);
    return rc;
}

static int
deny(arc_req *r, bool sent)
{
    if (sent) {
        arc_respond_header(r, "WWW-Authenticate", REALM ", error=\"invalid_token\"");
        arc_respond_error(r, 401, "unauthorized", "invalid credentials", NULL);
    } else {
        arc_respond_header(r, "WWW-Authenticate", REALM);
        arc_respond_error(r, 401, "unauthorized", "authentication required", NULL);
    }
    return -1;
}

int
arc_auth_identify(arc_req *r, const struct arc_auth *a, struct arc_principal *who)
{
    struct arc_principal p = {0, ARC_ROLE_NONE, 0};
    size_t len = 0;
    const char *token = arc_auth_bearer(r, &len);
    if (token == NULL) {
        /* A credential that is there but not a bearer token counts as none. */
        return deny(r, false);
    }

    size_t keylen = a->admin_key != NULL ? strlen(a->admin_key) : 0;
    if (keylen > 0 && arc_secure_equal(token, len, a->admin_key, keylen)) {
        p.role = ARC_ROLE_ADMIN;
        goto ok;
    }
    if (len > MAX_TOKEN)
        return deny(r, true);

    char hash[ARC_TOKEN_HASH_HEX + 1];
    arc_auth_token_hash(token, len, hash);
    int64_t now = (int64_t)time(NULL);

    if (a->cache != NULL) {
        char key[CACHE_PREFIX_LEN + ARC_TOKEN_HASH_HEX + 1];
        size_t klen = cache_key(key, hash);
        arc_buf val = ARC_BUF_INIT;
        enum arc_err e = arc_cache_get(a->cache, key, klen, &val);
        int parsed = e == ARC_OK ? parse_cached(val.ptr, val.len, &p) : -1;
        arc_buf_cleanup(&val);
        if (e == ARC_OK && parsed != 0) {
            arc_log_warn("session cache: malformed entry, ignored");
            p = (struct arc_principal){0, ARC_ROLE_NONE, 0};
        } else if (parsed == 0) {
            if (p.expires_at <= now)
                return deny(r, true);
            goto ok;
        }
    }

    enum arc_err e = a->resolve != NULL ? a->resolve(a->resolve_ud, token, len, &p)
                                        : resolve_remote(a, r, token, len, &p);
    switch (e) {
    case ARC_OK:
        if (p.user_id < 1 || p.role == ARC_ROLE_NONE || p.expires_at <= now)
            return deny(r, true);
        arc_auth_cache_put(a->cache, hash, &p);
        goto ok;
    case ARC_NOT_FOUND:
        return deny(r, true);
    default:
        arc_respond_header(r, "Retry-After", "1");
        arc_respond_error(r, 503, "unavailable", "cannot check the session now; retry shortly",
                          NULL);
        return -1;
    }
ok:
    if (who != NULL)
        *who = p;
    return 0;
}

int
arc_auth_require_admin(arc_req *r, const struct arc_auth *a, struct arc_principal *who)
{
    struct arc_principal p;
    if (arc_auth_identify(r, a, &p) != 0)
        return -1;
    if (p.role != ARC_ROLE_ADMIN) {
        arc_respond_error(r, 403, "forbidden", "admin rights required", NULL);
        return -1;
    }
    if (who != NULL)
        *who = p;
    return 0;
}
