/*
 * buf.h - growable byte buffer {ptr,len,cap}. ptr is always NUL-terminated
 * when cap > 0, so a buffer of text can be passed where a C string is needed.
 */
#ifndef ARCADE_BUF_H
#define ARCADE_BUF_H

#include <stdarg.h>

#include "arcade/common.h"

typedef struct arc_buf {
    char *ptr;
    size_t len;
    size_t cap;
} arc_buf;

#define ARC_BUF_INIT                                                                               \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void arc_buf_init(arc_buf *b);
void arc_buf_cleanup(arc_buf *b); /* frees; the buffer may be reused after init */
void arc_buf_reset(arc_buf *b);   /* len = 0, memory kept */
void arc_buf_reserve(arc_buf *b, size_t extra);
void arc_buf_append(arc_buf *b, const void *p, size_t n);
void arc_buf_append_str(arc_buf *b, const char *s);
void arc_buf_append_char(arc_buf *b, char c);
void arc_buf_printf(arc_buf *b, const char *fmt, ...) ARC_PRINTF(2, 3);
void arc_buf_vprintf(arc_buf *b, const char *fmt, va_list ap) ARC_PRINTF(2, 0);
/* Decimal digits of v: the hot path's alternative to printf. */
void arc_buf_append_uint(arc_buf *b, uint64_t v);
/* Appends s[0..n) as a quoted, escaped JSON string. A byte that is not part
 * of well-formed UTF-8 is written as U+FFFD, so the text is always valid JSON
 * (callers that must keep such bytes escape them first, as the request log
 * line does for the path). */
void arc_buf_append_json_string(arc_buf *b, const char *s, size_t n);
/* Appends prefix (e.g. ",\"name\":") and then v as a JSON string. */
void arc_buf_append_json_member(arc_buf *b, const char *prefix, arc_str v);

#endif
