/*
 * One function per RDB value type (reader.py's _v_* are the reference): each measures the
 * value (type, encoding, element count) and asks memory.c what it costs.
 */
#include "values.h"

#include "blobs.h"
#include "memory.h"
#include "rax.h"

/* list-max-listpack-size -2: what Redis packs into one quicklist node. */
#define LIST_NODE_BYTES 8192

static const char MODULE_CHARSET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The encoding of a small hash or zset: a ziplist up to Redis 6.2, else a listpack. */
static int small_encoding(const Reader *r) {
    return r->mem.layout == ML_REDIS_6_2 ? EN_ZIPLIST : EN_LISTPACK;
}

static void list_node(Reader *r, uint64_t bytes, uint64_t *sum, uint64_t *nodes) {
    *sum += mem_quicklist_node(&r->mem, bytes);
    *nodes += 1;
}

static void v_string(Reader *r, Rec *rec) {
    int is_int;
    uint64_t len = string_value(r, &is_int);
    rec->type = TY_STRING;
    int expires = r->has_expiry;
    rec->enc = is_int ? EN_INT : mem_string_embedded(&r->mem, len, r->keylen, expires) ? EN_EMBSTR
                                                                                      : EN_RAW;
    rec->count = len;
    rec->memory = mem_string(&r->mem, len, r->keylen, is_int, expires);
}

static void v_list_linked(Reader *r, Rec *rec) {
    uint64_t n = rlen(r), sum = 0, nodes = 0, current = 7;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t size = string_len(r);
        uint64_t entry = size + (size < 64 ? 1 : size < 4096 ? 2 : 5);
        entry += entry <= 127 ? 1 : 2;
        if (current + entry > LIST_NODE_BYTES && current > 7) {
            list_node(r, current, &sum, &nodes);
            current = 7;
        }
        current += entry;
    }
    if (current > 7 || !nodes) list_node(r, current, &sum, &nodes);
    rec->type = TY_LIST;
    rec->enc = EN_QUICKLIST;
    rec->count = n;
    rec->memory = mem_quicklist(&r->mem, sum);
}

static void v_list_ziplist(Reader *r, Rec *rec) {
    uint64_t n, size = packed(r, L_ZIPLIST, &n);
    uint64_t full = size / LIST_NODE_BYTES, rest = size % LIST_NODE_BYTES;
    uint64_t sum = full * mem_quicklist_node(&r->mem, LIST_NODE_BYTES);
    if (rest) sum += mem_quicklist_node(&r->mem, rest);
    rec->type = TY_LIST;
    rec->enc = EN_QUICKLIST;
    rec->count = n;
    rec->memory = mem_quicklist(&r->mem, sum);
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
        list_node(r, size, &sum, &seen);
    }
    rec->type = TY_LIST;
    rec->count = count;
    if (v2 && mem_listpack_lists(&r->mem) && nodes == 1 && !plain) {
        rec->enc = EN_LISTPACK;
        rec->memory = mem_packed(&r->mem, first);
        return;
    }
    rec->enc = EN_QUICKLIST;
    rec->memory = mem_quicklist(&r->mem, sum);
}

static void v_set(Reader *r, Rec *rec) {
    uint64_t n = rlen(r), total = 0;
    int all_int = 1;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t len;
        if (all_int) len = string_value(r, &all_int);
        else len = string_len(r);
        total += mem_sds(&r->mem, len);
    }
    rec->type = TY_SET;
    rec->enc = EN_HASHTABLE;
    rec->count = n;
    rec->memory = mem_set_table(&r->mem, total, n, all_int);
}

static void v_packed(Reader *r, Rec *rec, int type, int enc, int layout, uint64_t per) {
    uint64_t n, size = packed(r, layout, &n);
    rec->type = type;
    rec->enc = enc;
    rec->count = n / per;
    rec->memory = mem_packed(&r->mem, size);
}

static void v_zset(Reader *r, Rec *rec, int binary) {
    uint64_t n = rlen(r);
    double total = 0.0;
    for (uint64_t k = 0; k < n; k++) {
        total += mem_zset_member(&r->mem, string_len(r));
        if (binary) rskip(r, 8);
        else {
            unsigned score_len = rbyte(r);
            if (score_len < 253) rskip(r, score_len);
        }
    }
    rec->type = TY_ZSET;
    rec->enc = EN_SKIPLIST;
    rec->count = n;
    rec->memory = mem_zset_skiplist(&r->mem, total, n);
}

static void v_hash(Reader *r, Rec *rec) {
    uint64_t n = rlen(r), longest = 0;
    double total = 0.0;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t field = string_len(r), value = string_len(r);
        total += mem_hash_pair(&r->mem, field, value, 0);
        if (field > longest) longest = field;
        if (value > longest) longest = value;
    }
    rec->type = TY_HASH;
    rec->enc = EN_HASHTABLE;
    rec->count = n;
    rec->memory = mem_hash_table(&r->mem, total, n, longest);
}

static void v_hash_metadata(Reader *r, Rec *rec, int relative) {
    if (relative) rskip(r, 8);
    uint64_t n = rlen(r);
    double total = 0.0;
    for (uint64_t k = 0; k < n; k++) {
        int ttl = rlen(r) != 0; /* the field's TTL, 0 for none */
        uint64_t field = string_len(r);
        total += mem_hash_pair(&r->mem, field, string_len(r), ttl);
    }
    rec->type = TY_HASH;
    rec->enc = EN_HASHTABLE;
    rec->count = n;
    rec->memory = mem_hash_table(&r->mem, total, n, 0);
}

static void v_valkey_hash_2(Reader *r, Rec *rec) {
    uint64_t n = rlen(r);
    double total = 0.0;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t field = string_len(r), value = string_len(r);
        const u8 *expiry = rbytes(r, 8); /* absolute, in ms; -1 for none */
        int ttl = 0;
        for (int i = 0; i < 8; i++) ttl |= expiry[i] != 0xFF;
        total += mem_hash_pair(&r->mem, field, value, ttl);
    }
    rec->type = TY_HASH;
    rec->enc = EN_HASHTABLE;
    rec->count = n;
    rec->memory = mem_hash_table(&r->mem, total, n, 0);
}

static void v_hash_listpack_ex(Reader *r, Rec *rec, int min_expire) {
    if (min_expire) rskip(r, 8);
    uint64_t n, size = packed(r, L_LISTPACK, &n);
    rec->type = TY_HASH;
    rec->enc = EN_LISTPACK_EX;
    rec->count = n / 3;
    rec->memory = mem_listpack_ex(&r->mem, size);
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
    rec->enc = small_encoding(r);
    rec->count = pairs;
    rec->memory = mem_packed(&r->mem, size);
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
    uint64_t used = mem_stream_group(&r->mem) + mem_rax(&r->mem, pel, tree.nodes) +
                    mem_stream_nack(&r->mem) * pel;
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
        used += mem_stream_consumer(&r->mem) + name_len + mem_rax(&r->mem, cpel, ctree.nodes);
    }
    return used;
}

/* Redis 8.4's idempotent producers (rdb.c, rdbSaveStreamIdmpEntries): duration, max
   entries, per producer its id and (iid, stream id) entries, then two counters. */
static void skip_stream_idmp(Reader *r) {
    rlen(r); /* IDMP duration */
    rlen(r); /* IDMP max entries */
    uint64_t producers = rlen(r);
    for (uint64_t p = 0; p < producers; p++) {
        string_len(r); /* producer id */
        uint64_t entries = rlen(r);
        for (uint64_t e = 0; e < entries; e++) {
            string_len(r); /* iid */
            rlen(r);
            rlen(r); /* the stream id it maps to */
        }
    }
    rlen(r); /* iids added */
    rlen(r); /* iids duplicates */
}

/* How an array element is stored (sparsearray.h, AR_RDB_TAG_*). */
enum { ARRAY_TAG_SDS = 0, ARRAY_TAG_INT = 1, ARRAY_TAG_FLOAT = 2, ARRAY_TAG_SMALLSTR = 3 };

/* Redis 8.8's array (rdb.c, rdbLoadObject): a count, an optional insert index, then per
   element its index, a tag and the value. */
static void v_array(Reader *r, Rec *rec) {
    uint64_t count = rlen(r), value_bytes = 0;
    if (rlen(r)) rlen(r); /* an insert index follows */
    for (uint64_t k = 0; k < count; k++) {
        rlen(r); /* the element's index */
        uint64_t tag = rlen(r);
        if (tag == ARRAY_TAG_INT || tag == ARRAY_TAG_FLOAT) rskip(r, 8);
        else if (tag == ARRAY_TAG_SDS || tag == ARRAY_TAG_SMALLSTR) value_bytes += string_len(r);
        else fail(r, OFF(r) - 1, "unknown array element tag %llu", (unsigned long long)tag);
    }
    rec->type = TY_ARRAY;
    rec->enc = EN_SLICED_ARRAY;
    rec->count = count;
    rec->memory = mem_array(&r->mem, count, value_bytes);
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
        if (seen) lp_sum += mem_stream_listpack(&r->mem, last, 0);
        last = size;
        seen++;
    }
    uint64_t length = rlen(r);
    rlen(r);
    rlen(r);
    if (version >= 2)
        for (int k = 0; k < 5; k++) rlen(r);
    uint64_t groups_memory = 0, groups = rlen(r);
    for (uint64_t g = 0; g < groups; g++) {
        groups_memory += stream_group(r, version);
        if (version >= 5) { /* the group's NACK zone: a count, then raw 128-bit IDs */
            uint64_t nacked = rlen(r);
            rskip(r, nacked > UINT64_MAX / 16 ? UINT64_MAX : 16 * nacked);
        }
    }
    if (version >= 4) skip_stream_idmp(r);
    uint64_t value = mem_stream_base(&r->mem) + mem_rax(&r->mem, listpacks, nodes.nodes);
    if (seen) value += lp_sum + mem_stream_listpack(&r->mem, last, 1);
    rec->type = TY_STREAM;
    rec->enc = EN_STREAM;
    rec->count = length;
    rec->memory = value + groups_memory;
}

int skip_module_value(Reader *r, uint64_t *uints, int keep) {
    int kept = 0;
    for (;;) {
        uint64_t op = rlen(r);
        if (op == 0) return kept;
        if (op == 2) { /* an unsigned integer */
            uint64_t v = rlen(r);
            if (kept < keep) uints[kept++] = v;
        } else if (op == 1) rlen(r);
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

/* A vector set saves its dimension, then its node count (modules/vector-sets/vset.c,
   VectorSetRdbSave): its element count is the second unsigned integer of its value. */
#define MODULE_UINTS_KEPT 2
static uint64_t module_element_count(const char *name, const uint64_t *uints, int kept) {
    if (strcmp(name, "vectorset") == 0 && kept > 1) return uints[1];
    return 0;
}

static void v_module(Reader *r, Rec *rec) {
    uint64_t at = OFF(r);
    uint64_t id = rlen(r);
    for (int i = 0; i < 9; i++) rec->module[i] = MODULE_CHARSET[(id >> (10 + 6 * (8 - i))) & 63];
    rec->module[9] = 0;
    uint64_t uints[MODULE_UINTS_KEPT];
    int kept = skip_module_value(r, uints, MODULE_UINTS_KEPT);
    module_count(r, rec->module);
    rec->type = TY_MODULE;
    rec->enc = EN_MODULE;
    rec->count = module_element_count(rec->module, uints, kept);
    rec->memory = mem_module_value(&r->mem, OFF(r) - at);
}

/* Redis 4.0 release candidates saved a module's value in the module's own format, without
   the opcodes that let a reader skip it (reader.py _v_module_pre_ga). */
static void v_module_pre_ga(Reader *r) {
    uint64_t at = OFF(r);
    uint64_t id = rlen(r);
    char name[10];
    for (int i = 0; i < 9; i++) name[i] = MODULE_CHARSET[(id >> (10 + 6 * (8 - i))) & 63];
    name[9] = 0;
    fail(r, at, "module value of a Redis 4.0 release candidate (module %s) cannot be skipped",
         name);
}

int value_type_known(const Reader *r, unsigned type) {
    if (type == 8) return 0;
    if (type <= 21) return 1;
    if (r->valkey) return type == 22; /* HASH_2; 23 (path hash) is not read yet */
    return type <= 28;                /* Redis: HFE hashes 22-25, streams 26-27, array 28 */
}

void read_value(Reader *r, unsigned type, Rec *rec) {
    switch (type) {
    case 0: v_string(r, rec); break;
    case 1: v_list_linked(r, rec); break;
    case 2: v_set(r, rec); break;
    case 3: v_zset(r, rec, 0); break;
    case 4: v_hash(r, rec); break;
    case 5: v_zset(r, rec, 1); break;
    case 6: v_module_pre_ga(r); break;
    case 7: v_module(r, rec); break;
    case 9: v_hash_zipmap(r, rec); break;
    case 10: v_list_ziplist(r, rec); break;
    case 11: v_packed(r, rec, TY_SET, EN_INTSET, L_INTSET, 1); break;
    case 12: v_packed(r, rec, TY_ZSET, small_encoding(r), L_ZIPLIST, 2); break;
    case 13: v_packed(r, rec, TY_HASH, small_encoding(r), L_ZIPLIST, 2); break;
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
    case 26: v_stream(r, rec, 4); break;
    case 27: v_stream(r, rec, 5); break;
    case 28: v_array(r, rec); break;
    }
}
