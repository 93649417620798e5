/*
 * The memory model (memory.py is the reference): Redis 7.0 on 64-bit Linux with jemalloc
 * and the default encoding thresholds, counted the way ``MEMORY USAGE key SAMPLES 0`` does.
 */
#include "memory.h"

enum { ROBJ = 16, DICT_ENTRY = 24, DICT = 56, QUICKLIST = 40, QUICKLIST_NODE = 40, ZSET = 16,
       ZSKIPLIST = 32, ZSL_HEADER = 640, STREAM = 80, STREAM_CG = 40, STREAM_NACK = 24,
       STREAM_CONSUMER = 24, STREAM_CONSUMER_7_2 = 32, STREAM_ID = 16,
       RAX_NODE_COST = 4 + 8 * 30, STREAM_LISTPACK_PREALLOC = 4096,
       INTSET_MAX_ENTRIES = 512, HASH_MAX_LISTPACK_ENTRIES = 512,
       HASH_MAX_LISTPACK_VALUE = 64 };
#define ZSL_NODE_EXPECTED 53.3
#define REHASH_NONEMPTY_SHARE 0.632

static int bit_length(uint64_t n) { return n ? 64 - __builtin_clzll(n) : 0; }

uint64_t mem_jemalloc_size(uint64_t n) {
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

uint64_t mem_sds_size(uint64_t len) {
    if (len < 32) return len ? mem_jemalloc_size(len + 2) : mem_jemalloc_size(4);
    return mem_jemalloc_size(sds_header(len) + len + 1);
}

uint64_t mem_key_overhead(uint64_t len) { return mem_sds_size(len) + DICT_ENTRY; }

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

uint64_t mem_string_value(uint64_t len, int is_int) {
    if (is_int) return ROBJ;
    if (len <= MEM_EMBSTR_MAX) return mem_jemalloc_size(ROBJ + 3 + len + 1);
    return ROBJ + mem_sds_size(len);
}

uint64_t mem_packed_value(uint64_t bytes) { return ROBJ + mem_jemalloc_size(bytes); }

uint64_t mem_quicklist_node(uint64_t bytes) { return QUICKLIST_NODE + mem_jemalloc_size(bytes); }

uint64_t mem_quicklist_value(uint64_t nodes_total) { return ROBJ + QUICKLIST + nodes_total; }

uint64_t mem_set_hashtable(uint64_t total, uint64_t count, int from_intset) {
    uint64_t presized = from_intset && count > INTSET_MAX_ENTRIES ? INTSET_MAX_ENTRIES + 1 : 0;
    uint64_t slots = dict_slots(count, 1, presized);
    return ROBJ + DICT + 8 * slots + count * DICT_ENTRY + total;
}

uint64_t mem_hash_hashtable(uint64_t total, uint64_t count, uint64_t longest) {
    int outgrew = longest <= HASH_MAX_LISTPACK_VALUE && count > HASH_MAX_LISTPACK_ENTRIES;
    uint64_t presized = outgrew ? HASH_MAX_LISTPACK_ENTRIES + 1 : 0;
    uint64_t slots = dict_slots(count, 2, presized);
    return ROBJ + DICT + 8 * slots + count * DICT_ENTRY + total;
}

uint64_t mem_zset_skiplist(uint64_t total, uint64_t count) {
    uint64_t fixed = ROBJ + ZSET + ZSKIPLIST + DICT + 8 * dict_slots(count, 2, 0) + ZSL_HEADER;
    double v = (double)(fixed + total) + (double)count * (DICT_ENTRY + ZSL_NODE_EXPECTED);
    return (uint64_t)nearbyint(v); /* round half to even, as Python's round() */
}

/* Redis's own charge for a radix tree of stream IDs (streamRadixTreeMemoryUsage). */
static uint64_t rax_usage(uint64_t elements, uint64_t nodes) {
    return elements * STREAM_ID + nodes * RAX_NODE_COST;
}

uint64_t mem_stream_value(uint64_t nodes, uint64_t rax_nodes) {
    return ROBJ + STREAM + rax_usage(nodes, rax_nodes);
}

uint64_t mem_stream_listpack(uint64_t bytes, int last) {
    if (last && bytes < STREAM_LISTPACK_PREALLOC) bytes = STREAM_LISTPACK_PREALLOC;
    return mem_jemalloc_size(bytes);
}

uint64_t mem_stream_group(uint64_t pel, uint64_t rax_nodes) {
    return STREAM_CG + rax_usage(pel, rax_nodes) + STREAM_NACK * pel;
}

uint64_t mem_stream_consumer(int stream_version, uint64_t name_len, uint64_t pel,
                             uint64_t rax_nodes) {
    uint64_t size = stream_version >= 3 ? STREAM_CONSUMER_7_2 : STREAM_CONSUMER;
    return size + name_len + rax_usage(pel, rax_nodes);
}

uint64_t mem_module_value(uint64_t serialized) { return ROBJ + mem_jemalloc_size(serialized); }

/* memory.py ARRAY_ELEMENT: what an array keeps per element besides its value. */
#define ARRAY_ELEMENT 16

uint64_t mem_array_value(uint64_t count, uint64_t value_bytes) {
    return ROBJ + count * ARRAY_ELEMENT + value_bytes;
}
