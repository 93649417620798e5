/*
 * The rows of `keyscope rdb keys` (cli/rdb.py's _record_dict with json.dumps or csv.writer is
 * the reference, byte for byte): JSON lines or CSV, formatted into a buffer that goes out to
 * a file descriptor (without the GIL) or to a Python write(bytes).
 */
#ifndef KEYSCOPE_NATIVE_WRITER_H
#define KEYSCOPE_NATIVE_WRITER_H

#include "reader.h"

typedef struct {
    u8 *buf;
    size_t len, cap;
} Out;

typedef struct {
    Out out;
    PyObject *write; /* a callable taking bytes, or NULL to write to fd */
    int fd;
} WriteRun;

/* One row of rec appended to o: 0, or -1 when out of memory. */
int out_row(Out *o, const Rec *rec, int json);
/* All of the buffer to the fd: 0, or -1 with errno set. */
int write_all(int fd, const u8 *p, size_t n);
/* The buffer to the run's target, then empty; errors longjmp. */
void flush_out(Reader *r, WriteRun *w);

#endif
