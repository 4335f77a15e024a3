/*
 * auth.c - bearer tokens and the operator key.
 */
#include "arcade/auth.h"

#include <string.h>
#include <strings.h>

#define REALM "Bearer realm=\"arcade\""

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

int
arc_auth_require_admin(arc_req *r, const char *admin_key, struct arc_principal *who)
{
    size_t len = 0;
    const char *token = arc_auth_bearer(r, &len);
    if (token == NULL) {
        arc_resp_header(r, "WWW-Authenticate", REALM);
        arc_respond_error(r, 401, "unauthorized", "authentication required", NULL);
        return -1;
    }
    size_t keylen = admin_key != NULL ? strlen(admin_key) : 0;
    if (keylen == 0 || !arc_secure_equal(token, len, admin_key, keylen)) {
        arc_resp_header(r, "WWW-Authenticate", REALM ", error=\"invalid_token\"");
        arc_respond_error(r, 401, "unauthorized", "invalid credentials", NULL);
        return -1;
    }
    if (who != NULL) {
        who->user_id = 0;
        who->role = ARC_ROLE_ADMIN;
    }
    return 0;
}
