/* CRC-64/Jones with slicing-by-8 tables (crc64.py is the reference). */
#include "crc64.h"

static uint64_t crc_table[8][256];

void crc_init(void) {
    const uint64_t poly = 0x95AC9329AC4BC9B5ULL;
    for (int i = 0; i < 256; i++) {
        uint64_t crc = (uint64_t)i;
        for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ poly : crc >> 1;
        crc_table[0][i] = crc;
    }
    for (int i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

uint64_t crc_update(uint64_t crc, const u8 *p, size_t n) {
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
