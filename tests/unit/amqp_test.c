/*
 * amqp_test.c - arc_amqp against a real RabbitMQ. The broker tests run only
 * when ARCADE_TEST_AMQP_URL is set (amqp://user:pass@host:port/vhost); they
 * declare queues named unittest.amqp.<pid>.* and delete them afterwards. When
 * ARCADE_TEST_AMQP_RESTART_CMD is set, it is run with system() to restart the
 * broker (it must return once the broker accepts connections again), which
 * tests a real restart. Tests without a broker (bad input, a closed port)
 * always run.
 */
#include "arc_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "arcade/amqp.h"
#include "arcade/log.h"

#define NS_PER_MS 1000000ull

static char queue[64];
static char queue_dead[80];

#define NEED_BROKER()                                                                              \
    ARC_TEST_NEED(broker_url() != NULL, "no ARCADE_TEST_AMQP_URL (tests/with-test-broker)")

static const char *
broker_url(void)
{
    const char *u = getenv("ARCADE_TEST_AMQP_URL");
    return u != NULL && u[0] != '\0' ? u : NULL;
}

static arc_amqp *
open_broker(unsigned retry_ms)
{
    struct arc_amqp_options o = {.urls = broker_url(), .retry_ms = retry_ms};
    arc_amqp *a = arc_amqp_new(&o);
    assert_non_null(a);
    return a;
}

/* A loopback port nobody listens on. */
static int
closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t len = sizeof sin;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    close(fd);
    return ntohs(sin.sin_port);
}

static void
msg_id(char *buf, size_t cap, const char *tag, int i)
{
    snprintf(buf, cap, "%s-%d-%05d", tag, (int)getpid(), i);
}

static enum arc_err
publish_event(arc_amqp *a, const char *id, const char *body)
{
    struct arc_amqp_msg m = {.routing_key = "unittest.created",
                             .body = {body, strlen(body)},
                             .message_id = id,
                             .type = "unittest.created",
                             .traceparent =
                                 "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"};
    return arc_amqp_publish(a, &m, 5000);
}

static uint32_t
depth(arc_amqp *a, const char *q)
{
    uint32_t n = 12345;
    assert_int_equal(arc_amqp_queue_depth(a, q, &n), ARC_OK);
    return n;
}

static int
group_setup(void **state)
{
    snprintf(queue, sizeof queue, "unittest.amqp.%d", (int)getpid());
    snprintf(queue_dead, sizeof queue_dead, "%s.dead", queue);
    return 0;
}

static int
group_teardown(void **state)
{
    if (broker_url() == NULL)
        return 0;
    arc_amqp *a = open_broker(0);
    int rc = arc_amqp_delete_queues(a, queue) == ARC_OK ? 0 : -1;
    arc_amqp_free(a);
    return rc;
}

/* Each broker test starts from freshly declared, empty queues. */
static int
setup(void **state)
{
    if (broker_url() == NULL)
        return 0;
    arc_amqp *a = open_broker(0);
    static const char *const keys[] = {"unittest.created", "unittest.#"};
    if (arc_amqp_delete_queues(a, queue) != ARC_OK ||
        arc_amqp_declare_queues(a, queue, keys, 2, 300) != ARC_OK) {
        arc_amqp_free(a);
        return -1;
    }
    *state = a;
    return 0;
}

static int
teardown(void **state)
{
    arc_amqp_free(*state);
    *state = NULL;
    return 0;
}

static void
test_new_rejects_bad_input(void **state)
{
    assert_null(arc_amqp_new(NULL));
    struct arc_amqp_options o = {.urls = ""};
    assert_null(arc_amqp_new(&o));
    o.urls = " , ";
    assert_null(arc_amqp_new(&o));
    o.urls = "http://localhost/";
    assert_null(arc_amqp_new(&o));
    o.urls = "amqp://localhost:5672/,amqp://h:notaport/";
    assert_null(arc_amqp_new(&o));
    o.urls = "amqp://u:p@localhost:5672/%2f, amqp://other";
    arc_amqp *a = arc_amqp_new(&o);
    assert_non_null(a);
    assert_string_equal(arc_amqp_peer(a), "");
    arc_amqp_free(a);
    arc_amqp_free(NULL);
}

/* A closed port fails fast, every call degrades, nothing blocks. */
static void
test_closed_port_is_unavailable_fast(void **state)
{
    char url[128];
    snprintf(url, sizeof url, "amqp://guest:guest@127.0.0.1:%d/", closed_port());
    struct arc_amqp_options o = {.urls = url, .retry_ms = 50};
    arc_amqp *a = arc_amqp_new(&o);
    assert_non_null(a);
    uint64_t t0 = arc_now_ns();
    assert_int_equal(arc_amqp_ensure(a), ARC_UNAVAILABLE);
    assert_true(arc_now_ns() - t0 < 1000 * NS_PER_MS);
    assert_int_equal(publish_event(a, "x", "{}"), ARC_UNAVAILABLE);
    assert_int_equal(arc_amqp_declare_exchange(a), ARC_UNAVAILABLE);
    uint32_t n;
    assert_int_equal(arc_amqp_queue_depth(a, "q", &n), ARC_UNAVAILABLE);
    usleep(60 * 1000); /* past retry_ms: tries again, fails again */
    assert_int_equal(arc_amqp_ensure(a), ARC_UNAVAILABLE);
    assert_true(arc_now_ns() - t0 < 1000 * NS_PER_MS);
    assert_int_equal(arc_amqp_consume(a, "q", 10), ARC_UNAVAILABLE);
    struct arc_amqp_delivery d;
    arc_amqp_delivery_init(&d);
    assert_int_equal(arc_amqp_next(a, 100, &d), ARC_UNAVAILABLE);
    assert_int_equal(arc_amqp_ack(a, &d), ARC_UNAVAILABLE);
    arc_amqp_delivery_cleanup(&d);
    assert_true(arc_now_ns() - t0 < 1000 * NS_PER_MS);
    arc_amqp_free(a);
}

/* A URL list: a dead node first, then the real one. */
static void
test_url_list_fails_over(void **state)
{
    NEED_BROKER();
    char urls[1024];
    snprintf(urls, sizeof urls, "amqp://guest:guest@127.0.0.1:%d/,%s", closed_port(), broker_url());
    struct arc_amqp_options o = {.urls = urls};
    arc_amqp *a = arc_amqp_new(&o);
    assert_non_null(a);
    assert_int_equal(arc_amqp_ensure(a), ARC_OK);
    assert_string_not_equal(arc_amqp_peer(a), "");
    arc_amqp_free(a);
}

static void
test_topology_is_idempotent(void **state)
{
    NEED_BROKER();
    arc_amqp *a = *state;
    static const char *const keys[] = {"unittest.created", "unittest.#"};
    assert_int_equal(arc_amqp_declare_exchange(a), ARC_OK);
    assert_int_equal(arc_amqp_declare_queues(a, queue, keys, 2, 300), ARC_OK);
    assert_int_equal(arc_amqp_declare_queues(a, queue, keys, 2, 300), ARC_OK);
    assert_int_equal(depth(a, queue), 0);
    char retry[80];
    snprintf(retry, sizeof retry, "%s.retry", queue);
    assert_int_equal(depth(a, retry), 0);
    assert_int_equal(depth(a, queue_dead), 0);
    /* Other arguments: the broker refuses (channel error); the handle recovers. */
    assert_int_equal(arc_amqp_declare_queues(a, queue, keys, 2, 999), ARC_CONFLICT);
    uint32_t n;
    assert_int_equal(arc_amqp_queue_depth(a, "unittest.amqp.no-such-queue", &n), ARC_NOT_FOUND);
    assert_int_equal(depth(a, queue), 0);
    assert_int_equal(arc_amqp_declare_queues(a, "", keys, 2, 300), ARC_INVALID);
}

/* 100 events published with confirms, consumed with prefetch, acked. */
static void
test_publish_and_consume(void **state)
{
    NEED_BROKER();
    arc_amqp *a = *state;
    enum { N = 100 };
    static char ids[N][64], bodies[N][64];
    struct arc_amqp_msg msgs[N];
    enum arc_err results[N];
    for (int i = 0; i < N; i++) {
        msg_id(ids[i], sizeof ids[i], "pc", i);
        snprintf(bodies[i], sizeof bodies[i], "{\"id\":\"%s\",\"n\":%d}", ids[i], i);
        msgs[i] = (struct arc_amqp_msg){.routing_key = "unittest.created",
                                        .body = {bodies[i], strlen(bodies[i])},
                                        .message_id = ids[i],
                                        .type = "unittest.created",
                                        .traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-"
                                                       "00f067aa0ba902b7-01",
                                        .mandatory = true};
    }
    assert_int_equal(arc_amqp_publish_batch(a, msgs, N, 5000, results), ARC_OK);
    for (int i = 0; i < N; i++)
        assert_int_equal(results[i], ARC_OK);
    assert_int_equal(depth(a, queue), N);

    assert_int_equal(arc_amqp_consume(a, queue, 10), ARC_OK);
    struct arc_amqp_delivery d;
    arc_amqp_delivery_init(&d);
    for (int i = 0; i < N; i++) {
        assert_int_equal(arc_amqp_next(a, 2000, &d), ARC_OK);
        assert_string_equal(d.message_id, ids[i]);
        assert_string_equal(d.type, "unittest.created");
        assert_string_equal(d.routing_key, "unittest.created");
        assert_string_equal(d.traceparent,
                            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        assert_int_equal(d.body.len, strlen(bodies[i]));
        assert_memory_equal(d.body.ptr, bodies[i], d.body.len);
        assert_int_equal(d.attempts, 0);
        assert_false(d.redelivered);
        assert_int_equal(arc_amqp_ack(a, &d), ARC_OK);
    }
    uint64_t t0 = arc_now_ns();
    assert_int_equal(arc_amqp_next(a, 200, &d), ARC_NOT_FOUND);
    assert_true(arc_now_ns() - t0 >= 150 * NS_PER_MS);
    assert_int_equal(depth(a, queue), 0);
    arc_amqp_delivery_cleanup(&d);

    /* An empty batch, and a message no queue takes (mandatory: returned). */
    assert_int_equal(arc_amqp_publish_batch(a, msgs, 0, 1000, results), ARC_OK);
    struct arc_amqp_msg lost = {.routing_key = "nobody.listens",
                                .body = {"{}", 2},
                                .message_id = "lost-1",
                                .mandatory = true};
    assert_int_equal(arc_amqp_publish(a, &lost, 2000), ARC_NOT_FOUND);
    lost.mandatory = false; /* dropped by the broker, but confirmed */
    assert_int_equal(arc_amqp_publish(a, &lost, 2000), ARC_OK);
    lost.routing_key = NULL;
    assert_int_equal(arc_amqp_publish(a, &lost, 2000), ARC_INVALID);
}

/* Publishing and consuming interleave on one channel: deliveries that arrive
 * while a publish waits for its confirm are kept for arc_amqp_next. */
static void
test_publish_while_consuming(void **state)
{
    NEED_BROKER();
    arc_amqp *a = *state;
    assert_int_equal(arc_amqp_consume(a, queue, 5), ARC_OK);
    char id[64];
    for (int i = 0; i < 20; i++) {
        msg_id(id, sizeof id, "pwc", i);
        assert_int_equal(publish_event(a, id, "{}"), ARC_OK);
    }
    /* A request/reply (queue.declare) while deliveries arrive: librabbitmq
     * queues them, nothing is lost or reordered. */
    uint32_t n;
    assert_int_equal(arc_amqp_queue_depth(a, queue, &n), ARC_OK);
    assert_true(n <= 20);
    struct arc_amqp_delivery d;
    arc_amqp_delivery_init(&d);
    for (int i = 0; i < 20; i++) {
        msg_id(id, sizeof id, "pwc", i);
        assert_int_equal(arc_amqp_next(a, 2000, &d), ARC_OK);
        assert_string_equal(d.message_id, id);
        assert_int_equal(arc_amqp_ack(a, &d), ARC_OK);
    }
    arc_amqp_delivery_cleanup(&d);
}

/* A rejected message waits the retry TTL in <queue>.retry and comes back,
 * counted in x-death; a second handle cannot ack another channel's delivery. */
static void
test_reject_goes_through_retry(void **state)
{
    NEED_BROKER();
    arc_amqp *a = *state;
    char id[64];
    msg_id(id, sizeof id, "rj", 0);
    assert_int_equal(publish_event(a, id, "{\"retry\":true}"), ARC_OK);
    assert_int_equal(arc_amqp_consume(a, queue, 10), ARC_OK);
    struct arc_amqp_delivery d;
    arc_amqp_delivery_init(&d);
    assert_int_equal(arc_amqp_next(a, 2000, &d), ARC_OK);
    assert_string_equal(d.message_id, id);
    assert_int_equal(d.attempts, 0);
    uint64_t t0 = arc_now_ns();
    assert_int_equal(arc_amqp_reject(a, &d), ARC_OK);
    assert_int_equal(arc_amqp_next(a, 5000, &d), ARC_OK);
    uint64_t waited = arc_now_ns() - t0;
    assert_true(waited >= 250 * NS_PER_MS); /* the retry TTL is 300 ms */
    assert_string_equal(d.message_id, id);
    assert_int_equal(d.attempts, 1);
    assert_string_equal(d.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    assert_memory_equal(d.body.ptr, "{\"retry\":true}", d.body.len);
    /* A second round counts 2. */
    assert_int_equal(arc_amqp_reject(a, &d), ARC_OK);
    assert_int_equal(arc_amqp_next(a, 5000, &d), ARC_OK);
    assert_int_equal(d.attempts, 2);
    arc_amqp *b = open_broker(0);
    assert_int_equal(arc_amqp_ack(b, &d), ARC_UNAVAILABLE); /* not b's delivery */
    arc_amqp_free(b);
    assert_int_equal(arc_amqp_ack(a, &d), ARC_OK);
    arc_amqp_delivery_cleanup(&d);
    assert_int_equal(depth(a, queue), 0);
}

/* Giving up: the message goes to <queue>.dead, confirmed, and is acked. */
static void
test_dead_letter(void **state)
{
    NEED_BROKER();
    arc_amqp *a = *state;
    char id[64];
    for (int i = 0; i < 3; i++) {
        msg_id(id, sizeof id, "dl", i);
        assert_int_equal(publish_event(a, id, "{\"dead\":true}"), ARC_OK);
    }
    assert_int_equal(arc_amqp_consume(a, queue, 10), ARC_OK);
    struct arc_amqp_delivery d;
    arc_amqp_delivery_init(&d);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(arc_amqp_next(a, 2000, &d), ARC_OK);
        assert_int_equal(arc_amqp_dead_letter(a, &d, "test reason", 2000), ARC_OK);
    }
    assert_int_equal(depth(a, queue_dead), 3);
    assert_int_equal(depth(a, queue), 0);
    arc_amqp_delivery_cleanup(&d);

    /* An operator reads it back: same body and properties, plus the origin. */
    arc_amqp *op = open_broker(0);
    assert_int_equal(arc_amqp_consume(op, queue_dead, 1), ARC_OK);
    arc_amqp_delivery_init(&d);
    assert_int_equal(arc_amqp_next(op, 2000, &d), ARC_OK);
    msg_id(id, sizeof id, "dl", 0);
    assert_string_equal(d.message_id, id);
    assert_string_equal(d.type, "unittest.created");
    assert_string_equal(d.routing_key, queue_dead);
    assert_memory_equal(d.body.ptr, "{\"dead\":true}", d.body.len);
    assert_string_equal(d.dead_routing_key, "unittest.created");
    assert_string_equal(d.dead_reason, "test reason");
    assert_int_equal(d.dead_attempts, 1);
    arc_amqp_delivery_cleanup(&d);
    arc_amqp_free(op); /* unacked: back in the queue */

    uint32_t purged = 0;
    assert_int_equal(arc_amqp_purge(a, queue_dead, &purged), ARC_OK);
    assert_int_equal(purged, 3);
    assert_int_equal(depth(a, queue_dead), 0);
}

/* The consumed queue is deleted (an operator): the broker cancels the
 * consumer; once the queue is declared again, consuming resumes. */
static void
test_consumer_survives_queue_deletion(void **state)
{
    NEED_BROKER();
    arc_amqp *a = *state;
    assert_int_equal(arc_amqp_consume(a, queue, 10), ARC_OK);
    arc_amqp *op = open_broker(0);
    assert_int_equal(arc_amqp_delete_queues(op, queue), ARC_OK);
    arc_amqp_free(op);
    struct arc_amqp_delivery d;
    arc_amqp_delivery_init(&d);
    enum arc_err e = arc_amqp_next(a, 300, &d);
    assert_true(e == ARC_NOT_FOUND || e == ARC_UNAVAILABLE);
    assert_int_equal(arc_amqp_next(a, 100, &d), ARC_UNAVAILABLE); /* no queue */
    static const char *const keys[] = {"unittest.created", "unittest.#"};
    assert_int_equal(arc_amqp_declare_queues(a, queue, keys, 2, 300), ARC_OK);
    char id[64];
    msg_id(id, sizeof id, "qd", 0);
    assert_int_equal(publish_event(a, id, "{}"), ARC_OK);
    assert_int_equal(arc_amqp_next(a, 2000, &d), ARC_OK);
    assert_string_equal(d.message_id, id);
    assert_int_equal(arc_amqp_ack(a, &d), ARC_OK);
    arc_amqp_delivery_cleanup(&d);
}

/* A real broker restart: the next publish reconnects and is confirmed; a
 * consumer resumes; a delivery from before the restart cannot be acked. */
static void
test_broker_restart(void **state)
{
    NEED_BROKER();
    const char *cmd = getenv("ARCADE_TEST_AMQP_RESTART_CMD");
    ARC_TEST_NEED(cmd != NULL && cmd[0] != '\0', "no ARCADE_TEST_AMQP_RESTART_CMD");
    arc_amqp *a = *state;
    arc_amqp *c = open_broker(0);
    assert_int_equal(arc_amqp_consume(c, queue, 10), ARC_OK);
    char id[64];
    msg_id(id, sizeof id, "rs", 0);
    assert_int_equal(publish_event(a, id, "{}"), ARC_OK);
    struct arc_amqp_delivery d;
    arc_amqp_delivery_init(&d);
    assert_int_equal(arc_amqp_next(c, 2000, &d), ARC_OK);
    assert_string_equal(d.message_id, id);

    assert_int_equal(system(cmd), 0);

    /* The first publish after the restart reconnects and succeeds. */
    msg_id(id, sizeof id, "rs", 1);
    assert_int_equal(publish_event(a, id, "{}"), ARC_OK);
    /* The unacked delivery is gone with its channel; the broker redelivers it. */
    assert_int_equal(arc_amqp_ack(c, &d), ARC_UNAVAILABLE);
    bool seen0 = false, seen1 = false;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(arc_amqp_next(c, 5000, &d), ARC_OK);
        char id0[64];
        msg_id(id0, sizeof id0, "rs", 0);
        if (strcmp(d.message_id, id0) == 0) {
            seen0 = true;
            assert_true(d.redelivered);
        } else {
            assert_string_equal(d.message_id, id);
            seen1 = true;
        }
        assert_int_equal(arc_amqp_ack(c, &d), ARC_OK);
    }
    assert_true(seen0 && seen1);
    arc_amqp_delivery_cleanup(&d);
    arc_amqp_free(c);
}

int
main(int argc, char **argv)
{
    (void)argc;
    arc_test_init(argv[0], 240);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_rejects_bad_input),
        cmocka_unit_test(test_closed_port_is_unavailable_fast),
        cmocka_unit_test(test_url_list_fails_over),
        cmocka_unit_test_setup_teardown(test_topology_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish_and_consume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish_while_consuming, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject_goes_through_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_letter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consumer_survives_queue_deletion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broker_restart, setup, teardown),
    };
    return arc_test_exit(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
