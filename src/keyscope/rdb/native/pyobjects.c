/* Records and numbers as Python objects (pyobjects.h). */
#include "pyobjects.h"

static PyObject *type_str[NTYPES];
static PyObject *enc_str[NENCS];
static PyObject *basis_model, *basis_serialized; /* KeyRecord.memory_basis */

int pyobjects_init(void) {
    if (!(basis_model = PyUnicode_InternFromString("model"))) return -1;
    if (!(basis_serialized = PyUnicode_InternFromString("serialized"))) return -1;
    for (int i = 0; i < NTYPES; i++)
        if (!(type_str[i] = PyUnicode_InternFromString(TYPE_NAMES[i].text))) return -1;
    for (int i = 0; i < NENCS; i++)
        if (!(enc_str[i] = PyUnicode_InternFromString(ENC_NAMES[i].text))) return -1;
    return 0;
}

PyObject *type_object(int type) {
    Py_INCREF(type_str[type]);
    return type_str[type];
}

static PyObject *enc_object(const Rec *rec) {
    if (rec->enc == EN_MODULE) return PyUnicode_FromString(rec->module);
    Py_INCREF(enc_str[rec->enc]);
    return enc_str[rec->enc];
}

PyObject *record_tuple(const Rec *rec) {
    PyObject *expiry;
    if (rec->has_expiry) expiry = PyLong_FromLongLong(rec->expiry);
    else {
        Py_INCREF(Py_None);
        expiry = Py_None;
    }
    PyObject *enc = enc_object(rec);
    Py_INCREF(type_str[rec->type]);
    PyObject *basis = rec->type == TY_MODULE ? basis_serialized : basis_model;
    Py_INCREF(basis);
    return Py_BuildValue("(Ky#NNNKKKN)", (unsigned long long)rec->db, (const char *)rec->key,
                         (Py_ssize_t)rec->keylen, type_str[rec->type], enc, expiry,
                         (unsigned long long)rec->count, (unsigned long long)rec->serialized,
                         (unsigned long long)rec->memory, basis);
}

PyObject *u64(uint64_t v) { return PyLong_FromUnsignedLongLong(v); }

PyObject *u64_list(const uint64_t *v, size_t n) {
    PyObject *list = PyList_New((Py_ssize_t)n);
    if (!list) return NULL;
    for (size_t i = 0; i < n; i++) {
        PyObject *x = u64(v[i]);
        if (!x) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, x);
    }
    return list;
}
