/*
 * events.c - the transactional outbox, its relay, and the consumer loop with
 * its inbox (see outbox.h, relay.h, consumer.h and docs/events.md for the contract).
 *
 * Both long-running loops are single-threaded and stop at a safe point: a
 * stop signal only sets a flag, which is looked at between batches (relay)
 * or between deliveries (consumer). Every wait is bounded (at most ~500 ms),
 * so a stop takes effect quickly, and each wait on the broker also answers
 * its heartbeats.
 */
#include "arcade/amqp.h"
#include "arcade/consumer.h"
#include "arcade/outbox.h"
#include "arcade/relay.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arcade/json.h"
#include "arcade/log.h"

#define NS_PER_MS (1000ull * 1000)

/* ---- stopping ---------------------------------------------------------------- */

static volatile sig_atomic_t stopping;

static void
on_stop_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

/* TERM, INT, QUIT (what Debian's multiwatch sends), HUP and USR1 ask for a
 * graceful stop; SIGPIPE is ignored (the libraries report broken sockets). */
static int
install_signals(void)
{
    static const int stop_signals[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop_signal;
    for (size_t i = 0; i < ARC_ARRAY_LEN(stop_signals); i++)
        if (sigaction(stop_signals[i], &sa, NULL) != 0)
            return -1;
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}

/* Sleeps ms, waking early when a stop is asked for. */
static void
nap(unsigned ms)
{
    while (ms > 0 && !stopping) {
        unsigned step = ms < 50 ? ms : 50;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static arc_amqp *
open_broker(const struct arc_config *cfg)
{
    if (cfg->amqp_url[0] == '\0') {
        arc_log_error("ARCADE_AMQP_URL is not set");
        return NULL;
    }
    return arc_amqp_new(&(const struct arc_amqp_options){.urls = cfg->amqp_url});
}

/* ---- outbox ------------------------------------------------------------------ */

/* RFC 3339 UTC with milliseconds, now. */
static void
format_now(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

enum arc_err
arc_outbox_add(arc_db *db, unsigned stmt, const struct arc_event *ev, arc_buf *scratch)
{
    unsigned char raw[16];
    char id[33], when[32], tp[ARC_TRACEPARENT_LEN + 1] = "";
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(id, sizeof id, raw, sizeof raw);
    format_now(when);
    if (ev->trace != NULL)
        arc_trace_format(ev->trace, tp);

    arc_buf_reset(scratch);
    arc_buf_append_str(scratch, "{\"id\":\"");
    arc_buf_append_str(scratch, id);
    arc_buf_append_str(scratch, "\",\"type\":");
    arc_buf_append_json_string(scratch, ev->type, strlen(ev->type));
    arc_buf_append_str(scratch, ",\"occurred_at\":\"");
    arc_buf_append_str(scratch, when);
    arc_buf_append_str(scratch, "\",\"source\":");
    arc_buf_append_json_string(scratch, ev->source, strlen(ev->source));
    arc_buf_append_str(scratch, ",\"key\":");
    arc_buf_append_json_string(scratch, ev->key, strlen(ev->key));
    arc_buf_printf(scratch, ",\"version\":%lld,\"data\":", (long long)ev->version);
    arc_buf_append(scratch, ev->data.ptr, ev->data.len);
    arc_buf_append_char(scratch, '}');

    struct arc_db_param p[] = {
        ARC_DB_P_STR(id),
        ARC_DB_P_STR(ev->type),
        ARC_DB_P_STR(ev->key),
        ARC_DB_P_STR(tp),
        ARC_DB_P_STRN(scratch->ptr, scratch->len),
    };
    return arc_db_exec(db, stmt, p, ARC_ARRAY_LEN(p), NULL, NULL);
}

static int
on_backlog_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    int64_t *out = ud;
    (void)ncols;
    out[0] = c[0].i;
    out[1] = c[1].is_null ? 0 : c[1].i;
    return 0;
}

enum arc_err
arc_outbox_backlog(arc_db *db, unsigned stmt, int64_t *rows, int64_t *oldest_ms)
{
    struct arc_db_col cols[] = {{.type = ARC_DB_INT}, {.type = ARC_DB_INT}};
    int64_t out[2] = {0, 0};
    enum arc_err e = arc_db_query(db, stmt, NULL, 0, cols, 2, on_backlog_row, out, NULL);
    *rows = out[0];
    *oldest_ms = out[1] < 0 ? 0 : out[1];
    return e;
}

/* ---- relay ------------------------------------------------------------------- */

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
    if (install_signals() != 0) {
        arc_log_error("relay: sigaction: %s", strerror(errno));
        return EXIT_FAILURE;
    }
    arc_db *db = arc_db_new(&cfg->db, relay_sql, RL_COUNT);
    arc_amqp *amqp = open_broker(cfg);
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
    while (!stopping) {
        bool was_held = held, db_failed = true;
        size_t n = 0;
        enum arc_err e = relay_lock(db, lock, &held);
        if (e == ARC_OK && !held) {
            if (!standby_logged)
                arc_log_info("relay: another relay holds %s; standing by", lock);
            standby_logged = true;
            nap(1000);
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
            nap(poll_ms);
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
        nap(backoff);
    }
    arc_log_info("relay stopping (%llu event(s) published)", (unsigned long long)published_total);
    arc_buf_cleanup(&b->arena);
    free(b);
    arc_amqp_free(amqp);
    arc_db_free(db); /* closing the connection releases the lock */
    return EXIT_SUCCESS;
}

/* ---- envelope ---------------------------------------------------------------- */

static bool
member_str(json_object *root, const char *key, const char **out)
{
    json_object *v;
    if (!json_object_object_get_ex(root, key, &v) || !json_object_is_type(v, json_type_string) ||
        json_object_get_string_len(v) == 0)
        return false;
    *out = json_object_get_string(v);
    return true;
}

static bool
is_event_id(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 32;
}

enum arc_err
arc_event_parse(const char *body, size_t len, json_object **root, struct arc_event_in *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->traceparent = "";
    *root = arc_json_parse(body, len, 32);
    json_object *o = *root, *v;
    const char *why = NULL;
    if (o == NULL || !json_object_is_type(o, json_type_object))
        why = "not a JSON object";
    else if (!member_str(o, "id", &ev->id) || !is_event_id(ev->id))
        why = "id";
    else if (!member_str(o, "type", &ev->type) || !member_str(o, "source", &ev->source) ||
             !member_str(o, "key", &ev->key) || !member_str(o, "occurred_at", &ev->occurred_at))
        why = "type, source, key or occurred_at";
    else if (!json_object_object_get_ex(o, "version", &v) ||
             !json_object_is_type(v, json_type_int) || (ev->version = json_object_get_int64(v)) < 0)
        why = "version";
    else if (!json_object_object_get_ex(o, "data", &ev->data) ||
             !json_object_is_type(ev->data, json_type_object))
        why = "data";
    if (why == NULL)
        return ARC_OK;
    arc_log_warn("event: malformed envelope (%s)", why);
    json_object_put(*root);
    *root = NULL;
    return ARC_INVALID;
}

/* ---- consumer ---------------------------------------------------------------- */

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
    while (!stopping) {
        e = apply_once(c, &ev, &duplicate);
        if (e != ARC_UNAVAILABLE)
            break;
        /* The database is away: wait for it with this delivery in hand
         * (no attempt is used up); a stop leaves it to be redelivered. */
        if (!db_down)
            arc_log_warn("event %s: database unavailable; waiting", ev.id);
        db_down = true;
        nap(500);
    }
    if (stopping && e == ARC_UNAVAILABLE) {
        /* not acknowledged: redelivered to the next consumer */
    } else if (e == ARC_OK) {
        /* Committed: said before the ack, so that a consumer killed in between
         * leaves a line for the effect and, on redelivery, one "duplicate". */
        arc_log_info("event %s %s %s v%lld %s", ev.id, ev.type, ev.key, (long long)ev.version,
                     duplicate ? "duplicate" : "applied");
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
    if (install_signals() != 0) {
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
    c.amqp = open_broker(cfg);
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
    while (!stopping) {
        if (!ready) {
            enum arc_err e = consumer_setup(&c);
            if (e != ARC_OK) {
                if (!broker_down)
                    arc_log_warn("consumer: cannot consume %s (%s); waiting", spec->queue,
                                 arc_err_name(e));
                broker_down = true;
                nap(500);
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
