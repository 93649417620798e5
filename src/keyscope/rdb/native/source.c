/* Buffered input over a file descriptor or a readinto stream, and the errors (source.py). */
#include "source.h"

#include "crc64.h"

void fail(Reader *r, uint64_t off, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    r->err_off = off;
    r->pyerr = 0;
    longjmp(r->env, 1);
}

void fail_py(Reader *r) {
    r->pyerr = 1;
    longjmp(r->env, 1);
}

void fail_nomem(Reader *r) {
    if (r->released) {
        PyEval_RestoreThread(r->released);
        r->released = NULL;
    }
    PyErr_NoMemory();
    fail_py(r);
}

void gil_take(Reader *r, PyThreadState **saved) {
    *saved = r->released;
    if (r->released) {
        PyEval_RestoreThread(r->released);
        r->released = NULL;
    }
}

void gil_give(Reader *r, PyThreadState *saved) {
    if (saved) r->released = PyEval_SaveThread();
}

void *grow(Reader *r, u8 **p, size_t *cap, size_t need) {
    if (*cap >= need) return *p;
    size_t n = *cap ? *cap : 256;
    while (n < need) n *= 2;
    u8 *q = realloc(*p, n);
    if (!q) fail_nomem(r);
    *p = q;
    *cap = n;
    return q;
}

/* Pull more bytes from the input into buf[len..cap); returns how many (0 at the end). */
static size_t pull(Reader *r) {
    size_t room = r->cap - r->len;
    if (r->fd >= 0) {
        if (r->fd_next >= r->fd_size) return 0;
        uint64_t left = r->fd_size - r->fd_next;
        size_t want = left < room ? (size_t)left : room;
        ssize_t got;
        do {
            got = pread(r->fd, r->buf + r->len, want, (off_t)r->fd_next);
        } while (got < 0 && errno == EINTR);
        if (got < 0) {
            PyThreadState *saved;
            gil_take(r, &saved);
            PyErr_SetFromErrno(PyExc_OSError);
            fail_py(r);
        }
        r->fd_next += (uint64_t)got;
        r->len += (size_t)got;
        r->delivered += (uint64_t)got;
        return (size_t)got;
    }
    PyThreadState *saved;
    gil_take(r, &saved);
    PyObject *view = PyMemoryView_FromMemory((char *)r->buf + r->len, (Py_ssize_t)room, PyBUF_WRITE);
    if (!view) fail_py(r);
    PyObject *res = PyObject_CallOneArg(r->readinto, view);
    Py_DECREF(view);
    if (!res) fail_py(r);
    Py_ssize_t got = res == Py_None ? 0 : PyLong_AsSsize_t(res);
    Py_DECREF(res);
    if (got < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_OSError, "readinto returned a negative count");
        fail_py(r);
    }
    if ((size_t)got > room) {
        PyErr_SetString(PyExc_OSError, "readinto returned more than it was given");
        fail_py(r);
    }
    gil_give(r, saved);
    r->len += (size_t)got;
    r->delivered += (uint64_t)got;
    return (size_t)got;
}

static void eof_error(Reader *r) __attribute__((noreturn));
static void eof_error(Reader *r) {
    r->at_eof = 1;
    fail(r, r->delivered, "unexpected end of file");
}

/* Drop consumed bytes from the front of the buffer (feeding the inline checksum). */
static void compact(Reader *r) {
    if (r->crc_inline && r->pos > r->crc_upto) {
        r->crc = crc_update(r->crc, r->buf + r->crc_upto, r->pos - r->crc_upto);
    }
    if (r->pos) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->base += r->pos;
        r->len -= r->pos;
        r->pos = 0;
    }
    r->crc_upto = 0;
}

/* Make at least n unread bytes available; the buffer grows only as the data arrives. */
void need(Reader *r, size_t n) {
    if (r->len - r->pos >= n) return;
    compact(r);
    while (r->len < n) {
        if (r->cap - r->len < CHUNK / 4) {
            size_t target = r->cap * 2;
            if (target < r->len + CHUNK) target = r->len + CHUNK;
            grow(r, &r->buf, &r->cap, target);
        }
        if (!pull(r)) eof_error(r);
    }
}

void rskip_far(Reader *r, uint64_t n) {
    size_t avail = r->len - r->pos;
    n -= avail;
    r->pos = r->len;
    if (r->fd >= 0) {
        /* the checksum thread reads the file on its own: jump over the bytes */
        uint64_t left_in_file = r->fd_size - r->fd_next;
        if (n > left_in_file) {
            r->fd_next = r->fd_size;
            r->delivered += left_in_file;
            eof_error(r);
        }
        r->base += r->len + n;
        r->len = r->pos = 0;
        r->fd_next += n;
        r->delivered += n;
        return;
    }
    while (n) {
        compact(r);
        size_t got = pull(r);
        if (!got) eof_error(r);
        size_t take = got < n ? got : (size_t)n;
        r->pos += take;
        n -= take;
    }
}

void raise_pending(Reader *r) { longjmp(r->env, 1); }
