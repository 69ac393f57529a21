/*
 * addon.c - the Node-API addon under `require("infino")`.
 *
 * Two native classes wrap the C API's handles: Connection (infino_db) and
 * Table (infino_table). They are private: index.js wraps them in the public
 * classes and converts arguments and results with apache-arrow (see
 * lib/arrow.js); Arrow data crosses as C Data Interface structures
 * (cdata.h).
 *
 * Every engine call is a "job": arguments are read and copied into C memory
 * on the JavaScript thread, job_execute() makes the engine call (no Node-API
 * calls there), and job_complete() turns its outcome into a JavaScript value
 * or Error. A method `x` runs the three steps in a row and returns or
 * throws; `xAsync` runs job_execute() on libuv's thread pool
 * (napi_create_async_work) and settles a Promise. Because a job owns copies
 * of all its inputs, JavaScript may change or drop its arguments while the
 * job runs.
 *
 * Lifetimes: a table must be closed before its database, and a handle only
 * when no thread uses it (include/infino.h, "Threads"). Handles live in
 * reference-counted boxes: a Table box holds its database box, and every
 * job holds the boxes it uses until it completes. Counts change only on the
 * JavaScript thread (constructors, finalizers, job start and completion),
 * so a garbage-collected Table whose async search is still running on a
 * pool thread is closed only after that search completes.
 *
 * Thread-safety of concurrent jobs is the engine's: handles may be shared
 * between threads; readers pin a snapshot and never block; writers on one
 * table handle are serialized by its mutex. The thread-local last-error
 * text is read on the thread that made the call, right after it.
 *
 * Errors follow upstream infino's Node addon: an Error whose `code` is
 * "InvalidArg" (bad argument, existing name, schema or row-count mismatch,
 * bad query) or "GenericFailure" (not found, storage, I/O); not-found
 * messages start "NotFound: ".
 */
#include <node_api.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cdata.h"
#include "infino.h"

#ifndef INFINO_NODE_BUILD_HASH
#define INFINO_NODE_BUILD_HASH "unknown"
#endif
/* "infino/<version>+<commit>[-dirty]", as upstream's BUILDER_ID reads */
#define INFINO_NODE_BUILDER_ID                                                 \
    "infino/" INFINO_VERSION_STRING "+" INFINO_NODE_BUILD_HASH

/* ---- handle boxes ------------------------------------------------------ */

struct db_box {
    infino_db *db;
    int refs;
};

struct table_box {
    infino_table *t;
    struct db_box *db; /* counted */
    int refs;
};

static void db_unref(struct db_box *b)
{
    if (b != NULL && --b->refs == 0) {
        infino_db_close(b->db);
        free(b);
    }
}

static void table_unref(struct table_box *b)
{
    if (b != NULL && --b->refs == 0) {
        infino_table_close(b->t);
        db_unref(b->db);
        free(b);
    }
}

/* Per-environment state (one per main thread or worker_thread). */
struct addon {
    napi_ref conn_ctor, table_ctor;
    void *pending; /* the box the next native constructor call wraps */
};

/* ---- errors ------------------------------------------------------------ */

static napi_value make_error(napi_env env, const char *code, const char *msg)
{
    napi_value c, m, e = NULL;

    if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c) == napi_ok &&
        napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) == napi_ok)
        napi_create_error(env, c, m, &e);
    return e;
}

/* ---- jobs -------------------------------------------------------------- */

enum job_kind {
    J_CREATE,
    J_OPEN,
    J_DROP,
    J_LIST,
    J_SQL,
    J_APPEND,
    J_UPDATE,
    J_DELETE,
    J_OPTIMIZE,
    J_GC,
    J_BM25,
    J_VECTOR,
    J_HYBRID,
    J_TOKEN,
    J_EXACT,
    J_COUNT,
    J_COUNT_ROWS,
};

/* A status of our own, for failures of the binding (packing results). */
#define JOB_ERR_BINDING ((infino_status)-1000)

struct job {
    enum job_kind kind;
    struct addon *addon;
    struct db_box *db;    /* counted, or NULL */
    struct table_box *tb; /* counted, or NULL */
    napi_deferred deferred;
    napi_async_work work;

    /* inputs, owned */
    char *name;  /* table name, column, text column, predicate or SQL */
    char *text;  /* query text or exact-match value (any bytes) */
    size_t text_len;
    char *col2;  /* hybrid: the vector column */
    char *mode;
    char *fcol, *fquery, *fmode; /* vector search pre-filter */
    char **proj;
    size_t n_proj;
    bool has_proj;
    float *vec;
    size_t dim;
    uint64_t k;
    uint32_t nprobe;
    int purge;
    double grace;
    infino_optimize_opts opt;
    struct ArrowSchema schema;    /* create: the table's schema */
    infino_index_spec *spec;      /* create */
    struct ArrowArrayStream rows; /* append, update: taken by the call */

    /* outputs */
    infino_status st;
    char *err;
    struct packed_result res;
    uint64_t n;
    infino_mutation_stats stats;
    infino_gc_report gc;
    char **names;
    size_t n_names;
    infino_table *table;
};

static struct job *job_new(napi_env env, enum job_kind kind)
{
    struct job *j = calloc(1, sizeof *j);

    if (j == NULL) {
        arg_throw(env, false, "out of memory");
        return NULL;
    }
    j->kind = kind;
    napi_get_instance_data(env, (void **)&j->addon);
    return j;
}

/* Frees a job and drops its handle references (JavaScript thread). */
static void job_free(struct job *j)
{
    if (j == NULL)
        return;
    free(j->name);
    free(j->text);
    free(j->col2);
    free(j->mode);
    free(j->fcol);
    free(j->fquery);
    free(j->fmode);
    for (size_t i = 0; j->proj && i < j->n_proj; i++)
        free(j->proj[i]);
    free(j->proj);
    free(j->vec);
    if (j->schema.release != NULL)
        j->schema.release(&j->schema);
    infino_index_spec_free(j->spec);
    if (j->rows.release != NULL)
        j->rows.release(&j->rows);
    free(j->err);
    cdata_packed_free(&j->res);
    infino_free_names(j->names, j->n_names);
    infino_table_close(j->table); /* opened but never wrapped */
    table_unref(j->tb);
    db_unref(j->db);
    free(j);
}

static void job_search_opts(struct job *j, infino_search_opts *o)
{
    *o = (infino_search_opts)INFINO_SEARCH_OPTS_INIT;
    o->mode = j->mode;
    o->projection = j->has_proj ? (const char *const *)j->proj : NULL;
    o->n_projection = j->n_proj;
    o->nprobe = j->nprobe;
    o->filter_column = j->fcol;
    o->filter_query = j->fquery;
    o->filter_mode = j->fmode;
}

/* Makes the engine call. Runs on a pool thread for async calls: no
 * Node-API here, and nothing but this job's memory is touched. */
static void job_execute(struct job *j)
{
    struct ArrowArrayStream out = {0};
    infino_search_opts o;
    infino_table *t = j->tb ? j->tb->t : NULL;
    infino_db *db = j->db ? j->db->db : NULL;
    bool stream = false;
    infino_status st = INFINO_OK;

    job_search_opts(j, &o);
    switch (j->kind) {
    case J_CREATE:
        st = infino_create_table(&j->table, db, j->name, &j->schema, j->spec);
        break;
    case J_OPEN:
        st = infino_open_table(&j->table, db, j->name);
        break;
    case J_DROP:
        st = infino_drop_table(db, j->name, j->purge);
        break;
    case J_LIST:
        st = infino_list_tables(db, &j->names, &j->n_names);
        break;
    case J_SQL:
        st = infino_query_sql(db, j->name, &out);
        stream = true;
        break;
    case J_APPEND:
        st = infino_table_append(t, &j->rows, &j->n);
        break;
    case J_UPDATE:
        st = infino_table_update(t, j->name, &j->rows, &j->stats);
        break;
    case J_DELETE:
        st = infino_table_delete(t, j->name, &j->stats);
        break;
    case J_OPTIMIZE:
        st = infino_table_optimize(t, &j->opt);
        break;
    case J_GC:
        st = infino_table_gc(t, j->grace, &j->gc);
        break;
    case J_BM25:
        st = infino_table_bm25_search(t, j->name, j->text, j->text_len,
                                      (size_t)j->k, &o, &out);
        stream = true;
        break;
    case J_VECTOR:
        st = infino_table_vector_search(t, j->name, j->vec, j->dim,
                                        (size_t)j->k, &o, &out);
        stream = true;
        break;
    case J_HYBRID:
        st = infino_table_hybrid_search(t, j->name, j->text, j->text_len,
                                        j->col2, j->vec, j->dim, (size_t)j->k,
                                        &o, &out);
        stream = true;
        break;
    case J_TOKEN:
        st = infino_table_token_match(t, j->name, j->text, j->text_len, &o,
                                      &out);
        stream = true;
        break;
    case J_EXACT:
        st = infino_table_exact_match(t, j->name, j->text, j->text_len, &o,
                                      &out);
        stream = true;
        break;
    case J_COUNT:
        st = infino_table_count(t, j->name, j->text, j->text_len, j->mode,
                                &j->n);
        break;
    case J_COUNT_ROWS:
        st = infino_table_count_rows(t, &j->n);
        break;
    }
    j->st = st;
    if (st != INFINO_OK) {
        const char *msg = infino_last_error(); /* this thread's */
        j->err = strdup(msg[0] ? msg : infino_status_str(st));
        return;
    }
    if (stream) {
        char err[512];
        if (cdata_pack_stream(&j->res, &out, err, sizeof err) != 0) {
            j->st = JOB_ERR_BINDING;
            j->err = strdup(err);
        }
    }
}

/* The Error for a failed job, as upstream's addon shapes it. */
static napi_value job_error(napi_env env, struct job *j)
{
    const char *code = "GenericFailure";
    const char *msg = j->err ? j->err : "out of memory";
    char *text = NULL;
    napi_value e;

    switch (j->st) {
    case INFINO_ERR_INVALID:
    case INFINO_ERR_EXISTS:
    case INFINO_ERR_CARDINALITY:
        code = "InvalidArg";
        break;
    case INFINO_ERR_UNSUPPORTED:
        /* upstream: "gc requires durable storage (not memory://)" is a
         * bad argument (ours runs gc there; kept for any other
         * refusal of gc); update/delete on memory:// a runtime failure */
        if (j->kind == J_GC)
            code = "InvalidArg";
        break;
    case INFINO_ERR_NOTFOUND: {
        /* open/drop: "NotFound: <name>", as upstream */
        const char *what = (j->kind == J_OPEN || j->kind == J_DROP) ? j->name
                                                                    : msg;
        size_t n = strlen(what) + 16;
        text = malloc(n);
        if (text != NULL) {
            snprintf(text, n, "NotFound: %s", what);
            msg = text;
        }
        break;
    }
    default:
        break;
    }
    e = make_error(env, code, msg);
    free(text);
    return e;
}

/* The result of a packed stream: [schemaJson, block, block, ...]. */
static napi_value packed_value(napi_env env, struct packed_result *r)
{
    napi_value arr, v;

    if (napi_create_array_with_length(env, r->n_batches + 1, &arr) != napi_ok ||
        napi_create_string_utf8(env, r->schema_json, r->schema_len, &v) !=
            napi_ok ||
        napi_set_element(env, arr, 0, v) != napi_ok)
        return NULL;
    for (size_t i = 0; i < r->n_batches; i++) {
        void *data;
        if (napi_create_arraybuffer(env, r->batches[i].len, &data, &v) !=
            napi_ok)
            return NULL;
        memcpy(data, r->batches[i].bytes, r->batches[i].len);
        free(r->batches[i].bytes);
        r->batches[i].bytes = NULL;
        if (napi_set_element(env, arr, (uint32_t)(i + 1), v) != napi_ok)
            return NULL;
    }
    return arr;
}

static napi_value number(napi_env env, double d)
{
    napi_value v = NULL;

    napi_create_double(env, d, &v);
    return v;
}

static napi_status set_num(napi_env env, napi_value obj, const char *key,
                           uint64_t n)
{
    return napi_set_named_property(env, obj, key, number(env, (double)n));
}

static napi_value new_table_object(napi_env env, struct job *j);

/* Builds the job's result on the JavaScript thread: *out is the value, or
 * NULL with *error set (an Error to throw or reject with). */
static void job_complete(napi_env env, struct job *j, napi_value *out,
                         napi_value *error)
{
    napi_value v = NULL;

    *out = NULL;
    *error = NULL;
    if (j->st != INFINO_OK) {
        *error = job_error(env, j);
        return;
    }
    switch (j->kind) {
    case J_CREATE:
    case J_OPEN:
        v = new_table_object(env, j);
        break;
    case J_DROP:
    case J_OPTIMIZE:
        napi_get_undefined(env, &v);
        break;
    case J_LIST:
        if (napi_create_array_with_length(env, j->n_names, &v) != napi_ok)
            break;
        for (size_t i = 0; i < j->n_names; i++) {
            napi_value s;
            if (napi_create_string_utf8(env, j->names[i], NAPI_AUTO_LENGTH,
                                        &s) != napi_ok ||
                napi_set_element(env, v, (uint32_t)i, s) != napi_ok) {
                v = NULL;
                break;
            }
        }
        break;
    case J_SQL:
    case J_BM25:
    case J_VECTOR:
    case J_HYBRID:
    case J_TOKEN:
    case J_EXACT:
        v = packed_value(env, &j->res);
        break;
    case J_APPEND:
    case J_COUNT:
    case J_COUNT_ROWS:
        v = number(env, (double)j->n);
        break;
    case J_UPDATE:
    case J_DELETE:
        if (napi_create_object(env, &v) != napi_ok ||
            set_num(env, v, "matched", j->stats.matched) != napi_ok ||
            set_num(env, v, "nTombstoned", j->stats.n_tombstoned) != napi_ok ||
            set_num(env, v, "nNotFound", j->stats.n_not_found) != napi_ok)
            v = NULL;
        break;
    case J_GC:
        if (napi_create_object(env, &v) != napi_ok ||
            set_num(env, v, "bytesFreed", j->gc.bytes_freed) != napi_ok ||
            set_num(env, v, "objectsDeleted", j->gc.objects_deleted) !=
                napi_ok ||
            set_num(env, v, "objectsSkippedLive",
                    j->gc.objects_skipped_live) != napi_ok ||
            set_num(env, v, "objectsSkippedTooNew",
                    j->gc.objects_skipped_too_new) != napi_ok ||
            set_num(env, v, "deleteErrors", j->gc.delete_errors) != napi_ok)
            v = NULL;
        break;
    }
    if (v == NULL) {
        /* a Node-API failure: take its pending exception as the error */
        bool pending = false;
        napi_is_exception_pending(env, &pending);
        if (pending)
            napi_get_and_clear_last_exception(env, error);
        else
            *error = make_error(env, "GenericFailure",
                                "building the result failed");
        return;
    }
    *out = v;
}

static void async_execute(napi_env env, void *data)
{
    (void)env;
    job_execute(data);
}

static void async_complete(napi_env env, napi_status status, void *data)
{
    struct job *j = data;
    napi_value v, e;

    if (status != napi_ok) {
        e = make_error(env, "GenericFailure", "the call was cancelled");
        napi_reject_deferred(env, j->deferred, e);
    } else {
        job_complete(env, j, &v, &e);
        if (e != NULL)
            napi_reject_deferred(env, j->deferred, e);
        else
            napi_resolve_deferred(env, j->deferred, v);
    }
    napi_delete_async_work(env, j->work);
    job_free(j);
}

/* Runs a prepared job: now (returning its value or throwing), or on the
 * thread pool (returning a Promise). Takes `j`. */
static napi_value job_run(napi_env env, struct job *j, bool async)
{
    napi_value v, e, promise, name;

    if (!async) {
        job_execute(j);
        job_complete(env, j, &v, &e);
        job_free(j);
        if (e != NULL) {
            napi_throw(env, e);
            return NULL;
        }
        return v;
    }
    if (napi_create_promise(env, &j->deferred, &promise) != napi_ok ||
        napi_create_string_utf8(env, "infino", NAPI_AUTO_LENGTH, &name) !=
            napi_ok ||
        napi_create_async_work(env, NULL, name, async_execute, async_complete,
                               j, &j->work) != napi_ok) {
        job_free(j);
        return NULL;
    }
    if (napi_queue_async_work(env, j->work) != napi_ok) {
        napi_delete_async_work(env, j->work);
        job_free(j);
        return NULL;
    }
    return promise;
}

/* ---- reading calls ----------------------------------------------------- */

#define MAX_ARGS 10

/* The arguments of a call, the receiver's box, and whether it is the
 * Async flavour (the method's data pointer says so). */
struct call {
    napi_value argv[MAX_ARGS];
    size_t argc;
    void *box;
    bool async;
};

static bool get_call(napi_env env, napi_callback_info info, struct call *c)
{
    napi_value self;
    void *data;

    c->argc = MAX_ARGS;
    if (napi_get_cb_info(env, info, &c->argc, c->argv, &self, &data) !=
        napi_ok)
        return false;
    for (size_t i = c->argc; i < MAX_ARGS; i++)
        napi_get_undefined(env, &c->argv[i]);
    c->async = data != NULL;
    if (napi_unwrap(env, self, &c->box) != napi_ok || c->box == NULL) {
        arg_throw(env, true, "not an infino handle");
        return false;
    }
    return true;
}

static struct job *db_job(napi_env env, struct call *c, enum job_kind kind)
{
    struct job *j = job_new(env, kind);

    if (j != NULL) {
        j->db = c->box;
        j->db->refs++;
    }
    return j;
}

static struct job *table_job(napi_env env, struct call *c, enum job_kind kind)
{
    struct job *j = job_new(env, kind);

    if (j != NULL) {
        j->tb = c->box;
        j->tb->refs++;
    }
    return j;
}

/* A projection: undefined/null (default columns) or an array of strings. */
static napi_status get_projection(napi_env env, napi_value v, struct job *j)
{
    int64_t n;

    if (arg_nullish(env, v))
        return napi_ok;
    if ((n = arg_array_len(env, v, "projection")) < 0)
        return napi_pending_exception;
    j->proj = calloc((size_t)n + 1, sizeof *j->proj);
    if (j->proj == NULL)
        return arg_throw(env, false, "out of memory");
    j->has_proj = true;
    for (int64_t i = 0; i < n; i++) {
        napi_value e;
        napi_get_element(env, v, (uint32_t)i, &e);
        if (arg_str(env, e, "projection entries", false, &j->proj[i]) !=
            napi_ok)
            return napi_pending_exception;
        j->n_proj++;
    }
    return napi_ok;
}

/* A query vector: a Float32Array (copied). */
static napi_status get_vector(napi_env env, napi_value v, struct job *j)
{
    napi_typedarray_type type;
    size_t n, off;
    napi_value ab;
    void *p;
    bool is = false;

    napi_is_typedarray(env, v, &is);
    if (!is ||
        napi_get_typedarray_info(env, v, &type, &n, &p, &ab, &off) !=
            napi_ok ||
        type != napi_float32_array)
        return arg_throw(env, true, "the query vector must be a Float32Array");
    j->vec = malloc(n * sizeof *j->vec + 1);
    if (j->vec == NULL)
        return arg_throw(env, false, "out of memory");
    if (n > 0)
        memcpy(j->vec, p, n * sizeof *j->vec);
    j->dim = n;
    return napi_ok;
}

static napi_status get_nprobe(napi_env env, napi_value v, struct job *j)
{
    uint64_t n = 0;

    if (!arg_nullish(env, v) &&
        arg_uint(env, v, "nprobe", UINT32_MAX, &n) != napi_ok)
        return napi_pending_exception;
    j->nprobe = (uint32_t)n;
    return napi_ok;
}

/* ---- Connection ---------------------------------------------------------- */

static napi_value table_object(napi_env env, struct addon *a,
                               struct table_box *b)
{
    napi_value ctor, obj = NULL;

    if (napi_get_reference_value(env, a->table_ctor, &ctor) != napi_ok)
        return NULL;
    a->pending = b;
    if (napi_new_instance(env, ctor, 0, NULL, &obj) != napi_ok)
        obj = NULL;
    a->pending = NULL;
    return obj;
}

static napi_value new_table_object(napi_env env, struct job *j)
{
    struct table_box *b = calloc(1, sizeof *b);
    napi_value obj;

    if (b == NULL)
        return NULL;
    b->t = j->table;
    b->db = j->db;
    b->refs = 1;
    j->db->refs++;
    j->table = NULL; /* the box owns it now */
    obj = table_object(env, j->addon, b);
    if (obj == NULL)
        table_unref(b);
    return obj;
}

/* Upstream refuses an invalid table name as a backend failure; the name is
 * echoed in part, so that the reason always shows. */
static bool name_ok(napi_env env, const char *name)
{
    char msg[400];
    size_t n;

    if (infino_table_name_valid(name))
        return true;
    n = strlen(name);
    snprintf(msg, sizeof msg,
             "invalid table name '%.64s%s' (%zu characters): use 1-%d "
             "characters of [A-Za-z0-9_-], not starting with '_'",
             name, n > 64 ? "..." : "", n, INFINO_TABLE_NAME_MAX);
    napi_throw(env, make_error(env, "GenericFailure", msg));
    return false;
}

/* createTable(name, schemaDesc, fts: string[],
 *             vectors: [column, dim, nCent, metric][]) */
static napi_value conn_create_table(napi_env env, napi_callback_info info)
{
    struct call c;
    struct job *j;
    int64_t n;

    if (!get_call(env, info, &c) || (j = db_job(env, &c, J_CREATE)) == NULL)
        return NULL;
    if (arg_str(env, c.argv[0], "name", false, &j->name) != napi_ok ||
        !name_ok(env, j->name) ||
        cdata_import_schema(env, c.argv[1], &j->schema) != napi_ok)
        goto fail;
    if (infino_index_spec_new(&j->spec) != INFINO_OK) {
        arg_throw(env, false, "out of memory");
        goto fail;
    }
    if ((n = arg_array_len(env, c.argv[2], "fts columns")) < 0)
        goto fail;
    for (int64_t i = 0; i < n; i++) {
        napi_value e;
        char *col;
        infino_status st;
        napi_get_element(env, c.argv[2], (uint32_t)i, &e);
        if (arg_str(env, e, "an fts column", false, &col) != napi_ok)
            goto fail;
        st = infino_index_spec_fts(j->spec, col);
        free(col);
        if (st != INFINO_OK) {
            j->st = st;
            j->err = strdup(infino_last_error());
            napi_throw(env, job_error(env, j));
            goto fail;
        }
    }
    if ((n = arg_array_len(env, c.argv[3], "vector columns")) < 0)
        goto fail;
    for (int64_t i = 0; i < n; i++) {
        napi_value e, x;
        char *col = NULL, *metric = NULL;
        uint64_t dim, n_cent;
        infino_status st;
        napi_get_element(env, c.argv[3], (uint32_t)i, &e);
        if (arg_array_len(env, e, "a vector spec") != 4)
            goto fail_spec;
        napi_get_element(env, e, 0, &x);
        if (arg_str(env, x, "a vector column", false, &col) != napi_ok)
            goto fail_spec;
        napi_get_element(env, e, 1, &x);
        if (arg_uint(env, x, "dim", UINT32_MAX, &dim) != napi_ok)
            goto fail_spec;
        napi_get_element(env, e, 2, &x);
        if (arg_uint(env, x, "nCent", UINT32_MAX, &n_cent) != napi_ok)
            goto fail_spec;
        napi_get_element(env, e, 3, &x);
        if (arg_str(env, x, "metric", false, &metric) != napi_ok)
            goto fail_spec;
        st = infino_index_spec_vector(j->spec, col, (uint32_t)dim,
                                      (uint32_t)n_cent, metric);
        free(col);
        free(metric);
        if (st != INFINO_OK) {
            j->st = st;
            j->err = strdup(infino_last_error());
            napi_throw(env, job_error(env, j));
            goto fail;
        }
        continue;
    fail_spec:
        free(col);
        free(metric);
        {
            bool pending = false;
            napi_is_exception_pending(env, &pending);
            if (!pending)
                arg_throw(env, true,
                          "a vector spec must be [column, dim, nCent, "
                          "metric]");
        }
        goto fail;
    }
    return job_run(env, j, c.async);
fail:
    job_free(j);
    return NULL;
}

/* openTable(name) */
static napi_value conn_open_table(napi_env env, napi_callback_info info)
{
    struct call c;
    struct job *j;

    if (!get_call(env, info, &c) || (j = db_job(env, &c, J_OPEN)) == NULL)
        return NULL;
    if (arg_str(env, c.argv[0], "name", false, &j->name) != napi_ok ||
        !name_ok(env, j->name)) {
        job_free(j);
        return NULL;
    }
    return job_run(env, j, c.async);
}

/* dropTable(name, purge) */
static napi_value conn_drop_table(napi_env env, napi_callback_info info)
{
    struct call c;
    struct job *j;
    bool purge = false;

    if (!get_call(env, info, &c) || (j = db_job(env, &c, J_DROP)) == NULL)
        return NULL;
    if (arg_str(env, c.argv[0], "name", false, &j->name) != napi_ok ||
        !name_ok(env, j->name)) {
        job_free(j);
        return NULL;
    }
    if (!arg_nullish(env, c.argv[1]) &&
        napi_get_value_bool(env, c.argv[1], &purge) != napi_ok) {
        job_free(j);
        arg_throw(env, true, "purge must be a boolean");
        return NULL;
    }
    j->purge = purge;
    return job_run(env, j, c.async);
}

/* listTables() */
static napi_value conn_list_tables(napi_env env, napi_callback_info info)
{
    struct call c;
    struct job *j;

    if (!get_call(env, info, &c) || (j = db_job(env, &c, J_LIST)) == NULL)
        return NULL;
    return job_run(env, j, c.async);
}

/* querySql(sql) -> [schemaJson, ...blocks] */
static napi_value conn_query_sql(napi_env env, napi_callback_info info)
{
    struct call c;
    struct job *j;

    if (!get_call(env, info, &c) || (j = db_job(env, &c, J_SQL)) == NULL)
        return NULL;
    if (arg_str(env, c.argv[0], "sql", false, &j->name) != napi_ok) {
        job_free(j);
        return NULL;
    }
    return job_run(env, j, c.async);
}

/* isDurable() */
static napi_value conn_is_durable(napi_env env, napi_callback_info info)
{
    struct call c;
    napi_value v;

    if (!get_call(env, info, &c))
        return NULL;
    napi_get_boolean(env, infino_db_is_durable(((struct db_box *)c.box)->db),
                     &v);
    return v;
}

/* ---- Table --------------------------------------------------------------- */

/* name() */
static napi_value table_name(napi_env env, napi_callback_info info)
{
    struct call c;
    napi_value v;

    if (!get_call(env, info, &c))
        return NULL;
    napi_create_string_utf8(
        env, infino_table_name(((struct table_box *)c.box)->t),
        NAPI_AUTO_LENGTH, &v);
    return v;
}

/* schema() -> schemaJson (cheap: no job) */
static napi_value table_schema(napi_env env, napi_callback_info info)
{
    struct call c;
    struct ArrowSchema s;
    char *json = NULL, err[256];
    size_t len;
    napi_value v = NULL;

    if (!get_call(env, info, &c))
        return NULL;
    if (infino_table_schema(((struct table_box *)c.box)->t, &s) != INFINO_OK) {
        napi_throw(env, make_error(env, "GenericFailure", infino_last_error()));
        return NULL;
    }
    if (cdata_schema_json(&json, &len, &s, err, sizeof err) != 0)
        napi_throw(env, make_error(env, "GenericFailure", err));
    else
        napi_create_string_utf8(env, json, len, &v);
    s.release(&s);
    free(json);
    return v;
}

/* append(schemaDesc, batches) -> rows appended */
static napi_value table_append(napi_env env, napi_callback_info info)
{
    struct call c;
    struct job *j;

    if (!get_call(env, info, &c) || (j = table_job(env, &c, J_APPEND)) == NULL)
        return NULL;
    if (cdata_import_stream(env, c.argv[0], c.argv[1], &j->rows) != napi_ok) {
        job_free(j);
        return NULL;
    }
    return job_run(env, j, c.async);
}

/* update(predicate, schemaDesc, batches) -> stats */
static napi_value table_update(napi_env env, napi_callback_info info)
{
    struct call c;
    struct job *j;

    if (!get_call(env, info, &c) || (j = table_job(env, &c, J_UPDATE)) == NULL)
        return NULL;
    if (arg_str(env, c.argv[0], "predicate", false, &j->name) != napi_ok ||
        cdata_import_stream(env, c.argv[1], c.argv[2], &j->rows) != napi_ok) {
        job_free(j);
        return NULL;
    }
    return job_run(env, j, c.async);
}

/* delete(predicate) -> stats */
static napi_value table_delete(napi_env env, napi_callback_info info)
{
    struct call c;
    struct job *j;

    if (!get_call(env, info, &c) || (j = table_job(env, &c, J_DELETE)) == NULL)
        return NULL;
    if (arg_str(env, c.argv[0], "predicate", false, &j->name) != napi_ok) {
        job_free(j);
        return NULL;
    }
    return job_run(env, j, c.async);
}

/* optimize(maxMemoryMb | null, minFillPercent | null,
 *          targetSuperfileSizeMb | null) */
static napi_value table_optimize(napi_env env, napi_callback_info info)
{
    struct call c;
    struct job *j;
    uint64_t mem = 0, fill = 0, target = 0;

    if (!get_call(env, info, &c) ||
        (j = table_job(env, &c, J_OPTIMIZE)) == NULL)
        return NULL;
    if ((!arg_nullish(env, c.argv[0]) &&
         arg_uint(env, c.argv[0], "maxMemoryMb", UINT32_MAX, &mem) !=
             napi_ok) ||
        (!arg_nullish(env, c.argv[1]) &&
         arg_uint(env, c.argv[1], "minFillPercent", 100, &fill) != napi_ok) ||
        (!arg_nullish(env, c.argv[2]) &&
         arg_uint(env, c.argv[2], "targetSuperfileSizeMb", UINT32_MAX,
                  &target) != napi_ok)) {
        job_free(j);
        return NULL;
    }
    j->opt = (infino_optimize_opts)INFINO_OPTIMIZE_OPTS_INIT;
    j->opt.max_memory_mb = mem;
    j->opt.min_fill_percent =
        arg_nullish(env, c.argv[1]) ? -1 : (int32_t)fill;
    j->opt.target_superfile_mb = target;
    return job_run(env, j, c.async);
}

/* gc(graceSecs) */
static napi_value table_gc(napi_env env, napi_callback_info info)
{
    struct call c;
    struct job *j;
    napi_valuetype t;

    if (!get_call(env, info, &c) || (j = table_job(env, &c, J_GC)) == NULL)
        return NULL;
    if (napi_typeof(env, c.argv[0], &t) != napi_ok || t != napi_number) {
        job_free(j);
        arg_throw(env, true, "graceSecs must be a number");
        return NULL;
    }
    napi_get_value_double(env, c.argv[0], &j->grace);
    if (!(j->grace > 0)) /* negative and NaN: 0, as upstream clamps */
        j->grace = 0;
    return job_run(env, j, c.async);
}

/* bm25Search(column, query, k, mode, projection) */
static napi_value table_bm25(napi_env env, napi_callback_info info)
{
    struct call c;
    struct job *j;

    if (!get_call(env, info, &c) || (j = table_job(env, &c, J_BM25)) == NULL)
        return NULL;
    if (arg_str(env, c.argv[0], "column", false, &j->name) != napi_ok ||
        arg_text(env, c.argv[1], "query", &j->text, &j->text_len) != napi_ok ||
        arg_uint(env, c.argv[2], "k", SIZE_MAX, &j->k) != napi_ok ||
        arg_str(env, c.argv[3], "mode", true, &j->mode) != napi_ok ||
        get_projection(env, c.argv[4], j) != napi_ok) {
        job_free(j);
        return NULL;
    }
    return job_run(env, j, c.async);
}

/* vectorSearch(column, query: Float32Array, k, nprobe, projection,
 *              filterColumn, filterQuery, filterMode) */
static napi_value table_vector(napi_env env, napi_callback_info info)
{
    struct call c;
    struct job *j;

    if (!get_call(env, info, &c) || (j = table_job(env, &c, J_VECTOR)) == NULL)
        return NULL;
    if (arg_str(env, c.argv[0], "column", false, &j->name) != napi_ok ||
        get_vector(env, c.argv[1], j) != napi_ok ||
        arg_uint(env, c.argv[2], "k", SIZE_MAX, &j->k) != napi_ok ||
        get_nprobe(env, c.argv[3], j) != napi_ok ||
        get_projection(env, c.argv[4], j) != napi_ok ||
        arg_str(env, c.argv[5], "filter.column", true, &j->fcol) != napi_ok ||
        arg_str(env, c.argv[6], "filter.query", true, &j->fquery) != napi_ok ||
        arg_str(env, c.argv[7], "filter.mode", true, &j->fmode) != napi_ok) {
        job_free(j);
        return NULL;
    }
    return job_run(env, j, c.async);
}

/* hybridSearch(textColumn, textQuery, vectorColumn, vectorQuery, k, mode,
 *              nprobe, projection) */
static napi_value table_hybrid(napi_env env, napi_callback_info info)
{
    struct call c;
    struct job *j;

    if (!get_call(env, info, &c) || (j = table_job(env, &c, J_HYBRID)) == NULL)
        return NULL;
    if (arg_str(env, c.argv[0], "textColumn", false, &j->name) != napi_ok ||
        arg_text(env, c.argv[1], "textQuery", &j->text, &j->text_len) !=
            napi_ok ||
        arg_str(env, c.argv[2], "vectorColumn", false, &j->col2) != napi_ok ||
        get_vector(env, c.argv[3], j) != napi_ok ||
        arg_uint(env, c.argv[4], "k", SIZE_MAX, &j->k) != napi_ok ||
        arg_str(env, c.argv[5], "mode", true, &j->mode) != napi_ok ||
        get_nprobe(env, c.argv[6], j) != napi_ok ||
        get_projection(env, c.argv[7], j) != napi_ok) {
        job_free(j);
        return NULL;
    }
    return job_run(env, j, c.async);
}

/* tokenMatch(column, query, mode, projection) */
static napi_value table_token(napi_env env, napi_callback_info info)
{
    struct call c;
    struct job *j;

    if (!get_call(env, info, &c) || (j = table_job(env, &c, J_TOKEN)) == NULL)
        return NULL;
    if (arg_str(env, c.argv[0], "column", false, &j->name) != napi_ok ||
        arg_text(env, c.argv[1], "query", &j->text, &j->text_len) != napi_ok ||
        arg_str(env, c.argv[2], "mode", true, &j->mode) != napi_ok ||
        get_projection(env, c.argv[3], j) != napi_ok) {
        job_free(j);
        return NULL;
    }
    return job_run(env, j, c.async);
}

/* exactMatch(column, value, projection) */
static napi_value table_exact(napi_env env, napi_callback_info info)
{
    struct call c;
    struct job *j;

    if (!get_call(env, info, &c) || (j = table_job(env, &c, J_EXACT)) == NULL)
        return NULL;
    if (arg_str(env, c.argv[0], "column", false, &j->name) != napi_ok ||
        arg_text(env, c.argv[1], "value", &j->text, &j->text_len) != napi_ok ||
        get_projection(env, c.argv[2], j) != napi_ok) {
        job_free(j);
        return NULL;
    }
    return job_run(env, j, c.async);
}

/* count(column, query, mode) */
static napi_value table_count(napi_env env, napi_callback_info info)
{
    struct call c;
    struct job *j;

    if (!get_call(env, info, &c) || (j = table_job(env, &c, J_COUNT)) == NULL)
        return NULL;
    if (arg_str(env, c.argv[0], "column", false, &j->name) != napi_ok ||
        arg_text(env, c.argv[1], "query", &j->text, &j->text_len) != napi_ok ||
        arg_str(env, c.argv[2], "mode", true, &j->mode) != napi_ok) {
        job_free(j);
        return NULL;
    }
    return job_run(env, j, c.async);
}

/* countRows() */
static napi_value table_count_rows(napi_env env, napi_callback_info info)
{
    struct call c;
    struct job *j;

    if (!get_call(env, info, &c) ||
        (j = table_job(env, &c, J_COUNT_ROWS)) == NULL)
        return NULL;
    return job_run(env, j, c.async);
}

/* ---- classes and module --------------------------------------------------- */

static void conn_finalize(napi_env env, void *data, void *hint)
{
    (void)env;
    (void)hint;
    db_unref(data);
}

static void table_finalize(napi_env env, void *data, void *hint)
{
    (void)env;
    (void)hint;
    table_unref(data);
}

/* Native constructors wrap the box the addon set as pending; called from
 * JavaScript they refuse. */
static napi_value native_ctor(napi_env env, napi_callback_info info,
                              napi_finalize fin, const char *what)
{
    napi_value self;
    struct addon *a;
    void *box;

    if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok)
        return NULL;
    napi_get_instance_data(env, (void **)&a);
    if (a == NULL || a->pending == NULL) {
        arg_throw(env, true, "%s", what);
        return NULL;
    }
    box = a->pending;
    a->pending = NULL;
    if (napi_wrap(env, self, box, fin, NULL, NULL) != napi_ok)
        return NULL;
    return self;
}

static napi_value conn_ctor(napi_env env, napi_callback_info info)
{
    return native_ctor(env, info, conn_finalize,
                       "Connections come from connect()");
}

static napi_value table_ctor(napi_env env, napi_callback_info info)
{
    return native_ctor(env, info, table_finalize,
                       "Tables come from Connection.createTable/openTable");
}

/* connect(uri, storageOptions: [key, value][] | null,
 *         maxStalenessMs?, cacheDir?, cacheBudgetBytes?, coldFetchMode?)
 * -> Connection; the cache arguments are checked by index.js and the core
 * (infino_connect_opts). */
static napi_value mod_connect(napi_env env, napi_callback_info info)
{
    napi_value argv[6], ctor, obj = NULL;
    size_t argc = 6;
    char *uri = NULL, *cache_dir = NULL, *mode = NULL;
    infino_connect_opts o = INFINO_CONNECT_OPTS_INIT;
    infino_storage_option *so = NULL;
    char **strs = NULL;
    int64_t n = 0;
    struct addon *a;
    struct db_box *box = NULL;
    infino_status st;

    napi_get_instance_data(env, (void **)&a);
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
        return NULL;
    for (size_t i = argc; i < 6; i++)
        napi_get_undefined(env, &argv[i]);
    if (arg_str(env, argv[0], "uri", false, &uri) != napi_ok)
        return NULL;
    if ((!arg_nullish(env, argv[2]) &&
         arg_uint(env, argv[2], "maxStalenessMs", UINT64_MAX,
                  &o.max_staleness_ms) != napi_ok) ||
        arg_str(env, argv[3], "cacheDir", true, &cache_dir) != napi_ok ||
        (!arg_nullish(env, argv[4]) &&
         arg_uint(env, argv[4], "cacheBudgetBytes", UINT64_MAX,
                  &o.cache_budget_bytes) != napi_ok) ||
        arg_str(env, argv[5], "coldFetchMode", true, &mode) != napi_ok)
        goto done;
    o.cache_dir = cache_dir;
    o.cold_fetch_mode = mode;
    if (!arg_nullish(env, argv[1])) {
        if ((n = arg_array_len(env, argv[1], "storageOptions")) < 0)
            goto done;
        so = calloc((size_t)n + 1, sizeof *so);
        strs = calloc(2 * (size_t)n + 1, sizeof *strs);
        if (so == NULL || strs == NULL) {
            arg_throw(env, false, "out of memory");
            goto done;
        }
        for (int64_t i = 0; i < n; i++) {
            napi_value kv, x;
            napi_get_element(env, argv[1], (uint32_t)i, &kv);
            int64_t n_kv = arg_array_len(env, kv, "a storage option");
            if (n_kv != 2) {
                if (n_kv >= 0)
                    arg_throw(env, true,
                              "a storage option must be [key, value]");
                goto done;
            }
            napi_get_element(env, kv, 0, &x);
            if (arg_str(env, x, "a storage option key", false,
                        &strs[2 * i]) != napi_ok)
                goto done;
            napi_get_element(env, kv, 1, &x);
            if (arg_str(env, x, "a storage option value", false,
                        &strs[2 * i + 1]) != napi_ok)
                goto done;
            so[i].key = strs[2 * i];
            so[i].value = strs[2 * i + 1];
        }
        o.storage_options = so;
        o.n_storage_options = (size_t)n;
    }
    box = calloc(1, sizeof *box);
    if (box == NULL) {
        arg_throw(env, false, "out of memory");
        goto done;
    }
    st = infino_connect(&box->db, uri, &o);
    if (st != INFINO_OK) {
        /* a bad URI or option is a backend error upstream */
        napi_throw(env, make_error(env, "GenericFailure", infino_last_error()));
        free(box);
        box = NULL;
        goto done;
    }
    box->refs = 1;
    if (napi_get_reference_value(env, a->conn_ctor, &ctor) != napi_ok)
        goto done;
    a->pending = box;
    if (napi_new_instance(env, ctor, 0, NULL, &obj) != napi_ok)
        obj = NULL;
    a->pending = NULL;
    if (obj != NULL)
        box = NULL; /* the object owns it */
done:
    if (box != NULL) {
        infino_db_close(box->db);
        free(box);
    }
    for (int64_t i = 0; strs && i < 2 * n; i++)
        free(strs[i]);
    free(strs);
    free(so);
    free(uri);
    free(cache_dir);
    free(mode);
    return obj;
}

static void addon_free(napi_env env, void *data, void *hint)
{
    struct addon *a = data;

    (void)hint;
    napi_delete_reference(env, a->conn_ctor);
    napi_delete_reference(env, a->table_ctor);
    free(a);
}

#define METHOD(name, fn)                                                       \
    {name, NULL, fn, NULL, NULL, NULL, napi_default, NULL},                    \
    {                                                                          \
        name "Async", NULL, fn, NULL, NULL, NULL, napi_default, (void *)1      \
    }
#define SYNC(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default, NULL}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */)
{
    static const napi_property_descriptor conn_props[] = {
        METHOD("createTable", conn_create_table),
        METHOD("openTable", conn_open_table),
        METHOD("dropTable", conn_drop_table),
        METHOD("listTables", conn_list_tables),
        METHOD("querySql", conn_query_sql),
        SYNC("isDurable", conn_is_durable),
    };
    static const napi_property_descriptor table_props[] = {
        SYNC("name", table_name),
        SYNC("schema", table_schema),
        METHOD("append", table_append),
        METHOD("update", table_update),
        METHOD("delete", table_delete),
        METHOD("optimize", table_optimize),
        METHOD("gc", table_gc),
        METHOD("bm25Search", table_bm25),
        METHOD("vectorSearch", table_vector),
        METHOD("hybridSearch", table_hybrid),
        METHOD("tokenMatch", table_token),
        METHOD("exactMatch", table_exact),
        METHOD("count", table_count),
        METHOD("countRows", table_count_rows),
    };
    struct addon *a = calloc(1, sizeof *a);
    napi_value conn, table, fn, s;

    if (a == NULL ||
        napi_set_instance_data(env, a, addon_free, NULL) != napi_ok) {
        free(a);
        return NULL;
    }
    if (napi_define_class(env, "Connection", NAPI_AUTO_LENGTH, conn_ctor, NULL,
                          sizeof conn_props / sizeof conn_props[0],
                          conn_props, &conn) != napi_ok ||
        napi_define_class(env, "Table", NAPI_AUTO_LENGTH, table_ctor, NULL,
                          sizeof table_props / sizeof table_props[0],
                          table_props, &table) != napi_ok ||
        napi_create_reference(env, conn, 1, &a->conn_ctor) != napi_ok ||
        napi_create_reference(env, table, 1, &a->table_ctor) != napi_ok)
        return NULL;
    if (napi_create_function(env, "connect", NAPI_AUTO_LENGTH, mod_connect,
                             NULL, &fn) != napi_ok ||
        napi_set_named_property(env, exports, "connect", fn) != napi_ok ||
        napi_set_named_property(env, exports, "Connection", conn) != napi_ok ||
        napi_set_named_property(env, exports, "Table", table) != napi_ok)
        return NULL;
    if (napi_create_string_utf8(env, INFINO_NODE_BUILDER_ID, NAPI_AUTO_LENGTH,
                                &s) != napi_ok ||
        napi_set_named_property(env, exports, "builderId", s) != napi_ok ||
        napi_create_string_utf8(env, INFINO_VERSION_STRING, NAPI_AUTO_LENGTH,
                                &s) != napi_ok ||
        napi_set_named_property(env, exports, "engineVersion", s) != napi_ok)
        return NULL;
    return exports;
}
