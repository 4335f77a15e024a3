/*
 * saga.c - the catalog's side of the stock saga (docs/events.md, "Order and
 * stock events"): `arcade-catalog consume` takes order.created, order.paid
 * and order.cancelled from the queue catalog.orders and reserves, sells,
 * releases or returns stock, each in the consumer's one transaction
 * (inbox, effect, the answer in the outbox).
 *
 * The order's row in order_stock, locked first, is the guard of every
 * transition: whatever event (or second event with a new id) comes, only the
 * transition its recorded state allows runs, at most once. Product rows are
 * then locked in id order, so two sagas never deadlock on each other.
 */
#include "catalog.h"

#include <stdlib.h>
#include <string.h>

#include <arcade/consumer.h>
#include <arcade/json.h>
#include <arcade/log.h>

#define SAGA_QUEUE "catalog.orders"
/* More lines than any order may have (the orders service allows 50). */
#define ORDER_LINES_MAX 100

static const char *const routing_keys[] = {
    "order.created",
    "order.paid",
    "order.cancelled",
};

struct saga {
    arc_cache *cache;
    arc_doccache *docs; /* only ever invalidated here */
    arc_buf doc, data, envelope, answer;
    struct stock_line lines[ORDER_LINES_MAX];
    size_t nlines;
    /* Products changed by transactions since the last commit: their
     * documents are invalidated once it committed (saga_committed). A rolled
     * back run leaves ids here too; invalidating one more is harmless. */
    int64_t *touched;
    size_t ntouched, touched_cap;
};

static void
touch(struct saga *s, int64_t product_id)
{
    for (size_t i = 0; i < s->ntouched; i++)
        if (s->touched[i] == product_id)
            return;
    if (s->ntouched == s->touched_cap) {
        s->touched_cap = s->touched_cap ? 2 * s->touched_cap : 64;
        s->touched = arc_xrealloc(s->touched, s->touched_cap * sizeof *s->touched);
    }
    s->touched[s->ntouched++] = product_id;
}

static void
saga_committed(void *ud)
{
    struct saga *s = ud;
    for (size_t i = 0; i < s->ntouched; i++)
        arc_doccache_invalidate(s->docs, s->touched[i]);
    s->ntouched = 0;
}

static int
by_product(const void *a, const void *b)
{
    const struct stock_line *x = a, *y = b;
    return (x->product_id > y->product_id) - (x->product_id < y->product_id);
}

/* order.created's items into s->lines: one line per product (quantities of a
 * product named twice added up), by product id. */
static bool
read_items(struct saga *s, json_object *data)
{
    json_object *items;
    s->nlines = 0;
    if (!json_object_object_get_ex(data, "items", &items) ||
        !json_object_is_type(items, json_type_array))
        return false;
    size_t n = json_object_array_length(items);
    if (n < 1 || n > ORDER_LINES_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        json_object *it = json_object_array_get_idx(items, i);
        struct stock_line l = {0};
        if (!json_object_is_type(it, json_type_object) ||
            arc_json_int(it, "product_id", ARC_REQUIRED, 1, INT64_MAX, &l.product_id, NULL) !=
                ARC_FIELD_OK ||
            arc_json_int(it, "quantity", ARC_REQUIRED, 1, ON_HAND_MAX, &l.quantity, NULL) !=
                ARC_FIELD_OK)
            return false;
        s->lines[s->nlines++] = l;
    }
    qsort(s->lines, s->nlines, sizeof s->lines[0], by_product);
    size_t out = 0;
    for (size_t i = 0; i < s->nlines; i++) {
        if (out > 0 && s->lines[out - 1].product_id == s->lines[i].product_id) {
            s->lines[out - 1].quantity += s->lines[i].quantity;
            if (s->lines[out - 1].quantity > ON_HAND_MAX)
                return false;
        } else {
            s->lines[out++] = s->lines[i];
        }
    }
    s->nlines = out;
    return true;
}

static struct store_writer
writer(struct saga *s, arc_db *db, const struct arc_trace *trace)
{
    return (struct store_writer){
        .db = db, .trace = trace, .data = &s->data, .envelope = &s->envelope, .doc = &s->doc};
}

/* order.created, the catalog not having heard of the order: every product row
 * locked, in id order, and read before anything is decided, so what is
 * available cannot change until the commit; then all lines reserved, or
 * none. */
static enum arc_err
reserve_or_reject(struct saga *s, struct store_writer *w, int64_t order_id)
{
    enum arc_err e = ARC_OK;
    for (size_t i = 0; i < s->nlines && e == ARC_OK; i++)
        e = store_stock_lock(w->db, s->lines[i].product_id, &s->lines[i].available);
    if (e != ARC_OK)
        return e;
    arc_buf_reset(&s->answer);
    if (stock_lines_short(s->lines, s->nlines)) {
        stock_rejected_render(order_id, s->lines, s->nlines, &s->answer);
        e = store_order_stock_set(w->db, order_id, ORDER_REJECTED);
        if (e == ARC_OK)
            e = store_order_event(w, order_id, "stock.rejected",
                                  (arc_str){s->answer.ptr, s->answer.len});
        return e;
    }
    e = store_order_stock_set(w->db, order_id, ORDER_HELD);
    for (size_t i = 0; i < s->nlines && e == ARC_OK; i++) {
        const struct stock_line *l = &s->lines[i];
        e = store_stock_move(w, STOCK_RESERVE, order_id, l->product_id, l->quantity);
        if (e == ARC_CONFLICT)
            e = ARC_INTERNAL; /* checked under the lock just now */
        touch(s, l->product_id);
    }
    stock_reserved_render(order_id, s->lines, s->nlines, &s->answer);
    if (e == ARC_OK)
        e = store_order_event(w, order_id, "stock.reserved",
                              (arc_str){s->answer.ptr, s->answer.len});
    return e;
}

/* order.created: reserved or rejected once; in any other state, nothing. */
static enum arc_err
on_created(struct saga *s, struct store_writer *w, int64_t order_id, json_object *data)
{
    if (!read_items(s, data)) {
        arc_log_warn("catalog: order %lld: order.created without valid items", (long long)order_id);
        return ARC_INVALID;
    }
    enum order_state state;
    enum arc_err e = store_order_stock_lock(w->db, order_id, &state);
    if (e != ARC_OK)
        return e;
    if (state == ORDER_NONE)
        return reserve_or_reject(s, w, order_id);
    arc_log_info("catalog: order %lld is %s: order.created has no effect", (long long)order_id,
                 order_state_name(state));
    return ARC_OK;
}

/* Applies m to every line of the order in state `from` (by product id: the
 * rows are locked in that order), then sets those lines and the order to `to`. */
static enum arc_err
move_all(struct saga *s, struct store_writer *w, int64_t order_id, enum order_state from,
         enum stock_move m, enum order_state to)
{
    enum arc_err e =
        store_reservation_lines(w->db, order_id, from, s->lines, ORDER_LINES_MAX, &s->nlines);
    for (size_t i = 0; i < s->nlines && e == ARC_OK; i++) {
        e = store_stock_move(w, m, order_id, s->lines[i].product_id, s->lines[i].quantity);
        if (e == ARC_CONFLICT)
            e = ARC_INTERNAL; /* the counts disagree with the reservations */
        touch(s, s->lines[i].product_id);
    }
    if (e == ARC_OK)
        e = store_reservation_set(w->db, order_id, from, to);
    if (e == ARC_OK)
        e = store_order_stock_set(w->db, order_id, to);
    return e;
}

/* order.paid: the held units become sold ones. */
static enum arc_err
on_paid(struct saga *s, struct store_writer *w, int64_t order_id)
{
    enum order_state state;
    enum arc_err e = store_order_stock_lock(w->db, order_id, &state);
    if (e != ARC_OK)
        return e;
    if (state == ORDER_HELD)
        return move_all(s, w, order_id, ORDER_HELD, STOCK_COMMIT, ORDER_SOLD);
    if (state == ORDER_NONE) {
        /* Before its order.created (which a retry delayed): later. */
        arc_log_warn("catalog: order %lld: order.paid before order.created; retrying later",
                     (long long)order_id);
        return ARC_CONFLICT;
    }
    arc_log_info("catalog: order %lld is %s: order.paid has no effect", (long long)order_id,
                 order_state_name(state));
    return ARC_OK;
}

/* order.cancelled: held units released, sold ones returned, each once; before
 * the order.created, a tombstone. */
static enum arc_err
on_cancelled(struct saga *s, struct store_writer *w, int64_t order_id)
{
    enum order_state state;
    enum arc_err e = store_order_stock_lock(w->db, order_id, &state);
    if (e != ARC_OK)
        return e;
    switch (state) {
    case ORDER_NONE:
        arc_log_info("catalog: order %lld cancelled before its order.created: tombstone",
                     (long long)order_id);
        return store_order_stock_set(w->db, order_id, ORDER_CANCELLED);
    case ORDER_HELD:
        return move_all(s, w, order_id, ORDER_HELD, STOCK_RELEASE, ORDER_RELEASED);
    case ORDER_SOLD:
        return move_all(s, w, order_id, ORDER_SOLD, STOCK_RETURN, ORDER_RETURNED);
    default:
        arc_log_info("catalog: order %lld is %s: order.cancelled has no effect",
                     (long long)order_id, order_state_name(state));
        return ARC_OK;
    }
}

static enum arc_err
on_event(void *ud, arc_db *db, const struct arc_event_in *ev)
{
    struct saga *s = ud;
    int64_t order_id = 0;
    if (arc_json_int(ev->data, "order_id", ARC_REQUIRED, 1, INT64_MAX, &order_id, NULL) !=
        ARC_FIELD_OK) {
        arc_log_warn("catalog: event %s (%s) without a valid order_id", ev->id, ev->type);
        return ARC_INVALID;
    }
    struct arc_trace trace;
    arc_trace_start(&trace, ev->traceparent[0] ? ev->traceparent : NULL);
    struct store_writer w = writer(s, db, &trace);
    if (strcmp(ev->type, "order.created") == 0)
        return on_created(s, &w, order_id, ev->data);
    if (strcmp(ev->type, "order.paid") == 0)
        return on_paid(s, &w, order_id);
    if (strcmp(ev->type, "order.cancelled") == 0)
        return on_cancelled(s, &w, order_id);
    arc_log_warn("catalog: event %s of type %s is not one the catalog consumes", ev->id, ev->type);
    return ARC_INVALID;
}

/* The consumer never reads documents: it only invalidates them. */
static enum arc_err
no_load(void *ud, int64_t id, arc_buf *out)
{
    (void)ud;
    (void)id;
    (void)out;
    return ARC_NOT_FOUND;
}

int
saga_consume_main(const struct arc_config *cfg)
{
    static struct saga s;
    if (cfg->memcached[0] != '\0')
        s.cache = arc_cache_new(cfg->memcached, cfg->cache_timeout_ms);
    /* The workers' shared generation table (arcade-catalog-product.gen):
     * bumping a product's counter after the commit makes every worker of the
     * host drop its copy, so none serves a stale stock. */
    s.docs = arc_doccache_new(cfg, "product", s.cache, no_load, &s);
    const struct arc_consumer_spec spec = {
        .queue = SAGA_QUEUE,
        .keys = routing_keys,
        .nkeys = ARC_ARRAY_LEN(routing_keys),
        .sql = catalog_sql,
        .nsql = catalog_nsql,
        .handle = on_event,
        .ud = &s,
        .committed = saga_committed,
    };
    int rc = arc_consumer_main(cfg, &spec);
    arc_doccache_free(s.docs);
    arc_cache_free(s.cache);
    arc_buf_cleanup(&s.doc);
    arc_buf_cleanup(&s.data);
    arc_buf_cleanup(&s.envelope);
    arc_buf_cleanup(&s.answer);
    free(s.touched);
    return rc;
}
