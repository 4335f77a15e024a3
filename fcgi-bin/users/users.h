/*
 * users.h - the Users service: accounts, password hashes, sessions, addresses
 * and roles (docs/users-api.md).
 */
#ifndef USERS_H
#define USERS_H

#include <arcade/auth.h>
#include <arcade/cache.h>
#include <arcade/config.h>
#include <arcade/db.h>
#include <arcade/doccache.h>
#include <arcade/respond.h>
#include <arcade/password.h>
#include <arcade/router.h>

/* Limits of the API contract (docs/users-api.md). */
#define EMAIL_MAX 254 /* characters */
#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024
#define USER_NAME_MAX 100
#define ADDR_NAME_MAX 100
#define ADDR_LINE_MAX 200
#define ADDR_CITY_MAX 100
#define ADDR_POSTAL_MAX 20
#define ADDR_PHONE_MAX 32
#define ADDRESSES_MAX 20
#define PER_PAGE_DEFAULT 20
#define PER_PAGE_MAX 100

/* Login throttling: failures within the window lock the scope. */
#define THROTTLE_WINDOW_S 900
#define THROTTLE_ACCOUNT_LIMIT 5
#define THROTTLE_ADDRESS_LIMIT 20
#define RATE_WINDOW_S 60 /* request limits (ARCADE_*_RATE) count per minute */
#define TOKEN_BYTES 32
#define TOKEN_CHARS 43 /* base64url of 32 bytes, no padding */

/* Request limits and the session cap (throttle.c, read by limits_config). */
struct limits {
    unsigned login_rate;   /* ARCADE_LOGIN_RATE: POST /sessions per address */
    unsigned signup_rate;  /* ARCADE_SIGNUP_RATE: POST /users per address */
    unsigned account_rate; /* ARCADE_ACCOUNT_RATE: both, per account */
    unsigned sessions_max; /* ARCADE_SESSIONS_MAX: live sessions per account */
};

struct users {
    struct arc_config cfg;
    arc_db *db;
    arc_cache *cache;
    arc_password *pw;
    struct arc_auth auth;
    arc_doccache *docs;     /* user documents (GET /users/me, /users/{id}) */
    unsigned session_ttl_s; /* ARCADE_SESSION_TTL */
    unsigned lock_s;        /* ARCADE_LOGIN_LOCK_SECONDS */
    unsigned pwhash_slots;  /* ARCADE_PWHASH_CONCURRENCY */
    struct limits lim;
};

/* --- Rules (rules.c): pure validation, no I/O ------------------------------ */

/* Trims ASCII white space at both ends and lower-cases ASCII letters of
 * in[0..len) into out (at least len + 1 bytes); *out_len gets the length.
 * Returns true when the result has the shape of an email address: at most
 * EMAIL_MAX characters, exactly one '@', a non-empty local part, a domain
 * with a dot (no empty label), no spaces or control characters. in must be
 * valid UTF-8. */
bool email_normalize(const char *in, size_t len, char *out, size_t *out_len);

/* Password rules: NULL when acceptable, else the message for the field. */
const char *password_problem(const char *pw, size_t len);
/* True when pw (compared case-insensitively) is in the common-password list. */
bool password_is_common(const char *pw, size_t len);
/* For tests: the list and its size. */
extern const char *const common_passwords[];
extern const size_t common_passwords_count;

/* ISO 3166-1 alpha-2, upper case, assigned codes only. */
bool country_known(const char *code, size_t len);
/* 0..ADDR_PHONE_MAX of digits, spaces, + - ( ) . with at least one digit when
 * not empty. */
bool phone_valid(const char *s, size_t len);

/* --- Store (store.c): all of the users service's SQL ----------------------- */

struct user_row {
    int64_t id;
    char email[EMAIL_MAX * 4 + 1];
    char name[USER_NAME_MAX * 4 + 1];
    enum arc_role role;
    char created_at[32];
};

struct address_row {
    int64_t id;
    arc_str name, line1, line2, city, postal_code, country, phone, created_at;
};

typedef void (*user_fn)(void *ud, const struct user_row *u);
typedef void (*address_fn)(void *ud, const struct address_row *a);
/* Receives the token hashes of sessions about to be ended. */
typedef void (*token_hash_fn)(void *ud, const char *token_hash);

extern const char *const users_sql[];
extern const size_t users_nsql;

/* The live (unexpired) session with this token hash and its user's role.
 * ARC_NOT_FOUND when unknown, expired or ended. */
enum arc_err store_session_find(arc_db *db, const char *token_hash,
                                struct arc_principal *out) ARC_NODISCARD;

enum arc_err store_user_get(arc_db *db, int64_t id, struct user_row *out) ARC_NODISCARD;
/* The account and its password hash (hash: ARC_PASSWORD_HASH_MAX bytes). */
enum arc_err store_user_by_email(arc_db *db, const char *email, size_t len, struct user_row *out,
                                 char *hash) ARC_NODISCARD;
/* The account by id and its password hash, in one query. */
enum arc_err store_user_with_hash(arc_db *db, int64_t id, struct user_row *out,
                                  char *hash) ARC_NODISCARD;
/* *out receives the new account as written. ARC_CONFLICT: the email is taken. */
enum arc_err store_user_create(arc_db *db, arc_str email, const char *hash, arc_str name,
                               struct user_row *out) ARC_NODISCARD;
enum arc_err store_user_list(arc_db *db, int64_t limit, int64_t offset, user_fn fn, void *ud,
                             int64_t *total) ARC_NODISCARD;
/* What PATCH /users/me changes, in one transaction: the name (name.ptr NULL:
 * unchanged) and the password hash (NULL: unchanged). A new hash ends every
 * session of the user except keep_token_hash (may be NULL); fn receives each
 * ended session's token hash after the commit. *out receives the account as
 * the transaction wrote it. ARC_NOT_FOUND: no such user. */
enum arc_err store_user_update_me(arc_db *db, int64_t id, arc_str name, const char *hash,
                                  const char *keep_token_hash, token_hash_fn fn, void *ud,
                                  struct user_row *out) ARC_NODISCARD;
/* Sets the role; fn receives the token hash of each of the user's sessions
 * (their cached role is stale). *out receives the account as written.
 * ARC_NOT_FOUND for an unknown user. */
enum arc_err store_user_set_role(arc_db *db, int64_t id, enum arc_role role, token_hash_fn fn,
                                 void *ud, struct user_row *out) ARC_NODISCARD;

enum arc_err store_session_create(arc_db *db, int64_t user_id, const char *token_hash,
                                  int64_t expires_at) ARC_NODISCARD;
/* ARC_NOT_FOUND when no such session. */
enum arc_err store_session_delete(arc_db *db, const char *token_hash) ARC_NODISCARD;
/* Deletes expired sessions, a bounded batch. */
enum arc_err store_housekeeping(arc_db *db) ARC_NODISCARD;

enum arc_err store_address_list(arc_db *db, int64_t user_id, address_fn fn, void *ud) ARC_NODISCARD;
enum arc_err store_address_get(arc_db *db, int64_t user_id, int64_t id, address_fn fn,
                               void *ud) ARC_NODISCARD;
/* *full is set (and nothing inserted) when the user has ADDRESSES_MAX already. */
enum arc_err store_address_create(arc_db *db, int64_t user_id, const struct address_row *a,
                                  int64_t *id, bool *full) ARC_NODISCARD;
/* ARC_NOT_FOUND when the address is unknown or someone else's. */
enum arc_err store_address_delete(arc_db *db, int64_t user_id, int64_t id) ARC_NODISCARD;

/* --- Rendering (render.c): pure functions, no I/O ------------------------- */

/* {"id","email","name","role","created_at"}: a new object the caller puts. */
json_object *user_json(const struct user_row *u);
/* {"id","name","line1","line2","city","postal_code","country","phone",
 * "created_at"}: a new object the caller puts. */
json_object *address_json(const struct address_row *a);
/* --- Limits (throttle.c): login_limits, and the sessions cap ---------------- */

/* store.c's statements followed by throttle.c's, for arc_db_new; *n gets
 * their number. */
const char *const *users_all_sql(size_t *n);
/* Reads ARCADE_LOGIN_RATE, ARCADE_SIGNUP_RATE, ARCADE_ACCOUNT_RATE and
 * ARCADE_SESSIONS_MAX; -1 (and a message on stderr) when one is malformed. */
int limits_config(struct limits *out);

/* Each of these takes its place in a limit before the work it guards, in one
 * conditional statement: 0 to go on, or it has answered (429 with Retry-After,
 * 503) and returns -1. The client address is REMOTE_ADDR. */
int limit_login_request(arc_req *r);  /* POST /sessions from this address */
int limit_signup_request(arc_req *r); /* POST /users from this address */
/* A login or registration for account (the normalised email), unless the
 * account logged in from this address within 30 days. */
int limit_account_request(arc_req *r, arc_str account);
/* One password try for account from this address, before it is checked. */
int password_try_take(arc_req *r, arc_str account);
/* After the check: ARC_INVALID keeps the try (a failure), ARC_OK clears the
 * account's tries from this address, anything else (never checked) gives the
 * try back. Never answers. */
void password_try_end(arc_req *r, arc_str account, enum arc_err verdict);
/* Ends the user's oldest sessions beyond ARCADE_SESSIONS_MAX (and their cached
 * copies); a failure is logged, never answered. */
void sessions_cap(struct users *u, int64_t user_id);
/* Deletes stale login_limits rows, a bounded batch. */
enum arc_err limits_housekeeping(arc_db *db) ARC_NODISCARD;

/* --- Handlers (handlers.c) and routes (routes.c) -------------------------- */

/* The users service's arc_auth resolver (ud: struct users): the database
 * only, never HTTP. (arc_auth_identify caches what it returns; the internal
 * endpoint's callers do the same on their side.) */
enum arc_err resolve_session(void *ud, const char *token, size_t len, struct arc_principal *out);

/* arc_doc_load_fn for user documents: an empty tag line, then the user's JSON. */
enum arc_err load_user_doc(void *ud, int64_t id, arc_buf *out);
/* Ends the cached copy of a session (store callbacks: token_hash_fn). */
void on_session_ended(void *ud, const char *token_hash);

/* --- Operators' commands (admin.c) ------------------------------------------ */

/* arcade-users admin-create <email>: makes (or promotes) an admin account;
 * the password of a new account is read from standard input. Returns an exit
 * status. */
int admin_main(struct users *u, int argc, char **argv);

void handle_user_create(arc_req *r);
void handle_me_get(arc_req *r);
void handle_me_update(arc_req *r);
void handle_user_list(arc_req *r);
void handle_user_get(arc_req *r);
void handle_user_update(arc_req *r);
void handle_session_create(arc_req *r);
void handle_session_delete(arc_req *r);
void handle_address_list(arc_req *r);
void handle_address_get(arc_req *r);
void handle_address_create(arc_req *r);
void handle_address_delete(arc_req *r);
void handle_internal_session(arc_req *r);
void handle_internal_address(arc_req *r);
void handle_health(arc_req *r);

extern const struct arc_route users_routes[];
extern const size_t users_nroutes;

#endif
