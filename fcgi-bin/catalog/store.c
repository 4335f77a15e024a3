/*
 * store.c - all of the catalog's SQL. Every statement is prepared once per
 * process (arc_db); values from outside only ever travel as parameters.
 */
#include "catalog.h"

#include <arcade/ident.h>
#include <arcade/outbox.h>

#include <stdio.h>
#include <string.h>

/* RFC 3339 UTC with milliseconds from a DATETIME(3) kept in UTC. */
#define TS(col)                                                                                    \
    "CONCAT(DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%s.'), LPAD(MICROSECOND(" col                     \
    ") DIV 1000, 3, '0'), 'Z')"
#define PRODUCT_SELECT                                                                             \
    "SELECT p.id, p.sku, p.name, p.description, p.price, p.currency, p.category_id, c.slug, "      \
    "c.name, p.on_hand - p.reserved, p.active, p.version, " TS("p.created_at") ", " TS(            \
        "p.updated_at") " FROM products p LEFT JOIN categories c ON c.id = p.category_id "
/* The product as events and the export carry it: PRODUCT_SELECT's columns and
 * the slugs of its category's chain, root first, space-separated. */
#define EVENT_SELECT                                                                               \
    "SELECT p.id, p.sku, p.name, p.description, p.price, p.currency, p.category_id, c.slug, "      \
    "c.name, p.on_hand - p.reserved, p.active, p.version, " TS("p.created_at") ", " TS(            \
        "p.updated_at") ", (SELECT GROUP_CONCAT(a.slug ORDER BY LENGTH(a.path) SEPARATOR ' ') "    \
                        "FROM categories a WHERE c.path LIKE CONCAT(a.path, '%')) "                \
                        "FROM products p LEFT JOIN categories c ON c.id = p.category_id "
#define LIST_ALL PRODUCT_SELECT "WHERE p.active = 1 ORDER BY "
#define LIST_CAT PRODUCT_SELECT "WHERE p.active = 1 AND c.path LIKE ? ORDER BY "
#define PAGE " LIMIT ? OFFSET ?"

enum {
    ST_PRODUCT_GET,
    ST_LIST_ALL, /* + enum product_sort */
    ST_LIST_CAT = ST_LIST_ALL + SORT_COUNT,
    ST_COUNT_ALL = ST_LIST_CAT + SORT_COUNT,
    ST_COUNT_CAT,
    ST_PRODUCT_INSERT,
    ST_PRODUCT_LOCK,
    ST_PRODUCT_UPDATE,
    ST_INVENTORY_SET,
    ST_PRODUCT_DEACTIVATE,
    ST_CATEGORY_FIND,
    ST_CATEGORY_ALL,
    ST_CATEGORY_CHILDREN,
    ST_CATEGORY_INSERT,
    ST_CATEGORY_SET_PATH,
    ST_PRODUCT_EVENT,
    ST_PRODUCT_EXPORT,
    ST_OUTBOX_ADD,
    ST_OUTBOX_BACKLOG,
    /* the stock saga (saga.c) */
    ST_INVENTORY_GET,
    ST_ORDER_STOCK_UPSERT,
    ST_ORDER_STOCK_LOCK,
    ST_ORDER_STOCK_SET,
    ST_STOCK_LOCK,
    ST_STOCK_MOVE, /* + enum stock_move */
    ST_RESERVATION_INSERT = ST_STOCK_MOVE + STOCK_MOVE_COUNT,
    ST_RESERVATION_LINES,
    ST_RESERVATION_SET,
    ST_COUNT
};

#define BUMP ", version = version + 1, updated_at = CURRENT_TIMESTAMP(3) WHERE id = ? "
/* Each parameter list: the quantity as often as it appears, then the id, then
 * the quantity again for the guard. The guards are the stock rules themselves,
 * so a statement whose guard fails changes nothing (affected 0). */

/* The order of enum product_sort; ties always go by id, ascending. */
#define ORDERS(prefix)                                                                             \
    prefix "p.created_at, p.id" PAGE, prefix "p.created_at DESC, p.id" PAGE,                       \
        prefix "p.name, p.id" PAGE, prefix "p.name DESC, p.id" PAGE, prefix "p.price, p.id" PAGE,  \
        prefix "p.price DESC, p.id" PAGE

const char *const catalog_sql[] = {
    [ST_PRODUCT_GET] = PRODUCT_SELECT "WHERE p.id = ?",
    ORDERS(LIST_ALL),
    ORDERS(LIST_CAT),
    [ST_COUNT_ALL] = "SELECT COUNT(*) FROM products p WHERE p.active = 1",
    [ST_COUNT_CAT] = "SELECT COUNT(*) FROM products p JOIN categories c ON c.id = p.category_id "
                     "WHERE p.active = 1 AND c.path LIKE ?",
    [ST_PRODUCT_INSERT] = "INSERT INTO products (sku, name, description, price, currency, "
                          "category_id, on_hand, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    [ST_PRODUCT_LOCK] = "SELECT version, reserved FROM products WHERE id = ? FOR UPDATE",
    [ST_PRODUCT_UPDATE] = "UPDATE products SET sku = IF(?, ?, sku), name = IF(?, ?, name), "
                          "description = IF(?, ?, description), price = IF(?, ?, price), "
                          "currency = IF(?, ?, currency), category_id = IF(?, ?, category_id), "
                          "active = IF(?, ?, active), version = version + 1, "
                          "updated_at = CURRENT_TIMESTAMP(3) WHERE id = ?",
    [ST_INVENTORY_SET] = "UPDATE products SET on_hand = ?, version = version + 1, "
                         "updated_at = CURRENT_TIMESTAMP(3) WHERE id = ? AND reserved <= ?",
    [ST_PRODUCT_DEACTIVATE] = "UPDATE products SET active = 0, version = version + 1, "
                              "updated_at = CURRENT_TIMESTAMP(3) WHERE id = ? AND active = 1",
    [ST_CATEGORY_FIND] = "SELECT c.id, COALESCE(c.parent_id, 0), c.slug, c.name, "
                         "COALESCE(p.slug, ''), c.path FROM categories c "
                         "LEFT JOIN categories p ON p.id = c.parent_id WHERE c.slug = ?",
    [ST_CATEGORY_ALL] = "SELECT id, COALESCE(parent_id, 0), slug, name FROM categories "
                        "ORDER BY name, id",
    [ST_CATEGORY_CHILDREN] = "SELECT id, parent_id, slug, name FROM categories "
                             "WHERE parent_id = ? ORDER BY name, id",
    [ST_CATEGORY_INSERT] = "INSERT INTO categories (slug, name, parent_id) VALUES (?, ?, ?)",
    [ST_CATEGORY_SET_PATH] = "UPDATE categories SET path = CONCAT(?, id, '/') WHERE id = ?",
    [ST_PRODUCT_EVENT] = EVENT_SELECT "WHERE p.id = ?",
    [ST_PRODUCT_EXPORT] = EVENT_SELECT "WHERE p.id > ? ORDER BY p.id LIMIT ?",
    [ST_OUTBOX_ADD] = ARC_OUTBOX_INSERT_SQL,
    [ST_OUTBOX_BACKLOG] = ARC_OUTBOX_BACKLOG_SQL,
    [ST_INVENTORY_GET] = "SELECT on_hand, reserved, sold FROM products WHERE id = ?",
    [ST_ORDER_STOCK_UPSERT] = "INSERT INTO order_stock (order_id, state) VALUES (?, 'new') "
                              "ON DUPLICATE KEY UPDATE updated_at = updated_at",
    [ST_ORDER_STOCK_LOCK] = "SELECT state + 0 - 1 FROM order_stock WHERE order_id = ? FOR UPDATE",
    [ST_ORDER_STOCK_SET] = "UPDATE order_stock SET state = ?, updated_at = CURRENT_TIMESTAMP(3) "
                           "WHERE order_id = ?",
    [ST_STOCK_LOCK] = "SELECT active, on_hand - reserved FROM products WHERE id = ? FOR UPDATE",
    [ST_STOCK_MOVE + STOCK_RESERVE] = "UPDATE products SET reserved = reserved + ?" BUMP
                                      "AND active = 1 AND on_hand - reserved >= ?",
    [ST_STOCK_MOVE + STOCK_COMMIT] =
        "UPDATE products SET reserved = reserved - ?, "
        "on_hand = on_hand - ?, sold = sold + ?" BUMP "AND reserved >= ?",
    [ST_STOCK_MOVE + STOCK_RELEASE] =
        "UPDATE products SET reserved = reserved - ?" BUMP "AND reserved >= ?",
    [ST_STOCK_MOVE + STOCK_RETURN] = "UPDATE products SET on_hand = on_hand + ?, "
                                     "sold = sold - ?" BUMP "AND sold >= ?",
    [ST_RESERVATION_INSERT] = "INSERT INTO reservations (order_id, product_id, quantity, state) "
                              "VALUES (?, ?, ?, 'held')",
    [ST_RESERVATION_LINES] = "SELECT product_id, quantity FROM reservations "
                             "WHERE order_id = ? AND state = ? ORDER BY product_id",
    [ST_RESERVATION_SET] = "UPDATE reservations SET state = ?, updated_at = CURRENT_TIMESTAMP(3) "
                           "WHERE order_id = ? AND state = ?",
};
const size_t catalog_nsql = ARC_ARRAY_LEN(catalog_sql);
_Static_assert(ARC_ARRAY_LEN(catalog_sql) == ST_COUNT, "one SQL text per statement");

/* ---- products -------------------------------------------------------------- */

#define PRODUCT_NCOLS 14
#define EVENT_NCOLS 15
static const enum arc_db_type product_types[EVENT_NCOLS] = {
    ARC_DB_INT, ARC_DB_STR, ARC_DB_STR, ARC_DB_STR, ARC_DB_INT, ARC_DB_STR, ARC_DB_INT, ARC_DB_STR,
    ARC_DB_STR, ARC_DB_INT, ARC_DB_INT, ARC_DB_INT, ARC_DB_STR, ARC_DB_STR, ARC_DB_STR,
};

struct product_cb {
    product_fn fn;
    void *ud;
};

static int
on_product_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    const struct product_cb *cb = ud;
    struct product_view p = {
        .doc.id = c[0].i,
        .doc.sku = arc_db_col_str(&c[1]),
        .doc.name = arc_db_col_str(&c[2]),
        .doc.description = arc_db_col_str(&c[3]),
        .doc.price = c[4].i,
        .doc.currency = arc_db_col_str(&c[5]),
        .doc.has_category = !c[6].is_null,
        .doc.category_id = c[6].i,
        .doc.category_slug = arc_db_col_str(&c[7]),
        .doc.category_name = arc_db_col_str(&c[8]),
        .doc.stock = c[9].i,
        .doc.active = c[10].i != 0,
        .version = c[11].i,
        .doc.created_at = arc_db_col_str(&c[12]),
        .doc.updated_at = arc_db_col_str(&c[13]),
    };
    if (ncols == EVENT_NCOLS)
        p.category_path = arc_db_col_str(&c[14]);
    cb->fn(cb->ud, &p);
    return 0;
}

enum arc_err
store_product_get(arc_db *db, int64_t id, product_fn fn, void *ud)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(id)};
    struct arc_db_col cols[PRODUCT_NCOLS];
    struct product_cb cb = {fn, ud};
    arc_db_cols_init(cols, product_types, PRODUCT_NCOLS);
    return arc_db_query_row(db, ST_PRODUCT_GET, p, 1, cols, PRODUCT_NCOLS, on_product_row, &cb);
}

enum arc_err
store_product_list(arc_db *db, const char *category_path, enum product_sort sort, int64_t limit,
                   int64_t offset, product_fn fn, void *ud, int64_t *total)
{
    char like[260];
    struct arc_db_param p[3];
    size_t np = 0;
    if (category_path != NULL) {
        /* Paths hold only digits and '/', never a LIKE wildcard. */
        snprintf(like, sizeof like, "%s%%", category_path);
        p[np++] = ARC_DB_P_STR(like);
    }
    struct arc_db_col count = {.type = ARC_DB_INT};
    *total = 0;
    enum arc_err e = arc_db_query(db, category_path ? ST_COUNT_CAT : ST_COUNT_ALL, p, np, &count, 1,
                                  arc_db_row_int, total, NULL);
    if (e != ARC_OK || *total <= offset)
        return e;

    p[np++] = ARC_DB_P_INT(limit);
    p[np++] = ARC_DB_P_INT(offset);
    struct arc_db_col cols[PRODUCT_NCOLS];
    struct product_cb cb = {fn, ud};
    arc_db_cols_init(cols, product_types, PRODUCT_NCOLS);
    unsigned st = (category_path ? ST_LIST_CAT : ST_LIST_ALL) + (unsigned)sort;
    return arc_db_query(db, st, p, np, cols, PRODUCT_NCOLS, on_product_row, &cb, NULL);
}

/* ---- events ------------------------------------------------------------------ */

/* The product as the write left it: the answer (w->doc, w->version) and the
 * event's data (w->data). */
static void
on_event_product(void *ud, const struct product_view *p)
{
    struct store_writer *w = ud;
    arc_buf_reset(w->doc);
    arc_product_render(&p->doc, w->doc);
    w->version = p->version;
    arc_buf_reset(w->data);
    arc_buf_append(w->data, w->doc->ptr, w->doc->len);
    product_add_category_path(p, w->data);
}

/* Inside the write's transaction: the product as it is now, as event type,
 * into the outbox. */
static enum arc_err
emit(struct store_writer *w, int64_t id, const char *type)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(id)};
    struct arc_db_col cols[EVENT_NCOLS];
    struct product_cb cb = {on_event_product, w};
    uint64_t n = 0;
    arc_db_cols_init(cols, product_types, EVENT_NCOLS);
    enum arc_err e =
        arc_db_query(w->db, ST_PRODUCT_EVENT, p, 1, cols, EVENT_NCOLS, on_product_row, &cb, &n);
    if (e != ARC_OK)
        return e;
    if (n == 0)
        return ARC_INTERNAL; /* written in this very transaction */
    char key[32];
    snprintf(key, sizeof key, "product:%lld", (long long)id);
    const struct arc_event ev = {
        .type = type,
        .source = "catalog",
        .key = key,
        .version = w->version,
        .data = {w->data->ptr, w->data->len},
        .trace = w->trace,
    };
    return arc_outbox_add(w->db, ST_OUTBOX_ADD, &ev, w->envelope);
}

enum arc_err
store_product_export(arc_db *db, int64_t after, int64_t limit, product_fn fn, void *ud)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(after), ARC_DB_P_INT(limit)};
    struct arc_db_col cols[EVENT_NCOLS];
    struct product_cb cb = {fn, ud};
    arc_db_cols_init(cols, product_types, EVENT_NCOLS);
    return arc_db_query(db, ST_PRODUCT_EXPORT, p, 2, cols, EVENT_NCOLS, on_product_row, &cb, NULL);
}

enum arc_err
store_outbox_backlog(arc_db *db, int64_t *rows, int64_t *oldest_ms)
{
    return arc_outbox_backlog(db, ST_OUTBOX_BACKLOG, rows, oldest_ms);
}

/* ---- product writes: each one transaction with its event -------------------- */

static struct arc_db_param
opt_category(const struct product_input *in)
{
    return in->category_id > 0 ? ARC_DB_P_INT(in->category_id) : ARC_DB_P_NULL();
}

struct create_tx {
    struct store_writer *w;
    const struct product_input *in;
    int64_t *id;
};

static enum arc_err
create_tx(arc_db *db, void *ud)
{
    const struct create_tx *a = ud;
    struct store_writer *w = a->w;
    const struct product_input *in = a->in;
    int64_t *id = a->id;
    struct arc_db_param p[] = {
        ARC_DB_P_STRN(in->sku.ptr, in->sku.len),
        ARC_DB_P_STRN(in->name.ptr, in->name.len),
        ARC_DB_P_STRN(in->description.ptr, in->description.len),
        ARC_DB_P_INT(in->price),
        ARC_DB_P_STRN(in->currency.ptr, in->currency.len),
        opt_category(in),
        ARC_DB_P_INT(in->on_hand),
        ARC_DB_P_INT((in->set & F_ACTIVE) ? in->active : true),
    };
    uint64_t insert_id = 0;
    enum arc_err e = arc_db_exec(db, ST_PRODUCT_INSERT, p, ARC_ARRAY_LEN(p), NULL, &insert_id);
    *id = (int64_t)insert_id;
    if (e == ARC_OK)
        e = emit(w, *id, "product.created");
    return e;
}

enum arc_err
store_product_create(struct store_writer *w, const struct product_input *in, int64_t *id)
{
    struct create_tx a = {w, in, id};
    return arc_db_tx(w->db, "product create", create_tx, &a);
}

struct lock_row {
    int64_t version;
    int64_t reserved;
};

static int
on_lock_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    struct lock_row *row = ud;
    row->version = c[0].i;
    row->reserved = c[1].i;
    return 0;
}

/* Locks product id for the rest of the transaction and reads its version. */
static enum arc_err
lock_product(arc_db *db, int64_t id, struct lock_row *row)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(id)};
    struct arc_db_col cols[] = {{.type = ARC_DB_INT}, {.type = ARC_DB_INT}};
    return arc_db_query_row(db, ST_PRODUCT_LOCK, p, 1, cols, 2, on_lock_row, row);
}

/* The request's preconditions (w->pc) on the row lock_product read. */
static bool
precond_holds(const struct store_writer *w, int64_t id, const struct lock_row *row)
{
    char etag[48];
    size_t len = product_etag(id, row->version, etag, sizeof etag);
    return arc_precond_holds(w->pc, etag, len);
}

/* Inside the write's transaction: when the request has preconditions, locks
 * product id for the rest of it and sets w->precondition_failed when they do
 * not hold. Without any, reads nothing. ARC_NOT_FOUND for an unknown product. */
static enum arc_err
check_precond(struct store_writer *w, int64_t id)
{
    struct lock_row row;
    w->precondition_failed = false;
    if (!arc_precond_present(w->pc))
        return ARC_OK;
    enum arc_err e = lock_product(w->db, id, &row);
    if (e == ARC_OK)
        w->precondition_failed = !precond_holds(w, id, &row);
    return e;
}

static struct arc_db_param
flag(const struct product_input *in, unsigned f)
{
    return ARC_DB_P_INT((in->set & f) != 0);
}

struct update_tx {
    struct store_writer *w;
    int64_t id;
    const struct product_input *in;
};

static enum arc_err
update_tx(arc_db *db, void *ud)
{
    const struct update_tx *a = ud;
    struct store_writer *w = a->w;
    int64_t id = a->id;
    const struct product_input *in = a->in;
    struct lock_row row;
    enum arc_err e = lock_product(db, id, &row);
    if (e != ARC_OK)
        return e;
    w->precondition_failed = !precond_holds(w, id, &row);
    if (w->precondition_failed)
        return ARC_OK; /* nothing written: the commit ends the lock */
    struct arc_db_param p[] = {
        flag(in, F_SKU),         ARC_DB_P_STRN(in->sku.ptr, in->sku.len),
        flag(in, F_NAME),        ARC_DB_P_STRN(in->name.ptr, in->name.len),
        flag(in, F_DESCRIPTION), ARC_DB_P_STRN(in->description.ptr, in->description.len),
        flag(in, F_PRICE),       ARC_DB_P_INT(in->price),
        flag(in, F_CURRENCY),    ARC_DB_P_STRN(in->currency.ptr, in->currency.len),
        flag(in, F_CATEGORY),    opt_category(in),
        flag(in, F_ACTIVE),      ARC_DB_P_INT(in->active),
        ARC_DB_P_INT(id),
    };
    e = arc_db_exec(db, ST_PRODUCT_UPDATE, p, ARC_ARRAY_LEN(p), NULL, NULL);
    if (e == ARC_OK)
        e = emit(w, id, "product.updated");
    return e;
}

enum arc_err
store_product_update(struct store_writer *w, int64_t id, const struct product_input *in)
{
    struct update_tx a = {w, id, in};
    return arc_db_tx(w->db, "product update", update_tx, &a);
}

/* After a conditional update touched no row: ARC_NOT_FOUND for an unknown
 * product, else ARC_OK (the condition did not hold). */
static enum arc_err
exists(arc_db *db, int64_t id)
{
    struct lock_row row;
    return lock_product(db, id, &row);
}

struct inventory_tx {
    struct store_writer *w;
    int64_t id, on_hand;
    bool *below_reserved;
};

static enum arc_err
inventory_tx(arc_db *db, void *ud)
{
    const struct inventory_tx *a = ud;
    /* One conditional statement: the reserved count is never read into C and
     * written back, so a concurrent reservation cannot be lost. */
    struct arc_db_param p[] = {ARC_DB_P_INT(a->on_hand), ARC_DB_P_INT(a->id),
                               ARC_DB_P_INT(a->on_hand)};
    uint64_t affected = 0;
    *a->below_reserved = false;
    enum arc_err e = check_precond(a->w, a->id);
    if (e != ARC_OK || a->w->precondition_failed)
        return e;
    e = arc_db_exec(db, ST_INVENTORY_SET, p, 3, &affected, NULL);
    if (e == ARC_OK && affected == 1)
        return emit(a->w, a->id, "inventory.changed");
    if (e == ARC_OK) {
        /* Unknown product, or on_hand below what is reserved (nothing written). */
        e = exists(db, a->id);
        *a->below_reserved = e == ARC_OK;
    }
    return e;
}

enum arc_err
store_inventory_set(struct store_writer *w, int64_t id, int64_t on_hand, bool *below_reserved)
{
    struct inventory_tx a = {w, id, on_hand, below_reserved};
    return arc_db_tx(w->db, "inventory set", inventory_tx, &a);
}

struct deactivate_tx {
    struct store_writer *w;
    int64_t id;
};

static enum arc_err
deactivate_tx(arc_db *db, void *ud)
{
    const struct deactivate_tx *a = ud;
    struct arc_db_param p[] = {ARC_DB_P_INT(a->id)};
    uint64_t affected = 0;
    enum arc_err e = check_precond(a->w, a->id);
    if (e != ARC_OK || a->w->precondition_failed)
        return e;
    e = arc_db_exec(db, ST_PRODUCT_DEACTIVATE, p, 1, &affected, NULL);
    if (e == ARC_OK && affected == 1)
        return emit(a->w, a->id, "product.deleted");
    if (e == ARC_OK)
        e = exists(db, a->id); /* already inactive (still 204, no event) or unknown */
    return e;
}

enum arc_err
store_product_deactivate(struct store_writer *w, int64_t id)
{
    struct deactivate_tx a = {w, id};
    return arc_db_tx(w->db, "product deactivate", deactivate_tx, &a);
}

/* ---- categories ------------------------------------------------------------ */

static int
on_category_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    struct category_row *row = ud;
    row->id = c[0].i;
    row->parent_id = c[1].i;
    arc_db_col_copy(row->slug, sizeof row->slug, &c[2]);
    arc_db_col_copy(row->name, sizeof row->name, &c[3]);
    arc_db_col_copy(row->parent_slug, sizeof row->parent_slug, &c[4]);
    arc_db_col_copy(row->path, sizeof row->path, &c[5]);
    return 0;
}

enum arc_err
store_category_find(arc_db *db, const char *slug, size_t len, struct category_row *out)
{
    if (!arc_slug_valid(slug, len))
        return ARC_NOT_FOUND; /* no category has such a slug */
    struct arc_db_param p[] = {ARC_DB_P_STRN(slug, len)};
    struct arc_db_col cols[] = {{.type = ARC_DB_INT}, {.type = ARC_DB_INT}, {.type = ARC_DB_STR},
                                {.type = ARC_DB_STR}, {.type = ARC_DB_STR}, {.type = ARC_DB_STR}};
    return arc_db_query_row(db, ST_CATEGORY_FIND, p, 1, cols, ARC_ARRAY_LEN(cols), on_category_row,
                            out);
}

struct category_cb {
    category_fn fn;
    void *ud;
};

static int
on_category_item(void *ud, const struct arc_db_col *c, size_t ncols)
{
    const struct category_cb *cb = ud;
    cb->fn(cb->ud, c[0].i, c[1].i, arc_db_col_str(&c[2]), arc_db_col_str(&c[3]));
    return 0;
}

static enum arc_err
category_items(arc_db *db, unsigned st, const struct arc_db_param *p, size_t np, category_fn fn,
               void *ud)
{
    struct arc_db_col cols[] = {
        {.type = ARC_DB_INT}, {.type = ARC_DB_INT}, {.type = ARC_DB_STR}, {.type = ARC_DB_STR}};
    struct category_cb cb = {fn, ud};
    return arc_db_query(db, st, p, np, cols, ARC_ARRAY_LEN(cols), on_category_item, &cb, NULL);
}

enum arc_err
store_category_all(arc_db *db, category_fn fn, void *ud)
{
    return category_items(db, ST_CATEGORY_ALL, NULL, 0, fn, ud);
}

enum arc_err
store_category_children(arc_db *db, int64_t parent_id, category_fn fn, void *ud)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(parent_id)};
    return category_items(db, ST_CATEGORY_CHILDREN, p, 1, fn, ud);
}

struct category_create_tx {
    arc_str slug, name;
    const struct category_row *parent;
    int64_t *id;
};

static enum arc_err
category_create_tx(arc_db *db, void *ud)
{
    const struct category_create_tx *a = ud;
    struct arc_db_param ins[] = {ARC_DB_P_STRN(a->slug.ptr, a->slug.len),
                                 ARC_DB_P_STRN(a->name.ptr, a->name.len),
                                 a->parent ? ARC_DB_P_INT(a->parent->id) : ARC_DB_P_NULL()};
    uint64_t insert_id = 0;
    enum arc_err e = arc_db_exec(db, ST_CATEGORY_INSERT, ins, 3, NULL, &insert_id);
    if (e != ARC_OK)
        return e;
    struct arc_db_param path[] = {ARC_DB_P_STR(a->parent ? a->parent->path : "/"),
                                  ARC_DB_P_INT(insert_id)};
    e = arc_db_exec(db, ST_CATEGORY_SET_PATH, path, 2, NULL, NULL);
    if (e == ARC_OK)
        *a->id = (int64_t)insert_id;
    return e;
}

enum arc_err
store_category_create(arc_db *db, arc_str slug, arc_str name, const struct category_row *parent,
                      int64_t *id)
{
    struct category_create_tx a = {slug, name, parent, id};
    return arc_db_tx(db, "category create", category_create_tx, &a);
}

/* ---- the stock saga (saga.c): statements of one consumer transaction -------- */

/* Every column of one row of integers into (int64_t *)ud. */
static int
row_ints(void *ud, const struct arc_db_col *c, size_t ncols)
{
    int64_t *v = ud;
    for (size_t i = 0; i < ncols; i++)
        v[i] = c[i].i;
    return 0;
}

/* The order of the ENUM in sql/catalog/0004_create_order_stock.sql. */
static const char *const order_state_names[ORDER_STATE_COUNT] = {
    [ORDER_NONE] = "new",
    [ORDER_HELD] = "held",
    [ORDER_REJECTED] = "rejected",
    [ORDER_SOLD] = "sold",
    [ORDER_RELEASED] = "released",
    [ORDER_RETURNED] = "returned",
    [ORDER_CANCELLED] = "cancelled",
};

const char *
order_state_name(enum order_state s)
{
    return (unsigned)s < ORDER_STATE_COUNT ? order_state_names[s] : "?";
}

enum arc_err
store_inventory_get(arc_db *db, int64_t id, struct inventory *out)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(id)};
    struct arc_db_col cols[] = {{.type = ARC_DB_INT}, {.type = ARC_DB_INT}, {.type = ARC_DB_INT}};
    int64_t v[3] = {0, 0, 0};
    enum arc_err e = arc_db_query_row(db, ST_INVENTORY_GET, p, 1, cols, 3, row_ints, v);
    out->on_hand = v[0];
    out->reserved = v[1];
    out->sold = v[2];
    return e;
}

enum arc_err
store_order_stock_lock(arc_db *db, int64_t order_id, enum order_state *state)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(order_id)};
    struct arc_db_col col = {.type = ARC_DB_INT};
    int64_t v = -1;
    *state = ORDER_NONE;
    enum arc_err e = arc_db_exec(db, ST_ORDER_STOCK_UPSERT, p, 1, NULL, NULL);
    if (e == ARC_OK)
        e = arc_db_query_row(db, ST_ORDER_STOCK_LOCK, p, 1, &col, 1, arc_db_row_int, &v);
    if (e == ARC_NOT_FOUND || (e == ARC_OK && (v < 0 || v >= ORDER_STATE_COUNT)))
        return ARC_INTERNAL;
    if (e == ARC_OK)
        *state = (enum order_state)v;
    return e;
}

enum arc_err
store_order_stock_set(arc_db *db, int64_t order_id, enum order_state to)
{
    struct arc_db_param p[] = {ARC_DB_P_STR(order_state_name(to)), ARC_DB_P_INT(order_id)};
    return arc_db_exec(db, ST_ORDER_STOCK_SET, p, 2, NULL, NULL);
}

enum arc_err
store_stock_lock(arc_db *db, int64_t product_id, int64_t *available)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(product_id)};
    struct arc_db_col cols[] = {{.type = ARC_DB_INT}, {.type = ARC_DB_INT}};
    int64_t v[2] = {0, 0};
    enum arc_err e = arc_db_query_row(db, ST_STOCK_LOCK, p, 1, cols, 2, row_ints, v);
    *available = 0;
    if (e == ARC_NOT_FOUND)
        return ARC_OK; /* an unknown product has nothing available */
    if (e == ARC_OK && v[0] != 0)
        *available = v[1];
    return e;
}

enum arc_err
store_stock_move(struct store_writer *w, enum stock_move m, int64_t order_id, int64_t product_id,
                 int64_t quantity)
{
    struct arc_db_param p[5];
    size_t np = 0;
    size_t uses = m == STOCK_COMMIT ? 3 : m == STOCK_RETURN ? 2 : 1;
    for (size_t i = 0; i < uses; i++)
        p[np++] = ARC_DB_P_INT(quantity);
    p[np++] = ARC_DB_P_INT(product_id);
    p[np++] = ARC_DB_P_INT(quantity);
    uint64_t affected = 0;
    enum arc_err e = arc_db_exec(w->db, ST_STOCK_MOVE + (unsigned)m, p, np, &affected, NULL);
    if (e != ARC_OK)
        return e;
    if (affected != 1)
        return ARC_CONFLICT; /* the guard did not hold: the caller's rule was broken */
    if (m == STOCK_RESERVE) {
        struct arc_db_param r[] = {ARC_DB_P_INT(order_id), ARC_DB_P_INT(product_id),
                                   ARC_DB_P_INT(quantity)};
        e = arc_db_exec(w->db, ST_RESERVATION_INSERT, r, 3, NULL, NULL);
    }
    if (e == ARC_OK)
        e = emit(w, product_id, "inventory.changed");
    return e;
}

struct lines_cb {
    struct stock_line *lines;
    size_t n, cap;
};

static int
on_line_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    struct lines_cb *cb = ud;
    (void)ncols;
    if (cb->n == cb->cap)
        return 1; /* more lines than an order may have: the caller refuses it */
    cb->lines[cb->n++] = (struct stock_line){.product_id = c[0].i, .quantity = c[1].i};
    return 0;
}

enum arc_err
store_reservation_lines(arc_db *db, int64_t order_id, enum order_state line_state,
                        struct stock_line *lines, size_t cap, size_t *n)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(order_id), ARC_DB_P_STR(order_state_name(line_state))};
    struct arc_db_col cols[] = {{.type = ARC_DB_INT}, {.type = ARC_DB_INT}};
    struct lines_cb cb = {lines, 0, cap};
    uint64_t rows = 0;
    enum arc_err e = arc_db_query(db, ST_RESERVATION_LINES, p, 2, cols, 2, on_line_row, &cb, &rows);
    *n = cb.n;
    if (e == ARC_OK && rows > cap)
        e = ARC_INTERNAL;
    return e;
}

enum arc_err
store_reservation_set(arc_db *db, int64_t order_id, enum order_state from, enum order_state to)
{
    struct arc_db_param p[] = {ARC_DB_P_STR(order_state_name(to)), ARC_DB_P_INT(order_id),
                               ARC_DB_P_STR(order_state_name(from))};
    return arc_db_exec(db, ST_RESERVATION_SET, p, 3, NULL, NULL);
}

enum arc_err
store_order_event(struct store_writer *w, int64_t order_id, const char *type, arc_str data)
{
    char key[32];
    snprintf(key, sizeof key, "order:%lld", (long long)order_id);
    const struct arc_event ev = {
        .type = type,
        .source = "catalog",
        .key = key,
        .version = 1,
        .data = data,
        .trace = w->trace,
    };
    return arc_outbox_add(w->db, ST_OUTBOX_ADD, &ev, w->envelope);
}
