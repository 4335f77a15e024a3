/*
 * main.c - the search binary: without arguments a FastCGI responder serving
 * requests on descriptor 0 until told to stop; "consume" runs the event
 * consumer, "reindex" rebuilds the read model (both run by ./arcade).
 */
#include "search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <arcade/amqp.h>
#include <arcade/log.h>
#include <arcade/server.h>

static int
usage(void)
{
    fprintf(stderr, "usage: arcade-search              (a FastCGI responder on descriptor 0)\n"
                    "       arcade-search consume      (the catalog event consumer)\n"
                    "       arcade-search reindex      (rebuild from ARCADE_CATALOG_URL)\n");
    return 2;
}

int
main(int argc, char **argv)
{
    static struct search s;
    if (argc > 2 ||
        (argc == 2 && strcmp(argv[1], "consume") != 0 && strcmp(argv[1], "reindex") != 0))
        return usage();
    if (arc_config_load(&s.cfg, "search") != 0)
        return EXIT_FAILURE;
    if (arc_log_start(&s.cfg) != 0) {
        fprintf(stderr, "search: cannot open log %s\n", s.cfg.log_file);
        return EXIT_FAILURE;
    }
    if (argc == 2) {
        int rc = strcmp(argv[1], "consume") == 0 ? consume_main(&s.cfg) : reindex_main(&s.cfg);
        arc_log_close();
        return rc;
    }
    s.db = arc_db_new(&s.cfg.db, search_sql, search_nsql);
    /* Without memcached, answers are computed every time. */
    if (s.cfg.memcached[0] != '\0')
        s.cache = arc_cache_new(s.cfg.memcached, s.cfg.cache_timeout_ms);
    if (s.db == NULL || sodium_init() < 0) {
        arc_log_error("search: cannot start");
        return EXIT_FAILURE;
    }
    arc_buf_init(&s.out);
    const struct arc_service svc = {
        .name = "search",
        .routes = search_routes,
        .nroutes = search_nroutes,
        .ctx = &s,
    };
    arc_log_info("search worker started");
    int rc = arc_server_run(&svc);
    arc_log_info("search worker stopping");
    arc_amqp_free(s.amqp);
    arc_cache_free(s.cache);
    arc_buf_cleanup(&s.out);
    arc_db_free(s.db);
    arc_log_close();
    return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
