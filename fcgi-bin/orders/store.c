/*
 * store.c - all of the orders service's SQL. Every statement is prepared once
 * per process (arc_db); values from outside only ever travel as parameters.
 */
#include "orders.h"

#include <stdio.h>
#include <string.h>

enum {
    ST_CART_LINES,
    ST_CART_OPEN,
    ST_CART_LOCK,
    ST_CART_SET_CURRENCY,
    ST_CART_ITEM_PUT,
    ST_CART_ITEM_DELETE,
    ST_CART_CLEAR,
    ST_COUNT
};

const char *const orders_sql[] = {
    [ST_CART_LINES] = "SELECT COALESCE(c.currency, ''), i.product_id, i.quantity "
                      "FROM cart_items i LEFT JOIN carts c ON c.user_id = i.user_id "
                      "WHERE i.user_id = ? ORDER BY i.added_at, i.product_id LIMIT 50",
    /* Creates the cart's row if need be; on an existing row it takes its lock. */
    [ST_CART_OPEN] = "INSERT INTO carts (user_id) VALUES (?) "
                     "ON DUPLICATE KEY UPDATE user_id = user_id",
    /* Under the cart's lock: its currency, its lines, whether this one is among them. */
    [ST_CART_LOCK] = "SELECT COALESCE(c.currency, ''), "
                     "(SELECT COUNT(*) FROM cart_items i WHERE i.user_id = c.user_id), "
                     "(SELECT COUNT(*) FROM cart_items i WHERE i.user_id = c.user_id "
                     "AND i.product_id = ?) FROM carts c WHERE c.user_id = ? FOR UPDATE",
    [ST_CART_SET_CURRENCY] = "UPDATE carts SET currency = ?, updated_at = CURRENT_TIMESTAMP(3) "
                             "WHERE user_id = ?",
    [ST_CART_ITEM_PUT] = "INSERT INTO cart_items (user_id, product_id, quantity) VALUES (?, ?, ?) "
                         "ON DUPLICATE KEY UPDATE quantity = VALUES(quantity)",
    [ST_CART_ITEM_DELETE] = "DELETE FROM cart_items WHERE user_id = ? AND product_id = ?",
    [ST_CART_CLEAR] = "DELETE FROM cart_items WHERE user_id = ?",
};
const size_t orders_nsql = ARC_ARRAY_LEN(orders_sql);
_Static_assert(ARC_ARRAY_LEN(orders_sql) == ST_COUNT, "one SQL text per statement");
_Static_assert(CART_LINES_MAX == 50, "ST_CART_LINES reads at most CART_LINES_MAX lines");

/* ---- reading ------------------------------------------------------------- */

static int
on_line(void *ud, const struct arc_db_col *c, size_t ncols)
{
    (void)ncols;
    struct cart *cart = ud;
    if (cart->n == CART_LINES_MAX)
        return 1;
    arc_db_col_copy(cart->currency, sizeof cart->currency, &c[0]);
    cart->lines[cart->n++] = (struct cart_line){c[1].i, c[2].i};
    return 0;
}

enum arc_err
store_cart_get(arc_db *db, int64_t user_id, struct cart *out)
{
    static const enum arc_db_type types[] = {ARC_DB_STR, ARC_DB_INT, ARC_DB_INT};
    struct arc_db_param p[] = {ARC_DB_P_INT(user_id)};
    struct arc_db_col cols[3];
    arc_db_cols_init(cols, types, 3);
    out->n = 0;
    out->currency[0] = '\0';
    return arc_db_query(db, ST_CART_LINES, p, 1, cols, 3, on_line, out, NULL);
}

/* ---- writing ------------------------------------------------------------- */

struct put_tx {
    int64_t user_id, product_id, quantity;
    const char *currency;
    enum cart_put_result *res;
};

struct lock_row {
    char currency[ARC_CURRENCY_LEN + 1];
    int64_t lines;
    int64_t has_line;
};

static int
on_lock_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    (void)ncols;
    struct lock_row *row = ud;
    arc_db_col_copy(row->currency, sizeof row->currency, &c[0]);
    row->lines = c[1].i;
    row->has_line = c[2].i;
    return 0;
}

/* The cart's row is locked first (created if need be), then the limit and
 * the currency are decided on what the lock protects: no other write to this
 * cart can slip in between the look and the insert. */
static enum arc_err
put_once(arc_db *db, void *ud)
{
    struct put_tx *a = ud;
    static const enum arc_db_type types[] = {ARC_DB_STR, ARC_DB_INT, ARC_DB_INT};
    struct arc_db_param user[] = {ARC_DB_P_INT(a->user_id)};
    enum arc_err e = arc_db_exec(db, ST_CART_OPEN, user, 1, NULL, NULL);
    if (e != ARC_OK)
        return e;
    struct arc_db_param lk[] = {ARC_DB_P_INT(a->product_id), ARC_DB_P_INT(a->user_id)};
    struct arc_db_col cols[3];
    arc_db_cols_init(cols, types, 3);
    struct lock_row row = {{0}, 0, 0};
    e = arc_db_query_row(db, ST_CART_LOCK, lk, 2, cols, 3, on_lock_row, &row);
    if (e != ARC_OK)
        return e;
    *a->res = CART_PUT_OK;
    if (row.lines > 0 && strcmp(row.currency, a->currency) != 0) {
        *a->res = CART_PUT_CURRENCY_MISMATCH;
        return ARC_OK;
    }
    if (row.has_line == 0 && row.lines >= CART_LINES_MAX) {
        *a->res = CART_PUT_FULL;
        return ARC_OK;
    }
    if (row.lines == 0 || strcmp(row.currency, a->currency) != 0) {
        struct arc_db_param cur[] = {ARC_DB_P_STR(a->currency), ARC_DB_P_INT(a->user_id)};
        e = arc_db_exec(db, ST_CART_SET_CURRENCY, cur, 2, NULL, NULL);
        if (e != ARC_OK)
            return e;
    }
    struct arc_db_param item[] = {ARC_DB_P_INT(a->user_id), ARC_DB_P_INT(a->product_id),
                                  ARC_DB_P_INT(a->quantity)};
    return arc_db_exec(db, ST_CART_ITEM_PUT, item, 3, NULL, NULL);
}

enum arc_err
store_cart_put(arc_db *db, int64_t user_id, int64_t product_id, int64_t quantity,
               const char *currency, enum cart_put_result *res)
{
    struct put_tx a = {user_id, product_id, quantity, currency, res};
    return arc_db_tx(db, "cart put", put_once, &a);
}

enum arc_err
store_cart_remove(arc_db *db, int64_t user_id, int64_t product_id)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(user_id), ARC_DB_P_INT(product_id)};
    return arc_db_exec(db, ST_CART_ITEM_DELETE, p, 2, NULL, NULL);
}

enum arc_err
store_cart_clear(arc_db *db, int64_t user_id)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(user_id)};
    return arc_db_exec(db, ST_CART_CLEAR, p, 1, NULL, NULL);
}
