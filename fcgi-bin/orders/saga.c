/*
 * saga.c - the orders' side of the sagas (docs/events.md, "Order and stock
 * events", "Payment events"): `arcade-orders consume` takes the catalog's
 * answers to
 * order.created from the queue orders.catalog: stock.reserved moves a
 * pending order to awaiting_payment (expires_at = now +
 * ARCADE_ORDER_PAYMENT_TTL), stock.rejected to rejected (reason
 * out_of_stock, the short lines kept). Stock events all carry version 1, so
 * the guard is the order's status: each transition is an UPDATE ... WHERE
 * status = 'pending', and a second answer for an order has no effect.
 * `arcade-orders consume-payments` takes the payments' events from the queue
 * orders.payments: payment.succeeded moves an awaiting_payment order to paid
 * (order.paid, for the catalog), payment.failed leaves it awaiting payment,
 * payment.refunded records the refunds and moves a fully refunded order to
 * refunded. Each is decided under the order's row lock.
 */
#include "orders.h"

#include <stdio.h>
#include <string.h>

#include <arcade/consumer.h>
#include <arcade/json.h>
#include <arcade/log.h>
#include <arcade/trace.h>

#define SAGA_QUEUE "orders.catalog"
#define PAYMENTS_QUEUE "orders.payments"

static const char *const routing_keys[] = {
    "stock.reserved",
    "stock.rejected",
};

static const char *const payment_keys[] = {
    "payment.succeeded",
    "payment.failed",
    "payment.refunded",
};

struct saga {
    unsigned ttl_s;
    arc_buf scratch; /* an event's envelope */
};

/* stock.rejected's lines as the order keeps them: an array of
 * {product_id, requested, available}. */
static bool
rejected_lines(json_object *data, char *out, size_t cap)
{
    json_object *lines;
    if (!json_object_object_get_ex(data, "lines", &lines) ||
        !json_object_is_type(lines, json_type_array))
        return false;
    size_t len = 0;
    out[len++] = '[';
    for (size_t i = 0; i < json_object_array_length(lines); i++) {
        json_object *l = json_object_array_get_idx(lines, i);
        int64_t p, q, a;
        if (!json_object_is_type(l, json_type_object) ||
            arc_json_int(l, "product_id", ARC_REQUIRED, 1, INT64_MAX, &p, NULL) != ARC_FIELD_OK ||
            arc_json_int(l, "requested", ARC_REQUIRED, 0, INT64_MAX, &q, NULL) != ARC_FIELD_OK ||
            arc_json_int(l, "available", ARC_REQUIRED, INT64_MIN, INT64_MAX, &a, NULL) !=
                ARC_FIELD_OK)
            return false;
        int n = snprintf(out + len, cap - len,
                         "%s{\"product_id\":%lld,\"requested\":%lld,\"available\":%lld}",
                         i ? "," : "", (long long)p, (long long)q, (long long)a);
        if (n < 0 || (size_t)n >= cap - len - 1)
            return false;
        len += (size_t)n;
    }
    out[len++] = ']';
    out[len] = '\0';
    return true;
}

static enum arc_err
on_event(void *ud, arc_db *db, const struct arc_event_in *ev)
{
    struct saga *s = ud;
    int64_t order_id = 0;
    if (arc_json_int(ev->data, "order_id", ARC_REQUIRED, 1, INT64_MAX, &order_id, NULL) !=
        ARC_FIELD_OK) {
        arc_log_warn("orders: event %s (%s) without a valid order_id", ev->id, ev->type);
        return ARC_INVALID;
    }
    bool applied = false;
    enum arc_err e;
    if (strcmp(ev->type, "stock.reserved") == 0) {
        e = store_order_reserved(db, order_id, s->ttl_s, &applied);
    } else if (strcmp(ev->type, "stock.rejected") == 0) {
        static char lines[8192];
        if (!rejected_lines(ev->data, lines, sizeof lines)) {
            arc_log_warn("orders: stock.rejected %s for order %lld without valid lines", ev->id,
                         (long long)order_id);
            return ARC_INVALID;
        }
        e = store_order_rejected(db, order_id, lines, &applied);
    } else {
        arc_log_warn("orders: event %s of type %s is not one orders consumes", ev->id, ev->type);
        return ARC_INVALID;
    }
    if (e == ARC_OK && !applied)
        arc_log_info("orders: %s for order %lld had no effect (not pending, or unknown)", ev->type,
                     (long long)order_id);
    return e;
}

int
saga_consume_main(const struct arc_config *cfg)
{
    static struct saga s;
    if (arc_env_uint("ARCADE_ORDER_PAYMENT_TTL", 900, 1, 86400 * 7, &s.ttl_s) != 0) {
        fprintf(stderr, "orders: bad ARCADE_ORDER_PAYMENT_TTL (seconds, 1..604800)\n");
        return 1;
    }
    const struct arc_consumer_spec spec = {
        .queue = SAGA_QUEUE,
        .keys = routing_keys,
        .nkeys = ARC_ARRAY_LEN(routing_keys),
        .sql = orders_sql,
        .nsql = orders_nsql,
        .handle = on_event,
        .ud = &s,
    };
    return arc_consumer_main(cfg, &spec);
}

/* ---- the payments' events ---------------------------------------------------- */

/* The amounts of a payment event, in minor units. */
#define AMOUNT_MAX ((int64_t)1 << 53)

static enum arc_err
on_payment(void *ud, arc_db *db, const struct arc_event_in *ev)
{
    struct saga *s = ud;
    json_object *fields = NULL;
    int64_t order_id = 0, payment_id = 0, amount = 0;
    const char *currency = NULL;
    size_t currency_len = 0;
    (void)arc_json_int(ev->data, "order_id", ARC_REQUIRED, 1, INT64_MAX, &order_id, &fields);
    (void)arc_json_int(ev->data, "payment_id", ARC_REQUIRED, 1, INT64_MAX, &payment_id, &fields);
    bool succeeded = strcmp(ev->type, "payment.succeeded") == 0;
    bool refunded = strcmp(ev->type, "payment.refunded") == 0;
    if (succeeded) {
        (void)arc_json_int(ev->data, "amount", ARC_REQUIRED, 1, AMOUNT_MAX, &amount, &fields);
        (void)arc_json_string(ev->data, "currency", ARC_REQUIRED, ARC_CURRENCY_LEN,
                              ARC_CURRENCY_LEN, &currency, &currency_len, &fields);
    } else if (refunded) {
        (void)arc_json_int(ev->data, "amount_refunded", ARC_REQUIRED, 1, AMOUNT_MAX, &amount,
                           &fields);
    } else if (strcmp(ev->type, "payment.failed") != 0) {
        arc_log_warn("orders: event %s of type %s is not one orders consumes", ev->id, ev->type);
        return ARC_INVALID;
    }
    if (fields != NULL) {
        const char *why = json_object_to_json_string_ext(fields, JSON_C_TO_STRING_PLAIN);
        arc_log_warn("orders: %s %s is malformed: %s", ev->type, ev->id, why);
        json_object_put(fields);
        return ARC_INVALID;
    }
    struct arc_trace trace;
    arc_trace_start(&trace, ev->traceparent[0] ? ev->traceparent : NULL);
    enum payment_effect fx = PAYMENT_NO_EFFECT;
    enum arc_err e;
    if (succeeded) {
        char cur[ARC_CURRENCY_LEN + 1];
        memcpy(cur, currency, ARC_CURRENCY_LEN);
        cur[ARC_CURRENCY_LEN] = '\0';
        e = store_order_paid(db, order_id, payment_id, amount, cur, &trace, &fx, &s->scratch);
    } else if (refunded) {
        e = store_order_refunded(db, order_id, payment_id, amount, &trace, &fx, &s->scratch);
    } else {
        e = store_order_payment_failed(db, order_id, &fx);
    }
    if (e != ARC_OK)
        return e;
    switch (fx) {
    case PAYMENT_APPLIED:
        return ARC_OK;
    case PAYMENT_NO_EFFECT:
        arc_log_info("orders: %s %s for order %lld had no effect", ev->type, ev->id,
                     (long long)order_id);
        return ARC_OK;
    case PAYMENT_TOO_EARLY:
        /* Its stock answer is not in yet: the retry queue brings it back. */
        arc_log_info("orders: %s %s for order %lld, still pending: later", ev->type, ev->id,
                     (long long)order_id);
        return ARC_CONFLICT;
    case PAYMENT_MISMATCH:
        break;
    }
    /* Money that matches no order: an operator must look (dead letters). */
    arc_log_error("orders: %s %s (payment %lld, amount %lld) does not match order %lld", ev->type,
                  ev->id, (long long)payment_id, (long long)amount, (long long)order_id);
    return ARC_INVALID;
}

int
saga_payments_main(const struct arc_config *cfg)
{
    static struct saga s;
    arc_buf_init(&s.scratch);
    const struct arc_consumer_spec spec = {
        .queue = PAYMENTS_QUEUE,
        .keys = payment_keys,
        .nkeys = ARC_ARRAY_LEN(payment_keys),
        .sql = orders_sql,
        .nsql = orders_nsql,
        .handle = on_payment,
        .ud = &s,
    };
    int rc = arc_consumer_main(cfg, &spec);
    arc_buf_cleanup(&s.scratch);
    return rc;
}
