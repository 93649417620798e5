/*
 * keyscope.rdb._speedups: the compiled fast path of the RDB reader and the offline report.
 *
 * The pure-Python modules are the reference: reader.py, primitives.py, blobs.py, lzf.py,
 * memory.py, rax.py (reading and the memory model) and analysis/offline.py and prefixes.py
 * (the report). The C files here do the same, record for record and byte for byte of the
 * report, and tests/unit/rdb/test_fast_path.py holds them to that on every corpus file,
 * generated files and mutated ones. Change both together. common.h maps the layers.
 *
 * This file is the Python surface: a Reader parses one key at a time into a Rec; three
 * consumers use it: next_batch (tuples for Python), aggregate (the offline report's counters,
 * no Python object per key) and write_keys (the JSON-lines or CSV rows of `keyscope rdb
 * keys`). Errors unwind with longjmp to the entry point here, which raises the
 * RdbFormatError class given to set_error_class.
 *
 * Input is a file descriptor (read with pread, the GIL released; the checksum is computed by
 * a second thread reading the same file) or any Python object with readinto (the checksum
 * inline).
 */
#include "aggregate.h"
#include "checksum.h"
#include "crc64.h"
#include "pyobjects.h"
#include "reader.h"
#include "source.h"
#include "writer.h"

static PyObject *error_class; /* RdbFormatError(message, offset=...) */

typedef struct {
    PyObject_HEAD
    Reader r;
    PyObject *pending; /* a list under construction, dropped on errors */
    PyObject *deferred_type, *deferred_value, *deferred_tb; /* ended a batch; raised next call */
} ReaderObject;

static int reader_init(ReaderObject *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"source", "start", "size", "verify_checksum", "memory_model", NULL};
    PyObject *source;
    unsigned long long start = 0, size = 0;
    int verify = 1;
    const char *model = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|KKpz", names, &source, &start, &size, &verify,
                                     &model))
        return -1;
    Reader *r = &self->r;
    if (r->buf) {
        PyErr_SetString(PyExc_RuntimeError, "Reader already initialised");
        return -1;
    }
    r->mem = (MemModel){ML_REDIS_7_0, MA_JEMALLOC};
    r->redis_ver = r->valkey_ver = -1;
    if (model) {
        if (mem_parse(model, &r->mem) < 0) {
            PyErr_Format(PyExc_ValueError, "unknown memory model %s", model);
            return -1;
        }
        r->mem_chosen = 1;
    }
    r->fd = -1;
    r->verify = verify;
    if (PyLong_Check(source)) {
        r->fd = (int)PyLong_AsLong(source);
        if (r->fd < 0) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "bad file descriptor");
            return -1;
        }
        r->fd_start = start;
        r->fd_size = size;
        r->fd_next = start;
        if (size < start) {
            PyErr_SetString(PyExc_ValueError, "size before start");
            return -1;
        }
    } else {
        r->readinto = PyObject_GetAttrString(source, "readinto");
        if (!r->readinto) return -1;
        Py_INCREF(source);
        r->stream = source;
        r->crc_inline = verify;
    }
    r->aux = PyDict_New();
    if (!r->aux) return -1;
    r->cap = 4 * CHUNK;
    r->buf = malloc(r->cap);
    if (!r->buf) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void reader_dealloc(ReaderObject *self) {
    reader_release(&self->r);
    Py_CLEAR(self->pending);
    Py_CLEAR(self->deferred_type);
    Py_CLEAR(self->deferred_value);
    Py_CLEAR(self->deferred_tb);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* After a longjmp: hold the GIL again, stop the checksum thread, raise. */
static PyObject *raise_error(ReaderObject *self) {
    Reader *r = &self->r;
    if (r->released) {
        PyEval_RestoreThread(r->released);
        r->released = NULL;
    }
    crc_thread_stop(r);
    Py_CLEAR(self->pending);
    r->env_set = 0;
    r->failed = 1;
    if (r->pyerr) return NULL;
    PyObject *args = Py_BuildValue("(s)", r->msg);
    PyObject *kw = Py_BuildValue("{s:K}", "offset", (unsigned long long)r->err_off);
    if (args && kw) {
        PyObject *exc = PyObject_Call(error_class ? error_class : PyExc_ValueError, args, kw);
        if (exc) {
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
            Py_DECREF(exc);
        }
    }
    Py_XDECREF(args);
    Py_XDECREF(kw);
    return NULL;
}

static int check_usable(Reader *r) {
    if (!r->buf) {
        PyErr_SetString(PyExc_ValueError, "Reader not initialised or closed");
        return -1;
    }
    if (r->failed) {
        PyErr_SetString(PyExc_ValueError, "Reader already failed");
        return -1;
    }
    if (r->env_set) {
        PyErr_SetString(PyExc_RuntimeError, "Reader is in use");
        return -1;
    }
    return 0;
}

static PyObject *reader_next_batch(ReaderObject *self, PyObject *arg) {
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n < 0 && PyErr_Occurred()) return NULL;
    Reader *r = &self->r;
    if (self->deferred_type) {
        PyErr_Restore(self->deferred_type, self->deferred_value, self->deferred_tb);
        self->deferred_type = self->deferred_value = self->deferred_tb = NULL;
        return NULL;
    }
    if (check_usable(r) < 0) return NULL;
    self->pending = PyList_New(0);
    if (!self->pending) return NULL;
    if (setjmp(r->env)) {
        /* the records read before the error come first, as the pure reader yields them */
        PyObject *partial = self->pending;
        self->pending = NULL;
        raise_error(self);
        if (partial && PyList_GET_SIZE(partial) > 0) {
            PyErr_Fetch(&self->deferred_type, &self->deferred_value, &self->deferred_tb);
            return partial;
        }
        Py_XDECREF(partial);
        return NULL;
    }
    r->env_set = 1;
    Rec rec;
    for (Py_ssize_t i = 0; i < n && next_record(r, &rec); i++) {
        PyObject *t = record_tuple(&rec);
        if (!t || PyList_Append(self->pending, t) < 0) {
            Py_XDECREF(t);
            fail_py(r);
        }
        Py_DECREF(t);
    }
    r->env_set = 0;
    PyObject *out = self->pending;
    self->pending = NULL;
    return out;
}

typedef struct {
    Agg agg;
    PyObject *progress;
    uint64_t every;
} AggRun;

static PyObject *reader_aggregate(ReaderObject *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"top_keys", "capacity", "delimiters", "max_depth", "now_ms",
                            "progress", "every", NULL};
    Py_ssize_t top_keys, capacity;
    Py_buffer delims;
    int max_depth;
    long long now_ms;
    PyObject *progress = Py_None;
    Py_ssize_t every = 8192;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "nny*iL|On", names, &top_keys, &capacity, &delims,
                                     &max_depth, &now_ms, &progress, &every))
        return NULL;
    Reader *r = &self->r;
    if (top_keys < 0 || capacity < 1 || max_depth < 1 || every < 1 || delims.len < 1) {
        PyBuffer_Release(&delims);
        PyErr_SetString(PyExc_ValueError, "bad aggregate options");
        return NULL;
    }
    if (check_usable(r) < 0) {
        PyBuffer_Release(&delims);
        return NULL;
    }
    /* static storage of the run: setjmp-safe (nothing below lives only in a register) */
    AggRun *run = calloc(1, sizeof *run);
    if (!run) {
        PyBuffer_Release(&delims);
        return PyErr_NoMemory();
    }
    int ok = agg_setup(&run->agg, (size_t)top_keys, (size_t)capacity, delims.buf,
                       (size_t)delims.len, max_depth, now_ms) == 0;
    PyBuffer_Release(&delims);
    if (!ok) {
        free(run);
        return PyErr_NoMemory();
    }
    run->progress = progress == Py_None ? NULL : progress;
    run->every = (uint64_t)every;
    if (setjmp(r->env)) {
        PyObject *res = raise_error(self);
        agg_free(&run->agg);
        free(run);
        return res;
    }
    r->env_set = 1;
    if (r->fd >= 0) r->released = PyEval_SaveThread();
    Rec rec;
    uint64_t next_report = run->every;
    while (next_record(r, &rec)) {
        if (agg_feed(&run->agg, &rec) < 0) fail_nomem(r);
        if (run->progress && run->agg.keys >= next_report) {
            next_report += run->every;
            PyThreadState *saved;
            gil_take(r, &saved);
            PyObject *res = PyObject_CallFunction(run->progress, "KK",
                                                  (unsigned long long)run->agg.keys,
                                                  (unsigned long long)OFF(r));
            if (!res) fail_py(r);
            Py_DECREF(res);
            gil_give(r, saved);
        }
    }
    if (r->released) {
        PyEval_RestoreThread(r->released);
        r->released = NULL;
    }
    if (run->progress) {
        PyObject *res = PyObject_CallFunction(run->progress, "KK", (unsigned long long)run->agg.keys,
                                              (unsigned long long)OFF(r));
        if (!res) fail_py(r);
        Py_DECREF(res);
    }
    r->env_set = 0;
    PyObject *out = agg_result(&run->agg);
    agg_free(&run->agg);
    free(run);
    return out;
}

static PyObject *reader_write_keys(ReaderObject *self, PyObject *args) {
    PyObject *write;
    const char *fmt;
    if (!PyArg_ParseTuple(args, "Os", &write, &fmt)) return NULL;
    int json = strcmp(fmt, "jsonl") == 0;
    if (!json && strcmp(fmt, "csv") != 0) {
        PyErr_SetString(PyExc_ValueError, "format must be jsonl or csv");
        return NULL;
    }
    Reader *r = &self->r;
    if (check_usable(r) < 0) return NULL;
    WriteRun *w = calloc(1, sizeof *w);
    if (!w) return PyErr_NoMemory();
    if (PyLong_Check(write)) {
        w->fd = (int)PyLong_AsLong(write);
        if (w->fd < 0) {
            free(w);
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "bad file descriptor");
            return NULL;
        }
    } else {
        w->write = write;
    }
    if (setjmp(r->env)) {
        PyObject *res = raise_error(self);
        /* what was formatted before the error still goes out, as the pure path writes it */
        if (w->out.len && !r->pyerr && !w->write) {
            (void)write_all(w->fd, w->out.buf, w->out.len); /* the format error comes first */
        } else if (w->out.len && !r->pyerr) {
            PyObject *et, *ev, *etb;
            PyErr_Fetch(&et, &ev, &etb);
            PyObject *b = PyBytes_FromStringAndSize((const char *)w->out.buf, (Py_ssize_t)w->out.len);
            PyObject *res2 = b ? PyObject_CallOneArg(w->write, b) : NULL;
            Py_XDECREF(b);
            if (res2) {
                Py_DECREF(res2);
                PyErr_Restore(et, ev, etb);
            } else {
                Py_XDECREF(et);
                Py_XDECREF(ev);
                Py_XDECREF(etb);
            }
        }
        free(w->out.buf);
        free(w);
        return res;
    }
    r->env_set = 1;
    if (r->fd >= 0) r->released = PyEval_SaveThread();
    Rec rec;
    while (next_record(r, &rec)) {
        if (out_row(&w->out, &rec, json) < 0) fail_nomem(r);
        if (w->out.len >= CHUNK) flush_out(r, w);
    }
    if (w->out.len) flush_out(r, w);
    if (r->released) {
        PyEval_RestoreThread(r->released);
        r->released = NULL;
    }
    r->env_set = 0;
    free(w->out.buf);
    free(w);
    return u64(r->keys);
}

static PyObject *reader_close(ReaderObject *self, PyObject *unused) {
    if (self->r.env_set) {
        PyErr_SetString(PyExc_RuntimeError, "Reader is in use");
        return NULL;
    }
    crc_thread_stop(&self->r);
    Py_RETURN_NONE;
}

static PyObject *get_version(ReaderObject *self, void *c) { return PyLong_FromLong(self->r.version); }
static PyObject *get_valkey(ReaderObject *self, void *c) { return PyBool_FromLong(self->r.valkey); }
static PyObject *get_memory_model(ReaderObject *self, void *c) {
    return PyUnicode_FromFormat("%s/%s", MEM_LAYOUT_NAMES[self->r.mem.layout],
                                MEM_ALLOCATOR_NAMES[self->r.mem.allocator]);
}
static PyObject *get_functions(ReaderObject *self, void *c) { return u64(self->r.functions); }
static PyObject *get_bytes_read(ReaderObject *self, void *c) { return u64(OFF(&self->r)); }
static PyObject *get_finished(ReaderObject *self, void *c) { return PyBool_FromLong(self->r.finished); }
static PyObject *get_aux(ReaderObject *self, void *c) {
    if (!self->r.aux) return PyDict_New();
    return PyDict_Copy(self->r.aux);
}
static PyObject *get_modules(ReaderObject *self, void *c) {
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    for (size_t i = 0; i < self->r.modules.n; i++) {
        PyObject *v = u64(self->r.modules.items[i].count);
        if (!v || PyDict_SetItemString(d, self->r.modules.items[i].name, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(v);
    }
    return d;
}

static PyGetSetDef reader_getset[] = {
    {"version", (getter)get_version, NULL, "RDB version of the header", NULL},
    {"valkey", (getter)get_valkey, NULL, "whether the file has the VALKEY magic", NULL},
    {"memory_model", (getter)get_memory_model, NULL, "the memory model of the estimates", NULL},
    {"functions", (getter)get_functions, NULL, "function libraries seen", NULL},
    {"bytes_read", (getter)get_bytes_read, NULL, "stream offset reached", NULL},
    {"finished", (getter)get_finished, NULL, "whether the trailer was read", NULL},
    {"aux", (getter)get_aux, NULL, "aux fields seen so far", NULL},
    {"modules", (getter)get_modules, NULL, "module values per module name", NULL},
    {NULL},
};

static PyMethodDef reader_methods[] = {
    {"next_batch", (PyCFunction)reader_next_batch, METH_O,
     "Up to n records as tuples; an empty list after the last."},
    {"aggregate", (PyCFunction)(void (*)(void))reader_aggregate, METH_VARARGS | METH_KEYWORDS,
     "Read every remaining key into the offline report's counters."},
    {"write_keys", (PyCFunction)reader_write_keys, METH_VARARGS,
     "Write every remaining key as a JSON line or CSV row: to write(bytes), or to an fd."},
    {"close", (PyCFunction)reader_close, METH_NOARGS, "Stop the checksum thread."},
    {NULL},
};

static PyTypeObject ReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "keyscope.rdb._speedups.Reader",
    .tp_basicsize = sizeof(ReaderObject),
    .tp_dealloc = (destructor)reader_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Reader(fd_or_stream, start=0, size=0, verify_checksum=True)",
    .tp_methods = reader_methods,
    .tp_getset = reader_getset,
    .tp_init = (initproc)reader_init,
    .tp_new = PyType_GenericNew,
};

static PyObject *set_error_class(PyObject *mod, PyObject *cls) {
    Py_INCREF(cls);
    Py_XSETREF(error_class, cls);
    Py_RETURN_NONE;
}

static PyObject *py_crc64(PyObject *mod, PyObject *args) {
    Py_buffer data;
    unsigned long long crc = 0;
    if (!PyArg_ParseTuple(args, "y*|K", &data, &crc)) return NULL;
    uint64_t out = crc_update(crc, data.buf, (size_t)data.len);
    PyBuffer_Release(&data);
    return u64(out);
}

static PyMethodDef module_methods[] = {
    {"set_error_class", set_error_class, METH_O, "The exception raised for format errors."},
    {"crc64", py_crc64, METH_VARARGS, "CRC-64/Jones of data, continuing from crc."},
    {NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT, "_speedups", "Compiled fast path of the RDB reader.", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    crc_init();
    if (PyType_Ready(&ReaderType) < 0) return NULL;
    if (pyobjects_init() < 0) return NULL;
    PyObject *m = PyModule_Create(&speedups_module);
    if (!m) return NULL;
    Py_INCREF(&ReaderType);
    if (PyModule_AddObject(m, "Reader", (PyObject *)&ReaderType) < 0) {
        Py_DECREF(&ReaderType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
