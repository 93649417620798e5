/* Records and numbers as Python objects: the tuples of KeyRecord, interned names. */
#ifndef KEYSCOPE_NATIVE_PYOBJECTS_H
#define KEYSCOPE_NATIVE_PYOBJECTS_H

#include "reader.h"

/* Interned str of each type and encoding name; 0, or -1 with an exception set. */
int pyobjects_init(void);
PyObject *type_object(int type);
/* The fields of a KeyRecord, in its order. */
PyObject *record_tuple(const Rec *rec);
PyObject *u64(uint64_t v);
PyObject *u64_list(const uint64_t *v, size_t n);

#endif
