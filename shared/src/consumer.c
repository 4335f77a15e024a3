/*
 * consumer.c - the consumer loop with its inbox (consumer.h): each delivery is
 * recorded and handled in one transaction, then acknowledged; what cannot be
 * handled is dead-lettered. Single-threaded; a stop is looked at between
 * deliveries (daemon.h).
 */
#include "arcade/consumer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arcade/amqp.h"
#include "arcade/log.h"
#include "internal/daemon.h"

#define NS_PER_MS (1000ull * 1000)

#define INBOX_INSERT_SQL "INSERT IGNORE INTO inbox (event_id) VALUES (?)"
#define INBOX_PURGE_SQL                                                                            \
    "DELETE FROM inbox WHERE handled_at < CURRENT_TIMESTAMP(3) - INTERVAL 7 DAY LIMIT 1000"
#define DEAD_LETTER_MS 5000

struct consumer {
    const struct arc_consumer_spec *spec;
    arc_db *db;
    arc_amqp *amqp;
    unsigned st_inbox, st_purge;
    unsigned max_attempts;
    uint64_t applied, duplicates, dead;
};

struct apply_tx {
    struct consumer *c;
    const struct arc_event_in *ev;
    bool duplicate;
};

/* One delivery's transaction: inbox, handler. */
static enum arc_err
apply_tx(arc_db *db, void *ud)
{
    struct apply_tx *t = ud;
    struct consumer *c = t->c;
    t->duplicate = false;
    struct arc_db_param p[] = {ARC_DB_P_STR(t->ev->id)};
    uint64_t affected = 0;
    enum arc_err e = arc_db_exec(db, c->st_inbox, p, 1, &affected, NULL);
    if (e == ARC_OK && affected == 0)
        t->duplicate = true; /* handled before: no second effect */
    else if (e == ARC_OK)
        e = c->spec->handle(c->spec->ud, db, t->ev);
    return e;
}

/* Runs one delivery's transaction (arc_db_tx retries deadlocks and a
 * connection lost before the commit; after an unknown commit outcome the
 * inbox makes a second run a duplicate). */
static enum arc_err
apply_once(struct consumer *c, const struct arc_event_in *ev, bool *duplicate)
{
    struct apply_tx t = {c, ev, false};
    enum arc_err e = arc_db_tx(c->db, "event apply", apply_tx, &t);
    *duplicate = t.duplicate;
    return e;
}

static void
dead_letter(struct consumer *c, const struct arc_amqp_delivery *d, const char *why)
{
    arc_log_warn("event %s (%s): giving up after %u attempt(s): %s; to %s.dead",
                 d->message_id[0] ? d->message_id : "-", d->type[0] ? d->type : d->routing_key,
                 d->attempts + 1, why, c->spec->queue);
    if (arc_amqp_dead_letter(c->amqp, d, why, DEAD_LETTER_MS) == ARC_OK)
        c->dead++;
    /* else: left unacknowledged; the broker redelivers it after a reconnect */
}

/* Handles one delivery to its end: acknowledged, retried, dead-lettered, or
 * (stopping, database away) left for the broker to redeliver. */
static void
handle_delivery(struct consumer *c, const struct arc_amqp_delivery *d)
{
    json_object *root = NULL;
    struct arc_event_in ev;
    if (arc_event_parse(d->body.ptr, d->body.len, &root, &ev) != ARC_OK) {
        dead_letter(c, d, "not an event envelope");
        return;
    }
    ev.traceparent = d->traceparent;
    struct arc_trace trace;
    arc_trace_start(&trace, d->traceparent[0] ? d->traceparent : NULL);
    arc_log_set_trace(trace.trace_id);

    enum arc_err e = ARC_RETRY;
    bool duplicate = false, db_down = false;
    while (!arc_daemon_stopping()) {
        e = apply_once(c, &ev, &duplicate);
        if (e != ARC_UNAVAILABLE)
            break;
        /* The database is away: wait for it with this delivery in hand
         * (no attempt is used up); a stop leaves it to be redelivered. */
        if (!db_down)
            arc_log_warn("event %s: database unavailable; waiting", ev.id);
        db_down = true;
        arc_daemon_nap(500);
    }
    if (arc_daemon_stopping() && e == ARC_UNAVAILABLE) {
        /* not acknowledged: redelivered to the next consumer */
    } else if (e == ARC_OK) {
        /* Committed: said before the ack, so that a consumer killed in between
         * leaves a line for the effect and, on redelivery, one "duplicate". */
        arc_log_info("event %s %s %s v%lld %s", ev.id, ev.type, ev.key, (long long)ev.version,
                     duplicate ? "duplicate" : "applied");
        if (c->spec->committed != NULL)
            c->spec->committed(c->spec->ud);
        if (duplicate)
            c->duplicates++;
        else
            c->applied++;
        if (arc_amqp_ack(c->amqp, d) != ARC_OK) {
            /* the channel is gone: redelivered, then recognised as a duplicate */
        }
    } else if (e == ARC_INVALID) {
        dead_letter(c, d, "the handler refused it");
    } else if (d->attempts + 1 >= c->max_attempts) {
        dead_letter(c, d, arc_err_name(e));
    } else {
        arc_log_warn("event %s (%s): attempt %u failed (%s); retrying", ev.id, ev.type,
                     d->attempts + 1, arc_err_name(e));
        if (arc_amqp_reject(c->amqp, d) != ARC_OK) {
            /* the channel is gone: the broker redelivers it */
        }
    }
    arc_log_set_trace(NULL);
    json_object_put(root);
}

/* Declares the queues and starts consuming; ARC_OK or why not. */
static enum arc_err
consumer_setup(struct consumer *c)
{
    const struct arc_consumer_spec *s = c->spec;
    enum arc_err e = arc_amqp_declare_queues(c->amqp, s->queue, s->keys, s->nkeys,
                                             s->retry_ttl_ms ? s->retry_ttl_ms : 1000);
    if (e == ARC_OK)
        e = arc_amqp_consume(c->amqp, s->queue, s->prefetch ? s->prefetch : 50);
    return e;
}

int
arc_consumer_main(const struct arc_config *cfg, const struct arc_consumer_spec *spec)
{
    if (arc_daemon_start() != 0) {
        arc_log_error("consumer: sigaction: %s", strerror(errno));
        return EXIT_FAILURE;
    }
    struct consumer c = {
        .spec = spec,
        .st_inbox = (unsigned)spec->nsql,
        .st_purge = (unsigned)spec->nsql + 1,
        .max_attempts = spec->max_attempts ? spec->max_attempts : 5,
    };
    const char **sql = arc_xcalloc(spec->nsql + 2, sizeof *sql);
    for (size_t i = 0; i < spec->nsql; i++)
        sql[i] = spec->sql[i];
    sql[c.st_inbox] = INBOX_INSERT_SQL;
    sql[c.st_purge] = INBOX_PURGE_SQL;
    c.db = arc_db_new(&cfg->db, sql, spec->nsql + 2);
    c.amqp = arc_daemon_broker(cfg);
    if (c.db == NULL || c.amqp == NULL) {
        arc_db_free(c.db);
        arc_amqp_free(c.amqp);
        free(sql);
        return EXIT_FAILURE;
    }
    arc_log_info("consumer started (queue %s)", spec->queue);

    struct arc_amqp_delivery d;
    arc_amqp_delivery_init(&d);
    bool ready = false, broker_down = false;
    uint64_t next_purge = 0;
    while (!arc_daemon_stopping()) {
        if (!ready) {
            enum arc_err e = consumer_setup(&c);
            if (e != ARC_OK) {
                if (!broker_down)
                    arc_log_warn("consumer: cannot consume %s (%s); waiting", spec->queue,
                                 arc_err_name(e));
                broker_down = true;
                arc_daemon_nap(500);
                continue;
            }
            if (broker_down)
                arc_log_info("consumer: consuming %s again", spec->queue);
            broker_down = false;
            ready = true;
        }
        enum arc_err e = arc_amqp_next(c.amqp, 500, &d);
        if (e == ARC_OK) {
            handle_delivery(&c, &d);
        } else if (e == ARC_NOT_FOUND) {
            if (arc_now_ns() >= next_purge) { /* idle: forget old inbox ids */
                next_purge = arc_now_ns() + 3600ull * 1000 * NS_PER_MS;
                if (arc_db_exec(c.db, c.st_purge, NULL, 0, NULL, NULL) != ARC_OK)
                    next_purge = arc_now_ns() + 60000 * NS_PER_MS;
            }
        } else {
            ready = false; /* broker gone, or the queue was deleted: set up again */
        }
    }
    arc_log_info("consumer stopping (%llu applied, %llu duplicate(s), %llu dead-lettered)",
                 (unsigned long long)c.applied, (unsigned long long)c.duplicates,
                 (unsigned long long)c.dead);
    arc_amqp_delivery_cleanup(&d);
    arc_amqp_free(c.amqp); /* unacknowledged prefetched deliveries go back to the queue */
    arc_db_free(c.db);
    free(sql);
    return EXIT_SUCCESS;
}
