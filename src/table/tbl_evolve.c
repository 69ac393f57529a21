/*
 * tbl_evolve.c - a table's schema grows by columns (table.h).
 *
 * The schema lives in the snapshot (snapshot.h, format 3), so a change is
 * an ordinary commit: it publishes the next version with the grown schema
 * and no file changes, wins or loses the race as every commit does, and
 * other handles learn it when they load that version (tbl_schema_learn).
 * Columns are only appended and never change, so every superfile holds a
 * prefix of the newest schema's columns; tbl_read_columns answers the
 * missing ones with nulls, and nothing is rewritten.
 */
#include "table_int.h"

#include "format/parquet/parquet.h"

#include "util/alloc.h"
#include "util/err.h"

#include <string.h>

infino_status tbl_null_column(struct ArrowArray *out,
                                 const struct ar_field *f, int64_t len)
{
    struct ar_field nf = {0};
    struct ar_builder *b = NULL;
    infino_status st;

    memset(out, 0, sizeof *out);
    /* A non-nullable column added while the table held no live rows:
     * the files that lack it have no live rows either, but their row
     * groups are still read (and filtered) whole. */
    CHECK(ar_field_copy(&nf, f));
    nf.nullable = true;
    CHECK(ar_builder_new(&b, &nf));
    for (int64_t i = 0; i < len; i++)
        CHECK(ar_builder_append_null(b));
    CHECK(ar_builder_finish(b, out));
fail:
    ar_builder_free(b);
    ar_field_free(&nf);
    return st;
}

infino_status tbl_read_columns(struct ArrowArray *out, struct pq_reader *r,
                               const struct ar_schema *full, int rg,
                               const int *fields, size_t n_fields,
                               const uint32_t *rows, size_t n_rows)
{
    size_t have = pq_reader_schema(r)->n_fields, n_present = 0;
    int *present = NULL, *all = NULL;
    struct ArrowArray part = {0}, *kids = NULL;
    void *bufs[1] = {NULL};
    int64_t len;
    infino_status st;

    memset(out, 0, sizeof *out);
    if (fields == NULL || n_fields == 0) { /* every column of `full` */
        if (have >= full->n_fields)
            return rows ? pq_reader_read_rows(r, rg, NULL, 0, rows, n_rows,
                                              out)
                        : pq_reader_read_row_group(r, rg, NULL, 0, out);
        all = mem_alloc(full->n_fields * sizeof *all);
        if (all == NULL)
            return err_nomem();
        for (size_t i = 0; i < full->n_fields; i++)
            all[i] = (int)i;
        fields = all;
        n_fields = full->n_fields;
    }
    for (size_t i = 0; i < n_fields; i++)
        if ((size_t)fields[i] < have)
            n_present++;
    if (n_present == n_fields) {
        st = rows ? pq_reader_read_rows(r, rg, fields, n_fields, rows, n_rows,
                                        out)
                  : pq_reader_read_row_group(r, rg, fields, n_fields, out);
        mem_free(all);
        return st;
    }
    present = mem_alloc((n_present + 1) * sizeof *present);
    kids = mem_calloc(n_fields + 1, sizeof *kids);
    if (present == NULL || kids == NULL) {
        st = err_nomem();
        goto fail;
    }
    n_present = 0;
    for (size_t i = 0; i < n_fields; i++)
        if ((size_t)fields[i] < have)
            present[n_present++] = fields[i];
    len = rows ? (int64_t)n_rows : pq_reader_row_group_rows(r, rg);
    if (n_present > 0) {
        if (rows)
            CHECK(pq_reader_read_rows(r, rg, present, n_present, rows, n_rows,
                                      &part));
        else
            CHECK(pq_reader_read_row_group(r, rg, present, n_present, &part));
        len = part.length;
    }
    for (size_t i = 0, k = 0; i < n_fields; i++) {
        if ((size_t)fields[i] < have) {
            /* moved out: the parent's release skips it */
            kids[i] = *part.children[k];
            part.children[k]->release = NULL;
            k++;
        } else {
            CHECK(tbl_null_column(&kids[i], &full->fields[fields[i]], len));
        }
    }
    ar_array_release(&part);
    st = ar_array_make(out, len, 0, 1, bufs, (int)n_fields, kids);
    mem_free(kids);
    mem_free(present);
    mem_free(all);
    return st;
fail:
    for (size_t i = 0; kids && i < n_fields; i++)
        ar_array_release(&kids[i]);
    ar_array_release(&part);
    mem_free(kids);
    mem_free(present);
    mem_free(all);
    return st;
}

infino_status tbl_schema_id(struct tbl *t, uint64_t *out)
{
    infino_status st = tbl_refresh(t);

    *out = st == INFINO_OK ? tbl_schema_now(t)->id : 0;
    return st;
}

struct evolve {
    const struct ar_schema *cols;
    uint64_t expected;
    uint64_t id_after; /* set by each prepare */
};

/* The user schema of `snap` (owned copy) and its id. */
static infino_status base_schema(struct ar_schema *out, uint64_t *id_out,
                                 struct tbl *t, const struct snapshot *snap)
{
    if (snap->schema_id == 0) {
        *id_out = 1;
        return ar_schema_copy(out, &t->meta.schema);
    }
    *id_out = snap->schema_id;
    return ar_schema_from_ipc(out, snap->schema_ipc, snap->schema_len);
}

static infino_status describe(struct buf *out, const struct ar_field *f)
{
    infino_status st = ar_type_describe(out, f); /* NUL-terminated */

    if (st == INFINO_OK && !f->nullable) {
        st = buf_append(out, " not null", 10);
        out->len--;
    }
    return st;
}

static infino_status prepare_evolve(struct tbl_change *chg,
                                    struct tbl_view *base, void *payload)
{
    struct evolve *e = payload;
    struct tbl *t = base->t;
    struct ar_schema s = {0};
    struct ar_field *grown;
    struct buf ipc = {0}, a = {0}, b = {0};
    uint64_t id;
    size_t n_old;
    infino_status st;

    CHECK(base_schema(&s, &id, t, &base->snap));
    e->id_after = id;
    if (e->expected != 0 && e->expected != id) {
        st = err_set(INFINO_ERR_CONFLICT,
                     "the schema is at version %llu, not %llu; "
                     "re-read it and resubmit",
                     (unsigned long long)id,
                     (unsigned long long)e->expected);
        goto fail;
    }
    n_old = s.n_fields;
    grown = mem_realloc(s.fields,
                        (s.n_fields + e->cols->n_fields + 1) * sizeof *grown);
    if (grown == NULL) {
        st = err_nomem();
        goto fail;
    }
    s.fields = grown;
    for (size_t i = 0; i < e->cols->n_fields; i++) {
        const struct ar_field *f = &e->cols->fields[i];
        int at = ar_schema_find(&s, f->name);

        if (at >= 0 && (size_t)at < n_old) {
            if (ar_field_equal(&s.fields[at], f))
                continue;
            buf_reset(&a);
            buf_reset(&b);
            CHECK(describe(&a, &s.fields[at]));
            CHECK(describe(&b, f));
            st = err_set(INFINO_ERR_INVALID,
                         "column '%.200s' is %s; existing columns keep their "
                         "type and nullability (asked: %s)",
                         f->name, (const char *)a.data,
                         (const char *)b.data);
            goto fail;
        }
        if (at >= 0) {
            st = err_set(INFINO_ERR_INVALID,
                         "column '%.200s' is added twice", f->name);
            goto fail;
        }
        if (!f->nullable && snapshot_live_rows(&base->snap) > 0) {
            st = err_set(INFINO_ERR_INVALID,
                         "column '%.200s' cannot become non-nullable while "
                         "the table holds rows",
                         f->name);
            goto fail;
        }
        memset(&s.fields[s.n_fields], 0, sizeof *s.fields);
        CHECK(ar_field_copy(&s.fields[s.n_fields], f));
        s.n_fields++;
    }
    if (s.n_fields == n_old) {
        st = INFINO_OK; /* nothing new: no commit */
        goto fail;
    }
    CHECK(catalog_check_schema(&s));
    CHECK(ar_schema_to_ipc(&ipc, &s));
    chg->schema_id = id + 1;
    chg->schema_ipc = ipc.data; /* taken */
    chg->schema_len = ipc.len;
    memset(&ipc, 0, sizeof ipc);
    e->id_after = id + 1;
fail:
    ar_schema_free(&s);
    buf_free(&ipc);
    buf_free(&a);
    buf_free(&b);
    return st;
}

infino_status tbl_add_columns(struct tbl *t, const struct ar_schema *cols,
                              uint64_t expected, uint64_t *schema_id_out)
{
    struct evolve e = {cols, expected, 0};
    infino_status st;

    if (schema_id_out)
        *schema_id_out = 0;
    pthread_mutex_lock(&t->write_mu);
    st = tbl_write_begin(t);
    if (st == INFINO_OK)
        st = tbl_commit(t, prepare_evolve, &e, NULL);
    tbl_write_end(t);
    pthread_mutex_unlock(&t->write_mu);
    if (st == INFINO_OK && schema_id_out)
        *schema_id_out = e.id_after;
    return err_context(st, "changing the schema of table %s", t->meta.name);
}
