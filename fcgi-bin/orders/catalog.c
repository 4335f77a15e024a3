/*
 * catalog.c - the orders service's client of the catalog: the internal
 * lookup (GET /internal/v1/products/lookup?ids=), through libcurl with a short
 * timeout and behind the worker's circuit breaker, so a catalog that is down
 * costs one timeout per cool-down and then fails fast (503).
 */
#include "orders.h"

#include <stdio.h>
#include <string.h>

#include <arcade/json.h>
#include <arcade/log.h>

/* Copies a string member of o into dst[cap]; false when absent, not a
 * string or too long. */
static bool
copy_str(json_object *o, const char *key, char *dst, size_t cap)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return false;
    size_t len = (size_t)json_object_get_string_len(v);
    if (len >= cap)
        return false;
    memcpy(dst, json_object_get_string(v), len);
    dst[len] = '\0';
    return true;
}

static bool
get_int(json_object *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
        return false;
    *out = json_object_get_int64(v);
    return *out >= min && *out <= max;
}

static bool
read_item(json_object *o, struct catalog_item *it)
{
    json_object *active;
    if (!json_object_is_type(o, json_type_object) || !get_int(o, "id", 1, INT64_MAX, &it->id) ||
        !copy_str(o, "sku", it->sku, sizeof it->sku) ||
        !copy_str(o, "name", it->name, sizeof it->name) ||
        !get_int(o, "price", 0, ARC_PRODUCT_PRICE_MAX, &it->price) ||
        !copy_str(o, "currency", it->currency, sizeof it->currency) ||
        strlen(it->currency) != ARC_CURRENCY_LEN ||
        !get_int(o, "available", 0, INT64_MAX, &it->available) ||
        !json_object_object_get_ex(o, "active", &active) ||
        !json_object_is_type(active, json_type_boolean))
        return false;
    it->active = json_object_get_boolean(active);
    return true;
}

/* The answer's items into o->items. -1 when it is not the lookup's answer. */
static int
read_answer(struct orders *o)
{
    const arc_buf *b = &o->catalog_resp.body;
    json_object *doc = arc_json_parse(b->ptr ? b->ptr : "", b->len, 8), *items;
    int rc = -1;
    o->nitems = 0;
    if (doc == NULL || !json_object_object_get_ex(doc, "items", &items) ||
        !json_object_is_type(items, json_type_array) ||
        json_object_array_length(items) > CART_LINES_MAX)
        goto out;
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        if (!read_item(json_object_array_get_idx(items, i), &o->items[o->nitems]))
            goto out;
        o->nitems++;
    }
    rc = 0;
out:
    json_object_put(doc);
    return rc;
}

enum arc_err
catalog_lookup(struct orders *o, const struct arc_trace *trace, const int64_t *ids, size_t n)
{
    o->nitems = 0;
    if (n == 0 || n > CART_LINES_MAX)
        return ARC_INTERNAL;
    if (o->catalog_url[0] == '\0') {
        arc_log_warn("orders: ARCADE_CATALOG_URL is not set: the catalog cannot be asked");
        return ARC_UNAVAILABLE;
    }
    uint64_t now = arc_now_ns();
    if (!arc_breaker_allow(&o->catalog_breaker, now))
        return ARC_UNAVAILABLE; /* fail fast: no call during the cool-down */
    char url[1536];
    int len = snprintf(url, sizeof url, "%s/internal/v1/products/lookup?ids=", o->catalog_url);
    for (size_t i = 0; i < n && len > 0 && (size_t)len < sizeof url; i++)
        len += snprintf(url + len, sizeof url - (size_t)len, "%s%lld", i ? "," : "",
                        (long long)ids[i]);
    if (len <= 0 || (size_t)len >= sizeof url)
        return ARC_INTERNAL;
    enum arc_err e =
        arc_httpc_request(o->catalog_http, "GET", url, NULL, NULL, 0, trace, &o->catalog_resp);
    int status = o->catalog_resp.status;
    if (e == ARC_OK && status >= 400 && status < 500) {
        /* The catalog is there, and refused the question: a bug here. */
        arc_breaker_success(&o->catalog_breaker);
        arc_log_error("orders: catalog lookup answered %d", status);
        return ARC_INTERNAL;
    }
    if (e != ARC_OK || status != 200 || read_answer(o) != 0) {
        arc_breaker_failure(&o->catalog_breaker, arc_now_ns());
        arc_log_warn("orders: catalog lookup failed (%s, status %d)%s", arc_err_name(e), status,
                     arc_breaker_allow(&o->catalog_breaker, arc_now_ns())
                         ? ""
                         : ": breaker open, failing fast for the cool-down");
        return ARC_UNAVAILABLE;
    }
    arc_breaker_success(&o->catalog_breaker);
    return ARC_OK;
}

void
respond_catalog_unavailable(arc_req *r, struct orders *o)
{
    arc_respond_header(r, "Retry-After", "%u",
                       arc_breaker_retry_after_s(&o->catalog_breaker, arc_now_ns()));
    arc_respond_error(r, 503, "unavailable", "the catalog is unavailable, try again", NULL);
}
