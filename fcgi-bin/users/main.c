/*
 * main.c - the users responder: read the configuration, open the long-lived
 * handles, serve FastCGI requests on descriptor 0 until told to stop.
 */
#include "users.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arcade/log.h>
#include <arcade/server.h>

/* Without arguments: a FastCGI responder. With arguments: an operator's
 * command (admin.c) against the same database and caches. */
int
main(int argc, char **argv)
{
    static struct users u;
    if (arc_config_load(&u.cfg, "users") != 0)
        return EXIT_FAILURE;
    if (arc_env_uint("ARCADE_SESSION_TTL", 86400, 60, 366u * 86400u, &u.session_ttl_s) != 0 ||
        arc_env_uint("ARCADE_LOGIN_LOCK_SECONDS", 300, 1, 86400, &u.lock_s) != 0 ||
        arc_env_uint("ARCADE_PWHASH_CONCURRENCY", 2, 1, 64, &u.pwhash_slots) != 0) {
        fprintf(stderr, "users: bad ARCADE_SESSION_TTL, ARCADE_LOGIN_LOCK_SECONDS or "
                        "ARCADE_PWHASH_CONCURRENCY\n");
        return EXIT_FAILURE;
    }
    if (limits_config(&u.lim) != 0)
        return EXIT_FAILURE;
    if (arc_log_start(&u.cfg) != 0) {
        fprintf(stderr, "users: cannot open log %s\n", u.cfg.log_file);
        return EXIT_FAILURE;
    }
    u.pw = arc_password_new(u.cfg.run_dir, u.pwhash_slots);
    if (u.pw == NULL) {
        arc_log_error("users: cannot open the password-hashing slots in %s: %s", u.cfg.run_dir,
                      strerror(errno));
        return EXIT_FAILURE;
    }
    size_t nsql = 0;
    const char *const *sql = users_all_sql(&nsql);
    u.db = sql != NULL ? arc_db_new(&u.cfg.db, sql, nsql) : NULL;
    u.cache = arc_cache_new(u.cfg.memcached, u.cfg.cache_timeout_ms);
    if (u.db == NULL || u.cache == NULL) {
        arc_log_error("users: cannot start");
        return EXIT_FAILURE;
    }
    /* Sessions are resolved from this service's own database, never over HTTP. */
    u.auth = (struct arc_auth){
        .admin_key = u.cfg.admin_key,
        .cache = u.cache,
        .resolve = resolve_session,
        .resolve_ud = &u,
    };
    u.docs = arc_doccache_new(&u.cfg, "user", u.cache, load_user_doc, &u);
    if (argc > 1) {
        int status = admin_main(&u, argc, argv);
        arc_doccache_free(u.docs);
        arc_cache_free(u.cache);
        arc_db_free(u.db);
        arc_password_free(u.pw);
        arc_log_close();
        return status;
    }
    const struct arc_service svc = {
        .name = "users",
        .routes = users_routes,
        .nroutes = users_nroutes,
        .ctx = &u,
    };
    arc_log_info("users worker started");
    int rc = arc_server_run(&svc);
    arc_log_info("users worker stopping");
    arc_doccache_free(u.docs);
    arc_cache_free(u.cache);
    arc_db_free(u.db);
    arc_password_free(u.pw);
    arc_log_close();
    return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
