/*
 * internal/daemon.h - what every long-running process of the library shares:
 * the signals that ask for a graceful stop (the accept loop, the relay, the
 * consumer), and for the two event daemons a stop flag, a nap that a stop
 * cuts short, and their broker connection. Private to the library.
 *
 * A stop signal only sets a flag (or, in the accept loop, tells libfcgi),
 * which is looked at at a safe point: between requests, batches or
 * deliveries. Every wait is bounded, so a stop takes effect quickly.
 */
#ifndef ARCADE_INTERNAL_DAEMON_H
#define ARCADE_INTERNAL_DAEMON_H

#include <stdbool.h>

#include "arcade/amqp.h"
#include "arcade/config.h"

/* Installs fn for TERM, INT, QUIT (what Debian's multiwatch 1.0 sends its
 * children whatever its -s option says), HUP and USR1 (libfcgi's convention),
 * without SA_RESTART so that a blocking call returns, and ignores SIGPIPE (the
 * libraries report broken sockets). Returns 0, or -1 with errno set. */
int arc_daemon_signals(void (*fn)(int));

/* A daemon's start: the stop signals set the flag arc_daemon_stopping reads.
 * Returns 0, or -1 with errno set. */
int arc_daemon_start(void);

/* True once a stop was asked for. */
bool arc_daemon_stopping(void);

/* Sleeps ms, waking early when a stop is asked for. */
void arc_daemon_nap(unsigned ms);

/* The broker at ARCADE_AMQP_URL; NULL (logged) when it is not set. The
 * connection itself is made on first use and again after a loss. */
arc_amqp *arc_daemon_broker(const struct arc_config *cfg);

#endif
