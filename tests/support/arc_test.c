/*
 * arc_test.c - the shared scaffolding of the C tests (arc_test.h).
 */
#include "arc_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arcade/common.h"
#include "arcade/log.h"

#define MAX_CHILDREN 16
#define MAX_TMPDIRS 8

static struct {
    const char *name;
    pid_t owner; /* the test process: a forked child must not clean up for it */
    unsigned skipped;
    volatile pid_t children[MAX_CHILDREN];
    char tmpdirs[MAX_TMPDIRS][128];
} T = {.name = "test"};

/* --- children and temporary directories -------------------------------------------- */

void
arc_test_child_add(pid_t pid)
{
    for (size_t i = 0; i < MAX_CHILDREN; i++) {
        if (T.children[i] <= 0) {
            T.children[i] = pid;
            return;
        }
    }
    fail_msg("%s: more than %d children", T.name, MAX_CHILDREN);
}

void
arc_test_child_forget(pid_t pid)
{
    for (size_t i = 0; i < MAX_CHILDREN; i++)
        if (T.children[i] == pid)
            T.children[i] = 0;
}

void
arc_test_child_kill(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGCONT);
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    arc_test_child_forget(pid);
}

static int
on_remove(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void
arc_test_tmpdir(char *path, size_t cap)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    int n = snprintf(path, cap, "%s/arcade-test-XXXXXX", base);
    if (n < 0 || (size_t)n >= cap || mkdtemp(path) == NULL)
        fail_msg("%s: cannot make a temporary directory under %s: %s", T.name, base,
                 strerror(errno));
    for (size_t i = 0; i < MAX_TMPDIRS; i++) {
        if (T.tmpdirs[i][0] == '\0' && strlen(path) < sizeof T.tmpdirs[i]) {
            memcpy(T.tmpdirs[i], path, strlen(path) + 1);
            return;
        }
    }
    fail_msg("%s: too many temporary directories (or %s is too long)", T.name, path);
}

void
arc_test_tmpdir_remove(const char *path)
{
    nftw(path, on_remove, 8, FTW_DEPTH | FTW_PHYS);
    for (size_t i = 0; i < MAX_TMPDIRS; i++)
        if (strcmp(T.tmpdirs[i], path) == 0)
            T.tmpdirs[i][0] = '\0';
}

static void
cleanup(void)
{
    if (getpid() != T.owner)
        return;
    for (size_t i = 0; i < MAX_CHILDREN; i++)
        arc_test_child_kill(T.children[i]);
    for (size_t i = 0; i < MAX_TMPDIRS; i++)
        if (T.tmpdirs[i][0] != '\0')
            arc_test_tmpdir_remove(T.tmpdirs[i]);
}

/* --- main's scaffolding ------------------------------------------------------------ */

static void
on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test run timed out (alarm): children killed\n";
    for (size_t i = 0; i < MAX_CHILDREN; i++) {
        if (T.children[i] > 0) {
            kill(T.children[i], SIGCONT);
            kill(T.children[i], SIGKILL);
        }
    }
    if (write(2, msg, sizeof msg - 1) < 0) {
        /* nothing left to tell it with */
    }
    _exit(1);
}

void
arc_test_init(const char *argv0, unsigned seconds)
{
    const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
    T.name = slash ? slash + 1 : argv0 ? argv0 : "test";
    T.owner = getpid();
    arc_log_set_level(getenv("ARCADE_TEST_VERBOSE") ? ARC_LOG_DEBUG : ARC_LOG_ERROR);
    signal(SIGPIPE, SIG_IGN);
    atexit(cleanup);
    if (seconds > 0) {
        signal(SIGALRM, on_alarm);
        alarm(seconds);
    }
}

void
arc_test_note_skip(const char *why)
{
    T.skipped++;
    fprintf(stderr, "%s: skipped: %s\n", T.name, why);
}

int
arc_test_exit(int failed)
{
    cleanup();
    if (failed != 0)
        return 1;
    return T.skipped > 0 ? ARC_TEST_SKIP : 0;
}

/* --- the database ------------------------------------------------------------------- */

bool
arc_test_db_config(struct arc_db_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    const char *sock = getenv("ARCADE_TEST_DB_SOCKET");
    const char *host = getenv("ARCADE_TEST_DB_HOST");
    const char *user = getenv("ARCADE_TEST_DB_USER");
    const char *name = getenv("ARCADE_TEST_DB_NAME");
    const char *port = getenv("ARCADE_TEST_DB_PORT");
    const char *password = getenv("ARCADE_TEST_DB_PASSWORD");
    if (sock != NULL && sock[0] == '\0')
        sock = NULL;
    if ((sock == NULL && host == NULL) || user == NULL || name == NULL)
        return false;
    cfg->socket = sock;
    cfg->host = host ? host : "127.0.0.1";
    cfg->port = port ? (unsigned)atoi(port) : 3306;
    cfg->user = user;
    cfg->password = password ? password : "";
    cfg->name = name;
    cfg->connect_timeout_s = 2;
    cfg->rw_timeout_s = 10;
    return true;
}

MYSQL *
arc_test_db_connect(void)
{
    struct arc_db_config cfg;
    if (!arc_test_db_config(&cfg))
        fail_msg("no test database: ARCADE_TEST_DB_* are not set (tests/with-test-db)");
    MYSQL *m = mysql_init(NULL);
    assert_non_null(m);
    if (mysql_real_connect(m, cfg.socket ? NULL : cfg.host, cfg.user, cfg.password, cfg.name,
                           cfg.socket ? 0 : cfg.port, cfg.socket, 0) == NULL) {
        char err[512];
        snprintf(err, sizeof err, "%s", mysql_error(m));
        mysql_close(m);
        fail_msg("connect to the test database: %s", err);
    }
    return m;
}

void
arc_test_db_query(MYSQL *m, const char *sql)
{
    if (mysql_query(m, sql) != 0)
        fail_msg("%s: %s", sql, mysql_error(m));
    MYSQL_RES *r = mysql_store_result(m);
    if (r != NULL)
        mysql_free_result(r);
}

void
arc_test_db_exec(const char *sql)
{
    MYSQL *m = arc_test_db_connect();
    arc_test_db_query(m, sql);
    mysql_close(m);
}

long long
arc_test_db_int(const char *sql)
{
    MYSQL *m = arc_test_db_connect();
    if (mysql_query(m, sql) != 0)
        fail_msg("%s: %s", sql, mysql_error(m));
    MYSQL_RES *r = mysql_store_result(m);
    assert_non_null(r);
    MYSQL_ROW row = mysql_fetch_row(r);
    long long v = row && row[0] ? atoll(row[0]) : -1;
    mysql_free_result(r);
    mysql_close(m);
    return v;
}

/* --- sockets ------------------------------------------------------------------------ */

int
arc_test_listen_loopback(unsigned short *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

bool
arc_test_port_open(unsigned short port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* --- memcached ---------------------------------------------------------------------- */

static const char *
find_memcached(void)
{
    static const char *const paths[] = {"/usr/bin/memcached", "/usr/local/bin/memcached",
                                        "/usr/sbin/memcached"};
    for (size_t i = 0; i < ARC_ARRAY_LEN(paths); i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

/* Forks memcached on port ("-1": the kernel's choice), reporting it in
 * port_file when one is given. The child dies with the test. */
static pid_t
spawn_memcached(const char *bin, const char *port, const char *port_file)
{
    pid_t parent = getpid(), pid = fork();
    assert_true(pid >= 0);
    if (pid > 0) {
        arc_test_child_add(pid);
        return pid;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* the test died before prctl */
        _exit(1);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
    }
    if (port_file != NULL)
        setenv("MEMCACHED_PORT_FILENAME", port_file, 1);
    if (geteuid() == 0)
        execl(bin, "memcached", "-l", "127.0.0.1", "-p", port, "-U", "0", "-m", "16", "-u", "root",
              (char *)NULL);
    else
        execl(bin, "memcached", "-l", "127.0.0.1", "-p", port, "-U", "0", "-m", "16", (char *)NULL);
    _exit(127);
}

static bool
exited(pid_t pid)
{
    if (waitpid(pid, NULL, WNOHANG) != pid)
        return false;
    arc_test_child_forget(pid);
    return true;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* memcached renames "<file>.lck" to file once its sockets listen: the file
 * holds "TCP INET: <port>". Returns the port, 0 when it is not there (yet). */
static unsigned short
read_port_file(const char *file)
{
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return 0;
    char line[64];
    unsigned port = 0;
    while (port == 0 && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "TCP INET: %u", &port) != 1)
            port = 0;
    fclose(f);
    return port <= 65535 ? (unsigned short)port : 0;
}

static void
start_anywhere(struct arc_test_memcached *mc, const char *bin)
{
    char dir[128], file[160];
    arc_test_tmpdir(dir, sizeof dir);
    snprintf(file, sizeof file, "%s/ports", dir);
    pid_t pid = spawn_memcached(bin, "-1", file);
    for (int i = 0; i < 1000 && mc->port == 0; i++) {
        mc->port = read_port_file(file);
        if (mc->port == 0 && exited(pid))
            fail_msg("memcached exited at start");
        if (mc->port == 0)
            sleep_ms(5);
    }
    arc_test_tmpdir_remove(dir);
    if (mc->port == 0) {
        arc_test_child_kill(pid);
        fail_msg("memcached did not say its port within 5 s");
    }
    mc->pid = pid;
}

/* Again on the port it had: the port was ours a moment ago, but the old
 * process may not have let go of it yet. */
static void
start_again(struct arc_test_memcached *mc, const char *bin)
{
    char port[16];
    snprintf(port, sizeof port, "%u", mc->port);
    for (int attempt = 0; attempt < 50; attempt++) {
        pid_t pid = spawn_memcached(bin, port, NULL);
        for (int i = 0; i < 200; i++) {
            if (arc_test_port_open(mc->port)) {
                mc->pid = pid;
                return;
            }
            if (exited(pid))
                break;
            sleep_ms(10);
        }
        arc_test_child_kill(pid);
        sleep_ms(100);
    }
    fail_msg("memcached did not start again on port %u", mc->port);
}

int
arc_test_memcached_start(struct arc_test_memcached *mc)
{
    const char *bin = find_memcached();
    if (bin == NULL)
        return -1;
    if (mc->port == 0)
        start_anywhere(mc, bin);
    else
        start_again(mc, bin);
    snprintf(mc->servers, sizeof mc->servers, "127.0.0.1:%u", mc->port);
    return 0;
}

void
arc_test_memcached_stop(struct arc_test_memcached *mc)
{
    arc_test_child_kill(mc->pid);
    mc->pid = -1;
}
