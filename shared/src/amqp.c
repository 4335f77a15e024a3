/*
 * amqp.c - RabbitMQ through librabbitmq 0.11 (see amqp.h for the contract).
 *
 * rabbitmq-c 0.11 has no amqp_publisher_confirm_wait(): after
 * confirm.select the handle reads frames itself (amqp_simple_wait_frame_noblock
 * with a deadline) in pump(), which dispatches every method frame that can
 * arrive on a confirm-mode, consuming channel: basic.ack / basic.nack
 * (possibly multiple=true) settle the batch being published, basic.return
 * marks a message unroutable, basic.deliver is read with its content and
 * queued for arc_amqp_next, channel.close / connection.close are answered
 * with close-ok and end the channel / connection.
 *
 * Every (re)opened channel gets a new number (the generation modulo the
 * negotiated channel_max): frames the library queued for an old channel, and
 * deliveries received on it, can then never be mistaken for current ones
 * (acking an old delivery tag on a new channel would close it).
 */
#include "arcade/amqp.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "arcade/log.h"

#define FRAME_MAX 131072
#define MAX_QUEUE_NAME 200
#define MAX_TTL_MS (24u * 3600 * 1000)
#define ST_PENDING (-1)
#define NS_PER_MS (1000ull * 1000)

struct endpoint {
    char *buf; /* the parsed copy of the URL; the fields below point into it */
    struct amqp_connection_info info;
};

struct queued {
    struct queued *next;
    struct arc_amqp_delivery d;
};

struct arc_amqp {
    struct endpoint *eps;
    size_t neps, cur;
    unsigned connect_timeout_ms, rpc_timeout_ms, heartbeat_s, retry_ms;

    amqp_connection_state_t conn; /* NULL when not connected */
    bool broken;                  /* the connection is gone: replace it before use */
    uint64_t retry_after_ns;      /* no connect attempt before this */
    char peer[300];

    bool chan_open;    /* channel open, in confirm mode */
    uint64_t chan_gen; /* generation of the current channel (grows forever) */
    amqp_channel_t chan;
    uint64_t next_tag; /* publish sequence number of the next message on chan */

    char *consume_queue; /* NULL unless arc_amqp_consume was called */
    unsigned prefetch;
    bool consuming; /* basic.consume is active on chan */
    struct queued *q_head, *q_tail;

    /* The batch being confirmed by pump(). */
    const struct arc_amqp_msg *b_msgs;
    uint64_t b_first;
    size_t b_n, b_open;
    int *b_state; /* enum arc_err, or ST_PENDING */
    bool *b_returned;
    size_t b_cap;
    bool untagged_return; /* a return matched no message: charge the next ack */

    struct arc_amqp_delivery scratch; /* content of a basic.return */
};

static void channel_lost(arc_amqp *a);

/* ---- small helpers ---- */

static struct timeval
tv_from_ns(uint64_t ns)
{
    struct timeval tv = {.tv_sec = (time_t)(ns / 1000000000ull),
                         .tv_usec = (suseconds_t)((ns % 1000000000ull) / 1000)};
    return tv;
}

static amqp_bytes_t
bytes_of(const char *s)
{
    return amqp_cstring_bytes(s);
}

/* Copies b into dst[cap] NUL-terminated, or leaves "" when it does not fit. */
static void
copy_bytes(char *dst, size_t cap, amqp_bytes_t b)
{
    dst[0] = '\0';
    if (b.len < cap && (b.len == 0 || b.bytes != NULL)) {
        if (b.len > 0)
            memcpy(dst, b.bytes, b.len);
        dst[b.len] = '\0';
    }
}

static bool
bytes_eq(amqp_bytes_t b, const char *s)
{
    size_t n = strlen(s);
    return b.len == n && (n == 0 || memcmp(b.bytes, s, n) == 0);
}

static bool
field_int(const amqp_field_value_t *v, int64_t *out)
{
    switch (v->kind) {
    case AMQP_FIELD_KIND_I8:
        *out = v->value.i8;
        return true;
    case AMQP_FIELD_KIND_U8:
        *out = v->value.u8;
        return true;
    case AMQP_FIELD_KIND_I16:
        *out = v->value.i16;
        return true;
    case AMQP_FIELD_KIND_U16:
        *out = v->value.u16;
        return true;
    case AMQP_FIELD_KIND_I32:
        *out = v->value.i32;
        return true;
    case AMQP_FIELD_KIND_U32:
        *out = v->value.u32;
        return true;
    case AMQP_FIELD_KIND_I64:
        *out = v->value.i64;
        return true;
    case AMQP_FIELD_KIND_U64:
        *out = (int64_t)(v->value.u64 & INT64_MAX);
        return true;
    default:
        return false;
    }
}

static bool
field_str(const amqp_field_value_t *v, amqp_bytes_t *out)
{
    if (v->kind != AMQP_FIELD_KIND_UTF8 && v->kind != AMQP_FIELD_KIND_BYTES)
        return false;
    *out = v->value.bytes;
    return true;
}

/* The x-death count of rejections from queue (any queue when NULL). */
static unsigned
xdeath_rejected(const amqp_table_t *h, const char *queue)
{
    unsigned best = 0;
    for (int i = 0; i < h->num_entries; i++) {
        const amqp_table_entry_t *e = &h->entries[i];
        if (!bytes_eq(e->key, "x-death") || e->value.kind != AMQP_FIELD_KIND_ARRAY)
            continue;
        const amqp_array_t *arr = &e->value.value.array;
        for (int j = 0; j < arr->num_entries; j++) {
            if (arr->entries[j].kind != AMQP_FIELD_KIND_TABLE)
                continue;
            const amqp_table_t *t = &arr->entries[j].value.table;
            int64_t count = 0;
            bool rejected = false, ours = queue == NULL;
            for (int k = 0; k < t->num_entries; k++) {
                const amqp_table_entry_t *f = &t->entries[k];
                amqp_bytes_t s;
                if (bytes_eq(f->key, "count"))
                    (void)field_int(&f->value, &count);
                else if (bytes_eq(f->key, "reason") && field_str(&f->value, &s))
                    rejected = bytes_eq(s, "rejected");
                else if (queue != NULL && bytes_eq(f->key, "queue") && field_str(&f->value, &s))
                    ours = bytes_eq(s, queue);
            }
            if (rejected && ours && count > 0 && (uint64_t)count > best)
                best = count > (int64_t)UINT32_MAX ? UINT32_MAX : (unsigned)count;
        }
    }
    return best;
}

static void
copy_props(arc_amqp *a, struct arc_amqp_delivery *d, const amqp_basic_properties_t *p)
{
    d->message_id[0] = d->type[0] = d->traceparent[0] = '\0';
    d->dead_routing_key[0] = d->dead_reason[0] = '\0';
    d->attempts = d->dead_attempts = 0;
    if (p == NULL)
        return;
    if (p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG)
        copy_bytes(d->message_id, sizeof d->message_id, p->message_id);
    if (p->_flags & AMQP_BASIC_TYPE_FLAG)
        copy_bytes(d->type, sizeof d->type, p->type);
    if (p->_flags & AMQP_BASIC_HEADERS_FLAG) {
        for (int i = 0; i < p->headers.num_entries; i++) {
            const amqp_table_entry_t *e = &p->headers.entries[i];
            amqp_bytes_t s;
            int64_t n;
            if (bytes_eq(e->key, "traceparent") && field_str(&e->value, &s))
                copy_bytes(d->traceparent, sizeof d->traceparent, s);
            else if (bytes_eq(e->key, "x-original-routing-key") && field_str(&e->value, &s))
                copy_bytes(d->dead_routing_key, sizeof d->dead_routing_key, s);
            else if (bytes_eq(e->key, "x-error") && field_str(&e->value, &s))
                copy_bytes(d->dead_reason, sizeof d->dead_reason, s);
            else if (bytes_eq(e->key, "x-attempts") && field_int(&e->value, &n) && n > 0)
                d->dead_attempts = n > (int64_t)UINT32_MAX ? UINT32_MAX : (unsigned)n;
        }
        d->attempts = xdeath_rejected(&p->headers, a->consume_queue);
    }
}

static void
free_queue(arc_amqp *a)
{
    while (a->q_head != NULL) {
        struct queued *q = a->q_head;
        a->q_head = q->next;
        arc_amqp_delivery_cleanup(&q->d);
        free(q);
    }
    a->q_tail = NULL;
}

/* ---- connection state ---- */

static void
mark_broken(arc_amqp *a, const char *what, int status)
{
    if (!a->broken)
        arc_log_warn("amqp %s: %s: %s", a->peer, what, amqp_error_string2(status));
    a->broken = true;
}

static void
teardown(arc_amqp *a, bool polite)
{
    if (a->conn == NULL)
        return;
    if (polite && !a->broken) {
        if (a->chan_open)
            (void)amqp_channel_close(a->conn, a->chan, AMQP_REPLY_SUCCESS);
        (void)amqp_connection_close(a->conn, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(a->conn);
    a->conn = NULL;
    a->broken = false;
    a->peer[0] = '\0';
    channel_lost(a);
}

/* The channel is gone (closed by the broker or with the connection): its
 * deliveries can no longer be acknowledged. */
static void
channel_lost(arc_amqp *a)
{
    a->chan_open = false;
    a->consuming = false;
    free_queue(a);
}

/* Translates a reply; answers channel.close / connection.close. */
static enum arc_err
check_reply(arc_amqp *a, amqp_rpc_reply_t r, const char *what)
{
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return ARC_OK;
    case AMQP_RESPONSE_NONE:
        arc_log_warn("amqp %s: %s: no reply", a->peer, what);
        a->broken = true;
        return ARC_UNAVAILABLE;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        /* Socket errors, timeouts (a late reply would be taken for the next
         * one's), protocol errors: the connection is unusable. */
        mark_broken(a, what, r.library_error);
        return ARC_UNAVAILABLE;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        break;
    }
    if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const amqp_connection_close_t *m = r.reply.decoded;
        arc_log_warn("amqp %s: %s: connection closed by the broker: %u %.*s", a->peer, what,
                     m->reply_code, (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        amqp_connection_close_ok_t ok = {0};
        (void)amqp_send_method(a->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        a->broken = true;
        return ARC_UNAVAILABLE;
    }
    if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const amqp_channel_close_t *m = r.reply.decoded;
        unsigned code = m->reply_code;
        arc_log_warn("amqp %s: %s: channel closed by the broker: %u %.*s", a->peer, what, code,
                     (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        amqp_channel_close_ok_t ok = {0};
        int rc = amqp_send_method(a->conn, a->chan, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
        if (rc < 0)
            mark_broken(a, "channel.close-ok", rc);
        channel_lost(a);
        switch (code) {
        case AMQP_NOT_FOUND:
            return ARC_NOT_FOUND;
        case AMQP_PRECONDITION_FAILED:
        case AMQP_RESOURCE_LOCKED:
            return ARC_CONFLICT;
        case AMQP_ACCESS_REFUSED:
            return ARC_INVALID;
        default:
            return ARC_INTERNAL;
        }
    }
    arc_log_warn("amqp %s: %s: unexpected method 0x%08x", a->peer, what, (unsigned)r.reply.id);
    a->broken = true;
    return ARC_UNAVAILABLE;
}

static bool
connect_one(arc_amqp *a, const struct endpoint *ep)
{
    struct amqp_connection_info *in = (struct amqp_connection_info *)&ep->info;
    snprintf(a->peer, sizeof a->peer, "%s:%d", in->host, in->port);
    a->conn = amqp_new_connection();
    if (a->conn == NULL)
        abort(); /* out of memory, as arc_xmalloc */
    a->broken = false;
    amqp_socket_t *sock = amqp_tcp_socket_new(a->conn);
    if (sock == NULL)
        abort();
    struct timeval ctv = tv_from_ns(a->connect_timeout_ms * NS_PER_MS);
    struct timeval rtv = tv_from_ns(a->rpc_timeout_ms * NS_PER_MS);
    int rc = amqp_socket_open_noblock(sock, in->host, in->port, &ctv);
    if (rc != AMQP_STATUS_OK) {
        mark_broken(a, "connect", rc);
        goto fail;
    }
    if ((rc = amqp_set_handshake_timeout(a->conn, &rtv)) != AMQP_STATUS_OK ||
        (rc = amqp_set_rpc_timeout(a->conn, &rtv)) != AMQP_STATUS_OK) {
        mark_broken(a, "set timeouts", rc);
        goto fail;
    }
    /* consumer_cancel_notify: the broker tells when it drops our consumer
     * (queue deleted), so that it is re-established; librabbitmq merges these
     * with its own client properties. */
    amqp_table_entry_t cap = {.key = bytes_of("consumer_cancel_notify")};
    cap.value.kind = AMQP_FIELD_KIND_BOOLEAN;
    cap.value.value.boolean = 1;
    amqp_table_entry_t prop = {.key = bytes_of("capabilities")};
    prop.value.kind = AMQP_FIELD_KIND_TABLE;
    prop.value.value.table = (amqp_table_t){.num_entries = 1, .entries = &cap};
    amqp_table_t props = {.num_entries = 1, .entries = &prop};
    amqp_rpc_reply_t r =
        amqp_login_with_properties(a->conn, in->vhost, 0, FRAME_MAX, (int)a->heartbeat_s, &props,
                                   AMQP_SASL_METHOD_PLAIN, in->user, in->password);
    if (check_reply(a, r, "login") != ARC_OK)
        goto fail;
    return true;
fail:
    amqp_destroy_connection(a->conn);
    a->conn = NULL;
    a->broken = false;
    a->peer[0] = '\0';
    return false;
}

static enum arc_err
connect_any(arc_amqp *a)
{
    uint64_t now = arc_now_ns();
    if (now < a->retry_after_ns)
        return ARC_UNAVAILABLE;
    for (size_t i = 0; i < a->neps; i++) {
        size_t idx = (a->cur + i) % a->neps;
        if (connect_one(a, &a->eps[idx])) {
            arc_log_info("amqp: connected to %s", a->peer);
            a->cur = idx;
            a->retry_after_ns = 0;
            return ARC_OK;
        }
    }
    a->retry_after_ns = arc_now_ns() + a->retry_ms * NS_PER_MS;
    return ARC_UNAVAILABLE;
}

static enum arc_err
start_consume(arc_amqp *a)
{
    (void)amqp_basic_qos(a->conn, a->chan, 0, (uint16_t)a->prefetch, 0);
    enum arc_err e = check_reply(a, amqp_get_rpc_reply(a->conn), "basic.qos");
    if (e != ARC_OK)
        return e;
    (void)amqp_basic_consume(a->conn, a->chan, bytes_of(a->consume_queue), amqp_empty_bytes, 0, 0,
                             0, amqp_empty_table);
    e = check_reply(a, amqp_get_rpc_reply(a->conn), "basic.consume");
    if (e == ARC_OK)
        a->consuming = true;
    return e;
}

static enum arc_err
open_channel(arc_amqp *a)
{
    int max = amqp_get_channel_max(a->conn);
    if (max <= 0 || max > 65535)
        max = 65535;
    a->chan_gen++;
    a->chan = (amqp_channel_t)((a->chan_gen - 1) % (uint64_t)max + 1);
    (void)amqp_channel_open(a->conn, a->chan);
    enum arc_err e = check_reply(a, amqp_get_rpc_reply(a->conn), "channel.open");
    if (e != ARC_OK)
        return e;
    a->chan_open = true;
    (void)amqp_confirm_select(a->conn, a->chan);
    if ((e = check_reply(a, amqp_get_rpc_reply(a->conn), "confirm.select")) != ARC_OK)
        return e;
    a->next_tag = 1;
    return ARC_OK;
}

/* ---- reading frames ---- */

/* One frame of any kind, with a deadline. ARC_NOT_FOUND on timeout. */
static enum arc_err
wait_frame(arc_amqp *a, uint64_t deadline_ns, amqp_frame_t *f)
{
    uint64_t now = arc_now_ns();
    struct timeval tv = tv_from_ns(deadline_ns > now ? deadline_ns - now : 0);
    int rc = amqp_simple_wait_frame_noblock(a->conn, f, &tv);
    if (rc == AMQP_STATUS_TIMEOUT)
        return ARC_NOT_FOUND;
    if (rc != AMQP_STATUS_OK) {
        mark_broken(a, "read", rc);
        return ARC_UNAVAILABLE;
    }
    return ARC_OK;
}

/* Reads the header and body frames that follow basic.deliver / basic.return
 * on the current channel. They are already on their way, so the wait is
 * bounded by the RPC timeout; a partial message leaves the connection broken. */
static enum arc_err
read_content(arc_amqp *a, struct arc_amqp_delivery *d)
{
    uint64_t deadline = arc_now_ns() + a->rpc_timeout_ms * NS_PER_MS;
    amqp_frame_t f;
    enum arc_err e;
    do {
        if ((e = wait_frame(a, deadline, &f)) != ARC_OK)
            goto lost;
    } while (f.channel != a->chan); /* leftovers of an old channel */
    if (f.frame_type != AMQP_FRAME_HEADER)
        goto lost;
    copy_props(a, d, f.payload.properties.decoded);
    uint64_t total = f.payload.properties.body_size;
    if (total > (uint64_t)1 << 30)
        goto lost;
    arc_buf_reset(&d->body);
    arc_buf_reserve(&d->body, (size_t)total + 1);
    while (d->body.len < total) {
        if ((e = wait_frame(a, deadline, &f)) != ARC_OK)
            goto lost;
        if (f.channel != a->chan)
            continue;
        if (f.frame_type != AMQP_FRAME_BODY || f.payload.body_fragment.len > total - d->body.len)
            goto lost;
        arc_buf_append(&d->body, f.payload.body_fragment.bytes, f.payload.body_fragment.len);
    }
    if (d->body.cap == 0)
        arc_buf_append(&d->body, "", 0);
    return ARC_OK;
lost:
    if (!a->broken)
        arc_log_warn("amqp %s: incomplete message content", a->peer);
    a->broken = true;
    return ARC_UNAVAILABLE;
}

static void
settle(arc_amqp *a, uint64_t tag, bool multiple, enum arc_err res)
{
    if (a->b_n == 0 || tag < a->b_first)
        return;
    uint64_t lo = multiple ? a->b_first : tag;
    uint64_t hi = tag < a->b_first + a->b_n ? tag : a->b_first + a->b_n - 1;
    for (uint64_t t = lo; t <= hi; t++) {
        size_t i = (size_t)(t - a->b_first);
        if (a->b_state[i] != ST_PENDING)
            continue;
        if (a->untagged_return && res == ARC_OK && t == hi) {
            a->b_returned[i] = true;
            a->untagged_return = false;
        }
        a->b_state[i] = (res == ARC_OK && a->b_returned[i]) ? ARC_NOT_FOUND : res;
        a->b_open--;
    }
}

static void
mark_returned(arc_amqp *a, const char *message_id)
{
    for (size_t i = 0; message_id[0] != '\0' && i < a->b_n; i++) {
        const char *id = a->b_msgs[i].message_id;
        if (a->b_state[i] == ST_PENDING && !a->b_returned[i] && id != NULL &&
            strcmp(id, message_id) == 0) {
            a->b_returned[i] = true;
            return;
        }
    }
    a->untagged_return = true;
}

/* Reads and handles one frame. ARC_OK (handled), ARC_NOT_FOUND (deadline),
 * ARC_UNAVAILABLE (the connection or the channel is gone). */
static enum arc_err
pump(arc_amqp *a, uint64_t deadline_ns)
{
    amqp_frame_t f;
    amqp_maybe_release_buffers(a->conn);
    enum arc_err e = wait_frame(a, deadline_ns, &f);
    if (e != ARC_OK)
        return e;
    if (f.frame_type != AMQP_FRAME_METHOD)
        return ARC_OK; /* content of a message of an old channel */
    if (f.channel == 0 && f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
        amqp_rpc_reply_t r = {.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION,
                              .reply = f.payload.method};
        return check_reply(a, r, "wait");
    }
    if (f.channel != a->chan || !a->chan_open)
        return ARC_OK;
    switch (f.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        const amqp_basic_ack_t *m = f.payload.method.decoded;
        settle(a, m->delivery_tag, m->multiple, ARC_OK);
        return ARC_OK;
    }
    case AMQP_BASIC_NACK_METHOD: {
        const amqp_basic_nack_t *m = f.payload.method.decoded;
        arc_log_warn("amqp %s: publish nacked (tag %llu)", a->peer,
                     (unsigned long long)m->delivery_tag);
        settle(a, m->delivery_tag, m->multiple, ARC_RETRY);
        return ARC_OK;
    }
    case AMQP_BASIC_RETURN_METHOD: {
        const amqp_basic_return_t *m = f.payload.method.decoded;
        arc_log_warn("amqp %s: message returned: %u %.*s (routing key %.*s)", a->peer,
                     m->reply_code, (int)m->reply_text.len, (const char *)m->reply_text.bytes,
                     (int)m->routing_key.len, (const char *)m->routing_key.bytes);
        if ((e = read_content(a, &a->scratch)) != ARC_OK)
            return e;
        mark_returned(a, a->scratch.message_id);
        return ARC_OK;
    }
    case AMQP_BASIC_DELIVER_METHOD: {
        const amqp_basic_deliver_t *m = f.payload.method.decoded;
        struct queued *q = arc_xcalloc(1, sizeof *q);
        arc_amqp_delivery_init(&q->d);
        q->d.tag = m->delivery_tag;
        q->d.redelivered = m->redelivered;
        q->d.chan_gen = a->chan_gen;
        copy_bytes(q->d.routing_key, sizeof q->d.routing_key, m->routing_key);
        if ((e = read_content(a, &q->d)) != ARC_OK) {
            arc_amqp_delivery_cleanup(&q->d);
            free(q);
            return e;
        }
        if (a->q_tail != NULL)
            a->q_tail->next = q;
        else
            a->q_head = q;
        a->q_tail = q;
        return ARC_OK;
    }
    case AMQP_BASIC_CANCEL_METHOD:
        arc_log_warn("amqp %s: consumer cancelled by the broker", a->peer);
        a->consuming = false;
        return ARC_OK;
    case AMQP_CHANNEL_CLOSE_METHOD: {
        amqp_rpc_reply_t r = {.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION,
                              .reply = f.payload.method};
        (void)check_reply(a, r, "wait");
        return ARC_UNAVAILABLE;
    }
    default:
        return ARC_OK;
    }
}

/* Handles the frames already received, without waiting: notices a closed
 * connection (EOF, connection.close) or channel. */
static void
poll_input(arc_amqp *a)
{
    if (a->conn == NULL || a->broken)
        return;
    uint64_t now = arc_now_ns();
    while (pump(a, now) == ARC_OK && !a->broken)
        ;
}

/* Connects, or notices that the broker has closed the connection (frames
 * waiting, EOF) and reconnects once; opens the channel, and with consumer the
 * consumer too (only the consuming calls need it: a publish or a declaration
 * must work while the consumed queue is missing). */
static enum arc_err
ensure(arc_amqp *a, bool consumer)
{
    poll_input(a);
    if (a->conn != NULL && a->broken)
        teardown(a, false);
    if (a->conn == NULL && connect_any(a) != ARC_OK)
        return ARC_UNAVAILABLE;
    if (!a->chan_open) {
        enum arc_err e = open_channel(a);
        if (e != ARC_OK) {
            if (a->broken)
                teardown(a, false);
            return ARC_UNAVAILABLE;
        }
    }
    if (consumer && a->consume_queue != NULL && !a->consuming) {
        enum arc_err e = start_consume(a);
        if (e != ARC_OK) {
            if (a->broken)
                teardown(a, false);
            return e == ARC_NOT_FOUND ? e : ARC_UNAVAILABLE;
        }
    }
    return ARC_OK;
}

/* ---- public: handle ---- */

arc_amqp *
arc_amqp_new(const struct arc_amqp_options *opt)
{
    if (opt == NULL || opt->urls == NULL || opt->urls[0] == '\0') {
        arc_log_error("amqp: no broker URL");
        return NULL;
    }
    arc_amqp *a = arc_xcalloc(1, sizeof *a);
    a->connect_timeout_ms = opt->connect_timeout_ms ? opt->connect_timeout_ms : 1000;
    a->rpc_timeout_ms = opt->rpc_timeout_ms ? opt->rpc_timeout_ms : 2000;
    a->heartbeat_s = opt->heartbeat_s ? opt->heartbeat_s : 30;
    a->retry_ms = opt->retry_ms ? opt->retry_ms : 500;
    arc_amqp_delivery_init(&a->scratch);

    const char *p = opt->urls;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len > 0 && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len > 0) {
            a->eps = arc_xrealloc(a->eps, (a->neps + 1) * sizeof *a->eps);
            struct endpoint *ep = &a->eps[a->neps];
            ep->buf = arc_xstrndup(p, len);
            amqp_default_connection_info(&ep->info);
            if (amqp_parse_url(ep->buf, &ep->info) != AMQP_STATUS_OK || ep->info.ssl) {
                arc_log_error("amqp: malformed broker URL #%zu (amqp://user:pass@host:port/vhost)",
                              a->neps + 1);
                free(ep->buf);
                arc_amqp_free(a);
                return NULL;
            }
            if (ep->info.vhost[0] == '\0')
                ep->info.vhost = (char *)"/";
            a->neps++;
        }
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    if (a->neps == 0) {
        arc_log_error("amqp: no broker URL");
        arc_amqp_free(a);
        return NULL;
    }
    return a;
}

void
arc_amqp_free(arc_amqp *a)
{
    if (a == NULL)
        return;
    teardown(a, true);
    for (size_t i = 0; i < a->neps; i++)
        free(a->eps[i].buf);
    free(a->eps);
    free(a->consume_queue);
    free(a->b_state);
    free(a->b_returned);
    arc_amqp_delivery_cleanup(&a->scratch);
    free(a);
}

enum arc_err
arc_amqp_ensure(arc_amqp *a)
{
    return ensure(a, true) == ARC_OK ? ARC_OK : ARC_UNAVAILABLE;
}

const char *
arc_amqp_peer(const arc_amqp *a)
{
    return a->conn != NULL ? a->peer : "";
}

/* ---- public: topology ---- */

static bool
valid_queue(const char *queue)
{
    size_t n = queue ? strlen(queue) : 0;
    return n > 0 && n <= MAX_QUEUE_NAME;
}

static enum arc_err
declare_exchange(arc_amqp *a)
{
    (void)amqp_exchange_declare(a->conn, a->chan, bytes_of(ARC_AMQP_EXCHANGE), bytes_of("topic"), 0,
                                1, 0, 0, amqp_empty_table);
    return check_reply(a, amqp_get_rpc_reply(a->conn), "exchange.declare");
}

enum arc_err
arc_amqp_declare_exchange(arc_amqp *a)
{
    enum arc_err e = ensure(a, false);
    return e != ARC_OK ? e : declare_exchange(a);
}

static enum arc_err
declare_queue(arc_amqp *a, const char *name, amqp_table_entry_t *args, int nargs)
{
    amqp_table_t t = {.num_entries = nargs, .entries = args};
    (void)amqp_queue_declare(a->conn, a->chan, bytes_of(name), 0, 1, 0, 0, t);
    return check_reply(a, amqp_get_rpc_reply(a->conn), "queue.declare");
}

static amqp_table_entry_t
entry_str(const char *key, const char *val)
{
    amqp_table_entry_t e = {.key = bytes_of(key)};
    e.value.kind = AMQP_FIELD_KIND_UTF8;
    e.value.value.bytes = bytes_of(val);
    return e;
}

static amqp_table_entry_t
entry_int(const char *key, int32_t val)
{
    amqp_table_entry_t e = {.key = bytes_of(key)};
    e.value.kind = AMQP_FIELD_KIND_I32;
    e.value.value.i32 = val;
    return e;
}

enum arc_err
arc_amqp_declare_queues(arc_amqp *a, const char *queue, const char *const *keys, size_t nkeys,
                        unsigned retry_ttl_ms)
{
    if (!valid_queue(queue) || (nkeys > 0 && keys == NULL) || retry_ttl_ms > MAX_TTL_MS)
        return ARC_INVALID;
    for (size_t i = 0; i < nkeys; i++)
        if (keys[i] == NULL || strlen(keys[i]) > 255)
            return ARC_INVALID;
    char retry[MAX_QUEUE_NAME + 8], dead[MAX_QUEUE_NAME + 8];
    snprintf(retry, sizeof retry, "%s.retry", queue);
    snprintf(dead, sizeof dead, "%s.dead", queue);

    enum arc_err e = ensure(a, false);
    if (e != ARC_OK || (e = declare_exchange(a)) != ARC_OK)
        return e;
    amqp_table_entry_t main_args[] = {entry_str("x-dead-letter-exchange", ""),
                                      entry_str("x-dead-letter-routing-key", retry)};
    if ((e = declare_queue(a, queue, main_args, 2)) != ARC_OK)
        return e;
    amqp_table_entry_t retry_args[] = {
        entry_int("x-message-ttl", (int32_t)(retry_ttl_ms ? retry_ttl_ms : 1000)),
        entry_str("x-dead-letter-exchange", ""), entry_str("x-dead-letter-routing-key", queue)};
    if ((e = declare_queue(a, retry, retry_args, 3)) != ARC_OK)
        return e;
    if ((e = declare_queue(a, dead, NULL, 0)) != ARC_OK)
        return e;
    for (size_t i = 0; i < nkeys; i++) {
        (void)amqp_queue_bind(a->conn, a->chan, bytes_of(queue), bytes_of(ARC_AMQP_EXCHANGE),
                              bytes_of(keys[i]), amqp_empty_table);
        if ((e = check_reply(a, amqp_get_rpc_reply(a->conn), "queue.bind")) != ARC_OK)
            return e;
    }
    return ARC_OK;
}

/* ---- public: publishing ---- */

static enum arc_err
send_one(arc_amqp *a, const struct arc_amqp_msg *m, const amqp_table_entry_t *extra, int nextra)
{
    amqp_basic_properties_t p;
    memset(&p, 0, sizeof p);
    p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    p.content_type = bytes_of("application/json");
    p.delivery_mode = AMQP_DELIVERY_PERSISTENT;
    if (m->message_id != NULL) {
        p._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
        p.message_id = bytes_of(m->message_id);
    }
    if (m->type != NULL) {
        p._flags |= AMQP_BASIC_TYPE_FLAG;
        p.type = bytes_of(m->type);
    }
    amqp_table_entry_t hdr[4];
    int nh = 0;
    if (m->traceparent != NULL)
        hdr[nh++] = entry_str("traceparent", m->traceparent);
    for (int i = 0; i < nextra && nh < (int)ARC_ARRAY_LEN(hdr); i++)
        hdr[nh++] = extra[i];
    if (nh > 0) {
        p._flags |= AMQP_BASIC_HEADERS_FLAG;
        p.headers.num_entries = nh;
        p.headers.entries = hdr;
    }
    amqp_bytes_t body = {.len = m->body.len, .bytes = (void *)m->body.ptr};
    const char *ex = m->exchange != NULL ? m->exchange : ARC_AMQP_EXCHANGE;
    int rc = amqp_basic_publish(a->conn, a->chan, bytes_of(ex), bytes_of(m->routing_key),
                                m->mandatory, 0, &p, body);
    if (rc != AMQP_STATUS_OK) {
        mark_broken(a, "publish", rc);
        return ARC_UNAVAILABLE;
    }
    return ARC_OK;
}

static enum arc_err
publish_batch(arc_amqp *a, const struct arc_amqp_msg *msgs, size_t n, unsigned timeout_ms,
              enum arc_err *results, const amqp_table_entry_t *extra, int nextra)
{
    for (size_t i = 0; i < n; i++) {
        results[i] = ARC_UNAVAILABLE;
        if (msgs[i].routing_key == NULL || strlen(msgs[i].routing_key) > 255 ||
            (msgs[i].body.len > 0 && msgs[i].body.ptr == NULL))
            return ARC_INVALID;
    }
    if (n == 0)
        return ARC_OK;
    enum arc_err e = ensure(a, false);
    if (e != ARC_OK)
        return ARC_UNAVAILABLE;
    if (n > a->b_cap) {
        a->b_state = arc_xrealloc(a->b_state, n * sizeof *a->b_state);
        a->b_returned = arc_xrealloc(a->b_returned, n * sizeof *a->b_returned);
        a->b_cap = n;
    }
    a->b_msgs = msgs;
    a->b_first = a->next_tag;
    a->b_n = a->b_open = 0;
    a->untagged_return = false;
    for (size_t i = 0; i < n; i++) {
        if (send_one(a, &msgs[i], extra, nextra) != ARC_OK)
            break;
        a->b_state[i] = ST_PENDING;
        a->b_returned[i] = false;
        a->next_tag++;
        a->b_n++;
        a->b_open++;
    }
    uint64_t gen = a->chan_gen;
    uint64_t deadline = arc_now_ns() + (timeout_ms ? timeout_ms : 5000) * NS_PER_MS;
    while (a->b_open > 0 && !a->broken && a->chan_open && a->chan_gen == gen) {
        if (pump(a, deadline) == ARC_NOT_FOUND)
            break;
    }
    enum arc_err ret = ARC_OK;
    for (size_t i = 0; i < a->b_n; i++)
        if (a->b_state[i] != ST_PENDING)
            results[i] = (enum arc_err)a->b_state[i];
    for (size_t i = 0; i < n; i++)
        if (ret == ARC_OK && results[i] != ARC_OK)
            ret = results[i];
    if (a->b_open > 0 && !a->broken && a->chan_open)
        arc_log_warn("amqp %s: %zu publish(es) not confirmed in time", a->peer, a->b_open);
    a->b_n = a->b_open = 0;
    a->b_msgs = NULL;
    return ret;
}

enum arc_err
arc_amqp_publish_batch(arc_amqp *a, const struct arc_amqp_msg *msgs, size_t n, unsigned timeout_ms,
                       enum arc_err *results)
{
    return publish_batch(a, msgs, n, timeout_ms, results, NULL, 0);
}

enum arc_err
arc_amqp_publish(arc_amqp *a, const struct arc_amqp_msg *msg, unsigned timeout_ms)
{
    enum arc_err r;
    return publish_batch(a, msg, 1, timeout_ms, &r, NULL, 0);
}

/* ---- public: consuming ---- */

void
arc_amqp_delivery_init(struct arc_amqp_delivery *d)
{
    memset(d, 0, sizeof *d);
    arc_buf_init(&d->body);
}

void
arc_amqp_delivery_cleanup(struct arc_amqp_delivery *d)
{
    arc_buf_cleanup(&d->body);
}

enum arc_err
arc_amqp_consume(arc_amqp *a, const char *queue, unsigned prefetch)
{
    if (!valid_queue(queue) || prefetch < 1 || prefetch > 1000)
        return ARC_INVALID;
    if (a->consume_queue != NULL)
        return strcmp(a->consume_queue, queue) == 0 ? ensure(a, true) : ARC_INVALID;
    a->consume_queue = arc_xstrdup(queue);
    a->prefetch = prefetch;
    enum arc_err e = ensure(a, true);
    if (e == ARC_NOT_FOUND) { /* no such queue: forget it, the caller declares it first */
        free(a->consume_queue);
        a->consume_queue = NULL;
    }
    return e;
}

enum arc_err
arc_amqp_next(arc_amqp *a, unsigned timeout_ms, struct arc_amqp_delivery *d)
{
    if (a->consume_queue == NULL)
        return ARC_INVALID;
    uint64_t deadline = arc_now_ns() + timeout_ms * NS_PER_MS;
    for (;;) {
        if (a->q_head != NULL) {
            struct queued *q = a->q_head;
            a->q_head = q->next;
            if (a->q_head == NULL)
                a->q_tail = NULL;
            arc_buf old = d->body;
            *d = q->d;
            q->d.body = old;
            arc_amqp_delivery_cleanup(&q->d);
            free(q);
            return ARC_OK;
        }
        enum arc_err e = ensure(a, true);
        if (e != ARC_OK)
            return e == ARC_NOT_FOUND ? ARC_UNAVAILABLE : e;
        if (a->q_head != NULL)
            continue;
        if (arc_now_ns() >= deadline)
            return ARC_NOT_FOUND;
        if (pump(a, deadline) == ARC_NOT_FOUND && a->q_head == NULL)
            return ARC_NOT_FOUND;
    }
}

/* Whether d can still be settled: it came on the current channel, which is
 * still open (frames already received are looked at first). */
static bool
delivery_current(arc_amqp *a, const struct arc_amqp_delivery *d)
{
    poll_input(a);
    return a->conn != NULL && !a->broken && a->chan_open && d->chan_gen == a->chan_gen;
}

enum arc_err
arc_amqp_ack(arc_amqp *a, const struct arc_amqp_delivery *d)
{
    if (!delivery_current(a, d))
        return ARC_UNAVAILABLE;
    int rc = amqp_basic_ack(a->conn, a->chan, d->tag, 0);
    if (rc != AMQP_STATUS_OK) {
        mark_broken(a, "basic.ack", rc);
        return ARC_UNAVAILABLE;
    }
    return ARC_OK;
}

enum arc_err
arc_amqp_reject(arc_amqp *a, const struct arc_amqp_delivery *d)
{
    if (!delivery_current(a, d))
        return ARC_UNAVAILABLE;
    int rc = amqp_basic_reject(a->conn, a->chan, d->tag, 0);
    if (rc != AMQP_STATUS_OK) {
        mark_broken(a, "basic.reject", rc);
        return ARC_UNAVAILABLE;
    }
    return ARC_OK;
}

enum arc_err
arc_amqp_dead_letter(arc_amqp *a, const struct arc_amqp_delivery *d, const char *reason,
                     unsigned timeout_ms)
{
    if (a->consume_queue == NULL)
        return ARC_INVALID;
    if (!delivery_current(a, d))
        return ARC_UNAVAILABLE;
    char dead[MAX_QUEUE_NAME + 8];
    snprintf(dead, sizeof dead, "%s.dead", a->consume_queue);
    struct arc_amqp_msg m = {
        .exchange = "",
        .routing_key = dead,
        .body = {d->body.ptr, d->body.len},
        .message_id = d->message_id[0] ? d->message_id : NULL,
        .type = d->type[0] ? d->type : NULL,
        .traceparent = d->traceparent[0] ? d->traceparent : NULL,
        .mandatory = true,
    };
    const char *routing_key = d->dead_routing_key[0] ? d->dead_routing_key : d->routing_key;
    amqp_table_entry_t extra[] = {
        entry_str("x-original-routing-key", routing_key),
        entry_int("x-attempts", (int32_t)((d->attempts + 1) & INT32_MAX)),
        entry_str("x-error", reason ? reason : ""),
    };
    enum arc_err r;
    enum arc_err e = publish_batch(a, &m, 1, timeout_ms, &r, extra, 3);
    if (e != ARC_OK)
        return e;
    return arc_amqp_ack(a, d);
}

/* ---- public: helpers ---- */

enum arc_err
arc_amqp_queue_depth(arc_amqp *a, const char *queue, uint32_t *count)
{
    if (queue == NULL || queue[0] == '\0' || strlen(queue) > 255)
        return ARC_INVALID;
    enum arc_err e = ensure(a, false);
    if (e != ARC_OK)
        return e;
    amqp_queue_declare_ok_t *ok =
        amqp_queue_declare(a->conn, a->chan, bytes_of(queue), 1, 0, 0, 0, amqp_empty_table);
    if ((e = check_reply(a, amqp_get_rpc_reply(a->conn), "queue.declare passive")) != ARC_OK)
        return e;
    *count = ok ? ok->message_count : 0;
    return ARC_OK;
}

enum arc_err
arc_amqp_purge(arc_amqp *a, const char *queue, uint32_t *count)
{
    if (queue == NULL || queue[0] == '\0' || strlen(queue) > 255)
        return ARC_INVALID;
    enum arc_err e = ensure(a, false);
    if (e != ARC_OK)
        return e;
    amqp_queue_purge_ok_t *ok = amqp_queue_purge(a->conn, a->chan, bytes_of(queue));
    if ((e = check_reply(a, amqp_get_rpc_reply(a->conn), "queue.purge")) != ARC_OK)
        return e;
    if (count != NULL)
        *count = ok ? ok->message_count : 0;
    return ARC_OK;
}

enum arc_err
arc_amqp_delete_queues(arc_amqp *a, const char *queue)
{
    if (!valid_queue(queue))
        return ARC_INVALID;
    enum arc_err e = ensure(a, false);
    if (e != ARC_OK)
        return e;
    static const char *const suffix[] = {"", ".retry", ".dead"};
    for (size_t i = 0; i < ARC_ARRAY_LEN(suffix); i++) {
        char name[MAX_QUEUE_NAME + 8];
        snprintf(name, sizeof name, "%s%s", queue, suffix[i]);
        (void)amqp_queue_delete(a->conn, a->chan, bytes_of(name), 0, 0);
        if ((e = check_reply(a, amqp_get_rpc_reply(a->conn), "queue.delete")) != ARC_OK)
            return e;
    }
    return ARC_OK;
}
