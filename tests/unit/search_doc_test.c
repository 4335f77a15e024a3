/*
 * search_doc_test.c - the product document of catalog events, as the search
 * service reads it: what is accepted, what is refused (and so dead-lettered).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../fcgi-bin/search/doc.c"

static const char good[] =
    "{\"id\":42,\"sku\":\"ARC-000042\",\"name\":\"Caf\xc3\xa9 Headphones\",\"description\":\"d\","
    "\"price\":6999,\"currency\":\"EUR\",\"category\":{\"id\":2,\"slug\":\"audio\",\"name\":"
    "\"Audio\"},\"stock\":17,\"active\":true,\"created_at\":\"2026-11-23T21:18:36.123Z\","
    "\"updated_at\":\"2026-11-24T08:00:00.000Z\",\"category_path\":[\"electronics\",\"audio\"]}";

/* good with the text from..to replaced by with. */
static json_object *
variant(const char *from, const char *with)
{
    char text[2048];
    const char *at = strstr(good, from);
    assert_non_null(at);
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - good), good, with, at + strlen(from));
    json_object *o = json_tokener_parse(text);
    assert_non_null(o);
    return o;
}

static void
reads_a_product(void **state)
{
    json_object *o = json_tokener_parse(good);
    struct product_doc d;
    const char *why = "unset";
    assert_int_equal(product_doc_read(o, &d, &why), 0);
    assert_null(why);
    assert_int_equal(d.id, 42);
    assert_int_equal(d.sku.len, 10);
    assert_memory_equal(d.name.ptr, "Caf\xc3\xa9 Headphones", d.name.len);
    assert_int_equal(d.price, 6999);
    assert_true(d.has_category);
    assert_int_equal(d.category_id, 2);
    assert_memory_equal(d.category_slug.ptr, "audio", 5);
    assert_int_equal(d.stock, 17);
    assert_true(d.active);
    assert_string_equal(d.created_at, "2026-11-23 21:18:36.123");
    assert_string_equal(d.updated_at, "2026-11-24 08:00:00.000");
    assert_int_equal(d.npath, 2);
    assert_string_equal(d.path_str, "electronics/audio");
    json_object_put(o);

    /* No category, no path; extra members are ignored. */
    o = variant("\"category\":{\"id\":2,\"slug\":\"audio\",\"name\":\"Audio\"}",
                "\"category\":null,\"on_hand\":3");
    json_object_object_add(o, "category_path", json_object_new_array());
    assert_int_equal(product_doc_read(o, &d, &why), 0);
    assert_false(d.has_category);
    assert_int_equal(d.npath, 0);
    assert_string_equal(d.path_str, "");
    json_object_put(o);

    /* Inactive and out of stock. */
    o = variant("\"stock\":17,\"active\":true", "\"stock\":0,\"active\":false");
    assert_int_equal(product_doc_read(o, &d, &why), 0);
    assert_false(d.active);
    assert_int_equal(d.stock, 0);
    json_object_put(o);
}

static void
refuses(const char *from, const char *with)
{
    json_object *o = variant(from, with);
    struct product_doc d;
    const char *why = NULL;
    if (product_doc_read(o, &d, &why) == 0)
        fail_msg("accepted with %s -> %s", from, with);
    assert_non_null(why);
    json_object_put(o);
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
    refuses("\"created_at\":\"2026-11-23T21:18:36.123Z\"", "\"created_at\":\"yesterday\"");
    refuses("\"created_at\":\"2026-11-23T21:18:36.123Z\"",
            "\"created_at\":\"2026-11-23 21:18:36.123\"");
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

    struct product_doc d;
    const char *why;
    assert_int_equal(product_doc_read(NULL, &d, &why), -1);
    json_object *arr = json_object_new_array();
    assert_int_equal(product_doc_read(arr, &d, &why), -1);
    json_object_put(arr);
}

static void
a_path_of_sixteen_long_slugs_fits(void **state)
{
    char path[2048] = "[";
    char slug[SLUG_MAX + 1];
    for (int i = 0; i < CATEGORY_PATH_MAX; i++) {
        memset(slug, 'a' + i, SLUG_MAX);
        slug[SLUG_MAX] = '\0';
        strcat(path, i ? ",\"" : "\"");
        strcat(path, slug);
        strcat(path, "\"");
    }
    strcat(path, "]");
    char cat[256];
    snprintf(cat, sizeof cat, "\"category\":{\"id\":2,\"slug\":\"%s\",\"name\":\"Audio\"}", slug);
    json_object *o = variant("[\"electronics\",\"audio\"]", path);
    json_object *c = json_tokener_parse(strchr(cat, '{'));
    json_object_object_add(o, "category", c);
    struct product_doc d;
    const char *why = NULL;
    assert_int_equal(product_doc_read(o, &d, &why), 0);
    assert_int_equal(d.npath, CATEGORY_PATH_MAX);
    assert_int_equal(strlen(d.path_str), CATEGORY_PATH_MAX * (SLUG_MAX + 1) - 1);
    json_object_put(o);

    /* One more is refused. */
    strcpy(path + strlen(path) - 1, ",\"z\"]");
    o = variant("[\"electronics\",\"audio\"]", path);
    assert_int_equal(product_doc_read(o, &d, &why), -1);
    json_object_put(o);
}

static void
rfc3339_times(void **state)
{
    char out[24];
#define OK(in, want)                                                                               \
    do {                                                                                           \
        assert_true(rfc3339_to_db(in, strlen(in), out));                                           \
        assert_string_equal(out, want);                                                            \
    } while (0)
#define BAD(in) assert_false(rfc3339_to_db(in, strlen(in), out))
    OK("2026-11-23T21:18:36.123Z", "2026-11-23 21:18:36.123");
    OK("2026-11-23T21:18:36Z", "2026-11-23 21:18:36.000");
    OK("2026-11-23T21:18:36.1Z", "2026-11-23 21:18:36.100");
    OK("2026-11-23T21:18:36.123456Z", "2026-11-23 21:18:36.123");
    OK("2024-02-29T00:00:00.000Z", "2024-02-29 00:00:00.000");
    BAD("2026-02-29T00:00:00.000Z");
    BAD("2026-13-01T00:00:00.000Z");
    BAD("2026-11-31T00:00:00.000Z");
    BAD("2026-11-23T24:00:00.000Z");
    BAD("2026-11-23T21:18:36.Z");
    BAD("2026-11-23T21:18:36.1234567Z");
    BAD("2026-11-23T21:18:36.123+00:00");
    BAD("2026-11-23 21:18:36.123Z");
    BAD("2026-11-23T21:18:3x.123Z");
    BAD("");
#undef OK
#undef BAD
}

static void
slugs(void **state)
{
    assert_true(arc_slug_valid("home-and-kitchen", 16));
    assert_false(arc_slug_valid("Home", 4));
    assert_false(arc_slug_valid("a_b", 3));
    assert_false(arc_slug_valid("", 0));
    char s[SLUG_MAX + 2];
    memset(s, 'a', sizeof s);
    assert_true(arc_slug_valid(s, SLUG_MAX));
    assert_false(arc_slug_valid(s, SLUG_MAX + 1));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_a_product),
        cmocka_unit_test(refuses_what_is_not_a_product),
        cmocka_unit_test(a_path_of_sixteen_long_slugs_fits),
        cmocka_unit_test(rfc3339_times),
        cmocka_unit_test(slugs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
