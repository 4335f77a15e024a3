/*
 * buf_test.c - the growable buffer: appends, growth, NUL termination, printf
 * beyond the small stack buffer, JSON string escaping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "arcade/buf.h"

static void
test_append_and_grow(void **state)
{
    (void)state;
    arc_buf b = ARC_BUF_INIT;
    arc_buf_reset(&b); /* reset of an empty buffer is fine */
    arc_buf_append_str(&b, "ab");
    arc_buf_append_char(&b, 'c');
    arc_buf_append(&b, "dXX", 1);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.ptr, "abcd");
    for (int i = 0; i < 10000; i++)
        arc_buf_append_char(&b, (char)('a' + i % 26));
    assert_int_equal(b.len, 10004);
    assert_true(b.cap > b.len);
    assert_int_equal(b.ptr[b.len], '\0');
    char *p = b.ptr;
    size_t cap = b.cap;
    arc_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.ptr, "");
    assert_ptr_equal(b.ptr, p); /* memory kept */
    assert_int_equal(b.cap, cap);
    arc_buf_reserve(&b, 0);
    arc_buf_cleanup(&b);
    assert_null(b.ptr);
    assert_int_equal(b.cap, 0);
    arc_buf_cleanup(&b);
}

static void
test_printf(void **state)
{
    (void)state;
    arc_buf b = ARC_BUF_INIT;
    arc_buf_printf(&b, "%d-%s", 42, "x");
    assert_string_equal(b.ptr, "42-x");
    char big[1000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    arc_buf_printf(&b, "[%s]", big);
    assert_int_equal(b.len, 4 + 2 + 999);
    assert_int_equal(b.ptr[5], 'q');
    assert_int_equal(b.ptr[b.len - 1], ']');
    assert_int_equal(b.ptr[b.len], '\0');
    arc_buf_cleanup(&b);
}

static void
test_json_string(void **state)
{
    (void)state;
    arc_buf b = ARC_BUF_INIT;
    arc_buf_append_json_string(&b, "a\"b\\c\nd\re\tf\x01g\x7f/caf\xc3\xa9", 20);
    assert_string_equal(b.ptr, "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u007f/caf\xc3\xa9\"");
    arc_buf_reset(&b);
    arc_buf_append_json_string(&b, "a\0b", 3);
    assert_string_equal(b.ptr, "\"a\\u0000b\"");
    arc_buf_reset(&b);
    arc_buf_append_json_string(&b, "", 0);
    assert_string_equal(b.ptr, "\"\"");
    arc_buf_reset(&b);
    arc_buf_append_json_member(&b, "{\"name\":", (arc_str){"Caf\"e", 5});
    arc_buf_append_json_member(&b, ",\"x\":", (arc_str){NULL, 0});
    assert_string_equal(b.ptr, "{\"name\":\"Caf\\\"e\",\"x\":\"\"");
    arc_buf_cleanup(&b);
}

static void
test_append_uint(void **state)
{
    (void)state;
    arc_buf b = ARC_BUF_INIT;
    arc_buf_append_uint(&b, 0);
    arc_buf_append_char(&b, ' ');
    arc_buf_append_uint(&b, 7);
    arc_buf_append_char(&b, ' ');
    arc_buf_append_uint(&b, 1234567890);
    arc_buf_append_char(&b, ' ');
    arc_buf_append_uint(&b, UINT64_MAX);
    assert_string_equal(b.ptr, "0 7 1234567890 18446744073709551615");
    assert_int_equal(b.len, strlen(b.ptr));
    arc_buf_cleanup(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_grow),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_append_uint),
        cmocka_unit_test(test_json_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
