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

#include "product_fixture.h"

static void
reads_a_product(void **state)
{
    json_object *o = json_tokener_parse(good);
    struct product_doc d;
    const char *why = "unset";
    assert_int_equal(product_doc_read(o, &d, &why), 0);
    assert_null(why);
    assert_int_equal(d.p.id, 42);
    assert_int_equal(d.p.sku.len, 10);
    assert_memory_equal(d.p.name.ptr, "Caf\xc3\xa9 Headphones", d.p.name.len);
    assert_int_equal(d.p.price, 6999);
    assert_true(d.p.has_category);
    assert_int_equal(d.p.category_id, 2);
    assert_memory_equal(d.p.category_slug.ptr, "audio", 5);
    assert_int_equal(d.p.stock, 17);
    assert_true(d.p.active);
    assert_string_equal(d.created_at, "2026-11-23 21:18:36.123");
    assert_string_equal(d.updated_at, "2026-11-24 08:00:00.000");
    assert_int_equal(d.p.npath, 2);
    assert_string_equal(d.path_str, "electronics/audio");
    json_object_put(o);

    /* No category, no path; extra members are ignored. */
    o = variant("\"category\":{\"id\":2,\"slug\":\"audio\",\"name\":\"Audio\"}",
                "\"category\":null,\"on_hand\":3");
    json_object_object_add(o, "category_path", json_object_new_array());
    assert_int_equal(product_doc_read(o, &d, &why), 0);
    assert_false(d.p.has_category);
    assert_int_equal(d.p.npath, 0);
    assert_string_equal(d.path_str, "");
    json_object_put(o);

    /* Inactive and out of stock. */
    o = variant("\"stock\":17,\"active\":true", "\"stock\":0,\"active\":false");
    assert_int_equal(product_doc_read(o, &d, &why), 0);
    assert_false(d.p.active);
    assert_int_equal(d.p.stock, 0);
    json_object_put(o);
}

static int
read_doc(json_object *o, const char **why)
{
    struct product_doc d;
    return product_doc_read(o, &d, why);
}

/* What the shared reader refuses (product_test.c) search refuses too; and
 * the times must be RFC 3339 UTC. */
static void
refuses_what_is_not_a_product(void **state)
{
    refuses("\"name\":\"Caf\xc3\xa9 Headphones\"", "\"name\":\"a\\u0000b\"");
    refuses(",\"category_path\":[\"electronics\",\"audio\"]", "");
    refuses("\"created_at\":\"2026-11-23T21:18:36.123Z\"", "\"created_at\":\"yesterday\"");
    refuses("\"created_at\":\"2026-11-23T21:18:36.123Z\"",
            "\"created_at\":\"2026-11-23 21:18:36.123\"");
    refuses("\"updated_at\":\"2026-11-24T08:00:00.000Z\"",
            "\"updated_at\":\"2026-11-24T08:00:00.000+00:00\"");
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
    assert_int_equal(d.p.npath, CATEGORY_PATH_MAX);
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_a_product),
        cmocka_unit_test(refuses_what_is_not_a_product),
        cmocka_unit_test(a_path_of_sixteen_long_slugs_fits),
        cmocka_unit_test(rfc3339_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
