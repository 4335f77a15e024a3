/*
 * fuzz_precond.c - the If-Match / If-None-Match list parser and matcher.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arcade/precond.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Header values reach the service as C strings: stop at the first NUL. */
    char *v = malloc(size + 1);
    memcpy(v, data, size);
    v[size] = '\0';

    static const char etag[] = "\"p42-v7\"";
    static const char weak[] = "W/\"p42-v7\"";
    bool valid = arc_precond_valid(v);
    bool strong = arc_precond_matches(v, etag, sizeof etag - 1, false);
    bool weakly = arc_precond_matches(v, etag, sizeof etag - 1, true);
    /* A strong match is a weak one too, and only a valid list matches. */
    if ((strong && !weakly) || (weakly && !valid))
        abort();
    /* A weak resource tag never matches strongly. */
    if (arc_precond_matches(v, weak, sizeof weak - 1, false) && strcmp(v, "*") != 0 &&
        strchr(v, '*') == NULL)
        abort();
    struct arc_precond pc;
    const char *bad = NULL;
    int rc = arc_precond_parse(&pc, v, v, &bad);
    if ((rc == 0) != valid || (rc != 0 && bad == NULL))
        abort();
    /* If-Match and If-None-Match with the same value cannot both hold on an
     * existing resource unless If-Match matches and If-None-Match does not. */
    if (rc == 0 && arc_precond_holds(&pc, etag, sizeof etag - 1))
        abort();
    free(v);
    return 0;
}
