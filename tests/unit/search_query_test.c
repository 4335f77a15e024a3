/*
 * search_query_test.c - the search service's pure functions: what q becomes
 * for the full-text index, sort names, price bands, ranking and the keys of
 * cached answers (the JSON of answers: search_render_test.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../fcgi-bin/search/query.c"

#define S(lit) ((arc_str){(lit), sizeof(lit) - 1})

static struct text_query
parse(const char *q)
{
    struct text_query t;
    text_query_parse(q, strlen(q), &t);
    return t;
}

static struct text_query
suggest(const char *q)
{
    struct text_query t;
    suggest_query_parse(q, strlen(q), &t);
    return t;
}

static void
words_become_required_prefixes(void **state)
{
    struct text_query t = parse("Deluxe Headphones");
    assert_int_equal(t.mode, TEXT_FT);
    assert_int_equal(t.nwords, 2);
    assert_string_equal(t.all, "+deluxe* +headphones*");
    assert_string_equal(t.name, "deluxe* headphones*");

    t = parse("  kettle  ");
    assert_string_equal(t.all, "+kettle*");
    assert_string_equal(t.name, "kettle*");
}

static void
operators_never_reach_the_index(void **state)
{
    /* Every operator of the boolean mode is a separator. */
    struct text_query t = parse("+foo -bar* \"baz qux\" (quux) ~corge <grault> @3 fred's");
    assert_int_equal(t.mode, TEXT_FT);
    assert_string_equal(t.all, "+foo* +bar* +baz* +qux* +quux* +corge* +grault* +fred*");
    for (const char *p = t.all; *p; p++)
        assert_true(strchr("-~<>()\"@'", *p) == NULL);
    /* SKUs split where the index splits them. */
    t = parse("ARC-012345");
    assert_string_equal(t.all, "+arc* +012345*");
    t = parse("under_score");
    assert_string_equal(t.all, "+under_score*");
}

static void
short_and_stop_words_are_left_out(void **state)
{
    struct text_query t = parse("the best tv for me");
    assert_int_equal(t.mode, TEXT_FT);
    assert_string_equal(t.all, "+best*");
    assert_string_equal(t.name, "best*");
    assert_int_equal(t.nwords, 5);
    /* Three characters (not bytes) are enough. */
    t = parse("\xc3\xa9t\xc3\xa9"); /* "été" */
    assert_int_equal(t.mode, TEXT_FT);
    assert_string_equal(t.all, "+\xc3\xa9t\xc3\xa9*");
    t = parse("\xc3\xa9t"); /* "ét": 2 characters, 3 bytes */
    assert_int_equal(t.mode, TEXT_LIKE);
}

static void
only_unindexed_words_become_a_name_prefix(void **state)
{
    struct text_query t = parse("TV");
    assert_int_equal(t.mode, TEXT_LIKE);
    assert_string_equal(t.starts, "tv%");
    assert_string_equal(t.contains, "% tv%");
    assert_string_equal(t.all, "");

    t = parse("the tv");
    assert_int_equal(t.mode, TEXT_LIKE);
    assert_string_equal(t.starts, "the tv%");
    assert_string_equal(t.contains, "% the tv%");

    /* '_' is a LIKE wildcard: escaped. '%' and '\' never reach a word. */
    t = parse("x_ %\\");
    assert_int_equal(t.mode, TEXT_LIKE);
    assert_string_equal(t.starts, "x\\_%");
}

static void
no_word_means_no_text_filter(void **state)
{
    assert_int_equal(parse("").mode, TEXT_NONE);
    assert_int_equal(parse("   ").mode, TEXT_NONE);
    assert_int_equal(parse("+-*\"()~<>@").mode, TEXT_NONE);
    /* Punctuation beyond ASCII separates too: em dash, no-break space, '«'. */
    struct text_query t = parse("naive\xe2\x80\x94test\xc2\xa0\xc2\xabword");
    assert_string_equal(t.all, "+naive* +test* +word*");
    assert_int_equal(parse("\xe2\x80\x94\xc2\xa0").mode, TEXT_NONE);
    /* A byte that is not UTF-8 separates (the request layer refuses such
     * queries before; this is defence in depth). */
    t = parse("abc\xff"
              "def");
    assert_string_equal(t.all, "+abc* +def*");
}

static void
at_most_ten_words(void **state)
{
    struct text_query t = parse("w01 w02 w03 w04 w05 w06 w07 w08 w09 w10 w11 w12");
    assert_int_equal(t.nwords, Q_MAX_WORDS);
    assert_string_equal(t.all, "+w01* +w02* +w03* +w04* +w05* +w06* +w07* +w08* +w09* +w10*");
    /* The longest q fits the buffers: 200 four-byte characters. */
    char q[4 * Q_MAX_CHARS + 1];
    for (size_t i = 0; i < Q_MAX_CHARS; i++)
        memcpy(q + 4 * i, "\xf0\x9f\x98\x80", 4);
    q[sizeof q - 1] = '\0';
    t = parse(q);
    assert_int_equal(t.mode, TEXT_FT);
    assert_int_equal(strlen(t.all), 2 + 4 * Q_MAX_CHARS);
}

static void
suggest_keeps_the_word_being_typed(void **state)
{
    struct text_query t = suggest("he");
    assert_int_equal(t.mode, TEXT_FT);
    assert_string_equal(t.all, "+he*");
    t = suggest("Smart he");
    assert_string_equal(t.all, "+smart* +he*");
    t = suggest("the");
    assert_string_equal(t.all, "+the*");
    /* A finished short word is left out; the last one stays. */
    t = suggest("tv st");
    assert_string_equal(t.all, "+st*");
    assert_int_equal(suggest("").mode, TEXT_NONE);
    assert_int_equal(suggest(" - ").mode, TEXT_NONE);
}

static void
stop_words(void **state)
{
    for (size_t i = 0; i < ARC_ARRAY_LEN(stopwords); i++) {
        if (i > 0)
            assert_true(strcmp(stopwords[i - 1], stopwords[i]) < 0);
        assert_true(is_stopword(stopwords[i], strlen(stopwords[i])));
    }
    assert_true(is_stopword("the", 3));
    assert_false(is_stopword("then", 4));
    assert_false(is_stopword("th", 2));
    assert_false(is_stopword("", 0));
}

static void
sorts(void **state)
{
    enum sort_order s;
    assert_int_equal(sort_parse("relevance", &s), 0);
    assert_int_equal(s, SORT_RELEVANCE);
    assert_int_equal(sort_parse("-price", &s), 0);
    assert_int_equal(s, SORT_PRICE_DESC);
    assert_int_equal(sort_parse("newest", &s), 0);
    assert_int_equal(s, SORT_NEWEST);
    assert_int_equal(sort_parse("price", &s), 0);
    assert_int_equal(s, SORT_PRICE);
    assert_int_equal(sort_parse("Price", &s), -1);
    assert_int_equal(sort_parse("-newest", &s), -1);
    assert_int_equal(sort_parse("", &s), -1);
}

static void
price_bands(void **state)
{
    assert_int_equal(price_band(0), 0);
    assert_int_equal(price_band(999), 0);
    assert_int_equal(price_band(1000), 1);
    assert_int_equal(price_band(2499), 1);
    assert_int_equal(price_band(49999), 5);
    assert_int_equal(price_band(50000), 6);
    assert_int_equal(price_band(PRICE_MAX), 6);

    int lo, hi;
    assert_true(price_range_bands(0, PRICE_MAX, &lo, &hi));
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 6);
    assert_true(price_range_bands(1000, 2499, &lo, &hi)); /* one band of the facet */
    assert_int_equal(lo, 1);
    assert_int_equal(hi, 1);
    assert_true(price_range_bands(50000, PRICE_MAX, &lo, &hi));
    assert_int_equal(lo, 6);
    assert_int_equal(hi, 6);
    assert_true(price_range_bands(0, 49999, &lo, &hi));
    assert_int_equal(hi, 5);
    assert_false(price_range_bands(1000, 2500, &lo, &hi));
    assert_false(price_range_bands(1, 999, &lo, &hi));
    assert_false(price_range_bands(50000, PRICE_MAX - 1, &lo, &hi));

    struct search_params p = {.min_price = 0, .max_price = PRICE_MAX};
    assert_true(search_uses_summary(&p));
    p.category = "audio";
    p.in_stock = true;
    assert_true(search_uses_summary(&p));
    p.min_price = 5;
    assert_false(search_uses_summary(&p));
    p.min_price = 0;
    p.text.mode = TEXT_FT;
    assert_false(search_uses_summary(&p));
}

static void
ranks_name_matches(void **state)
{
    struct text_query t = parse("deluxe headphones");
    assert_int_equal(name_rank(&t, "Deluxe Headphones 42", 20), 2);
    assert_int_equal(name_rank(&t, "Headphones, deluxe", 18), 2);
    assert_int_equal(name_rank(&t, "Pro Headphones", 14), 1);
    assert_int_equal(name_rank(&t, "Golf lamp", 9), 0);
    /* Word starts only: "Superdeluxe" does not start with "deluxe". */
    assert_int_equal(name_rank(&t, "Superdeluxe", 11), 0);
    assert_int_equal(name_rank(&t, "x-deluxe", 8), 1);
    /* Prefixes: "head" of "headphones". */
    t = parse("head");
    assert_int_equal(name_rank(&t, "Headphones", 10), 1);
    /* Name prefix phrases. */
    t = parse("tv");
    assert_int_equal(name_rank(&t, "TV stand", 8), 1);
    assert_int_equal(name_rank(&t, "Smart TV", 8), 0);
    t = parse("x_");
    assert_int_equal(name_rank(&t, "x_ files", 8), 1);
    t = parse("");
    assert_int_equal(name_rank(&t, "anything", 8), 0);
}

static void
sorts_matches(void **state)
{
    struct match m[] = {
        {.id = 1, .score = 10, .price = 300, .created = 1000, .rank = 0},
        {.id = 2, .score = 50, .price = 100, .created = 3000, .rank = 1},
        {.id = 3, .score = 20, .price = 100, .created = 3000, .rank = 1},
        {.id = 4, .score = 20, .price = 200, .created = 2000, .rank = 1},
        {.id = 5, .score = 90, .price = 50, .created = 500, .rank = 0},
    };
    size_t n = ARC_ARRAY_LEN(m);
    int64_t want[SORT_COUNT][5] = {
        [SORT_RELEVANCE] = {2, 4, 3, 5, 1}, /* rank, score, newest id */
        [SORT_PRICE] = {5, 2, 3, 4, 1},     /* ties by id */
        [SORT_PRICE_DESC] = {1, 4, 3, 2, 5},
        [SORT_NEWEST] = {3, 2, 4, 1, 5},
    };
    for (int s = 0; s < SORT_COUNT; s++) {
        matches_sort(m, n, (enum sort_order)s);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(m[i].id, want[s][i]);
    }
    matches_sort(m, 0, SORT_PRICE);
}

static void
answer_keys(void **state)
{
    char k1[ANSWER_KEY_MAX], k2[ANSWER_KEY_MAX];
    struct search_params p = {.min_price = 0, .max_price = PRICE_MAX, .limit = 20};
    text_query_parse("headphones", 10, &p.text);
    size_t n1 = answer_key("search", &p, &p.text, 7, 3, k1);
    assert_int_equal(n1, strlen(k1));
    assert_true(strncmp(k1, "arcade:search:v1:7:3:", 21) == 0);
    assert_int_equal(n1, 21 + 32);
    for (size_t i = 0; i < n1; i++)
        assert_true(k1[i] > ' ' && k1[i] < 0x7f); /* a valid memcached key */

    /* The same request: the same key; case of the words does not matter. */
    struct search_params q = p;
    text_query_parse("HEADPHONES", 10, &q.text);
    answer_key("search", &q, &q.text, 7, 3, k2);
    assert_string_equal(k1, k2);
    /* Anything that changes the answer changes the key. */
    answer_key("search", &p, &p.text, 7, 4, k2);
    assert_string_not_equal(k1, k2);
    answer_key("search", &p, &p.text, 8, 3, k2);
    assert_string_not_equal(k1, k2);
    q = p;
    q.offset = 20;
    answer_key("search", &q, &q.text, 7, 3, k2);
    assert_string_not_equal(k1, k2);
    q = p;
    q.category = "audio";
    answer_key("search", &q, &q.text, 7, 3, k2);
    assert_string_not_equal(k1, k2);
    q = p;
    q.in_stock = true;
    answer_key("search", &q, &q.text, 7, 3, k2);
    assert_string_not_equal(k1, k2);
    answer_key("suggest", NULL, &p.text, 7, 3, k2);
    assert_string_not_equal(k1, k2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(words_become_required_prefixes),
        cmocka_unit_test(operators_never_reach_the_index),
        cmocka_unit_test(short_and_stop_words_are_left_out),
        cmocka_unit_test(only_unindexed_words_become_a_name_prefix),
        cmocka_unit_test(no_word_means_no_text_filter),
        cmocka_unit_test(at_most_ten_words),
        cmocka_unit_test(suggest_keeps_the_word_being_typed),
        cmocka_unit_test(stop_words),
        cmocka_unit_test(sorts),
        cmocka_unit_test(price_bands),
        cmocka_unit_test(ranks_name_matches),
        cmocka_unit_test(sorts_matches),
        cmocka_unit_test(answer_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
