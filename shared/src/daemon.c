/*
 * daemon.c - stop signals, the stop flag and the broker of the library's
 * long-running processes (internal/daemon.h).
 */
#include "internal/daemon.h"

#include <signal.h>
#include <string.h>
#include <time.h>

#include "arcade/log.h"

static volatile sig_atomic_t stopping;

int
arc_daemon_signals(void (*fn)(int))
{
    static const int stop_signals[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = fn;
    for (size_t i = 0; i < ARC_ARRAY_LEN(stop_signals); i++)
        if (sigaction(stop_signals[i], &sa, NULL) != 0)
            return -1;
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}

static void
on_stop_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

int
arc_daemon_start(void)
{
    return arc_daemon_signals(on_stop_signal);
}

bool
arc_daemon_stopping(void)
{
    return stopping != 0;
}

void
arc_daemon_nap(unsigned ms)
{
    while (ms > 0 && !stopping) {
        unsigned step = ms < 50 ? ms : 50;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

arc_amqp *
arc_daemon_broker(const struct arc_config *cfg)
{
    if (cfg->amqp_url[0] == '\0') {
        arc_log_error("ARCADE_AMQP_URL is not set");
        return NULL;
    }
    return arc_amqp_new(&(const struct arc_amqp_options){.urls = cfg->amqp_url});
}
