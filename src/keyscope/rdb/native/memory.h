/*
 * The memory model: what a key takes in the running server that wrote the file.
 *
 * The C twin of rdb/memory.py, allocation.py and engines.py (the reference; change both
 * together, in the same order of floating-point operations, so both readers give identical
 * estimates). A MemModel names
 * one engine's layout and one allocator; the reader measures a value (lengths, counts,
 * blob sizes, radix-tree nodes) and asks this layer what it costs; no other file knows an
 * allocator size or a struct size.
 */
#ifndef KEYSCOPE_NATIVE_MEMORY_H
#define KEYSCOPE_NATIVE_MEMORY_H

#include "common.h"

/* Strings up to this length are embedded in their object (OBJ_ENCODING_EMBSTR). */
#define MEM_EMBSTR_MAX 44

/* memory.LAYOUTS and memory.ALLOCATORS, in their order. */
enum { ML_REDIS_6_2, ML_REDIS_7_0, ML_REDIS_7_2, ML_REDIS_7_4, ML_REDIS_8, ML_VALKEY_8_0,
       ML_VALKEY_8_1, ML_VALKEY_8_1_DEV, ML_COUNT };
enum { MA_JEMALLOC, MA_JEMALLOC_16, MA_LIBC, MA_COUNT };

typedef struct {
    int layout, allocator;
} MemModel;

extern const char *const MEM_LAYOUT_NAMES[ML_COUNT];
extern const char *const MEM_ALLOCATOR_NAMES[MA_COUNT];

/* "layout/allocator" (allocator optional) into *m: 0, or -1 when it names no model. */
int mem_parse(const char *text, MemModel *m);
/* The writer's model from its aux fields (memory.model_for): versions as major*10000 +
   minor*100 + patch, 0 when the field is absent. */
MemModel mem_model_for(int64_t redis_ver, int64_t valkey_ver, int rdb_version, int valkey_magic);

uint64_t mem_alloc(const MemModel *m, uint64_t n);
uint64_t mem_sds(const MemModel *m, uint64_t len);
/* The key's own bytes and its object header, for values not embedded with it. */
uint64_t mem_key_overhead(const MemModel *m, uint64_t key_len, int expires);
int mem_string_embedded(const MemModel *m, uint64_t len, uint64_t key_len, int expires);
uint64_t mem_string(const MemModel *m, uint64_t len, uint64_t key_len, int is_int, int expires);
int mem_listpack_lists(const MemModel *m);
/* A listpack, ziplist or intset held in one allocation. */
uint64_t mem_packed(const MemModel *m, uint64_t blob_bytes);
uint64_t mem_listpack_ex(const MemModel *m, uint64_t blob_bytes);
/* A quicklist: mem_quicklist_node of each node, summed by the caller, then the list. */
uint64_t mem_quicklist_node(const MemModel *m, uint64_t node_bytes);
uint64_t mem_quicklist(const MemModel *m, uint64_t nodes_total);
uint64_t mem_set_table(const MemModel *m, uint64_t member_sizes, uint64_t count, int from_intset);
double mem_hash_pair(const MemModel *m, uint64_t field, uint64_t value, int ttl);
uint64_t mem_hash_table(const MemModel *m, double pair_total, uint64_t count, uint64_t longest);
double mem_zset_member(const MemModel *m, uint64_t len);
uint64_t mem_zset_skiplist(const MemModel *m, double member_total, uint64_t count);
/* A stream: its object and node tree, each node's listpack (the last one is still open),
   each consumer group with its PEL, each consumer with its own PEL. */
uint64_t mem_rax(const MemModel *m, uint64_t elements, uint64_t nodes);
uint64_t mem_stream_base(const MemModel *m);
uint64_t mem_stream_group(const MemModel *m);
uint64_t mem_stream_consumer(const MemModel *m);
uint64_t mem_stream_nack(const MemModel *m);
uint64_t mem_stream_listpack(const MemModel *m, uint64_t blob_bytes, int last);
/* A module value: only its module knows; the bytes it serialized to are a floor. */
uint64_t mem_module_value(const MemModel *m, uint64_t serialized_bytes);
/* A Redis 8.8 array, estimated (memory.py array): a slot per element and the bytes of its
   string values; the slices' own layout is not modelled yet. */
uint64_t mem_array(const MemModel *m, uint64_t count, uint64_t value_bytes);

#endif
