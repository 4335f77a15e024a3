/*
 * orders_render_test.c - the cart as the API shows it (fcgi-bin/orders/render.c):
 * priced with the catalog's answer, lines the catalog does not know or that are
 * inactive, short or in another currency, and the empty cart; the order
 * document, new and once paid, shipped and partly refunded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../fcgi-bin/orders/render.c"

static void
assert_cart(const struct cart *c, const struct catalog_item *items, size_t n, const char *expect)
{
    arc_buf out = ARC_BUF_INIT;
    cart_render(c, items, n, &out);
    arc_buf_append_char(&out, '\0');
    assert_string_equal(out.ptr, expect);
    arc_buf_cleanup(&out);
}

static void
empty_cart(void **state)
{
    (void)state;
    struct cart c = {.n = 0};
    assert_cart(&c, NULL, 0, "{\"items\":[],\"count\":0,\"total\":0,\"currency\":null}");
}

static void
priced_lines(void **state)
{
    (void)state;
    struct cart c = {.lines = {{1, 2}, {2, 3}}, .n = 2, .currency = "EUR"};
    struct catalog_item items[] = {
        {.id = 2,
         .sku = "B",
         .name = "Mug \"big\"",
         .price = 99,
         .currency = "EUR",
         .active = true,
         .available = 3},
        {.id = 1,
         .sku = "A",
         .name = "Lamp",
         .price = 1250,
         .currency = "EUR",
         .active = true,
         .available = 10},
    };
    assert_cart(&c, items, 2,
                "{\"items\":[{\"product_id\":1,\"sku\":\"A\",\"name\":\"Lamp\",\"unit_price\":1250,"
                "\"currency\":\"EUR\",\"quantity\":2,\"line_total\":2500,\"available\":true},"
                "{\"product_id\":2,\"sku\":\"B\",\"name\":\"Mug \\\"big\\\"\",\"unit_price\":99,"
                "\"currency\":\"EUR\",\"quantity\":3,\"line_total\":297,\"available\":true}],"
                "\"count\":2,\"total\":2797,\"currency\":\"EUR\"}");
}

static void
unavailable_lines(void **state)
{
    (void)state;
    /* 1 short, 2 inactive, 3 now in another currency, 4 unknown to the catalog */
    struct cart c = {.lines = {{1, 5}, {2, 1}, {3, 1}, {4, 1}}, .n = 4, .currency = "EUR"};
    struct catalog_item items[] = {
        {.id = 1,
         .sku = "A",
         .name = "a",
         .price = 10,
         .currency = "EUR",
         .active = true,
         .available = 4},
        {.id = 2,
         .sku = "B",
         .name = "b",
         .price = 20,
         .currency = "EUR",
         .active = false,
         .available = 9},
        {.id = 3,
         .sku = "C",
         .name = "c",
         .price = 30,
         .currency = "USD",
         .active = true,
         .available = 9},
    };
    assert_cart(&c, items, 3,
                "{\"items\":[{\"product_id\":1,\"sku\":\"A\",\"name\":\"a\",\"unit_price\":10,"
                "\"currency\":\"EUR\",\"quantity\":5,\"line_total\":50,\"available\":false},"
                "{\"product_id\":2,\"sku\":\"B\",\"name\":\"b\",\"unit_price\":20,"
                "\"currency\":\"EUR\",\"quantity\":1,\"line_total\":20,\"available\":false},"
                "{\"product_id\":3,\"sku\":\"C\",\"name\":\"c\",\"unit_price\":30,"
                "\"currency\":\"USD\",\"quantity\":1,\"line_total\":30,\"available\":false},"
                "{\"product_id\":4,\"sku\":null,\"name\":null,\"unit_price\":null,"
                "\"currency\":null,\"quantity\":1,\"line_total\":null,\"available\":false}],"
                "\"count\":4,\"total\":70,\"currency\":\"EUR\"}");
}

static void
assert_order(const struct order *o, bool internal, const char *expect)
{
    arc_buf out = ARC_BUF_INIT;
    order_render(o, internal, &out);
    arc_buf_append_char(&out, '\0');
    assert_string_equal(out.ptr, expect);
    arc_buf_cleanup(&out);
}

static const struct order new_order = {
    .id = 7,
    .user_id = 3,
    .status = "pending",
    .currency = "EUR",
    .total = 2500,
    .address = "{\"name\":\"Ada\"}",
    .created_at = "2026-12-03T12:00:00.000Z",
    .updated_at = "2026-12-03T12:00:00.000Z",
    .lines = {{.product_id = 42,
               .sku = "MUG-1",
               .name = "Mug",
               .unit_price = 1250,
               .quantity = 2,
               .line_total = 2500}},
    .nlines = 1,
};

static void
order_pending(void **state)
{
    (void)state;
    assert_order(&new_order, false,
                 "{\"id\":7,\"status\":\"pending\",\"items\":[{\"product_id\":42,\"sku\":"
                 "\"MUG-1\",\"name\":\"Mug\",\"unit_price\":1250,\"quantity\":2,\"line_total\":"
                 "2500}],\"total\":2500,\"currency\":\"EUR\",\"shipping_address\":{\"name\":"
                 "\"Ada\"},\"reason\":null,\"rejected_lines\":null,\"created_at\":\"2026-12-"
                 "03T12:00:00.000Z\",\"updated_at\":\"2026-12-03T12:00:00.000Z\",\"expires_at\":"
                 "null,\"payment_id\":null,\"paid_at\":null,\"amount_refunded\":0,\"shipment\":"
                 "null}");
}

static void
order_shipped_and_partly_refunded(void **state)
{
    (void)state;
    struct order o = new_order;
    strcpy(o.status, "shipped");
    strcpy(o.expires_at, "2026-12-03T12:15:00.000Z");
    o.payment_id = 99;
    strcpy(o.paid_at, "2026-12-03T12:01:00.000Z");
    o.amount_refunded = 500;
    strcpy(o.carrier, "DHL \"Express\"");
    strcpy(o.tracking_number, "JJD 1");
    strcpy(o.shipped_at, "2026-12-04T08:00:00.000Z");
    assert_order(&o, false,
                 "{\"id\":7,\"status\":\"shipped\",\"items\":[{\"product_id\":42,\"sku\":"
                 "\"MUG-1\",\"name\":\"Mug\",\"unit_price\":1250,\"quantity\":2,"
                 "\"line_total\":2500}],\"total\":2500,\"currency\":\"EUR\","
                 "\"shipping_address\":{\"name\":\"Ada\"},\"reason\":null,"
                 "\"rejected_lines\":null,\"created_at\":\"2026-12-03T12:00:00.000Z\","
                 "\"updated_at\":\"2026-12-03T12:00:00.000Z\",\"expires_at\":"
                 "\"2026-12-03T12:15:00.000Z\",\"payment_id\":99,\"paid_at\":"
                 "\"2026-12-03T12:01:00.000Z\",\"amount_refunded\":500,\"shipment\":"
                 "{\"carrier\":\"DHL \\\"Express\\\"\",\"tracking_number\":\"JJD 1\","
                 "\"shipped_at\":\"2026-12-04T08:00:00.000Z\",\"delivered_at\":null}}");
}

static void
order_internal_has_its_owner(void **state)
{
    (void)state;
    arc_buf out = ARC_BUF_INIT;
    order_render(&new_order, true, &out);
    arc_buf_append_char(&out, '\0');
    assert_true(strncmp(out.ptr, "{\"id\":7,\"user_id\":3,\"status\":\"pending\",", 38) == 0);
    arc_buf_cleanup(&out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_cart),
        cmocka_unit_test(priced_lines),
        cmocka_unit_test(unavailable_lines),
        cmocka_unit_test(order_pending),
        cmocka_unit_test(order_shipped_and_partly_refunded),
        cmocka_unit_test(order_internal_has_its_owner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
