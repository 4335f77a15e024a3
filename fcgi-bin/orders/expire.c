/*
 * expire.c - `arcade-orders expire`: every second, the awaiting_payment
 * orders past expires_at become cancelled (reason payment_timeout, actor
 * system), each in its own transaction with order.cancelled in the outbox,
 * so the catalog releases their reservations. Several expire daemons (two
 * web hosts) are safe: the UPDATE is guarded by the status and the time, so
 * an order is cancelled once.
 */
#include "orders.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <arcade/log.h>

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}

static void
nap_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (!stopping && nanosleep(&ts, &ts) != 0)
        ;
}

int
expire_main(const struct arc_config *cfg)
{
    static const int stop_signals[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < ARC_ARRAY_LEN(stop_signals); i++)
        sigaction(stop_signals[i], &sa, NULL);
    arc_db *db = arc_db_new(&cfg->db, orders_sql, orders_nsql);
    if (db == NULL)
        return 1;
    arc_buf scratch;
    arc_buf_init(&scratch);
    arc_log_info("orders: expiry daemon started");
    bool warned = false;
    while (!stopping) {
        int64_t ids[EXPIRE_BATCH];
        size_t n = 0;
        enum arc_err e = store_orders_expired(db, ids, &n);
        for (size_t i = 0; i < n && e == ARC_OK && !stopping; i++) {
            bool applied = false;
            e = store_order_expire(db, ids[i], &applied, &scratch);
            if (e == ARC_OK && applied)
                arc_log_info("orders: order %lld cancelled: payment_timeout", (long long)ids[i]);
        }
        if (e != ARC_OK && !warned)
            arc_log_warn("orders: expiry pass failed (%s); trying again", arc_err_name(e));
        warned = e != ARC_OK;
        if (n < EXPIRE_BATCH || e != ARC_OK)
            nap_ms(1000);
    }
    arc_log_info("orders: expiry daemon stopping");
    arc_buf_cleanup(&scratch);
    arc_db_free(db);
    return 0;
}
