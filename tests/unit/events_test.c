/*
 * events_test.c - the event envelope: what arc_outbox_add writes (against a
 * real MariaDB when ARCADE_TEST_DB_* are set, as db_test) and what
 * arc_event_parse accepts. The relay and the consumer are exercised end to
 * end by tests/integration/test_events.py.
 */
#include "arc_test.h"

#include <stdlib.h>
#include <string.h>

#include "arcade/event.h"
#include "arcade/outbox.h"
#include "arcade/log.h"

#define ENVELOPE(id, version, data)                                                                \
    "{\"id\":\"" id                                                                                \
    "\",\"type\":\"product.updated\",\"occurred_at\":\"2026-11-23T21:18:36.123Z\","                \
    "\"source\":\"catalog\",\"key\":\"product:42\",\"version\":" version ",\"data\":" data "}"
#define GOOD_ID "5f0c6c3e9a1b4d2e8f7a6b5c4d3e2f10"

static enum arc_err
parse(const char *text, json_object **root, struct arc_event_in *ev)
{
    return arc_event_parse(text, strlen(text), root, ev);
}

static void
parses_an_envelope(void **state)
{
    (void)state;
    json_object *root = NULL;
    struct arc_event_in ev;
    assert_int_equal(parse(ENVELOPE(GOOD_ID, "7", "{\"id\":42}"), &root, &ev), ARC_OK);
    assert_string_equal(ev.id, GOOD_ID);
    assert_string_equal(ev.type, "product.updated");
    assert_string_equal(ev.source, "catalog");
    assert_string_equal(ev.key, "product:42");
    assert_string_equal(ev.occurred_at, "2026-11-23T21:18:36.123Z");
    assert_int_equal(ev.version, 7);
    assert_string_equal(ev.traceparent, "");
    json_object *id;
    assert_true(json_object_object_get_ex(ev.data, "id", &id));
    assert_int_equal(json_object_get_int64(id), 42);
    json_object_put(root);
}

static void
refuses_what_is_not_an_envelope(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "not json",
        "[1,2]",
        "{\"id\":\"" GOOD_ID "\"}",
        ENVELOPE("5F0C6C3E9A1B4D2E8F7A6B5C4D3E2F10", "7", "{}"), /* upper-case hex */
        ENVELOPE("5f0c", "7", "{}"),                             /* short id */
        ENVELOPE(GOOD_ID, "-1", "{}"),                           /* negative version */
        ENVELOPE(GOOD_ID, "\"7\"", "{}"),                        /* version not a number */
        ENVELOPE(GOOD_ID, "7.5", "{}"),
        ENVELOPE(GOOD_ID, "7", "[]"), /* data not an object */
        ENVELOPE(GOOD_ID, "7", "null"),
        "{\"id\":\"" GOOD_ID "\",\"type\":\"\",\"occurred_at\":\"t\",\"source\":\"s\","
        "\"key\":\"k\",\"version\":1,\"data\":{}}", /* empty type */
        ENVELOPE(GOOD_ID, "7", "{}") "x",           /* trailing garbage */
    };
    for (size_t i = 0; i < ARC_ARRAY_LEN(bad); i++) {
        json_object *root = (json_object *)1;
        struct arc_event_in ev;
        assert_int_equal(parse(bad[i], &root, &ev), ARC_INVALID);
        assert_null(root);
    }
}

/* ---- against a real MariaDB ------------------------------------------------ */

enum { ST_CREATE, ST_DROP, ST_ADD, ST_BACKLOG, ST_READ, ST_COUNT };
static const char *const sql[] = {
    [ST_CREATE] = "CREATE TABLE IF NOT EXISTS outbox (id BIGINT UNSIGNED NOT NULL "
                  "AUTO_INCREMENT PRIMARY KEY, event_id CHAR(32) NOT NULL, type VARCHAR(64) "
                  "NOT NULL, aggregate VARCHAR(128) NOT NULL, traceparent VARCHAR(55) NOT NULL "
                  "DEFAULT '', body MEDIUMTEXT NOT NULL, created_at DATETIME(3) NOT NULL "
                  "DEFAULT CURRENT_TIMESTAMP(3))",
    [ST_DROP] = "DROP TABLE IF EXISTS outbox",
    [ST_ADD] = ARC_OUTBOX_INSERT_SQL,
    [ST_BACKLOG] = ARC_OUTBOX_BACKLOG_SQL,
    [ST_READ] = "SELECT event_id, type, aggregate, traceparent, body FROM outbox ORDER BY id",
};

static arc_db *db;

static int
setup(void **state)
{
    (void)state;
    static struct arc_db_config cfg;
    if (!arc_test_db_config(&cfg))
        return 0; /* db stays NULL: the database test skips */
    db = arc_db_new(&cfg, sql, ST_COUNT);
    if (db == NULL || arc_db_exec(db, ST_DROP, NULL, 0, NULL, NULL) != ARC_OK ||
        arc_db_exec(db, ST_CREATE, NULL, 0, NULL, NULL) != ARC_OK)
        return -1;
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    int rc = db != NULL && arc_db_exec(db, ST_DROP, NULL, 0, NULL, NULL) != ARC_OK ? -1 : 0;
    arc_db_free(db);
    return rc;
}

struct row {
    char event_id[40], type[70], aggregate[130], traceparent[60];
    arc_buf body;
};

static int
on_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    (void)ncols;
    struct row *r = ud;
    arc_db_col_copy(r->event_id, sizeof r->event_id, &c[0]);
    arc_db_col_copy(r->type, sizeof r->type, &c[1]);
    arc_db_col_copy(r->aggregate, sizeof r->aggregate, &c[2]);
    arc_db_col_copy(r->traceparent, sizeof r->traceparent, &c[3]);
    arc_buf_reset(&r->body);
    arc_buf_append(&r->body, c[4].s, c[4].len);
    return 0;
}

/* Adds one event in a transaction, then answers end. */
struct add_tx {
    const struct arc_event *ev;
    arc_buf *scratch;
    enum arc_err end;
};

static enum arc_err
tx_add(arc_db *d, void *ud)
{
    struct add_tx *t = ud;
    assert_int_equal(arc_outbox_add(d, ST_ADD, t->ev, t->scratch), ARC_OK);
    return t->end;
}

static void
outbox_row_is_the_envelope_and_only_after_commit(void **state)
{
    (void)state;
    ARC_TEST_NEED(db != NULL, "no test database (run under tests/with-test-db)");
    struct arc_trace trace;
    arc_trace_start(&trace, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    const char *data = "{\"id\":42,\"name\":\"Caf\xc3\xa9 \\\"x\\\"\"}";
    const struct arc_event ev = {.type = "product.updated",
                                 .source = "catalog",
                                 .key = "product:42",
                                 .version = 9,
                                 .data = {data, strlen(data)},
                                 .trace = &trace};
    arc_buf scratch = ARC_BUF_INIT;
    int64_t rows = -1, oldest = -1;

    /* Rolled back: no event. */
    struct add_tx t = {&ev, &scratch, ARC_INVALID};
    assert_int_equal(arc_db_tx(db, "add", tx_add, &t), ARC_INVALID);
    assert_int_equal(arc_outbox_backlog(db, ST_BACKLOG, &rows, &oldest), ARC_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(oldest, 0);

    /* Committed: one row, whose body parses back to what was recorded. */
    t.end = ARC_OK;
    assert_int_equal(arc_db_tx(db, "add", tx_add, &t), ARC_OK);
    assert_int_equal(arc_outbox_backlog(db, ST_BACKLOG, &rows, &oldest), ARC_OK);
    assert_int_equal(rows, 1);
    assert_true(oldest >= 0 && oldest < 60000);

    struct row r = {.body = ARC_BUF_INIT};
    struct arc_db_col cols[5];
    for (size_t i = 0; i < 5; i++)
        cols[i] = (struct arc_db_col){.type = ARC_DB_STR};
    uint64_t n = 0;
    assert_int_equal(arc_db_query(db, ST_READ, NULL, 0, cols, 5, on_row, &r, &n), ARC_OK);
    assert_int_equal(n, 1);
    assert_string_equal(r.type, "product.updated");
    assert_string_equal(r.aggregate, "product:42");
    /* The event continues the request's trace, as a child of its span. */
    char tp[ARC_TRACEPARENT_LEN + 1];
    arc_trace_format(&trace, tp);
    assert_string_equal(r.traceparent, tp);

    json_object *root;
    struct arc_event_in in;
    assert_int_equal(arc_event_parse(r.body.ptr, r.body.len, &root, &in), ARC_OK);
    assert_string_equal(in.id, r.event_id);
    assert_string_equal(in.type, "product.updated");
    assert_string_equal(in.source, "catalog");
    assert_string_equal(in.key, "product:42");
    assert_int_equal(in.version, 9);
    assert_int_equal(strlen(in.occurred_at), strlen("2026-11-23T21:18:36.123Z"));
    assert_int_equal(in.occurred_at[23], 'Z');
    json_object *name;
    assert_true(json_object_object_get_ex(in.data, "name", &name));
    assert_string_equal(json_object_get_string(name), "Caf\xc3\xa9 \"x\"");
    json_object_put(root);

    /* A second event gets another id. */
    char first[40];
    memcpy(first, r.event_id, sizeof first);
    assert_int_equal(arc_db_tx(db, "add", tx_add, &t), ARC_OK);
    assert_int_equal(arc_db_query(db, ST_READ, NULL, 0, cols, 5, on_row, &r, &n), ARC_OK);
    assert_int_equal(n, 2);
    assert_string_not_equal(r.event_id, first);

    arc_buf_cleanup(&r.body);
    arc_buf_cleanup(&scratch);
}

int
main(int argc, char **argv)
{
    (void)argc;
    arc_test_init(argv[0], 120);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_an_envelope),
        cmocka_unit_test(refuses_what_is_not_an_envelope),
        cmocka_unit_test(outbox_row_is_the_envelope_and_only_after_commit),
    };
    return arc_test_exit(cmocka_run_group_tests(tests, setup, teardown));
}
