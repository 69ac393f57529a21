/*
 * sql_pred.c - predicates for delete/update, evaluated by SQLite.
 *
 * The predicate runs as "SELECT __infino_row FROM t WHERE (<predicate>)"
 * against a virtual table whose rows are the current batch of a table
 * scan; __infino_row is a hidden column holding the row's position in the
 * batch (not SQLite's rowid, which a user column named "rowid" would
 * shadow; the table layer reserves the __infino prefix). We prepare once,
 * learn from the authorizer which columns it reads (so the scan decodes
 * only those), then for every batch reset the statement and collect the
 * positions it returns.
 *
 * "One expression" is enforced before SQLite sees the text: outside
 * quotes and comments the text may not contain ';' and its parentheses
 * must balance without ever closing more than they opened. Wrapped in our
 * own parentheses it can then only ever be a single expression.
 */
#include "sql.h"

#include "sql_lex.h"
#include "sql_value.h"

#include "util/alloc.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/err.h"

#include <string.h>

#define VT_NAME "t"
#define ROW_COLUMN "__infino_row"

/* The predicate as error messages echo it: at most ECHO_MAX bytes, cut at
 * a UTF-8 character boundary and marked, so the reason after it always
 * fits in the error buffer. */
#define ECHO_MAX 200

struct echo {
    char s[ECHO_MAX + 8];
};

static struct echo echo_of(const char *pred)
{
    struct echo e;
    size_t n = strlen(pred);

    if (n <= ECHO_MAX) {
        memcpy(e.s, pred, n + 1);
        return e;
    }
    n = ECHO_MAX;
    while (n > 0 && ((unsigned char)pred[n] & 0xC0) == 0x80)
        n--;
    memcpy(e.s, pred, n);
    memcpy(e.s + n, "...", 4);
    return e;
}

/* ---- the single-expression rule -------------------------------------- */

static infino_status check_shape(const char *pred)
{
    const char *p = pred;
    int depth = 0;
    bool any = false;

    for (;;) {
        struct sql_token t = sql_lex(&p);
        if (t.kind == SQL_TOK_END)
            break;
        if (t.kind == SQL_TOK_ERROR)
            return err_set(INFINO_ERR_INVALID,
                           "invalid predicate '%s': unterminated quote or "
                           "comment",
                           echo_of(pred).s);
        any = true;
        if (t.kind != SQL_TOK_PUNCT)
            continue;
        if (*t.p == ';')
            return err_set(INFINO_ERR_INVALID,
                           "invalid predicate '%s': must be one expression "
                           "(no ';')",
                           echo_of(pred).s);
        if (*t.p == '(')
            depth++;
        if (*t.p == ')' && --depth < 0)
            return err_set(INFINO_ERR_INVALID,
                           "invalid predicate '%s': unbalanced ')'",
                           echo_of(pred).s);
    }
    if (depth != 0)
        return err_set(INFINO_ERR_INVALID,
                       "invalid predicate '%s': unbalanced '('",
                       echo_of(pred).s);
    if (!any)
        return err_set(INFINO_ERR_INVALID, "empty predicate");
    return INFINO_OK;
}

/* ---- the batch virtual table ------------------------------------------ */

struct vt_state {
    const struct ar_schema *schema; /* visible columns, in declared order */
    const int *field_of;  /* declared column -> index in the batch */
    const struct ArrowArray *batch; /* current batch, NULL between batches */
};

struct vt {
    sqlite3_vtab base;
    struct vt_state *state;
};

struct vt_cursor {
    sqlite3_vtab_cursor base;
    struct vt_state *state;
    int64_t row;
};

static int vt_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                      sqlite3_vtab **out, char **err)
{
    struct vt_state *st = aux;
    struct buf ddl = {0};
    struct vt *v;
    int rc;

    (void)argc;
    (void)argv;
    (void)err;
    if (buf_append_str(&ddl, "CREATE TABLE x(") != INFINO_OK)
        return SQLITE_NOMEM;
    for (size_t i = 0; i < st->schema->n_fields; i++) {
        const struct ar_field *f = &st->schema->fields[i];
        char *q = sqlite3_mprintf("%s\"%w\" %s", i ? ", " : "", f->name,
                                  sql_decl_type(f));
        if (q == NULL || buf_append_str(&ddl, q) != INFINO_OK) {
            sqlite3_free(q);
            buf_free(&ddl);
            return SQLITE_NOMEM;
        }
        sqlite3_free(q);
    }
    if (buf_append_str(&ddl, ", " ROW_COLUMN " HIDDEN") != INFINO_OK ||
        buf_append(&ddl, ")", 2) != INFINO_OK) {
        buf_free(&ddl);
        return SQLITE_NOMEM;
    }
    rc = sqlite3_declare_vtab(db, (const char *)ddl.data);
    buf_free(&ddl);
    if (rc != SQLITE_OK)
        return rc;
    v = sqlite3_malloc(sizeof *v);
    if (v == NULL)
        return SQLITE_NOMEM;
    memset(v, 0, sizeof *v);
    v->state = st;
    *out = &v->base;
    return SQLITE_OK;
}

static int vt_disconnect(sqlite3_vtab *v)
{
    sqlite3_free(v);
    return SQLITE_OK;
}

static int vt_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
    (void)v;
    info->estimatedCost = 1e6;
    return SQLITE_OK;
}

static int vt_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
    struct vt_cursor *c = sqlite3_malloc(sizeof *c);

    if (c == NULL)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    c->state = ((struct vt *)v)->state;
    *out = &c->base;
    return SQLITE_OK;
}

static int vt_close(sqlite3_vtab_cursor *c)
{
    sqlite3_free(c);
    return SQLITE_OK;
}

static int vt_filter(sqlite3_vtab_cursor *c, int idx, const char *idx_str,
                     int argc, sqlite3_value **argv)
{
    (void)idx;
    (void)idx_str;
    (void)argc;
    (void)argv;
    ((struct vt_cursor *)c)->row = 0;
    return SQLITE_OK;
}

static int vt_next(sqlite3_vtab_cursor *c)
{
    ((struct vt_cursor *)c)->row++;
    return SQLITE_OK;
}

static int vt_eof(sqlite3_vtab_cursor *cur)
{
    struct vt_cursor *c = (struct vt_cursor *)cur;
    return c->state->batch == NULL || c->row >= c->state->batch->length;
}

static int vt_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i)
{
    struct vt_cursor *c = (struct vt_cursor *)cur;
    int fi;

    if ((size_t)i == c->state->schema->n_fields) { /* ROW_COLUMN */
        sqlite3_result_int64(ctx, c->row);
        return SQLITE_OK;
    }
    fi = c->state->field_of[i];
    if (fi < 0) { /* not decoded: the predicate does not read it */
        sqlite3_result_null(ctx);
        return SQLITE_OK;
    }
    sql_result_cell(ctx, &c->state->schema->fields[i],
                    c->state->batch->children[fi], c->row);
    return SQLITE_OK;
}

static int vt_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *out)
{
    *out = ((struct vt_cursor *)cur)->row;
    return SQLITE_OK;
}

static const sqlite3_module batch_module = {
    .iVersion = 0,
    .xCreate = vt_connect,
    .xConnect = vt_connect,
    .xBestIndex = vt_best_index,
    .xDisconnect = vt_disconnect,
    .xDestroy = vt_disconnect,
    .xOpen = vt_open,
    .xClose = vt_close,
    .xFilter = vt_filter,
    .xNext = vt_next,
    .xEof = vt_eof,
    .xColumn = vt_column,
    .xRowid = vt_rowid,
};

/* ---- compiling -------------------------------------------------------- */

struct compiled {
    sqlite3 *db;
    sqlite3_stmt *stmt;
    struct ar_schema visible; /* visible columns of the table */
    int *field_of;            /* per visible column: batch child or -1 */
    bool *used;               /* per visible column: read by the predicate */
    struct vt_state state;
    int n_selects;            /* SELECTs the authorizer saw */
};

static int authorize(void *payload, int action, const char *a, const char *b,
                     const char *db_name, const char *trigger)
{
    struct compiled *c = payload;

    (void)db_name;
    (void)trigger;
    switch (action) {
    case SQLITE_SELECT:
        /* Ours is the only SELECT allowed: the predicate is evaluated one
         * batch at a time, so a subquery would see a batch, not the
         * table, and e.g. "k = (SELECT max(k) FROM t)" would match the
         * largest key of every batch. */
        return ++c->n_selects > 1 ? SQLITE_DENY : SQLITE_OK;
    case SQLITE_FUNCTION:
        return SQLITE_OK;
    case SQLITE_READ:
        if (a == NULL || strcmp(a, VT_NAME) != 0)
            return SQLITE_DENY;
        if (b != NULL) {
            int i = ar_schema_find(&c->visible, b);
            if (i >= 0)
                c->used[i] = true;
        }
        return SQLITE_OK;
    default:
        return SQLITE_DENY;
    }
}

static void compiled_free(struct compiled *c)
{
    sqlite3_finalize(c->stmt);
    sqlite3_close(c->db);
    ar_schema_free(&c->visible);
    mem_free(c->field_of);
    mem_free(c->used);
    memset(c, 0, sizeof *c);
}

static infino_status compile(struct compiled *c, struct tbl *t,
                             const char *pred)
{
    /* hidden columns (table.h) are not the predicate's to read */
    const struct ar_schema *vis = tbl_visible_schema(t);
    struct buf text = {0}, sql = {0};
    const char *tail = NULL;
    infino_status st;
    int rc;

    memset(c, 0, sizeof *c);
    CHECK(check_shape(pred));
    c->visible.fields = mem_calloc(vis->n_fields, sizeof *c->visible.fields);
    c->field_of = mem_calloc(vis->n_fields, sizeof *c->field_of);
    c->used = mem_calloc(vis->n_fields, sizeof *c->used);
    if (!c->visible.fields || !c->field_of || !c->used) {
        st = err_nomem();
        goto fail;
    }
    for (size_t i = 0; i < vis->n_fields; i++) {
        if (!sql_type_visible(&vis->fields[i]))
            continue;
        CHECK(ar_field_copy(&c->visible.fields[c->visible.n_fields],
                            &vis->fields[i]));
        c->field_of[c->visible.n_fields++] = -1;
    }
    c->state.schema = &c->visible;
    c->state.field_of = c->field_of;
    CHECK(sql_open(&c->db, "predicate"));
    if (sqlite3_create_module(c->db, "infino_batch", &batch_module,
                              &c->state) != SQLITE_OK ||
        sqlite3_exec(c->db, "CREATE VIRTUAL TABLE " VT_NAME
                            " USING infino_batch",
                     NULL, NULL, NULL) != SQLITE_OK) {
        st = err_set(INFINO_ERR_INVALID, "table %s: %s", tbl_name(t),
                     sqlite3_errmsg(c->db));
        goto fail;
    }
    sqlite3_set_authorizer(c->db, authorize, c);
    CHECK(sql_quote_wide_numbers(&text, pred));
    CHECK(buf_printf(&sql, "SELECT " ROW_COLUMN " FROM " VT_NAME
                           " WHERE (%s\n)",
                     (const char *)text.data));
    CHECK(buf_put_u8(&sql, 0));
    rc = sqlite3_prepare_v2(c->db, (const char *)sql.data, -1, &c->stmt,
                            &tail);
    if (rc == SQLITE_INTERRUPT && cancel_requested()) {
        st = cancel_check("compiling the predicate");
        goto fail;
    }
    if (rc != SQLITE_OK && c->n_selects > 1) {
        st = err_set(INFINO_ERR_INVALID,
                     "invalid predicate '%s': subqueries are not supported "
                     "in predicates",
                     echo_of(pred).s);
        goto fail;
    }
    if (rc != SQLITE_OK && sql_explain_hidden(t, sqlite3_errmsg(c->db))) {
        st = err_context(INFINO_ERR_INVALID, "invalid predicate '%s'",
                         echo_of(pred).s);
        goto fail;
    }
    if (rc != SQLITE_OK || c->stmt == NULL) {
        st = err_set(INFINO_ERR_INVALID, "invalid predicate '%s': %s",
                     echo_of(pred).s, sqlite3_errmsg(c->db));
        goto fail;
    }
    if (tail && *tail) {
        st = err_set(INFINO_ERR_INVALID,
                     "invalid predicate '%s': must be one expression",
                     echo_of(pred).s);
        goto fail;
    }
    if (sqlite3_bind_parameter_count(c->stmt) > 0) {
        st = err_set(INFINO_ERR_INVALID,
                     "invalid predicate '%s': parameters such as '%s' are "
                     "not supported; write the value into the predicate",
                     echo_of(pred).s,
                     sqlite3_bind_parameter_name(c->stmt, 1)
                         ? sqlite3_bind_parameter_name(c->stmt, 1)
                         : "?");
        goto fail;
    }
    buf_free(&text);
    buf_free(&sql);
    return INFINO_OK;
fail:
    buf_free(&text);
    buf_free(&sql);
    compiled_free(c);
    return st;
}

infino_status sql_check_predicate(struct tbl *t, const char *predicate)
{
    struct compiled c;
    infino_status st = compile(&c, t, predicate);

    if (st == INFINO_OK)
        compiled_free(&c);
    return st;
}

/* ---- running ---------------------------------------------------------- */

struct run {
    struct compiled *c;
    roaring_bitmap_t **per_sf;
    const char *pred;
};

static infino_status on_batch(size_t sf, const struct ArrowArray *batch,
                              const uint32_t *rows, void *payload)
{
    struct run *r = payload;
    sqlite3_stmt *stmt = r->c->stmt;
    infino_status st;
    int rc;

    /* Between batches (the scan also polls between row groups). */
    st = cancel_check("evaluating the predicate");
    if (st != INFINO_OK)
        return st;
    r->c->state.batch = batch;
    sqlite3_reset(stmt);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t i = sqlite3_column_int64(stmt, 0);
        if (r->per_sf[sf] == NULL &&
            (r->per_sf[sf] = roaring_bitmap_create()) == NULL) {
            r->c->state.batch = NULL;
            return err_nomem();
        }
        roaring_bitmap_add(r->per_sf[sf], rows[i]);
    }
    r->c->state.batch = NULL;
    if (rc == SQLITE_INTERRUPT && cancel_requested())
        return cancel_check("evaluating the predicate");
    if (rc != SQLITE_DONE)
        return err_set(INFINO_ERR_INVALID, "predicate '%s': %s",
                       echo_of(r->pred).s, sqlite3_errmsg(r->c->db));
    return INFINO_OK;
}

infino_status sql_match_predicate(roaring_bitmap_t **per_sf,
                                  struct tbl_view *v, void *predicate)
{
    struct tbl *t = tbl_view_table(v);
    struct compiled c;
    struct run r;
    const char **cols = NULL;
    size_t n_cols = 0;
    infino_status st;

    CHECK(compile(&c, t, predicate));
    cols = mem_calloc(c.visible.n_fields + 1, sizeof *cols);
    if (cols == NULL) {
        compiled_free(&c);
        return err_nomem();
    }
    for (size_t i = 0; i < c.visible.n_fields; i++)
        if (c.used[i]) {
            c.field_of[i] = (int)n_cols;
            cols[n_cols++] = c.visible.fields[i].name;
        }
    if (n_cols == 0) /* a constant predicate still needs row counts */
        cols[n_cols++] = TBL_ID_COLUMN;
    r.c = &c;
    r.per_sf = per_sf;
    r.pred = predicate;
    st = tbl_view_scan(v, cols, n_cols, on_batch, &r);
    mem_free(cols);
    compiled_free(&c);
fail:
    return st;
}
