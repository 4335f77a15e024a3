/*
 * json_test.c - strict parsing (grammar, UTF-8, depth, trailing bytes) and the
 * typed field readers with their messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "arcade/buf.h"
#include "arcade/respond.h"
#include "arcade/json.h"

static json_object *
parse(const char *s)
{
    return arc_json_parse(s, strlen(s), ARC_JSON_DEPTH);
}

static void
test_parse_accepts(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "{}",
        " {\"a\":1}\n\t\r ",
        "[]",
        "0",
        "-0",
        "1.5e+3",
        "-0.0E-2",
        "\"x\"",
        "true",
        "false",
        "null",
        "{\"a\":[1,2,{\"b\":null}],\"c\":\"\\u00e9\\ud83d\\ude00\\n\\/\"}",
        "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
        "123456789012345678901234567890",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        json_object *o = parse(ok[i]);
        if (ok[i][0] != 'n' && o == NULL)
            fail_msg("rejected %s", ok[i]);
        json_object_put(o);
    }
    json_object *o = parse("{\"a\":\"\\u00e9\"}");
    json_object *a;
    assert_true(json_object_object_get_ex(o, "a", &a));
    assert_string_equal(json_object_get_string(a), "\xc3\xa9");
    json_object_put(o);
}

static void
test_parse_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        " ",
        "{",
        "}",
        "{\"a\":1",
        "{\"a\":1,}",
        "[1,]",
        "[1 2]",
        "{'a':1}",
        "{a:1}",
        "[NaN]",
        "[Infinity]",
        "[-Infinity]",
        "[1.]",
        "[.5]",
        "[01]",
        "[-01]",
        "[+1]",
        "[0x10]",
        "[1e]",
        "[tru]",
        "[True]",
        "[\"a\x01\"]",
        "[\"a\tb\"]",
        "[\"\\x\"]",
        "[\"\\u12\"]",
        "[\"\\ud800\"]",
        "[\"\\udc00\"]",
        "[\"\\ud800\\u0041\"]",
        "{\"a\":1} x",
        "{\"a\":1}{}",
        "[1]//c",
        "[/*c*/1]",
        "\xef\xbb\xbf{}",
        "[\"\xc0\xaf\"]",
        "[\"\xed\xa0\x80\"]",
        "[\"\xf4\x90\x80\x80\"]",
        "[\"\xe2\x82\"]",
        "[\"\xff\"]",
        "[\"\x80\"]",
        "nul",
        "1 2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_object *o = parse(bad[i]);
        if (o != NULL) {
            json_object_put(o);
            fail_msg("accepted '%s'", bad[i]);
        }
    }
    /* an embedded NUL: rejected, even when the bytes before it are a document */
    assert_null(arc_json_parse("{}\0", 3, ARC_JSON_DEPTH));
    assert_null(arc_json_parse("[\"a\0b\"]", 7, ARC_JSON_DEPTH));
    /* len is honoured: the text need not be NUL-terminated */
    json_object *o = arc_json_parse("{}garbage", 2, ARC_JSON_DEPTH);
    assert_non_null(o);
    json_object_put(o);
    o = arc_json_parse("12345", 2, ARC_JSON_DEPTH);
    assert_non_null(o);
    assert_int_equal(json_object_get_int64(o), 12);
    json_object_put(o);
}

static char *
nested(arc_buf *b, int levels, const char *inner)
{
    arc_buf_reset(b);
    for (int i = 0; i < levels; i++)
        arc_buf_append_str(b, i % 2 ? "[" : "{\"k\":");
    arc_buf_append_str(b, inner);
    for (int i = levels - 1; i >= 0; i--)
        arc_buf_append_str(b, i % 2 ? "]" : "}");
    return b->ptr;
}

static void
test_depth(void **state)
{
    (void)state;
    arc_buf b = ARC_BUF_INIT;
    /* ARC_JSON_DEPTH containers deep is fine; one more is not, whatever is inside */
    json_object *o = parse(nested(&b, ARC_JSON_DEPTH, "1"));
    assert_non_null(o);
    json_object_put(o);
    o = parse(nested(&b, ARC_JSON_DEPTH, "\"x\""));
    assert_non_null(o);
    json_object_put(o);
    assert_null(parse(nested(&b, ARC_JSON_DEPTH + 1, "1")));
    assert_null(parse(nested(&b, ARC_JSON_DEPTH, "[]")));
    assert_null(parse(nested(&b, ARC_JSON_DEPTH, "{}")));
    assert_null(parse(nested(&b, 10000, "1")));
    assert_null(arc_json_parse("[1]", 3, 0));
    o = arc_json_parse("[1]", 3, 1);
    assert_non_null(o);
    json_object_put(o);
    assert_null(arc_json_parse("[[1]]", 5, 1));
    arc_buf_cleanup(&b);
}

static void
test_utf8(void **state)
{
    (void)state;
    assert_true(arc_utf8_valid("", 0));
    assert_true(arc_utf8_valid("abc", 3));
    assert_true(arc_utf8_valid("\xc2\x80", 2));
    assert_true(arc_utf8_valid("\xdf\xbf", 2));
    assert_true(arc_utf8_valid("\xe0\xa0\x80", 3));
    assert_true(arc_utf8_valid("\xed\x9f\xbf", 3)); /* U+D7FF */
    assert_true(arc_utf8_valid("\xee\x80\x80", 3)); /* U+E000 */
    assert_true(arc_utf8_valid("\xef\xbf\xbf", 3));
    assert_true(arc_utf8_valid("\xf0\x90\x80\x80", 4));
    assert_true(arc_utf8_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
    assert_true(arc_utf8_valid("a\0b", 3));

    static const char *const bad[] = {
        "\x80",
        "\xbf",
        "\xc0\x80",
        "\xc1\xbf",
        "\xc2",
        "\xc2\x41",
        "\xe0\x80\x80",
        "\xe0\x9f\xbf",
        "\xed\xa0\x80",
        "\xed\xbf\xbf",
        "\xe1\x80",
        "\xf0\x80\x80\x80",
        "\xf0\x8f\xbf\xbf",
        "\xf4\x90\x80\x80",
        "\xf5\x80\x80\x80",
        "\xf8\x88\x80\x80\x80",
        "\xfe",
        "\xff",
        "\xf0\x90\x80",
        "a\xe2\x82",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (arc_utf8_valid(bad[i], strlen(bad[i])))
            fail_msg("accepted case %zu", i);

    assert_int_equal(arc_utf8_chars("", 0), 0);
    assert_int_equal(arc_utf8_chars("abc", 3), 3);
    assert_int_equal(arc_utf8_chars("caf\xc3\xa9", 5), 4);
    assert_int_equal(arc_utf8_chars("\xf0\x9f\x98\x80\xe2\x82\xac", 7), 2);
}

static const char *
fields_text(json_object *fields)
{
    return json_object_to_json_string_ext(fields, JSON_C_TO_STRING_PLAIN);
}

static void
test_field_readers(void **state)
{
    (void)state;
    json_object *o = parse("{\"name\":\"caf\xc3\xa9\",\"empty\":\"\",\"n\":42,\"neg\":-7,"
                           "\"d\":1.0,\"s\":\"5\",\"b\":true,\"nul\":null,"
                           "\"huge\":18446744073709551615,\"big\":9223372036854775808,"
                           "\"max\":9223372036854775807,\"min\":-9223372036854775808,"
                           "\"tiny\":-99999999999999999999,\"exp\":1e2}");
    assert_non_null(o);
    json_object *fields = NULL;
    const char *s = NULL;
    size_t len = 0;
    int64_t v = 0;
    bool b = false;

    assert_int_equal(arc_json_string(o, "name", ARC_REQUIRED, 1, 4, &s, &len, &fields),
                     ARC_FIELD_OK);
    assert_string_equal(s, "caf\xc3\xa9");
    assert_int_equal(len, 5);
    assert_int_equal(arc_json_string(o, "absent", 0, 1, 4, &s, &len, &fields), ARC_FIELD_ABSENT);
    assert_int_equal(arc_json_string(o, "nul", ARC_NULLABLE, 1, 4, &s, &len, &fields),
                     ARC_FIELD_NULL);
    assert_int_equal(arc_json_int(o, "n", ARC_REQUIRED, 0, 100, &v, &fields), ARC_FIELD_OK);
    assert_int_equal(v, 42);
    assert_int_equal(arc_json_int(o, "neg", 0, INT64_MIN, 0, &v, &fields), ARC_FIELD_OK);
    assert_int_equal(v, -7);
    assert_int_equal(arc_json_int(o, "max", 0, INT64_MIN, INT64_MAX, &v, &fields), ARC_FIELD_OK);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(arc_json_int(o, "min", 0, INT64_MIN, INT64_MAX, &v, &fields), ARC_FIELD_OK);
    assert_int_equal(v, INT64_MIN);
    assert_int_equal(arc_json_bool(o, "b", ARC_REQUIRED, &b, &fields), ARC_FIELD_OK);
    assert_true(b);
    assert_null(fields);

    assert_int_equal(arc_json_string(o, "name", 0, 5, 10, &s, &len, &fields), -1);
    assert_int_equal(arc_json_string(o, "empty", 0, 1, 10, &s, &len, &fields), -1);
    assert_int_equal(arc_json_string(o, "n", 0, 0, 10, &s, &len, &fields), -1);
    assert_int_equal(arc_json_string(o, "required", ARC_REQUIRED, 0, 10, &s, &len, &fields), -1);
    assert_int_equal(arc_json_string(o, "nul", ARC_REQUIRED, 0, 10, &s, &len, &fields), -1);
    assert_int_equal(arc_json_string(o, "s", 0, 0, 0, &s, &len, &fields), -1);
    assert_int_equal(arc_json_int(o, "d", 0, 0, 100, &v, &fields), -1);
    assert_int_equal(arc_json_int(o, "exp", 0, 0, 1000, &v, &fields), -1);
    assert_int_equal(arc_json_int(o, "s", 0, 0, 100, &v, &fields), -1);
    assert_int_equal(arc_json_int(o, "b", 0, 0, 100, &v, &fields), -1);
    assert_int_equal(arc_json_int(o, "n", 0, 50, 100, &v, &fields), -1);
    assert_int_equal(arc_json_int(o, "huge", 0, INT64_MIN, INT64_MAX, &v, &fields), -1);
    assert_int_equal(arc_json_int(o, "big", 0, 0, INT64_MAX, &v, &fields), -1);
    assert_int_equal(arc_json_int(o, "tiny", 0, -1000, 1000, &v, &fields), -1);
    assert_int_equal(arc_json_bool(o, "n", 0, &b, &fields), -1);
    assert_int_equal(arc_json_bool(o, "nul", 0, &b, &fields), -1);
    assert_string_equal(
        fields_text(fields),
        "{\"name\":\"must be at least 5 characters\",\"empty\":\"must be at least 1 character\","
        "\"n\":\"must be a string\",\"required\":\"is required\",\"nul\":\"must not be null\","
        "\"s\":\"must be at most 0 characters\",\"d\":\"must be an integer\","
        "\"exp\":\"must be an integer\",\"b\":\"must be an integer\","
        "\"huge\":\"must be between -9223372036854775808 and 9223372036854775807\","
        "\"big\":\"must be between 0 and 9223372036854775807\","
        "\"tiny\":\"must be between -1000 and 1000\"}");
    json_object_put(fields);
    json_object_put(o);
}

static void
test_append(void **state)
{
    (void)state;
    arc_buf b = ARC_BUF_INIT;
    json_object *o = parse("{\"u\":\"a/b\",\"x\":[1,true,null]}");
    arc_json_append(&b, o);
    arc_json_append(&b, NULL);
    assert_string_equal(b.ptr, "{\"u\":\"a/b\",\"x\":[1,true,null]}null");
    json_object_put(o);
    arc_buf_cleanup(&b);
}

/* Reads {"v": text} (text is a JSON string literal's inside) with flags;
 * returns the reader's result and puts the message, if any, into msg. */
static int
read_text(const char *literal, unsigned flags, char *msg, size_t msglen)
{
    char doc[256];
    snprintf(doc, sizeof doc, "{\"v\":\"%s\"}", literal);
    json_object *o = parse(doc);
    assert_non_null(o);
    json_object *fields = NULL;
    const char *s = NULL;
    size_t len = 0;
    int rc = arc_json_string(o, "v", ARC_REQUIRED | flags, 0, 100, &s, &len, &fields);
    msg[0] = '\0';
    json_object *m;
    if (fields != NULL && json_object_object_get_ex(fields, "v", &m))
        snprintf(msg, msglen, "%s", json_object_get_string(m));
    assert_true((rc == -1) == (fields != NULL));
    json_object_put(fields);
    json_object_put(o);
    return rc;
}

static void
expect_text(const char *literal, unsigned flags, bool ok, const char *msg_part)
{
    char msg[256];
    int rc = read_text(literal, flags, msg, sizeof msg);
    if (ok && rc != ARC_FIELD_OK)
        fail_msg("\"%s\" (flags %#x) refused: %s", literal, flags, msg);
    if (!ok && rc != -1)
        fail_msg("\"%s\" (flags %#x) accepted", literal, flags);
    if (!ok && msg_part != NULL && strstr(msg, msg_part) == NULL)
        fail_msg("\"%s\" (flags %#x): message \"%s\" lacks \"%s\"", literal, flags, msg, msg_part);
}

/* Every class of the shop's text rule (json.h), for the three kinds of text. */
static void
test_text_rule(void **state)
{
    (void)state;
    static const char *const controls[] = {
        "a\\u0000b",
        "a\\u0001b",
        "a\\u001bb",
        "a\\u001fb",
        "a\\u007fb",
        "a\\u0080b",
        "a\\u0085b",
        "a\\u009fb",
        "a\xc2\x85"
        "b",
        "a\x7f"
        "b",
    };
    static const char *const breaks[] = {"a\\nb", "a\\rb", "a\\r\\nb", "a\\tb"};
    static const char *const separators[] = {"a\\u2028b", "a\\u2029b",
                                             "a\xe2\x80\xa8"
                                             "b"};
    static const char *const bidi[] = {
        "a\\u202ab",
        "a\\u202bb",
        "a\\u202cb",
        "a\\u202db",
        "a\\u202eb",
        "a\xe2\x80\xae"
        "b",
        "a\\u2066b",
        "a\\u2067b",
        "a\\u2068b",
        "a\\u2069b",
        "a\\u200eb",
        "a\\u200fb",
        "a\\u061cb",
    };
    static const char *const blanks[] = {
        " ",       "   ",     "\\u00a0", "\\u200b",          "\\u200c\\u200d",
        "\\u2060", "\\ufeff", "\\u3000", " \\u2003 \\u200b", "\\u3164",
    };
    static const char *const fine[] = {
        "Ada",       "caf\xc3\xa9", " padded ",   "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
        "a\\u200db", "\\u00a0x",    "ARC-000001", "",
    };
    for (size_t i = 0; i < ARC_ARRAY_LEN(controls); i++) {
        expect_text(controls[i], 0, false, "control");
        expect_text(controls[i], ARC_MULTILINE, false, "control");
        expect_text(controls[i], ARC_SECRET, false, "control");
    }
    for (size_t i = 0; i < ARC_ARRAY_LEN(breaks); i++) {
        expect_text(breaks[i], 0, false, "single line");
        expect_text(breaks[i], ARC_SECRET, false, "control");
    }
    for (size_t i = 0; i < ARC_ARRAY_LEN(separators); i++) {
        expect_text(separators[i], 0, false, "single line");
        expect_text(separators[i], ARC_MULTILINE, false, "control");
        expect_text(separators[i], ARC_SECRET, true, NULL);
    }
    for (size_t i = 0; i < ARC_ARRAY_LEN(bidi); i++) {
        expect_text(bidi[i], 0, false, "bidirectional");
        expect_text(bidi[i], ARC_MULTILINE, false, "bidirectional");
        expect_text(bidi[i], ARC_SECRET, true, NULL);
    }
    for (size_t i = 0; i < ARC_ARRAY_LEN(blanks); i++) {
        expect_text(blanks[i], 0, false, "blank");
        expect_text(blanks[i], ARC_MULTILINE, false, "blank");
        expect_text(blanks[i], ARC_SECRET, true, NULL);
    }
    for (size_t i = 0; i < ARC_ARRAY_LEN(fine); i++) {
        expect_text(fine[i], 0, true, NULL);
        expect_text(fine[i], ARC_MULTILINE, true, NULL);
        expect_text(fine[i], ARC_SECRET, true, NULL);
    }
    /* Multi-line text: LF, TAB and CR before LF; a lone CR or a blank text is not. */
    expect_text("one\\ntwo", ARC_MULTILINE, true, NULL);
    expect_text("one\\r\\ntwo\\r\\n", ARC_MULTILINE, true, NULL);
    expect_text("col\\tcol", ARC_MULTILINE, true, NULL);
    expect_text("one\\rtwo", ARC_MULTILINE, false, "control");
    expect_text("end\\r", ARC_MULTILINE, false, "control");
    expect_text(" \\n\\t\\r\\n", ARC_MULTILINE, false, "blank");
    /* A secret keeps spaces and is never "blank" (its own length rule decides). */
    expect_text("  pass word  ", ARC_SECRET, true, NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts), cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_depth),         cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_field_readers), cmocka_unit_test(test_append),
        cmocka_unit_test(test_text_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
