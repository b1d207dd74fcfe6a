/* The hot loops of the SQLite event store's index rows, in C (optional: batch.py and terms.py
 * make the same rows in Python when this module is missing or NETGUARD_NO_CEXT is set).
 *
 * group(fields)  the grouping and transposition of Batch._grouped, without a tuple of names
 *                per event, a zip of dict_values iterators per group or a tuple per zip step.
 * texts(...)     the terms index's token text of each event of a group (TermIndexer.batch_rows),
 *                each built once from its pieces instead of through zip and "".join.
 *
 * Both take the easy, usual inputs and hand anything else back to Python (group returns None,
 * texts raises what a lookup raised and the caller makes the rows in Python), so the rows are
 * the Python path's for every input: this code is only ever a faster way to the same result.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#if PY_VERSION_HEX < 0x030C0000
#define STR_READY(s) PyUnicode_READY(s)  /* a legacy str made ready (3.12 has none left) */
#else
#define STR_READY(s) 0
#endif

#define PREFETCH 4  /* events ahead whose values are asked for */

/* A batch's values are not in the cache: ask for those of the event PREFETCH ahead of ``k``
 * (``columns``: ``width`` tuples of ``count`` values). */
static inline void
prefetch_values(PyObject *columns, Py_ssize_t width, Py_ssize_t k, Py_ssize_t count)
{
#if defined(__GNUC__)
    if (k + PREFETCH < count) {
        for (Py_ssize_t j = 0; j < width; j++) {
            __builtin_prefetch(PyTuple_GET_ITEM(PyTuple_GET_ITEM(columns, j), k + PREFETCH));
        }
    }
#else
    (void)columns, (void)width, (void)k, (void)count;
#endif
}

/* Put ``text`` (a new reference, stolen) in ``out``: appended when ``at`` is None, else at the place
 * ``at[k]`` gives (an IndexError if out of range). -1 with an exception set on failure. */
static int
put_text(PyObject *out, PyObject *at, Py_ssize_t k, PyObject *text)
{
    if (at == Py_None) {
        int added = PyList_Append(out, text);
        Py_DECREF(text);
        return added;
    }
    Py_ssize_t where = PyLong_AsSsize_t(PyList_GET_ITEM(at, k));
    if (where == -1 && PyErr_Occurred()) {
        Py_DECREF(text);
        return -1;
    }
    return PyList_SetItem(out, where, text);
}

/* ---- group ----------------------------------------------------------------------------- */

/* One pass over each event: its keys hashed and compared, its values kept (row by row, in a
 * buffer of its group) while the dict is in the cache; the columns are cut from those rows at the
 * end. Reading the dicts a second time to transpose them cost as much again (a batch's dicts do
 * not stay in the cache). */

typedef struct {
    PyObject *names;     /* the first event's keys, a tuple (new reference) */
    Py_hash_t hash;      /* of the names, a function of each name's hash, in order */
    Py_ssize_t *at;      /* the events' positions */
    PyObject **values;   /* count rows of len(names) values (new references) */
    Py_ssize_t count, capacity;
} Grp;

typedef struct {
    Grp *items;
    Py_ssize_t count, capacity;
    Py_ssize_t *slots;   /* open addressing on hash: group index + 1, 0 is empty */
    Py_ssize_t mask;
} Groups;

static void
groups_free(Groups *g)
{
    for (Py_ssize_t i = 0; i < g->count; i++) {
        Grp *grp = &g->items[i];
        if (grp->values != NULL) {
            Py_ssize_t width = PyTuple_GET_SIZE(grp->names);
            for (Py_ssize_t k = 0; k < grp->count * width; k++) {
                Py_XDECREF(grp->values[k]);  /* NULL once handed to a column */
            }
        }
        Py_XDECREF(grp->names);
        PyMem_Free(grp->at);
        PyMem_Free(grp->values);
    }
    PyMem_Free(g->items);
    PyMem_Free(g->slots);
}

static int
slots_grow(Groups *g)
{
    Py_ssize_t size = (g->mask + 1) * 2;
    Py_ssize_t *slots = PyMem_Calloc((size_t)size, sizeof(Py_ssize_t));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < g->count; i++) {
        Py_ssize_t s = (Py_ssize_t)((size_t)g->items[i].hash & (size_t)(size - 1));
        while (slots[s]) {
            s = (s + 1) & (size - 1);
        }
        slots[s] = i + 1;
    }
    PyMem_Free(g->slots);
    g->slots = slots;
    g->mask = size - 1;
    return 0;
}

/* 1 if the keys (exact str, checked before) are the names, in order; else 0. */
static int
same_names(PyObject **keys, PyObject *names)
{
    for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(names); j++) {
        PyObject *name = PyTuple_GET_ITEM(names, j);
        /* str == str runs no Python code; equal strings have equal hashes, checked already */
        if (keys[j] != name && PyUnicode_Compare(keys[j], name) != 0) {
            return 0;
        }
    }
    return 1;
}

/* The group of an event's keys: found by their hash, or added (the keys as a new tuple). -1 on error. */
static Py_ssize_t
group_of(Groups *g, PyObject **keys, Py_ssize_t size, Py_hash_t hash)
{
    Py_ssize_t s = (Py_ssize_t)((size_t)hash & (size_t)g->mask);
    while (g->slots[s]) {
        Grp *grp = &g->items[g->slots[s] - 1];
        if (grp->hash == hash && PyTuple_GET_SIZE(grp->names) == size && same_names(keys, grp->names)) {
            return g->slots[s] - 1;
        }
        s = (s + 1) & g->mask;
    }
    if (g->count == g->capacity) {
        Py_ssize_t capacity = g->capacity ? g->capacity * 2 : 16;
        Grp *items = PyMem_Realloc(g->items, (size_t)capacity * sizeof(Grp));
        if (items == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        g->items = items;
        g->capacity = capacity;
    }
    PyObject *names = PyTuple_New(size);
    if (names == NULL) {
        return -1;
    }
    for (Py_ssize_t j = 0; j < size; j++) {
        Py_INCREF(keys[j]);
        PyTuple_SET_ITEM(names, j, keys[j]);
    }
    Grp *grp = &g->items[g->count];
    grp->names = names;
    grp->hash = hash;
    grp->at = NULL;
    grp->values = NULL;
    grp->count = grp->capacity = 0;
    g->slots[s] = ++g->count;
    if (g->count * 2 > g->mask + 1 && slots_grow(g) < 0) {
        return -1;
    }
    return g->count - 1;
}

/* Add an event (its position and its row of values, whose references it takes) to its group. */
static int
grp_append(Grp *grp, Py_ssize_t i, PyObject **row)
{
    Py_ssize_t width = PyTuple_GET_SIZE(grp->names);
    if (grp->count == grp->capacity) {
        Py_ssize_t capacity = grp->capacity ? grp->capacity * 2 : 16;
        Py_ssize_t *at = PyMem_Realloc(grp->at, (size_t)capacity * sizeof(Py_ssize_t));
        if (at == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        grp->at = at;
        if (width) {
            PyObject **values = PyMem_Realloc(grp->values, (size_t)(capacity * width) * sizeof(PyObject *));
            if (values == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            grp->values = values;
        }
        grp->capacity = capacity;
    }
    if (width) {
        memcpy(grp->values + grp->count * width, row, (size_t)width * sizeof(PyObject *));
    }
    grp->at[grp->count++] = i;
    return 0;
}

/* The result of group() for the groups found: [(names, at, columns), ...]. */
static PyObject *
groups_result(Groups *g)
{
    PyObject *out = PyList_New(g->count);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < g->count; i++) {
        Grp *grp = &g->items[i];
        Py_ssize_t width = PyTuple_GET_SIZE(grp->names);
        PyObject *at = PyList_New(grp->count);
        PyObject *columns = PyTuple_New(width);
        PyObject *item = NULL;
        if (at == NULL || columns == NULL) {
            goto fail_group;
        }
        for (Py_ssize_t k = 0; k < grp->count; k++) {
            PyObject *position = PyLong_FromSsize_t(grp->at[k]);
            if (position == NULL) {
                goto fail_group;
            }
            PyList_SET_ITEM(at, k, position);
        }
        for (Py_ssize_t j = 0; j < width; j++) {
            PyObject *column = PyTuple_New(grp->count);
            if (column == NULL) {
                goto fail_group;
            }
            PyObject **value = grp->values + j;
            for (Py_ssize_t k = 0; k < grp->count; k++, value += width) {
                PyTuple_SET_ITEM(column, k, *value);  /* the reference moves to the column */
                *value = NULL;
            }
            PyTuple_SET_ITEM(columns, j, column);
        }
        item = PyTuple_Pack(3, grp->names, at, columns);
        if (item == NULL) {
            goto fail_group;
        }
        Py_DECREF(at);
        Py_DECREF(columns);
        PyList_SET_ITEM(out, i, item);
        continue;
    fail_group:
        Py_XDECREF(at);
        Py_XDECREF(columns);
        Py_DECREF(out);
        return NULL;
    }
    return out;
}

PyDoc_STRVAR(group_doc,
"group(fields, /)\n--\n\n"
"The events (a list of dicts) grouped by their keys, in order of first appearance:\n"
"([(names, at, columns), ...], any value is None), each group's columns a tuple of tuples\n"
"(one per name, the values in the events' order). None if an event is not a dict or a key not\n"
"a str: the caller groups those in Python.");

static PyObject *
group(PyObject *module, PyObject *fields)
{
    if (!PyList_CheckExact(fields)) {
        PyErr_SetString(PyExc_TypeError, "group() takes a list");
        return NULL;
    }
    /* A copy holds the events: the list cannot change under the loop below. */
    fields = PyList_AsTuple(fields);
    if (fields == NULL) {
        return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(fields);
    /* Check every event first: the loop below then runs no Python code (str hashes and compares). */
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyDict_CheckExact(PyTuple_GET_ITEM(fields, i))) {
            Py_DECREF(fields);
            Py_RETURN_NONE;
        }
    }
    Groups g = {NULL, 0, 0, NULL, 7};
    PyObject **keys = NULL, **row = NULL, *result = NULL;
    Py_ssize_t width = 0, last = -1;
    int nulls = 0;
    g.slots = PyMem_Calloc(8, sizeof(Py_ssize_t));
    if (g.slots == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *dict = PyTuple_GET_ITEM(fields, i);
        Py_ssize_t size = PyDict_GET_SIZE(dict);
        if (size > width) {
            width = size * 2;
            PyMem_Free(keys);
            PyMem_Free(row);
            keys = PyMem_Malloc((size_t)width * sizeof(PyObject *));
            row = PyMem_Malloc((size_t)width * sizeof(PyObject *));
            if (keys == NULL || row == NULL) {
                PyErr_NoMemory();
                goto done;
            }
        }
        /* the names of the last event's group: most often this one's too (identical str objects) */
        PyObject *names = last >= 0 ? g.items[last].names : NULL;
        int same = names != NULL && PyTuple_GET_SIZE(names) == size;
        Py_uhash_t hash = 0x345678UL;
        Py_ssize_t pos = 0, j = 0;
        PyObject *key, *value;
        while (PyDict_Next(dict, &pos, &key, &value)) {
            if (!PyUnicode_CheckExact(key)) {
                Py_CLEAR(result);
                goto not_mine;
            }
            Py_hash_t h = ((PyASCIIObject *)key)->hash;
            if (h == -1) {
                h = PyObject_Hash(key);  /* a str's: never fails */
            }
            hash = (hash ^ (Py_uhash_t)h) * 1000003UL;
            if (same && PyTuple_GET_ITEM(names, j) != key) {
                same = 0;
            }
            nulls |= value == Py_None;
            keys[j] = key;
            row[j++] = value;
        }
        for (Py_ssize_t k = 0; k < size; k++) {
            Py_INCREF(row[k]);  /* before group_of, whose new tuple may run the collector */
        }
        if (!same) {
            for (Py_ssize_t k = 0; k < size; k++) {
                Py_INCREF(keys[k]);
            }
            last = group_of(&g, keys, size, (Py_hash_t)hash);
            for (Py_ssize_t k = 0; k < size; k++) {
                Py_DECREF(keys[k]);
            }
        }
        if (last < 0 || grp_append(&g.items[last], i, row) < 0) {
            for (Py_ssize_t k = 0; k < size; k++) {
                Py_DECREF(row[k]);
            }
            goto done;
        }
    }
    PyObject *groups = groups_result(&g);
    if (groups != NULL) {
        result = Py_BuildValue("(NO)", groups, nulls ? Py_True : Py_False);
    }
    goto done;
not_mine:  /* a key that is not a str: the caller groups in Python */
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(keys);
    PyMem_Free(row);
    groups_free(&g);
    Py_DECREF(fields);
    return result;
}


/* ---- texts ----------------------------------------------------------------------------- */

typedef struct {
    PyObject **items;  /* new references */
    Py_ssize_t count, capacity;
} Pieces;

static int
pieces_add(Pieces *p, PyObject *piece)  /* steals the reference */
{
    if (p->count == p->capacity) {
        Py_ssize_t capacity = p->capacity * 2;
        PyObject **items = PyMem_Realloc(p->items, (size_t)capacity * sizeof(PyObject *));
        if (items == NULL) {
            Py_DECREF(piece);
            PyErr_NoMemory();
            return -1;
        }
        p->items = items;
        p->capacity = capacity;
    }
    if (!PyUnicode_Check(piece) || STR_READY(piece) < 0) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_TypeError, "a token is a str, not %.100s", Py_TYPE(piece)->tp_name);
        }
        Py_DECREF(piece);
        return -1;
    }
    p->items[p->count++] = piece;
    return 0;
}

static void
pieces_clear(Pieces *p)
{
    for (Py_ssize_t i = 0; i < p->count; i++) {
        Py_DECREF(p->items[i]);
    }
    p->count = 0;
}

/* A value's token from its field's cache: a hit read directly, a miss through the cache's
 * __missing__ (which makes and keeps the token, as a subscript from Python would). A reference
 * is held: a miss may empty the other caches (TermIndexer._add). */
static int
add_token(Pieces *p, PyObject *cache, PyObject *value)
{
    PyObject *token = PyDict_GetItemWithError(cache, value);
    if (token != NULL) {
        Py_INCREF(token);
    }
    else {
        if (PyErr_Occurred()) {
            return -1;  /* unhashable: the caller makes the rows in Python, which raises the same */
        }
        token = PyObject_GetItem(cache, value);
        if (token == NULL) {
            return -1;
        }
    }
    return pieces_add(p, token);
}

/* The pieces joined: a copy of each into one new str (all ASCII, as tokens are), else str.join. */
static PyObject *
pieces_joined(Pieces *p)
{
    Py_ssize_t length = 0;
    int ascii = 1;
    for (Py_ssize_t i = 0; i < p->count; i++) {
        length += PyUnicode_GET_LENGTH(p->items[i]);
        ascii &= PyUnicode_IS_ASCII(p->items[i]) ? 1 : 0;
    }
    if (!ascii) {
        PyObject *list = PyList_New(p->count);
        if (list == NULL) {
            return NULL;
        }
        for (Py_ssize_t i = 0; i < p->count; i++) {
            Py_INCREF(p->items[i]);
            PyList_SET_ITEM(list, i, p->items[i]);
        }
        PyObject *empty = PyUnicode_New(0, 0);
        PyObject *joined = empty == NULL ? NULL : PyUnicode_Join(empty, list);
        Py_XDECREF(empty);
        Py_DECREF(list);
        return joined;
    }
    PyObject *text = PyUnicode_New(length, 127);
    if (text == NULL) {
        return NULL;
    }
    Py_UCS1 *out = PyUnicode_1BYTE_DATA(text);
    for (Py_ssize_t i = 0; i < p->count; i++) {
        Py_ssize_t size = PyUnicode_GET_LENGTH(p->items[i]);
        memcpy(out, PyUnicode_1BYTE_DATA(p->items[i]), (size_t)size);
        out += size;
    }
    return text;
}

/* Each field's last value and its token (a new reference), for a run of events with the same value. */
typedef struct {
    PyObject *value;
    PyObject *token;
} Last;

static void
last_free(Last *last, Py_ssize_t width)
{
    if (last != NULL) {
        for (Py_ssize_t j = 0; j < width; j++) {
            Py_XDECREF(last[j].token);
        }
        PyMem_Free(last);
    }
}

PyDoc_STRVAR(texts_doc,
"texts(prefix, caches, columns, symbols, out, at, /)\n--\n\n"
"Each event's token text: prefix, then for each field (a column of a group and its token cache)\n"
"the token of its value (of each item, for a list), then the event's symbol tokens (a list of\n"
"str). Put at out[at[k]] (at a list of positions), or appended in order when at is None.\n"
"Raises what a cache lookup raises (an unhashable value): the caller makes the rows in Python.");

static PyObject *
texts(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "texts() takes 6 arguments");
        return NULL;
    }
    PyObject *prefix = args[0], *caches = args[1], *columns = args[2], *symbols = args[3];
    PyObject *out = args[4], *at = args[5];
    if (!PyUnicode_Check(prefix) || !PyTuple_CheckExact(caches) || !PyTuple_CheckExact(columns)
        || !PyList_CheckExact(symbols) || !PyList_CheckExact(out) || (at != Py_None && !PyList_CheckExact(at))) {
        PyErr_SetString(PyExc_TypeError, "texts(str, tuple, tuple, list, list, list | None)");
        return NULL;
    }
    Py_ssize_t width = PyTuple_GET_SIZE(columns), count = PyList_GET_SIZE(symbols);
    if (PyTuple_GET_SIZE(caches) != width || (at != Py_None && PyList_GET_SIZE(at) != count)) {
        PyErr_SetString(PyExc_ValueError, "texts(): caches and columns, symbols and at differ in length");
        return NULL;
    }
    for (Py_ssize_t j = 0; j < width; j++) {
        PyObject *column = PyTuple_GET_ITEM(columns, j);
        if (!PyDict_Check(PyTuple_GET_ITEM(caches, j)) || !PyTuple_CheckExact(column)
            || PyTuple_GET_SIZE(column) != count) {
            PyErr_SetString(PyExc_TypeError, "texts(): each cache a dict, each column a tuple of one value per event");
            return NULL;
        }
    }
    /* Hold what is read while Python code (a cache's __missing__) runs. */
    Py_INCREF(caches);
    Py_INCREF(columns);
    Py_INCREF(symbols);
    Py_INCREF(out);
    Py_XINCREF(at);
    Pieces p = {PyMem_Malloc(64 * sizeof(PyObject *)), 0, 64};
    Last *last = PyMem_Calloc((size_t)(width ? width : 1), sizeof(Last));
    if (p.items == NULL || last == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        prefetch_values(columns, width, k, count);
        Py_INCREF(prefix);
        if (pieces_add(&p, prefix) < 0) {
            goto fail;
        }
        for (Py_ssize_t j = 0; j < width; j++) {
            PyObject *cache = PyTuple_GET_ITEM(caches, j);
            PyObject *value = PyTuple_GET_ITEM(PyTuple_GET_ITEM(columns, j), k);
            if (value == last[j].value) {
                /* the value of the event before (a kind, an outcome, a host): its token again,
                 * without reading the value (the same object has the same token) */
                Py_INCREF(last[j].token);
                if (pieces_add(&p, last[j].token) < 0) {
                    goto fail;
                }
            }
            else if (PyList_CheckExact(value)) {
                /* a list field (or a list where the schema says one value): each item's token,
                 * read by index as map() reads it (the column holds the list) */
                for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
                    PyObject *item = PyList_GET_ITEM(value, i);
                    Py_INCREF(item);
                    int added = add_token(&p, cache, item);
                    Py_DECREF(item);
                    if (added < 0) {
                        goto fail;
                    }
                }
            }
            else if (PyList_Check(value)) {
                /* a list subclass: Python reads it its own way (through __iter__, maybe __hash__) */
                PyErr_SetString(PyExc_TypeError, "texts(): a list subclass");
                goto fail;
            }
            else {
                if (add_token(&p, cache, value) < 0) {
                    goto fail;
                }
                last[j].value = value;  /* alive: the column holds it */
                Py_INCREF(p.items[p.count - 1]);
                Py_XSETREF(last[j].token, p.items[p.count - 1]);
            }
        }
        if (k >= PyList_GET_SIZE(symbols) || (at != Py_None && k >= PyList_GET_SIZE(at))) {
            PyErr_SetString(PyExc_RuntimeError, "texts(): symbols or at changed while the texts were made");
            goto fail;
        }
        PyObject *symbol = PyList_GET_ITEM(symbols, k);
        Py_INCREF(symbol);
        if (pieces_add(&p, symbol) < 0) {
            goto fail;
        }
        PyObject *text = pieces_joined(&p);
        pieces_clear(&p);
        if (text == NULL) {
            goto fail;
        }
        if (put_text(out, at, k, text) < 0) {
            goto fail;
        }
    }
    PyMem_Free(p.items);
    last_free(last, width);
    Py_DECREF(caches);
    Py_DECREF(columns);
    Py_DECREF(symbols);
    Py_DECREF(out);
    Py_XDECREF(at);
    Py_RETURN_NONE;
fail:
    pieces_clear(&p);
    PyMem_Free(p.items);
    last_free(last, width);
    Py_DECREF(caches);
    Py_DECREF(columns);
    Py_DECREF(symbols);
    Py_DECREF(out);
    Py_XDECREF(at);
    return NULL;
}

/* ---- bodies ---------------------------------------------------------------------------- */

PyDoc_STRVAR(bodies_doc,
"bodies(columns, out, at, /)\n--\n\n"
"Each event's text body (fts_bodies' usual case): its values (one per column, each a non-empty\n"
"str) joined by U+001F, a NUL made U+001F too. Put at out[at[k]], or appended when at is None.\n"
"False, and nothing put, if a value is not a non-empty str: the caller makes those in Python.");

static PyObject *
bodies(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "bodies() takes 3 arguments");
        return NULL;
    }
    PyObject *columns = args[0], *out = args[1], *at = args[2];
    if (!PyTuple_CheckExact(columns) || PyTuple_GET_SIZE(columns) == 0 || !PyList_CheckExact(out)
        || (at != Py_None && !PyList_CheckExact(at))) {
        PyErr_SetString(PyExc_TypeError, "bodies(tuple (not empty), list, list | None)");
        return NULL;
    }
    Py_ssize_t width = PyTuple_GET_SIZE(columns);
    Py_ssize_t count = PyTuple_CheckExact(PyTuple_GET_ITEM(columns, 0)) ? PyTuple_GET_SIZE(PyTuple_GET_ITEM(columns, 0)) : -1;
    for (Py_ssize_t j = 0; j < width; j++) {
        PyObject *column = PyTuple_GET_ITEM(columns, j);
        if (!PyTuple_CheckExact(column) || PyTuple_GET_SIZE(column) != count) {
            PyErr_SetString(PyExc_TypeError, "bodies(): each column a tuple of one value per event");
            return NULL;
        }
        /* checked first, so that nothing is put when the caller is to make the bodies */
        for (Py_ssize_t k = 0; k < count; k++) {
            PyObject *value = PyTuple_GET_ITEM(column, k);
            if (!PyUnicode_CheckExact(value) || STR_READY(value) < 0 || PyUnicode_GET_LENGTH(value) == 0) {
                PyErr_Clear();
                Py_RETURN_FALSE;
            }
        }
    }
    if (at != Py_None && PyList_GET_SIZE(at) != count) {
        PyErr_SetString(PyExc_ValueError, "bodies(): at and the columns differ in length");
        return NULL;
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        prefetch_values(columns, width, k, count);
        Py_ssize_t length = width - 1;
        Py_UCS4 widest = 0x1f;
        for (Py_ssize_t j = 0; j < width; j++) {
            PyObject *value = PyTuple_GET_ITEM(PyTuple_GET_ITEM(columns, j), k);
            length += PyUnicode_GET_LENGTH(value);
            Py_UCS4 most = PyUnicode_MAX_CHAR_VALUE(value);
            widest = most > widest ? most : widest;
        }
        PyObject *text = PyUnicode_New(length, widest);
        if (text == NULL) {
            return NULL;
        }
        int kind = PyUnicode_KIND(text);
        void *data = PyUnicode_DATA(text);
        Py_ssize_t to = 0;
        for (Py_ssize_t j = 0; j < width; j++) {
            PyObject *value = PyTuple_GET_ITEM(PyTuple_GET_ITEM(columns, j), k);
            Py_ssize_t size = PyUnicode_GET_LENGTH(value);
            if (j) {
                PyUnicode_WRITE(kind, data, to++, 0x1f);
            }
            if (PyUnicode_CopyCharacters(text, to, value, 0, size) < 0) {
                Py_DECREF(text);
                return NULL;
            }
            /* FTS5 indexes text only up to a NUL: a NUL is a separator too (as fts_body) */
            Py_ssize_t nul = PyUnicode_FindChar(value, 0, 0, size, 1);
            while (nul >= 0) {
                PyUnicode_WRITE(kind, data, to + nul, 0x1f);
                nul = PyUnicode_FindChar(value, 0, nul + 1, size, 1);
            }
            if (nul == -2) {
                Py_DECREF(text);
                return NULL;
            }
            to += size;
        }
        if (put_text(out, at, k, text) < 0) {
            return NULL;
        }
    }
    Py_RETURN_TRUE;
}

static PyMethodDef methods[] = {
    {"group", (PyCFunction)group, METH_O, group_doc},
    {"texts", (PyCFunction)(void (*)(void))texts, METH_FASTCALL, texts_doc},
    {"bodies", (PyCFunction)(void (*)(void))bodies, METH_FASTCALL, bodies_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "netguard.events.sqlite_index._rows",
    "The SQLite event store's index rows: the hot loops of batch.py and terms.py in C.",
    0,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__rows(void)
{
    return PyModule_Create(&module);
}
