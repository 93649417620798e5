/*
 * The memory model: what a key takes in a running server, from what its RDB record says.
 *
 * The C twin of rdb/memory.py (the reference; change both together). Every formula lives
 * here: the reader measures a value (lengths, counts, blob sizes, radix-tree nodes) and
 * asks this layer what it costs; no other file knows an allocator size or a struct size.
 */
#ifndef KEYSCOPE_NATIVE_MEMORY_H
#define KEYSCOPE_NATIVE_MEMORY_H

#include "common.h"

/* Strings up to this length are embedded in their object (OBJ_ENCODING_EMBSTR). */
#define MEM_EMBSTR_MAX 44

uint64_t mem_jemalloc_size(uint64_t n);
uint64_t mem_sds_size(uint64_t len);
/* The key's sds and its entry in the keyspace dict. */
uint64_t mem_key_overhead(uint64_t key_len);
uint64_t mem_string_value(uint64_t len, int is_int);
/* A listpack or intset held in one allocation (small hashes, sets, zsets, lists). */
uint64_t mem_packed_value(uint64_t blob_bytes);
/* A quicklist: mem_quicklist_node of each node, summed by the caller, then the list. */
uint64_t mem_quicklist_node(uint64_t node_bytes);
uint64_t mem_quicklist_value(uint64_t nodes_total);
uint64_t mem_set_hashtable(uint64_t element_sds_total, uint64_t count, int from_intset);
uint64_t mem_hash_hashtable(uint64_t pair_sds_total, uint64_t count, uint64_t longest);
uint64_t mem_zset_skiplist(uint64_t element_sds_total, uint64_t count);
/* A stream: its object and node tree, each node's listpack (the last one is still open),
   each consumer group with its PEL, each consumer with its own PEL. */
uint64_t mem_stream_value(uint64_t nodes, uint64_t rax_nodes);
uint64_t mem_stream_listpack(uint64_t blob_bytes, int last);
uint64_t mem_stream_group(uint64_t pel, uint64_t rax_nodes);
uint64_t mem_stream_consumer(int stream_version, uint64_t name_len, uint64_t pel,
                             uint64_t rax_nodes);
/* A module value: only its module knows; the bytes it serialized to are a floor. */
uint64_t mem_module_value(uint64_t serialized_bytes);
/* A Redis 8.8 array, estimated (memory.py array_value): the object, a slot per element and
   the bytes of its string values; the slices' own layout is not modelled yet. */
uint64_t mem_array_value(uint64_t count, uint64_t value_bytes);

#endif
