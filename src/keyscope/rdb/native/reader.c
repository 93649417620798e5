/*
 * The outer loop (reader.py is the reference): the header, the opcodes that carry no key,
 * one Rec per key, the trailer.
 */
#include "reader.h"

#include "checksum.h"
#include "memory.h"
#include "primitives.h"
#include "values.h"

#define NAME(s) {s, sizeof(s) - 1}
const Name TYPE_NAMES[NTYPES] = {NAME("string"), NAME("list"), NAME("set"), NAME("zset"),
                                 NAME("hash"), NAME("stream"), NAME("module")};
const Name ENC_NAMES[NENCS] = {NAME("int"), NAME("embstr"), NAME("raw"), NAME("quicklist"),
                               NAME("listpack"), NAME("hashtable"), NAME("intset"),
                               NAME("skiplist"), NAME("stream"), NAME(""), NAME("listpackex"),
                               NAME("ziplist")};

/* A version aux field as memory.py's _version reads it: up to three leading dot-separated
   runs of digits (each capped at 999), as major * 1000000 + minor * 1000 + patch; 0 when
   it does not start with a digit. */
static int64_t parse_version(const u8 *v, size_t len) {
    int64_t parts[3] = {0, 0, 0};
    size_t i = 0;
    int n = 0;
    while (n < 3) {
        size_t start = i;
        int64_t value = 0;
        while (i < len && i - start < 6 && v[i] >= '0' && v[i] <= '9') value = value * 10 + (v[i++] - '0');
        if (i == start) break;
        parts[n++] = value > 999 ? 999 : value;
        if (i >= len || v[i] != '.' || i + 1 >= len || v[i + 1] < '0' || v[i + 1] > '9') break;
        i++;
    }
    if (!n) return 0;
    return parts[0] * 1000000 + parts[1] * 1000 + parts[2];
}

static void set_aux(Reader *r, const u8 *name, size_t nlen, const u8 *value, size_t vlen) {
    if (nlen == 9 && memcmp(name, "redis-ver", 9) == 0) r->redis_ver = parse_version(value, vlen);
    if (nlen == 10 && memcmp(name, "valkey-ver", 10) == 0)
        r->valkey_ver = parse_version(value, vlen);
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

int next_record(Reader *r, Rec *rec) {
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
            if (!r->mem_chosen) { /* the aux fields that name the writer come before any key */
                r->mem = mem_model_for(r->redis_ver, r->valkey_ver, r->version, r->valkey);
                r->mem_chosen = 1;
            }
            read_string(r, &r->keybuf, &r->keycap, &r->keylen);
            uint64_t value_at = OFF(r);
            rec->module[0] = 0;
            read_value(r, op, rec);
            rec->db = r->db;
            rec->key = r->keybuf;
            rec->keylen = r->keylen;
            rec->has_expiry = r->has_expiry;
            rec->expiry = r->expiry;
            rec->serialized = OFF(r) - value_at;
            if (rec->type != TY_STRING)
                rec->memory += mem_key_overhead(&r->mem, r->keylen, r->has_expiry);
            r->has_expiry = 0;
            r->keys++;
            return 1;
        }
    }
}

void reader_release(Reader *r) {
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
