/*
 * auth_test.c - bearer parsing, the operator key, session resolution through a
 * resolver, through a real memcached (skipped when memcached is not installed)
 * and through a tiny HTTP server standing in for the users service's internal
 * endpoint (a forked child on a free loopback port).
 */
#include "arc_test.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arcade/auth.h"
#include "arcade/httpc.h"
#include "arcade/log.h"
#include "fake_fcgx.h"

struct rq {
    struct fake_fcgx f;
    arc_req r;
};

static void
rq_init(struct rq *q, const char *authorization)
{
    fake_init(&q->f);
    if (authorization != NULL)
        fake_env(&q->f, "HTTP_AUTHORIZATION", authorization);
    memset(&q->r, 0, sizeof q->r);
    q->r.fcgx = &q->f.req;
    q->r.method = ARC_POST;
    q->r.method_name = "POST";
    q->r.path = "/x";
    arc_trace_start(&q->r.trace, NULL);
}

static void
rq_cleanup(struct rq *q)
{
    arc_req_cleanup(&q->r);
    fake_cleanup(&q->f);
}

static void
test_bearer(void **state)
{
    (void)state;
    static const struct {
        const char *header, *token;
    } cases[] = {
        {"Bearer abc", "abc"},
        {"bearer abc", "abc"},
        {"BEARER a-b.c_d~e+f/g==", "a-b.c_d~e+f/g=="},
        {"Bearer ", NULL},
        {"Bearer  abc", NULL},
        {"Bearer abc ", NULL},
        {"Bearer a=b", NULL},
        {"Bearer =", NULL},
        {"Bearer a b", NULL},
        {"Bearer a\tb", NULL},
        {"Bearer\tabc", NULL},
        {"Bearerabc", NULL},
        {"Basic YWJjOmRlZg==", NULL},
        {"", NULL},
        {NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rq q;
        rq_init(&q, cases[i].header);
        size_t len = 0;
        const char *t = arc_auth_bearer(&q.r, &len);
        if (cases[i].token == NULL) {
            if (t != NULL)
                fail_msg("case %zu accepted", i);
        } else {
            if (t == NULL)
                fail_msg("case %zu rejected", i);
            assert_int_equal(len, strlen(cases[i].token));
            assert_memory_equal(t, cases[i].token, len);
        }
        rq_cleanup(&q);
    }
}

static void
test_token_hash_and_roles(void **state)
{
    (void)state;
    char h[ARC_TOKEN_HASH_HEX + 1];
    arc_auth_token_hash("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(arc_role_name(ARC_ROLE_CUSTOMER), "customer");
    assert_string_equal(arc_role_name(ARC_ROLE_ADMIN), "admin");
    assert_int_equal(arc_role_parse("admin", 5), ARC_ROLE_ADMIN);
    assert_int_equal(arc_role_parse("customer", 8), ARC_ROLE_CUSTOMER);
    assert_int_equal(arc_role_parse("Admin", 5), ARC_ROLE_NONE);
    assert_int_equal(arc_role_parse("admins", 6), ARC_ROLE_NONE);
    assert_int_equal(arc_role_parse("adm", 3), ARC_ROLE_NONE);
    assert_int_equal(arc_role_parse("", 0), ARC_ROLE_NONE);
    assert_int_equal(arc_role_parse(NULL, 0), ARC_ROLE_NONE);
}

/* --- the operator key ----------------------------------------------------------- */

static void
test_operator_key(void **state)
{
    (void)state;
    struct rq q;
    struct arc_principal who = {99, ARC_ROLE_NONE, 5};
    struct arc_auth a = {.admin_key = "s3cret"};

    rq_init(&q, "Bearer s3cret");
    assert_int_equal(arc_auth_require_admin(&q.r, &a, &who), 0);
    assert_false(q.r.responded);
    assert_int_equal(who.role, ARC_ROLE_ADMIN);
    assert_int_equal(who.user_id, 0);
    assert_int_equal(who.expires_at, 0);
    rq_cleanup(&q);

    rq_init(&q, NULL);
    assert_int_equal(arc_auth_require_admin(&q.r, &a, &who), -1);
    assert_int_equal(q.r.status, 401);
    assert_string_equal(q.r.error_code, "unauthorized");
    const char *out = fake_output(&q.f);
    assert_non_null(strstr(out, "\r\nWWW-Authenticate: Bearer realm=\"arcade\"\r\n"));
    assert_non_null(strstr(out, "\"message\":\"authentication required\""));
    rq_cleanup(&q);

    /* malformed Authorization counts as none */
    static const char *const malformed[] = {"Basic czNjcmV0", "Bearer", "Bearer  s3cret",
                                            "Bearer s3cret x", "Token s3cret"};
    for (size_t i = 0; i < ARC_ARRAY_LEN(malformed); i++) {
        rq_init(&q, malformed[i]);
        assert_int_equal(arc_auth_identify(&q.r, &a, NULL), -1);
        assert_int_equal(q.r.status, 401);
        out = fake_output(&q.f);
        assert_non_null(strstr(out, "\"message\":\"authentication required\""));
        assert_null(strstr(out, "invalid_token"));
        rq_cleanup(&q);
    }

    /* wrong keys are session tokens nobody can resolve (no users_url): 401 */
    static const char *const wrong[] = {"Bearer s3cre", "Bearer s3crett", "Bearer S3cret"};
    for (size_t i = 0; i < ARC_ARRAY_LEN(wrong); i++) {
        rq_init(&q, wrong[i]);
        assert_int_equal(arc_auth_require_admin(&q.r, &a, NULL), -1);
        assert_int_equal(q.r.status, 401);
        out = fake_output(&q.f);
        assert_non_null(strstr(
            out, "\r\nWWW-Authenticate: Bearer realm=\"arcade\", error=\"invalid_token\"\r\n"));
        assert_non_null(strstr(out, "\"message\":\"invalid credentials\""));
        rq_cleanup(&q);
    }

    /* an empty operator key never matches */
    static const char *const nokeys[] = {"", NULL};
    for (size_t i = 0; i < ARC_ARRAY_LEN(nokeys); i++) {
        struct arc_auth none = {.admin_key = nokeys[i], .users_url = ""};
        rq_init(&q, "Bearer x");
        assert_int_equal(arc_auth_require_admin(&q.r, &none, NULL), -1);
        assert_int_equal(q.r.status, 401);
        rq_cleanup(&q);
    }
}

/* --- a resolver (the seam the users service plugs its own lookup into) ---------- */

struct stub {
    unsigned calls;
};

static enum arc_err
stub_resolve(void *ud, const char *token, size_t len, struct arc_principal *out)
{
    struct stub *s = ud;
    s->calls++;
    int64_t now = (int64_t)time(NULL);
    if (len == 4 && memcmp(token, "cust", 4) == 0) {
        *out = (struct arc_principal){42, ARC_ROLE_CUSTOMER, now + 3600};
        return ARC_OK;
    }
    if (len == 3 && memcmp(token, "adm", 3) == 0) {
        *out = (struct arc_principal){7, ARC_ROLE_ADMIN, now + 30};
        return ARC_OK;
    }
    if (len == 5 && memcmp(token, "stale", 5) == 0) {
        *out = (struct arc_principal){8, ARC_ROLE_CUSTOMER, now - 1};
        return ARC_OK;
    }
    if (len == 4 && memcmp(token, "down", 4) == 0)
        return ARC_UNAVAILABLE;
    return ARC_NOT_FOUND;
}

static void
test_resolver(void **state)
{
    (void)state;
    struct stub s = {0};
    struct arc_auth a = {.admin_key = "k3y", .resolve = stub_resolve, .resolve_ud = &s};
    struct rq q;
    struct arc_principal who;

    rq_init(&q, "Bearer cust");
    assert_int_equal(arc_auth_identify(&q.r, &a, &who), 0);
    assert_false(q.r.responded);
    assert_int_equal(who.user_id, 42);
    assert_int_equal(who.role, ARC_ROLE_CUSTOMER);
    rq_cleanup(&q);
    assert_int_equal(s.calls, 1);

    rq_init(&q, "Bearer cust");
    assert_int_equal(arc_auth_require_admin(&q.r, &a, &who), -1);
    assert_int_equal(q.r.status, 403);
    assert_string_equal(q.r.error_code, "forbidden");
    assert_non_null(strstr(fake_output(&q.f), "admin rights required"));
    rq_cleanup(&q);

    rq_init(&q, "Bearer adm");
    assert_int_equal(arc_auth_require_admin(&q.r, &a, &who), 0);
    assert_int_equal(who.user_id, 7);
    rq_cleanup(&q);

    /* the operator key never reaches the resolver */
    unsigned before = s.calls;
    rq_init(&q, "Bearer k3y");
    assert_int_equal(arc_auth_require_admin(&q.r, &a, &who), 0);
    assert_int_equal(who.user_id, 0);
    rq_cleanup(&q);
    assert_int_equal(s.calls, before);

    static const char *const rejected[] = {"Bearer stale", "Bearer nobody"};
    for (size_t i = 0; i < ARC_ARRAY_LEN(rejected); i++) {
        rq_init(&q, rejected[i]);
        assert_int_equal(arc_auth_identify(&q.r, &a, &who), -1);
        assert_int_equal(q.r.status, 401);
        assert_non_null(strstr(fake_output(&q.f), "error=\"invalid_token\""));
        rq_cleanup(&q);
    }

    rq_init(&q, "Bearer down");
    assert_int_equal(arc_auth_identify(&q.r, &a, &who), -1);
    assert_int_equal(q.r.status, 503);
    assert_string_equal(q.r.error_code, "unavailable");
    assert_non_null(strstr(fake_output(&q.f), "\r\nRetry-After: 1\r\n"));
    rq_cleanup(&q);
}

/* --- a real memcached ------------------------------------------------------------ */

static struct arc_test_memcached mc;

static void
cache_put_raw(arc_cache *c, const char *token, const char *value)
{
    char h[ARC_TOKEN_HASH_HEX + 1], key[128];
    arc_auth_token_hash(token, strlen(token), h);
    snprintf(key, sizeof key, "arcade:session:v1:%s", h);
    assert_int_equal(arc_cache_set(c, key, strlen(key), value, strlen(value), 60), ARC_OK);
}

static void
test_cached_sessions(void **state)
{
    (void)state;
    ARC_TEST_NEED(arc_test_memcached_start(&mc) == 0, "no memcached installed");
    arc_cache *c = arc_cache_new(mc.servers, 200);
    assert_non_null(c);
    struct stub s = {0};
    struct arc_auth a = {.cache = c, .resolve = stub_resolve, .resolve_ud = &s};
    struct rq q;
    struct arc_principal who;
    char h[ARC_TOKEN_HASH_HEX + 1];
    long long now = (long long)time(NULL);

    /* a miss resolves once and caches: the second call is served by memcached */
    for (int i = 0; i < 2; i++) {
        rq_init(&q, "Bearer cust");
        assert_int_equal(arc_auth_identify(&q.r, &a, &who), 0);
        assert_int_equal(who.user_id, 42);
        rq_cleanup(&q);
    }
    assert_int_equal(s.calls, 1);
    arc_auth_token_hash("cust", 4, h);
    arc_buf v = ARC_BUF_INIT;
    char key[128];
    snprintf(key, sizeof key, "arcade:session:v1:%s", h);
    assert_int_equal(arc_cache_get(c, key, strlen(key), &v), ARC_OK);
    assert_true(strncmp(v.ptr, "42 customer ", 12) == 0);
    arc_buf_cleanup(&v);

    /* forget: the next call goes to the resolver again */
    arc_auth_cache_forget(c, h);
    rq_init(&q, "Bearer cust");
    assert_int_equal(arc_auth_identify(&q.r, &a, &who), 0);
    rq_cleanup(&q);
    assert_int_equal(s.calls, 2);

    /* an entry the resolver does not know: the cache decides */
    char val[64];
    snprintf(val, sizeof val, "9 admin %lld", now + 100);
    cache_put_raw(c, "cachedadmin", val);
    rq_init(&q, "Bearer cachedadmin");
    assert_int_equal(arc_auth_require_admin(&q.r, &a, &who), 0);
    assert_int_equal(who.user_id, 9);
    assert_int_equal(who.expires_at, now + 100);
    rq_cleanup(&q);
    assert_int_equal(s.calls, 2);

    /* an expired entry is refused without asking the resolver */
    snprintf(val, sizeof val, "9 admin %lld", now - 5);
    cache_put_raw(c, "expired", val);
    rq_init(&q, "Bearer expired");
    assert_int_equal(arc_auth_identify(&q.r, &a, &who), -1);
    assert_int_equal(q.r.status, 401);
    rq_cleanup(&q);
    assert_int_equal(s.calls, 2);

    /* malformed entries are ignored: the resolver decides (it does not know these) */
    static const char *const bad[] = {
        "9 admin",
        "9  admin 99999999999",
        "09 admin 99999999999",
        "9 Admin 99999999999",
        "x admin 99999",
        "9 admin 99999999999 ",
        "-9 admin 99999999999",
        "0 admin 99999999999",
        "",
        "9 admin 9999999999999999999999",
    };
    for (size_t i = 0; i < ARC_ARRAY_LEN(bad); i++) {
        char tok[16];
        snprintf(tok, sizeof tok, "bad%zu", i);
        cache_put_raw(c, tok, bad[i]);
        char hdr[32];
        snprintf(hdr, sizeof hdr, "Bearer %s", tok);
        rq_init(&q, hdr);
        if (arc_auth_identify(&q.r, &a, &who) != -1)
            fail_msg("malformed entry %zu accepted", i);
        assert_int_equal(q.r.status, 401);
        rq_cleanup(&q);
    }
    assert_int_equal(s.calls, 2 + ARC_ARRAY_LEN(bad));

    /* a short session is cached no longer than it lives; a dead one not at all */
    struct arc_principal p = {5, ARC_ROLE_CUSTOMER, now - 1};
    arc_auth_token_hash("dead", 4, h);
    arc_auth_cache_put(c, h, &p);
    snprintf(key, sizeof key, "arcade:session:v1:%s", h);
    assert_int_equal(arc_cache_get(c, key, strlen(key), &v), ARC_NOT_FOUND);
    arc_buf_cleanup(&v);

    arc_cache_free(c);
    arc_test_memcached_stop(&mc);
}

/* --- the users service's internal endpoint over HTTP ---------------------------- */

/* Answers one request per connection, by the credential it carries. */
static void
serve_users(int lfd)
{
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        char req[4096];
        size_t n = 0;
        while (n < sizeof req - 1) {
            ssize_t k = read(fd, req + n, sizeof req - 1 - n);
            if (k <= 0)
                break;
            n += (size_t)k;
            req[n] = '\0';
            if (strstr(req, "\r\n\r\n") != NULL)
                break;
        }
        req[n] = '\0';
        const char *status = "500 Internal Server Error", *body = "{}";
        char ok[128];
        bool traced = strstr(req, "\r\ntraceparent: 00-") != NULL;
        bool path_ok = strncmp(req, "GET /internal/v1/sessions/current HTTP/1.1\r\n", 44) == 0;
        if (!path_ok || !traced) {
            status = "404 Not Found";
        } else if (strstr(req, "\r\nAuthorization: Bearer good\r\n") != NULL) {
            snprintf(ok, sizeof ok, "{\"user_id\":11,\"role\":\"admin\",\"expires_at\":%lld}",
                     (long long)time(NULL) + 600);
            status = "200 OK";
            body = ok;
        } else if (strstr(req, "\r\nAuthorization: Bearer gone\r\n") != NULL) {
            status = "401 Unauthorized";
        } else if (strstr(req, "\r\nAuthorization: Bearer odd\r\n") != NULL) {
            status = "200 OK";
            body = "{\"user_id\":\"11\",\"role\":\"admin\",\"expires_at\":1}";
        }
        char resp[512];
        int len = snprintf(resp, sizeof resp,
                           "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                           status, strlen(body), body);
        if (write(fd, resp, (size_t)len) < 0) {
            /* the client went away */
        }
        close(fd);
    }
}

static void
test_remote_resolver(void **state)
{
    (void)state;
    unsigned short port;
    int lfd = arc_test_listen_loopback(&port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        serve_users(lfd);
        _exit(0);
    }
    close(lfd);
    arc_test_child_add(pid);

    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", port);
    arc_httpc *http = arc_httpc_new(2000);
    assert_non_null(http);
    struct arc_auth a = {.admin_key = "", .http = http, .users_url = url};
    struct rq q;
    struct arc_principal who;

    rq_init(&q, "Bearer good");
    assert_int_equal(arc_auth_require_admin(&q.r, &a, &who), 0);
    assert_int_equal(who.user_id, 11);
    assert_int_equal(who.role, ARC_ROLE_ADMIN);
    rq_cleanup(&q);

    rq_init(&q, "Bearer gone");
    assert_int_equal(arc_auth_identify(&q.r, &a, &who), -1);
    assert_int_equal(q.r.status, 401);
    rq_cleanup(&q);

    static const char *const cannot_tell[] = {"Bearer odd", "Bearer boom"};
    for (size_t i = 0; i < ARC_ARRAY_LEN(cannot_tell); i++) {
        rq_init(&q, cannot_tell[i]);
        assert_int_equal(arc_auth_identify(&q.r, &a, &who), -1);
        assert_int_equal(q.r.status, 503);
        rq_cleanup(&q);
    }

    /* the users service unreachable: 503, quickly */
    arc_test_child_kill(pid);
    uint64_t t0 = arc_now_ns();
    rq_init(&q, "Bearer good");
    assert_int_equal(arc_auth_identify(&q.r, &a, &who), -1);
    assert_int_equal(q.r.status, 503);
    rq_cleanup(&q);
    assert_true(arc_now_ns() - t0 < 2500000000ull);

    /* no users_url: a session token cannot be resolved */
    a.users_url = "";
    rq_init(&q, "Bearer good");
    assert_int_equal(arc_auth_identify(&q.r, &a, &who), -1);
    assert_int_equal(q.r.status, 401);
    rq_cleanup(&q);
    arc_httpc_free(http);
}

int
main(int argc, char **argv)
{
    (void)argc;
    arc_test_init(argv[0], 50);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bearer),          cmocka_unit_test(test_token_hash_and_roles),
        cmocka_unit_test(test_operator_key),    cmocka_unit_test(test_resolver),
        cmocka_unit_test(test_cached_sessions), cmocka_unit_test(test_remote_resolver),
    };
    return arc_test_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
