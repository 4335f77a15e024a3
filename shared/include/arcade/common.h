/*
 * common.h - definitions every module of the Arcade common library shares:
 * attributes, the error enum, borrowed string views and checked allocation.
 */
#ifndef ARCADE_COMMON_H
#define ARCADE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARC_NODISCARD __attribute__((warn_unused_result))
#define ARC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define ARC_NORETURN __attribute__((noreturn))
#define ARC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Result of every shared-module operation. 0 is success. */
enum arc_err {
    ARC_OK = 0,
    ARC_NOT_FOUND,   /* no such row / cache miss */
    ARC_CONFLICT,    /* unique key or foreign key violated */
    ARC_RETRY,       /* deadlock or lock wait timeout: run the transaction again */
    ARC_UNAVAILABLE, /* the server cannot be reached (after one reconnect attempt) */
    ARC_INVALID,     /* the input was rejected */
    ARC_INTERNAL,    /* anything else; logged where it happened */
};

const char *arc_err_name(enum arc_err e);

/* A borrowed, not necessarily NUL-terminated piece of text. */
typedef struct arc_str {
    const char *ptr;
    size_t len;
} arc_str;

/* Allocation that never returns NULL: out of memory aborts the worker, and the
 * pool supervisor starts a fresh one. */
void *arc_xmalloc(size_t n);
void *arc_xcalloc(size_t nmemb, size_t size);
void *arc_xrealloc(void *p, size_t n);
char *arc_xstrdup(const char *s);
char *arc_xstrndup(const char *s, size_t n);

/* Monotonic clock in nanoseconds. */
uint64_t arc_now_ns(void);

/* The wall clock in milliseconds since the epoch. */
int64_t arc_wall_ms(void);

/* ms since the epoch as RFC 3339 UTC with milliseconds, the form of every time
 * in Arcade's documents and events: "2026-12-03T11:30:00.123Z" (ARC_TIME_LEN
 * characters and a NUL for any time from year 0 to 9999). */
#define ARC_TIME_LEN 24
void arc_time_format(int64_t ms, char out[ARC_TIME_LEN + 1]);

/* Constant-time comparison of two byte strings (lengths may differ; the
 * length itself is not hidden). Returns true when equal. */
bool arc_secure_equal(const void *a, size_t alen, const void *b, size_t blen);

#endif
