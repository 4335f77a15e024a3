/*
 * consumer.h - the consumer loop with its inbox: `arcade-<svc> consume` takes
 * events from the broker and applies each exactly once in a transaction of
 * the service's database (docs/events.md). A consuming service's schema holds
 * the table of sql/<svc>/NNNN_create_inbox.sql.
 */
#ifndef ARCADE_CONSUMER_H
#define ARCADE_CONSUMER_H

#include "arcade/config.h"
#include "arcade/db.h"
#include "arcade/event.h"

/* What a handler returns:
 *   ARC_OK          the effect is done (or the event is older than what is
 *                   applied): commit, record the id, acknowledge;
 *   ARC_INVALID     it can never be applied (malformed data): dead-letter now;
 *   ARC_UNAVAILABLE the database went away: roll back and try the same
 *                   delivery again once it answers (no attempt is counted);
 *   ARC_RETRY       deadlock: roll back and run again at once (a few times);
 *   anything else   roll back and reject it to the retry queue; after
 *                   max_attempts it goes to <queue>.dead.
 * The handler runs inside a transaction the loop opened on db, and uses the
 * service's own statements (indexes 0..nsql-1 of spec->sql). */
typedef enum arc_err (*arc_consumer_fn)(void *ud, arc_db *db, const struct arc_event_in *ev);

struct arc_consumer_spec {
    const char *queue;       /* "search.catalog" */
    const char *const *keys; /* routing keys bound to it */
    size_t nkeys;
    unsigned prefetch;      /* 0 means 50 */
    unsigned max_attempts;  /* 0 means 5 */
    unsigned retry_ttl_ms;  /* 0 means 1000 */
    const char *const *sql; /* the service's statements */
    size_t nsql;
    arc_consumer_fn handle;
    void *ud;
    /* NULL, or called once the delivery's transaction committed (a duplicate
     * included), before the ack: what must follow the commit and is outside
     * the database (a cache invalidation) goes here, not in handle. */
    void (*committed)(void *ud);
};

/* Runs the consumer until SIGTERM/SIGINT/SIGQUIT/SIGHUP (the event in hand is
 * finished first): declares the queues, and for each delivery, in one
 * arc_db_tx: record the id in the inbox (a duplicate is acknowledged without
 * effect) and handle; then ack. Returns the process exit status. */
int arc_consumer_main(const struct arc_config *cfg, const struct arc_consumer_spec *spec);

#endif
