/*
 * breaker.c - the circuit breaker of breaker.h: three numbers and a clock.
 */
#include "arcade/breaker.h"

#define NS_PER_MS UINT64_C(1000000)
#define NS_PER_S UINT64_C(1000000000)

void
arc_breaker_init(struct arc_breaker *b, unsigned threshold, unsigned cooldown_ms)
{
    *b = (struct arc_breaker){
        .threshold = threshold > 0 ? threshold : 1,
        .cooldown_ns = (uint64_t)cooldown_ms * NS_PER_MS,
    };
}

bool
arc_breaker_allow(const struct arc_breaker *b, uint64_t now_ns)
{
    return b->open_until_ns == 0 || now_ns >= b->open_until_ns;
}

void
arc_breaker_success(struct arc_breaker *b)
{
    b->failures = 0;
    b->open_until_ns = 0;
}

void
arc_breaker_failure(struct arc_breaker *b, uint64_t now_ns)
{
    if (b->failures < b->threshold)
        b->failures++;
    /* The threshold reached, or a failed half-open trial (failures stays at
     * the threshold): open for another cool-down. */
    if (b->failures >= b->threshold)
        b->open_until_ns = now_ns + b->cooldown_ns;
}

unsigned
arc_breaker_retry_after_s(const struct arc_breaker *b, uint64_t now_ns)
{
    if (b->open_until_ns == 0 || now_ns >= b->open_until_ns)
        return 1;
    uint64_t left = b->open_until_ns - now_ns;
    uint64_t s = (left + NS_PER_S - 1) / NS_PER_S;
    return s < 1 ? 1 : s > 86400 ? 86400 : (unsigned)s;
}
