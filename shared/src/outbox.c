/*
 * outbox.c - the transactional outbox (outbox.h): an event is a row written
 * in the writer's transaction; the relay (relay.c) publishes it.
 */
#include "arcade/outbox.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arcade/json.h"
#include "arcade/log.h"

enum arc_err
arc_outbox_add(arc_db *db, unsigned stmt, const struct arc_event *ev, arc_buf *scratch)
{
    unsigned char raw[16];
    char id[33], when[ARC_TIME_LEN + 1], tp[ARC_TRACEPARENT_LEN + 1] = "";
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(id, sizeof id, raw, sizeof raw);
    arc_time_format(arc_wall_ms(), when);
    if (ev->trace != NULL)
        arc_trace_format(ev->trace, tp);

    arc_buf_reset(scratch);
    arc_buf_append_str(scratch, "{\"id\":\"");
    arc_buf_append_str(scratch, id);
    arc_buf_append_str(scratch, "\",\"type\":");
    arc_buf_append_json_string(scratch, ev->type, strlen(ev->type));
    arc_buf_append_str(scratch, ",\"occurred_at\":\"");
    arc_buf_append_str(scratch, when);
    arc_buf_append_str(scratch, "\",\"source\":");
    arc_buf_append_json_string(scratch, ev->source, strlen(ev->source));
    arc_buf_append_str(scratch, ",\"key\":");
    arc_buf_append_json_string(scratch, ev->key, strlen(ev->key));
    arc_buf_printf(scratch, ",\"version\":%lld,\"data\":", (long long)ev->version);
    arc_buf_append(scratch, ev->data.ptr, ev->data.len);
    arc_buf_append_char(scratch, '}');

    struct arc_db_param p[] = {
        ARC_DB_P_STR(id),
        ARC_DB_P_STR(ev->type),
        ARC_DB_P_STR(ev->key),
        ARC_DB_P_STR(tp),
        ARC_DB_P_STRN(scratch->ptr, scratch->len),
    };
    return arc_db_exec(db, stmt, p, ARC_ARRAY_LEN(p), NULL, NULL);
}

static int
on_backlog_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    int64_t *out = ud;
    (void)ncols;
    out[0] = c[0].i;
    out[1] = c[1].is_null ? 0 : c[1].i;
    return 0;
}

enum arc_err
arc_outbox_backlog(arc_db *db, unsigned stmt, int64_t *rows, int64_t *oldest_ms)
{
    struct arc_db_col cols[] = {{.type = ARC_DB_INT}, {.type = ARC_DB_INT}};
    int64_t out[2] = {0, 0};
    enum arc_err e = arc_db_query(db, stmt, NULL, 0, cols, 2, on_backlog_row, out, NULL);
    *rows = out[0];
    *oldest_ms = out[1] < 0 ? 0 : out[1];
    return e;
}
