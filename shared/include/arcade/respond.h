/*
 * respond.h - the one way to answer a request: exactly one arc_respond_* call
 * per request (a second one is a bug, dropped and logged).
 */
#ifndef ARCADE_RESPOND_H
#define ARCADE_RESPOND_H

#include "arcade/common.h"
#include "arcade/req.h"

/* Every answer carries X-Content-Type-Options: nosniff and traceparent; an
 * error (status >= 400) and any answer to a request with an Authorization
 * header also carry Cache-Control: no-store, unless the handler set its own
 * Cache-Control with arc_respond_header. */

/* Adds a response header line; value is formatted. Call before arc_respond_*. */
void arc_respond_header(arc_req *r, const char *name, const char *fmt, ...) ARC_PRINTF(3, 4);
/* The same for a value at hand (value[0..len)): no formatting, for the hot path. */
void arc_respond_header_str(arc_req *r, const char *name, const char *value, size_t len);

/* Sends obj (takes ownership, may be NULL for "null") as application/json. */
void arc_respond_json(arc_req *r, int status, json_object *obj);

/* Sends body bytes as they are. content_type NULL means application/json. */
void arc_respond_raw(arc_req *r, int status, const char *content_type, const void *body,
                     size_t len);

/* No body: 204, 304, 201 without content. */
void arc_respond_empty(arc_req *r, int status);

/* {"error":{"code":code,"message":message,"fields":fields}} ; fields may be NULL
 * (omitted) and is taken over. */
void arc_respond_error(arc_req *r, int status, const char *code, const char *message,
                       json_object *fields);

/* 422 validation_failed with per-field messages (fields taken over). */
void arc_respond_invalid(arc_req *r, json_object *fields);

/* Answers a data-layer failure: ARC_UNAVAILABLE -> 503 unavailable with
 * Retry-After, ARC_NOT_FOUND -> 404, ARC_CONFLICT -> 409, anything else ->
 * 500 internal_error (the data layer has logged the cause). */
void arc_respond_failure(arc_req *r, enum arc_err err);

#endif
