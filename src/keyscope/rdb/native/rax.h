/*
 * How many nodes Redis's radix tree (rax.c) holds for a sorted run of stream IDs (rax.py is
 * the reference): the insertions replayed on the rightmost path alone.
 */
#ifndef KEYSCOPE_NATIVE_RAX_H
#define KEYSCOPE_NATIVE_RAX_H

#include "common.h"

typedef struct { int start, span, compressed; } RaxNode;
#define RAX_PATH_MAX 80

typedef struct {
    uint64_t nodes, elements;
    int has_last;
    u8 last[16];
    int last_len;
    RaxNode path[RAX_PATH_MAX];
    int path_len;
} RaxCounter;

void rax_init(RaxCounter *t);
/* Keys are at most 16 bytes (stream IDs); returns 0, or -1 when the path is inconsistent. */
int rax_add(RaxCounter *t, const u8 *key, int length);

#endif
