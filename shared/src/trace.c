/*
 * trace.c - W3C Trace Context: parse "traceparent", start this request's span.
 *
 * Only version 00 is accepted: the value is exactly 55 characters, lower-case
 * hex, and neither the trace-id nor the parent-id is all zeros. An invalid value
 * starts a new trace instead (the spec's "restart the trace").
 */
#include "arcade/trace.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char hex_digits[] = "0123456789abcdef";

/* n lower-case hex characters, not all '0'. */
static bool
hex_field(const char *s, size_t n, bool nonzero)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        if (c != '0')
            any = true;
    }
    return any || !nonzero;
}

static unsigned
hex_byte(const char *s)
{
    unsigned hi = (unsigned)(s[0] <= '9' ? s[0] - '0' : s[0] - 'a' + 10);
    unsigned lo = (unsigned)(s[1] <= '9' ? s[1] - '0' : s[1] - 'a' + 10);
    return hi << 4 | lo;
}

int
arc_trace_parse(const char *h, struct arc_trace *out)
{
    /* 00-<32 hex>-<16 hex>-<2 hex>: dashes at 2, 35, 52. */
    if (h == NULL || strlen(h) != ARC_TRACEPARENT_LEN)
        return -1;
    if (h[0] != '0' || h[1] != '0' || h[2] != '-' || h[35] != '-' || h[52] != '-')
        return -1;
    if (!hex_field(h + 3, 32, true) || !hex_field(h + 36, 16, true) || !hex_field(h + 53, 2, false))
        return -1;
    memcpy(out->trace_id, h + 3, 32);
    out->trace_id[32] = '\0';
    memcpy(out->parent_id, h + 36, 16);
    out->parent_id[16] = '\0';
    out->span_id[0] = '\0';
    out->flags = (uint8_t)hex_byte(h + 53);
    return 0;
}

/* Random bytes come from libsodium in blocks, so that a request does not cost a
 * getrandom() call. Ids need to be unique, not secret; a forked child throws
 * the rest of the block away so that it never repeats its parent's ids. */
static unsigned char rnd_pool[1024];
static size_t rnd_left;
static pthread_once_t rnd_once = PTHREAD_ONCE_INIT;

static void
on_fork_child(void)
{
    rnd_left = 0;
}

static void
rnd_init(void)
{
    if (sodium_init() < 0)
        abort(); /* no randomness: the supervisor restarts the worker */
    pthread_atfork(NULL, NULL, on_fork_child);
}

static void
random_bytes(unsigned char *p, size_t n)
{
    if (n > sizeof rnd_pool / 2) {
        pthread_once(&rnd_once, rnd_init);
        randombytes_buf(p, n);
        return;
    }
    if (rnd_left < n) {
        pthread_once(&rnd_once, rnd_init);
        randombytes_buf(rnd_pool, sizeof rnd_pool);
        rnd_left = sizeof rnd_pool;
    }
    unsigned char *src = rnd_pool + sizeof rnd_pool - rnd_left;
    memcpy(p, src, n);
    sodium_memzero(src, n);
    rnd_left -= n;
}

/* Fills out with 2n hex characters of a random, not all-zero id. */
static void
random_id(const unsigned char *bytes, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digits[bytes[i] >> 4];
        out[2 * i + 1] = hex_digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

static bool
all_zero(const unsigned char *p, size_t n)
{
    unsigned char acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

void
arc_trace_start(struct arc_trace *t, const char *header)
{
    unsigned char rnd[24]; /* 16 for a new trace-id, 8 for the span-id */
    bool continued = header != NULL && arc_trace_parse(header, t) == 0;
    do {
        random_bytes(rnd, sizeof rnd);
    } while (all_zero(rnd + 16, 8) || (!continued && all_zero(rnd, 16)));
    if (!continued) {
        random_id(rnd, 16, t->trace_id);
        t->parent_id[0] = '\0';
        t->flags = 0x01;
    }
    random_id(rnd + 16, 8, t->span_id);
}

void
arc_trace_format(const struct arc_trace *t, char out[ARC_TRACEPARENT_LEN + 1])
{
    memcpy(out, "00-", 3);
    memcpy(out + 3, t->trace_id, 32);
    out[35] = '-';
    memcpy(out + 36, t->span_id, 16);
    out[52] = '-';
    out[53] = hex_digits[t->flags >> 4];
    out[54] = hex_digits[t->flags & 15];
    out[55] = '\0';
}
