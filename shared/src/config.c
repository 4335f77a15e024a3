/*
 * config.c - configuration from environment variables (docs/configuration.md).
 */
#include "arcade/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
arc_env_str(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v != NULL ? v : def;
}

int
arc_env_uint(const char *name, unsigned def, unsigned min, unsigned max, unsigned *out)
{
    const char *v = getenv(name);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    if (*v == '\0')
        return -1;
    unsigned long long n = 0;
    for (const char *p = v; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        n = n * 10 + (unsigned)(*p - '0');
        if (n > max)
            return -1;
    }
    if (n < min)
        return -1;
    *out = (unsigned)n;
    return 0;
}

static int
load_uint(const char *name, unsigned def, unsigned min, unsigned max, unsigned *out)
{
    if (arc_env_uint(name, def, min, max, out) == 0)
        return 0;
    fprintf(stderr, "arcade: %s must be an integer between %u and %u (got \"%s\")\n", name, min,
            max, getenv(name));
    return -1;
}

static int
load_choice(const char *name, const char *def, const char *const *choices, size_t n,
            const char **out)
{
    const char *v = arc_env_str(name, def);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v, choices[i]) == 0) {
            *out = choices[i];
            return 0;
        }
    }
    fprintf(stderr, "arcade: %s has an unknown value \"%s\"\n", name, v);
    return -1;
}

static bool
service_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 48)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

int
arc_config_load(struct arc_config *cfg, const char *service)
{
    /* "arcade_<service>": the default DB user and schema. Process-wide, like
     * the configuration itself. */
    static char default_db[64];
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    static const char *const bools[] = {"1", "0"};
    int rc = 0;

    memset(cfg, 0, sizeof *cfg);
    if (service == NULL || !service_name_ok(service)) {
        fprintf(stderr, "arcade: bad service name\n");
        return -1;
    }
    cfg->service = service;
    snprintf(default_db, sizeof default_db, "arcade_%s", service);

    cfg->db.host = arc_env_str("ARCADE_DB_HOST", "127.0.0.1");
    rc |= load_uint("ARCADE_DB_PORT", 3306, 1, 65535, &cfg->db.port);
    cfg->db.socket = arc_env_str("ARCADE_DB_SOCKET", NULL);
    if (cfg->db.socket != NULL && *cfg->db.socket == '\0')
        cfg->db.socket = NULL;
    cfg->db.user = arc_env_str("ARCADE_DB_USER", default_db);
    cfg->db.password = arc_env_str("ARCADE_DB_PASSWORD", "");
    cfg->db.name = arc_env_str("ARCADE_DB_NAME", default_db);
    rc |= load_uint("ARCADE_DB_CONNECT_TIMEOUT", 2, 1, 3600, &cfg->db.connect_timeout_s);
    rc |= load_uint("ARCADE_DB_RW_TIMEOUT", 10, 1, 3600, &cfg->db.rw_timeout_s);

    cfg->memcached = arc_env_str("ARCADE_MEMCACHED_SERVERS", "127.0.0.1:11211");
    rc |= load_uint("ARCADE_CACHE_TIMEOUT_MS", 50, 1, 60000, &cfg->cache_timeout_ms);
    cfg->admin_key = arc_env_str("ARCADE_ADMIN_KEY", "");
    cfg->log_file = arc_env_str("ARCADE_LOG_FILE", "");
    rc |= load_choice("ARCADE_LOG_LEVEL", "info", levels, ARC_ARRAY_LEN(levels), &cfg->log_level);
    cfg->run_dir = arc_env_str("ARCADE_RUN_DIR", "/tmp");
    if (*cfg->run_dir == '\0')
        cfg->run_dir = "/tmp";
    const char *local = NULL;
    rc |= load_choice("ARCADE_LOCAL_CACHE", "1", bools, ARC_ARRAY_LEN(bools), &local);
    cfg->local_cache = local != NULL && strcmp(local, "1") == 0;
    cfg->users_url = arc_env_str("ARCADE_USERS_URL", "");
    cfg->amqp_url = arc_env_str("ARCADE_AMQP_URL", "");
    return rc ? -1 : 0;
}
