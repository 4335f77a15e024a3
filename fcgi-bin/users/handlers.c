/*
 * handlers.c - one function per users endpoint. Each finds out who is calling
 * (arc_auth), validates first and returns early, calls the store, and answers
 * once. Passwords, hashes and tokens are never logged.
 */
#include "users.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include <arcade/json.h>
#include <arcade/log.h>
#include <arcade/health.h>

/* ---- common answers --------------------------------------------------------- */

/* Every password-hashing slot of the host stayed busy (password.h). */
static void
hashing_busy(arc_req *r)
{
    arc_respond_header(r, "Retry-After", "1");
    arc_respond_error(r, 503, "unavailable", "too many password checks at once, try again", NULL);
}

/* For what arc_password_* returned only: its ARC_UNAVAILABLE means no hashing
 * slot. A store's failure goes to arc_respond_failure (the database is down is
 * not "too many password checks"). */
static void
respond_password_failure(arc_req *r, enum arc_err e)
{
    if (e == ARC_UNAVAILABLE)
        hashing_busy(r);
    else
        arc_respond_failure(r, e);
}

/* Who is calling, for the endpoints about one's own account: a session of a
 * user. The operator key is an admin without an account: 403. */
static bool
require_user(arc_req *r, struct arc_principal *who)
{
    struct users *u = r->ctx;
    if (arc_auth_identify(r, &u->auth, who) != 0)
        return false;
    if (who->user_id == 0) {
        arc_respond_error(r, 403, "forbidden", "the operator key has no account", NULL);
        return false;
    }
    return true;
}

static bool
require_admin(arc_req *r)
{
    struct users *u = r->ctx;
    struct arc_principal who;
    return arc_auth_require_admin(r, &u->auth, &who) == 0;
}

enum arc_err
load_user_doc(void *ud, int64_t id, arc_buf *out)
{
    struct users *u = ud;
    struct user_row row;
    enum arc_err e = store_user_get(u->db, id, &row);
    if (e != ARC_OK)
        return e;
    json_object *o = user_json(&row);
    arc_buf_append_char(out, '\n'); /* no tag */
    arc_json_append(out, o);
    json_object_put(o);
    return ARC_OK;
}

/* Answers with user id, through the document cache: a warm read costs no
 * database query. Writers call arc_doccache_invalidate after their commit. */
static void
respond_user(arc_req *r, int status, int64_t id)
{
    struct users *u = r->ctx;
    struct arc_doc doc;
    enum arc_err e = arc_doccache_get(u->docs, id, &doc);
    if (e != ARC_OK) {
        arc_respond_lookup(r, e, "user not found");
        return;
    }
    arc_respond_header(r, "Cache-Control", "no-store");
    arc_respond_raw(r, status, NULL, doc.body.ptr, doc.body.len);
}

/* Answers a write with the account as its transaction wrote it: no second
 * read. (The writer has invalidated the cached document.) */
static void
respond_written_user(arc_req *r, int status, const struct user_row *row)
{
    arc_respond_header(r, "Cache-Control", "no-store");
    arc_respond_json(r, status, user_json(row));
}

/* ---- sessions as arc_auth sees them ----------------------------------------- */

enum arc_err
resolve_session(void *ud, const char *token, size_t len, struct arc_principal *out)
{
    struct users *u = ud;
    /* Only what POST /sessions issues can be a session: anything else never
     * reaches the database. */
    if (len != TOKEN_CHARS)
        return ARC_NOT_FOUND;
    char hash[ARC_TOKEN_HASH_HEX + 1];
    arc_auth_token_hash(token, len, hash);
    enum arc_err e = store_session_find(u->db, hash, out);
    return e == ARC_OK || e == ARC_NOT_FOUND ? e : ARC_UNAVAILABLE;
}

/* Ends the cached copy of a session (a forgotten entry is read from the
 * database again). */
void
on_session_ended(void *ud, const char *token_hash)
{
    struct users *u = ud;
    arc_auth_cache_forget(u->cache, token_hash);
}

/* ---- accounts --------------------------------------------------------------- */

/* Reads and checks a password field with the contract's rules. */
static void
read_new_password(json_object *body, const char *key, unsigned flags, const char **pw, size_t *len,
                  json_object **fields)
{
    if (arc_json_string(body, key, flags | ARC_SECRET, 0, SIZE_MAX, pw, len, fields) !=
        ARC_FIELD_OK) {
        *pw = NULL;
        return;
    }
    const char *problem = password_problem(*pw, *len);
    if (problem != NULL) {
        arc_json_field_error(fields, key, "%s", problem);
        *pw = NULL;
    }
}

void
handle_user_create(arc_req *r)
{
    struct users *u = r->ctx;
    json_object *body, *fields = NULL;
    if (limit_signup_request(r) != 0 || arc_req_read_json(r, &body) != 0)
        return;
    const char *email = NULL, *pw = NULL, *name = NULL;
    size_t email_len = 0, pw_len = 0, name_len = 0;
    char norm[EMAIL_MAX * 4 + 1];
    size_t norm_len = 0;
    /* Allow for white space around the address: it is trimmed. */
    if (arc_json_string(body, "email", ARC_REQUIRED, 1, EMAIL_MAX + 64, &email, &email_len,
                        &fields) == ARC_FIELD_OK &&
        (email_len >= sizeof norm || !email_normalize(email, email_len, norm, &norm_len)))
        arc_json_field_error(&fields, "email", "must be an email address such as ada@example.com");
    read_new_password(body, "password", ARC_REQUIRED, &pw, &pw_len, &fields);
    (void)arc_json_string(body, "name", ARC_REQUIRED, 1, USER_NAME_MAX, &name, &name_len, &fields);
    /* A "role" member is ignored: every new account is a customer. */
    if (fields != NULL) {
        arc_respond_invalid(r, fields);
        goto out;
    }
    if (limit_account_request(r, (arc_str){norm, norm_len}) != 0)
        goto out;
    char hash[ARC_PASSWORD_HASH_MAX];
    enum arc_err e = arc_password_hash(u->pw, pw, pw_len, hash);
    if (e != ARC_OK) {
        respond_password_failure(r, e);
        goto out;
    }
    struct user_row row;
    e = store_user_create(u->db, (arc_str){norm, norm_len}, hash, (arc_str){name, name_len}, &row);
    sodium_memzero(hash, sizeof hash);
    if (e == ARC_CONFLICT) {
        arc_respond_error(r, 409, "conflict", "an account with this email already exists", NULL);
        goto out;
    }
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        goto out;
    }
    arc_respond_header(r, "Location", "/api/v1/users/%lld", (long long)row.id);
    respond_written_user(r, 201, &row);
out:
    json_object_put(body);
}

void
handle_me_get(arc_req *r)
{
    struct arc_principal who;
    if (!require_user(r, &who))
        return;
    respond_user(r, 200, who.user_id);
}

/* Checks current_password of the caller's account, under the account's login
 * throttle (a stolen session must not become a way to guess the password).
 * Returns 0 when it matches; otherwise answers (422 on a wrong password, 429
 * when locked, 503) and returns -1. */
static int
check_current_password(arc_req *r, const struct arc_principal *who, const char *current,
                       size_t current_len)
{
    struct users *u = r->ctx;
    struct user_row row;
    char hash[ARC_PASSWORD_HASH_MAX];
    enum arc_err e = store_user_with_hash(u->db, who->user_id, &row, hash);
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        return -1;
    }
    arc_str account = {row.email, strlen(row.email)};
    if (password_try_take(r, account) != 0) {
        sodium_memzero(hash, sizeof hash);
        return -1;
    }
    e = arc_password_verify(u->pw, hash, current, current_len);
    sodium_memzero(hash, sizeof hash);
    password_try_end(r, account, e);
    if (e == ARC_INVALID) {
        json_object *fields = NULL;
        arc_json_field_error(&fields, "current_password", "is wrong");
        arc_respond_invalid(r, fields);
        return -1;
    }
    if (e != ARC_OK) {
        respond_password_failure(r, e);
        return -1;
    }
    return 0;
}

void
handle_me_update(arc_req *r)
{
    struct users *u = r->ctx;
    struct arc_principal who;
    json_object *body, *fields = NULL;
    if (!require_user(r, &who) || arc_req_read_json(r, &body) != 0)
        return;
    const char *name = NULL, *pw = NULL, *current = NULL;
    size_t name_len = 0, pw_len = 0, current_len = 0;
    (void)arc_json_string(body, "name", 0, 1, USER_NAME_MAX, &name, &name_len, &fields);
    read_new_password(body, "password", 0, &pw, &pw_len, &fields);
    bool changing_password = json_object_object_get_ex(body, "password", NULL);
    if (changing_password) {
        if (arc_json_string(body, "current_password", ARC_SECRET, 0, PASSWORD_MAX, &current,
                            &current_len, &fields) == ARC_FIELD_ABSENT)
            arc_json_field_error(&fields, "current_password", "is required to change the password");
    } else if (json_object_object_get_ex(body, "current_password", NULL)) {
        arc_json_field_error(&fields, "current_password", "is only accepted with password");
    }
    if (fields != NULL) {
        arc_respond_invalid(r, fields);
        goto out;
    }

    char hash[ARC_PASSWORD_HASH_MAX];
    if (changing_password) {
        if (check_current_password(r, &who, current, current_len) != 0)
            goto out;
        enum arc_err e = arc_password_hash(u->pw, pw, pw_len, hash);
        if (e != ARC_OK) {
            respond_password_failure(r, e);
            goto out;
        }
    }
    /* Name and password change together or not at all. Every other session
     * ends with a new password; the one used for this call stays. */
    char keep[ARC_TOKEN_HASH_HEX + 1] = "";
    if (changing_password) {
        size_t len = 0;
        const char *token = arc_auth_bearer(r, &len);
        arc_auth_token_hash(token, len, keep);
    }
    struct user_row row;
    enum arc_err e =
        store_user_update_me(u->db, who.user_id, (arc_str){name, name_len},
                             changing_password ? hash : NULL, keep, on_session_ended, u, &row);
    sodium_memzero(hash, sizeof hash);
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        goto out;
    }
    arc_doccache_invalidate(u->docs, who.user_id);
    respond_written_user(r, 200, &row);
out:
    json_object_put(body);
}

static void
on_user_item(void *ud, const struct user_row *row)
{
    json_object_array_add(ud, user_json(row));
}

void
handle_user_list(arc_req *r)
{
    struct users *u = r->ctx;
    if (!require_admin(r))
        return;
    json_object *fields = NULL;
    struct arc_page pg;
    if (arc_req_paging(r, PER_PAGE_DEFAULT, PER_PAGE_MAX, 0, &pg, &fields) != 0) {
        arc_respond_error(r, 400, "invalid_parameter", "invalid query parameter", fields);
        return;
    }
    json_object *items = json_object_new_array();
    int64_t total = 0;
    enum arc_err e = store_user_list(u->db, pg.per_page, pg.offset, on_user_item, items, &total);
    if (e != ARC_OK) {
        json_object_put(items);
        arc_respond_failure(r, e);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "items", items);
    json_object_object_add(o, "page", json_object_new_int64(pg.page));
    json_object_object_add(o, "per_page", json_object_new_int64(pg.per_page));
    json_object_object_add(o, "total", json_object_new_int64(total));
    arc_respond_header(r, "Cache-Control", "no-store");
    arc_respond_json(r, 200, o);
}

void
handle_user_get(arc_req *r)
{
    if (!require_admin(r))
        return;
    respond_user(r, 200, r->params[0].i);
}

void
handle_user_update(arc_req *r)
{
    struct users *u = r->ctx;
    int64_t id = r->params[0].i;
    json_object *body, *fields = NULL;
    if (!require_admin(r) || arc_req_read_json(r, &body) != 0)
        return;
    const char *s = NULL;
    size_t len = 0;
    enum arc_role role = ARC_ROLE_NONE;
    if (arc_json_string(body, "role", ARC_REQUIRED, 1, 16, &s, &len, &fields) == ARC_FIELD_OK) {
        role = arc_role_parse(s, len);
        if (role == ARC_ROLE_NONE)
            arc_json_field_error(&fields, "role", "must be customer or admin");
    }
    json_object_put(body);
    if (fields != NULL) {
        arc_respond_invalid(r, fields);
        return;
    }
    /* The role is cached with each session: forget them all. */
    struct user_row row;
    enum arc_err e = store_user_set_role(u->db, id, role, on_session_ended, u, &row);
    if (e != ARC_OK) {
        arc_respond_lookup(r, e, "user not found");
        return;
    }
    arc_doccache_invalidate(u->docs, id);
    respond_written_user(r, 200, &row);
}

/* ---- sessions --------------------------------------------------------------- */

static void
invalid_credentials(arc_req *r)
{
    /* Every 401 names the scheme (RFC 9110), this one included. */
    arc_respond_header(r, "WWW-Authenticate", "Bearer realm=\"arcade\"");
    arc_respond_error(r, 401, "invalid_credentials", "email or password is wrong", NULL);
}

/* A new token: 256 random bits, base64url without padding. */
static void
new_token(char out[TOKEN_CHARS + 1])
{
    unsigned char bin[TOKEN_BYTES];
    randombytes_buf(bin, sizeof bin);
    sodium_bin2base64(out, TOKEN_CHARS + 1, bin, sizeof bin,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(bin, sizeof bin);
}
_Static_assert(sodium_base64_ENCODED_LEN(TOKEN_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING) ==
                   TOKEN_CHARS + 1,
               "43 characters and the NUL");

/* Issues a session for an authenticated user and answers 201. */
static void
respond_new_session(arc_req *r, const struct user_row *row)
{
    struct users *u = r->ctx;
    char token[TOKEN_CHARS + 1], hash[ARC_TOKEN_HASH_HEX + 1], expires[ARC_TIME_LEN + 1];
    new_token(token);
    arc_auth_token_hash(token, TOKEN_CHARS, hash);
    struct arc_principal p = {
        .user_id = row->id,
        .role = row->role,
        .expires_at = (int64_t)time(NULL) + u->session_ttl_s,
    };
    enum arc_err e = store_session_create(u->db, row->id, hash, p.expires_at);
    if (e != ARC_OK) {
        sodium_memzero(token, sizeof token);
        arc_respond_failure(r, e);
        return;
    }
    arc_auth_cache_put(u->cache, hash, &p);
    sessions_cap(u, row->id);
    arc_time_format(p.expires_at * 1000, expires);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "token", json_object_new_string_len(token, TOKEN_CHARS));
    json_object_object_add(o, "expires_at", json_object_new_string(expires));
    json_object_object_add(o, "user", user_json(row));
    sodium_memzero(token, sizeof token);
    arc_respond_header(r, "Cache-Control", "no-store");
    arc_respond_json(r, 201, o);
}

void
handle_session_create(arc_req *r)
{
    struct users *u = r->ctx;
    json_object *body, *fields = NULL;
    if (limit_login_request(r) != 0 || arc_req_read_json(r, &body) != 0)
        return;
    const char *email = NULL, *pw = NULL;
    size_t email_len = 0, pw_len = 0;
    (void)arc_json_string(body, "email", ARC_REQUIRED, 1, EMAIL_MAX + 64, &email, &email_len,
                          &fields);
    (void)arc_json_string(body, "password", ARC_REQUIRED | ARC_SECRET, 1, PASSWORD_MAX, &pw,
                          &pw_len, &fields);
    if (fields != NULL) {
        arc_respond_invalid(r, fields);
        goto out;
    }
    char norm[EMAIL_MAX * 4 + 1];
    size_t norm_len = 0;
    if (email_len >= sizeof norm || !email_normalize(email, email_len, norm, &norm_len)) {
        /* No account can have this address: nothing to hash or to count. */
        invalid_credentials(r);
        goto out;
    }
    arc_str account = {norm, norm_len};

    /* A try is taken before the password is checked, so a locked account or
     * address costs no hashing and concurrent logins cannot overrun a limit. */
    if (limit_account_request(r, account) != 0 || password_try_take(r, account) != 0)
        goto out;
    struct user_row row;
    char hash[ARC_PASSWORD_HASH_MAX];
    enum arc_err e = store_user_by_email(u->db, norm, norm_len, &row, hash);
    if (e != ARC_OK && e != ARC_NOT_FOUND) {
        password_try_end(r, account, e);
        arc_respond_failure(r, e);
        goto out;
    }
    if (e == ARC_NOT_FOUND)
        e = arc_password_verify_dummy(u->pw, pw, pw_len); /* same cost as a real check */
    else
        e = arc_password_verify(u->pw, hash, pw, pw_len);
    sodium_memzero(hash, sizeof hash);
    password_try_end(r, account, e);
    if (e == ARC_INVALID) {
        invalid_credentials(r);
        goto out;
    }
    if (e != ARC_OK) {
        respond_password_failure(r, e);
        goto out;
    }
    /* Now and then, purge expired sessions and stale throttle rows. */
    if (randombytes_uniform(64) == 0 &&
        (store_housekeeping(u->db) != ARC_OK || limits_housekeeping(u->db) != ARC_OK))
        arc_log_warn("users: housekeeping failed");
    respond_new_session(r, &row);
out:
    json_object_put(body);
}

void
handle_session_delete(arc_req *r)
{
    struct users *u = r->ctx;
    struct arc_principal who;
    if (arc_auth_identify(r, &u->auth, &who) != 0)
        return;
    if (who.user_id == 0) {
        arc_respond_error(r, 403, "forbidden", "the operator key is not a session", NULL);
        return;
    }
    size_t len = 0;
    const char *token = arc_auth_bearer(r, &len);
    char hash[ARC_TOKEN_HASH_HEX + 1];
    arc_auth_token_hash(token, len, hash);
    enum arc_err e = store_session_delete(u->db, hash);
    /* Already gone (a concurrent logout, or a stale cache entry): still ended. */
    if (e != ARC_OK && e != ARC_NOT_FOUND) {
        arc_respond_failure(r, e);
        return;
    }
    arc_auth_cache_forget(u->cache, hash);
    arc_respond_empty(r, 204);
}

/* The internal listener's answer for other services' arc_auth_identify:
 * the bearer token through the database only (the operator key is not a
 * session: 401). */
void
handle_internal_session(arc_req *r)
{
    struct users *u = r->ctx;
    size_t len = 0;
    const char *token = arc_auth_bearer(r, &len);
    struct arc_principal p;
    enum arc_err e = token != NULL ? resolve_session(u, token, len, &p) : ARC_NOT_FOUND;
    if (e == ARC_NOT_FOUND) {
        arc_respond_header(r, "WWW-Authenticate", "Bearer realm=\"arcade\"");
        arc_respond_error(r, 401, "unauthorized", "unknown, expired or ended session", NULL);
        return;
    }
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "user_id", json_object_new_int64(p.user_id));
    json_object_object_add(o, "role", json_object_new_string(arc_role_name(p.role)));
    json_object_object_add(o, "expires_at", json_object_new_int64(p.expires_at));
    arc_respond_header(r, "Cache-Control", "no-store");
    arc_respond_json(r, 200, o);
}

/* ---- addresses -------------------------------------------------------------- */

static void
on_address_item(void *ud, const struct address_row *a)
{
    json_object_array_add(ud, address_json(a));
}

static void
on_address_one(void *ud, const struct address_row *a)
{
    *(json_object **)ud = address_json(a);
}

void
handle_address_list(arc_req *r)
{
    struct users *u = r->ctx;
    struct arc_principal who;
    if (!require_user(r, &who))
        return;
    json_object *items = json_object_new_array();
    enum arc_err e = store_address_list(u->db, who.user_id, on_address_item, items);
    if (e != ARC_OK) {
        json_object_put(items);
        arc_respond_failure(r, e);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "items", items);
    arc_respond_header(r, "Cache-Control", "no-store");
    arc_respond_json(r, 200, o);
}

/* Answers with the caller's address id (404 for an unknown or someone else's). */
static void
respond_address(arc_req *r, int status, int64_t user_id, int64_t id)
{
    struct users *u = r->ctx;
    json_object *o = NULL;
    enum arc_err e = store_address_get(u->db, user_id, id, on_address_one, &o);
    if (e != ARC_OK) {
        json_object_put(o);
        arc_respond_lookup(r, e, "address not found");
        return;
    }
    arc_respond_header(r, "Cache-Control", "no-store");
    arc_respond_json(r, status, o);
}

void
handle_address_get(arc_req *r)
{
    struct arc_principal who;
    if (!require_user(r, &who))
        return;
    respond_address(r, 200, who.user_id, r->params[0].i);
}

/* The internal listener's answer for the orders service's checkout: a user's
 * address as GET /users/me/addresses/{id} shows it (404 for an unknown address
 * or one of another user). The internal listener is the authorisation. */
void
handle_internal_address(arc_req *r)
{
    respond_address(r, 200, r->params[0].i, r->params[1].i);
}

static void
read_str(json_object *body, const char *key, unsigned flags, size_t min, size_t max, arc_str *out,
         json_object **fields)
{
    (void)arc_json_string(body, key, flags, min, max, &out->ptr, &out->len, fields);
}

void
handle_address_create(arc_req *r)
{
    struct users *u = r->ctx;
    struct arc_principal who;
    json_object *body, *fields = NULL;
    if (!require_user(r, &who) || arc_req_read_json(r, &body) != 0)
        return;
    struct address_row a = {
        .line2 = {"", 0},
        .phone = {"", 0},
    };
    read_str(body, "name", ARC_REQUIRED, 1, ADDR_NAME_MAX, &a.name, &fields);
    read_str(body, "line1", ARC_REQUIRED, 1, ADDR_LINE_MAX, &a.line1, &fields);
    read_str(body, "line2", 0, 0, ADDR_LINE_MAX, &a.line2, &fields);
    read_str(body, "city", ARC_REQUIRED, 1, ADDR_CITY_MAX, &a.city, &fields);
    read_str(body, "postal_code", ARC_REQUIRED, 1, ADDR_POSTAL_MAX, &a.postal_code, &fields);
    const char *s = NULL;
    size_t len = 0;
    if (arc_json_string(body, "country", ARC_REQUIRED, 0, SIZE_MAX, &s, &len, &fields) ==
        ARC_FIELD_OK) {
        if (country_known(s, len))
            a.country = (arc_str){s, len};
        else
            arc_json_field_error(&fields, "country",
                                 "must be an ISO 3166-1 alpha-2 code in upper case, such as DE");
    }
    if (arc_json_string(body, "phone", 0, 0, SIZE_MAX, &s, &len, &fields) == ARC_FIELD_OK) {
        if (phone_valid(s, len))
            a.phone = (arc_str){s, len};
        else
            arc_json_field_error(&fields, "phone",
                                 "must be at most 32 characters of digits, spaces and + - ( ) .");
    }
    if (fields != NULL) {
        arc_respond_invalid(r, fields);
        goto out;
    }
    int64_t id = 0;
    bool full = false;
    enum arc_err e = store_address_create(u->db, who.user_id, &a, &id, &full);
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        goto out;
    }
    if (full) {
        json_object *limit = NULL;
        arc_json_field_error(&limit, "addresses",
                             "an account has at most %d addresses; delete one first",
                             ADDRESSES_MAX);
        arc_respond_invalid(r, limit);
        goto out;
    }
    arc_respond_header(r, "Location", "/api/v1/users/me/addresses/%lld", (long long)id);
    respond_address(r, 201, who.user_id, id);
out:
    json_object_put(body);
}

void
handle_address_delete(arc_req *r)
{
    struct users *u = r->ctx;
    struct arc_principal who;
    if (!require_user(r, &who))
        return;
    enum arc_err e = store_address_delete(u->db, who.user_id, r->params[0].i);
    if (e != ARC_OK) {
        arc_respond_lookup(r, e, "address not found");
        return;
    }
    arc_respond_empty(r, 204);
}

/* ---- health ----------------------------------------------------------------- */

void
handle_health(arc_req *r)
{
    struct users *u = r->ctx;
    struct arc_health h;
    arc_health_init(&h);
    arc_health_add(&h, "db", arc_db_ping(u->db), true);
    arc_health_add(&h, "cache", arc_cache_ping(u->cache), false);
    arc_health_respond(r, &h);
}
