/*
 * saga.c - the orders' side of the stock saga (docs/events.md, "Order and
 * stock events"): `arcade-orders consume` takes the catalog's answers to
 * order.created from the queue orders.catalog: stock.reserved moves a
 * pending order to awaiting_payment (expires_at = now +
 * ARCADE_ORDER_PAYMENT_TTL), stock.rejected to rejected (reason
 * out_of_stock, the short lines kept). Stock events all carry version 1, so
 * the guard is the order's status: each transition is an UPDATE ... WHERE
 * status = 'pending', and a second answer for an order has no effect.
 */
#include "orders.h"

#include <stdio.h>
#include <string.h>

#include <arcade/consumer.h>
#include <arcade/json.h>
#include <arcade/log.h>

#define SAGA_QUEUE "orders.catalog"

static const char *const routing_keys[] = {
    "stock.reserved",
    "stock.rejected",
};

struct saga {
    unsigned ttl_s;
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
