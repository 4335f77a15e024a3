/*
 * store.c - all of the search service's SQL. Every statement is prepared
 * once per process (arc_db); values from outside only ever travel as
 * parameters. A search is two statements: the page of items and one GROUP BY
 * for the total and the facets. Each comes in one text per text mode (none,
 * full-text, name prefix) and category filter (none, one), chosen here; the
 * parameters always come in the same order:
 *
 *   [text] [category] min_price max_price min_stock [order] [limit offset]
 */
#include "search.h"

#include <stdio.h>
#include <string.h>

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
#define C_FILTER "c.slug = ? AND c.price BETWEEN ? AND ? AND c.stock >= ?"
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
#define W_LIKE_ALL FROM_P LIKE_NAME " AND " P_FILTER
#define W_LIKE_CAT FROM_C LIKE_NAME " AND " C_FILTER

#define PAGE " LIMIT ? OFFSET ?"
/* Ties go by id, in the direction of the sort, so that each order is one
 * index walk. */
#define BY_NEWEST(t, id) " ORDER BY " t ".created_at DESC, " t "." id " DESC" PAGE
#define BY_PRICE(t, id) " ORDER BY " t ".price, " t "." id PAGE
#define BY_PRICE_DESC(t, id) " ORDER BY " t ".price DESC, " t "." id " DESC" PAGE
/* Name matches weigh four times a match anywhere. */
#define BY_FT_RELEVANCE " ORDER BY " FT_NAME " * 4 + " FT_ALL " DESC, p.id DESC" PAGE
/* Names that start with the words first. */
#define BY_LIKE_RELEVANCE " ORDER BY p.name LIKE ? DESC, p.created_at DESC, p.id DESC" PAGE

/* In the order of enum sort_order: relevance, price, -price, newest. */
#define ITEMS(where, relevance, t, id)                                                             \
    ITEM_COLS where relevance, ITEM_COLS where BY_PRICE(t, id),                                    \
        ITEM_COLS where BY_PRICE_DESC(t, id), ITEM_COLS where BY_NEWEST(t, id)

enum {
    /* + (text mode * 2 + has category) * SORT_COUNT + sort */
    ST_ITEMS,
    /* + text mode * 2 + has category */
    ST_FACETS = ST_ITEMS + TEXT_MODES * 2 * SORT_COUNT,
    ST_SUGGEST = ST_FACETS + TEXT_MODES * 2,
    ST_LAST_CHANGE,
    ST_LOCK,
    ST_UPSERT,
    ST_TOUCH,
    ST_PC_DELETE,
    ST_PC_INSERT,
    ST_NOW,
    ST_SWEEP_PC,
    ST_SWEEP,
    ST_COUNT
};

const char *const search_sql[] = {
    /* Without words, relevance is newest first. */
    ITEMS(W_NONE_ALL, BY_NEWEST("p", "id"), "p", "id"),
    ITEMS(W_NONE_CAT, BY_NEWEST("c", "product_id"), "c", "product_id"),
    ITEMS(W_FT_ALL, BY_FT_RELEVANCE, "p", "id"),
    ITEMS(W_FT_CAT, BY_FT_RELEVANCE, "p", "id"),
    ITEMS(W_LIKE_ALL, BY_LIKE_RELEVANCE, "p", "id"),
    ITEMS(W_LIKE_CAT, BY_LIKE_RELEVANCE, "c", "product_id"),
    FACET_COLS("p") W_NONE_ALL FACET_GROUP("p"),
    FACET_COLS("c") "FROM product_categories c WHERE " C_FILTER FACET_GROUP("c"),
    FACET_COLS("p") W_FT_ALL FACET_GROUP("p"),
    FACET_COLS("p") W_FT_CAT FACET_GROUP("p"),
    FACET_COLS("p") W_LIKE_ALL FACET_GROUP("p"),
    FACET_COLS("p") W_LIKE_CAT FACET_GROUP("p"),
    [ST_SUGGEST] = "SELECT p.id, p.name FROM products p WHERE " FT_NAME " AND p.active = 1 "
                   "ORDER BY " FT_NAME " DESC, p.id DESC LIMIT " STR(SUGGEST_MAX),
    [ST_LAST_CHANGE] = "SELECT CONCAT(DATE_FORMAT(MAX(synced_at), '%Y-%m-%dT%H:%i:%s.'), "
                       "LPAD(MICROSECOND(MAX(synced_at)) DIV 1000, 3, '0'), 'Z') FROM products",
    [ST_LOCK] = "SELECT version FROM products WHERE id = ? FOR UPDATE",
    [ST_UPSERT] = "INSERT INTO products (id, sku, name, description, price, currency, category_id, "
                  "category_slug, category_name, stock, active, version, created_at, updated_at, "
                  "synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6)) "
                  "ON DUPLICATE KEY UPDATE sku = VALUES(sku), name = VALUES(name), "
                  "description = VALUES(description), price = VALUES(price), "
                  "currency = VALUES(currency), category_id = VALUES(category_id), "
                  "category_slug = VALUES(category_slug), category_name = VALUES(category_name), "
                  "stock = VALUES(stock), active = VALUES(active), version = VALUES(version), "
                  "created_at = VALUES(created_at), updated_at = VALUES(updated_at), "
                  "synced_at = VALUES(synced_at)",
    [ST_TOUCH] = "UPDATE products SET synced_at = UTC_TIMESTAMP(6) WHERE id = ?",
    [ST_PC_DELETE] = "DELETE FROM product_categories WHERE product_id = ?",
    /* One row per slug of the path (a JSON array of slugs), copied from the
     * product row just written. */
    [ST_PC_INSERT] = "INSERT INTO product_categories (slug, product_id, price, stock, created_at, "
                     "category_slug, category_name) SELECT DISTINCT j.slug, p.id, p.price, "
                     "p.stock, p.created_at, p.category_slug, p.category_name FROM products p "
                     "JOIN JSON_TABLE(?, '$[*]' COLUMNS (slug VARCHAR(64) CHARACTER SET ascii "
                     "PATH '$')) j WHERE p.id = ? AND p.active = 1",
    [ST_NOW] = "SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%d %H:%i:%s.%f')",
    [ST_SWEEP_PC] = "DELETE c FROM product_categories c JOIN products p ON p.id = c.product_id "
                    "WHERE p.synced_at < ?",
    [ST_SWEEP] = "DELETE FROM products WHERE synced_at < ?",
};
const size_t search_nsql = ARC_ARRAY_LEN(search_sql);
_Static_assert(ARC_ARRAY_LEN(search_sql) == ST_COUNT, "one SQL text per statement");

/* How many times a transaction runs when it hits a deadlock or lock timeout. */
#define TX_ATTEMPTS 3

/* ---- searching ------------------------------------------------------------- */

static unsigned
variant(const struct search_params *p)
{
    return (unsigned)p->text.mode * 2 + (p->category != NULL);
}

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
    struct arc_db_param params[12];
    size_t n = filter_params(p, params);
    if (p->sort == SORT_RELEVANCE && p->text.mode == TEXT_FT) {
        params[n++] = ARC_DB_P_STR(p->text.name);
        params[n++] = ARC_DB_P_STR(p->text.all);
    } else if (p->sort == SORT_RELEVANCE && p->text.mode == TEXT_LIKE) {
        params[n++] = ARC_DB_P_STR(p->text.starts);
    }
    params[n++] = ARC_DB_P_INT(p->limit);
    params[n++] = ARC_DB_P_INT(p->offset);
    struct arc_db_col cols[] = {
        {.type = ARC_DB_INT}, {.type = ARC_DB_STR}, {.type = ARC_DB_STR}, {.type = ARC_DB_INT},
        {.type = ARC_DB_STR}, {.type = ARC_DB_STR}, {.type = ARC_DB_STR}, {.type = ARC_DB_INT},
    };
    struct item_cb cb = {fn, ud};
    unsigned st = ST_ITEMS + variant(p) * SORT_COUNT + (unsigned)p->sort;
    return arc_db_query(db, st, params, n, cols, ARC_ARRAY_LEN(cols), on_item_row, &cb, NULL);
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
    size_t n = filter_params(p, params);
    struct arc_db_col cols[] = {
        {.type = ARC_DB_STR}, {.type = ARC_DB_STR}, {.type = ARC_DB_INT}, {.type = ARC_DB_INT}};
    return arc_db_query(db, ST_FACETS + variant(p), params, n, cols, ARC_ARRAY_LEN(cols),
                        on_facet_row, f, NULL);
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

/* ---- applying changes -------------------------------------------------------- */

static int
on_version_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    *(int64_t *)ud = c[0].i;
    return 0;
}

/* The slugs of doc's path as a JSON array (slugs need no escaping). */
static void
path_json(const struct product_doc *doc, char *out, size_t cap)
{
    size_t n = 0;
    out[n++] = '[';
    for (size_t i = 0; i < doc->npath; i++) {
        int k = snprintf(out + n, cap - n, "%s\"%.*s\"", i ? "," : "", (int)doc->path[i].len,
                         doc->path[i].ptr);
        if (k < 0 || (size_t)k >= cap - n)
            break;
        n += (size_t)k;
    }
    snprintf(out + n, cap - n, "]");
}

static struct arc_db_param
str_param(arc_str s)
{
    return ARC_DB_P_STRN(s.ptr, s.len);
}

enum arc_err
store_product_apply(arc_db *db, int64_t version, const struct product_doc *doc, bool *applied)
{
    struct arc_db_param id[] = {ARC_DB_P_INT(doc->id)};
    struct arc_db_col col = {.type = ARC_DB_INT};
    int64_t stored = 0;
    uint64_t found = 0;
    *applied = false;
    enum arc_err e = arc_db_query(db, ST_LOCK, id, 1, &col, 1, on_version_row, &stored, &found);
    if (e != ARC_OK)
        return e;
    if (found > 0 && stored >= version)
        return arc_db_exec(db, ST_TOUCH, id, 1, NULL, NULL);

    struct arc_db_param row[] = {
        ARC_DB_P_INT(doc->id),
        str_param(doc->sku),
        str_param(doc->name),
        str_param(doc->description),
        ARC_DB_P_INT(doc->price),
        str_param(doc->currency),
        doc->has_category ? ARC_DB_P_INT(doc->category_id) : ARC_DB_P_NULL(),
        doc->has_category ? str_param(doc->category_slug) : ARC_DB_P_NULL(),
        doc->has_category ? str_param(doc->category_name) : ARC_DB_P_NULL(),
        ARC_DB_P_INT(doc->stock),
        ARC_DB_P_INT(doc->active),
        ARC_DB_P_INT(version),
        ARC_DB_P_STR(doc->created_at),
        ARC_DB_P_STR(doc->updated_at),
    };
    e = arc_db_exec(db, ST_UPSERT, row, ARC_ARRAY_LEN(row), NULL, NULL);
    if (e == ARC_OK)
        e = arc_db_exec(db, ST_PC_DELETE, id, 1, NULL, NULL);
    if (e == ARC_OK && doc->npath > 0 && doc->active) {
        char path[CATEGORY_PATH_MAX * (SLUG_MAX + 3) + 3];
        path_json(doc, path, sizeof path);
        struct arc_db_param pc[] = {ARC_DB_P_STR(path), ARC_DB_P_INT(doc->id)};
        e = arc_db_exec(db, ST_PC_INSERT, pc, 2, NULL, NULL);
    }
    *applied = e == ARC_OK;
    return e;
}

enum arc_err
store_now(arc_db *db, char out[32])
{
    struct arc_db_col col = {.type = ARC_DB_STR};
    out[0] = '\0';
    return arc_db_query(db, ST_NOW, NULL, 0, &col, 1, on_text_row, out, NULL);
}

static enum arc_err
sweep_once(arc_db *db, const char *before, int64_t *removed)
{
    struct arc_db_param p[] = {ARC_DB_P_STR(before)};
    uint64_t n = 0;
    enum arc_err e = arc_db_begin(db);
    if (e != ARC_OK)
        return e;
    e = arc_db_exec(db, ST_SWEEP_PC, p, 1, NULL, NULL);
    if (e == ARC_OK)
        e = arc_db_exec(db, ST_SWEEP, p, 1, &n, NULL);
    if (e == ARC_OK) {
        *removed = (int64_t)n;
        return arc_db_commit(db);
    }
    arc_db_rollback(db);
    return e;
}

enum arc_err
store_sweep(arc_db *db, const char *before, int64_t *removed)
{
    enum arc_err e = ARC_RETRY;
    *removed = 0;
    for (int i = 0; i < TX_ATTEMPTS && e == ARC_RETRY; i++)
        e = sweep_once(db, before, removed);
    return e;
}
