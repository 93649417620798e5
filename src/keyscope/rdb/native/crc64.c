/*
 * CRC-64/Jones (crc64.py is the reference): reflected, polynomial 0xad93d23594c935a9, as
 * Redis's crc64.c computes the trailer of an RDB file.
 *
 * Two ways to the same value: slicing-by-8 tables everywhere, and on x86-64 CPUs with
 * PCLMULQDQ a carry-less-multiply fold of 64 bytes a step (about ten times faster, which
 * takes the checksum off the critical path of reading a file). The fold keeps a 128-bit
 * remainder S whose checksum is S * x^64 mod P; moving it D bits forward multiplies its
 * two 64-bit halves by x^(D+64) and x^D mod P. In the reflected bit order a carry-less
 * product carries one extra factor x, so the constants are x^(D+63) and x^(D-1) mod P.
 * The last 16-byte remainder goes through the tables, which also take any tail.
 */
#include "crc64.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define POLY_REFLECTED 0x95AC9329AC4BC9B5ULL
#define POLY_NORMAL 0xAD93D23594C935A9ULL

static uint64_t crc_table[8][256];

static uint64_t crc_table_update(uint64_t crc, const u8 *p, size_t n) {
    while (n && ((uintptr_t)p & 7)) {
        crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        n--;
    }
    while (n >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        x ^= crc;
        crc = crc_table[7][x & 0xff] ^ crc_table[6][(x >> 8) & 0xff] ^
              crc_table[5][(x >> 16) & 0xff] ^ crc_table[4][(x >> 24) & 0xff] ^
              crc_table[3][(x >> 32) & 0xff] ^ crc_table[2][(x >> 40) & 0xff] ^
              crc_table[1][(x >> 48) & 0xff] ^ crc_table[0][x >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)

/* x^n mod P, reflected (bit i stands for x^(63-i)). */
static uint64_t xpow_mod(unsigned n) {
    uint64_t r = 1; /* normal order: bit i stands for x^i */
    while (n--) r = (r << 1) ^ ((r >> 63) ? POLY_NORMAL : 0);
    uint64_t out = 0;
    for (int i = 0; i < 64; i++) out |= ((r >> i) & 1) << (63 - i);
    return out;
}

static int use_clmul;
/* Fold constants for 128, 256, 384 and 512 bits: {x^(D-1), x^(D+63)} mod P. */
static uint64_t fold_k[4][2];

__attribute__((target("pclmul,sse4.1"))) static inline __m128i fold(__m128i acc, __m128i k) {
    /* low qword: the high-degree half, times x^(D+63); high qword times x^(D-1) */
    return _mm_xor_si128(_mm_clmulepi64_si128(acc, k, 0x00), _mm_clmulepi64_si128(acc, k, 0x11));
}

__attribute__((target("pclmul,sse4.1"))) static uint64_t crc_clmul_update(uint64_t crc,
                                                                         const u8 *p,
                                                                         size_t n) {
    __m128i k128 = _mm_set_epi64x((long long)fold_k[0][0], (long long)fold_k[0][1]);
    __m128i k256 = _mm_set_epi64x((long long)fold_k[1][0], (long long)fold_k[1][1]);
    __m128i k384 = _mm_set_epi64x((long long)fold_k[2][0], (long long)fold_k[2][1]);
    __m128i k512 = _mm_set_epi64x((long long)fold_k[3][0], (long long)fold_k[3][1]);
    __m128i a0 = _mm_loadu_si128((const __m128i *)p);
    __m128i a1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i a2 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i a3 = _mm_loadu_si128((const __m128i *)(p + 48));
    /* the running checksum enters as the first 64 bits of the message */
    a0 = _mm_xor_si128(a0, _mm_cvtsi64_si128((long long)crc));
    p += 64;
    n -= 64;
    while (n >= 64) {
        a0 = _mm_xor_si128(fold(a0, k512), _mm_loadu_si128((const __m128i *)p));
        a1 = _mm_xor_si128(fold(a1, k512), _mm_loadu_si128((const __m128i *)(p + 16)));
        a2 = _mm_xor_si128(fold(a2, k512), _mm_loadu_si128((const __m128i *)(p + 32)));
        a3 = _mm_xor_si128(fold(a3, k512), _mm_loadu_si128((const __m128i *)(p + 48)));
        p += 64;
        n -= 64;
    }
    __m128i s = _mm_xor_si128(_mm_xor_si128(fold(a0, k384), fold(a1, k256)),
                              _mm_xor_si128(fold(a2, k128), a3));
    u8 rest[16];
    _mm_storeu_si128((__m128i *)rest, s);
    crc = crc_table_update(0, rest, 16); /* S * x^64 mod P */
    return crc_table_update(crc, p, n);
}

#endif

void crc_init(void) {
    for (int i = 0; i < 256; i++) {
        uint64_t crc = (uint64_t)i;
        for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ POLY_REFLECTED : crc >> 1;
        crc_table[0][i] = crc;
    }
    for (int i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
#if defined(__x86_64__)
    for (int d = 0; d < 4; d++) {
        unsigned bits = 128 * (unsigned)(d + 1);
        fold_k[d][0] = xpow_mod(bits - 1);
        fold_k[d][1] = xpow_mod(bits + 63);
    }
    __builtin_cpu_init();
    use_clmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
#endif
}

uint64_t crc_update(uint64_t crc, const u8 *p, size_t n) {
#if defined(__x86_64__)
    if (use_clmul && n >= 128) return crc_clmul_update(crc, p, n);
#endif
    return crc_table_update(crc, p, n);
}
