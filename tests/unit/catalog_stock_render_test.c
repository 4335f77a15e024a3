/*
 * catalog_stock_render_test.c - the stock saga's pure functions: the answers
 * to order.created (docs/events.md, "Order and stock events") and the admin's
 * inventory document.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../fcgi-bin/catalog/stock_render.c"

static void
assert_rendered(arc_buf *b, const char *want)
{
    arc_buf_append_char(b, '\0');
    assert_string_equal(b->ptr, want);
    arc_buf_reset(b);
}

static void
reserved_lists_every_line(void **state)
{
    (void)state;
    const struct stock_line lines[] = {{.product_id = 3, .quantity = 2, .available = 9},
                                       {.product_id = 7, .quantity = 1, .available = 1}};
    arc_buf b;
    arc_buf_init(&b);
    assert_false(stock_lines_short(lines, 2));
    stock_reserved_render(42, lines, 2, &b);
    assert_rendered(&b, "{\"order_id\":42,\"items\":[{\"product_id\":3,\"quantity\":2},"
                        "{\"product_id\":7,\"quantity\":1}]}");
    arc_buf_cleanup(&b);
}

static void
rejected_lists_the_short_lines_only(void **state)
{
    (void)state;
    const struct stock_line lines[] = {{.product_id = 3, .quantity = 2, .available = 9},
                                       {.product_id = 7, .quantity = 3, .available = 1},
                                       {.product_id = 9, .quantity = 1, .available = 0},
                                       {.product_id = 11, .quantity = 1, .available = -2}};
    arc_buf b;
    arc_buf_init(&b);
    assert_true(stock_lines_short(lines, 4));
    assert_false(stock_lines_short(lines, 1));
    stock_rejected_render(42, lines, 4, &b);
    assert_rendered(&b, "{\"order_id\":42,\"reason\":\"out_of_stock\",\"lines\":["
                        "{\"product_id\":7,\"requested\":3,\"available\":1},"
                        "{\"product_id\":9,\"requested\":1,\"available\":0},"
                        "{\"product_id\":11,\"requested\":1,\"available\":0}]}");
    arc_buf_cleanup(&b);
}

static void
inventory_document(void **state)
{
    (void)state;
    const struct inventory inv = {.on_hand = 10, .reserved = 3, .sold = 5};
    arc_buf b;
    arc_buf_init(&b);
    inventory_render(&inv, &b);
    assert_rendered(&b, "{\"on_hand\":10,\"reserved\":3,\"sold\":5,\"available\":7}");
    arc_buf_cleanup(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reserved_lists_every_line),
        cmocka_unit_test(rejected_lists_the_short_lines_only),
        cmocka_unit_test(inventory_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
