/*
 * arc_test_fcgi.h - one service binary under test, alone: started the way
 * spawn-fcgi starts it (a listening socket on descriptor 0, then exec) and
 * spoken to in FastCGI directly, the part lighttpd plays in the fleet. The
 * role of lighttpd's `spawnfcgi` test helper and kcgi's regress harness.
 *
 * A handler test (tests/handler/<service>_handlers_test.c, docs/testing.md):
 *
 *     static void get_missing_product_is_404(void **state)
 *     {
 *         ARC_TEST_NEED_SERVICE();
 *         struct arc_test_response *r = arc_test_call("GET", "/api/v1/products/999",
 *                                                      NULL, NULL);
 *         assert_int_equal(r->status, 404);
 *         assert_string_equal(arc_test_json_str(r, "error.code"), "not_found");
 *     }
 *
 *     int main(int argc, char **argv)
 *     {
 *         (void)argc;
 *         const struct CMUnitTest tests[] = {cmocka_unit_test(get_missing_product_is_404)};
 *         return ARC_TEST_SERVICE_MAIN(argv[0], "catalog", NULL, tests);
 *     }
 *
 * The service gets the database of tests/with-test-db (its migrations applied
 * first, by arcade-migrate, as `arcade up` applies them), a memcached of its
 * own, a run directory of its own and a random operator key; its log goes to
 * the test's stderr (warn and above; everything with ARCADE_TEST_VERBOSE).
 */
#ifndef ARC_TEST_FCGI_H
#define ARC_TEST_FCGI_H

#include "arc_test.h"

#include <json-c/json.h>

#include "arcade/buf.h"

/* A FastCGI responder started by arc_test_fcgi_start. */
struct arc_test_fcgi {
    pid_t pid;      /* > 0 while it runs */
    char dir[128];  /* its temporary directory (the socket is in it) */
    char sock[160]; /* the Unix socket on its descriptor 0 */
};

/* Binds a Unix socket in a new temporary directory (0700), forks, puts the
 * socket on descriptor 0 and the null device on 1, keeps 2 (stderr), and execs
 * binary with argv (NULL: just the binary) and exactly env (NULL-terminated
 * "NAME=value" strings), as `env -i ... spawn-fcgi -s` does. The child dies
 * with the test. No wait is needed: the socket listens before the exec, so a
 * request queues until the service accepts it. Fails the test on error. */
void arc_test_fcgi_start(struct arc_test_fcgi *f, const char *binary, char *const argv[],
                         char *const env[]);

/* SIGTERM, as multiwatch stops a worker; SIGKILL after 5 s. Returns its exit
 * status (0 after a clean stop), -1 when it had to be killed or died of a
 * signal. Removes the directory. No-op (0) when it does not run. */
int arc_test_fcgi_stop(struct arc_test_fcgi *f);

/* One request, as a web server would send it. */
struct arc_test_request {
    const char *method;         /* "GET" */
    const char *target;         /* "/api/v1/products?page=2": path and query */
    const char *const *headers; /* NULL or NULL-terminated "Name: value" */
    const char *const *params;  /* NULL or NULL-terminated raw "NAME=value" CGI
                                   parameters, e.g. "ARCADE_INTERNAL=1" */
    const char *body;           /* NULL: none */
    size_t body_len;            /* of body */
    const char *remote_addr;    /* NULL: 127.0.0.1 */
};

/* The answer, as the responder wrote it. */
struct arc_test_response {
    int status;   /* from the Status header; 200 without one (CGI) */
    arc_buf head; /* the header lines as sent, "Name: value\r\n"... */
    arc_buf body; /* after the blank line; NUL-terminated */
    arc_buf err;  /* FCGI_STDERR */
    uint32_t app_status;
    json_object *json; /* the body parsed on demand (arc_test_json); owned here */
};

void arc_test_response_init(struct arc_test_response *r);
void arc_test_response_cleanup(struct arc_test_response *r);

/* Sends rq to f over a connection of its own (BEGIN_REQUEST without
 * KEEP_CONN, PARAMS, STDIN) and reads STDOUT and STDERR until END_REQUEST,
 * with a 10 s bound on every wait. Returns 0, or -1 with a message on stderr
 * (the connection failed or closed early: the service died?). out is reset
 * first. The parameters are those lighttpd sends: REQUEST_METHOD, REQUEST_URI,
 * SCRIPT_NAME, PATH_INFO (empty), QUERY_STRING, CONTENT_LENGTH (always),
 * CONTENT_TYPE, SERVER_PROTOCOL, GATEWAY_INTERFACE, REMOTE_ADDR, REMOTE_PORT,
 * SERVER_ADDR, SERVER_PORT and HTTP_<NAME> for every other header. */
int arc_test_fcgi_request(const struct arc_test_fcgi *f, const struct arc_test_request *rq,
                          struct arc_test_response *out);

/* A header of the answer (name case-insensitive), copied into a static
 * buffer valid until the next call; NULL when absent. */
const char *arc_test_header(const struct arc_test_response *r, const char *name);

/* The body as JSON (parsed once, owned by r); fails the test when it is not
 * JSON. */
json_object *arc_test_json(struct arc_test_response *r);
/* A value at a dotted path ("error.code", "items.0.id": object members and
 * array indexes) of the body; NULL (string) or fails (int) when absent. */
const char *arc_test_json_str(const struct arc_test_response *r, const char *path);
long long arc_test_json_int(const struct arc_test_response *r, const char *path);
bool arc_test_json_has(const struct arc_test_response *r, const char *path);

/* --- one service per test file ------------------------------------------------------ */

/* Starts service (build/bin/arcade-<service>) for the test file's group:
 * applies sql/<service> with arcade-migrate to the ARCADE_TEST_DB_* database,
 * starts a memcached of its own (none when memcached is not installed: the
 * service then runs without a cache), then the service with the environment
 * `arcade up` gives a pool, pointed at those, plus env (NULL or
 * NULL-terminated "NAME=value", e.g. "ARCADE_LOGIN_LOCK_SECONDS=2"). Without a
 * test database it starts nothing and returns 0: every test then skips
 * through ARC_TEST_NEED_SERVICE. Returns -1 when a step fails. Binaries come
 * from $ARCADE_TEST_BIN_DIR (default: this build's bin/), migrations from
 * $ARCADE_TEST_SQL_DIR (default: the checkout's sql/). */
int arc_test_service_setup(const char *service, const char *const *env);
/* Stops the service (it must exit 0 on SIGTERM) and its memcached. Returns 0,
 * or -1 when the service did not stop cleanly. */
int arc_test_service_teardown(void);
/* main of a handler test: arc_test_init (30 s), the tests as one group with
 * the service set up before and torn down after, arc_test_exit. */
int arc_test_service_main(const char *argv0, const char *service, const char *const *env,
                          const struct CMUnitTest *tests, size_t ntests);
#define ARC_TEST_SERVICE_MAIN(argv0, service, env, tests)                                          \
    arc_test_service_main(argv0, service, env, tests, sizeof(tests) / sizeof((tests)[0]))

/* Whether the service runs (false: no test database, or it died). */
bool arc_test_service_running(void);
/* At the top of every test: skips it without a test database, fails it when
 * the service died under an earlier test. */
void arc_test_need_service(void);
#define ARC_TEST_NEED_SERVICE() arc_test_need_service()

/* The running service and what it was given. */
const struct arc_test_fcgi *arc_test_service(void);
/* "Authorization: Bearer <the operator key>". */
const char *arc_test_admin_auth(void);
/* The memcached servers it was given ("" when none). */
const char *arc_test_service_memcached(void);

/* One request to the service; body NUL-terminated or NULL, sent as
 * application/json unless headers name a Content-Type. The answer is
 * owned by the harness and valid until the next call; fails the test when
 * the request fails. */
struct arc_test_response *arc_test_call(const char *method, const char *target,
                                        const char *const *headers, const char *body);
/* NULL-terminated header list in place: ARC_TEST_HEADERS("A: b", "C: d"). */
#define ARC_TEST_HEADERS(...) ((const char *const[]){__VA_ARGS__, NULL})

#endif
