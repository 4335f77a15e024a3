/*
 * db.c - MariaDB access: one connection per worker, prepared statements only.
 *
 * The connection is opened lazily and replaced (never repaired with the
 * connector's auto-reconnect, which is off): when a call notices that the
 * connection is gone it closes it together with every prepared statement,
 * connects again and prepares the statements lazily on their next use. A
 * statement is run a second time only when that cannot apply it twice: outside
 * a transaction, and either it reads (arc_db_query) or the failure happened
 * before the server could have received it (prepare, or a failed send). Inside
 * a transaction the connection is only marked broken: the transaction is lost,
 * the caller gets ARC_UNAVAILABLE, and the next begin/ensure reconnects.
 */
#include "arcade/db.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arcade/log.h"

#define IDLE_PING_NS (1000ull * 1000 * 1000) /* ping a connection idle for over 1 s */
#define STR_MIN_BUF 64                       /* room for any number or date converted to text */

static const char SESSION_SETUP[] =
    "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,"
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'";

struct col_buf {
    char *p;
    size_t cap;
};

struct arc_db {
    /* Connection settings; the strings are our own copies. */
    char *host, *socket, *user, *password, *name;
    unsigned port, connect_timeout_s, rw_timeout_s;

    const char *const *sql; /* borrowed */
    size_t nsql;
    MYSQL_STMT **stmts; /* nsql entries, NULL until prepared on this connection */

    MYSQL *conn;         /* NULL when not connected */
    bool broken;         /* the connection is known to be gone: replace it before use */
    bool in_tx;          /* between a successful begin and commit/rollback */
    bool tx_doomed;      /* a deadlock or lost connection ended the open transaction */
    bool busy;           /* delivering rows: a row callback must not use the handle */
    uint64_t last_ok_ns; /* last successful exchange with the server */

    unsigned last_errno;
    char last_error[MYSQL_ERRMSG_SIZE + 1];

    /* Scratch space reused across calls, grown on demand. */
    MYSQL_BIND *pbind;
    unsigned long *plen;
    size_t pcap;
    MYSQL_BIND *rbind;
    unsigned long *rlen;
    my_bool *rnull, *rtrunc;
    long long *rint;
    struct col_buf *rbuf;
    size_t rcap;
};

static char *
dup_or_null(const char *s)
{
    return s ? arc_xstrdup(s) : NULL;
}

arc_db *
arc_db_new(const struct arc_db_config *cfg, const char *const *sql, size_t nsql)
{
    if (cfg == NULL || (nsql > 0 && sql == NULL))
        return NULL;
    for (size_t i = 0; i < nsql; i++)
        if (sql[i] == NULL || sql[i][0] == '\0')
            return NULL;

    arc_db *db = arc_xcalloc(1, sizeof(*db));
    db->host = dup_or_null(cfg->host);
    db->socket = (cfg->socket && cfg->socket[0]) ? arc_xstrdup(cfg->socket) : NULL;
    db->user = dup_or_null(cfg->user);
    db->password = dup_or_null(cfg->password);
    db->name = dup_or_null(cfg->name);
    db->port = cfg->port;
    /* "Timeouts are always set": 0 would mean none, so fall back to the defaults. */
    db->connect_timeout_s = cfg->connect_timeout_s ? cfg->connect_timeout_s : 2;
    db->rw_timeout_s = cfg->rw_timeout_s ? cfg->rw_timeout_s : 10;
    db->sql = sql;
    db->nsql = nsql;
    db->stmts = arc_xcalloc(nsql ? nsql : 1, sizeof(*db->stmts));
    return db;
}

/* Closes the connection and every statement prepared on it. mysql_close first:
 * it detaches the statements, so closing them afterwards sends nothing to a
 * server that may be gone. */
static void
disconnect(arc_db *db)
{
    if (db->conn != NULL) {
        mysql_close(db->conn);
        db->conn = NULL;
    }
    for (size_t i = 0; i < db->nsql; i++) {
        if (db->stmts[i] != NULL) {
            mysql_stmt_close(db->stmts[i]);
            db->stmts[i] = NULL;
        }
    }
    db->broken = false;
}

void
arc_db_free(arc_db *db)
{
    if (db == NULL)
        return;
    disconnect(db);
    if (db->password != NULL) {
        explicit_bzero(db->password, strlen(db->password));
        free(db->password);
    }
    free(db->host);
    free(db->socket);
    free(db->user);
    free(db->name);
    free(db->stmts);
    free(db->pbind);
    free(db->plen);
    free(db->rbind);
    free(db->rlen);
    free(db->rnull);
    free(db->rtrunc);
    free(db->rint);
    for (size_t i = 0; i < db->rcap; i++)
        free(db->rbuf[i].p);
    free(db->rbuf);
    free(db);
}

/* --- Errors ------------------------------------------------------------------ */

/* Errors after which the connection cannot be used any more. */
static bool
is_conn_lost(unsigned e)
{
    switch (e) {
    case CR_CONNECTION_ERROR:     /* 2002 */
    case CR_CONN_HOST_ERROR:      /* 2003 */
    case CR_SERVER_GONE_ERROR:    /* 2006 */
    case CR_SERVER_LOST:          /* 2013 */
    case CR_SERVER_LOST_EXTENDED: /* 2055 */
    case CR_STMT_CLOSED:          /* 2056: the statement's connection was closed */
    case CR_ERR_NET_READ:         /* 5013 */
    case CR_ERR_NET_WRITE:        /* 5014 */
    case ER_SERVER_SHUTDOWN:      /* 1053 */
    case ER_CONNECTION_KILLED:    /* 1927 */
    case 4031:                    /* ER_CLIENT_INTERACTION_TIMEOUT */
        return true;
    default:
        return false;
    }
}

/* Errors that show the request never reached the server, so that running the
 * statement again cannot apply it twice. */
static bool
is_not_sent(unsigned e)
{
    return e == CR_SERVER_GONE_ERROR || e == CR_STMT_CLOSED || e == CR_CONNECTION_ERROR ||
           e == CR_CONN_HOST_ERROR || e == CR_ERR_NET_WRITE;
}

static enum arc_err
map_errno(unsigned e)
{
    switch (e) {
    case ER_DUP_ENTRY:               /* 1062 */
    case ER_DUP_KEY:                 /* 1022 */
    case ER_DUP_ENTRY_WITH_KEY_NAME: /* 1586 */
    case ER_ROW_IS_REFERENCED_2:     /* 1451 */
    case ER_NO_REFERENCED_ROW_2:     /* 1452 */
        return ARC_CONFLICT;
    case ER_LOCK_DEADLOCK:     /* 1213 */
    case ER_LOCK_WAIT_TIMEOUT: /* 1205 */
        return ARC_RETRY;
    default:
        return is_conn_lost(e) ? ARC_UNAVAILABLE : ARC_INTERNAL;
    }
}

/* Server messages of some errors quote the offending value ("Duplicate entry
 * 'alice@example.com' for key 'email'"), which may be a secret. For those, the
 * logged text keeps what precedes the first quote and what follows the last
 * " for " (the key or column name). arc_db_last_error keeps the full text. */
static void
redact(unsigned e, const char *msg, char *out, size_t outlen)
{
    switch (e) {
    case ER_DUP_ENTRY:
    case ER_DUP_ENTRY_WITH_KEY_NAME:
    case ER_TRUNCATED_WRONG_VALUE:           /* 1292 */
    case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: /* 1366 */
    case ER_WARN_DATA_OUT_OF_RANGE:          /* 1264 */
    case WARN_DATA_TRUNCATED:                /* 1265 */
    case ER_WRONG_VALUE_FOR_TYPE:            /* 1411 */
    case ER_INVALID_CHARACTER_STRING:        /* 1300 */
    case ER_CANNOT_CONVERT_CHARACTER:        /* 1977 */
        break;
    default:
        snprintf(out, outlen, "%s", msg);
        return;
    }
    const char *q = strchr(msg, '\'');
    if (q == NULL) {
        snprintf(out, outlen, "%s", msg);
        return;
    }
    const char *tail = NULL;
    for (const char *p = q; (p = strstr(p, " for ")) != NULL; p++)
        tail = p;
    snprintf(out, outlen, "%.*s'...'%s", (int)(q - msg), msg, tail ? tail : "");
}

static void
clear_err(arc_db *db)
{
    db->last_errno = 0;
    db->last_error[0] = '\0';
}

static void
set_err(arc_db *db, unsigned e, const char *msg)
{
    db->last_errno = e;
    snprintf(db->last_error, sizeof(db->last_error), "%s", msg ? msg : "");
}

/* Records and logs a failure reported by the server or the connector, marks
 * the connection broken when it is gone, and maps it. CONFLICT is an expected
 * outcome (debug); a lost connection or a deadlock is a warning (the caller
 * recovers); the rest are errors. Parameter values are never logged. */
static enum arc_err
fail(arc_db *db, unsigned e, const char *sqlstate, const char *msg, long stmt, const char *what)
{
    char text[MYSQL_ERRMSG_SIZE + 64];
    enum arc_err rc = map_errno(e);

    set_err(db, e, msg);
    if (is_conn_lost(e))
        db->broken = true;
    /* A deadlock or a lost connection ends the open transaction. Inside a
     * transaction, arc_db_tx says in a line of its own what it does about a
     * failure it may retry, so the statement's line is only debug. */
    if (db->in_tx && (e == ER_LOCK_DEADLOCK || is_conn_lost(e)))
        db->tx_doomed = true;
    bool tx_reports = db->in_tx && (rc == ARC_RETRY || rc == ARC_UNAVAILABLE);
    redact(e, db->last_error, text, sizeof(text));
    enum arc_log_level lvl = rc == ARC_CONFLICT || tx_reports           ? ARC_LOG_DEBUG
                             : rc == ARC_UNAVAILABLE || rc == ARC_RETRY ? ARC_LOG_WARN
                                                                        : ARC_LOG_ERROR;
    if (stmt >= 0)
        arc_log(lvl, "db: statement %ld: %s failed: errno %u, sqlstate %s: %s", stmt, what, e,
                sqlstate ? sqlstate : "", text);
    else
        arc_log(lvl, "db: %s failed: errno %u, sqlstate %s: %s", what, e, sqlstate ? sqlstate : "",
                text);
    return rc;
}

static enum arc_err
fail_stmt(arc_db *db, MYSQL_STMT *st, unsigned idx, const char *what)
{
    return fail(db, mysql_stmt_errno(st), mysql_stmt_sqlstate(st), mysql_stmt_error(st), idx, what);
}

static enum arc_err
fail_conn(arc_db *db, const char *what)
{
    return fail(db, mysql_errno(db->conn), mysql_sqlstate(db->conn), mysql_error(db->conn), -1,
                what);
}

/* A programmer's error: logged, ARC_INTERNAL. */
static enum arc_err
misuse(arc_db *db, long stmt, const char *msg)
{
    set_err(db, 0, msg);
    if (stmt >= 0)
        arc_log_error("db: statement %ld: %s", stmt, msg);
    else
        arc_log_error("db: %s", msg);
    return ARC_INTERNAL;
}

/* --- Connection -------------------------------------------------------------- */

static int
set_options(MYSQL *m, unsigned connect_s, unsigned rw_s)
{
    my_bool off = 0;
    unsigned zero = 0;
    return mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s) ||
                   mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw_s) ||
                   mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw_s) ||
                   mysql_options(m, MYSQL_OPT_RECONNECT, &off) ||
                   mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &zero) ||
                   mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4")
               ? -1
               : 0;
}

/* Opens a new connection and sets up the session. On failure the connection
 * stays closed and the error is recorded. */
static enum arc_err
connect_db(arc_db *db)
{
    disconnect(db);
    MYSQL *m = mysql_init(NULL);
    if (m == NULL)
        return misuse(db, -1, "mysql_init failed (out of memory)");
    if (set_options(m, db->connect_timeout_s, db->rw_timeout_s) != 0) {
        mysql_close(m);
        return misuse(db, -1, "mysql_options failed");
    }
    db->conn = m;
    /* A socket, when configured, wins over host and port. No multi-statements. */
    if (mysql_real_connect(m, db->socket ? NULL : db->host, db->user, db->password, db->name,
                           db->socket ? 0 : db->port, db->socket, 0) == NULL) {
        fail(db, mysql_errno(m), mysql_sqlstate(m), mysql_error(m), -1, "connect");
        disconnect(db);
        return ARC_UNAVAILABLE;
    }
    if (mysql_real_query(m, SESSION_SETUP, sizeof(SESSION_SETUP) - 1) != 0) {
        fail_conn(db, "session setup");
        disconnect(db);
        return ARC_UNAVAILABLE;
    }
    db->broken = false;
    db->last_ok_ns = arc_now_ns();
    return ARC_OK;
}

/* Makes sure there is a usable connection. Outside a transaction a missing or
 * broken connection is replaced; a connection idle for over a second (or any,
 * with force) is pinged first. Inside a transaction nothing is replaced: the
 * transaction is gone with its connection. */
static enum arc_err
ensure(arc_db *db, bool force_ping)
{
    if (db->conn != NULL && !db->broken) {
        if (!force_ping && arc_now_ns() - db->last_ok_ns <= IDLE_PING_NS)
            return ARC_OK;
        if (mysql_ping(db->conn) == 0) {
            db->last_ok_ns = arc_now_ns();
            return ARC_OK;
        }
        fail_conn(db, "ping");
        db->broken = true; /* whatever went wrong, do not trust this connection */
    }
    if (db->in_tx)
        return ARC_UNAVAILABLE;
    return connect_db(db);
}

enum arc_err
arc_db_ensure(arc_db *db)
{
    if (db->busy)
        return ARC_OK; /* called from a row callback: the connection is in use */
    clear_err(db);
    return ensure(db, false);
}

enum arc_err
arc_db_ping(arc_db *db)
{
    if (db->busy)
        return ARC_OK;
    clear_err(db);
    return ensure(db, true);
}

/* --- Statements -------------------------------------------------------------- */

static void
grow_params(arc_db *db, size_t n)
{
    if (n <= db->pcap)
        return;
    db->pbind = arc_xrealloc(db->pbind, n * sizeof(*db->pbind));
    db->plen = arc_xrealloc(db->plen, n * sizeof(*db->plen));
    db->pcap = n;
}

static void
grow_cols(arc_db *db, size_t n)
{
    if (n <= db->rcap)
        return;
    db->rbind = arc_xrealloc(db->rbind, n * sizeof(*db->rbind));
    db->rlen = arc_xrealloc(db->rlen, n * sizeof(*db->rlen));
    db->rnull = arc_xrealloc(db->rnull, n * sizeof(*db->rnull));
    db->rtrunc = arc_xrealloc(db->rtrunc, n * sizeof(*db->rtrunc));
    db->rint = arc_xrealloc(db->rint, n * sizeof(*db->rint));
    db->rbuf = arc_xrealloc(db->rbuf, n * sizeof(*db->rbuf));
    memset(db->rbuf + db->rcap, 0, (n - db->rcap) * sizeof(*db->rbuf));
    db->rcap = n;
}

static void
reserve_col(struct col_buf *b, size_t need)
{
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : STR_MIN_BUF + 1;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    free(b->p);
    b->p = arc_xmalloc(cap);
    b->cap = cap;
}

/* Prepares statement idx on the current connection if it is not yet. On
 * failure *not_sent tells whether the statement could not have run. */
static enum arc_err
prepare(arc_db *db, unsigned idx, MYSQL_STMT **out)
{
    if (db->stmts[idx] != NULL) {
        *out = db->stmts[idx];
        return ARC_OK;
    }
    MYSQL_STMT *st = mysql_stmt_init(db->conn);
    if (st == NULL)
        return misuse(db, idx, "mysql_stmt_init failed (out of memory)");
    const char *sql = db->sql[idx];
    if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
        enum arc_err rc = fail_stmt(db, st, idx, "prepare");
        mysql_stmt_close(st);
        return rc;
    }
    my_bool on = 1;
    if (mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &on) != 0) {
        mysql_stmt_close(st);
        return misuse(db, idx, "cannot set STMT_ATTR_UPDATE_MAX_LENGTH");
    }
    db->stmts[idx] = st;
    *out = st;
    return ARC_OK;
}

static enum arc_err
bind_params(arc_db *db, MYSQL_STMT *st, unsigned idx, const struct arc_db_param *params,
            size_t nparams)
{
    if (mysql_stmt_param_count(st) != nparams) {
        char msg[128];
        snprintf(msg, sizeof(msg), "expects %lu parameters, %zu given", mysql_stmt_param_count(st),
                 nparams);
        return misuse(db, idx, msg);
    }
    if (nparams == 0)
        return ARC_OK;
    grow_params(db, nparams);
    MYSQL_BIND *b = db->pbind;
    memset(b, 0, nparams * sizeof(*b));
    for (size_t i = 0; i < nparams; i++) {
        const struct arc_db_param *p = &params[i];
        switch (p->type) {
        case ARC_DB_NULL:
            b[i].buffer_type = MYSQL_TYPE_NULL;
            break;
        case ARC_DB_INT:
            b[i].buffer_type = MYSQL_TYPE_LONGLONG;
            b[i].buffer = (void *)&p->i; /* only read by the connector */
            break;
        case ARC_DB_STR:
            b[i].buffer_type = MYSQL_TYPE_STRING;
            b[i].buffer = (void *)(p->s ? p->s : "");
            b[i].buffer_length = p->len;
            db->plen[i] = p->len;
            b[i].length = &db->plen[i];
            if (p->s == NULL && p->len != 0)
                return misuse(db, idx, "string parameter with NULL pointer");
            break;
        default:
            return misuse(db, idx, "bad parameter type");
        }
    }
    if (mysql_stmt_bind_param(st, b) != 0)
        return fail_stmt(db, st, idx, "bind parameters");
    return ARC_OK;
}

/* Binds the result columns, sizing each string buffer for the longest value of
 * the stored result. */
static enum arc_err
bind_results(arc_db *db, MYSQL_STMT *st, unsigned idx, const struct arc_db_col *cols, size_t ncols)
{
    MYSQL_RES *meta = mysql_stmt_result_metadata(st);
    if (meta == NULL)
        return misuse(db, idx, "no result metadata");
    grow_cols(db, ncols);
    MYSQL_BIND *b = db->rbind;
    memset(b, 0, ncols * sizeof(*b));
    enum arc_err rc = ARC_OK;
    for (size_t i = 0; i < ncols; i++) {
        const MYSQL_FIELD *f = mysql_fetch_field_direct(meta, (unsigned)i);
        b[i].is_null = &db->rnull[i];
        b[i].error = &db->rtrunc[i];
        b[i].length = &db->rlen[i];
        if (cols[i].type == ARC_DB_INT) {
            b[i].buffer_type = MYSQL_TYPE_LONGLONG;
            b[i].buffer = &db->rint[i];
            b[i].is_unsigned = (f->flags & UNSIGNED_FLAG) ? 1 : 0;
        } else if (cols[i].type == ARC_DB_STR) {
            size_t need = f->max_length > STR_MIN_BUF ? f->max_length : STR_MIN_BUF;
            reserve_col(&db->rbuf[i], need + 1);
            b[i].buffer_type = MYSQL_TYPE_STRING;
            b[i].buffer = db->rbuf[i].p;
            b[i].buffer_length = db->rbuf[i].cap;
        } else {
            rc = misuse(db, idx, "result column type must be ARC_DB_INT or ARC_DB_STR");
            break;
        }
    }
    mysql_free_result(meta);
    if (rc == ARC_OK && mysql_stmt_bind_result(st, b) != 0)
        rc = fail_stmt(db, st, idx, "bind result");
    return rc;
}

static enum arc_err
fetch_rows(arc_db *db, MYSQL_STMT *st, unsigned idx, struct arc_db_col *cols, size_t ncols,
           arc_db_row_fn fn, void *ud, uint64_t *nrows)
{
    for (;;) {
        int r = mysql_stmt_fetch(st);
        if (r == MYSQL_NO_DATA)
            return ARC_OK;
        if (r == 1)
            return fail_stmt(db, st, idx, "fetch");
        if (r == MYSQL_DATA_TRUNCATED) {
            /* Cannot happen for strings (buffers sized by max_length): an
             * integer column holds something that is not a 64-bit integer. */
            for (size_t i = 0; i < ncols; i++)
                if (db->rtrunc[i])
                    arc_log_error("db: statement %u: column %zu truncated", idx, i);
            return misuse(db, idx, "data truncated while fetching");
        }
        for (size_t i = 0; i < ncols; i++) {
            struct arc_db_col *c = &cols[i];
            c->is_null = db->rnull[i] != 0;
            if (c->type == ARC_DB_INT) {
                c->s = NULL;
                c->len = 0;
                c->i = c->is_null ? 0 : (int64_t)db->rint[i];
                if (!c->is_null && db->rbind[i].is_unsigned && db->rint[i] < 0) {
                    arc_log_error("db: statement %u: column %zu exceeds INT64_MAX", idx, i);
                    return misuse(db, idx, "unsigned value out of range");
                }
            } else {
                c->i = 0;
                c->s = db->rbuf[i].p;
                c->len = c->is_null ? 0 : db->rlen[i];
                db->rbuf[i].p[c->len] = '\0';
            }
        }
        if (nrows)
            (*nrows)++;
        if (fn != NULL && fn(ud, cols, ncols) != 0)
            return ARC_OK;
    }
}

/* One attempt on the current connection. *retry_ok is set when a failure left
 * the statement certainly not applied (or it only reads). */
static enum arc_err
run_once(arc_db *db, unsigned idx, const struct arc_db_param *params, size_t nparams,
         struct arc_db_col *cols, size_t ncols, arc_db_row_fn fn, void *ud, uint64_t *nrows,
         uint64_t *affected, uint64_t *insert_id, bool is_query, bool *retry_ok)
{
    MYSQL_STMT *st = NULL;
    enum arc_err rc;

    *retry_ok = true; /* until the statement is sent for execution */
    if ((rc = prepare(db, idx, &st)) != ARC_OK)
        return rc;
    /* A statement whose columns are unknown at prepare (INSERT ... RETURNING)
     * is refused here, before it runs: see arc_db_query. */
    unsigned fc = mysql_stmt_field_count(st);
    if (fc != (is_query ? ncols : 0)) {
        char msg[128];
        snprintf(msg, sizeof(msg), "returns %u columns, %zu expected", fc, is_query ? ncols : 0);
        return misuse(db, idx, msg);
    }
    if ((rc = bind_params(db, st, idx, params, nparams)) != ARC_OK)
        return rc;

    if (mysql_stmt_execute(st) != 0) {
        unsigned e = mysql_stmt_errno(st);
        *retry_ok = is_query || is_not_sent(e);
        return fail_stmt(db, st, idx, "execute");
    }
    db->last_ok_ns = arc_now_ns();
    if (!is_query) {
        if (affected)
            *affected = mysql_stmt_affected_rows(st);
        if (insert_id)
            *insert_id = mysql_stmt_insert_id(st);
        return ARC_OK;
    }

    if (mysql_stmt_store_result(st) != 0) {
        rc = fail_stmt(db, st, idx, "store result");
        mysql_stmt_free_result(st);
        return rc;
    }
    if (mysql_stmt_field_count(st) != ncols) { /* the table changed under us */
        mysql_stmt_free_result(st);
        return misuse(db, idx, "column count changed after prepare");
    }
    rc = bind_results(db, st, idx, cols, ncols);
    if (rc == ARC_OK) {
        db->busy = true;
        rc = fetch_rows(db, st, idx, cols, ncols, fn, ud, nrows);
        db->busy = false;
    }
    mysql_stmt_free_result(st);
    return rc;
}

static enum arc_err
run(arc_db *db, unsigned idx, const struct arc_db_param *params, size_t nparams,
    struct arc_db_col *cols, size_t ncols, arc_db_row_fn fn, void *ud, uint64_t *nrows,
    uint64_t *affected, uint64_t *insert_id, bool is_query)
{
    if (nrows)
        *nrows = 0;
    if (db->busy)
        return misuse(db, idx, "used from inside a row callback");
    clear_err(db);
    if (idx >= db->nsql)
        return misuse(db, idx, "no such statement");
    if ((nparams > 0 && params == NULL) || (ncols > 0 && cols == NULL))
        return misuse(db, idx, "NULL parameter or column array");

    for (int attempt = 0;; attempt++) {
        enum arc_err rc = ensure(db, false);
        if (rc != ARC_OK)
            return rc;
        bool retry_ok;
        rc = run_once(db, idx, params, nparams, cols, ncols, fn, ud, nrows, affected, insert_id,
                      is_query, &retry_ok);
        if (!db->broken)
            return rc;
        /* The connection is gone (rc is ARC_UNAVAILABLE). */
        if (db->in_tx || attempt > 0 || !retry_ok)
            return ARC_UNAVAILABLE;
        if (nrows)
            *nrows = 0;
    }
}

enum arc_err
arc_db_exec(arc_db *db, unsigned stmt, const struct arc_db_param *params, size_t nparams,
            uint64_t *affected, uint64_t *insert_id)
{
    return run(db, stmt, params, nparams, NULL, 0, NULL, NULL, NULL, affected, insert_id, false);
}

enum arc_err
arc_db_query(arc_db *db, unsigned stmt, const struct arc_db_param *params, size_t nparams,
             struct arc_db_col *cols, size_t ncols, arc_db_row_fn fn, void *ud, uint64_t *nrows)
{
    return run(db, stmt, params, nparams, cols, ncols, fn, ud, nrows, NULL, NULL, true);
}

enum arc_err
arc_db_query_row(arc_db *db, unsigned stmt, const struct arc_db_param *params, size_t nparams,
                 struct arc_db_col *cols, size_t ncols, arc_db_row_fn fn, void *ud)
{
    uint64_t n = 0;
    enum arc_err e = arc_db_query(db, stmt, params, nparams, cols, ncols, fn, ud, &n);
    return e == ARC_OK && n == 0 ? ARC_NOT_FOUND : e;
}

/* --- Transactions ------------------------------------------------------------ */

void (*arc_db_on_commit_sent)(MYSQL *conn);

static enum arc_err
tx_begin(arc_db *db)
{
    static const char start[] = "START TRANSACTION";

    for (int attempt = 0; attempt < 2; attempt++) {
        enum arc_err rc = ensure(db, false);
        if (rc != ARC_OK)
            return rc;
        if (mysql_real_query(db->conn, start, sizeof(start) - 1) == 0) {
            db->in_tx = true;
            db->tx_doomed = false;
            db->last_ok_ns = arc_now_ns();
            return ARC_OK;
        }
        rc = fail_conn(db, "begin");
        if (!db->broken)
            return rc;
        /* Nothing was lost yet: reconnect once and start again. */
    }
    return ARC_UNAVAILABLE;
}

static void
tx_rollback(arc_db *db)
{
    db->in_tx = false;
    if (db->broken || db->conn == NULL)
        return; /* the server rolled back when the connection went */
    if (mysql_rollback(db->conn) == 0) {
        db->last_ok_ns = arc_now_ns();
        return;
    }
    unsigned e = mysql_errno(db->conn);
    if (is_conn_lost(e))
        db->broken = true;
    else
        arc_log_error("db: rollback failed: errno %u: %s", e, mysql_error(db->conn));
}

/* Sends COMMIT and reads its answer. *ambiguous is set when the connection
 * went after COMMIT may have reached the server: its outcome is unknown. A
 * commit that fails otherwise has ended the transaction (rolled back). */
static enum arc_err
tx_commit(arc_db *db, bool *ambiguous)
{
    static const char commit[] = "COMMIT";

    *ambiguous = false;
    if (db->broken || db->conn == NULL) {
        db->in_tx = false;
        set_err(db, CR_SERVER_LOST, "the connection was lost during the transaction");
        return ARC_UNAVAILABLE;
    }
    if (mysql_send_query(db->conn, commit, sizeof(commit) - 1) != 0) {
        unsigned e = mysql_errno(db->conn);
        enum arc_err rc = fail_conn(db, "commit");
        *ambiguous = db->broken && !is_not_sent(e);
        db->in_tx = false;
        return rc;
    }
    if (arc_db_on_commit_sent != NULL)
        arc_db_on_commit_sent(db->conn);
    if (mysql_read_query_result(db->conn) == 0) {
        db->in_tx = false;
        db->last_ok_ns = arc_now_ns();
        return ARC_OK;
    }
    enum arc_err rc = fail_conn(db, "commit");
    if (db->broken)
        *ambiguous = true;
    else
        (void)mysql_rollback(db->conn); /* make sure the transaction is over */
    db->in_tx = false;
    return rc;
}

enum arc_err
arc_db_tx(arc_db *db, const char *name, arc_db_tx_fn fn, void *ud)
{
    if (db->busy)
        return misuse(db, -1, "transaction from inside a row callback");
    if (db->in_tx)
        return misuse(db, -1, "transaction inside an open transaction");
    clear_err(db);
    for (int attempt = 1;; attempt++) {
        enum arc_err e = tx_begin(db);
        if (e != ARC_OK)
            return e; /* the server cannot be reached: nothing ran */
        e = fn(db, ud);
        bool ambiguous = false;
        /* A deadlock or a lost connection has ended the transaction on the
         * server, whatever fn made of it: never commit what is left. */
        if (db->tx_doomed && e == ARC_OK)
            e = db->broken ? ARC_UNAVAILABLE : ARC_RETRY;
        if (e == ARC_OK && !db->tx_doomed)
            e = tx_commit(db, &ambiguous);
        else
            tx_rollback(db);
        if (e == ARC_OK)
            return ARC_OK;
        if (ambiguous) {
            arc_log_error("db: transaction %s: connection lost during COMMIT (errno %u); "
                          "outcome unknown, not retried",
                          name, db->last_errno);
            return ARC_UNAVAILABLE;
        }
        /* Safe to run again: a deadlock or lock wait timeout (rolled back),
         * or a connection lost before COMMIT was sent (the server rolled
         * back; the next begin reconnects). */
        bool retry = e == ARC_RETRY || db->tx_doomed || (e == ARC_UNAVAILABLE && db->broken);
        if (!retry)
            return e;
        if (attempt >= ARC_DB_TX_ATTEMPTS) {
            arc_log_warn("db: transaction %s: attempt %d of %d failed (errno %u: %s); giving up",
                         name, attempt, ARC_DB_TX_ATTEMPTS, db->last_errno, db->last_error);
            return e;
        }
        arc_log_warn("db: transaction %s: attempt %d of %d failed (errno %u: %s); retrying", name,
                     attempt, ARC_DB_TX_ATTEMPTS, db->last_errno, db->last_error);
        clear_err(db);
    }
}

unsigned
arc_db_last_errno(const arc_db *db)
{
    return db->last_errno;
}

const char *
arc_db_last_error(const arc_db *db)
{
    return db->last_error;
}

void
arc_db_col_copy(char *dst, size_t cap, const struct arc_db_col *c)
{
    size_t n = c->len < cap - 1 ? c->len : cap - 1;
    if (n > 0)
        memcpy(dst, c->s, n);
    dst[n] = '\0';
}

void
arc_db_cols_init(struct arc_db_col *cols, const enum arc_db_type *types, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cols[i] = (struct arc_db_col){.type = types[i]};
}

int
arc_db_row_int(void *ud, const struct arc_db_col *cols, size_t ncols)
{
    (void)ncols;
    *(int64_t *)ud = cols[0].i;
    return 0;
}
