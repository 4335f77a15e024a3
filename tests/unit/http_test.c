/*
 * http_test.c - query parsing, strict integers, Content-Type, the response
 * head, the respond_* family over an in-memory stream, and JSON bodies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "arcade/json.h"
#include "arcade/respond.h"
#include "fake_fcgx.h"
#include "internal/http_internal.h"

static int
parse(const char *q, struct arc_query_pair *pairs, size_t *n, arc_buf *store)
{
    return arc_query_parse(q, strlen(q), store, pairs, ARC_MAX_QUERY, n);
}

static void
test_query_parse(void **state)
{
    (void)state;
    struct arc_query_pair p[ARC_MAX_QUERY];
    size_t n;
    arc_buf store = ARC_BUF_INIT;
    assert_int_equal(parse("a=1&b=hello+world&c=%C3%A9%2b&&d&e=&=x", p, &n, &store), 0);
    assert_int_equal(n, 6);
    assert_string_equal(p[0].key, "a");
    assert_string_equal(p[0].val, "1");
    assert_string_equal(p[1].val, "hello world");
    assert_string_equal(p[2].val, "\xc3\xa9+");
    assert_string_equal(p[3].key, "d");
    assert_string_equal(p[3].val, "");
    assert_string_equal(p[4].key, "e");
    assert_string_equal(p[4].val, "");
    assert_string_equal(p[5].key, "");
    assert_string_equal(p[5].val, "x");
    assert_int_equal(parse("", p, &n, &store), 0);
    assert_int_equal(n, 0);
    assert_int_equal(parse("k%20ey=v%3Dw=z", p, &n, &store), 0);
    assert_string_equal(p[0].key, "k ey");
    assert_string_equal(p[0].val, "v=w=z");

    static const char *const bad[] = {
        "a=%",      "a=%4",        "a=%zz",          "a=%00",  "a%00=1", "a=%C3",
        "a=%C0%AF", "a=%ED%A0%80", "a=%F4%90%80%80", "a=\xff", "%g1=2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (parse(bad[i], p, &n, &store) != -1)
            fail_msg("accepted %s", bad[i]);

    /* ARC_MAX_QUERY pairs are fine, one more is not (empty pieces don't count) */
    arc_buf q = ARC_BUF_INIT;
    for (int i = 0; i < ARC_MAX_QUERY; i++)
        arc_buf_printf(&q, "k%d=%d&&", i, i);
    assert_int_equal(parse(q.ptr, p, &n, &store), 0);
    assert_int_equal(n, ARC_MAX_QUERY);
    assert_string_equal(p[ARC_MAX_QUERY - 1].val, "31");
    arc_buf_append_str(&q, "x=1");
    assert_int_equal(parse(q.ptr, p, &n, &store), -1);
    arc_buf_cleanup(&q);
    arc_buf_cleanup(&store);
}

static void
test_parse_int64(void **state)
{
    (void)state;
    int64_t v;
#define OK(s, want)                                                                                \
    do {                                                                                           \
        assert_int_equal(arc_http_parse_int64(s, strlen(s), &v), 0);                               \
        assert_int_equal(v, want);                                                                 \
    } while (0)
    OK("0", 0);
    OK("-0", 0);
    OK("42", 42);
    OK("-17", -17);
    OK("9223372036854775807", INT64_MAX);
    OK("-9223372036854775808", INT64_MIN);
    OK("0007", 7);
#undef OK
    static const char *const bad[] = {"",
                                      "-",
                                      "+1",
                                      " 1",
                                      "1 ",
                                      "1a",
                                      "0x1",
                                      "1.0",
                                      "1e3",
                                      "--1",
                                      "9223372036854775808",
                                      "-9223372036854775809",
                                      "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (arc_http_parse_int64(bad[i], strlen(bad[i]), &v) != -1)
            fail_msg("accepted '%s'", bad[i]);
}

static void
test_content_length_and_type(void **state)
{
    (void)state;
    size_t n = 99;
    assert_int_equal(arc_parse_content_length(NULL, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(arc_parse_content_length("", &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(arc_parse_content_length("65536", &n), 0);
    assert_int_equal(n, 65536);
    assert_int_equal(arc_parse_content_length("1a", &n), -1);
    assert_int_equal(arc_parse_content_length("-1", &n), -1);
    assert_int_equal(arc_parse_content_length("184467440737095516160", &n), -1);

    assert_true(arc_content_type_is_json("application/json"));
    assert_true(arc_content_type_is_json("APPLICATION/Json"));
    assert_true(arc_content_type_is_json("application/json; charset=utf-8"));
    assert_true(arc_content_type_is_json("application/json;charset=UTF-8"));
    assert_false(arc_content_type_is_json(NULL));
    assert_false(arc_content_type_is_json(""));
    assert_false(arc_content_type_is_json("application/jsonx"));
    assert_false(arc_content_type_is_json("application/json-patch+json"));
    assert_false(arc_content_type_is_json("text/json"));
    assert_false(arc_content_type_is_json("text/plain"));

    assert_int_equal(arc_method_parse("GET"), ARC_GET);
    assert_int_equal(arc_method_parse("HEAD"), ARC_HEAD);
    assert_int_equal(arc_method_parse("OPTIONS"), ARC_OPTIONS);
    assert_int_equal(arc_method_parse("get"), ARC_METHOD_OTHER);
    assert_int_equal(arc_method_parse("TRACE"), ARC_METHOD_OTHER);
    assert_int_equal(arc_method_parse(NULL), ARC_METHOD_OTHER);
}

static void
test_status_and_methods(void **state)
{
    (void)state;
    static const int codes[] = {200, 201, 204, 304, 400, 401, 403, 404, 405, 409,
                                412, 413, 415, 422, 429, 500, 502, 503, 504};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        assert_string_not_equal(arc_http_status_text(codes[i]), "Unknown");
    assert_string_equal(arc_http_status_text(404), "Not Found");
    assert_string_equal(arc_http_status_text(422), "Unprocessable Content");
    assert_string_equal(arc_http_status_text(299), "Unknown");

    char out[64];
    arc_http_methods_format(ARC_GET, out, sizeof out);
    assert_string_equal(out, "GET, HEAD");
    arc_http_methods_format(ARC_DELETE | ARC_POST | ARC_GET | ARC_OPTIONS | ARC_PATCH | ARC_PUT,
                            out, sizeof out);
    assert_string_equal(out, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    arc_http_methods_format(ARC_PUT, out, sizeof out);
    assert_string_equal(out, "PUT");
    arc_http_methods_format(0, out, sizeof out);
    assert_string_equal(out, "");
    char small[8];
    arc_http_methods_format(ARC_GET | ARC_POST, small, sizeof small);
    assert_true(strlen(small) < sizeof small);
}

static void
test_head_block(void **state)
{
    (void)state;
    arc_buf out = ARC_BUF_INIT, extra = ARC_BUF_INIT;
    struct arc_trace t;
    assert_int_equal(arc_trace_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &t),
                     0);
    memcpy(t.span_id, "1111222233334444", 17);
    arc_buf_append_str(&extra, "ETag: \"p1-v2\"\r\n");
    arc_http_head(&out, 200, "application/json", true, 17, &t, &extra);
    assert_string_equal(out.ptr, "Status: 200 OK\r\n"
                                 "Content-Type: application/json\r\n"
                                 "Content-Length: 17\r\n"
                                 "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-"
                                 "1111222233334444-01\r\n"
                                 "X-Content-Type-Options: nosniff\r\n"
                                 "ETag: \"p1-v2\"\r\n"
                                 "\r\n");
    arc_buf_reset(&out);
    struct arc_trace none = {0};
    arc_http_head(&out, 304, NULL, false, 0, &none, NULL);
    assert_string_equal(out.ptr,
                        "Status: 304 Not Modified\r\nX-Content-Type-Options: nosniff\r\n\r\n");
    arc_buf_cleanup(&out);
    arc_buf_cleanup(&extra);
}

/* A request over the fake stream. */
struct rq {
    struct fake_fcgx f;
    arc_req r;
};

static void
rq_init(struct rq *q, enum arc_method m)
{
    fake_init(&q->f);
    memset(&q->r, 0, sizeof q->r);
    q->r.fcgx = &q->f.req;
    q->r.method = m;
    q->r.method_name = m == ARC_HEAD ? "HEAD" : "GET";
    q->r.path = "/x";
    q->r.query = "";
}

static void
rq_cleanup(struct rq *q)
{
    arc_req_cleanup(&q->r);
    fake_cleanup(&q->f);
}

static void
test_respond_json_and_error(void **state)
{
    (void)state;
    struct rq q;
    rq_init(&q, ARC_GET);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "url", json_object_new_string("a/b"));
    json_object_object_add(o, "n", json_object_new_int(3));
    arc_respond_json(&q.r, 200, o);
    assert_string_equal(fake_output(&q.f), "Status: 200 OK\r\nContent-Type: application/json\r\n"
                                           "Content-Length: 19\r\n"
                                           "X-Content-Type-Options: nosniff\r\n"
                                           "\r\n{\"url\":\"a/b\",\"n\":3}");
    assert_true(q.r.responded);
    assert_int_equal(q.r.status, 200);
    assert_int_equal(q.r.resp_bytes, 19);
    assert_null(q.r.error_code);
    rq_cleanup(&q);

    rq_init(&q, ARC_GET);
    json_object *fields = NULL;
    arc_json_field_error(&fields, "price", "must be at least %d", 0);
    arc_json_field_error(&fields, "price", "ignored: the first message wins");
    arc_json_field_error(&fields, "name", "is required");
    arc_respond_invalid(&q.r, fields);
    const char *out = fake_output(&q.f);
    assert_non_null(strstr(out, "Status: 422 Unprocessable Content\r\n"));
    assert_non_null(strstr(out, "\r\n\r\n{\"error\":{\"code\":\"validation_failed\",\"message\":"));
    assert_non_null(
        strstr(out, ",\"fields\":{\"price\":\"must be at least 0\",\"name\":\"is required\"}}}"));
    assert_string_equal(q.r.error_code, "validation_failed");
    rq_cleanup(&q);

    rq_init(&q, ARC_GET);
    arc_respond_error(&q.r, 404, "not_found", "no \"such\" product", NULL);
    out = fake_output(&q.f);
    assert_string_equal(
        strstr(out, "\r\n\r\n") + 4,
        "{\"error\":{\"code\":\"not_found\",\"message\":\"no \\\"such\\\" product\"}}");
    rq_cleanup(&q);

    rq_init(&q, ARC_GET);
    arc_respond_json(&q.r, 200, NULL);
    assert_string_equal(strstr(fake_output(&q.f), "\r\n\r\n") + 4, "null");
    rq_cleanup(&q);
}

static void
test_respond_head_raw_empty(void **state)
{
    (void)state;
    struct rq q;
    rq_init(&q, ARC_HEAD);
    arc_respond_raw(&q.r, 200, "text/plain; charset=utf-8", "hello", 5);
    assert_string_equal(fake_output(&q.f),
                        "Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                        "Content-Length: 5\r\nX-Content-Type-Options: nosniff\r\n\r\n");
    assert_int_equal(q.r.resp_bytes, 0);
    rq_cleanup(&q);

    rq_init(&q, ARC_GET);
    arc_respond_empty(&q.r, 201);
    assert_string_equal(fake_output(&q.f), "Status: 201 Created\r\nContent-Length: 0\r\n"
                                           "X-Content-Type-Options: nosniff\r\n\r\n");
    rq_cleanup(&q);

    rq_init(&q, ARC_GET);
    arc_respond_header(&q.r, "ETag", "\"p%d-v%d\"", 4, 2);
    arc_respond_raw(&q.r, 304, NULL, "ignored", 7);
    assert_string_equal(fake_output(&q.f), "Status: 304 Not Modified\r\n"
                                           "X-Content-Type-Options: nosniff\r\n"
                                           "ETag: \"p4-v2\"\r\n\r\n");
    rq_cleanup(&q);

    /* header injection: CR/LF in a value cannot start a new header */
    rq_init(&q, ARC_GET);
    arc_respond_header(&q.r, "Location", "/x\r\nSet-Cookie: a=b");
    arc_respond_empty(&q.r, 204);
    assert_string_equal(fake_output(&q.f),
                        "Status: 204 No Content\r\nX-Content-Type-Options: nosniff\r\n"
                        "Location: /x  Set-Cookie: a=b\r\n\r\n");
    rq_cleanup(&q);

    /* a large raw body goes through the stream's refills intact */
    rq_init(&q, ARC_GET);
    char *big = malloc(100000);
    for (size_t i = 0; i < 100000; i++)
        big[i] = (char)('a' + i % 26);
    arc_respond_raw(&q.r, 200, NULL, big, 100000);
    const char *out = fake_output(&q.f);
    assert_non_null(strstr(out, "Content-Length: 100000\r\n"));
    assert_memory_equal(strstr(out, "\r\n\r\n") + 4, big, 100000);
    free(big);
    rq_cleanup(&q);
}

#ifdef NDEBUG
static void
test_second_answer_dropped(void **state)
{
    (void)state;
    struct rq q;
    rq_init(&q, ARC_GET);
    arc_respond_empty(&q.r, 204);
    arc_respond_json(&q.r, 200, json_object_new_object()); /* freed, not sent */
    arc_respond_error(&q.r, 500, "internal_error", "x", NULL);
    assert_string_equal(fake_output(&q.f),
                        "Status: 204 No Content\r\nX-Content-Type-Options: nosniff\r\n\r\n");
    assert_int_equal(q.r.status, 204);
    assert_null(q.r.error_code);
    rq_cleanup(&q);
}
#endif

static void
test_query_get_and_int(void **state)
{
    (void)state;
    struct rq q;
    rq_init(&q, ARC_GET);
    q.r.query = "page=2&per_page=abc&page=9&neg=-5&big=99999999999999999999&sp=+1&name=a+b";
    bool bad = false;
    assert_string_equal(arc_req_query_get(&q.r, "page", &bad), "2");
    assert_string_equal(arc_req_query_get(&q.r, "name", &bad), "a b");
    assert_null(arc_req_query_get(&q.r, "missing", &bad));
    assert_false(bad);
    assert_false(q.r.responded);

    json_object *fields = NULL;
    int64_t v = 0;
    assert_int_equal(arc_req_query_int(&q.r, "page", 1, 1, 100, &v, &fields), 0);
    assert_int_equal(v, 2);
    assert_int_equal(arc_req_query_int(&q.r, "missing", 20, 1, 100, &v, &fields), 0);
    assert_int_equal(v, 20);
    assert_null(fields);
    assert_int_equal(arc_req_query_int(&q.r, "per_page", 20, 1, 100, &v, &fields), -1);
    assert_int_equal(arc_req_query_int(&q.r, "neg", 1, 1, 100, &v, &fields), -1);
    assert_int_equal(arc_req_query_int(&q.r, "big", 1, 1, 100, &v, &fields), -1);
    assert_int_equal(arc_req_query_int(&q.r, "sp", 1, 1, 100, &v, &fields), -1);
    assert_string_equal(json_object_to_json_string_ext(fields, JSON_C_TO_STRING_PLAIN),
                        "{\"per_page\":\"must be an integer\",\"neg\":\"must be between 1 and "
                        "100\",\"big\":\"must be an integer\",\"sp\":\"must be an integer\"}");
    json_object_put(fields);
    assert_false(q.r.responded);
    rq_cleanup(&q);

    rq_init(&q, ARC_GET);
    q.r.query = "a=%zz&b=1";
    fields = NULL;
    assert_int_equal(arc_req_query_int(&q.r, "b", 1, 1, 100, &v, &fields), -1);
    assert_non_null(fields);
    json_object_put(fields);
    assert_false(q.r.responded); /* query_int never answers */
    bad = false;
    assert_null(arc_req_query_get(&q.r, "b", &bad));
    assert_true(bad);
    assert_int_equal(q.r.status, 400);
    assert_string_equal(q.r.error_code, "invalid_parameter");
    assert_non_null(strstr(fake_output(&q.f), "\"message\":\"malformed query string\""));
    bad = false;
    assert_null(arc_req_query_get(&q.r, "b", &bad)); /* no second answer */
    assert_true(bad);
    rq_cleanup(&q);
}

/* Reads page and per_page of query with arc_req_paging (max 100); the
 * messages, if any, as JSON into msgs. */
static int
paging(const char *query, unsigned flags, struct arc_page *pg, char *msgs, size_t cap)
{
    struct rq q;
    rq_init(&q, ARC_GET);
    q.r.query = query;
    json_object *fields = NULL;
    int rc = arc_req_paging(&q.r, 20, 100, flags, pg, &fields);
    snprintf(msgs, cap, "%s",
             fields ? json_object_to_json_string_ext(fields, JSON_C_TO_STRING_PLAIN) : "");
    json_object_put(fields);
    assert_false(q.r.responded); /* never answers */
    rq_cleanup(&q);
    return rc;
}

static void
test_paging(void **state)
{
    (void)state;
    struct arc_page pg;
    char msgs[512];
    assert_int_equal(paging("", 0, &pg, msgs, sizeof msgs), 0);
    assert_int_equal(pg.page, 1);
    assert_int_equal(pg.per_page, 20);
    assert_int_equal(pg.offset, 0);
    assert_int_equal(paging("page=3&per_page=7", 0, &pg, msgs, sizeof msgs), 0);
    assert_int_equal(pg.offset, 14);
    /* Above the maximum is served as the maximum, however large. */
    assert_int_equal(
        paging("per_page=9223372036854775807&page=1000000000", 0, &pg, msgs, sizeof msgs), 0);
    assert_int_equal(pg.per_page, 100);
    assert_int_equal(pg.offset, INT64_C(99999999900));

    const char *bad[] = {"page=0",
                         "page=-1",
                         "page=1.5",
                         "page=+1",
                         "page=0x1",
                         "page=1000000001",
                         "page= 1",
                         "page=",
                         "per_page=0",
                         "per_page=-1",
                         "per_page=2e1",
                         "per_page=",
                         "per_page=9223372036854775808"};
    for (size_t i = 0; i < ARC_ARRAY_LEN(bad); i++) {
        if (paging(bad[i], 0, &pg, msgs, sizeof msgs) != -1)
            fail_msg("%s was accepted", bad[i]);
        assert_int_equal(pg.page, 1); /* the defaults stay */
        assert_int_equal(pg.per_page, 20);
    }
    assert_int_equal(paging("page=0&per_page=x", 0, &pg, msgs, sizeof msgs), -1);
    assert_string_equal(msgs, "{\"page\":\"must be an integer from 1 to 1000000000\","
                              "\"per_page\":\"must be a positive integer\"}");
    /* Forms send empty values: with ARC_PAGE_EMPTY_ABSENT they are absent. */
    assert_int_equal(paging("page=&per_page=", ARC_PAGE_EMPTY_ABSENT, &pg, msgs, sizeof msgs), 0);
    assert_int_equal(pg.per_page, 20);
    assert_int_equal(paging("a=%zz", 0, &pg, msgs, sizeof msgs), -1);
    assert_string_equal(msgs, "{\"page\":\"malformed query string\"}");
}

static int
read_json(const char *ctype, const char *body, json_object **out, struct rq *q)
{
    rq_init(q, ARC_POST);
    if (ctype != NULL)
        fake_env(&q->f, "CONTENT_TYPE", ctype);
    q->r.body = (char *)body;
    q->r.body_len = strlen(body);
    return arc_req_read_json(&q->r, out);
}

static void
test_read_json(void **state)
{
    (void)state;
    struct rq q;
    json_object *o = NULL;
    assert_int_equal(read_json("application/json; charset=utf-8", "{\"a\":[1,{}]} ", &o, &q), 0);
    assert_true(json_object_is_type(o, json_type_object));
    assert_false(q.r.responded);
    json_object_put(o);
    rq_cleanup(&q);

    static const struct {
        const char *ctype, *body;
        int status;
        const char *code;
    } cases[] = {
        {NULL, "", 400, "invalid_json"},
        {"application/json", "", 400, "invalid_json"},
        {NULL, "{}", 415, "unsupported_media_type"},
        {"text/plain", "{}", 415, "unsupported_media_type"},
        {"application/x-www-form-urlencoded", "a=1", 415, "unsupported_media_type"},
        {"application/json", "[1,2]", 400, "invalid_json"},
        {"application/json", "\"str\"", 400, "invalid_json"},
        {"application/json", "{\"a\":1", 400, "invalid_json"},
        {"application/json", "{\"a\":1} {}", 400, "invalid_json"},
        {"application/json", "{\"a\":\"\xff\"}", 400, "invalid_json"},
        {"application/json", "{'a':1}", 400, "invalid_json"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        o = (json_object *)&q; /* must be reset to NULL */
        assert_int_equal(read_json(cases[i].ctype, cases[i].body, &o, &q), -1);
        assert_null(o);
        if (q.r.status != cases[i].status || strcmp(q.r.error_code, cases[i].code) != 0)
            fail_msg("case %zu: %d %s", i, q.r.status, q.r.error_code);
        rq_cleanup(&q);
    }
}

/* The head of the answer q got (up to the blank line), as a C string. */
static const char *
head_of(struct rq *q, char *buf, size_t size)
{
    const char *out = fake_output(&q->f);
    const char *end = strstr(out, "\r\n\r\n");
    assert_non_null(end);
    snprintf(buf, size, "%.*s\r\n", (int)(end - out), out);
    return buf;
}

static size_t
count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* nosniff on every answer; no-store on errors and on answers to a request with
 * credentials, once, and never over the handler's own Cache-Control. */
static void
test_security_headers(void **state)
{
    (void)state;
    char head[1024];
    struct rq q;

    rq_init(&q, ARC_GET);
    arc_respond_json(&q.r, 200, NULL);
    head_of(&q, head, sizeof head);
    assert_int_equal(count(head, "X-Content-Type-Options: nosniff\r\n"), 1);
    assert_null(strstr(head, "Cache-Control"));
    rq_cleanup(&q);

    static const int errors[] = {400, 401, 403, 404, 409, 422, 429, 500, 503};
    for (size_t i = 0; i < ARC_ARRAY_LEN(errors); i++) {
        rq_init(&q, ARC_GET);
        arc_respond_error(&q.r, errors[i], "x", "y", NULL);
        head_of(&q, head, sizeof head);
        assert_int_equal(count(head, "Cache-Control: no-store\r\n"), 1);
        assert_int_equal(count(head, "X-Content-Type-Options: nosniff\r\n"), 1);
        rq_cleanup(&q);
    }

    /* An admin write (or any answer) to a request that carried Authorization. */
    rq_init(&q, ARC_GET);
    q.r.method = ARC_POST;
    fake_env(&q.f, "HTTP_AUTHORIZATION", "Bearer k");
    arc_respond_json(&q.r, 201, json_object_new_object());
    head_of(&q, head, sizeof head);
    assert_int_equal(count(head, "Cache-Control: no-store\r\n"), 1);
    rq_cleanup(&q);

    rq_init(&q, ARC_GET);
    fake_env(&q.f, "HTTP_AUTHORIZATION", "Bearer k");
    arc_respond_empty(&q.r, 204);
    head_of(&q, head, sizeof head);
    assert_int_equal(count(head, "Cache-Control: no-store\r\n"), 1);
    rq_cleanup(&q);

    /* The handler said it already: not twice. */
    rq_init(&q, ARC_GET);
    fake_env(&q.f, "HTTP_AUTHORIZATION", "Bearer k");
    arc_respond_header(&q.r, "Cache-Control", "no-store");
    arc_respond_json(&q.r, 200, NULL);
    head_of(&q, head, sizeof head);
    assert_int_equal(count(head, "Cache-Control"), 1);
    rq_cleanup(&q);

    rq_init(&q, ARC_GET);
    arc_respond_header(&q.r, "Cache-Control", "private, max-age=5");
    arc_respond_error(&q.r, 404, "x", "y", NULL);
    head_of(&q, head, sizeof head);
    assert_int_equal(count(head, "Cache-Control"), 1);
    assert_non_null(strstr(head, "Cache-Control: private, max-age=5\r\n"));
    rq_cleanup(&q);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_parse),
        cmocka_unit_test(test_parse_int64),
        cmocka_unit_test(test_paging),
        cmocka_unit_test(test_content_length_and_type),
        cmocka_unit_test(test_status_and_methods),
        cmocka_unit_test(test_head_block),
        cmocka_unit_test(test_security_headers),
        cmocka_unit_test(test_respond_json_and_error),
        cmocka_unit_test(test_respond_head_raw_empty),
#ifdef NDEBUG
        cmocka_unit_test(test_second_answer_dropped),
#endif
        cmocka_unit_test(test_query_get_and_int),
        cmocka_unit_test(test_read_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
