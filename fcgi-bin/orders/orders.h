/*
 * orders.h - the Orders service: carts now; orders, checkout and the stock
 * saga with the catalog next (docs/orders-api.md, issue 9).
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

struct orders {
    struct arc_config cfg;
    arc_db *db;
    arc_cache *cache;
    arc_httpc *users_http; /* session lookups (arc_auth) */
    struct arc_auth auth;  /* operator key + sessions */
    /* The catalog: ARCADE_CATALOG_URL, its own client with the short
     * ARCADE_CATALOG_TIMEOUT_MS, and the worker's breaker for it. */
    const char *catalog_url;
    arc_httpc *catalog_http;
    struct arc_breaker catalog_breaker;
    struct arc_httpc_response catalog_resp;
    struct catalog_item items[CART_LINES_MAX]; /* the last lookup's answer */
    size_t nitems;
    struct cart cart; /* scratch: the cart of the request */
    arc_buf out;      /* scratch: one answer */
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

/* --- Handlers (handlers.c) and routes (routes.c) -------------------------- */

void handle_cart_get(arc_req *r);
void handle_cart_put_item(arc_req *r);
void handle_cart_delete_item(arc_req *r);
void handle_cart_clear(arc_req *r);
void handle_health(arc_req *r);

extern const struct arc_route orders_routes[];
extern const size_t orders_nroutes;

#endif
