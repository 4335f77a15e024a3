/*
 * breaker.h - a circuit breaker for calls to another service, one per worker
 * and per dependency (workers are single-threaded: no locking). After
 * `threshold` consecutive failures it opens: calls fail fast, without
 * touching the network, for `cooldown_ms`. Then one call is let through (half
 * open): its success closes the breaker, its failure opens it again for
 * another cool-down. So a dependency that is down costs a worker one timeout
 * per cool-down, not one per request. The clock is passed in (arc_now_ns in
 * production), so the rules are tested without sleeping.
 */
#ifndef ARCADE_BREAKER_H
#define ARCADE_BREAKER_H

#include "arcade/common.h"

/* Embedded by the caller (arc_breaker_init); no resources to free. */
struct arc_breaker {
    unsigned threshold;     /* consecutive failures that open it, >= 1 */
    uint64_t cooldown_ns;   /* how long it stays open */
    unsigned failures;      /* consecutive failures so far */
    uint64_t open_until_ns; /* while now < this, calls fail fast; 0: closed */
};

void arc_breaker_init(struct arc_breaker *b, unsigned threshold, unsigned cooldown_ms);

/* Whether a call may go out now: true when closed, or half open (the
 * cool-down is over: this call is the trial). */
bool arc_breaker_allow(const struct arc_breaker *b, uint64_t now_ns);

/* The outcome of a call that went out. A success closes the breaker; a
 * failure counts, and the threshold-th in a row (or a failed trial) opens it
 * until now_ns + cool-down. */
void arc_breaker_success(struct arc_breaker *b);
void arc_breaker_failure(struct arc_breaker *b, uint64_t now_ns);

/* Seconds a client should wait before trying again (Retry-After): what is
 * left of the cool-down rounded up, at least 1. */
unsigned arc_breaker_retry_after_s(const struct arc_breaker *b, uint64_t now_ns);

#endif
