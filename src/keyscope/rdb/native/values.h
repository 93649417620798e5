/* The value of one key, by its RDB type byte (values.c). */
#ifndef KEYSCOPE_NATIVE_VALUES_H
#define KEYSCOPE_NATIVE_VALUES_H

#include "reader.h"

/* Reads the value of RDB type `type` (one the reader accepts) into rec's type, encoding,
   count and value memory. */
void read_value(Reader *r, unsigned type, Rec *rec);
/* Whether `type` is a value type under the file's magic: Redis and Valkey give the types
   past 21 different meanings. */
int value_type_known(const Reader *r, unsigned type);
/* Skips a value saved with the module-API opcodes (also MODULE_AUX and KEY_META bodies),
   keeping its first `keep` unsigned integers in uints (may be NULL); returns how many. */
int skip_module_value(Reader *r, uint64_t *uints, int keep);

#endif
