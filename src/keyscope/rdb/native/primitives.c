/* Lengths, strings and LZF (primitives.py, lzf.py). */
#include "primitives.h"

int64_t encoded_int(Reader *r, uint64_t enc) {
    if (enc == 0) return (int8_t)rbytes(r, 1)[0];
    if (enc == 1) {
        const u8 *p = rbytes(r, 2);
        return (int16_t)(uint16_t)(p[0] | (p[1] << 8));
    }
    if (enc == 2) {
        const u8 *p = rbytes(r, 4);
        return (int32_t)((uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                         ((uint32_t)p[3] << 24));
    }
    fail(r, OFF(r) - 1, "unknown string encoding %llu", (unsigned long long)enc);
}

uint64_t rlength_wide(Reader *r, unsigned b) {
    if (b == 0x80) {
        const u8 *p = rbytes(r, 4);
        return ((uint64_t)p[0] << 24) | ((uint64_t)p[1] << 16) | ((uint64_t)p[2] << 8) | p[3];
    }
    if (b == 0x81) {
        const u8 *p = rbytes(r, 8);
        uint64_t v = 0;
        for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
        return v;
    }
    fail(r, OFF(r) - 1, "bad length prefix 0x%02x", b);
}

void fail_encoded_length(Reader *r) {
    fail(r, OFF(r) - 1, "encoded value where a length was expected");
}

/* The decimal text of v (as "%lld" writes it) into out, which holds 24 bytes; its length.
   Integer-encoded keys and values are common enough that snprintf was 3 % of a pass. */
size_t int_text(int64_t v, u8 *out) {
    u8 digits[20];
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t n = 0;
    do {
        digits[n++] = (u8)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0) out[len++] = '-';
    while (n) out[len++] = digits[--n];
    out[len] = 0;
    return len;
}

void lzf_lengths(Reader *r, uint64_t *clen, uint64_t *ulen) {
    uint64_t at = OFF(r);
    *clen = rlen(r);
    *ulen = rlen(r);
    if ((u128)*ulen > (u128)*clen * 88 + 1)
        fail(r, at, "LZF blob of %llu bytes cannot expand to %llu", (unsigned long long)*clen,
             (unsigned long long)*ulen);
}

/* lzf.decompress: into *out (grown), to `expected` bytes or only the first `limit`.
 * Returns the bytes produced (capped at the stop), or -1 with r->msg/err_off set. */
int64_t lzf_decompress(Reader *r, const u8 *data, uint64_t n, uint64_t expected,
                       int64_t limit, uint64_t offset, u8 **out, size_t *outcap) {
    uint64_t stop = limit < 0 ? expected : ((uint64_t)limit < expected ? (uint64_t)limit : expected);
    grow(r, out, outcap, (size_t)stop + 300);
    u8 *o = *out;
    uint64_t olen = 0, i = 0;
    while (i < n && olen < stop) {
        unsigned ctrl = data[i++];
        if (ctrl < 32) {
            uint64_t run = ctrl + 1;
            uint64_t have = i + run > n ? n - i : run;
            memcpy(o + olen, data + i, (size_t)have);
            olen += have;
            if (i + run > n) goto corrupt;
            i += run;
        } else {
            uint64_t length = ctrl >> 5;
            if (length == 7) {
                if (i >= n) goto corrupt;
                length += data[i++];
            }
            if (i >= n) goto corrupt;
            int64_t back = (int64_t)olen - (int64_t)((ctrl & 0x1f) << 8) - (int64_t)data[i] - 1;
            i++;
            if (back < 0) goto corrupt;
            length += 2;
            for (uint64_t k = 0; k < length; k++) o[olen + k] = o[(uint64_t)back + k];
            olen += length;
        }
    }
    if (limit < 0 && olen != expected) {
        snprintf(r->msg, sizeof r->msg, "LZF data decompressed to %llu bytes, expected %llu",
                 (unsigned long long)olen, (unsigned long long)expected);
        r->err_off = offset;
        return -1;
    }
    return (int64_t)(olen < stop ? olen : stop);
corrupt:
    snprintf(r->msg, sizeof r->msg, "corrupt LZF data");
    r->err_off = offset + i;
    return -1;
}

/* _string into the key buffer (keys, stream node IDs). */
void read_string(Reader *r, u8 **dst, size_t *dstcap, size_t *dstlen) {
    int enc;
    uint64_t n = rlength(r, &enc);
    if (!enc) {
        const u8 *p = rbytes(r, n);
        grow(r, dst, dstcap, (size_t)n + 1);
        memcpy(*dst, p, (size_t)n);
        *dstlen = (size_t)n;
        return;
    }
    if (n == 3) {
        uint64_t clen, ulen;
        lzf_lengths(r, &clen, &ulen);
        uint64_t at = OFF(r);
        const u8 *p = rbytes(r, clen);
        int64_t got = lzf_decompress(r, p, clen, ulen, -1, at, dst, dstcap);
        if (got < 0) raise_pending(r);
        *dstlen = (size_t)got;
        return;
    }
    int64_t v = encoded_int(r, n);
    grow(r, dst, dstcap, 24);
    *dstlen = int_text(v, *dst);
}

uint64_t string_len_encoded(Reader *r, uint64_t n) {
    if (n == 3) {
        uint64_t clen, ulen;
        lzf_lengths(r, &clen, &ulen);
        rskip(r, clen);
        return ulen;
    }
    return int_text(encoded_int(r, n), r->strbuf);
}

static int canonical_int(const u8 *p, size_t n) {
    if (n == 0 || n > 20) return 0;
    size_t i = 0;
    int neg = 0;
    if (p[0] == '-') {
        neg = 1;
        i = 1;
        if (n == 1) return 0;
    }
    if (p[i] == '0') return n == i + 1 && !neg; /* "0" only; "-0" and leading zeros are not */
    u128 v = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        v = v * 10 + (p[i] - '0');
    }
    return neg ? v <= ((u128)1 << 63) : v < ((u128)1 << 63);
}

/* _string_value: a string's length and whether Redis keeps it as an integer. */
uint64_t string_value(Reader *r, int *is_int) {
    int enc;
    uint64_t n = rlength(r, &enc);
    if (enc) {
        if (n == 3) {
            uint64_t clen, ulen;
            lzf_lengths(r, &clen, &ulen);
            rskip(r, clen);
            *is_int = 0;
            return ulen;
        }
        *is_int = 1;
        return int_text(encoded_int(r, n), r->strbuf);
    }
    if (n <= 20) {
        const u8 *p = rbytes(r, n);
        *is_int = canonical_int(p, (size_t)n);
        return n;
    }
    rskip(r, n);
    *is_int = 0;
    return n;
}
