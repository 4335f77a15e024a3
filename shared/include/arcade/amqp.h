/*
 * amqp.h - RabbitMQ through librabbitmq (rabbitmq-c 0.11), per docs/events.md.
 *
 * One handle is one connection with one channel (channel 1), kept for the life
 * of a process (a relay, a consumer, a tool). The channel is always in
 * publisher-confirm mode, so every publish - events by the relay, dead letters
 * by a consumer - is confirmed by the broker before it counts as sent.
 *
 * Connecting is deferred to the first call. Connect, handshake and reply
 * waits are bounded (timeouts below) and heartbeats are on. Every call first
 * notices a connection the broker has closed (restart, heartbeat timeout,
 * connection.close) and reconnects once, trying each URL of the list in turn
 * (a cluster); when no broker answers it returns ARC_UNAVAILABLE at once, and
 * further calls within retry_ms fail fast without trying again. Nothing here
 * exits or retries for long: the caller decides (the relay keeps its outbox
 * rows, a consumer waits and calls again). After a reconnect the consumer set
 * up with arc_amqp_consume is re-established; deliveries received before it
 * can no longer be acknowledged (the broker redelivers them).
 *
 * A channel error (e.g. declaring a queue with other arguments, a passive
 * declare of a missing queue) closes only the channel: the call returns
 * ARC_CONFLICT / ARC_NOT_FOUND / ARC_INTERNAL and the next call reopens it.
 *
 * Not thread-safe: one handle per thread (workers are single-threaded).
 */
#ifndef ARCADE_AMQP_H
#define ARCADE_AMQP_H

#include "arcade/buf.h"

/* The durable topic exchange every event goes through. */
#define ARC_AMQP_EXCHANGE "arcade.events"

typedef struct arc_amqp arc_amqp;

struct arc_amqp_options {
    /* "amqp://user:pass@host:port/vhost[,amqp://…]" (ARCADE_AMQP_URL); an empty
     * vhost path means "/"; "%2f" is a '/' inside a vhost name. Borrowed only
     * during arc_amqp_new. */
    const char *urls;
    unsigned connect_timeout_ms; /* TCP connect per URL; 0 means 1000 */
    unsigned rpc_timeout_ms;     /* login and each broker reply; 0 means 2000 */
    unsigned heartbeat_s;        /* 0 means 30 */
    unsigned retry_ms;           /* after a failed connect, fail fast for this long; 0 means 500 */
};

/* Parses the URL list; connects on first use. NULL (logged) when a URL is
 * malformed or the list is empty. */
arc_amqp *arc_amqp_new(const struct arc_amqp_options *opt);
void arc_amqp_free(arc_amqp *a); /* closes the connection politely; NULL is a no-op */

/* Connects (or notices a closed connection and reconnects) now. ARC_OK or
 * ARC_UNAVAILABLE. For health checks and start-up. */
enum arc_err arc_amqp_ensure(arc_amqp *a) ARC_NODISCARD;

/* "host:port" of the broker the handle is connected to, "" when not connected. */
const char *arc_amqp_peer(const arc_amqp *a);

/* ---- Topology (docs/events.md); every declaration is idempotent ---- */

/* The durable topic exchange ARC_AMQP_EXCHANGE. */
enum arc_err arc_amqp_declare_exchange(arc_amqp *a) ARC_NODISCARD;

/* A consumer's queues: the exchange; the durable queue <queue>, dead-lettering
 * to <queue>.retry through the default exchange, bound to ARC_AMQP_EXCHANGE with
 * each of keys[0..nkeys); <queue>.retry (x-message-ttl retry_ttl_ms, 0 means
 * 1000, dead-lettering back to <queue>); <queue>.dead. queue is at most 200
 * bytes. ARC_CONFLICT when a queue exists with other arguments (e.g. another
 * TTL): delete it first (arc_amqp_delete_queues). */
enum arc_err arc_amqp_declare_queues(arc_amqp *a, const char *queue, const char *const *keys,
                                     size_t nkeys, unsigned retry_ttl_ms) ARC_NODISCARD;

/* ---- Publishing, with publisher confirms ---- */

/* One message; every pointer is borrowed for the call. Published persistent
 * (delivery mode 2), content type application/json. */
struct arc_amqp_msg {
    const char *exchange;    /* NULL means ARC_AMQP_EXCHANGE; "" is the default exchange */
    const char *routing_key; /* the event type, or a queue name for the default exchange */
    arc_str body;
    const char *message_id;  /* the envelope id; NULL for none */
    const char *type;        /* the event type; NULL for none */
    const char *traceparent; /* W3C trace context, sent as header "traceparent"; NULL for none */
    bool mandatory;          /* ask the broker to return it when no queue is bound */
};

/* Publishes msgs[0..n) in order and waits up to timeout_ms (0 means 5000) for
 * the broker to confirm them. results[i] (n entries, filled always):
 *   ARC_OK          acknowledged (basic.ack): the broker has it, mark it sent;
 *   ARC_NOT_FOUND   returned unroutable (mandatory, no queue bound), then acked;
 *   ARC_RETRY       refused by the broker (basic.nack): publish it again;
 *   ARC_UNAVAILABLE not sent, or no confirm before the deadline or before the
 *                   connection/channel closed: publish it again (it may arrive
 *                   twice; consumers tolerate that).
 * Returns ARC_OK when every message is ARC_OK, otherwise the first other result.
 * Messages are never published twice by this call. */
enum arc_err arc_amqp_publish_batch(arc_amqp *a, const struct arc_amqp_msg *msgs, size_t n,
                                    unsigned timeout_ms, enum arc_err *results) ARC_NODISCARD;

/* One message: arc_amqp_publish_batch with n = 1. */
enum arc_err arc_amqp_publish(arc_amqp *a, const struct arc_amqp_msg *msg,
                              unsigned timeout_ms) ARC_NODISCARD;

/* ---- Consuming, with manual acknowledgements ---- */

/* A received message. The caller embeds it: arc_amqp_delivery_init once,
 * reuse it for every arc_amqp_next, arc_amqp_delivery_cleanup at the end. */
struct arc_amqp_delivery {
    arc_buf body;
    char message_id[256]; /* "" when absent (AMQP short strings fit whole) */
    char type[256];
    char routing_key[256];
    char traceparent[128]; /* "" when absent or too long */
    bool redelivered;      /* the broker delivered it before (a consumer died or reconnected) */
    /* How often it was rejected from the consumed queue already (the x-death
     * count for that queue, reason "rejected"): 0 on the first attempt. */
    unsigned attempts;
    /* A dead letter's headers (arc_amqp_dead_letter): the routing key it was
     * first published with, how often it was tried, and why it was given up
     * ("" and 0 on other messages). */
    char dead_routing_key[256];
    char dead_reason[256];
    unsigned dead_attempts;
    /* private: where it came from, for ack/reject */
    uint64_t tag;
    uint64_t chan_gen;
};

void arc_amqp_delivery_init(struct arc_amqp_delivery *d);
void arc_amqp_delivery_cleanup(struct arc_amqp_delivery *d);

/* Starts consuming queue (borrowed for the call) with manual acks and at most
 * prefetch (1..1000) unacknowledged deliveries; re-established after every
 * reconnect. One queue per handle. */
enum arc_err arc_amqp_consume(arc_amqp *a, const char *queue, unsigned prefetch) ARC_NODISCARD;

/* Waits up to timeout_ms for the next delivery and fills d. ARC_OK,
 * ARC_NOT_FOUND (nothing arrived in time), ARC_UNAVAILABLE (no broker, or the
 * queue is gone until it is declared again; the caller waits and calls
 * again), ARC_INVALID (arc_amqp_consume not called). */
enum arc_err arc_amqp_next(arc_amqp *a, unsigned timeout_ms,
                           struct arc_amqp_delivery *d) ARC_NODISCARD;

/* Acknowledges d (after its effect is committed). ARC_UNAVAILABLE when the
 * channel it came on is gone: the broker redelivers it, which the inbox makes
 * harmless. */
enum arc_err arc_amqp_ack(arc_amqp *a, const struct arc_amqp_delivery *d) ARC_NODISCARD;

/* Rejects d without requeueing: it is dead-lettered to <queue>.retry, waits
 * the retry TTL and comes back with attempts + 1. */
enum arc_err arc_amqp_reject(arc_amqp *a, const struct arc_amqp_delivery *d) ARC_NODISCARD;

/* Gives up on d: publishes a copy to <queue>.dead (same body and properties,
 * plus headers x-original-routing-key, x-attempts (d->attempts + 1: this one
 * counts) and x-error (reason, may be NULL)) through the default exchange,
 * waits for its confirm (timeout_ms, 0 means 5000), then acks d. When the
 * publish is not confirmed, d is left unacknowledged and the result says why. */
enum arc_err arc_amqp_dead_letter(arc_amqp *a, const struct arc_amqp_delivery *d,
                                  const char *reason, unsigned timeout_ms) ARC_NODISCARD;

/* ---- Helpers for tests and operators ---- */

/* Messages ready in queue (a passive declare). ARC_NOT_FOUND when no such queue. */
enum arc_err arc_amqp_queue_depth(arc_amqp *a, const char *queue, uint32_t *count) ARC_NODISCARD;
/* Drops every ready message of queue; *count (may be NULL) receives how many. */
enum arc_err arc_amqp_purge(arc_amqp *a, const char *queue, uint32_t *count) ARC_NODISCARD;
/* Deletes queue, <queue>.retry and <queue>.dead (missing ones are fine). */
enum arc_err arc_amqp_delete_queues(arc_amqp *a, const char *queue) ARC_NODISCARD;

#endif
