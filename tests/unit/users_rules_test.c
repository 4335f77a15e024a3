/*
 * users_rules_test.c - the users service's pure rules: email normalisation
 * and shape, password rules and the common-password list, country codes,
 * phone syntax.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../fcgi-bin/users/rules.c"

static bool
norm(const char *in, char *out)
{
    size_t len = 0;
    return email_normalize(in, strlen(in), out, &len) && len == strlen(out);
}

static void
emails_are_trimmed_and_lower_cased(void **state)
{
    char out[1200];
    assert_true(norm("  Ada.Lovelace@Example.COM \t", out));
    assert_string_equal(out, "ada.lovelace@example.com");
    assert_true(norm("a@b.co", out));
    assert_true(norm("x+tag@sub.example.org", out));
    /* Non-ASCII letters are kept as they are. */
    assert_true(norm("J\xc3\x9cRGEN@m\xc3\xbcller.de", out));
    assert_string_equal(out, "j\xc3\x9crgen@m\xc3\xbcller.de");
}

static void
email_shapes_rejected(void **state)
{
    char out[1200];
    const char *bad[] = {
        "",
        "   ",
        "plain",
        "@example.com",
        "a@",
        "a@b",
        "a@@b.com",
        "a@b@c.com",
        "a b@c.com",
        "a@b .com",
        "a@.b.com",
        "a@b.com.",
        "a@b..com",
        "a\t@b.com",
        "a@b.c\x7fm",
        "a\x01@b.com",
        "a\xc2\x85@b.com",
    };
    for (size_t i = 0; i < ARC_ARRAY_LEN(bad); i++)
        assert_false(norm(bad[i], out));
}

static void
email_length_limit_counts_characters(void **state)
{
    char in[600], out[1200];
    size_t len = 0;
    /* 254 characters: 64 + '@' + 185 + ".com" */
    memset(in, 'a', 64);
    in[64] = '@';
    memset(in + 65, 'b', 185);
    memcpy(in + 250, ".com", 5);
    assert_int_equal(strlen(in), 254);
    assert_true(email_normalize(in, 254, out, &len));
    in[0] = 'A';
    memmove(in + 1, in, 255);
    assert_false(email_normalize(in, 255, out, &len));
    /* 254 characters in more bytes: still fine. */
    char wide[600];
    size_t n = 0;
    for (int i = 0; i < 100; i++) {
        memcpy(wide + n, "\xc3\xa9", 2);
        n += 2;
    }
    memcpy(wide + n, "@example.com", 12);
    n += 12;
    assert_true(email_normalize(wide, n, out, &len));
}

static void
common_list_is_sorted_lower_case_and_long_enough(void **state)
{
    assert_true(common_passwords_count >= 300);
    for (size_t i = 0; i < common_passwords_count; i++) {
        const char *p = common_passwords[i];
        assert_true(strlen(p) >= PASSWORD_MIN);
        assert_true(strlen(p) <= COMMON_MAX_BYTES);
        for (const char *c = p; *c; c++)
            assert_false(*c >= 'A' && *c <= 'Z');
        if (i > 0)
            assert_true(strcmp(common_passwords[i - 1], p) < 0);
    }
}

static void
common_passwords_match_case_insensitively(void **state)
{
    assert_true(password_is_common("password", 8));
    assert_true(password_is_common("PassWord123", 11));
    assert_true(password_is_common("QWERTYUIOP", 10));
    assert_true(password_is_common("12345678", 8));
    assert_true(password_is_common("iloveyou", 8));
    assert_false(password_is_common("password\0", 9));
    assert_false(password_is_common("correct horse battery staple", 28));
    assert_false(password_is_common("Tr0ub4dor&3x", 12));
}

static void
password_rules(void **state)
{
    assert_null(password_problem("Tr0ub4dor&3x", 12));
    assert_non_null(password_problem("short", 5));
    assert_non_null(password_problem("", 0));
    assert_non_null(password_problem("Password1", 9));
    /* 8 code points in 16 bytes is long enough. */
    assert_null(
        password_problem("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 16));
    assert_non_null(
        password_problem("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 14));
    static char big[PASSWORD_MAX + 2];
    memset(big, 'x', sizeof big);
    assert_null(password_problem(big, PASSWORD_MAX));
    assert_non_null(password_problem(big, PASSWORD_MAX + 1));
}

static void
country_codes(void **state)
{
    /* The table (shared/src/address.c) is searched by bisection: all 249
     * codes are found only if it is in order. */
    size_t known = 0;
    for (char a = 'A'; a <= 'Z'; a++)
        for (char b = 'A'; b <= 'Z'; b++)
            known += country_known((char[]){a, b}, 2);
    assert_int_equal(known, 249);
    const char *good[] = {"AD", "DE", "FR", "GB", "US", "ZW", "SS", "BQ", "AX"};
    for (size_t i = 0; i < ARC_ARRAY_LEN(good); i++)
        assert_true(country_known(good[i], 2));
    const char *bad[] = {"de", "De", "UK", "XK", "ZZ", "AA", "D", "DEU", "", "EU"};
    for (size_t i = 0; i < ARC_ARRAY_LEN(bad); i++)
        assert_false(country_known(bad[i], strlen(bad[i])));
    assert_false(country_known("\0\0", 2));
}

static void
phones(void **state)
{
    const char *good[] = {"", "+49 30 1234567", "(555) 123-4567", "030.123.45", "1"};
    for (size_t i = 0; i < ARC_ARRAY_LEN(good); i++)
        assert_true(phone_valid(good[i], strlen(good[i])));
    const char *bad[] = {"call me", "+49/30", "--", "   ", "123456789012345678901234567890123",
                         "12\n34"};
    for (size_t i = 0; i < ARC_ARRAY_LEN(bad); i++)
        assert_false(phone_valid(bad[i], strlen(bad[i])));
    assert_false(phone_valid("12\0"
                             "34",
                             5));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(emails_are_trimmed_and_lower_cased),
        cmocka_unit_test(email_shapes_rejected),
        cmocka_unit_test(email_length_limit_counts_characters),
        cmocka_unit_test(common_list_is_sorted_lower_case_and_long_enough),
        cmocka_unit_test(common_passwords_match_case_insensitively),
        cmocka_unit_test(password_rules),
        cmocka_unit_test(country_codes),
        cmocka_unit_test(phones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
