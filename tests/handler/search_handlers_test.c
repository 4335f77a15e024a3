/*
 * search_handlers_test.c - the search endpoints against arcade-search alone,
 * on its empty read model (its migrations in the scratch schema of
 * tests/with-test-db; no broker, no catalog): answers, parameter errors and
 * health (tests/support/arc_test_fcgi.h, docs/testing.md).
 */
#include "arc_test_fcgi.h"

#include <string.h>

static void
empty_read_model_answers_an_empty_page(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    struct arc_test_response *r =
        arc_test_call("GET", "/api/v1/search?q=wireless+speaker&sort=price", NULL, NULL);
    assert_int_equal(r->status, 200);
    assert_int_equal(arc_test_json_int(r, "total"), 0);
    assert_int_equal(arc_test_json_int(r, "page"), 1);
    assert_true(arc_test_json_has(r, "items"));
    assert_false(arc_test_json_has(r, "items.0"));
    r = arc_test_call("GET", "/api/v1/search/suggest?q=trav", NULL, NULL);
    assert_int_equal(r->status, 200);
}

static void
bad_parameters_are_400_with_fields(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    struct arc_test_response *r =
        arc_test_call("GET", "/api/v1/search?min_price=abc&page=0", NULL, NULL);
    assert_int_equal(r->status, 400);
    assert_string_equal(arc_test_json_str(r, "error.code"), "invalid_parameter");
    assert_true(arc_test_json_has(r, "error.fields.min_price"));
    assert_true(arc_test_json_has(r, "error.fields.page"));
    r = arc_test_call("GET", "/api/v1/search?q=%zz", NULL, NULL);
    assert_int_equal(r->status, 400);
    r = arc_test_call("POST", "/api/v1/search", NULL, "{}");
    assert_int_equal(r->status, 405);
    assert_non_null(arc_test_header(r, "Allow"));
}

static void
health_names_its_checks(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    struct arc_test_response *r = arc_test_call("GET", "/health/search", NULL, NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(arc_test_json_str(r, "checks.db"), "ok");
}

int
main(int argc, char **argv)
{
    (void)argc;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_read_model_answers_an_empty_page),
        cmocka_unit_test(bad_parameters_are_400_with_fields),
        cmocka_unit_test(health_names_its_checks),
    };
    return ARC_TEST_SERVICE_MAIN(argv[0], "search", NULL, tests);
}
