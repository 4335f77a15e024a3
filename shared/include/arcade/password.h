/*
 * password.h - password hashing with Argon2id (libsodium crypto_pwhash_str,
 * OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE: 64 MiB and ~0.1 s per hash).
 *
 * Each hash or verification takes one of N host-wide slots: lock files
 * <run_dir>/arcade-pwhash.<i>.lock held with flock(LOCK_EX) for the duration,
 * so at most N hashes (N * 64 MiB) run at once on the host, whatever the
 * number of workers. A caller that finds every slot busy gets ARC_UNAVAILABLE
 * (503 + Retry-After) at once, without waiting: the workers that do not hash
 * stay free for every other request.
 * Passwords and hashes are never logged.
 */
#ifndef ARCADE_PASSWORD_H
#define ARCADE_PASSWORD_H

#include "arcade/common.h"

#define ARC_PASSWORD_HASH_MAX 128 /* crypto_pwhash_STRBYTES, NUL included */

typedef struct arc_password arc_password;

/* Opens (creating if needed) the slot files <run_dir>/arcade-pwhash.<i>.lock,
 * i < slots (1..64). Returns NULL with errno set when they cannot be opened
 * or libsodium cannot start. */
arc_password *arc_password_new(const char *run_dir, unsigned slots);
void arc_password_free(arc_password *p);

/* Hashes pw[0..len) into out (NUL-terminated). p NULL: no slot is taken
 * (command-line tools). ARC_OK, ARC_UNAVAILABLE (every slot busy), ARC_INTERNAL
 * (out of memory inside libsodium; logged). */
enum arc_err arc_password_hash(arc_password *p, const char *pw, size_t len,
                               char out[ARC_PASSWORD_HASH_MAX]) ARC_NODISCARD;

/* Verifies pw[0..len) against hash. ARC_OK when it matches, ARC_INVALID when
 * it does not (or hash is malformed), ARC_UNAVAILABLE when every slot is busy. */
enum arc_err arc_password_verify(arc_password *p, const char *hash, const char *pw,
                                 size_t len) ARC_NODISCARD;

/* Spends one verification against a fixed dummy hash of the same cost, for an
 * unknown account, so that its answer takes as long as a wrong password.
 * Returns ARC_INVALID (never a match) or ARC_UNAVAILABLE. */
enum arc_err arc_password_verify_dummy(arc_password *p, const char *pw, size_t len) ARC_NODISCARD;

/* The dummy hash itself (for tests). */
const char *arc_password_dummy_hash(void);

#endif
