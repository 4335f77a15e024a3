/*
 * search_render_test.c - the JSON of the search service's answers (render.c):
 * result items, suggestions and facet counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../fcgi-bin/search/query.c" /* the price bands */
#include "../../fcgi-bin/search/render.c"

#define S(lit) ((arc_str){(lit), sizeof(lit) - 1})

static void
renders_items(void **state)
{
    struct search_item it = {.id = 42,
                             .sku = S("ARC-42"),
                             .name = S("Caf\xc3\xa9 \"quoted\""),
                             .currency = S("EUR"),
                             .price = 6999,
                             .has_category = true,
                             .category_slug = S("audio"),
                             .category_name = S("Audio & more"),
                             .in_stock = true};
    arc_buf b = ARC_BUF_INIT;
    item_render(&it, &b);
    assert_string_equal(b.ptr,
                        "{\"id\":42,\"sku\":\"ARC-42\",\"name\":\"Caf\xc3\xa9 \\\"quoted\\\"\","
                        "\"price\":6999,\"currency\":\"EUR\",\"category\":{\"slug\":"
                        "\"audio\",\"name\":\"Audio & more\"},\"in_stock\":true}");
    it.has_category = false;
    it.in_stock = false;
    it.price = 0;
    arc_buf_reset(&b);
    item_render(&it, &b);
    assert_non_null(strstr(b.ptr, "\"price\":0,\"currency\":\"EUR\",\"category\":null,"
                                  "\"in_stock\":false}"));
    arc_buf_cleanup(&b);
}

static void
renders_facets(void **state)
{
    struct facets f;
    arc_str audio = S("audio"), audio_name = S("Audio"), books = S("books"),
            books_name = S("Books"), toys = S("toys"), toys_name = S("Toys");
    facets_init(&f);
    /* Rows as the facet query returns them: grouped by slug, name, band. */
    facets_add(&f, &audio, &audio_name, 0, 2);
    facets_add(&f, &audio, &audio_name, 6, 3);
    facets_add(&f, &books, &books_name, 1, 5);
    facets_add(&f, &toys, &toys_name, 6, 5);
    facets_add(&f, NULL, NULL, 6, 4); /* products without a category */
    assert_int_equal(f.total, 19);
    arc_buf b = ARC_BUF_INIT;
    facets_render(&f, &b);
    /* By count, then slug; bands in order, the empty ones left out. */
    assert_string_equal(b.ptr, "{\"category\":[{\"slug\":\"audio\",\"name\":\"Audio\",\"count\":5},"
                               "{\"slug\":\"books\",\"name\":\"Books\",\"count\":5},"
                               "{\"slug\":\"toys\",\"name\":\"Toys\",\"count\":5}],"
                               "\"price\":[{\"min\":0,\"max\":1000,\"count\":2},"
                               "{\"min\":1000,\"max\":2500,\"count\":5},"
                               "{\"min\":50000,\"max\":null,\"count\":12}]}");
    facets_cleanup(&f);

    facets_init(&f);
    arc_buf_reset(&b);
    facets_render(&f, &b);
    assert_string_equal(b.ptr, "{\"category\":[],\"price\":[]}");

    /* At most CATEGORY_FACET_MAX categories, the largest. */
    char slug[16];
    for (int i = 0; i < CATEGORY_FACET_MAX + 10; i++) {
        int n = snprintf(slug, sizeof slug, "c%03d", i);
        arc_str s = {slug, (size_t)n};
        facets_add(&f, &s, &s, 3, i + 1);
    }
    arc_buf_reset(&b);
    facets_render(&f, &b);
    assert_non_null(strstr(b.ptr, "{\"category\":[{\"slug\":\"c059\""));
    assert_null(strstr(b.ptr, "\"c009\""));
    assert_non_null(strstr(b.ptr, "\"c010\""));
    facets_cleanup(&f);
    arc_buf_cleanup(&b);
}

static void
facets_with_many_categories(void **state)
{
    /* Rows of the match set come in any order: categories are found by hash. */
    struct facets f;
    char slug[16];
    facets_init(&f);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 1000; i++) {
            int n = snprintf(slug, sizeof slug, "cat-%d", (i * 7919) % 1000);
            arc_str s = {slug, (size_t)n};
            facets_add(&f, &s, &s, i % PRICE_BANDS, 1);
        }
    }
    assert_int_equal(f.ncats, 1000);
    assert_int_equal(f.total, 3000);
    for (size_t i = 0; i < f.ncats; i++)
        assert_int_equal(f.cats[i].count, 3);
    arc_buf b = ARC_BUF_INIT;
    facets_render(&f, &b);
    /* Equal counts: by slug. */
    assert_non_null(strstr(b.ptr, "{\"category\":[{\"slug\":\"cat-0\""));
    /* Adding after rendering still finds the categories. */
    arc_str s = {"cat-5", 5};
    facets_add(&f, &s, &s, 0, 2);
    assert_int_equal(f.ncats, 1000);
    facets_cleanup(&f);
    arc_buf_cleanup(&b);
}

static void
renders_suggestions(void **state)
{
    arc_buf b = ARC_BUF_INIT;
    suggestion_render(7, S("Caf\xc3\xa9 \"quoted\" \\ \xf0\x9f\x98\x80"), &b);
    assert_string_equal(b.ptr, "{\"id\":7,\"name\":\"Caf\xc3\xa9 \\\"quoted\\\" \\\\ "
                               "\xf0\x9f\x98\x80\"}");
    arc_buf_cleanup(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_items),
        cmocka_unit_test(renders_suggestions),
        cmocka_unit_test(renders_facets),
        cmocka_unit_test(facets_with_many_categories),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
