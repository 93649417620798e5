/*
 * What every file of the compiled reader shares: the Python header (first, as Python asks),
 * the C headers, the byte types and little-endian loads.
 *
 * The layers, each a .c with its .h, depend downwards only:
 *   module.c                   the Python type Reader and the extension module
 *   aggregate.c  writer.c      the offline report's counters; the rows of `rdb keys`
 *   pyobjects.c                records and counters as Python objects
 *   reader.c                   the outer loop: header, opcodes, one Rec per key, trailer
 *   values.c                   one function per RDB value type (reader.py's _v_*)
 *   blobs.c  primitives.c      packed encodings; lengths, strings, LZF (blobs.py, primitives.py)
 *   source.c  checksum.c       buffered input and errors; the CRC-64 of the file (source.py)
 *   memory.c  rax.c  crc64.c   the memory model (memory.py); rax node counts (rax.py); CRC-64
 */
#ifndef KEYSCOPE_NATIVE_COMMON_H
#define KEYSCOPE_NATIVE_COMMON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef unsigned char u8;
typedef unsigned __int128 u128;

#define CHUNK (1u << 20)

static inline uint32_t le32(const u8 *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint16_t le16(const u8 *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

#endif
