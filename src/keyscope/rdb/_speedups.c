/*
 * keyscope.rdb._speedups: the compiled fast path of the RDB reader and the offline report.
 *
 * The pure-Python modules are the reference: reader.py, primitives.py, blobs.py, lzf.py,
 * memory.py, rax.py (reading and the memory model) and analysis/offline.py and prefixes.py
 * (the report). This file does the same, record for record and byte for byte of the report,
 * and tests/unit/rdb/test_fast_path.py holds it to that on every corpus file, generated
 * files and mutated ones. Change both together.
 *
 * Shape: a Reader parses one key at a time into a Rec; three consumers use it: next_batch
 * (tuples for Python), aggregate (the offline report's counters, no Python object per key)
 * and write_keys (the JSON-lines or CSV rows of `keyscope rdb keys`). Errors unwind with
 * longjmp to the entry point, which raises the RdbFormatError class given to set_error_class.
 *
 * Input is a file descriptor (read with pread, the GIL released; the checksum is computed by
 * a second thread reading the same file) or any Python object with readinto (the checksum
 * inline). Declared lengths are never trusted to allocate: buffers grow only as data arrives,
 * and an LZF blob's plain length is bounded by its compressed bytes.
 */
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
#define BIG_SKIP (16u * CHUNK)

/* ---------------------------------------------------------------- CRC-64/Jones */

static uint64_t crc_table[8][256];

static void crc_init(void) {
    const uint64_t poly = 0x95AC9329AC4BC9B5ULL;
    for (int i = 0; i < 256; i++) {
        uint64_t crc = (uint64_t)i;
        for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ poly : crc >> 1;
        crc_table[0][i] = crc;
    }
    for (int i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

static uint64_t crc_update(uint64_t crc, const u8 *p, size_t n) {
    while (n && ((uintptr_t)p & 7)) {
        crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        n--;
    }
    while (n >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        x ^= crc;
        crc = crc_table[7][x & 0xff] ^ crc_table[6][(x >> 8) & 0xff] ^
              crc_table[5][(x >> 16) & 0xff] ^ crc_table[4][(x >> 24) & 0xff] ^
              crc_table[3][(x >> 32) & 0xff] ^ crc_table[2][(x >> 40) & 0xff] ^
              crc_table[1][(x >> 48) & 0xff] ^ crc_table[0][x >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

/* ---------------------------------------------------------------- memory model (memory.py) */

enum { ROBJ = 16, DICT_ENTRY = 24, DICT = 56, QUICKLIST = 40, QUICKLIST_NODE = 40, ZSET = 16,
       ZSKIPLIST = 32, ZSL_HEADER = 640, STREAM = 80, STREAM_CG = 40, STREAM_NACK = 24,
       STREAM_CONSUMER = 24, STREAM_CONSUMER_7_2 = 32, STREAM_ID = 16,
       RAX_NODE_COST = 4 + 8 * 30, STREAM_LISTPACK_PREALLOC = 4096, EMBSTR_MAX = 44,
       INTSET_MAX_ENTRIES = 512, HASH_MAX_LISTPACK_ENTRIES = 512,
       HASH_MAX_LISTPACK_VALUE = 64, LIST_NODE_BYTES = 8192 };
#define ZSL_NODE_EXPECTED 53.3
#define REHASH_NONEMPTY_SHARE 0.632

static int bit_length(uint64_t n) { return n ? 64 - __builtin_clzll(n) : 0; }

static uint64_t jemalloc_size(uint64_t n) {
    if (n <= 8) return 8;
    if (n <= 128) return (n + 15) & ~(uint64_t)15;
    uint64_t delta = (uint64_t)1 << (bit_length(n - 1) - 3);
    return (n + delta - 1) / delta * delta;
}

static uint64_t sds_header(uint64_t len) {
    if (len < 32) return 1;
    if (len < 256) return 3;
    if (len < 65536) return 5;
    if (len < ((uint64_t)1 << 32)) return 9;
    return 17;
}

static uint64_t sds_size(uint64_t len) {
    if (len < 32) return len ? jemalloc_size(len + 2) : jemalloc_size(4);
    return jemalloc_size(sds_header(len) + len + 1);
}

static uint64_t key_overhead(uint64_t len) { return sds_size(len) + DICT_ENTRY; }

static uint64_t next_power(uint64_t n) {
    uint64_t size = 4;
    while (size < n) size <<= 1;
    return size;
}

static uint64_t dict_slots(uint64_t n, uint64_t steps, uint64_t presized_for) {
    uint64_t size = 4;
    while (size < n || size < presized_for) size <<= 1;
    int grown = size > 4 && (!presized_for || size > next_power(presized_for));
    if (steps && n > 4 && grown) {
        uint64_t old = size / 2;
        /* n > old here (size is the smallest power >= n), so this does not wrap */
        uint64_t since = n - old - 1;
        if ((double)(steps * since) < REHASH_NONEMPTY_SHARE * (double)old) return size + old;
    }
    return size;
}

static uint64_t string_value_mem(uint64_t len, int is_int) {
    if (is_int) return ROBJ;
    if (len <= EMBSTR_MAX) return jemalloc_size(ROBJ + 3 + len + 1);
    return ROBJ + sds_size(len);
}

static uint64_t packed_value(uint64_t bytes) { return ROBJ + jemalloc_size(bytes); }

static uint64_t set_hashtable(uint64_t total, uint64_t count, int from_intset) {
    uint64_t presized = from_intset && count > INTSET_MAX_ENTRIES ? INTSET_MAX_ENTRIES + 1 : 0;
    uint64_t slots = dict_slots(count, 1, presized);
    return ROBJ + DICT + 8 * slots + count * DICT_ENTRY + total;
}

static uint64_t hash_hashtable(uint64_t total, uint64_t count, uint64_t longest) {
    int outgrew = longest <= HASH_MAX_LISTPACK_VALUE && count > HASH_MAX_LISTPACK_ENTRIES;
    uint64_t presized = outgrew ? HASH_MAX_LISTPACK_ENTRIES + 1 : 0;
    uint64_t slots = dict_slots(count, 2, presized);
    return ROBJ + DICT + 8 * slots + count * DICT_ENTRY + total;
}

static uint64_t zset_skiplist(uint64_t total, uint64_t count) {
    uint64_t fixed = ROBJ + ZSET + ZSKIPLIST + DICT + 8 * dict_slots(count, 2, 0) + ZSL_HEADER;
    double v = (double)(fixed + total) + (double)count * (DICT_ENTRY + ZSL_NODE_EXPECTED);
    return (uint64_t)nearbyint(v); /* round half to even, as Python's round() */
}

static uint64_t rax_usage(uint64_t elements, uint64_t nodes) {
    return elements * STREAM_ID + nodes * RAX_NODE_COST;
}

/* ---------------------------------------------------------------- radix-tree node count (rax.py) */

typedef struct { int start, span, compressed; } RaxNode;
#define RAX_PATH_MAX 80

typedef struct {
    uint64_t nodes, elements;
    int has_last;
    u8 last[16];
    int last_len;
    RaxNode path[RAX_PATH_MAX];
    int path_len;
} RaxCounter;

static void rax_init(RaxCounter *t) {
    t->nodes = 1;
    t->elements = 0;
    t->has_last = 0;
    t->last_len = 0;
    t->path_len = 0;
}

static int rax_branch(RaxNode *out, int depth, int length) {
    if (depth == length) {
        out[0] = (RaxNode){length, 0, 0};
        return 1;
    }
    int rest = length - depth;
    out[0] = (RaxNode){depth, rest, rest > 1};
    out[1] = (RaxNode){length, 0, 0};
    return 2;
}

/* Keys are at most 16 bytes (stream IDs); returns 0, or -1 when the path is inconsistent. */
static int rax_add(RaxCounter *t, const u8 *key, int length) {
    if (t->path_len == 0) {
        t->path_len = rax_branch(t->path, 0, length);
        t->nodes = (uint64_t)t->path_len;
        t->elements = 1;
        memcpy(t->last, key, (size_t)length);
        t->last_len = length;
        return 0;
    }
    if (t->last_len == length && memcmp(t->last, key, (size_t)length) == 0) return 0;
    if (t->last_len != length) return 0;
    int depth = 0;
    while (depth < length && t->last[depth] == key[depth]) depth++;
    int index = -1;
    for (int i = 0; i < t->path_len; i++) {
        if (t->path[i].start <= depth && depth < t->path[i].start + t->path[i].span) {
            index = i;
            break;
        }
    }
    if (index < 0) return -1;
    RaxNode node = t->path[index];
    int n = index;
    if (node.compressed) {
        int cut = depth - node.start;
        if (cut) {
            t->path[n++] = (RaxNode){node.start, cut, cut > 1};
            t->nodes += 1;
        }
        if (node.span - cut - 1) t->nodes += 1;
    }
    if (n + 3 > RAX_PATH_MAX) return -1;
    t->path[n++] = (RaxNode){depth, 1, 0};
    int tail = rax_branch(t->path + n, depth + 1, length);
    t->nodes += (uint64_t)tail;
    t->path_len = n + tail;
    t->elements += 1;
    memcpy(t->last, key, (size_t)length);
    return 0;
}

/* ---------------------------------------------------------------- names */

enum { TY_STRING, TY_LIST, TY_SET, TY_ZSET, TY_HASH, TY_STREAM, TY_MODULE, NTYPES };
static const char *TYPE_NAMES[NTYPES] = {"string", "list", "set", "zset", "hash", "stream",
                                         "module"};
enum { EN_INT, EN_EMBSTR, EN_RAW, EN_QUICKLIST, EN_LISTPACK, EN_HASHTABLE, EN_INTSET,
       EN_SKIPLIST, EN_STREAM, EN_MODULE, NENCS };
static const char *ENC_NAMES[NENCS] = {"int", "embstr", "raw", "quicklist", "listpack",
                                       "hashtable", "intset", "skiplist", "stream", ""};
static size_t TYPE_LENS[NTYPES], ENC_LENS[NENCS];
static PyObject *type_str[NTYPES];
static PyObject *enc_str[NENCS];
static PyObject *error_class; /* RdbFormatError(message, offset=...) */

static const char MODULE_CHARSET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ---------------------------------------------------------------- the reader */

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

static void fail(Reader *r, uint64_t off, const char *fmt, ...) __attribute__((noreturn, format(printf, 3, 4)));
static void fail(Reader *r, uint64_t off, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    r->err_off = off;
    r->pyerr = 0;
    longjmp(r->env, 1);
}

static void fail_py(Reader *r) __attribute__((noreturn));
static void fail_py(Reader *r) {
    r->pyerr = 1;
    longjmp(r->env, 1);
}

static void fail_nomem(Reader *r) __attribute__((noreturn));
static void fail_nomem(Reader *r) {
    if (r->released) {
        PyEval_RestoreThread(r->released);
        r->released = NULL;
    }
    PyErr_NoMemory();
    fail_py(r);
}

static void gil_take(Reader *r, PyThreadState **saved) {
    *saved = r->released;
    if (r->released) {
        PyEval_RestoreThread(r->released);
        r->released = NULL;
    }
}

static void gil_give(Reader *r, PyThreadState *saved) {
    if (saved) r->released = PyEval_SaveThread();
}

static void *grow(Reader *r, u8 **p, size_t *cap, size_t need) {
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
static void need(Reader *r, size_t n) {
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

static inline unsigned rbyte(Reader *r) {
    if (r->pos >= r->len) need(r, 1);
    return r->buf[r->pos++];
}

static void rskip(Reader *r, uint64_t n);

static inline const u8 *rbytes(Reader *r, uint64_t n) {
    if (n > SIZE_MAX / 4) rskip(r, n); /* no input holds that much: fails at its end */
    if (r->len - r->pos < n) need(r, (size_t)n);
    const u8 *p = r->buf + r->pos;
    r->pos += (size_t)n;
    return p;
}

static void rskip(Reader *r, uint64_t n) {
    size_t avail = r->len - r->pos;
    if (n <= avail) {
        r->pos += (size_t)n;
        return;
    }
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

static uint64_t rlength(Reader *r, int *encoded) {
    unsigned b = rbyte(r);
    *encoded = 0;
    if (b < 0x40) return b;
    if (b < 0x80) return ((uint64_t)(b & 0x3f) << 8) | rbyte(r);
    if ((b >> 6) == 3) {
        *encoded = 1;
        return b & 0x3f;
    }
    if (b == 0x80) {
        const u8 *p = rbytes(r, 4);
        return ((uint64_t)p[0] << 24) | ((uint64_t)p[1] << 16) | ((uint64_t)p[2] << 8) | p[3];
    }
    if (b == 0x81) {
        const u8 *p = rbytes(r, 8);
        uint64_t v = 0;
        for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
        return v;
    }
    fail(r, OFF(r) - 1, "bad length prefix 0x%02x", b);
}

static uint64_t rlen(Reader *r) {
    int enc;
    uint64_t n = rlength(r, &enc);
    if (enc) fail(r, OFF(r) - 1, "encoded value where a length was expected");
    return n;
}

static int64_t encoded_int(Reader *r, uint64_t enc) {
    if (enc == 0) return (int8_t)rbytes(r, 1)[0];
    if (enc == 1) {
        const u8 *p = rbytes(r, 2);
        return (int16_t)(uint16_t)(p[0] | (p[1] << 8));
    }
    if (enc == 2) {
        const u8 *p = rbytes(r, 4);
        return (int32_t)((uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                         ((uint32_t)p[3] << 24));
    }
    fail(r, OFF(r) - 1, "unknown string encoding %llu", (unsigned long long)enc);
}

static size_t int_text(int64_t v, u8 *out) {
    return (size_t)snprintf((char *)out, 24, "%lld", (long long)v);
}

static void lzf_lengths(Reader *r, uint64_t *clen, uint64_t *ulen) {
    uint64_t at = OFF(r);
    *clen = rlen(r);
    *ulen = rlen(r);
    if ((u128)*ulen > (u128)*clen * 88 + 1)
        fail(r, at, "LZF blob of %llu bytes cannot expand to %llu", (unsigned long long)*clen,
             (unsigned long long)*ulen);
}

/* lzf.decompress: into *out (grown), to `expected` bytes or only the first `limit`.
 * Returns the bytes produced (capped at the stop), or -1 with r->msg/err_off set. */
static int64_t lzf_decompress(Reader *r, const u8 *data, uint64_t n, uint64_t expected,
                              int64_t limit, uint64_t offset, u8 **out, size_t *outcap) {
    uint64_t stop = limit < 0 ? expected : ((uint64_t)limit < expected ? (uint64_t)limit : expected);
    grow(r, out, outcap, (size_t)stop + 300);
    u8 *o = *out;
    uint64_t olen = 0, i = 0;
    while (i < n && olen < stop) {
        unsigned ctrl = data[i++];
        if (ctrl < 32) {
            uint64_t run = ctrl + 1;
            uint64_t have = i + run > n ? n - i : run;
            memcpy(o + olen, data + i, (size_t)have);
            olen += have;
            if (i + run > n) goto corrupt;
            i += run;
        } else {
            uint64_t length = ctrl >> 5;
            if (length == 7) {
                if (i >= n) goto corrupt;
                length += data[i++];
            }
            if (i >= n) goto corrupt;
            int64_t back = (int64_t)olen - (int64_t)((ctrl & 0x1f) << 8) - (int64_t)data[i] - 1;
            i++;
            if (back < 0) goto corrupt;
            length += 2;
            for (uint64_t k = 0; k < length; k++) o[olen + k] = o[(uint64_t)back + k];
            olen += length;
        }
    }
    if (limit < 0 && olen != expected) {
        snprintf(r->msg, sizeof r->msg, "LZF data decompressed to %llu bytes, expected %llu",
                 (unsigned long long)olen, (unsigned long long)expected);
        r->err_off = offset;
        return -1;
    }
    return (int64_t)(olen < stop ? olen : stop);
corrupt:
    snprintf(r->msg, sizeof r->msg, "corrupt LZF data");
    r->err_off = offset + i;
    return -1;
}

static void raise_pending(Reader *r) __attribute__((noreturn));
static void raise_pending(Reader *r) { longjmp(r->env, 1); }

/* _string into the key buffer (keys, stream node IDs). */
static void read_string(Reader *r, u8 **dst, size_t *dstcap, size_t *dstlen) {
    int enc;
    uint64_t n = rlength(r, &enc);
    if (!enc) {
        const u8 *p = rbytes(r, n);
        grow(r, dst, dstcap, (size_t)n + 1);
        memcpy(*dst, p, (size_t)n);
        *dstlen = (size_t)n;
        return;
    }
    if (n == 3) {
        uint64_t clen, ulen;
        lzf_lengths(r, &clen, &ulen);
        uint64_t at = OFF(r);
        const u8 *p = rbytes(r, clen);
        int64_t got = lzf_decompress(r, p, clen, ulen, -1, at, dst, dstcap);
        if (got < 0) raise_pending(r);
        *dstlen = (size_t)got;
        return;
    }
    int64_t v = encoded_int(r, n);
    grow(r, dst, dstcap, 24);
    *dstlen = int_text(v, *dst);
}

static uint64_t string_len(Reader *r) {
    int enc;
    uint64_t n = rlength(r, &enc);
    if (!enc) {
        rskip(r, n);
        return n;
    }
    if (n == 3) {
        uint64_t clen, ulen;
        lzf_lengths(r, &clen, &ulen);
        rskip(r, clen);
        return ulen;
    }
    return int_text(encoded_int(r, n), r->strbuf);
}

static int canonical_int(const u8 *p, size_t n) {
    if (n == 0 || n > 20) return 0;
    size_t i = 0;
    int neg = 0;
    if (p[0] == '-') {
        neg = 1;
        i = 1;
        if (n == 1) return 0;
    }
    if (p[i] == '0') return n == i + 1 && !neg; /* "0" only; "-0" and leading zeros are not */
    u128 v = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        v = v * 10 + (p[i] - '0');
    }
    return neg ? v <= ((u128)1 << 63) : v < ((u128)1 << 63);
}

/* _string_value: a string's length and whether Redis keeps it as an integer. */
static uint64_t string_value(Reader *r, int *is_int) {
    int enc;
    uint64_t n = rlength(r, &enc);
    if (enc) {
        if (n == 3) {
            uint64_t clen, ulen;
            lzf_lengths(r, &clen, &ulen);
            rskip(r, clen);
            *is_int = 0;
            return ulen;
        }
        *is_int = 1;
        return int_text(encoded_int(r, n), r->strbuf);
    }
    if (n <= 20) {
        const u8 *p = rbytes(r, n);
        *is_int = canonical_int(p, (size_t)n);
        return n;
    }
    rskip(r, n);
    *is_int = 0;
    return n;
}

/* ---------------------------------------------------------------- packed blobs (blobs.py) */

enum { L_LISTPACK, L_ZIPLIST, L_INTSET };
static const char *LAYOUT_NAMES[] = {"listpack", "ziplist", "intset"};
static const size_t LAYOUT_HEADER[] = {6, 10, 8};

static inline uint32_t le32(const u8 *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint16_t le16(const u8 *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

/* from_header: 1 and *count, 0 when only a walk can count, -1 with msg (offset given). */
static int from_header(Reader *r, int layout, const u8 *head, size_t headlen, uint64_t size,
                       uint64_t offset, uint64_t *count) {
    const char *err = NULL;
    if (layout == L_LISTPACK) {
        if (size < 7 || headlen < 6) err = "listpack shorter than its header";
        else if (le32(head) != size) err = "listpack header disagrees with its length";
        else {
            *count = le16(head + 4);
            return *count == 0xFFFF ? 0 : 1;
        }
    } else if (layout == L_ZIPLIST) {
        if (size < 11 || headlen < 10) err = "ziplist shorter than its header";
        else if (le32(head) != size) err = "ziplist header disagrees with its length";
        else {
            *count = le16(head + 8);
            return *count == 0xFFFF ? 0 : 1;
        }
    } else {
        if (size < 8 || headlen < 8) err = "intset shorter than its header";
        else {
            uint64_t width = le32(head), length = le32(head + 4);
            if ((width != 2 && width != 4 && width != 8) || 8 + width * length != size)
                err = "corrupt intset header";
            else {
                *count = length;
                return 1;
            }
        }
    }
    snprintf(r->msg, sizeof r->msg, "%s", err);
    r->err_off = offset;
    return -1;
}

static uint64_t backlen_size(uint64_t size) {
    if (size <= 127) return 1;
    if (size < 16383) return 2;
    if (size < 2097151) return 3;
    if (size < 268435455) return 4;
    return 5;
}

static int listpack_walk(Reader *r, const u8 *blob, uint64_t end, uint64_t offset,
                         uint64_t *count) {
    uint64_t i = 6, n = 0;
    while (i < end) {
        unsigned b = blob[i];
        uint64_t size;
        if (b == 0xFF) {
            *count = n;
            return 0;
        }
        if (b < 0x80) size = 1;
        else if (b < 0xC0) size = 1 + (b & 0x3F);
        else if (b < 0xE0) size = 2;
        else if (b < 0xF0) {
            if (i + 1 >= end) break;
            size = 2 + (((uint64_t)(b & 0x0F) << 8) | blob[i + 1]);
        } else if (b == 0xF0) {
            if (i + 5 > end) break;
            size = 5 + (uint64_t)le32(blob + i + 1);
        } else if (b == 0xF1) size = 3;
        else if (b == 0xF2) size = 4;
        else if (b == 0xF3) size = 5;
        else if (b == 0xF4) size = 9;
        else break;
        i += size + backlen_size(size);
        n++;
    }
    snprintf(r->msg, sizeof r->msg, "listpack is not terminated");
    r->err_off = offset + (i < end ? i : end);
    return -1;
}

static int ziplist_walk(Reader *r, const u8 *blob, uint64_t end, uint64_t offset,
                        uint64_t *count) {
    uint64_t i = 10, n = 0;
    for (;;) {
        if (i >= end) goto corrupt;
        if (blob[i] == 0xFF) {
            *count = n;
            return 0;
        }
        i += blob[i] == 0xFE ? 5 : 1;
        if (i >= end) goto corrupt;
        unsigned b = blob[i];
        unsigned top = b >> 6;
        uint64_t size;
        if (top == 0) {
            i += 1;
            size = b & 0x3F;
            i += size;
        } else if (top == 1) {
            if (i + 1 >= end) goto corrupt;
            size = ((uint64_t)(b & 0x3F) << 8) | blob[i + 1];
            i += 2 + size;
        } else if (top == 2) {
            if (i + 5 > end) goto corrupt;
            size = ((uint64_t)blob[i + 1] << 24) | ((uint64_t)blob[i + 2] << 16) |
                   ((uint64_t)blob[i + 3] << 8) | blob[i + 4];
            i += 5 + size;
        } else {
            size = b == 0xC0 ? 2 : b == 0xD0 ? 4 : b == 0xE0 ? 8 : b == 0xF0 ? 3 : b == 0xFE ? 1 : 0;
            i += 1 + size;
            if (size == 0 && !(b >= 0xF1 && b <= 0xFD)) goto corrupt;
        }
        if (i > end) goto corrupt;
        n++;
    }
corrupt:
    snprintf(r->msg, sizeof r->msg, "corrupt ziplist");
    r->err_off = offset + (i < end ? i : end);
    return -1;
}

static int layout_walk(Reader *r, int layout, const u8 *blob, uint64_t size, uint64_t offset,
                       uint64_t *count) {
    if (layout == L_LISTPACK) return listpack_walk(r, blob, size, offset, count);
    if (layout == L_ZIPLIST) return ziplist_walk(r, blob, size, offset, count);
    return from_header(r, layout, blob, (size_t)size, size, offset, count) < 0 ? -1 : 0;
}

/* _packed: a packed structure's size and element count, from its header where possible. */
static uint64_t packed(Reader *r, int layout, uint64_t *count) {
    uint64_t start = OFF(r);
    int enc;
    uint64_t n = rlength(r, &enc);
    size_t header = LAYOUT_HEADER[layout];
    if (!enc) {
        uint64_t at = OFF(r);
        size_t hl = n < header ? (size_t)n : header;
        const u8 *head = rbytes(r, hl);
        int got = from_header(r, layout, head, hl, n, at, count);
        if (got < 0) raise_pending(r);
        if (got == 0) {
            r->pos -= hl; /* the header is still in the buffer: read the whole blob */
            const u8 *blob = rbytes(r, n);
            if (layout_walk(r, layout, blob, n, at, count) < 0) raise_pending(r);
            return n;
        }
        rskip(r, n - hl);
        return n;
    }
    if (n != 3)
        fail(r, start, "an integer where a %s was expected", LAYOUT_NAMES[layout]);
    uint64_t clen, ulen;
    lzf_lengths(r, &clen, &ulen);
    uint64_t at = OFF(r);
    const u8 *data = rbytes(r, clen);
    int64_t hl = lzf_decompress(r, data, clen, ulen, (int64_t)header, at, &r->tmp, &r->tmpcap);
    int got = hl < 0 ? -1 : from_header(r, layout, r->tmp, (size_t)hl, ulen, 0, count);
    if (got == 0) {
        int64_t full = lzf_decompress(r, data, clen, ulen, -1, at, &r->tmp, &r->tmpcap);
        got = full < 0 ? -1 : layout_walk(r, layout, r->tmp, ulen, 0, count);
    }
    if (got < 0) {
        size_t len = strlen(r->msg);
        snprintf(r->msg + len, sizeof r->msg - len, " (in LZF-compressed data)");
        r->err_off = start;
        raise_pending(r);
    }
    return ulen;
}

/* ---------------------------------------------------------------- value types (reader.py) */

static void list_node(uint64_t bytes, uint64_t *sum, uint64_t *nodes) {
    *sum += QUICKLIST_NODE + jemalloc_size(bytes);
    *nodes += 1;
}

static void v_string(Reader *r, Rec *rec) {
    int is_int;
    uint64_t len = string_value(r, &is_int);
    rec->type = TY_STRING;
    rec->enc = is_int ? EN_INT : len <= EMBSTR_MAX ? EN_EMBSTR : EN_RAW;
    rec->count = len;
    rec->memory = string_value_mem(len, is_int);
}

static void v_list_linked(Reader *r, Rec *rec) {
    uint64_t n = rlen(r), sum = 0, nodes = 0, current = 7;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t size = string_len(r);
        uint64_t entry = size + (size < 64 ? 1 : size < 4096 ? 2 : 5);
        entry += entry <= 127 ? 1 : 2;
        if (current + entry > LIST_NODE_BYTES && current > 7) {
            list_node(current, &sum, &nodes);
            current = 7;
        }
        current += entry;
    }
    if (current > 7 || !nodes) list_node(current, &sum, &nodes);
    rec->type = TY_LIST;
    rec->enc = EN_QUICKLIST;
    rec->count = n;
    rec->memory = ROBJ + QUICKLIST + sum;
}

static void v_list_ziplist(Reader *r, Rec *rec) {
    uint64_t n, size = packed(r, L_ZIPLIST, &n);
    uint64_t full = size / LIST_NODE_BYTES, rest = size % LIST_NODE_BYTES;
    uint64_t sum = full * (QUICKLIST_NODE + jemalloc_size(LIST_NODE_BYTES));
    if (rest) sum += QUICKLIST_NODE + jemalloc_size(rest);
    rec->type = TY_LIST;
    rec->enc = EN_QUICKLIST;
    rec->count = n;
    rec->memory = ROBJ + QUICKLIST + sum;
}

static void v_quicklist(Reader *r, Rec *rec, int v2) {
    uint64_t nodes = rlen(r), count = 0, sum = 0, seen = 0, first = 0;
    int plain = 0;
    for (uint64_t k = 0; k < nodes; k++) {
        uint64_t container = v2 ? rlen(r) : 2, size;
        if (container == 1) {
            size = string_len(r);
            count += 1;
            plain = 1;
        } else {
            if (container != 2)
                fail(r, OFF(r), "unknown quicklist container %llu", (unsigned long long)container);
            uint64_t n;
            size = packed(r, v2 ? L_LISTPACK : L_ZIPLIST, &n);
            count += n;
        }
        if (!seen) first = size;
        list_node(size, &sum, &seen);
    }
    rec->type = TY_LIST;
    rec->count = count;
    if (v2 && r->version >= 11 && nodes == 1 && !plain) {
        rec->enc = EN_LISTPACK;
        rec->memory = packed_value(first);
        return;
    }
    rec->enc = EN_QUICKLIST;
    rec->memory = ROBJ + QUICKLIST + sum;
}

static void v_set(Reader *r, Rec *rec) {
    uint64_t n = rlen(r), total = 0;
    int all_int = 1;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t len;
        if (all_int) len = string_value(r, &all_int);
        else len = string_len(r);
        total += sds_size(len);
    }
    rec->type = TY_SET;
    rec->enc = EN_HASHTABLE;
    rec->count = n;
    rec->memory = set_hashtable(total, n, all_int);
}

static void v_packed(Reader *r, Rec *rec, int type, int enc, int layout, uint64_t per) {
    uint64_t n, size = packed(r, layout, &n);
    rec->type = type;
    rec->enc = enc;
    rec->count = n / per;
    rec->memory = packed_value(size);
}

static void v_zset(Reader *r, Rec *rec, int binary) {
    uint64_t n = rlen(r), total = 0;
    for (uint64_t k = 0; k < n; k++) {
        total += sds_size(string_len(r));
        if (binary) rskip(r, 8);
        else {
            unsigned score_len = rbyte(r);
            if (score_len < 253) rskip(r, score_len);
        }
    }
    rec->type = TY_ZSET;
    rec->enc = EN_SKIPLIST;
    rec->count = n;
    rec->memory = zset_skiplist(total, n);
}

static void v_hash(Reader *r, Rec *rec) {
    uint64_t n = rlen(r), total = 0, longest = 0;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t field = string_len(r), value = string_len(r);
        total += sds_size(field) + sds_size(value);
        if (field > longest) longest = field;
        if (value > longest) longest = value;
    }
    rec->type = TY_HASH;
    rec->enc = EN_HASHTABLE;
    rec->count = n;
    rec->memory = hash_hashtable(total, n, longest);
}

static void v_hash_metadata(Reader *r, Rec *rec, int relative) {
    if (relative) rskip(r, 8);
    uint64_t n = rlen(r), total = 0;
    for (uint64_t k = 0; k < n; k++) {
        rlen(r);
        uint64_t field = string_len(r);
        total += sds_size(field) + sds_size(string_len(r));
    }
    rec->type = TY_HASH;
    rec->enc = EN_HASHTABLE;
    rec->count = n;
    rec->memory = hash_hashtable(total, n, 0);
}

static void v_valkey_hash_2(Reader *r, Rec *rec) {
    uint64_t n = rlen(r), total = 0;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t field = string_len(r);
        total += sds_size(field) + sds_size(string_len(r));
        rskip(r, 8);
    }
    rec->type = TY_HASH;
    rec->enc = EN_HASHTABLE;
    rec->count = n;
    rec->memory = hash_hashtable(total, n, 0);
}

static void v_hash_listpack_ex(Reader *r, Rec *rec, int min_expire) {
    if (min_expire) rskip(r, 8);
    v_packed(r, rec, TY_HASH, EN_LISTPACK, L_LISTPACK, 3);
}

/* zipmap_sizes: the number of pairs, or -1 with the message set. */
static int zipmap_count(Reader *r, const u8 *blob, uint64_t end, uint64_t offset, uint64_t *pairs) {
    uint64_t i = 1, n = 0;
    for (;;) {
        if (i >= end) goto corrupt;
        if (blob[i] == 0xFF) break;
        uint64_t flen, vlen;
        unsigned b = blob[i];
        if (b < 254) flen = b, i += 1;
        else {
            if (i + 5 > end) goto corrupt;
            flen = le32(blob + i + 1);
            i += 5;
        }
        i += flen;
        if (i >= end) goto corrupt;
        b = blob[i];
        if (b < 254) vlen = b, i += 1;
        else if (b == 254) {
            if (i + 5 > end) goto corrupt;
            vlen = le32(blob + i + 1);
            i += 5;
        } else goto corrupt;
        if (i >= end) goto corrupt;
        unsigned free_ = blob[i];
        i += 1 + vlen + free_;
        if (i > end) goto corrupt;
        n++;
    }
    *pairs = n;
    return 0;
corrupt:
    snprintf(r->msg, sizeof r->msg, "corrupt zipmap");
    r->err_off = offset + (i < end ? i : end);
    return -1;
}

static void v_hash_zipmap(Reader *r, Rec *rec) {
    uint64_t start = OFF(r);
    int enc;
    uint64_t n = rlength(r, &enc), pairs = 0, size;
    if (!enc) {
        const u8 *blob = rbytes(r, n);
        if (zipmap_count(r, blob, n, OFF(r) - n, &pairs) < 0) raise_pending(r);
        size = n;
    } else if (n == 3) {
        uint64_t clen, ulen;
        lzf_lengths(r, &clen, &ulen);
        uint64_t at = OFF(r);
        const u8 *data = rbytes(r, clen);
        int64_t got = lzf_decompress(r, data, clen, ulen, -1, at, &r->tmp, &r->tmpcap);
        if (got < 0) raise_pending(r);
        if (zipmap_count(r, r->tmp, (uint64_t)got, 0, &pairs) < 0) {
            size_t len = strlen(r->msg);
            snprintf(r->msg + len, sizeof r->msg - len, " (in LZF-compressed data)");
            r->err_off = start;
            raise_pending(r);
        }
        size = (uint64_t)got;
    } else {
        fail(r, start, "an integer where a packed structure was expected");
    }
    rec->type = TY_HASH;
    rec->enc = EN_LISTPACK;
    rec->count = pairs;
    rec->memory = packed_value(size);
}

static uint64_t stream_group(Reader *r, int version) {
    string_len(r); /* group name */
    rlen(r);
    rlen(r); /* last delivered id */
    if (version >= 2) rlen(r); /* entries read */
    uint64_t pel = rlen(r);
    RaxCounter tree;
    rax_init(&tree);
    for (uint64_t k = 0; k < pel; k++) {
        const u8 *id = rbytes(r, 16);
        if (rax_add(&tree, id, 16) < 0) fail(r, OFF(r), "inconsistent stream ID tree");
        rskip(r, 8); /* delivery time */
        rlen(r);     /* delivery count */
    }
    uint64_t used = STREAM_CG + rax_usage(pel, tree.nodes) + STREAM_NACK * pel;
    uint64_t consumer_size = version >= 3 ? STREAM_CONSUMER_7_2 : STREAM_CONSUMER;
    uint64_t consumers = rlen(r);
    for (uint64_t c = 0; c < consumers; c++) {
        uint64_t name_len = string_len(r);
        rskip(r, 8); /* seen time */
        if (version >= 3) rskip(r, 8); /* active time */
        uint64_t cpel = rlen(r);
        RaxCounter ctree;
        rax_init(&ctree);
        for (uint64_t k = 0; k < cpel; k++) {
            const u8 *id = rbytes(r, 16);
            if (rax_add(&ctree, id, 16) < 0) fail(r, OFF(r), "inconsistent stream ID tree");
        }
        used += consumer_size + name_len + rax_usage(cpel, ctree.nodes);
    }
    return used;
}

static void v_stream(Reader *r, Rec *rec, int version) {
    uint64_t listpacks = rlen(r), lp_sum = 0, last = 0, seen = 0;
    RaxCounter nodes;
    rax_init(&nodes);
    for (uint64_t k = 0; k < listpacks; k++) {
        size_t idlen = 0;
        read_string(r, &r->tmp2, &r->tmp2cap, &idlen);
        if (idlen != 16) fail(r, OFF(r), "stream node key is not a 128-bit ID");
        if (rax_add(&nodes, r->tmp2, 16) < 0) fail(r, OFF(r), "inconsistent stream ID tree");
        uint64_t n, size = packed(r, L_LISTPACK, &n);
        if (seen) lp_sum += jemalloc_size(last);
        last = size;
        seen++;
    }
    uint64_t length = rlen(r);
    rlen(r);
    rlen(r);
    if (version >= 2)
        for (int k = 0; k < 5; k++) rlen(r);
    uint64_t groups_memory = 0, groups = rlen(r);
    for (uint64_t g = 0; g < groups; g++) groups_memory += stream_group(r, version);
    uint64_t value = ROBJ + STREAM + rax_usage(listpacks, nodes.nodes);
    if (seen) value += lp_sum + jemalloc_size(last > STREAM_LISTPACK_PREALLOC ? last : STREAM_LISTPACK_PREALLOC);
    rec->type = TY_STREAM;
    rec->enc = EN_STREAM;
    rec->count = length;
    rec->memory = value + groups_memory;
}

static void skip_module_value(Reader *r) {
    for (;;) {
        uint64_t op = rlen(r);
        if (op == 0) return;
        if (op == 1 || op == 2) rlen(r);
        else if (op == 3) rskip(r, 4);
        else if (op == 4) rskip(r, 8);
        else if (op == 5) string_len(r);
        else fail(r, OFF(r) - 1, "unknown module value opcode %llu", (unsigned long long)op);
    }
}

static void module_count(Reader *r, const char *name) {
    ModuleCounts *m = &r->modules;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->items[i].name, name) == 0) {
            m->items[i].count++;
            return;
        }
    void *q = realloc(m->items, (m->n + 1) * sizeof *m->items);
    if (!q) fail_nomem(r);
    m->items = q;
    memcpy(m->items[m->n].name, name, 10);
    m->items[m->n].count = 1;
    m->n++;
}

static void v_module(Reader *r, Rec *rec) {
    uint64_t at = OFF(r);
    uint64_t id = rlen(r);
    for (int i = 0; i < 9; i++) rec->module[i] = MODULE_CHARSET[(id >> (10 + 6 * (8 - i))) & 63];
    rec->module[9] = 0;
    skip_module_value(r);
    module_count(r, rec->module);
    rec->type = TY_MODULE;
    rec->enc = EN_MODULE;
    rec->count = 0;
    rec->memory = ROBJ + jemalloc_size(OFF(r) - at);
}

/* ---------------------------------------------------------------- the outer loop */

static void set_aux(Reader *r, const u8 *name, size_t nlen, const u8 *value, size_t vlen) {
    PyThreadState *saved;
    gil_take(r, &saved);
    PyObject *k = PyUnicode_DecodeUTF8((const char *)name, (Py_ssize_t)nlen, "replace");
    PyObject *v = PyBytes_FromStringAndSize((const char *)value, (Py_ssize_t)vlen);
    int bad = !k || !v || PyDict_SetItem(r->aux, k, v) < 0;
    Py_XDECREF(k);
    Py_XDECREF(v);
    if (bad) fail_py(r);
    gil_give(r, saved);
}

static void read_header(Reader *r) {
    const u8 *head = rbytes(r, 9);
    int version = -1;
    if (memcmp(head, "REDIS", 5) == 0) {
        int ok = 1;
        for (int i = 5; i < 9; i++) ok &= head[i] >= '0' && head[i] <= '9';
        if (ok) version = (head[5] - '0') * 1000 + (head[6] - '0') * 100 + (head[7] - '0') * 10 + (head[8] - '0');
    }
    if (version < 0 && memcmp(head, "VALKEY", 6) == 0) {
        int ok = 1;
        for (int i = 6; i < 9; i++) ok &= head[i] >= '0' && head[i] <= '9';
        if (ok) {
            version = (head[6] - '0') * 100 + (head[7] - '0') * 10 + (head[8] - '0');
            r->valkey = 1;
        }
    }
    if (version < 0) fail(r, 0, "not an RDB file (no REDIS or VALKEY magic)");
    if (!(version >= 1 && version <= 12) && version < 80)
        fail(r, 5, "unsupported RDB version %d", version);
    r->version = version;
}

/* The checksum thread: CRC-64 of [start, start + length) of the file, read on its own. */
struct CrcThread {
    pthread_t thread;
    int fd;
    uint64_t start, length;
    volatile int stop;
    uint64_t crc;
    int ok; /* 1 done, -1 read error or stopped */
};

static void *crc_thread_main(void *arg) {
    CrcThread *t = arg;
    size_t cap = 4 * CHUNK;
    u8 *buf = malloc(cap);
    uint64_t crc = 0, pos = t->start, end = t->start + t->length;
    t->ok = -1;
    if (!buf) return NULL;
    while (pos < end && !t->stop) {
        size_t want = end - pos < cap ? (size_t)(end - pos) : cap;
        ssize_t got = pread(t->fd, buf, want, (off_t)pos);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        crc = crc_update(crc, buf, (size_t)got);
        pos += (uint64_t)got;
    }
    free(buf);
    if (pos == end && !t->stop) {
        t->crc = crc;
        t->ok = 1;
    }
    return NULL;
}

static void crc_thread_stop(Reader *r) {
    if (!r->crc_thread) return;
    r->crc_thread->stop = 1;
    pthread_join(r->crc_thread->thread, NULL);
    free(r->crc_thread);
    r->crc_thread = NULL;
}

/* CRC of the first `upto` stream bytes: from the thread when it covered exactly that. */
static uint64_t crc_of_prefix(Reader *r, uint64_t upto) {
    CrcThread *t = r->crc_thread;
    if (t) {
        pthread_join(t->thread, NULL);
        r->crc_thread = NULL;
        int ok = t->ok == 1 && t->length == upto;
        uint64_t crc = t->crc;
        free(t);
        if (ok) return crc;
    }
    /* the file does not end where the thread assumed: read the prefix again */
    u8 *buf = malloc(CHUNK);
    if (!buf) fail_nomem(r);
    uint64_t crc = 0, pos = 0;
    while (pos < upto) {
        size_t want = upto - pos < CHUNK ? (size_t)(upto - pos) : CHUNK;
        ssize_t got = pread(r->fd, buf, want, (off_t)(r->fd_start + pos));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            free(buf);
            fail(r, pos, "the file changed while it was read");
        }
        crc = crc_update(crc, buf, (size_t)got);
        pos += (uint64_t)got;
    }
    free(buf);
    return crc;
}

static void start_crc_thread(Reader *r) {
    if (r->fd < 0 || !r->verify || r->version < 5) return;
    uint64_t total = r->fd_size - r->fd_start;
    if (total < 9 + 8) return;
    CrcThread *t = calloc(1, sizeof *t);
    if (!t) return; /* crc_of_prefix computes it at the end instead */
    t->fd = r->fd;
    t->start = r->fd_start;
    t->length = total - 8; /* everything before the trailing checksum */
    if (pthread_create(&t->thread, NULL, crc_thread_main, t) != 0) {
        free(t);
        return;
    }
    r->crc_thread = t;
}

static void read_trailer(Reader *r) {
    if (r->version < 5) return;
    uint64_t at = OFF(r);
    uint64_t crc;
    if (r->fd >= 0) {
        crc = r->verify ? crc_of_prefix(r, at) : 0;
    } else {
        if (r->crc_inline) {
            r->crc = crc_update(r->crc, r->buf + r->crc_upto, r->pos - r->crc_upto);
            r->crc_upto = r->pos;
            r->crc_inline = 0;
        }
        crc = r->crc;
    }
    const u8 *p = rbytes(r, 8);
    uint64_t stored = 0;
    for (int i = 7; i >= 0; i--) stored = (stored << 8) | p[i];
    if (r->verify && stored != 0 && stored != crc)
        fail(r, at, "checksum mismatch (file says %016llx, content is %016llx)",
             (unsigned long long)stored, (unsigned long long)crc);
}

static void meta(Reader *r, unsigned op, uint64_t at) {
    if (op == 250) { /* AUX */
        size_t nlen = 0, vlen = 0;
        read_string(r, &r->tmp2, &r->tmp2cap, &nlen);
        read_string(r, &r->tmp, &r->tmpcap, &vlen);
        set_aux(r, r->tmp2, nlen, r->tmp, vlen);
    } else if (op == 251) { /* RESIZEDB */
        rlen(r);
        rlen(r);
    } else if (op == 248) { /* IDLE */
        rlen(r);
    } else if (op == 249) { /* FREQ */
        rbyte(r);
    } else if (op == 244) { /* SLOT_INFO */
        for (int i = 0; i < 3; i++) rlen(r);
    } else if (op == 247) { /* MODULE_AUX */
        for (int i = 0; i < 3; i++) rlen(r);
        skip_module_value(r);
    } else if (op == 245) { /* FUNCTION2 */
        string_len(r);
        r->functions++;
    } else {
        fail(r, at, "functions of a Redis 7.0 release candidate");
    }
}

/* The next key into *rec: 1, or 0 after the trailer. Errors longjmp. */
static int next_record(Reader *r, Rec *rec) {
    if (r->finished) return 0;
    if (!r->started) {
        r->started = 1;
        read_header(r);
        start_crc_thread(r);
    }
    for (;;) {
        uint64_t at = OFF(r);
        unsigned op = rbyte(r);
        if (op == 255) {
            read_trailer(r);
            r->finished = 1;
            return 0;
        }
        if (op == 254) {
            r->db = rlen(r);
        } else if (op == 252) {
            const u8 *p = rbytes(r, 8);
            uint64_t v = 0;
            for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
            r->expiry = (int64_t)v;
            r->has_expiry = 1;
        } else if (op == 253) {
            const u8 *p = rbytes(r, 4);
            r->expiry = (int64_t)(int32_t)le32(p) * 1000;
            r->has_expiry = 1;
        } else if (op >= 244) {
            meta(r, op, at);
        } else {
            if (op == 8 || op > 25) fail(r, at, "unknown value type %u", op);
            read_string(r, &r->keybuf, &r->keycap, &r->keylen);
            uint64_t value_at = OFF(r);
            rec->module[0] = 0;
            switch (op) {
            case 0: v_string(r, rec); break;
            case 1: v_list_linked(r, rec); break;
            case 2: v_set(r, rec); break;
            case 3: v_zset(r, rec, 0); break;
            case 4: v_hash(r, rec); break;
            case 5: v_zset(r, rec, 1); break;
            case 6:
                fail(r, OFF(r) - 1,
                     "module value of a Redis 4.0 release candidate cannot be skipped safely");
            case 7: v_module(r, rec); break;
            case 9: v_hash_zipmap(r, rec); break;
            case 10: v_list_ziplist(r, rec); break;
            case 11: v_packed(r, rec, TY_SET, EN_INTSET, L_INTSET, 1); break;
            case 12: v_packed(r, rec, TY_ZSET, EN_LISTPACK, L_ZIPLIST, 2); break;
            case 13: v_packed(r, rec, TY_HASH, EN_LISTPACK, L_ZIPLIST, 2); break;
            case 14: v_quicklist(r, rec, 0); break;
            case 15: v_stream(r, rec, 1); break;
            case 16: v_packed(r, rec, TY_HASH, EN_LISTPACK, L_LISTPACK, 2); break;
            case 17: v_packed(r, rec, TY_ZSET, EN_LISTPACK, L_LISTPACK, 2); break;
            case 18: v_quicklist(r, rec, 1); break;
            case 19: v_stream(r, rec, 2); break;
            case 20: v_packed(r, rec, TY_SET, EN_LISTPACK, L_LISTPACK, 1); break;
            case 21: v_stream(r, rec, 3); break;
            case 22:
                if (r->valkey) v_valkey_hash_2(r, rec);
                else v_hash_metadata(r, rec, 0);
                break;
            case 23: v_hash_listpack_ex(r, rec, 0); break;
            case 24: v_hash_metadata(r, rec, 1); break;
            case 25: v_hash_listpack_ex(r, rec, 1); break;
            }
            rec->db = r->db;
            rec->key = r->keybuf;
            rec->keylen = r->keylen;
            rec->has_expiry = r->has_expiry;
            rec->expiry = r->expiry;
            rec->serialized = OFF(r) - value_at;
            rec->memory += key_overhead(r->keylen);
            r->has_expiry = 0;
            r->keys++;
            return 1;
        }
    }
}

/* ---------------------------------------------------------------- Python type: Reader */

typedef struct {
    PyObject_HEAD
    Reader r;
    PyObject *pending; /* a list under construction, dropped on errors */
    PyObject *deferred_type, *deferred_value, *deferred_tb; /* ended a batch; raised next call */
} ReaderObject;

static int reader_init(ReaderObject *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"source", "start", "size", "verify_checksum", NULL};
    PyObject *source;
    unsigned long long start = 0, size = 0;
    int verify = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|KKp", names, &source, &start, &size, &verify))
        return -1;
    Reader *r = &self->r;
    if (r->buf) {
        PyErr_SetString(PyExc_RuntimeError, "Reader already initialised");
        return -1;
    }
    r->fd = -1;
    r->verify = verify;
    if (PyLong_Check(source)) {
        r->fd = (int)PyLong_AsLong(source);
        if (r->fd < 0) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "bad file descriptor");
            return -1;
        }
        r->fd_start = start;
        r->fd_size = size;
        r->fd_next = start;
        if (size < start) {
            PyErr_SetString(PyExc_ValueError, "size before start");
            return -1;
        }
    } else {
        r->readinto = PyObject_GetAttrString(source, "readinto");
        if (!r->readinto) return -1;
        Py_INCREF(source);
        r->stream = source;
        r->crc_inline = verify;
    }
    r->aux = PyDict_New();
    if (!r->aux) return -1;
    r->cap = 4 * CHUNK;
    r->buf = malloc(r->cap);
    if (!r->buf) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void reader_release(Reader *r) {
    crc_thread_stop(r);
    free(r->buf);
    free(r->keybuf);
    free(r->tmp);
    free(r->tmp2);
    free(r->modules.items);
    r->buf = r->keybuf = r->tmp = r->tmp2 = NULL;
    r->modules.items = NULL;
    r->modules.n = 0;
    Py_CLEAR(r->stream);
    Py_CLEAR(r->readinto);
    Py_CLEAR(r->aux);
}

static void reader_dealloc(ReaderObject *self) {
    reader_release(&self->r);
    Py_CLEAR(self->pending);
    Py_CLEAR(self->deferred_type);
    Py_CLEAR(self->deferred_value);
    Py_CLEAR(self->deferred_tb);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* After a longjmp: hold the GIL again, stop the checksum thread, raise. */
static PyObject *raise_error(ReaderObject *self) {
    Reader *r = &self->r;
    if (r->released) {
        PyEval_RestoreThread(r->released);
        r->released = NULL;
    }
    crc_thread_stop(r);
    Py_CLEAR(self->pending);
    r->env_set = 0;
    r->failed = 1;
    if (r->pyerr) return NULL;
    PyObject *args = Py_BuildValue("(s)", r->msg);
    PyObject *kw = Py_BuildValue("{s:K}", "offset", (unsigned long long)r->err_off);
    if (args && kw) {
        PyObject *exc = PyObject_Call(error_class ? error_class : PyExc_ValueError, args, kw);
        if (exc) {
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
            Py_DECREF(exc);
        }
    }
    Py_XDECREF(args);
    Py_XDECREF(kw);
    return NULL;
}

static int check_usable(Reader *r) {
    if (!r->buf) {
        PyErr_SetString(PyExc_ValueError, "Reader not initialised or closed");
        return -1;
    }
    if (r->failed) {
        PyErr_SetString(PyExc_ValueError, "Reader already failed");
        return -1;
    }
    if (r->env_set) {
        PyErr_SetString(PyExc_RuntimeError, "Reader is in use");
        return -1;
    }
    return 0;
}

static PyObject *enc_object(const Rec *rec) {
    if (rec->enc == EN_MODULE) return PyUnicode_FromString(rec->module);
    Py_INCREF(enc_str[rec->enc]);
    return enc_str[rec->enc];
}

static PyObject *record_tuple(const Rec *rec) {
    PyObject *expiry;
    if (rec->has_expiry) expiry = PyLong_FromLongLong(rec->expiry);
    else {
        Py_INCREF(Py_None);
        expiry = Py_None;
    }
    PyObject *enc = enc_object(rec);
    Py_INCREF(type_str[rec->type]);
    return Py_BuildValue("(Ky#NNNKKK)", (unsigned long long)rec->db, (const char *)rec->key,
                         (Py_ssize_t)rec->keylen, type_str[rec->type], enc, expiry,
                         (unsigned long long)rec->count, (unsigned long long)rec->serialized,
                         (unsigned long long)rec->memory);
}

static PyObject *reader_next_batch(ReaderObject *self, PyObject *arg) {
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n < 0 && PyErr_Occurred()) return NULL;
    Reader *r = &self->r;
    if (self->deferred_type) {
        PyErr_Restore(self->deferred_type, self->deferred_value, self->deferred_tb);
        self->deferred_type = self->deferred_value = self->deferred_tb = NULL;
        return NULL;
    }
    if (check_usable(r) < 0) return NULL;
    self->pending = PyList_New(0);
    if (!self->pending) return NULL;
    if (setjmp(r->env)) {
        /* the records read before the error come first, as the pure reader yields them */
        PyObject *partial = self->pending;
        self->pending = NULL;
        raise_error(self);
        if (partial && PyList_GET_SIZE(partial) > 0) {
            PyErr_Fetch(&self->deferred_type, &self->deferred_value, &self->deferred_tb);
            return partial;
        }
        Py_XDECREF(partial);
        return NULL;
    }
    r->env_set = 1;
    Rec rec;
    for (Py_ssize_t i = 0; i < n && next_record(r, &rec); i++) {
        PyObject *t = record_tuple(&rec);
        if (!t || PyList_Append(self->pending, t) < 0) {
            Py_XDECREF(t);
            fail_py(r);
        }
        Py_DECREF(t);
    }
    r->env_set = 0;
    PyObject *out = self->pending;
    self->pending = NULL;
    return out;
}

/* ---------------------------------------------------------------- the offline aggregate */

#define NBOUNDS 10
static const uint64_t SIZE_BOUNDS[NBOUNDS] = {64, 256, 1024, 4096, 16384, 65536, 262144,
                                              1048576, 4194304, 16777216};
#define HOUR_MS 3600000LL
#define DAY_MS (24 * HOUR_MS)

typedef struct {
    uint64_t hash;
    uint32_t off, len; /* into the arena */
    uint64_t num, bytes;
} PEntry;

typedef struct {
    PEntry *entries;
    size_t n, cap;
    uint32_t *index; /* open addressing: entry number + 1, 0 empty */
    size_t mask;
    u8 *arena;
    size_t arena_len, arena_cap;
    uint64_t decremented, occurrences;
} Prefixes;

typedef struct {
    uint64_t num, bytes;
    uint64_t hist_num[NBOUNDS + 1], hist_bytes[NBOUNDS + 1];
    Prefixes prefixes;
    int present;
} TypeStats;

typedef struct { uint64_t db, num, bytes, expires; int used; } DbSlot;

typedef struct {
    uint64_t weight;
    int64_t seq;
    Rec rec; /* rec.key owned (malloc) */
} TopEntry;

typedef struct {
    TypeStats types[NTYPES];
    DbSlot *dbs;
    size_t db_n, db_cap; /* open addressing on db */
    uint64_t ttl_num[6], ttl_bytes[6];
    TopEntry *top;
    size_t top_n, top_cap;
    int64_t seq;
    uint64_t floor;
    int floor_set; /* floor = -1 until full, as in TopN */
    /* options */
    size_t capacity, limit;
    int max_depth;
    u8 is_delim[256];
    int64_t now_ms;
    uint64_t keys;
} Agg;

static uint64_t hash_bytes(const u8 *p, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)n * 0xC2B2AE3D27D4EB4FULL);
    while (n >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        h ^= x * 0x87C37B91114253D5ULL;
        h = ((h << 31) | (h >> 33)) * 0x4CF5AD432745937FULL;
        p += 8;
        n -= 8;
    }
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) x |= (uint64_t)p[i] << (8 * i);
    h ^= x * 0x87C37B91114253D5ULL;
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    return h;
}

static int prefixes_init(Prefixes *p, size_t limit, int max_depth) {
    memset(p, 0, sizeof *p);
    p->cap = limit + (size_t)max_depth + 2;
    size_t slots = 16;
    while (slots < p->cap * 2) slots <<= 1;
    p->mask = slots - 1;
    p->entries = malloc(p->cap * sizeof *p->entries);
    p->index = calloc(slots, sizeof *p->index);
    p->arena_cap = 1 << 16;
    p->arena = malloc(p->arena_cap);
    return p->entries && p->index && p->arena ? 0 : -1;
}

static void prefixes_free(Prefixes *p) {
    free(p->entries);
    free(p->index);
    free(p->arena);
    memset(p, 0, sizeof *p);
}

static int prefixes_add(Prefixes *p, const u8 *key, size_t len, uint64_t mem) {
    uint64_t h = hash_bytes(key, len);
    size_t slot = (size_t)h & p->mask;
    for (;;) {
        uint32_t e = p->index[slot];
        if (!e) break;
        PEntry *pe = &p->entries[e - 1];
        if (pe->hash == h && pe->len == len && memcmp(p->arena + pe->off, key, len) == 0) {
            pe->num += 1;
            pe->bytes += mem;
            return 0;
        }
        slot = (slot + 1) & p->mask;
    }
    if (p->arena_len + len > p->arena_cap) {
        size_t cap = p->arena_cap * 2;
        while (cap < p->arena_len + len) cap *= 2;
        if (cap > UINT32_MAX) return -1;
        u8 *q = realloc(p->arena, cap);
        if (!q) return -1;
        p->arena = q;
        p->arena_cap = cap;
    }
    memcpy(p->arena + p->arena_len, key, len);
    p->entries[p->n] = (PEntry){h, (uint32_t)p->arena_len, (uint32_t)len, 1, mem};
    p->arena_len += len;
    p->n++;
    p->index[slot] = (uint32_t)p->n;
    return 0;
}

static int cmp_desc_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* PrefixSummary.prune: subtract the (capacity+1)-th largest count, drop what reaches zero. */
static int prefixes_prune(Prefixes *p, size_t capacity) {
    if (p->n <= capacity) return 0;
    uint64_t *counts = malloc(p->n * sizeof *counts);
    u8 *arena = malloc(p->arena_cap);
    if (!counts || !arena) {
        free(counts);
        free(arena);
        return -1;
    }
    for (size_t i = 0; i < p->n; i++) counts[i] = p->entries[i].num;
    qsort(counts, p->n, sizeof *counts, cmp_desc_u64);
    uint64_t cut = counts[capacity];
    free(counts);
    p->decremented += cut;
    size_t kept = 0, alen = 0;
    memset(p->index, 0, (p->mask + 1) * sizeof *p->index);
    for (size_t i = 0; i < p->n; i++) {
        PEntry e = p->entries[i];
        if (e.num <= cut) continue;
        memcpy(arena + alen, p->arena + e.off, e.len);
        e.off = (uint32_t)alen;
        alen += e.len;
        e.num -= cut;
        p->entries[kept] = e;
        size_t slot = (size_t)e.hash & p->mask;
        while (p->index[slot]) slot = (slot + 1) & p->mask;
        p->index[slot] = (uint32_t)(kept + 1);
        kept++;
    }
    free(p->arena);
    p->arena = arena;
    p->arena_len = alen;
    p->n = kept;
    return 0;
}

static DbSlot *db_slot(Agg *a, uint64_t db) {
    if (a->db_n * 2 >= a->db_cap) {
        size_t cap = a->db_cap ? a->db_cap * 2 : 64;
        DbSlot *slots = calloc(cap, sizeof *slots);
        if (!slots) return NULL;
        for (size_t i = 0; i < a->db_cap; i++) {
            if (!a->dbs[i].used) continue;
            size_t s = (size_t)(a->dbs[i].db * 0x9E3779B97F4A7C15ULL >> 20) & (cap - 1);
            while (slots[s].used) s = (s + 1) & (cap - 1);
            slots[s] = a->dbs[i];
        }
        free(a->dbs);
        a->dbs = slots;
        a->db_cap = cap;
    }
    size_t s = (size_t)(db * 0x9E3779B97F4A7C15ULL >> 20) & (a->db_cap - 1);
    while (a->dbs[s].used) {
        if (a->dbs[s].db == db) return &a->dbs[s];
        s = (s + 1) & (a->db_cap - 1);
    }
    a->dbs[s] = (DbSlot){db, 0, 0, 0, 1};
    a->db_n++;
    return &a->dbs[s];
}

/* TopN as a min-heap on (weight, seq); seq decreases so that the first offered wins ties. */
static int top_less(const TopEntry *x, const TopEntry *y) {
    return x->weight < y->weight || (x->weight == y->weight && x->seq < y->seq);
}

static void top_sift_down(TopEntry *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && top_less(&h[l], &h[m])) m = l;
        if (l + 1 < n && top_less(&h[l + 1], &h[m])) m = l + 1;
        if (m == i) return;
        TopEntry t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static int top_offer(Agg *a, const Rec *rec) {
    uint64_t w = rec->memory;
    if (a->top_cap == 0) return 0;
    if (a->floor_set && w <= a->floor) return 0;
    u8 *key = malloc(rec->keylen ? rec->keylen : 1);
    if (!key) return -1;
    memcpy(key, rec->key, rec->keylen);
    a->seq -= 1;
    TopEntry e = {w, a->seq, *rec};
    e.rec.key = key;
    if (a->top_n < a->top_cap) {
        size_t i = a->top_n++;
        a->top[i] = e;
        while (i) {
            size_t parent = (i - 1) / 2;
            if (!top_less(&a->top[i], &a->top[parent])) break;
            TopEntry t = a->top[i];
            a->top[i] = a->top[parent];
            a->top[parent] = t;
            i = parent;
        }
        if (a->top_n == a->top_cap) {
            a->floor = a->top[0].weight;
            a->floor_set = 1;
        }
    } else {
        free((void *)a->top[0].rec.key);
        a->top[0] = e;
        top_sift_down(a->top, a->top_n, 0);
        a->floor = a->top[0].weight;
    }
    return 0;
}

static void agg_free(Agg *a) {
    for (int t = 0; t < NTYPES; t++) prefixes_free(&a->types[t].prefixes);
    for (size_t i = 0; i < a->top_n; i++) free((void *)a->top[i].rec.key);
    free(a->top);
    free(a->dbs);
    memset(a, 0, sizeof *a);
}

static int ttl_bucket(const Rec *rec, int64_t now_ms) {
    if (!rec->has_expiry) return 0;
    __int128 left = (__int128)rec->expiry - now_ms;
    if (left <= 0) return 1;
    if (left < HOUR_MS) return 2;
    if (left < DAY_MS) return 3;
    if (left < 7 * DAY_MS) return 4;
    return 5;
}

/* OfflineAggregator.feed for one record: 0, or -1 when out of memory. */
static int agg_feed(Agg *a, const Rec *rec) {
    uint64_t mem = rec->memory;
    TypeStats *s = &a->types[rec->type];
    if (!s->present) {
        if (prefixes_init(&s->prefixes, a->limit, a->max_depth) < 0) return -1;
        s->present = 1;
    }
    s->num++;
    s->bytes += mem;
    int b = 0;
    while (b < NBOUNDS && mem >= SIZE_BOUNDS[b]) b++;
    s->hist_num[b]++;
    s->hist_bytes[b] += mem;
    DbSlot *db = db_slot(a, rec->db);
    if (!db) return -1;
    db->num++;
    db->bytes += mem;
    int t = ttl_bucket(rec, a->now_ms);
    if (t) db->expires++;
    a->ttl_num[t]++;
    a->ttl_bytes[t] += mem;
    const u8 *key = rec->key;
    size_t len = rec->keylen;
    int depth = 0, any = 0;
    for (size_t pos = 0; pos < len && depth < a->max_depth; pos++) {
        if (!a->is_delim[key[pos]]) continue;
        any = 1;
        if (pos) {
            depth++;
            if (prefixes_add(&s->prefixes, key, pos, mem) < 0) return -1;
        }
    }
    if (any) {
        s->prefixes.occurrences += (uint64_t)depth;
        if (s->prefixes.n > a->limit && prefixes_prune(&s->prefixes, a->capacity) < 0) return -1;
    }
    if (!a->floor_set || mem > a->floor) {
        if (top_offer(a, rec) < 0) return -1;
    }
    a->keys++;
    return 0;
}

static PyObject *u64(uint64_t v) { return PyLong_FromUnsignedLongLong(v); }

static PyObject *u64_list(const uint64_t *v, size_t n) {
    PyObject *list = PyList_New((Py_ssize_t)n);
    if (!list) return NULL;
    for (size_t i = 0; i < n; i++) {
        PyObject *x = u64(v[i]);
        if (!x) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, x);
    }
    return list;
}

static PyObject *agg_result(Agg *a) {
    PyObject *types = PyDict_New(), *dbs = PyList_New(0), *top = PyList_New(0);
    PyObject *out = NULL;
    if (!types || !dbs || !top) goto done;
    for (int t = 0; t < NTYPES; t++) {
        TypeStats *s = &a->types[t];
        if (!s->present) continue;
        Prefixes *p = &s->prefixes;
        PyObject *counts = PyDict_New();
        if (!counts) goto done;
        for (size_t i = 0; i < p->n; i++) {
            PEntry *e = &p->entries[i];
            PyObject *k = PyBytes_FromStringAndSize((const char *)p->arena + e->off, e->len);
            PyObject *v = Py_BuildValue("[KK]", (unsigned long long)e->num, (unsigned long long)e->bytes);
            int bad = !k || !v || PyDict_SetItem(counts, k, v) < 0;
            Py_XDECREF(k);
            Py_XDECREF(v);
            if (bad) {
                Py_DECREF(counts);
                goto done;
            }
        }
        PyObject *entry = Py_BuildValue("(KKNNNKK)", (unsigned long long)s->num,
                                        (unsigned long long)s->bytes,
                                        u64_list(s->hist_num, NBOUNDS + 1),
                                        u64_list(s->hist_bytes, NBOUNDS + 1), counts,
                                        (unsigned long long)p->decremented,
                                        (unsigned long long)p->occurrences);
        if (!entry || PyDict_SetItem(types, type_str[t], entry) < 0) {
            Py_XDECREF(entry);
            goto done;
        }
        Py_DECREF(entry);
    }
    for (size_t i = 0; i < a->db_cap; i++) {
        DbSlot *d = &a->dbs[i];
        if (!d->used) continue;
        PyObject *x = Py_BuildValue("(KKKK)", (unsigned long long)d->db, (unsigned long long)d->num,
                                    (unsigned long long)d->bytes, (unsigned long long)d->expires);
        if (!x || PyList_Append(dbs, x) < 0) {
            Py_XDECREF(x);
            goto done;
        }
        Py_DECREF(x);
    }
    for (size_t i = 0; i < a->top_n; i++) {
        TopEntry *e = &a->top[i];
        PyObject *x = Py_BuildValue("(KLN)", (unsigned long long)e->weight, (long long)e->seq,
                                    record_tuple(&e->rec));
        if (!x || PyList_Append(top, x) < 0) {
            Py_XDECREF(x);
            goto done;
        }
        Py_DECREF(x);
    }
    out = Py_BuildValue("{s:O,s:O,s:N,s:N,s:O,s:K}", "types", types, "dbs", dbs,
                        "ttl_num", u64_list(a->ttl_num, 6), "ttl_bytes",
                        u64_list(a->ttl_bytes, 6), "top", top, "keys",
                        (unsigned long long)a->keys);
done:
    Py_XDECREF(types);
    Py_XDECREF(dbs);
    Py_XDECREF(top);
    return out;
}

typedef struct {
    ReaderObject *self;
    Agg agg;
    PyObject *progress;
    uint64_t every;
} AggRun;

static PyObject *reader_aggregate(ReaderObject *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"top_keys", "capacity", "delimiters", "max_depth", "now_ms",
                            "progress", "every", NULL};
    Py_ssize_t top_keys, capacity;
    Py_buffer delims;
    int max_depth;
    long long now_ms;
    PyObject *progress = Py_None;
    Py_ssize_t every = 8192;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "nny*iL|On", names, &top_keys, &capacity, &delims,
                                     &max_depth, &now_ms, &progress, &every))
        return NULL;
    Reader *r = &self->r;
    if (top_keys < 0 || capacity < 1 || max_depth < 1 || every < 1 || delims.len < 1) {
        PyBuffer_Release(&delims);
        PyErr_SetString(PyExc_ValueError, "bad aggregate options");
        return NULL;
    }
    if (check_usable(r) < 0) {
        PyBuffer_Release(&delims);
        return NULL;
    }
    /* static storage of the run: setjmp-safe (nothing below lives only in a register) */
    AggRun *run = calloc(1, sizeof *run);
    if (!run) {
        PyBuffer_Release(&delims);
        return PyErr_NoMemory();
    }
    Agg *a = &run->agg;
    for (Py_ssize_t i = 0; i < delims.len; i++) a->is_delim[((u8 *)delims.buf)[i]] = 1;
    PyBuffer_Release(&delims);
    a->capacity = (size_t)capacity;
    a->limit = 2 * (size_t)capacity;
    a->max_depth = max_depth;
    a->now_ms = now_ms;
    a->top_cap = (size_t)top_keys;
    a->top = calloc(a->top_cap ? a->top_cap : 1, sizeof *a->top);
    if (!a->top) {
        free(run);
        return PyErr_NoMemory();
    }
    run->progress = progress == Py_None ? NULL : progress;
    run->every = (uint64_t)every;
    if (setjmp(r->env)) {
        PyObject *res = raise_error(self);
        agg_free(&run->agg);
        free(run);
        return res;
    }
    r->env_set = 1;
    if (r->fd >= 0) r->released = PyEval_SaveThread();
    Rec rec;
    uint64_t next_report = run->every;
    while (next_record(r, &rec)) {
        if (agg_feed(&run->agg, &rec) < 0) fail_nomem(r);
        if (run->progress && run->agg.keys >= next_report) {
            next_report += run->every;
            PyThreadState *saved;
            gil_take(r, &saved);
            PyObject *res = PyObject_CallFunction(run->progress, "KK",
                                                  (unsigned long long)run->agg.keys,
                                                  (unsigned long long)OFF(r));
            if (!res) fail_py(r);
            Py_DECREF(res);
            gil_give(r, saved);
        }
    }
    if (r->released) {
        PyEval_RestoreThread(r->released);
        r->released = NULL;
    }
    if (run->progress) {
        PyObject *res = PyObject_CallFunction(run->progress, "KK", (unsigned long long)run->agg.keys,
                                              (unsigned long long)OFF(r));
        if (!res) fail_py(r);
        Py_DECREF(res);
    }
    r->env_set = 0;
    PyObject *out = agg_result(&run->agg);
    agg_free(&run->agg);
    free(run);
    return out;
}

/* ---------------------------------------------------------------- rows of `rdb keys` */

typedef struct {
    u8 *buf;
    size_t len, cap;
} Out;

static int out_room(Out *o, size_t n) {
    if (o->len + n <= o->cap) return 0;
    size_t cap = o->cap ? o->cap : 1 << 16;
    while (cap < o->len + n) cap *= 2;
    u8 *q = realloc(o->buf, cap);
    if (!q) return -1;
    o->buf = q;
    o->cap = cap;
    return 0;
}

/* Short pieces (separators, names, digits) are copied inline: a memcpy call per piece was
   a tenth of `rdb keys`. */
static inline void out_raw(Out *o, const char *s, size_t n) {
    u8 *d = o->buf + o->len;
    if (n <= 16) {
        for (size_t i = 0; i < n; i++) d[i] = (u8)s[i];
    } else {
        memcpy(d, s, n);
    }
    o->len += n;
}

static const char DIGIT_PAIRS[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static inline int digits_of(uint64_t v) {
    int n = 1;
    while (v >= 10000) {
        v /= 10000;
        n += 4;
    }
    return n + (v >= 10) + (v >= 100) + (v >= 1000);
}

/* Decimal text of v straight into the buffer, two digits per division. */
static inline void out_u64(Out *o, uint64_t v) {
    int n = digits_of(v);
    u8 *end = o->buf + o->len + n;
    while (v >= 100) {
        unsigned pair = (unsigned)(v % 100) * 2;
        v /= 100;
        *--end = (u8)DIGIT_PAIRS[pair + 1];
        *--end = (u8)DIGIT_PAIRS[pair];
    }
    if (v >= 10) {
        *--end = (u8)DIGIT_PAIRS[v * 2 + 1];
        *--end = (u8)DIGIT_PAIRS[v * 2];
    } else {
        *--end = (u8)('0' + v);
    }
    o->len += (size_t)n;
}

static void out_i64(Out *o, int64_t v) {
    if (v < 0) {
        out_raw(o, "-", 1);
        out_u64(o, (uint64_t)0 - (uint64_t)v);
    } else {
        out_u64(o, (uint64_t)v);
    }
}

/* Length of the valid UTF-8 sequence at p (as Python's strict decoder accepts), or 0. */
static size_t utf8_seq(const u8 *p, size_t n) {
    u8 b = p[0];
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (b >= 0xE0 && b <= 0xEF) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (b == 0xE0 && p[1] < 0xA0) return 0;
        if (b == 0xED && p[1] > 0x9F) return 0;
        return 3;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (b == 0xF0 && p[1] < 0x90) return 0;
        if (b == 0xF4 && p[1] > 0x8F) return 0;
        return 4;
    }
    return 0;
}

/* Bytes copied as they are in both formats: printable ASCII but the quote and backslash. */
static const u8 PLAIN[256] = {
    ['\x20'] = 1, [0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7e] = 1,
};

/* display_key (UTF-8, backslash escapes for other bytes), then JSON- or CSV-quoted. */
static inline void out_key(Out *o, const u8 *key, size_t n, int json) {
    static const char hex[] = "0123456789abcdef";
    int quote = json;
    if (!json)
        for (size_t i = 0; i < n; i++)
            if (key[i] == ',' || key[i] == '"' || key[i] == '\r' || key[i] == '\n') quote = 1;
    if (quote) out_raw(o, "\"", 1);
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && PLAIN[key[run]]) run++;
        if (run > i) {
            out_raw(o, (const char *)key + i, run - i);
            i = run;
            if (i == n) break;
        }
        size_t k = utf8_seq(key + i, n - i);
        if (!k) {
            u8 b = key[i++];
            if (json) out_raw(o, "\\\\x", 3);
            else out_raw(o, "\\x", 2);
            char h[2] = {hex[b >> 4], hex[b & 15]};
            out_raw(o, h, 2);
            continue;
        }
        u8 b = key[i];
        if (k == 1 && json && (b < 0x20 || b == '"' || b == '\\')) {
            const char *esc = NULL;
            switch (b) {
            case '"': esc = "\\\""; break;
            case '\\': esc = "\\\\"; break;
            case '\n': esc = "\\n"; break;
            case '\r': esc = "\\r"; break;
            case '\t': esc = "\\t"; break;
            case '\b': esc = "\\b"; break;
            case '\f': esc = "\\f"; break;
            }
            if (esc) out_raw(o, esc, 2);
            else {
                char u[6] = {'\\', 'u', '0', '0', hex[b >> 4], hex[b & 15]};
                out_raw(o, u, 6);
            }
        } else if (k == 1 && !json && b == '"') {
            out_raw(o, "\"\"", 2);
        } else {
            out_raw(o, (const char *)key + i, k);
        }
        i += k;
    }
    if (quote) out_raw(o, "\"", 1);
}

/* One row: the same eight fields in both formats, between these separators. */
typedef struct {
    const char *text;
    size_t len;
} Piece;
#define PIECE(s) {s, sizeof(s) - 1}

static const struct {
    Piece sep[9];
    Piece no_expiry;
} ROW[2] = {
    {{PIECE(""), PIECE(","), PIECE(","), PIECE(","), PIECE(","), PIECE(","), PIECE(","),
      PIECE(","), PIECE("\r\n")},
     PIECE("")},
    {{PIECE("{\"db\": "), PIECE(", \"key\": "), PIECE(", \"type\": \""),
      PIECE("\", \"encoding\": \""), PIECE("\", \"expiry_ms\": "), PIECE(", \"num_elements\": "),
      PIECE(", \"serialized_size\": "), PIECE(", \"memory\": "), PIECE("}\n")},
     PIECE("null")},
};

static inline void out_piece(Out *o, Piece p) { out_raw(o, p.text, p.len); }

/* Called with a constant ``json`` so that each format's pieces are constants. */
static inline __attribute__((always_inline)) int out_record(Out *o, const Rec *rec, int json) {
    const Piece *sep = ROW[json].sep;
    if (out_room(o, rec->keylen * 8 + 256) < 0) return -1;
    out_piece(o, sep[0]);
    out_u64(o, rec->db);
    out_piece(o, sep[1]);
    out_key(o, rec->key, rec->keylen, json);
    out_piece(o, sep[2]);
    out_raw(o, TYPE_NAMES[rec->type], TYPE_LENS[rec->type]);
    out_piece(o, sep[3]);
    if (rec->enc == EN_MODULE) out_raw(o, rec->module, strlen(rec->module));
    else out_raw(o, ENC_NAMES[rec->enc], ENC_LENS[rec->enc]);
    out_piece(o, sep[4]);
    if (rec->has_expiry) out_i64(o, rec->expiry);
    else out_piece(o, ROW[json].no_expiry);
    out_piece(o, sep[5]);
    out_u64(o, rec->count);
    out_piece(o, sep[6]);
    out_u64(o, rec->serialized);
    out_piece(o, sep[7]);
    out_u64(o, rec->memory);
    out_piece(o, sep[8]);
    return 0;
}

typedef struct {
    Out out;
    PyObject *write; /* a callable taking bytes, or NULL to write to fd */
    int fd;
} WriteRun;

/* All of the buffer to the fd: 0, or -1 with errno set. */
static int write_all(int fd, const u8 *p, size_t n) {
    while (n) {
        ssize_t done = write(fd, p, n);
        if (done < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += done;
        n -= (size_t)done;
    }
    return 0;
}

static void flush_out(Reader *r, WriteRun *w) {
    if (!w->write) {
        if (write_all(w->fd, w->out.buf, w->out.len) < 0) {
            int err = errno;
            PyThreadState *saved;
            gil_take(r, &saved);
            errno = err;
            PyErr_SetFromErrno(PyExc_OSError);
            fail_py(r);
        }
        w->out.len = 0;
        return;
    }
    PyThreadState *saved;
    gil_take(r, &saved);
    PyObject *b = PyBytes_FromStringAndSize((const char *)w->out.buf, (Py_ssize_t)w->out.len);
    if (!b) fail_py(r);
    PyObject *res = PyObject_CallOneArg(w->write, b);
    Py_DECREF(b);
    if (!res) fail_py(r);
    Py_DECREF(res);
    w->out.len = 0;
    gil_give(r, saved);
}

static PyObject *reader_write_keys(ReaderObject *self, PyObject *args) {
    PyObject *write;
    const char *fmt;
    if (!PyArg_ParseTuple(args, "Os", &write, &fmt)) return NULL;
    int json = strcmp(fmt, "jsonl") == 0;
    if (!json && strcmp(fmt, "csv") != 0) {
        PyErr_SetString(PyExc_ValueError, "format must be jsonl or csv");
        return NULL;
    }
    Reader *r = &self->r;
    if (check_usable(r) < 0) return NULL;
    WriteRun *w = calloc(1, sizeof *w);
    if (!w) return PyErr_NoMemory();
    if (PyLong_Check(write)) {
        w->fd = (int)PyLong_AsLong(write);
        if (w->fd < 0) {
            free(w);
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "bad file descriptor");
            return NULL;
        }
    } else {
        w->write = write;
    }
    if (setjmp(r->env)) {
        PyObject *res = raise_error(self);
        /* what was formatted before the error still goes out, as the pure path writes it */
        if (w->out.len && !r->pyerr && !w->write) {
            (void)write_all(w->fd, w->out.buf, w->out.len); /* the format error comes first */
        } else if (w->out.len && !r->pyerr) {
            PyObject *et, *ev, *etb;
            PyErr_Fetch(&et, &ev, &etb);
            PyObject *b = PyBytes_FromStringAndSize((const char *)w->out.buf, (Py_ssize_t)w->out.len);
            PyObject *res2 = b ? PyObject_CallOneArg(w->write, b) : NULL;
            Py_XDECREF(b);
            if (res2) {
                Py_DECREF(res2);
                PyErr_Restore(et, ev, etb);
            } else {
                Py_XDECREF(et);
                Py_XDECREF(ev);
                Py_XDECREF(etb);
            }
        }
        free(w->out.buf);
        free(w);
        return res;
    }
    r->env_set = 1;
    if (r->fd >= 0) r->released = PyEval_SaveThread();
    Rec rec;
    while (next_record(r, &rec)) {
        if ((json ? out_record(&w->out, &rec, 1) : out_record(&w->out, &rec, 0)) < 0)
            fail_nomem(r);
        if (w->out.len >= CHUNK) flush_out(r, w);
    }
    if (w->out.len) flush_out(r, w);
    if (r->released) {
        PyEval_RestoreThread(r->released);
        r->released = NULL;
    }
    r->env_set = 0;
    free(w->out.buf);
    free(w);
    return u64(r->keys);
}

/* ---------------------------------------------------------------- attributes */

static PyObject *reader_close(ReaderObject *self, PyObject *unused) {
    if (self->r.env_set) {
        PyErr_SetString(PyExc_RuntimeError, "Reader is in use");
        return NULL;
    }
    crc_thread_stop(&self->r);
    Py_RETURN_NONE;
}

static PyObject *get_version(ReaderObject *self, void *c) { return PyLong_FromLong(self->r.version); }
static PyObject *get_valkey(ReaderObject *self, void *c) { return PyBool_FromLong(self->r.valkey); }
static PyObject *get_functions(ReaderObject *self, void *c) { return u64(self->r.functions); }
static PyObject *get_bytes_read(ReaderObject *self, void *c) { return u64(OFF(&self->r)); }
static PyObject *get_finished(ReaderObject *self, void *c) { return PyBool_FromLong(self->r.finished); }
static PyObject *get_aux(ReaderObject *self, void *c) {
    if (!self->r.aux) return PyDict_New();
    return PyDict_Copy(self->r.aux);
}
static PyObject *get_modules(ReaderObject *self, void *c) {
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    for (size_t i = 0; i < self->r.modules.n; i++) {
        PyObject *v = u64(self->r.modules.items[i].count);
        if (!v || PyDict_SetItemString(d, self->r.modules.items[i].name, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(v);
    }
    return d;
}

static PyGetSetDef reader_getset[] = {
    {"version", (getter)get_version, NULL, "RDB version of the header", NULL},
    {"valkey", (getter)get_valkey, NULL, "whether the file has the VALKEY magic", NULL},
    {"functions", (getter)get_functions, NULL, "function libraries seen", NULL},
    {"bytes_read", (getter)get_bytes_read, NULL, "stream offset reached", NULL},
    {"finished", (getter)get_finished, NULL, "whether the trailer was read", NULL},
    {"aux", (getter)get_aux, NULL, "aux fields seen so far", NULL},
    {"modules", (getter)get_modules, NULL, "module values per module name", NULL},
    {NULL},
};

static PyMethodDef reader_methods[] = {
    {"next_batch", (PyCFunction)reader_next_batch, METH_O,
     "Up to n records as tuples; an empty list after the last."},
    {"aggregate", (PyCFunction)(void (*)(void))reader_aggregate, METH_VARARGS | METH_KEYWORDS,
     "Read every remaining key into the offline report's counters."},
    {"write_keys", (PyCFunction)reader_write_keys, METH_VARARGS,
     "Write every remaining key as a JSON line or CSV row: to write(bytes), or to an fd."},
    {"close", (PyCFunction)reader_close, METH_NOARGS, "Stop the checksum thread."},
    {NULL},
};

static PyTypeObject ReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "keyscope.rdb._speedups.Reader",
    .tp_basicsize = sizeof(ReaderObject),
    .tp_dealloc = (destructor)reader_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Reader(fd_or_stream, start=0, size=0, verify_checksum=True)",
    .tp_methods = reader_methods,
    .tp_getset = reader_getset,
    .tp_init = (initproc)reader_init,
    .tp_new = PyType_GenericNew,
};

static PyObject *set_error_class(PyObject *mod, PyObject *cls) {
    Py_INCREF(cls);
    Py_XSETREF(error_class, cls);
    Py_RETURN_NONE;
}

static PyObject *py_crc64(PyObject *mod, PyObject *args) {
    Py_buffer data;
    unsigned long long crc = 0;
    if (!PyArg_ParseTuple(args, "y*|K", &data, &crc)) return NULL;
    uint64_t out = crc_update(crc, data.buf, (size_t)data.len);
    PyBuffer_Release(&data);
    return u64(out);
}

static PyMethodDef module_methods[] = {
    {"set_error_class", set_error_class, METH_O, "The exception raised for format errors."},
    {"crc64", py_crc64, METH_VARARGS, "CRC-64/Jones of data, continuing from crc."},
    {NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT, "_speedups", "Compiled fast path of the RDB reader.", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    crc_init();
    if (PyType_Ready(&ReaderType) < 0) return NULL;
    for (int i = 0; i < NTYPES; i++) {
        TYPE_LENS[i] = strlen(TYPE_NAMES[i]);
        if (!(type_str[i] = PyUnicode_InternFromString(TYPE_NAMES[i]))) return NULL;
    }
    for (int i = 0; i < NENCS; i++) ENC_LENS[i] = strlen(ENC_NAMES[i]);
    for (int i = 0; i < NENCS; i++)
        if (!(enc_str[i] = PyUnicode_InternFromString(ENC_NAMES[i]))) return NULL;
    PyObject *m = PyModule_Create(&speedups_module);
    if (!m) return NULL;
    Py_INCREF(&ReaderType);
    if (PyModule_AddObject(m, "Reader", (PyObject *)&ReaderType) < 0) {
        Py_DECREF(&ReaderType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
