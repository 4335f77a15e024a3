/*
 * precond.c - If-Match / If-None-Match: the list syntax of RFC 9110 (entity-tag
 * in 8.8.3, lists in 5.6.1) and the evaluation of 13.2.2 for unsafe methods.
 */
#include "arcade/precond.h"

#include <stdio.h>
#include <string.h>

#include "arcade/respond.h"

/* OWS: optional spaces and tabs. */
static const char *
skip_ows(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* etagc = %x21 / %x23-7E / obs-text: visible characters except DQUOTE. */
static bool
is_etagc(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

/* An entity tag split into its weak flag and its opaque tag (quotes included). */
struct tag {
    bool weak;
    const char *opaque;
    size_t len;
};

/* Reads one entity-tag at s into *t; returns the character after it, or NULL
 * when s does not start with one. */
static const char *
read_tag(const char *s, struct tag *t)
{
    t->weak = s[0] == 'W' && s[1] == '/';
    if (t->weak)
        s += 2;
    if (*s != '"')
        return NULL;
    const char *p = s + 1;
    while (is_etagc((unsigned char)*p))
        p++;
    if (*p != '"')
        return NULL;
    t->opaque = s;
    t->len = (size_t)(p + 1 - s);
    return p + 1;
}

/* Walks value ("*" or a list of entity tags; empty elements between commas
 * are allowed, as 5.6.1 asks of recipients, but at least one tag is needed).
 * Returns -1 when malformed, else 0 with *match set when want (may be NULL:
 * syntax only) is in the list under the given comparison. */
static int
scan(const char *value, const struct tag *want, bool weak, bool *match)
{
    bool found = false;
    size_t ntags = 0;
    const char *s = skip_ows(value);
    if (*s == '*') {
        if (*skip_ows(s + 1) != '\0')
            return -1;
        *match = true;
        return 0;
    }
    for (;;) {
        if (*s == ',') {
            s = skip_ows(s + 1);
            continue;
        }
        if (*s == '\0')
            break;
        struct tag t;
        s = read_tag(s, &t);
        if (s == NULL)
            return -1;
        ntags++;
        if (want != NULL && (weak || (!t.weak && !want->weak)) && t.len == want->len &&
            memcmp(t.opaque, want->opaque, t.len) == 0)
            found = true;
        s = skip_ows(s);
        if (*s != ',' && *s != '\0')
            return -1;
    }
    if (ntags == 0)
        return -1;
    *match = found;
    return 0;
}

bool
arc_precond_valid(const char *value)
{
    bool match;
    return value != NULL && scan(value, NULL, false, &match) == 0;
}

int
arc_precond_parse(struct arc_precond *pc, const char *if_match, const char *if_none_match,
                  const char **bad)
{
    const char *which = NULL;
    *pc = (struct arc_precond){0};
    if (if_match != NULL && !arc_precond_valid(if_match))
        which = "If-Match";
    else if (if_none_match != NULL && !arc_precond_valid(if_none_match))
        which = "If-None-Match";
    if (bad != NULL)
        *bad = which;
    if (which != NULL)
        return -1;
    pc->if_match = if_match;
    pc->if_none_match = if_none_match;
    return 0;
}

int
arc_precond_read(arc_req *r, struct arc_precond *pc)
{
    const char *bad = NULL;
    if (arc_precond_parse(pc, arc_req_header(r, "HTTP_IF_MATCH"),
                          arc_req_header(r, "HTTP_IF_NONE_MATCH"), &bad) == 0)
        return 0;
    char message[128];
    snprintf(message, sizeof message,
             "%s must be \"*\" or a comma-separated list of entity tags such as \"p42-v7\"", bad);
    arc_respond_error(r, 400, "invalid_header", message, NULL);
    return -1;
}

bool
arc_precond_present(const struct arc_precond *pc)
{
    return pc != NULL && (pc->if_match != NULL || pc->if_none_match != NULL);
}

bool
arc_precond_matches(const char *value, const char *etag, size_t len, bool weak)
{
    if (value == NULL)
        return false;
    struct tag want = {.opaque = etag, .len = len};
    if (etag != NULL && len >= 2 && etag[0] == 'W' && etag[1] == '/')
        want = (struct tag){.weak = true, .opaque = etag + 2, .len = len - 2};
    bool match = false;
    return scan(value, etag != NULL ? &want : NULL, weak, &match) == 0 && match;
}

bool
arc_precond_holds(const struct arc_precond *pc, const char *etag, size_t len)
{
    if (pc == NULL)
        return true;
    /* 13.1.1: "*" is true for any current representation; a list needs the
     * resource to have a tag that is in it (compared strongly). */
    if (pc->if_match != NULL && !arc_precond_matches(pc->if_match, etag, len, false))
        return false;
    /* 13.1.2: on a state-changing method, a match is 412. */
    if (pc->if_none_match != NULL && arc_precond_matches(pc->if_none_match, etag, len, true))
        return false;
    return true;
}
