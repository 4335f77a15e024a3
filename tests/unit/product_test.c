/*
 * product_test.c - the product document (arcade/product.h): what the catalog
 * renders, and that its readers take back exactly what the catalog accepts
 * (the same limits and text rules) and refuse what it never writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arcade/product.h"

#define S(lit) ((arc_str){(lit), sizeof(lit) - 1})

#include "product_fixture.h"

static void
renders_the_api_document(void **state)
{
    struct arc_product p = {
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
        .created_at = S("2026-11-23T21:18:36.000Z"),
        .updated_at = S("2026-11-23T21:18:37.123Z"),
    };
    arc_buf b = ARC_BUF_INIT;
    arc_product_render(&p, &b);
    assert_string_equal(
        b.ptr, "{\"id\":42,\"sku\":\"ARC-42\",\"name\":\"Caf\xc3\xa9 \\\"quoted\\\"\","
               "\"description\":\"line\\nbreak\",\"price\":6999,\"currency\":\"EUR\","
               "\"category\":{\"id\":3,\"slug\":\"audio\",\"name\":\"Audio\"},\"stock\":17,"
               "\"active\":true,\"created_at\":\"2026-11-23T21:18:36.000Z\","
               "\"updated_at\":\"2026-11-23T21:18:37.123Z\"}");
    /* No category; strings are bounded by their lengths, not by a NUL. */
    p.has_category = false;
    p.active = false;
    p.sku = (arc_str){"ARC-42-and-more", 6};
    arc_buf_reset(&b);
    arc_product_render(&p, &b);
    assert_non_null(strstr(b.ptr, "\"sku\":\"ARC-42\","));
    assert_non_null(strstr(b.ptr, "\"category\":null,\"stock\":17,\"active\":false,"));
    /* The event's: the path added. */
    p.has_category = true;
    p.path[0] = S("electronics");
    p.path[1] = S("audio");
    p.npath = 2;
    arc_buf_reset(&b);
    arc_product_render_event(&p, &b);
    assert_non_null(strstr(b.ptr, "\"updated_at\":\"2026-11-23T21:18:37.123Z\","
                                  "\"category_path\":[\"electronics\",\"audio\"]}"));
    assert_int_equal(strlen(b.ptr), b.len);
    arc_buf_cleanup(&b);
}

static bool
str_eq(arc_str a, arc_str b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

/* Renders p as an event's document, reads it back and compares. */
static void
round_trip(const struct arc_product *p)
{
    arc_buf b = ARC_BUF_INIT;
    arc_product_render_event(p, &b);
    json_object *o = json_tokener_parse(b.ptr);
    assert_non_null(o);
    struct arc_product r;
    const char *why = "unset";
    if (arc_product_read(o, ARC_PRODUCT_WITH_PATH, &r, &why) != 0)
        fail_msg("refused (%s): %s", why, b.ptr);
    assert_null(why);
    assert_int_equal(r.id, p->id);
    assert_true(str_eq(r.sku, p->sku));
    assert_true(str_eq(r.name, p->name));
    assert_true(str_eq(r.description, p->description));
    assert_int_equal(r.price, p->price);
    assert_true(str_eq(r.currency, p->currency));
    assert_int_equal(r.has_category, p->has_category);
    assert_int_equal(r.stock, p->stock);
    assert_int_equal(r.active, p->active);
    assert_true(str_eq(r.created_at, p->created_at));
    assert_int_equal(r.npath, p->npath);
    for (size_t i = 0; i < p->npath; i++)
        assert_true(str_eq(r.path[i], p->path[i]));
    if (p->has_category) {
        assert_int_equal(r.category_id, p->category_id);
        assert_true(str_eq(r.category_slug, p->category_slug));
        assert_true(str_eq(r.category_name, p->category_name));
    }
    json_object_put(o);
    arc_buf_cleanup(&b);
}

/* n copies of the UTF-8 character c, in a new string (caller frees). */
static char *
repeat(const char *c, size_t n)
{
    size_t len = strlen(c);
    char *s = malloc(len * n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * len, c, len);
    s[len * n] = '\0';
    return s;
}

/* Whatever the catalog accepts, at its limits, a reader takes back whole. */
static void
reads_back_what_the_catalog_accepts(void **state)
{
    char *emoji = repeat("\xf0\x9f\x98\x80", ARC_PRODUCT_NAME_MAX);      /* 200 x U+1F600 */
    char *desc = repeat("a\tb\r\nc\n", ARC_PRODUCT_DESCRIPTION_MAX / 7); /* 4998 characters */
    char *cat = repeat("\xe6\x97\xa5", ARC_CATEGORY_NAME_MAX);           /* 100 x U+65E5 */
    char sku[ARC_SKU_MAX + 1], slug[ARC_SLUG_MAX + 1];
    memset(sku, '.', ARC_SKU_MAX);
    sku[0] = 'A';
    sku[ARC_SKU_MAX] = '\0';
    memset(slug, '-', ARC_SLUG_MAX);
    slug[ARC_SLUG_MAX] = '\0';
    struct arc_product p = {
        .id = INT64_MAX,
        .sku = {sku, ARC_SKU_MAX},
        .name = {emoji, strlen(emoji)},
        .description = {desc, strlen(desc)},
        .price = ARC_PRODUCT_PRICE_MAX,
        .currency = S("JPY"),
        .has_category = true,
        .category_id = 1,
        .category_slug = {slug, ARC_SLUG_MAX},
        .category_name = {cat, strlen(cat)},
        .stock = ARC_PRODUCT_STOCK_MAX,
        .active = true,
        .created_at = S("2026-11-23T21:18:36.123Z"),
        .updated_at = S("2026-11-23T21:18:36.123Z"),
        .path = {S("a"), {slug, ARC_SLUG_MAX}},
        .npath = 2,
    };
    round_trip(&p);
    /* Text of every script, quotes, backslashes, a zero-width joiner inside. */
    const char *names[] = {"Zo\xc3\xab \"the\" \\ best",
                           "\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a",
                           "a\xe2\x80\x8d"
                           "b",
                           "  padded  ",
                           "e\xcc\x81 combining",
                           "</script><b>&amp;"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        p.name = (arc_str){names[i], strlen(names[i])};
        round_trip(&p);
    }
    /* Smallest values: no category, no path, an empty description, price 0. */
    p = (struct arc_product){.id = 1,
                             .sku = S("x"),
                             .name = S("n"),
                             .description = S(""),
                             .currency = S("EUR"),
                             .created_at = S("2026-11-23T21:18:36Z"),
                             .updated_at = S("2026-11-23T21:18:36Z")};
    round_trip(&p);
    free(emoji);
    free(desc);
    free(cat);
}

static void
limits_are_the_catalogs(void **state)
{
    char *name = repeat("n", ARC_PRODUCT_NAME_MAX + 1);
    char text[512];
    snprintf(text, sizeof text, "\"name\":\"%s\"", name);
    json_object *o = variant("\"name\":\"Caf\xc3\xa9 Headphones\"", text);
    struct arc_product d;
    const char *why = NULL;
    assert_int_equal(arc_product_read(o, ARC_PRODUCT_WITH_PATH, &d, &why), -1);
    assert_non_null(why);
    json_object_put(o);
    free(name);
    char *cat = repeat("c", ARC_CATEGORY_NAME_MAX + 1);
    snprintf(text, sizeof text, "\"name\":\"%s\"", cat);
    o = variant("\"name\":\"Audio\"", text);
    assert_int_equal(arc_product_read(o, ARC_PRODUCT_WITH_PATH, &d, &why), -1);
    json_object_put(o);
    free(cat);
}

static void
the_api_document_has_no_path(void **state)
{
    json_object *o = variant(",\"category_path\":[\"electronics\",\"audio\"]", "");
    struct arc_product d;
    const char *why = "unset";
    assert_int_equal(arc_product_read(o, 0, &d, &why), 0);
    assert_null(why);
    assert_true(d.has_category);
    assert_int_equal(d.npath, 0);
    assert_int_equal(arc_product_read(o, ARC_PRODUCT_WITH_PATH, &d, &why), -1);
    json_object_put(o);
}

static int
read_doc(json_object *o, const char **why)
{
    struct arc_product d;
    return arc_product_read(o, ARC_PRODUCT_WITH_PATH, &d, why);
}

static void
refuses_what_is_not_a_product(void **state)
{
    refuses("\"id\":42", "\"id\":0");
    refuses("\"id\":42", "\"id\":\"42\"");
    refuses("\"id\":42,", "");
    refuses("\"sku\":\"ARC-000042\"", "\"sku\":\"has space\"");
    refuses("\"sku\":\"ARC-000042\"", "\"sku\":\"\"");
    refuses("\"name\":\"Caf\xc3\xa9 Headphones\"", "\"name\":\"\"");
    refuses("\"name\":\"Caf\xc3\xa9 Headphones\"", "\"name\":null");
    refuses("\"name\":\"Caf\xc3\xa9 Headphones\"", "\"name\":\"a\\u0000b\"");
    refuses("\"description\":\"d\"", "\"description\":5");
    refuses("\"price\":6999", "\"price\":-1");
    refuses("\"price\":6999", "\"price\":1000000000000");
    refuses("\"price\":6999", "\"price\":69.99");
    refuses("\"currency\":\"EUR\"", "\"currency\":\"eur\"");
    refuses("\"currency\":\"EUR\"", "\"currency\":\"EURO\"");
    refuses("\"stock\":17", "\"stock\":-1");
    refuses("\"active\":true", "\"active\":1");
    refuses("\"created_at\":\"2026-11-23T21:18:36.123Z\"", "\"created_at\":\"soon\"");
    refuses("\"created_at\":\"2026-11-23T21:18:36.123Z\"", "\"created_at\":null");
    /* The catalog's text rules and limits (arcade/product.h, json.h). */
    refuses("\"name\":\"Caf\xc3\xa9 Headphones\"", "\"name\":\"a\\nb\"");
    refuses("\"name\":\"Caf\xc3\xa9 Headphones\"", "\"name\":\"evil\\u202egnp\"");
    refuses("\"name\":\"Caf\xc3\xa9 Headphones\"", "\"name\":\"\\u200b\"");
    refuses("\"name\":\"Caf\xc3\xa9 Headphones\"", "\"name\":\"   \"");
    refuses("\"description\":\"d\"", "\"description\":\"lone\\rcr\"");
    refuses("\"description\":\"d\"", "\"description\":\"a\\u0000b\"");
    refuses("\"stock\":17", "\"stock\":1000000001");
    refuses("\"sku\":\"ARC-000042\"", "\"sku\":\"caf\xc3\xa9\"");
    refuses("\"category\":{\"id\":2,\"slug\":\"audio\",\"name\":\"Audio\"}", "\"category\":5");
    refuses("\"slug\":\"audio\"", "\"slug\":\"Audio\"");
    refuses("\"name\":\"Audio\"", "\"name\":\"\"");
    /* The path must end with the product's category, name each once, hold slugs. */
    refuses("[\"electronics\",\"audio\"]", "[\"audio\",\"electronics\"]");
    refuses("[\"electronics\",\"audio\"]", "[]");
    refuses("[\"electronics\",\"audio\"]", "[\"audio\",\"audio\"]");
    refuses("[\"electronics\",\"audio\"]", "[\"electronics\",3,\"audio\"]");
    refuses("[\"electronics\",\"audio\"]", "[\"Electronics\",\"audio\"]");
    refuses("[\"electronics\",\"audio\"]", "\"electronics/audio\"");
    refuses(",\"category_path\":[\"electronics\",\"audio\"]", "");

    struct arc_product d;
    const char *why;
    assert_int_equal(arc_product_read(NULL, 0, &d, &why), -1);
    json_object *arr = json_object_new_array();
    assert_int_equal(arc_product_read(arr, 0, &d, &why), -1);
    json_object_put(arr);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_the_api_document),
        cmocka_unit_test(reads_back_what_the_catalog_accepts),
        cmocka_unit_test(limits_are_the_catalogs),
        cmocka_unit_test(the_api_document_has_no_path),
        cmocka_unit_test(refuses_what_is_not_a_product),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
