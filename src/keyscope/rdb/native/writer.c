/* The rows of `rdb keys`: JSON lines or CSV (writer.h). */
#include "writer.h"

#include "source.h"

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

static const char HEX[] = "0123456789abcdef";

/* The code points domain/names.py writes as \uHHHH (C1 controls, U+061C, U+200E/F,
   U+2028-U+202E, U+2066-U+2069), for the valid k-byte sequence at p; 0 for the others. */
static inline unsigned special_cp(const u8 *p, size_t k) {
    if (k == 2) {
        if (p[0] == 0xC2 && p[1] <= 0x9F) return p[1];
        if (p[0] == 0xD8 && p[1] == 0x9C) return 0x61C;
    } else if (k == 3 && p[0] == 0xE2) {
        if (p[1] == 0x80 && (p[2] == 0x8E || p[2] == 0x8F || (p[2] >= 0xA8 && p[2] <= 0xAE)))
            return 0x2000 + (p[2] & 0x3F);
        if (p[1] == 0x81 && p[2] >= 0xA6 && p[2] <= 0xA9) return 0x2040 + (p[2] & 0x3F);
    }
    return 0;
}

/* Whether the name is written escaped (domain/names.py): not UTF-8, or holding a backslash,
   a control, a separator or a bidi control. */
static inline int needs_escape(const u8 *key, size_t n) {
    size_t i = 0;
    while (i < n) {
        u8 b = key[i];
        if (b < 0x80) {
            if (b < 0x20 || b == 0x7f || b == '\\') return 1;
            i++;
            continue;
        }
        size_t k = utf8_seq(key + i, n - i);
        if (!k || special_cp(key + i, k)) return 1;
        i += k;
    }
    return 0;
}

static inline void out_hex_escape(Out *o, u8 b, int json) {
    if (json) out_raw(o, "\\\\x", 3);
    else out_raw(o, "\\x", 2);
    char h[2] = {HEX[b >> 4], HEX[b & 15]};
    out_raw(o, h, 2);
}

/* The key as domain/names.py writes it, then JSON- or CSV-quoted; a CSV cell that would
   start a formula gets a leading ' (domain/csvcells.py). Returns whether the key's base64
   goes with it: where it is escaped, and in CSV also where its cell got the '. */
static inline int out_key(Out *o, const u8 *key, size_t n, int json) {
    int esc = needs_escape(key, n);
    int formula = !json && n && (key[0] == '=' || key[0] == '+' || key[0] == '-' || key[0] == '@');
    int quote = json;
    if (!json)
        for (size_t i = 0; i < n; i++)
            if (key[i] == ',' || key[i] == '"') quote = 1;
    if (quote) out_raw(o, "\"", 1);
    if (formula) out_raw(o, "'", 1);
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
            out_hex_escape(o, key[i++], json);
            continue;
        }
        u8 b = key[i];
        unsigned cp;
        if (k == 1 && b == '\\') {
            if (json) out_raw(o, "\\\\\\\\", 4);
            else out_raw(o, "\\\\", 2);
        } else if (k == 1 && (b < 0x20 || b == 0x7f)) {
            out_hex_escape(o, b, json);
        } else if (k == 1 && b == '"') {
            if (json) out_raw(o, "\\\"", 2);
            else out_raw(o, "\"\"", 2);
        } else if (k > 1 && (cp = special_cp(key + i, k)) != 0) {
            if (json) out_raw(o, "\\\\u", 3);
            else out_raw(o, "\\u", 2);
            char h[4] = {HEX[(cp >> 12) & 15], HEX[(cp >> 8) & 15], HEX[(cp >> 4) & 15], HEX[cp & 15]};
            out_raw(o, h, 4);
        } else {
            out_raw(o, (const char *)key + i, k);
        }
        i += k;
    }
    if (quote) out_raw(o, "\"", 1);
    return esc || formula;
}

/* The key's bytes in standard base64 (padded); in CSV a leading '+' gets a ' before it. */
static void out_base64(Out *o, const u8 *key, size_t n, int csv) {
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (csv && n && (key[0] >> 2) == 62) out_raw(o, "'", 1);
    u8 *d = o->buf + o->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)key[i] << 16 | (unsigned)key[i + 1] << 8 | key[i + 2];
        *d++ = (u8)B64[v >> 18];
        *d++ = (u8)B64[(v >> 12) & 63];
        *d++ = (u8)B64[(v >> 6) & 63];
        *d++ = (u8)B64[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)key[i] << 16 | (i + 1 < n ? (unsigned)key[i + 1] << 8 : 0);
        *d++ = (u8)B64[v >> 18];
        *d++ = (u8)B64[(v >> 12) & 63];
        *d++ = i + 1 < n ? (u8)B64[(v >> 6) & 63] : '=';
        *d++ = '=';
    }
    o->len = (size_t)(d - o->buf);
}

/* One row: the same fields in both formats, between these separators (key_base64, after
   the key, is written by out_record: a CSV column always, a JSON field where needed). */
typedef struct {
    const char *text;
    size_t len;
} Piece;
#define PIECE(s) {s, sizeof(s) - 1}

static const struct {
    Piece sep[10];
    Piece no_expiry;
    Piece base64;
} ROW[2] = {
    {{PIECE(""), PIECE(","), PIECE(","), PIECE(","), PIECE(","), PIECE(","), PIECE(","),
      PIECE(","), PIECE(","), PIECE("\r\n")},
     PIECE(""), PIECE(",")},
    {{PIECE("{\"db\": "), PIECE(", \"key\": "), PIECE(", \"type\": \""),
      PIECE("\", \"encoding\": \""), PIECE("\", \"expiry_ms\": "), PIECE(", \"num_elements\": "),
      PIECE(", \"serialized_size\": "), PIECE(", \"memory\": "), PIECE(", \"memory_basis\": \""),
      PIECE("\"}\n")},
     PIECE("null"), PIECE(", \"key_base64\": \"")},
};

static inline void out_piece(Out *o, Piece p) { out_raw(o, p.text, p.len); }

/* Called with a constant ``json`` so that each format's pieces are constants. */
static inline __attribute__((always_inline)) int out_record(Out *o, const Rec *rec, int json) {
    const Piece *sep = ROW[json].sep;
    if (out_room(o, rec->keylen * 8 + 256) < 0) return -1;
    out_piece(o, sep[0]);
    out_u64(o, rec->db);
    out_piece(o, sep[1]);
    int b64 = out_key(o, rec->key, rec->keylen, json);
    if (!json) out_piece(o, ROW[json].base64);
    if (b64) {
        if (json) out_piece(o, ROW[json].base64);
        out_base64(o, rec->key, rec->keylen, !json);
        if (json) out_raw(o, "\"", 1);
    }
    out_piece(o, sep[2]);
    out_raw(o, TYPE_NAMES[rec->type].text, TYPE_NAMES[rec->type].len);
    out_piece(o, sep[3]);
    if (rec->enc == EN_MODULE) out_raw(o, rec->module, strlen(rec->module));
    else out_raw(o, ENC_NAMES[rec->enc].text, ENC_NAMES[rec->enc].len);
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
    if (rec->type == TY_MODULE) out_raw(o, "serialized", 10);
    else out_raw(o, "model", 5);
    out_piece(o, sep[9]);
    return 0;
}

int out_row(Out *o, const Rec *rec, int json) {
    return json ? out_record(o, rec, 1) : out_record(o, rec, 0);
}

int write_all(int fd, const u8 *p, size_t n) {
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

void flush_out(Reader *r, WriteRun *w) {
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
