/*
 * throttle.c - limits on logins, registrations and password checks, and the
 * cap on sessions per account (docs/users-api.md, "Throttling"). Everything
 * is counted in MariaDB (table login_limits) with one conditional statement
 * per decision, so that concurrent workers can never take more than a limit:
 * a request takes its place before any password is hashed, and the answer
 * "refused" is the statement's own (no row changed), not a second read.
 */
#include "users.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include <arcade/log.h>
#include <arcade/health.h>

enum {
    SCOPE_LOGIN_ADDRESS = 1, /* POST /sessions per client address */
    SCOPE_SIGNUP_ADDRESS,    /* POST /users per client address */
    SCOPE_ACCOUNT,           /* both, per account, from addresses it never logged in from */
    SCOPE_TRY_PAIR,          /* password tries per account and address */
    SCOPE_TRY_ADDRESS,       /* password tries per address */
    SCOPE_KNOWN,             /* an address the account logged in from */
};

#define KNOWN_DAYS 30
#define KEY_HEX 64

#define RATE_EXPIRED "window_start <= NOW(3) - INTERVAL 60 SECOND"
#define LOCKED "locked_until > NOW(3)"
/* A password-try scope is forgiven 15 minutes after its window started, or
 * after its last lock ended when it was locked: locks can grow past a window. */
#define FORGIVEN                                                                                   \
    "GREATEST(window_start, IFNULL(locked_until, window_start)) <= NOW(3) - INTERVAL 900 SECOND"

enum {
    TH_RATE_TAKE,
    TH_TRY_TAKE,
    TH_TRY_GIVE_BACK,
    TH_CLEAR,
    TH_RETRY_AFTER,
    TH_KNOWN_GET,
    TH_KNOWN_PUT,
    TH_SESSIONS_BEYOND,
    TH_SESSION_END,
    TH_PURGE,
    TH_COUNT
};

_Static_assert(RATE_WINDOW_S == 60 && THROTTLE_WINDOW_S == 900, "the SQL spells the windows out");

static const char *const throttle_sql[] = {
    /* Takes one request of a window of RATE_WINDOW_S: a new window starts
     * with this request; within one, only while under the limit (else no
     * column changes: 0 rows affected). Parameters: scope, key, limit. */
    [TH_RATE_TAKE] = "INSERT INTO login_limits (scope, `key`, tries, window_start) "
                     "VALUES (?, ?, 1, NOW(3)) ON DUPLICATE KEY UPDATE "
                     "tries = IF(" RATE_EXPIRED ", 1, IF(tries < ?, tries + 1, tries)), "
                     "window_start = IF(" RATE_EXPIRED ", NOW(3), window_start)",
    /* Takes one password try, unless the scope is locked (0 rows affected).
     * The try that reaches the limit locks the scope for lock seconds; once
     * that lock is over, each further try before the scope is forgiven is let
     * through and locks it again for twice as long as the last time (at most
     * a day). Assignments run left to right: tries first (from the old lock),
     * then locked_until (from the new tries), then window_start, which sees the
     * new lock: a forgiven scope's first try sets none (limits are above 1).
     * Parameters: scope, key, limit, lock, then limit, lock, limit, lock, limit. */
    [TH_TRY_TAKE] = "INSERT INTO login_limits (scope, `key`, tries, window_start, locked_until) "
                    "VALUES (?, ?, 1, NOW(3), IF(1 >= ?, NOW(3) + INTERVAL ? SECOND, NULL)) "
                    "ON DUPLICATE KEY UPDATE "
                    "tries = IF(" FORGIVEN ", 1, IF(" LOCKED ", tries, tries + 1)), "
                    "locked_until = IF(" FORGIVEN ", IF(1 >= ?, NOW(3) + INTERVAL ? SECOND, NULL), "
                    "IF(" LOCKED ", locked_until, IF(tries >= ?, NOW(3) + INTERVAL "
                    "LEAST(86400, ? << LEAST(CAST(tries AS SIGNED) - ?, 20)) SECOND, NULL))), "
                    "window_start = IF(" FORGIVEN ", NOW(3), window_start)",
    /* A try that did not fail (the password matched, or it was never checked)
     * is given back; below the limit the scope is unlocked, at it the lock
     * ends now (the next try may go, and locks again). Parameters: limit,
     * scope, key. */
    [TH_TRY_GIVE_BACK] = "UPDATE login_limits SET tries = GREATEST(tries, 1) - 1, "
                         "locked_until = IF(tries < ?, NULL, LEAST(locked_until, NOW(3))) "
                         "WHERE scope = ? AND `key` = ?",
    [TH_CLEAR] = "DELETE FROM login_limits WHERE scope = ? AND `key` = ?",
    /* Seconds until a refused scope takes a request again: its lock, or the
     * end of its window. Parameters: window seconds, scope, key. */
    [TH_RETRY_AFTER] = "SELECT CAST(CEIL(GREATEST(TIMESTAMPDIFF(MICROSECOND, NOW(3), "
                       "IF(" LOCKED ", locked_until, window_start + INTERVAL ? SECOND)), 0) "
                       "/ 1000000) AS SIGNED) FROM login_limits WHERE scope = ? AND `key` = ?",
    [TH_KNOWN_GET] = "SELECT 1 FROM login_limits WHERE scope = 6 AND `key` = ? AND "
                     "window_start > NOW(3) - INTERVAL 30 DAY",
    [TH_KNOWN_PUT] = "INSERT INTO login_limits (scope, `key`, tries, window_start) "
                     "VALUES (6, ?, 0, NOW(3)) ON DUPLICATE KEY UPDATE window_start = NOW(3)",
    /* The sessions of a user beyond the newest n (ids grow with logins, and
     * every session lives as long: the oldest first to go). */
    [TH_SESSIONS_BEYOND] =
        "SELECT token_hash FROM sessions WHERE user_id = ? ORDER BY id DESC LIMIT 100 OFFSET ?",
    [TH_SESSION_END] = "DELETE FROM sessions WHERE token_hash = ?",
    /* Known addresses after 30 days; every other scope once forgiven (a
     * request window of 60 s is long over by then). */
    [TH_PURGE] = "DELETE FROM login_limits WHERE (scope = 6 AND window_start < NOW(3) - "
                 "INTERVAL 30 DAY) OR (scope <> 6 AND " FORGIVEN ") LIMIT 100",
};
_Static_assert(ARC_ARRAY_LEN(throttle_sql) == TH_COUNT, "one SQL text per statement");
_Static_assert(SCOPE_KNOWN == 6 && KNOWN_DAYS == 30, "TH_KNOWN_* spell the scope out");
_Static_assert(THROTTLE_ACCOUNT_LIMIT > 1 && THROTTLE_ADDRESS_LIMIT > 1, "see TH_TRY_TAKE");

/* This file's statements follow store.c's in the one list arc_db prepares. */
#define TH(i) ((unsigned)users_nsql + (i))

const char *const *
users_all_sql(size_t *n)
{
    static const char *all[64];
    _Static_assert(ARC_ARRAY_LEN(all) >= TH_COUNT, "room for this file's statements");
    if (users_nsql + TH_COUNT > ARC_ARRAY_LEN(all))
        return NULL;
    memcpy(all, users_sql, users_nsql * sizeof *all);
    memcpy(all + users_nsql, throttle_sql, sizeof throttle_sql);
    *n = users_nsql + TH_COUNT;
    return all;
}

int
limits_config(struct limits *out)
{
    if (arc_env_uint("ARCADE_LOGIN_RATE", 30, 1, 1000000, &out->login_rate) != 0 ||
        arc_env_uint("ARCADE_SIGNUP_RATE", 5, 1, 1000000, &out->signup_rate) != 0 ||
        arc_env_uint("ARCADE_ACCOUNT_RATE", 10, 1, 1000000, &out->account_rate) != 0 ||
        arc_env_uint("ARCADE_SESSIONS_MAX", 10, 1, 1000, &out->sessions_max) != 0) {
        fprintf(stderr, "users: bad ARCADE_LOGIN_RATE, ARCADE_SIGNUP_RATE, ARCADE_ACCOUNT_RATE "
                        "or ARCADE_SESSIONS_MAX\n");
        return -1;
    }
    return 0;
}

/* ---- keys ------------------------------------------------------------------- */

static arc_str
client_address(arc_req *r)
{
    const char *addr = arc_req_header(r, "REMOTE_ADDR");
    return (arc_str){addr ? addr : "", addr ? strlen(addr) : 0};
}

/* Hex SHA-256 of a, or of "a\nb" when b.ptr is set (an email has no control
 * character, so the pair is unambiguous). */
static void
make_key(arc_str a, arc_str b, char out[KEY_HEX + 1])
{
    crypto_hash_sha256_state st;
    unsigned char bin[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)a.ptr, a.len);
    if (b.ptr != NULL) {
        crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
        crypto_hash_sha256_update(&st, (const unsigned char *)b.ptr, b.len);
    }
    crypto_hash_sha256_final(&st, bin);
    sodium_bin2hex(out, KEY_HEX + 1, bin, sizeof bin);
}

static const arc_str NO_STR = {NULL, 0};

struct exec_tx {
    unsigned stmt;
    const struct arc_db_param *p;
    size_t n;
    uint64_t *affected;
};

static enum arc_err
exec_tx(arc_db *db, void *ud)
{
    const struct exec_tx *a = ud;
    return arc_db_exec(db, a->stmt, a->p, a->n, a->affected, NULL);
}

/* A one-statement write in a transaction of its own, so that one that lost a
 * deadlock or timed out on a lock (concurrent upserts of one new row can) runs
 * again: it was rolled back, so a second run cannot count twice. */
static enum arc_err
exec_retry(arc_db *db, unsigned stmt, const struct arc_db_param *p, size_t n, uint64_t *affected)
{
    struct exec_tx a = {stmt, p, n, affected};
    return arc_db_tx(db, "request limit", exec_tx, &a);
}

/* ---- answers ---------------------------------------------------------------- */

static void
refuse(arc_req *r, int scope, const char *key, unsigned window_s, const char *message)
{
    struct users *u = r->ctx;
    struct arc_db_param p[] = {ARC_DB_P_INT(window_s), ARC_DB_P_INT(scope),
                               ARC_DB_P_STRN(key, KEY_HEX)};
    struct arc_db_col cols[] = {{.type = ARC_DB_INT}};
    int64_t secs = 0;
    if (arc_db_query(u->db, TH(TH_RETRY_AFTER), p, 3, cols, 1, arc_db_row_int, &secs, NULL) !=
        ARC_OK)
        secs = window_s; /* only the hint is lost */
    arc_respond_header(r, "Retry-After", "%lld", (long long)(secs < 1 ? 1 : secs));
    arc_respond_error(r, 429, "too_many_requests", message, NULL);
}

/* ---- request rates ---------------------------------------------------------- */

/* Takes one request of scope/key; 0, or answers (429, 503) and returns -1. */
static int
rate_take(arc_req *r, int scope, const char *key, unsigned limit)
{
    struct users *u = r->ctx;
    struct arc_db_param p[] = {ARC_DB_P_INT(scope), ARC_DB_P_STRN(key, KEY_HEX),
                               ARC_DB_P_INT(limit)};
    uint64_t affected = 0;
    enum arc_err e = exec_retry(u->db, TH(TH_RATE_TAKE), p, 3, &affected);
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        return -1;
    }
    if (affected == 0) {
        refuse(r, scope, key, RATE_WINDOW_S, "too many requests, try again later");
        return -1;
    }
    return 0;
}

static int
address_rate(arc_req *r, int scope, unsigned limit)
{
    char key[KEY_HEX + 1];
    make_key(client_address(r), NO_STR, key);
    return rate_take(r, scope, key, limit);
}

int
limit_login_request(arc_req *r)
{
    struct users *u = r->ctx;
    return address_rate(r, SCOPE_LOGIN_ADDRESS, u->lim.login_rate);
}

int
limit_signup_request(arc_req *r)
{
    struct users *u = r->ctx;
    return address_rate(r, SCOPE_SIGNUP_ADDRESS, u->lim.signup_rate);
}

/* Whether the account logged in from this client address within KNOWN_DAYS. */
static enum arc_err
known_address(arc_db *db, const char *pair_key, bool *known)
{
    struct arc_db_param p[] = {ARC_DB_P_STRN(pair_key, KEY_HEX)};
    struct arc_db_col cols[] = {{.type = ARC_DB_INT}};
    int64_t one = 0;
    uint64_t n = 0;
    enum arc_err e = arc_db_query(db, TH(TH_KNOWN_GET), p, 1, cols, 1, arc_db_row_int, &one, &n);
    *known = e == ARC_OK && n > 0;
    return e;
}

int
limit_account_request(arc_req *r, arc_str account)
{
    struct users *u = r->ctx;
    char pair[KEY_HEX + 1], key[KEY_HEX + 1];
    make_key(account, client_address(r), pair);
    bool known = false;
    enum arc_err e = known_address(u->db, pair, &known);
    if (e != ARC_OK) {
        arc_respond_failure(r, e);
        return -1;
    }
    /* The owner, from where they logged in before, is never refused for what
     * others send about the account. */
    if (known)
        return 0;
    make_key(account, NO_STR, key);
    return rate_take(r, SCOPE_ACCOUNT, key, u->lim.account_rate);
}

/* ---- password tries --------------------------------------------------------- */

struct try_keys {
    char pair[KEY_HEX + 1];
    char address[KEY_HEX + 1];
};

static void
try_keys(arc_req *r, arc_str account, struct try_keys *k)
{
    make_key(account, client_address(r), k->pair);
    make_key(client_address(r), NO_STR, k->address);
}

static const struct {
    int scope;
    unsigned limit;
} try_scopes[] = {
    {SCOPE_TRY_PAIR, THROTTLE_ACCOUNT_LIMIT},
    {SCOPE_TRY_ADDRESS, THROTTLE_ADDRESS_LIMIT},
};

static const char *
try_key(const struct try_keys *k, size_t i)
{
    return i == 0 ? k->pair : k->address;
}

/* ARC_OK and *taken, or ARC_OK and !*taken when the scope is locked. */
static enum arc_err
try_take_one(arc_db *db, size_t i, const char *key, unsigned lock_s, bool *taken)
{
    int64_t limit = try_scopes[i].limit;
    struct arc_db_param p[] = {
        ARC_DB_P_INT(try_scopes[i].scope),
        ARC_DB_P_STRN(key, KEY_HEX),
        ARC_DB_P_INT(limit),
        ARC_DB_P_INT(lock_s),
        ARC_DB_P_INT(limit),
        ARC_DB_P_INT(lock_s),
        ARC_DB_P_INT(limit),
        ARC_DB_P_INT(lock_s),
        ARC_DB_P_INT(limit),
    };
    uint64_t affected = 0;
    enum arc_err e = exec_retry(db, TH(TH_TRY_TAKE), p, ARC_ARRAY_LEN(p), &affected);
    *taken = e == ARC_OK && affected > 0;
    return e;
}

static void
try_give_back(arc_db *db, size_t i, const char *key)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(try_scopes[i].limit), ARC_DB_P_INT(try_scopes[i].scope),
                               ARC_DB_P_STRN(key, KEY_HEX)};
    if (exec_retry(db, TH(TH_TRY_GIVE_BACK), p, 3, NULL) != ARC_OK)
        arc_log_warn("users: could not give back a password try (scope %d)", try_scopes[i].scope);
}

int
password_try_take(arc_req *r, arc_str account)
{
    struct users *u = r->ctx;
    struct try_keys k;
    try_keys(r, account, &k);
    for (size_t i = 0; i < ARC_ARRAY_LEN(try_scopes); i++) {
        bool taken = false;
        enum arc_err e = try_take_one(u->db, i, try_key(&k, i), u->lock_s, &taken);
        if (e == ARC_OK && taken)
            continue;
        if (e != ARC_OK)
            arc_respond_failure(r, e);
        else
            refuse(r, try_scopes[i].scope, try_key(&k, i), THROTTLE_WINDOW_S,
                   "too many failed attempts, try again later");
        for (size_t j = 0; j < i; j++) /* what this request took, it did not use */
            try_give_back(u->db, j, try_key(&k, j));
        return -1;
    }
    return 0;
}

void
password_try_end(arc_req *r, arc_str account, enum arc_err verdict)
{
    struct users *u = r->ctx;
    if (verdict == ARC_INVALID)
        return; /* a failure keeps its tries */
    struct try_keys k;
    try_keys(r, account, &k);
    if (verdict != ARC_OK) {
        /* Never checked (no hashing slot, the database): not a failure. */
        for (size_t i = 0; i < ARC_ARRAY_LEN(try_scopes); i++)
            try_give_back(u->db, i, try_key(&k, i));
        return;
    }
    /* The password matched: this account's tries from here start over, the
     * address gets its try back (one account it knows must not reset what it
     * spent on others), and the address is now one the account logged in from. */
    struct arc_db_param clear[] = {ARC_DB_P_INT(SCOPE_TRY_PAIR), ARC_DB_P_STRN(k.pair, KEY_HEX)};
    struct arc_db_param known[] = {ARC_DB_P_STRN(k.pair, KEY_HEX)};
    if (arc_db_exec(u->db, TH(TH_CLEAR), clear, 2, NULL, NULL) != ARC_OK ||
        arc_db_exec(u->db, TH(TH_KNOWN_PUT), known, 1, NULL, NULL) != ARC_OK)
        arc_log_warn("users: could not clear the password tries of a login");
    try_give_back(u->db, 1, k.address);
}

/* ---- sessions per account --------------------------------------------------- */

static int
on_ended_hash(void *ud, const struct arc_db_col *c, size_t ncols)
{
    arc_buf *b = ud;
    if (c[0].len == ARC_TOKEN_HASH_HEX)
        arc_buf_append(b, c[0].s, ARC_TOKEN_HASH_HEX);
    return 0;
}

void
sessions_cap(struct users *u, int64_t user_id)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(user_id), ARC_DB_P_INT(u->lim.sessions_max)};
    struct arc_db_col cols[] = {{.type = ARC_DB_STR}};
    arc_buf hashes = ARC_BUF_INIT;
    if (arc_db_query(u->db, TH(TH_SESSIONS_BEYOND), p, 2, cols, 1, on_ended_hash, &hashes, NULL) !=
        ARC_OK) {
        arc_log_warn("users: could not list the sessions of user %lld", (long long)user_id);
        goto out;
    }
    char h[ARC_TOKEN_HASH_HEX + 1];
    for (size_t off = 0; off + ARC_TOKEN_HASH_HEX <= hashes.len; off += ARC_TOKEN_HASH_HEX) {
        memcpy(h, hashes.ptr + off, ARC_TOKEN_HASH_HEX);
        h[ARC_TOKEN_HASH_HEX] = '\0';
        struct arc_db_param d[] = {ARC_DB_P_STRN(h, ARC_TOKEN_HASH_HEX)};
        /* Already gone (a concurrent login ended it too) is just as ended. */
        if (arc_db_exec(u->db, TH(TH_SESSION_END), d, 1, NULL, NULL) != ARC_OK) {
            arc_log_warn("users: could not end an old session of user %lld", (long long)user_id);
            goto out;
        }
        on_session_ended(u, h);
    }
out:
    arc_buf_cleanup(&hashes);
}

enum arc_err
limits_housekeeping(arc_db *db)
{
    return arc_db_exec(db, TH(TH_PURGE), NULL, 0, NULL, NULL);
}
