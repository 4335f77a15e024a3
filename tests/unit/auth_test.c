/*
 * auth_test.c - bearer token parsing and the operator key check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "arcade/auth.h"
#include "fake_fcgx.h"

struct rq {
    struct fake_fcgx f;
    arc_req r;
};

static void
rq_init(struct rq *q, const char *authorization)
{
    fake_init(&q->f);
    if (authorization != NULL)
        fake_env(&q->f, "HTTP_AUTHORIZATION", authorization);
    memset(&q->r, 0, sizeof q->r);
    q->r.fcgx = &q->f.req;
    q->r.method = ARC_POST;
    q->r.method_name = "POST";
    q->r.path = "/x";
}

static void
rq_cleanup(struct rq *q)
{
    arc_req_cleanup(&q->r);
    fake_cleanup(&q->f);
}

static void
test_bearer(void **state)
{
    (void)state;
    static const struct {
        const char *header, *token;
    } cases[] = {
        {"Bearer abc", "abc"},
        {"bearer abc", "abc"},
        {"BEARER a-b.c_d~e+f/g==", "a-b.c_d~e+f/g=="},
        {"Bearer ", NULL},
        {"Bearer  abc", NULL},
        {"Bearer abc ", NULL},
        {"Bearer a=b", NULL},
        {"Bearer =", NULL},
        {"Bearer a b", NULL},
        {"Bearer a\tb", NULL},
        {"Bearer\tabc", NULL},
        {"Bearerabc", NULL},
        {"Basic YWJjOmRlZg==", NULL},
        {"", NULL},
        {NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rq q;
        rq_init(&q, cases[i].header);
        size_t len = 0;
        const char *t = arc_auth_bearer(&q.r, &len);
        if (cases[i].token == NULL) {
            if (t != NULL)
                fail_msg("case %zu accepted", i);
        } else {
            if (t == NULL)
                fail_msg("case %zu rejected", i);
            assert_int_equal(len, strlen(cases[i].token));
            assert_memory_equal(t, cases[i].token, len);
        }
        rq_cleanup(&q);
    }
}

static void
test_require_admin(void **state)
{
    (void)state;
    struct rq q;
    struct arc_principal who = {99, ARC_ROLE_NONE};

    rq_init(&q, "Bearer s3cret");
    assert_int_equal(arc_auth_require_admin(&q.r, "s3cret", &who), 0);
    assert_false(q.r.responded);
    assert_int_equal(who.role, ARC_ROLE_ADMIN);
    assert_int_equal(who.user_id, 0);
    rq_cleanup(&q);

    rq_init(&q, NULL);
    assert_int_equal(arc_auth_require_admin(&q.r, "s3cret", &who), -1);
    assert_int_equal(q.r.status, 401);
    assert_string_equal(q.r.error_code, "unauthorized");
    const char *out = fake_output(&q.f);
    assert_non_null(strstr(out, "\r\nWWW-Authenticate: Bearer realm=\"arcade\"\r\n"));
    assert_non_null(strstr(out, "\"message\":\"authentication required\""));
    rq_cleanup(&q);

    rq_init(&q, "Basic czNjcmV0");
    assert_int_equal(arc_auth_require_admin(&q.r, "s3cret", NULL), -1);
    assert_non_null(strstr(fake_output(&q.f), "\"message\":\"authentication required\""));
    rq_cleanup(&q);

    static const char *const wrong[] = {"Bearer s3cre", "Bearer s3crett", "Bearer S3cret"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        rq_init(&q, wrong[i]);
        assert_int_equal(arc_auth_require_admin(&q.r, "s3cret", NULL), -1);
        assert_int_equal(q.r.status, 401);
        out = fake_output(&q.f);
        assert_non_null(strstr(
            out, "\r\nWWW-Authenticate: Bearer realm=\"arcade\", error=\"invalid_token\"\r\n"));
        assert_non_null(strstr(out, "\"message\":\"invalid credentials\""));
        rq_cleanup(&q);
    }

    /* an empty operator key never matches */
    rq_init(&q, "Bearer x");
    assert_int_equal(arc_auth_require_admin(&q.r, "", NULL), -1);
    assert_int_equal(q.r.status, 401);
    rq_cleanup(&q);
    rq_init(&q, "Bearer x");
    assert_int_equal(arc_auth_require_admin(&q.r, NULL, NULL), -1);
    rq_cleanup(&q);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_require_admin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
