/*
 * _native.c - the CPython extension under `import infino`.
 *
 * Two types wrap the C API's handles: _Connection (infino_db) and _Table
 * (infino_table). They take and return Arrow data as PyCapsules of the
 * Arrow PyCapsule Interface ("arrow_schema", "arrow_array_stream"), so
 * rows cross between pyarrow and the engine without per-row Python work.
 * The public classes (infino.Connection, infino.Table, ...) live in the
 * thin Python layer (infino/_infino.py), which converts user inputs with
 * pyarrow and calls these.
 *
 * Every engine call runs with the GIL released. Errors become the builtin
 * exceptions upstream infino raises: KeyError (not found), ValueError
 * (bad input, existing name, row-count mismatch), RuntimeError (storage,
 * unsupported operation), MemoryError. A commit that kept losing its race
 * raises ConflictError, one of the classes of upstream 0.11 (see
 * "errors"), which is also a RuntimeError, what upstream's earlier
 * releases raise there.
 *
 * Ctrl-C: see "interrupts" below. A write either raises KeyboardInterrupt
 * having committed nothing, or returns normally (the KeyboardInterrupt
 * then surfaces at the caller's next statement, never from the call).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "infino.h"

#include <signal.h>
#include <string.h>

/* ---- errors ----------------------------------------------------------- *
 *
 * Upstream 0.11 adds a hierarchy under InfinoError(Exception) for the
 * failures a caller may retry. Each class here is also a subclass of the
 * builtin that upstream's earlier releases raise for the same case (all
 * RuntimeError: a lost commit race, an exhausted budget and a busy table
 * are "backend" failures there), so an `except` written for either
 * release catches it. Created at import; the module holds a reference. */
static PyObject *InfinoError, *ConflictError, *ConnectionMemoryBudgetError,
    *AlreadyRunningError;

static PyObject *new_error(const char *name, const char *doc, PyObject *base,
                           PyObject *builtin)
{
    PyObject *bases = builtin ? PyTuple_Pack(2, base, builtin)
                              : PyTuple_Pack(1, base);
    PyObject *type;

    if (bases == NULL)
        return NULL;
    type = PyErr_NewExceptionWithDoc(name, doc, bases, NULL);
    Py_DECREF(bases);
    return type;
}

static int add_errors(PyObject *m)
{
    InfinoError = new_error(
        "infino.InfinoError",
        "Base class for infino's own exception classes. Most failures "
        "raise the builtin exceptions upstream infino raises (KeyError, "
        "ValueError, RuntimeError, ...); the subclasses below are raised "
        "where upstream 0.11 raises them.",
        PyExc_Exception, NULL);
    if (InfinoError == NULL)
        return -1;
    ConflictError = new_error(
        "infino.ConflictError",
        "A concurrent writer won the commit race and the engine's own "
        "retries were exhausted. Nothing partial is visible: back off and "
        "reissue the append, update or delete. Also a RuntimeError.",
        InfinoError, PyExc_RuntimeError);
    ConnectionMemoryBudgetError = new_error(
        "infino.ConnectionMemoryBudgetError",
        "An ingest would exceed the connection's memory budget "
        "(connect(connection_memory_budget_bytes=...)). Nothing was "
        "written: split the ingest or raise the budget. Also a "
        "RuntimeError.",
        InfinoError, PyExc_RuntimeError);
    AlreadyRunningError = new_error(
        "infino.AlreadyRunningError",
        "Raised by reindex when an optimize or another reindex of the "
        "same table already runs in this process; nothing was changed: "
        "try again once it has finished. Also a RuntimeError.",
        InfinoError, PyExc_RuntimeError);
    if (ConflictError == NULL || ConnectionMemoryBudgetError == NULL ||
        AlreadyRunningError == NULL)
        return -1;
    Py_INCREF(InfinoError);
    Py_INCREF(ConflictError);
    Py_INCREF(ConnectionMemoryBudgetError);
    Py_INCREF(AlreadyRunningError);
    if (PyModule_AddObject(m, "InfinoError", InfinoError) < 0 ||
        PyModule_AddObject(m, "ConflictError", ConflictError) < 0 ||
        PyModule_AddObject(m, "ConnectionMemoryBudgetError",
                           ConnectionMemoryBudgetError) < 0 ||
        PyModule_AddObject(m, "AlreadyRunningError", AlreadyRunningError) <
            0)
        return -1; /* the references leak with the failed import */
    return 0;
}

/* The exception class for `st` (borrowed). */
static PyObject *error_type(infino_status st)
{
    switch (st) {
    case INFINO_ERR_NOTFOUND:
        return PyExc_KeyError;
    case INFINO_ERR_INVALID:
    case INFINO_ERR_EXISTS:
    case INFINO_ERR_CARDINALITY:
        return PyExc_ValueError;
    case INFINO_ERR_NOMEM:
        return PyExc_MemoryError;
    case INFINO_ERR_INTERRUPTED:
        return PyExc_KeyboardInterrupt;
    case INFINO_ERR_CONFLICT:
        return ConflictError;
    case INFINO_ERR_BUSY:
        return AlreadyRunningError;
    default:
        return PyExc_RuntimeError;
    }
}

/* _error_type(status) -> the class a status raises (for the tests, which
 * cannot make every status happen). */
static PyObject *py_error_type(PyObject *self, PyObject *arg)
{
    long st = PyLong_AsLong(arg);
    PyObject *type;

    (void)self;
    if (st == -1 && PyErr_Occurred())
        return NULL;
    type = error_type((infino_status)st);
    Py_INCREF(type);
    return type;
}

/* Raises the exception for `st`, with the engine's message. */
static PyObject *raise_status(infino_status st)
{
    const char *msg = infino_last_error();

    PyErr_SetString(error_type(st), msg[0] ? msg : infino_status_str(st));
    return NULL;
}

/* KeyError carrying just the table name, as upstream raises it. */
static PyObject *raise_not_found(const char *name)
{
    PyObject *key = PyUnicode_FromString(name);

    if (key != NULL) {
        PyErr_SetObject(PyExc_KeyError, key);
        Py_DECREF(key);
    }
    return NULL;
}

/* ---- interrupts ------------------------------------------------------- *
 *
 * Python's own SIGINT handler only sets a flag that the interpreter turns
 * into KeyboardInterrupt at its next check, and the first check after a C
 * method returns is in the caller's frame, at the call: a Ctrl-C during a
 * committed append would surface from append(), and the caller, told the
 * call failed, would retry it. So around long engine calls on the main
 * thread we take SIGINT over ("capture"): our handler sets `sigint_seen`,
 * which the engine watches (infino_interrupt_watch) and polls between
 * batches, stopping with INFINO_ERR_INTERRUPTED and committing nothing.
 *
 *  - INFINO_ERR_INTERRUPTED: we restore Python's handler and raise
 *    KeyboardInterrupt (nothing was committed).
 *  - success: the Ctrl-C, if any, is owed. The method returns its result
 *    with a guard object (the Python wrapper drops it as its very last
 *    step, after building its result). Dropping the last guard restores
 *    Python's handler and re-delivers an owed Ctrl-C with
 *    PyErr_SetInterrupt(), so it surfaces at the caller's next statement.
 *    Python code the wrapper runs after the engine call is thus covered
 *    too: no KeyboardInterrupt can escape from the wrapper after a commit.
 *  - another error: we raise it and re-deliver the Ctrl-C at once; it
 *    surfaces after the exception has left the call.
 *  - reads (query_sql, scan): nothing to lose; an owed Ctrl-C raises
 *    KeyboardInterrupt and the result is dropped.
 *
 * Only on the main thread (where Python runs signal handlers) and only
 * while Python's handler is signal.default_int_handler: a program that
 * installed its own handler, or ignores SIGINT, keeps it. Captures nest
 * (an engine call may pull rows from a Python generator that calls us
 * again): the outermost one saves and restores Python's action. All the
 * state below is touched only by the main thread with the GIL held. */

static volatile sig_atomic_t sigint_seen;
static int capture_depth;     /* open captures: calls running + live guards */
static int engine_depth;      /* engine calls running under a capture */
static struct sigaction python_sigint; /* Python's action, while depth > 0 */
static PyObject *default_int_handler;  /* signal.default_int_handler */
static PyObject *getsignal;            /* signal.getsignal */

static void on_sigint(int sig)
{
    (void)sig;
    sigint_seen = 1;
}

static int on_main_thread(void)
{
    PyObject *threading = PyImport_ImportModule("threading");
    PyObject *main = NULL, *ident = NULL;
    int yes = 0;

    if (threading != NULL)
        main = PyObject_CallMethod(threading, "main_thread", NULL);
    if (main != NULL)
        ident = PyObject_GetAttrString(main, "ident");
    if (ident != NULL)
        yes = PyLong_AsUnsignedLong(ident) == PyThread_get_thread_ident();
    Py_XDECREF(ident);
    Py_XDECREF(main);
    Py_XDECREF(threading);
    PyErr_Clear(); /* undecidable: leave signals alone */
    return yes;
}

static int python_handler_is_default(void)
{
    PyObject *h = PyObject_CallFunction(getsignal, "i", SIGINT);
    int yes = h != NULL && h == default_int_handler;

    Py_XDECREF(h);
    PyErr_Clear();
    return yes;
}

/* Ends a capture. `delivered`: the call raised KeyboardInterrupt for the
 * Ctrl-C, so it is not owed. The outermost end restores Python's handler
 * and re-delivers an owed Ctrl-C. */
static void capture_end(int delivered)
{
    if (--capture_depth > 0)
        return;
    sigaction(SIGINT, &python_sigint, NULL);
    if (sigint_seen && !delivered)
        PyErr_SetInterrupt();
    sigint_seen = 0;
}

/* Starts a capture before an engine call: 1 when captured (end it with
 * capture_end, or hand it to a guard), 0 when signals are left alone, -1
 * with KeyboardInterrupt set when a Ctrl-C was already pending (nothing
 * has been done yet). */
static int capture_begin(void)
{
    if (!on_main_thread()) /* also while the main thread holds a capture */
        return 0;
    if (capture_depth == 0) {
        struct sigaction sa;

        if (!python_handler_is_default())
            return 0;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigint;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART; /* engine I/O is not cut short */
        sigint_seen = 0;
        if (sigaction(SIGINT, &sa, &python_sigint) != 0)
            return 0;
    }
    capture_depth++;
    /* A Ctrl-C that Python's handler caught just before we took over. */
    if (PyErr_CheckSignals() < 0) {
        capture_end(1);
        return -1;
    }
    return 1;
}

/* Bracket the engine call itself (GIL held), so that it polls our flag. */
static void engine_enter(int captured)
{
    if (captured && engine_depth++ == 0)
        infino_interrupt_watch(&sigint_seen);
}

static void engine_leave(int captured)
{
    if (captured && --engine_depth == 0)
        infino_interrupt_watch(NULL);
}

static PyObject *raise_interrupted(void)
{
    const char *msg = infino_last_error();

    PyErr_SetString(PyExc_KeyboardInterrupt,
                    msg[0] ? msg : infino_status_str(INFINO_ERR_INTERRUPTED));
    return NULL;
}

/* A guard holds one capture open until it is dropped. Only we create
 * them (no tp_new). */
typedef struct {
    PyObject_HEAD
} GuardObject;

static void guard_dealloc(GuardObject *self)
{
    capture_end(0);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject GuardType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "infino._native._CtrlCGuard",
    .tp_basicsize = sizeof(GuardObject),
    .tp_dealloc = (destructor)guard_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
};

/* The result of a write: (value, guard) on success (guard None when not
 * captured), else the exception for `st`, ending the capture as the
 * comment above says. `value` (taken) is NULL unless st is INFINO_OK. */
static PyObject *write_result(int captured, infino_status st, PyObject *value)
{
    GuardObject *g;

    if (st == INFINO_ERR_INTERRUPTED) {
        Py_XDECREF(value);
        raise_interrupted();
        if (captured)
            capture_end(1);
        return NULL;
    }
    if (st != INFINO_OK || value == NULL) {
        Py_XDECREF(value);
        if (st != INFINO_OK)
            raise_status(st);
        if (captured)
            capture_end(0);
        return NULL;
    }
    if (!captured)
        return Py_BuildValue("(NO)", value, Py_None);
    g = PyObject_New(GuardObject, &GuardType);
    if (g == NULL) {
        Py_DECREF(value);
        capture_end(0);
        return NULL;
    }
    return Py_BuildValue("(NN)", value, (PyObject *)g);
}

/* ---- capsules --------------------------------------------------------- */

static void release_schema_capsule(PyObject *cap)
{
    struct ArrowSchema *s = PyCapsule_GetPointer(cap, "arrow_schema");

    if (s != NULL) {
        if (s->release != NULL)
            s->release(s);
        PyMem_Free(s);
    } else {
        PyErr_Clear();
    }
}

static void release_stream_capsule(PyObject *cap)
{
    struct ArrowArrayStream *s =
        PyCapsule_GetPointer(cap, "arrow_array_stream");

    if (s != NULL) {
        if (s->release != NULL)
            s->release(s);
        PyMem_Free(s);
    } else {
        PyErr_Clear();
    }
}

/* Moves the stream out of an "arrow_array_stream" capsule into *out; the
 * capsule's copy is marked released, as the protocol prescribes. */
static int take_stream(PyObject *cap, struct ArrowArrayStream *out)
{
    struct ArrowArrayStream *s =
        PyCapsule_GetPointer(cap, "arrow_array_stream");

    if (s == NULL)
        return -1;
    if (s->release == NULL) {
        PyErr_SetString(PyExc_ValueError, "the Arrow stream was consumed");
        return -1;
    }
    *out = *s;
    s->release = NULL;
    return 0;
}

/* Wraps a stream we produced in a new capsule (which takes it). */
static PyObject *stream_capsule(struct ArrowArrayStream *stream)
{
    struct ArrowArrayStream *heap = PyMem_Malloc(sizeof *heap);
    PyObject *cap;

    if (heap == NULL) {
        stream->release(stream);
        return PyErr_NoMemory();
    }
    *heap = *stream;
    cap = PyCapsule_New(heap, "arrow_array_stream", release_stream_capsule);
    if (cap == NULL) {
        heap->release(heap);
        PyMem_Free(heap);
    }
    return cap;
}

/* ---- _Connection ------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    infino_db *db;
} ConnObject;

typedef struct {
    PyObject_HEAD
    infino_table *t;
    PyObject *conn; /* keeps the database open while the table lives */
} TableObject;

static PyTypeObject ConnType;
static PyTypeObject TableType;

static void conn_dealloc(ConnObject *self)
{
    infino_db_close(self->db);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *new_table(ConnObject *conn, infino_table *t)
{
    TableObject *obj = PyObject_New(TableObject, &TableType);

    if (obj == NULL) {
        infino_table_close(t);
        return NULL;
    }
    obj->t = t;
    Py_INCREF(conn);
    obj->conn = (PyObject *)conn;
    return (PyObject *)obj;
}

/* Adds one full-text column of create_table's list: (column, analyzer,
 * stemmer, stopwords language, stopword list, k1, b, positions, stored),
 * the Nones and 0s
 * meaning the defaults. 0 with a Python exception set when the tuple is
 * malformed; otherwise 1, with *st the library's answer. */
static int fts_column(infino_index_spec *spec, PyObject *item,
                      infino_status *st)
{
    infino_fts_opts o = INFINO_FTS_OPTS_INIT;
    const char *col, **words = NULL;
    PyObject *list;
    Py_ssize_t n = 0;

    if (!PyArg_ParseTuple(item, "szzzOddpp", &col, &o.analyzer, &o.stemmer,
                          &o.stopwords, &list, &o.k1, &o.b, &o.positions,
                          &o.stored))
        return 0;
    if (list != Py_None) {
        if (!PyTuple_Check(list)) {
            PyErr_SetString(PyExc_TypeError, "stop word list must be a tuple");
            return 0;
        }
        n = PyTuple_GET_SIZE(list);
        words = PyMem_Calloc((size_t)n + 1, sizeof *words);
        if (words == NULL) {
            PyErr_NoMemory();
            return 0;
        }
        for (Py_ssize_t j = 0; j < n; j++)
            if ((words[j] = PyUnicode_AsUTF8(PyTuple_GET_ITEM(list, j))) ==
                NULL) {
                PyMem_Free(words);
                return 0;
            }
        o.stopword_list = words;
        o.n_stopword_list = (size_t)n;
    }
    *st = infino_index_spec_fts_ex(spec, col, &o);
    PyMem_Free(words);
    return 1;
}

/* create_table(name, schema_capsule, fts_columns, vector_specs) where
 * fts_columns is a list of fts_column tuples and vector_specs a list of
 * (column, dim, n_centroids, metric). */
static PyObject *conn_create_table(ConnObject *self, PyObject *args)
{
    const char *name;
    PyObject *schema_cap, *fts, *vecs;
    struct ArrowSchema *schema;
    infino_index_spec *spec = NULL;
    infino_table *t = NULL;
    infino_status st;

    if (!PyArg_ParseTuple(args, "sOO!O!", &name, &schema_cap, &PyList_Type,
                          &fts, &PyList_Type, &vecs))
        return NULL;
    if (!infino_table_name_valid(name)) {
        /* upstream raises RuntimeError here; the name is echoed in part
         * so that the reason always shows */
        size_t n = strlen(name);
        PyErr_Format(PyExc_RuntimeError,
                     "invalid table name '%.64s%s' (%zu characters): use "
                     "1-%d characters of [A-Za-z0-9_-], not starting with '_'",
                     name, n > 64 ? "..." : "", n, INFINO_TABLE_NAME_MAX);
        return NULL;
    }
    schema = PyCapsule_GetPointer(schema_cap, "arrow_schema");
    if (schema == NULL)
        return NULL;
    st = infino_index_spec_new(&spec);
    for (Py_ssize_t i = 0; st == INFINO_OK && i < PyList_GET_SIZE(fts); i++) {
        if (!fts_column(spec, PyList_GET_ITEM(fts, i), &st)) {
            infino_index_spec_free(spec);
            return NULL;
        }
    }
    for (Py_ssize_t i = 0; st == INFINO_OK && i < PyList_GET_SIZE(vecs); i++) {
        const char *col, *metric;
        unsigned long dim, n_cent;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(vecs, i), "skks", &col, &dim,
                              &n_cent, &metric)) {
            infino_index_spec_free(spec);
            return NULL;
        }
        if (dim > UINT32_MAX || n_cent > UINT32_MAX) {
            infino_index_spec_free(spec);
            PyErr_SetString(PyExc_OverflowError, "dim or n_cent too large");
            return NULL;
        }
        st = infino_index_spec_vector(spec, col, (uint32_t)dim,
                                      (uint32_t)n_cent, metric);
    }
    if (st == INFINO_OK) {
        Py_BEGIN_ALLOW_THREADS
        st = infino_create_table(&t, self->db, name, schema, spec);
        Py_END_ALLOW_THREADS
    }
    infino_index_spec_free(spec);
    if (st != INFINO_OK)
        return raise_status(st);
    return new_table(self, t);
}

static PyObject *conn_open_table(ConnObject *self, PyObject *args)
{
    const char *name;
    infino_table *t = NULL;
    infino_status st;

    if (!PyArg_ParseTuple(args, "s", &name))
        return NULL;
    if (!infino_table_name_valid(name))
        return PyErr_Format(PyExc_RuntimeError, "invalid table name '%s'",
                            name);
    Py_BEGIN_ALLOW_THREADS
    st = infino_open_table(&t, self->db, name);
    Py_END_ALLOW_THREADS
    if (st == INFINO_ERR_NOTFOUND)
        return raise_not_found(name);
    if (st != INFINO_OK)
        return raise_status(st);
    return new_table(self, t);
}

static PyObject *conn_drop_table(ConnObject *self, PyObject *args)
{
    const char *name;
    int purge = 0;
    infino_status st;

    if (!PyArg_ParseTuple(args, "sp", &name, &purge))
        return NULL;
    if (!infino_table_name_valid(name))
        return PyErr_Format(PyExc_RuntimeError, "invalid table name '%s'",
                            name);
    Py_BEGIN_ALLOW_THREADS
    st = infino_drop_table(self->db, name, purge);
    Py_END_ALLOW_THREADS
    if (st == INFINO_ERR_NOTFOUND)
        return raise_not_found(name);
    if (st != INFINO_OK)
        return raise_status(st);
    Py_RETURN_NONE;
}

static PyObject *conn_list_tables(ConnObject *self, PyObject *unused)
{
    char **names = NULL;
    size_t n = 0;
    infino_status st;
    PyObject *list;

    (void)unused;
    Py_BEGIN_ALLOW_THREADS
    st = infino_list_tables(self->db, &names, &n);
    Py_END_ALLOW_THREADS
    if (st != INFINO_OK)
        return raise_status(st);
    list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list != NULL && i < n; i++) {
        PyObject *s = PyUnicode_FromString(names[i]);
        if (s == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, s);
    }
    infino_free_names(names, n);
    return list;
}

/* The result of a read (a stream, taken): under a capture, a Ctrl-C that
 * arrived during the call raises KeyboardInterrupt and drops the result,
 * as nothing was changed. */
static PyObject *read_result(int captured, infino_status st,
                             struct ArrowArrayStream *stream)
{
    if (captured) {
        int interrupted = st == INFINO_ERR_INTERRUPTED || sigint_seen;
        capture_end(interrupted);
        if (interrupted) {
            if (st == INFINO_OK && stream->release != NULL)
                stream->release(stream);
            if (st == INFINO_ERR_INTERRUPTED)
                return raise_interrupted();
            PyErr_SetNone(PyExc_KeyboardInterrupt);
            return NULL;
        }
    }
    if (st != INFINO_OK)
        return raise_status(st);
    return stream_capsule(stream);
}

static PyObject *conn_query_sql(ConnObject *self, PyObject *args)
{
    const char *sql;
    struct ArrowArrayStream stream;
    infino_status st;
    int captured;

    if (!PyArg_ParseTuple(args, "s", &sql))
        return NULL;
    if ((captured = capture_begin()) < 0)
        return NULL;
    engine_enter(captured);
    Py_BEGIN_ALLOW_THREADS
    st = infino_query_sql(self->db, sql, &stream);
    Py_END_ALLOW_THREADS
    engine_leave(captured);
    return read_result(captured, st, &stream);
}

static PyObject *conn_is_durable(ConnObject *self, PyObject *unused)
{
    (void)unused;
    return PyBool_FromLong(infino_db_is_durable(self->db));
}

static PyMethodDef conn_methods[] = {
    {"create_table", (PyCFunction)conn_create_table, METH_VARARGS, NULL},
    {"open_table", (PyCFunction)conn_open_table, METH_VARARGS, NULL},
    {"drop_table", (PyCFunction)conn_drop_table, METH_VARARGS, NULL},
    {"list_tables", (PyCFunction)conn_list_tables, METH_NOARGS, NULL},
    {"is_durable", (PyCFunction)conn_is_durable, METH_NOARGS, NULL},
    {"query_sql", (PyCFunction)conn_query_sql, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ConnType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "infino._native._Connection",
    .tp_basicsize = sizeof(ConnObject),
    .tp_dealloc = (destructor)conn_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_methods = conn_methods,
};

/* ---- _Table ----------------------------------------------------------- */

static void table_dealloc(TableObject *self)
{
    infino_table_close(self->t);
    Py_XDECREF(self->conn);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *table_name(TableObject *self, PyObject *unused)
{
    (void)unused;
    return PyUnicode_FromString(infino_table_name(self->t));
}

static PyObject *table_schema(TableObject *self, PyObject *unused)
{
    struct ArrowSchema *s = PyMem_Malloc(sizeof *s);
    infino_status st;
    PyObject *cap;

    (void)unused;
    if (s == NULL)
        return PyErr_NoMemory();
    Py_BEGIN_ALLOW_THREADS
    st = infino_table_schema(self->t, s); /* asks storage: may block */
    Py_END_ALLOW_THREADS
    if (st != INFINO_OK) {
        PyMem_Free(s);
        return raise_status(st);
    }
    cap = PyCapsule_New(s, "arrow_schema", release_schema_capsule);
    if (cap == NULL) {
        s->release(s);
        PyMem_Free(s);
    }
    return cap;
}

/* schema_id() -> int: the newest snapshot's schema id. */
static PyObject *table_schema_id(TableObject *self, PyObject *unused)
{
    uint64_t id = 0;
    infino_status st;

    (void)unused;
    Py_BEGIN_ALLOW_THREADS
    st = infino_table_schema_id(self->t, &id);
    Py_END_ALLOW_THREADS
    if (st != INFINO_OK)
        return raise_status(st);
    return PyLong_FromUnsignedLongLong(id);
}

/* add_columns(schema_capsule, expected_schema_id) -> int: the schema id
 * afterwards (expected 0: no check). */
static PyObject *table_add_columns(TableObject *self, PyObject *args)
{
    PyObject *cap;
    unsigned long long expected;
    struct ArrowSchema *schema;
    uint64_t id = 0;
    infino_status st;

    if (!PyArg_ParseTuple(args, "OK", &cap, &expected))
        return NULL;
    schema = PyCapsule_GetPointer(cap, "arrow_schema");
    if (schema == NULL)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    st = infino_table_add_columns(self->t, schema, expected, &id);
    Py_END_ALLOW_THREADS
    if (st != INFINO_OK)
        return raise_status(st);
    return PyLong_FromUnsignedLongLong(id);
}

/* indexes() -> [(kind, column, dim, n_centroids, metric or None)] for
 * vector indexes, [(kind, column, analyzer, stemmer or None, stopwords or
 * None, [stop words], k1, b)] for full-text ones. */
static PyObject *table_indexes(TableObject *self, PyObject *unused)
{
    PyObject *list = PyList_New(0);

    (void)unused;
    for (size_t i = 0; list != NULL; i++) {
        const char *kind, *column, *metric;
        uint32_t dim, n_cent;
        PyObject *item;
        infino_status st = infino_table_index_at(self->t, i, &kind, &column,
                                                 &dim, &n_cent, &metric);
        if (st == INFINO_ERR_NOTFOUND)
            break;
        if (st != INFINO_OK) {
            Py_DECREF(list);
            return raise_status(st);
        }
        if (strcmp(kind, "fts") == 0) {
            /* (kind, column, analyzer, stemmer, stopwords, stop list, k1,
             * b, positions, stored): the options of a full-text index */
            infino_fts_opts o = INFINO_FTS_OPTS_INIT;
            PyObject *words;
            st = infino_table_fts_opts_at(self->t, i, &o);
            if (st != INFINO_OK) {
                Py_DECREF(list);
                return raise_status(st);
            }
            words = PyList_New((Py_ssize_t)o.n_stopword_list);
            for (size_t j = 0; words != NULL && j < o.n_stopword_list; j++) {
                PyObject *w = PyUnicode_FromString(o.stopword_list[j]);
                if (w == NULL)
                    Py_CLEAR(words);
                else
                    PyList_SET_ITEM(words, (Py_ssize_t)j, w);
            }
            item = words == NULL ? NULL
                                 : Py_BuildValue("(sszzzNddNN)", kind, column,
                                                 o.analyzer, o.stemmer,
                                                 o.stopwords, words, o.k1,
                                                 o.b,
                                                 PyBool_FromLong(o.positions),
                                                 PyBool_FromLong(o.stored));
        } else {
            item = Py_BuildValue("(ssIIz)", kind, column, (unsigned)dim,
                                 (unsigned)n_cent, metric);
        }
        if (item == NULL || PyList_Append(list, item) < 0)
            Py_CLEAR(list);
        Py_XDECREF(item);
    }
    return list;
}

/* Starts a capture for a call that has taken `stream`, releasing it when
 * the call cannot go on. */
static int capture_begin_taking(struct ArrowArrayStream *stream)
{
    int captured = capture_begin();

    if (captured < 0 && stream->release != NULL)
        stream->release(stream);
    return captured;
}

/* append(stream) -> (n_rows, guard) */
static PyObject *table_append(TableObject *self, PyObject *args)
{
    PyObject *cap;
    struct ArrowArrayStream stream;
    uint64_t n = 0;
    infino_status st;
    int captured;

    if (!PyArg_ParseTuple(args, "O", &cap) || take_stream(cap, &stream) != 0)
        return NULL;
    if ((captured = capture_begin_taking(&stream)) < 0)
        return NULL;
    engine_enter(captured);
    Py_BEGIN_ALLOW_THREADS
    st = infino_table_append(self->t, &stream, &n);
    Py_END_ALLOW_THREADS
    engine_leave(captured);
    return write_result(captured, st,
                        st == INFINO_OK ? PyLong_FromUnsignedLongLong(n)
                                        : NULL);
}

static PyObject *stats_tuple(const infino_mutation_stats *s)
{
    return Py_BuildValue("(KKK)", (unsigned long long)s->matched,
                         (unsigned long long)s->n_tombstoned,
                         (unsigned long long)s->n_not_found);
}

/* delete(predicate) -> ((matched, n_tombstoned, n_not_found), guard) */
static PyObject *table_delete(TableObject *self, PyObject *args)
{
    const char *pred;
    infino_mutation_stats s;
    infino_status st;
    int captured;

    if (!PyArg_ParseTuple(args, "s", &pred))
        return NULL;
    if ((captured = capture_begin()) < 0)
        return NULL;
    engine_enter(captured);
    Py_BEGIN_ALLOW_THREADS
    st = infino_table_delete(self->t, pred, &s);
    Py_END_ALLOW_THREADS
    engine_leave(captured);
    return write_result(captured, st, st == INFINO_OK ? stats_tuple(&s) : NULL);
}

/* update(predicate, stream) -> ((matched, n_tombstoned, n_not_found),
 *                               guard) */
static PyObject *table_update(TableObject *self, PyObject *args)
{
    const char *pred;
    PyObject *cap;
    struct ArrowArrayStream stream;
    infino_mutation_stats s;
    infino_status st;

    int captured;

    if (!PyArg_ParseTuple(args, "sO", &pred, &cap) ||
        take_stream(cap, &stream) != 0)
        return NULL;
    if ((captured = capture_begin_taking(&stream)) < 0)
        return NULL;
    engine_enter(captured);
    Py_BEGIN_ALLOW_THREADS
    st = infino_table_update(self->t, pred, &stream, &s);
    Py_END_ALLOW_THREADS
    engine_leave(captured);
    return write_result(captured, st, st == INFINO_OK ? stats_tuple(&s) : NULL);
}

/* optimize(max_memory_mb or 0, min_fill_percent or -1, target_mb or 0,
 *          recalibrate or None, stale_seal_timeout_ms or 0)
 * -> (None, guard) */
static PyObject *table_optimize(TableObject *self, PyObject *args)
{
    unsigned long long mem, target, seal;
    int fill;
    const char *recalibrate;
    infino_optimize_opts o = INFINO_OPTIMIZE_OPTS_INIT;
    infino_status st;
    int captured;

    if (!PyArg_ParseTuple(args, "KiKzK", &mem, &fill, &target, &recalibrate,
                          &seal))
        return NULL;
    o.max_memory_mb = mem;
    o.min_fill_percent = fill;
    o.target_superfile_mb = target;
    o.recalibrate = recalibrate;
    o.stale_seal_timeout_ms = seal;
    if ((captured = capture_begin()) < 0)
        return NULL;
    engine_enter(captured);
    Py_BEGIN_ALLOW_THREADS
    st = infino_table_optimize(self->t, &o);
    Py_END_ALLOW_THREADS
    engine_leave(captured);
    if (st == INFINO_OK)
        Py_INCREF(Py_None);
    return write_result(captured, st, st == INFINO_OK ? Py_None : NULL);
}

/* The tuple of a reindex report: (superfiles, already_current,
 * needing_rewrite, awaiting_reanalysis, bytes_to_rewrite, rewritten,
 * held_by_another_run, [(superfile_id, mode, live_bytes)],
 * [inconsistent superfile ids]). */
static PyObject *reindex_tuple(const infino_reindex_report *r)
{
    PyObject *plan = PyList_New((Py_ssize_t)r->needing_rewrite);
    PyObject *bad = PyList_New((Py_ssize_t)r->n_inconsistent_footers);

    if (plan == NULL || bad == NULL)
        goto fail;
    for (size_t i = 0; i < r->needing_rewrite; i++) {
        PyObject *e = Py_BuildValue("(ssK)", r->plan[i].superfile_id,
                                    r->plan[i].mode,
                                    (unsigned long long)r->plan[i].live_bytes);
        if (e == NULL)
            goto fail;
        PyList_SET_ITEM(plan, (Py_ssize_t)i, e);
    }
    for (size_t i = 0; i < r->n_inconsistent_footers; i++) {
        PyObject *e = PyUnicode_FromString(r->inconsistent_footers[i]);
        if (e == NULL)
            goto fail;
        PyList_SET_ITEM(bad, (Py_ssize_t)i, e);
    }
    return Py_BuildValue("(KKKKKKKNN)", (unsigned long long)r->superfiles,
                         (unsigned long long)r->already_current,
                         (unsigned long long)r->needing_rewrite,
                         (unsigned long long)r->awaiting_reanalysis,
                         (unsigned long long)r->bytes_to_rewrite,
                         (unsigned long long)r->rewritten,
                         (unsigned long long)r->held_by_another_run, plan,
                         bad);
fail:
    Py_XDECREF(plan);
    Py_XDECREF(bad);
    return NULL;
}

/* reindex(mode or None, stale_seal_timeout_ms or 0, plan_only)
 * -> (report tuple (reindex_tuple), guard). With plan_only, what a
 * reindex would repair, changing nothing. */
static PyObject *table_reindex(TableObject *self, PyObject *args)
{
    const char *mode;
    unsigned long long seal;
    int plan_only;
    infino_reindex_opts o = INFINO_REINDEX_OPTS_INIT;
    infino_reindex_report r = {0};
    infino_status st;
    int captured;
    PyObject *value = NULL;

    if (!PyArg_ParseTuple(args, "zKp", &mode, &seal, &plan_only))
        return NULL;
    o.mode = mode;
    o.stale_seal_timeout_ms = seal;
    if ((captured = capture_begin()) < 0)
        return NULL;
    engine_enter(captured);
    Py_BEGIN_ALLOW_THREADS
    st = plan_only ? infino_table_reindex_plan(self->t, &o, &r)
                   : infino_table_reindex(self->t, &o, &r);
    Py_END_ALLOW_THREADS
    engine_leave(captured);
    if (st == INFINO_OK)
        value = reindex_tuple(&r);
    infino_reindex_report_free(&r);
    return write_result(captured, st, value);
}

/* gc(grace_secs) -> ((bytes_freed, objects_deleted, skipped_live,
 *                     skipped_too_new, delete_errors), guard). gc itself
 * is not interruptible; the capture keeps a Ctrl-C from surfacing from
 * the call after it has deleted files. */
static PyObject *table_gc(TableObject *self, PyObject *args)
{
    double grace;
    infino_gc_report r;
    infino_status st;
    int captured;

    if (!PyArg_ParseTuple(args, "d", &grace))
        return NULL;
    if ((captured = capture_begin()) < 0)
        return NULL;
    engine_enter(captured);
    Py_BEGIN_ALLOW_THREADS
    st = infino_table_gc(self->t, grace, &r);
    Py_END_ALLOW_THREADS
    engine_leave(captured);
    return write_result(
        captured, st,
        st != INFINO_OK ? NULL
                        : Py_BuildValue("(KKKKK)",
                                        (unsigned long long)r.bytes_freed,
                                        (unsigned long long)r.objects_deleted,
                                        (unsigned long long)r.objects_skipped_live,
                                        (unsigned long long)r.objects_skipped_too_new,
                                        (unsigned long long)r.delete_errors));
}

static PyObject *table_check(TableObject *self, PyObject *unused)
{
    infino_check_report r;
    infino_status st;

    (void)unused;
    Py_BEGIN_ALLOW_THREADS
    st = infino_table_check(self->t, &r);
    Py_END_ALLOW_THREADS
    if (st != INFINO_OK)
        return raise_status(st);
    return Py_BuildValue("(KKKKK)", (unsigned long long)r.version,
                         (unsigned long long)r.n_superfiles,
                         (unsigned long long)r.n_rows,
                         (unsigned long long)r.n_deleted,
                         (unsigned long long)r.bytes_verified);
}

static PyObject *table_count_rows(TableObject *self, PyObject *unused)
{
    uint64_t n = 0;
    infino_status st;

    (void)unused;
    Py_BEGIN_ALLOW_THREADS
    st = infino_table_count_rows(self->t, &n);
    Py_END_ALLOW_THREADS
    if (st != INFINO_OK)
        return raise_status(st);
    return PyLong_FromUnsignedLongLong(n);
}

/* scan(columns: list[str] | None, predicate: str | None) -> capsule */
static PyObject *table_scan(TableObject *self, PyObject *args)
{
    PyObject *cols_obj, *pred_obj;
    const char *pred = NULL;
    const char **cols = NULL;
    Py_ssize_t n = 0;
    struct ArrowArrayStream stream;
    infino_status st;
    int captured;

    if (!PyArg_ParseTuple(args, "OO", &cols_obj, &pred_obj))
        return NULL;
    if (pred_obj != Py_None && (pred = PyUnicode_AsUTF8(pred_obj)) == NULL)
        return NULL;
    if (cols_obj != Py_None) {
        if (!PyList_Check(cols_obj)) {
            PyErr_SetString(PyExc_TypeError, "columns must be a list");
            return NULL;
        }
        n = PyList_GET_SIZE(cols_obj);
        cols = PyMem_Calloc((size_t)n + 1, sizeof *cols);
        if (cols == NULL)
            return PyErr_NoMemory();
        for (Py_ssize_t i = 0; i < n; i++) {
            cols[i] = PyUnicode_AsUTF8(PyList_GET_ITEM(cols_obj, i));
            if (cols[i] == NULL) {
                PyMem_Free(cols);
                return NULL;
            }
        }
    }
    if ((captured = capture_begin()) < 0) {
        PyMem_Free(cols);
        return NULL;
    }
    engine_enter(captured);
    Py_BEGIN_ALLOW_THREADS
    st = infino_table_scan(self->t, cols, (size_t)n, pred, &stream);
    Py_END_ALLOW_THREADS
    engine_leave(captured);
    PyMem_Free(cols);
    return read_result(captured, st, &stream);
}

/* ---- search ------------------------------------------------------------ */

/* Converts a projection (None or a list of str) into a C array owned by
 * the caller (PyMem_Free); *has is 0 for None. */
static int get_projection(PyObject *obj, const char ***out, size_t *n_out)
{
    Py_ssize_t n;
    const char **names;

    *out = NULL;
    *n_out = 0;
    if (obj == Py_None)
        return 0;
    if (!PyList_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "projection must be a list of str");
        return -1;
    }
    n = PyList_GET_SIZE(obj);
    names = PyMem_Calloc((size_t)n + 1, sizeof *names);
    if (names == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        names[i] = PyUnicode_AsUTF8(PyList_GET_ITEM(obj, i));
        if (names[i] == NULL) {
            PyMem_Free(names);
            return -1;
        }
    }
    *out = names;
    *n_out = (size_t)n;
    return 0;
}

/* Converts a query vector (buffer of float32/float64/ints, or a sequence
 * of numbers) into float32s; *out is owned (PyMem_Free). */
static int get_vector(PyObject *obj, float **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (PyObject_CheckBuffer(obj)) {
        Py_buffer view;
        char fmt;
        if (PyObject_GetBuffer(obj, &view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) != 0)
            return -1;
        fmt = view.format ? view.format[strlen(view.format) - 1] : 'B';
        size_t n = view.itemsize > 0 ? (size_t)(view.len / view.itemsize) : 0;
        float *v = PyMem_Malloc(n * sizeof *v + 1);
        if (v == NULL) {
            PyBuffer_Release(&view);
            PyErr_NoMemory();
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            const char *p = (const char *)view.buf + i * (size_t)view.itemsize;
            switch (fmt) {
            case 'f': { float x; memcpy(&x, p, 4); v[i] = x; break; }
            case 'd': { double x; memcpy(&x, p, 8); v[i] = (float)x; break; }
            case 'b': v[i] = *(const signed char *)p; break;
            case 'h': { short x; memcpy(&x, p, sizeof x); v[i] = x; break; }
            case 'i': { int x; memcpy(&x, p, sizeof x); v[i] = (float)x; break; }
            case 'l': { long x; memcpy(&x, p, sizeof x); v[i] = (float)x; break; }
            case 'q': { long long x; memcpy(&x, p, sizeof x); v[i] = (float)x; break; }
            default:
                PyMem_Free(v);
                PyBuffer_Release(&view);
                PyErr_Format(PyExc_TypeError,
                             "query vector buffer of format '%s' is not numeric",
                             view.format ? view.format : "?");
                return -1;
            }
        }
        PyBuffer_Release(&view);
        *out = v;
        *n_out = n;
        return 0;
    }
    PyObject *seq = PySequence_Fast(obj, "query vector must be a sequence of numbers");
    if (seq == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    float *v = PyMem_Malloc((size_t)n * sizeof *v + 1);
    if (v == NULL) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        double x = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, i));
        if (x == -1.0 && PyErr_Occurred()) {
            PyMem_Free(v);
            Py_DECREF(seq);
            return -1;
        }
        v[i] = (float)x;
    }
    Py_DECREF(seq);
    *out = v;
    *n_out = (size_t)n;
    return 0;
}

static PyObject *search_result(infino_status st, struct ArrowArrayStream *s)
{
    if (st != INFINO_OK)
        return raise_status(st);
    return stream_capsule(s);
}

/* ---- results: a search's stream as a pyarrow Table or numpy-ready bytes *
 *
 * pyarrow's stream import (RecordBatchReader.from_stream + read_all)
 * imports the schema on every call and builds a reader object around one
 * small batch. A search result holds one batch and a handful of schemas
 * recur (one per table and projection), so to_table imports each batch
 * with RecordBatch._import_from_c against a pyarrow Schema cached by the
 * schema's exact content (formats, names, flags, metadata, children and
 * dictionaries serialized into the key: a schema changed by
 * Connection.schema, a projection or a reindex has another key). The
 * Table holds the same batches, schema and values as the stream import's.
 *
 * ids_scores turns a default result (_id decimal128(38, 0), score
 * float32) into bytes for numpy without pyarrow: _id as 16 big-endian
 * bytes per row (upstream's vector_search_ids layout) and the scores as
 * float32s. */

static PyObject *schema_cache;   /* dict: key bytes -> pyarrow.Schema */
static PyObject *rb_import_from_c;  /* pyarrow.RecordBatch._import_from_c */
static PyObject *schema_import_from_c; /* pyarrow.Schema._import_from_c */
static PyObject *table_from_batches;   /* pyarrow.Table.from_batches */
#define SCHEMA_CACHE_MAX 256

static int load_pyarrow(void)
{
    PyObject *pa, *rb, *sc, *tb;

    if (table_from_batches != NULL)
        return 0;
    pa = PyImport_ImportModule("pyarrow");
    if (pa == NULL)
        return -1;
    rb = PyObject_GetAttrString(pa, "RecordBatch");
    sc = PyObject_GetAttrString(pa, "Schema");
    tb = PyObject_GetAttrString(pa, "Table");
    Py_DECREF(pa);
    if (rb != NULL && sc != NULL && tb != NULL) {
        rb_import_from_c = PyObject_GetAttrString(rb, "_import_from_c");
        schema_import_from_c = PyObject_GetAttrString(sc, "_import_from_c");
        table_from_batches = PyObject_GetAttrString(tb, "from_batches");
    }
    Py_XDECREF(rb);
    Py_XDECREF(sc);
    Py_XDECREF(tb);
    if (rb_import_from_c == NULL || schema_import_from_c == NULL ||
        table_from_batches == NULL) {
        Py_CLEAR(rb_import_from_c);
        Py_CLEAR(schema_import_from_c);
        Py_CLEAR(table_from_batches);
        return -1;
    }
    if (schema_cache == NULL && (schema_cache = PyDict_New()) == NULL)
        return -1;
    return 0;
}

struct keybuf {
    char *p;
    size_t n, cap;
};

static int key_put(struct keybuf *k, const void *data, size_t n)
{
    if (k->n + n > k->cap) {
        size_t cap = k->cap ? k->cap : 256;
        char *p;
        while (cap < k->n + n)
            cap *= 2;
        p = PyMem_Realloc(k->p, cap);
        if (p == NULL)
            return -1;
        k->p = p;
        k->cap = cap;
    }
    memcpy(k->p + k->n, data, n);
    k->n += n;
    return 0;
}

/* A string with its length first, so that keys cannot run together. */
static int key_str(struct keybuf *k, const char *s)
{
    uint32_t n = s == NULL ? UINT32_MAX : (uint32_t)strlen(s);

    return key_put(k, &n, sizeof n) ||
           (s != NULL && key_put(k, s, n));
}

/* The byte length of C Data Interface metadata (int32 count, then per
 * pair int32 length + bytes, twice), 0 for none. */
static size_t metadata_len(const char *md)
{
    int32_t n, len;
    size_t off = sizeof n;

    if (md == NULL)
        return 0;
    memcpy(&n, md, sizeof n);
    for (int32_t i = 0; i < 2 * n; i++) {
        memcpy(&len, md + off, sizeof len);
        off += sizeof len + (size_t)len;
    }
    return off;
}

static int key_schema(struct keybuf *k, const struct ArrowSchema *s, int depth)
{
    size_t md = metadata_len(s->metadata);
    uint64_t head[3] = {(uint64_t)s->flags, (uint64_t)s->n_children,
                        (uint64_t)md};

    if (depth > 64) {
        PyErr_SetString(PyExc_ValueError, "result schema nested too deep");
        return -1;
    }
    if (key_str(k, s->format) || key_str(k, s->name) ||
        key_put(k, head, sizeof head) || (md && key_put(k, s->metadata, md)))
        return -1;
    for (int64_t i = 0; i < s->n_children; i++)
        if (key_schema(k, s->children[i], depth + 1))
            return -1;
    if (s->dictionary != NULL)
        return key_put(k, "D", 1) || key_schema(k, s->dictionary, depth + 1);
    return key_put(k, "E", 1);
}

/* The pyarrow Schema of `s` (new reference), from the cache or imported
 * (which moves `s` out; the caller releases it if still set). */
static PyObject *cached_schema(struct ArrowSchema *s)
{
    struct keybuf k = {0};
    PyObject *key, *schema;

    if (key_schema(&k, s, 0)) {
        PyMem_Free(k.p);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    key = PyBytes_FromStringAndSize(k.p, (Py_ssize_t)k.n);
    PyMem_Free(k.p);
    if (key == NULL)
        return NULL;
    schema = PyDict_GetItemWithError(schema_cache, key);
    if (schema != NULL) {
        Py_INCREF(schema);
        Py_DECREF(key);
        return schema;
    }
    if (PyErr_Occurred()) {
        Py_DECREF(key);
        return NULL;
    }
    schema = PyObject_CallFunction(schema_import_from_c, "K",
                                   (unsigned long long)(uintptr_t)s);
    if (schema != NULL) {
        if (PyDict_GET_SIZE(schema_cache) >= SCHEMA_CACHE_MAX)
            PyDict_Clear(schema_cache);
        if (PyDict_SetItem(schema_cache, key, schema) < 0)
            Py_CLEAR(schema);
    }
    Py_DECREF(key);
    return schema;
}

static PyObject *stream_error(struct ArrowArrayStream *s, int code)
{
    const char *msg = s->get_last_error ? s->get_last_error(s) : NULL;

    PyErr_Format(PyExc_RuntimeError, "reading the result: %s",
                 msg ? msg : strerror(code));
    return NULL;
}

/* to_table(stream capsule) -> pyarrow.Table; consumes the stream. */
static PyObject *mod_to_table(PyObject *mod, PyObject *cap)
{
    struct ArrowArrayStream s;
    struct ArrowSchema cs;
    struct ArrowArray a;
    PyObject *schema = NULL, *batches = NULL, *table = NULL;
    int rc;

    (void)mod;
    if (load_pyarrow() || take_stream(cap, &s))
        return NULL;
    if ((rc = s.get_schema(&s, &cs)) != 0) {
        stream_error(&s, rc);
        goto done;
    }
    schema = cached_schema(&cs);
    if (cs.release != NULL)
        cs.release(&cs);
    if (schema == NULL || (batches = PyList_New(0)) == NULL)
        goto done;
    for (;;) {
        PyObject *rb;
        if ((rc = s.get_next(&s, &a)) != 0) {
            stream_error(&s, rc);
            goto done;
        }
        if (a.release == NULL)
            break;
        rb = PyObject_CallFunction(rb_import_from_c, "KO",
                                   (unsigned long long)(uintptr_t)&a,
                                   schema);
        if (a.release != NULL) /* not moved (a failed import) */
            a.release(&a);
        if (rb == NULL || PyList_Append(batches, rb) < 0) {
            Py_XDECREF(rb);
            goto done;
        }
        Py_DECREF(rb);
    }
    table = PyObject_CallFunctionObjArgs(table_from_batches, batches, schema,
                                         NULL);
done:
    Py_XDECREF(batches);
    Py_XDECREF(schema);
    s.release(&s);
    return table;
}

/* ids_scores(stream capsule) -> (n, ids bytearray, scores bytearray) for
 * a result of exactly _id decimal128(38, 0) and score float32; consumes
 * the stream. */
static PyObject *mod_ids_scores(PyObject *mod, PyObject *cap)
{
    struct ArrowArrayStream s;
    struct ArrowSchema cs;
    struct ArrowArray a;
    PyObject *ids = NULL, *scores = NULL, *out = NULL;
    Py_ssize_t n = 0;
    int rc;

    (void)mod;
    if (take_stream(cap, &s))
        return NULL;
    if ((rc = s.get_schema(&s, &cs)) != 0) {
        stream_error(&s, rc);
        goto done;
    }
    rc = cs.n_children == 2 && strcmp(cs.children[0]->format, "d:38,0") == 0 &&
         strcmp(cs.children[1]->format, "f") == 0;
    cs.release(&cs);
    if (!rc) {
        PyErr_SetString(PyExc_ValueError,
                        "ids_scores: the result is not (_id, score)");
        goto done;
    }
    ids = PyByteArray_FromStringAndSize(NULL, 0);
    scores = PyByteArray_FromStringAndSize(NULL, 0);
    if (ids == NULL || scores == NULL)
        goto done;
    for (;;) {
        const struct ArrowArray *ci, *cv;
        const uint8_t *pi;
        const float *pv;
        uint8_t *di;
        float *dv;
        Py_ssize_t m;
        if ((rc = s.get_next(&s, &a)) != 0) {
            stream_error(&s, rc);
            goto done;
        }
        if (a.release == NULL)
            break;
        ci = a.children[0];
        cv = a.children[1];
        m = (Py_ssize_t)a.length;
        if ((ci->null_count != 0 && ci->buffers[0] != NULL) ||
            (cv->null_count != 0 && cv->buffers[0] != NULL) ||
            PyByteArray_Resize(ids, (n + m) * 16) < 0 ||
            PyByteArray_Resize(scores, (n + m) * 4) < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "ids_scores: null values");
            a.release(&a);
            goto done;
        }
        pi = (const uint8_t *)ci->buffers[1] + 16 * (a.offset + ci->offset);
        pv = (const float *)cv->buffers[1] + (a.offset + cv->offset);
        di = (uint8_t *)PyByteArray_AS_STRING(ids) + 16 * n;
        dv = (float *)(void *)(PyByteArray_AS_STRING(scores) + 4 * n);
        for (Py_ssize_t i = 0; i < m; i++)
            for (int j = 0; j < 16; j++) /* little-endian to big-endian */
                di[16 * i + j] = pi[16 * i + 15 - j];
        if (m > 0)
            memcpy(dv, pv, (size_t)m * sizeof *dv);
        n += m;
        a.release(&a);
    }
    out = Py_BuildValue("(nOO)", n, ids, scores);
done:
    Py_XDECREF(ids);
    Py_XDECREF(scores);
    s.release(&s);
    return out;
}

/* Query text and exact-match values are parsed with their length ("s#"),
 * so a str holding NUL reaches the engine whole. */

/* BM25's k1 and b for one search: both None (the column's) or both
 * floats, checked by the engine. */
static int get_bm25_params(PyObject *k1, PyObject *b, infino_search_opts *o)
{
    if (k1 == Py_None && b == Py_None)
        return 0;
    if (k1 == Py_None || b == Py_None) {
        PyErr_SetString(PyExc_ValueError,
                        "bm25_search: pass k1 and b together, or neither");
        return -1;
    }
    o->k1 = PyFloat_AsDouble(k1);
    if (o->k1 == -1.0 && PyErr_Occurred())
        return -1;
    o->b = PyFloat_AsDouble(b);
    if (o->b == -1.0 && PyErr_Occurred())
        return -1;
    o->bm25_params = 1;
    return 0;
}

/* bm25_search(column, query, k, mode, projection[, k1, b]) */
static PyObject *table_bm25(TableObject *self, PyObject *args)
{
    const char *col, *query, *mode;
    Py_ssize_t query_len;
    unsigned long long k;
    PyObject *proj, *k1 = Py_None, *b = Py_None;
    infino_search_opts o = INFINO_SEARCH_OPTS_INIT;
    struct ArrowArrayStream s;
    infino_status st;

    if (!PyArg_ParseTuple(args, "ss#KzO|OO", &col, &query, &query_len, &k,
                          &mode, &proj, &k1, &b) ||
        get_bm25_params(k1, b, &o) ||
        get_projection(proj, (const char ***)&o.projection, &o.n_projection))
        return NULL;
    o.mode = mode;
    Py_BEGIN_ALLOW_THREADS
    st = infino_table_bm25_search(self->t, col, query, (size_t)query_len,
                                  (size_t)k, &o, &s);
    Py_END_ALLOW_THREADS
    PyMem_Free((void *)o.projection);
    return search_result(st, &s);
}

/* bm25_search_prefix(column, prefix, k, projection[, k1, b]) */
static PyObject *table_bm25_prefix(TableObject *self, PyObject *args)
{
    const char *col, *prefix;
    Py_ssize_t prefix_len;
    unsigned long long k;
    PyObject *proj, *k1 = Py_None, *b = Py_None;
    infino_search_opts o = INFINO_SEARCH_OPTS_INIT;
    struct ArrowArrayStream s;
    infino_status st;

    if (!PyArg_ParseTuple(args, "ss#KO|OO", &col, &prefix, &prefix_len, &k,
                          &proj, &k1, &b) ||
        get_bm25_params(k1, b, &o) ||
        get_projection(proj, (const char ***)&o.projection, &o.n_projection))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    st = infino_table_bm25_search_prefix(self->t, col, prefix,
                                         (size_t)prefix_len, (size_t)k, &o,
                                         &s);
    Py_END_ALLOW_THREADS
    PyMem_Free((void *)o.projection);
    return search_result(st, &s);
}

/* token_match(column, query, mode, projection) */
static PyObject *table_token_match(TableObject *self, PyObject *args)
{
    const char *col, *query, *mode;
    Py_ssize_t query_len;
    PyObject *proj;
    infino_search_opts o = INFINO_SEARCH_OPTS_INIT;
    struct ArrowArrayStream s;
    infino_status st;

    if (!PyArg_ParseTuple(args, "ss#zO", &col, &query, &query_len, &mode,
                          &proj) ||
        get_projection(proj, (const char ***)&o.projection, &o.n_projection))
        return NULL;
    o.mode = mode;
    Py_BEGIN_ALLOW_THREADS
    st = infino_table_token_match(self->t, col, query, (size_t)query_len, &o,
                                  &s);
    Py_END_ALLOW_THREADS
    PyMem_Free((void *)o.projection);
    return search_result(st, &s);
}

/* exact_match(column, value, projection) */
static PyObject *table_exact_match(TableObject *self, PyObject *args)
{
    const char *col, *value;
    Py_ssize_t value_len;
    PyObject *proj;
    infino_search_opts o = INFINO_SEARCH_OPTS_INIT;
    struct ArrowArrayStream s;
    infino_status st;

    if (!PyArg_ParseTuple(args, "ss#O", &col, &value, &value_len, &proj) ||
        get_projection(proj, (const char ***)&o.projection, &o.n_projection))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    st = infino_table_exact_match(self->t, col, value, (size_t)value_len, &o,
                                  &s);
    Py_END_ALLOW_THREADS
    PyMem_Free((void *)o.projection);
    return search_result(st, &s);
}

/* count(column, query, mode) -> int */
static PyObject *table_count(TableObject *self, PyObject *args)
{
    const char *col, *query, *mode;
    Py_ssize_t query_len;
    uint64_t n = 0;
    infino_status st;

    if (!PyArg_ParseTuple(args, "ss#z", &col, &query, &query_len, &mode))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    st = infino_table_count(self->t, col, query, (size_t)query_len, mode, &n);
    Py_END_ALLOW_THREADS
    if (st != INFINO_OK)
        return raise_status(st);
    return PyLong_FromUnsignedLongLong(n);
}

/* vector_search(column, query, k, nprobe, filter_column, filter_query,
 *               filter_mode, projection) */
static PyObject *table_vector(TableObject *self, PyObject *args)
{
    const char *col;
    PyObject *qobj, *proj;
    unsigned long long k, nprobe;
    infino_search_opts o = INFINO_SEARCH_OPTS_INIT;
    struct ArrowArrayStream s;
    float *q = NULL;
    size_t dim = 0;
    infino_status st;

    if (!PyArg_ParseTuple(args, "sOKKzzzO", &col, &qobj, &k, &nprobe,
                          &o.filter_column, &o.filter_query, &o.filter_mode,
                          &proj))
        return NULL;
    if (nprobe > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "nprobe too large");
        return NULL;
    }
    o.nprobe = (uint32_t)nprobe;
    if (get_vector(qobj, &q, &dim) != 0)
        return NULL;
    if (get_projection(proj, (const char ***)&o.projection, &o.n_projection)) {
        PyMem_Free(q);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    st = infino_table_vector_search(self->t, col, q, dim, (size_t)k, &o, &s);
    Py_END_ALLOW_THREADS
    PyMem_Free(q);
    PyMem_Free((void *)o.projection);
    return search_result(st, &s);
}

/* hybrid_search(text_column, text_query, vector_column, vector_query, k,
 *               mode, nprobe, projection) */
static PyObject *table_hybrid(TableObject *self, PyObject *args)
{
    const char *tcol, *text, *vcol, *mode;
    Py_ssize_t text_len;
    PyObject *qobj, *proj;
    unsigned long long k, nprobe;
    infino_search_opts o = INFINO_SEARCH_OPTS_INIT;
    struct ArrowArrayStream s;
    float *q = NULL;
    size_t dim = 0;
    infino_status st;

    if (!PyArg_ParseTuple(args, "ss#sOKzKO", &tcol, &text, &text_len, &vcol,
                          &qobj, &k, &mode, &nprobe, &proj))
        return NULL;
    if (nprobe > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "nprobe too large");
        return NULL;
    }
    o.nprobe = (uint32_t)nprobe;
    o.mode = mode;
    if (get_vector(qobj, &q, &dim) != 0)
        return NULL;
    if (get_projection(proj, (const char ***)&o.projection, &o.n_projection)) {
        PyMem_Free(q);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    st = infino_table_hybrid_search(self->t, tcol, text, (size_t)text_len,
                                    vcol, q, dim, (size_t)k, &o, &s);
    Py_END_ALLOW_THREADS
    PyMem_Free(q);
    PyMem_Free((void *)o.projection);
    return search_result(st, &s);
}

static PyMethodDef table_methods[] = {
    {"name", (PyCFunction)table_name, METH_NOARGS, NULL},
    {"schema", (PyCFunction)table_schema, METH_NOARGS, NULL},
    {"schema_id", (PyCFunction)table_schema_id, METH_NOARGS, NULL},
    {"add_columns", (PyCFunction)table_add_columns, METH_VARARGS, NULL},
    {"indexes", (PyCFunction)table_indexes, METH_NOARGS, NULL},
    {"append", (PyCFunction)table_append, METH_VARARGS, NULL},
    {"delete", (PyCFunction)table_delete, METH_VARARGS, NULL},
    {"update", (PyCFunction)table_update, METH_VARARGS, NULL},
    {"optimize", (PyCFunction)table_optimize, METH_VARARGS, NULL},
    {"reindex", (PyCFunction)table_reindex, METH_VARARGS, NULL},
    {"gc", (PyCFunction)table_gc, METH_VARARGS, NULL},
    {"check", (PyCFunction)table_check, METH_NOARGS, NULL},
    {"count_rows", (PyCFunction)table_count_rows, METH_NOARGS, NULL},
    {"scan", (PyCFunction)table_scan, METH_VARARGS, NULL},
    {"bm25_search", (PyCFunction)table_bm25, METH_VARARGS, NULL},
    {"bm25_search_prefix", (PyCFunction)table_bm25_prefix, METH_VARARGS,
     NULL},
    {"token_match", (PyCFunction)table_token_match, METH_VARARGS, NULL},
    {"exact_match", (PyCFunction)table_exact_match, METH_VARARGS, NULL},
    {"count", (PyCFunction)table_count, METH_VARARGS, NULL},
    {"vector_search", (PyCFunction)table_vector, METH_VARARGS, NULL},
    {"hybrid_search", (PyCFunction)table_hybrid, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "infino._native._Table",
    .tp_basicsize = sizeof(TableObject),
    .tp_dealloc = (destructor)table_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_methods = table_methods,
};

/* ---- module ----------------------------------------------------------- */

/* connect(uri, tmp_dir=None, storage_options=None, cache_dir=None,
 * cache_budget_bytes=0, cold_fetch_mode=None, max_staleness_ms=0,
 * auto_compact_fanout=0, auto_compact_max_bytes=0) -> _Connection, where
 * storage_options is a list of (str, str) pairs and the last two are
 * infino_connect_opts' (0: defaults; fanout 1: off). */
static PyObject *mod_connect(PyObject *mod, PyObject *args)
{
    const char *uri, *tmp = NULL, *cache_dir = NULL, *mode = NULL;
    unsigned long long budget = 0, staleness = 0, ac_max = 0;
    unsigned int ac_fanout = 0;
    PyObject *opts = Py_None, *seq = NULL;
    infino_connect_opts o = INFINO_CONNECT_OPTS_INIT;
    infino_storage_option *so = NULL;
    ConnObject *conn = NULL;
    Py_ssize_t n = 0;
    infino_status st;

    (void)mod;
    if (!PyArg_ParseTuple(args, "s|zOzKzKIK", &uri, &tmp, &opts, &cache_dir,
                          &budget, &mode, &staleness, &ac_fanout, &ac_max))
        return NULL;
    o.max_staleness_ms = staleness;
    o.auto_compact_fanout = ac_fanout;
    o.auto_compact_max_bytes = ac_max;
    o.tmp_dir = tmp;
    o.cache_dir = cache_dir;
    o.cache_budget_bytes = budget;
    o.cold_fetch_mode = mode;
    if (opts != Py_None) {
        /* The pairs stay referenced by `seq` while the C call runs, so
         * the UTF-8 pointers stay valid. */
        seq = PySequence_Fast(opts, "storage_options must be a list of pairs");
        if (seq == NULL)
            return NULL;
        n = PySequence_Fast_GET_SIZE(seq);
        so = PyMem_Calloc(n ? (size_t)n : 1, sizeof *so);
        if (so == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *kv = PySequence_Fast_GET_ITEM(seq, i);
            if (!PyTuple_Check(kv) || PyTuple_GET_SIZE(kv) != 2 ||
                !PyUnicode_Check(PyTuple_GET_ITEM(kv, 0)) ||
                !PyUnicode_Check(PyTuple_GET_ITEM(kv, 1))) {
                PyErr_SetString(PyExc_TypeError,
                                "storage_options must map str to str");
                goto fail;
            }
            so[i].key = PyUnicode_AsUTF8(PyTuple_GET_ITEM(kv, 0));
            so[i].value = PyUnicode_AsUTF8(PyTuple_GET_ITEM(kv, 1));
            if (so[i].key == NULL || so[i].value == NULL)
                goto fail;
        }
        o.storage_options = so;
        o.n_storage_options = (size_t)n;
    }
    conn = PyObject_New(ConnObject, &ConnType);
    if (conn == NULL)
        goto fail;
    conn->db = NULL;
    Py_BEGIN_ALLOW_THREADS
    st = infino_connect(&conn->db, uri, &o);
    Py_END_ALLOW_THREADS
    if (st != INFINO_OK) {
        /* A bad URI or option is a backend error upstream: RuntimeError. */
        PyErr_SetString(PyExc_RuntimeError, infino_last_error());
        goto fail;
    }
    PyMem_Free(so);
    Py_XDECREF(seq);
    return (PyObject *)conn;
fail:
    Py_XDECREF(conn);
    PyMem_Free(so);
    Py_XDECREF(seq);
    return NULL;
}

/* read_parquet(path, columns: list[str] | None) -> stream capsule, read
 * with our own Parquet reader (for tests and the demo). */
static PyObject *mod_read_parquet(PyObject *mod, PyObject *args)
{
    const char *path;
    PyObject *cols_obj;
    const char **cols = NULL;
    Py_ssize_t n = 0;
    struct ArrowArrayStream stream;
    infino_status st;

    (void)mod;
    if (!PyArg_ParseTuple(args, "sO", &path, &cols_obj))
        return NULL;
    if (cols_obj != Py_None) {
        if (!PyList_Check(cols_obj)) {
            PyErr_SetString(PyExc_TypeError, "columns must be a list");
            return NULL;
        }
        n = PyList_GET_SIZE(cols_obj);
        cols = PyMem_Calloc((size_t)n + 1, sizeof *cols);
        if (cols == NULL)
            return PyErr_NoMemory();
        for (Py_ssize_t i = 0; i < n; i++)
            if ((cols[i] = PyUnicode_AsUTF8(PyList_GET_ITEM(cols_obj, i))) ==
                NULL) {
                PyMem_Free(cols);
                return NULL;
            }
    }
    Py_BEGIN_ALLOW_THREADS
    st = infino_parquet_read(&stream, path, cols, (size_t)n);
    Py_END_ALLOW_THREADS
    PyMem_Free(cols);
    if (st != INFINO_OK)
        return raise_status(st);
    return stream_capsule(&stream);
}

/* superfile_regions(path) -> [(name, offset, length, crc32c, intact)] */
static PyObject *mod_superfile_regions(PyObject *mod, PyObject *args)
{
    const char *path;
    infino_region_info *info = NULL;
    size_t n = 0;
    infino_status st;
    PyObject *list;

    (void)mod;
    if (!PyArg_ParseTuple(args, "s", &path))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    st = infino_superfile_regions(path, &info, &n);
    Py_END_ALLOW_THREADS
    if (st != INFINO_OK)
        return raise_status(st);
    list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list != NULL && i < n; i++) {
        PyObject *t = Py_BuildValue("(sKKkO)", info[i].name,
                                    (unsigned long long)info[i].offset,
                                    (unsigned long long)info[i].length,
                                    (unsigned long)info[i].crc32c,
                                    info[i].intact ? Py_True : Py_False);
        if (t == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    infino_free(info);
    return list;
}

static PyObject *mod_version(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    return PyUnicode_FromString(INFINO_VERSION_STRING);
}

static PyMethodDef mod_methods[] = {
    {"connect", mod_connect, METH_VARARGS, NULL},
    {"engine_version", mod_version, METH_NOARGS, NULL},
    {"read_parquet", mod_read_parquet, METH_VARARGS, NULL},
    {"superfile_regions", mod_superfile_regions, METH_VARARGS, NULL},
    {"_error_type", py_error_type, METH_O, NULL},
    {"to_table", mod_to_table, METH_O, NULL},
    {"ids_scores", mod_ids_scores, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "infino._native",
    "C engine of infino (private; use the infino package).", -1,
    mod_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void)
{
    PyObject *m, *sig;

    if (PyType_Ready(&ConnType) < 0 || PyType_Ready(&TableType) < 0 ||
        PyType_Ready(&GuardType) < 0)
        return NULL;
    sig = PyImport_ImportModule("signal");
    if (sig == NULL)
        return NULL;
    Py_XSETREF(default_int_handler,
               PyObject_GetAttrString(sig, "default_int_handler"));
    Py_XSETREF(getsignal, PyObject_GetAttrString(sig, "getsignal"));
    Py_DECREF(sig);
    if (default_int_handler == NULL || getsignal == NULL)
        return NULL;
    m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&ConnType);
    Py_INCREF(&TableType);
    if (PyModule_AddObject(m, "_Connection", (PyObject *)&ConnType) < 0 ||
        PyModule_AddObject(m, "_Table", (PyObject *)&TableType) < 0 ||
        add_errors(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
