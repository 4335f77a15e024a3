/*
 * migrate.c - forward-only schema migrations and SQL files run as they are.
 *
 * Migration files are trusted input from the repository, so this is the one
 * place that connects with CLIENT_MULTI_STATEMENTS: a file is sent as one
 * query and every result is drained, checking for an error after each
 * statement. Two runs against the same schema are serialised with a named
 * lock. MariaDB commits DDL implicitly, so a file that fails half-way leaves
 * its first statements applied and is not recorded: fix the file (or the
 * schema) and run again. One file is sent as one packet, so it must be smaller
 * than the server's max_allowed_packet (16 MiB by default).
 */
#include "arcade/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FILE_MAX (64u * 1024 * 1024)
#define LOCK_WAIT_S 30 /* keep in step with LOCK_SQL */
/* Long migrations (an ALTER TABLE on a big table) must not hit the read timeout
 * while the server works: the client would give up and the server carry on. */
#define MIGRATE_RW_TIMEOUT_S 3600

struct migration {
    unsigned version;
    char *name; /* file name */
};

static MYSQL *
connect_multi(const struct arc_db_config *cfg)
{
    MYSQL *m = mysql_init(NULL);
    if (m == NULL) {
        fprintf(stderr, "migrate: mysql_init failed\n");
        return NULL;
    }
    unsigned ct = cfg->connect_timeout_s ? cfg->connect_timeout_s : 2;
    unsigned rw = MIGRATE_RW_TIMEOUT_S;
    my_bool off = 0;
    unsigned zero = 0;
    if (mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct) ||
        mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw) ||
        mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw) ||
        mysql_options(m, MYSQL_OPT_RECONNECT, &off) ||
        mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &zero) ||
        mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4")) {
        fprintf(stderr, "migrate: mysql_options failed\n");
        mysql_close(m);
        return NULL;
    }
    const char *sock = (cfg->socket && cfg->socket[0]) ? cfg->socket : NULL;
    if (mysql_real_connect(m, sock ? NULL : cfg->host, cfg->user, cfg->password, cfg->name,
                           sock ? 0 : cfg->port, sock, CLIENT_MULTI_STATEMENTS) == NULL) {
        fprintf(stderr, "migrate: cannot connect to %s as %s, database %s: %s\n",
                sock ? sock : (cfg->host ? cfg->host : "localhost"), cfg->user ? cfg->user : "",
                cfg->name ? cfg->name : "", mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    static const char setup[] =
        "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,"
        "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'";
    if (mysql_real_query(m, setup, sizeof(setup) - 1) != 0) {
        fprintf(stderr, "migrate: session setup failed: %s\n", mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

/* Runs text (one or more statements) and drains every result. what names it
 * in messages. Returns 0 or -1 (message on stderr). */
static int
run_sql(MYSQL *m, const char *what, const char *text, size_t len)
{
    unsigned n = 1;
    if (mysql_real_query(m, text, len) != 0) {
        if (mysql_errno(m) == ER_EMPTY_QUERY)
            return 0; /* nothing but comments */
        goto fail;
    }
    for (;;) {
        MYSQL_RES *res = mysql_store_result(m);
        if (res != NULL)
            mysql_free_result(res);
        else if (mysql_field_count(m) != 0)
            goto fail;
        int status = mysql_next_result(m);
        if (status < 0)
            return 0; /* no more results */
        n++;
        if (status > 0)
            goto fail;
    }
fail:
    fprintf(stderr, "migrate: %s: statement %u failed: error %u (%s): %s\n", what, n,
            mysql_errno(m), mysql_sqlstate(m), mysql_error(m));
    return -1;
}

/* Reads a whole file. Returns a NUL-terminated buffer (caller frees) or NULL. */
static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "migrate: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fprintf(stderr, "migrate: %s is not a regular file\n", path);
        goto out;
    }
    if ((uint64_t)sb.st_size > FILE_MAX) {
        fprintf(stderr, "migrate: %s is larger than %u bytes\n", path, FILE_MAX);
        goto out;
    }
    size_t size = (size_t)sb.st_size;
    buf = arc_xmalloc(size + 1);
    if (fread(buf, 1, size, f) != size || ferror(f)) {
        fprintf(stderr, "migrate: cannot read %s\n", path);
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[size] = '\0';
    *len = size;
out:
    fclose(f);
    return buf;
}

static void
sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)data, len);
    sodium_bin2hex(out, 65, h, sizeof(h));
}

/* ^[0-9]{4}_[a-z0-9_]+\.sql$ */
static bool
is_migration_name(const char *s, unsigned *version)
{
    size_t n = strlen(s);
    if (n < 10 || strcmp(s + n - 4, ".sql") != 0 || s[4] != '_')
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < 4; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    for (size_t i = 5; i < n - 4; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    *version = v;
    return true;
}

static int
by_version(const void *a, const void *b)
{
    const struct migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/* Lists the migration files of dir sorted by version. Returns the count or -1. */
static long
list_migrations(const char *dir, struct migration **out)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "migrate: cannot open directory %s: %s\n", dir, strerror(errno));
        return -1;
    }
    struct migration *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        unsigned version;
        if (!is_migration_name(e->d_name, &version)) {
            size_t l = strlen(e->d_name);
            if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && l > 4 &&
                strcmp(e->d_name + l - 4, ".sql") == 0)
                fprintf(stderr,
                        "migrate: warning: ignoring %s (migrations are named "
                        "NNNN_lower_case_name.sql)\n",
                        e->d_name);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            v = arc_xrealloc(v, cap * sizeof(*v));
        }
        v[n].version = version;
        v[n].name = arc_xstrdup(e->d_name);
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(v, n, sizeof(*v), by_version);
    for (size_t i = 1; i < n; i++) {
        if (v[i].version == v[i - 1].version) {
            fprintf(stderr, "migrate: %s and %s have the same version\n", v[i - 1].name, v[i].name);
            for (size_t j = 0; j < n; j++)
                free(v[j].name);
            free(v);
            return -1;
        }
    }
    *out = v;
    return (long)n;
}

/* Runs a query returning one row with one column; copies the value (or "" for
 * NULL) into out. Returns 1 with a row, 0 without, -1 on error. */
static int
query_one(MYSQL *m, const char *sql, char *out, size_t outlen)
{
    if (mysql_query(m, sql) != 0) {
        fprintf(stderr, "migrate: %s: %s\n", sql, mysql_error(m));
        return -1;
    }
    MYSQL_RES *res = mysql_store_result(m);
    if (res == NULL) {
        fprintf(stderr, "migrate: %s: %s\n", sql, mysql_error(m));
        return -1;
    }
    MYSQL_ROW row = mysql_fetch_row(res);
    int rc = row != NULL;
    if (row != NULL)
        snprintf(out, outlen, "%s", row[0] ? row[0] : "");
    mysql_free_result(res);
    return rc;
}

/* Looks up the checksum recorded for version. 1 found, 0 not applied, -1 error. */
static int
applied_checksum(MYSQL_STMT *st, unsigned version, char checksum[65], char *name, size_t namelen)
{
    MYSQL_BIND p = {0};
    unsigned long long v = version;
    p.buffer_type = MYSQL_TYPE_LONGLONG;
    p.buffer = &v;
    p.is_unsigned = 1;

    MYSQL_BIND r[2];
    memset(r, 0, sizeof(r));
    unsigned long lens[2] = {0, 0};
    r[0].buffer_type = MYSQL_TYPE_STRING;
    r[0].buffer = checksum;
    r[0].buffer_length = 65;
    r[0].length = &lens[0];
    r[1].buffer_type = MYSQL_TYPE_STRING;
    r[1].buffer = name;
    r[1].buffer_length = namelen;
    r[1].length = &lens[1];

    if (mysql_stmt_bind_param(st, &p) || mysql_stmt_execute(st) || mysql_stmt_bind_result(st, r) ||
        mysql_stmt_store_result(st))
        goto fail;
    int f = mysql_stmt_fetch(st);
    mysql_stmt_free_result(st);
    if (f == MYSQL_NO_DATA)
        return 0;
    if (f == 1)
        goto fail;
    checksum[lens[0] < 64 ? lens[0] : 64] = '\0';
    name[lens[1] < namelen ? lens[1] : namelen - 1] = '\0';
    return 1;
fail:
    fprintf(stderr, "migrate: reading schema_migrations: %s\n", mysql_stmt_error(st));
    return -1;
}

static int
record(MYSQL_STMT *st, unsigned version, const char *name, const char *checksum)
{
    MYSQL_BIND p[3];
    memset(p, 0, sizeof(p));
    unsigned long long v = version;
    unsigned long nlen = strlen(name), clen = strlen(checksum);
    p[0].buffer_type = MYSQL_TYPE_LONGLONG;
    p[0].buffer = &v;
    p[0].is_unsigned = 1;
    p[1].buffer_type = MYSQL_TYPE_STRING;
    p[1].buffer = (void *)name;
    p[1].buffer_length = nlen;
    p[1].length = &nlen;
    p[2].buffer_type = MYSQL_TYPE_STRING;
    p[2].buffer = (void *)checksum;
    p[2].buffer_length = clen;
    p[2].length = &clen;
    if (mysql_stmt_bind_param(st, p) || mysql_stmt_execute(st)) {
        fprintf(stderr, "migrate: recording %s: %s\n", name, mysql_stmt_error(st));
        return -1;
    }
    return 0;
}

static MYSQL_STMT *
prepare(MYSQL *m, const char *sql)
{
    MYSQL_STMT *st = mysql_stmt_init(m);
    if (st == NULL || mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
        fprintf(stderr, "migrate: preparing \"%s\": %s\n", sql,
                st ? mysql_stmt_error(st) : mysql_error(m));
        if (st != NULL)
            mysql_stmt_close(st);
        return NULL;
    }
    return st;
}

static const char LOCK_SQL[] =
    "SELECT GET_LOCK(LEFT(CONCAT('arcade_migrate:', DATABASE()), 64), 30)";

static const char CREATE_TABLE[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                   " version INT UNSIGNED NOT NULL PRIMARY KEY,"
                                   " name VARCHAR(255) NOT NULL,"
                                   " checksum CHAR(64) NOT NULL,"
                                   " applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP"
                                   ") ENGINE=InnoDB";

int
arc_migrate_run(const struct arc_db_config *cfg, const char *dir)
{
    int rc = -1;
    struct migration *files = NULL;
    long nfiles = 0;
    MYSQL *m = NULL;
    MYSQL_STMT *sel = NULL, *ins = NULL;
    char path[4096], got[32];
    unsigned applied = 0;

    if (sodium_init() < 0) {
        fprintf(stderr, "migrate: libsodium failed to initialise\n");
        return -1;
    }
    if ((nfiles = list_migrations(dir, &files)) < 0)
        return -1;
    if ((m = connect_multi(cfg)) == NULL)
        goto out;

    /* The lock is per schema (named locks are server-wide) and is released
     * when the connection closes. */
    int q = query_one(m, LOCK_SQL, got, sizeof(got));
    if (q < 0)
        goto out;
    if (q == 0 || strcmp(got, "1") != 0) {
        fprintf(stderr, "migrate: another migration holds the lock (waited %d s)\n", LOCK_WAIT_S);
        goto out;
    }
    if (run_sql(m, "creating schema_migrations", CREATE_TABLE, sizeof(CREATE_TABLE) - 1) != 0)
        goto out;
    sel = prepare(m, "SELECT checksum, name FROM schema_migrations WHERE version = ?");
    ins = prepare(m, "INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)");
    if (sel == NULL || ins == NULL)
        goto out;

    for (long i = 0; i < nfiles; i++) {
        struct migration *f = &files[i];
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, f->name) >= sizeof(path)) {
            fprintf(stderr, "migrate: path too long: %s/%s\n", dir, f->name);
            goto out;
        }
        size_t len = 0;
        char *text = read_file(path, &len);
        if (text == NULL)
            goto out;
        char sum[65], old_sum[65], old_name[256];
        sha256_hex(text, len, sum);
        int a = applied_checksum(sel, f->version, old_sum, old_name, sizeof(old_name));
        if (a == 1) {
            free(text);
            if (strcmp(sum, old_sum) != 0) {
                bool renamed = strcmp(f->name, old_name) != 0;
                fprintf(stderr,
                        "migrate: %s was changed after it was applied%s%s%s: migrations are "
                        "forward-only, add a new file instead\n",
                        f->name, renamed ? " (as " : "", renamed ? old_name : "",
                        renamed ? ")" : "");
                goto out;
            }
            continue;
        }
        if (a < 0) {
            free(text);
            goto out;
        }
        int r = run_sql(m, f->name, text, len);
        free(text);
        if (r != 0 || record(ins, f->version, f->name, sum) != 0)
            goto out;
        printf("applied %s\n", f->name);
        fflush(stdout);
        applied++;
    }
    if (applied == 0)
        printf("up to date\n");
    rc = 0;
out:
    if (sel != NULL)
        mysql_stmt_close(sel);
    if (ins != NULL)
        mysql_stmt_close(ins);
    if (m != NULL)
        mysql_close(m);
    for (long i = 0; i < nfiles; i++)
        free(files[i].name);
    free(files);
    return rc;
}

int
arc_migrate_run_file(const struct arc_db_config *cfg, const char *path)
{
    size_t len = 0;
    char *text = read_file(path, &len);
    if (text == NULL)
        return -1;
    int rc = -1;
    MYSQL *m = connect_multi(cfg);
    if (m != NULL) {
        rc = run_sql(m, path, text, len);
        mysql_close(m);
    }
    free(text);
    return rc;
}
