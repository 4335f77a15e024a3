/*
 * apply.c - how catalog changes reach the read model: search_apply, the one
 * path for both the event consumer and reindex, and the consumer's glue to
 * the common event loop (arc_consumer_main, docs/events.md).
 */
#include "search.h"

#include <string.h>

#include <arcade/consumer.h>
#include <arcade/log.h>

/* Every catalog event carries the whole product document (and its category
 * path), so each is applied the same way: the newest version wins. */
static const char *const routing_keys[] = {
    "product.created",
    "product.updated",
    "product.deleted",
    "inventory.changed",
};

enum arc_err
search_apply(arc_db *db, int64_t version, json_object *data)
{
    struct product_doc doc;
    const char *why = NULL;
    if (version < 1) {
        arc_log_warn("search: product change with version %lld refused", (long long)version);
        return ARC_INVALID;
    }
    if (product_doc_read(data, &doc, &why) != 0) {
        arc_log_warn("search: product change refused: %s", why);
        return ARC_INVALID;
    }
    static const char *const what[] = {
        [APPLY_OLDER] = "not newer, ignored",
        [APPLY_INVISIBLE] = "applied",
        [APPLY_VISIBLE] = "applied (answers changed)",
    };
    enum apply_result result;
    enum arc_err e = store_product_apply(db, version, &doc, &result);
    if (e == ARC_OK)
        arc_log(ARC_LOG_DEBUG, "search: product %lld version %lld %s", (long long)doc.id,
                (long long)version, what[result]);
    return e;
}

static enum arc_err
on_event(void *ud, arc_db *db, const struct arc_event_in *ev)
{
    (void)ud;
    for (size_t i = 0; i < ARC_ARRAY_LEN(routing_keys); i++)
        if (strcmp(ev->type, routing_keys[i]) == 0)
            return search_apply(db, ev->version, ev->data);
    arc_log_warn("search: event %s of type %s is not one search consumes", ev->id, ev->type);
    return ARC_INVALID;
}

int
consume_main(const struct arc_config *cfg)
{
    const struct arc_consumer_spec spec = {
        .queue = SEARCH_QUEUE,
        .keys = routing_keys,
        .nkeys = ARC_ARRAY_LEN(routing_keys),
        .sql = search_sql,
        .nsql = search_nsql,
        .handle = on_event,
    };
    return arc_consumer_main(cfg, &spec);
}
