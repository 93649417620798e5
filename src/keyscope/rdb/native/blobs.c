/* Measuring the packed encodings without decoding their values (blobs.py). */
#include "blobs.h"

static const char *LAYOUT_NAMES[] = {"listpack", "ziplist", "intset"};
static const size_t LAYOUT_HEADER[] = {6, 10, 8};

/* from_header: 1 and *count, 0 when only a walk can count, -1 with msg (offset given). */
static int from_header(Reader *r, int layout, const u8 *head, size_t headlen, uint64_t size,
                       uint64_t offset, uint64_t *count) {
    const char *err = NULL;
    if (layout == L_LISTPACK) {
        if (size < 7 || headlen < 6) err = "listpack shorter than its header";
        else if (le32(head) != size) err = "listpack header disagrees with its length";
        else {
            *count = le16(head + 4);
            return *count == 0xFFFF ? 0 : 1;
        }
    } else if (layout == L_ZIPLIST) {
        if (size < 11 || headlen < 10) err = "ziplist shorter than its header";
        else if (le32(head) != size) err = "ziplist header disagrees with its length";
        else {
            *count = le16(head + 8);
            return *count == 0xFFFF ? 0 : 1;
        }
    } else {
        if (size < 8 || headlen < 8) err = "intset shorter than its header";
        else {
            uint64_t width = le32(head), length = le32(head + 4);
            if ((width != 2 && width != 4 && width != 8) || 8 + width * length != size)
                err = "corrupt intset header";
            else {
                *count = length;
                return 1;
            }
        }
    }
    snprintf(r->msg, sizeof r->msg, "%s", err);
    r->err_off = offset;
    return -1;
}

static uint64_t backlen_size(uint64_t size) {
    if (size <= 127) return 1;
    if (size < 16383) return 2;
    if (size < 2097151) return 3;
    if (size < 268435455) return 4;
    return 5;
}

static int listpack_walk(Reader *r, const u8 *blob, uint64_t end, uint64_t offset,
                         uint64_t *count) {
    uint64_t i = 6, n = 0;
    while (i < end) {
        unsigned b = blob[i];
        uint64_t size;
        if (b == 0xFF) {
            *count = n;
            return 0;
        }
        if (b < 0x80) size = 1;
        else if (b < 0xC0) size = 1 + (b & 0x3F);
        else if (b < 0xE0) size = 2;
        else if (b < 0xF0) {
            if (i + 1 >= end) break;
            size = 2 + (((uint64_t)(b & 0x0F) << 8) | blob[i + 1]);
        } else if (b == 0xF0) {
            if (i + 5 > end) break;
            size = 5 + (uint64_t)le32(blob + i + 1);
        } else if (b == 0xF1) size = 3;
        else if (b == 0xF2) size = 4;
        else if (b == 0xF3) size = 5;
        else if (b == 0xF4) size = 9;
        else break;
        i += size + backlen_size(size);
        n++;
    }
    snprintf(r->msg, sizeof r->msg, "listpack is not terminated");
    r->err_off = offset + (i < end ? i : end);
    return -1;
}

static int ziplist_walk(Reader *r, const u8 *blob, uint64_t end, uint64_t offset,
                        uint64_t *count) {
    uint64_t i = 10, n = 0;
    for (;;) {
        if (i >= end) goto corrupt;
        if (blob[i] == 0xFF) {
            *count = n;
            return 0;
        }
        i += blob[i] == 0xFE ? 5 : 1;
        if (i >= end) goto corrupt;
        unsigned b = blob[i];
        unsigned top = b >> 6;
        uint64_t size;
        if (top == 0) {
            i += 1;
            size = b & 0x3F;
            i += size;
        } else if (top == 1) {
            if (i + 1 >= end) goto corrupt;
            size = ((uint64_t)(b & 0x3F) << 8) | blob[i + 1];
            i += 2 + size;
        } else if (top == 2) {
            if (i + 5 > end) goto corrupt;
            size = ((uint64_t)blob[i + 1] << 24) | ((uint64_t)blob[i + 2] << 16) |
                   ((uint64_t)blob[i + 3] << 8) | blob[i + 4];
            i += 5 + size;
        } else {
            size = b == 0xC0 ? 2 : b == 0xD0 ? 4 : b == 0xE0 ? 8 : b == 0xF0 ? 3 : b == 0xFE ? 1 : 0;
            i += 1 + size;
            if (size == 0 && !(b >= 0xF1 && b <= 0xFD)) goto corrupt;
        }
        if (i > end) goto corrupt;
        n++;
    }
corrupt:
    snprintf(r->msg, sizeof r->msg, "corrupt ziplist");
    r->err_off = offset + (i < end ? i : end);
    return -1;
}

static int layout_walk(Reader *r, int layout, const u8 *blob, uint64_t size, uint64_t offset,
                       uint64_t *count) {
    if (layout == L_LISTPACK) return listpack_walk(r, blob, size, offset, count);
    if (layout == L_ZIPLIST) return ziplist_walk(r, blob, size, offset, count);
    return from_header(r, layout, blob, (size_t)size, size, offset, count) < 0 ? -1 : 0;
}

/* _packed: a packed structure's size and element count, from its header where possible. */
uint64_t packed(Reader *r, int layout, uint64_t *count) {
    uint64_t start = OFF(r);
    int enc;
    uint64_t n = rlength(r, &enc);
    size_t header = LAYOUT_HEADER[layout];
    if (!enc) {
        uint64_t at = OFF(r);
        size_t hl = n < header ? (size_t)n : header;
        const u8 *head = rbytes(r, hl);
        int got = from_header(r, layout, head, hl, n, at, count);
        if (got < 0) raise_pending(r);
        if (got == 0) {
            r->pos -= hl; /* the header is still in the buffer: read the whole blob */
            const u8 *blob = rbytes(r, n);
            if (layout_walk(r, layout, blob, n, at, count) < 0) raise_pending(r);
            return n;
        }
        rskip(r, n - hl);
        return n;
    }
    if (n != 3)
        fail(r, start, "an integer where a %s was expected", LAYOUT_NAMES[layout]);
    uint64_t clen, ulen;
    lzf_lengths(r, &clen, &ulen);
    uint64_t at = OFF(r);
    const u8 *data = rbytes(r, clen);
    int64_t hl = lzf_decompress(r, data, clen, ulen, (int64_t)header, at, &r->tmp, &r->tmpcap);
    int got = hl < 0 ? -1 : from_header(r, layout, r->tmp, (size_t)hl, ulen, 0, count);
    if (got == 0) {
        int64_t full = lzf_decompress(r, data, clen, ulen, -1, at, &r->tmp, &r->tmpcap);
        got = full < 0 ? -1 : layout_walk(r, layout, r->tmp, ulen, 0, count);
    }
    if (got < 0) {
        size_t len = strlen(r->msg);
        snprintf(r->msg + len, sizeof r->msg - len, " (in LZF-compressed data)");
        r->err_off = start;
        raise_pending(r);
    }
    return ulen;
}

/* zipmap_sizes: the number of pairs, or -1 with the message set. */
int zipmap_count(Reader *r, const u8 *blob, uint64_t end, uint64_t offset, uint64_t *pairs) {
    uint64_t i = 1, n = 0;
    for (;;) {
        if (i >= end) goto corrupt;
        if (blob[i] == 0xFF) break;
        uint64_t flen, vlen;
        unsigned b = blob[i];
        if (b < 254) flen = b, i += 1;
        else {
            if (i + 5 > end) goto corrupt;
            flen = le32(blob + i + 1);
            i += 5;
        }
        i += flen;
        if (i >= end) goto corrupt;
        b = blob[i];
        if (b < 254) vlen = b, i += 1;
        else if (b == 254) {
            if (i + 5 > end) goto corrupt;
            vlen = le32(blob + i + 1);
            i += 5;
        } else goto corrupt;
        if (i >= end) goto corrupt;
        unsigned free_ = blob[i];
        i += 1 + vlen + free_;
        if (i > end) goto corrupt;
        n++;
    }
    *pairs = n;
    return 0;
corrupt:
    snprintf(r->msg, sizeof r->msg, "corrupt zipmap");
    r->err_off = offset + (i < end ? i : end);
    return -1;
}
