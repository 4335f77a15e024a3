/*
 * router_test.c - route matching: literals, integer and text parameters,
 * empty segments, methods (GET implies HEAD), 405 Allow sets, order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "arcade/router.h"
#include "fake_fcgx.h"

static void
h1(arc_req *r)
{
    (void)r;
}
static void
h2(arc_req *r)
{
    (void)r;
}
static void
h3(arc_req *r)
{
    (void)r;
}
static void
h4(arc_req *r)
{
    (void)r;
}
static void
h5(arc_req *r)
{
    (void)r;
}
static void
h6(arc_req *r)
{
    (void)r;
}

static const struct arc_route routes[] = {
    {ARC_GET, "/products", h1, 0},
    {ARC_POST, "/products", h2, 0},
    {ARC_GET | ARC_PATCH | ARC_DELETE, "/products/{id}", h3, 0},
    {ARC_PUT, "/products/{id}/inventory", h4, 0},
    {ARC_GET, "/categories/{slug:s}", h5, 0},
    {ARC_GET, "/", h6, 0},
};

static enum arc_route_rc
match(arc_req *r, enum arc_method m, const char *path, const struct arc_route **found,
      unsigned *allow)
{
    arc_req_cleanup(r);
    memset(r, 0, sizeof *r);
    r->method = m;
    r->path = (char *)path;
    return arc_route_match(routes, sizeof routes / sizeof routes[0], r, found, allow);
}

static void
test_literal_and_methods(void **state)
{
    (void)state;
    arc_req r = {0};
    const struct arc_route *f;
    unsigned allow;
    assert_int_equal(match(&r, ARC_GET, "/products", &f, &allow), ARC_ROUTE_FOUND);
    assert_ptr_equal(f->handler, h1);
    assert_string_equal(r.route, "/products");
    assert_int_equal(r.nparams, 0);
    assert_int_equal(match(&r, ARC_POST, "/products", &f, &allow), ARC_ROUTE_FOUND);
    assert_ptr_equal(f->handler, h2);
    assert_int_equal(match(&r, ARC_HEAD, "/products", &f, &allow), ARC_ROUTE_FOUND);
    assert_ptr_equal(f->handler, h1);
    assert_int_equal(match(&r, ARC_DELETE, "/products", &f, &allow), ARC_ROUTE_BAD_METHOD);
    assert_null(f);
    assert_int_equal(allow, ARC_GET | ARC_HEAD | ARC_POST);
    assert_null(r.route);
    assert_int_equal(match(&r, ARC_METHOD_OTHER, "/products", &f, &allow), ARC_ROUTE_BAD_METHOD);
    assert_int_equal(match(&r, ARC_GET, "/", &f, &allow), ARC_ROUTE_FOUND);
    assert_ptr_equal(f->handler, h6);
    arc_req_cleanup(&r);
}

static void
test_integer_param(void **state)
{
    (void)state;
    arc_req r = {0};
    const struct arc_route *f;
    unsigned allow;
    assert_int_equal(match(&r, ARC_GET, "/products/42", &f, &allow), ARC_ROUTE_FOUND);
    assert_ptr_equal(f->handler, h3);
    assert_int_equal(r.nparams, 1);
    assert_int_equal(r.params[0].i, 42);
    assert_string_equal(r.route, "/products/{id}");
    assert_int_equal(match(&r, ARC_GET, "/products/999999999999999999", &f, &allow),
                     ARC_ROUTE_FOUND);
    assert_int_equal(r.params[0].i, 999999999999999999LL);
    assert_int_equal(match(&r, ARC_GET, "/products/007", &f, &allow), ARC_ROUTE_FOUND);
    assert_int_equal(r.params[0].i, 7);

    static const char *const bad[] = {
        "/products/abc", "/products/0",   "/products/-1",
        "/products/+1",  "/products/1a",  "/products/1.5",
        "/products/%31", "/products/000", "/products/1000000000000000000"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum arc_route_rc rc = match(&r, ARC_GET, bad[i], &f, &allow);
        if (rc != ARC_ROUTE_BAD_PARAM)
            fail_msg("%s: rc %d", bad[i], rc);
    }
    /* the rest of the pattern must match for BAD_PARAM */
    assert_int_equal(match(&r, ARC_GET, "/products/abc/def", &f, &allow), ARC_ROUTE_NOT_FOUND);
    assert_int_equal(match(&r, ARC_PUT, "/products/abc/inventory", &f, &allow),
                     ARC_ROUTE_BAD_PARAM);
    assert_int_equal(match(&r, ARC_PUT, "/products/5/inventory", &f, &allow), ARC_ROUTE_FOUND);
    assert_ptr_equal(f->handler, h4);
    assert_int_equal(r.params[0].i, 5);
    assert_int_equal(match(&r, ARC_POST, "/products/5", &f, &allow), ARC_ROUTE_BAD_METHOD);
    assert_int_equal(allow, ARC_GET | ARC_HEAD | ARC_PATCH | ARC_DELETE);
    arc_req_cleanup(&r);
}

static void
test_text_param(void **state)
{
    (void)state;
    arc_req r = {0};
    const struct arc_route *f;
    unsigned allow;
    char path[] = "/categories/Audio-hi.fi_~2";
    assert_int_equal(match(&r, ARC_GET, path, &f, &allow), ARC_ROUTE_FOUND);
    assert_int_equal(r.nparams, 1);
    assert_int_equal(r.params[0].len, 14);
    assert_string_equal(r.params[0].s, "Audio-hi.fi_~2");
    /* a copy owned by the request, not a pointer into the path */
    assert_true(r.params[0].s < path || r.params[0].s >= path + sizeof path);
    path[12] = 'X';
    assert_string_equal(r.params[0].s, "Audio-hi.fi_~2");

    static const char *const bad[] = {"/categories/",    "/categories/a%20b",
                                      "/categories/a b", "/categories/caf\xc3\xa9",
                                      "/categories/a:b", "/categories/a/b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(match(&r, ARC_GET, bad[i], &f, &allow), ARC_ROUTE_NOT_FOUND);
    arc_req_cleanup(&r);
}

static void
test_empty_segments_and_trailing_slash(void **state)
{
    (void)state;
    arc_req r = {0};
    const struct arc_route *f;
    unsigned allow;
    static const char *const bad[] = {
        "/products/", "//products", "/products//42", "/products/42/",
        "",           "products",   "/Products",     "/products/42//inventory"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum arc_route_rc rc = match(&r, ARC_GET, bad[i], &f, &allow);
        if (rc != ARC_ROUTE_NOT_FOUND)
            fail_msg("'%s': rc %d", bad[i], rc);
    }
    assert_int_equal(match(&r, ARC_GET, NULL, &f, &allow), ARC_ROUTE_NOT_FOUND);
    arc_req_cleanup(&r);
}

static void
h_any(arc_req *r)
{
    (void)r;
}

static void
test_first_match_wins_and_params(void **state)
{
    (void)state;
    static const struct arc_route t[] = {
        {ARC_GET, "/a/{x}/b/{y:s}/c/{z}/{w:s}", h_any, 0},
        {ARC_GET, "/a/{x:s}", h1, 0},
        {ARC_GET, "/a/{x}", h2, 0},
    };
    arc_req r = {0};
    const struct arc_route *f;
    unsigned allow;
    r.method = ARC_GET;
    r.path = "/a/1/b/two/c/3/four";
    assert_int_equal(arc_route_match(t, 3, &r, &f, &allow), ARC_ROUTE_FOUND);
    assert_int_equal(r.nparams, 4);
    assert_int_equal(r.params[0].i, 1);
    assert_null(r.params[0].s);
    assert_string_equal(r.params[1].s, "two");
    assert_int_equal(r.params[2].i, 3);
    assert_string_equal(r.params[3].s, "four");
    r.path = "/a/12";
    assert_int_equal(arc_route_match(t, 3, &r, &f, &allow), ARC_ROUTE_FOUND);
    assert_ptr_equal(f->handler, h1);
    assert_string_equal(r.params[0].s, "12");
    /* a text route after a bad integer: the text route matches */
    static const struct arc_route t2[] = {
        {ARC_GET, "/p/{id}", h1, 0},
        {ARC_GET, "/p/{slug:s}", h2, 0},
    };
    r.path = "/p/shoes";
    assert_int_equal(arc_route_match(t2, 2, &r, &f, &allow), ARC_ROUTE_FOUND);
    assert_ptr_equal(f->handler, h2);
    arc_req_cleanup(&r);
}

/* Internal routes exist only when the web server set ARCADE_INTERNAL=1. */
static void
test_internal_routes(void **state)
{
    (void)state;
    static const struct arc_route t[] = {
        {ARC_GET, "/internal/v1/sessions/current", h1, ARC_ROUTE_INTERNAL},
        {ARC_DELETE, "/shared", h2, ARC_ROUTE_INTERNAL},
        {ARC_GET, "/shared", h3, 0},
    };
    static const char *const envs[] = {NULL, "0", "", "1 ", "1"};
    for (size_t i = 0; i < ARC_ARRAY_LEN(envs); i++) {
        struct fake_fcgx fk;
        fake_init(&fk);
        if (envs[i] != NULL)
            fake_env(&fk, "ARCADE_INTERNAL", envs[i]);
        fake_env(&fk, "HTTP_ARCADE_INTERNAL", "1"); /* what a client header becomes */
        arc_req r = {0};
        r.fcgx = &fk.req;
        const struct arc_route *f;
        unsigned allow;
        bool internal = i == ARC_ARRAY_LEN(envs) - 1;

        r.method = ARC_GET;
        r.path = "/internal/v1/sessions/current";
        assert_int_equal(arc_route_match(t, 3, &r, &f, &allow),
                         internal ? ARC_ROUTE_FOUND : ARC_ROUTE_NOT_FOUND);
        r.method = ARC_DELETE;
        r.path = "/shared";
        if (internal) {
            assert_int_equal(arc_route_match(t, 3, &r, &f, &allow), ARC_ROUTE_FOUND);
            assert_ptr_equal(f->handler, h2);
        } else {
            assert_int_equal(arc_route_match(t, 3, &r, &f, &allow), ARC_ROUTE_BAD_METHOD);
            assert_int_equal(allow, ARC_GET | ARC_HEAD);
        }
        arc_req_cleanup(&r);
        fake_cleanup(&fk);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_and_methods),
        cmocka_unit_test(test_integer_param),
        cmocka_unit_test(test_text_param),
        cmocka_unit_test(test_empty_segments_and_trailing_slash),
        cmocka_unit_test(test_first_match_wins_and_params),
        cmocka_unit_test(test_internal_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
