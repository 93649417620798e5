/* Radix-tree node counts of stream IDs inserted in order (rax.py is the reference). */
#include "rax.h"

void rax_init(RaxCounter *t) {
    t->nodes = 1;
    t->elements = 0;
    t->has_last = 0;
    t->last_len = 0;
    t->path_len = 0;
}

static int rax_branch(RaxNode *out, int depth, int length) {
    if (depth == length) {
        out[0] = (RaxNode){length, 0, 0};
        return 1;
    }
    int rest = length - depth;
    out[0] = (RaxNode){depth, rest, rest > 1};
    out[1] = (RaxNode){length, 0, 0};
    return 2;
}

int rax_add(RaxCounter *t, const u8 *key, int length) {
    if (t->path_len == 0) {
        t->path_len = rax_branch(t->path, 0, length);
        t->nodes = (uint64_t)t->path_len;
        t->elements = 1;
        memcpy(t->last, key, (size_t)length);
        t->last_len = length;
        return 0;
    }
    if (t->last_len == length && memcmp(t->last, key, (size_t)length) == 0) return 0;
    if (t->last_len != length) return 0;
    int depth = 0;
    while (depth < length && t->last[depth] == key[depth]) depth++;
    int index = -1;
    for (int i = 0; i < t->path_len; i++) {
        if (t->path[i].start <= depth && depth < t->path[i].start + t->path[i].span) {
            index = i;
            break;
        }
    }
    if (index < 0) return -1;
    RaxNode node = t->path[index];
    int n = index;
    if (node.compressed) {
        int cut = depth - node.start;
        if (cut) {
            t->path[n++] = (RaxNode){node.start, cut, cut > 1};
            t->nodes += 1;
        }
        if (node.span - cut - 1) t->nodes += 1;
    }
    if (n + 3 > RAX_PATH_MAX) return -1;
    t->path[n++] = (RaxNode){depth, 1, 0};
    int tail = rax_branch(t->path + n, depth + 1, length);
    t->nodes += (uint64_t)tail;
    t->path_len = n + tail;
    t->elements += 1;
    memcpy(t->last, key, (size_t)length);
    return 0;
}
