/*
 * health.h - the health report every service answers on /health/<service>:
 * one rule for what is ok, degraded and unavailable.
 */
#ifndef ARCADE_HEALTH_H
#define ARCADE_HEALTH_H

#include "arcade/amqp.h"
#include "arcade/config.h"
#include "arcade/respond.h"

/* A health report: each dependency checked is "ok" or "unavailable"; an
 * optional one that is not configured is "disabled" and degrades nothing. A
 * critical dependency that is unavailable makes the service "unavailable"
 * (503); any other makes it "degraded" (still 200), and so do dead letters. */
struct arc_health {
    json_object *checks;
    json_object *details; /* NULL until arc_health_detail */
    int state;            /* 0 ok, 1 degraded, 2 unavailable */
};

void arc_health_init(struct arc_health *h);
void arc_health_add(struct arc_health *h, const char *name, enum arc_err result, bool critical);
/* Adds a member to the report's "details" object (e.g. "outbox":{"rows":3}),
 * taking ownership of value. */
void arc_health_detail(struct arc_health *h, const char *name, json_object *value);
/* Answers {"status":…,"checks":{…}[,"details":{…}]} and frees the report. */
void arc_health_respond(arc_req *r, struct arc_health *h);

/* The "broker" check, one rule for every service: no broker configured
 * (ARCADE_AMQP_URL empty) -> "disabled", the status unchanged; otherwise "ok"
 * or "unavailable" (degraded, never critical: events wait in an outbox or a
 * queue). *slot is the worker's health link to the broker (start with NULL;
 * the caller frees it with arc_amqp_free at exit), opened on first use with
 * short timeouts, so that a check answers within about a second when the
 * broker hangs. Returns that link when it answered, else NULL. */
arc_amqp *arc_health_check_broker(struct arc_health *h, arc_amqp **slot,
                                  const struct arc_config *cfg);

/* Events a consumer gave up on: details "dead_letters" = n (null when n < 0,
 * the broker could not be asked). Any dead letter makes the service
 * "degraded": a change is missing from its read model until they are
 * replayed (./arcade events). */
void arc_health_dead_letters(struct arc_health *h, int64_t n);

#endif
