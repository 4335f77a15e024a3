/*
 * catalog.h - the Product Catalog service: products, categories, inventory.
 */
#ifndef CATALOG_H
#define CATALOG_H

#include <arcade/amqp.h>
#include <arcade/auth.h>
#include <arcade/buf.h>
#include <arcade/cache.h>
#include <arcade/config.h>
#include <arcade/db.h>
#include <arcade/doccache.h>
#include <arcade/respond.h>
#include <arcade/httpc.h>
#include <arcade/ident.h>
#include <arcade/precond.h>
#include <arcade/product.h>
#include <arcade/router.h>

/* Limits of the API contract (docs/catalog-api.md): the product document's
 * are the shared ones (arcade/product.h), which its readers apply too. */
#define SKU_MAX ARC_SKU_MAX
#define PRODUCT_NAME_MAX ARC_PRODUCT_NAME_MAX
#define DESCRIPTION_MAX ARC_PRODUCT_DESCRIPTION_MAX
#define PRICE_MAX ARC_PRODUCT_PRICE_MAX
#define ON_HAND_MAX ARC_PRODUCT_STOCK_MAX
#define SLUG_MAX ARC_SLUG_MAX
#define CATEGORY_NAME_MAX ARC_CATEGORY_NAME_MAX
#define CATEGORY_DEPTH_MAX 8
_Static_assert(CATEGORY_DEPTH_MAX <= ARC_PRODUCT_PATH_MAX, "a category path fits a document");
#define PER_PAGE_DEFAULT 20
#define PER_PAGE_MAX 100

/* Bound on one call to another service (a session lookup). */
#define CATALOG_HTTP_TIMEOUT_MS 2000

struct catalog {
    struct arc_config cfg;
    arc_db *db;
    arc_cache *cache;
    arc_httpc *http;      /* to the users service (session lookups) */
    struct arc_auth auth; /* operator key + sessions */
    arc_doccache *docs;   /* product documents (load_product_doc) */
    arc_amqp *amqp;     /* health checks' broker link (arc_health_broker); events use the outbox */
    arc_buf doc;        /* scratch for one document */
    arc_buf event_data; /* scratch for one event's data ... */
    arc_buf envelope;   /* ... and its envelope */
};

/* --- Rendering (render.c): pure functions, no I/O ------------------------- */

/* A product row as read, strings borrowed from the row: the shared product
 * document (rendered with arc_product_render) and what the catalog keeps
 * besides. */
struct product_view {
    struct arc_product doc; /* doc.npath is 0: the row's path is category_path */
    int64_t version;
    /* Events and the export only: slugs of the category chain, root first,
     * separated by spaces ("" without a category). */
    arc_str category_path;
};

/* The document of an event or of the export: arc_product_render's members
 * plus "category_path":["electronics","audio"]. */
void product_render_event(const struct product_view *p, arc_buf *out);
/* Turns arc_product_render's document of p at the end of out into the
 * event's: adds p's category_path. */
void product_add_category_path(const struct product_view *p, arc_buf *out);
/* Strong ETag "p<id>-v<version>" into out (at least 48 bytes); returns its length. */
size_t product_etag(int64_t id, int64_t version, char *out, size_t outlen);
bool currency_known(const char *code, size_t len);

/* --- Store (store.c): all of the catalog's SQL ----------------------------- */

enum product_sort {
    SORT_CREATED,
    SORT_CREATED_DESC,
    SORT_NAME,
    SORT_NAME_DESC,
    SORT_PRICE,
    SORT_PRICE_DESC,
    SORT_COUNT
};

typedef void (*product_fn)(void *ud, const struct product_view *p);

/* Fields of a create or a partial update; set says which are present. */
enum {
    F_SKU = 1 << 0,
    F_NAME = 1 << 1,
    F_DESCRIPTION = 1 << 2,
    F_PRICE = 1 << 3,
    F_CURRENCY = 1 << 4,
    F_CATEGORY = 1 << 5,
    F_ON_HAND = 1 << 6,
    F_ACTIVE = 1 << 7,
};

struct product_input {
    unsigned set;
    arc_str sku, name, description, currency;
    int64_t price;
    int64_t category_id; /* 0: no category */
    int64_t on_hand;
    bool active;
};

struct category_row {
    int64_t id;
    int64_t parent_id; /* 0: top level */
    char slug[SLUG_MAX + 1];
    char name[CATEGORY_NAME_MAX * 4 + 1];
    char parent_slug[SLUG_MAX + 1]; /* "" at top level */
    char path[256];
};

typedef void (*category_fn)(void *ud, int64_t id, int64_t parent_id, arc_str slug, arc_str name);

/* Statement texts for arc_db_new. */
extern const char *const catalog_sql[];
extern const size_t catalog_nsql;

enum arc_err store_product_get(arc_db *db, int64_t id, product_fn fn, void *ud) ARC_NODISCARD;
enum arc_err store_product_list(arc_db *db, const char *category_path, enum product_sort sort,
                                int64_t limit, int64_t offset, product_fn fn, void *ud,
                                int64_t *total) ARC_NODISCARD;
/* What a product write needs besides the database: its event goes into the
 * outbox in the same transaction (docs/events.md). */
struct store_writer {
    arc_db *db;
    const struct arc_trace *trace; /* the request's, carried by the event */
    arc_buf *data, *envelope;      /* scratch for the event */
    /* After a create, update or inventory change: the product as this write
     * committed it (product_render) and its version, the answer to the write. */
    arc_buf *doc;
    int64_t version;
    /* The request's If-Match / If-None-Match (NULL or empty: none). An update,
     * inventory change or deactivation evaluates them on the product's ETag in
     * its transaction, with the row locked; when they do not hold, nothing
     * changes, the store returns ARC_OK and sets precondition_failed. */
    const struct arc_precond *pc;
    bool precondition_failed;
};

enum arc_err store_product_create(struct store_writer *w, const struct product_input *in,
                                  int64_t *id) ARC_NODISCARD;
/* Applies the fields present in in (w->pc: see struct store_writer).
 * ARC_NOT_FOUND, ARC_CONFLICT (duplicate sku). */
enum arc_err store_product_update(struct store_writer *w, int64_t id,
                                  const struct product_input *in) ARC_NODISCARD;
/* Sets on_hand. *below_reserved is set (and nothing changes) when on_hand is
 * less than the units reserved. */
enum arc_err store_inventory_set(struct store_writer *w, int64_t id, int64_t on_hand,
                                 bool *below_reserved) ARC_NODISCARD;
/* Already inactive: ARC_OK without a change or an event. */
enum arc_err store_product_deactivate(struct store_writer *w, int64_t id) ARC_NODISCARD;
/* Products (active or not) with id > after, by id, at most limit, each with
 * its category_path. */
enum arc_err store_product_export(arc_db *db, int64_t after, int64_t limit, product_fn fn,
                                  void *ud) ARC_NODISCARD;
/* Events waiting in the outbox, and the age of the oldest in ms. */
enum arc_err store_outbox_backlog(arc_db *db, int64_t *rows, int64_t *oldest_ms) ARC_NODISCARD;

/* ARC_NOT_FOUND for an unknown slug, and for one that is not a valid slug. */
enum arc_err store_category_find(arc_db *db, const char *slug, size_t len,
                                 struct category_row *out) ARC_NODISCARD;
enum arc_err store_category_all(arc_db *db, category_fn fn, void *ud) ARC_NODISCARD;
enum arc_err store_category_children(arc_db *db, int64_t parent_id, category_fn fn,
                                     void *ud) ARC_NODISCARD;
/* parent may be NULL. ARC_CONFLICT on a duplicate slug. */
enum arc_err store_category_create(arc_db *db, arc_str slug, arc_str name,
                                   const struct category_row *parent, int64_t *id) ARC_NODISCARD;

/* --- The stock saga's statements (store.c; the saga is saga.c) ----------- */

/* What the catalog did for an order (order_stock.state; the ENUM's order). */
enum order_state {
    ORDER_NONE, /* 'new': the catalog had heard nothing of the order */
    ORDER_HELD,
    ORDER_REJECTED,
    ORDER_SOLD,
    ORDER_RELEASED,
    ORDER_RETURNED,
    ORDER_CANCELLED, /* a tombstone: cancelled before it was created */
    ORDER_STATE_COUNT
};
const char *order_state_name(enum order_state s);

/* One product's line of an order. */
struct stock_line {
    int64_t product_id, quantity;
    int64_t available; /* what a rejection reports */
};

/* The stock movements, each one conditional UPDATE of a product row. */
enum stock_move {
    STOCK_RESERVE, /* reserved += q, when active and on_hand - reserved >= q */
    STOCK_COMMIT,  /* reserved -= q, on_hand -= q, sold += q */
    STOCK_RELEASE, /* reserved -= q */
    STOCK_RETURN,  /* sold -= q, on_hand += q */
    STOCK_MOVE_COUNT
};

struct inventory {
    int64_t on_hand, reserved, sold;
};

enum arc_err store_inventory_get(arc_db *db, int64_t id, struct inventory *out) ARC_NODISCARD;
/* Locks the order's row for the rest of the transaction, creating it (state
 * new) when absent, and reads its state: ORDER_NONE when the catalog had
 * heard nothing of the order. A transaction that leaves it ORDER_NONE must
 * roll back (or set a state). */
enum arc_err store_order_stock_lock(arc_db *db, int64_t order_id,
                                    enum order_state *state) ARC_NODISCARD;
enum arc_err store_order_stock_set(arc_db *db, int64_t order_id, enum order_state to) ARC_NODISCARD;
/* Locks product_id's row for the rest of the transaction and reads the units
 * it can still reserve: 0 for an unknown or inactive product. */
enum arc_err store_stock_lock(arc_db *db, int64_t product_id, int64_t *available) ARC_NODISCARD;
/* One movement of quantity units of product_id for order_id, its version
 * bumped and inventory.changed into the outbox; a reservation also records
 * its reservations row (held). ARC_CONFLICT (nothing changed) when the
 * movement's guard does not hold. */
enum arc_err store_stock_move(struct store_writer *w, enum stock_move m, int64_t order_id,
                              int64_t product_id, int64_t quantity) ARC_NODISCARD;
/* The order's reservation lines in line_state (HELD, SOLD, ...), by product
 * id, into lines[cap]; ARC_INTERNAL when there are more. */
enum arc_err store_reservation_lines(arc_db *db, int64_t order_id, enum order_state line_state,
                                     struct stock_line *lines, size_t cap, size_t *n) ARC_NODISCARD;
enum arc_err store_reservation_set(arc_db *db, int64_t order_id, enum order_state from,
                                   enum order_state to) ARC_NODISCARD;
/* An event about order_id ("order:<id>", source catalog) into the outbox. */
enum arc_err store_order_event(struct store_writer *w, int64_t order_id, const char *type,
                               arc_str data) ARC_NODISCARD;

/* Pure renderings (stock_render.c). */
/* Whether a line of lines[n] has fewer units available than it asks for. */
bool stock_lines_short(const struct stock_line *lines, size_t n);
/* stock.reserved's data: {"order_id","items":[{"product_id","quantity"}]}. */
void stock_reserved_render(int64_t order_id, const struct stock_line *lines, size_t n,
                           arc_buf *out);
/* stock.rejected's data: {"order_id","reason":"out_of_stock","lines":[{"product_id",
 * "requested","available"}]}, the short lines only (a negative available is 0). */
void stock_rejected_render(int64_t order_id, const struct stock_line *lines, size_t n,
                           arc_buf *out);
/* GET /products/{id}/inventory: {"on_hand","reserved","sold","available"}. */
void inventory_render(const struct inventory *inv, arc_buf *out);

/* `arcade-catalog consume` (saga.c): the queue catalog.orders. */
int saga_consume_main(const struct arc_config *cfg);

/* --- Product documents, read through arc_doccache (handlers.c) ----------- */

/* arc_doc_load_fn of c->docs (ud: struct catalog): the ETag line and the
 * product's JSON. Inactive products are not documents readers may see:
 * ARC_NOT_FOUND, so they are never cached. Writers call
 * arc_doccache_invalidate(c->docs, id) after every committed write. */
enum arc_err load_product_doc(void *ud, int64_t id, arc_buf *out);

/* --- Handlers (handlers.c) and routes (routes.c) -------------------------- */

void handle_product_get(arc_req *r);
void handle_product_list(arc_req *r);
void handle_product_create(arc_req *r);
void handle_product_update(arc_req *r);
void handle_product_delete(arc_req *r);
void handle_inventory_put(arc_req *r);
void handle_inventory_get(arc_req *r);
void handle_category_list(arc_req *r);
void handle_category_get(arc_req *r);
void handle_category_create(arc_req *r);
void handle_product_export(arc_req *r);

/* --- Internal endpoints for other services (internal.c) ------------------- */

/* Ids one GET /internal/v1/products/lookup may name. */
#define LOOKUP_IDS_MAX 50
/* Reads "1,2,3" (1..LOOKUP_IDS_MAX positive ids; a repeated id counts once)
 * into ids. Returns how many, or -1 with a message (static text) in *why. */
int lookup_ids_parse(const char *s, int64_t ids[LOOKUP_IDS_MAX], const char **why);
void handle_product_lookup(arc_req *r);
void handle_health(arc_req *r);

extern const struct arc_route catalog_routes[];
extern const size_t catalog_nroutes;

#endif
