/*
 * stock_render.c - the stock saga's pure functions: the catalog's answers to
 * order.created (docs/events.md, "Order and stock events") and the admin's
 * inventory document. No I/O, so unit tests call them directly.
 */
#include "catalog.h"

bool
stock_lines_short(const struct stock_line *lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lines[i].available < lines[i].quantity)
            return true;
    return false;
}

void
stock_reserved_render(int64_t order_id, const struct stock_line *lines, size_t n, arc_buf *out)
{
    arc_buf_printf(out, "{\"order_id\":%lld,\"items\":[", (long long)order_id);
    for (size_t i = 0; i < n; i++)
        arc_buf_printf(out, "%s{\"product_id\":%lld,\"quantity\":%lld}", i ? "," : "",
                       (long long)lines[i].product_id, (long long)lines[i].quantity);
    arc_buf_append_str(out, "]}");
}

void
stock_rejected_render(int64_t order_id, const struct stock_line *lines, size_t n, arc_buf *out)
{
    arc_buf_printf(out, "{\"order_id\":%lld,\"reason\":\"out_of_stock\",\"lines\":[",
                   (long long)order_id);
    const char *sep = "";
    for (size_t i = 0; i < n; i++) {
        const struct stock_line *l = &lines[i];
        if (l->available >= l->quantity)
            continue;
        arc_buf_printf(out, "%s{\"product_id\":%lld,\"requested\":%lld,\"available\":%lld}", sep,
                       (long long)l->product_id, (long long)l->quantity,
                       (long long)(l->available > 0 ? l->available : 0));
        sep = ",";
    }
    arc_buf_append_str(out, "]}");
}

void
inventory_render(const struct inventory *inv, arc_buf *out)
{
    arc_buf_printf(out, "{\"on_hand\":%lld,\"reserved\":%lld,\"sold\":%lld,\"available\":%lld}",
                   (long long)inv->on_hand, (long long)inv->reserved, (long long)inv->sold,
                   (long long)(inv->on_hand - inv->reserved));
}
