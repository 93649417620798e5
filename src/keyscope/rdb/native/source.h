/*
 * The reader's input and its errors (source.py is the reference): exact byte counts from a
 * file descriptor or a readinto stream, tracking the absolute offset. Declared lengths are
 * never trusted to allocate: the buffer grows only as data arrives, skips read nothing.
 */
#ifndef KEYSCOPE_NATIVE_SOURCE_H
#define KEYSCOPE_NATIVE_SOURCE_H

#include "reader.h"

#define OFF(r) ((r)->base + (r)->pos)

/* A format error at stream offset `off`: r->msg and r->err_off set, then longjmp. */
void fail(Reader *r, uint64_t off, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
/* A Python exception is set: longjmp. */
void fail_py(Reader *r) __attribute__((noreturn));
void fail_nomem(Reader *r) __attribute__((noreturn));
/* r->msg and r->err_off were set by the callee: longjmp. */
void raise_pending(Reader *r) __attribute__((noreturn));

/* Hold the GIL for a Python call made while it is released; gil_give undoes gil_take. */
void gil_take(Reader *r, PyThreadState **saved);
void gil_give(Reader *r, PyThreadState *saved);

/* *p grown to at least `need` bytes (doubling). */
void *grow(Reader *r, u8 **p, size_t *cap, size_t need);
/* Make at least n unread bytes available. */
void need(Reader *r, size_t n);
/* rskip past the end of the buffer. */
void rskip_far(Reader *r, uint64_t n);

static inline __attribute__((always_inline)) void rskip(Reader *r, uint64_t n) {
    if (n <= r->len - r->pos) r->pos += (size_t)n;
    else rskip_far(r, n);
}

static inline __attribute__((always_inline)) unsigned rbyte(Reader *r) {
    if (r->pos >= r->len) need(r, 1);
    return r->buf[r->pos++];
}

static inline __attribute__((always_inline)) const u8 *rbytes(Reader *r, uint64_t n) {
    if (n > SIZE_MAX / 4) rskip(r, n); /* no input holds that much: fails at its end */
    if (r->len - r->pos < n) need(r, (size_t)n);
    const u8 *p = r->buf + r->pos;
    r->pos += (size_t)n;
    return p;
}

#endif
