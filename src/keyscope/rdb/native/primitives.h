/*
 * The RDB's primitive encodings (primitives.py and lzf.py are the reference): lengths,
 * strings (plain, integer, LZF). A declared LZF plain length is bounded by what its
 * compressed bytes can expand to.
 */
#ifndef KEYSCOPE_NATIVE_PRIMITIVES_H
#define KEYSCOPE_NATIVE_PRIMITIVES_H

#include "source.h"

/* Lengths and skipped strings are read per element of every value: their common cases are
   inline here, the rest (32/64-bit lengths, encoded strings, errors) out of line. */
uint64_t rlength_wide(Reader *r, unsigned first);
void fail_encoded_length(Reader *r) __attribute__((noreturn));
uint64_t string_len_encoded(Reader *r, uint64_t encoding);

/* A length, or with *encoded set the special encoding (0-2 an integer, 3 LZF). */
static inline __attribute__((always_inline)) uint64_t rlength(Reader *r, int *encoded) {
    unsigned b = rbyte(r);
    *encoded = 0;
    if (b < 0x40) return b;
    if (b < 0x80) return ((uint64_t)(b & 0x3f) << 8) | rbyte(r);
    if ((b >> 6) == 3) {
        *encoded = 1;
        return b & 0x3f;
    }
    return rlength_wide(r, b);
}

/* A length; an encoded value is a format error. */
static inline __attribute__((always_inline)) uint64_t rlen(Reader *r) {
    int enc;
    uint64_t n = rlength(r, &enc);
    if (enc) fail_encoded_length(r);
    return n;
}
int64_t encoded_int(Reader *r, uint64_t enc);
size_t int_text(int64_t v, u8 *out);
void lzf_lengths(Reader *r, uint64_t *clen, uint64_t *ulen);
/* Into *out (grown), to `expected` bytes or only the first `limit` (limit < 0: all).
   Returns the bytes produced, or -1 with r->msg/err_off set. */
int64_t lzf_decompress(Reader *r, const u8 *data, uint64_t n, uint64_t expected,
                       int64_t limit, uint64_t offset, u8 **out, size_t *outcap);
/* A whole string (decompressed, integers as text) into *dst. */
void read_string(Reader *r, u8 **dst, size_t *dstcap, size_t *dstlen);
/* Skips a string, returning its length. */
static inline __attribute__((always_inline)) uint64_t string_len(Reader *r) {
    int enc;
    uint64_t n = rlength(r, &enc);
    if (enc) return string_len_encoded(r, n);
    rskip(r, n);
    return n;
}
/* A string value's length and whether Redis keeps it as an integer. */
uint64_t string_value(Reader *r, int *is_int);

#endif
