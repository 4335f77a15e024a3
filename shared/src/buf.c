/*
 * buf.c - growable byte buffer.
 */
#include "arcade/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arcade/json.h"

void
arc_buf_init(arc_buf *b)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
}

void
arc_buf_cleanup(arc_buf *b)
{
    free(b->ptr);
    arc_buf_init(b);
}

void
arc_buf_reset(arc_buf *b)
{
    b->len = 0;
    if (b->ptr != NULL)
        b->ptr[0] = '\0';
}

void
arc_buf_reserve(arc_buf *b, size_t extra)
{
    /* +1 keeps room for the terminating NUL. */
    if (extra > SIZE_MAX - b->len - 1)
        abort();
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    b->ptr = arc_xrealloc(b->ptr, cap);
    b->cap = cap;
}

void
arc_buf_append(arc_buf *b, const void *p, size_t n)
{
    arc_buf_reserve(b, n);
    if (n > 0)
        memcpy(b->ptr + b->len, p, n);
    b->len += n;
    b->ptr[b->len] = '\0';
}

void
arc_buf_append_str(arc_buf *b, const char *s)
{
    arc_buf_append(b, s, strlen(s));
}

void
arc_buf_append_char(arc_buf *b, char c)
{
    arc_buf_append(b, &c, 1);
}

void
arc_buf_vprintf(arc_buf *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n >= 0 && (size_t)n < sizeof small) {
        arc_buf_append(b, small, (size_t)n);
    } else if (n >= 0) {
        arc_buf_reserve(b, (size_t)n);
        vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
}

void
arc_buf_printf(arc_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    arc_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void
arc_buf_append_uint(arc_buf *b, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    arc_buf_append(b, tmp + i, sizeof tmp - i);
}

void
arc_buf_append_json_string(arc_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    arc_buf_reserve(b, n + 2);
    arc_buf_append_char(b, '"');
    size_t run = 0; /* start of the pending run of bytes that need no escape */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                u[0] = '\\';
                u[1] = 'u';
                u[2] = '0';
                u[3] = '0';
                u[4] = hex[c >> 4];
                u[5] = hex[c & 15];
                u[6] = '\0';
                esc = u;
            } else if (c >= 0x80) {
                size_t k = arc_utf8_seq(s + i, n - i);
                if (k == 0)
                    esc = "\\ufffd"; /* not UTF-8: the replacement character */
                else
                    i += k - 1;
            }
        }
        if (esc != NULL) {
            arc_buf_append(b, s + run, i - run);
            arc_buf_append_str(b, esc);
            run = i + 1;
        }
    }
    arc_buf_append(b, s + run, n - run);
    arc_buf_append_char(b, '"');
}

void
arc_buf_append_json_member(arc_buf *b, const char *prefix, arc_str v)
{
    arc_buf_append_str(b, prefix);
    arc_buf_append_json_string(b, v.ptr, v.len);
}
