/*
 * The reader's state and what it yields: one Rec per key (the KeyRecord of domain/keys.py).
 *
 * A Reader parses one key at a time (next_record); errors unwind with longjmp to the
 * entry point that set `env` (module.c), which turns r->msg/err_off or the pending Python
 * exception into what Python sees. Input is a file descriptor read with pread (the GIL
 * released) or a Python object with readinto (source.c).
 */
#ifndef KEYSCOPE_NATIVE_READER_H
#define KEYSCOPE_NATIVE_READER_H

#include "common.h"
#include "memory.h"

/* Key types and encodings, in the order of their names below. */
enum { TY_STRING, TY_LIST, TY_SET, TY_ZSET, TY_HASH, TY_STREAM, TY_ARRAY, TY_MODULE, NTYPES };
enum { EN_INT, EN_EMBSTR, EN_RAW, EN_QUICKLIST, EN_LISTPACK, EN_HASHTABLE, EN_INTSET,
       EN_SKIPLIST, EN_STREAM, EN_SLICED_ARRAY, EN_MODULE, EN_LISTPACK_EX, EN_ZIPLIST, NENCS };

typedef struct {
    const char *text;
    size_t len;
} Name;

extern const Name TYPE_NAMES[NTYPES];
/* EN_MODULE's name is the module's own, in Rec.module. */
extern const Name ENC_NAMES[NENCS];

typedef struct {
    uint64_t db;
    const u8 *key; /* into the reader's key buffer, valid until the next record */
    size_t keylen;
    int type, enc;
    char module[10];
    int has_expiry;
    int64_t expiry;
    uint64_t count, serialized, memory;
} Rec;

typedef struct {
    size_t n;
    struct { char name[10]; uint64_t count; } *items;
} ModuleCounts;

typedef struct CrcThread CrcThread;

typedef struct Reader {
    /* input: fd mode (fd >= 0) or stream mode */
    int fd;
    uint64_t fd_start, fd_size, fd_next; /* absolute offsets: stream byte 0, file end, next read */
    PyObject *stream;
    PyObject *readinto;
    u8 *buf;
    size_t cap, pos, len;
    uint64_t base; /* stream offset of buf[0] */
    uint64_t delivered; /* bytes the input has given so far (stream offsets) */
    int at_eof;
    /* checksum */
    int verify;
    int crc_inline; /* stream mode: crc of bytes before base + crc_upto */
    uint64_t crc;
    size_t crc_upto;
    CrcThread *crc_thread;
    /* errors */
    jmp_buf env;
    int env_set;
    int pyerr; /* a Python exception is set */
    char msg[240];
    uint64_t err_off;
    PyThreadState *released; /* non-NULL while the GIL is released */
    /* file state */
    int started, finished, failed;
    int version, valkey;
    uint64_t db;
    int has_expiry;
    int64_t expiry;
    uint64_t functions;
    ModuleCounts modules;
    PyObject *aux; /* dict */
    /* the memory model: given (mem_chosen), else the writer's, known at the first key */
    MemModel mem;
    int mem_chosen;
    int64_t redis_ver, valkey_ver; /* from the aux fields; -1 absent, 0 unparsable */
    /* scratch */
    u8 *keybuf;
    size_t keycap, keylen;
    u8 *tmp; /* LZF output, packed blobs to walk */
    size_t tmpcap;
    u8 *tmp2;
    size_t tmp2cap;
    u8 strbuf[32];
    uint64_t keys;
} Reader;

#define OFF(r) ((r)->base + (r)->pos)

/* The next key into *rec: 1, or 0 after the trailer. Errors longjmp to r->env. */
int next_record(Reader *r, Rec *rec);
/* Frees what the reader holds (buffers, the checksum thread, its Python references). */
void reader_release(Reader *r);

#endif
