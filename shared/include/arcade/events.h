/*
 * events.h - the event machinery every service uses (docs/events.md): the
 * transactional outbox, the relay that publishes it, and the consumer loop
 * with its inbox.
 *
 *   writer:    arc_db_tx(change rows; arc_outbox_add(...))
 *   relay:     arcade-<svc> relay      -> arc_relay_main: outbox -> broker
 *   consumer:  arcade-<svc> consume    -> arc_consumer_main: broker -> handler
 *
 * A service's schema holds the tables in sql/<svc>/NNNN_create_outbox.sql
 * (publishers) and NNNN_create_inbox.sql (consumers).
 */
#ifndef ARCADE_EVENTS_H
#define ARCADE_EVENTS_H

#include <json-c/json.h>

#include "arcade/amqp.h"
#include "arcade/config.h"
#include "arcade/db.h"
#include "arcade/trace.h"

/* ---- Outbox (the writer's side) ------------------------------------------- */

/* The statement a publishing service registers among its own (arc_db_new) and
 * hands to arc_outbox_add; and the one its health check uses. */
#define ARC_OUTBOX_INSERT_SQL                                                                      \
    "INSERT INTO outbox (event_id, type, aggregate, traceparent, body) VALUES (?, ?, ?, ?, ?)"
#define ARC_OUTBOX_BACKLOG_SQL                                                                     \
    "SELECT COUNT(*), COALESCE(TIMESTAMPDIFF(MICROSECOND, MIN(created_at), "                       \
    "CURRENT_TIMESTAMP(3)) DIV 1000, 0) FROM outbox"

/* One event to record. Every pointer is borrowed for the call. */
struct arc_event {
    const char *type;   /* the routing key, "product.updated" */
    const char *source; /* the publishing service, "catalog" */
    const char *key;    /* the aggregate, "product:42" (events of one key stay in order) */
    int64_t version;    /* the aggregate's version after the change */
    arc_str data;       /* a JSON object: what a read model needs */
    /* The trace of the request that caused it (NULL: none); the event
     * carries it as its traceparent header. */
    const struct arc_trace *trace;
};

/* Inside the caller's open transaction: builds the envelope (a fresh random
 * id, occurred_at now) and inserts it with statement stmt
 * (ARC_OUTBOX_INSERT_SQL). scratch is reset and used for the body. The event
 * exists exactly when the caller's transaction commits. */
enum arc_err arc_outbox_add(arc_db *db, unsigned stmt, const struct arc_event *ev,
                            arc_buf *scratch) ARC_NODISCARD;

/* Rows waiting in the outbox and the age of the oldest, in ms (0 when empty),
 * with statement stmt (ARC_OUTBOX_BACKLOG_SQL). */
enum arc_err arc_outbox_backlog(arc_db *db, unsigned stmt, int64_t *rows,
                                int64_t *oldest_ms) ARC_NODISCARD;

/* ---- Relay ------------------------------------------------------------------ */

/* Runs the outbox relay of cfg->service until SIGTERM/SIGINT/SIGQUIT/SIGHUP:
 * holds the MariaDB lock "arcade.relay.<service>" (a second relay waits as a
 * standby), publishes pending rows in id order with publisher confirms, and
 * deletes each row only after the broker's ack. A dead broker or database
 * delays events, never loses them. Returns the process exit status. */
int arc_relay_main(const struct arc_config *cfg);

/* ---- Consumer --------------------------------------------------------------- */

/* One received event, as its envelope said (strings borrowed for the call). */
struct arc_event_in {
    const char *id;   /* 32 hex */
    const char *type; /* "product.updated" */
    const char *source;
    const char *key;
    int64_t version;
    const char *occurred_at;
    json_object *data;       /* an object */
    const char *traceparent; /* "" when none */
};

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
typedef enum arc_err (*arc_event_fn)(void *ud, arc_db *db, const struct arc_event_in *ev);

struct arc_consumer_spec {
    const char *queue;       /* "search.catalog" */
    const char *const *keys; /* routing keys bound to it */
    size_t nkeys;
    unsigned prefetch;      /* 0 means 50 */
    unsigned max_attempts;  /* 0 means 5 */
    unsigned retry_ttl_ms;  /* 0 means 1000 */
    const char *const *sql; /* the service's statements */
    size_t nsql;
    arc_event_fn handle;
    void *ud;
};

/* Runs the consumer until SIGTERM/SIGINT/SIGQUIT/SIGHUP (the event in hand is
 * finished first): declares the queues, and for each delivery, in one
 * arc_db_tx: record the id in the inbox (a duplicate is acknowledged without
 * effect) and handle; then ack. Returns the process exit status. */
int arc_consumer_main(const struct arc_config *cfg, const struct arc_consumer_spec *spec);

/* Parses an envelope (docs/events.md). ARC_INVALID (logged) when it is not
 * one. *root receives the parsed document (json_object_put it); ev's strings
 * point into it. */
enum arc_err arc_event_parse(const char *body, size_t len, json_object **root,
                             struct arc_event_in *ev) ARC_NODISCARD;

#endif
