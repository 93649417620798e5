/*
 * The packed encodings (blobs.py is the reference): listpack, ziplist and intset counted
 * from their header where it is enough, else walked; zipmaps (Redis < 2.6 hashes) walked.
 */
#ifndef KEYSCOPE_NATIVE_BLOBS_H
#define KEYSCOPE_NATIVE_BLOBS_H

#include "primitives.h"

enum { L_LISTPACK, L_ZIPLIST, L_INTSET };

/* A packed structure's size and, in *count, its element count; values past the header are
   skipped unread (and, compressed, never decompressed) unless only a walk can count them. */
uint64_t packed(Reader *r, int layout, uint64_t *count);
/* The number of pairs of a zipmap blob, or -1 with the message set. */
int zipmap_count(Reader *r, const u8 *blob, uint64_t end, uint64_t offset, uint64_t *pairs);

#endif
