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
const Name TYPE_NAMES[NTYPES] = {NAME("string"), NAME("list"),   NAME("set"),
                                 NAME("zset"),   NAME("hash"),   NAME("stream"),
                                 NAME("array"),  NAME("module")};
const Name ENC_NAMES[NENCS] = {NAME("int"),       NAME("embstr"),       NAME("raw"),
                               NAME("quicklist"), NAME("listpack"),     NAME("hashtable"),
                               NAME("intset"),    NAME("skiplist"),     NAME("stream"),
                               NAME("sliced-array"), NAME(""),         NAME("listpackex"),
                               NAME("ziplist")};

/* Opcodes (rdb.h of redis/redis and valkey-io/valkey; constants.py has the same facts). */
enum { OP_VALKEY_UPDATE = 242, OP_KEY_META = 243, OP_SLOT_IMPORT = 243, OP_SLOT_INFO = 244, OP_FUNCTION2 = 245,
       OP_FUNCTION_PRE_GA = 246, OP_MODULE_AUX = 247, OP_IDLE = 248, OP_FREQ = 249,
       OP_AUX = 250, OP_RESIZEDB = 251, OP_EXPIRETIME_MS = 252, OP_EXPIRETIME = 253,
       OP_SELECTDB = 254, OP_EOF = 255 };
/* Redis Enterprise hints before a key's type, one length each (librdb's defines.h). */
enum { OP_REDIS_ENT_RAM_LRU = 107, OP_REDIS_ENT_SLOT_NUM = 121 };
/* Newest version under the REDIS magic (Redis 8.8); those under VALKEY (Valkey 9.0, 9.2). */
enum { MAX_REDIS_VERSION = 14, VALKEY_FIRST_VERSION = 80, VALKEY_LAST_VERSION = 81 };

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
    /* Each magic has its own versions: Valkey reserves 12-79 for foreign formats. */
    if (!r->valkey && !(version >= 1 && version <= MAX_REDIS_VERSION))
        fail(r, 5, "unsupported RDB version %d", version);
    if (r->valkey && !(version >= VALKEY_FIRST_VERSION && version <= VALKEY_LAST_VERSION))
        fail(r, 6, "unsupported Valkey RDB version %d", version);
    r->version = version;
}


/* A library as Redis 7.0 rc1/rc2 saved it (7.0's rdbFunctionLoad): name, engine, whether a
   description follows, the description, the code. */
static void skip_function_pre_ga(Reader *r) {
    string_len(r);
    string_len(r);
    if (rlen(r)) string_len(r);
    string_len(r);
}

/* Valkey's clusterRDBSaveSlotImports: the job name, then (start, end) slot ranges. */
static void skip_slot_import(Reader *r) {
    string_len(r);
    uint64_t ranges = rlen(r);
    for (uint64_t i = 0; i < ranges; i++) {
        rlen(r);
        rlen(r);
    }
}

/* `prefix`, then a decimal number ended by CRLF (reader.py _resp_number). */
#define RESP_DIGITS_MAX 18
static uint64_t resp_number(Reader *r, unsigned prefix) {
    uint64_t at = OFF(r);
    if (rbyte(r) != prefix) fail(r, at, "bad inline command");
    uint64_t n = 0;
    int digits = 0;
    unsigned b;
    while ((b = rbyte(r)) != '\r') {
        if (b < '0' || b > '9' || digits == RESP_DIGITS_MAX)
            fail(r, OFF(r) - 1, "bad number in an inline command");
        n = n * 10 + (b - '0');
        digits++;
    }
    if (!digits || rbyte(r) != '\n') fail(r, OFF(r) - 1, "bad number in an inline command");
    return n;
}

/* Valkey's forkless save to a replica (writeReplicationData): a command as a RESP
   multi-bulk, `*argc` then `$len` and the bytes of each argument. */
static void skip_inline_command(Reader *r) {
    uint64_t argc = resp_number(r, '*');
    for (uint64_t i = 0; i < argc; i++) {
        rskip(r, resp_number(r, '$'));
        uint64_t at = OFF(r);
        const u8 *end = rbytes(r, 2);
        if (end[0] != '\r' || end[1] != '\n')
            fail(r, at, "inline command argument not ended by CRLF");
    }
}

/* Redis's rdbSaveKeyMetadata (keymeta.c): a count of classes, each a 4-byte class spec and
   a value saved with the module API; the key's type follows. */
static void skip_key_meta(Reader *r) {
    uint64_t classes = rlen(r);
    for (uint64_t i = 0; i < classes; i++) {
        rskip(r, 4);
        skip_module_value(r, NULL, 0);
    }
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
        skip_module_value(r, NULL, 0);
    } else if (op == OP_FUNCTION2) {
        string_len(r);
        r->functions++;
    } else if (op == OP_FUNCTION_PRE_GA) {
        skip_function_pre_ga(r);
        r->functions++;
    } else if (r->valkey) { /* OP_SLOT_IMPORT */
        skip_slot_import(r);
    } else { /* OP_KEY_META */
        skip_key_meta(r);
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
        } else if (op >= OP_KEY_META) {
            meta(r, op, at);
        } else if (r->valkey && op == OP_VALKEY_UPDATE) {
            skip_inline_command(r);
        } else if (!r->valkey && (op == OP_REDIS_ENT_RAM_LRU || op == OP_REDIS_ENT_SLOT_NUM)) {
            rlen(r);
        } else {
            if (!value_type_known(r, op)) {
                if (r->valkey && op == 23)
                    fail(r, at, "Valkey path hash (type 23): its format is not supported yet");
                if (!r->valkey && op == 29)
                    fail(r, at,
                         "GCRA rate limiter (type 29, a Redis built with ENABLE_GCRA) is not "
                         "supported");
                fail(r, at, "unknown value type %u", op);
            }
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
