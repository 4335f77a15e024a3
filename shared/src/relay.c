/*
 * relay.c - the outbox relay (relay.h): publishes committed outbox rows to the
 * broker in order, with publisher confirms, and deletes what was confirmed.
 * Single-threaded; a stop is looked at between batches (daemon.h).
 */
#include "arcade/relay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arcade/amqp.h"
#include "arcade/db.h"
#include "arcade/log.h"
#include "arcade/outbox.h"
#include "internal/daemon.h"

#define NS_PER_MS (1000ull * 1000)

enum { RL_LOCK, RL_FETCH, RL_DELETE, RL_COUNT };

static const char *const relay_sql[] = {
    /* 1 when this connection holds the lock (taking it when free), else 0. */
    [RL_LOCK] = "SELECT IF(IS_USED_LOCK(?) <=> CONNECTION_ID(), 1, COALESCE(GET_LOCK(?, 0), 0))",
    [RL_FETCH] = "SELECT id, event_id, type, traceparent, body FROM outbox ORDER BY id LIMIT ?",
    [RL_DELETE] = "DELETE FROM outbox WHERE id = ?",
};
_Static_assert(ARC_ARRAY_LEN(relay_sql) == RL_COUNT, "one SQL text per statement");

#define RELAY_BATCH 200
#define RELAY_CONFIRM_MS 5000

/* One fetched row; the strings live in the batch's arena. */
struct relay_row {
    int64_t id;
    size_t event_id, type, traceparent, body, body_len; /* offsets into arena */
};

struct relay_batch {
    struct relay_row rows[RELAY_BATCH];
    size_t n;
    arc_buf arena;
};

static size_t
arena_put(arc_buf *arena, const struct arc_db_col *c)
{
    size_t at = arena->len;
    arc_buf_append(arena, c->s, c->len);
    arc_buf_append_char(arena, '\0');
    return at;
}

static int
on_relay_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    struct relay_batch *b = ud;
    (void)ncols;
    if (b->n == RELAY_BATCH)
        return 1;
    struct relay_row *r = &b->rows[b->n++];
    r->id = c[0].i;
    r->event_id = arena_put(&b->arena, &c[1]);
    r->type = arena_put(&b->arena, &c[2]);
    r->traceparent = arena_put(&b->arena, &c[3]);
    r->body_len = c[4].len;
    r->body = arena_put(&b->arena, &c[4]);
    return 0;
}

/* Whether this relay holds the service's lock (taking it when it is free). */
static enum arc_err
relay_lock(arc_db *db, const char *lock, bool *held)
{
    struct arc_db_param p[] = {ARC_DB_P_STR(lock), ARC_DB_P_STR(lock)};
    struct arc_db_col col = {.type = ARC_DB_INT};
    int64_t v = 0;
    enum arc_err e = arc_db_query(db, RL_LOCK, p, 2, &col, 1, arc_db_row_int, &v, NULL);
    *held = e == ARC_OK && v == 1;
    return e;
}

/* Deletes the rows the broker confirmed, in one transaction. A row whose
 * delete does not commit is published again later (a duplicate, which
 * consumers tolerate), never lost. */
struct forget_tx {
    const struct relay_batch *b;
    const enum arc_err *res;
    size_t done;
};

static enum arc_err
forget_tx(arc_db *db, void *ud)
{
    struct forget_tx *t = ud;
    t->done = 0;
    for (size_t i = 0; i < t->b->n; i++) {
        if (t->res[i] != ARC_OK && t->res[i] != ARC_NOT_FOUND)
            continue;
        struct arc_db_param p[] = {ARC_DB_P_INT(t->b->rows[i].id)};
        enum arc_err e = arc_db_exec(db, RL_DELETE, p, 1, NULL, NULL);
        if (e != ARC_OK)
            return e;
        t->done++;
    }
    return ARC_OK;
}

static enum arc_err
relay_forget(arc_db *db, const struct relay_batch *b, const enum arc_err *res, size_t *done)
{
    struct forget_tx t = {b, res, 0};
    enum arc_err e = arc_db_tx(db, "outbox forget", forget_tx, &t);
    *done = e == ARC_OK ? t.done : 0;
    return e;
}

/* One round: fetch, publish, forget. *published receives how many rows went
 * out confirmed; ARC_NOT_FOUND when the outbox was empty; *db_failed tells
 * whether a failure came from the database (otherwise the broker). */
static enum arc_err
relay_round(arc_db *db, arc_amqp *amqp, struct relay_batch *b, size_t *published, bool *db_failed)
{
    static struct arc_amqp_msg msgs[RELAY_BATCH];
    static enum arc_err res[RELAY_BATCH];
    *published = 0;
    *db_failed = true;
    b->n = 0;
    arc_buf_reset(&b->arena);
    struct arc_db_param lim[] = {ARC_DB_P_INT(RELAY_BATCH)};
    struct arc_db_col cols[] = {{.type = ARC_DB_INT},
                                {.type = ARC_DB_STR},
                                {.type = ARC_DB_STR},
                                {.type = ARC_DB_STR},
                                {.type = ARC_DB_STR}};
    enum arc_err e = arc_db_query(db, RL_FETCH, lim, 1, cols, 5, on_relay_row, b, NULL);
    if (e != ARC_OK)
        return e;
    if (b->n == 0)
        return ARC_NOT_FOUND;
    const char *base = b->arena.ptr; /* stable now: nothing is appended any more */
    for (size_t i = 0; i < b->n; i++) {
        const struct relay_row *r = &b->rows[i];
        const char *tp = base + r->traceparent;
        msgs[i] = (struct arc_amqp_msg){
            .exchange = NULL,
            .routing_key = base + r->type,
            .body = {base + r->body, r->body_len},
            .message_id = base + r->event_id,
            .type = base + r->type,
            .traceparent = tp[0] != '\0' ? tp : NULL,
        };
    }
    *db_failed = false;
    e = arc_amqp_publish_batch(amqp, msgs, b->n, RELAY_CONFIRM_MS, res);
    size_t confirmed = 0;
    for (size_t i = 0; i < b->n; i++)
        confirmed += res[i] == ARC_OK || res[i] == ARC_NOT_FOUND;
    if (confirmed == 0)
        return e == ARC_NOT_FOUND ? ARC_UNAVAILABLE : e;
    enum arc_err fe = relay_forget(db, b, res, published);
    if (fe != ARC_OK) {
        *db_failed = true;
        return fe;
    }
    return confirmed == b->n ? ARC_OK : ARC_RETRY;
}

int
arc_relay_main(const struct arc_config *cfg)
{
    char lock[128];
    snprintf(lock, sizeof lock, "arcade.relay.%s", cfg->service);
    unsigned poll_ms = 0;
    if (arc_env_uint("ARCADE_RELAY_POLL_MS", 25, 1, 10000, &poll_ms) != 0) {
        arc_log_error("relay: bad ARCADE_RELAY_POLL_MS");
        return EXIT_FAILURE;
    }
    if (arc_daemon_start() != 0) {
        arc_log_error("relay: sigaction: %s", strerror(errno));
        return EXIT_FAILURE;
    }
    arc_db *db = arc_db_new(&cfg->db, relay_sql, RL_COUNT);
    arc_amqp *amqp = arc_daemon_broker(cfg);
    if (db == NULL || amqp == NULL) {
        arc_db_free(db);
        arc_amqp_free(amqp);
        return EXIT_FAILURE;
    }
    struct relay_batch *b = arc_xcalloc(1, sizeof *b);
    arc_buf_init(&b->arena);
    arc_log_info("relay started (lock %s)", lock);

    bool held = false, standby_logged = false, broker_down = false, db_down = false;
    unsigned backoff = 0;
    uint64_t published_total = 0, last_beat = arc_now_ns();
    if (arc_amqp_declare_exchange(amqp) != ARC_OK)
        broker_down = true; /* declared again below once the broker answers */
    while (!arc_daemon_stopping()) {
        bool was_held = held, db_failed = true;
        size_t n = 0;
        enum arc_err e = relay_lock(db, lock, &held);
        if (e == ARC_OK && !held) {
            if (!standby_logged)
                arc_log_info("relay: another relay holds %s; standing by", lock);
            standby_logged = true;
            arc_daemon_nap(1000);
            continue;
        }
        if (e == ARC_OK) {
            if (!was_held)
                arc_log_info("relay: holding %s, publishing", lock);
            standby_logged = false;
            e = relay_round(db, amqp, b, &n, &db_failed);
            published_total += n;
        }
        if (e == ARC_NOT_FOUND) { /* idle: keep the broker link warm */
            if (db_down)
                arc_log_info("relay: database back");
            db_down = false;
            if (arc_now_ns() - last_beat > 5000 * NS_PER_MS) {
                last_beat = arc_now_ns();
                bool up = arc_amqp_ensure(amqp) == ARC_OK;
                if (up && broker_down)
                    arc_log_info("relay: broker back at %s", arc_amqp_peer(amqp));
                broker_down = !up;
            }
            arc_daemon_nap(poll_ms);
            continue;
        }
        if (e == ARC_OK || n > 0) {
            if (broker_down)
                arc_log_info("relay: broker back at %s", arc_amqp_peer(amqp));
            if (db_down)
                arc_log_info("relay: database back");
            broker_down = db_down = false;
            backoff = 0;
            if (e == ARC_OK)
                continue; /* maybe more */
        } else if (db_failed) {
            if (!db_down)
                arc_log_warn("relay: database unavailable (%s); waiting", arc_err_name(e));
            db_down = true;
        } else {
            if (!broker_down)
                arc_log_warn("relay: broker unavailable (%s); %zu event(s) wait in the outbox",
                             arc_err_name(e), b->n);
            broker_down = true;
            if (arc_amqp_ensure(amqp) == ARC_OK && arc_amqp_declare_exchange(amqp) == ARC_OK)
                continue; /* reconnected: go again at once */
        }
        backoff = backoff == 0 ? 100 : (backoff * 2 > 2000 ? 2000 : backoff * 2);
        arc_daemon_nap(backoff);
    }
    arc_log_info("relay stopping (%llu event(s) published)", (unsigned long long)published_total);
    arc_buf_cleanup(&b->arena);
    free(b);
    arc_amqp_free(amqp);
    arc_db_free(db); /* closing the connection releases the lock */
    return EXIT_SUCCESS;
}
