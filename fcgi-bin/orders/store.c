/*
 * store.c - all of the orders service's SQL. Every statement is prepared once
 * per process (arc_db); values from outside only ever travel as parameters.
 */
#include "orders.h"

#include <stdio.h>
#include <string.h>

#include <arcade/outbox.h>

/* RFC 3339 UTC with milliseconds from a DATETIME(3) kept in UTC. */
#define TS(col)                                                                                    \
    "CONCAT(DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%s.'), LPAD(MICROSECOND(" col                     \
    ") DIV 1000, 3, '0'), 'Z')"
/* The same, '' for NULL. */
#define TS_OR_EMPTY(col) "COALESCE(" TS(col) ", '')"

/* An order's columns as on_order_row reads them. */
/* clang-format off */
#define ORDER_COLUMNS                                                                 \
    "id, user_id, status, currency, total, shipping_address, COALESCE(reason, ''), " \
    "COALESCE(rejected_lines, ''), " TS("created_at") ", " TS("updated_at") ", "     \
    TS_OR_EMPTY("expires_at") ", COALESCE(payment_id, 0), " TS_OR_EMPTY("paid_at")   \
    ", amount_refunded, COALESCE(carrier, ''), COALESCE(tracking_number, ''), "      \
    TS_OR_EMPTY("shipped_at") ", " TS_OR_EMPTY("delivered_at")
/* clang-format on */
#define ORDER_NCOLUMNS 18

enum {
    ST_CART_LINES,
    ST_CART_OPEN,
    ST_CART_LOCK,
    ST_CART_SET_CURRENCY,
    ST_CART_ITEM_PUT,
    ST_CART_ITEM_DELETE,
    ST_CART_CLEAR,
    ST_IDEM_CLAIM,
    ST_IDEM_LOCK,
    ST_IDEM_TAKEOVER,
    ST_IDEM_RELEASE,
    ST_IDEM_DONE,
    ST_IDEM_PURGE,
    ST_ORDER_INSERT,
    ST_ORDER_ITEM_INSERT,
    ST_CART_LINE_BOUGHT,
    ST_ORDER_GET,
    ST_ORDER_ITEMS,
    ST_ORDER_LIST,
    ST_TIMELINE_ADD,
    ST_TIMELINE,
    ST_ORDER_RESERVED,
    ST_ORDER_REJECTED,
    ST_ORDER_LOCK,
    ST_ORDER_CANCEL,
    ST_ORDER_SHIP,
    ST_ORDER_DELIVER,
    ST_ORDER_PAY_LOCK,
    ST_ORDER_PAID,
    ST_ORDER_REFUNDS,
    ST_ORDER_REFUNDED,
    ST_ORDER_EXPIRED,
    ST_ORDER_EXPIRE,
    ST_OUTBOX_ADD,
    ST_OUTBOX_BACKLOG,
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
    /* A duplicate (user_id, idem_key) waits for the claim's transaction,
     * then changes nothing (0 rows affected) but holds the row's exclusive
     * lock, like the SELECT ... FOR UPDATE after it: no shared lock to
     * upgrade, so concurrent repeats queue instead of deadlocking (which
     * INSERT IGNORE's shared lock on the duplicate did, 20 at a time). */
    [ST_IDEM_CLAIM] = "INSERT INTO idempotency_keys (user_id, idem_key, request_hash, "
                      "claim_token) VALUES (?, ?, ?, ?) "
                      "ON DUPLICATE KEY UPDATE user_id = user_id",
    [ST_IDEM_LOCK] = "SELECT request_hash, state, COALESCE(status, 0), COALESCE(body, ''), "
                     "COALESCE(order_id, 0), TIMESTAMPDIFF(MICROSECOND, claimed_at, "
                     "CURRENT_TIMESTAMP(3)) DIV 1000 FROM idempotency_keys "
                     "WHERE user_id = ? AND idem_key = ? FOR UPDATE",
    [ST_IDEM_TAKEOVER] = "UPDATE idempotency_keys SET claim_token = ?, claimed_at = "
                         "CURRENT_TIMESTAMP(3) WHERE user_id = ? AND idem_key = ? "
                         "AND state = 'claimed'",
    [ST_IDEM_RELEASE] = "DELETE FROM idempotency_keys WHERE user_id = ? AND idem_key = ? "
                        "AND claim_token = ? AND state = 'claimed'",
    [ST_IDEM_DONE] = "UPDATE idempotency_keys SET state = 'done', status = ?, order_id = ?, "
                     "body = ? WHERE user_id = ? AND idem_key = ? AND claim_token = ? "
                     "AND state = 'claimed'",
    [ST_IDEM_PURGE] = "DELETE FROM idempotency_keys WHERE created_at < "
                      "CURRENT_TIMESTAMP(3) - INTERVAL 24 HOUR LIMIT 1000",
    [ST_ORDER_INSERT] = "INSERT INTO orders (user_id, status, currency, total, shipping_address) "
                        "VALUES (?, 'pending', ?, ?, ?)",
    [ST_ORDER_ITEM_INSERT] = "INSERT INTO order_items (order_id, line_no, product_id, sku, name, "
                             "unit_price, quantity, line_total) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    /* Only the line as it was priced: one changed or added meanwhile stays. */
    [ST_CART_LINE_BOUGHT] = "DELETE FROM cart_items WHERE user_id = ? AND product_id = ? "
                            "AND quantity = ?",
    [ST_ORDER_GET] = "SELECT " ORDER_COLUMNS " FROM orders WHERE id = ?",
    [ST_ORDER_ITEMS] = "SELECT product_id, sku, name, unit_price, quantity, line_total "
                       "FROM order_items WHERE order_id = ? ORDER BY line_no",
    [ST_ORDER_LIST] =
        "SELECT id FROM orders WHERE (? = 0 OR user_id = ?) AND (? = '' OR status = ?) "
        "ORDER BY id DESC LIMIT ? OFFSET ?",
    [ST_TIMELINE_ADD] = "INSERT INTO order_timeline (order_id, status, actor, reason) "
                        "VALUES (?, ?, ?, ?)",
    [ST_TIMELINE] = "SELECT status, " TS("at") ", actor, reason FROM order_timeline "
                                               "WHERE order_id = ? ORDER BY id",
    /* The saga's transitions: only from pending, so a second stock.* event
     * for an order (or a redelivery past the inbox) has no effect. */
    [ST_ORDER_RESERVED] = "UPDATE orders SET status = 'awaiting_payment', expires_at = "
                          "CURRENT_TIMESTAMP(3) + INTERVAL ? SECOND, updated_at = "
                          "CURRENT_TIMESTAMP(3) WHERE id = ? AND status = 'pending'",
    [ST_ORDER_REJECTED] = "UPDATE orders SET status = 'rejected', reason = 'out_of_stock', "
                          "rejected_lines = ?, updated_at = CURRENT_TIMESTAMP(3) "
                          "WHERE id = ? AND status = 'pending'",
    [ST_ORDER_LOCK] = "SELECT user_id, status FROM orders WHERE id = ? FOR UPDATE",
    /* The transitions a request asks for run under ST_ORDER_LOCK. */
    [ST_ORDER_CANCEL] = "UPDATE orders SET status = 'cancelled', reason = ?, "
                        "updated_at = CURRENT_TIMESTAMP(3) WHERE id = ?",
    [ST_ORDER_SHIP] = "UPDATE orders SET status = 'shipped', carrier = ?, tracking_number = ?, "
                      "shipped_at = CURRENT_TIMESTAMP(3), updated_at = CURRENT_TIMESTAMP(3) "
                      "WHERE id = ?",
    [ST_ORDER_DELIVER] = "UPDATE orders SET status = 'delivered', delivered_at = "
                         "CURRENT_TIMESTAMP(3), updated_at = CURRENT_TIMESTAMP(3) WHERE id = ?",
    /* The payments' events: the order's row locked, then what its state allows. */
    [ST_ORDER_PAY_LOCK] = "SELECT status, currency, total, COALESCE(payment_id, 0), "
                          "amount_refunded FROM orders WHERE id = ? FOR UPDATE",
    [ST_ORDER_PAID] = "UPDATE orders SET status = 'paid', payment_id = ?, paid_at = "
                      "CURRENT_TIMESTAMP(3), updated_at = CURRENT_TIMESTAMP(3) WHERE id = ?",
    [ST_ORDER_REFUNDS] = "UPDATE orders SET amount_refunded = ?, updated_at = "
                         "CURRENT_TIMESTAMP(3) WHERE id = ?",
    [ST_ORDER_REFUNDED] = "UPDATE orders SET status = 'refunded', reason = 'refunded', "
                          "updated_at = CURRENT_TIMESTAMP(3) WHERE id = ?",
    /* Uses ix_orders_status (status, expires_at). */
    [ST_ORDER_EXPIRED] = "SELECT id FROM orders WHERE status = 'awaiting_payment' "
                         "AND expires_at <= CURRENT_TIMESTAMP(3) ORDER BY expires_at LIMIT 100",
    /* Guarded again under the lock: paid or cancelled meanwhile, it stays. */
    [ST_ORDER_EXPIRE] = "UPDATE orders SET status = 'cancelled', reason = 'payment_timeout', "
                        "updated_at = CURRENT_TIMESTAMP(3) WHERE id = ? "
                        "AND status = 'awaiting_payment' AND expires_at <= CURRENT_TIMESTAMP(3)",
    [ST_OUTBOX_ADD] = ARC_OUTBOX_INSERT_SQL,
    [ST_OUTBOX_BACKLOG] = ARC_OUTBOX_BACKLOG_SQL,
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

/* ---- idempotency keys ------------------------------------------------------ */

struct claim_tx {
    int64_t user_id;
    const char *key, *hash, *token;
    enum idem_claim *res;
    int *status;
    int64_t *order_id;
    arc_buf *body;
};

struct idem_row {
    char hash[65], state[9];
    int64_t status, order_id, age_ms;
    arc_buf *body;
};

static int
on_idem_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    (void)ncols;
    struct idem_row *row = ud;
    arc_db_col_copy(row->hash, sizeof row->hash, &c[0]);
    arc_db_col_copy(row->state, sizeof row->state, &c[1]);
    row->status = c[2].i;
    arc_buf_reset(row->body);
    arc_buf_append(row->body, c[3].s, c[3].len);
    row->order_id = c[4].i;
    row->age_ms = c[5].i;
    return 0;
}

static enum arc_err
claim_once(arc_db *db, void *ud)
{
    struct claim_tx *a = ud;
    struct arc_db_param ins[] = {ARC_DB_P_INT(a->user_id), ARC_DB_P_STR(a->key),
                                 ARC_DB_P_STR(a->hash), ARC_DB_P_STR(a->token)};
    uint64_t affected = 0;
    enum arc_err e = arc_db_exec(db, ST_IDEM_CLAIM, ins, 4, &affected, NULL);
    if (e != ARC_OK)
        return e;
    if (affected == 1) {
        *a->res = IDEM_CLAIMED;
        return ARC_OK;
    }
    static const enum arc_db_type types[] = {ARC_DB_STR, ARC_DB_STR, ARC_DB_INT,
                                             ARC_DB_STR, ARC_DB_INT, ARC_DB_INT};
    struct arc_db_col cols[6];
    arc_db_cols_init(cols, types, 6);
    struct idem_row row = {.body = a->body};
    struct arc_db_param k[] = {ARC_DB_P_INT(a->user_id), ARC_DB_P_STR(a->key)};
    e = arc_db_query_row(db, ST_IDEM_LOCK, k, 2, cols, 6, on_idem_row, &row);
    if (e != ARC_OK)
        return e == ARC_NOT_FOUND ? ARC_RETRY : e; /* purged in between: rare, try again */
    if (strcmp(row.hash, a->hash) != 0) {
        *a->res = IDEM_REUSED;
        return ARC_OK;
    }
    if (strcmp(row.state, "done") == 0) {
        *a->res = IDEM_DONE;
        *a->status = (int)row.status;
        *a->order_id = row.order_id;
        return ARC_OK;
    }
    if (row.age_ms < IDEM_TAKEOVER_MS) {
        *a->res = IDEM_IN_USE;
        return ARC_OK;
    }
    struct arc_db_param t[] = {ARC_DB_P_STR(a->token), ARC_DB_P_INT(a->user_id),
                               ARC_DB_P_STR(a->key)};
    e = arc_db_exec(db, ST_IDEM_TAKEOVER, t, 3, NULL, NULL);
    if (e == ARC_OK)
        *a->res = IDEM_CLAIMED;
    return e;
}

enum arc_err
store_idem_claim(arc_db *db, int64_t user_id, const char *key, const char *hash, const char *token,
                 enum idem_claim *res, int *status, int64_t *order_id, arc_buf *body)
{
    struct claim_tx a = {user_id, key, hash, token, res, status, order_id, body};
    enum arc_err e = arc_db_tx(db, "idempotency claim", claim_once, &a);
    if (e == ARC_RETRY) /* the row went away between the insert and the look */
        e = arc_db_tx(db, "idempotency claim", claim_once, &a);
    return e;
}

enum arc_err
store_idem_release(arc_db *db, int64_t user_id, const char *key, const char *token)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(user_id), ARC_DB_P_STR(key), ARC_DB_P_STR(token)};
    return arc_db_exec(db, ST_IDEM_RELEASE, p, 3, NULL, NULL);
}

enum arc_err
store_idem_purge(arc_db *db)
{
    return arc_db_exec(db, ST_IDEM_PURGE, NULL, 0, NULL, NULL);
}

/* ---- orders ------------------------------------------------------------------ */

static int
on_order_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    (void)ncols;
    struct order *o = ud;
    o->id = c[0].i;
    o->user_id = c[1].i;
    arc_db_col_copy(o->status, sizeof o->status, &c[2]);
    arc_db_col_copy(o->currency, sizeof o->currency, &c[3]);
    o->total = c[4].i;
    arc_db_col_copy(o->address, sizeof o->address, &c[5]);
    arc_db_col_copy(o->reason, sizeof o->reason, &c[6]);
    arc_db_col_copy(o->rejected_lines, sizeof o->rejected_lines, &c[7]);
    arc_db_col_copy(o->created_at, sizeof o->created_at, &c[8]);
    arc_db_col_copy(o->updated_at, sizeof o->updated_at, &c[9]);
    arc_db_col_copy(o->expires_at, sizeof o->expires_at, &c[10]);
    o->payment_id = c[11].i;
    arc_db_col_copy(o->paid_at, sizeof o->paid_at, &c[12]);
    o->amount_refunded = c[13].i;
    arc_db_col_copy(o->carrier, sizeof o->carrier, &c[14]);
    arc_db_col_copy(o->tracking_number, sizeof o->tracking_number, &c[15]);
    arc_db_col_copy(o->shipped_at, sizeof o->shipped_at, &c[16]);
    arc_db_col_copy(o->delivered_at, sizeof o->delivered_at, &c[17]);
    return 0;
}

static int
on_item_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    (void)ncols;
    struct order *o = ud;
    if (o->nlines == CART_LINES_MAX)
        return 1;
    struct order_line *l = &o->lines[o->nlines++];
    l->product_id = c[0].i;
    arc_db_col_copy(l->sku, sizeof l->sku, &c[1]);
    arc_db_col_copy(l->name, sizeof l->name, &c[2]);
    l->unit_price = c[3].i;
    l->quantity = c[4].i;
    l->line_total = c[5].i;
    return 0;
}

enum arc_err
store_order_get(arc_db *db, int64_t id, struct order *ord)
{
    static const enum arc_db_type types[ORDER_NCOLUMNS] = {
        ARC_DB_INT, ARC_DB_INT, ARC_DB_STR, ARC_DB_STR, ARC_DB_INT, ARC_DB_STR,
        ARC_DB_STR, ARC_DB_STR, ARC_DB_STR, ARC_DB_STR, ARC_DB_STR, ARC_DB_INT,
        ARC_DB_STR, ARC_DB_INT, ARC_DB_STR, ARC_DB_STR, ARC_DB_STR, ARC_DB_STR};
    static const enum arc_db_type itypes[] = {ARC_DB_INT, ARC_DB_STR, ARC_DB_STR,
                                              ARC_DB_INT, ARC_DB_INT, ARC_DB_INT};
    struct arc_db_col cols[ORDER_NCOLUMNS], icols[6];
    arc_db_cols_init(cols, types, ORDER_NCOLUMNS);
    arc_db_cols_init(icols, itypes, 6);
    struct arc_db_param p[] = {ARC_DB_P_INT(id)};
    ord->nlines = 0;
    enum arc_err e =
        arc_db_query_row(db, ST_ORDER_GET, p, 1, cols, ORDER_NCOLUMNS, on_order_row, ord);
    if (e != ARC_OK)
        return e;
    return arc_db_query(db, ST_ORDER_ITEMS, p, 1, icols, 6, on_item_row, ord, NULL);
}

struct create_tx {
    const struct checkout *c;
    struct order *ord;
    arc_buf *out, *scratch;
};

static enum arc_err
timeline_add(arc_db *db, int64_t order_id, const char *status, const char *actor,
             const char *reason)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(order_id), ARC_DB_P_STR(status), ARC_DB_P_STR(actor),
                               reason ? ARC_DB_P_STR(reason) : ARC_DB_P_NULL()};
    return arc_db_exec(db, ST_TIMELINE_ADD, p, 4, NULL, NULL);
}

/* ---- events of an order ------------------------------------------------------------ */

/* Writes an order.* event of order_id with data (a JSON object) into the
 * outbox. */
static enum arc_err
order_event(arc_db *db, const char *type, int64_t order_id, const char *data, size_t len,
            const struct arc_trace *trace, arc_buf *scratch)
{
    char key[32];
    snprintf(key, sizeof key, "order:%lld", (long long)order_id);
    const struct arc_event ev = {
        .type = type,
        .source = "orders",
        .key = key,
        .version = 1,
        .data = {data, len},
        .trace = trace,
    };
    return arc_outbox_add(db, ST_OUTBOX_ADD, &ev, scratch);
}

/* order.cancelled {"order_id","reason"}: reason one of the fixed words. */
static enum arc_err
order_cancelled_event(arc_db *db, int64_t order_id, const char *reason,
                      const struct arc_trace *trace, arc_buf *scratch)
{
    char data[128];
    int n = snprintf(data, sizeof data, "{\"order_id\":%lld,\"reason\":\"%s\"}",
                     (long long)order_id, reason);
    return order_event(db, "order.cancelled", order_id, data, (size_t)n, trace, scratch);
}

static enum arc_err
order_created_event(arc_db *db, const struct checkout *c, int64_t order_id, arc_buf *scratch)
{
    arc_buf data;
    arc_buf_init(&data);
    arc_buf_printf(&data, "{\"order_id\":%lld,\"user_id\":%lld,\"currency\":", (long long)order_id,
                   (long long)c->user_id);
    arc_buf_append_json_string(&data, c->currency, strlen(c->currency));
    arc_buf_append_str(&data, ",\"items\":[");
    for (size_t i = 0; i < c->nlines; i++)
        arc_buf_printf(&data, "%s{\"product_id\":%lld,\"quantity\":%lld}", i ? "," : "",
                       (long long)c->lines[i].product_id, (long long)c->lines[i].quantity);
    arc_buf_append_str(&data, "]}");
    enum arc_err e =
        order_event(db, "order.created", order_id, data.ptr, data.len, c->trace, scratch);
    arc_buf_cleanup(&data);
    return e;
}

static enum arc_err
create_once(arc_db *db, void *ud)
{
    struct create_tx *a = ud;
    const struct checkout *c = a->c;
    int64_t total = 0;
    for (size_t i = 0; i < c->nlines; i++)
        total += c->lines[i].line_total;
    struct arc_db_param op[] = {ARC_DB_P_INT(c->user_id), ARC_DB_P_STR(c->currency),
                                ARC_DB_P_INT(total), ARC_DB_P_STR(c->address)};
    uint64_t id = 0;
    enum arc_err e = arc_db_exec(db, ST_ORDER_INSERT, op, 4, NULL, &id);
    for (size_t i = 0; i < c->nlines && e == ARC_OK; i++) {
        const struct order_line *l = &c->lines[i];
        struct arc_db_param ip[] = {
            ARC_DB_P_INT(id),          ARC_DB_P_INT(i + 1),        ARC_DB_P_INT(l->product_id),
            ARC_DB_P_STR(l->sku),      ARC_DB_P_STR(l->name),      ARC_DB_P_INT(l->unit_price),
            ARC_DB_P_INT(l->quantity), ARC_DB_P_INT(l->line_total)};
        e = arc_db_exec(db, ST_ORDER_ITEM_INSERT, ip, 8, NULL, NULL);
        if (e == ARC_OK && c->from_cart) {
            struct arc_db_param cp[] = {ARC_DB_P_INT(c->user_id), ARC_DB_P_INT(l->product_id),
                                        ARC_DB_P_INT(l->quantity)};
            e = arc_db_exec(db, ST_CART_LINE_BOUGHT, cp, 3, NULL, NULL);
        }
    }
    if (e == ARC_OK)
        e = timeline_add(db, (int64_t)id, "pending", "customer", NULL);
    if (e == ARC_OK)
        e = order_created_event(db, c, (int64_t)id, a->scratch);
    if (e == ARC_OK)
        e = store_order_get(db, (int64_t)id, a->ord);
    if (e != ARC_OK)
        return e == ARC_NOT_FOUND ? ARC_INTERNAL : e;
    arc_buf_reset(a->out);
    order_render(a->ord, false, a->out);
    struct arc_db_param dp[] = {
        ARC_DB_P_INT(201),        ARC_DB_P_INT(id),     ARC_DB_P_STRN(a->out->ptr, a->out->len),
        ARC_DB_P_INT(c->user_id), ARC_DB_P_STR(c->key), ARC_DB_P_STR(c->token)};
    uint64_t affected = 0;
    e = arc_db_exec(db, ST_IDEM_DONE, dp, 6, &affected, NULL);
    if (e == ARC_OK && affected != 1)
        return ARC_CONFLICT; /* the claim was taken over: roll the order back */
    return e;
}

enum arc_err
store_order_create(arc_db *db, const struct checkout *c, struct order *ord, arc_buf *out,
                   arc_buf *scratch)
{
    struct create_tx a = {c, ord, out, scratch};
    return arc_db_tx(db, "order create", create_once, &a);
}

struct list_cb {
    int64_t *ids;
    size_t n, cap;
};

static int
on_id(void *ud, const struct arc_db_col *c, size_t ncols)
{
    (void)ncols;
    struct list_cb *l = ud;
    if (l->n == l->cap)
        return 1;
    l->ids[l->n++] = c[0].i;
    return 0;
}

enum arc_err
store_order_list(arc_db *db, int64_t user_id, const char *status, int64_t limit, int64_t offset,
                 int64_t *ids, size_t *n)
{
    static const enum arc_db_type types[] = {ARC_DB_INT};
    struct arc_db_col cols[1];
    arc_db_cols_init(cols, types, 1);
    struct arc_db_param p[] = {ARC_DB_P_INT(user_id), ARC_DB_P_INT(user_id), ARC_DB_P_STR(status),
                               ARC_DB_P_STR(status),  ARC_DB_P_INT(limit),   ARC_DB_P_INT(offset)};
    struct list_cb l = {ids, 0, (size_t)limit};
    enum arc_err e = arc_db_query(db, ST_ORDER_LIST, p, 6, cols, 1, on_id, &l, NULL);
    *n = l.n;
    return e;
}

struct timeline_cb {
    arc_buf *out;
    size_t n;
};

static int
on_timeline_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    (void)ncols;
    struct timeline_cb *t = ud;
    arc_buf_append_str(t->out, t->n++ ? "," : "");
    arc_buf_append_json_member(t->out, "{\"status\":", arc_db_col_str(&c[0]));
    arc_buf_append_json_member(t->out, ",\"at\":", arc_db_col_str(&c[1]));
    arc_buf_append_json_member(t->out, ",\"actor\":", arc_db_col_str(&c[2]));
    if (c[3].is_null)
        arc_buf_append_str(t->out, ",\"reason\":null}");
    else
        arc_buf_append_json_member(t->out, ",\"reason\":", arc_db_col_str(&c[3]));
    if (!c[3].is_null)
        arc_buf_append_char(t->out, '}');
    return 0;
}

enum arc_err
store_order_timeline(arc_db *db, int64_t id, arc_buf *out)
{
    static const enum arc_db_type types[] = {ARC_DB_STR, ARC_DB_STR, ARC_DB_STR, ARC_DB_STR};
    struct arc_db_col cols[4];
    arc_db_cols_init(cols, types, 4);
    struct arc_db_param p[] = {ARC_DB_P_INT(id)};
    struct timeline_cb t = {out, 0};
    arc_buf_append_str(out, "{\"items\":[");
    enum arc_err e = arc_db_query(db, ST_TIMELINE, p, 1, cols, 4, on_timeline_row, &t, NULL);
    arc_buf_append_str(out, "]}");
    return e;
}

/* ---- the saga's transitions (saga.c, inside the consumer's transaction) ---- */

/* A transition of the saga: the conditional UPDATE on the status it
 * leaves, and its timeline row only when it applied. */
static enum arc_err
transition(arc_db *db, unsigned stmt, const struct arc_db_param *p, size_t np, int64_t order_id,
           const char *status, const char *reason, bool *applied)
{
    uint64_t affected = 0;
    enum arc_err e = arc_db_exec(db, stmt, p, np, &affected, NULL);
    *applied = e == ARC_OK && affected == 1;
    if (e != ARC_OK || !*applied)
        return e;
    return timeline_add(db, order_id, status, "system", reason);
}

enum arc_err
store_order_reserved(arc_db *db, int64_t order_id, int64_t ttl_s, bool *applied)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(ttl_s), ARC_DB_P_INT(order_id)};
    return transition(db, ST_ORDER_RESERVED, p, 2, order_id, "awaiting_payment", NULL, applied);
}

enum arc_err
store_order_rejected(arc_db *db, int64_t order_id, const char *lines, bool *applied)
{
    struct arc_db_param p[] = {ARC_DB_P_STR(lines), ARC_DB_P_INT(order_id)};
    return transition(db, ST_ORDER_REJECTED, p, 2, order_id, "rejected", "out_of_stock", applied);
}

/* ---- what a request asks: cancel, ship, deliver ------------------------------------ */

struct action_tx {
    const struct action *a;
    char *status; /* [ORDER_STATUS_MAX + 1]: the order's status when refused */
    enum action_result *res;
    arc_buf *scratch;
};

/* The statuses each action leaves (NULL-terminated). */
static const char *const *
action_from(enum order_action what)
{
    static const char *const cancel[] = {"pending", "awaiting_payment", "paid", NULL};
    static const char *const ship[] = {"paid", NULL};
    static const char *const deliver[] = {"shipped", NULL};
    switch (what) {
    case ACTION_CANCEL:
        return cancel;
    case ACTION_SHIP:
        return ship;
    case ACTION_DELIVER:
        return deliver;
    }
    return deliver + 1;
}

static int
on_lock(void *ud, const struct arc_db_col *c, size_t ncols)
{
    (void)ncols;
    struct action_tx *t = ud;
    if (!t->a->admin && c[0].i != t->a->user_id)
        *t->res = ACTION_NOT_FOUND;
    arc_db_col_copy(t->status, ORDER_STATUS_MAX + 1, &c[1]);
    return 0;
}

/* The action's UPDATE, timeline row and event, the order's row locked. */
static enum arc_err
act(arc_db *db, const struct action *a, arc_buf *scratch)
{
    const char *actor = a->admin ? "admin" : "customer";
    enum arc_err e;
    switch (a->what) {
    case ACTION_CANCEL: {
        struct arc_db_param p[] = {ARC_DB_P_STR(actor), ARC_DB_P_INT(a->order_id)};
        e = arc_db_exec(db, ST_ORDER_CANCEL, p, 2, NULL, NULL);
        if (e == ARC_OK)
            e = timeline_add(db, a->order_id, "cancelled", actor, actor);
        if (e == ARC_OK)
            e = order_cancelled_event(db, a->order_id, actor, a->trace, scratch);
        return e;
    }
    case ACTION_SHIP: {
        struct arc_db_param p[] = {ARC_DB_P_STR(a->carrier), ARC_DB_P_STR(a->tracking_number),
                                   ARC_DB_P_INT(a->order_id)};
        e = arc_db_exec(db, ST_ORDER_SHIP, p, 3, NULL, NULL);
        if (e == ARC_OK)
            e = timeline_add(db, a->order_id, "shipped", actor, NULL);
        if (e != ARC_OK)
            return e;
        arc_buf data;
        arc_buf_init(&data);
        arc_buf_printf(&data, "{\"order_id\":%lld", (long long)a->order_id);
        arc_buf_append_str(&data, ",\"carrier\":");
        arc_buf_append_json_string(&data, a->carrier, strlen(a->carrier));
        arc_buf_append_str(&data, ",\"tracking_number\":");
        arc_buf_append_json_string(&data, a->tracking_number, strlen(a->tracking_number));
        arc_buf_append_char(&data, '}');
        e = order_event(db, "order.shipped", a->order_id, data.ptr, data.len, a->trace, scratch);
        arc_buf_cleanup(&data);
        return e;
    }
    case ACTION_DELIVER: {
        struct arc_db_param p[] = {ARC_DB_P_INT(a->order_id)};
        e = arc_db_exec(db, ST_ORDER_DELIVER, p, 1, NULL, NULL);
        if (e == ARC_OK)
            e = timeline_add(db, a->order_id, "delivered", actor, NULL);
        if (e != ARC_OK)
            return e;
        char data[64];
        int n = snprintf(data, sizeof data, "{\"order_id\":%lld}", (long long)a->order_id);
        return order_event(db, "order.delivered", a->order_id, data, (size_t)n, a->trace, scratch);
    }
    }
    return ARC_INTERNAL;
}

static enum arc_err
act_once(arc_db *db, void *ud)
{
    struct action_tx *t = ud;
    static const enum arc_db_type types[] = {ARC_DB_INT, ARC_DB_STR};
    struct arc_db_col cols[2];
    arc_db_cols_init(cols, types, 2);
    struct arc_db_param p[] = {ARC_DB_P_INT(t->a->order_id)};
    *t->res = ACTION_DONE;
    t->status[0] = '\0';
    enum arc_err e = arc_db_query_row(db, ST_ORDER_LOCK, p, 1, cols, 2, on_lock, t);
    if (e == ARC_NOT_FOUND)
        *t->res = ACTION_NOT_FOUND;
    if (e == ARC_NOT_FOUND || *t->res == ACTION_NOT_FOUND)
        return ARC_OK;
    if (e != ARC_OK)
        return e;
    for (const char *const *from = action_from(t->a->what); *from != NULL; from++)
        if (strcmp(t->status, *from) == 0)
            return act(db, t->a, t->scratch);
    *t->res = ACTION_INVALID;
    return ARC_OK;
}

enum arc_err
store_order_act(arc_db *db, const struct action *a, char status[ORDER_STATUS_MAX + 1],
                enum action_result *res, arc_buf *scratch)
{
    struct action_tx t = {a, status, res, scratch};
    return arc_db_tx(db, "order action", act_once, &t);
}

/* ---- the payments' events (saga.c, inside the consumer's transaction) ------------- */

struct pay_row {
    char status[ORDER_STATUS_MAX + 1];
    char currency[ARC_CURRENCY_LEN + 1];
    int64_t total, payment_id, refunded;
};

static int
on_pay_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    (void)ncols;
    struct pay_row *row = ud;
    arc_db_col_copy(row->status, sizeof row->status, &c[0]);
    arc_db_col_copy(row->currency, sizeof row->currency, &c[1]);
    row->total = c[2].i;
    row->payment_id = c[3].i;
    row->refunded = c[4].i;
    return 0;
}

/* The order's row, locked: ARC_NOT_FOUND when orders does not know it. */
static enum arc_err
pay_lock(arc_db *db, int64_t order_id, struct pay_row *row)
{
    static const enum arc_db_type types[] = {ARC_DB_STR, ARC_DB_STR, ARC_DB_INT, ARC_DB_INT,
                                             ARC_DB_INT};
    struct arc_db_col cols[5];
    arc_db_cols_init(cols, types, 5);
    struct arc_db_param p[] = {ARC_DB_P_INT(order_id)};
    return arc_db_query_row(db, ST_ORDER_PAY_LOCK, p, 1, cols, 5, on_pay_row, row);
}

enum arc_err
store_order_paid(arc_db *db, int64_t order_id, int64_t payment_id, int64_t amount,
                 const char *currency, const struct arc_trace *trace, enum payment_effect *fx,
                 arc_buf *scratch)
{
    struct pay_row row;
    *fx = PAYMENT_NO_EFFECT;
    enum arc_err e = pay_lock(db, order_id, &row);
    if (e == ARC_NOT_FOUND) {
        *fx = PAYMENT_MISMATCH;
        return ARC_OK;
    }
    if (e != ARC_OK)
        return e;
    if (strcmp(row.status, "pending") == 0) {
        *fx = PAYMENT_TOO_EARLY;
        return ARC_OK;
    }
    if (strcmp(row.status, "awaiting_payment") != 0)
        return ARC_OK;
    if (amount != row.total || strcmp(currency, row.currency) != 0) {
        *fx = PAYMENT_MISMATCH;
        return ARC_OK;
    }
    struct arc_db_param p[] = {ARC_DB_P_INT(payment_id), ARC_DB_P_INT(order_id)};
    e = arc_db_exec(db, ST_ORDER_PAID, p, 2, NULL, NULL);
    if (e == ARC_OK)
        e = timeline_add(db, order_id, "paid", "system", NULL);
    if (e != ARC_OK)
        return e;
    char data[96];
    int n = snprintf(data, sizeof data, "{\"order_id\":%lld,\"payment_id\":%lld}",
                     (long long)order_id, (long long)payment_id);
    e = order_event(db, "order.paid", order_id, data, (size_t)n, trace, scratch);
    if (e == ARC_OK)
        *fx = PAYMENT_APPLIED;
    return e;
}

enum arc_err
store_order_payment_failed(arc_db *db, int64_t order_id, enum payment_effect *fx)
{
    struct pay_row row;
    *fx = PAYMENT_NO_EFFECT;
    enum arc_err e = pay_lock(db, order_id, &row);
    if (e == ARC_NOT_FOUND)
        return ARC_OK;
    if (e != ARC_OK || strcmp(row.status, "awaiting_payment") != 0)
        return e;
    e = timeline_add(db, order_id, "awaiting_payment", "system", "payment_failed");
    if (e == ARC_OK)
        *fx = PAYMENT_APPLIED;
    return e;
}

enum arc_err
store_order_refunded(arc_db *db, int64_t order_id, int64_t payment_id, int64_t refunded,
                     const struct arc_trace *trace, enum payment_effect *fx, arc_buf *scratch)
{
    struct pay_row row;
    *fx = PAYMENT_NO_EFFECT;
    enum arc_err e = pay_lock(db, order_id, &row);
    if (e == ARC_NOT_FOUND || (e == ARC_OK && row.payment_id != payment_id))
        return ARC_OK; /* not the payment that paid the order: nothing of the order's */
    if (e != ARC_OK)
        return e;
    if (refunded > row.total) {
        *fx = PAYMENT_MISMATCH;
        return ARC_OK;
    }
    if (refunded <= row.refunded)
        return ARC_OK; /* an older total, or the same again */
    struct arc_db_param p[] = {ARC_DB_P_INT(refunded), ARC_DB_P_INT(order_id)};
    e = arc_db_exec(db, ST_ORDER_REFUNDS, p, 2, NULL, NULL);
    if (e != ARC_OK)
        return e;
    *fx = PAYMENT_APPLIED;
    bool was_paid = strcmp(row.status, "paid") == 0;
    if (refunded < row.total ||
        (!was_paid && strcmp(row.status, "cancelled") != 0 && strcmp(row.status, "shipped") != 0 &&
         strcmp(row.status, "delivered") != 0))
        return ARC_OK;
    struct arc_db_param q[] = {ARC_DB_P_INT(order_id)};
    e = arc_db_exec(db, ST_ORDER_REFUNDED, q, 1, NULL, NULL);
    if (e == ARC_OK)
        e = timeline_add(db, order_id, "refunded", "system", "refunded");
    /* Refunded before it was cancelled or shipped: its units go back. */
    if (e == ARC_OK && was_paid)
        e = order_cancelled_event(db, order_id, "refunded", trace, scratch);
    return e;
}

/* ---- expiry (expire.c) ------------------------------------------------------------ */

enum arc_err
store_orders_expired(arc_db *db, int64_t *ids, size_t *n)
{
    static const enum arc_db_type types[] = {ARC_DB_INT};
    struct arc_db_col cols[1];
    arc_db_cols_init(cols, types, 1);
    struct list_cb l = {ids, 0, EXPIRE_BATCH};
    enum arc_err e = arc_db_query(db, ST_ORDER_EXPIRED, NULL, 0, cols, 1, on_id, &l, NULL);
    *n = l.n;
    return e;
}

struct expire_tx {
    int64_t order_id;
    bool *applied;
    arc_buf *scratch;
};

static enum arc_err
expire_once(arc_db *db, void *ud)
{
    struct expire_tx *a = ud;
    struct arc_db_param p[] = {ARC_DB_P_INT(a->order_id)};
    uint64_t affected = 0;
    enum arc_err e = arc_db_exec(db, ST_ORDER_EXPIRE, p, 1, &affected, NULL);
    *a->applied = e == ARC_OK && affected == 1;
    if (e != ARC_OK || !*a->applied)
        return e;
    e = timeline_add(db, a->order_id, "cancelled", "system", "payment_timeout");
    if (e == ARC_OK)
        e = order_cancelled_event(db, a->order_id, "payment_timeout", NULL, a->scratch);
    return e;
}

enum arc_err
store_order_expire(arc_db *db, int64_t order_id, bool *applied, arc_buf *scratch)
{
    struct expire_tx a = {order_id, applied, scratch};
    return arc_db_tx(db, "order expire", expire_once, &a);
}
