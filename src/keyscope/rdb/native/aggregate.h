/*
 * The offline report's counters, kept in C while the reader runs (no Python object per key):
 * per type totals, size histograms and prefix summaries, per db totals, the TTL buckets and
 * the top-N heap. The rules are those of analysis/offline.py, prefixes.py and topn.py (the
 * reference; tests/unit/rdb/test_fast_path.py holds both to the same report).
 */
#ifndef KEYSCOPE_NATIVE_AGGREGATE_H
#define KEYSCOPE_NATIVE_AGGREGATE_H

#include "reader.h"

#define NBOUNDS 10 /* analysis/distributions.py SIZE_BOUNDS */
#define NLADDER 3  /* defaults.ADVICE_LISTPACK_LADDER */
#define NEXAMPLES 3 /* defaults.ADVICE_EXAMPLES */

/* A summary entry: prefixes.py's fields, in its order (NUM .. SMALL_EXAMPLE). */
typedef struct {
    uint64_t hash;
    uint32_t off, len; /* into the arena */
    uint64_t num, bytes;
    uint64_t ttl_num, nottl_num, nottl_bytes, small_num, small_bytes, small_payload;
    uint32_t nx_off, nx_len, sx_off, sx_len; /* the examples, into the arena */
    u8 has_nx, has_sx;
} PEntry;

typedef struct {
    u8 *key;
    size_t len;
} Example;

/* counting.py LadderStep */
typedef struct {
    uint64_t num, bytes, listpack_bytes, key_bytes;
    Example ex[NEXAMPLES];
    size_t nex;
} Step;

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
    Step ladder[NLADDER];
    int present;
} TypeStats;

typedef struct {
    uint64_t db, num, bytes, expires;
    int used;
    Example ex[NEXAMPLES]; /* KeyCounter.db_examples */
    size_t nex;
} DbSlot;

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
    int single_delim; /* the delimiter when there is one (memchr finds it), else -1 */
    DbSlot *last_db;  /* keys come grouped by db: the slot of the previous key */
    int64_t now_ms;
    uint64_t keys;
    uint64_t long_num, long_bytes; /* KeyCounter.long_keys */
    Example long_ex[NEXAMPLES];
    size_t long_nex;
    uint64_t comp_num, comp_len, comp_serialized; /* KeyCounter.compressible */
    Example comp_ex[NEXAMPLES];
    size_t comp_nex;
    uint64_t cl_num, cl_bytes, cl_serialized, cl_key_bytes; /* KeyCounter.compressible_lists */
    Example cl_ex[NEXAMPLES];
    size_t cl_nex;
    Step small_sets; /* KeyCounter.small_sets */
} Agg;

/* Options as OfflineOptions has them; 0, or -1 when out of memory. */
int agg_setup(Agg *a, size_t top_keys, size_t capacity, const u8 *delimiters,
              size_t ndelimiters, int max_depth, int64_t now_ms);
/* OfflineAggregator.feed for one record: 0, or -1 when out of memory. */
int agg_feed(Agg *a, const Rec *rec);
void agg_free(Agg *a);
/* The counters as Python objects: the Counts shape of rdb/counts.py. */
PyObject *agg_result(Agg *a);

#endif
