/*
 * json.c - strict JSON parsing and typed field readers.
 *
 * json-c 0.16's JSON_TOKENER_STRICT still accepts NaN/Infinity, "1.", "-01",
 * single-quoted strings and raw control characters in strings, and its
 * JSON_TOKENER_VALIDATE_UTF8 lets overlong forms, UTF-8-encoded surrogates and
 * code points above U+10FFFF through. So arc_json_parse first checks the text
 * against the RFC 8259 grammar (with the nesting limit and strict UTF-8) in one
 * pass, then lets json-c build the objects.
 */
#include "arcade/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arcade/buf.h"

/* --- UTF-8 ----------------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s (RFC 3629, table 3-7 of the
 * Unicode standard), or 0 when it is not one. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || (s[2] & 0xc0) != 0x80)
            return 0;
        unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
        unsigned char hi = c == 0xed ? 0x9f : 0xbf; /* 0xed a0..bf: surrogates */
        return s[1] >= lo && s[1] <= hi ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
        unsigned char hi = c == 0xf4 ? 0x8f : 0xbf; /* above 0xf4 8f: > U+10FFFF */
        return s[1] >= lo && s[1] <= hi ? 4 : 0;
    }
    return 0; /* continuation byte, 0xc0, 0xc1 (overlong) or 0xf5..0xff */
}

size_t
arc_utf8_seq(const char *s, size_t n)
{
    return utf8_seq((const unsigned char *)s, n);
}

bool
arc_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(p + i, len - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

size_t
arc_utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            n++;
    return n;
}

/* --- Strict grammar check -------------------------------------------------------- */

struct scan {
    const unsigned char *p;
    const unsigned char *end;
    int depth;
    int max_depth;
};

static bool scan_value(struct scan *sc);

static void
scan_ws(struct scan *sc)
{
    while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
        sc->p++;
}

static bool
scan_byte(struct scan *sc, unsigned char c)
{
    if (sc->p < sc->end && *sc->p == c) {
        sc->p++;
        return true;
    }
    return false;
}

static int
scan_hex4(struct scan *sc)
{
    if (sc->end - sc->p < 4)
        return -1;
    int v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = sc->p[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    sc->p += 4;
    return v;
}

static bool
scan_string(struct scan *sc)
{
    if (!scan_byte(sc, '"'))
        return false;
    while (sc->p < sc->end) {
        unsigned char c = *sc->p;
        if (c == '"') {
            sc->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            sc->p++;
            if (sc->p == sc->end)
                return false;
            c = *sc->p++;
            if (c == 'u') {
                int u = scan_hex4(sc);
                if (u < 0 || (u >= 0xdc00 && u <= 0xdfff))
                    return false; /* bad hex or a lone low surrogate */
                if (u >= 0xd800 && u <= 0xdbff) {
                    if (!scan_byte(sc, '\\') || !scan_byte(sc, 'u'))
                        return false;
                    int lo = scan_hex4(sc);
                    if (lo < 0xdc00 || lo > 0xdfff)
                        return false;
                }
            } else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
                return false;
            }
            continue;
        }
        size_t k = utf8_seq(sc->p, (size_t)(sc->end - sc->p));
        if (k == 0)
            return false;
        sc->p += k;
    }
    return false;
}

static bool
scan_digits(struct scan *sc)
{
    const unsigned char *start = sc->p;
    while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9')
        sc->p++;
    return sc->p > start;
}

static bool
scan_number(struct scan *sc)
{
    scan_byte(sc, '-');
    if (scan_byte(sc, '0')) {
        /* no leading zeros */
    } else if (sc->p < sc->end && *sc->p >= '1' && *sc->p <= '9') {
        scan_digits(sc);
    } else {
        return false;
    }
    if (scan_byte(sc, '.') && !scan_digits(sc))
        return false;
    if (scan_byte(sc, 'e') || scan_byte(sc, 'E')) {
        if (!scan_byte(sc, '+'))
            scan_byte(sc, '-');
        if (!scan_digits(sc))
            return false;
    }
    return true;
}

static bool
scan_literal(struct scan *sc, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, word, n) != 0)
        return false;
    sc->p += n;
    return true;
}

static bool
scan_container(struct scan *sc, unsigned char close, bool object)
{
    if (++sc->depth > sc->max_depth)
        return false;
    sc->p++; /* '[' or '{' */
    scan_ws(sc);
    if (scan_byte(sc, close)) {
        sc->depth--;
        return true;
    }
    for (;;) {
        if (object) {
            if (!scan_string(sc))
                return false;
            scan_ws(sc);
            if (!scan_byte(sc, ':'))
                return false;
            scan_ws(sc);
        }
        if (!scan_value(sc))
            return false;
        scan_ws(sc);
        if (scan_byte(sc, close)) {
            sc->depth--;
            return true;
        }
        if (!scan_byte(sc, ','))
            return false;
        scan_ws(sc);
    }
}

static bool
scan_value(struct scan *sc)
{
    if (sc->p == sc->end)
        return false;
    switch (*sc->p) {
    case '{':
        return scan_container(sc, '}', true);
    case '[':
        return scan_container(sc, ']', false);
    case '"':
        return scan_string(sc);
    case 't':
        return scan_literal(sc, "true");
    case 'f':
        return scan_literal(sc, "false");
    case 'n':
        return scan_literal(sc, "null");
    default:
        return scan_number(sc);
    }
}

/* One JSON text (RFC 8259), whitespace around it allowed, containers nested at
 * most max_depth deep. */
static bool
json_text_valid(const char *text, size_t len, int max_depth)
{
    struct scan sc = {(const unsigned char *)text, (const unsigned char *)text + len, 0, max_depth};
    scan_ws(&sc);
    if (!scan_value(&sc))
        return false;
    scan_ws(&sc);
    return sc.p == sc.end;
}

json_object *
arc_json_parse(const char *text, size_t len, int depth)
{
    if (text == NULL || depth < 1 || len > (size_t)INT32_MAX - 1)
        return NULL;
    if (!json_text_valid(text, len, depth))
        return NULL;
    /* json-c counts the innermost scalar as a level too: depth + 1 lets it
     * accept exactly what the check above accepted. */
    struct json_tokener *tok = json_tokener_new_ex(depth + 1);
    if (tok == NULL)
        return NULL;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    if (obj == NULL && err == json_tokener_continue) {
        /* A top-level number or literal is only complete once json-c sees
         * something after it. */
        obj = json_tokener_parse_ex(tok, " ", 1);
        err = json_tokener_get_error(tok);
    } else if (obj != NULL && err == json_tokener_success) {
        /* Everything after the value must be whitespace (checked above; this
         * guards against the two parsers ever disagreeing). */
        for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
            char c = text[i];
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                err = json_tokener_error_parse_unexpected;
                break;
            }
        }
    }
    json_tokener_free(tok);
    if (err != json_tokener_success) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

void
arc_json_append(struct arc_buf *out, json_object *obj)
{
    if (obj == NULL) {
        arc_buf_append(out, "null", 4);
        return;
    }
    size_t len = 0;
    const char *s = json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    arc_buf_append(out, s, len);
}

/* --- Field readers --------------------------------------------------------------- */

#define FIELD_PRESENT 3

/* Finds key in obj. Returns FIELD_PRESENT with *val set, ARC_FIELD_ABSENT,
 * ARC_FIELD_NULL, or -1 after adding a message. */
static int
field_lookup(json_object *obj, const char *key, unsigned flags, json_object **val,
             json_object **fields)
{
    json_object *v = NULL;
    if (obj == NULL || !json_object_object_get_ex(obj, key, &v)) {
        if (flags & ARC_REQUIRED) {
            arc_json_field_error(fields, key, "is required");
            return -1;
        }
        return ARC_FIELD_ABSENT;
    }
    if (v == NULL) {
        if (flags & ARC_NULLABLE)
            return ARC_FIELD_NULL;
        arc_json_field_error(fields, key, "must not be null");
        return -1;
    }
    *val = v;
    return FIELD_PRESENT;
}

/* --- Text rules ------------------------------------------------------------------ */

/* The code point of the well-formed k-byte sequence at s. */
static uint32_t
utf8_decode(const unsigned char *s, size_t k)
{
    static const unsigned char lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
    uint32_t c = s[0] & lead_mask[k];
    for (size_t i = 1; i < k; i++)
        c = c << 6 | (s[i] & 0x3fu);
    return c;
}

/* C0, DEL and C1. */
static bool
is_control(uint32_t c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/* Characters that reorder what is shown (bidi embeddings, overrides, isolates
 * and marks): a name with U+202E displays reversed. */
static bool
is_bidi_control(uint32_t c)
{
    return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0x200e ||
           c == 0x200f || c == 0x061c;
}

/* White space and characters that show nothing (zero-width, fillers): a value
 * made only of these looks empty. */
static bool
is_blank(uint32_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200d) || c == 0x202f || c == 0x205f || c == 0x2060 ||
           c == 0x3000 || c == 0xfeff || c == 0x180e || c == 0x115f || c == 0x1160 || c == 0x3164 ||
           c == 0xffa0;
}

/* Why s[0..len) breaks the text rule of flags (json.h), or NULL when it does
 * not. */
static const char *
text_problem(const char *text, size_t len, unsigned flags)
{
    const unsigned char *s = (const unsigned char *)text;
    bool visible = false;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq(s + i, len - i);
        if (k == 0)
            return "must be valid UTF-8";
        uint32_t c = utf8_decode(s + i, k);
        i += k;
        if (flags & ARC_SECRET) {
            if (is_control(c))
                return "must not contain control characters";
            continue;
        }
        if (flags & ARC_MULTILINE) {
            bool line_break = c == '\n' || (c == '\r' && i < len && s[i] == '\n');
            if ((is_control(c) && !line_break && c != '\t') || c == 0x2028 || c == 0x2029)
                return "must not contain control characters other than line feeds and tabs";
        } else if (is_control(c) || c == 0x2028 || c == 0x2029) {
            return "must be a single line without control characters";
        }
        if (is_bidi_control(c))
            return "must not contain bidirectional control characters";
        if (!is_blank(c))
            visible = true;
    }
    if (len > 0 && !visible && !(flags & ARC_SECRET))
        return "must not be blank";
    return NULL;
}

static const char *
plural(size_t n)
{
    return n == 1 ? "" : "s";
}

int
arc_json_string(json_object *obj, const char *key, unsigned flags, size_t min_chars,
                size_t max_chars, const char **out, size_t *out_len, json_object **fields)
{
    json_object *v = NULL;
    int rc = field_lookup(obj, key, flags, &v, fields);
    if (rc != FIELD_PRESENT)
        return rc;
    if (!json_object_is_type(v, json_type_string)) {
        arc_json_field_error(fields, key, "must be a string");
        return -1;
    }
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    const char *problem = text_problem(s, len, flags);
    if (problem != NULL) {
        arc_json_field_error(fields, key, "%s", problem);
        return -1;
    }
    size_t chars = arc_utf8_chars(s, len);
    if (chars < min_chars) {
        arc_json_field_error(fields, key, "must be at least %zu character%s", min_chars,
                             plural(min_chars));
        return -1;
    }
    if (chars > max_chars) {
        arc_json_field_error(fields, key, "must be at most %zu character%s", max_chars,
                             plural(max_chars));
        return -1;
    }
    if (out != NULL)
        *out = s;
    if (out_len != NULL)
        *out_len = len;
    return ARC_FIELD_OK;
}

int
arc_json_int(json_object *obj, const char *key, unsigned flags, int64_t min, int64_t max,
             int64_t *out, json_object **fields)
{
    json_object *v = NULL;
    int rc = field_lookup(obj, key, flags, &v, fields);
    if (rc != FIELD_PRESENT)
        return rc;
    if (!json_object_is_type(v, json_type_int)) {
        arc_json_field_error(fields, key, "must be an integer");
        return -1;
    }
    /* json-c keeps integers above INT64_MAX as uint64 (get_int64 clamps them to
     * INT64_MAX) and clamps integers below INT64_MIN to INT64_MIN. */
    int64_t n = json_object_get_int64(v);
    bool beyond = n == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX;
    if (beyond || n < min || n > max) {
        arc_json_field_error(fields, key, "must be between %lld and %lld", (long long)min,
                             (long long)max);
        return -1;
    }
    *out = n;
    return ARC_FIELD_OK;
}

int
arc_json_bool(json_object *obj, const char *key, unsigned flags, bool *out, json_object **fields)
{
    json_object *v = NULL;
    int rc = field_lookup(obj, key, flags, &v, fields);
    if (rc != FIELD_PRESENT)
        return rc;
    if (!json_object_is_type(v, json_type_boolean)) {
        arc_json_field_error(fields, key, "must be a boolean");
        return -1;
    }
    *out = json_object_get_boolean(v) != 0;
    return ARC_FIELD_OK;
}

void
arc_json_field_error(json_object **fields, const char *name, const char *fmt, ...)
{
    if (fields == NULL)
        return;
    if (*fields != NULL && json_object_object_get_ex(*fields, name, NULL))
        return; /* the first message for a field wins */
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (*fields == NULL)
        *fields = json_object_new_object();
    json_object *v = json_object_new_string(msg);
    if (*fields == NULL || v == NULL || json_object_object_add(*fields, name, v) != 0)
        json_object_put(v);
}
