/*
 * admin.c - operators' commands of the users binary (run by `arcade admin`),
 * through the same rules, store, password hashing and cache invalidation as
 * the API, so that nothing about accounts is written twice.
 */
#include "users.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include <arcade/json.h>

#define ADMIN_NAME "Administrator"

/* Reads one line (without its line end) from stdin into buf. Returns its
 * length, or -1 when there is none or it does not fit. */
static long
read_line(char *buf, size_t cap)
{
    if (fgets(buf, (int)cap, stdin) == NULL)
        return -1;
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    else if (!feof(stdin))
        return -1; /* longer than cap */
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return (long)n;
}

/* admin-create <email>: an existing account keeps its password and becomes an
 * admin; a new one gets the password read from stdin (the API's rules). */
static int
admin_create(struct users *u, const char *raw_email)
{
    char email[EMAIL_MAX * 4 + 1];
    size_t email_len = 0;
    size_t raw_len = strlen(raw_email);
    if (raw_len >= sizeof email || !arc_utf8_valid(raw_email, raw_len) ||
        !email_normalize(raw_email, raw_len, email, &email_len)) {
        fprintf(stderr, "admin-create: '%s' is not an email address\n", raw_email);
        return 2;
    }
    struct user_row row;
    char hash[ARC_PASSWORD_HASH_MAX];
    bool created = false;
    enum arc_err e = store_user_by_email(u->db, email, email_len, &row, hash);
    sodium_memzero(hash, sizeof hash);
    if (e == ARC_NOT_FOUND) {
        char pw[1024 * 4 + 2];
        long n = read_line(pw, sizeof pw);
        const char *problem =
            n < 0 ? "is required on standard input (one line)" : password_problem(pw, (size_t)n);
        if (problem != NULL) {
            sodium_memzero(pw, sizeof pw);
            fprintf(stderr, "admin-create: the password %s\n", problem);
            return 2;
        }
        e = arc_password_hash(u->pw, pw, (size_t)n, hash);
        sodium_memzero(pw, sizeof pw);
        if (e == ARC_OK)
            e = store_user_create(u->db, (arc_str){email, email_len}, hash,
                                  (arc_str){ADMIN_NAME, sizeof ADMIN_NAME - 1}, &row);
        sodium_memzero(hash, sizeof hash);
        created = e == ARC_OK;
    }
    if (e != ARC_OK) {
        fprintf(stderr, "admin-create: %s (see the users log)\n", arc_err_name(e));
        return 1;
    }
    /* As PATCH /users/{id} does: the role is cached with each session and in
     * the user's document; both are forgotten. */
    e = store_user_set_role(u->db, row.id, ARC_ROLE_ADMIN, on_session_ended, u, &row);
    if (e != ARC_OK) {
        fprintf(stderr, "admin-create: %s (see the users log)\n", arc_err_name(e));
        return 1;
    }
    arc_doccache_invalidate(u->docs, row.id);
    printf("%lld %s %s\n", (long long)row.id, created ? "created" : "existing", email);
    return 0;
}

int
admin_main(struct users *u, int argc, char **argv)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "%s: sodium_init failed\n", argv[0]);
        return 1;
    }
    if (argc == 3 && strcmp(argv[1], "admin-create") == 0)
        return admin_create(u, argv[2]);
    fprintf(stderr, "usage: %s admin-create <email>   (password of a new account on stdin)\n",
            argv[0]);
    return 2;
}
