/*
 * arc_test.h - what every C test needs and used to copy: the scaffolding of
 * main (a whole-run alarm, log level, SIGPIPE, children that never outlive the
 * test), skips that ctest reports as skipped, the ARCADE_TEST_DB_* database,
 * a private memcached on a port that cannot race, and a loopback listener.
 *
 * A test file:
 *
 *     int main(int argc, char **argv)
 *     {
 *         arc_test_init(argv[0], 50);
 *         const struct CMUnitTest tests[] = {...};
 *         return arc_test_exit(cmocka_run_group_tests(tests, NULL, NULL));
 *     }
 *
 * and ARC_TEST_NEED(cond, why) at the top of a test that needs something the
 * machine may not have. The executable then exits 77 (ARC_TEST_SKIP) when a
 * test was skipped and none failed: tests/CMakeLists.txt sets
 * SKIP_RETURN_CODE 77, so ctest shows it as skipped, not passed.
 *
 * Include this after cmocka's own prerequisites (it includes them itself).
 */
#ifndef ARC_TEST_H
#define ARC_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <mysql.h>
#include <stdbool.h>
#include <sys/types.h>

#include "arcade/config.h"

/* The exit status ctest takes for "skipped" (SKIP_RETURN_CODE). */
#define ARC_TEST_SKIP 77

/* Alarm after seconds (0: none): the whole run failed by hanging; every
 * registered child is SIGKILLed first. Sets the log level (ARCADE_TEST_VERBOSE
 * set: debug, else error), ignores SIGPIPE, and at exit stops the children and
 * removes the temporary directories that are still registered. argv0 names the
 * test in messages. Call once, first thing in main. */
void arc_test_init(const char *argv0, unsigned seconds);

/* What main returns: failed (cmocka_run_group_tests' count) != 0 -> 1, else
 * ARC_TEST_SKIP when a test was skipped through ARC_TEST_NEED, else 0. Stops
 * the registered children first. */
int arc_test_exit(int failed);

/* Skips the current test, unless cond holds, with why on stderr and counted
 * for arc_test_exit. Only inside a test (cmocka's skip()), not in a setup. */
#define ARC_TEST_NEED(cond, why)                                                                   \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            arc_test_note_skip(why);                                                               \
            skip();                                                                                \
        }                                                                                          \
    } while (0)
void arc_test_note_skip(const char *why);

/* --- children ------------------------------------------------------------------- */

/* Registers a child (at most 16) to be SIGKILLed on alarm and at exit. */
void arc_test_child_add(pid_t pid);
/* Forgets a child the caller has reaped. */
void arc_test_child_forget(pid_t pid);
/* SIGCONT + SIGKILL, reaped, forgotten. No-op for pid <= 0. */
void arc_test_child_kill(pid_t pid);

/* A directory of its own under $TMPDIR (or /tmp), 0700, removed with its
 * files at exit; path gets it (cap >= 64). Fails the test when it cannot. */
void arc_test_tmpdir(char *path, size_t cap);
/* Removes it now (files first) and forgets it. */
void arc_test_tmpdir_remove(const char *path);

/* --- the database of tests/with-test-db ---------------------------------------- */

/* Fills cfg from ARCADE_TEST_DB_SOCKET (or _HOST, _PORT), _USER, _PASSWORD
 * (default "") and _NAME, with timeouts of 2 s (connect) and 10 s (read,
 * write). Returns false, cfg zeroed, when there is no database to use (no
 * socket or host, no user or no name). The strings are the environment's. */
bool arc_test_db_config(struct arc_db_config *cfg);

/* A plain client connection to that database, outside arc_db, for set-up and
 * checks. Fails the test when there is none. Caller closes (mysql_close). */
MYSQL *arc_test_db_connect(void);
/* Runs sql (no result, or one that is dropped) on m; fails the test on error. */
void arc_test_db_query(MYSQL *m, const char *sql);
/* One statement on a connection of its own. */
void arc_test_db_exec(const char *sql);
/* First column of the first row as a number, -1 when there is no row. */
long long arc_test_db_int(const char *sql);

/* --- servers the test starts ----------------------------------------------------- */

/* A listening TCP socket on 127.0.0.1 and a port the kernel picked (backlog
 * 16); *port gets it. Fails the test when it cannot. */
int arc_test_listen_loopback(unsigned short *port);
/* Whether something accepts connections on 127.0.0.1:port. */
bool arc_test_port_open(unsigned short port);

/* A memcached of the test's own, a child in the foreground (-U 0, -m 16). */
struct arc_test_memcached {
    pid_t pid;           /* > 0 while it runs */
    unsigned short port; /* 0 before the first start: memcached picks it */
    char servers[32];    /* "127.0.0.1:<port>", for arc_cache_new */
};

/* Starts memcached. With mc->port == 0 it binds a port of the kernel's choice
 * (-p -1) and says which in the file MEMCACHED_PORT_FILENAME names, so that no
 * other process can take the port between a probe and the bind; otherwise it
 * starts again on mc->port (after a stop). Returns 0 once it accepts
 * connections, -1 when no memcached binary is installed; fails the test when
 * one is installed but does not start. */
int arc_test_memcached_start(struct arc_test_memcached *mc);
/* Stops it (SIGKILL, also when SIGSTOPped); the port is kept for a restart. */
void arc_test_memcached_stop(struct arc_test_memcached *mc);

#endif
