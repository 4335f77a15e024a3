/*
 * password.c - Argon2id hashing behind a host-wide bound on concurrent hashes.
 */
#include "arcade/password.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <sodium.h>

#include "arcade/log.h"

#define SLOTS_MAX 64

struct arc_password {
    int fds[SLOTS_MAX];
    unsigned nslots;
};

_Static_assert(ARC_PASSWORD_HASH_MAX >= crypto_pwhash_STRBYTES, "room for an Argon2id string");

/* The hash of a random password nobody knows, made with the same parameters
 * as every real hash (m=64 MiB, t=2, p=1), so verifying against it costs the
 * same as verifying a real account's password. */
static const char dummy_hash[] = "$argon2id$v=19$m=65536,t=2,p=1$iSsDdm6yRPyiSEch9lwO/"
                                 "A$WScMxmq+6yzx6iPFI+iZDxlnI/MWKhuDUwtwuTGgBDo";

const char *
arc_password_dummy_hash(void)
{
    return dummy_hash;
}

arc_password *
arc_password_new(const char *run_dir, unsigned slots)
{
    if (run_dir == NULL || slots == 0 || slots > SLOTS_MAX) {
        errno = EINVAL;
        return NULL;
    }
    if (sodium_init() < 0) {
        errno = EIO;
        return NULL;
    }
    arc_password *p = arc_xcalloc(1, sizeof *p);
    for (unsigned i = 0; i < slots; i++) {
        char path[4096];
        int n = snprintf(path, sizeof path, "%s/arcade-pwhash.%u.lock", run_dir, i);
        if (n < 0 || (size_t)n >= sizeof path) {
            errno = ENAMETOOLONG;
            goto fail;
        }
        p->fds[i] = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (p->fds[i] < 0)
            goto fail;
        p->nslots = i + 1;
    }
    return p;
fail : {
    int saved = errno;
    arc_password_free(p);
    errno = saved;
    return NULL;
}
}

void
arc_password_free(arc_password *p)
{
    if (p == NULL)
        return;
    for (unsigned i = 0; i < p->nslots; i++)
        close(p->fds[i]);
    free(p);
}

/* Takes a free slot at once: returns its index, or -1 when every slot is
 * busy. Never waits: a worker that waited for a slot would be one less worker
 * serving everything else (GET /users/me queued behind logins in the web
 * server), so a busy host answers 503 + Retry-After right away. Tries the
 * slots from a random start so that callers do not all pile onto slot 0. */
static int
slot_acquire(arc_password *p)
{
    unsigned start = randombytes_uniform(p->nslots);
    for (unsigned k = 0; k < p->nslots; k++) {
        unsigned i = (start + k) % p->nslots;
        int rc;
        do
            rc = flock(p->fds[i], LOCK_EX | LOCK_NB);
        while (rc != 0 && errno == EINTR);
        if (rc == 0)
            return (int)i;
        if (errno != EWOULDBLOCK) {
            arc_log_error("password: flock of slot %u failed: %s", i, strerror(errno));
            return -1;
        }
    }
    return -1;
}

static void
slot_release(arc_password *p, int slot)
{
    if (slot >= 0)
        (void)flock(p->fds[slot], LOCK_UN);
}

/* Takes a slot when p is set. Returns 0, or -1 when none is free. */
static int
enter(arc_password *p, int *slot)
{
    *slot = -1;
    if (p == NULL)
        return 0;
    *slot = slot_acquire(p);
    if (*slot < 0) {
        arc_log_warn("password: every hashing slot busy");
        return -1;
    }
    return 0;
}

static void
leave(arc_password *p, int slot)
{
    if (p != NULL)
        slot_release(p, slot);
}

enum arc_err
arc_password_hash(arc_password *p, const char *pw, size_t len, char out[ARC_PASSWORD_HASH_MAX])
{
    if (sodium_init() < 0)
        return ARC_INTERNAL;
    int slot;
    if (enter(p, &slot) != 0)
        return ARC_UNAVAILABLE;
    int rc = crypto_pwhash_str(out, pw, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE);
    leave(p, slot);
    if (rc != 0) {
        arc_log_error("password: crypto_pwhash_str failed (out of memory?)");
        return ARC_INTERNAL;
    }
    return ARC_OK;
}

enum arc_err
arc_password_verify(arc_password *p, const char *hash, const char *pw, size_t len)
{
    if (sodium_init() < 0)
        return ARC_INTERNAL;
    if (hash == NULL || memchr(hash, '\0', crypto_pwhash_STRBYTES) == NULL)
        return ARC_INVALID;
    int slot;
    if (enter(p, &slot) != 0)
        return ARC_UNAVAILABLE;
    int rc = crypto_pwhash_str_verify(hash, pw, len);
    leave(p, slot);
    return rc == 0 ? ARC_OK : ARC_INVALID;
}

enum arc_err
arc_password_verify_dummy(arc_password *p, const char *pw, size_t len)
{
    enum arc_err e = arc_password_verify(p, dummy_hash, pw, len);
    return e == ARC_OK ? ARC_INVALID : e;
}
