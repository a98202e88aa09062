/*
 * _sipfast: the native fast path of calltrace.decode.sip (RFC 3261 §7).
 *
 * Why: parse_sip runs once per SIP message and the pure-Python version costs ~25 µs, a
 * third of the whole pipeline. This module handles the *common, well-formed* message in
 * one pass over the bytes and builds the same SipMessage the Python code builds.
 *
 * The rule that keeps both paths identical: this code never names a defect and never
 * raises a DecodeError. It takes a message only when it can prove the pure-Python path
 * would report no defect and not raise; at the first doubt (bare LF, folding, non-ASCII,
 * a duplicated Call-ID, an odd Request-URI, a bad scalar, Retry-After or Warning
 * present...) it "defers": the pure-Python parser (passed in by setup()) handles the
 * whole message, so defects, their order and error kinds come from one implementation.
 * Deferring is always correct, only slower; each check below mirrors, conservatively, a
 * check of sip.py/sipchecks.py, named in its comment.
 *
 * Memory safety: the input is attacker bytes. Every access goes through a (pointer,
 * length) span checked against the payload's size; nothing from the input is copied
 * into a fixed-size buffer (strings are allocated at their exact length).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

#define NFIELDS 16
#define U32 0xFFFFFFFFull
#define TABLE 512 /* known header names, open addressing, power of two */

typedef struct {
    const unsigned char *p;
    Py_ssize_t n;
} span;

/* Header ids the eager fields and checks need; H_OTHER for every other name. */
enum {
    H_OTHER, H_VIA, H_FROM, H_TO, H_CALLID, H_CSEQ, H_CONTACT, H_MAXFWD, H_CLEN,
    H_CTYPE, H_EXPIRES, H_RETRY, H_WARNING, H_DATE, H_COUNT
};
static const char *const ID_NAMES[H_COUNT] = {
    "", "via", "from", "to", "call-id", "cseq", "contact", "max-forwards",
    "content-length", "content-type", "expires", "retry-after", "warning", "date",
};

typedef struct {
    PyObject *str; /* interned canonical (lower-case long) name */
    const char *bytes;
    Py_ssize_t n;
    int id;
    int single; /* RFC 3261 §20: at most once (sip._SINGLE) */
} entry;

static entry table[TABLE];
static int compact[128] = {0}; /* letter -> table index + 1 (sip.COMPACT_FORMS) */

static PyTypeObject *msg_type = NULL;
static Py_ssize_t offsets[NFIELDS];
static PyObject *fallback = NULL;
static PyObject *s_payload = NULL, *s_transport = NULL;
static const char *const FIELDS[NFIELDS] = {
    "packet", "is_request", "method", "request_uri", "status", "reason", "call_id",
    "cseq", "cseq_method", "from_tag", "to_tag", "branch", "headers", "body", "raw",
    "defects",
};
#define NMETHODS 14
static const char *const METHODS[NMETHODS] = {
    "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "UPDATE",
    "INFO", "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH",
};
static PyObject *methods[NMETHODS];

/* Character classes: one table lookup per byte on the hot loops. */
enum { C_TOKEN = 1, C_WS = 2, C_BAD = 4, C_CR = 8, C_DIGIT = 16, C_LEAD = 32, C_HIGH = 64 };
static unsigned char cls[256];
static unsigned char lower[256];

static void init_classes(void)
{
    const char *extra = "-.!%*_+`'~"; /* RFC 3261 §25.1 token */
    for (int c = 0; c < 256; c++) {
        unsigned char f = 0;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            f |= C_TOKEN;
        if (c >= '0' && c <= '9')
            f |= C_DIGIT;
        if (c != 0 && strchr(extra, c) != NULL)
            f |= C_TOKEN;
        if (c == ' ' || c == '\t')
            f |= C_WS;
        /* Header text the fast path accepts: printable ASCII, HTAB and UTF-8 (checked
         * by Python's own decoder). Controls and DEL may meet Python's wider idea of
         * whitespace (\x1c-\x1f are str whitespace), so they defer. */
        if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
            f |= C_BAD;
        if (c >= 0x80)
            f |= C_HIGH;
        if (c == '\r')
            f |= C_CR;
        if (c == 0 || c == '\r' || c == '\n' || c == ' ' || c == '\t')
            f |= C_LEAD; /* sip._LEADING */
        cls[c] = f;
        lower[c] = (unsigned char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
    }
}

/* ---- spans ------------------------------------------------------------------------ */

static span sub(span s, Py_ssize_t a, Py_ssize_t b) /* s[a:b], 0 <= a <= b <= s.n */
{
    span r = {s.p + a, b - a};
    return r;
}

static span strip(span s) /* str.strip() on the accepted alphabet: SP and HTAB */
{
    while (s.n > 0 && (cls[s.p[0]] & C_WS)) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && (cls[s.p[s.n - 1]] & C_WS))
        s.n--;
    return s;
}

static Py_ssize_t find(span s, unsigned char c, Py_ssize_t from)
{
    for (Py_ssize_t i = from; i < s.n; i++)
        if (s.p[i] == c)
            return i;
    return -1;
}

static Py_ssize_t rfind(span s, unsigned char c)
{
    for (Py_ssize_t i = s.n - 1; i >= 0; i--)
        if (s.p[i] == c)
            return i;
    return -1;
}

static int has(span s, unsigned char c) { return find(s, c, 0) >= 0; }

static int has_ws(span s)
{
    for (Py_ssize_t i = 0; i < s.n; i++)
        if (cls[s.p[i]] & C_WS)
            return 1;
    return 0;
}

static int ieq(span s, const char *lit) /* ASCII case-insensitive s == lit (lit lower) */
{
    Py_ssize_t n = (Py_ssize_t)strlen(lit);
    if (s.n != n)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (lower[s.p[i]] != (unsigned char)lit[i])
            return 0;
    return 1;
}

static int eq(span s, const char *lit)
{
    Py_ssize_t n = (Py_ssize_t)strlen(lit);
    return s.n == n && memcmp(s.p, lit, (size_t)n) == 0;
}

static int all_token(span s)
{
    for (Py_ssize_t i = 0; i < s.n; i++)
        if (!(cls[s.p[i]] & C_TOKEN))
            return 0;
    return s.n > 0;
}

/* sipchecks.digits: 1 and *out set for a decimal string (capped at U32 + 1). */
static int digits(span s, uint64_t *out)
{
    if (s.n == 0)
        return 0;
    for (Py_ssize_t i = 0; i < s.n; i++)
        if (!(cls[s.p[i]] & C_DIGIT))
            return 0;
    while (s.n > 0 && s.p[0] == '0') {
        s.p++;
        s.n--;
    }
    if (s.n > 10) {
        *out = U32 + 1;
        return 1;
    }
    uint64_t v = 0;
    for (Py_ssize_t i = 0; i < s.n; i++)
        v = v * 10 + (uint64_t)(s.p[i] - '0');
    *out = v;
    return 1;
}

/* Next ';'-separated part of s starting at *pos (str.split(";") semantics). */
static int next_part(span s, Py_ssize_t *pos, span *part)
{
    if (*pos > s.n)
        return 0;
    Py_ssize_t e = find(s, ';', *pos);
    if (e < 0)
        e = s.n;
    *part = sub(s, *pos, e);
    *pos = e + 1;
    return 1;
}

/* part.partition("=") -> stripped key, stripped value */
static void key_value(span part, span *key, span *val)
{
    Py_ssize_t e = find(part, '=', 0);
    *key = strip(e >= 0 ? sub(part, 0, e) : part);
    *val = strip(e >= 0 ? sub(part, e + 1, part.n) : sub(part, part.n, part.n));
}

/* ---- the checks of sipchecks.py, each returning 1 when Python finds no defect ------ */

/* sipchecks._empty_params: ;; ;, ,, ,; (ignoring whitespace) or a trailing ; or , */
static int empty_params(span s)
{
    if (s.n > 0 && (s.p[s.n - 1] == ';' || s.p[s.n - 1] == ','))
        return 1;
    unsigned char prev = 0;
    for (Py_ssize_t i = 0; i < s.n; i++) {
        unsigned char c = s.p[i];
        if (cls[c] & C_WS)
            continue;
        if ((prev == ';' || prev == ',') && (c == ';' || c == ','))
            return 1;
        prev = c;
    }
    return 0;
}

static int quotes_balanced(span s) /* sipchecks.quotes_balanced */
{
    int inside = 0, escaped = 0;
    Py_ssize_t quotes = 0;
    if (!has(s, '\\')) {
        for (Py_ssize_t i = 0; i < s.n; i++)
            quotes += s.p[i] == '"';
        return quotes % 2 == 0;
    }
    for (Py_ssize_t i = 0; i < s.n; i++) {
        unsigned char c = s.p[i];
        if (escaped)
            escaped = 0;
        else if (inside && c == '\\')
            escaped = 1;
        else if (c == '"')
            inside = !inside;
    }
    return !inside;
}

static int address_ok(span v) /* sipchecks._check_address */
{
    Py_ssize_t gt = rfind(v, '>');
    if (empty_params(gt >= 0 ? sub(v, gt + 1, v.n) : v))
        return 0;
    if (has(v, '"') && !quotes_balanced(v))
        return 0;
    Py_ssize_t lt = find(v, '<', 0);
    if (lt < 0) {
        Py_ssize_t semi = find(v, ';', 0);
        span spec = strip(semi >= 0 ? sub(v, 0, semi) : v);
        return !has_ws(spec) && !has(spec, '?');
    }
    gt = find(v, '>', lt);
    if (gt < 0)
        return 0;
    span inner = sub(v, lt + 1, gt);
    if (inner.n > 0 && ((cls[inner.p[0]] & C_WS) || (cls[inner.p[inner.n - 1]] & C_WS)))
        return 0;
    span display = strip(sub(v, 0, lt));
    if (display.n > 0 && display.p[0] != '"')
        for (Py_ssize_t i = 0; i < display.n; i++)
            if (!(cls[display.p[i]] & (C_TOKEN | C_WS)))
                return 0;
    return 1;
}

static int contact_expires_ok(span v) /* sipchecks._check_contact_expires (every one) */
{
    Py_ssize_t gt = rfind(v, '>'), pos = 0;
    span tail = gt >= 0 ? sub(v, gt + 1, v.n) : v, part, key, val;
    uint64_t seconds;
    Py_ssize_t semi = find(tail, ';', 0);
    if (semi < 0)
        return 1;
    tail = sub(tail, semi + 1, tail.n);
    while (next_part(tail, &pos, &part)) {
        key_value(part, &key, &val);
        if (ieq(key, "expires") && (!digits(val, &seconds) || seconds > U32))
            return 0;
    }
    return 1;
}

static int request_uri_ok(span uri) /* sipchecks.check_request_uri */
{
    if (uri.n > 0 && uri.p[0] == '<' && uri.p[uri.n - 1] == '>')
        return 0;
    Py_ssize_t colon = find(uri, ':', 0);
    if (colon <= 0)
        return 0;
    span scheme = sub(uri, 0, colon);
    if (!ieq(scheme, "sip") && !ieq(scheme, "sips"))
        return 1;
    span rest = sub(uri, colon + 1, uri.n);
    span host = sub(rest, rfind(rest, '@') + 1, rest.n);
    if (has(host, '?'))
        return 0;
    Py_ssize_t cut = find(host, ';', 0);
    if (cut >= 0)
        host = sub(host, 0, cut);
    Py_ssize_t colons = 0;
    for (Py_ssize_t i = 0; i < host.n; i++)
        colons += host.p[i] == ':';
    return !(colons > 1 && !has(host, '['));
}

static int two_digits(span s, Py_ssize_t at, int *out)
{
    if (at + 2 > s.n || !(cls[s.p[at]] & C_DIGIT) || !(cls[s.p[at + 1]] & C_DIGIT))
        return 0;
    *out = (s.p[at] - '0') * 10 + (s.p[at + 1] - '0');
    return 1;
}

static int in_list(span s, const char *list) /* s is one of the 3-letter words */
{
    for (const char *w = list; *w; w += 3)
        if (s.n == 3 && memcmp(s.p, w, 3) == 0)
            return 1;
    return 0;
}

/* sipchecks.valid_sip_date: Wkd, DD Mon YYYY HH:MM:SS GMT (RFC 3261 §20.17) */
static int date_ok(span v)
{
    span w[6];
    int k = 0, d, h, m, sec, x;
    Py_ssize_t i = 0;
    while (i < v.n) {
        while (i < v.n && (cls[v.p[i]] & C_WS))
            i++;
        if (i >= v.n)
            break;
        Py_ssize_t s = i;
        while (i < v.n && !(cls[v.p[i]] & C_WS))
            i++;
        if (k == 6)
            return 0;
        w[k++] = sub(v, s, i);
    }
    if (k != 6 || !eq(w[5], "GMT") || w[0].n != 4 || w[0].p[3] != ',')
        return 0;
    if (!in_list(sub(w[0], 0, 3), "MonTueWedThuFriSatSun"))
        return 0;
    if (!in_list(w[2], "JanFebMarAprMayJunJulAugSepOctNovDec"))
        return 0;
    if (w[1].n != 2 || !two_digits(w[1], 0, &d) || w[3].n != 4 || !two_digits(w[3], 0, &x) ||
        !two_digits(w[3], 2, &x))
        return 0;
    if (w[4].n != 8 || w[4].p[2] != ':' || w[4].p[5] != ':' || !two_digits(w[4], 0, &h) ||
        !two_digits(w[4], 3, &m) || !two_digits(w[4], 6, &sec))
        return 0;
    return d >= 1 && d <= 31 && h < 24 && m < 60 && sec < 61;
}

/* sip._tag: 1 and *out = the first tag parameter's value, 0 when absent. */
static int tag_of(span v, span *out)
{
    Py_ssize_t gt = rfind(v, '>'), pos = 0;
    span params = gt >= 0 ? sub(v, gt + 1, v.n) : v, part, key, val;
    Py_ssize_t semi = find(params, ';', 0);
    if (semi < 0)
        return 0;
    params = sub(params, semi + 1, params.n);
    while (next_part(params, &pos, &part)) {
        key_value(part, &key, &val);
        if (ieq(key, "tag")) {
            *out = val;
            return 1;
        }
    }
    return 0;
}

/* sip._branch: the top Via's branch; 0 when Python would name a defect. */
static int branch_of(span via, span *out)
{
    Py_ssize_t comma = find(via, ',', 0), pos = 0;
    span part, key, val;
    if (comma >= 0)
        via = sub(via, 0, comma);
    Py_ssize_t semi = find(via, ';', 0);
    if (semi < 0)
        return 0;
    via = sub(via, semi + 1, via.n);
    while (next_part(via, &pos, &part)) {
        key_value(part, &key, &val);
        if (ieq(key, "branch")) {
            *out = val;
            return val.n > 7 && memcmp(val.p, "z9hG4bK", 7) == 0;
        }
    }
    return 0;
}

/* ---- objects ------------------------------------------------------------------------ */

/* A str of a span of the (validated) header block; high: the block has UTF-8. Spans
 * are cut at ASCII delimiters, so they never split a UTF-8 sequence. */
static PyObject *text_str(span s, int high)
{
    if (high)
        for (Py_ssize_t i = 0; i < s.n; i++)
            if (cls[s.p[i]] & C_HIGH)
                return PyUnicode_DecodeUTF8((const char *)s.p, s.n, "strict");
    PyObject *o = PyUnicode_New(s.n, 127);
    if (o != NULL && s.n > 0)
        memcpy(PyUnicode_1BYTE_DATA(o), s.p, (size_t)s.n);
    return o;
}

static PyObject *method_str(span s, int high)
{
    for (int i = 0; i < NMETHODS; i++)
        if (eq(s, METHODS[i])) {
            Py_INCREF(methods[i]);
            return methods[i];
        }
    return text_str(s, high);
}

static uint32_t name_hash(const unsigned char *p, Py_ssize_t n)
{
    uint32_t h = 2166136261u;
    for (Py_ssize_t i = 0; i < n; i++)
        h = (h ^ lower[p[i]]) * 16777619u;
    return h;
}

static entry *lookup(span name)
{
    uint32_t i = name_hash(name.p, name.n) & (TABLE - 1);
    while (table[i].str != NULL) {
        if (table[i].n == name.n) {
            Py_ssize_t k = 0;
            while (k < name.n && lower[name.p[k]] == (unsigned char)table[i].bytes[k])
                k++;
            if (k == name.n)
                return &table[i];
        }
        i = (i + 1) & (TABLE - 1);
    }
    return NULL;
}

/* Canonical name of a header (sip.canonical_name): *id set, new reference. */
static PyObject *canonical(span name, int *id, int *single)
{
    entry *e = NULL;
    if (name.n == 1 && name.p[0] < 128 && compact[lower[name.p[0]]])
        e = &table[compact[lower[name.p[0]]] - 1];
    else
        e = lookup(name);
    if (e != NULL) {
        *id = e->id;
        *single = e->single;
        Py_INCREF(e->str);
        return e->str;
    }
    *id = H_OTHER;
    *single = 0;
    PyObject *o = PyUnicode_New(name.n, 127);
    if (o != NULL) {
        Py_UCS1 *w = PyUnicode_1BYTE_DATA(o);
        for (Py_ssize_t k = 0; k < name.n; k++)
            w[k] = lower[name.p[k]];
    }
    return o;
}

/* Offset of the first CRLFCRLF (the end of the header block, as sip.py's find), or -1
 * to defer: a bare CR or LF, a control byte, or no CRLFCRLF. *high says UTF-8 seen. */
static Py_ssize_t block_end(const unsigned char *d, Py_ssize_t n, int *high)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char f = cls[d[i]];
        if (!(f & (C_BAD | C_CR | C_HIGH)))
            continue;
        if (f & C_HIGH) {
            *high = 1;
            continue;
        }
        if (!(f & C_CR) || i + 1 >= n || d[i + 1] != '\n')
            return -1;
        if (i + 3 < n && d[i + 2] == '\r' && d[i + 3] == '\n')
            return i;
        i++; /* past the LF */
    }
    return -1;
}

/* 1 when the block is strict UTF-8 (sip._decode: else an invalid_utf8 defect) without
 * non-ASCII whitespace (str.strip/split would cut there, the scanner would not). */
static int utf8_ok(const unsigned char *d, Py_ssize_t n)
{
    PyObject *u = PyUnicode_DecodeUTF8((const char *)d, n, "strict");
    if (u == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
            return -1;
        PyErr_Clear();
        return 0;
    }
    int kind = PyUnicode_KIND(u), ok = 1;
    const void *data = PyUnicode_DATA(u);
    for (Py_ssize_t i = 0; i < PyUnicode_GET_LENGTH(u) && ok; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        ok = !(ch >= 0x80 && Py_UNICODE_ISSPACE(ch));
    }
    Py_DECREF(u);
    return ok;
}

typedef struct {
    span first[H_COUNT];
    unsigned char seen[H_COUNT];
    int high;
} scan;

/* The header lines in [pos, end) (sip._build), each ending in CRLF (block_end checked
 * that): appends (name, value) pairs to out. 1 ok, 0 defer, -1 error. */
static int headers(const unsigned char *d, Py_ssize_t end, Py_ssize_t pos, scan *sc,
                   PyObject *out)
{
    while (pos < end) {
        const unsigned char *cr = memchr(d + pos, '\r', (size_t)(end - pos));
        if (cr == NULL)
            return 0; /* cannot happen: the block's lines end in CRLF */
        Py_ssize_t e = cr - d;
        span line = {d + pos, e - pos};
        pos = e + 2;
        if (line.n == 0)
            return 0; /* cannot happen: the first empty line ends the block */
        if (cls[line.p[0]] & C_WS)
            return 0; /* folding (§7.3.1): sip._unfold keeps identity quirks; defer */
        Py_ssize_t colon = find(line, ':', 0);
        if (colon < 0)
            return 0;
        span name = sub(line, 0, colon);
        while (name.n > 0 && (cls[name.p[name.n - 1]] & C_WS))
            name.n--;
        if (!all_token(name))
            return 0;
        span value = strip(sub(line, colon + 1, line.n));
        int id, single;
        PyObject *key = canonical(name, &id, &single);
        if (key == NULL)
            return -1;
        if (id != H_OTHER && !sc->seen[id]) {
            sc->seen[id] = 1;
            sc->first[id] = value;
        } else if (single) { /* setup() gave every single-use name an id */
            Py_DECREF(key);
            return 0; /* multiple_<name> */
        }
        if (id == H_CONTACT && !contact_expires_ok(value)) {
            Py_DECREF(key);
            return 0;
        }
        PyObject *val = text_str(value, sc->high);
        PyObject *pair = val != NULL ? PyTuple_Pack(2, key, val) : NULL;
        Py_DECREF(key);
        Py_XDECREF(val);
        if (pair == NULL)
            return -1;
        /* Two strings cannot form a cycle: untrack now, as the collector would at its
         * first pass (tuple untracking), so it never has to visit these tuples. */
        PyObject_GC_UnTrack(pair);
        int rc = PyList_Append(out, pair);
        Py_DECREF(pair);
        if (rc < 0)
            return -1;
    }
    return 1;
}

static span first_word(span s) /* str.split(None, 1)[0] on the accepted alphabet */
{
    Py_ssize_t i = 0;
    s = strip(s);
    while (i < s.n && !(cls[s.p[i]] & C_WS))
        i++;
    return sub(s, 0, i);
}

/* The value checks of sip._request/_response/_common and sipchecks that need only
 * the first occurrences; 1 when Python would find no defect. */
static int checks(scan *sc, int request, Py_ssize_t avail, int stream)
{
    uint64_t v;
    span *f = sc->first;
    if (!sc->seen[H_VIA] || !sc->seen[H_FROM] || !sc->seen[H_TO] || !sc->seen[H_CSEQ])
        return 0;
    if (!sc->seen[H_CALLID] || f[H_CALLID].n == 0)
        return 0;
    if (request && (!sc->seen[H_MAXFWD] || !digits(f[H_MAXFWD], &v) || v > 255))
        return 0;
    if (sc->seen[H_CLEN]) {
        if (!digits(f[H_CLEN], &v) || v != (uint64_t)avail)
            return 0; /* invalid, out of range, exceeds body or trailing bytes */
    } else if (stream && avail > 0) {
        return 0; /* missing_content_length */
    }
    if (empty_params(f[H_VIA]) || !address_ok(f[H_FROM]) || !address_ok(f[H_TO]))
        return 0;
    if (sc->seen[H_CONTACT] && !address_ok(f[H_CONTACT]))
        return 0;
    if (sc->seen[H_EXPIRES] && (!digits(f[H_EXPIRES], &v) || v > U32))
        return 0;
    if (sc->seen[H_RETRY]) { /* first word up to ';': seconds (§20.33) */
        span w = first_word(f[H_RETRY]);
        Py_ssize_t semi = find(w, ';', 0);
        if (!digits(semi >= 0 ? sub(w, 0, semi) : w, &v) || v > U32)
            return 0;
    }
    if (sc->seen[H_WARNING]) { /* warn-code = 3DIGIT (§20.43) */
        span w = first_word(f[H_WARNING]);
        if (w.n != 3 || !digits(w, &v))
            return 0;
    }
    if (sc->seen[H_DATE] && !date_ok(f[H_DATE]))
        return 0;
    return 1;
}

/* CSeq "number method" (sip._common): exactly two words, number <= 2**32 - 1. */
static int cseq_of(span v, uint64_t *number, span *method)
{
    Py_ssize_t i = 0, s;
    span w[2];
    int k = 0;
    while (i < v.n) {
        while (i < v.n && (cls[v.p[i]] & C_WS))
            i++;
        if (i >= v.n)
            break;
        s = i;
        while (i < v.n && !(cls[v.p[i]] & C_WS))
            i++;
        if (k == 2)
            return 0;
        w[k++] = sub(v, s, i);
    }
    if (k != 2 || !digits(w[0], number) || *number > U32)
        return 0;
    *method = w[1];
    return 1;
}

static int stream_transport(PyObject *packet)
{
    PyObject *t = PyObject_GetAttr(packet, s_transport);
    if (t == NULL)
        return -1;
    int r = PyUnicode_Check(t) && (PyUnicode_CompareWithASCIIString(t, "tcp") == 0 ||
                                   PyUnicode_CompareWithASCIIString(t, "tls") == 0);
    Py_DECREF(t);
    return r;
}

/* The message, or NULL: with an exception set on error, without one to defer. */
static PyObject *fast(PyObject *packet, PyObject *payload)
{
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(payload);
    Py_ssize_t n = PyBytes_GET_SIZE(payload);
    scan sc;
    memset(&sc, 0, sizeof sc);
    if (n == 0 || (cls[d[0]] & C_LEAD))
        return NULL; /* leading CRLF/junk: sip._skip_leading */
    Py_ssize_t end = block_end(d, n, &sc.high), body_start = end + 4;
    if (end < 0)
        return NULL;
    if (sc.high) {
        int ok = utf8_ok(d, end);
        if (ok <= 0)
            return NULL;
    }
    Py_ssize_t le = (const unsigned char *)memchr(d, '\r', (size_t)end + 1) - d;
    span line = {d, le}, method, uri = {d, 0}, reason = {d, 0}, cmethod, from_tag, to_tag;
    span branch;
    int request = !(le >= 4 && memcmp(d, "SIP/", 4) == 0), status = 0;
    if (request) { /* Method SP Request-URI SP SIP/2.0, single spaces (§7.1) */
        Py_ssize_t a = find(line, ' ', 0), b = a >= 0 ? find(line, ' ', a + 1) : -1;
        if (b < 0 || find(line, ' ', b + 1) >= 0 || has(line, '\t') || b == a + 1)
            return NULL;
        method = sub(line, 0, a);
        uri = sub(line, a + 1, b);
        if (!all_token(method) || !ieq(sub(line, b + 1, line.n), "sip/2.0"))
            return NULL;
        if (!request_uri_ok(uri))
            return NULL;
    } else { /* SIP/2.0 SP 3DIGIT SP Reason-Phrase (§7.2) */
        if (le < 12 || memcmp(d, "SIP/2.0 ", 8) != 0 || d[11] != ' ' || d[8] < '1' ||
            d[8] > '6' || !(cls[d[9]] & C_DIGIT) || !(cls[d[10]] & C_DIGIT))
            return NULL;
        status = (d[8] - '0') * 100 + (d[9] - '0') * 10 + (d[10] - '0');
        reason = sub(line, 12, le);
    }
    PyObject *list = PyList_New(0), *msg = NULL;
    if (list == NULL)
        return NULL;
    int rc = headers(d, end + 2, le + 2, &sc, list);
    if (rc <= 0)
        goto done;
    int stream = sc.seen[H_CLEN] ? 0 : stream_transport(packet);
    if (stream < 0)
        goto done;
    uint64_t cseq;
    if (!checks(&sc, request, n - body_start, stream) ||
        !cseq_of(sc.first[H_CSEQ], &cseq, &cmethod))
        goto done;
    if (request && (cmethod.n != method.n || memcmp(cmethod.p, method.p, (size_t)method.n)))
        goto done; /* cseq_method_mismatch */
    if (!branch_of(sc.first[H_VIA], &branch))
        goto done;
    if (!tag_of(sc.first[H_FROM], &from_tag) || from_tag.n == 0)
        goto done; /* missing_from_tag */
    int has_to_tag = tag_of(sc.first[H_TO], &to_tag) && to_tag.n > 0;

    PyObject *v[NFIELDS] = {NULL};
    Py_INCREF(packet);
    v[0] = packet;
    v[1] = PyBool_FromLong(request);
    v[8] = method_str(cmethod, sc.high);
    v[2] = request ? method_str(method, 0) : Py_XNewRef(v[8]);
    v[3] = request ? text_str(uri, sc.high) : Py_NewRef(Py_None);
    v[4] = request ? Py_NewRef(Py_None) : PyLong_FromLong(status);
    v[5] = request ? Py_NewRef(Py_None) : text_str(reason, sc.high);
    v[6] = text_str(sc.first[H_CALLID], sc.high);
    v[7] = PyLong_FromUnsignedLongLong(cseq);
    v[9] = text_str(from_tag, sc.high);
    v[10] = has_to_tag ? text_str(to_tag, sc.high) : Py_NewRef(Py_None);
    v[11] = text_str(branch, sc.high);
    v[12] = PyList_AsTuple(list);
    if (v[12] != NULL && PyTuple_GET_SIZE(v[12]) > 0)
        PyObject_GC_UnTrack(v[12]); /* holds untracked pairs only */
    v[13] = PyBytes_FromStringAndSize((const char *)d + body_start, n - body_start);
    v[14] = Py_NewRef(payload);
    v[15] = PyTuple_New(0);
    int ok = 1;
    for (int i = 0; i < NFIELDS; i++)
        ok &= v[i] != NULL;
    if (ok)
        msg = msg_type->tp_alloc(msg_type, 0);
    if (msg == NULL) {
        for (int i = 0; i < NFIELDS; i++)
            Py_XDECREF(v[i]);
        goto done;
    }
    for (int i = 0; i < NFIELDS; i++) /* the slots are empty: each takes its reference */
        *(PyObject **)((char *)msg + offsets[i]) = v[i];
done:
    Py_DECREF(list);
    return msg;
}

static PyObject *payload_of(PyObject *packet)
{
    if (msg_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_sipfast.setup() was not called");
        return NULL;
    }
    return PyObject_GetAttr(packet, s_payload);
}

static PyObject *py_parse_fast(PyObject *self, PyObject *packet)
{
    (void)self;
    PyObject *payload = payload_of(packet), *msg = NULL;
    if (payload == NULL)
        return NULL;
    if (PyBytes_CheckExact(payload))
        msg = fast(packet, payload);
    Py_DECREF(payload);
    if (msg == NULL && !PyErr_Occurred())
        Py_RETURN_NONE;
    return msg;
}

static PyObject *py_parse_sip(PyObject *self, PyObject *packet)
{
    PyObject *msg = py_parse_fast(self, packet);
    if (msg != Py_None)
        return msg;
    Py_DECREF(msg);
    return PyObject_CallOneArg(fallback, packet);
}

/* sip.looks_like_sip, byte for byte. */
static int looks_like(const unsigned char *p, Py_ssize_t n)
{
    Py_ssize_t start = 0, limit = n < 64 ? n : 64;
    if (n > 0 && (cls[p[0]] & C_LEAD))
        while (start < limit && (cls[p[start]] & C_LEAD))
            start++;
    if (n - start >= 8 && memcmp(p + start, "SIP/2.0 ", 8) == 0) {
        Py_ssize_t c = start + 8;
        return n - c >= 3 && (cls[p[c]] & C_DIGIT) && (cls[p[c + 1]] & C_DIGIT) &&
               (cls[p[c + 2]] & C_DIGIT);
    }
    Py_ssize_t end = start + 64 < n ? start + 64 : n, sp = -1;
    for (Py_ssize_t i = start; i < end; i++)
        if (p[i] == ' ') {
            sp = i;
            break;
        }
    if (sp <= start)
        return 0;
    for (Py_ssize_t i = start; i < sp; i++)
        if (!(cls[p[i]] & C_TOKEN))
            return 0;
    if (sp + 1 >= n || p[sp + 1] == '\r' || p[sp + 1] == '\n')
        return 0;
    end = sp + 4096 < n ? sp + 4096 : n;
    for (Py_ssize_t i = sp; i < end; i++) {
        if (p[i] == '\n')
            end = i; /* the line stops at the first LF */
        else if (p[i] == ' ' && end - i >= 5 && memcmp(p + i + 1, "SIP/", 4) == 0)
            return 1;
    }
    return 0;
}

static PyObject *py_looks_like_sip(PyObject *self, PyObject *payload)
{
    (void)self;
    if (!PyBytes_Check(payload)) {
        PyErr_SetString(PyExc_TypeError, "looks_like_sip() takes bytes");
        return NULL;
    }
    return PyBool_FromLong(
        looks_like((const unsigned char *)PyBytes_AS_STRING(payload), PyBytes_GET_SIZE(payload)));
}

/* ---- setup: everything shared with sip.py comes from sip.py ------------------------ */

static int add_name(PyObject *name, int single)
{
    Py_ssize_t n;
    const char *s;
    if (!PyUnicode_Check(name) || !PyUnicode_IS_ASCII(name) ||
        (s = PyUnicode_AsUTF8AndSize(name, &n)) == NULL)
        return -1;
    span sp = {(const unsigned char *)s, n};
    int id = H_OTHER;
    for (int k = 1; k < H_COUNT; k++)
        if (eq(sp, ID_NAMES[k]))
            id = k;
    if (single && id == H_OTHER)
        return -1; /* a single-use name the scanner does not track */
    entry *e = lookup(sp);
    if (e == NULL) {
        uint32_t i = name_hash(sp.p, n) & (TABLE - 1), used = 0;
        while (table[i].str != NULL && used++ < TABLE)
            i = (i + 1) & (TABLE - 1);
        if (table[i].str != NULL || !all_token(sp))
            return -1;
        for (Py_ssize_t k = 0; k < n; k++)
            if (lower[sp.p[k]] != sp.p[k])
                return -1; /* canonical names are lower case */
        e = &table[i];
        Py_INCREF(name);
        PyUnicode_InternInPlace(&name);
        e->str = name;
        e->bytes = PyUnicode_AsUTF8(name);
        e->n = n;
        e->id = id;
    }
    e->single |= single;
    return (int)(e - table);
}

static int add_all(PyObject *names, int single)
{
    PyObject *it = PyObject_GetIter(names), *name;
    if (it == NULL)
        return -1;
    while ((name = PyIter_Next(it)) != NULL) {
        int r = add_name(name, single);
        Py_DECREF(name);
        if (r < 0) {
            Py_DECREF(it);
            return -1;
        }
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

static PyObject *py_setup(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *type, *fields, *fb, *compact_forms, *common, *single, *key, *value;
    Py_ssize_t pos = 0, offs[NFIELDS];
    if (!PyArg_ParseTuple(args, "O!O!OO!OO", &PyType_Type, &type, &PyTuple_Type, &fields, &fb,
                          &PyDict_Type, &compact_forms, &common, &single))
        return NULL;
    if (PyTuple_GET_SIZE(fields) != NFIELDS)
        Py_RETURN_FALSE;
    for (int i = 0; i < NFIELDS; i++) {
        PyObject *f = PyTuple_GET_ITEM(fields, i);
        if (!PyUnicode_Check(f) || PyUnicode_CompareWithASCIIString(f, FIELDS[i]) != 0)
            Py_RETURN_FALSE;
        /* Each field must be a plain writable object slot: then writing the slot is
         * exactly what object.__setattr__ would do in the dataclass __init__. */
        PyObject *descr = PyDict_GetItemString(((PyTypeObject *)type)->tp_dict, FIELDS[i]);
        if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type))
            Py_RETURN_FALSE;
        PyMemberDef *m = ((PyMemberDescrObject *)descr)->d_member;
        if (m->type != T_OBJECT_EX || (m->flags & READONLY))
            Py_RETURN_FALSE;
        offs[i] = m->offset;
    }
    if (add_all(common, 0) < 0 || add_all(single, 1) < 0)
        goto bad;
    for (int id = 1; id < H_COUNT; id++) {
        PyObject *name = PyUnicode_FromString(ID_NAMES[id]);
        int r = name != NULL ? add_name(name, 0) : -1;
        Py_XDECREF(name);
        if (r < 0)
            goto bad;
    }
    while (PyDict_Next(compact_forms, &pos, &key, &value)) {
        int r = add_name(value, 0);
        if (r < 0 || !PyUnicode_Check(key) || PyUnicode_GET_LENGTH(key) != 1 ||
            PyUnicode_READ_CHAR(key, 0) > 'z' || PyUnicode_READ_CHAR(key, 0) < 'a')
            goto bad;
        compact[PyUnicode_READ_CHAR(key, 0)] = r + 1;
    }
    if (msg_type != NULL) /* once per process: tables are shared, one message type */
        return PyBool_FromLong(type == (PyObject *)msg_type);
    memcpy(offsets, offs, sizeof offsets);
    for (int i = 0; i < NMETHODS; i++)
        if ((methods[i] = PyUnicode_InternFromString(METHODS[i])) == NULL)
            return NULL;
    Py_INCREF(fb);
    fallback = fb;
    Py_INCREF(type);
    msg_type = (PyTypeObject *)type;
    Py_RETURN_TRUE;
bad: /* a table this scanner cannot serve (e.g. a new single-use header without an id):
      * say no, and sip.py stays pure rather than drifting */
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_FALSE;
}

static PyMethodDef module_methods[] = {
    {"setup", py_setup, METH_VARARGS,
     "setup(SipMessage, fields, fallback, compact_forms, common, single) -> bool"},
    {"parse_sip", py_parse_sip, METH_O, "parse_sip(packet) -> SipMessage (falls back)"},
    {"parse_fast", py_parse_fast, METH_O, "parse_fast(packet) -> SipMessage | None"},
    {"looks_like_sip", py_looks_like_sip, METH_O, "looks_like_sip(payload) -> bool"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_sipfast", "Native fast path of calltrace.decode.sip.", -1,
    module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__sipfast(void)
{
    init_classes();
    s_payload = PyUnicode_InternFromString("payload");
    s_transport = PyUnicode_InternFromString("transport");
    if (s_payload == NULL || s_transport == NULL)
        return NULL;
    return PyModule_Create(&module);
}
