/*
 * handlers.c - one function per search endpoint. Each validates first and
 * returns early, calls the store, and answers once.
 */
#include "search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arcade/json.h>
#include <arcade/health.h>

/* An empty value counts as absent: forms send "?q=&category=". */
static const char *
present(const char *v)
{
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Reads an optional integer parameter v within [min,max] into *out. */
static void
int_param(json_object **fields, const char *key, const char *v, int64_t min, int64_t max,
          int64_t *out)
{
    int64_t n;
    if (v == NULL)
        return;
    if (arc_http_parse_int64(v, strlen(v), &n) != 0 || n < min || n > max) {
        arc_json_field_error(fields, key, "must be an integer from %lld to %lld", (long long)min,
                             (long long)max);
        return;
    }
    *out = n;
}

static void
text_param(json_object **fields, const char *key, const char *v, bool *ok)
{
    *ok = v == NULL || arc_utf8_chars(v, strlen(v)) <= Q_MAX_CHARS;
    if (!*ok)
        arc_json_field_error(fields, key, "must be at most %d characters", Q_MAX_CHARS);
}

/* Reads and checks every parameter of GET /search into p. Returns 0, or -1
 * when it answered 400. */
static int
read_search_params(arc_req *r, struct search_params *p, struct arc_page *pg)
{
    static const char *const names[] = {"q",         "category", "min_price",
                                        "max_price", "in_stock", "sort"};
    const char *v[ARC_ARRAY_LEN(names)];
    bool bad = false, ok;
    for (size_t i = 0; i < ARC_ARRAY_LEN(names) && !bad; i++)
        v[i] = present(arc_req_query_get(r, names[i], &bad));
    if (bad)
        return -1;
    const char *q = v[0], *category = v[1], *in_stock = v[4], *sort = v[5];
    json_object *fields = NULL;

    text_param(&fields, "q", q, &ok);
    if (ok && q != NULL)
        text_query_parse(q, strlen(q), &p->text);
    if (category != NULL && !arc_slug_valid(category, strlen(category)))
        arc_json_field_error(&fields, "category", "must be a category slug (a-z, 0-9 and '-')");
    p->category = category;
    p->min_price = 0;
    p->max_price = PRICE_MAX;
    int_param(&fields, "min_price", v[2], 0, PRICE_MAX, &p->min_price);
    int_param(&fields, "max_price", v[3], 0, PRICE_MAX, &p->max_price);
    if (p->min_price > p->max_price)
        arc_json_field_error(&fields, "max_price", "must not be below min_price");
    if (in_stock != NULL) {
        if (strcmp(in_stock, "true") == 0)
            p->in_stock = true;
        else if (strcmp(in_stock, "false") != 0)
            arc_json_field_error(&fields, "in_stock", "must be true or false");
    }
    /* Relevance needs words; without them the newest come first. */
    p->sort = p->text.mode == TEXT_NONE ? SORT_NEWEST : SORT_RELEVANCE;
    if (sort != NULL && sort_parse(sort, &p->sort) != 0)
        arc_json_field_error(&fields, "sort", "must be one of relevance, price, -price, newest");
    if (p->sort == SORT_RELEVANCE && p->text.mode == TEXT_NONE)
        p->sort = SORT_NEWEST;
    (void)arc_req_paging(r, PER_PAGE_DEFAULT, PER_PAGE_MAX, ARC_PAGE_EMPTY_ABSENT, pg, &fields);
    if (pg->offset >= RESULT_WINDOW)
        arc_json_field_error(&fields, "page",
                             "only the first %d results can be paged through: narrow the search",
                             RESULT_WINDOW);
    if (fields != NULL) {
        arc_respond_error(r, 400, "invalid_parameter", "invalid query parameter", fields);
        return -1;
    }
    p->limit = pg->per_page;
    p->offset = pg->offset;
    return 0;
}

/* ---- cached answers ----------------------------------------------------------
 *
 * An answer is cached in memcached under a key that holds the read model's
 * generation (store_generation), which every visible change moves in its own
 * transaction: once a change is committed, every later request computes a new
 * key, so a cached answer is never older than the last change. Old keys are
 * never looked up again and expire (ANSWER_TTL_S). Memcached away: answers
 * are computed every time. */

/* Answers with the cached answer, or with the database's failure, and returns
 * true; false: compute the answer, then answer_store it under key. */
static bool
answered_from_cache(arc_req *r, const char *kind, const struct search_params *p,
                    const struct text_query *t, char *key, size_t *key_len)
{
    struct search *s = r->ctx;
    uint64_t epoch, generation;
    enum arc_err e = store_generation(s->db, &epoch, &generation);
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        return true;
    }
    *key_len = answer_key(kind, p, t, epoch, generation, key);
    if (*key_len == 0 || arc_cache_get(s->cache, key, *key_len, &s->out) != ARC_OK)
        return false;
    arc_respond_raw(r, 200, NULL, s->out.ptr, s->out.len);
    return true;
}

static void
answer_store(struct search *s, const char *key, size_t key_len)
{
    if (key_len > 0)
        (void)arc_cache_set(s->cache, key, key_len, s->out.ptr, s->out.len, ANSWER_TTL_S);
}

struct items_state {
    arc_buf *out;
    size_t n;
};

static void
on_item(void *ud, const struct search_item *it)
{
    struct items_state *st = ud;
    if (st->n++ > 0)
        arc_buf_append_char(st->out, ',');
    item_render(it, st->out);
}

/* Without words: the facets (total), then the page of an index walk. Items
 * are appended to s->out. */
static enum arc_err
browse(struct search *s, const struct search_params *p, struct facets *f)
{
    enum arc_err e = store_search_facets(s->db, p, f);
    if (e == ARC_OK && f->total > p->offset) {
        struct items_state st = {&s->out, 0};
        e = store_search_items(s->db, p, on_item, &st);
    }
    return e;
}

struct matches {
    const struct text_query *t;
    struct facets *f;
    struct match *m;
    size_t n, cap;
};

static void
on_match(void *ud, const struct match_row *row)
{
    struct matches *ms = ud;
    if (ms->n == ms->cap) {
        ms->cap = ms->cap ? ms->cap * 2 : 256;
        ms->m = arc_xrealloc(ms->m, ms->cap * sizeof *ms->m);
    }
    ms->m[ms->n++] = (struct match){
        .id = row->id,
        .score = row->score,
        .price = row->price,
        .created = row->created,
        .rank = name_rank(ms->t, row->name.ptr, row->name.len),
    };
    facets_add(ms->f, row->has_category ? &row->category_slug : NULL, &row->category_name,
               row->band, 1);
}

/* The page's rendered items, in the order of the page. */
struct page {
    const int64_t *ids;
    size_t n;
    arc_buf *item; /* n buffers */
};

static void
on_page_item(void *ud, const struct search_item *it)
{
    struct page *pg = ud;
    for (size_t i = 0; i < pg->n; i++) {
        if (pg->ids[i] == it->id) {
            item_render(it, &pg->item[i]);
            return;
        }
    }
}

/* With words: every match once (the full-text search costs per match), the
 * facets and the order worked out here, then the page's rows by id. A
 * product of the page that went away in between is left out of the page. */
static enum arc_err
search_words(struct search *s, const struct search_params *p, struct facets *f)
{
    struct matches ms = {.t = &p->text, .f = f};
    enum arc_err e = store_search_matches(s->db, p, on_match, &ms);
    size_t first = (size_t)p->offset, count = 0;
    if (e == ARC_OK && ms.n > first) {
        matches_sort(ms.m, ms.n, p->sort);
        count = ms.n - first < (size_t)p->limit ? ms.n - first : (size_t)p->limit;
        int64_t ids[PER_PAGE_MAX];
        arc_buf item[PER_PAGE_MAX];
        for (size_t i = 0; i < count; i++) {
            ids[i] = ms.m[first + i].id;
            arc_buf_init(&item[i]);
        }
        struct page pg = {ids, count, item};
        e = store_items_by_id(s->db, ids, count, on_page_item, &pg);
        size_t shown = 0;
        for (size_t i = 0; i < count; i++) {
            if (e == ARC_OK && item[i].len > 0) {
                if (shown++ > 0)
                    arc_buf_append_char(&s->out, ',');
                arc_buf_append(&s->out, item[i].ptr, item[i].len);
            }
            arc_buf_cleanup(&item[i]);
        }
    }
    free(ms.m);
    return e;
}

void
handle_search(arc_req *r)
{
    struct search *s = r->ctx;
    struct search_params p = {0};
    struct arc_page pg;
    if (read_search_params(r, &p, &pg) != 0)
        return;

    /* Searches with words (and unusual price ranges) are worth caching; the
     * others read a few counters and one page of an index. */
    arc_buf *out = &s->out;
    char key[ANSWER_KEY_MAX];
    size_t key_len = 0;
    if (s->cache != NULL && !search_uses_summary(&p) &&
        answered_from_cache(r, "search", &p, &p.text, key, &key_len))
        return;
    struct facets f;
    facets_init(&f);
    arc_buf_reset(out);
    arc_buf_append_str(out, "{\"items\":[");
    enum arc_err e = p.text.mode == TEXT_NONE ? browse(s, &p, &f) : search_words(s, &p, &f);
    if (e != ARC_OK) {
        facets_cleanup(&f);
        arc_respond_failure(r, e);
        return;
    }
    arc_buf_printf(out, "],\"total\":%lld,\"page\":%lld,\"per_page\":%lld,\"facets\":",
                   (long long)f.total, (long long)pg.page, (long long)pg.per_page);
    facets_render(&f, out);
    arc_buf_append_char(out, '}');
    facets_cleanup(&f);
    answer_store(s, key, key_len);
    arc_respond_raw(r, 200, NULL, out->ptr, out->len);
}

static void
on_suggestion(void *ud, int64_t id, arc_str name)
{
    struct items_state *st = ud;
    if (st->n++ > 0)
        arc_buf_append_char(st->out, ',');
    suggestion_render(id, name, st->out);
}

void
handle_suggest(arc_req *r)
{
    struct search *s = r->ctx;
    bool bad = false, ok;
    const char *q = present(arc_req_query_get(r, "q", &bad));
    if (bad)
        return;
    json_object *fields = NULL;
    text_param(&fields, "q", q, &ok);
    if (!ok) {
        arc_respond_error(r, 400, "invalid_parameter", "invalid query parameter", fields);
        return;
    }
    struct text_query t = {.mode = TEXT_NONE};
    if (q != NULL)
        suggest_query_parse(q, strlen(q), &t);
    arc_buf *out = &s->out;
    char key[ANSWER_KEY_MAX];
    size_t key_len = 0;
    if (s->cache != NULL && t.mode != TEXT_NONE &&
        answered_from_cache(r, "suggest", NULL, &t, key, &key_len))
        return;
    arc_buf_reset(out);
    arc_buf_append_str(out, "{\"suggestions\":[");
    if (t.mode != TEXT_NONE) {
        struct items_state st = {out, 0};
        enum arc_err e = store_suggest(s->db, &t, on_suggestion, &st);
        if (e != ARC_OK) {
            arc_respond_failure(r, e);
            return;
        }
    }
    arc_buf_append_str(out, "]}");
    answer_store(s, key, key_len);
    arc_respond_raw(r, 200, NULL, out->ptr, out->len);
}

/* ---- health ---------------------------------------------------------------- */

/* Messages ready in queue, or -1 when the broker cannot be asked. */
static int64_t
depth(arc_amqp *a, const char *queue)
{
    uint32_t n = 0;
    return arc_amqp_queue_depth(a, queue, &n) == ARC_OK ? (int64_t)n : -1;
}

static json_object *
count_or_null(int64_t n)
{
    return n >= 0 ? json_object_new_int64(n) : NULL;
}

void
handle_health(arc_req *r)
{
    struct search *s = r->ctx;
    struct arc_health h;
    arc_health_init(&h);
    enum arc_err db = arc_db_ping(s->db);
    arc_health_add(&h, "db", db, true);
    arc_amqp *a = arc_health_check_broker(&h, &s->amqp, &s->cfg);

    /* How far the read model lags: events waiting (and waiting for a retry),
     * events given up on, and when a change was last applied. */
    int64_t waiting = -1, retrying = -1, dead = -1;
    if (a != NULL) {
        waiting = depth(a, SEARCH_QUEUE);
        retrying = depth(a, SEARCH_QUEUE ".retry");
        dead = depth(a, SEARCH_QUEUE ".dead");
    }
    json_object *lag = json_object_new_object();
    json_object_object_add(lag, "events",
                           count_or_null(waiting >= 0 && retrying >= 0 ? waiting + retrying : -1));
    json_object_object_add(lag, "waiting", count_or_null(waiting));
    json_object_object_add(lag, "retrying", count_or_null(retrying));
    arc_health_detail(&h, "lag", lag);
    arc_health_dead_letters(&h, dead);
    char last[32] = "";
    if (db == ARC_OK && store_last_change(s->db, last) != ARC_OK)
        last[0] = '\0';
    arc_health_detail(&h, "last_change_at", last[0] ? json_object_new_string(last) : NULL);
    arc_health_respond(r, &h);
}
