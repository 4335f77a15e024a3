/*
 * common.c - checked allocation, clocks and the error names.
 */
#include "arcade/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *
arc_err_name(enum arc_err e)
{
    switch (e) {
    case ARC_OK:
        return "ok";
    case ARC_NOT_FOUND:
        return "not_found";
    case ARC_CONFLICT:
        return "conflict";
    case ARC_RETRY:
        return "retry";
    case ARC_UNAVAILABLE:
        return "unavailable";
    case ARC_INVALID:
        return "invalid";
    case ARC_INTERNAL:
        return "internal";
    }
    return "unknown";
}

static ARC_NORETURN void
out_of_memory(size_t n)
{
    /* No allocation here: the log machinery may need memory too. */
    fprintf(stderr, "arcade: out of memory allocating %zu bytes\n", n);
    abort();
}

void *
arc_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        out_of_memory(n);
    return p;
}

void *
arc_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (p == NULL)
        out_of_memory(nmemb * size);
    return p;
}

void *
arc_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        out_of_memory(n);
    return q;
}

char *
arc_xstrdup(const char *s)
{
    return arc_xstrndup(s, strlen(s));
}

char *
arc_xstrndup(const char *s, size_t n)
{
    char *p = arc_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

uint64_t
arc_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t
arc_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
arc_time_format(int64_t ms, char out[ARC_TIME_LEN + 1])
{
    time_t s = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    if (frac < 0) { /* before 1970: the second below, and what is left */
        s--;
        frac += 1000;
    }
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, ARC_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, ARC_TIME_LEN + 1 - n, ".%03dZ", frac);
}

bool
arc_secure_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    /* Compare every byte of a against b (wrapping), so the time depends only
     * on alen, then fold in the length difference. */
    const volatile unsigned char *pa = a;
    const volatile unsigned char *pb = b;
    unsigned char diff = (unsigned char)(alen != blen);
    if (blen == 0)
        return alen == 0;
    for (size_t i = 0; i < alen; i++)
        diff |= (unsigned char)(pa[i] ^ pb[i % blen]);
    return diff == 0;
}
