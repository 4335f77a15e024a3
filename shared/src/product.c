/*
 * product.c - the product document (product.h): rendered by the catalog,
 * read back by every other service with the catalog's own rules.
 */
#include "arcade/product.h"

#include <string.h>

#include "arcade/json.h"

void
arc_product_render(const struct arc_product *p, arc_buf *out)
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
arc_product_add_path(const struct arc_product *p, arc_buf *out)
{
    out->len--; /* the closing brace */
    arc_buf_append_str(out, ",\"category_path\":[");
    for (size_t i = 0; i < p->npath; i++) {
        if (i > 0)
            arc_buf_append_char(out, ',');
        arc_buf_append_json_string(out, p->path[i].ptr, p->path[i].len);
    }
    arc_buf_append_str(out, "]}");
}

void
arc_product_render_event(const struct arc_product *p, arc_buf *out)
{
    arc_product_render(p, out);
    arc_product_add_path(p, out);
}

/* ---- reading ------------------------------------------------------------------ */

/* Member key of o as text of min..max characters by the text rule of flags
 * (the field readers' messages are not needed: the caller's *why says it). */
static bool
get_text(json_object *o, const char *key, unsigned flags, size_t min, size_t max, arc_str *out)
{
    json_object *fields = NULL;
    const char *s = NULL;
    size_t len = 0;
    bool ok =
        arc_json_string(o, key, ARC_REQUIRED | flags, min, max, &s, &len, &fields) == ARC_FIELD_OK;
    json_object_put(fields);
    if (ok)
        *out = (arc_str){s, len};
    return ok;
}

static bool
get_int(json_object *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
    json_object *fields = NULL;
    bool ok = arc_json_int(o, key, ARC_REQUIRED, min, max, out, &fields) == ARC_FIELD_OK;
    json_object_put(fields);
    return ok;
}

static bool
get_bool(json_object *o, const char *key, bool *out)
{
    json_object *fields = NULL;
    bool ok = arc_json_bool(o, key, ARC_REQUIRED, out, &fields) == ARC_FIELD_OK;
    json_object_put(fields);
    return ok;
}

/* Three upper-case ASCII letters (the catalog also checks the code is ISO 4217). */
static bool
currency_shape(arc_str c)
{
    if (c.len != ARC_CURRENCY_LEN)
        return false;
    for (size_t i = 0; i < c.len; i++)
        if (c.ptr[i] < 'A' || c.ptr[i] > 'Z')
            return false;
    return true;
}

static bool
same(arc_str a, arc_str b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

static const char *
read_category(json_object *data, struct arc_product *p)
{
    json_object *cat;
    if (!json_object_object_get_ex(data, "category", &cat))
        return "category is missing";
    if (cat == NULL)
        return NULL;
    if (!json_object_is_type(cat, json_type_object) ||
        !get_int(cat, "id", 1, INT64_MAX, &p->category_id) ||
        !get_text(cat, "slug", 0, 1, ARC_SLUG_MAX, &p->category_slug) ||
        !arc_slug_valid(p->category_slug.ptr, p->category_slug.len) ||
        !get_text(cat, "name", 0, 1, ARC_CATEGORY_NAME_MAX, &p->category_name))
        return "category is not null or {id, slug, name}";
    p->has_category = true;
    return NULL;
}

static const char *
read_path(json_object *data, struct arc_product *p)
{
    json_object *path;
    if (!json_object_object_get_ex(data, "category_path", &path) ||
        !json_object_is_type(path, json_type_array) ||
        json_object_array_length(path) > ARC_PRODUCT_PATH_MAX)
        return "category_path is not an array of at most 16 slugs";
    p->npath = json_object_array_length(path);
    for (size_t i = 0; i < p->npath; i++) {
        json_object *v = json_object_array_get_idx(path, i);
        if (!json_object_is_type(v, json_type_string))
            return "category_path holds something other than slugs";
        arc_str slug = {json_object_get_string(v), (size_t)json_object_get_string_len(v)};
        if (!arc_slug_valid(slug.ptr, slug.len))
            return "category_path holds something other than slugs";
        for (size_t j = 0; j < i; j++)
            if (same(p->path[j], slug))
                return "category_path names a category twice";
        p->path[i] = slug;
    }
    /* The leaf ends the path; no category, no path. */
    const arc_str *leaf = p->npath ? &p->path[p->npath - 1] : NULL;
    if (p->has_category ? leaf == NULL || !same(*leaf, p->category_slug) : leaf != NULL)
        return "category_path does not end with the category's slug";
    return NULL;
}

/* The members of data before the category, in the order they are rendered. */
static const char *
read_members(json_object *data, struct arc_product *p)
{
    if (!get_int(data, "id", 1, INT64_MAX, &p->id))
        return "id is not a positive integer";
    if (!get_text(data, "sku", 0, 1, ARC_SKU_MAX, &p->sku) ||
        !arc_sku_valid(p->sku.ptr, p->sku.len))
        return "sku is not a sku";
    if (!get_text(data, "name", 0, 1, ARC_PRODUCT_NAME_MAX, &p->name))
        return "name is not single-line text of 1 to 200 characters";
    if (!get_text(data, "description", ARC_MULTILINE, 0, ARC_PRODUCT_DESCRIPTION_MAX,
                  &p->description))
        return "description is not text of at most 5000 characters";
    if (!get_int(data, "price", 0, ARC_PRODUCT_PRICE_MAX, &p->price))
        return "price is not an integer in range";
    if (!get_text(data, "currency", 0, ARC_CURRENCY_LEN, ARC_CURRENCY_LEN, &p->currency) ||
        !currency_shape(p->currency))
        return "currency is not a currency code";
    if (!get_int(data, "stock", 0, ARC_PRODUCT_STOCK_MAX, &p->stock))
        return "stock is not a count";
    if (!get_bool(data, "active", &p->active))
        return "active is not a boolean";
    /* The times' syntax is the reader's to check (search converts them). */
    if (!get_text(data, "created_at", 0, 20, 30, &p->created_at) ||
        !get_text(data, "updated_at", 0, 20, 30, &p->updated_at))
        return "created_at or updated_at is not an RFC 3339 UTC time";
    return NULL;
}

int
arc_product_read(json_object *data, unsigned flags, struct arc_product *p, const char **why)
{
    memset(p, 0, sizeof *p);
    *why = NULL;
    if (data == NULL || !json_object_is_type(data, json_type_object))
        *why = "data is not an object";
    if (*why == NULL)
        *why = read_members(data, p);
    if (*why == NULL)
        *why = read_category(data, p);
    if (*why == NULL && (flags & ARC_PRODUCT_WITH_PATH))
        *why = read_path(data, p);
    return *why == NULL ? 0 : -1;
}
