/*
 * config.h - configuration from environment variables, read once at start-up.
 * The complete list with defaults is documented in docs/configuration.md.
 */
#ifndef ARCADE_CONFIG_H
#define ARCADE_CONFIG_H

#include "arcade/common.h"

struct arc_db_config {
    const char *host;           /* ARCADE_DB_HOST, default 127.0.0.1 */
    unsigned port;              /* ARCADE_DB_PORT, default 3306 */
    const char *socket;         /* ARCADE_DB_SOCKET, default none (TCP) */
    const char *user;           /* ARCADE_DB_USER, default arcade_<service> */
    const char *password;       /* ARCADE_DB_PASSWORD, default "" */
    const char *name;           /* ARCADE_DB_NAME, default arcade_<service> */
    unsigned connect_timeout_s; /* ARCADE_DB_CONNECT_TIMEOUT, default 2 */
    unsigned rw_timeout_s;      /* ARCADE_DB_RW_TIMEOUT, default 10 */
};

struct arc_config {
    const char *service;
    struct arc_db_config db;
    const char *memcached;     /* ARCADE_MEMCACHED_SERVERS "h:p[,h:p…]", "" disables */
    unsigned cache_timeout_ms; /* ARCADE_CACHE_TIMEOUT_MS, default 50 */
    const char *admin_key;     /* ARCADE_ADMIN_KEY, "" means no operator key */
    const char *log_file;      /* ARCADE_LOG_FILE, default "" (stderr) */
    const char *log_level;     /* ARCADE_LOG_LEVEL debug|info|warn|error, default info */
    const char *run_dir;       /* ARCADE_RUN_DIR, default /tmp: sockets, shared memory files */
    bool local_cache;          /* ARCADE_LOCAL_CACHE 1|0, default 1 (see docs/caching.md) */
    const char *users_url;     /* ARCADE_USERS_URL, default "": the users service (internal) */
    const char *amqp_url;      /* ARCADE_AMQP_URL, default "": the broker(s), "" means none */
};

/* Fills cfg from the environment for service. Strings are borrowed from the
 * environment or static defaults. Returns 0, or -1 with a message on stderr when
 * a variable is malformed (e.g. a non-numeric port). */
int arc_config_load(struct arc_config *cfg, const char *service) ARC_NODISCARD;

/* Environment helpers: value or def when unset (empty counts as set). */
const char *arc_env_str(const char *name, const char *def);
/* Parses an unsigned decimal within [min,max]; -1 when malformed. */
int arc_env_uint(const char *name, unsigned def, unsigned min, unsigned max, unsigned *out);

#endif
