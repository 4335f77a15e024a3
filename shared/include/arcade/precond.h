/*
 * precond.h - conditional requests (RFC 9110 section 13): If-Match and
 * If-None-Match read once from the request, checked for syntax before any
 * work, and evaluated later against the resource's current entity tag, where
 * the write holds the resource (inside its transaction, on the locked row).
 *
 * A header value is "*" or a comma-separated list of entity tags
 * ([W/]"opaque"), with optional white space around the commas. Anything else
 * present, an empty value included, is malformed. If-Match compares strongly
 * (a W/ tag never matches), If-None-Match weakly.
 */
#ifndef ARCADE_PRECOND_H
#define ARCADE_PRECOND_H

#include "arcade/common.h"
#include "arcade/req.h"

/* The preconditions of one request. Each value is NULL when the header is
 * absent, else a well-formed list or "*" (borrowed until the request ends). */
struct arc_precond {
    const char *if_match;
    const char *if_none_match;
};

/* True when value is "*" or a non-empty list of entity tags. NULL is false. */
bool arc_precond_valid(const char *value);

/* Fills pc from the two header values (each may be NULL: absent). Returns 0,
 * or -1 when a present one is malformed; then *bad (may be NULL) names it
 * ("If-Match" or "If-None-Match") and pc is left empty. */
int arc_precond_parse(struct arc_precond *pc, const char *if_match, const char *if_none_match,
                      const char **bad) ARC_NODISCARD;

/* arc_precond_parse on the request's headers. A malformed one is answered
 * 400 invalid_header naming it, and -1 returned (the handler just returns). */
int arc_precond_read(arc_req *r, struct arc_precond *pc) ARC_NODISCARD;

/* True when the request carries at least one precondition. */
bool arc_precond_present(const struct arc_precond *pc);

/* True when value (a list or "*", see above) matches etag[0..len): "*" matches
 * any tag; weak selects the weak comparison (W/ ignored on both sides), else a
 * weak tag matches nothing. NULL or a malformed value matches nothing. */
bool arc_precond_matches(const char *value, const char *etag, size_t len, bool weak);

/* Evaluates pc for a state-changing request on a resource that exists and
 * whose current entity tag is etag[0..len) (etag NULL: the resource exists but
 * has none, such as a collection). True when the write may go ahead: If-Match
 * absent or matching, and If-None-Match absent or not matching. False is 412. */
bool arc_precond_holds(const struct arc_precond *pc, const char *etag, size_t len);

#endif
