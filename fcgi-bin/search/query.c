/*
 * query.c - the search service's pure functions: what the user's words
 * become for MariaDB's full-text index, parameter syntax, price bands,
 * ranking and the keys of cached answers. No I/O, so unit tests call them
 * directly. The JSON of answers is rendered in render.c.
 */
#include "search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* ---- words ------------------------------------------------------------------ */

/* InnoDB's default full-text stop words (INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD),
 * sorted for bsearch (strcmp order). Such a word is never in the index: a
 * query that requires it finds nothing. */
static const char *const stopwords[] = {
    "a",    "about", "an",  "are", "as",   "at",   "be",    "by",  "com",  "de",   "en",   "for",
    "from", "how",   "i",   "in",  "is",   "it",   "la",    "of",  "on",   "or",   "that", "the",
    "this", "to",    "und", "was", "what", "when", "where", "who", "will", "with", "www",
};

static int
cmp_stopword(const void *k, const void *e)
{
    const arc_str *key = k;
    const char *s = *(const char *const *)e;
    size_t n = strlen(s);
    int c = memcmp(key->ptr, s, key->len < n ? key->len : n);
    if (c != 0)
        return c;
    return (key->len > n) - (key->len < n);
}

bool
is_stopword(const char *w, size_t len)
{
    arc_str key = {w, len};
    return bsearch(&key, stopwords, ARC_ARRAY_LEN(stopwords), sizeof stopwords[0], cmp_stopword) !=
           NULL;
}

/* Decodes the UTF-8 sequence at s[0..len) into *cp; returns its length, or 0
 * when it is not well-formed (treated as a separator). */
static size_t
utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2;
        v = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        v = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        v = c & 0x07;
    } else {
        return 0;
    }
    if (n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return n;
}

/* Letters, digits and '_' make words, as for InnoDB's parser. Beyond ASCII,
 * everything but the common punctuation and symbol blocks counts as a letter. */
static bool
is_word_char(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
               cp == '_';
    if (cp <= 0xBF || cp == 0xD7 || cp == 0xF7)
        return false; /* Latin-1 punctuation and symbols, multiplication, division */
    if (cp >= 0x2000 && cp <= 0x2BFF)
        return false; /* punctuation, symbols, arrows, maths, shapes */
    if (cp >= 0x3000 && cp <= 0x303F)
        return false; /* CJK punctuation */
    if ((cp >= 0xFE10 && cp <= 0xFE6F) || (cp >= 0xFF00 && cp <= 0xFF0F))
        return false; /* vertical, small and full-width punctuation */
    return true;
}

struct word {
    const char *p; /* into the query */
    size_t len;    /* bytes */
    size_t chars;
};

/* Splits q into at most Q_MAX_WORDS words. */
static size_t
split_words(const char *q, size_t len, struct word *w)
{
    size_t n = 0, i = 0;
    const unsigned char *s = (const unsigned char *)q;
    while (i < len && n < Q_MAX_WORDS) {
        uint32_t cp;
        size_t k = utf8_next(s + i, len - i, &cp);
        if (k == 0 || !is_word_char(cp)) {
            i += k ? k : 1;
            continue;
        }
        size_t start = i, chars = 0;
        while (i < len) {
            k = utf8_next(s + i, len - i, &cp);
            if (k == 0 || !is_word_char(cp))
                break;
            i += k;
            chars++;
        }
        w[n++] = (struct word){q + start, i - start, chars};
    }
    return n;
}

/* Appends w lower-cased (ASCII) to out[*pos..cap), NUL-terminated; escape
 * puts a backslash before '_' (a LIKE wildcard). Words only hold letters,
 * digits and '_', so nothing else needs quoting. */
static void
put_word(char *out, size_t cap, size_t *pos, const struct word *w, bool escape)
{
    for (size_t i = 0; i < w->len && *pos + 3 < cap; i++) {
        char c = w->p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (escape && c == '_')
            out[(*pos)++] = '\\';
        out[(*pos)++] = c;
    }
    out[*pos] = '\0';
}

static void
put_str(char *out, size_t cap, size_t *pos, const char *s)
{
    while (*s && *pos + 1 < cap)
        out[(*pos)++] = *s++;
    out[*pos] = '\0';
}

static bool
indexable(const struct word *w)
{
    char low[64];
    if (w->chars < FT_MIN_TOKEN)
        return false;
    if (w->len >= sizeof low)
        return true; /* longer than any stop word */
    for (size_t i = 0; i < w->len; i++)
        low[i] = (w->p[i] >= 'A' && w->p[i] <= 'Z') ? (char)(w->p[i] - 'A' + 'a') : w->p[i];
    return !is_stopword(low, w->len);
}

/* The full-text expressions of the words w[i] with keep[i]. */
static void
build_ft(struct text_query *out, const struct word *w, const bool *keep, size_t n)
{
    size_t a = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!keep[i])
            continue;
        put_str(out->all, sizeof out->all, &a, a ? " +" : "+");
        put_word(out->all, sizeof out->all, &a, &w[i], false);
        put_str(out->all, sizeof out->all, &a, "*");
        put_str(out->name, sizeof out->name, &m, m ? " " : "");
        put_word(out->name, sizeof out->name, &m, &w[i], false);
        put_str(out->name, sizeof out->name, &m, "*");
    }
}

void
text_query_parse(const char *q, size_t len, struct text_query *out)
{
    struct word w[Q_MAX_WORDS];
    bool keep[Q_MAX_WORDS];
    size_t n = split_words(q, len, w), nkeep = 0;
    memset(out, 0, sizeof *out);
    out->nwords = n;
    for (size_t i = 0; i < n; i++)
        nkeep += keep[i] = indexable(&w[i]);
    if (nkeep > 0) {
        out->mode = TEXT_FT;
        build_ft(out, w, keep, n);
        return;
    }
    if (n == 0) {
        out->mode = TEXT_NONE;
        return;
    }
    /* Only words the index cannot see ("tv", "the"): the name starts with
     * them, or one of its words does ("% tv%"). */
    out->mode = TEXT_LIKE;
    size_t s = 0, c = 0;
    put_str(out->contains, sizeof out->contains, &c, "% ");
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            put_str(out->starts, sizeof out->starts, &s, " ");
            put_str(out->contains, sizeof out->contains, &c, " ");
        }
        put_word(out->starts, sizeof out->starts, &s, &w[i], true);
        put_word(out->contains, sizeof out->contains, &c, &w[i], true);
    }
    put_str(out->starts, sizeof out->starts, &s, "%");
    put_str(out->contains, sizeof out->contains, &c, "%");
}

void
suggest_query_parse(const char *q, size_t len, struct text_query *out)
{
    struct word w[Q_MAX_WORDS];
    bool keep[Q_MAX_WORDS];
    size_t n = split_words(q, len, w);
    memset(out, 0, sizeof *out);
    out->nwords = n;
    if (n == 0) {
        out->mode = TEXT_NONE;
        return;
    }
    /* Whole words the index cannot see are left out; the word being typed is
     * a prefix of indexed words ("he" of "headphones") whatever its length. */
    for (size_t i = 0; i + 1 < n; i++)
        keep[i] = indexable(&w[i]);
    keep[n - 1] = true;
    out->mode = TEXT_FT;
    build_ft(out, w, keep, n);
}

/* ---- parameters ------------------------------------------------------------- */

static const char *const sort_names[SORT_COUNT] = {
    [SORT_RELEVANCE] = "relevance",
    [SORT_PRICE] = "price",
    [SORT_PRICE_DESC] = "-price",
    [SORT_NEWEST] = "newest",
};

int
sort_parse(const char *s, enum sort_order *out)
{
    for (size_t i = 0; i < SORT_COUNT; i++) {
        if (strcmp(s, sort_names[i]) == 0) {
            *out = (enum sort_order)i;
            return 0;
        }
    }
    return -1;
}

/* ---- price bands -------------------------------------------------------------- */

const int64_t price_band_min[PRICE_BANDS] = {0, 1000, 2500, 5000, 10000, 25000, 50000};

int
price_band(int64_t price)
{
    int b = 0;
    while (b + 1 < PRICE_BANDS && price >= price_band_min[b + 1])
        b++;
    return b;
}

bool
price_range_bands(int64_t min_price, int64_t max_price, int *lo, int *hi)
{
    int l = price_band(min_price), h = price_band(max_price);
    if (min_price != price_band_min[l])
        return false;
    /* max_price is the last price of its band: the next band's minimum - 1,
     * or the largest price in the open last band. */
    if (h + 1 < PRICE_BANDS ? max_price != price_band_min[h + 1] - 1 : max_price != PRICE_MAX)
        return false;
    *lo = l;
    *hi = h;
    return true;
}

bool
search_uses_summary(const struct search_params *p)
{
    int lo, hi;
    return p->text.mode == TEXT_NONE && price_range_bands(p->min_price, p->max_price, &lo, &hi);
}

/* ---- ranking the matches of words --------------------------------------------- */

static char
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* True when w[0..wlen) (lower case) starts name at i, case aside. */
static bool
starts_at(const char *name, size_t len, size_t i, const char *w, size_t wlen)
{
    if (wlen > len - i)
        return false;
    for (size_t k = 0; k < wlen; k++)
        if (lower(name[i + k]) != w[k])
            return false;
    return true;
}

static bool
word_byte(unsigned char c)
{
    /* A UTF-8 byte of a character beyond ASCII counts as part of a word. */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c >= 0x80;
}

/* True when a word of name starts with w. */
static bool
name_has_word(const char *name, size_t len, const char *w, size_t wlen)
{
    for (size_t i = 0; i < len; i++) {
        bool at_start = i == 0 || !word_byte((unsigned char)name[i - 1]);
        if (at_start && starts_at(name, len, i, w, wlen))
            return true;
    }
    return false;
}

int
name_rank(const struct text_query *t, const char *name, size_t len)
{
    if (t->mode == TEXT_LIKE) {
        /* starts is the phrase + '%', with '_' escaped. */
        char phrase[sizeof t->starts];
        size_t n = 0;
        for (const char *p = t->starts; *p && *p != '%'; p++)
            if (*p != '\\' || p[1] == '\0')
                phrase[n++] = *p;
        return starts_at(name, len, 0, phrase, n) ? 1 : 0;
    }
    if (t->mode != TEXT_FT)
        return 0;
    /* name is "word* word*". */
    int rank = 0;
    for (const char *p = t->name; *p;) {
        const char *end = strchr(p, '*');
        if (end == NULL)
            break;
        if (name_has_word(name, len, p, (size_t)(end - p)))
            rank++;
        p = end + 1;
        while (*p == ' ')
            p++;
    }
    return rank;
}

#define CMP(a, b) (((a) > (b)) - ((a) < (b)))

static int
by_relevance(const void *x, const void *y)
{
    const struct match *a = x, *b = y;
    int c = CMP(b->rank, a->rank);
    if (c == 0)
        c = CMP(b->score, a->score);
    return c != 0 ? c : CMP(b->id, a->id);
}

static int
by_price(const void *x, const void *y)
{
    const struct match *a = x, *b = y;
    int c = CMP(a->price, b->price);
    return c != 0 ? c : CMP(a->id, b->id);
}

static int
by_price_desc(const void *x, const void *y)
{
    return by_price(y, x);
}

static int
by_newest(const void *x, const void *y)
{
    const struct match *a = x, *b = y;
    int c = CMP(b->created, a->created);
    return c != 0 ? c : CMP(b->id, a->id);
}

void
matches_sort(struct match *m, size_t n, enum sort_order sort)
{
    static int (*const cmp[SORT_COUNT])(const void *, const void *) = {
        [SORT_RELEVANCE] = by_relevance,
        [SORT_PRICE] = by_price,
        [SORT_PRICE_DESC] = by_price_desc,
        [SORT_NEWEST] = by_newest,
    };
    if (n > 1)
        qsort(m, n, sizeof *m, cmp[sort]);
}

/* ---- cached answers ----------------------------------------------------------- */

static void
hash_field(crypto_generichash_state *h, const char *s)
{
    /* Each field with its length, so that no two requests hash the same text. */
    uint64_t len = strlen(s);
    crypto_generichash_update(h, (const unsigned char *)&len, sizeof len);
    crypto_generichash_update(h, (const unsigned char *)s, len);
}

size_t
answer_key(const char *kind, const struct search_params *p, const struct text_query *t,
           uint64_t epoch, uint64_t generation, char *out)
{
    crypto_generichash_state h;
    unsigned char digest[16];
    char hex[2 * sizeof digest + 1], num[128];
    crypto_generichash_init(&h, NULL, 0, sizeof digest);
    hash_field(&h, kind);
    snprintf(num, sizeof num, "%d", (int)t->mode);
    hash_field(&h, num);
    hash_field(&h, t->all);
    hash_field(&h, t->name);
    hash_field(&h, t->starts);
    hash_field(&h, t->contains);
    if (p != NULL) {
        hash_field(&h, p->category ? p->category : "");
        snprintf(num, sizeof num, "%lld %lld %d %d %lld %lld", (long long)p->min_price,
                 (long long)p->max_price, (int)p->in_stock, (int)p->sort, (long long)p->limit,
                 (long long)p->offset);
        hash_field(&h, num);
    }
    crypto_generichash_final(&h, digest, sizeof digest);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    int n = snprintf(out, ANSWER_KEY_MAX, "arcade:search:v1:%llu:%llu:%s",
                     (unsigned long long)epoch, (unsigned long long)generation, hex);
    return n < 0 ? 0 : (size_t)n;
}
