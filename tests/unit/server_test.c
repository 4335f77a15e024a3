/*
 * server_test.c - arc_server_handle end to end over an in-memory FastCGI
 * request: body bounds, routing answers, HEAD, traceparent, the 500 for a
 * silent handler, and the request log line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <unistd.h>

#include "arcade/json.h"
#include "arcade/log.h"
#include "arcade/respond.h"
#include "arcade/server.h"
#include "fake_fcgx.h"

static int before_calls;
static bool before_refuses;

static void
h_product(arc_req *r)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(r->params[0].i));
    arc_respond_json(r, 200, o);
}

static void
h_delete(arc_req *r)
{
    arc_respond_empty(r, 204);
}

static void
h_create(arc_req *r)
{
    json_object *body;
    if (arc_req_read_json(r, &body) != 0)
        return;
    arc_respond_header(r, "Location", "/products/%d", 7);
    arc_respond_json(r, 201, body);
}

static void
h_category(arc_req *r)
{
    arc_respond_raw(r, 200, "text/plain", r->params[0].s, r->params[0].len);
}

static void
h_silent(arc_req *r)
{
    (void)r;
}

static int
before(arc_req *r)
{
    before_calls++;
    if (before_refuses) {
        arc_respond_error(r, 503, "unavailable", "database unavailable", NULL);
        return -1;
    }
    return 0;
}

static const struct arc_route routes[] = {
    {ARC_GET, "/products/{id}", h_product, 0}, {ARC_DELETE, "/products/{id}", h_delete, 0},
    {ARC_POST, "/products", h_create, 0},      {ARC_GET, "/categories/{slug:s}", h_category, 0},
    {ARC_GET, "/silent", h_silent, 0},
};

static const struct arc_service svc = {"test", routes, ARC_ARRAY_LEN(routes), NULL, before};

static char log_path[] = "/tmp/arcade-server-test-XXXXXX";

/* Runs one request; returns the response text (owned by f). */
static const char *
run(struct fake_fcgx *f, const char *method, const char *uri)
{
    fake_env(f, "REQUEST_METHOD", method);
    if (uri != NULL)
        fake_env(f, "REQUEST_URI", uri);
    arc_server_handle(&svc, &f->req);
    return fake_output(f);
}

static void
expect_status(const char *out, const char *status_line)
{
    if (strncmp(out, status_line, strlen(status_line)) != 0)
        fail_msg("expected %s, got:\n%s", status_line, out);
}

static const char *
body_of(const char *out)
{
    const char *p = strstr(out, "\r\n\r\n");
    assert_non_null(p);
    return p + 4;
}

static void
test_get_json(void **state)
{
    (void)state;
    struct fake_fcgx f;
    fake_init(&f);
    const char *out = run(&f, "GET", "/products/42?x=1");
    expect_status(out, "Status: 200 OK\r\nContent-Type: application/json\r\n"
                       "Content-Length: 9\r\ntraceparent: 00-");
    assert_string_equal(body_of(out), "{\"id\":42}");
    fake_cleanup(&f);
}

static void
test_head_keeps_length(void **state)
{
    (void)state;
    struct fake_fcgx f;
    fake_init(&f);
    const char *out = run(&f, "HEAD", "/products/42");
    expect_status(out, "Status: 200 OK\r\n");
    assert_non_null(strstr(out, "Content-Length: 9\r\n"));
    assert_string_equal(body_of(out), "");
    fake_cleanup(&f);
}

static void
test_traceparent_continued(void **state)
{
    (void)state;
    struct fake_fcgx f;
    fake_init(&f);
    fake_env(&f, "HTTP_TRACEPARENT", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    const char *out = run(&f, "GET", "/products/1");
    const char *tp = strstr(out, "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-");
    assert_non_null(tp);
    tp += strlen("traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-");
    assert_memory_not_equal(tp, "00f067aa0ba902b7", 16); /* our own span */
    assert_memory_equal(tp + 16, "-01\r\n", 5);
    fake_cleanup(&f);

    fake_init(&f);
    fake_env(&f, "HTTP_TRACEPARENT", "00-00000000000000000000000000000000-00f067aa0ba902b7-01");
    out = run(&f, "GET", "/products/1");
    assert_null(strstr(out, "traceparent: 00-00000000000000000000000000000000"));
    assert_non_null(strstr(out, "traceparent: 00-"));
    fake_cleanup(&f);
}

static void
test_not_found_and_method(void **state)
{
    (void)state;
    struct fake_fcgx f;
    fake_init(&f);
    const char *out = run(&f, "GET", "/nope");
    expect_status(out, "Status: 404 Not Found\r\n");
    assert_string_equal(body_of(out),
                        "{\"error\":{\"code\":\"not_found\",\"message\":\"no such resource\"}}");
    fake_cleanup(&f);

    fake_init(&f);
    out = run(&f, "PUT", "/products/5");
    expect_status(out, "Status: 405 Method Not Allowed\r\n");
    assert_non_null(strstr(out, "\r\nAllow: GET, HEAD, DELETE\r\n"));
    assert_non_null(strstr(body_of(out), "\"code\":\"method_not_allowed\""));
    fake_cleanup(&f);

    fake_init(&f);
    out = run(&f, "GET", "/products/abc");
    expect_status(out, "Status: 400 Bad Request\r\n");
    assert_non_null(strstr(body_of(out), "\"code\":\"invalid_parameter\""));
    fake_cleanup(&f);

    fake_init(&f);
    out = run(&f, "GET", "/products/abc/def");
    expect_status(out, "Status: 404 Not Found\r\n");
    fake_cleanup(&f);
}

static void
test_no_content(void **state)
{
    (void)state;
    struct fake_fcgx f;
    fake_init(&f);
    const char *out = run(&f, "DELETE", "/products/5");
    expect_status(out, "Status: 204 No Content\r\n");
    assert_null(strstr(out, "\nContent-Type"));
    assert_null(strstr(out, "\nContent-Length"));
    assert_string_equal(body_of(out), "");
    fake_cleanup(&f);
}

static void
test_body_too_large_is_not_read(void **state)
{
    (void)state;
    struct fake_fcgx f;
    fake_init(&f);
    fake_env(&f, "CONTENT_LENGTH", "65537");
    fake_env(&f, "CONTENT_TYPE", "application/json");
    fake_body(&f, "{}", 2);
    const char *out = run(&f, "POST", "/products");
    expect_status(out, "Status: 413 Content Too Large\r\n");
    assert_non_null(strstr(body_of(out), "\"code\":\"payload_too_large\""));
    assert_int_equal(f.body_pos, 0);
    fake_cleanup(&f);
}

static void
test_bad_content_length(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "12abc", " 5", "-1", "+5", "5 ", "0x10", "99999999999999999999999"};
    for (size_t i = 0; i < ARC_ARRAY_LEN(bad); i++) {
        struct fake_fcgx f;
        fake_init(&f);
        fake_env(&f, "CONTENT_LENGTH", bad[i]);
        const char *out = run(&f, "POST", "/products");
        expect_status(out, "Status: 400 Bad Request\r\n");
        assert_non_null(strstr(body_of(out), "\"code\":\"bad_request\""));
        fake_cleanup(&f);
    }
}

static void
test_short_body(void **state)
{
    (void)state;
    struct fake_fcgx f;
    fake_init(&f);
    fake_env(&f, "CONTENT_LENGTH", "40");
    fake_env(&f, "CONTENT_TYPE", "application/json");
    fake_body(&f, "{\"a\":1}", 7);
    const char *out = run(&f, "POST", "/products");
    expect_status(out, "Status: 400 Bad Request\r\n");
    assert_non_null(strstr(body_of(out), "\"code\":\"bad_request\""));
    fake_cleanup(&f);
}

static void
test_post_json_in_chunks(void **state)
{
    (void)state;
    static const char body[] = "{\"name\":\"caf\xc3\xa9 \\/ x\",\"price\":6999,\"tags\":[1,2,3]}";
    struct fake_fcgx f;
    fake_init(&f);
    f.chunk = 5;
    char len[16];
    snprintf(len, sizeof len, "%zu", sizeof body - 1);
    fake_env(&f, "CONTENT_LENGTH", len);
    fake_env(&f, "CONTENT_TYPE", "Application/JSON; charset=utf-8");
    fake_body(&f, body, sizeof body - 1);
    const char *out = run(&f, "POST", "/products");
    expect_status(out, "Status: 201 Created\r\n");
    assert_non_null(strstr(out, "\r\nLocation: /products/7\r\n"));
    assert_string_equal(body_of(out),
                        "{\"name\":\"caf\xc3\xa9 / x\",\"price\":6999,\"tags\":[1,2,3]}");
    fake_cleanup(&f);

    fake_init(&f);
    fake_env(&f, "CONTENT_LENGTH", "2");
    fake_env(&f, "CONTENT_TYPE", "text/plain");
    fake_body(&f, "{}", 2);
    out = run(&f, "POST", "/products");
    expect_status(out, "Status: 415 Unsupported Media Type\r\n");
    fake_cleanup(&f);
}

static void
test_text_param_and_fallback_path(void **state)
{
    (void)state;
    struct fake_fcgx f;
    fake_init(&f);
    fake_env(&f, "SCRIPT_NAME", "/categories");
    fake_env(&f, "PATH_INFO", "/audio-hifi");
    const char *out = run(&f, "GET", NULL);
    expect_status(out, "Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n");
    assert_string_equal(body_of(out), "audio-hifi");
    fake_cleanup(&f);
}

static void
test_silent_handler_is_500(void **state)
{
    (void)state;
    struct fake_fcgx f;
    fake_init(&f);
    const char *out = run(&f, "GET", "/silent");
    expect_status(out, "Status: 500 Internal Server Error\r\n");
    assert_non_null(strstr(body_of(out), "\"code\":\"internal_error\""));
    fake_cleanup(&f);
}

static void
test_before_hook(void **state)
{
    (void)state;
    struct fake_fcgx f;
    fake_init(&f);
    before_calls = 0;
    before_refuses = true;
    const char *out = run(&f, "GET", "/products/3");
    before_refuses = false;
    expect_status(out, "Status: 503 Service Unavailable\r\n");
    assert_int_equal(before_calls, 1);
    fake_cleanup(&f);

    /* not called for requests that were not routed */
    fake_init(&f);
    out = run(&f, "GET", "/nope");
    assert_int_equal(before_calls, 1);
    fake_cleanup(&f);
}

/* Reads the last line of the log file and parses it. */
static json_object *
last_log_line(void)
{
    FILE *fp = fopen(log_path, "r");
    assert_non_null(fp);
    char line[4096], last[4096] = "";
    while (fgets(line, sizeof line, fp) != NULL)
        memcpy(last, line, sizeof line);
    fclose(fp);
    json_object *o = json_tokener_parse(last);
    if (o == NULL)
        fail_msg("log line is not JSON: %s", last);
    return o;
}

static const char *
jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v))
        fail_msg("no %s in %s", key, json_object_to_json_string(o));
    return json_object_get_string(v);
}

static void
test_request_log_line(void **state)
{
    (void)state;
    struct fake_fcgx f;
    fake_init(&f);
    fake_env(&f, "HTTP_TRACEPARENT", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    fake_env(&f, "HTTP_AUTHORIZATION", "Bearer s3cr3t-token");
    run(&f, "GET", "/products/77?secret=1");
    fake_cleanup(&f);
    json_object *o = last_log_line();
    assert_string_equal(jstr(o, "level"), "info");
    assert_string_equal(jstr(o, "service"), "server_test");
    assert_string_equal(jstr(o, "method"), "GET");
    assert_string_equal(jstr(o, "path"), "/products/77");
    assert_string_equal(jstr(o, "route"), "/products/{id}");
    assert_string_equal(jstr(o, "status"), "200");
    assert_string_equal(jstr(o, "bytes"), "9");
    assert_string_equal(jstr(o, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_int_equal(strlen(jstr(o, "span_id")), 16);
    const char *ts = jstr(o, "ts");
    assert_int_equal(strlen(ts), 24);
    assert_int_equal(ts[23], 'Z');
    assert_int_equal(ts[19], '.');
    json_object *d;
    assert_true(json_object_object_get_ex(o, "duration_ms", &d));
    assert_true(json_object_is_type(d, json_type_double));
    assert_false(json_object_object_get_ex(o, "error", NULL));
    const char *raw = json_object_to_json_string(o);
    assert_null(strstr(raw, "s3cr3t"));
    assert_null(strstr(raw, "secret"));
    json_object_put(o);

    fake_init(&f);
    run(&f, "GET", "/nope");
    fake_cleanup(&f);
    o = last_log_line();
    assert_string_equal(jstr(o, "status"), "404");
    assert_string_equal(jstr(o, "error"), "not_found");
    json_object *route;
    assert_true(json_object_object_get_ex(o, "route", &route));
    assert_null(route);
    json_object_put(o);
}

/* A control character in the target, or the web server's mark for a NUL it
 * saw (libfcgi's C strings cannot carry one), is 400 before routing. */
static void
test_control_character_in_target(void **state)
{
    (void)state;
    static const char *const uris[] = {"/products/1\x01", "/products/1?x=\x7f", "/products\x1b/1"};
    for (size_t i = 0; i < ARC_ARRAY_LEN(uris); i++) {
        struct fake_fcgx f;
        fake_init(&f);
        const char *out = run(&f, "GET", uris[i]);
        expect_status(out, "Status: 400 Bad Request\r\n");
        assert_non_null(strstr(out, "\"code\":\"bad_request\""));
        fake_cleanup(&f);
    }
    struct fake_fcgx f;
    fake_init(&f);
    fake_env(&f, "ARCADE_BAD_TARGET", "1");
    const char *out = run(&f, "GET", "/products/1");
    expect_status(out, "Status: 400 Bad Request\r\n");
    fake_cleanup(&f);
    fake_init(&f);
    expect_status(run(&f, "GET", "/products/1"), "Status: 200 OK\r\n");
    fake_cleanup(&f);
}

/* The last line of the log, raw. */
static void
last_raw_line(char *last, size_t size)
{
    FILE *fp = fopen(log_path, "r");
    assert_non_null(fp);
    char line[4096];
    last[0] = '\0';
    while (fgets(line, sizeof line, fp) != NULL)
        snprintf(last, size, "%s", line);
    fclose(fp);
}

/* A path that is not UTF-8 is logged with those bytes as %XX: the line stays
 * valid UTF-8 JSON (it carried the raw bytes). */
static void
test_log_line_is_utf8(void **state)
{
    (void)state;
    struct fake_fcgx f;
    fake_init(&f);
    run(&f, "GET", "/products/\xff\xfe\xc3\xa9\xc3");
    fake_cleanup(&f);
    char raw[4096];
    last_raw_line(raw, sizeof raw);
    assert_true(arc_utf8_valid(raw, strlen(raw)));
    json_object *o = arc_json_parse(raw, strlen(raw), 4);
    if (o == NULL)
        fail_msg("log line is not strict JSON: %s", raw);
    assert_string_equal(jstr(o, "path"), "/products/%FF%FE\xc3\xa9%C3");
    json_object_put(o);

    /* Any other line: invalid bytes become U+FFFD. */
    arc_log_error("bad \xff byte \xe2\x82");
    last_raw_line(raw, sizeof raw);
    assert_true(arc_utf8_valid(raw, strlen(raw)));
    o = arc_json_parse(raw, strlen(raw), 4);
    if (o == NULL)
        fail_msg("log line is not strict JSON: %s", raw);
    assert_string_equal(jstr(o, "msg"), "bad \xef\xbf\xbd byte \xef\xbf\xbd\xef\xbf\xbd");
    json_object_put(o);
}

static void
test_many_requests_reuse(void **state)
{
    (void)state;
    for (int i = 0; i < 2000; i++) {
        struct fake_fcgx f;
        fake_init(&f);
        char uri[64];
        snprintf(uri, sizeof uri, "/categories/slug-%d", i);
        const char *out = run(&f, i % 3 == 0 ? "HEAD" : "GET", uri);
        expect_status(out, "Status: 200 OK\r\n");
        fake_cleanup(&f);
    }
}

static int
setup(void **state)
{
    (void)state;
    int fd = mkstemp(log_path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(arc_log_open("server_test", log_path), 0);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    arc_log_close();
    unlink(log_path);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_json),
        cmocka_unit_test(test_head_keeps_length),
        cmocka_unit_test(test_traceparent_continued),
        cmocka_unit_test(test_not_found_and_method),
        cmocka_unit_test(test_no_content),
        cmocka_unit_test(test_body_too_large_is_not_read),
        cmocka_unit_test(test_bad_content_length),
        cmocka_unit_test(test_short_body),
        cmocka_unit_test(test_post_json_in_chunks),
        cmocka_unit_test(test_text_param_and_fallback_path),
        cmocka_unit_test(test_silent_handler_is_500),
        cmocka_unit_test(test_before_hook),
        cmocka_unit_test(test_request_log_line),
        cmocka_unit_test(test_log_line_is_utf8),
        cmocka_unit_test(test_control_character_in_target),
        cmocka_unit_test(test_many_requests_reuse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
