/*
 * main.c - the catalog responder: read the configuration, open the long-lived
 * handles, serve FastCGI requests on descriptor 0 until told to stop.
 */
#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arcade/relay.h>
#include <arcade/httpc.h>
#include <arcade/log.h>
#include <arcade/server.h>

/* Without arguments: a FastCGI responder. `arcade-catalog relay`: the
 * service's outbox relay (relay.h); `arcade-catalog consume`: the stock
 * saga's consumer of order events (saga.c); both supervised like the pools. */
int
main(int argc, char **argv)
{
    static struct catalog c;
    if (arc_config_load(&c.cfg, "catalog") != 0)
        return EXIT_FAILURE;
    if (arc_log_start(&c.cfg) != 0) {
        fprintf(stderr, "catalog: cannot open log %s\n", c.cfg.log_file);
        return EXIT_FAILURE;
    }
    if (argc > 1) {
        int status = EXIT_FAILURE;
        if (argc == 2 && strcmp(argv[1], "relay") == 0)
            status = arc_relay_main(&c.cfg);
        else if (argc == 2 && strcmp(argv[1], "consume") == 0)
            status = saga_consume_main(&c.cfg);
        else
            fprintf(stderr, "usage: arcade-catalog [relay|consume]\n");
        arc_log_close();
        return status;
    }
    c.db = arc_db_new(&c.cfg.db, catalog_sql, catalog_nsql);
    c.cache = arc_cache_new(c.cfg.memcached, c.cfg.cache_timeout_ms);
    c.http = arc_httpc_new(CATALOG_HTTP_TIMEOUT_MS);
    c.auth = (struct arc_auth){
        .admin_key = c.cfg.admin_key,
        .cache = c.cache,
        .resolve = NULL,
        .http = c.http,
        .users_url = c.cfg.users_url,
    };
    c.docs = arc_doccache_new(&c.cfg, "product", c.cache, load_product_doc, &c);
    if (c.db == NULL || c.cache == NULL || c.http == NULL) {
        arc_log_error("catalog: cannot start");
        return EXIT_FAILURE;
    }
    const struct arc_service svc = {
        .name = "catalog",
        .routes = catalog_routes,
        .nroutes = catalog_nroutes,
        .ctx = &c,
    };
    arc_log_info("catalog worker started");
    int rc = arc_server_run(&svc);
    arc_log_info("catalog worker stopping");
    arc_doccache_free(c.docs);
    arc_buf_cleanup(&c.doc);
    arc_buf_cleanup(&c.event_data);
    arc_buf_cleanup(&c.envelope);
    arc_amqp_free(c.amqp);
    arc_httpc_free(c.http);
    arc_cache_free(c.cache);
    arc_db_free(c.db);
    arc_log_close();
    return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
