/*
 * doc.c - the product document every catalog event carries (and the export
 * serves): checked member by member, never trusted. Pure functions, no I/O.
 */
#include "search.h"

#include <string.h>

#include <arcade/json.h>

/* Three upper-case ASCII letters (the catalog checks the code is ISO 4217). */
static bool
currency_shape(arc_str c)
{
    if (c.len != 3)
        return false;
    for (size_t i = 0; i < 3; i++)
        if (c.ptr[i] < 'A' || c.ptr[i] > 'Z')
            return false;
    return true;
}

/* n digits of s as a number, or -1. */
static int
digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int
days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

bool
rfc3339_to_db(const char *s, size_t len, char out[24])
{
    /* YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z */
    if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[len - 1] != 'Z')
        return false;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (y < 1000 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 || h > 23 ||
        mi < 0 || mi > 59 || sec < 0 || sec > 59)
        return false;
    char ms[4] = "000";
    size_t frac = len - 20; /* characters between the seconds and 'Z' */
    if (frac > 0) {
        if (s[19] != '.' || frac < 2 || frac > 7 || digits(s + 20, frac - 1) < 0)
            return false;
        for (size_t i = 0; i < 3 && i < frac - 1; i++)
            ms[i] = s[20 + i];
    }
    memcpy(out, s, 10);
    out[10] = ' ';
    memcpy(out + 11, s + 11, 8);
    out[19] = '.';
    memcpy(out + 20, ms, 3);
    out[23] = '\0';
    return true;
}

/* Member key of o as a string of min..max characters, by the JSON field
 * readers' text rule of flags (their messages are not needed: *why says it). */
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

/* A single-line text member. */
static bool
get_string(json_object *o, const char *key, size_t min, size_t max, arc_str *out)
{
    return get_text(o, key, 0, min, max, out);
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
get_time(json_object *o, const char *key, char out[24])
{
    arc_str s;
    return get_string(o, key, 20, 30, &s) && rfc3339_to_db(s.ptr, s.len, out);
}

static int
read_category(json_object *data, struct product_doc *doc, const char **why)
{
    json_object *cat, *path;
    if (!json_object_object_get_ex(data, "category", &cat)) {
        *why = "category is missing";
        return -1;
    }
    if (cat != NULL) {
        if (!json_object_is_type(cat, json_type_object) ||
            !get_int(cat, "id", 1, INT64_MAX, &doc->category_id) ||
            !get_string(cat, "slug", 1, SLUG_MAX, &doc->category_slug) ||
            !arc_slug_valid(doc->category_slug.ptr, doc->category_slug.len) ||
            !get_string(cat, "name", 1, CATEGORY_NAME_MAX, &doc->category_name)) {
            *why = "category is not null or {id, slug, name}";
            return -1;
        }
        doc->has_category = true;
    }
    if (!json_object_object_get_ex(data, "category_path", &path) ||
        !json_object_is_type(path, json_type_array) ||
        json_object_array_length(path) > CATEGORY_PATH_MAX) {
        *why = "category_path is not an array of at most 16 slugs";
        return -1;
    }
    doc->npath = json_object_array_length(path);
    for (size_t i = 0; i < doc->npath; i++) {
        json_object *v = json_object_array_get_idx(path, i);
        if (!json_object_is_type(v, json_type_string) ||
            !arc_slug_valid(json_object_get_string(v), (size_t)json_object_get_string_len(v))) {
            *why = "category_path holds something other than slugs";
            return -1;
        }
        arc_str slug = {json_object_get_string(v), (size_t)json_object_get_string_len(v)};
        for (size_t j = 0; j < i; j++) {
            if (doc->path[j].len == slug.len && memcmp(doc->path[j].ptr, slug.ptr, slug.len) == 0) {
                *why = "category_path names a category twice";
                return -1;
            }
        }
        doc->path[i] = slug;
        /* Fits: at most CATEGORY_PATH_MAX slugs of SLUG_MAX, each with a separator. */
        size_t at = strlen(doc->path_str);
        if (i > 0)
            doc->path_str[at++] = '/';
        memcpy(doc->path_str + at, slug.ptr, slug.len);
        doc->path_str[at + slug.len] = '\0';
    }
    /* The leaf ends the path; no category, no path. */
    const arc_str *leaf = doc->npath ? &doc->path[doc->npath - 1] : NULL;
    if (doc->has_category ? leaf == NULL || leaf->len != doc->category_slug.len ||
                                memcmp(leaf->ptr, doc->category_slug.ptr, leaf->len) != 0
                          : leaf != NULL) {
        *why = "category_path does not end with the category's slug";
        return -1;
    }
    return 0;
}

int
product_doc_read(json_object *data, struct product_doc *doc, const char **why)
{
    json_object *active;
    memset(doc, 0, sizeof *doc);
    *why = NULL;
    if (data == NULL || !json_object_is_type(data, json_type_object)) {
        *why = "data is not an object";
        return -1;
    }
    if (!get_int(data, "id", 1, INT64_MAX, &doc->id))
        *why = "id is not a positive integer";
    else if (!get_string(data, "sku", 1, SKU_MAX, &doc->sku) ||
             !arc_sku_valid(doc->sku.ptr, doc->sku.len))
        *why = "sku is not a sku";
    else if (!get_string(data, "name", 1, PRODUCT_NAME_MAX, &doc->name))
        *why = "name is not a string of 1 to 200 characters";
    else if (!get_text(data, "description", ARC_MULTILINE, 0, DESCRIPTION_MAX, &doc->description))
        *why = "description is not a string of at most 5000 characters";
    else if (!get_int(data, "price", 0, PRICE_MAX, &doc->price))
        *why = "price is not an integer in range";
    else if (!get_string(data, "currency", 3, 3, &doc->currency) || !currency_shape(doc->currency))
        *why = "currency is not a currency code";
    else if (!get_int(data, "stock", 0, STOCK_MAX, &doc->stock))
        *why = "stock is not a count";
    else if (!json_object_object_get_ex(data, "active", &active) ||
             !json_object_is_type(active, json_type_boolean))
        *why = "active is not a boolean";
    else if (!get_time(data, "created_at", doc->created_at) ||
             !get_time(data, "updated_at", doc->updated_at))
        *why = "created_at or updated_at is not an RFC 3339 UTC time";
    if (*why != NULL)
        return -1;
    doc->active = json_object_get_boolean(active);
    return read_category(data, doc, why);
}
