/*
 * event.h - an event as Arcade's services exchange them (docs/events.md): the
 * one a writer records (outbox.h), the one a consumer receives (consumer.h),
 * and the envelope between them.
 */
#ifndef ARCADE_EVENT_H
#define ARCADE_EVENT_H

#include <json-c/json.h>

#include "arcade/common.h"
#include "arcade/trace.h"

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

/* Parses an envelope (docs/events.md). ARC_INVALID (logged) when it is not
 * one. *root receives the parsed document (json_object_put it); ev's strings
 * point into it. */
enum arc_err arc_event_parse(const char *body, size_t len, json_object **root,
                             struct arc_event_in *ev) ARC_NODISCARD;

#endif
