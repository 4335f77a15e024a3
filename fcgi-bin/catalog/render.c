/*
 * render.c - the catalog's pure functions: product JSON, entity tags, and the
 * syntax rules of the API's fields. No I/O, so unit tests call them directly.
 */
#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
product_render(const struct product_view *p, arc_buf *out)
{
    arc_buf_printf(out, "{\"id\":%lld", (long long)p->id);
    arc_buf_append_json_member(out, ",\"sku\":", p->sku);
    arc_buf_append_json_member(out, ",\"name\":", p->name);
    arc_buf_append_json_member(out, ",\"description\":", p->description);
    arc_buf_printf(out, ",\"price\":%lld", (long long)p->price);
    arc_buf_append_json_member(out, ",\"currency\":", p->currency);
    if (p->has_category) {
        arc_buf_printf(out, ",\"category\":{\"id\":%lld", (long long)p->category_id);
        arc_buf_append_json_member(out, ",\"slug\":", p->category_slug);
        arc_buf_append_json_member(out, ",\"name\":", p->category_name);
        arc_buf_append_char(out, '}');
    } else {
        arc_buf_append_str(out, ",\"category\":null");
    }
    arc_buf_printf(out, ",\"stock\":%lld,\"active\":%s", (long long)p->stock,
                   p->active ? "true" : "false");
    arc_buf_append_json_member(out, ",\"created_at\":", p->created_at);
    arc_buf_append_json_member(out, ",\"updated_at\":", p->updated_at);
    arc_buf_append_char(out, '}');
}

void
product_render_event(const struct product_view *p, arc_buf *out)
{
    product_render(p, out);
    product_add_category_path(p, out);
}

void
product_add_category_path(const struct product_view *p, arc_buf *out)
{
    out->len--; /* the closing brace */
    arc_buf_append_str(out, ",\"category_path\":[");
    const char *s = p->category_path.ptr;
    const char *end = p->category_path.len > 0 ? s + p->category_path.len : s;
    for (bool first = true; s < end; first = false) {
        const char *sp = memchr(s, ' ', (size_t)(end - s));
        const char *stop = sp ? sp : end;
        if (!first)
            arc_buf_append_char(out, ',');
        arc_buf_append_json_string(out, s, (size_t)(stop - s));
        s = stop + 1;
    }
    arc_buf_append_str(out, "]}");
}

size_t
product_etag(int64_t id, int64_t version, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "\"p%lld-v%lld\"", (long long)id, (long long)version);
    return n < 0 ? 0 : (size_t)n;
}

/* Active ISO 4217 currency codes, sorted for bsearch. */
static const char currencies[][4] = {
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWL",
};

static int
cmp_currency(const void *a, const void *b)
{
    return memcmp(a, b, 3);
}

bool
currency_known(const char *code, size_t len)
{
    if (len != 3)
        return false;
    return bsearch(code, currencies, ARC_ARRAY_LEN(currencies), sizeof currencies[0],
                   cmp_currency) != NULL;
}
