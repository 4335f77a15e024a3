/*
 * relay.h - the outbox relay: `arcade-<svc> relay` publishes what the
 * service's outbox (outbox.h) holds to the broker (docs/events.md).
 */
#ifndef ARCADE_RELAY_H
#define ARCADE_RELAY_H

#include "arcade/config.h"

/* Runs the outbox relay of cfg->service until SIGTERM/SIGINT/SIGQUIT/SIGHUP:
 * holds the MariaDB lock "arcade.relay.<service>" (a second relay waits as a
 * standby), publishes pending rows in id order with publisher confirms, and
 * deletes each row only after the broker's ack. A dead broker or database
 * delays events, never loses them. Returns the process exit status. */
int arc_relay_main(const struct arc_config *cfg);

#endif
