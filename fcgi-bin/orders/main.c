/*
 * main.c - the orders responder: read the configuration, open the long-lived
 * handles, serve FastCGI requests on descriptor 0 until told to stop.
 */
#include "orders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arcade/log.h>
#include <arcade/relay.h>
#include <arcade/server.h>

/* Without arguments: a FastCGI responder. `arcade-orders relay`: the
 * service's outbox relay (relay.h); `arcade-orders consume`: the consumer of
 * the catalog's stock events, `consume-payments` of the payments' events
 * (saga.c); `expire`: the expiry of unpaid orders (expire.c); all supervised
 * like the pools. */
static int
daemon_main(struct orders *o, int argc, char **argv)
{
    if (arc_log_start(&o->cfg) != 0) {
        fprintf(stderr, "orders: cannot open log %s\n", o->cfg.log_file);
        return EXIT_FAILURE;
    }
    int status = EXIT_FAILURE;
    if (argc == 2 && strcmp(argv[1], "relay") == 0)
        status = arc_relay_main(&o->cfg);
    else if (argc == 2 && strcmp(argv[1], "consume") == 0)
        status = saga_consume_main(&o->cfg);
    else if (argc == 2 && strcmp(argv[1], "consume-payments") == 0)
        status = saga_payments_main(&o->cfg);
    else if (argc == 2 && strcmp(argv[1], "expire") == 0)
        status = expire_main(&o->cfg);
    else
        fprintf(stderr, "usage: arcade-orders [relay|consume|consume-payments|expire]\n");
    arc_log_close();
    return status;
}

int
main(int argc, char **argv)
{
    static struct orders o;
    unsigned timeout_ms, failures, cooldown_ms;
    if (arc_config_load(&o.cfg, "orders") != 0)
        return EXIT_FAILURE;
    if (argc > 1)
        return daemon_main(&o, argc, argv);
    if (arc_env_uint("ARCADE_CATALOG_TIMEOUT_MS", 1000, 50, 30000, &timeout_ms) != 0 ||
        arc_env_uint("ARCADE_CATALOG_BREAKER_FAILURES", 5, 1, 1000, &failures) != 0 ||
        arc_env_uint("ARCADE_CATALOG_BREAKER_COOLDOWN_MS", 5000, 100, 600000, &cooldown_ms) != 0) {
        fprintf(stderr, "orders: bad ARCADE_CATALOG_TIMEOUT_MS, ARCADE_CATALOG_BREAKER_FAILURES "
                        "or ARCADE_CATALOG_BREAKER_COOLDOWN_MS\n");
        return EXIT_FAILURE;
    }
    if (arc_log_start(&o.cfg) != 0) {
        fprintf(stderr, "orders: cannot open log %s\n", o.cfg.log_file);
        return EXIT_FAILURE;
    }
    o.catalog_url = arc_env_str("ARCADE_CATALOG_URL", "");
    arc_breaker_init(&o.catalog_breaker, failures, cooldown_ms);
    o.db = arc_db_new(&o.cfg.db, orders_sql, orders_nsql);
    o.cache = arc_cache_new(o.cfg.memcached, o.cfg.cache_timeout_ms);
    o.users_http = arc_httpc_new(USERS_HTTP_TIMEOUT_MS);
    o.catalog_http = arc_httpc_new(timeout_ms);
    if (o.db == NULL || o.cache == NULL || o.users_http == NULL || o.catalog_http == NULL) {
        arc_log_error("orders: cannot start");
        return EXIT_FAILURE;
    }
    o.auth = (struct arc_auth){
        .admin_key = o.cfg.admin_key,
        .cache = o.cache,
        .resolve = NULL,
        .http = o.users_http,
        .users_url = o.cfg.users_url,
    };
    const struct arc_service svc = {
        .name = "orders",
        .routes = orders_routes,
        .nroutes = orders_nroutes,
        .ctx = &o,
    };
    arc_log_info("orders worker started");
    int rc = arc_server_run(&svc);
    arc_log_info("orders worker stopping");
    arc_buf_cleanup(&o.out);
    arc_buf_cleanup(&o.scratch);
    arc_buf_cleanup(&o.users_resp.body);
    arc_buf_cleanup(&o.catalog_resp.body);
    arc_httpc_free(o.catalog_http);
    arc_httpc_free(o.users_http);
    arc_cache_free(o.cache);
    arc_db_free(o.db);
    arc_log_close();
    return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
