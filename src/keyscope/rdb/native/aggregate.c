/* The offline report's counters (analysis/offline.py, prefixes.py, topn.py). */
#include "aggregate.h"

#include "pyobjects.h"

static const uint64_t SIZE_BOUNDS[NBOUNDS] = {64, 256, 1024, 4096, 16384, 65536, 262144,
                                              1048576, 4194304, 16777216};
static const uint64_t LADDER[NLADDER] = {256, 512, 1024};
#define LADDER_FLOOR 128 /* defaults.ADVICE_LISTPACK_FLOOR */
#define SMALL_STRING 64  /* defaults.ADVICE_SMALL_STRING_BYTES */
#define LONG_KEY 128     /* defaults.ADVICE_LONG_KEY_BYTES */
#define HUGE_STRING 16384 /* defaults.ADVICE_HUGE_STRING_BYTES */
#define COMPRESSED_QUARTERS 3 /* 4 * defaults.ADVICE_COMPRESSED_SHARE */
#define COMPRESSIBLE_LIST (3 * 8192) /* defaults.ADVICE_COMPRESSIBLE_LIST_BYTES */
#define HOUR_MS 3600000LL
#define DAY_MS (24 * HOUR_MS)

int agg_setup(Agg *a, size_t top_keys, size_t capacity, const u8 *delimiters,
              size_t ndelimiters, int max_depth, int64_t now_ms) {
    for (size_t i = 0; i < ndelimiters; i++) a->is_delim[delimiters[i]] = 1;
    a->single_delim = ndelimiters == 1 ? delimiters[0] : -1;
    a->capacity = capacity;
    a->limit = 2 * capacity;
    a->max_depth = max_depth;
    a->now_ms = now_ms;
    a->top_cap = top_keys;
    a->top = calloc(a->top_cap ? a->top_cap : 1, sizeof *a->top);
    return a->top ? 0 : -1;
}

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

/* Appends n bytes to the arena; their offset in *off. 0, or -1 when out of memory. */
static int arena_put(Prefixes *p, const u8 *bytes, size_t n, uint32_t *off) {
    if (p->arena_len + n > p->arena_cap) {
        size_t cap = p->arena_cap * 2;
        while (cap < p->arena_len + n) cap *= 2;
        if (cap > UINT32_MAX) return -1;
        u8 *q = realloc(p->arena, cap);
        if (!q) return -1;
        p->arena = q;
        p->arena_cap = cap;
    }
    memcpy(p->arena + p->arena_len, bytes, n);
    *off = (uint32_t)p->arena_len;
    p->arena_len += n;
    return 0;
}

/* PrefixSummary.add for one prefix (key[0:len]) of the key `full`; `small` as there. */
static int prefixes_add(Prefixes *p, const u8 *full, size_t full_len, size_t len, uint64_t mem,
                        int has_ttl, int64_t small) {
    const u8 *key = full;
    uint64_t h = hash_bytes(key, len);
    size_t slot = (size_t)h & p->mask;
    PEntry *pe = NULL;
    for (;;) {
        uint32_t e = p->index[slot];
        if (!e) break;
        PEntry *at = &p->entries[e - 1];
        if (at->hash == h && at->len == len && memcmp(p->arena + at->off, key, len) == 0) {
            pe = at;
            break;
        }
        slot = (slot + 1) & p->mask;
    }
    if (!pe) {
        uint32_t off;
        if (arena_put(p, key, len, &off) < 0) return -1;
        pe = &p->entries[p->n];
        memset(pe, 0, sizeof *pe);
        pe->hash = h;
        pe->off = off;
        pe->len = (uint32_t)len;
        p->n++;
        p->index[slot] = (uint32_t)p->n;
    }
    pe->num += 1;
    pe->bytes += mem;
    if (has_ttl) {
        pe->ttl_num++;
    } else {
        pe->nottl_num++;
        pe->nottl_bytes += mem;
        if (!pe->has_nx) {
            if (arena_put(p, full, full_len, &pe->nx_off) < 0) return -1;
            pe->nx_len = (uint32_t)full_len;
            pe->has_nx = 1;
        }
    }
    if (small >= 0) {
        pe->small_num++;
        pe->small_bytes += mem;
        pe->small_payload += (uint64_t)(full_len - len - 1) + (uint64_t)small;
        if (!pe->has_sx) {
            if (arena_put(p, full, full_len, &pe->sx_off) < 0) return -1;
            pe->sx_len = (uint32_t)full_len;
            pe->has_sx = 1;
        }
    }
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
        if (e.has_nx) {
            memcpy(arena + alen, p->arena + e.nx_off, e.nx_len);
            e.nx_off = (uint32_t)alen;
            alen += e.nx_len;
        }
        if (e.has_sx) {
            memcpy(arena + alen, p->arena + e.sx_off, e.sx_len);
            e.sx_off = (uint32_t)alen;
            alen += e.sx_len;
        }
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
    if (a->last_db && a->last_db->db == db) return a->last_db;
    a->last_db = NULL; /* a new db may move every slot */
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
        if (a->dbs[s].db == db) return a->last_db = &a->dbs[s];
        s = (s + 1) & (a->db_cap - 1);
    }
    memset(&a->dbs[s], 0, sizeof a->dbs[s]);
    a->dbs[s].db = db;
    a->dbs[s].used = 1;
    a->db_n++;
    return a->last_db = &a->dbs[s];
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

static int example_put(Example *ex, size_t *n, const u8 *key, size_t len) {
    if (*n >= NEXAMPLES) return 0;
    u8 *copy = malloc(len ? len : 1);
    if (!copy) return -1;
    memcpy(copy, key, len);
    ex[*n].key = copy;
    ex[*n].len = len;
    (*n)++;
    return 0;
}

static PyObject *example_list(const Example *ex, size_t n) {
    PyObject *out = PyList_New((Py_ssize_t)n);
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        PyObject *k = PyBytes_FromStringAndSize((const char *)ex[i].key, (Py_ssize_t)ex[i].len);
        if (!k) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, (Py_ssize_t)i, k);
    }
    return out;
}

void agg_free(Agg *a) {
    for (int t = 0; t < NTYPES; t++) {
        prefixes_free(&a->types[t].prefixes);
        for (int b = 0; b < NLADDER; b++)
            for (size_t i = 0; i < a->types[t].ladder[b].nex; i++)
                free(a->types[t].ladder[b].ex[i].key);
    }
    for (size_t i = 0; i < a->long_nex; i++) free(a->long_ex[i].key);
    for (size_t i = 0; i < a->comp_nex; i++) free(a->comp_ex[i].key);
    for (size_t i = 0; i < a->cl_nex; i++) free(a->cl_ex[i].key);
    for (size_t i = 0; i < a->small_sets.nex; i++) free(a->small_sets.ex[i].key);
    for (size_t i = 0; i < a->top_n; i++) free((void *)a->top[i].rec.key);
    free(a->top);
    for (size_t i = 0; i < a->db_cap; i++)
        for (size_t j = 0; j < a->dbs[i].nex; j++) free(a->dbs[i].ex[j].key);
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

int agg_feed(Agg *a, const Rec *rec) {
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
    if (db->nex < NEXAMPLES && example_put(db->ex, &db->nex, rec->key, rec->keylen) < 0)
        return -1;
    int t = ttl_bucket(rec, a->now_ms);
    if (t) db->expires++;
    a->ttl_num[t]++;
    a->ttl_bytes[t] += mem;
    const u8 *key = rec->key;
    size_t len = rec->keylen;
    int has_ttl = t != 0;
    int64_t small = !has_ttl && rec->type == TY_STRING && rec->count <= SMALL_STRING
                        ? (int64_t)rec->count
                        : -1;
    int depth = 0, any = 0;
    if (a->single_delim >= 0) { /* the usual case: memchr, not a byte-by-byte scan */
        const u8 *at = len ? memchr(key, a->single_delim, len) : NULL;
        while (at && depth < a->max_depth) {
            size_t pos = (size_t)(at - key);
            any = 1;
            if (pos) {
                depth++;
                if (prefixes_add(&s->prefixes, key, len, pos, mem, has_ttl, small) < 0) return -1;
            }
            at = pos + 1 < len ? memchr(at + 1, a->single_delim, len - pos - 1) : NULL;
        }
    } else {
        for (size_t pos = 0; pos < len && depth < a->max_depth; pos++) {
            if (!a->is_delim[key[pos]]) continue;
            any = 1;
            if (pos) {
                depth++;
                if (prefixes_add(&s->prefixes, key, len, pos, mem, has_ttl, small) < 0) return -1;
            }
        }
    }
    if (any) {
        s->prefixes.occurrences += (uint64_t)depth;
        if (s->prefixes.n > a->limit && prefixes_prune(&s->prefixes, a->capacity) < 0) return -1;
    }
    if (!a->floor_set || mem > a->floor) {
        if (top_offer(a, rec) < 0) return -1;
    }
    uint64_t n = rec->count;
    int loose = (rec->type == TY_HASH && rec->enc == EN_HASHTABLE) ||
                (rec->type == TY_SET && rec->enc == EN_HASHTABLE) ||
                (rec->type == TY_ZSET && rec->enc == EN_SKIPLIST);
    uint64_t entries = rec->type == TY_SET ? n : 2 * n;
    if (loose && n <= LADDER[NLADDER - 1] &&
        rec->serialized <= entries * (SMALL_STRING + 1)) { /* KeyCounter.feed, _cross */
        Step *step = NULL;
        if (n > LADDER_FLOOR) {
            int b = 0;
            while (n > LADDER[b]) b++;
            step = &s->ladder[b];
        } else if (rec->type == TY_SET) {
            step = &a->small_sets;
        }
        if (step) {
            step->num++;
            step->bytes += mem;
            step->listpack_bytes += rec->serialized + entries + 7;
            step->key_bytes += len;
            if (example_put(step->ex, &step->nex, key, len) < 0) return -1;
        }
    }
    if (len > LONG_KEY) {
        a->long_num++;
        a->long_bytes += len;
        if (example_put(a->long_ex, &a->long_nex, key, len) < 0) return -1;
    }
    if (n >= HUGE_STRING && rec->type == TY_STRING &&
        4 * rec->serialized <= COMPRESSED_QUARTERS * n) {
        a->comp_num++;
        a->comp_len += n;
        a->comp_serialized += rec->serialized;
        if (example_put(a->comp_ex, &a->comp_nex, key, len) < 0) return -1;
    }
    if (mem >= COMPRESSIBLE_LIST && rec->enc == EN_QUICKLIST &&
        4 * rec->serialized <= COMPRESSED_QUARTERS * mem) {
        a->cl_num++;
        a->cl_bytes += mem;
        a->cl_serialized += rec->serialized;
        a->cl_key_bytes += len;
        if (example_put(a->cl_ex, &a->cl_nex, key, len) < 0) return -1;
    }
    a->keys++;
    return 0;
}

PyObject *agg_result(Agg *a) {
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
            PyObject *nx = e->has_nx ? PyBytes_FromStringAndSize((const char *)p->arena + e->nx_off, e->nx_len)
                                     : Py_NewRef(Py_None);
            PyObject *sx = e->has_sx ? PyBytes_FromStringAndSize((const char *)p->arena + e->sx_off, e->sx_len)
                                     : Py_NewRef(Py_None);
            PyObject *v = nx && sx ? Py_BuildValue(
                "[KKKKKKKKNN]", (unsigned long long)e->num, (unsigned long long)e->bytes,
                (unsigned long long)e->ttl_num, (unsigned long long)e->nottl_num,
                (unsigned long long)e->nottl_bytes, (unsigned long long)e->small_num,
                (unsigned long long)e->small_bytes, (unsigned long long)e->small_payload, nx, sx)
                                   : NULL;
            if (!nx || !sx) { /* else Py_BuildValue took both ("N"), also when it failed */
                Py_XDECREF(nx);
                Py_XDECREF(sx);
            }
            int bad = !k || !v || PyDict_SetItem(counts, k, v) < 0;
            Py_XDECREF(k);
            Py_XDECREF(v);
            if (bad) {
                Py_DECREF(counts);
                goto done;
            }
        }
        PyObject *ladder = PyList_New(NLADDER);
        if (!ladder) {
            Py_DECREF(counts);
            goto done;
        }
        for (int b = 0; b < NLADDER; b++) {
            Step *st = &s->ladder[b];
            PyObject *ex = example_list(st->ex, st->nex);
            PyObject *x = ex ? Py_BuildValue("(KKKKN)", (unsigned long long)st->num,
                                             (unsigned long long)st->bytes,
                                             (unsigned long long)st->listpack_bytes,
                                             (unsigned long long)st->key_bytes, ex)
                             : NULL;
            if (!x) {
                Py_DECREF(ladder);
                Py_DECREF(counts);
                goto done;
            }
            PyList_SET_ITEM(ladder, b, x);
        }
        PyObject *entry = Py_BuildValue(
            "{s:K,s:K,s:N,s:N,s:N,s:K,s:K,s:N}", "num", (unsigned long long)s->num, "bytes",
            (unsigned long long)s->bytes, "hist_num", u64_list(s->hist_num, NBOUNDS + 1),
            "hist_bytes", u64_list(s->hist_bytes, NBOUNDS + 1), "prefixes", counts,
            "decremented", (unsigned long long)p->decremented, "occurrences",
            (unsigned long long)p->occurrences, "ladder", ladder);
        if (!entry || PyDict_SetItemString(types, TYPE_NAMES[t].text, entry) < 0) {
            Py_XDECREF(entry);
            goto done;
        }
        Py_DECREF(entry);
    }
    for (size_t i = 0; i < a->db_cap; i++) {
        DbSlot *d = &a->dbs[i];
        if (!d->used) continue;
        PyObject *x = Py_BuildValue("{s:K,s:K,s:K,s:K,s:N}", "db", (unsigned long long)d->db,
                                    "num", (unsigned long long)d->num, "bytes",
                                    (unsigned long long)d->bytes, "expires",
                                    (unsigned long long)d->expires, "examples",
                                    example_list(d->ex, d->nex));
        if (!x || PyList_Append(dbs, x) < 0) {
            Py_XDECREF(x);
            goto done;
        }
        Py_DECREF(x);
    }
    for (size_t i = 0; i < a->top_n; i++) {
        TopEntry *e = &a->top[i];
        PyObject *x = Py_BuildValue("{s:K,s:L,s:N}", "weight", (unsigned long long)e->weight,
                                    "seq", (long long)e->seq, "record", record_tuple(&e->rec));
        if (!x || PyList_Append(top, x) < 0) {
            Py_XDECREF(x);
            goto done;
        }
        Py_DECREF(x);
    }
    uint64_t long_keys[2] = {a->long_num, a->long_bytes};
    uint64_t comp[3] = {a->comp_num, a->comp_len, a->comp_serialized};
    uint64_t lists[4] = {a->cl_num, a->cl_bytes, a->cl_serialized, a->cl_key_bytes};
    Step *ss = &a->small_sets;
    out = Py_BuildValue("{s:O,s:O,s:N,s:N,s:O,s:K,s:N,s:N,s:N,s:N,s:N,s:N,s:(KKKKN)}", "types",
                        types, "dbs",
                        dbs, "ttl_num", u64_list(a->ttl_num, 6), "ttl_bytes",
                        u64_list(a->ttl_bytes, 6), "top", top, "keys",
                        (unsigned long long)a->keys, "long_keys", u64_list(long_keys, 2),
                        "long_examples", example_list(a->long_ex, a->long_nex),
                        "compressible", u64_list(comp, 3), "compressible_examples",
                        example_list(a->comp_ex, a->comp_nex), "compressible_lists",
                        u64_list(lists, 4), "compressible_list_examples",
                        example_list(a->cl_ex, a->cl_nex), "small_sets",
                        (unsigned long long)ss->num, (unsigned long long)ss->bytes,
                        (unsigned long long)ss->listpack_bytes, (unsigned long long)ss->key_bytes,
                        example_list(ss->ex, ss->nex));
done:
    Py_XDECREF(types);
    Py_XDECREF(dbs);
    Py_XDECREF(top);
    return out;
}
