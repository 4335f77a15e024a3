/*
 * arc_test_fcgi.c - a service binary started as spawn-fcgi starts it, and a
 * FastCGI client that speaks to it as the web server does (arc_test_fcgi.h).
 */
#include "arc_test_fcgi.h"

#include <ctype.h>
#include <errno.h>
#include <fastcgi.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arcade/common.h"

#ifndef ARC_TEST_BIN_DIR
#error "ARC_TEST_BIN_DIR: the build's bin/ (tests/CMakeLists.txt defines it)"
#endif
#ifndef ARC_TEST_SQL_DIR
#error "ARC_TEST_SQL_DIR: the checkout's sql/ (tests/CMakeLists.txt defines it)"
#endif

#define IO_TIMEOUT_MS 10000
#define REQUEST_ID 1

/* --- the responder's process ------------------------------------------------------ */

static int
listen_unix(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path)
        fail_msg("socket path too long: %s", path);
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0)
        fail_msg("bind/listen %s: %s", path, strerror(errno));
    return fd;
}

void
arc_test_fcgi_start(struct arc_test_fcgi *f, const char *binary, char *const argv[],
                    char *const env[])
{
    if (access(binary, X_OK) != 0)
        fail_msg("%s: %s (built?)", binary, strerror(errno));
    arc_test_tmpdir(f->dir, sizeof f->dir);
    snprintf(f->sock, sizeof f->sock, "%s/fcgi.sock", f->dir);
    int fd = listen_unix(f->sock);
    pid_t parent = getpid(), pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* spawn-fcgi: the listening socket becomes descriptor 0, stdout goes
         * nowhere; stderr stays the test's, so the log shows on failure. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) /* the test died before prctl */
            _exit(1);
        int null = open("/dev/null", O_WRONLY);
        if (dup2(fd, 0) < 0 || null < 0 || dup2(null, 1) < 0)
            _exit(126);
        close(fd);
        close(null);
        signal(SIGPIPE, SIG_DFL);
        char *const args[] = {(char *)binary, NULL};
        execve(binary, argv ? argv : args, env);
        fprintf(stderr, "exec %s: %s\n", binary, strerror(errno));
        _exit(127);
    }
    close(fd);
    arc_test_child_add(pid);
    f->pid = pid;
}

int
arc_test_fcgi_stop(struct arc_test_fcgi *f)
{
    if (f->pid <= 0)
        return 0;
    int status = 0, rc = -1;
    kill(f->pid, SIGTERM);
    uint64_t t0 = arc_now_ns();
    pid_t got = 0;
    while ((got = waitpid(f->pid, &status, WNOHANG)) == 0 && arc_now_ns() - t0 < 5000000000ull) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    if (got == f->pid) {
        arc_test_child_forget(f->pid);
        if (WIFEXITED(status))
            rc = WEXITSTATUS(status);
        else
            fprintf(stderr, "service %d died of signal %d\n", (int)f->pid, WTERMSIG(status));
    } else {
        fprintf(stderr, "service %d did not stop within 5 s of SIGTERM: killed\n", (int)f->pid);
        arc_test_child_kill(f->pid);
    }
    f->pid = -1;
    arc_test_tmpdir_remove(f->dir);
    return rc;
}

/* --- the FastCGI client ------------------------------------------------------------ */

void
arc_test_response_init(struct arc_test_response *r)
{
    memset(r, 0, sizeof *r);
    arc_buf_init(&r->head);
    arc_buf_init(&r->body);
    arc_buf_init(&r->err);
}

void
arc_test_response_cleanup(struct arc_test_response *r)
{
    arc_buf_cleanup(&r->head);
    arc_buf_cleanup(&r->body);
    arc_buf_cleanup(&r->err);
    if (r->json != NULL)
        json_object_put(r->json);
    r->json = NULL;
}

static void
response_reset(struct arc_test_response *r)
{
    r->status = 0;
    r->app_status = 0;
    arc_buf_reset(&r->head);
    arc_buf_reset(&r->body);
    arc_buf_reset(&r->err);
    if (r->json != NULL)
        json_object_put(r->json);
    r->json = NULL;
}

static int
wait_fd(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    int n;
    while ((n = poll(&p, 1, IO_TIMEOUT_MS)) < 0 && errno == EINTR)
        ;
    return n > 0 ? 0 : -1;
}

/* Sends (out) or receives exactly n bytes; -1 on error, timeout or end of
 * stream. */
static int
io_all(int fd, void *p, size_t n, bool out)
{
    char *c = p;
    while (n > 0) {
        if (wait_fd(fd, out ? POLLOUT : POLLIN) != 0)
            return -1;
        ssize_t k = out ? send(fd, c, n, MSG_NOSIGNAL) : recv(fd, c, n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Appends records of type with content p..p+n to out: as many as the 64 KiB
 * bound on a record needs, none for n == 0 (the caller adds the empty one). */
static void
add_records(arc_buf *out, unsigned char type, const char *p, size_t n)
{
    do {
        size_t k = n > FCGI_MAX_LENGTH ? FCGI_MAX_LENGTH : n;
        unsigned char h[FCGI_HEADER_LEN] = {
            FCGI_VERSION_1, type, 0, REQUEST_ID, (unsigned char)(k >> 8), (unsigned char)k, 0, 0};
        arc_buf_append(out, h, sizeof h);
        arc_buf_append(out, p, k);
        p += k;
        n -= k;
    } while (n > 0);
}

static void
add_length(arc_buf *b, size_t n)
{
    if (n < 128) {
        arc_buf_append_char(b, (char)n);
        return;
    }
    unsigned char l[4] = {(unsigned char)((n >> 24) | 0x80), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n};
    arc_buf_append(b, l, sizeof l);
}

static void
add_param_n(arc_buf *b, const char *name, size_t nlen, const char *value, size_t vlen)
{
    add_length(b, nlen);
    add_length(b, vlen);
    arc_buf_append(b, name, nlen);
    arc_buf_append(b, value, vlen);
}

static void
add_param(arc_buf *b, const char *name, const char *value)
{
    add_param_n(b, name, strlen(name), value, strlen(value));
}

/* "Content-Type: x" -> CONTENT_TYPE, "X-Thing: y" -> HTTP_X_THING, as a web
 * server maps them (Content-Length is the request's own: from body_len). */
static void
add_header(arc_buf *b, const char *line)
{
    const char *colon = strchr(line, ':');
    if (colon == NULL)
        fail_msg("header without a colon: %s", line);
    size_t nlen = (size_t)(colon - line);
    const char *value = colon + 1;
    while (*value == ' ' || *value == '\t')
        value++;
    if (nlen == 14 && strncasecmp(line, "Content-Length", 14) == 0)
        return;
    char name[256];
    bool plain = nlen == 12 && strncasecmp(line, "Content-Type", 12) == 0;
    int off = snprintf(name, sizeof name, "%s", plain ? "" : "HTTP_");
    if (nlen + (size_t)off >= sizeof name)
        fail_msg("header name too long: %s", line);
    for (size_t i = 0; i < nlen; i++)
        name[(size_t)off + i] = line[i] == '-' ? '_' : (char)toupper((unsigned char)line[i]);
    name[(size_t)off + nlen] = '\0';
    add_param(b, name, value);
}

static void
build_params(arc_buf *b, const struct arc_test_request *rq)
{
    const char *q = strchr(rq->target, '?');
    size_t plen = q ? (size_t)(q - rq->target) : strlen(rq->target);
    char length[24];
    snprintf(length, sizeof length, "%zu", rq->body ? rq->body_len : 0);
    add_param(b, "GATEWAY_INTERFACE", "CGI/1.1");
    add_param(b, "SERVER_SOFTWARE", "arc_test_fcgi");
    add_param(b, "SERVER_PROTOCOL", "HTTP/1.1");
    add_param(b, "SERVER_NAME", "127.0.0.1");
    add_param(b, "SERVER_ADDR", "127.0.0.1");
    add_param(b, "SERVER_PORT", "80");
    add_param(b, "REMOTE_ADDR", rq->remote_addr ? rq->remote_addr : "127.0.0.1");
    add_param(b, "REMOTE_PORT", "40000");
    add_param(b, "REQUEST_METHOD", rq->method);
    add_param(b, "REQUEST_URI", rq->target);
    add_param_n(b, "SCRIPT_NAME", 11, rq->target, plen);
    add_param(b, "PATH_INFO", "");
    add_param(b, "QUERY_STRING", q ? q + 1 : "");
    add_param(b, "CONTENT_LENGTH", length);
    for (const char *const *h = rq->headers; h != NULL && *h != NULL; h++)
        add_header(b, *h);
    for (const char *const *p = rq->params; p != NULL && *p != NULL; p++) {
        const char *eq = strchr(*p, '=');
        if (eq == NULL)
            fail_msg("parameter without '=': %s", *p);
        add_param_n(b, *p, (size_t)(eq - *p), eq + 1, strlen(eq + 1));
    }
}

static int
connect_unix(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Splits what the responder wrote into status, header lines and body. */
static int
parse_stdout(struct arc_test_response *out, const arc_buf *raw)
{
    const char *p = raw->ptr ? raw->ptr : "";
    const char *end = strstr(p, "\r\n\r\n");
    size_t sep = 4;
    if (end == NULL) {
        end = strstr(p, "\n\n");
        sep = 2;
    }
    if (end == NULL) {
        fprintf(stderr, "arc_test_fcgi: no end of headers in %zu bytes of output\n", raw->len);
        return -1;
    }
    arc_buf_append(&out->head, p, (size_t)(end - p) + sep / 2);
    arc_buf_append(&out->body, end + sep, raw->len - (size_t)(end + sep - p));
    arc_buf_append_char(&out->body, '\0');
    out->body.len--;
    arc_buf_append_char(&out->head, '\0');
    out->head.len--;
    const char *status = arc_test_header(out, "Status");
    out->status = status ? atoi(status) : 200;
    return 0;
}

/* Reads records until END_REQUEST: STDOUT into raw, STDERR into out->err. */
static int
read_records(int fd, struct arc_test_response *out, arc_buf *raw)
{
    for (;;) {
        unsigned char h[FCGI_HEADER_LEN];
        if (io_all(fd, h, sizeof h, false) != 0)
            return -1;
        size_t len = ((size_t)h[4] << 8) | h[5], pad = h[6];
        char content[FCGI_MAX_LENGTH + 255];
        if (io_all(fd, content, len + pad, false) != 0)
            return -1;
        if (h[1] == FCGI_STDOUT)
            arc_buf_append(raw, content, len);
        else if (h[1] == FCGI_STDERR)
            arc_buf_append(&out->err, content, len);
        else if (h[1] == FCGI_END_REQUEST && len >= 8) {
            const unsigned char *c = (const unsigned char *)content;
            out->app_status =
                (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3];
            return c[4] == FCGI_REQUEST_COMPLETE ? 0 : -1;
        }
    }
}

int
arc_test_fcgi_request(const struct arc_test_fcgi *f, const struct arc_test_request *rq,
                      struct arc_test_response *out)
{
    response_reset(out);
    arc_buf msg = ARC_BUF_INIT, params = ARC_BUF_INIT, raw = ARC_BUF_INIT;
    const unsigned char begin[FCGI_HEADER_LEN + 8] = {
        FCGI_VERSION_1, FCGI_BEGIN_REQUEST, 0, REQUEST_ID, 0, 8, 0, 0, 0, FCGI_RESPONDER, 0};
    arc_buf_append(&msg, begin, sizeof begin);
    build_params(&params, rq);
    add_records(&msg, FCGI_PARAMS, params.ptr, params.len);
    if (params.len > 0)
        add_records(&msg, FCGI_PARAMS, "", 0);
    if (rq->body != NULL && rq->body_len > 0)
        add_records(&msg, FCGI_STDIN, rq->body, rq->body_len);
    add_records(&msg, FCGI_STDIN, "", 0);

    int rc = -1, fd = connect_unix(f->sock);
    if (fd < 0) {
        fprintf(stderr, "arc_test_fcgi: connect %s: %s\n", f->sock, strerror(errno));
        goto out;
    }
    /* A responder may answer (413) before it reads the body: a send that
     * fails is not the end, the answer is what counts. */
    (void)io_all(fd, msg.ptr, msg.len, true);
    shutdown(fd, SHUT_WR);
    if (read_records(fd, out, &raw) != 0) {
        fprintf(stderr,
                "arc_test_fcgi: %s %s: connection closed or timed out before "
                "END_REQUEST (did the service die? stderr above)\n",
                rq->method, rq->target);
        goto out;
    }
    rc = parse_stdout(out, &raw);
out:
    if (fd >= 0)
        close(fd);
    arc_buf_cleanup(&msg);
    arc_buf_cleanup(&params);
    arc_buf_cleanup(&raw);
    return rc;
}

const char *
arc_test_header(const struct arc_test_response *r, const char *name)
{
    static char value[1024];
    size_t n = strlen(name);
    const char *p = r->head.ptr;
    while (p != NULL && *p != '\0') {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > n && p[n] == ':' && strncasecmp(p, name, n) == 0) {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            size_t vlen = (size_t)(p + len - v);
            if (vlen > 0 && v[vlen - 1] == '\r')
                vlen--;
            if (vlen >= sizeof value)
                vlen = sizeof value - 1;
            memcpy(value, v, vlen);
            value[vlen] = '\0';
            return value;
        }
        p = eol ? eol + 1 : NULL;
    }
    return NULL;
}

json_object *
arc_test_json(struct arc_test_response *r)
{
    if (r->json == NULL) {
        r->json = json_tokener_parse(r->body.ptr ? r->body.ptr : "");
        if (r->json == NULL)
            fail_msg("the body is not JSON: %.200s", r->body.ptr ? r->body.ptr : "");
    }
    return r->json;
}

static json_object *
json_at(const struct arc_test_response *r, const char *path)
{
    json_object *o = arc_test_json((struct arc_test_response *)r);
    char key[128];
    while (o != NULL && *path != '\0') {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        path += n + (path[n] == '.');
        if (json_object_is_type(o, json_type_array)) {
            char *end;
            long i = strtol(key, &end, 10);
            o = *end == '\0' && i >= 0 ? json_object_array_get_idx(o, (size_t)i) : NULL;
        } else if (!json_object_object_get_ex(o, key, &o)) {
            o = NULL;
        }
    }
    return o;
}

const char *
arc_test_json_str(const struct arc_test_response *r, const char *path)
{
    json_object *o = json_at(r, path);
    return o != NULL && json_object_is_type(o, json_type_string) ? json_object_get_string(o) : NULL;
}

long long
arc_test_json_int(const struct arc_test_response *r, const char *path)
{
    json_object *o = json_at(r, path);
    if (o == NULL || !json_object_is_type(o, json_type_int))
        fail_msg("no integer at %s in %.200s", path, r->body.ptr ? r->body.ptr : "");
    return (long long)json_object_get_int64(o);
}

bool
arc_test_json_has(const struct arc_test_response *r, const char *path)
{
    return json_at(r, path) != NULL;
}

/* --- one service per test file ------------------------------------------------------ */

#define MAX_ENV 48

static struct {
    struct arc_test_fcgi fcgi;
    struct arc_test_memcached mc;
    struct arc_test_response resp;
    char service[64];
    char run_dir[128];
    char admin_key[65];
    char auth[96];
    char *env[MAX_ENV + 1];
    size_t nenv;
    bool running;
    bool died; /* it ran and exited under a test */
} S;

static const char *
dir_of(const char *var, const char *fallback)
{
    const char *v = getenv(var);
    return v != NULL && v[0] != '\0' ? v : fallback;
}

static void
env_add(const char *name, const char *value)
{
    if (S.nenv >= MAX_ENV)
        fail_msg("too many environment variables for the service");
    size_t n = strlen(name) + strlen(value) + 2;
    char *e = malloc(n);
    assert_non_null(e);
    snprintf(e, n, "%s=%s", name, value);
    S.env[S.nenv++] = e;
    S.env[S.nenv] = NULL;
}

static void
env_free(void)
{
    for (size_t i = 0; i < S.nenv; i++)
        free(S.env[i]);
    S.nenv = 0;
    S.env[0] = NULL;
}

/* What `arcade up` gives a pool (service_env), pointed at the test's own. */
static void
service_env(const struct arc_db_config *db, const char *run_dir, const char *const *extra)
{
    char port[16];
    snprintf(port, sizeof port, "%u", db->port);
    env_add("PATH", "/usr/local/bin:/usr/bin:/bin");
    env_add("TZ", "UTC");
    env_add("LANG", "C.UTF-8");
    env_add("HOME", run_dir);
    env_add("ARCADE_SERVICE", S.service);
    env_add("ARCADE_DB_SOCKET", db->socket ? db->socket : "");
    env_add("ARCADE_DB_HOST", db->host);
    env_add("ARCADE_DB_PORT", port);
    env_add("ARCADE_DB_USER", db->user);
    env_add("ARCADE_DB_PASSWORD", db->password);
    env_add("ARCADE_DB_NAME", db->name);
    env_add("ARCADE_MEMCACHED_SERVERS", S.mc.pid > 0 ? S.mc.servers : "");
    env_add("ARCADE_ADMIN_KEY", S.admin_key);
    env_add("ARCADE_LOG_FILE", "");
    env_add("ARCADE_LOG_LEVEL", getenv("ARCADE_TEST_VERBOSE") ? "debug" : "warn");
    env_add("ARCADE_RUN_DIR", run_dir);
    env_add("ARCADE_USERS_URL", "");
    env_add("ARCADE_CATALOG_URL", "");
    env_add("ARCADE_AMQP_URL", "");
    static const char *const passed[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
    for (size_t i = 0; i < ARC_ARRAY_LEN(passed); i++)
        if (getenv(passed[i]) != NULL)
            env_add(passed[i], getenv(passed[i]));
    for (const char *const *e = extra; e != NULL && *e != NULL; e++) {
        const char *eq = strchr(*e, '=');
        if (eq == NULL)
            fail_msg("environment entry without '=': %s", *e);
        for (size_t i = 0; i < S.nenv; i++) { /* a later entry replaces a default */
            if (strncmp(S.env[i], *e, (size_t)(eq - *e) + 1) == 0) {
                free(S.env[i]);
                S.env[i] = S.env[--S.nenv];
                S.env[S.nenv] = NULL;
                break;
            }
        }
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(eq - *e), *e);
        env_add(name, eq + 1);
    }
}

/* arcade-migrate <service> <sql dir> with the service's environment, as
 * `arcade up` applies the migrations. */
static int
migrate(const char *bin_dir, const char *sql_dir)
{
    char bin[512], dir[512];
    snprintf(bin, sizeof bin, "%s/arcade-migrate", bin_dir);
    snprintf(dir, sizeof dir, "%s/%s", sql_dir, S.service);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 1);
        char *const argv[] = {bin, S.service, dir, NULL};
        execve(bin, argv, S.env);
        fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    fprintf(stderr, "%s %s %s failed\n", bin, S.service, dir);
    return -1;
}

int
arc_test_service_setup(const char *service, const char *const *env)
{
    struct arc_db_config db;
    if (!arc_test_db_config(&db))
        return 0;
    snprintf(S.service, sizeof S.service, "%s", service);
    unsigned char key[24];
    if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key)
        return -1;
    for (size_t i = 0; i < sizeof key; i++)
        snprintf(S.admin_key + 2 * i, 3, "%02x", key[i]);
    snprintf(S.auth, sizeof S.auth, "Authorization: Bearer %s", S.admin_key);
    arc_test_response_init(&S.resp);

    const char *bin_dir = dir_of("ARCADE_TEST_BIN_DIR", ARC_TEST_BIN_DIR);
    const char *sql_dir = dir_of("ARCADE_TEST_SQL_DIR", ARC_TEST_SQL_DIR);
    (void)arc_test_memcached_start(&S.mc); /* none installed: no cache */
    arc_test_tmpdir(S.run_dir, sizeof S.run_dir);
    service_env(&db, S.run_dir, env);
    if (migrate(bin_dir, sql_dir) != 0)
        return -1;
    char bin[512];
    snprintf(bin, sizeof bin, "%s/arcade-%s", bin_dir, service);
    arc_test_fcgi_start(&S.fcgi, bin, NULL, S.env);
    S.running = true;
    return 0;
}

int
arc_test_service_teardown(void)
{
    if (!S.running)
        return 0;
    int rc = arc_test_fcgi_stop(&S.fcgi);
    if (rc != 0)
        fprintf(stderr, "%s did not stop cleanly on SIGTERM (status %d)\n", S.service, rc);
    arc_test_memcached_stop(&S.mc);
    arc_test_tmpdir_remove(S.run_dir);
    arc_test_response_cleanup(&S.resp);
    env_free();
    S.running = false;
    return rc == 0 ? 0 : -1;
}

static const char *main_service;
static const char *const *main_env;

static int
on_group_setup(void **state)
{
    (void)state;
    return arc_test_service_setup(main_service, main_env);
}

static int
on_group_teardown(void **state)
{
    (void)state;
    return arc_test_service_teardown();
}

int
arc_test_service_main(const char *argv0, const char *service, const char *const *env,
                      const struct CMUnitTest *tests, size_t ntests)
{
    arc_test_init(argv0, 30);
    main_service = service;
    main_env = env;
    return arc_test_exit(
        _cmocka_run_group_tests(service, tests, ntests, on_group_setup, on_group_teardown));
}

bool
arc_test_service_running(void)
{
    return S.running;
}

void
arc_test_need_service(void)
{
    if (S.died)
        fail_msg("%s died under an earlier test (see above)", S.service);
    if (!S.running) {
        arc_test_note_skip("no test database (run under tests/with-test-db)");
        skip();
    }
}

const struct arc_test_fcgi *
arc_test_service(void)
{
    return &S.fcgi;
}

const char *
arc_test_admin_auth(void)
{
    return S.auth;
}

const char *
arc_test_service_memcached(void)
{
    return S.mc.pid > 0 ? S.mc.servers : "";
}

struct arc_test_response *
arc_test_call(const char *method, const char *target, const char *const *headers, const char *body)
{
    if (!S.running)
        fail_msg("arc_test_call without a running service (arc_test_service_setup)");
    bool typed = false;
    for (const char *const *h = headers; h != NULL && *h != NULL; h++)
        typed = typed || strncasecmp(*h, "Content-Type:", 13) == 0;
    static const char *const json_type[] = {"CONTENT_TYPE=application/json", NULL};
    const struct arc_test_request rq = {
        .method = method,
        .target = target,
        .headers = headers,
        .params = body != NULL && !typed ? json_type : NULL,
        .body = body,
        .body_len = body ? strlen(body) : 0,
    };
    if (arc_test_fcgi_request(&S.fcgi, &rq, &S.resp) == 0)
        return &S.resp;
    /* A service that died: say how (it may still be on its way out). */
    int status;
    pid_t w = 0;
    for (int i = 0; i < 50 && w == 0; i++) {
        w = waitpid(S.fcgi.pid, &status, WNOHANG);
        struct timespec ts = {0, 10000000};
        if (w == 0)
            nanosleep(&ts, NULL);
    }
    if (w == S.fcgi.pid) {
        arc_test_child_forget(S.fcgi.pid);
        S.fcgi.pid = -1;
        S.running = false;
        S.died = true;
        if (WIFEXITED(status))
            fail_msg("%s %s: %s exited with status %d (its log is above)", method, target,
                     S.service, WEXITSTATUS(status));
        fail_msg("%s %s: %s died of signal %d (its log is above)", method, target, S.service,
                 WTERMSIG(status));
    }
    fail_msg("%s %s: no answer from %s", method, target, S.service);
    return &S.resp;
}
