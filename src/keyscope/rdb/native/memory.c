/*
 * The memory model per engine and allocator (memory.py is the reference: the facts, the
 * sources they come from and the reasons are written there, once).
 */
#include "memory.h"

#include <math.h>

const char *const MEM_LAYOUT_NAMES[ML_COUNT] = {"redis-6.2", "redis-7.0", "redis-7.2",
                                                "redis-7.4", "redis-8",   "valkey-8.0",
                                                "valkey-8.1", "valkey-8.1-dev"};
const char *const MEM_ALLOCATOR_NAMES[MA_COUNT] = {"jemalloc", "jemalloc-16", "libc"};

enum { ROBJ = 16, DICT_ENTRY = 24, NO_VALUE_ENTRY = 16, ZSET = 16,
       ZSL_HEADER_REQUEST = 24 + 32 * 16, STREAM_ID = 16, STREAM_NACK = 24,
       RAX_NODE_COST = 4 + 8 * 30, RAX_STRUCT = 24, RAX_NODE_ALLOC = 20, RAX_KEY_ALLOC = 8,
       STREAM_LISTPACK_PREALLOC = 4096, EMBED_LINE = 64, HASHTABLE = 72, HT_BUCKET = 64,
       HT_BUCKET_SLOTS = 7, HASH_ENTRY_EMBED_MAX = 128, EXPIRE_META = 16,
       INTSET_MAX_ENTRIES = 512, SET_MAX_LISTPACK_ENTRIES = 128,
       ZSET_MAX_LISTPACK_ENTRIES = 128, HASH_MAX_LISTPACK_ENTRIES = 512,
       HASH_MAX_LISTPACK_VALUE = 64, ARRAY_ELEMENT = 16, RAX8_TREE = 40, RAX8_NODE = 14,
       RAX8_KEY = 2, STREAM8_GROUP = 350, STREAM8_NACK = 60, STREAM8 = 160 };
#define REHASH_NONEMPTY_SHARE 0.632

/* ------------------------------------------------------------------ choosing a model */

int mem_parse(const char *text, MemModel *m) {
    const char *slash = strchr(text, '/');
    size_t llen = slash ? (size_t)(slash - text) : strlen(text);
    int layout = -1, allocator = MA_JEMALLOC;
    for (int i = 0; i < ML_COUNT; i++)
        if (strlen(MEM_LAYOUT_NAMES[i]) == llen && strncmp(text, MEM_LAYOUT_NAMES[i], llen) == 0)
            layout = i;
    if (slash) {
        allocator = -1;
        for (int i = 0; i < MA_COUNT; i++)
            if (strcmp(slash + 1, MEM_ALLOCATOR_NAMES[i]) == 0) allocator = i;
    }
    if (layout < 0 || allocator < 0) return -1;
    m->layout = layout;
    m->allocator = allocator;
    return 0;
}

MemModel mem_model_for(int64_t redis_ver, int64_t valkey_ver, int rdb_version, int valkey_magic) {
    MemModel m = {ML_REDIS_7_0, MA_JEMALLOC};
    if (valkey_ver >= 0 || valkey_magic) {
        m.layout = valkey_ver > 0 && valkey_ver < 8001000 ? ML_VALKEY_8_0
                   : valkey_ver == 255255255              ? ML_VALKEY_8_1_DEV /* an unstable tree */
                                                          : ML_VALKEY_8_1;
        return m;
    }
    int64_t v = redis_ver > 0 ? redis_ver
                : rdb_version <= 9  ? 6002000
                : rdb_version == 10 ? 7000000
                : rdb_version == 11 ? 7002000
                : rdb_version == 12 ? 7004000
                                    : 8000000;
    m.layout = v < 7000000 ? ML_REDIS_6_2
               : v < 7002000 ? ML_REDIS_7_0
               : v < 7004000 ? ML_REDIS_7_2
               : v < 8000000 ? ML_REDIS_7_4
                             : ML_REDIS_8;
    return m;
}

/* ------------------------------------------------------------------------ allocators */

static int bit_length(uint64_t n) { return n ? 64 - __builtin_clzll(n) : 0; }

static uint64_t jemalloc_large(uint64_t n) {
    if (n <= 128) return (n + 15) & ~(uint64_t)15;
    uint64_t delta = (uint64_t)1 << (bit_length(n - 1) - 3);
    return (n + delta - 1) / delta * delta;
}

uint64_t mem_alloc(const MemModel *m, uint64_t n) {
    switch (m->allocator) {
    case MA_JEMALLOC_16:
        if (n <= 8) return 8;
        if (n <= 128) return (n + 15) & ~(uint64_t)15;
        return jemalloc_large(n);
    case MA_LIBC: {
        uint64_t chunk = (n + 8 + 15) & ~(uint64_t)15;
        return (chunk < 32 ? 32 : chunk) - 8;
    }
    default:
        if (n <= 8) return 8;
        if (n <= 64) return (n + 7) & ~(uint64_t)7;
        return jemalloc_large(n);
    }
}

/* ------------------------------------------------------------------------ sds strings */

/* Valkey's hashtable layouts: the 8.1 release, and the unstable tree of 2025-01 before it. */
static int hashtable_layout(const MemModel *m) {
    return m->layout == ML_VALKEY_8_1 || m->layout == ML_VALKEY_8_1_DEV;
}

static int tight(const MemModel *m) {
    return m->layout == ML_REDIS_8 || m->layout == ML_VALKEY_8_0 || hashtable_layout(m);
}

static uint64_t sds_header(uint64_t len, int is_tight) {
    uint64_t slack = is_tight ? 1 : 0;
    if (len < 32) return 1;
    if (len < 256 - 3 * slack) return 3;
    if (len < 65536 - 5 * slack) return 5;
    if (len < ((uint64_t)1 << 32) - 9 * slack) return 9;
    return 17;
}

static uint64_t sds_request(const MemModel *m, uint64_t len, int min_type8) {
    uint64_t header = min_type8 && len < 32 ? 3 : sds_header(len, tight(m));
    return header + len + 1;
}

uint64_t mem_sds(const MemModel *m, uint64_t len) {
    uint64_t request = len ? sds_request(m, len, 0) : 4;
    if (m->layout == ML_REDIS_8 && len < 32) return request;
    return mem_alloc(m, request);
}

/* ------------------------------------------------------------------ keys and strings */

uint64_t mem_key_overhead(const MemModel *m, uint64_t key_len, int expires) {
    switch (m->layout) {
    case ML_REDIS_8: {
        uint64_t meta = expires || key_len >= 128 ? 8 : 0;
        return ROBJ + meta + 1 + sds_request(m, key_len, 0);
    }
    case ML_VALKEY_8_1_DEV: return ROBJ;
    case ML_VALKEY_8_1: {
        uint64_t meta = expires || key_len >= 128 ? 8 : 0;
        return mem_alloc(m, ROBJ + meta + 1 + sds_request(m, key_len, 0));
    }
    case ML_VALKEY_8_0: return ROBJ + mem_alloc(m, 17 + sds_request(m, key_len, 0));
    default: return ROBJ + mem_sds(m, key_len) + DICT_ENTRY;
    }
}

int mem_string_embedded(const MemModel *m, uint64_t len, uint64_t key_len, int expires) {
    if (len > MEM_EMBSTR_MAX) return 0;
    if (m->layout == ML_REDIS_8 || hashtable_layout(m)) {
        uint64_t line = ROBJ + key_len + 3 + 4 + len;
        if (hashtable_layout(m) && expires) line += 8;
        return line <= EMBED_LINE;
    }
    return 1;
}

uint64_t mem_string(const MemModel *m, uint64_t len, uint64_t key_len, int is_int, int expires) {
    if (is_int) return mem_key_overhead(m, key_len, expires);
    if (!mem_string_embedded(m, len, key_len, expires))
        return mem_key_overhead(m, key_len, expires) + mem_sds(m, len);
    if (m->layout == ML_REDIS_8)
        return mem_alloc(m, mem_key_overhead(m, key_len, expires) + 3 + len + 1);
    if (hashtable_layout(m)) { /* the dev tree kept the argv's type-8 header */
        int dev = m->layout == ML_VALKEY_8_1_DEV;
        uint64_t head = ROBJ + (expires ? 8 : 0) + 1 + sds_request(m, key_len, dev);
        return mem_alloc(m, head + 3 + len + 1);
    }
    uint64_t embstr = m->layout == ML_REDIS_6_2 ? 18 + len : mem_alloc(m, ROBJ + 4 + len);
    return mem_key_overhead(m, key_len, expires) - ROBJ + embstr;
}

/* ------------------------------------------------------------------------ collections */

static int requested(const MemModel *m) {
    return m->layout == ML_REDIS_6_2 || m->layout == ML_REDIS_8;
}

int mem_listpack_lists(const MemModel *m) {
    return m->layout != ML_REDIS_6_2 && m->layout != ML_REDIS_7_0;
}

static uint64_t dict_size(const MemModel *m) { return m->layout == ML_REDIS_6_2 ? 96 : 56; }

uint64_t mem_packed(const MemModel *m, uint64_t bytes) {
    return requested(m) ? bytes : mem_alloc(m, bytes);
}

uint64_t mem_listpack_ex(const MemModel *m, uint64_t bytes) {
    if (m->layout == ML_REDIS_8) return 24 + bytes;
    return mem_alloc(m, 32) + mem_alloc(m, bytes);
}

uint64_t mem_quicklist_node(const MemModel *m, uint64_t bytes) {
    if (m->layout == ML_REDIS_8) return mem_alloc(m, 40) + bytes;
    if (m->layout == ML_REDIS_6_2) return 32 + bytes;
    return 40 + mem_alloc(m, bytes);
}

uint64_t mem_quicklist(const MemModel *m, uint64_t nodes_total) {
    return (m->layout == ML_REDIS_8 ? mem_alloc(m, 48) : 40) + nodes_total;
}

static uint64_t pow2_at_least(uint64_t n) {
    uint64_t size = 4;
    while (size < n) size <<= 1;
    return size;
}

static uint64_t dict_slots(uint64_t n, uint64_t steps, uint64_t presized_for) {
    uint64_t size = pow2_at_least(n > presized_for ? n : presized_for);
    int grown = size > 4 && (!presized_for || size > pow2_at_least(presized_for));
    if (steps && n > 4 && grown) {
        uint64_t old = size / 2;
        /* n > old here (size is the smallest power >= n), so this does not wrap */
        uint64_t since = n - old - 1;
        if ((double)(steps * since) < REHASH_NONEMPTY_SHARE * (double)old) return size + old;
    }
    return size;
}

static uint64_t ht_buckets_for(uint64_t capacity) {
    if (capacity == 0) return 1;
    uint64_t wanted = (capacity * 5 - 1) / 32 + 1;
    return (uint64_t)1 << bit_length(wanted - 1);
}

static uint64_t ht_buckets(uint64_t n, uint64_t presized_for) {
    if (presized_for >= n) return ht_buckets_for(presized_for);
    uint64_t buckets = ht_buckets_for(presized_for ? presized_for : 1);
    while (n > buckets * HT_BUCKET_SLOTS) buckets = ht_buckets_for(buckets * HT_BUCKET_SLOTS + 1);
    return buckets;
}

static double ht_child_buckets(uint64_t n, uint64_t buckets) {
    double lam = (double)n / (double)buckets;
    if (lam <= 0) return 0.0;
    double term = exp(-lam), expected = 0.0;
    for (int k = 1; k < 8 * HT_BUCKET_SLOTS; k++) {
        term *= lam / k;
        if (k > HT_BUCKET_SLOTS) {
            int chained = (k - HT_BUCKET_SLOTS + HT_BUCKET_SLOTS - 2) / (HT_BUCKET_SLOTS - 1);
            expected += term * chained;
        }
    }
    return (double)buckets * expected;
}

static double hashtable(uint64_t count, uint64_t presized_for) {
    uint64_t buckets = ht_buckets(count, presized_for);
    return HASHTABLE + HT_BUCKET * ((double)buckets + ht_child_buckets(count, buckets));
}

static uint64_t round_even(double v) { return (uint64_t)nearbyint(v); } /* as Python's round() */

uint64_t mem_set_table(const MemModel *m, uint64_t members, uint64_t count, int from_intset) {
    uint64_t presized = from_intset && count > INTSET_MAX_ENTRIES ? INTSET_MAX_ENTRIES + 1 : 0;
    uint64_t limit = from_intset ? INTSET_MAX_ENTRIES : SET_MAX_LISTPACK_ENTRIES;
    if (mem_listpack_lists(m) && count > limit) presized = count;
    if (hashtable_layout(m)) return round_even(hashtable(count, presized)) + members;
    uint64_t slots = dict_slots(count, 1, presized);
    if (m->layout == ML_VALKEY_8_0) {
        uint64_t table = pow2_at_least(count > presized ? count : presized);
        double alone = (double)table * (1 - exp(-(double)count / (double)table));
        double v = (double)(dict_size(m) + 8 * slots) + NO_VALUE_ENTRY * ((double)count - alone);
        return round_even(v) + members;
    }
    return dict_size(m) + 8 * slots + count * DICT_ENTRY + members;
}

double mem_hash_pair(const MemModel *m, uint64_t field, uint64_t value, int ttl) {
    if (m->layout == ML_VALKEY_8_1_DEV)
        return (double)(mem_alloc(m, 16 + sds_request(m, field, 0)) + mem_sds(m, value));
    if (m->layout == ML_VALKEY_8_1) { /* the value embedded in the entry while both fit */
        uint64_t both = sds_request(m, field, 0) + sds_request(m, value, 0);
        if (both <= HASH_ENTRY_EMBED_MAX) return (double)mem_alloc(m, 2 + both);
        return (double)(mem_alloc(m, 2 + sds_request(m, field, 0) + 8) + mem_sds(m, value));
    }
    if (m->layout == ML_REDIS_8) {
        uint64_t meta = ttl ? EXPIRE_META : 0;
        uint64_t embedded = meta + sds_request(m, field, ttl) + 3 + value + 1;
        if (embedded <= HASH_ENTRY_EMBED_MAX) return (double)(DICT_ENTRY + embedded);
        uint64_t pointer = meta + sds_request(m, field, 1) + 8;
        return (double)(DICT_ENTRY + pointer + mem_sds(m, value));
    }
    if (ttl)
        return (double)(DICT_ENTRY + mem_alloc(m, EXPIRE_META + 1 + sds_request(m, field, 0)) +
                        mem_sds(m, value));
    return (double)(DICT_ENTRY + mem_sds(m, field) + mem_sds(m, value));
}

uint64_t mem_hash_table(const MemModel *m, double pairs, uint64_t count, uint64_t longest) {
    int outgrew = longest <= HASH_MAX_LISTPACK_VALUE && count > HASH_MAX_LISTPACK_ENTRIES;
    uint64_t presized = outgrew ? HASH_MAX_LISTPACK_ENTRIES + 1 : 0;
    if (mem_listpack_lists(m) && count > HASH_MAX_LISTPACK_ENTRIES) presized = count;
    if (hashtable_layout(m)) return round_even(hashtable(count, presized) + pairs);
    uint64_t slots = dict_slots(count, 2, presized);
    return round_even((double)(dict_size(m) + 8 * slots) + pairs);
}

/* Expected allocation of a skiplist node of 24 bytes + levels (+ an embedded member). */
static double zsl_node(const MemModel *m, uint64_t extra) {
    double expected = 0.0, share = 0.75;
    for (uint64_t level = 1; level <= 32; level++) {
        expected += share * (double)mem_alloc(m, 24 + 16 * level + extra);
        share /= 4;
    }
    return expected;
}

double mem_zset_member(const MemModel *m, uint64_t len) {
    if (m->layout == ML_REDIS_8) return DICT_ENTRY + zsl_node(m, sds_request(m, len, 0) - 8);
    uint64_t entry = hashtable_layout(m) ? 0 : DICT_ENTRY;
    return (double)(entry + mem_sds(m, len)) + zsl_node(m, 0);
}

uint64_t mem_zset_skiplist(const MemModel *m, double members, uint64_t count) {
    uint64_t header = mem_alloc(m, ZSL_HEADER_REQUEST);
    uint64_t presized = mem_listpack_lists(m) && count > ZSET_MAX_LISTPACK_ENTRIES ? count : 0;
    if (hashtable_layout(m))
        return round_even((double)(ZSET + 32) + hashtable(count, presized) + (double)header +
                          members);
    uint64_t table = dict_size(m) + 8 * dict_slots(count, 2, presized);
    if (m->layout == ML_REDIS_8) {
        uint64_t zsl = mem_alloc(m, 40) + mem_alloc(m, ZSL_HEADER_REQUEST - 8);
        return round_even((double)(ZSET + zsl + table) + members);
    }
    return round_even((double)(ZSET + 32 + table + header) + members);
}

/* ------------------------------------------------------------------ streams, modules */

uint64_t mem_rax(const MemModel *m, uint64_t elements, uint64_t nodes) {
    if (hashtable_layout(m))
        return RAX_STRUCT + nodes * RAX_NODE_ALLOC + elements * RAX_KEY_ALLOC;
    if (m->layout == ML_REDIS_8) return RAX8_TREE + nodes * RAX8_NODE + elements * RAX8_KEY;
    return elements * STREAM_ID + nodes * RAX_NODE_COST;
}

uint64_t mem_stream_base(const MemModel *m) {
    if (m->layout == ML_REDIS_8) return mem_alloc(m, STREAM8);
    return m->layout == ML_REDIS_6_2 ? 40 : 80;
}

uint64_t mem_stream_group(const MemModel *m) {
    if (m->layout == ML_REDIS_8) return STREAM8_GROUP;
    return m->layout == ML_REDIS_6_2 ? 32 : 40;
}

uint64_t mem_stream_nack(const MemModel *m) {
    return m->layout == ML_REDIS_8 ? STREAM8_NACK : STREAM_NACK;
}

uint64_t mem_stream_consumer(const MemModel *m) {
    if (m->layout == ML_REDIS_8) return 0;
    return m->layout == ML_REDIS_6_2 || m->layout == ML_REDIS_7_0 ? 24 : 32;
}

uint64_t mem_stream_listpack(const MemModel *m, uint64_t bytes, int last) {
    if (m->layout == ML_REDIS_8) return bytes; /* lpBytes: what each listpack holds */
    if (last && bytes < STREAM_LISTPACK_PREALLOC) bytes = STREAM_LISTPACK_PREALLOC;
    return mem_alloc(m, bytes);
}

uint64_t mem_module_value(const MemModel *m, uint64_t serialized) {
    return mem_alloc(m, serialized);
}

uint64_t mem_array(const MemModel *m, uint64_t count, uint64_t value_bytes) {
    (void)m; /* one estimate for every engine that has arrays */
    return count * ARRAY_ELEMENT + value_bytes;
}
