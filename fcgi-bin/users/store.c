/*
 * store.c - all of the users service's SQL. Every statement is prepared once
 * per process (arc_db); values from outside only ever travel as parameters.
 * Times are DATETIME(3) in UTC (arc_db sets the session time zone).
 */
#include "users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 3339 UTC with milliseconds from a DATETIME(3) kept in UTC. */
#define TS(col)                                                                                    \
    "CONCAT(DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%s.'), LPAD(MICROSECOND(" col                     \
    ") DIV 1000, 3, '0'), 'Z')"
#define USER_COLS "id, email, name, role, " TS("created_at")
#define USER_SELECT "SELECT " USER_COLS " FROM users "
#define ADDRESS_SELECT                                                                             \
    "SELECT id, name, line1, line2, city, postal_code, country, phone, " TS(                       \
        "created_at") " FROM addresses "

enum {
    ST_SESSION_RESOLVE,
    ST_USER_GET,
    ST_USER_BY_EMAIL,
    ST_USER_WITH_HASH,
    ST_USER_INSERT,
    ST_USER_COUNT,
    ST_USER_LIST,
    ST_USER_SET_NAME,
    ST_USER_SET_HASH,
    ST_USER_SET_ROLE,
    ST_USER_LOCK,
    ST_SESSION_HASHES,
    ST_SESSION_DELETE_OTHERS,
    ST_SESSION_INSERT,
    ST_SESSION_DELETE,
    ST_SESSION_PURGE,
    ST_ADDRESS_LIST,
    ST_ADDRESS_GET,
    ST_ADDRESS_COUNT,
    ST_ADDRESS_INSERT,
    ST_ADDRESS_DELETE,
    ST_COUNT
};

const char *const users_sql[] = {
    [ST_SESSION_RESOLVE] = "SELECT s.user_id, u.role, CAST(UNIX_TIMESTAMP(s.expires_at) AS SIGNED) "
                           "FROM sessions s JOIN users u ON u.id = s.user_id "
                           "WHERE s.token_hash = ? AND s.expires_at > NOW(3)",
    [ST_USER_GET] = USER_SELECT "WHERE id = ?",
    [ST_USER_BY_EMAIL] = "SELECT " USER_COLS ", password_hash FROM users WHERE email = ?",
    [ST_USER_WITH_HASH] = "SELECT " USER_COLS ", password_hash FROM users WHERE id = ?",
    /* created_at is the service's clock (ms), so the answer needs no read. */
    [ST_USER_INSERT] = "INSERT INTO users (email, password_hash, name, created_at) "
                       "VALUES (?, ?, ?, FROM_UNIXTIME(? / 1000))",
    [ST_USER_COUNT] = "SELECT COUNT(*) FROM users",
    [ST_USER_LIST] = USER_SELECT "ORDER BY id LIMIT ? OFFSET ?",
    [ST_USER_SET_NAME] =
        "UPDATE users SET name = ?, updated_at = CURRENT_TIMESTAMP(3) WHERE id = ?",
    [ST_USER_SET_HASH] =
        "UPDATE users SET password_hash = ?, updated_at = CURRENT_TIMESTAMP(3) WHERE id = ?",
    [ST_USER_SET_ROLE] =
        "UPDATE users SET role = ?, updated_at = CURRENT_TIMESTAMP(3) WHERE id = ?",
    [ST_USER_LOCK] = USER_SELECT "WHERE id = ? FOR UPDATE",
    [ST_SESSION_HASHES] = "SELECT token_hash FROM sessions WHERE user_id = ? AND token_hash <> ? "
                          "AND expires_at > NOW(3)",
    [ST_SESSION_DELETE_OTHERS] = "DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?",
    [ST_SESSION_INSERT] =
        "INSERT INTO sessions (user_id, token_hash, expires_at) VALUES (?, ?, FROM_UNIXTIME(?))",
    [ST_SESSION_DELETE] = "DELETE FROM sessions WHERE token_hash = ?",
    [ST_SESSION_PURGE] = "DELETE FROM sessions WHERE expires_at < NOW(3) LIMIT 100",
    [ST_ADDRESS_LIST] = ADDRESS_SELECT "WHERE user_id = ? ORDER BY id",
    [ST_ADDRESS_GET] = ADDRESS_SELECT "WHERE id = ? AND user_id = ?",
    [ST_ADDRESS_COUNT] = "SELECT COUNT(*) FROM addresses WHERE user_id = ?",
    [ST_ADDRESS_INSERT] = "INSERT INTO addresses (user_id, name, line1, line2, city, postal_code, "
                          "country, phone) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    [ST_ADDRESS_DELETE] = "DELETE FROM addresses WHERE id = ? AND user_id = ?",
};
const size_t users_nsql = ARC_ARRAY_LEN(users_sql);
_Static_assert(ARC_ARRAY_LEN(users_sql) == ST_COUNT, "one SQL text per statement");

/* ---- sessions as arc_auth sees them ----------------------------------------- */

static int
on_session_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    struct arc_principal *p = ud;
    p->user_id = c[0].i;
    p->role = arc_role_parse(c[1].s, c[1].len);
    p->expires_at = c[2].i;
    return 0;
}

enum arc_err
store_session_find(arc_db *db, const char *token_hash, struct arc_principal *out)
{
    struct arc_db_param p[] = {ARC_DB_P_STRN(token_hash, ARC_TOKEN_HASH_HEX)};
    struct arc_db_col cols[] = {{.type = ARC_DB_INT}, {.type = ARC_DB_STR}, {.type = ARC_DB_INT}};
    uint64_t n = 0;
    enum arc_err e = arc_db_query(db, ST_SESSION_RESOLVE, p, 1, cols, ARC_ARRAY_LEN(cols),
                                  on_session_row, out, &n);
    if (e == ARC_OK && (n == 0 || out->role == ARC_ROLE_NONE))
        return ARC_NOT_FOUND;
    return e;
}

/* ---- users ------------------------------------------------------------------ */

#define USER_NCOLS 5

static const enum arc_db_type user_types[USER_NCOLS] = {ARC_DB_INT, ARC_DB_STR, ARC_DB_STR,
                                                        ARC_DB_STR, ARC_DB_STR};

static void
fill_user(struct user_row *u, const struct arc_db_col *c)
{
    u->id = c[0].i;
    arc_db_col_copy(u->email, sizeof u->email, &c[1]);
    arc_db_col_copy(u->name, sizeof u->name, &c[2]);
    u->role = arc_role_parse(c[3].s, c[3].len);
    arc_db_col_copy(u->created_at, sizeof u->created_at, &c[4]);
}

static int
on_user_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    fill_user(ud, c);
    return 0;
}

struct user_hash {
    struct user_row *u;
    char *hash;
};

static int
on_user_hash_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    struct user_hash *uh = ud;
    fill_user(uh->u, c);
    arc_db_col_copy(uh->hash, ARC_PASSWORD_HASH_MAX, &c[USER_NCOLS]);
    return 0;
}

/* The account the one-parameter statement stmt finds, with its password hash
 * when hash is not NULL (the statement then returns it last). */
static enum arc_err
user_query(arc_db *db, unsigned stmt, struct arc_db_param key, struct user_row *out, char *hash)
{
    struct arc_db_col cols[USER_NCOLS + 1];
    struct user_hash uh = {out, hash};
    arc_db_cols_init(cols, user_types, USER_NCOLS);
    if (hash == NULL)
        return arc_db_query_row(db, stmt, &key, 1, cols, USER_NCOLS, on_user_row, out);
    cols[USER_NCOLS] = (struct arc_db_col){.type = ARC_DB_STR};
    return arc_db_query_row(db, stmt, &key, 1, cols, USER_NCOLS + 1, on_user_hash_row, &uh);
}

enum arc_err
store_user_get(arc_db *db, int64_t id, struct user_row *out)
{
    return user_query(db, ST_USER_GET, ARC_DB_P_INT(id), out, NULL);
}

enum arc_err
store_user_by_email(arc_db *db, const char *email, size_t len, struct user_row *out, char *hash)
{
    return user_query(db, ST_USER_BY_EMAIL, ARC_DB_P_STRN(email, len), out, hash);
}

enum arc_err
store_user_with_hash(arc_db *db, int64_t id, struct user_row *out, char *hash)
{
    return user_query(db, ST_USER_WITH_HASH, ARC_DB_P_INT(id), out, hash);
}

/* Copies s into a field of n bytes; the store's limits make it fit. */
static void
copy_field(char *dst, size_t n, arc_str s)
{
    size_t len = s.len < n ? s.len : n - 1;
    memcpy(dst, s.ptr, len);
    dst[len] = '\0';
}

enum arc_err
store_user_create(arc_db *db, arc_str email, const char *hash, arc_str name, struct user_row *out)
{
    int64_t now = arc_wall_ms();
    struct arc_db_param p[] = {ARC_DB_P_STRN(email.ptr, email.len), ARC_DB_P_STR(hash),
                               ARC_DB_P_STRN(name.ptr, name.len), ARC_DB_P_INT(now)};
    uint64_t id = 0;
    enum arc_err e = arc_db_exec(db, ST_USER_INSERT, p, ARC_ARRAY_LEN(p), NULL, &id);
    if (e != ARC_OK)
        return e;
    /* The row as written: the column defaults give a customer. */
    *out = (struct user_row){.id = (int64_t)id, .role = ARC_ROLE_CUSTOMER};
    copy_field(out->email, sizeof out->email, email);
    copy_field(out->name, sizeof out->name, name);
    arc_time_format(now, out->created_at);
    return ARC_OK;
}

struct user_cb {
    user_fn fn;
    void *ud;
};

static int
on_user_item(void *ud, const struct arc_db_col *c, size_t ncols)
{
    const struct user_cb *cb = ud;
    struct user_row u;
    fill_user(&u, c);
    cb->fn(cb->ud, &u);
    return 0;
}

enum arc_err
store_user_list(arc_db *db, int64_t limit, int64_t offset, user_fn fn, void *ud, int64_t *total)
{
    struct arc_db_col count = {.type = ARC_DB_INT};
    *total = 0;
    enum arc_err e =
        arc_db_query(db, ST_USER_COUNT, NULL, 0, &count, 1, arc_db_row_int, total, NULL);
    if (e != ARC_OK || *total <= offset)
        return e;
    struct arc_db_param p[] = {ARC_DB_P_INT(limit), ARC_DB_P_INT(offset)};
    struct arc_db_col cols[USER_NCOLS];
    struct user_cb cb = {fn, ud};
    arc_db_cols_init(cols, user_types, USER_NCOLS);
    return arc_db_query(db, ST_USER_LIST, p, 2, cols, USER_NCOLS, on_user_item, &cb, NULL);
}

/* Token hashes collected inside a transaction, handed out after the commit. */
struct hash_list {
    arc_buf buf; /* ARC_TOKEN_HASH_HEX bytes each */
    size_t n;
};

static int
on_token_hash(void *ud, const struct arc_db_col *c, size_t ncols)
{
    struct hash_list *l = ud;
    if (c[0].len == ARC_TOKEN_HASH_HEX) {
        arc_buf_append(&l->buf, c[0].s, ARC_TOKEN_HASH_HEX);
        l->n++;
    }
    return 0;
}

static void
hash_list_deliver(struct hash_list *l, token_hash_fn fn, void *ud)
{
    char h[ARC_TOKEN_HASH_HEX + 1];
    for (size_t i = 0; i < l->n; i++) {
        memcpy(h, l->buf.ptr + i * ARC_TOKEN_HASH_HEX, ARC_TOKEN_HASH_HEX);
        h[ARC_TOKEN_HASH_HEX] = '\0';
        fn(ud, h);
    }
}

/* Locks user id for the rest of the transaction and reads its row. */
static enum arc_err
lock_user(arc_db *db, int64_t id, struct user_row *out)
{
    return user_query(db, ST_USER_LOCK, ARC_DB_P_INT(id), out, NULL);
}

struct update_me_tx {
    int64_t id;
    arc_str name;
    const char *hash, *keep;
    struct hash_list *ended;
    struct user_row *out;
};

static enum arc_err
update_me_tx(arc_db *db, void *ud)
{
    const struct update_me_tx *a = ud;
    a->ended->n = 0;
    arc_buf_reset(&a->ended->buf);
    enum arc_err e = lock_user(db, a->id, a->out);
    if (e != ARC_OK)
        return e;
    if (a->name.ptr != NULL) {
        struct arc_db_param p[] = {ARC_DB_P_STRN(a->name.ptr, a->name.len), ARC_DB_P_INT(a->id)};
        e = arc_db_exec(db, ST_USER_SET_NAME, p, 2, NULL, NULL);
        if (e != ARC_OK)
            return e;
        copy_field(a->out->name, sizeof a->out->name, a->name); /* the row as written */
    }
    if (a->hash == NULL)
        return ARC_OK;
    struct arc_db_param set[] = {ARC_DB_P_STR(a->hash), ARC_DB_P_INT(a->id)};
    e = arc_db_exec(db, ST_USER_SET_HASH, set, 2, NULL, NULL);
    if (e != ARC_OK)
        return e;
    struct arc_db_param others[] = {ARC_DB_P_INT(a->id), ARC_DB_P_STR(a->keep)};
    struct arc_db_col cols[] = {{.type = ARC_DB_STR}};
    e = arc_db_query(db, ST_SESSION_HASHES, others, 2, cols, 1, on_token_hash, a->ended, NULL);
    if (e != ARC_OK)
        return e;
    return arc_db_exec(db, ST_SESSION_DELETE_OTHERS, others, 2, NULL, NULL);
}

enum arc_err
store_user_update_me(arc_db *db, int64_t id, arc_str name, const char *hash,
                     const char *keep_token_hash, token_hash_fn fn, void *ud, struct user_row *out)
{
    struct hash_list ended = {ARC_BUF_INIT, 0};
    const char *keep = keep_token_hash != NULL ? keep_token_hash : "";
    struct update_me_tx a = {id, name, hash, keep, &ended, out};
    enum arc_err e = arc_db_tx(db, "user update", update_me_tx, &a);
    if (e == ARC_OK)
        hash_list_deliver(&ended, fn, ud);
    arc_buf_cleanup(&ended.buf);
    return e;
}

struct set_role_tx {
    int64_t id;
    enum arc_role role;
    struct hash_list *sessions;
    struct user_row *out;
};

static enum arc_err
set_role_tx(arc_db *db, void *ud)
{
    const struct set_role_tx *a = ud;
    a->sessions->n = 0;
    arc_buf_reset(&a->sessions->buf);
    enum arc_err e = lock_user(db, a->id, a->out);
    if (e != ARC_OK)
        return e;
    struct arc_db_param set[] = {ARC_DB_P_STR(arc_role_name(a->role)), ARC_DB_P_INT(a->id)};
    e = arc_db_exec(db, ST_USER_SET_ROLE, set, 2, NULL, NULL);
    if (e != ARC_OK)
        return e;
    a->out->role = a->role; /* the row as written */
    struct arc_db_param all[] = {ARC_DB_P_INT(a->id), ARC_DB_P_STR("")};
    struct arc_db_col cols[] = {{.type = ARC_DB_STR}};
    return arc_db_query(db, ST_SESSION_HASHES, all, 2, cols, 1, on_token_hash, a->sessions, NULL);
}

enum arc_err
store_user_set_role(arc_db *db, int64_t id, enum arc_role role, token_hash_fn fn, void *ud,
                    struct user_row *out)
{
    struct hash_list sessions = {ARC_BUF_INIT, 0};
    struct set_role_tx a = {id, role, &sessions, out};
    enum arc_err e = arc_db_tx(db, "user set role", set_role_tx, &a);
    if (e == ARC_OK)
        hash_list_deliver(&sessions, fn, ud);
    arc_buf_cleanup(&sessions.buf);
    return e;
}

/* ---- sessions --------------------------------------------------------------- */

enum arc_err
store_session_create(arc_db *db, int64_t user_id, const char *token_hash, int64_t expires_at)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(user_id), ARC_DB_P_STRN(token_hash, ARC_TOKEN_HASH_HEX),
                               ARC_DB_P_INT(expires_at)};
    return arc_db_exec(db, ST_SESSION_INSERT, p, 3, NULL, NULL);
}

enum arc_err
store_session_delete(arc_db *db, const char *token_hash)
{
    struct arc_db_param p[] = {ARC_DB_P_STRN(token_hash, ARC_TOKEN_HASH_HEX)};
    uint64_t affected = 0;
    enum arc_err e = arc_db_exec(db, ST_SESSION_DELETE, p, 1, &affected, NULL);
    if (e == ARC_OK && affected == 0)
        return ARC_NOT_FOUND;
    return e;
}

enum arc_err
store_housekeeping(arc_db *db)
{
    return arc_db_exec(db, ST_SESSION_PURGE, NULL, 0, NULL, NULL);
}

/* ---- addresses -------------------------------------------------------------- */

#define ADDRESS_NCOLS 9

struct address_cb {
    address_fn fn;
    void *ud;
};

static int
on_address_row(void *ud, const struct arc_db_col *c, size_t ncols)
{
    const struct address_cb *cb = ud;
    struct address_row a = {
        .id = c[0].i,
        .name = arc_db_col_str(&c[1]),
        .line1 = arc_db_col_str(&c[2]),
        .line2 = arc_db_col_str(&c[3]),
        .city = arc_db_col_str(&c[4]),
        .postal_code = arc_db_col_str(&c[5]),
        .country = arc_db_col_str(&c[6]),
        .phone = arc_db_col_str(&c[7]),
        .created_at = arc_db_col_str(&c[8]),
    };
    cb->fn(cb->ud, &a);
    return 0;
}

static void
address_cols(struct arc_db_col *cols)
{
    cols[0] = (struct arc_db_col){.type = ARC_DB_INT};
    for (size_t i = 1; i < ADDRESS_NCOLS; i++)
        cols[i] = (struct arc_db_col){.type = ARC_DB_STR};
}

enum arc_err
store_address_list(arc_db *db, int64_t user_id, address_fn fn, void *ud)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(user_id)};
    struct arc_db_col cols[ADDRESS_NCOLS];
    struct address_cb cb = {fn, ud};
    address_cols(cols);
    return arc_db_query(db, ST_ADDRESS_LIST, p, 1, cols, ADDRESS_NCOLS, on_address_row, &cb, NULL);
}

enum arc_err
store_address_get(arc_db *db, int64_t user_id, int64_t id, address_fn fn, void *ud)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(id), ARC_DB_P_INT(user_id)};
    struct arc_db_col cols[ADDRESS_NCOLS];
    struct address_cb cb = {fn, ud};
    address_cols(cols);
    return arc_db_query_row(db, ST_ADDRESS_GET, p, 2, cols, ADDRESS_NCOLS, on_address_row, &cb);
}

static struct arc_db_param
str_param(arc_str s)
{
    return ARC_DB_P_STRN(s.ptr, s.len);
}

struct address_create_tx {
    int64_t user_id;
    const struct address_row *a;
    int64_t *id;
    bool *full;
};

static enum arc_err
address_create_tx(arc_db *db, void *ud)
{
    const struct address_create_tx *t = ud;
    const struct address_row *a = t->a;
    int64_t user_id = t->user_id;
    struct user_row user;
    *t->full = false;
    /* The user's row lock serialises concurrent creates, so the count holds. */
    enum arc_err e = lock_user(db, user_id, &user);
    if (e != ARC_OK)
        return e;
    struct arc_db_param u[] = {ARC_DB_P_INT(user_id)};
    struct arc_db_col count = {.type = ARC_DB_INT};
    int64_t n = 0;
    e = arc_db_query(db, ST_ADDRESS_COUNT, u, 1, &count, 1, arc_db_row_int, &n, NULL);
    if (e != ARC_OK)
        return e;
    if (n >= ADDRESSES_MAX) {
        *t->full = true; /* nothing written */
        return ARC_OK;
    }
    struct arc_db_param p[] = {
        ARC_DB_P_INT(user_id), str_param(a->name),  str_param(a->line1),
        str_param(a->line2),   str_param(a->city),  str_param(a->postal_code),
        str_param(a->country), str_param(a->phone),
    };
    uint64_t insert_id = 0;
    e = arc_db_exec(db, ST_ADDRESS_INSERT, p, ARC_ARRAY_LEN(p), NULL, &insert_id);
    if (e == ARC_OK)
        *t->id = (int64_t)insert_id;
    return e;
}

enum arc_err
store_address_create(arc_db *db, int64_t user_id, const struct address_row *a, int64_t *id,
                     bool *full)
{
    struct address_create_tx t = {user_id, a, id, full};
    return arc_db_tx(db, "address create", address_create_tx, &t);
}

enum arc_err
store_address_delete(arc_db *db, int64_t user_id, int64_t id)
{
    struct arc_db_param p[] = {ARC_DB_P_INT(id), ARC_DB_P_INT(user_id)};
    uint64_t affected = 0;
    enum arc_err e = arc_db_exec(db, ST_ADDRESS_DELETE, p, 2, &affected, NULL);
    if (e == ARC_OK && affected == 0)
        return ARC_NOT_FOUND;
    return e;
}
