/*
 * sql_query.c - query_sql: SQL over tables, with search table functions.
 *
 * Each query gets a private in-memory SQLite connection. Every table of
 * the catalog appears as a virtual table of the same name whose rows are
 * the table's live rows (a scan of one pinned snapshot, decoding only the
 * columns the query uses). Search calls in FROM - bm25_search('docs',
 * 'body', 'query', 10), bm25_search_prefix('docs', 'body', 'pre', 10) and
 * friends - are found in the query's text by a
 * lexer, renamed to a per-(function, table) virtual table whose hidden
 * columns take the arguments, and answered by the query layer. Results
 * come back as one Arrow batch: columns taken straight from a table keep
 * that column's Arrow type; computed columns get the narrowest of int64,
 * float64, utf8, binary that holds every value.
 *
 * Every table a query touches is pinned to one snapshot for the whole
 * query, so a self-join sees one version of the table.
 */
#include "sql.h"

#include "sql_lex.h"
#include "sql_value.h"

#include "query/query.h"
#include "table/catalog.h"
#include "util/alloc.h"
#include "util/cancel.h"
#include "util/err.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TVF_PREFIX "__infino_tvf_"
#define N_ARGS 6

enum tvf_kind { TVF_BM25, TVF_VECTOR, TVF_HYBRID, TVF_TOKEN, TVF_EXACT,
                TVF_BM25_PREFIX, TVF_COUNT };
static const char *const tvf_names[] = {"bm25_search", "vector_search",
                                        "hybrid_search", "token_match",
                                        "exact_match", "bm25_search_prefix"};
/* Arguments each function needs (the table name included) and accepts. */
static const int tvf_min_args[] = {4, 4, 6, 3, 3, 4};
static const int tvf_max_args[] = {5, 4, 6, 4, 3, 4};

/* ---- per-query state --------------------------------------------------- */

struct qtable {
    struct tbl *t;
    struct tbl_view *v;      /* pinned for the query */
    struct ar_schema visible; /* SQL-visible columns (no lists) */
    /* the columns search functions return besides their score: visible
     * ones but a user column named "score", which the score shadows */
    struct ar_schema found;
};

struct qctx {
    const struct sql_tables *tables;
    struct qtable *open; /* one per catalog table, filled on demand */
    sqlite3 *db;
    /* the first engine error a virtual table hit, so that the query
     * fails with its status (a missing file is not bad SQL) */
    infino_status engine_st;
};

static void qctx_free(struct qctx *c)
{
    for (size_t i = 0; c->open && i < c->tables->n; i++) {
        tbl_view_release(c->open[i].v);
        ar_schema_free(&c->open[i].visible);
        ar_schema_free(&c->open[i].found);
    }
    mem_free(c->open);
}

static infino_status qtable_get(struct qtable **out, struct qctx *c, size_t i)
{
    struct qtable *q = &c->open[i];
    const struct ar_schema *vis;
    infino_status st;

    *out = q;
    if (q->v != NULL)
        return INFINO_OK;
    CHECK(c->tables->open(&q->t, c->tables->payload, i));
    /* The view first: the handle then knows the schema it carries.
     * Hidden columns (table.h) are not part of what SQL reads. */
    CHECK(tbl_view_acquire_read(&q->v, q->t));
    vis = tbl_visible_schema(q->t);
    q->visible.fields = mem_calloc(vis->n_fields, sizeof *q->visible.fields);
    q->found.fields = mem_calloc(vis->n_fields, sizeof *q->found.fields);
    if (q->visible.fields == NULL || q->found.fields == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (size_t f = 0; f < vis->n_fields; f++) {
        if (!sql_type_visible(&vis->fields[f]))
            continue;
        CHECK(ar_field_copy(&q->visible.fields[q->visible.n_fields],
                            &vis->fields[f]));
        q->visible.n_fields++;
        if (strcasecmp(vis->fields[f].name, "score") == 0)
            continue;
        CHECK(ar_field_copy(&q->found.fields[q->found.n_fields],
                            &vis->fields[f]));
        q->found.n_fields++;
    }
    return INFINO_OK;
fail:
    tbl_view_release(q->v);
    q->v = NULL;
    ar_schema_free(&q->visible);
    ar_schema_free(&q->found);
    return st;
}

/* Declares `cols` (plus extra DDL text) as the virtual table's schema. */
static int declare(sqlite3 *db, const struct ar_schema *cols,
                   const char *extra)
{
    struct buf ddl = {0};
    int rc = SQLITE_NOMEM;

    if (buf_append_str(&ddl, "CREATE TABLE x(") != INFINO_OK)
        goto done;
    for (size_t i = 0; i < cols->n_fields; i++) {
        char *q = sqlite3_mprintf("%s\"%w\" %s", i ? ", " : "",
                                  cols->fields[i].name,
                                  sql_decl_type(&cols->fields[i]));
        if (q == NULL || buf_append_str(&ddl, q) != INFINO_OK) {
            sqlite3_free(q);
            goto done;
        }
        sqlite3_free(q);
    }
    if (buf_append_str(&ddl, extra) != INFINO_OK ||
        buf_append(&ddl, ")", 2) != INFINO_OK)
        goto done;
    rc = sqlite3_declare_vtab(db, (const char *)ddl.data);
done:
    buf_free(&ddl);
    return rc;
}

static int vtab_error(sqlite3_vtab *vt, struct qctx *c, infino_status st)
{
    if (c->engine_st == INFINO_OK)
        c->engine_st = st;
    sqlite3_free(vt->zErrMsg);
    vt->zErrMsg = sqlite3_mprintf("%s", err_last());
    return SQLITE_ERROR;
}

/* ---- table scans ---------------------------------------------------------- */

struct tvt {
    sqlite3_vtab base;
    struct qctx *c;
    struct qtable *q;
};

struct tcur {
    sqlite3_vtab_cursor base;
    struct tvt *vt;
    struct tbl_scan *scan;
    struct ArrowArray batch;
    int64_t row;
    sqlite3_int64 rowid;
    int *pos; /* per declared column: index in the scanned batch, or -1 */
};

static int tab_connect(sqlite3 *db, void *aux, int argc,
                       const char *const *argv, sqlite3_vtab **out, char **err)
{
    struct qctx *c = aux;
    struct qtable *q;
    struct tvt *vt;
    size_t i;
    int rc;

    if (argc < 4) {
        *err = sqlite3_mprintf("infino_table needs a table index");
        return SQLITE_ERROR;
    }
    i = (size_t)strtoul(argv[3], NULL, 10);
    if (i >= c->tables->n || qtable_get(&q, c, i) != INFINO_OK) {
        *err = sqlite3_mprintf("%s", err_last());
        return SQLITE_ERROR;
    }
    rc = declare(db, &q->visible, "");
    if (rc != SQLITE_OK)
        return rc;
    vt = sqlite3_malloc(sizeof *vt);
    if (vt == NULL)
        return SQLITE_NOMEM;
    memset(vt, 0, sizeof *vt);
    vt->c = c;
    vt->q = q;
    *out = &vt->base;
    return SQLITE_OK;
}

static int vt_disconnect(sqlite3_vtab *vt)
{
    sqlite3_free(vt);
    return SQLITE_OK;
}

static int tab_best_index(sqlite3_vtab *base, sqlite3_index_info *info)
{
    struct tvt *vt = (struct tvt *)base;
    size_t n = vt->q->visible.n_fields;
    struct buf used = {0};
    double rows = (double)snapshot_live_rows(tbl_view_snapshot(vt->q->v));

    /* Pass the columns the statement reads to xFilter, so the scan only
     * decodes those. colUsed bit 63 stands for every column from 63 on. */
    for (size_t i = 0; i < n; i++) {
        bool u = i < 63 ? (info->colUsed >> i) & 1 : (info->colUsed >> 63) & 1;
        if (u && buf_printf(&used, "%zu,", i) != INFINO_OK) {
            buf_free(&used);
            return SQLITE_NOMEM;
        }
    }
    if (buf_put_u8(&used, 0) != INFINO_OK) {
        buf_free(&used);
        return SQLITE_NOMEM;
    }
    info->idxStr = sqlite3_mprintf("%s", (char *)used.data);
    info->needToFreeIdxStr = 1;
    buf_free(&used);
    info->estimatedRows = (sqlite3_int64)rows;
    info->estimatedCost = rows + 1;
    return info->idxStr ? SQLITE_OK : SQLITE_NOMEM;
}

static int tab_open(sqlite3_vtab *base, sqlite3_vtab_cursor **out)
{
    struct tvt *vt = (struct tvt *)base;
    struct tcur *c = sqlite3_malloc(sizeof *c);

    if (c == NULL)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    c->vt = vt;
    c->pos = mem_calloc(vt->q->visible.n_fields + 1, sizeof *c->pos);
    if (c->pos == NULL) {
        sqlite3_free(c);
        return SQLITE_NOMEM;
    }
    *out = &c->base;
    return SQLITE_OK;
}

static void tab_reset(struct tcur *c)
{
    ar_array_release(&c->batch);
    tbl_scan_free(c->scan);
    c->scan = NULL;
}

static int tab_close(sqlite3_vtab_cursor *base)
{
    struct tcur *c = (struct tcur *)base;

    tab_reset(c);
    mem_free(c->pos);
    sqlite3_free(c);
    return SQLITE_OK;
}

/* Moves to the next batch with rows; leaves batch.release NULL at end. */
static int tab_fetch(struct tcur *c)
{
    ar_array_release(&c->batch);
    c->row = 0;
    while (c->scan) {
        infino_status st = tbl_scan_next(c->scan, &c->batch, NULL, NULL);
        if (st != INFINO_OK)
            return vtab_error(&c->vt->base, c->vt->c, st);
        if (c->batch.release == NULL || c->batch.length > 0)
            break;
        ar_array_release(&c->batch);
    }
    return SQLITE_OK;
}

static int tab_filter(sqlite3_vtab_cursor *base, int idx, const char *used,
                      int argc, sqlite3_value **argv)
{
    struct tcur *c = (struct tcur *)base;
    const struct ar_schema *vis = &c->vt->q->visible;
    const char **names = mem_calloc(vis->n_fields + 1, sizeof *names);
    size_t n = 0;

    (void)idx;
    (void)argc;
    (void)argv;
    tab_reset(c);
    if (names == NULL)
        return SQLITE_NOMEM;
    for (size_t i = 0; i < vis->n_fields; i++)
        c->pos[i] = -1;
    for (const char *p = used; p && *p;) {
        char *end;
        size_t i = (size_t)strtoul(p, &end, 10);
        if (end == p || i >= vis->n_fields)
            break;
        c->pos[i] = (int)n;
        names[n++] = vis->fields[i].name;
        p = *end == ',' ? end + 1 : end;
    }
    if (n == 0) /* count(*) and the like still need the rows */
        names[n++] = vis->fields[0].name;
    {
        infino_status st = tbl_scan_open(&c->scan, c->vt->q->v, names, n);
        if (st != INFINO_OK) {
            mem_free(names);
            return vtab_error(&c->vt->base, c->vt->c, st);
        }
    }
    mem_free(names);
    c->rowid = 0;
    return tab_fetch(c);
}

static int tab_next(sqlite3_vtab_cursor *base)
{
    struct tcur *c = (struct tcur *)base;

    c->rowid++;
    if (++c->row < c->batch.length)
        return SQLITE_OK;
    return tab_fetch(c);
}

static int tab_eof(sqlite3_vtab_cursor *base)
{
    return ((struct tcur *)base)->batch.release == NULL;
}

static int tab_column(sqlite3_vtab_cursor *base, sqlite3_context *ctx, int i)
{
    struct tcur *c = (struct tcur *)base;
    int p = c->pos[i];

    if (p < 0) {
        sqlite3_result_null(ctx);
        return SQLITE_OK;
    }
    sql_result_cell(ctx, &c->vt->q->visible.fields[i], c->batch.children[p],
                    c->row);
    return SQLITE_OK;
}

static int tab_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *out)
{
    *out = ((struct tcur *)base)->rowid;
    return SQLITE_OK;
}

static const sqlite3_module table_module = {
    .iVersion = 0,
    .xCreate = tab_connect,
    .xConnect = tab_connect,
    .xBestIndex = tab_best_index,
    .xDisconnect = vt_disconnect,
    .xDestroy = vt_disconnect,
    .xOpen = tab_open,
    .xClose = tab_close,
    .xFilter = tab_filter,
    .xNext = tab_next,
    .xEof = tab_eof,
    .xColumn = tab_column,
    .xRowid = tab_rowid,
};

/* ---- search table functions ------------------------------------------------ */

struct fvt {
    sqlite3_vtab base;
    struct qctx *c;
    struct qtable *q;
    enum tvf_kind kind;
};

struct fcur {
    sqlite3_vtab_cursor base;
    struct fvt *vt;
    struct ArrowArray batch; /* visible columns + score */
    int64_t row;
    sqlite3_value *args[N_ARGS];
};

static int tvf_connect(sqlite3 *db, void *aux, int argc,
                       const char *const *argv, sqlite3_vtab **out, char **err)
{
    struct qctx *c = aux;
    struct qtable *q;
    struct fvt *vt;
    size_t i;
    int kind, rc;

    if (argc < 5) {
        *err = sqlite3_mprintf("infino_tvf needs a kind and a table");
        return SQLITE_ERROR;
    }
    kind = atoi(argv[3]);
    i = (size_t)strtoul(argv[4], NULL, 10);
    if (kind < 0 || kind >= TVF_COUNT || i >= c->tables->n ||
        qtable_get(&q, c, i) != INFINO_OK) {
        *err = sqlite3_mprintf("%s", err_last());
        return SQLITE_ERROR;
    }
    rc = declare(db, &q->found,
                 ", score REAL, __infino_arg0 HIDDEN, __infino_arg1 HIDDEN, "
                 "__infino_arg2 HIDDEN, __infino_arg3 HIDDEN, "
                 "__infino_arg4 HIDDEN, __infino_arg5 HIDDEN");
    if (rc != SQLITE_OK)
        return rc;
    vt = sqlite3_malloc(sizeof *vt);
    if (vt == NULL)
        return SQLITE_NOMEM;
    memset(vt, 0, sizeof *vt);
    vt->c = c;
    vt->q = q;
    vt->kind = (enum tvf_kind)kind;
    *out = &vt->base;
    return SQLITE_OK;
}

static int tvf_best_index(sqlite3_vtab *base, sqlite3_index_info *info)
{
    struct fvt *vt = (struct fvt *)base;
    int first = (int)vt->q->found.n_fields + 1; /* arg0's column */
    int at[N_ARGS], mask = 0, next = 1;

    for (int a = 0; a < N_ARGS; a++)
        at[a] = -1;
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *k = &info->aConstraint[i];
        int a = k->iColumn - first;
        if (a < 0 || a >= N_ARGS)
            continue;
        if (!k->usable || k->op != SQLITE_INDEX_CONSTRAINT_EQ)
            return SQLITE_CONSTRAINT;
        at[a] = i;
    }
    for (int a = 0; a < N_ARGS; a++) {
        if (at[a] < 0)
            continue;
        info->aConstraintUsage[at[a]].argvIndex = next++;
        info->aConstraintUsage[at[a]].omit = 1;
        mask |= 1 << a;
    }
    info->idxNum = mask;
    info->estimatedCost = 10;
    info->estimatedRows = 10;
    return SQLITE_OK;
}

static int tvf_open(sqlite3_vtab *base, sqlite3_vtab_cursor **out)
{
    struct fcur *c = sqlite3_malloc(sizeof *c);

    if (c == NULL)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    c->vt = (struct fvt *)base;
    *out = &c->base;
    return SQLITE_OK;
}

static void tvf_reset(struct fcur *c)
{
    ar_array_release(&c->batch);
    for (int a = 0; a < N_ARGS; a++) {
        sqlite3_value_free(c->args[a]);
        c->args[a] = NULL;
    }
}

static int tvf_close(sqlite3_vtab_cursor *base)
{
    tvf_reset((struct fcur *)base);
    sqlite3_free(base);
    return SQLITE_OK;
}

static const char *arg_text(struct fcur *c, int a)
{
    return c->args[a] ? (const char *)sqlite3_value_text(c->args[a]) : NULL;
}

/* The length in bytes of argument a as text (it may hold NULs). SQLite
 * documents text-then-bytes as the safe order, so convert first. */
static size_t arg_len(struct fcur *c, int a)
{
    if (c->args[a] == NULL || sqlite3_value_text(c->args[a]) == NULL)
        return 0;
    return (size_t)sqlite3_value_bytes(c->args[a]);
}

/* Parses a query vector given as text: numbers separated by commas or
 * spaces, optionally in brackets ("0.1,0.2", "[0.1, 0.2]"). */
static infino_status parse_vector(float **out, size_t *n_out, const char *s)
{
    size_t cap = 16, n = 0;
    float *v = mem_alloc(cap * sizeof *v);

    *out = NULL;
    *n_out = 0;
    if (v == NULL)
        return err_nomem();
    while (*s) {
        char *end;
        double x;
        while (*s == ' ' || *s == ',' || *s == '[' || *s == ']' ||
               *s == '\t' || *s == '\n')
            s++;
        if (*s == '\0')
            break;
        x = strtod(s, &end);
        if (end == s) {
            mem_free(v);
            return err_set(INFINO_ERR_INVALID,
                           "query vector: '%.20s' is not a number", s);
        }
        if (MEM_RESERVE(v, cap, n + 1)) {
            mem_free(v);
            return err_nomem();
        }
        v[n++] = (float)x;
        s = end;
    }
    *out = v;
    *n_out = n;
    return INFINO_OK;
}

static infino_status mode_of(enum fts_mode *out, const char *m)
{
    if (m == NULL || strcasecmp(m, "or") == 0)
        *out = FTS_MODE_OR;
    else if (strcasecmp(m, "and") == 0)
        *out = FTS_MODE_AND;
    else
        return err_set(INFINO_ERR_INVALID,
                       "mode must be 'or' or 'and', got '%s'", m);
    return INFINO_OK;
}

static infino_status column_of(size_t *out, struct tbl *t, const char *col,
                               bool vector)
{
    const struct sf_index_spec *s = tbl_spec(t);
    int i = col ? (vector ? sf_spec_vec_index(s, col)
                          : sf_spec_fts_index(s, col))
                : -1;

    if (i < 0)
        return err_set(INFINO_ERR_INVALID,
                       "column '%s' of table %s is missing from the %s index",
                       col ? col : "(null)", tbl_name(t),
                       vector ? "vector" : "full-text");
    *out = (size_t)i;
    return INFINO_OK;
}

static infino_status run_tvf(struct fcur *c, int mask)
{
    struct fvt *vt = c->vt;
    struct tbl *t = vt->q->t;
    struct qry_hits hits = {0};
    enum fts_mode mode;
    size_t col, vcol, dim = 0, k = 0;
    float *vec = NULL;
    const char **proj = NULL;
    struct ar_schema schema = {0};
    int n_args = 0;
    infino_status st;

    while (n_args < N_ARGS && (mask >> n_args) & 1)
        n_args++;
    if (mask != (1 << n_args) - 1 || n_args < tvf_min_args[vt->kind] ||
        n_args > tvf_max_args[vt->kind])
        return err_set(INFINO_ERR_INVALID,
                       "%s takes %d to %d arguments (the table first)",
                       tvf_names[vt->kind], tvf_min_args[vt->kind],
                       tvf_max_args[vt->kind]);
    if (vt->kind == TVF_BM25 || vt->kind == TVF_VECTOR ||
        vt->kind == TVF_HYBRID || vt->kind == TVF_BM25_PREFIX) {
        int ka = vt->kind == TVF_HYBRID ? 5 : 3;
        sqlite3_int64 kv = sqlite3_value_int64(c->args[ka]);
        if (sqlite3_value_type(c->args[ka]) != SQLITE_INTEGER || kv < 0)
            return err_set(INFINO_ERR_INVALID,
                           "%s: k must be a non-negative integer",
                           tvf_names[vt->kind]);
        k = (size_t)kv;
    }
    switch (vt->kind) {
    case TVF_BM25:
        CHECK(column_of(&col, t, arg_text(c, 1), false));
        CHECK(mode_of(&mode, n_args > 4 ? arg_text(c, 4) : NULL));
        CHECK(qry_bm25_len(&hits, vt->q->v, col, arg_text(c, 2),
                           arg_len(c, 2), k, mode));
        break;
    case TVF_COUNT:
        break;
    case TVF_BM25_PREFIX: {
        struct qry_bm25_opts bo = {NULL, true};
        CHECK(column_of(&col, t, arg_text(c, 1), false));
        CHECK(qry_bm25_ex(&hits, vt->q->v, col, arg_text(c, 2),
                          arg_len(c, 2), k, FTS_MODE_OR, &bo));
        break;
    }
    case TVF_TOKEN:
        CHECK(column_of(&col, t, arg_text(c, 1), false));
        CHECK(mode_of(&mode, n_args > 3 ? arg_text(c, 3) : NULL));
        CHECK(qry_token_match_len(&hits, vt->q->v, col, arg_text(c, 2),
                                  arg_len(c, 2), mode));
        break;
    case TVF_EXACT:
        CHECK(column_of(&col, t, arg_text(c, 1), false));
        CHECK(qry_exact_match(&hits, vt->q->v, col, arg_text(c, 2),
                              arg_len(c, 2)));
        break;
    case TVF_VECTOR:
        CHECK(column_of(&vcol, t, arg_text(c, 1), true));
        CHECK(parse_vector(&vec, &dim, arg_text(c, 2)));
        CHECK(qry_vector(&hits, vt->q->v, vcol, vec, dim, k, 0, NULL));
        break;
    case TVF_HYBRID:
        CHECK(column_of(&col, t, arg_text(c, 1), false));
        CHECK(column_of(&vcol, t, arg_text(c, 3), true));
        CHECK(parse_vector(&vec, &dim, arg_text(c, 4)));
        CHECK(qry_hybrid_len(&hits, vt->q->v, col, arg_text(c, 2),
                             arg_len(c, 2), FTS_MODE_OR, vcol, vec, dim, k,
                             0));
        break;
    }
    proj = mem_calloc(vt->q->found.n_fields + 1, sizeof *proj);
    if (proj == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (size_t i = 0; i < vt->q->found.n_fields; i++)
        proj[i] = vt->q->found.fields[i].name;
    proj[vt->q->found.n_fields] = "score";
    CHECK(qry_materialize(&c->batch, &schema, vt->q->v, &hits, proj,
                          vt->q->found.n_fields + 1, tvf_names[vt->kind]));
fail:
    ar_schema_free(&schema);
    mem_free(proj);
    mem_free(vec);
    qry_hits_free(&hits);
    return st;
}

static int tvf_filter(sqlite3_vtab_cursor *base, int mask, const char *s,
                      int argc, sqlite3_value **argv)
{
    struct fcur *c = (struct fcur *)base;
    int k = 0;

    (void)s;
    tvf_reset(c);
    for (int a = 0; a < N_ARGS && k < argc; a++) {
        if (!((mask >> a) & 1))
            continue;
        c->args[a] = sqlite3_value_dup(argv[k++]);
        if (c->args[a] == NULL)
            return SQLITE_NOMEM;
        if (sqlite3_value_type(c->args[a]) == SQLITE_NULL) {
            sqlite3_free(c->vt->base.zErrMsg);
            c->vt->base.zErrMsg = sqlite3_mprintf(
                "%s: argument %d is NULL", tvf_names[c->vt->kind], a + 1);
            return SQLITE_ERROR;
        }
    }
    c->row = 0;
    {
        infino_status st = run_tvf(c, mask);
        if (st != INFINO_OK)
            return vtab_error(&c->vt->base, c->vt->c, st);
    }
    return SQLITE_OK;
}

static int tvf_next(sqlite3_vtab_cursor *base)
{
    ((struct fcur *)base)->row++;
    return SQLITE_OK;
}

static int tvf_eof(sqlite3_vtab_cursor *base)
{
    struct fcur *c = (struct fcur *)base;
    return c->batch.release == NULL || c->row >= c->batch.length;
}

static int tvf_column(sqlite3_vtab_cursor *base, sqlite3_context *ctx, int i)
{
    struct fcur *c = (struct fcur *)base;
    int n_vis = (int)c->vt->q->found.n_fields;

    if (i < n_vis) {
        sql_result_cell(ctx, &c->vt->q->found.fields[i],
                        c->batch.children[i], c->row);
    } else if (i == n_vis) {
        const float *s = c->batch.children[n_vis]->buffers[1];
        sqlite3_result_double(ctx, s[c->row + c->batch.children[n_vis]->offset]);
    } else if (i - n_vis - 1 < N_ARGS && c->args[i - n_vis - 1]) {
        sqlite3_result_value(ctx, c->args[i - n_vis - 1]);
    } else {
        sqlite3_result_null(ctx);
    }
    return SQLITE_OK;
}

static int tvf_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *out)
{
    *out = ((struct fcur *)base)->row;
    return SQLITE_OK;
}

static const sqlite3_module tvf_module = {
    .iVersion = 0,
    .xCreate = tvf_connect,
    .xConnect = tvf_connect,
    .xBestIndex = tvf_best_index,
    .xDisconnect = vt_disconnect,
    .xDestroy = vt_disconnect,
    .xOpen = tvf_open,
    .xClose = tvf_close,
    .xFilter = tvf_filter,
    .xNext = tvf_next,
    .xEof = tvf_eof,
    .xColumn = tvf_column,
    .xRowid = tvf_rowid,
};

/* ---- setup: tables and rewritten search calls ------------------------------ */

static long table_index(const struct sql_tables *tables, const char *name)
{
    for (size_t i = 0; i < tables->n; i++)
        if (strcmp(tables->name(tables->payload, i), name) == 0)
            return (long)i;
    return -1;
}

static infino_status exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return INFINO_OK;
    err_set(INFINO_ERR_INVALID, "%s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return INFINO_ERR_INVALID;
}

/* Creates the virtual table of catalog table `ti` under its own name,
 * once per query. SQLite resolves names case-insensitively, so of two
 * catalog names equal but for case only the first one named is made. */
static infino_status register_table(struct qctx *c, bool *made, size_t ti)
{
    const char *name = c->tables->name(c->tables->payload, ti);
    char *ddl;
    infino_status st;

    if (made[ti])
        return INFINO_OK;
    for (size_t j = 0; j < c->tables->n; j++)
        if (made[j] &&
            strcasecmp(c->tables->name(c->tables->payload, j), name) == 0)
            return INFINO_OK;
    ddl = sqlite3_mprintf("CREATE VIRTUAL TABLE temp.\"%w\" USING "
                          "infino_table(%lld)",
                          name, (long long)ti);
    if (ddl == NULL)
        return err_nomem();
    st = exec(c->db, ddl);
    sqlite3_free(ddl);
    if (st == INFINO_OK)
        made[ti] = true;
    return st;
}

/* The catalog table an identifier token names: the exact name first,
 * else one equal but for case; -1 if none. */
static long table_named(const struct sql_tables *tables,
                        const struct sql_token *t)
{
    char name[TABLE_NAME_MAX + 1];
    long ci = -1;

    if (!sql_unquote(name, sizeof name, t))
        return -1;
    for (size_t i = 0; i < tables->n; i++) {
        const char *n = tables->name(tables->payload, i);
        if (strcmp(n, name) == 0)
            return (long)i;
        if (ci < 0 && strcasecmp(n, name) == 0)
            ci = (long)i;
    }
    return ci;
}

/* Whether the inside of a bracket token ("[...]" without the brackets) is
 * a non-empty list of numbers: what upstream's SQL writes as an array
 * literal, and what parse_vector() reads. Anything else stays a bracketed
 * identifier, as SQLite reads it. */
static bool numeric_list(const char *p, size_t n)
{
    bool any = false, want = true; /* want: a number may start here */

    for (size_t i = 0; i < n;) {
        char ch = p[i];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            i++;
        } else if (ch == ',') {
            if (want)
                return false; /* empty element */
            want = true;
            i++;
        } else {
            size_t j = i;
            if (!want)
                return false; /* two numbers without a comma */
            if (p[j] == '+' || p[j] == '-')
                j++;
            if (j >= n || !(isdigit((unsigned char)p[j]) || p[j] == '.'))
                return false;
            while (j < n && (isdigit((unsigned char)p[j]) || p[j] == '.' ||
                             p[j] == 'e' || p[j] == 'E' ||
                             ((p[j] == '+' || p[j] == '-') &&
                              (p[j - 1] == 'e' || p[j - 1] == 'E'))))
                j++;
            any = true;
            want = false;
            i = j;
        }
    }
    return any && !want;
}

/* Copies `sql` to `out`, turning an array literal given as the query
 * vector of vector_search (third argument) or hybrid_search (fifth),
 * `[0.1, -2, 3e-1]`, into the string literal '0.1, -2, 3e-1' that the
 * table function reads: upstream's SQL (DataFusion) writes the vector
 * either way, and SQLite would read the brackets as a quoted identifier.
 * Brackets elsewhere keep SQLite's meaning. */
static infino_status rewrite_vector_literals(struct buf *out, const char *sql)
{
    /* One frame per open parenthesis: the search call it opens, if any,
     * and which top-level argument of it the lexer is in. Deeper nesting
     * than the stack holds is only counted. */
    struct frame {
        int kind; /* enum tvf_kind, or -1 */
        int arg;
    } stack[64];
    size_t depth = 0;
    const char *p = sql, *copied = sql;
    struct sql_token prev = {SQL_TOK_END, sql, 0};
    infino_status st = INFINO_OK;

    for (;;) {
        struct sql_token t = sql_lex(&p);
        if (t.kind == SQL_TOK_END || t.kind == SQL_TOK_ERROR)
            break;
        if (t.kind == SQL_TOK_PUNCT && *t.p == '(') {
            int kind = -1;
            for (int k = 0; k < 5 && prev.kind == SQL_TOK_WORD; k++)
                if (prev.n == strlen(tvf_names[k]) &&
                    strncasecmp(prev.p, tvf_names[k], prev.n) == 0)
                    kind = k;
            if (depth < sizeof stack / sizeof *stack)
                stack[depth] = (struct frame){kind, 0};
            depth++;
        } else if (t.kind == SQL_TOK_PUNCT && *t.p == ')') {
            if (depth > 0)
                depth--;
        } else if (t.kind == SQL_TOK_PUNCT && *t.p == ',') {
            if (depth > 0 && depth <= sizeof stack / sizeof *stack)
                stack[depth - 1].arg++;
        } else if (t.kind == SQL_TOK_QIDENT && *t.p == '[' && depth > 0 &&
                   depth <= sizeof stack / sizeof *stack) {
            const struct frame *f = &stack[depth - 1];
            if (((f->kind == TVF_VECTOR && f->arg == 2) ||
                 (f->kind == TVF_HYBRID && f->arg == 4)) &&
                numeric_list(t.p + 1, t.n - 2)) {
                CHECK(buf_append(out, copied, (size_t)(t.p - copied)));
                CHECK(buf_put_u8(out, '\''));
                CHECK(buf_append(out, t.p + 1, t.n - 2));
                CHECK(buf_put_u8(out, '\''));
                copied = t.p + t.n;
            }
        }
        prev = t;
    }
    CHECK(buf_append_str(out, copied));
    CHECK(buf_put_u8(out, 0));
fail:
    return st;
}

/* Copies `sql` to `out`, renaming each search call on table T to its
 * per-(function, T) virtual table, which it creates, and creating the
 * virtual table of every catalog table the text names (only those: a
 * query pays for the tables it uses, and a table it does not use cannot
 * make it fail). */
static infino_status rewrite(struct buf *out, struct qctx *c, const char *sql)
{
    const char *p = sql, *copied = sql;
    bool made_tvf[TVF_COUNT][64] = {{false}};
    bool *made = mem_calloc(c->tables->n + 1, sizeof *made);
    infino_status st = INFINO_OK;

    if (made == NULL)
        return err_nomem();
    for (;;) {
        struct sql_token t = sql_lex(&p), open, name;
        const char *after;
        int kind = -1;
        char table[TABLE_NAME_MAX + 1];
        long ti;

        if (t.kind == SQL_TOK_END || t.kind == SQL_TOK_ERROR)
            break;
        if (t.kind != SQL_TOK_WORD && t.kind != SQL_TOK_QIDENT)
            continue;
        for (int k = 0; k < TVF_COUNT && t.kind == SQL_TOK_WORD; k++)
            if (t.n == strlen(tvf_names[k]) &&
                strncasecmp(t.p, tvf_names[k], t.n) == 0)
                kind = k;
        after = p;
        open = sql_lex(&after);
        if (kind < 0 || open.kind != SQL_TOK_PUNCT || *open.p != '(') {
            if ((ti = table_named(c->tables, &t)) >= 0)
                CHECK(register_table(c, made, (size_t)ti));
            continue;
        }
        name = sql_lex(&after);
        if (name.kind != SQL_TOK_STRING) {
            st = err_set(INFINO_ERR_INVALID,
                         "%s: the first argument must be a table name "
                         "string literal",
                         tvf_names[kind]);
            goto fail;
        }
        if (!sql_unquote(table, sizeof table, &name) ||
            (ti = table_index(c->tables, table)) < 0) {
            st = err_set(INFINO_ERR_INVALID,
                         "search over unknown table '%.*s'",
                         (int)(name.n > 200 ? 200 : name.n), name.p);
            goto fail;
        }
        CHECK(buf_append(out, copied, (size_t)(t.p - copied)));
        CHECK(buf_printf(out, "\"" TVF_PREFIX "%d_%ld\"", kind, ti));
        copied = t.p + t.n;
        if (ti >= 64 || !made_tvf[kind][ti]) {
            char ddl[160];
            snprintf(ddl, sizeof ddl,
                     "CREATE VIRTUAL TABLE IF NOT EXISTS temp.\"" TVF_PREFIX
                     "%d_%ld\" USING infino_tvf(%d, %ld)",
                     kind, ti, kind, ti);
            CHECK(exec(c->db, ddl));
            if (ti < 64)
                made_tvf[kind][ti] = true;
        }
    }
    CHECK(buf_append_str(out, copied));
    CHECK(buf_put_u8(out, 0));
fail:
    mem_free(made);
    return st;
}

/* ---- results ------------------------------------------------------------- */

/* One collected cell. */
struct cell {
    int type; /* SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB, NULL */
    sqlite3_int64 i;
    double d;
    char *bytes; /* owned: text or blob */
    size_t n;
};

struct column {
    struct cell *cells;
    size_t n, cap;
    const struct ar_field *origin; /* the table column it comes from */
};

/* The Arrow field of a table column the result column reads directly. */
static const struct ar_field *origin_field(struct qctx *c, sqlite3_stmt *stmt,
                                           int i)
{
    const char *tab = sqlite3_column_table_name(stmt, i);
    const char *col = sqlite3_column_origin_name(stmt, i);
    long ti = -1;

    if (tab == NULL || col == NULL)
        return NULL;
    if (strncmp(tab, TVF_PREFIX, strlen(TVF_PREFIX)) == 0) {
        const char *u = strchr(tab + strlen(TVF_PREFIX), '_');
        ti = u ? strtol(u + 1, NULL, 10) : -1;
        if (strcmp(col, "score") == 0)
            return NULL; /* float32 below */
    } else {
        ti = table_index(c->tables, tab);
    }
    if (ti < 0 || (size_t)ti >= c->tables->n || c->open[ti].v == NULL)
        return NULL;
    int f = ar_schema_find(&c->open[ti].visible, col);
    return f >= 0 ? &c->open[ti].visible.fields[f] : NULL;
}

static bool is_score(sqlite3_stmt *stmt, int i)
{
    const char *tab = sqlite3_column_table_name(stmt, i);
    const char *col = sqlite3_column_origin_name(stmt, i);
    return tab && col && strncmp(tab, TVF_PREFIX, strlen(TVF_PREFIX)) == 0 &&
           strcmp(col, "score") == 0;
}

static infino_status collect(struct column *cols, sqlite3_stmt *stmt, int n)
{
    for (int i = 0; i < n; i++) {
        struct column *col = &cols[i];
        struct cell *x;
        int type = sqlite3_column_type(stmt, i);

        if (MEM_RESERVE(col->cells, col->cap, col->n + 1))
            return err_nomem();
        x = &col->cells[col->n++];
        memset(x, 0, sizeof *x);
        x->type = type;
        if (type == SQLITE_INTEGER) {
            x->i = sqlite3_column_int64(stmt, i);
        } else if (type == SQLITE_FLOAT) {
            x->d = sqlite3_column_double(stmt, i);
        } else if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
            const void *p = type == SQLITE_TEXT
                                ? (const void *)sqlite3_column_text(stmt, i)
                                : sqlite3_column_blob(stmt, i);
            x->n = (size_t)sqlite3_column_bytes(stmt, i);
            x->bytes = mem_alloc(x->n + 1);
            if (x->bytes == NULL)
                return err_nomem();
            if (x->n)
                memcpy(x->bytes, p, x->n);
            x->bytes[x->n] = '\0';
        }
    }
    return INFINO_OK;
}

/* The type a computed column gets: the narrowest that holds every value. */
static enum ar_type infer(const struct column *col)
{
    bool ints = false, reals = false, text = false, blobs = false;

    for (size_t r = 0; r < col->n; r++) {
        switch (col->cells[r].type) {
        case SQLITE_INTEGER:
            ints = true;
            break;
        case SQLITE_FLOAT:
            reals = true;
            break;
        case SQLITE_TEXT:
            text = true;
            break;
        case SQLITE_BLOB:
            blobs = true;
            break;
        }
    }
    if (blobs && !text)
        return AR_BINARY;
    if (text || blobs)
        return AR_UTF8;
    if (reals)
        return AR_FLOAT64;
    (void)ints;
    return AR_INT64;
}

/* Appends one cell to a builder of field `f`, converting back from the
 * SQLite representation sql_value.h documents. */
static infino_status put_cell(struct ar_builder *b, const struct ar_field *f,
                              const struct cell *x)
{
    char tmp[64];

    if (x->type == SQLITE_NULL)
        return ar_builder_append_null(b);
    switch (f->type) {
    case AR_UTF8:
    case AR_LARGE_UTF8:
    case AR_BINARY:
    case AR_LARGE_BINARY:
        if (x->type == SQLITE_INTEGER) {
            int n = snprintf(tmp, sizeof tmp, "%lld", (long long)x->i);
            return ar_builder_append_bytes(b, tmp, (size_t)n);
        }
        if (x->type == SQLITE_FLOAT) {
            int n = snprintf(tmp, sizeof tmp, "%.17g", x->d);
            return ar_builder_append_bytes(b, tmp, (size_t)n);
        }
        return ar_builder_append_bytes(b, x->bytes, x->n);
    case AR_FLOAT32:
    case AR_FLOAT64:
        if (x->type == SQLITE_TEXT && strcmp(x->bytes, SQL_NAN) == 0)
            return ar_builder_append_double(b, NAN);
        if (x->type == SQLITE_TEXT || x->type == SQLITE_BLOB)
            break;
        return ar_builder_append_double(
            b, x->type == SQLITE_INTEGER ? (double)x->i : x->d);
    case AR_BOOL:
        return ar_builder_append_bool(b, x->type == SQLITE_INTEGER
                                             ? x->i != 0
                                             : x->d != 0);
    case AR_DATE32:
    case AR_TIMESTAMP:
    case AR_DECIMAL128: {
        infino_status st;
        if (x->type != SQLITE_TEXT)
            break;
        if (f->type == AR_DECIMAL128) {
            uint8_t v[16];
            st = sql_parse_decimal(v, x->bytes, f->scale);
            return st != INFINO_OK ? st : ar_builder_append_decimal(b, v);
        }
        int64_t v;
        st = f->type == AR_DATE32 ? sql_parse_date(&v, x->bytes)
                                  : sql_parse_timestamp(&v, x->bytes, f->unit);
        return st != INFINO_OK ? st : ar_builder_append_int(b, v);
    }
    case AR_UINT64: {
        uint64_t u;
        infino_status st;
        if (x->type == SQLITE_INTEGER && x->i >= 0)
            return ar_builder_append_uint(b, (uint64_t)x->i);
        if (x->type != SQLITE_TEXT)
            break;
        st = sql_parse_uint64(&u, x->bytes);
        return st != INFINO_OK ? st : ar_builder_append_uint(b, u);
    }
    default:
        if (x->type == SQLITE_INTEGER)
            return ar_builder_append_int(b, x->i);
        break;
    }
    return err_set(INFINO_ERR_INVALID,
                   "column '%s': a computed value does not fit its type",
                   f->name);
}

static infino_status build_results(struct ArrowArrayStream *out,
                                   struct qctx *c, sqlite3_stmt *stmt,
                                   struct column *cols, int n)
{
    struct ar_schema schema = {0};
    struct ArrowArray *kids = NULL, batch;
    struct ar_builder *b = NULL;
    int built = 0;
    infino_status st = INFINO_OK;

    schema.fields = mem_calloc((size_t)n + 1, sizeof *schema.fields);
    kids = mem_calloc((size_t)n + 1, sizeof *kids);
    if (schema.fields == NULL || kids == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        struct ar_field *f = &schema.fields[i];
        const struct ar_field *origin = origin_field(c, stmt, i);
        const char *name = sqlite3_column_name(stmt, i);

        if (origin) {
            CHECK(ar_field_copy(f, origin));
            mem_free(f->name);
            f->name = NULL;
        } else {
            f->type = is_score(stmt, i) ? AR_FLOAT32 : infer(&cols[i]);
        }
        f->name = mem_strdup(name ? name : "");
        if (f->name == NULL) {
            st = err_nomem();
            goto fail;
        }
        f->nullable = true;
        schema.n_fields++;
        CHECK(ar_builder_new(&b, f));
        for (size_t r = 0; r < cols[i].n; r++)
            CHECK(put_cell(b, f, &cols[i].cells[r]));
        CHECK(ar_builder_finish(b, &kids[i]));
        built++;
        ar_builder_free(b);
        b = NULL;
    }
    {
        void *bufs[1] = {NULL};
        int64_t rows = n > 0 ? (int64_t)cols[0].n : 0;
        st = ar_array_make(&batch, rows, 0, 1, bufs, n, kids);
        built = 0;
        if (st != INFINO_OK)
            goto fail;
    }
    st = ar_stream_from_batches(out, &schema, &batch, 1);
fail:
    for (int i = 0; i < built; i++)
        ar_array_release(&kids[i]);
    ar_builder_free(b);
    mem_free(kids);
    ar_schema_free(&schema);
    return st;
}

static int deny_writes(void *payload, int action, const char *a,
                       const char *b, const char *db, const char *trigger)
{
    (void)payload;
    (void)a;
    (void)b;
    (void)db;
    (void)trigger;
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
        return SQLITE_OK;
    default:
        return SQLITE_DENY;
    }
}

/* sql_explain_hidden over the tables the statement opened. */
static bool explain_hidden(struct qctx *c, const char *msg)
{
    for (size_t i = 0; i < c->tables->n; i++)
        if (c->open[i].v != NULL && sql_explain_hidden(c->open[i].t, msg))
            return true;
    return false;
}

infino_status sql_query(struct ArrowArrayStream *out,
                        const struct sql_tables *tables, const char *sql)
{
    struct qctx c = {0};
    struct buf quoted = {0}, arrays = {0}, text = {0};
    struct column *cols = NULL;
    sqlite3_stmt *stmt = NULL;
    const char *tail = NULL;
    int n = 0, rc;
    infino_status st;

    memset(out, 0, sizeof *out);
    c.tables = tables;
    c.open = mem_calloc(tables->n + 1, sizeof *c.open);
    if (c.open == NULL)
        return err_nomem();
    CHECK(sql_open(&c.db, "query_sql"));
    if (sqlite3_create_module(c.db, "infino_table", &table_module, &c) !=
            SQLITE_OK ||
        sqlite3_create_module(c.db, "infino_tvf", &tvf_module, &c) !=
            SQLITE_OK) {
        st = err_set(INFINO_ERR_NOMEM, "cannot register SQL modules");
        goto fail;
    }
    CHECK(sql_quote_wide_numbers(&quoted, sql));
    CHECK(rewrite_vector_literals(&arrays, (const char *)quoted.data));
    CHECK(rewrite(&text, &c, (const char *)arrays.data));
    sqlite3_set_authorizer(c.db, deny_writes, NULL);
    rc = sqlite3_prepare_v2(c.db, (const char *)text.data, -1, &stmt, &tail);
    if (rc == SQLITE_INTERRUPT && cancel_requested()) {
        st = cancel_check("preparing the SQL query");
        goto fail;
    }
    if (rc != SQLITE_OK) {
        st = INFINO_ERR_INVALID;
        if (!explain_hidden(&c, sqlite3_errmsg(c.db)))
            err_set(st, "%s", sqlite3_errmsg(c.db));
        goto fail;
    }
    if (stmt == NULL) {
        st = err_set(INFINO_ERR_INVALID, "empty SQL statement");
        goto fail;
    }
    if (sqlite3_bind_parameter_count(stmt) > 0) {
        const char *pn = sqlite3_bind_parameter_name(stmt, 1);
        st = err_set(INFINO_ERR_INVALID,
                     "query_sql: parameters such as '%s' are not supported; "
                     "write the values into the query",
                     pn ? pn : "?");
        goto fail;
    }
    while (tail && (*tail == ' ' || *tail == '\n' || *tail == '\t' ||
                    *tail == '\r' || *tail == ';'))
        tail++;
    if (tail && *tail) {
        st = err_set(INFINO_ERR_INVALID,
                     "query_sql runs exactly one statement");
        goto fail;
    }
    n = sqlite3_column_count(stmt);
    cols = mem_calloc((size_t)n + 1, sizeof *cols);
    if (cols == NULL) {
        st = err_nomem();
        goto fail;
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        CHECK(collect(cols, stmt, n));
    if (rc != SQLITE_DONE && cancel_requested()) {
        /* SQLITE_INTERRUPT from the progress handler, or a table scan
         * that stopped (its message is in the virtual table's error) */
        st = cancel_check("running the SQL query");
        goto fail;
    }
    if (rc != SQLITE_DONE) {
        /* a table or search function that failed keeps its status */
        st = err_set(c.engine_st != INFINO_OK ? c.engine_st
                                              : INFINO_ERR_INVALID,
                     "%s", sqlite3_errmsg(c.db));
        goto fail;
    }
    CHECK(build_results(out, &c, stmt, cols, n));
fail:
    for (int i = 0; cols && i < n; i++) {
        for (size_t r = 0; r < cols[i].n; r++)
            mem_free(cols[i].cells[r].bytes);
        mem_free(cols[i].cells);
    }
    mem_free(cols);
    sqlite3_finalize(stmt);
    sqlite3_close(c.db);
    qctx_free(&c);
    buf_free(&quoted);
    buf_free(&arrays);
    buf_free(&text);
    return st;
}
