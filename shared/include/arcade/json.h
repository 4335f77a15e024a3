/*
 * json.h - typed field access for request bodies, with per-field messages.
 * json-c getters convert silently (get_int of a string is 0), so every reader
 * here checks the type first. Each reader returns:
 *    ARC_FIELD_OK     the field is present with the right type and range
 *    ARC_FIELD_ABSENT the field is missing and was optional (out untouched)
 *    ARC_FIELD_NULL   the field is JSON null and nulls were allowed
 *    -1               a message was added to *fields under key
 * Strings are valid UTF-8 (the tokener checked); lengths are counted in
 * characters (code points), after nothing is trimmed.
 *
 * Text rule of arc_json_string, one for the whole shop (README, "Text
 * fields"). By default a string is single-line text (names, titles, SKUs,
 * e-mail addresses, carriers, tracking numbers, ...): it refuses every C0 and
 * C1 control character and DEL (NUL, TAB, CR and LF included), U+2028/U+2029,
 * the bidi controls U+202A-202E, U+2066-2069, U+200E, U+200F and U+061C, and a
 * non-empty value made only of white space and invisible characters
 * (zero-width U+200B-200D, U+2060, U+FEFF, fillers). ARC_MULTILINE (a
 * description) also allows LF, TAB and CR just before LF. ARC_SECRET (a
 * password) refuses only control characters: any other text may be part of a
 * secret, and it is never shown.
 */
#ifndef ARCADE_JSON_H
#define ARCADE_JSON_H

#include <json-c/json.h>

#include "arcade/common.h"

enum { ARC_FIELD_OK = 0, ARC_FIELD_ABSENT = 1, ARC_FIELD_NULL = 2 };

/* Flags for readers */
#define ARC_REQUIRED 0x1u  /* absent -> "is required" */
#define ARC_NULLABLE 0x2u  /* null accepted -> ARC_FIELD_NULL */
#define ARC_MULTILINE 0x4u /* arc_json_string: text of several lines (see above) */
#define ARC_SECRET 0x8u    /* arc_json_string: a password (see above) */

/* String of min..max characters that keeps the text rule of flags (above).
 * *out borrowed from obj. */
int arc_json_string(json_object *obj, const char *key, unsigned flags, size_t min_chars,
                    size_t max_chars, const char **out, size_t *out_len, json_object **fields);

/* Integer (JSON number without fraction or exponent) within [min,max]. */
int arc_json_int(json_object *obj, const char *key, unsigned flags, int64_t min, int64_t max,
                 int64_t *out, json_object **fields);

int arc_json_bool(json_object *obj, const char *key, unsigned flags, bool *out,
                  json_object **fields);

/* Number of UTF-8 code points in s[0..len). */
size_t arc_utf8_chars(const char *s, size_t len);
/* Length (1-4) of the well-formed UTF-8 sequence that starts s[0..n), or 0
 * when s does not start with one (or n is 0). */
size_t arc_utf8_seq(const char *s, size_t n);
/* True when s[0..len) is well-formed UTF-8 (no overlongs, surrogates, > U+10FFFF). */
bool arc_utf8_valid(const char *s, size_t len);

/* Parses text as one JSON document with json-c's strict mode, UTF-8
 * validation and the given depth limit. Returns a new reference or NULL. */
json_object *arc_json_parse(const char *text, size_t len, int depth);

/* Adds message under name to *fields (creating the object on first use). The
 * first message for a field wins. */
void arc_json_field_error(json_object **fields, const char *name, const char *fmt, ...)
    ARC_PRINTF(3, 4);

/* Serialises obj compactly into out (appended). */
struct arc_buf;
void arc_json_append(struct arc_buf *out, json_object *obj);

#endif
