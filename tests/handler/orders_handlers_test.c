/*
 * orders_handlers_test.c - the cart endpoints against arcade-orders alone,
 * without users or catalog (tests/support/arc_test_fcgi.h, docs/testing.md).
 * A customer's session is put into the service's memcached the way the users
 * service caches it (arc_auth_cache_put), so no users service is needed. The
 * catalog is a socket that listens and never answers: every call to it times
 * out (ARCADE_CATALOG_TIMEOUT_MS=300), which is the 503 path, and after two
 * failures the breaker must answer at once. What needs a real catalog
 * (pricing, 404, currency_mismatch, the line limit) is tests/integration/test_cart.py.
 * Checkout: its validation, the Idempotency-Key's refusals and replay (the
 * key rows made by hand), and the catalog's 503 releasing the key; checkout
 * itself and the saga are tests/integration/test_orders.py.
 */
#include "arc_test_fcgi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include <arcade/auth.h>
#include <arcade/cache.h>

#define ADMIN ARC_TEST_HEADERS(arc_test_admin_auth())
#define TIMEOUT_MS 300

/* "Authorization: Bearer <token>" of a customer session for user_id,
 * cached as the users service caches it. */
static const char *
customer(int64_t user_id)
{
    static char header[128];
    char token[64], hash[ARC_TOKEN_HASH_HEX + 1];
    ARC_TEST_NEED(arc_test_service_memcached()[0] != '\0', "memcached is not installed");
    snprintf(token, sizeof token, "orders-handler-test-%lld", (long long)user_id);
    arc_auth_token_hash(token, strlen(token), hash);
    arc_cache *c = arc_cache_new(arc_test_service_memcached(), 200);
    struct arc_principal p = {user_id, ARC_ROLE_CUSTOMER, (int64_t)time(NULL) + 600};
    arc_auth_cache_put(c, hash, &p);
    arc_cache_free(c);
    snprintf(header, sizeof header, "Authorization: Bearer %s", token);
    return header;
}

static double
ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
cart_needs_a_customer(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    struct arc_test_response *r = arc_test_call("GET", "/api/v1/cart", NULL, NULL);
    assert_int_equal(r->status, 401);
    assert_non_null(arc_test_header(r, "WWW-Authenticate"));
    r = arc_test_call("GET", "/api/v1/cart", ARC_TEST_HEADERS("Authorization: Bearer nope"), NULL);
    assert_int_equal(r->status, 401);
    r = arc_test_call("GET", "/api/v1/cart", ADMIN, NULL);
    assert_int_equal(r->status, 403);
    assert_string_equal(arc_test_json_str(r, "error.code"), "forbidden");
}

static void
empty_cart(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    const char *auth = customer(101);
    struct arc_test_response *r =
        arc_test_call("GET", "/api/v1/cart", ARC_TEST_HEADERS(auth), NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body.ptr, "{\"items\":[],\"count\":0,\"total\":0,\"currency\":null}");
    assert_string_equal(arc_test_header(r, "Cache-Control"), "no-store");
    /* emptying an empty cart, removing what is not there: no catalog call needed */
    r = arc_test_call("DELETE", "/api/v1/cart", ARC_TEST_HEADERS(auth), NULL);
    assert_int_equal(r->status, 204);
    r = arc_test_call("DELETE", "/api/v1/cart/items/5", ARC_TEST_HEADERS(auth), NULL);
    assert_int_equal(r->status, 200);
    assert_int_equal(arc_test_json_int(r, "count"), 0);
    r = arc_test_call("PUT", "/api/v1/cart/items/5", ARC_TEST_HEADERS(auth), "{\"quantity\":0}");
    assert_int_equal(r->status, 200);
    assert_int_equal(arc_test_json_int(r, "count"), 0);
}

static void
bad_input_is_a_clear_error(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    const char *const *h = ARC_TEST_HEADERS(customer(102));
    static const char *const bodies[] = {
        "{}",
        "{\"quantity\":100}",
        "{\"quantity\":-1}",
        "{\"quantity\":\"2\"}",
        "{\"quantity\":1.5}",
        "{\"quantity\":null}",
    };
    struct arc_test_response *r;
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        r = arc_test_call("PUT", "/api/v1/cart/items/7", h, bodies[i]);
        assert_int_equal(r->status, 422);
        assert_string_equal(arc_test_json_str(r, "error.code"), "validation_failed");
        assert_true(arc_test_json_has(r, "error.fields.quantity"));
    }
    r = arc_test_call("PUT", "/api/v1/cart/items/7", h, "{\"quantity\":");
    assert_int_equal(r->status, 400);
    r = arc_test_call("PUT", "/api/v1/cart/items/7", h, "[1]");
    assert_int_equal(r->status, 400);
    r = arc_test_call("PUT", "/api/v1/cart/items/abc", h, "{\"quantity\":1}");
    assert_int_equal(r->status, 400);
    r = arc_test_call("PUT", "/api/v1/cart/items/0", h, "{\"quantity\":1}");
    assert_int_equal(r->status, 400);
    r = arc_test_call("POST", "/api/v1/cart", h, "{}");
    assert_int_equal(r->status, 405);
    assert_non_null(arc_test_header(r, "Allow"));
    /* nothing was written */
    assert_int_equal(arc_test_db_int("SELECT COUNT(*) FROM cart_items WHERE user_id = 102"), 0);
}

/* The catalog never answers: 503 with Retry-After after the timeout; from the
 * second failure on the breaker is open and the answer is immediate. */
static void
catalog_down_is_503_and_then_fast(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    const char *const *h = ARC_TEST_HEADERS(customer(103));
    struct timespec t0;
    for (int i = 0; i < 2; i++) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        struct arc_test_response *r =
            arc_test_call("PUT", "/api/v1/cart/items/9", h, "{\"quantity\":1}");
        assert_int_equal(r->status, 503);
        assert_string_equal(arc_test_json_str(r, "error.code"), "unavailable");
        assert_non_null(arc_test_header(r, "Retry-After"));
        assert_true(ms_since(&t0) >= TIMEOUT_MS - 50);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct arc_test_response *r =
        arc_test_call("PUT", "/api/v1/cart/items/9", h, "{\"quantity\":1}");
    assert_int_equal(r->status, 503);
    assert_true(ms_since(&t0) < 100);
    /* the cool-down (60 s) is what Retry-After tells */
    assert_true(atoi(arc_test_header(r, "Retry-After")) > 50);
    assert_int_equal(arc_test_db_int("SELECT COUNT(*) FROM cart_items WHERE user_id = 103"), 0);

    /* a cart with lines cannot be priced: 503 too, and emptying it still works */
    arc_test_db_exec("INSERT INTO carts (user_id, currency) VALUES (103, 'EUR')");
    arc_test_db_exec("INSERT INTO cart_items (user_id, product_id, quantity) VALUES (103, 9, 2)");
    r = arc_test_call("GET", "/api/v1/cart", h, NULL);
    assert_int_equal(r->status, 503);
    r = arc_test_call("DELETE", "/api/v1/cart", h, NULL);
    assert_int_equal(r->status, 204);
    assert_int_equal(arc_test_db_int("SELECT COUNT(*) FROM cart_items WHERE user_id = 103"), 0);
}

#define ADDR                                                                                       \
    "\"shipping_address\":{\"name\":\"Ada\",\"line1\":\"1 Road\",\"city\":\"Berlin\","             \
    "\"postal_code\":\"10115\",\"country\":\"DE\"}"

static void
checkout_refusals(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    const char *auth = customer(104);
    struct arc_test_response *r =
        arc_test_call("POST", "/api/v1/orders", ARC_TEST_HEADERS(auth), "{" ADDR "}");
    assert_int_equal(r->status, 400);
    assert_string_equal(arc_test_json_str(r, "error.code"), "idempotency_key_required");
    r = arc_test_call("POST", "/api/v1/orders", ARC_TEST_HEADERS(auth, "Idempotency-Key: a b"),
                      "{" ADDR "}");
    assert_int_equal(r->status, 400);
    assert_string_equal(arc_test_json_str(r, "error.code"), "invalid_idempotency_key");
    r = arc_test_call("POST", "/api/v1/orders",
                      ARC_TEST_HEADERS(arc_test_admin_auth(), "Idempotency-Key: k0"), "{" ADDR "}");
    assert_int_equal(r->status, 403);
    static const char *const bad[] = {
        "{}",
        "{" ADDR ",\"address_id\":3}",
        "{\"shipping_address\":{\"name\":\"A\",\"line1\":\"x\",\"city\":\"B\","
        "\"postal_code\":\"1\",\"country\":\"XX\"}}",
        "{" ADDR ",\"items\":[]}",
        "{" ADDR ",\"items\":[{\"product_id\":1,\"quantity\":100}]}",
        "{" ADDR ",\"items\":[{\"product_id\":1,\"quantity\":1},"
        "{\"product_id\":1,\"quantity\":2}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = arc_test_call("POST", "/api/v1/orders", ARC_TEST_HEADERS(auth, "Idempotency-Key: k1"),
                          bad[i]);
        assert_int_equal(r->status, 422);
        assert_string_equal(arc_test_json_str(r, "error.code"), "validation_failed");
    }
    /* a refused body claims no key */
    assert_int_equal(arc_test_db_int("SELECT COUNT(*) FROM idempotency_keys WHERE user_id = 104"),
                     0);
    /* an empty cart is 422 and releases the key */
    r = arc_test_call("POST", "/api/v1/orders", ARC_TEST_HEADERS(auth, "Idempotency-Key: k1"),
                      "{" ADDR "}");
    assert_int_equal(r->status, 422);
    assert_string_equal(arc_test_json_str(r, "error.code"), "cart_empty");
    /* the catalog down: 503, no order, the key released */
    r = arc_test_call("POST", "/api/v1/orders", ARC_TEST_HEADERS(auth, "Idempotency-Key: k2"),
                      "{" ADDR ",\"items\":[{\"product_id\":9,\"quantity\":1}]}");
    assert_int_equal(r->status, 503);
    assert_non_null(arc_test_header(r, "Retry-After"));
    assert_int_equal(arc_test_db_int("SELECT COUNT(*) FROM idempotency_keys WHERE user_id = 104"),
                     0);
    assert_int_equal(arc_test_db_int("SELECT COUNT(*) FROM orders WHERE user_id = 104"), 0);
}

/* The key's three answers without a checkout: rows as a first request leaves them. */
static void
idempotency_key_answers(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    const char *auth = customer(105);
    const char *body = "{" ADDR "}";
    unsigned char h[32];
    char hex[65], sql[1024];
    crypto_generichash(h, sizeof h, (const unsigned char *)body, strlen(body), NULL, 0);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    snprintf(sql, sizeof sql,
             "INSERT INTO idempotency_keys (user_id, idem_key, request_hash, state, claim_token, "
             "status, order_id, body) VALUES (105, 'done', '%s', 'done', REPEAT('a', 32), 201, 77, "
             "'{\"id\":77}'), (105, 'busy', '%s', 'claimed', REPEAT('b', 32), NULL, NULL, NULL)",
             hex, hex);
    arc_test_db_exec(sql);
    struct arc_test_response *r = arc_test_call(
        "POST", "/api/v1/orders", ARC_TEST_HEADERS(auth, "Idempotency-Key: done"), body);
    assert_int_equal(r->status, 201);
    assert_string_equal(r->body.ptr, "{\"id\":77}");
    assert_string_equal(arc_test_header(r, "Idempotent-Replayed"), "true");
    assert_string_equal(arc_test_header(r, "Location"), "/api/v1/orders/77");
    r = arc_test_call("POST", "/api/v1/orders", ARC_TEST_HEADERS(auth, "Idempotency-Key: done"),
                      "{" ADDR ",\"items\":[{\"product_id\":1,\"quantity\":1}]}");
    assert_int_equal(r->status, 422);
    assert_string_equal(arc_test_json_str(r, "error.code"), "idempotency_key_reused");
    r = arc_test_call("POST", "/api/v1/orders", ARC_TEST_HEADERS(auth, "Idempotency-Key: busy"),
                      body);
    assert_int_equal(r->status, 409);
    assert_string_equal(arc_test_json_str(r, "error.code"), "idempotency_key_in_use");
    /* another user's same key is not this one */
    r = arc_test_call("POST", "/api/v1/orders",
                      ARC_TEST_HEADERS(customer(106), "Idempotency-Key: busy"), body);
    assert_int_equal(r->status, 422);
    assert_string_equal(arc_test_json_str(r, "error.code"), "cart_empty");
}

/* Ship and deliver: admin only, their bodies checked, an unknown order 404
 * (the transitions themselves: tests/integration/test_order_lifecycle.py). */
static void
ship_and_deliver_refusals(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    const char *const *h = ARC_TEST_HEADERS(customer(106));
    const char *ship = "{\"carrier\":\"DHL\",\"tracking_number\":\"JJD1\"}";
    struct arc_test_response *r = arc_test_call("POST", "/api/v1/orders/1/ship", h, ship);
    assert_int_equal(r->status, 403);
    assert_string_equal(arc_test_json_str(r, "error.code"), "forbidden");
    r = arc_test_call("POST", "/api/v1/orders/1/deliver", h, "{}");
    assert_int_equal(r->status, 403);
    r = arc_test_call("POST", "/api/v1/orders/1/ship", NULL, ship);
    assert_int_equal(r->status, 401);
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{}", "carrier"},
        {"{\"carrier\":\"DHL\"}", "tracking_number"},
        {"{\"carrier\":\"\",\"tracking_number\":\"1\"}", "carrier"},
        {"{\"carrier\":\"DHL\",\"tracking_number\":\"a\\tb\"}", "tracking_number"},
        {"{\"carrier\":[],\"tracking_number\":\"1\"}", "carrier"},
        {"{\"carrier\":\"DHL\",\"tracking_number\":"
         "\"12345678901234567890123456789012345678901234567890123456789012345\"}",
         "tracking_number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = arc_test_call("POST", "/api/v1/orders/1/ship", ADMIN, bad[i].body);
        assert_int_equal(r->status, 422);
        assert_string_equal(arc_test_json_str(r, "error.code"), "validation_failed");
        char path[64];
        snprintf(path, sizeof path, "error.fields.%s", bad[i].field);
        assert_non_null(arc_test_json_str(r, path));
    }
    r = arc_test_call("POST", "/api/v1/orders/1/ship", ADMIN, "{");
    assert_int_equal(r->status, 400);
    r = arc_test_call("POST", "/api/v1/orders/999999999999/ship", ADMIN, ship);
    assert_int_equal(r->status, 404);
    r = arc_test_call("POST", "/api/v1/orders/999999999999/deliver", ADMIN, NULL);
    assert_int_equal(r->status, 404);
}

static void
health_reports_the_catalog(void **state)
{
    (void)state;
    ARC_TEST_NEED_SERVICE();
    struct arc_test_response *r = arc_test_call("GET", "/health/orders", NULL, NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(arc_test_json_str(r, "status"), "degraded");
    assert_string_equal(arc_test_json_str(r, "checks.db"), "ok");
    assert_string_equal(arc_test_json_str(r, "checks.catalog"), "unavailable");
}

int
main(int argc, char **argv)
{
    (void)argc;
    /* A catalog that accepts connections (the kernel's backlog) and never answers. */
    unsigned short port = 0;
    (void)arc_test_listen_loopback(&port);
    char url[64], timeout[64];
    snprintf(url, sizeof url, "ARCADE_CATALOG_URL=http://127.0.0.1:%u", (unsigned)port);
    snprintf(timeout, sizeof timeout, "ARCADE_CATALOG_TIMEOUT_MS=%d", TIMEOUT_MS);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cart_needs_a_customer),
        cmocka_unit_test(empty_cart),
        cmocka_unit_test(bad_input_is_a_clear_error),
        cmocka_unit_test(catalog_down_is_503_and_then_fast),
        cmocka_unit_test(checkout_refusals),
        cmocka_unit_test(idempotency_key_answers),
        cmocka_unit_test(ship_and_deliver_refusals),
        cmocka_unit_test(health_reports_the_catalog),
    };
    return ARC_TEST_SERVICE_MAIN(argv[0], "orders",
                                 ARC_TEST_HEADERS(url, timeout, "ARCADE_CATALOG_BREAKER_FAILURES=2",
                                                  "ARCADE_CATALOG_BREAKER_COOLDOWN_MS=60000"),
                                 tests);
}
