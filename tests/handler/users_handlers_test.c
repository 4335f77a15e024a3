/*
 * users_handlers_test.c - accounts and sessions against arcade-users alone:
 * register, log in, the session's own account, a wrong password, a duplicate
 * email, and the internal session and address look-ups that only the
 * internal listener reaches (tests/support/arc_test_fcgi.h, docs/testing.md).
 */
#include "arc_test_fcgi.h"

#include <stdio.h>
#include <string.h>

#define PASSWORD "correct horse battery"

/* Registers email and logs in; bearer gets "Authorization: Bearer <token>". */
static long long
register_and_login(const char *email, char *bearer, size_t cap)
{
    char body[256];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"" PASSWORD "\",\"name\":\"Ada\"}",
             email);
    struct arc_test_response *r = arc_test_call("POST", "/api/v1/users", NULL, body);
    assert_int_equal(r->status, 201);
    long long id = arc_test_json_int(r, "id");
    assert_string_equal(arc_test_json_str(r, "role"), "customer");

    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"" PASSWORD "\"}", email);
    r = arc_test_call("POST", "/api/v1/sessions", NULL, body);
    assert_int_equal(r->status, 201);
    assert_int_equal(arc_test_json_int(r, "user.id"), id);
    const char *token = arc_test_json_str(r, "token");
    assert_non_null(token);
    assert_int_equal(strlen(token), 43);
    snprintf(bearer, cap, "Authorization: Bearer %s", token);
    return id;
}

static void
register_login_and_me(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    char bearer[128];
    long long id = register_and_login("Ada@Example.com", bearer, sizeof bearer);

    struct arc_test_response *r =
        arc_test_call("GET", "/api/v1/users/me", ARC_TEST_HEADERS(bearer), NULL);
    assert_int_equal(r->status, 200);
    assert_int_equal(arc_test_json_int(r, "id"), id);
    assert_string_equal(arc_test_json_str(r, "email"), "ada@example.com");
    assert_string_equal(arc_test_header(r, "Cache-Control"), "no-store");

    /* Logged out: the token stops working. */
    r = arc_test_call("DELETE", "/api/v1/sessions/current", ARC_TEST_HEADERS(bearer), NULL);
    assert_int_equal(r->status, 204);
    r = arc_test_call("GET", "/api/v1/users/me", ARC_TEST_HEADERS(bearer), NULL);
    assert_int_equal(r->status, 401);
}

static void
wrong_password_and_duplicate_email(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    const char *body = "{\"email\":\"bob@example.com\",\"password\":\"" PASSWORD "\","
                       "\"name\":\"Bob\"}";
    struct arc_test_response *r = arc_test_call("POST", "/api/v1/users", NULL, body);
    assert_int_equal(r->status, 201);
    r = arc_test_call("POST", "/api/v1/users", NULL, body);
    assert_int_equal(r->status, 409);
    assert_string_equal(arc_test_json_str(r, "error.code"), "conflict");

    r = arc_test_call("POST", "/api/v1/sessions", NULL,
                      "{\"email\":\"bob@example.com\",\"password\":\"not his password\"}");
    assert_int_equal(r->status, 401);
    assert_string_equal(arc_test_json_str(r, "error.code"), "invalid_credentials");
    r = arc_test_call("GET", "/api/v1/users/me", NULL, NULL);
    assert_int_equal(r->status, 401);
}

static void
invalid_account_is_422(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    struct arc_test_response *r = arc_test_call(
        "POST", "/api/v1/users", NULL, "{\"email\":\"no-at-sign\",\"password\":\"short\"}");
    assert_int_equal(r->status, 422);
    assert_string_equal(arc_test_json_str(r, "error.code"), "validation_failed");
    assert_true(arc_test_json_has(r, "error.fields.email"));
    assert_true(arc_test_json_has(r, "error.fields.password"));
    assert_int_equal(arc_test_db_int("SELECT COUNT(*) FROM users WHERE email = 'no-at-sign'"), 0);
}

/* /internal/v1/sessions/current exists only where the web server sets
 * ARCADE_INTERNAL=1 (the internal listener): a raw CGI parameter. */
static void
internal_session_lookup_only_on_the_internal_listener(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    char bearer[128];
    long long id = register_and_login("carol@example.com", bearer, sizeof bearer);
    struct arc_test_request rq = {
        .method = "GET",
        .target = "/internal/v1/sessions/current",
        .headers = ARC_TEST_HEADERS(bearer),
    };
    struct arc_test_response r;
    arc_test_response_init(&r);
    assert_int_equal(arc_test_fcgi_request(arc_test_service(), &rq, &r), 0);
    assert_int_equal(r.status, 404);
    rq.params = ARC_TEST_HEADERS("ARCADE_INTERNAL=1");
    assert_int_equal(arc_test_fcgi_request(arc_test_service(), &rq, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(arc_test_json_int(&r, "user_id"), id);
    assert_string_equal(arc_test_json_str(&r, "role"), "customer");
    arc_test_response_cleanup(&r);
}

/* The orders service's checkout reads a user's address on the internal
 * listener: the user's own address by id, 404 for another user's or an unknown
 * one, and nothing on the public port. */
static void
internal_address_lookup(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    char bearer[128];
    long long dan = register_and_login("dan@example.com", bearer, sizeof bearer);
    long long eve = register_and_login("eve@example.com", (char[128]){0}, 128);
    struct arc_test_response *c =
        arc_test_call("POST", "/api/v1/users/me/addresses", ARC_TEST_HEADERS(bearer),
                      "{\"name\":\"Dan\",\"line1\":\"1 Main St\",\"city\":\"Berlin\","
                      "\"postal_code\":\"10115\",\"country\":\"DE\"}");
    assert_int_equal(c->status, 201);
    long long aid = arc_test_json_int(c, "id");

    char target[96];
    struct arc_test_request rq = {.method = "GET", .target = target};
    struct arc_test_response r;
    arc_test_response_init(&r);
    snprintf(target, sizeof target, "/internal/v1/users/%lld/addresses/%lld", dan, aid);
    assert_int_equal(arc_test_fcgi_request(arc_test_service(), &rq, &r), 0);
    assert_int_equal(r.status, 404); /* not on the public port */
    rq.params = ARC_TEST_HEADERS("ARCADE_INTERNAL=1");
    assert_int_equal(arc_test_fcgi_request(arc_test_service(), &rq, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(arc_test_json_int(&r, "id"), aid);
    assert_string_equal(arc_test_json_str(&r, "line1"), "1 Main St");
    assert_string_equal(arc_test_json_str(&r, "country"), "DE");
    snprintf(target, sizeof target, "/internal/v1/users/%lld/addresses/%lld", eve, aid);
    assert_int_equal(arc_test_fcgi_request(arc_test_service(), &rq, &r), 0);
    assert_int_equal(r.status, 404);
    assert_string_equal(arc_test_json_str(&r, "error.code"), "not_found");
    snprintf(target, sizeof target, "/internal/v1/users/%lld/addresses/%lld", dan, aid + 1000);
    assert_int_equal(arc_test_fcgi_request(arc_test_service(), &rq, &r), 0);
    assert_int_equal(r.status, 404);
    arc_test_response_cleanup(&r);
}

int
main(int argc, char **argv)
{
    (void)argc;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(register_login_and_me),
        cmocka_unit_test(wrong_password_and_duplicate_email),
        cmocka_unit_test(invalid_account_is_422),
        cmocka_unit_test(internal_session_lookup_only_on_the_internal_listener),
        cmocka_unit_test(internal_address_lookup),
    };
    /* Every account here registers from the one test address: lift the
     * per-address registration limit (5 a minute) that test_users.py tests. */
    static const char *const env[] = {"ARCADE_SIGNUP_RATE=1000", NULL};
    return ARC_TEST_SERVICE_MAIN(argv[0], "users", env, tests);
}
