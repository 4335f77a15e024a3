/*
 * catalog_handlers_test.c - catalog endpoints against arcade-catalog alone:
 * one worker started as spawn-fcgi starts it, spoken to in FastCGI, with its
 * migrations in the scratch schema of tests/with-test-db and a memcached of
 * its own (tests/support/arc_test_fcgi.h, docs/testing.md).
 */
#include "arc_test_fcgi.h"

#include <stdio.h>
#include <string.h>

#define ADMIN ARC_TEST_HEADERS(arc_test_admin_auth())

static void
create_then_get_a_product(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    struct arc_test_response *r =
        arc_test_call("POST", "/api/v1/products", ADMIN,
                      "{\"sku\":\"HT-MUG-1\",\"name\":\"Mug\",\"price\":1299,"
                      "\"currency\":\"EUR\",\"on_hand\":10}");
    assert_int_equal(r->status, 201);
    long long id = arc_test_json_int(r, "id");
    assert_true(id > 0);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/products/%lld", id);
    assert_string_equal(arc_test_header(r, "Location"), path);
    char etag[64];
    snprintf(etag, sizeof etag, "%s", arc_test_header(r, "ETag"));

    r = arc_test_call("GET", path, NULL, NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(arc_test_header(r, "Content-Type"), "application/json");
    assert_string_equal(arc_test_json_str(r, "sku"), "HT-MUG-1");
    assert_int_equal(arc_test_json_int(r, "price"), 1299);
    assert_int_equal(arc_test_json_int(r, "stock"), 10);
    assert_string_equal(arc_test_header(r, "ETag"), etag);

    /* The same document again, now from the caches. */
    r = arc_test_call("GET", path, ARC_TEST_HEADERS("If-None-Match: *"), NULL);
    assert_int_equal(r->status, 304);
}

static void
unknown_product_and_path_are_404(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    struct arc_test_response *r = arc_test_call("GET", "/api/v1/products/999999", NULL, NULL);
    assert_int_equal(r->status, 404);
    assert_string_equal(arc_test_json_str(r, "error.code"), "not_found");
    r = arc_test_call("GET", "/api/v1/nothing-here", NULL, NULL);
    assert_int_equal(r->status, 404);
    r = arc_test_call("GET", "/api/v1/products/abc", NULL, NULL);
    assert_int_equal(r->status, 400);
    assert_string_equal(arc_test_json_str(r, "error.code"), "invalid_parameter");
}

static void
invalid_product_is_422_with_fields(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    struct arc_test_response *r =
        arc_test_call("POST", "/api/v1/products", ADMIN,
                      "{\"sku\":\"HT BAD\",\"name\":\"Mug\",\"price\":-1,\"currency\":\"EUR\"}");
    assert_int_equal(r->status, 422);
    assert_string_equal(arc_test_json_str(r, "error.code"), "validation_failed");
    assert_true(arc_test_json_has(r, "error.fields.sku"));
    assert_true(arc_test_json_has(r, "error.fields.price"));
    assert_false(arc_test_json_has(r, "error.fields.name"));
    /* Nothing was written. */
    assert_int_equal(arc_test_db_int("SELECT COUNT(*) FROM products WHERE sku = 'HT BAD'"), 0);
}

static void
writes_need_the_operator_key(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    const char *body = "{\"sku\":\"HT-ANON\",\"name\":\"Mug\",\"price\":1,\"currency\":\"EUR\"}";
    struct arc_test_response *r = arc_test_call("POST", "/api/v1/products", NULL, body);
    assert_int_equal(r->status, 401);
    assert_non_null(arc_test_header(r, "WWW-Authenticate"));
    r = arc_test_call("POST", "/api/v1/products", ARC_TEST_HEADERS("Authorization: Bearer nope"),
                      body);
    assert_int_equal(r->status, 401);
    r = arc_test_call("POST", "/api/v1/products", ADMIN, body);
    assert_int_equal(r->status, 201);
    r = arc_test_call("POST", "/api/v1/products", ADMIN, body);
    assert_int_equal(r->status, 409);
}

/* A body over 64 KiB is refused before it is read; the answer still arrives
 * whole (the harness sends, then reads whatever the service wrote). */
static void
oversized_body_is_413(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    static char body[70000];
    memset(body, ' ', sizeof body - 1);
    struct arc_test_response *r = arc_test_call("POST", "/api/v1/products", ADMIN, body);
    assert_int_equal(r->status, 413);
    assert_string_equal(arc_test_json_str(r, "error.code"), "payload_too_large");
    /* and the worker serves the next request */
    r = arc_test_call("GET", "/health/catalog", NULL, NULL);
    assert_int_equal(r->status, 200);
}

/* GET on the internal listener: ARCADE_INTERNAL=1, as the web server sets it there. */
static struct arc_test_response *
internal_get(const char *target, struct arc_test_response *out, bool internal)
{
    struct arc_test_request rq = {
        .method = "GET",
        .target = target,
        .params = internal ? ARC_TEST_HEADERS("ARCADE_INTERNAL=1") : NULL,
    };
    assert_int_equal(arc_test_fcgi_request(arc_test_service(), &rq, out), 0);
    return out;
}

static long long
create_product(const char *sku, int on_hand)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"sku\":\"%s\",\"name\":\"Lamp %s\",\"price\":2500,\"currency\":\"EUR\","
             "\"on_hand\":%d}",
             sku, sku, on_hand);
    struct arc_test_response *r = arc_test_call("POST", "/api/v1/products", ADMIN, body);
    assert_int_equal(r->status, 201);
    return arc_test_json_int(r, "id");
}

static void
internal_lookup_prices_and_availability(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    long long a = create_product("HT-LK-A", 7);
    long long b = create_product("HT-LK-B", 3);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/products/%lld", b);
    assert_int_equal(arc_test_call("DELETE", path, ADMIN, NULL)->status, 204);
    /* reserved units are not available */
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE products SET reserved = 2 WHERE id = %lld", a);
    arc_test_db_exec(sql);

    char target[128];
    snprintf(target, sizeof target, "/internal/v1/products/lookup?ids=%lld,999999,%lld,%lld", a, b,
             a);
    struct arc_test_response r;
    arc_test_response_init(&r);
    assert_int_equal(internal_get(target, &r, false)->status, 404);
    assert_int_equal(internal_get(target, &r, true)->status, 200);
    assert_int_equal(arc_test_json_int(&r, "items.0.id"), a);
    assert_string_equal(arc_test_json_str(&r, "items.0.sku"), "HT-LK-A");
    assert_string_equal(arc_test_json_str(&r, "items.0.name"), "Lamp HT-LK-A");
    assert_int_equal(arc_test_json_int(&r, "items.0.price"), 2500);
    assert_string_equal(arc_test_json_str(&r, "items.0.currency"), "EUR");
    assert_int_equal(arc_test_json_int(&r, "items.0.available"), 5);
    json_object *active = NULL;
    assert_true(json_object_object_get_ex(
        json_object_array_get_idx(json_object_object_get(arc_test_json(&r), "items"), 0), "active",
        &active));
    assert_true(json_object_get_boolean(active));
    /* unknown ids are absent, a repeated one counts once, inactive ones say so */
    assert_int_equal(arc_test_json_int(&r, "items.1.id"), b);
    assert_true(json_object_object_get_ex(
        json_object_array_get_idx(json_object_object_get(arc_test_json(&r), "items"), 1), "active",
        &active));
    assert_false(json_object_get_boolean(active));
    assert_false(arc_test_json_has(&r, "items.2"));
    arc_test_response_cleanup(&r);
}

static void
internal_lookup_bad_ids_are_400(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    static const char *const bad[] = {
        "/internal/v1/products/lookup",
        "/internal/v1/products/lookup?ids=",
        "/internal/v1/products/lookup?ids=1,,2",
        "/internal/v1/products/lookup?ids=1,x",
        "/internal/v1/products/lookup?ids=-1",
        "/internal/v1/products/lookup?ids=0",
        "/internal/v1/products/lookup?ids=1,",
        "/internal/v1/products/lookup?ids=99999999999999999999",
    };
    struct arc_test_response r;
    arc_test_response_init(&r);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(internal_get(bad[i], &r, true)->status, 400);
        assert_string_equal(arc_test_json_str(&r, "error.code"), "invalid_parameter");
        assert_true(arc_test_json_has(&r, "error.fields.ids"));
    }
    /* 50 ids are fine, 51 are not */
    char target[512] = "/internal/v1/products/lookup?ids=1";
    for (int i = 2; i <= 50; i++)
        snprintf(target + strlen(target), sizeof target - strlen(target), ",%d", i);
    assert_int_equal(internal_get(target, &r, true)->status, 200);
    strcat(target, ",51");
    assert_int_equal(internal_get(target, &r, true)->status, 400);
    arc_test_response_cleanup(&r);
}

/* The admin's stock counts, and a PUT below the reserved units (reserved set
 * here directly: the stock saga is the consumer's, tests/integration). */
static void
inventory_get_and_put_below_reserved(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    struct arc_test_response *r =
        arc_test_call("POST", "/api/v1/products", ADMIN,
                      "{\"sku\":\"HT-INV-1\",\"name\":\"Mug\",\"price\":1,"
                      "\"currency\":\"EUR\",\"on_hand\":10}");
    assert_int_equal(r->status, 201);
    long long id = arc_test_json_int(r, "id");
    char path[80], sql[160];
    snprintf(path, sizeof path, "/api/v1/products/%lld/inventory", id);
    snprintf(sql, sizeof sql, "UPDATE products SET reserved = 4, sold = 2 WHERE id = %lld", id);
    arc_test_db_exec(sql);

    r = arc_test_call("GET", path, NULL, NULL);
    assert_int_equal(r->status, 401);
    r = arc_test_call("GET", path, ADMIN, NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(arc_test_header(r, "Cache-Control"), "no-store");
    assert_int_equal(arc_test_json_int(r, "on_hand"), 10);
    assert_int_equal(arc_test_json_int(r, "reserved"), 4);
    assert_int_equal(arc_test_json_int(r, "sold"), 2);
    assert_int_equal(arc_test_json_int(r, "available"), 6);

    r = arc_test_call("PUT", path, ADMIN, "{\"on_hand\":3}");
    assert_int_equal(r->status, 409);
    assert_string_equal(arc_test_json_str(r, "error.code"), "below_reserved");
    assert_true(arc_test_json_has(r, "error.fields.on_hand"));
    r = arc_test_call("PUT", path, ADMIN, "{\"on_hand\":4}");
    assert_int_equal(r->status, 200);
    assert_int_equal(arc_test_json_int(r, "stock"), 0);

    r = arc_test_call("GET", "/api/v1/products/999999/inventory", ADMIN, NULL);
    assert_int_equal(r->status, 404);
}

int
main(int argc, char **argv)
{
    (void)argc;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_then_get_a_product),
        cmocka_unit_test(unknown_product_and_path_are_404),
        cmocka_unit_test(invalid_product_is_422_with_fields),
        cmocka_unit_test(writes_need_the_operator_key),
        cmocka_unit_test(oversized_body_is_413),
        cmocka_unit_test(internal_lookup_prices_and_availability),
        cmocka_unit_test(internal_lookup_bad_ids_are_400),
        cmocka_unit_test(inventory_get_and_put_below_reserved),
    };
    return ARC_TEST_SERVICE_MAIN(argv[0], "catalog", NULL, tests);
}
