/*
 * service.h - what every service's handlers share beyond one request: the
 * health answer and the mapping of a data-layer failure to an HTTP answer.
 */
#ifndef ARCADE_SERVICE_H
#define ARCADE_SERVICE_H

#include "arcade/amqp.h"
#include "arcade/config.h"
#include "arcade/http.h"

/* A health report: each dependency checked is "ok", "unavailable" or
 * "disabled". A critical dependency that is unavailable makes the service
 * "unavailable" (503); any other makes it "degraded" (still 200). */
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

/* The worker's link to the broker for health checks: *slot, opened on first
 * use from cfg->amqp_url with short timeouts (a health check answers within
 * about a second when the broker hangs). NULL when no broker is configured. */
arc_amqp *arc_health_broker(arc_amqp **slot, const struct arc_config *cfg);

/* Answers a data-layer failure: ARC_UNAVAILABLE -> 503 unavailable with
 * Retry-After, ARC_NOT_FOUND -> 404, ARC_CONFLICT -> 409, anything else ->
 * 500 internal_error (the data layer has logged the cause). */
void arc_respond_failure(arc_req *r, enum arc_err err);

#endif
