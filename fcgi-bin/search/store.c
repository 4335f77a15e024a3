/*
 * store.c - all of the search service's SQL. Every statement is prepared
 * once per process (arc_db); values from outside only ever travel as
 * parameters.
 *
 * Without words a search is two statements: one page of an index walk, and
 * the facet counts (the kept counters of facet_counts, or a GROUP BY over a
 * covering index when the price range is not made of whole bands). With words
 * it is also two: every match once, with what sorting and facets need (the
 * full-text search costs per match, so it runs once), then the page's rows
 * by id. Statement texts come in one variant per text mode and category
 * filter; the parameters always come in the same order:
 *
 *   [text] [category] min_price max_price min_stock [limit offset]
 */
#include "search.h"

#include <stdio.h>
#include <string.h>

#include <arcade/log.h>

/* ---- statement texts ------------------------------------------------------ */

#define STR_(x) #x
#define STR(x) STR_(x)

#define ITEM_COLS                                                                                  \
    "SELECT p.id, p.sku, p.name, p.price, p.currency, p.category_slug, p.category_name, "          \
    "p.stock > 0 "
#define FACET_COLS(t) "SELECT " t ".category_slug, " t ".category_name, " t ".price_band, COUNT(*) "
#define FACET_GROUP(t) " GROUP BY " t ".category_slug, " t ".category_name, " t ".price_band"

#define P_FILTER "p.active = 1 AND p.price BETWEEN ? AND ? AND p.stock >= ?"
/* product_categories holds active products only. */
#define C_FILTER "c.slug = ? AND c.price BETWEEN ? AND ? AND c.in_stock >= ?"
#define FT_ALL "MATCH(p.name, p.description, p.sku) AGAINST (? IN BOOLEAN MODE)"
#define FT_NAME "MATCH(p.name) AGAINST (? IN BOOLEAN MODE)"
#define LIKE_NAME "(p.name LIKE ? OR p.name LIKE ?)"

#define FROM_P "FROM products p WHERE "
/* Within a category without words: product_categories' own indexes find,
 * sort and count; products gives the page's rows. */
#define FROM_C "FROM product_categories c JOIN products p ON p.id = c.product_id WHERE "
/* With words: the full-text match finds, product_categories checks. */
#define FROM_PC "FROM products p JOIN product_categories c ON c.product_id = p.id WHERE "

#define W_NONE_ALL FROM_P P_FILTER
#define W_NONE_CAT FROM_C C_FILTER
#define W_FT_ALL FROM_P FT_ALL " AND " P_FILTER
#define W_FT_CAT FROM_PC FT_ALL " AND c.slug = ? AND " P_FILTER
/* A name pattern reads every name: a scan of the table, never one of its
 * indexes (whose row lookups for every active product would cost 7x more). */
#define W_LIKE_ALL                                                                                 \
    "FROM products p IGNORE INDEX (ix_products_newest, ix_products_price, ix_products_facets) "    \
    "WHERE " LIKE_NAME " AND " P_FILTER
#define W_LIKE_CAT FROM_C LIKE_NAME " AND " C_FILTER

#define PAGE " LIMIT ? OFFSET ?"
/* Ties go by id, in the direction of the sort, so that each order is one
 * index walk. Without words, relevance is newest first. */
#define BY_NEWEST(t, id) " ORDER BY " t ".created_at DESC, " t "." id " DESC" PAGE
#define BY_PRICE(t, id) " ORDER BY " t ".price, " t "." id PAGE
#define BY_PRICE_DESC(t, id) " ORDER BY " t ".price DESC, " t "." id " DESC" PAGE

/* In the order of enum sort_order: relevance, price, -price, newest. */
#define ITEMS(where, t, id)                                                                        \
    ITEM_COLS where BY_NEWEST(t, id), ITEM_COLS where BY_PRICE(t, id),                             \
        ITEM_COLS where BY_PRICE_DESC(t, id), ITEM_COLS where BY_NEWEST(t, id)

/* Every match, with its full-text relevance (the WHERE's own search: the same
 * expression is not searched twice), the name (for the rank of name matches,
 * worked out in C), and what sorts and facets need. */
#define MATCH_COLS(score)                                                                          \
    "SELECT p.id, " score                                                                          \
    ", p.name, p.price, CAST(UNIX_TIMESTAMP(p.created_at) * 1000 AS SIGNED), "                     \
    "p.category_slug, p.category_name, p.price_band "
#define FT_SCORE "CAST(" FT_ALL " * 1000000 AS SIGNED)"

#define Q10 "?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
#define Q100 Q10 ", " Q10 ", " Q10 ", " Q10 ", " Q10 ", " Q10 ", " Q10 ", " Q10 ", " Q10 ", " Q10
_Static_assert(PER_PAGE_MAX == 100, "ST_PAGE takes PER_PAGE_MAX ids");

enum {
    /* + has category * SORT_COUNT + sort */
    ST_ITEMS,
    /* + has category */
    ST_FACETS = ST_ITEMS + 2 * SORT_COUNT,
    ST_FACETS_SUMMARY = ST_FACETS + 2,
    /* + (text mode FT 0, LIKE 1) * 2 + has category */
    ST_MATCHES,
    ST_PAGE = ST_MATCHES + 4,
    ST_SUGGEST,
    ST_LAST_CHANGE,
    ST_GENERATION,
    ST_LOCK,
    ST_UPSERT,
    ST_TOUCH,
    ST_PC_DELETE,
    ST_PC_INSERT,
    ST_FACET_ADD,
    ST_BUMP,
    ST_NOW,
    ST_SWEEP_PC,
    ST_SWEEP,
    ST_FACETS_CLEAR,
    ST_FACETS_FILL_ALL,
    ST_FACETS_FILL_CAT,
    ST_OPTIMIZE,
    ST_COUNT
};

#define TS_MS(col)                                                                                 \
    "CONCAT(DATE_FORMAT(" col ", '%Y-%m-%d %H:%i:%s.'), LPAD(MICROSECOND(" col                     \
    ") DIV 1000, 3, '0'))"
#define FACET_FILL                                                                                 \
    "INSERT INTO facet_counts (scope, category_slug, category_name, price_band, "                  \
    "in_stock, n) "

const char *const search_sql[] = {
    ITEMS(W_NONE_ALL, "p", "id"),
    ITEMS(W_NONE_CAT, "c", "product_id"),
    FACET_COLS("p") W_NONE_ALL FACET_GROUP("p"),
    FACET_COLS("c") "FROM product_categories c WHERE " C_FILTER FACET_GROUP("c"),
    /* The same counts, kept up to date by every change (scope '' is every
     * product; a price range of whole bands). */
    [ST_FACETS_SUMMARY] = "SELECT NULLIF(category_slug, ''), category_name, price_band, "
                          "CAST(SUM(n) AS SIGNED) FROM facet_counts WHERE scope = ? AND "
                          "price_band BETWEEN ? AND ? AND in_stock >= ? "
                          "GROUP BY category_slug, category_name, price_band HAVING SUM(n) > 0",
    [ST_MATCHES] = MATCH_COLS(FT_SCORE) W_FT_ALL,
    MATCH_COLS(FT_SCORE) W_FT_CAT,
    MATCH_COLS("0") W_LIKE_ALL,
    MATCH_COLS("0") W_LIKE_CAT,
    /* (A product deactivated since the matches were read is left out.) */
    [ST_PAGE] = ITEM_COLS "FROM products p WHERE p.active = 1 AND p.id IN (" Q100 ")",
    [ST_SUGGEST] = "SELECT p.id, p.name FROM products p WHERE " FT_NAME " AND p.active = 1 "
                   "ORDER BY " FT_NAME " DESC, p.id DESC LIMIT " STR(SUGGEST_MAX),
    [ST_LAST_CHANGE] = "SELECT CONCAT(DATE_FORMAT(MAX(synced_at), '%Y-%m-%dT%H:%i:%s.'), "
                       "LPAD(MICROSECOND(MAX(synced_at)) DIV 1000, 3, '0'), 'Z') FROM products",
    [ST_GENERATION] = "SELECT epoch, generation FROM search_state WHERE id = 1",
    /* What a change is compared with (struct stored). */
    [ST_LOCK] = "SELECT version, sku, name, description, price, currency, category_slug, "
                "category_name, category_path, stock, active, " TS_MS(
                    "created_at") " "
                                  "FROM products WHERE id = ? FOR UPDATE",
    [ST_UPSERT] = "INSERT INTO products (id, sku, name, description, price, currency, category_id, "
                  "category_slug, category_name, category_path, stock, active, version, "
                  "created_at, updated_at, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                  "?, ?, ?, UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE sku = VALUES(sku), "
                  "name = VALUES(name), description = VALUES(description), price = VALUES(price), "
                  "currency = VALUES(currency), category_id = VALUES(category_id), "
                  "category_slug = VALUES(category_slug), category_name = VALUES(category_name), "
                  "category_path = VALUES(category_path), stock = VALUES(stock), "
                  "active = VALUES(active), version = VALUES(version), "
                  "created_at = VALUES(created_at), updated_at = VALUES(updated_at), "
                  "synced_at = VALUES(synced_at)",
    [ST_TOUCH] = "UPDATE products SET synced_at = UTC_TIMESTAMP(6) WHERE id = ?",
    [ST_PC_DELETE] = "DELETE FROM product_categories WHERE product_id = ?",
    /* One row per slug of the path (a JSON array of slugs), copied from the
     * product row just written. */
    [ST_PC_INSERT] = "INSERT INTO product_categories (slug, product_id, price, in_stock, "
                     "created_at, category_slug, category_name) SELECT j.slug, p.id, p.price, "
                     "p.stock > 0, p.created_at, p.category_slug, p.category_name FROM products p "
                     "JOIN JSON_TABLE(?, '$[*]' COLUMNS (slug VARCHAR(64) CHARACTER SET ascii "
                     "PATH '$')) j WHERE p.id = ? AND p.active = 1",
    /* Adds n (1 or -1) to the counter of each scope (a JSON array: '' and the
     * slugs of the path). */
    [ST_FACET_ADD] = FACET_FILL "SELECT j.scope, ?, ?, ?, ?, ? FROM JSON_TABLE(?, '$[*]' "
                                "COLUMNS (scope VARCHAR(64) CHARACTER SET ascii PATH '$')) j "
                                "ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
    [ST_BUMP] = "UPDATE search_state SET generation = generation + 1, "
                "changed_at = UTC_TIMESTAMP(6) WHERE id = 1",
    [ST_NOW] = "SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%d %H:%i:%s.%f')",
    [ST_SWEEP_PC] = "DELETE c FROM product_categories c JOIN products p ON p.id = c.product_id "
                    "WHERE p.synced_at < ?",
    [ST_SWEEP] = "DELETE FROM products WHERE synced_at < ?",
    [ST_FACETS_CLEAR] = "DELETE FROM facet_counts",
    [ST_FACETS_FILL_ALL] = FACET_FILL "SELECT '', COALESCE(category_slug, ''), "
                                      "COALESCE(category_name, ''), price_band, stock > 0, "
                                      "COUNT(*) FROM products WHERE active = 1 "
                                      "GROUP BY 1, 2, 3, 4, 5",
    [ST_FACETS_FILL_CAT] = FACET_FILL "SELECT slug, category_slug, category_name, price_band, "
                                      "in_stock, COUNT(*) FROM product_categories "
                                      "GROUP BY 1, 2, 3, 4, 5",
    /* Rebuilds the table and so its full-text indexes, which otherwise keep
     * every replaced or deleted document until then (and searches slow down). */
    [ST_OPTIMIZE] = "OPTIMIZE TABLE products",
};
const size_t search_nsql = ARC_ARRAY_LEN(search_sql);
_Static_assert(ARC_ARRAY_LEN(search_sql) == ST_COUNT, "one SQL text per statement");

/* ---- searching ------------------------------------------------------------- */

/* The parameters up to the order: text, category, price range, stock. */
static size_t
filter_params(const struct search_params *p, struct arc_db_param *out)
{
    size_t n = 0;
    if (p->text.mode == TEXT_FT) {
        out[n++] = ARC_DB_P_STR(p->text.all);
    } else if (p->text.mode == TEXT_LIKE) {
        out[n++] = ARC_DB_P_STR(p->text.starts);
        out[n++] = ARC_DB_P_STR(p->text.contains);
    }
    if (p->category != NULL)
        out[n++] = ARC_DB_P_STR(p->category);
    out[n++] = ARC_DB_P_INT(p->min_price);
    out[n++] = ARC_DB_P_INT(p->max_price);
    out[n++] = ARC_DB_P_INT(p->in_stock ? 1 : 0);
    return n;
}

#define ITEM_NCOLS 8
static const enum arc_db_type item_types[ITEM_NCOLS] = {
    ARC_DB_INT, ARC_DB_STR, ARC_DB_STR, ARC_DB_INT, ARC_DB_STR, ARC_DB_STR, ARC_DB_STR, ARC_DB_INT,
};

struct item_cb {
    item_fn fn;
    void *ud;
};

static int
on_item_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    const struct item_cb *cb = ud;
    struct search_item it = {
        .id = c[0].i,
        .sku = arc_db_col_str(&c[1]),
        .name = arc_db_col_str(&c[2]),
        .price = c[3].i,
        .currency = arc_db_col_str(&c[4]),
        .has_category = !c[5].is_null,
        .category_slug = arc_db_col_str(&c[5]),
        .category_name = arc_db_col_str(&c[6]),
        .in_stock = c[7].i != 0,
    };
    cb->fn(cb->ud, &it);
    return 0;
}

enum arc_err
store_search_items(arc_db *db, const struct search_params *p, item_fn fn, void *ud)
{
    struct arc_db_param params[8];
    size_t n = filter_params(p, params);
    params[n++] = ARC_DB_P_INT(p->limit);
    params[n++] = ARC_DB_P_INT(p->offset);
    struct arc_db_col cols[ITEM_NCOLS];
    arc_db_cols_init(cols, item_types, ITEM_NCOLS);
    struct item_cb cb = {fn, ud};
    unsigned st = ST_ITEMS + (p->category != NULL) * SORT_COUNT + (unsigned)p->sort;
    return arc_db_query(db, st, params, n, cols, ITEM_NCOLS, on_item_row, &cb, NULL);
}

enum arc_err
store_items_by_id(arc_db *db, const int64_t *ids, size_t n, item_fn fn, void *ud)
{
    struct arc_db_param params[PER_PAGE_MAX];
    if (n > PER_PAGE_MAX)
        return ARC_INVALID;
    for (size_t i = 0; i < PER_PAGE_MAX; i++)
        params[i] = ARC_DB_P_INT(i < n ? ids[i] : 0); /* no product has id 0 */
    struct arc_db_col cols[ITEM_NCOLS];
    arc_db_cols_init(cols, item_types, ITEM_NCOLS);
    struct item_cb cb = {fn, ud};
    return arc_db_query(db, ST_PAGE, params, PER_PAGE_MAX, cols, ITEM_NCOLS, on_item_row, &cb,
                        NULL);
}

static int
on_facet_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    arc_str slug = arc_db_col_str(&c[0]), name = arc_db_col_str(&c[1]);
    facets_add(ud, c[0].is_null ? NULL : &slug, &name, c[2].i, c[3].i);
    return 0;
}

enum arc_err
store_search_facets(arc_db *db, const struct search_params *p, struct facets *f)
{
    struct arc_db_param params[8];
    struct arc_db_col cols[] = {
        {.type = ARC_DB_STR}, {.type = ARC_DB_STR}, {.type = ARC_DB_INT}, {.type = ARC_DB_INT}};
    int lo, hi;
    if (price_range_bands(p->min_price, p->max_price, &lo, &hi)) {
        params[0] = ARC_DB_P_STR(p->category ? p->category : "");
        params[1] = ARC_DB_P_INT(lo);
        params[2] = ARC_DB_P_INT(hi);
        params[3] = ARC_DB_P_INT(p->in_stock ? 1 : 0);
        return arc_db_query(db, ST_FACETS_SUMMARY, params, 4, cols, ARC_ARRAY_LEN(cols),
                            on_facet_row, f, NULL);
    }
    size_t n = filter_params(p, params);
    return arc_db_query(db, ST_FACETS + (p->category != NULL), params, n, cols, ARC_ARRAY_LEN(cols),
                        on_facet_row, f, NULL);
}

struct match_cb {
    match_fn fn;
    void *ud;
};

static int
on_match_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    const struct match_cb *cb = ud;
    struct match_row m = {
        .id = c[0].i,
        .score = c[1].i,
        .name = arc_db_col_str(&c[2]),
        .price = c[3].i,
        .created = c[4].i,
        .has_category = !c[5].is_null,
        .category_slug = arc_db_col_str(&c[5]),
        .category_name = arc_db_col_str(&c[6]),
        .band = c[7].i,
    };
    cb->fn(cb->ud, &m);
    return 0;
}

enum arc_err
store_search_matches(arc_db *db, const struct search_params *p, match_fn fn, void *ud)
{
    struct arc_db_param params[10];
    size_t n = 0;
    if (p->text.mode == TEXT_NONE)
        return ARC_INVALID;
    if (p->text.mode == TEXT_FT)
        params[n++] = ARC_DB_P_STR(p->text.all); /* the relevance column */
    n += filter_params(p, params + n);
    struct arc_db_col cols[8];
    static const enum arc_db_type types[8] = {ARC_DB_INT, ARC_DB_INT, ARC_DB_STR, ARC_DB_INT,
                                              ARC_DB_INT, ARC_DB_STR, ARC_DB_STR, ARC_DB_INT};
    arc_db_cols_init(cols, types, 8);
    struct match_cb cb = {fn, ud};
    unsigned st = ST_MATCHES + (p->text.mode == TEXT_LIKE) * 2 + (p->category != NULL);
    return arc_db_query(db, st, params, n, cols, 8, on_match_row, &cb, NULL);
}

struct suggest_cb {
    suggest_fn fn;
    void *ud;
};

static int
on_suggest_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    const struct suggest_cb *cb = ud;
    cb->fn(cb->ud, c[0].i, arc_db_col_str(&c[1]));
    return 0;
}

enum arc_err
store_suggest(arc_db *db, const struct text_query *t, suggest_fn fn, void *ud)
{
    struct arc_db_param params[] = {ARC_DB_P_STR(t->all), ARC_DB_P_STR(t->all)};
    struct arc_db_col cols[] = {{.type = ARC_DB_INT}, {.type = ARC_DB_STR}};
    struct suggest_cb cb = {fn, ud};
    return arc_db_query(db, ST_SUGGEST, params, ARC_ARRAY_LEN(params), cols, ARC_ARRAY_LEN(cols),
                        on_suggest_row, &cb, NULL);
}

static int
on_text_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    char *out = ud;
    if (c[0].is_null)
        out[0] = '\0';
    else
        arc_db_col_copy(out, 32, &c[0]);
    return 0;
}

enum arc_err
store_last_change(arc_db *db, char out[32])
{
    struct arc_db_col col = {.type = ARC_DB_STR};
    out[0] = '\0';
    return arc_db_query(db, ST_LAST_CHANGE, NULL, 0, &col, 1, on_text_row, out, NULL);
}

static int
on_generation_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    uint64_t *out = ud;
    out[0] = (uint64_t)c[0].i;
    out[1] = (uint64_t)c[1].i;
    return 0;
}

enum arc_err
store_generation(arc_db *db, uint64_t *epoch, uint64_t *generation)
{
    struct arc_db_col cols[] = {{.type = ARC_DB_INT}, {.type = ARC_DB_INT}};
    uint64_t v[2] = {0, 0};
    enum arc_err e = arc_db_query_row(db, ST_GENERATION, NULL, 0, cols, 2, on_generation_row, v);
    *epoch = v[0];
    *generation = v[1];
    return e;
}

/* ---- applying changes -------------------------------------------------------- */

/* The stored row of a product, compared with the document being applied
 * while it is read (the long text columns are never copied). */
struct stored {
    const struct product_doc *doc;
    int64_t version;
    bool active, in_stock;
    int band;
    char category_slug[SLUG_MAX + 1];
    char category_name[CATEGORY_NAME_MAX * 4 + 1];
    char path[PATH_STR_MAX];
    bool facets_same;  /* it counts in the same facet counters */
    bool rows_same;    /* its product_categories rows stay as they are */
    bool visible_same; /* no search answer can tell the difference */
};

static bool
col_eq(const struct arc_db_col *c, arc_str s)
{
    return !c->is_null && c->len == s.len && memcmp(c->s, s.ptr, s.len) == 0;
}

static int
on_stored_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    struct stored *old = ud;
    const struct product_doc *d = old->doc;
    old->version = c[0].i;
    old->active = c[10].i != 0;
    old->in_stock = c[9].i > 0;
    old->band = price_band(c[4].i);
    arc_db_col_copy(old->category_slug, sizeof old->category_slug, &c[6]);
    arc_db_col_copy(old->category_name, sizeof old->category_name, &c[7]);
    arc_db_col_copy(old->path, sizeof old->path, &c[8]);

    bool category = d->p.has_category
                        ? col_eq(&c[6], d->p.category_slug) && col_eq(&c[7], d->p.category_name)
                        : c[6].is_null;
    bool path = strcmp(old->path, d->path_str) == 0;
    bool stock = old->in_stock == (d->p.stock > 0);
    bool active = old->active == d->p.active;
    /* An inactive product is in no answer, whatever else it holds. */
    old->facets_same =
        active &&
        (!d->p.active || (category && path && stock && old->band == price_band(d->p.price)));
    old->rows_same =
        old->facets_same &&
        (!d->p.active || (c[4].i == d->p.price && strcmp(c[11].s, d->created_at) == 0));
    old->visible_same =
        old->rows_same &&
        (!d->p.active || (col_eq(&c[1], d->p.sku) && col_eq(&c[2], d->p.name) &&
                          col_eq(&c[3], d->p.description) && col_eq(&c[5], d->p.currency)));
    return 0;
}

/* The scopes a product counts in, as a JSON array: '' (everything) and the
 * slugs of path ("a/b"; slugs need no escaping). */
static void
scopes_json(const char *path, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "[\"\"");
    for (const char *p = path; *p && n + 4 < cap;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        n += (size_t)snprintf(out + n, cap - n, ",\"%.*s\"", (int)len, p);
        p += len + (end != NULL);
    }
    snprintf(out + n, cap - n, "]");
}

/* Adds delta to the counters of a product in category slug/name ("" for
 * none), price band band, in stock or not, under every scope of path. */
static enum arc_err
facet_add(arc_db *db, const char *path, arc_str slug, arc_str name, int band, bool in_stock,
          int delta)
{
    char scopes[PATH_STR_MAX + 2 * CATEGORY_PATH_MAX + 8];
    scopes_json(path, scopes, sizeof scopes);
    struct arc_db_param p[] = {
        ARC_DB_P_STRN(slug.ptr, slug.len),
        ARC_DB_P_STRN(name.ptr, name.len),
        ARC_DB_P_INT(band),
        ARC_DB_P_INT(in_stock),
        ARC_DB_P_INT(delta),
        ARC_DB_P_STR(scopes),
    };
    return arc_db_exec(db, ST_FACET_ADD, p, ARC_ARRAY_LEN(p), NULL, NULL);
}

static struct arc_db_param
str_param(arc_str s)
{
    return ARC_DB_P_STRN(s.ptr, s.len);
}

static enum arc_err
write_row(arc_db *db, int64_t version, const struct product_doc *d)
{
    struct arc_db_param row[] = {
        ARC_DB_P_INT(d->p.id),
        str_param(d->p.sku),
        str_param(d->p.name),
        str_param(d->p.description),
        ARC_DB_P_INT(d->p.price),
        str_param(d->p.currency),
        d->p.has_category ? ARC_DB_P_INT(d->p.category_id) : ARC_DB_P_NULL(),
        d->p.has_category ? str_param(d->p.category_slug) : ARC_DB_P_NULL(),
        d->p.has_category ? str_param(d->p.category_name) : ARC_DB_P_NULL(),
        ARC_DB_P_STR(d->path_str),
        ARC_DB_P_INT(d->p.stock),
        ARC_DB_P_INT(d->p.active),
        ARC_DB_P_INT(version),
        ARC_DB_P_STR(d->created_at),
        ARC_DB_P_STR(d->updated_at),
    };
    return arc_db_exec(db, ST_UPSERT, row, ARC_ARRAY_LEN(row), NULL, NULL);
}

/* Replaces the product's product_categories rows (written from its row). */
static enum arc_err
write_categories(arc_db *db, const struct product_doc *d, bool existed)
{
    struct arc_db_param id[] = {ARC_DB_P_INT(d->p.id)};
    enum arc_err e = existed ? arc_db_exec(db, ST_PC_DELETE, id, 1, NULL, NULL) : ARC_OK;
    if (e != ARC_OK || d->p.npath == 0 || !d->p.active)
        return e;
    char slugs[PATH_STR_MAX + 2 * CATEGORY_PATH_MAX + 8];
    size_t n = 0;
    slugs[n++] = '[';
    for (size_t i = 0; i < d->p.npath; i++)
        n += (size_t)snprintf(slugs + n, sizeof slugs - n, "%s\"%.*s\"", i ? "," : "",
                              (int)d->p.path[i].len, d->p.path[i].ptr);
    snprintf(slugs + n, sizeof slugs - n, "]");
    struct arc_db_param pc[] = {ARC_DB_P_STR(slugs), ARC_DB_P_INT(d->p.id)};
    return arc_db_exec(db, ST_PC_INSERT, pc, 2, NULL, NULL);
}

enum arc_err
store_product_apply(arc_db *db, int64_t version, const struct product_doc *d,
                    enum apply_result *result)
{
    struct arc_db_param id[] = {ARC_DB_P_INT(d->p.id)};
    struct arc_db_col cols[12];
    static const enum arc_db_type types[12] = {
        ARC_DB_INT, ARC_DB_STR, ARC_DB_STR, ARC_DB_STR, ARC_DB_INT, ARC_DB_STR,
        ARC_DB_STR, ARC_DB_STR, ARC_DB_STR, ARC_DB_INT, ARC_DB_INT, ARC_DB_STR,
    };
    arc_db_cols_init(cols, types, ARC_ARRAY_LEN(cols));
    struct stored old = {.doc = d};
    uint64_t found = 0;
    *result = APPLY_OLDER;
    enum arc_err e =
        arc_db_query(db, ST_LOCK, id, 1, cols, ARC_ARRAY_LEN(cols), on_stored_row, &old, &found);
    if (e != ARC_OK)
        return e;
    if (found > 0 && old.version >= version)
        return arc_db_exec(db, ST_TOUCH, id, 1, NULL, NULL);

    /* The old counters (read from the old row) go first, the new ones are
     * counted once the row is written. */
    if (found > 0 && old.active && !old.facets_same)
        e = facet_add(db, old.path, (arc_str){old.category_slug, strlen(old.category_slug)},
                      (arc_str){old.category_name, strlen(old.category_name)}, old.band,
                      old.in_stock, -1);
    if (e == ARC_OK)
        e = write_row(db, version, d);
    if (e == ARC_OK && (found == 0 || !old.rows_same))
        e = write_categories(db, d, found > 0);
    if (e == ARC_OK && d->p.active && (found == 0 || !old.facets_same))
        e = facet_add(db, d->path_str, d->p.has_category ? d->p.category_slug : (arc_str){"", 0},
                      d->p.has_category ? d->p.category_name : (arc_str){"", 0},
                      price_band(d->p.price), d->p.stock > 0, 1);
    bool visible = found == 0 ? d->p.active : !old.visible_same;
    if (e == ARC_OK && visible)
        e = arc_db_exec(db, ST_BUMP, NULL, 0, NULL, NULL);
    if (e == ARC_OK)
        *result = visible ? APPLY_VISIBLE : APPLY_INVISIBLE;
    return e;
}

enum arc_err
store_now(arc_db *db, char out[32])
{
    struct arc_db_col col = {.type = ARC_DB_STR};
    out[0] = '\0';
    return arc_db_query(db, ST_NOW, NULL, 0, &col, 1, on_text_row, out, NULL);
}

struct finish_tx {
    const char *before;
    int64_t *removed;
};

static enum arc_err
finish_tx(arc_db *db, void *ud)
{
    const struct finish_tx *a = ud;
    struct arc_db_param p[] = {ARC_DB_P_STR(a->before)};
    uint64_t n = 0;
    enum arc_err e = ARC_OK;
    static const unsigned steps[] = {ST_SWEEP_PC,        ST_SWEEP,           ST_FACETS_CLEAR,
                                     ST_FACETS_FILL_ALL, ST_FACETS_FILL_CAT, ST_BUMP};
    for (size_t i = 0; i < ARC_ARRAY_LEN(steps) && e == ARC_OK; i++) {
        bool swept = steps[i] == ST_SWEEP_PC || steps[i] == ST_SWEEP;
        e = arc_db_exec(db, steps[i], swept ? p : NULL, swept ? 1 : 0,
                        steps[i] == ST_SWEEP ? &n : NULL, NULL);
    }
    *a->removed = e == ARC_OK ? (int64_t)n : 0;
    return e;
}

enum arc_err
store_reindex_finish(arc_db *db, const char *before, int64_t *removed)
{
    struct finish_tx a = {before, removed};
    *removed = 0;
    return arc_db_tx(db, "reindex finish", finish_tx, &a);
}

static int
on_optimize_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    /* Table, Op, Msg_type, Msg_text: "note" (recreate + analyze) and "status" OK. */
    if (c[2].len == 5 && memcmp(c[2].s, "error", 5) == 0) {
        arc_log_error("search: optimize: %.*s", (int)c[3].len, c[3].s);
        *(bool *)ud = false;
    }
    return 0;
}

enum arc_err
store_optimize(arc_db *db)
{
    struct arc_db_col cols[4];
    for (size_t i = 0; i < ARC_ARRAY_LEN(cols); i++)
        cols[i] = (struct arc_db_col){.type = ARC_DB_STR};
    bool ok = true;
    enum arc_err e = arc_db_query(db, ST_OPTIMIZE, NULL, 0, cols, 4, on_optimize_row, &ok, NULL);
    return e == ARC_OK && !ok ? ARC_INTERNAL : e;
}
