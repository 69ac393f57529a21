/* Spike for issue 17 (evidence for docs/design/sql-engine.md), not built by
 * CMake: DuckDB's C API over an in-memory columnar source of 1M rows, as a
 * table function with projection pushdown and as an Arrow C stream, against
 * DuckDB's own Parquet scan (also with tombstones as a scalar filter); the
 * read-only gate; search-function registration; fork behaviour; mode `cpp`
 * compares with the C++ table function of duckdb_cpp_tf_spike.cpp.
 * Build (DuckDB 1.5.6: libduckdb.so from npm, headers from the crate's sources):
 *   cc -O2 -std=c11 -I<dir of duckdb.h> -c duckdb_capi_spike.c
 *   c++ -O2 -std=c++17 -DNDEBUG -I<dir of duckdb.hpp> -c duckdb_cpp_tf_spike.cpp
 *   c++ *.o -o spike -L<dir of libduckdb.so> -lduckdb -lpthread -Wl,-rpath,<same dir>
 * Run in a folder holding pq/ (python make_parquet.py pq) and scratch/:
 *   ./spike bench | cpp | gate | arrowchk | fork x 2 | forkbusy (NFORK=200) */
#define _GNU_SOURCE
#include <duckdb.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <signal.h>
#include <pthread.h>

#define NROWS 1000000
#define NCAT 50
#define VEC 2048

static int64_t *g_id;
static uint8_t *g_cat;
static double *g_price;
static char g_catname[NCAT][8];
static duckdb_string_t g_catstr[NCAT];
static atomic_long g_rows_emitted;
/* shared with cpp_tf.cpp */
int64_t *g_id_c; uint8_t *g_cat_c; double *g_price_c; duckdb_string_t *g_catstr_c; long g_nrows_c = NROWS;
atomic_long g_cpp_scanned_storage;
atomic_long *g_cpp_rows_scanned = &g_cpp_scanned_storage;
int register_cpp_tf(duckdb_connection c, const char *name);

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void make_data(void) {
    g_id = malloc(sizeof(int64_t) * NROWS);
    g_cat = malloc(NROWS);
    g_price = malloc(sizeof(double) * NROWS);
    for (uint64_t i = 0; i < NROWS; i++) {
        g_id[i] = (int64_t)i;
        g_cat[i] = (uint8_t)(((i * 2654435761ull) & 0xffffffffull) % NCAT);
        g_price[i] = (double)(((i * 2246822519ull) & 0xffffffffull) >> 8) / 16777216.0 * 100.0;
    }
    for (int c = 0; c < NCAT; c++) {
        snprintf(g_catname[c], sizeof g_catname[c], "cat_%02d", c);
        memset(&g_catstr[c], 0, sizeof g_catstr[c]);
        g_catstr[c].value.inlined.length = (uint32_t)strlen(g_catname[c]);
        memcpy(g_catstr[c].value.inlined.inlined, g_catname[c], strlen(g_catname[c]));
    }
}

/* ---------------- table function ---------------- */
typedef struct { atomic_long next; } gstate;
typedef struct { idx_t ncol; idx_t cols[3]; } pstate;

static void tf_bind(duckdb_bind_info info) {
    duckdb_logical_type t;
    t = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
    duckdb_bind_add_result_column(info, "id", t);
    duckdb_destroy_logical_type(&t);
    t = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
    duckdb_bind_add_result_column(info, "cat", t);
    duckdb_destroy_logical_type(&t);
    t = duckdb_create_logical_type(DUCKDB_TYPE_DOUBLE);
    duckdb_bind_add_result_column(info, "price", t);
    duckdb_destroy_logical_type(&t);
    duckdb_bind_set_cardinality(info, NROWS, true);
}

typedef struct { atomic_long next; idx_t ncol; idx_t cols[3]; } tfinit;

static void tf_init(duckdb_init_info info) {
    tfinit *s = calloc(1, sizeof *s);
    s->ncol = duckdb_init_get_column_count(info);
    for (idx_t i = 0; i < s->ncol && i < 3; i++) s->cols[i] = duckdb_init_get_column_index(info, i);
    duckdb_init_set_init_data(info, s, free);
    duckdb_init_set_max_threads(info, 8);
    if (getenv("SHOWPROJ")) { fprintf(stderr, "init: %llu cols:", (unsigned long long)s->ncol); for (idx_t i = 0; i < s->ncol; i++) fprintf(stderr, " %llu", (unsigned long long)s->cols[i]); fprintf(stderr, "\n"); }
}

static void tf_func(duckdb_function_info info, duckdb_data_chunk out) {
    tfinit *s = duckdb_function_get_init_data(info);
    long v = atomic_fetch_add(&s->next, 1);
    long start = v * VEC;
    if (start >= NROWS) { duckdb_data_chunk_set_size(out, 0); return; }
    long n = NROWS - start < VEC ? NROWS - start : VEC;
    for (idx_t j = 0; j < s->ncol; j++) {
        duckdb_vector vec = duckdb_data_chunk_get_vector(out, j);
        void *dst = duckdb_vector_get_data(vec);
        switch (s->cols[j]) {
        case 0: memcpy(dst, g_id + start, n * 8); break;
        case 1: {
            duckdb_string_t *d = dst;
            for (long i = 0; i < n; i++) d[i] = g_catstr[g_cat[start + i]];
            break;
        }
        case 2: memcpy(dst, g_price + start, n * 8); break;
        default: /* row id or other virtual column */
            for (long i = 0; i < n; i++) ((int64_t *)dst)[i] = start + i;
        }
    }
    atomic_fetch_add(&g_rows_emitted, n);
    duckdb_data_chunk_set_size(out, n);
}

static void register_tf(duckdb_connection con, const char *name) {
    duckdb_table_function f = duckdb_create_table_function();
    duckdb_table_function_set_name(f, name);
    duckdb_table_function_set_bind(f, tf_bind);
    duckdb_table_function_set_init(f, tf_init);
    duckdb_table_function_set_function(f, tf_func);
    duckdb_table_function_supports_projection_pushdown(f, true);
    if (duckdb_register_table_function(con, f) != DuckDBSuccess) { fprintf(stderr, "register tf failed\n"); exit(1); }
    duckdb_destroy_table_function(&f);
}

/* ------- a search-function stub: positional + named args, LIST(DOUBLE) ------- */
typedef struct { long k; long done; } sbind;
static void s_bind(duckdb_bind_info info) {
    idx_t np = duckdb_bind_get_parameter_count(info);
    duckdb_value kv = duckdb_bind_get_parameter(info, np - 1);
    sbind *b = calloc(1, sizeof *b);
    b->k = duckdb_get_int64(kv);
    duckdb_destroy_value(&kv);
    duckdb_value probe = duckdb_bind_get_named_parameter(info, "probes");
    if (probe) { b->k += 0; duckdb_destroy_value(&probe); }
    duckdb_logical_type t = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
    duckdb_bind_add_result_column(info, "id", t);
    duckdb_destroy_logical_type(&t);
    t = duckdb_create_logical_type(DUCKDB_TYPE_FLOAT);
    duckdb_bind_add_result_column(info, "score", t);
    duckdb_destroy_logical_type(&t);
    duckdb_bind_set_bind_data(info, b, free);
}
static void s_init(duckdb_init_info info) {
    long *done = calloc(1, sizeof *done);
    duckdb_init_set_init_data(info, done, free);
}
static void s_func(duckdb_function_info info, duckdb_data_chunk out) {
    sbind *b = duckdb_function_get_bind_data(info);
    long *done = duckdb_function_get_init_data(info);
    if (*done) { duckdb_data_chunk_set_size(out, 0); return; }
    int64_t *id = duckdb_vector_get_data(duckdb_data_chunk_get_vector(out, 0));
    float *sc = duckdb_vector_get_data(duckdb_data_chunk_get_vector(out, 1));
    for (long i = 0; i < b->k; i++) { id[i] = i * 1000; sc[i] = 10.0f - i; }
    *done = 1;
    duckdb_data_chunk_set_size(out, b->k);
}
static void register_search(duckdb_connection con, const char *name, int vector) {
    duckdb_table_function f = duckdb_create_table_function();
    duckdb_table_function_set_name(f, name);
    duckdb_logical_type vc = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
    duckdb_logical_type bi = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
    duckdb_logical_type dbl = duckdb_create_logical_type(DUCKDB_TYPE_DOUBLE);
    duckdb_logical_type lst = duckdb_create_list_type(dbl);
    duckdb_table_function_add_parameter(f, vc);
    duckdb_table_function_add_parameter(f, vc);
    duckdb_table_function_add_parameter(f, vector ? lst : vc);
    duckdb_table_function_add_parameter(f, bi);
    duckdb_table_function_add_named_parameter(f, "probes", bi);
    duckdb_destroy_logical_type(&vc);
    duckdb_destroy_logical_type(&bi);
    duckdb_destroy_logical_type(&dbl);
    duckdb_destroy_logical_type(&lst);
    duckdb_table_function_set_bind(f, s_bind);
    duckdb_table_function_set_init(f, s_init);
    duckdb_table_function_set_function(f, s_func);
    duckdb_register_table_function(con, f);
    duckdb_destroy_table_function(&f);
}

/* ---------------- replacement scan: lazy tables ---------------- */
static atomic_long g_repl_calls;
static void repl(duckdb_replacement_scan_info info, const char *table_name, void *data) {
    (void)data;
    atomic_fetch_add(&g_repl_calls, 1);
    /* a db of 1,000 tables: t0..t999 exist, each resolved only when named */
    if (table_name[0] == 't' && atoi(table_name + 1) < 1000) {
        duckdb_replacement_scan_set_function_name(info, "infino_scan");
        duckdb_value v = duckdb_create_varchar(table_name);
        duckdb_replacement_scan_add_parameter(info, v);
        duckdb_destroy_value(&v);
    }
}
static void scan1_bind(duckdb_bind_info info) {
    duckdb_value v = duckdb_bind_get_parameter(info, 0);
    duckdb_destroy_value(&v);
    duckdb_logical_type t = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
    duckdb_bind_add_result_column(info, "x", t);
    duckdb_destroy_logical_type(&t);
}
static void scan1_func(duckdb_function_info info, duckdb_data_chunk out) {
    long *done = duckdb_function_get_init_data(info);
    if (*done) { duckdb_data_chunk_set_size(out, 0); return; }
    ((int64_t *)duckdb_vector_get_data(duckdb_data_chunk_get_vector(out, 0)))[0] = 42;
    *done = 1;
    duckdb_data_chunk_set_size(out, 1);
}

/* ---------------- Arrow C stream ---------------- */
struct ArrowSchema {
    const char *format; const char *name; const char *metadata; int64_t flags; int64_t n_children;
    struct ArrowSchema **children; struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *); void *private_data;
};
struct ArrowArray {
    int64_t length; int64_t null_count; int64_t offset; int64_t n_buffers; int64_t n_children;
    const void **buffers; struct ArrowArray **children; struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *); void *private_data;
};
struct ArrowArrayStream {
    int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *);
    int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *);
    const char *(*get_last_error)(struct ArrowArrayStream *);
    void (*release)(struct ArrowArrayStream *); void *private_data;
};

static int32_t g_dict_off[NCAT + 1];
static char g_dict_data[NCAT * 6];
static long g_batch = VEC;
static int32_t *g_utf8_off;
static char *g_utf8_data;

static void schema_release(struct ArrowSchema *s) {
    for (int64_t i = 0; i < s->n_children; i++) {
        if (s->children[i]->release) s->children[i]->release(s->children[i]);
        free(s->children[i]);
    }
    free(s->children);
    if (s->dictionary) { if (s->dictionary->release) s->dictionary->release(s->dictionary); free(s->dictionary); }
    s->release = NULL;
}
static void leaf_schema_release(struct ArrowSchema *s) {
    if (s->dictionary) { free(s->dictionary); }
    s->release = NULL;
}
static void mkschema(struct ArrowSchema *s, const char *fmt, const char *name) {
    memset(s, 0, sizeof *s);
    s->format = fmt; s->name = name; s->flags = 2; /* nullable */
    s->release = leaf_schema_release;
}
static int st_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out) {
    (void)st;
    memset(out, 0, sizeof *out);
    out->format = "+s"; out->name = ""; out->n_children = 3;
    out->children = calloc(3, sizeof(void *));
    for (int i = 0; i < 3; i++) out->children[i] = malloc(sizeof(struct ArrowSchema));
    mkschema(out->children[0], "l", "id");
    mkschema(out->children[1], "u", "cat");
    mkschema(out->children[2], "g", "price");
    out->release = schema_release;
    return 0;
}
/* one allocation per batch: the parent, 3 children, the dictionary, buffer tables */
typedef struct {
    struct ArrowArray kids[3], dict;
    struct ArrowArray *kidp[3];
    const void *pbuf[1], *b0[2], *b1[3], *b2[2], *db[3];
} batch;
static void child_release(struct ArrowArray *a) { a->release = NULL; }
static void batch_release(struct ArrowArray *a) {
    free(a->private_data);
    a->release = NULL;
}
static int st_get_next(struct ArrowArrayStream *st, struct ArrowArray *out) {
    long *cur = st->private_data;
    memset(out, 0, sizeof *out);
    if (*cur >= NROWS) { out->release = NULL; return 0; }
    long start = *cur, n = NROWS - start < g_batch ? NROWS - start : g_batch;
    *cur += n;
    batch *b = calloc(1, sizeof *b);
    b->b0[1] = g_id + start;
    b->b1[1] = g_utf8_off; b->b1[2] = g_utf8_data;
    b->b2[1] = g_price + start;
    b->db[1] = g_dict_off;
    b->db[2] = g_dict_data;
    const void **bufs[3] = {b->b0, b->b1, b->b2};
    for (int i = 0; i < 3; i++) {
        b->kids[i] = (struct ArrowArray){.length = n, .n_buffers = 2, .buffers = bufs[i], .release = child_release};
        b->kidp[i] = &b->kids[i];
    }
    b->dict = (struct ArrowArray){.length = NCAT, .n_buffers = 3, .buffers = b->db, .release = child_release};
    b->kids[1].n_buffers = 3; b->kids[1].offset = start;
    out->length = n; out->n_buffers = 1; out->buffers = b->pbuf; out->n_children = 3;
    out->children = b->kidp; out->release = batch_release; out->private_data = b;
    return 0;
}
static const char *st_err(struct ArrowArrayStream *st) { (void)st; return NULL; }
static void st_release(struct ArrowArrayStream *st) { free(st->private_data); st->release = NULL; }
static void make_stream(struct ArrowArrayStream *st) {
    st->get_schema = st_get_schema; st->get_next = st_get_next; st->get_last_error = st_err;
    st->release = st_release; st->private_data = calloc(1, sizeof(long));
}

/* ------- tombstones as a filter over DuckDB's own Parquet scan ------- */
static uint8_t *g_dead[10]; /* one bitmap per part file: every 100th row deleted */
static void live_fn(duckdb_function_info info, duckdb_data_chunk in, duckdb_vector out) {
    idx_t n = duckdb_data_chunk_get_size(in);
    uint64_t *fi = duckdb_vector_get_data(duckdb_data_chunk_get_vector(in, 0));
    int64_t *row = duckdb_vector_get_data(duckdb_data_chunk_get_vector(in, 1));
    bool *res = duckdb_vector_get_data(out);
    for (idx_t i = 0; i < n; i++) {
        int64_t r = row[i];
        res[i] = !(g_dead[fi[i]][r >> 3] & (1u << (r & 7)));
    }
}
static void register_live(duckdb_connection con) {
    for (int p = 0; p < 10; p++) {
        g_dead[p] = calloc(100000 / 8 + 1, 1);
        for (int r = 0; r < 100000; r += 100) g_dead[p][r >> 3] |= 1u << (r & 7);
    }
    duckdb_scalar_function f = duckdb_create_scalar_function();
    duckdb_scalar_function_set_name(f, "infino_live");
    duckdb_logical_type vc = duckdb_create_logical_type(DUCKDB_TYPE_UBIGINT);
    duckdb_logical_type bi = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
    duckdb_logical_type bo = duckdb_create_logical_type(DUCKDB_TYPE_BOOLEAN);
    duckdb_scalar_function_add_parameter(f, vc);
    duckdb_scalar_function_add_parameter(f, bi);
    duckdb_scalar_function_set_return_type(f, bo);
    duckdb_scalar_function_set_function(f, live_fn);
    duckdb_register_scalar_function(con, f);
    duckdb_destroy_logical_type(&vc); duckdb_destroy_logical_type(&bi); duckdb_destroy_logical_type(&bo);
    duckdb_destroy_scalar_function(&f);
}

/* ---------------- helpers ---------------- */
static int run(duckdb_connection con, const char *sql, int print);
static atomic_int g_stop;
static void *busy(void *arg) {
    duckdb_connection con = arg;
    while (!atomic_load(&g_stop)) run(con, "SELECT cat, count(*), avg(price) FROM items_scan() GROUP BY cat", 0);
    return NULL;
}
static int run(duckdb_connection con, const char *sql, int print) {
    duckdb_result r;
    duckdb_state s = duckdb_query(con, sql, &r);
    if (s != DuckDBSuccess) {
        if (print) printf("  ERR  %-70.70s -> %.110s\n", sql, duckdb_result_error(&r));
        duckdb_destroy_result(&r);
        return -1;
    }
    if (print) {
        char *v = duckdb_row_count(&r) ? duckdb_value_varchar(&r, 0, 0) : NULL;
        printf("  ok   %-70.70s -> rows=%llu first=%s\n", sql, (unsigned long long)duckdb_row_count(&r), v ? v : "-");
        duckdb_free(v);
    }
    duckdb_destroy_result(&r);
    return 0;
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const char *QN[] = {"count", "count_price_gt_90", "group_by_cat", "point_id"};
static const char *QF[] = {
    "SELECT count(*) FROM %s",
    "SELECT count(*) FROM %s WHERE price > 90",
    "SELECT cat, count(*), avg(price) FROM %s GROUP BY cat",
    "SELECT id, cat FROM %s WHERE id = 123456",
};
#define REPS 9

static double bench(duckdb_connection con, const char *src, int q, int arrow) {
    char sql[256];
    double t[REPS];
    snprintf(sql, sizeof sql, QF[q], src);
    /* duckdb_arrow_scan pushes projection and filters into a stream that cannot see them:
       results are wrong unless those optimizers are off (see arrowchk) */
    if (arrow) run(con, "SET disabled_optimizers = 'unused_columns,filter_pushdown,statistics_propagation'", 0);
    for (int r = -1; r < REPS; r++) {
        struct ArrowArrayStream st;
        double t0 = now_ms();
        if (arrow) {
            make_stream(&st);
            if (duckdb_arrow_scan(con, src, (duckdb_arrow_stream)&st) != DuckDBSuccess) { fprintf(stderr, "arrow_scan fail\n"); exit(1); }
        }
        if (run(con, sql, 0) != 0) { run(con, sql, 1); exit(1); }
        double t1 = now_ms();
        if (arrow) st.release(&st);
        if (r >= 0) t[r] = t1 - t0;
    }
    if (arrow) run(con, "RESET disabled_optimizers", 0);
    qsort(t, REPS, sizeof t[0], cmpd);
    return t[REPS / 2];
}

static duckdb_database open_db(int locked, const char *threads) {
    duckdb_config cfg;
    duckdb_create_config(&cfg);
    duckdb_set_config(cfg, "threads", threads);
    duckdb_set_config(cfg, "memory_limit", "1GB");
    if (locked) {
        duckdb_set_config(cfg, "enable_external_access", "false");
        duckdb_set_config(cfg, "autoload_known_extensions", "false");
        duckdb_set_config(cfg, "autoinstall_known_extensions", "false");
        duckdb_set_config(cfg, "allow_community_extensions", "false");
        duckdb_set_config(cfg, "allow_unsigned_extensions", "false");
        duckdb_set_config(cfg, "lock_configuration", "true");
    }
    duckdb_database db;
    char *err = NULL;
    if (duckdb_open_ext(NULL, &db, cfg, &err) != DuckDBSuccess) { fprintf(stderr, "open: %s\n", err); exit(1); }
    duckdb_destroy_config(&cfg);
    return db;
}

/* the gate query_sql would apply: one statement, and only SELECT */
static int gated(duckdb_connection con, const char *sql) {
    duckdb_extracted_statements ex;
    idx_t n = duckdb_extract_statements(con, sql, &ex);
    if (n != 1) {
        printf("  DENY %-70.70s -> %s\n", sql, n == 0 ? duckdb_extract_statements_error(ex) : "more than one statement");
        duckdb_destroy_extracted(&ex);
        return -1;
    }
    duckdb_prepared_statement ps;
    if (duckdb_prepare_extracted_statement(con, ex, 0, &ps) != DuckDBSuccess) {
        printf("  ERR  %-70.70s -> %.110s\n", sql, duckdb_prepare_error(ps));
        duckdb_destroy_prepare(&ps);
        duckdb_destroy_extracted(&ex);
        return -1;
    }
    duckdb_statement_type ty = duckdb_prepared_statement_type(ps);
    int rc = 0;
    if (ty != DUCKDB_STATEMENT_TYPE_SELECT) {
        printf("  DENY %-70.70s -> statement type %d is not SELECT\n", sql, (int)ty);
        rc = -1;
    } else {
        duckdb_result r;
        if (duckdb_execute_prepared(ps, &r) != DuckDBSuccess) {
            printf("  ERR  %-70.70s -> %.110s\n", sql, duckdb_result_error(&r));
            rc = -1;
        } else {
            char *v = duckdb_row_count(&r) ? duckdb_value_varchar(&r, 0, 0) : NULL;
            printf("  ok   %-70.70s -> rows=%llu first=%s\n", sql, (unsigned long long)duckdb_row_count(&r), v ? v : "-");
            duckdb_free(v);
        }
        duckdb_destroy_result(&r);
    }
    duckdb_destroy_prepare(&ps);
    duckdb_destroy_extracted(&ex);
    return rc;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "bench";
    const char *pqdir = argc > 2 ? argv[2] : "pq";
    make_data();
    for (int c = 0; c < NCAT; c++) {
        g_dict_off[c] = c * 6;
        memcpy(g_dict_data + c * 6, g_catname[c], 6);
    }
    g_dict_off[NCAT] = NCAT * 6;
    g_utf8_off = malloc(sizeof(int32_t) * (NROWS + 1));
    g_utf8_data = malloc(NROWS * 6);
    for (long i = 0; i < NROWS; i++) { g_utf8_off[i] = i * 6; memcpy(g_utf8_data + i * 6, g_catname[g_cat[i]], 6); }
    g_utf8_off[NROWS] = NROWS * 6;
    printf("libduckdb %s\n", duckdb_library_version());

    if (!strcmp(mode, "bench")) {
        for (int th = 1; th <= 2; th++) {
            duckdb_database db = open_db(0, th == 1 ? "1" : "2");
            duckdb_connection con;
            duckdb_connect(db, &con);
            register_tf(con, "items_scan");
            run(con, "CREATE VIEW items_tf AS SELECT * FROM items_scan()", 1);
            char sql[512];
            snprintf(sql, sizeof sql, "CREATE VIEW items_pq AS SELECT * FROM read_parquet('%s/part*.parquet')", pqdir);
            run(con, sql, 1);
            snprintf(sql, sizeof sql, "CREATE VIEW items_pq1 AS SELECT * FROM read_parquet('%s/one.parquet')", pqdir);
            run(con, sql, 1);
            register_live(con);
            snprintf(sql, sizeof sql, "CREATE VIEW items_pqdel AS SELECT id, cat, price FROM read_parquet('%s/part*.parquet') WHERE infino_live(file_index, file_row_number)", pqdir);
            run(con, sql, 1);
            const char *srcs[] = {"items_tf", "items_arrow", "items_arrow_big", "items_pq", "items_pq1", "items_pqdel"};
            int nsrc = 6, s0 = getenv("ONLYDEL") ? 5 : 0;
            for (int q = 0; q < 4; q++) {
                for (int s = s0; s < nsrc; s++) {
                    g_batch = s == 2 ? 122880 : VEC;
                    atomic_store(&g_rows_emitted, 0);
                    double m = bench(con, s == 2 ? "items_arrow" : srcs[s], q, s == 1 || s == 2);
                    printf("RESULT threads=%d src=%s q=%s median_ms=%.2f tf_rows_per_run=%ld\n", th, srcs[s], QN[q], m,
                           s == 0 ? atomic_load(&g_rows_emitted) / (REPS + 1) : -1L);
                }
            }
            /* sanity */
            run(con, "SELECT count(*), sum(id), round(sum(price),3) FROM items_tf", 1);
            run(con, "SELECT count(*), sum(id), round(sum(price),3) FROM items_pq", 1);
            run(con, "SELECT count(*), sum(id), round(sum(price),3) FROM items_pqdel", 1);
            run(con, "SELECT count(*) FROM items_pqdel WHERE id = 123400", 1);
            run(con, "SELECT cat, count(*), round(avg(price),6) FROM items_tf GROUP BY cat ORDER BY cat LIMIT 2", 1);
            run(con, "SELECT cat, count(*), round(avg(price),6) FROM items_pq GROUP BY cat ORDER BY cat LIMIT 2", 1);
            run(con, "EXPLAIN SELECT count(*) FROM items_tf", 0);
            duckdb_disconnect(&con);
            duckdb_close(&db);
        }
        /* per-call overheads */
        {
            double t[REPS];
            for (int r = 0; r < REPS; r++) {
                double t0 = now_ms();
                duckdb_database db = open_db(1, "1");
                duckdb_connection con;
                duckdb_connect(db, &con);
                register_tf(con, "items_scan");
                duckdb_disconnect(&con);
                duckdb_close(&db);
                t[r] = now_ms() - t0;
            }
            qsort(t, REPS, sizeof t[0], cmpd);
            printf("RESULT open+connect+register+close median_ms=%.3f\n", t[REPS / 2]);
            duckdb_database db = open_db(1, "1");
            for (int r = 0; r < REPS; r++) {
                double t0 = now_ms();
                duckdb_connection con;
                duckdb_connect(db, &con);
                duckdb_disconnect(&con);
                t[r] = now_ms() - t0;
            }
            qsort(t, REPS, sizeof t[0], cmpd);
            printf("RESULT connect+disconnect median_ms=%.3f\n", t[REPS / 2]);
            duckdb_connection con;
            duckdb_connect(db, &con);
            duckdb_add_replacement_scan(db, repl, NULL, NULL);
            duckdb_table_function f = duckdb_create_table_function();
            duckdb_table_function_set_name(f, "infino_scan");
            duckdb_logical_type vc = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
            duckdb_table_function_add_parameter(f, vc);
            duckdb_destroy_logical_type(&vc);
            duckdb_table_function_set_bind(f, scan1_bind);
            duckdb_table_function_set_init(f, s_init);
            duckdb_table_function_set_function(f, scan1_func);
            duckdb_register_table_function(con, f);
            duckdb_destroy_table_function(&f);
            for (int which = 0; which < 2; which++) {
                const char *sqlq = which ? "SELECT count(*) FROM t999" : "SELECT count(*) FROM t0";
                run(con, sqlq, 0);
                for (int r = 0; r < REPS; r++) {
                    double t0 = now_ms();
                    run(con, sqlq, 0);
                    t[r] = now_ms() - t0;
                }
                qsort(t, REPS, sizeof t[0], cmpd);
                printf("RESULT lazy-table(%s of 1000) query median_ms=%.3f\n", which ? "t999" : "t0", t[REPS / 2]);
            }
            duckdb_prepared_statement ps;
            duckdb_prepare(con, "SELECT count(*) FROM t5", &ps);
            for (int r = 0; r < REPS; r++) {
                double t0 = now_ms();
                duckdb_result res;
                duckdb_execute_prepared(ps, &res);
                duckdb_destroy_result(&res);
                t[r] = now_ms() - t0;
            }
            qsort(t, REPS, sizeof t[0], cmpd);
            printf("RESULT lazy-table prepared execute median_ms=%.3f\n", t[REPS / 2]);
            duckdb_destroy_prepare(&ps);
            printf("replacement scan callbacks: %ld\n", atomic_load(&g_repl_calls));
            duckdb_disconnect(&con);
            duckdb_close(&db);
        }
        return 0;
    }

    if (!strcmp(mode, "gate")) {
        duckdb_database db = open_db(1, "2");
        duckdb_connection con;
        duckdb_connect(db, &con);
        register_tf(con, "items_scan");
        register_search(con, "bm25_search", 0);
        register_search(con, "vector_search", 1);
        run(con, "CREATE VIEW items AS SELECT * FROM items_scan()", 1);
        {   /* a second registration under the same name with 5 parameters: an overload? */
            duckdb_table_function f = duckdb_create_table_function();
            duckdb_table_function_set_name(f, "bm25_search");
            duckdb_logical_type vc = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
            duckdb_logical_type bi = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
            duckdb_table_function_add_parameter(f, vc); duckdb_table_function_add_parameter(f, vc);
            duckdb_table_function_add_parameter(f, vc); duckdb_table_function_add_parameter(f, bi);
            duckdb_table_function_add_parameter(f, vc);
            duckdb_table_function_set_bind(f, s_bind); duckdb_table_function_set_init(f, s_init);
            duckdb_table_function_set_function(f, s_func);
            printf("  overload registration: %s\n", duckdb_register_table_function(con, f) == DuckDBSuccess ? "ok" : "refused");
            duckdb_destroy_table_function(&f);
            duckdb_destroy_logical_type(&vc); duckdb_destroy_logical_type(&bi);
        }
        printf("-- raw duckdb_query on the locked database\n");
        const char *bad[] = {
            "COPY (SELECT 1) TO 'scratch/leak.csv'",
            "SELECT * FROM read_csv('/etc/hostname')",
            "SELECT * FROM read_parquet('pq/one.parquet')",
            "SELECT * FROM read_text('/etc/hostname')",
            "ATTACH 'scratch/x.duckdb' AS x",
            "INSTALL httpfs",
            "LOAD parquet",
            "LOAD 'scratch/evil.duckdb_extension'",
            "SET enable_external_access = true",
            "SET threads = 1",
            "RESET lock_configuration",
            "SELECT * FROM glob('/etc/*')",
            "EXPORT DATABASE 'scratch/exp'",
            "CREATE TABLE t(x int)",
            "PRAGMA database_list",
            "SELECT current_setting('memory_limit')",
            NULL};
        for (int i = 0; bad[i]; i++) run(con, bad[i], 1);
        printf("-- through the SELECT-only gate\n");
        gated(con, "CREATE TABLE t2(x int)");
        gated(con, "INSERT INTO t VALUES (1)");
        gated(con, "SELECT 1; DROP TABLE t");
        gated(con, "DROP VIEW items");
        gated(con, "SELECT count(*) FROM items");
        printf("-- dialect (upstream's list)\n");
        const char *dia[] = {
            "SELECT [0.1, 0.2, 0.3] AS v",
            "SELECT array_cosine_similarity([0.1, 0.2]::FLOAT[2], [0.2, 0.1]::FLOAT[2])",
            "WITH c AS (SELECT cat, avg(price) a FROM items GROUP BY cat) SELECT count(*) FROM c WHERE a > 49",
            "SELECT id, row_number() OVER (PARTITION BY cat ORDER BY price DESC) rn FROM items QUALIFY rn = 1 ORDER BY id LIMIT 3",
            "SELECT id, sum(price) OVER (ORDER BY id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM items WHERE id < 5",
            "SELECT count(*) FROM (SELECT id FROM items WHERE id < 10) a FULL OUTER JOIN (SELECT id FROM items WHERE id BETWEEN 5 AND 14) b USING (id)",
            "SELECT count(*) FROM (SELECT id FROM items WHERE id < 10 EXCEPT SELECT id FROM items WHERE id < 5)",
            "SELECT id FROM items WHERE cat ILIKE 'CAT_0%' AND price BETWEEN 10 AND 11 ORDER BY id LIMIT 1",
            "SELECT CAST(price AS INTEGER), date_trunc('day', TIMESTAMP '2024-01-02 03:04:05') FROM items LIMIT 1",
            "SELECT id, score FROM bm25_search('items', 'body', 'gamma delta', 10)",
            "SELECT i.id, i.cat, s.score FROM bm25_search('items', 'body', 'gamma delta', 10) s JOIN items i USING (id) ORDER BY s.score DESC LIMIT 3",
            "SELECT count(*) FROM vector_search('items', 'vec', [0.1, 0.2], 5)",
            "SELECT count(*) FROM vector_search('items', 'vec', [0.1, 0.2]::FLOAT[2], 5, probes := 8)",
            "SELECT count(*) FROM vector_search('items', 'vec', 'notalist', 5)",
            "SELECT count(*) FROM bm25_search('items', 'body', 'gamma', 3, 'extra')",
            "SELECT count(*) FROM bm25_search('items', 'body', 'gamma', 3)",
            NULL};
        for (int i = 0; dia[i]; i++) run(con, dia[i], 1);
        printf("-- results as Arrow: duckdb_result_arrow_array over each chunk\n");
        {
            duckdb_result r;
            duckdb_query(con, "SELECT id, cat, price FROM items WHERE price > 99", &r);
            duckdb_arrow_options ao;
            duckdb_connection_get_arrow_options(con, &ao);
            long rows = 0, chunks = 0;
            double t0 = now_ms();
            for (;;) {
                duckdb_data_chunk ch = duckdb_fetch_chunk(r);
                if (!ch) break;
                struct ArrowArray arr;
                memset(&arr, 0, sizeof arr);
                struct ArrowArray *ap = &arr;
                duckdb_error_data e = duckdb_data_chunk_to_arrow(ao, ch, ap);
                if (e) { printf("to_arrow err %s\n", duckdb_error_data_message(e)); duckdb_destroy_error_data(&e); break; }
                rows += arr.length; chunks++;
                if (arr.release) arr.release(&arr);
                duckdb_destroy_data_chunk(&ch);
            }
            printf("  arrow export: %ld rows in %ld chunks, %.2f ms\n", rows, chunks, now_ms() - t0);
            duckdb_destroy_arrow_options(&ao);
            duckdb_destroy_result(&r);
        }
        duckdb_disconnect(&con);
        duckdb_close(&db);
        return 0;
    }

    if (!strcmp(mode, "arrowchk")) {
        duckdb_database db = open_db(0, "1");
        duckdb_connection con;
        duckdb_connect(db, &con);
        const char *qs[] = {"SELECT * FROM items_arrow WHERE id = 7", "SELECT price FROM items_arrow LIMIT 1 OFFSET 7",
            "SELECT count(*) FROM items_arrow WHERE price > 90", "SELECT count(*) FROM items_arrow WHERE id < 10",
            "SET disabled_optimizers = 'unused_columns,filter_pushdown,statistics_propagation'",
            "SELECT price FROM items_arrow LIMIT 1 OFFSET 7", "SELECT count(*) FROM items_arrow WHERE price > 90",
            "SELECT cat, count(*) FROM items_arrow GROUP BY cat ORDER BY cat LIMIT 1", NULL};
        for (int i = 0; qs[i]; i++) {
            struct ArrowArrayStream st;
            make_stream(&st);
            duckdb_arrow_scan(con, "items_arrow", (duckdb_arrow_stream)&st);
            run(con, qs[i], 1);
            st.release(&st);
        }
        printf("expected price[7]=%.6f count(price>90)=", g_price[7]);
        long c = 0; for (long i = 0; i < NROWS; i++) c += g_price[i] > 90; printf("%ld\n", c);
        return 0;
    }
    if (!strcmp(mode, "cpp")) {
        g_id_c = g_id; g_cat_c = g_cat; g_price_c = g_price; g_catstr_c = g_catstr;
        for (int th = 1; th <= 2; th++) {
            duckdb_database db = open_db(0, th == 1 ? "1" : "2");
            duckdb_connection con;
            duckdb_connect(db, &con);
            if (register_cpp_tf(con, "items_cpp_scan")) return 1;
            register_tf(con, "items_scan");
            run(con, "CREATE VIEW items_cpp AS SELECT * FROM items_cpp_scan()", 1);
            run(con, "CREATE VIEW items_tf AS SELECT * FROM items_scan()", 1);
            const char *srcs[] = {"items_tf", "items_cpp"};
            for (int q = 0; q < 4; q++)
                for (int s = 0; s < 2; s++) {
                    atomic_store(&g_cpp_scanned_storage, 0);
                    atomic_store(&g_rows_emitted, 0);
                    double m = bench(con, srcs[s], q, 0);
                    printf("RESULT threads=%d src=%s q=%s median_ms=%.3f rows_scanned_per_run=%ld\n", th, srcs[s], QN[q], m,
                           (s ? atomic_load(&g_cpp_scanned_storage) : atomic_load(&g_rows_emitted)) / (REPS + 1));
                }
            const char *chk[] = {"SELECT count(*) FROM items_cpp", "SELECT id, cat, price FROM items_cpp WHERE id = 123456",
                "SELECT id, cat, price FROM items_tf WHERE id = 123456", "SELECT count(*) FROM items_cpp WHERE id BETWEEN 10 AND 19",
                "SELECT count(*) FROM items_cpp WHERE 500 > id", "SELECT count(*) FROM items_cpp WHERE price > 90",
                "SELECT count(*) FROM items_cpp a JOIN items_cpp b ON a.id = b.id + 1 WHERE b.id < 5",
                "SELECT count(*) FROM items_cpp WHERE id = 123456 OR id = 5", NULL};
            for (int i = 0; chk[i]; i++) run(con, chk[i], 1);
            duckdb_disconnect(&con);
            duckdb_close(&db);
        }
        return 0;
    }
    if (!strcmp(mode, "forkbusy")) {
        /* a second thread runs queries while the main thread forks; each child queries */
        duckdb_database db = open_db(0, "2");
        duckdb_connection con;
        duckdb_connect(db, &con);
        register_tf(con, "items_scan");
        pthread_t th;
        pthread_create(&th, NULL, busy, con);
        int ok = 0, hung = 0, other = 0;
        int nf = getenv("NFORK") ? atoi(getenv("NFORK")) : 20;
        for (int i = 0; i < nf; i++) {
            usleep(2000 + (i % 7) * 900);
            pid_t p = fork();
            if (p == 0) {
                alarm(5);
                duckdb_connection c2;
                duckdb_connect(db, &c2);
                int rc = run(c2, "SELECT cat, count(*), avg(price) FROM items_scan() GROUP BY cat", 0);
                _exit(rc ? 3 : 0);
            }
            int st;
            waitpid(p, &st, 0);
            if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) hung++;
            else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) ok++;
            else other++;
        }
        atomic_store(&g_stop, 1);
        pthread_join(th, NULL);
        printf("fork while another thread queries: %d ok, %d hung (killed after 5 s), %d failed\n", ok, hung, other);
        return 0;
    }
    if (!strcmp(mode, "fork")) {
        duckdb_database db = open_db(0, argc > 3 ? argv[3] : "2");
        duckdb_connection con;
        duckdb_connect(db, &con);
        register_tf(con, "items_scan");
        run(con, "SELECT cat, count(*), avg(price) FROM items_scan() GROUP BY cat", 1);
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task", getpid());
        char cmd[128];
        snprintf(cmd, sizeof cmd, "ls %s | wc -l", path);
        printf("threads in process after a query: ");
        fflush(stdout);
        system(cmd);
        for (int variant = 0; variant < 3; variant++) {
            pid_t p = fork();
            if (p == 0) {
                alarm(5);
                if (variant == 0) _exit(0); /* child that does not touch DuckDB */
                if (variant == 1) { /* child reuses the parent's database */
                    int rc = run(con, "SELECT cat, count(*), avg(price) FROM items_scan() GROUP BY cat", 1);
                    _exit(rc ? 3 : 0);
                }
                /* child opens its own new database */
                duckdb_database d2 = open_db(0, "2");
                duckdb_connection c2;
                duckdb_connect(d2, &c2);
                register_tf(c2, "items_scan");
                int rc = run(c2, "SELECT cat, count(*), avg(price) FROM items_scan() GROUP BY cat", 1);
                _exit(rc ? 3 : 0);
            }
            int st;
            waitpid(p, &st, 0);
            printf("fork variant %d (%s): %s %d\n", variant,
                   variant == 0 ? "child exits" : variant == 1 ? "child queries parent's db" : "child opens a new db",
                   WIFSIGNALED(st) ? "killed by signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        }
        duckdb_disconnect(&con);
        duckdb_close(&db);
        return 0;
    }
    return 0;
}
