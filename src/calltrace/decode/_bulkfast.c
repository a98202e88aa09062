/* Native record walk for the bulk lane (calltrace.decode.bulk): the offsets of the whole
 * classic-pcap records in a buffer. The pure-Python loop in bulk.py (_walk_pure) is the
 * reference and the fallback; tests/decode/test_bulk.py holds both equal.
 *
 * walk(buf, little_endian, snaplen, max_record) -> (starts, next_pos, bad)
 *   starts:   bytes holding one native int64 per record (the record header's offset)
 *   next_pos: offset of the first byte not consumed (a partial record, or the end)
 *   bad:      the captured length of a record whose length cannot be trusted (> max_record
 *             and > snaplen: the file ends there), or -1.
 * Every read is bounds-checked against the buffer length. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static uint32_t read32(const unsigned char *p, int little) {
    if (little)
        return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    return (uint32_t)p[3] | ((uint32_t)p[2] << 8) | ((uint32_t)p[1] << 16) | ((uint32_t)p[0] << 24);
}

static PyObject *walk(PyObject *self, PyObject *args) {
    Py_buffer view;
    int little;
    unsigned long long snaplen, max_record;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*pKK", &view, &little, &snaplen, &max_record))
        return NULL;
    const unsigned char *buf = (const unsigned char *)view.buf;
    Py_ssize_t end = view.len, pos = 0, count = 0;
    long long bad = -1;
    /* first pass: count, so the result is allocated once */
    while (pos + 16 <= end) {
        uint32_t caplen = read32(buf + pos + 8, little);
        if (caplen > max_record && caplen > snaplen) { bad = caplen; break; }
        if ((Py_ssize_t)caplen > end - pos - 16) break;
        pos += 16 + (Py_ssize_t)caplen;
        count++;
    }
    PyObject *starts = PyBytes_FromStringAndSize(NULL, count * (Py_ssize_t)sizeof(int64_t));
    if (starts == NULL) { PyBuffer_Release(&view); return NULL; }
    int64_t *out = (int64_t *)PyBytes_AS_STRING(starts);
    Py_ssize_t at = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        out[i] = (int64_t)at;
        at += 16 + (Py_ssize_t)read32(buf + at + 8, little);
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("NnL", starts, pos, bad);
}

static PyMethodDef methods[] = {
    {"walk", walk, METH_VARARGS, "Offsets of the whole classic-pcap records in a buffer."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_bulkfast", "Native record walk for the bulk lane.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__bulkfast(void) { return PyModule_Create(&module); }
