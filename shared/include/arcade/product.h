/*
 * product.h - the product document, one definition for the shop: the catalog
 * renders it (GET /api/v1/products/{id}, the answer to every write, and with
 * its category path the data of every product event and of the export), and
 * every service that reads it (search from events; orders) reads it back with
 * the same limits and text rules the catalog applies to what it accepts
 * (docs/catalog-api.md). So a product the catalog took is a document every
 * reader takes: a change of a limit here changes both sides at once.
 */
#ifndef ARCADE_PRODUCT_H
#define ARCADE_PRODUCT_H

#include <json-c/json.h>

#include "arcade/buf.h"
#include "arcade/ident.h"

/* Limits, in characters (code points) for text. sku and category slugs:
 * ARC_SKU_MAX, ARC_SLUG_MAX and their syntax (ident.h). */
#define ARC_PRODUCT_NAME_MAX 200                    /* single-line text, 1.. */
#define ARC_PRODUCT_DESCRIPTION_MAX 5000            /* ARC_MULTILINE text, 0.. */
#define ARC_PRODUCT_PRICE_MAX INT64_C(999999999999) /* minor units, 0.. */
#define ARC_PRODUCT_STOCK_MAX 1000000000            /* units on hand (and in stock), 0.. */
#define ARC_CATEGORY_NAME_MAX 100                   /* single-line text, 1.. */
#define ARC_PRODUCT_PATH_MAX 16 /* slugs in a category path (the catalog nests 8 deep) */
#define ARC_CURRENCY_LEN 3      /* ISO 4217 */

/* A product document. Strings are borrowed (from a database row, or from the
 * JSON document it was read from) and are not NUL-terminated. */
struct arc_product {
    int64_t id;
    arc_str sku, name, description, currency;
    int64_t price;
    bool has_category;
    int64_t category_id;
    arc_str category_slug, category_name;
    int64_t stock;
    bool active;
    arc_str created_at, updated_at; /* RFC 3339 UTC, "2026-11-23T21:18:36.123Z" */
    /* Events and the export: the slugs of the category chain, root first,
     * each once; the last is category_slug (none without a category). */
    arc_str path[ARC_PRODUCT_PATH_MAX];
    size_t npath;
};

/* Appends the document readers of the API see:
 * {"id","sku","name","description","price","currency","category":{"id","slug",
 * "name"}|null,"stock","active","created_at","updated_at"}. */
void arc_product_render(const struct arc_product *p, arc_buf *out);
/* Turns the document arc_product_render just appended to out into the one
 * events and the export carry: adds "category_path":["electronics","audio"]. */
void arc_product_add_path(const struct arc_product *p, arc_buf *out);
/* arc_product_render, then arc_product_add_path. */
void arc_product_render_event(const struct arc_product *p, arc_buf *out);

/* Flags of arc_product_read. */
#define ARC_PRODUCT_WITH_PATH 0x1u /* an event's or the export's: category_path required */

/* Reads the product document data (an event's "data", an item of the export,
 * or with flags 0 the API's document) into *p, strings borrowed from data.
 * Every member is checked with the catalog's own rules: the limits above, the
 * text rule of arc_json_string (json.h; names single-line, the description
 * ARC_MULTILINE), SKU and slug syntax, the currency's shape (three letters
 * A-Z: a code the catalog once accepted stays readable), a category path that
 * ends with the product's category. Members it does not know are ignored.
 * Returns 0, or -1 with a short reason in *why (static text). */
int arc_product_read(json_object *data, unsigned flags, struct arc_product *p, const char **why);

#endif
