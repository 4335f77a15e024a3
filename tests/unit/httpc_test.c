/*
 * httpc_test.c - the service-to-service HTTP client against a small HTTP/1.1
 * server run as a forked child on a free loopback port: statuses, bodies,
 * the 1 MiB cap, timeouts, no redirects, http(s) only, traceparent, and one
 * kept-alive connection for consecutive calls.
 */
#include "arc_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arcade/httpc.h"
#include "arcade/log.h"

static pid_t server_pid = -1;
static unsigned short port;
static char base[64];

/* Reads one request (headers and a Content-Length body) from fd into buf. */
static ssize_t
read_request(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        char *end = strstr(buf, "\r\n\r\n");
        if (end != NULL) {
            const char *cl = strcasestr(buf, "\r\nContent-Length: ");
            size_t want = (size_t)(end + 4 - buf) + (cl != NULL ? strtoul(cl + 18, NULL, 10) : 0);
            if (n >= want)
                return (ssize_t)n;
        }
        if (n >= cap - 1)
            return -1;
        ssize_t k = read(fd, buf + n, cap - 1 - n);
        if (k <= 0)
            return -1;
        n += (size_t)k;
        buf[n] = '\0';
    }
}

static void
reply(int fd, const char *status, const char *extra, const char *body, size_t len)
{
    char head[512];
    int h = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Length: %zu\r\n%s\r\n", status, len,
                     extra);
    if (write(fd, head, (size_t)h) < 0 || (len > 0 && write(fd, body, len) < 0)) {
        /* the client went away */
    }
}

/* One connection: answers requests until the client closes. The path decides. */
static void
serve_connection(int fd, unsigned conn_no)
{
    static char req[70000];
    static char big[2 * 1024 * 1024];
    for (;;) {
        memset(req, 0, 64);
        if (read_request(fd, req, sizeof req) < 0)
            return;
        char out[256];
        if (strncmp(req, "GET /ok ", 8) == 0) {
            reply(fd, "200 OK", "", "hello", 5);
        } else if (strncmp(req, "GET /conn ", 10) == 0) {
            int n = snprintf(out, sizeof out, "%u", conn_no);
            reply(fd, "200 OK", "", out, (size_t)n);
        } else if (strncmp(req, "GET /trace ", 11) == 0) {
            const char *t = strstr(req, "\r\ntraceparent: ");
            const char *v = t != NULL ? t + 15 : "none\r\n";
            size_t n = strcspn(v, "\r");
            reply(fd, "200 OK", "", v, n);
        } else if (strncmp(req, "POST /echo ", 11) == 0) {
            const char *b = strstr(req, "\r\n\r\n") + 4;
            reply(fd, "201 Created", "", b, strlen(b));
        } else if (strncmp(req, "DELETE /gone ", 13) == 0) {
            reply(fd, "204 No Content", "", "", 0);
        } else if (strncmp(req, "GET /redirect ", 14) == 0) {
            reply(fd, "302 Found", "Location: /ok\r\n", "", 0);
        } else if (strncmp(req, "GET /big ", 9) == 0) {
            memset(big, 'x', sizeof big);
            reply(fd, "200 OK", "", big, sizeof big);
        } else if (strncmp(req, "GET /exact ", 11) == 0) {
            memset(big, 'y', 1024 * 1024);
            reply(fd, "200 OK", "", big, 1024 * 1024);
        } else if (strncmp(req, "GET /slow ", 10) == 0) {
            sleep(3);
            reply(fd, "200 OK", "", "late", 4);
        } else {
            reply(fd, "404 Not Found", "", "", 0);
        }
    }
}

static void
serve(int lfd)
{
    signal(SIGCHLD, SIG_IGN);
    for (unsigned conn = 1;; conn++) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        pid_t pid = fork();
        if (pid == 0) {
            close(lfd);
            serve_connection(fd, conn);
            _exit(0);
        }
        close(fd);
    }
}

static int
group_setup(void **state)
{
    (void)state;
    int fd = arc_test_listen_loopback(&port);
    snprintf(base, sizeof base, "http://127.0.0.1:%u", port);
    server_pid = fork();
    assert_true(server_pid >= 0);
    if (server_pid == 0) {
        setpgid(0, 0); /* the server and its connection children: one group */
        serve(fd);
        _exit(0);
    }
    setpgid(server_pid, server_pid);
    arc_test_child_add(server_pid); /* killed on alarm; its children follow */
    close(fd);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    if (server_pid > 0) {
        kill(-server_pid, SIGKILL);
        arc_test_child_kill(server_pid);
    }
    return 0;
}

static const char *
url(const char *path)
{
    static char u[128];
    snprintf(u, sizeof u, "%s%s", base, path);
    return u;
}

static void
test_statuses_and_bodies(void **state)
{
    (void)state;
    arc_httpc *h = arc_httpc_new(2000);
    assert_non_null(h);
    struct arc_httpc_response r = {0, ARC_BUF_INIT};

    assert_int_equal(arc_httpc_request(h, "GET", url("/ok"), NULL, NULL, 0, NULL, &r), ARC_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 5);
    assert_string_equal(r.body.ptr, "hello");

    const char *hdrs[] = {"Content-Type: application/json", NULL};
    assert_int_equal(arc_httpc_request(h, "POST", url("/echo"), hdrs, "{\"a\":1}", 7, NULL, &r),
                     ARC_OK);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body.ptr, "{\"a\":1}");

    assert_int_equal(arc_httpc_request(h, "DELETE", url("/gone"), NULL, NULL, 0, NULL, &r), ARC_OK);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body.len, 0); /* reset by each call */

    assert_int_equal(arc_httpc_request(h, "GET", url("/nothing"), NULL, NULL, 0, NULL, &r), ARC_OK);
    assert_int_equal(r.status, 404);

    /* redirects are answers, not followed */
    assert_int_equal(arc_httpc_request(h, "GET", url("/redirect"), NULL, NULL, 0, NULL, &r),
                     ARC_OK);
    assert_int_equal(r.status, 302);

    /* exactly 1 MiB passes; more is refused */
    assert_int_equal(arc_httpc_request(h, "GET", url("/exact"), NULL, NULL, 0, NULL, &r), ARC_OK);
    assert_int_equal(r.body.len, 1024 * 1024);
    assert_int_equal(arc_httpc_request(h, "GET", url("/big"), NULL, NULL, 0, NULL, &r),
                     ARC_UNAVAILABLE);
    assert_int_equal(r.status, 0);

    /* the handle still works afterwards */
    assert_int_equal(arc_httpc_request(h, "GET", url("/ok"), NULL, NULL, 0, NULL, &r), ARC_OK);
    assert_int_equal(r.status, 200);
    arc_buf_cleanup(&r.body);
    arc_httpc_free(h);
    arc_httpc_free(NULL);
}

static void
test_traceparent(void **state)
{
    (void)state;
    arc_httpc *h = arc_httpc_new(2000);
    struct arc_httpc_response r = {0, ARC_BUF_INIT};
    struct arc_trace t;
    arc_trace_start(&t, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    char want[ARC_TRACEPARENT_LEN + 1];
    arc_trace_format(&t, want);
    assert_int_equal(arc_httpc_request(h, "GET", url("/trace"), NULL, NULL, 0, &t, &r), ARC_OK);
    assert_string_equal(r.body.ptr, want);
    assert_non_null(strstr(r.body.ptr, "0af7651916cd43dd8448eb211c80319c"));
    assert_null(strstr(r.body.ptr, "b7ad6b7169203331")); /* this span is the parent */
    assert_int_equal(arc_httpc_request(h, "GET", url("/trace"), NULL, NULL, 0, NULL, &r), ARC_OK);
    assert_string_equal(r.body.ptr, "none");
    arc_buf_cleanup(&r.body);
    arc_httpc_free(h);
}

static void
test_keep_alive(void **state)
{
    (void)state;
    arc_httpc *h = arc_httpc_new(2000);
    struct arc_httpc_response r = {0, ARC_BUF_INIT};
    assert_int_equal(arc_httpc_request(h, "GET", url("/conn"), NULL, NULL, 0, NULL, &r), ARC_OK);
    char first[16];
    snprintf(first, sizeof first, "%s", r.body.ptr);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(arc_httpc_request(h, "GET", url("/conn"), NULL, NULL, 0, NULL, &r),
                         ARC_OK);
        assert_string_equal(r.body.ptr, first); /* the same connection */
    }
    arc_buf_cleanup(&r.body);
    arc_httpc_free(h);
}

static void
test_failures(void **state)
{
    (void)state;
    arc_httpc *h = arc_httpc_new(500);
    struct arc_httpc_response r = {0, ARC_BUF_INIT};

    uint64_t t0 = arc_now_ns();
    assert_int_equal(arc_httpc_request(h, "GET", url("/slow"), NULL, NULL, 0, NULL, &r),
                     ARC_UNAVAILABLE);
    uint64_t ms = (arc_now_ns() - t0) / 1000000;
    assert_true(ms >= 400 && ms < 2000);
    assert_int_equal(r.status, 0);

    /* only http and https */
    assert_int_equal(arc_httpc_request(h, "GET", "file:///etc/passwd", NULL, NULL, 0, NULL, &r),
                     ARC_UNAVAILABLE);
    assert_int_equal(r.body.len, 0);
    assert_int_equal(arc_httpc_request(h, "GET", "gopher://127.0.0.1/", NULL, NULL, 0, NULL, &r),
                     ARC_UNAVAILABLE);

    /* nobody listening */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%u/ok", ntohs(a.sin_port));
    assert_int_equal(arc_httpc_request(h, "GET", u, NULL, NULL, 0, NULL, &r), ARC_UNAVAILABLE);
    close(fd);

    /* and then a good call on the same handle */
    assert_int_equal(arc_httpc_request(h, "GET", url("/ok"), NULL, NULL, 0, NULL, &r), ARC_OK);
    assert_int_equal(r.status, 200);
    arc_buf_cleanup(&r.body);
    arc_httpc_free(h);
}

int
main(int argc, char **argv)
{
    (void)argc;
    arc_test_init(argv[0], 50);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statuses_and_bodies),
        cmocka_unit_test(test_traceparent),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_failures),
    };
    return arc_test_exit(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
