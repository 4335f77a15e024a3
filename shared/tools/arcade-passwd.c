/*
 * arcade-passwd - reads one password from standard input (up to the first
 * newline or end of input; a trailing CR LF or LF is dropped) and prints its
 * Argon2id hash, as the users service stores it. Used by `arcade admin create`.
 * The password is never echoed or logged; the buffers are wiped before exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <arcade/password.h>

#define PASSWORD_BYTES_MAX 4096 /* 1024 code points of up to 4 bytes */

int
main(int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: %s < password\n", argv[0]);
        return 2;
    }
    static char pw[PASSWORD_BYTES_MAX + 2];
    size_t len = fread(pw, 1, sizeof pw - 1, stdin);
    if (ferror(stdin)) {
        fprintf(stderr, "arcade-passwd: cannot read standard input\n");
        return 1;
    }
    char *nl = memchr(pw, '\n', len);
    if (nl != NULL)
        len = (size_t)(nl - pw);
    else if (len > PASSWORD_BYTES_MAX) {
        fprintf(stderr, "arcade-passwd: password longer than %d bytes\n", PASSWORD_BYTES_MAX);
        return 1;
    }
    if (len > 0 && pw[len - 1] == '\r')
        len--;
    if (len == 0) {
        fprintf(stderr, "arcade-passwd: empty password\n");
        return 1;
    }
    char hash[ARC_PASSWORD_HASH_MAX];
    enum arc_err e = arc_password_hash(NULL, pw, len, hash);
    sodium_memzero(pw, sizeof pw);
    if (e != ARC_OK) {
        fprintf(stderr, "arcade-passwd: hashing failed\n");
        return 1;
    }
    puts(hash);
    sodium_memzero(hash, sizeof hash);
    return fflush(stdout) == 0 ? 0 : 1;
}
