/*
 * catalog_render_test.c - the catalog's pure functions: product JSON, ETags,
 * If-(None-)Match lists on them (shared precond.c) and field syntax rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../fcgi-bin/catalog/render.c"

#define S(lit) ((arc_str){(lit), sizeof(lit) - 1})

static void
renders_product_with_category(void **state)
{
    struct product_view p = {
        .id = 42,
        .sku = S("ARC-42"),
        .name = S("Caf\xc3\xa9 \"quoted\""),
        .description = S("line\nbreak"),
        .price = 6999,
        .currency = S("EUR"),
        .has_category = true,
        .category_id = 3,
        .category_slug = S("audio"),
        .category_name = S("Audio"),
        .stock = 17,
        .active = true,
        .version = 7,
        .created_at = S("2026-11-23T21:18:36.000Z"),
        .updated_at = S("2026-11-23T21:18:37.123Z"),
    };
    arc_buf b = ARC_BUF_INIT;
    product_render(&p, &b);
    assert_string_equal(
        b.ptr, "{\"id\":42,\"sku\":\"ARC-42\",\"name\":\"Caf\xc3\xa9 \\\"quoted\\\"\","
               "\"description\":\"line\\nbreak\",\"price\":6999,\"currency\":\"EUR\","
               "\"category\":{\"id\":3,\"slug\":\"audio\",\"name\":\"Audio\"},\"stock\":17,"
               "\"active\":true,\"created_at\":\"2026-11-23T21:18:36.000Z\","
               "\"updated_at\":\"2026-11-23T21:18:37.123Z\"}");
    arc_buf_cleanup(&b);
}

static void
renders_event_document_with_category_path(void **state)
{
    struct product_view p = {.id = 5,
                             .sku = S("S"),
                             .name = S("n"),
                             .description = S(""),
                             .currency = S("EUR"),
                             .has_category = true,
                             .category_id = 2,
                             .category_slug = S("audio"),
                             .category_name = S("Audio"),
                             .created_at = S("t"),
                             .updated_at = S("u"),
                             .category_path = S("electronics audio")};
    arc_buf b = ARC_BUF_INIT;
    product_render_event(&p, &b);
    assert_non_null(strstr(b.ptr, "\"updated_at\":\"u\",\"category_path\":[\"electronics\","
                                  "\"audio\"]}"));
    assert_int_equal(strlen(b.ptr), b.len);

    /* No category: an empty chain. */
    p.has_category = false;
    p.category_path = (arc_str){NULL, 0};
    arc_buf_reset(&b);
    product_render_event(&p, &b);
    assert_non_null(strstr(b.ptr, "\"category\":null,"));
    assert_non_null(strstr(b.ptr, ",\"category_path\":[]}"));
    /* One level. */
    p.category_path = S("books");
    arc_buf_reset(&b);
    product_render_event(&p, &b);
    assert_non_null(strstr(b.ptr, ",\"category_path\":[\"books\"]}"));
    arc_buf_cleanup(&b);
}

static void
renders_null_category(void **state)
{
    struct product_view p = {.id = 1,
                             .sku = S("X"),
                             .name = S("n"),
                             .description = S(""),
                             .price = 0,
                             .currency = S("USD"),
                             .stock = 0,
                             .active = false,
                             .created_at = S("t"),
                             .updated_at = S("u")};
    arc_buf b = ARC_BUF_INIT;
    product_render(&p, &b);
    assert_non_null(strstr(b.ptr, "\"category\":null,"));
    assert_non_null(strstr(b.ptr, "\"active\":false"));
    arc_buf_cleanup(&b);
}

static void
etag_format_and_matching(void **state)
{
    char etag[48];
    size_t n = product_etag(42, 7, etag, sizeof etag);
    assert_string_equal(etag, "\"p42-v7\"");
    assert_int_equal(n, 8);

    assert_true(arc_precond_matches("\"p42-v7\"", etag, n, false));
    assert_true(arc_precond_matches("*", etag, n, false));
    assert_true(arc_precond_matches(" * ", etag, n, false));
    assert_true(arc_precond_matches("\"a\", \"p42-v7\"", etag, n, false));
    assert_true(arc_precond_matches("\"a\",\"p42-v7\"", etag, n, false));
    assert_false(arc_precond_matches("\"p42-v6\"", etag, n, false));
    assert_false(arc_precond_matches("\"p42-v7", etag, n, false));
    assert_false(arc_precond_matches("p42-v7", etag, n, false));
    assert_false(arc_precond_matches("", etag, n, false));
    assert_false(arc_precond_matches(NULL, etag, n, false));
    assert_false(arc_precond_matches("\"p42-v70\"", etag, n, false));
    /* Weak tags: If-None-Match compares weakly, If-Match strongly. */
    assert_true(arc_precond_matches("W/\"p42-v7\"", etag, n, true));
    assert_false(arc_precond_matches("W/\"p42-v7\"", etag, n, false));
}

static void
knows_active_currencies(void **state)
{
    assert_true(currency_known("EUR", 3));
    assert_true(currency_known("USD", 3));
    assert_true(currency_known("AED", 3));
    assert_true(currency_known("ZWL", 3));
    assert_false(currency_known("XYZ", 3));
    assert_false(currency_known("eur", 3));
    assert_false(currency_known("EU", 2));
    assert_false(currency_known("EURO", 4));
    /* The table must stay sorted for bsearch. */
    for (size_t i = 1; i < ARC_ARRAY_LEN(currencies); i++)
        assert_true(memcmp(currencies[i - 1], currencies[i], 3) < 0);
}

static void
sku_and_slug_rules(void **state)
{
    assert_true(arc_sku_valid("ARC-000001", 10));
    assert_true(arc_sku_valid("a.b_c-D9", 8));
    assert_false(arc_sku_valid("", 0));
    assert_false(arc_sku_valid("has space", 9));
    assert_false(arc_sku_valid("caf\xc3\xa9", 5));
    char long_sku[66];
    memset(long_sku, 'A', sizeof long_sku);
    assert_true(arc_sku_valid(long_sku, 64));
    assert_false(arc_sku_valid(long_sku, 65));

    assert_true(arc_slug_valid("home-and-kitchen", 16));
    assert_false(arc_slug_valid("Home", 4));
    assert_false(arc_slug_valid("a_b", 3));
    assert_false(arc_slug_valid("", 0));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_product_with_category),
        cmocka_unit_test(renders_null_category),
        cmocka_unit_test(renders_event_document_with_category_path),
        cmocka_unit_test(etag_format_and_matching),
        cmocka_unit_test(knows_active_currencies),
        cmocka_unit_test(sku_and_slug_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
