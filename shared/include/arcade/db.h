/*
 * db.h - MariaDB access: one connection per worker, prepared statements only.
 *
 * Statements are registered once as SQL text (arc_db_new) and prepared lazily
 * on first use; after a reconnect every statement is prepared again (the
 * connector's mariadb_reconnect resets them). Automatic reconnect of the
 * connector is off: a lost connection is noticed by the failing call, which
 * reconnects once and runs the statement again, but only outside a
 * transaction, and only when that cannot apply it twice (a query, or a
 * statement the server never received); otherwise, and always inside a
 * transaction, it returns ARC_UNAVAILABLE (arc_db_tx then runs the whole
 * transaction again). Connect, read and write timeouts are
 * always set, multi-statements and LOCAL INFILE are off.
 */
#ifndef ARCADE_DB_H
#define ARCADE_DB_H

#include <mysql.h>

#include "arcade/config.h"

typedef struct arc_db arc_db;

/* sql[i] is the text of statement i, borrowed for the handle's life.
 * Connecting is deferred to the first use; returns NULL only on bad input. */
arc_db *arc_db_new(const struct arc_db_config *cfg, const char *const *sql, size_t nsql);
void arc_db_free(arc_db *db);

/* Connects if not connected (and pings when the connection has been idle for
 * over a second). ARC_OK or ARC_UNAVAILABLE. Used by health checks and before
 * requests. */
enum arc_err arc_db_ensure(arc_db *db);

/* Cheap check for health: a ping that reconnects once if needed. */
enum arc_err arc_db_ping(arc_db *db);

enum arc_db_type { ARC_DB_NULL, ARC_DB_INT, ARC_DB_STR };

/* An input parameter for a '?' placeholder. Strings are borrowed. */
struct arc_db_param {
    enum arc_db_type type;
    int64_t i;
    const char *s;
    size_t len;
};

#define ARC_DB_P_NULL() ((struct arc_db_param){.type = ARC_DB_NULL})
#define ARC_DB_P_INT(v) ((struct arc_db_param){.type = ARC_DB_INT, .i = (int64_t)(v)})
#define ARC_DB_P_STRN(p, n) ((struct arc_db_param){.type = ARC_DB_STR, .s = (p), .len = (n)})
#define ARC_DB_P_STR(p) ARC_DB_P_STRN((p), strlen(p))

/* One result column. The caller sets type (ARC_DB_INT or ARC_DB_STR); each
 * fetched row fills i or s/len (s NUL-terminated, valid until the next row)
 * and is_null. DATETIME/TIMESTAMP columns should be fetched as strings
 * (e.g. DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ')). */
struct arc_db_col {
    enum arc_db_type type;
    int64_t i;
    const char *s;
    size_t len;
    bool is_null;
};

/* Called once per row; return 0 to go on, non-zero to stop early. It must not
 * use the same arc_db (such calls fail with ARC_INTERNAL). */
typedef int (*arc_db_row_fn)(void *ud, const struct arc_db_col *cols, size_t ncols);

/* Sets cols[0..n) to the column types types[0..n) (values cleared). */
void arc_db_cols_init(struct arc_db_col *cols, const enum arc_db_type *types, size_t n);

/* A string column as a view (borrowed until the next row). */
static inline arc_str
arc_db_col_str(const struct arc_db_col *c)
{
    return (arc_str){c->s, c->len};
}

/* Copies a string column into dst[cap], NUL-terminated, truncated to fit. */
void arc_db_col_copy(char *dst, size_t cap, const struct arc_db_col *c);

/* An arc_db_row_fn for one-integer results (COUNT(*), an id): stores the first
 * column of the row into *(int64_t *)ud. */
int arc_db_row_int(void *ud, const struct arc_db_col *cols, size_t ncols);

/* Runs a statement that returns no rows. affected and insert_id may be NULL. */
enum arc_err arc_db_exec(arc_db *db, unsigned stmt, const struct arc_db_param *params,
                         size_t nparams, uint64_t *affected, uint64_t *insert_id) ARC_NODISCARD;

/* Runs a query; cols describe the result columns (ncols must equal the
 * statement's column count). Rows are delivered to fn. *nrows (may be NULL)
 * receives the number of rows delivered. INSERT ... RETURNING is refused
 * (ARC_INTERNAL, before it runs): MariaDB describes its columns only once it
 * ran, and Debian 12's libmariadb 3.3 hangs on the connection's next statement
 * after such a statement failed (a duplicate key, say). Take the new id from
 * arc_db_exec's insert_id instead. */
enum arc_err arc_db_query(arc_db *db, unsigned stmt, const struct arc_db_param *params,
                          size_t nparams, struct arc_db_col *cols, size_t ncols, arc_db_row_fn fn,
                          void *ud, uint64_t *nrows) ARC_NODISCARD;

/* arc_db_query for a look-up by key: ARC_NOT_FOUND when no row came back. */
enum arc_err arc_db_query_row(arc_db *db, unsigned stmt, const struct arc_db_param *params,
                              size_t nparams, struct arc_db_col *cols, size_t ncols,
                              arc_db_row_fn fn, void *ud) ARC_NODISCARD;

/* Transactions: the one way to run one. arc_db_tx begins (reconnecting first
 * if needed), runs fn, commits when fn returns ARC_OK and rolls back
 * otherwise. It runs fn again, up to ARC_DB_TX_ATTEMPTS times in all and
 * with one warning line per retry naming the transaction, only when that
 * cannot apply it twice: a deadlock (1213) or lock wait timeout (1205), or a
 * connection lost before COMMIT was sent (the server rolled back; the next
 * attempt reconnects). A connection lost once COMMIT is on its way leaves the
 * outcome unknown: never retried, logged as an error, ARC_UNAVAILABLE. Any
 * other failure of fn is returned as it is, after the rollback. fn must start
 * from scratch on each call (reset what it collects) and must not call
 * arc_db_tx itself; ARC_OK from fn after a deadlock or a lost connection is
 * not committed (the transaction is gone). Returns ARC_OK, fn's error,
 * ARC_RETRY or ARC_UNAVAILABLE after the last attempt, or ARC_UNAVAILABLE
 * when the server cannot be reached. */
#define ARC_DB_TX_ATTEMPTS 3
typedef enum arc_err (*arc_db_tx_fn)(arc_db *db, void *ud);
enum arc_err arc_db_tx(arc_db *db, const char *name, arc_db_tx_fn fn, void *ud) ARC_NODISCARD;

/* Test seam: when set, called by arc_db_tx right after COMMIT has been sent
 * and before its answer is read (e.g. to cut the connection there). NULL in
 * production. */
extern void (*arc_db_on_commit_sent)(MYSQL *conn);

/* The server error of the last failed call (mysql errno, 0 if none), e.g. to
 * tell which unique key a CONFLICT hit. */
unsigned arc_db_last_errno(const arc_db *db);
const char *arc_db_last_error(const arc_db *db);

#endif
