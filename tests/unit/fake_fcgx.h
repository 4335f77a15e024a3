/*
 * fake_fcgx.h - an in-memory FastCGI request for unit tests: CGI parameters,
 * a body delivered in small chunks through fillBuffProc, and an output stream
 * with a tiny buffer whose emptyBuffProc collects everything written. This
 * exercises the same FCGX_GetStr / FCGX_PutStr paths as a real connection.
 */
#ifndef ARCADE_TEST_FAKE_FCGX_H
#define ARCADE_TEST_FAKE_FCGX_H

#include <fcgiapp.h>
#include <stdio.h>
#include <string.h>

#include "arcade/buf.h"

struct fake_fcgx {
    FCGX_Request req;
    FCGX_Stream in, out, err;
    char *env[32];
    size_t nenv;
    arc_buf envstore[32];
    const char *body;
    size_t body_len, body_pos, chunk;
    unsigned char inbuf[16];
    unsigned char outbuf[32];
    arc_buf output; /* everything written to out */
};

static inline void
fake_drain(FCGX_Stream *s, int do_close)
{
    struct fake_fcgx *f = s->data;
    arc_buf_append(&f->output, f->outbuf, (size_t)(s->wrNext - f->outbuf));
    s->wrNext = f->outbuf;
    s->stop = f->outbuf + sizeof f->outbuf;
    (void)do_close;
}

static inline void
fake_fill(FCGX_Stream *s)
{
    struct fake_fcgx *f = s->data;
    size_t left = f->body_len - f->body_pos;
    size_t n = left < f->chunk ? left : f->chunk;
    if (n > sizeof f->inbuf)
        n = sizeof f->inbuf;
    memcpy(f->inbuf, f->body + f->body_pos, n);
    f->body_pos += n;
    s->rdNext = f->inbuf;
    s->stop = f->inbuf + n;
    if (n == 0)
        s->isClosed = 1;
}

static inline void
fake_init(struct fake_fcgx *f)
{
    memset(f, 0, sizeof *f);
    f->chunk = 7;
    f->in.isReader = 1;
    f->in.rdNext = f->in.stop = f->in.stopUnget = f->inbuf;
    f->in.fillBuffProc = fake_fill;
    f->in.data = f;
    f->out.isReader = 0;
    f->out.wrNext = f->outbuf;
    f->out.stop = f->outbuf + sizeof f->outbuf;
    f->out.emptyBuffProc = fake_drain;
    f->out.data = f;
    f->err = f->out;
    f->req.in = &f->in;
    f->req.out = &f->out;
    f->req.err = &f->err;
    f->req.envp = f->env;
}

static inline void
fake_env(struct fake_fcgx *f, const char *name, const char *value)
{
    arc_buf *b = &f->envstore[f->nenv];
    arc_buf_printf(b, "%s=%s", name, value);
    f->env[f->nenv++] = b->ptr;
    f->env[f->nenv] = NULL;
}

static inline void
fake_body(struct fake_fcgx *f, const char *body, size_t len)
{
    f->body = body;
    f->body_len = len;
}

/* Everything written so far, flushed, as a C string. */
static inline const char *
fake_output(struct fake_fcgx *f)
{
    fake_drain(&f->out, 0);
    if (f->output.ptr == NULL)
        arc_buf_reserve(&f->output, 0);
    return f->output.ptr;
}

static inline void
fake_cleanup(struct fake_fcgx *f)
{
    for (size_t i = 0; i < f->nenv; i++)
        arc_buf_cleanup(&f->envstore[i]);
    arc_buf_cleanup(&f->output);
}

#endif
