/* CRC-64/Jones, the checksum of an RDB file's trailer (crc64.py), eight bytes a step. */
#ifndef KEYSCOPE_NATIVE_CRC64_H
#define KEYSCOPE_NATIVE_CRC64_H

#include "common.h"

void crc_init(void);
uint64_t crc_update(uint64_t crc, const u8 *p, size_t n);

#endif
