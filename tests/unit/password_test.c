/*
 * password_test.c - Argon2id hashing and the host-wide bound on concurrent
 * hashes (slot lock files).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <unistd.h>

#include "arcade/password.h"

#define PW "correct horse battery staple"

static char run_dir[] = "/tmp/arcade-pwtest-XXXXXX";

static int
setup(void **state)
{
    return mkdtemp(run_dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
    char path[256];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/arcade-pwhash.%d.lock", run_dir, i);
        unlink(path);
    }
    rmdir(run_dir);
    return 0;
}

static void
hash_then_verify(void **state)
{
    char hash[ARC_PASSWORD_HASH_MAX];
    assert_int_equal(arc_password_hash(NULL, PW, strlen(PW), hash), ARC_OK);
    assert_true(strncmp(hash, "$argon2id$v=19$m=65536,t=2,p=1$", 31) == 0);
    assert_int_equal(arc_password_verify(NULL, hash, PW, strlen(PW)), ARC_OK);
    assert_int_equal(arc_password_verify(NULL, hash, PW, strlen(PW) - 1), ARC_INVALID);
    assert_int_equal(arc_password_verify(NULL, hash, "Correct horse battery staple", strlen(PW)),
                     ARC_INVALID);
    /* Two hashes of one password differ (random salt). */
    char again[ARC_PASSWORD_HASH_MAX];
    assert_int_equal(arc_password_hash(NULL, PW, strlen(PW), again), ARC_OK);
    assert_string_not_equal(hash, again);
}

static void
passwords_are_bytes_not_c_strings(void **state)
{
    static const char pw[] = "abc\0defghij";
    char hash[ARC_PASSWORD_HASH_MAX];
    assert_int_equal(arc_password_hash(NULL, pw, sizeof pw - 1, hash), ARC_OK);
    assert_int_equal(arc_password_verify(NULL, hash, pw, sizeof pw - 1), ARC_OK);
    assert_int_equal(arc_password_verify(NULL, hash, "abc", 3), ARC_INVALID);
}

static void
malformed_hash_is_a_mismatch(void **state)
{
    assert_int_equal(arc_password_verify(NULL, "", PW, strlen(PW)), ARC_INVALID);
    assert_int_equal(arc_password_verify(NULL, "$argon2id$v=19$garbage", PW, strlen(PW)),
                     ARC_INVALID);
    assert_int_equal(arc_password_verify(NULL, NULL, PW, strlen(PW)), ARC_INVALID);
}

static void
dummy_costs_like_a_real_hash(void **state)
{
    /* Same algorithm and parameters as a fresh hash: same verification cost. */
    assert_int_equal(sodium_init() >= 0, 1);
    assert_int_equal(crypto_pwhash_str_needs_rehash(arc_password_dummy_hash(),
                                                    crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                                    crypto_pwhash_MEMLIMIT_INTERACTIVE),
                     0);
    assert_int_equal(arc_password_verify_dummy(NULL, PW, strlen(PW)), ARC_INVALID);
    assert_int_equal(arc_password_verify_dummy(NULL, "", 0), ARC_INVALID);
}

static void
slots_bound_concurrent_hashes(void **state)
{
    arc_password *p = arc_password_new(run_dir, 1);
    assert_non_null(p);
    char hash[ARC_PASSWORD_HASH_MAX];
    assert_int_equal(arc_password_hash(p, PW, strlen(PW), hash), ARC_OK);

    /* Another process (here: another open file description) holds the only
     * slot: the check gives up at once, without waiting (a waiting worker
     * would be one less worker for every other request). */
    char path[256];
    snprintf(path, sizeof path, "%s/arcade-pwhash.0.lock", run_dir);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    uint64_t t0 = arc_now_ns();
    assert_int_equal(arc_password_verify(p, hash, PW, strlen(PW)), ARC_UNAVAILABLE);
    uint64_t waited_ms = (arc_now_ns() - t0) / 1000000u;
    assert_true(waited_ms < 50);
    assert_int_equal(arc_password_verify_dummy(p, PW, strlen(PW)), ARC_UNAVAILABLE);

    /* Freed: it works again, and a second slot means a second hash may run. */
    close(fd);
    assert_int_equal(arc_password_verify(p, hash, PW, strlen(PW)), ARC_OK);
    arc_password_free(p);

    p = arc_password_new(run_dir, 2);
    assert_non_null(p);
    fd = open(path, O_RDWR);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    assert_int_equal(arc_password_verify(p, hash, PW, strlen(PW)), ARC_OK);
    close(fd);
    arc_password_free(p);
}

static void
bad_arguments(void **state)
{
    assert_null(arc_password_new(run_dir, 0));
    assert_null(arc_password_new(run_dir, 65));
    assert_null(arc_password_new("/nonexistent/arcade/dir", 1));
    arc_password_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_then_verify),
        cmocka_unit_test(passwords_are_bytes_not_c_strings),
        cmocka_unit_test(malformed_hash_is_a_mismatch),
        cmocka_unit_test(dummy_costs_like_a_real_hash),
        cmocka_unit_test(slots_bound_concurrent_hashes),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
