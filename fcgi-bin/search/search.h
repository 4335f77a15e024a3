/*
 * search.h - the Search service: a read model of the catalog's products, fed
 * only by catalog events (docs/events.md), with full-text search, filters and
 * facets (docs/search-api.md).
 *
 *   arcade-search            a FastCGI responder (GET /api/v1/search, /search/suggest)
 *   arcade-search consume    the event consumer (queue search.catalog)
 *   arcade-search reindex    rebuilds the read model from the catalog's export
 */
#ifndef SEARCH_H
#define SEARCH_H

#include <json-c/json.h>

#include <arcade/amqp.h>
#include <arcade/buf.h>
#include <arcade/cache.h>
#include <arcade/config.h>
#include <arcade/db.h>
#include <arcade/respond.h>
#include <arcade/ident.h>
#include <arcade/router.h>

/* Limits of the API contract (docs/search-api.md). */
#define Q_MAX_CHARS 200
#define Q_MAX_WORDS 10
#define PER_PAGE_DEFAULT 20
#define PER_PAGE_MAX 100
#define RESULT_WINDOW 10000 /* (page - 1) * per_page must stay below it */
#define SUGGEST_MAX 10
#define CATEGORY_FACET_MAX 50
#define PRICE_MAX INT64_C(999999999999)

/* Limits of the catalog's product document (docs/catalog-api.md). */
#define SKU_MAX ARC_SKU_MAX
#define PRODUCT_NAME_MAX 200
#define DESCRIPTION_MAX 5000
#define SLUG_MAX ARC_SLUG_MAX
#define CATEGORY_NAME_MAX 100
#define CATEGORY_PATH_MAX 16 /* the catalog nests at most 8 levels */
#define STOCK_MAX INT64_C(2147483647)
#define PATH_STR_MAX (CATEGORY_PATH_MAX * (SLUG_MAX + 1))

/* MariaDB's InnoDB full-text parser: words shorter than this (in characters)
 * are not indexed (innodb_ft_min_token_size, 3 by default and in the fleet). */
#define FT_MIN_TOKEN 3

/* The queue of the consumer and its routing keys (docs/events.md). */
#define SEARCH_QUEUE "search.catalog"

/* How long a cached answer is kept (it is never served once the read model
 * changed: its key holds the generation). */
#define ANSWER_TTL_S 300

struct search {
    struct arc_config cfg;
    arc_db *db;
    arc_cache *cache; /* cached answers of searches with words (docs/search-api.md) */
    arc_amqp *amqp;   /* opened on the first health check; NULL until then */
    arc_buf out;      /* scratch for one answer */
};

/* --- Product documents (doc.c): the data of every catalog event ------------ */

/* A product as the catalog renders it, plus its category path. Strings are
 * borrowed from the parsed JSON document. created_at/updated_at are rewritten
 * for MariaDB ("2026-11-23 21:18:36.123"). */
struct product_doc {
    int64_t id;
    arc_str sku, name, description, currency;
    int64_t price;
    bool has_category;
    int64_t category_id;
    arc_str category_slug, category_name;
    int64_t stock;
    bool active;
    char created_at[24], updated_at[24];
    /* Slugs root -> leaf (each once); the leaf is category_slug when there
     * is one. path_str joins them with '/'. */
    arc_str path[CATEGORY_PATH_MAX];
    size_t npath;
    char path_str[PATH_STR_MAX];
};

/* Reads data (the "data" member of an event, or an item of the export) into
 * doc. Returns 0, or -1 with a short reason in *why (static text) when it is
 * not a product document. */
int product_doc_read(json_object *data, struct product_doc *doc, const char **why);

/* RFC 3339 UTC with milliseconds ("2026-11-23T21:18:36.123Z", as the catalog
 * writes it) to MariaDB's "2026-11-23 21:18:36.123" (out: 24 bytes). Seconds
 * fractions of 0 to 6 digits are accepted and kept to milliseconds. */
bool rfc3339_to_db(const char *s, size_t len, char out[24]);

/* --- Queries (query.c): pure functions, no I/O ----------------------------- */

enum text_mode {
    TEXT_NONE, /* no words: browse */
    TEXT_FT,   /* full-text (MATCH ... AGAINST in boolean mode) */
    TEXT_LIKE, /* only words the full-text index cannot see: a word-prefix match on names */
    TEXT_MODES
};

/* What q becomes. The expressions hold only the user's words, lower-cased,
 * each made of letters, digits and '_' (never an operator of the boolean mode
 * or a LIKE wildcard). */
struct text_query {
    enum text_mode mode;
    size_t nwords;       /* words used (at most Q_MAX_WORDS) */
    char all[1024];      /* TEXT_FT: "+word* +word*", every word required somewhere */
    char name[1024];     /* TEXT_FT: "word* word*", to rank name matches first */
    char starts[2048];   /* TEXT_LIKE: "phrase%": the name starts with the words */
    char contains[2048]; /* TEXT_LIKE: "% phrase%": a word of the name starts them */
};

/* Parses q (valid UTF-8, at most Q_MAX_CHARS characters). Words are runs of
 * letters, digits and '_'; everything else separates them (and so every
 * operator is dropped). Words shorter than FT_MIN_TOKEN characters and InnoDB
 * stop words cannot be found in the full-text index: they are left out of
 * the expressions; when no other word remains, the words become a prefix
 * phrase on names (TEXT_LIKE). No word at all: TEXT_NONE. */
void text_query_parse(const char *q, size_t len, struct text_query *out);

/* The same for autocomplete: the last word is a prefix being typed and is
 * always kept ("+he*"), however short. TEXT_NONE when q has no word. */
void suggest_query_parse(const char *q, size_t len, struct text_query *out);

bool is_stopword(const char *w, size_t len);

/* Strict base-10 integer (optional '-', no spaces, no '+'). 0 or -1. */
int parse_int(const char *s, int64_t *out);

enum sort_order { SORT_RELEVANCE, SORT_PRICE, SORT_PRICE_DESC, SORT_NEWEST, SORT_COUNT };
/* "relevance", "price", "-price", "newest" -> 0 and *out; else -1. */
int sort_parse(const char *s, enum sort_order *out);

/* Price bands of the price facet, in minor units: [min, max), the last one
 * open. The database computes a product's band the same way
 * (sql/search/0001_create_products.sql, INTERVAL(price, ...)). */
#define PRICE_BANDS 7
extern const int64_t price_band_min[PRICE_BANDS];
int price_band(int64_t price);
/* True when [min_price, max_price] is exactly a run of whole bands
 * (*lo..*hi), as when a client filters by a band of the price facet. */
bool price_range_bands(int64_t min_price, int64_t max_price, int *lo, int *hi);

/* One result item, strings borrowed from the row. */
struct search_item {
    int64_t id;
    arc_str sku, name, currency;
    int64_t price;
    bool has_category;
    arc_str category_slug, category_name;
    bool in_stock;
};
void item_render(const struct search_item *it, arc_buf *out);

/* Facet counts of one result set, built from the rows of the facet query. */
struct facet_category {
    char slug[SLUG_MAX + 1];
    char name[CATEGORY_NAME_MAX * 4 + 1];
    int64_t count;
};
struct facets {
    int64_t total;
    int64_t bands[PRICE_BANDS];
    struct facet_category *cats; /* owned; facets_cleanup frees */
    size_t ncats, cap;
    uint32_t *index; /* owned: open addressing by slug, cats position + 1 (0: free) */
    size_t nindex;   /* a power of two, at least twice ncats */
};
void facets_init(struct facets *f);
void facets_cleanup(struct facets *f);
/* Adds count products of category slug/name (slug NULL: no category) in
 * price band band (0..PRICE_BANDS-1, else counted in total only). */
void facets_add(struct facets *f, const arc_str *slug, const arc_str *name, int64_t band,
                int64_t count);
/* "facets":{"category":[…],"price":[…]} member value: categories by count
 * (then slug), at most CATEGORY_FACET_MAX; non-empty price bands in order. */
void facets_render(struct facets *f, arc_buf *out);

/* --- Store (store.c): all of the service's SQL ----------------------------- */

extern const char *const search_sql[];
extern const size_t search_nsql;

struct search_params {
    struct text_query text;
    const char *category; /* NULL: every category; else a valid slug */
    int64_t min_price, max_price;
    bool in_stock;
    enum sort_order sort;
    int64_t limit, offset;
};

/* Whether the facets of p come from the facet_counts summary (no words, a
 * price range of whole bands): cheap, so such answers are not cached. */
bool search_uses_summary(const struct search_params *p);

/* A match, as ranked (matches_sort). */
struct match {
    int64_t id, score, price, created;
    int rank; /* name_rank */
};

/* How well a product's name answers t: for TEXT_FT the number of the words
 * that start a word of the name (so that name matches come before matches in
 * the description only); for TEXT_LIKE 1 when the name starts with the
 * phrase. ASCII letters compare without case. */
int name_rank(const struct text_query *t, const char *name, size_t len);

/* Orders m by sort: relevance (rank, then full-text score, then newest id),
 * price (then id), -price (then id descending), newest (then id descending),
 * as the statements without words order theirs. */
void matches_sort(struct match *m, size_t n, enum sort_order sort);

/* The memcached key of a cached answer: kind ("search" or "suggest"), the
 * read model's epoch and generation, and a BLAKE2b hash of everything that
 * shapes the answer (p may be NULL for suggest). out: ANSWER_KEY_MAX bytes.
 * Returns the key's length. */
#define ANSWER_KEY_MAX 128
size_t answer_key(const char *kind, const struct search_params *p, const struct text_query *t,
                  uint64_t epoch, uint64_t generation, char *out);

typedef void (*item_fn)(void *ud, const struct search_item *it);

/* Without words (p->text.mode TEXT_NONE): the page of items, in order... */
enum arc_err store_search_items(arc_db *db, const struct search_params *p, item_fn fn,
                                void *ud) ARC_NODISCARD;
/* ... and the total and facet counts over every match. */
enum arc_err store_search_facets(arc_db *db, const struct search_params *p,
                                 struct facets *f) ARC_NODISCARD;

/* One match of a search with words, strings borrowed from the row. */
struct match_row {
    int64_t id;
    int64_t score; /* full-text relevance x 10^6 (0 for TEXT_LIKE) */
    int64_t price;
    int64_t created; /* ms since the epoch */
    int64_t band;
    bool has_category;
    arc_str name, category_slug, category_name;
};
typedef void (*match_fn)(void *ud, const struct match_row *m);

/* With words: every match of p (filters applied), in no order. */
enum arc_err store_search_matches(arc_db *db, const struct search_params *p, match_fn fn,
                                  void *ud) ARC_NODISCARD;
/* The rows of products ids[0..n) (n <= PER_PAGE_MAX), in no order. */
enum arc_err store_items_by_id(arc_db *db, const int64_t *ids, size_t n, item_fn fn,
                               void *ud) ARC_NODISCARD;

typedef void (*suggest_fn)(void *ud, int64_t id, arc_str name);
enum arc_err store_suggest(arc_db *db, const struct text_query *t, suggest_fn fn,
                           void *ud) ARC_NODISCARD;

/* The last time a change was applied ("" when none), RFC 3339. */
enum arc_err store_last_change(arc_db *db, char out[32]) ARC_NODISCARD;

/* The read model's epoch and generation (sql/search/0004_create_search_state.sql):
 * a cached answer is valid while both are unchanged. */
enum arc_err store_generation(arc_db *db, uint64_t *epoch, uint64_t *generation) ARC_NODISCARD;

/* What store_product_apply did. */
enum apply_result {
    APPLY_OLDER,     /* the stored version is the same or newer: only synced_at moved */
    APPLY_INVISIBLE, /* applied; no search answer changes (e.g. stock 9 -> 8) */
    APPLY_VISIBLE,   /* applied; answers change (the generation moved) */
};

/* Inside the caller's transaction: applies doc at version when it is newer
 * than the stored one: the row, its product_categories rows and the facet
 * counts, and the generation when a search could tell. In every case marks
 * the product as seen now (synced_at, for reindex). */
enum arc_err store_product_apply(arc_db *db, int64_t version, const struct product_doc *doc,
                                 enum apply_result *result) ARC_NODISCARD;

/* The database's clock (UTC, microseconds), "YYYY-MM-DD HH:MM:SS.ffffff". */
enum arc_err store_now(arc_db *db, char out[32]) ARC_NODISCARD;
/* The end of a reindex, in one transaction of its own: deletes the products
 * not seen since before (store_now's format; *removed receives how many),
 * recomputes the facet counts and moves the generation. */
enum arc_err store_reindex_finish(arc_db *db, const char *before, int64_t *removed) ARC_NODISCARD;
/* Rebuilds the products table (OPTIMIZE TABLE): InnoDB's full-text index keeps
 * every replaced or deleted document until then, and searches slow down with
 * them. Writes to the table wait meanwhile (seconds for 100,000 products). */
enum arc_err store_optimize(arc_db *db) ARC_NODISCARD;

/* --- Applying catalog changes (apply.c) ------------------------------------ */

/* Upserts the product document data at version into the read model, unless
 * the stored version is the same or newer (then only synced_at moves): the
 * one path for both the consumer and reindex. Runs inside the caller's
 * transaction. ARC_INVALID when data is not a product document (logged). */
enum arc_err search_apply(arc_db *db, int64_t version, json_object *data) ARC_NODISCARD;

/* arcade-search consume / reindex: process exit status. */
int consume_main(const struct arc_config *cfg);
int reindex_main(const struct arc_config *cfg);

/* --- Handlers (handlers.c) and routes (routes.c) -------------------------- */

void handle_search(arc_req *r);
void handle_suggest(arc_req *r);
void handle_health(arc_req *r);

extern const struct arc_route search_routes[];
extern const size_t search_nroutes;

#endif
