/*
 * render.c - the JSON of the search service's answers: result items,
 * suggestions and facet counts. Pure functions, no I/O, so unit tests call
 * them directly.
 */
#include "search.h"

#include <stdlib.h>
#include <string.h>

/* ---- items and suggestions -------------------------------------------------- */

void
item_render(const struct search_item *it, arc_buf *out)
{
    arc_buf_append_str(out, "{\"id\":");
    arc_buf_append_uint(out, (uint64_t)it->id);
    arc_buf_append_json_member(out, ",\"sku\":", it->sku);
    arc_buf_append_json_member(out, ",\"name\":", it->name);
    arc_buf_append_str(out, ",\"price\":");
    arc_buf_append_uint(out, (uint64_t)it->price);
    arc_buf_append_json_member(out, ",\"currency\":", it->currency);
    if (it->has_category) {
        arc_buf_append_json_member(out, ",\"category\":{\"slug\":", it->category_slug);
        arc_buf_append_json_member(out, ",\"name\":", it->category_name);
        arc_buf_append_char(out, '}');
    } else {
        arc_buf_append_str(out, ",\"category\":null");
    }
    arc_buf_append_str(out, it->in_stock ? ",\"in_stock\":true}" : ",\"in_stock\":false}");
}

void
suggestion_render(int64_t id, arc_str name, arc_buf *out)
{
    arc_buf_append_str(out, "{\"id\":");
    arc_buf_append_uint(out, (uint64_t)id);
    arc_buf_append_json_member(out, ",\"name\":", name);
    arc_buf_append_char(out, '}');
}

/* ---- facets ----------------------------------------------------------------- */

void
facets_init(struct facets *f)
{
    memset(f, 0, sizeof *f);
}

void
facets_cleanup(struct facets *f)
{
    free(f->cats);
    free(f->index);
    facets_init(f);
}

static void
copy_str(char *dst, size_t cap, const arc_str *s)
{
    size_t n = s->len < cap - 1 ? s->len : cap - 1;
    memcpy(dst, s->ptr, n);
    dst[n] = '\0';
}

static uint32_t
hash_slug(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* The index slot of slug: its category's, or the free slot where it goes. */
static uint32_t *
index_slot(const struct facets *f, const char *slug, size_t len)
{
    size_t mask = f->nindex - 1;
    for (size_t i = hash_slug(slug, len) & mask;; i = (i + 1) & mask) {
        uint32_t *slot = &f->index[i];
        if (*slot == 0)
            return slot;
        const char *have = f->cats[*slot - 1].slug;
        if (strlen(have) == len && memcmp(have, slug, len) == 0)
            return slot;
    }
}

static void
index_grow(struct facets *f)
{
    free(f->index);
    if (f->nindex == 0)
        f->nindex = 64;
    while (f->nindex < 2 * (f->ncats + 1))
        f->nindex *= 2;
    f->index = arc_xcalloc(f->nindex, sizeof *f->index);
    for (size_t i = 0; i < f->ncats; i++)
        *index_slot(f, f->cats[i].slug, strlen(f->cats[i].slug)) = (uint32_t)i + 1;
}

void
facets_add(struct facets *f, const arc_str *slug, const arc_str *name, int64_t band, int64_t count)
{
    f->total += count;
    if (band >= 0 && band < PRICE_BANDS)
        f->bands[band] += count;
    if (slug == NULL)
        return;
    size_t len = slug->len < SLUG_MAX ? slug->len : SLUG_MAX;
    if (2 * (f->ncats + 1) > f->nindex)
        index_grow(f);
    uint32_t *slot = index_slot(f, slug->ptr, len);
    if (*slot == 0) {
        if (f->ncats == f->cap) {
            f->cap = f->cap ? f->cap * 2 : 16;
            f->cats = arc_xrealloc(f->cats, f->cap * sizeof *f->cats);
        }
        struct facet_category *c = &f->cats[f->ncats++];
        copy_str(c->slug, sizeof c->slug, &(arc_str){slug->ptr, len});
        copy_str(c->name, sizeof c->name, name);
        c->count = 0;
        *slot = (uint32_t)f->ncats;
    }
    f->cats[*slot - 1].count += count;
}

static int
cmp_category(const void *a, const void *b)
{
    const struct facet_category *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->slug, y->slug);
}

void
facets_render(struct facets *f, arc_buf *out)
{
    if (f->ncats > 1)
        qsort(f->cats, f->ncats, sizeof *f->cats, cmp_category);
    /* The index no longer matches the order: forget it (later adds rebuild it). */
    free(f->index);
    f->index = NULL;
    f->nindex = 0;
    arc_buf_append_str(out, "{\"category\":[");
    for (size_t i = 0; i < f->ncats && i < CATEGORY_FACET_MAX; i++) {
        const struct facet_category *c = &f->cats[i];
        if (i > 0)
            arc_buf_append_char(out, ',');
        arc_buf_append_json_member(out, "{\"slug\":", (arc_str){c->slug, strlen(c->slug)});
        arc_buf_append_json_member(out, ",\"name\":", (arc_str){c->name, strlen(c->name)});
        arc_buf_append_str(out, ",\"count\":");
        arc_buf_append_uint(out, (uint64_t)c->count);
        arc_buf_append_char(out, '}');
    }
    arc_buf_append_str(out, "],\"price\":[");
    bool first = true;
    for (size_t b = 0; b < PRICE_BANDS; b++) {
        if (f->bands[b] <= 0)
            continue;
        arc_buf_append_str(out, first ? "{\"min\":" : ",{\"min\":");
        first = false;
        arc_buf_append_uint(out, (uint64_t)price_band_min[b]);
        if (b + 1 < PRICE_BANDS) {
            arc_buf_append_str(out, ",\"max\":");
            arc_buf_append_uint(out, (uint64_t)price_band_min[b + 1]);
        } else {
            arc_buf_append_str(out, ",\"max\":null");
        }
        arc_buf_append_str(out, ",\"count\":");
        arc_buf_append_uint(out, (uint64_t)f->bands[b]);
        arc_buf_append_char(out, '}');
    }
    arc_buf_append_str(out, "]}");
}
