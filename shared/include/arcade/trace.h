/*
 * trace.h - W3C Trace Context (traceparent) parsing and creation.
 * https://www.w3.org/TR/trace-context/ : "00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>"
 */
#ifndef ARCADE_TRACE_H
#define ARCADE_TRACE_H

#include "arcade/common.h"

#define ARC_TRACEPARENT_LEN 55

struct arc_trace {
    char trace_id[33];  /* lower-case hex, NUL-terminated */
    char parent_id[17]; /* the caller's span, "" when the trace was created here */
    char span_id[17];   /* this request's span */
    uint8_t flags;
};

/* Parses a traceparent header value. Returns 0, or -1 when it is not a valid
 * version-00 value (all-zero ids, upper-case hex, wrong length are invalid). */
int arc_trace_parse(const char *header, struct arc_trace *out) ARC_NODISCARD;

/* Starts this request's span: continues header when valid, otherwise starts a
 * new trace (flags 01). Always draws a fresh span_id. header may be NULL. */
void arc_trace_start(struct arc_trace *t, const char *header);

/* Writes "00-<trace_id>-<span_id>-<flags>" (this span as the parent of
 * downstream calls) into out, which holds ARC_TRACEPARENT_LEN + 1 bytes. */
void arc_trace_format(const struct arc_trace *t, char out[ARC_TRACEPARENT_LEN + 1]);

#endif
