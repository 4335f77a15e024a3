/*
 * orders.h - the Orders service: carts, checkout with idempotency keys, the
 * orders and their timeline, and the orders' side of the stock saga with the
 * catalog (docs/orders-api.md, docs/events.md, issue 9).
 */
#ifndef ORDERS_H
#define ORDERS_H

#include <arcade/auth.h>
#include <arcade/breaker.h>
#include <arcade/buf.h>
#include <arcade/cache.h>
#include <arcade/config.h>
#include <arcade/db.h>
#include <arcade/httpc.h>
#include <arcade/product.h>
#include <arcade/respond.h>
#include <arcade/router.h>

/* Limits of the API contract (docs/orders-api.md). */
#define CART_LINES_MAX 50 /* = the catalog's lookup limit: one call prices a cart */
#define QUANTITY_MAX 99
/* A line total and a cart total never overflow: checked once, here. */
_Static_assert(INT64_MAX / 2 / CART_LINES_MAX / QUANTITY_MAX > ARC_PRODUCT_PRICE_MAX,
               "cart totals fit an int64");

/* Bound on a session lookup at the users service. */
#define USERS_HTTP_TIMEOUT_MS 2000

/* One line of a cart as stored. */
struct cart_line {
    int64_t product_id;
    int64_t quantity;
};

/* A cart as stored: its lines in the order they were added, and the currency
 * of its lines (the first line's; "" when it has none). */
struct cart {
    struct cart_line lines[CART_LINES_MAX];
    size_t n;
    char currency[ARC_CURRENCY_LEN + 1];
};

/* A product as the catalog's internal lookup answered it, copied. */
struct catalog_item {
    int64_t id;
    char sku[ARC_SKU_MAX + 1];
    char name[ARC_PRODUCT_NAME_MAX * 4 + 1];
    int64_t price;
    char currency[ARC_CURRENCY_LEN + 1];
    bool active;
    int64_t available;
};

/* An address as an order keeps it: the JSON object of name, line1, line2,
 * city, postal_code, country, phone. */
#define ADDRESS_JSON_MAX 4096
/* Idempotency keys: 1..255 printable ASCII characters. */
#define IDEM_KEY_MAX 255
/* A claim this old belongs to a worker that died: another request may take
 * it over (a checkout is bounded by a few seconds of timeouts). */
#define IDEM_TAKEOVER_MS 30000
#define ORDER_STATUS_MAX 20
#define ORDER_REASON_MAX 32

/* One line of an order as stored: the catalog's price, name and SKU at
 * checkout. */
struct order_line {
    int64_t product_id;
    char sku[ARC_SKU_MAX + 1];
    char name[ARC_PRODUCT_NAME_MAX * 4 + 1];
    int64_t unit_price;
    int64_t quantity;
    int64_t line_total;
};

/* Carrier and tracking number of a shipment: 1..SHIPMENT_TEXT_MAX characters. */
#define SHIPMENT_TEXT_MAX 64

/* An order as stored (times as RFC 3339, "" while null; rejected_lines "" or
 * the JSON array of the catalog's short lines; payment_id 0 until paid;
 * carrier "" until shipped). */
struct order {
    int64_t id, user_id;
    char status[ORDER_STATUS_MAX + 1];
    char currency[ARC_CURRENCY_LEN + 1];
    int64_t total;
    char address[ADDRESS_JSON_MAX + 1];
    char reason[ORDER_REASON_MAX + 1];
    char rejected_lines[8192];
    char created_at[ARC_TIME_LEN + 1], updated_at[ARC_TIME_LEN + 1], expires_at[ARC_TIME_LEN + 1];
    int64_t payment_id, amount_refunded;
    char paid_at[ARC_TIME_LEN + 1];
    char carrier[SHIPMENT_TEXT_MAX * 4 + 1], tracking_number[SHIPMENT_TEXT_MAX * 4 + 1];
    char shipped_at[ARC_TIME_LEN + 1], delivered_at[ARC_TIME_LEN + 1];
    struct order_line lines[CART_LINES_MAX];
    size_t nlines;
};

struct orders {
    struct arc_config cfg;
    arc_db *db;
    arc_cache *cache;
    arc_httpc *users_http; /* session lookups (arc_auth), addresses */
    struct arc_httpc_response users_resp;
    struct arc_auth auth; /* operator key + sessions */
    /* The catalog: ARCADE_CATALOG_URL, its own client with the short
     * ARCADE_CATALOG_TIMEOUT_MS, and the worker's breaker for it. */
    const char *catalog_url;
    arc_httpc *catalog_http;
    struct arc_breaker catalog_breaker;
    struct arc_httpc_response catalog_resp;
    struct catalog_item items[CART_LINES_MAX]; /* the last lookup's answer */
    size_t nitems;
    struct cart cart;   /* scratch: the cart of the request */
    struct order order; /* scratch: the order of the request */
    arc_buf out;        /* scratch: one answer */
    arc_buf scratch;    /* scratch: an event's envelope */
};

/* --- Rendering (render.c): pure functions, no I/O ------------------------- */

/* The item of items[0..n) with this id, or NULL. */
const struct catalog_item *catalog_item_find(const struct catalog_item *items, size_t n,
                                             int64_t id);
/* Appends the cart as the API answers it: {"items":[{"product_id","sku",
 * "name","unit_price","currency","quantity","line_total","available"}],
 * "count","total","currency"}, priced with items[0..nitems). */
void cart_render(const struct cart *c, const struct catalog_item *items, size_t nitems,
                 arc_buf *out);

/* Appends the order document: {"id","status","items":[{"product_id","sku",
 * "name","unit_price","quantity","line_total"}],"total","currency",
 * "shipping_address","reason","rejected_lines","created_at","updated_at",
 * "expires_at","payment_id","paid_at","amount_refunded","shipment"} with
 * shipment null or {"carrier","tracking_number","shipped_at","delivered_at"};
 * internal (the internal listener's answer): "user_id" after "id". */
void order_render(const struct order *ord, bool internal, arc_buf *out);

/* --- The catalog (catalog.c) ----------------------------------------------- */

/* Asks the catalog's internal lookup for ids[0..n) (1..CART_LINES_MAX):
 * o->items, o->nitems (unknown ids absent). ARC_UNAVAILABLE when the catalog
 * cannot answer now (unreachable, timed out, 5xx, an unreadable answer, or
 * the breaker is open: then without a call); ARC_INTERNAL when it refused
 * the question (logged). */
enum arc_err catalog_lookup(struct orders *o, const struct arc_trace *trace, const int64_t *ids,
                            size_t n) ARC_NODISCARD;
/* Answers 503 unavailable with Retry-After (the breaker's cool-down left). */
void respond_catalog_unavailable(arc_req *r, struct orders *o);

/* --- Store (store.c): all of the service's SQL ----------------------------- */

extern const char *const orders_sql[];
extern const size_t orders_nsql;

enum cart_put_result {
    CART_PUT_OK,
    CART_PUT_CURRENCY_MISMATCH, /* the cart's lines are in another currency */
    CART_PUT_FULL,              /* a new line, and CART_LINES_MAX already */
};

enum arc_err store_cart_get(arc_db *db, int64_t user_id, struct cart *out) ARC_NODISCARD;
/* Sets the quantity (1..QUANTITY_MAX) of product_id, priced in currency, in
 * user_id's cart: one transaction with the cart's row locked, so concurrent
 * writes to one cart never pass the line limit or mix currencies. *res says
 * whether it was written. */
enum arc_err store_cart_put(arc_db *db, int64_t user_id, int64_t product_id, int64_t quantity,
                            const char *currency, enum cart_put_result *res) ARC_NODISCARD;
/* Absent: ARC_OK (nothing to do). */
enum arc_err store_cart_remove(arc_db *db, int64_t user_id, int64_t product_id) ARC_NODISCARD;
enum arc_err store_cart_clear(arc_db *db, int64_t user_id) ARC_NODISCARD;

/* Checkout (store.c). */
enum idem_claim {
    IDEM_CLAIMED, /* the key is ours now (new, or a dead worker's claim taken over) */
    IDEM_DONE,    /* answered before: *status and the body in *body */
    IDEM_IN_USE,  /* another request holds it */
    IDEM_REUSED,  /* the key was used with another body */
};
/* Claims (user_id, key) for a request whose body hashes to hash (64 hex),
 * as token (32 hex), in its own short transaction. */
enum arc_err store_idem_claim(arc_db *db, int64_t user_id, const char *key, const char *hash,
                              const char *token, enum idem_claim *res, int *status,
                              int64_t *order_id, arc_buf *body) ARC_NODISCARD;
/* Gives up a claim (the request answered without an order). */
enum arc_err store_idem_release(arc_db *db, int64_t user_id, const char *key,
                                const char *token) ARC_NODISCARD;
/* Deletes keys older than 24 hours (a batch). */
enum arc_err store_idem_purge(arc_db *db) ARC_NODISCARD;

struct checkout {
    int64_t user_id;
    const char *key, *token;
    bool from_cart;
    const char *currency;
    const char *address; /* JSON object */
    const struct order_line *lines;
    size_t nlines;
    const struct arc_trace *trace;
};
/* In one transaction: the order (pending), its lines, its first timeline
 * row, the lines bought out of the cart, order.created in the outbox, and
 * the idempotency key done with the answer (the order document, rendered
 * into *out from what was stored: *ord). ARC_CONFLICT when the claim is no
 * longer token's (taken over): nothing written. */
enum arc_err store_order_create(arc_db *db, const struct checkout *c, struct order *ord,
                                arc_buf *out, arc_buf *scratch) ARC_NODISCARD;
/* The order id with its lines into *ord; ARC_NOT_FOUND. */
enum arc_err store_order_get(arc_db *db, int64_t id, struct order *ord) ARC_NODISCARD;
/* Ids of orders, newest first: of user_id (0: everyone's), of status ("" any). */
enum arc_err store_order_list(arc_db *db, int64_t user_id, const char *status, int64_t limit,
                              int64_t offset, int64_t *ids, size_t *n) ARC_NODISCARD;
/* The timeline of order id rendered as {"items":[...]} into out. */
enum arc_err store_order_timeline(arc_db *db, int64_t id, arc_buf *out) ARC_NODISCARD;

/* The saga's transitions, inside the consumer's transaction; *applied is
 * false (no effect) unless the order was pending. */
enum arc_err store_order_reserved(arc_db *db, int64_t order_id, int64_t ttl_s,
                                  bool *applied) ARC_NODISCARD;
enum arc_err store_order_rejected(arc_db *db, int64_t order_id, const char *lines,
                                  bool *applied) ARC_NODISCARD;

/* What a customer or an admin asks of an order (POST /orders/{id}/cancel,
 * /ship, /deliver). */
enum order_action { ACTION_CANCEL, ACTION_SHIP, ACTION_DELIVER };
struct action {
    enum order_action what;
    int64_t order_id;
    int64_t user_id; /* the caller's (0: the operator key) */
    bool admin;      /* any order; the timeline's actor "admin", else "customer" */
    const char *carrier, *tracking_number; /* ACTION_SHIP */
    const struct arc_trace *trace;
};
enum action_result {
    ACTION_DONE,      /* done now */
    ACTION_NOT_FOUND, /* unknown, or another user's (for a customer) */
    ACTION_INVALID,   /* its status (in status) allows no such transition */
};
/* In one transaction with the order's row locked, the transition the
 * order's status allows (cancel: pending, awaiting_payment or paid to
 * cancelled; ship: paid to shipped; deliver: shipped to delivered), its
 * timeline row and its event (order.cancelled, order.shipped,
 * order.delivered) in the outbox. */
enum arc_err store_order_act(arc_db *db, const struct action *a, char status[ORDER_STATUS_MAX + 1],
                             enum action_result *res, arc_buf *scratch) ARC_NODISCARD;

/* The payments' events (saga.c), inside the consumer's transaction. */
enum payment_effect {
    PAYMENT_APPLIED,   /* the order moved (or its refunds were recorded) */
    PAYMENT_NO_EFFECT, /* a duplicate, or an order in a status it does not move */
    PAYMENT_TOO_EARLY, /* the order is still pending: try again later */
    PAYMENT_MISMATCH,  /* unknown order, or another amount or currency than the order's */
};
/* payment.succeeded: awaiting_payment -> paid when amount and currency are
 * the order's, with order.paid in the outbox. */
enum arc_err store_order_paid(arc_db *db, int64_t order_id, int64_t payment_id, int64_t amount,
                              const char *currency, const struct arc_trace *trace,
                              enum payment_effect *fx, arc_buf *scratch) ARC_NODISCARD;
/* payment.failed: a timeline row (awaiting_payment, reason payment_failed)
 * for an order still awaiting payment; nothing else. */
enum arc_err store_order_payment_failed(arc_db *db, int64_t order_id,
                                        enum payment_effect *fx) ARC_NODISCARD;
/* payment.refunded: refunded, the payments' running total of refunds of
 * the order's payment payment_id (other payments: no effect). The total only
 * grows; once it is the whole amount a paid, cancelled, shipped or delivered
 * order becomes refunded (a paid one with order.cancelled, reason refunded,
 * in the outbox: its units go back). */
enum arc_err store_order_refunded(arc_db *db, int64_t order_id, int64_t payment_id,
                                  int64_t refunded, const struct arc_trace *trace,
                                  enum payment_effect *fx, arc_buf *scratch) ARC_NODISCARD;

/* Expiry (expire.c): `arcade-orders expire`. Ids of at most EXPIRE_BATCH
 * awaiting_payment orders past expires_at, oldest first; and one of them
 * cancelled (reason payment_timeout, actor system, order.cancelled), when it
 * is still awaiting payment and past expires_at under the UPDATE's lock. */
#define EXPIRE_BATCH 100
enum arc_err store_orders_expired(arc_db *db, int64_t *ids, size_t *n) ARC_NODISCARD;
enum arc_err store_order_expire(arc_db *db, int64_t order_id, bool *applied,
                                arc_buf *scratch) ARC_NODISCARD;
int expire_main(const struct arc_config *cfg);

/* The sagas (saga.c): `arcade-orders consume` (the catalog's answers) and
 * `arcade-orders consume-payments` (the payments' events). */
int saga_consume_main(const struct arc_config *cfg);
int saga_payments_main(const struct arc_config *cfg);

/* --- Handlers (handlers.c) and routes (routes.c) -------------------------- */

void handle_cart_get(arc_req *r);
void handle_cart_put_item(arc_req *r);
void handle_cart_delete_item(arc_req *r);
void handle_cart_clear(arc_req *r);
void handle_order_create(arc_req *r);
void handle_order_list(arc_req *r);
void handle_order_get(arc_req *r);
void handle_order_timeline(arc_req *r);
void handle_order_cancel(arc_req *r);
void handle_order_ship(arc_req *r);
void handle_order_deliver(arc_req *r);
void handle_internal_order(arc_req *r);
void handle_health(arc_req *r);

extern const struct arc_route orders_routes[];
extern const size_t orders_nroutes;

#endif
