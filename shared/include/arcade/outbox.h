/*
 * outbox.h - the transactional outbox, the writer's side of the event
 * machinery (docs/events.md): an event is a row written in the same
 * transaction as the change it describes, and the relay (relay.h) publishes it.
 *
 *   writer:    arc_db_tx(db, name, fn, ud), fn: change rows; arc_outbox_add(...)
 *
 * A publishing service's schema holds the table of
 * sql/<svc>/NNNN_create_outbox.sql.
 */
#ifndef ARCADE_OUTBOX_H
#define ARCADE_OUTBOX_H

#include "arcade/buf.h"
#include "arcade/db.h"
#include "arcade/event.h"

/* The statement a publishing service registers among its own (arc_db_new) and
 * hands to arc_outbox_add; and the one its health check uses. */
#define ARC_OUTBOX_INSERT_SQL                                                                      \
    "INSERT INTO outbox (event_id, type, aggregate, traceparent, body) VALUES (?, ?, ?, ?, ?)"
#define ARC_OUTBOX_BACKLOG_SQL                                                                     \
    "SELECT COUNT(*), COALESCE(TIMESTAMPDIFF(MICROSECOND, MIN(created_at), "                       \
    "CURRENT_TIMESTAMP(3)) DIV 1000, 0) FROM outbox"

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

#endif
