/* The value of one key, by its RDB type byte (values.c). */
#ifndef KEYSCOPE_NATIVE_VALUES_H
#define KEYSCOPE_NATIVE_VALUES_H

#include "reader.h"

/* Reads the value of RDB type `type` (one the reader accepts) into rec's type, encoding,
   count and value memory. */
void read_value(Reader *r, unsigned type, Rec *rec);
/* Skips a module value serialized with the module-API opcodes (also MODULE_AUX bodies). */
void skip_module_value(Reader *r);

#endif
