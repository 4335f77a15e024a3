/*
 * render.c - the orders service's pure functions: a cart priced with the
 * catalog's answer, as JSON. No I/O, so unit tests call them directly.
 */
#include "orders.h"

#include <string.h>

const struct catalog_item *
catalog_item_find(const struct catalog_item *items, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (items[i].id == id)
            return &items[i];
    return NULL;
}

static arc_str
view(const char *s)
{
    return (arc_str){s, strlen(s)};
}

/* A line: priced when the catalog knows the product; available when it is
 * active, has the units and is in the cart's currency. Returns the line total
 * that counts towards the cart's (0 when it is in another currency). */
static int64_t
render_line(const struct cart *c, const struct cart_line *l, const struct catalog_item *it,
            arc_buf *out)
{
    arc_buf_printf(out, "{\"product_id\":%lld", (long long)l->product_id);
    if (it == NULL) {
        arc_buf_printf(out,
                       ",\"sku\":null,\"name\":null,\"unit_price\":null,\"currency\":null,"
                       "\"quantity\":%lld,\"line_total\":null,\"available\":false}",
                       (long long)l->quantity);
        return 0;
    }
    bool same_currency = strcmp(it->currency, c->currency) == 0;
    bool available = it->active && it->available >= l->quantity && same_currency;
    int64_t line_total = it->price * l->quantity;
    arc_buf_append_json_member(out, ",\"sku\":", view(it->sku));
    arc_buf_append_json_member(out, ",\"name\":", view(it->name));
    arc_buf_printf(out, ",\"unit_price\":%lld", (long long)it->price);
    arc_buf_append_json_member(out, ",\"currency\":", view(it->currency));
    arc_buf_printf(out, ",\"quantity\":%lld,\"line_total\":%lld,\"available\":%s}",
                   (long long)l->quantity, (long long)line_total, available ? "true" : "false");
    return same_currency ? line_total : 0;
}

void
cart_render(const struct cart *c, const struct catalog_item *items, size_t nitems, arc_buf *out)
{
    int64_t total = 0;
    arc_buf_append_str(out, "{\"items\":[");
    for (size_t i = 0; i < c->n; i++) {
        if (i > 0)
            arc_buf_append_char(out, ',');
        const struct cart_line *l = &c->lines[i];
        total += render_line(c, l, catalog_item_find(items, nitems, l->product_id), out);
    }
    arc_buf_printf(out, "],\"count\":%zu,\"total\":%lld,\"currency\":", c->n, (long long)total);
    if (c->n > 0 && c->currency[0] != '\0')
        arc_buf_append_json_string(out, c->currency, strlen(c->currency));
    else
        arc_buf_append_str(out, "null");
    arc_buf_append_char(out, '}');
}

static void
time_or_null(arc_buf *out, const char *prefix, const char *t)
{
    if (t[0] == '\0') {
        arc_buf_append_str(out, prefix);
        arc_buf_append_str(out, "null");
    } else {
        arc_buf_append_json_member(out, prefix, view(t));
    }
}

void
order_render(const struct order *ord, bool internal, arc_buf *out)
{
    arc_buf_printf(out, "{\"id\":%lld", (long long)ord->id);
    if (internal)
        arc_buf_printf(out, ",\"user_id\":%lld", (long long)ord->user_id);
    arc_buf_append_json_member(out, ",\"status\":", view(ord->status));
    arc_buf_append_str(out, ",\"items\":[");
    for (size_t i = 0; i < ord->nlines; i++) {
        const struct order_line *l = &ord->lines[i];
        arc_buf_printf(out, "%s{\"product_id\":%lld", i ? "," : "", (long long)l->product_id);
        arc_buf_append_json_member(out, ",\"sku\":", view(l->sku));
        arc_buf_append_json_member(out, ",\"name\":", view(l->name));
        arc_buf_printf(out, ",\"unit_price\":%lld,\"quantity\":%lld,\"line_total\":%lld}",
                       (long long)l->unit_price, (long long)l->quantity, (long long)l->line_total);
    }
    arc_buf_printf(out, "],\"total\":%lld", (long long)ord->total);
    arc_buf_append_json_member(out, ",\"currency\":", view(ord->currency));
    /* Stored as the JSON object it is (written by checkout from validated
     * fields). */
    arc_buf_append_str(out, ",\"shipping_address\":");
    arc_buf_append_str(out, ord->address[0] ? ord->address : "null");
    time_or_null(out, ",\"reason\":", ord->reason);
    arc_buf_append_str(out, ",\"rejected_lines\":");
    arc_buf_append_str(out, ord->rejected_lines[0] ? ord->rejected_lines : "null");
    arc_buf_append_json_member(out, ",\"created_at\":", view(ord->created_at));
    arc_buf_append_json_member(out, ",\"updated_at\":", view(ord->updated_at));
    time_or_null(out, ",\"expires_at\":", ord->expires_at);
    if (ord->payment_id > 0)
        arc_buf_printf(out, ",\"payment_id\":%lld", (long long)ord->payment_id);
    else
        arc_buf_append_str(out, ",\"payment_id\":null");
    time_or_null(out, ",\"paid_at\":", ord->paid_at);
    arc_buf_printf(out, ",\"amount_refunded\":%lld", (long long)ord->amount_refunded);
    if (ord->carrier[0] == '\0') {
        arc_buf_append_str(out, ",\"shipment\":null}");
        return;
    }
    arc_buf_append_json_member(out, ",\"shipment\":{\"carrier\":", view(ord->carrier));
    arc_buf_append_json_member(out, ",\"tracking_number\":", view(ord->tracking_number));
    time_or_null(out, ",\"shipped_at\":", ord->shipped_at);
    time_or_null(out, ",\"delivered_at\":", ord->delivered_at);
    arc_buf_append_str(out, "}}");
}
