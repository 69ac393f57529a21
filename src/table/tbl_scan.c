/*
 * tbl_scan.c - reading the live rows of a view (table.h).
 *
 * Row groups are decoded with projection; when a row group contains
 * deleted rows, the survivors are gathered into a compact batch, so
 * callbacks never see a deleted row.
 */
#include "table_int.h"

#include "format/arrow/arrow_take.h"

#include "util/alloc.h"
#include "util/err.h"

#include <string.h>

static infino_status resolve(int **fields_out, const struct tbl *t,
                             const char *const *columns, size_t n)
{
    int *f = mem_calloc(n ? n : t->full.n_fields, sizeof *f);

    *fields_out = NULL;
    if (f == NULL)
        return err_nomem();
    if (n == 0) {
        for (size_t i = 0; i < t->full.n_fields; i++)
            f[i] = (int)i;
    } else {
        for (size_t i = 0; i < n; i++) {
            f[i] = ar_schema_find(&t->full, columns[i]);
            if (f[i] < 0) {
                mem_free(f);
                return err_set(INFINO_ERR_INVALID,
                               "table %s has no column '%s'", t->meta.name,
                               columns[i]);
            }
        }
    }
    *fields_out = f;
    return INFINO_OK;
}

infino_status tbl_scan_schema(struct ar_schema *out, const struct tbl *t,
                              const char *const *columns, size_t n_columns)
{
    int *f;
    infino_status st = resolve(&f, t, columns, n_columns);
    size_t n = n_columns ? n_columns : t->full.n_fields;

    memset(out, 0, sizeof *out);
    if (st != INFINO_OK)
        return st;
    out->fields = mem_calloc(n, sizeof *out->fields);
    if (out->fields == NULL) {
        mem_free(f);
        return err_nomem();
    }
    for (size_t i = 0; i < n && st == INFINO_OK; i++) {
        st = ar_field_copy(&out->fields[i], &t->full.fields[f[i]]);
        if (st == INFINO_OK)
            out->n_fields++;
    }
    mem_free(f);
    if (st != INFINO_OK)
        ar_schema_free(out);
    return st;
}

infino_status tbl_view_scan(struct tbl_view *v, const char *const *columns,
                            size_t n_columns, tbl_scan_fn fn, void *payload)
{
    struct tbl *t = v->t;
    struct ar_schema proj = {0};
    int *fields = NULL;
    uint32_t *rows = NULL, *idx = NULL;
    size_t rows_cap = 0;
    size_t n = n_columns ? n_columns : t->full.n_fields;
    infino_status st;

    CHECK(resolve(&fields, t, columns, n_columns));
    CHECK(tbl_scan_schema(&proj, t, columns, n_columns));
    for (size_t s = 0; s < v->snap.n_sf; s++) {
        const struct tbl_vsf *f = &v->vsf[s];
        struct pq_reader *r = sf_reader_parquet(f->reader);
        int n_rg = pq_reader_num_row_groups(r);
        uint64_t start = 0;

        if (f->meta->n_deleted == f->meta->n_rows)
            continue;
        for (int rg = 0; rg < n_rg; rg++) {
            int64_t len = pq_reader_row_group_rows(r, rg);
            struct ArrowArray batch = {0}, live = {0};
            size_t n_live = 0;

            if (len <= 0)
                continue;
            if ((size_t)len > rows_cap) {
                uint32_t *nr = mem_realloc(rows, (size_t)len * sizeof *nr);
                uint32_t *ni = mem_realloc(idx, (size_t)len * sizeof *ni);
                if (nr)
                    rows = nr;
                if (ni)
                    idx = ni;
                if (nr == NULL || ni == NULL) {
                    st = err_nomem();
                    goto fail;
                }
                rows_cap = (size_t)len;
            }
            for (int64_t i = 0; i < len; i++) {
                uint32_t row = (uint32_t)(start + (uint64_t)i);
                if (f->deleted && roaring_bitmap_contains(f->deleted, row))
                    continue;
                rows[n_live] = row;
                idx[n_live++] = (uint32_t)i;
            }
            start += (uint64_t)len;
            if (n_live == 0)
                continue;
            CHECK(pq_reader_read_row_group(r, rg, fields, n, &batch));
            if (n_live < (size_t)len) {
                st = ar_batch_take(&live, &proj, &batch, idx, n_live);
                ar_array_release(&batch);
                if (st != INFINO_OK)
                    goto fail;
                st = fn(s, &live, rows, payload);
                ar_array_release(&live);
            } else {
                st = fn(s, &batch, rows, payload);
                ar_array_release(&batch);
            }
            if (st != INFINO_OK)
                goto fail;
        }
    }
    st = INFINO_OK;
fail:
    ar_schema_free(&proj);
    mem_free(fields);
    mem_free(rows);
    mem_free(idx);
    return st;
}
