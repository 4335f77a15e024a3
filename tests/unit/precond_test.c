/*
 * precond_test.c - If-Match / If-None-Match: list syntax, strong and weak
 * comparison, the evaluation for unsafe methods, and the 400 for a malformed
 * header.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arcade/precond.h"
#include "fake_fcgx.h"

#define TAG "\"p42-v7\""
#define TAG_LEN (sizeof TAG - 1)

static void
test_valid_syntax(void **state)
{
    (void)state;
    static const char *const good[] = {
        "*",
        " * ",
        "\t*\t",
        TAG,
        "W/" TAG,
        "\"\"", /* an empty opaque tag is an entity tag */
        "\"a\", \"b\"",
        "\"a\",\"b\"",
        "\"a\" ,\t\"b\"",
        "\"a\", W/\"b\"",
        ", \"a\"", /* empty list elements are ignored (RFC 9110 5.6.1) */
        "\"a\",,\"b\",",
        "\"x!#~\x80\xff\"", /* etagc: 0x21, 0x23-0x7e, obs-text */
    };
    for (size_t i = 0; i < ARC_ARRAY_LEN(good); i++) {
        if (!arc_precond_valid(good[i]))
            fail_msg("refused as malformed: [%s]", good[i]);
    }
}

static void
test_malformed_syntax(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",            /* empty: not the same as absent */
        " ",           /* only white space */
        ",",           /* only empty elements */
        " , ,",        /* idem */
        "p42-v7",      /* not quoted */
        "\"p42-v7",    /* unterminated quote */
        "p42-v7\"",    /* no opening quote */
        "\"a\" \"b\"", /* no comma between tags */
        "\"a\"b",      /* garbage after a tag */
        "\"a\", b",    /* garbage element */
        "w/\"a\"",     /* the weak prefix is case-sensitive */
        "W/ \"a\"",    /* nothing between W/ and the quote */
        "W/",          /* prefix without a tag */
        "*, \"a\"",    /* "*" stands alone */
        "\"a\", *",    /* idem */
        "**",          /* idem */
        "\"a b\"",     /* a space is not an etagc */
        "\"a\tb\"",    /* nor a tab */
        "\"a\x7f\"",   /* nor DEL */
        "\"a\x01\"",   /* nor a control character */
        "\"a\"\"b\"",  /* a quote inside a tag */
        "garbage",
    };
    for (size_t i = 0; i < ARC_ARRAY_LEN(bad); i++) {
        if (arc_precond_valid(bad[i]))
            fail_msg("accepted as well-formed: [%s]", bad[i]);
    }
    assert_false(arc_precond_valid(NULL));
}

static void
test_strong_and_weak_matching(void **state)
{
    (void)state;
    /* Strong comparison (If-Match). */
    assert_true(arc_precond_matches(TAG, TAG, TAG_LEN, false));
    assert_true(arc_precond_matches("*", TAG, TAG_LEN, false));
    assert_true(arc_precond_matches(" * ", TAG, TAG_LEN, false));
    assert_true(arc_precond_matches("\"a\", " TAG, TAG, TAG_LEN, false));
    assert_true(arc_precond_matches("\"a\"," TAG ",\"b\"", TAG, TAG_LEN, false));
    assert_false(arc_precond_matches("\"p42-v6\"", TAG, TAG_LEN, false));
    assert_false(arc_precond_matches("\"p42-v70\"", TAG, TAG_LEN, false));
    assert_false(arc_precond_matches("\"p42-v\"", TAG, TAG_LEN, false));
    assert_false(arc_precond_matches("W/" TAG, TAG, TAG_LEN, false));
    assert_false(arc_precond_matches(TAG, "W/" TAG, TAG_LEN + 2, false));
    /* Weak comparison (If-None-Match): W/ ignored on both sides. */
    assert_true(arc_precond_matches("W/" TAG, TAG, TAG_LEN, true));
    assert_true(arc_precond_matches(TAG, "W/" TAG, TAG_LEN + 2, true));
    assert_true(arc_precond_matches("W/\"x\", W/" TAG, TAG, TAG_LEN, true));
    assert_false(arc_precond_matches("W/\"p42-v6\"", TAG, TAG_LEN, true));
    /* A malformed or absent value matches nothing, not even with the tag in it. */
    assert_false(arc_precond_matches(NULL, TAG, TAG_LEN, true));
    assert_false(arc_precond_matches("", TAG, TAG_LEN, true));
    assert_false(arc_precond_matches(TAG " garbage", TAG, TAG_LEN, true));
    assert_false(arc_precond_matches("\"p42-v7", TAG, TAG_LEN, true));
    assert_false(arc_precond_matches("*, " TAG, TAG, TAG_LEN, true));
    /* A resource without a tag (etag NULL): only "*" matches. */
    assert_true(arc_precond_matches("*", NULL, 0, false));
    assert_false(arc_precond_matches(TAG, NULL, 0, true));
}

static bool
holds(const char *if_match, const char *if_none_match, const char *etag)
{
    struct arc_precond pc;
    assert_int_equal(arc_precond_parse(&pc, if_match, if_none_match, NULL), 0);
    return arc_precond_holds(&pc, etag, etag ? strlen(etag) : 0);
}

static void
test_evaluation_for_unsafe_methods(void **state)
{
    (void)state;
    assert_true(holds(NULL, NULL, TAG));
    assert_true(arc_precond_holds(NULL, TAG, TAG_LEN));
    /* If-Match: strong; a stale tag or a weak one is 412. */
    assert_true(holds(TAG, NULL, TAG));
    assert_true(holds("*", NULL, TAG));
    assert_true(holds("\"old\", " TAG, NULL, TAG));
    assert_false(holds("\"p42-v6\"", NULL, TAG));
    assert_false(holds("W/" TAG, NULL, TAG));
    /* If-None-Match: a match (weak) is 412 on an unsafe method, "*" on any
     * existing resource. */
    assert_false(holds(NULL, "*", TAG));
    assert_false(holds(NULL, TAG, TAG));
    assert_false(holds(NULL, "W/" TAG, TAG));
    assert_false(holds(NULL, "\"a\", " TAG, TAG));
    assert_true(holds(NULL, "\"p42-v6\"", TAG));
    /* Both: each must hold. */
    assert_true(holds(TAG, "\"p42-v6\"", TAG));
    assert_false(holds(TAG, "*", TAG));
    assert_false(holds("\"p42-v6\"", "\"p42-v6\"", TAG));
    /* A resource that exists without a tag (a collection). */
    assert_true(holds("*", NULL, NULL));
    assert_false(holds(TAG, NULL, NULL));
    assert_false(holds(NULL, "*", NULL));
    assert_true(holds(NULL, TAG, NULL));
}

static void
test_parse(void **state)
{
    (void)state;
    struct arc_precond pc = {"x", "y"};
    const char *bad = "unset";
    assert_int_equal(arc_precond_parse(&pc, NULL, NULL, &bad), 0);
    assert_null(bad);
    assert_null(pc.if_match);
    assert_null(pc.if_none_match);
    assert_false(arc_precond_present(&pc));
    assert_false(arc_precond_present(NULL));

    assert_int_equal(arc_precond_parse(&pc, TAG, "*", &bad), 0);
    assert_null(bad);
    assert_string_equal(pc.if_match, TAG);
    assert_string_equal(pc.if_none_match, "*");
    assert_true(arc_precond_present(&pc));

    assert_int_equal(arc_precond_parse(&pc, "", NULL, &bad), -1);
    assert_string_equal(bad, "If-Match");
    assert_false(arc_precond_present(&pc)); /* left empty */
    assert_int_equal(arc_precond_parse(&pc, TAG, "\"open", &bad), -1);
    assert_string_equal(bad, "If-None-Match");
    assert_false(arc_precond_present(&pc));
    assert_int_equal(arc_precond_parse(&pc, NULL, "", NULL), -1);
}

/* arc_precond_read over the fake FastCGI stream. */
static const char *
read_precond(struct fake_fcgx *f, arc_req *r, const char *if_match, const char *if_none_match,
             int expect_rc, struct arc_precond *pc)
{
    fake_init(f);
    memset(r, 0, sizeof *r);
    r->fcgx = &f->req;
    r->method = ARC_PUT;
    r->method_name = "PUT";
    r->path = "/x";
    r->query = "";
    if (if_match != NULL)
        fake_env(f, "HTTP_IF_MATCH", if_match);
    if (if_none_match != NULL)
        fake_env(f, "HTTP_IF_NONE_MATCH", if_none_match);
    assert_int_equal(arc_precond_read(r, pc), expect_rc);
    return fake_output(f);
}

static void
test_read_from_request(void **state)
{
    (void)state;
    struct fake_fcgx f;
    arc_req r;
    struct arc_precond pc;

    assert_string_equal(read_precond(&f, &r, TAG, NULL, 0, &pc), "");
    assert_string_equal(pc.if_match, TAG);
    assert_null(pc.if_none_match);
    assert_false(r.responded);
    arc_req_cleanup(&r);
    fake_cleanup(&f);

    const char *out = read_precond(&f, &r, "", NULL, -1, &pc);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(out, "Status: 400 Bad Request\r\n"));
    assert_non_null(strstr(out, "\"code\":\"invalid_header\""));
    assert_non_null(strstr(out, "\"message\":\"If-Match must be"));
    arc_req_cleanup(&r);
    fake_cleanup(&f);

    out = read_precond(&f, &r, NULL, "W/\"open", -1, &pc);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(out, "\"message\":\"If-None-Match must be"));
    arc_req_cleanup(&r);
    fake_cleanup(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_syntax),
        cmocka_unit_test(test_malformed_syntax),
        cmocka_unit_test(test_strong_and_weak_matching),
        cmocka_unit_test(test_evaluation_for_unsafe_methods),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_read_from_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
