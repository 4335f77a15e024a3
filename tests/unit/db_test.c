/*
 * db_test.c - arc_db against a real MariaDB. Runs only when ARCADE_TEST_DB_SOCKET
 * (or ARCADE_TEST_DB_HOST/PORT), ARCADE_TEST_DB_USER, ARCADE_TEST_DB_PASSWORD
 * and ARCADE_TEST_DB_NAME are set; otherwise every test is skipped. The user
 * needs CREATE/DROP on the schema (tables db_test_*).
 *
 * A lost connection is simulated with KILL CONNECTION from a second session
 * (a user may kill its own sessions). When ARCADE_TEST_DB_RESTART_CMD is set,
 * it is run with system() to restart the server (it must return once the
 * server accepts connections again), which tests a real restart.
 */
#include "arc_test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "arcade/db.h"
#include "arcade/log.h"

enum {
    ST_INSERT,
    ST_GET,
    ST_ALL,
    ST_CONN_ID,
    ST_COUNT,
    ST_SET_U,
    ST_GET_U,
    ST_LOCK_WAIT,
    ST_UPDATE_N,
    ST_BAD_SQL,
    ST_COUNT_WHERE,
    ST_INSERT_RETURNING,
};

static const char *const sql[] = {
    [ST_INSERT] = "INSERT INTO db_test_items (email, body, n) VALUES (?, ?, ?)",
    [ST_GET] = "SELECT id, email, body, n FROM db_test_items WHERE email = ?",
    [ST_ALL] = "SELECT id, body FROM db_test_items ORDER BY id",
    [ST_CONN_ID] = "SELECT CONNECTION_ID()",
    [ST_COUNT] = "SELECT COUNT(*) FROM db_test_items",
    [ST_SET_U] = "UPDATE db_test_items SET u = ? + 0 WHERE email = ?",
    [ST_GET_U] = "SELECT u FROM db_test_items WHERE email = ?",
    [ST_LOCK_WAIT] = "SET SESSION innodb_lock_wait_timeout = 1",
    [ST_UPDATE_N] = "UPDATE db_test_items SET n = ? WHERE email = ?",
    [ST_BAD_SQL] = "SELEC nonsense",
    [ST_COUNT_WHERE] = "SELECT COUNT(*) FROM db_test_items WHERE email = ?",
    [ST_INSERT_RETURNING] =
        "INSERT INTO db_test_items (email, n) VALUES (?, ?) RETURNING id, email",
};

static struct arc_db_config cfg;
static bool have_db;
static char log_path[64];

/* How many lines of the log so far hold needle. */
static int
log_count(const char *needle)
{
    FILE *fp = fopen(log_path, "r");
    assert_non_null(fp);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, fp) != NULL)
        if (strstr(line, needle) != NULL)
            n++;
    fclose(fp);
    return n;
}

/* The log starts again empty. */
static void
log_reset(void)
{
    assert_int_equal(truncate(log_path, 0), 0);
}

static MYSQL *
raw_connect(void)
{
    return arc_test_db_connect();
}

static void
raw_query(MYSQL *m, const char *q)
{
    arc_test_db_query(m, q);
}

static int
group_setup(void **state)
{
    have_db = arc_test_db_config(&cfg); /* false: every test skips */
    return 0;
}

static int
setup(void **state)
{
    if (!have_db)
        return 0;
    MYSQL *m = raw_connect();
    raw_query(m, "DROP TABLE IF EXISTS db_test_items");
    raw_query(m, "CREATE TABLE db_test_items (id BIGINT AUTO_INCREMENT PRIMARY KEY,"
                 " email VARCHAR(100) NOT NULL UNIQUE, body MEDIUMTEXT NULL, n INT NULL,"
                 " u BIGINT UNSIGNED NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
    mysql_close(m);
    arc_db *db = arc_db_new(&cfg, sql, ARC_ARRAY_LEN(sql));
    assert_non_null(db);
    *state = db;
    return 0;
}

static int
teardown(void **state)
{
    arc_db_free(*state);
    return 0;
}

#define NEED_DB() ARC_TEST_NEED(have_db, "no test database (run under tests/with-test-db)")

static enum arc_err
insert(arc_db *db, const char *email, const char *body, size_t body_len, bool n_null, int64_t n,
       uint64_t *id)
{
    struct arc_db_param p[] = {
        ARC_DB_P_STR(email),
        body ? ARC_DB_P_STRN(body, body_len) : ARC_DB_P_NULL(),
        n_null ? ARC_DB_P_NULL() : ARC_DB_P_INT(n),
    };
    return arc_db_exec(db, ST_INSERT, p, 3, NULL, id);
}

static int
on_one_int(void *ud, const struct arc_db_col *c, size_t ncols)
{
    assert_int_equal(ncols, 1);
    *(int64_t *)ud = c[0].i;
    return 0;
}

static int64_t
one_int(arc_db *db, unsigned st, const struct arc_db_param *p, size_t np, enum arc_err want)
{
    struct arc_db_col col = {.type = ARC_DB_INT};
    int64_t v = -1;
    uint64_t n = 0;
    assert_int_equal(arc_db_query(db, st, p, np, &col, 1, on_one_int, &v, &n), want);
    if (want == ARC_OK)
        assert_int_equal(n, 1);
    return v;
}

static int64_t
conn_id(arc_db *db)
{
    return one_int(db, ST_CONN_ID, NULL, 0, ARC_OK);
}

static void
kill_conn(int64_t id)
{
    char q[64];
    MYSQL *m = raw_connect();
    snprintf(q, sizeof(q), "KILL CONNECTION %lld", (long long)id);
    raw_query(m, q);
    mysql_close(m);
    usleep(100 * 1000); /* let the server close the socket */
}

static int64_t
count_rows(arc_db *db)
{
    return one_int(db, ST_COUNT, NULL, 0, ARC_OK);
}

static enum arc_err
tx_noop(arc_db *db, void *ud)
{
    return ARC_OK;
}

/* --- tests ------------------------------------------------------------------- */

static void
test_new_rejects_bad_input(void **state)
{
    struct arc_db_config c = {.host = "127.0.0.1", .port = 3306, .user = "x", .name = "x"};
    const char *const bad[] = {"SELECT 1", NULL};
    assert_null(arc_db_new(NULL, sql, 1));
    assert_null(arc_db_new(&c, NULL, 1));
    assert_null(arc_db_new(&c, bad, 2));
    arc_db *db = arc_db_new(&c, NULL, 0);
    assert_non_null(db);
    arc_db_free(db);
    arc_db_free(NULL);
}

static void
test_unreachable_server(void **state)
{
    struct arc_db_config c = {.socket = "/nonexistent/arcade-test.sock",
                              .user = "x",
                              .name = "x",
                              .connect_timeout_s = 1,
                              .rw_timeout_s = 1};
    arc_db *db = arc_db_new(&c, sql, ARC_ARRAY_LEN(sql));
    assert_non_null(db);
    assert_int_equal(arc_db_ensure(db), ARC_UNAVAILABLE);
    assert_int_equal(arc_db_ping(db), ARC_UNAVAILABLE);
    assert_int_equal(arc_db_tx(db, "unreachable", tx_noop, NULL), ARC_UNAVAILABLE);
    struct arc_db_col col = {.type = ARC_DB_INT};
    assert_int_equal(arc_db_query(db, ST_CONN_ID, NULL, 0, &col, 1, NULL, NULL, NULL),
                     ARC_UNAVAILABLE);
    assert_int_not_equal(arc_db_last_errno(db), 0);
    arc_db_free(db);
}

struct rows {
    int64_t id[8];
    char *body[8];
    size_t len[8];
    bool null[8];
    size_t n;
    size_t stop_after; /* 0: never */
};

static int
on_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    struct rows *r = ud;
    assert_int_equal(ncols, 2);
    assert_true(r->n < 8);
    r->id[r->n] = c[0].i;
    r->null[r->n] = c[1].is_null;
    r->len[r->n] = c[1].len;
    assert_non_null(c[1].s);
    assert_int_equal(c[1].s[c[1].len], '\0');
    r->body[r->n] = malloc(c[1].len + 1);
    memcpy(r->body[r->n], c[1].s, c[1].len + 1);
    r->n++;
    return r->stop_after != 0 && r->n >= r->stop_after;
}

static void
rows_free(struct rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->body[i]);
}

static void
test_exec_and_query(void **state)
{
    NEED_DB();
    arc_db *db = *state;
    size_t big_len = 20 * 1024;
    char *big = malloc(big_len);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (char)('a' + i % 26);
    big[7] = '\0'; /* embedded NUL bytes survive */

    uint64_t id1 = 0, id2 = 0, id3 = 0, id4 = 0;
    assert_int_equal(insert(db, "a@x", "", 0, false, 1, &id1), ARC_OK);
    assert_int_equal(insert(db, "b@x", big, big_len, false, 2, &id2), ARC_OK);
    assert_int_equal(insert(db, "c@x", NULL, 0, true, 0, &id3), ARC_OK);
    assert_int_equal(insert(db, "d@x", "short", 5, false, -5, &id4), ARC_OK);
    assert_true(id1 > 0 && id2 == id1 + 1 && id3 == id2 + 1);

    /* Lengths vary from row to row: the buffers are sized for the longest. */
    struct rows r = {0};
    struct arc_db_col cols[2] = {{.type = ARC_DB_INT}, {.type = ARC_DB_STR}};
    uint64_t n = 0;
    assert_int_equal(arc_db_query(db, ST_ALL, NULL, 0, cols, 2, on_row, &r, &n), ARC_OK);
    assert_int_equal(n, 4);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.id[0], (int64_t)id1);
    assert_false(r.null[0]);
    assert_int_equal(r.len[0], 0);
    assert_int_equal(r.len[1], big_len);
    assert_memory_equal(r.body[1], big, big_len);
    assert_true(r.null[2]);
    assert_int_equal(r.len[2], 0);
    assert_int_equal(r.len[3], 5);
    assert_string_equal(r.body[3], "short");
    rows_free(&r);

    /* Early stop. */
    struct rows r2 = {.stop_after = 2};
    assert_int_equal(arc_db_query(db, ST_ALL, NULL, 0, cols, 2, on_row, &r2, &n), ARC_OK);
    assert_int_equal(n, 2);
    rows_free(&r2);

    /* NULL integer column, negative integer, parameters by string. */
    struct arc_db_col g[4] = {
        {.type = ARC_DB_INT}, {.type = ARC_DB_STR}, {.type = ARC_DB_STR}, {.type = ARC_DB_INT}};
    struct arc_db_param p = ARC_DB_P_STR("c@x");
    assert_int_equal(arc_db_query(db, ST_GET, &p, 1, g, 4, NULL, NULL, &n), ARC_OK);
    assert_int_equal(n, 1);
    assert_true(g[3].is_null);
    assert_true(g[2].is_null);
    assert_string_equal(g[1].s, "c@x");
    p = ARC_DB_P_STR("d@x");
    assert_int_equal(arc_db_query(db, ST_GET, &p, 1, g, 4, NULL, NULL, &n), ARC_OK);
    assert_int_equal(g[3].i, -5);
    p = ARC_DB_P_STR("nobody");
    assert_int_equal(arc_db_query(db, ST_GET, &p, 1, g, 4, NULL, NULL, &n), ARC_OK);
    assert_int_equal(n, 0);

    /* affected rows */
    uint64_t affected = 99;
    struct arc_db_param up[] = {ARC_DB_P_INT(7), ARC_DB_P_STR("a@x")};
    assert_int_equal(arc_db_exec(db, ST_UPDATE_N, up, 2, &affected, NULL), ARC_OK);
    assert_int_equal(affected, 1);

    /* INSERT ... RETURNING is refused before it runs (db.h says why), and
     * the connection serves on: nothing was inserted. */
    struct arc_db_param ins[] = {ARC_DB_P_STR("ret@x"), ARC_DB_P_INT(3)};
    struct arc_db_col ret[2] = {{.type = ARC_DB_INT}, {.type = ARC_DB_STR}};
    assert_int_equal(arc_db_query(db, ST_INSERT_RETURNING, ins, 2, ret, 2, NULL, NULL, &n),
                     ARC_INTERNAL);
    struct arc_db_param ret_email = ARC_DB_P_STR("ret@x");
    assert_int_equal(one_int(db, ST_COUNT_WHERE, &ret_email, 1, ARC_OK), 0);
    free(big);
}

static void
test_conflict_and_errors(void **state)
{
    NEED_DB();
    arc_db *db = *state;
    assert_int_equal(insert(db, "dup@x", "1", 1, false, 1, NULL), ARC_OK);
    assert_int_equal(insert(db, "dup@x", "2", 1, false, 2, NULL), ARC_CONFLICT);
    assert_int_equal(arc_db_last_errno(db), 1062);
    assert_non_null(strstr(arc_db_last_error(db), "Duplicate"));
    /* The next success clears the error. */
    assert_int_equal(count_rows(db), 1);
    assert_int_equal(arc_db_last_errno(db), 0);

    /* Programmer errors are ARC_INTERNAL, and the handle stays usable. */
    struct arc_db_col col = {.type = ARC_DB_INT};
    struct arc_db_col two[2] = {{.type = ARC_DB_INT}, {.type = ARC_DB_INT}};
    assert_int_equal(arc_db_query(db, ST_COUNT, NULL, 0, two, 2, NULL, NULL, NULL), ARC_INTERNAL);
    assert_int_equal(arc_db_exec(db, ST_COUNT, NULL, 0, NULL, NULL), ARC_INTERNAL);
    assert_int_equal(arc_db_exec(db, ST_INSERT, NULL, 0, NULL, NULL), ARC_INTERNAL);
    assert_int_equal(arc_db_query(db, 999, NULL, 0, &col, 1, NULL, NULL, NULL), ARC_INTERNAL);
    assert_int_equal(arc_db_exec(db, ST_BAD_SQL, NULL, 0, NULL, NULL), ARC_INTERNAL);
    assert_int_equal(arc_db_last_errno(db), 1064);
    assert_int_equal(count_rows(db), 1);
}

static void
test_unsigned_columns(void **state)
{
    NEED_DB();
    arc_db *db = *state;
    assert_int_equal(insert(db, "u@x", "", 0, false, 0, NULL), ARC_OK);
    struct arc_db_param email = ARC_DB_P_STR("u@x");
    struct arc_db_param set[] = {ARC_DB_P_INT(INT64_MAX), email};
    assert_int_equal(arc_db_exec(db, ST_SET_U, set, 2, NULL, NULL), ARC_OK);
    assert_int_equal(one_int(db, ST_GET_U, &email, 1, ARC_OK), INT64_MAX);
    /* 2^63 does not fit an int64_t: an error, never a wrapped value. */
    MYSQL *m = raw_connect();
    raw_query(m, "UPDATE db_test_items SET u = 9223372036854775808 WHERE email = 'u@x'");
    mysql_close(m);
    one_int(db, ST_GET_U, &email, 1, ARC_INTERNAL);
}

static int
on_reenter(void *ud, const struct arc_db_col *c, size_t ncols)
{
    arc_db *db = ud;
    struct arc_db_col col = {.type = ARC_DB_INT};
    assert_int_equal(arc_db_query(db, ST_COUNT, NULL, 0, &col, 1, NULL, NULL, NULL), ARC_INTERNAL);
    assert_int_equal(arc_db_tx(db, "reenter", tx_noop, NULL), ARC_INTERNAL);
    return 0;
}

static void
test_callback_must_not_reenter(void **state)
{
    NEED_DB();
    arc_db *db = *state;
    struct arc_db_col col = {.type = ARC_DB_INT};
    assert_int_equal(arc_db_query(db, ST_CONN_ID, NULL, 0, &col, 1, on_reenter, db, NULL), ARC_OK);
    assert_int_equal(count_rows(db), 0);
}

static bool restart_server(void);

/* A connection killed between two statements: the next query reconnects,
 * prepares its statement again and succeeds. */
static void
test_reconnect_after_kill(void **state)
{
    NEED_DB();
    arc_db *db = *state;
    assert_int_equal(insert(db, "k@x", "", 0, false, 0, NULL), ARC_OK);
    assert_int_equal(count_rows(db), 1); /* ST_COUNT prepared on this connection */
    int64_t id = conn_id(db);
    kill_conn(id);
    assert_int_equal(count_rows(db), 1);
    assert_int_not_equal(conn_id(db), id);

    /* An exec after a kill: reconnects and runs it when it was certainly not
     * applied, or answers UNAVAILABLE; either way the handle works after. */
    id = conn_id(db);
    kill_conn(id);
    enum arc_err e = insert(db, "k2@x", "", 0, false, 0, NULL);
    assert_true(e == ARC_OK || e == ARC_UNAVAILABLE);
    struct arc_db_param p = ARC_DB_P_STR("k2@x");
    assert_int_equal(one_int(db, ST_COUNT_WHERE, &p, 1, ARC_OK), e == ARC_OK ? 1 : 0);
    assert_int_not_equal(conn_id(db), id);
}

/* After a second of idleness ensure pings, notices the loss and reconnects. */
static void
test_ensure_pings_idle_connection(void **state)
{
    NEED_DB();
    arc_db *db = *state;
    assert_int_equal(arc_db_ensure(db), ARC_OK);
    int64_t id = conn_id(db);
    assert_int_equal(arc_db_ensure(db), ARC_OK); /* recently used: no round trip */
    kill_conn(id);
    sleep(1);
    usleep(200 * 1000);
    assert_int_equal(arc_db_ensure(db), ARC_OK);
    assert_int_not_equal(conn_id(db), id);
    id = conn_id(db);
    kill_conn(id);
    assert_int_equal(arc_db_ping(db), ARC_OK); /* ping always asks */
    assert_int_not_equal(conn_id(db), id);
}

/* --- transactions ------------------------------------------------------------ */

struct ins_tx {
    const char *emails[4];
    size_t n;
    enum arc_err end; /* what fn returns after its inserts */
    bool ignore_errors;
    int kill_on_call; /* kills its own connection after the first insert */
    int calls;
};

static enum arc_err
tx_insert(arc_db *db, void *ud)
{
    struct ins_tx *t = ud;
    t->calls++;
    for (size_t i = 0; i < t->n; i++) {
        enum arc_err e = insert(db, t->emails[i], "", 0, false, 0, NULL);
        if (e != ARC_OK && !t->ignore_errors)
            return e;
        if (i == 0 && (t->kill_on_call == t->calls || t->kill_on_call < 0))
            kill_conn(conn_id(db));
    }
    return t->end;
}

static void
test_transactions(void **state)
{
    NEED_DB();
    arc_db *db = *state;
    log_reset();
    /* fn fails: rolled back, not run again. */
    struct ins_tx t1 = {.emails = {"t1@x"}, .n = 1, .end = ARC_INVALID};
    assert_int_equal(arc_db_tx(db, "t1", tx_insert, &t1), ARC_INVALID);
    assert_int_equal(t1.calls, 1);
    assert_int_equal(count_rows(db), 0);

    struct ins_tx t2 = {.emails = {"t2@x"}, .n = 1, .end = ARC_OK};
    assert_int_equal(arc_db_tx(db, "t2", tx_insert, &t2), ARC_OK);
    assert_int_equal(t2.calls, 1);
    assert_int_equal(count_rows(db), 1);

    /* A conflict is fn's error: rolled back (t3 too), not run again. */
    struct ins_tx t3 = {.emails = {"t3@x", "t2@x"}, .n = 2, .end = ARC_OK};
    assert_int_equal(arc_db_tx(db, "t3", tx_insert, &t3), ARC_CONFLICT);
    assert_int_equal(t3.calls, 1);
    assert_int_equal(count_rows(db), 1);

    /* A conflict leaves the transaction usable when fn goes on. */
    struct ins_tx t4 = {.emails = {"t4@x", "t2@x"}, .n = 2, .end = ARC_OK, .ignore_errors = true};
    assert_int_equal(arc_db_tx(db, "t4", tx_insert, &t4), ARC_OK);
    assert_int_equal(count_rows(db), 2);
    assert_int_equal(log_count("retrying"), 0);
}

static enum arc_err
tx_nested(arc_db *db, void *ud)
{
    return arc_db_tx(db, "inner", tx_noop, NULL);
}

static void
test_tx_misuse(void **state)
{
    NEED_DB();
    arc_db *db = *state;
    assert_int_equal(arc_db_tx(db, "outer", tx_nested, NULL), ARC_INTERNAL);
    assert_int_equal(arc_db_tx(db, "after", tx_noop, NULL), ARC_OK);
}

struct lock_tx {
    MYSQL *m;
    int calls;
    unsigned first_errno;
};

/* Updates lock@x, which m holds on the first call and lets go of after. */
static enum arc_err
tx_lock_wait(arc_db *db, void *ud)
{
    struct lock_tx *t = ud;
    if (++t->calls == 2)
        raw_query(t->m, "ROLLBACK");
    struct arc_db_param up[] = {ARC_DB_P_INT(1), ARC_DB_P_STR("lock@x")};
    enum arc_err e = arc_db_exec(db, ST_UPDATE_N, up, 2, NULL, NULL);
    if (t->calls == 1)
        t->first_errno = arc_db_last_errno(db);
    return e;
}

static void
test_lock_wait_is_retried(void **state)
{
    NEED_DB();
    arc_db *db = *state;
    assert_int_equal(insert(db, "lock@x", "", 0, false, 0, NULL), ARC_OK);
    assert_int_equal(arc_db_exec(db, ST_LOCK_WAIT, NULL, 0, NULL, NULL), ARC_OK);
    struct lock_tx t = {.m = raw_connect()};
    raw_query(t.m, "START TRANSACTION");
    raw_query(t.m, "SELECT * FROM db_test_items WHERE email = 'lock@x' FOR UPDATE");
    log_reset();
    assert_int_equal(arc_db_tx(db, "lock", tx_lock_wait, &t), ARC_OK);
    assert_int_equal(t.first_errno, 1205);
    assert_int_equal(t.calls, 2);
    /* One line for the retry, and no other warning about it. */
    assert_int_equal(log_count("retrying"), 1);
    assert_int_equal(log_count("1205"), 1);
    assert_int_equal(log_count("transaction lock: attempt 1 of 3"), 1);
    mysql_close(t.m);
}

struct deadlock_tx {
    MYSQL *m;
    int calls;
    enum arc_err first;
    unsigned first_errno;
};

static enum arc_err
update_n(arc_db *db, const char *email, int64_t n)
{
    struct arc_db_param up[] = {ARC_DB_P_INT(n), ARC_DB_P_STR(email)};
    return arc_db_exec(db, ST_UPDATE_N, up, 2, NULL, NULL);
}

/* First call: holds b@x, m (which holds a@x) asks for b@x, then asks for
 * a@x: a deadlock, and this transaction is the lighter one, so the victim.
 * Second call: m has its b@x and commits; both updates go through. */
static enum arc_err
tx_deadlock(arc_db *db, void *ud)
{
    struct deadlock_tx *t = ud;
    if (++t->calls == 2) {
        if (mysql_read_query_result(t->m) != 0) {
            fprintf(stderr, "m: %s\n", mysql_error(t->m));
            fail();
        }
        raw_query(t->m, "COMMIT");
    }
    enum arc_err e = update_n(db, "b@x", t->calls);
    if (e != ARC_OK)
        return e;
    if (t->calls == 1) {
        static const char q[] = "UPDATE db_test_items SET n = 100 WHERE email = 'b@x'";
        assert_int_equal(mysql_send_query(t->m, q, sizeof q - 1), 0);
        usleep(50 * 1000); /* let m wait for b@x first */
    }
    e = update_n(db, "a@x", t->calls);
    if (t->calls == 1) {
        t->first = e;
        t->first_errno = arc_db_last_errno(db);
    }
    return e;
}

static void
test_deadlock_is_retried(void **state)
{
    NEED_DB();
    arc_db *db = *state;
    assert_int_equal(insert(db, "a@x", "", 0, false, 0, NULL), ARC_OK);
    assert_int_equal(insert(db, "b@x", "", 0, false, 0, NULL), ARC_OK);
    /* A lock wait that ends is 1205, not the deadlock looked for. */
    assert_int_equal(arc_db_exec(db, ST_LOCK_WAIT, NULL, 0, NULL, NULL), ARC_OK);
    struct deadlock_tx t = {.m = raw_connect()};
    raw_query(t.m, "SET SESSION innodb_lock_wait_timeout = 5");
    raw_query(t.m, "START TRANSACTION");
    /* m is the heavier transaction (more rows changed): InnoDB picks the
     * other one as the victim. Equality on the unique key locks one row. */
    raw_query(t.m, "INSERT INTO db_test_items (email) VALUES ('m1@x'), ('m2@x'), ('m3@x')");
    raw_query(t.m, "UPDATE db_test_items SET n = 100 WHERE email = 'a@x'");
    log_reset();
    assert_int_equal(arc_db_tx(db, "deadlock", tx_deadlock, &t), ARC_OK);
    assert_int_equal(t.first, ARC_RETRY);
    assert_int_equal(t.first_errno, 1213);
    assert_int_equal(t.calls, 2);
    assert_int_equal(log_count("retrying"), 1);
    assert_int_equal(log_count("1213"), 1);
    mysql_close(t.m);
    /* The second run committed: both rows hold 2. */
    struct arc_db_col g[4] = {
        {.type = ARC_DB_INT}, {.type = ARC_DB_STR}, {.type = ARC_DB_STR}, {.type = ARC_DB_INT}};
    struct arc_db_param p = ARC_DB_P_STR("a@x");
    assert_int_equal(arc_db_query(db, ST_GET, &p, 1, g, 4, NULL, NULL, NULL), ARC_OK);
    assert_int_equal(g[3].i, 2);
    p = ARC_DB_P_STR("b@x");
    assert_int_equal(arc_db_query(db, ST_GET, &p, 1, g, 4, NULL, NULL, NULL), ARC_OK);
    assert_int_equal(g[3].i, 2);
}

static enum arc_err
tx_always_retry(arc_db *db, void *ud)
{
    (*(int *)ud)++;
    return ARC_RETRY;
}

static void
test_attempts_are_bounded(void **state)
{
    NEED_DB();
    arc_db *db = *state;
    log_reset();
    int calls = 0;
    assert_int_equal(arc_db_tx(db, "busy", tx_always_retry, &calls), ARC_RETRY);
    assert_int_equal(calls, ARC_DB_TX_ATTEMPTS);
    assert_int_equal(log_count("retrying"), ARC_DB_TX_ATTEMPTS - 1);
    assert_int_equal(log_count("giving up"), 1);

    /* A connection lost every time: as many attempts, then ARC_UNAVAILABLE. */
    log_reset();
    struct ins_tx t = {.emails = {"l1@x", "l2@x"}, .n = 2, .end = ARC_OK, .kill_on_call = -1};
    assert_int_equal(arc_db_tx(db, "lossy", tx_insert, &t), ARC_UNAVAILABLE);
    assert_int_equal(t.calls, ARC_DB_TX_ATTEMPTS);
    assert_int_equal(log_count("retrying"), ARC_DB_TX_ATTEMPTS - 1);
    assert_int_equal(count_rows(db), 0);
}

/* A connection lost inside the transaction, before COMMIT: the server rolled
 * it back, so it runs again, on a new connection. */
static void
test_loss_before_commit_is_retried(void **state)
{
    NEED_DB();
    arc_db *db = *state;
    int64_t before = conn_id(db);
    log_reset();
    struct ins_tx t = {.emails = {"tx1@x", "tx2@x"}, .n = 2, .end = ARC_OK, .kill_on_call = 1};
    assert_int_equal(arc_db_tx(db, "lost", tx_insert, &t), ARC_OK);
    assert_int_equal(t.calls, 2);
    assert_int_equal(count_rows(db), 2);
    assert_int_equal(log_count("retrying"), 1);
    assert_int_not_equal(conn_id(db), before);

    /* fn ignoring the loss and answering ARC_OK: nothing is committed out of
     * what is left, the transaction runs again. */
    log_reset();
    struct ins_tx u = {.emails = {"tx3@x", "tx4@x"},
                       .n = 2,
                       .end = ARC_OK,
                       .ignore_errors = true,
                       .kill_on_call = 1};
    assert_int_equal(arc_db_tx(db, "lost-ignored", tx_insert, &u), ARC_OK);
    assert_int_equal(u.calls, 2);
    assert_int_equal(count_rows(db), 4);
    assert_int_equal(log_count("retrying"), 1);
}

/* Cuts the connection once COMMIT is on its way: whether it committed is
 * unknown to the client. */
static void
cut_connection(MYSQL *conn)
{
    assert_int_equal(shutdown((int)mysql_get_socket(conn), SHUT_RDWR), 0);
}

static void
test_loss_during_commit_is_not_retried(void **state)
{
    NEED_DB();
    arc_db *db = *state;
    log_reset();
    struct ins_tx t = {.emails = {"amb@x"}, .n = 1, .end = ARC_OK};
    arc_db_on_commit_sent = cut_connection;
    enum arc_err e = arc_db_tx(db, "ambiguous", tx_insert, &t);
    arc_db_on_commit_sent = NULL;
    assert_int_equal(e, ARC_UNAVAILABLE);
    assert_int_equal(t.calls, 1);
    assert_int_equal(log_count("retrying"), 0);
    assert_int_equal(log_count("outcome unknown, not retried"), 1);
    /* The server had the COMMIT: the row is there once, never twice. */
    struct arc_db_param p = ARC_DB_P_STR("amb@x");
    int64_t n = 0;
    for (int i = 0; i < 30 && n == 0; i++) {
        n = one_int(db, ST_COUNT_WHERE, &p, 1, ARC_OK);
        if (n == 0)
            usleep(100 * 1000);
    }
    assert_int_equal(n, 1);
    /* The handle works again. */
    struct ins_tx next = {.emails = {"amb2@x"}, .n = 1, .end = ARC_OK};
    assert_int_equal(arc_db_tx(db, "after", tx_insert, &next), ARC_OK);
    assert_int_equal(count_rows(db), 2);
}

struct restart_tx {
    int calls;
};

static enum arc_err
tx_restart(arc_db *db, void *ud)
{
    struct restart_tx *t = ud;
    enum arc_err e = insert(db, "r2@x", "", 0, false, 0, NULL);
    if (e != ARC_OK)
        return e;
    if (++t->calls == 1)
        assert_true(restart_server());
    return insert(db, "r3@x", "", 0, false, 0, NULL);
}

static bool
restart_server(void)
{
    const char *cmd = getenv("ARCADE_TEST_DB_RESTART_CMD");
    if (cmd == NULL || cmd[0] == '\0')
        return false;
    int rc = system(cmd);
    assert_int_equal(rc, 0);
    return true;
}

/* A real server restart between statements and inside a transaction. */
static void
test_server_restart(void **state)
{
    NEED_DB();
    ARC_TEST_NEED(getenv("ARCADE_TEST_DB_RESTART_CMD") != NULL, "no ARCADE_TEST_DB_RESTART_CMD");
    arc_db *db = *state;
    assert_int_equal(insert(db, "r1@x", "", 0, false, 0, NULL), ARC_OK);
    assert_int_equal(count_rows(db), 1);
    struct arc_db_param p = ARC_DB_P_STR("r1@x");
    assert_int_equal(one_int(db, ST_COUNT_WHERE, &p, 1, ARC_OK), 1);
    assert_true(restart_server());
    /* Statements prepared before the restart are prepared again. */
    assert_int_equal(count_rows(db), 1);
    assert_int_equal(one_int(db, ST_COUNT_WHERE, &p, 1, ARC_OK), 1);

    /* A restart inside a transaction: the connection is lost before COMMIT,
     * so the whole transaction runs again on a new connection. */
    struct restart_tx t = {0};
    assert_int_equal(arc_db_tx(db, "restart", tx_restart, &t), ARC_OK);
    assert_int_equal(t.calls, 2);
    assert_int_equal(count_rows(db), 3);
}

int
main(int argc, char **argv)
{
    (void)argc;
    arc_test_init(argv[0], 240);
    arc_log_set_level(getenv("ARCADE_TEST_VERBOSE") ? ARC_LOG_DEBUG : ARC_LOG_WARN);
    /* The log goes to a file of its own: tests count its lines. */
    snprintf(log_path, sizeof log_path, "/tmp/arcade-db-test-%d.log", (int)getpid());
    int fd = open(log_path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (fd < 0 || close(fd) != 0 || arc_log_open("db_test", log_path) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_rejects_bad_input),
        cmocka_unit_test(test_unreachable_server),
        cmocka_unit_test_setup_teardown(test_exec_and_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsigned_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callback_must_not_reenter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_misuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_wait_is_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadlock_is_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attempts_are_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_after_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ensure_pings_idle_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loss_before_commit_is_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loss_during_commit_is_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_restart, setup, teardown),
    };
    int rc = arc_test_exit(cmocka_run_group_tests(tests, group_setup, NULL));
    arc_log_close();
    unlink(log_path);
    return rc;
}
