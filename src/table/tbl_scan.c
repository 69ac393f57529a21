/*
 * tbl_scan.c - reading the live rows of a view (table.h).
 *
 * A scan cursor walks superfiles and their row groups in snapshot order,
 * decoding only the projected columns. When a row group contains deleted
 * rows, the survivors are gathered into a compact batch, so consumers
 * never see a deleted row.
 */
#include "table_int.h"

#include "format/arrow/arrow_take.h"

#include "util/alloc.h"
#include "util/cancel.h"
#include "util/err.h"

#include <string.h>

struct tbl_scan {
    struct tbl_view *v; /* one reference held */
    const struct ar_schema *full; /* the handle's, when opened */
    struct ar_schema proj;
    int *fields;
    size_t n_fields;
    size_t sf; /* current superfile */
    bool pinned;       /* sf is pinned (one at a time) */
    struct tbl_vsf f;  /* sf, while pinned */
    int rg;    /* next row group in it */
    uint64_t row0;
    uint32_t *rows, *idx;
    size_t rows_cap;
};

/* Maps the names of a scan to fields of `sc->full`: NULL/0 names every
 * visible column (sc->visible, a subsequence of full). *n_out gets the
 * count. Scans are how readers see rows, so they see no hidden column. */
static infino_status resolve(int **fields_out, size_t *n_out,
                             const struct tbl *t, const struct tbl_schema *sc,
                             const char *const *columns, size_t n)
{
    const struct ar_schema *full = &sc->full;
    size_t n_fields = n ? n : sc->visible.n_fields;
    int *f = mem_calloc(n_fields ? n_fields : 1, sizeof *f);

    *fields_out = NULL;
    *n_out = 0;
    if (f == NULL)
        return err_nomem();
    for (size_t i = 0; i < n_fields; i++) {
        const char *name = n ? columns[i] : sc->visible.fields[i].name;
        if (n && tbl_column_hidden(t, name)) {
            mem_free(f);
            return tbl_hidden_error(t, name);
        }
        f[i] = ar_schema_find(full, name);
        if (f[i] < 0) {
            mem_free(f);
            return err_set(INFINO_ERR_INVALID, "table %s has no column '%s'",
                           t->meta.name, name);
        }
    }
    *fields_out = f;
    *n_out = n_fields;
    return INFINO_OK;
}

static infino_status scan_schema(struct ar_schema *out, const struct tbl *t,
                                 const struct tbl_schema *sc,
                                 const char *const *columns, size_t n_columns)
{
    int *f;
    size_t n;
    infino_status st = resolve(&f, &n, t, sc, columns, n_columns);

    memset(out, 0, sizeof *out);
    if (st != INFINO_OK)
        return st;
    out->fields = mem_calloc(n ? n : 1, sizeof *out->fields);
    if (out->fields == NULL) {
        mem_free(f);
        return err_nomem();
    }
    for (size_t i = 0; i < n && st == INFINO_OK; i++) {
        st = ar_field_copy(&out->fields[i], &sc->full.fields[f[i]]);
        if (st == INFINO_OK)
            out->n_fields++;
    }
    mem_free(f);
    if (st != INFINO_OK)
        ar_schema_free(out);
    return st;
}

infino_status tbl_scan_schema(struct ar_schema *out, const struct tbl *t,
                              const char *const *columns, size_t n_columns)
{
    return scan_schema(out, t, tbl_schema_now(t), columns, n_columns);
}

infino_status tbl_scan_open(struct tbl_scan **out, struct tbl_view *v,
                            const char *const *columns, size_t n_columns)
{
    struct tbl_scan *s = mem_calloc(1, sizeof *s);
    const struct tbl_schema *sc = tbl_schema_now(v->t);
    infino_status st;

    *out = NULL;
    if (s == NULL)
        return err_nomem();
    s->v = v;
    atomic_fetch_add(&v->refs, 1);
    s->full = &sc->full;
    CHECK(resolve(&s->fields, &s->n_fields, v->t, sc, columns, n_columns));
    CHECK(scan_schema(&s->proj, v->t, sc, columns, n_columns));
    *out = s;
    return INFINO_OK;
fail:
    tbl_scan_free(s);
    return st;
}

const struct ar_schema *tbl_scan_projection(const struct tbl_scan *s)
{
    return &s->proj;
}

void tbl_scan_free(struct tbl_scan *s)
{
    if (s == NULL)
        return;
    if (s->pinned)
        tbl_view_unpin(s->v, s->sf);
    tbl_view_release(s->v);
    ar_schema_free(&s->proj);
    mem_free(s->fields);
    mem_free(s->rows);
    mem_free(s->idx);
    mem_free(s);
}

infino_status tbl_scan_next(struct tbl_scan *s, struct ArrowArray *out,
                            size_t *sf_out, const uint32_t **rows_out)
{
    struct tbl_view *v = s->v;
    infino_status st;

    memset(out, 0, sizeof *out);
    while (s->sf < v->snap.n_sf) {
        const struct tbl_vsf *f = &s->f;
        const struct snap_sf *meta = &v->snap.sf[s->sf];
        struct pq_reader *r;
        struct ArrowArray batch = {0};
        size_t n_live = 0;
        int64_t len;
        int rg = s->rg;

        /* Between row groups: the caller's interrupt flag, so a scan (and
         * a delete or update evaluating its predicate) stops in time. */
        if (cancel_requested())
            return err_set(INFINO_ERR_INTERRUPTED,
                           "interrupted while scanning table %s",
                           v->t->meta.name);
        if (meta->n_deleted == meta->n_rows) { /* nothing left to read */
            s->sf++;
            continue;
        }
        if (!s->pinned) {
            tbl_view_touch(v); /* a long scan keeps its snapshot leased */
            st = tbl_view_pin(v, s->sf, &s->f);
            if (st != INFINO_OK)
                return st;
            s->pinned = true;
        }
        r = sf_reader_parquet(f->reader);
        if (rg >= pq_reader_num_row_groups(r)) {
            tbl_view_unpin(v, s->sf);
            s->pinned = false;
            s->sf++;
            s->rg = 0;
            s->row0 = 0;
            continue;
        }
        len = pq_reader_row_group_rows(r, rg);
        s->rg++;
        if (len <= 0)
            continue;
        if ((size_t)len > s->rows_cap) {
            uint32_t *nr = mem_realloc(s->rows, (size_t)len * sizeof *nr);
            if (nr == NULL)
                return err_nomem();
            s->rows = nr;
            uint32_t *ni = mem_realloc(s->idx, (size_t)len * sizeof *ni);
            if (ni == NULL)
                return err_nomem();
            s->idx = ni;
            s->rows_cap = (size_t)len;
        }
        for (int64_t i = 0; i < len; i++) {
            uint32_t row = (uint32_t)(s->row0 + (uint64_t)i);
            if (f->deleted && roaring_bitmap_contains(f->deleted, row))
                continue;
            s->rows[n_live] = row;
            s->idx[n_live++] = (uint32_t)i;
        }
        s->row0 += (uint64_t)len;
        if (n_live == 0)
            continue;
        st = tbl_read_columns(&batch, r, s->full, rg, s->fields, s->n_fields,
                              NULL, 0);
        if (st != INFINO_OK)
            return st;
        if (n_live < (size_t)len) {
            st = ar_batch_take(out, &s->proj, &batch, s->idx, n_live);
            ar_array_release(&batch);
            if (st != INFINO_OK)
                return st;
        } else {
            *out = batch;
        }
        if (sf_out)
            *sf_out = s->sf;
        if (rows_out)
            *rows_out = s->rows;
        return INFINO_OK;
    }
    return INFINO_OK; /* end: out->release == NULL */
}

infino_status tbl_view_scan(struct tbl_view *v, const char *const *columns,
                            size_t n_columns, tbl_scan_fn fn, void *payload)
{
    struct tbl_scan *s = NULL;
    infino_status st;

    CHECK(tbl_scan_open(&s, v, columns, n_columns));
    for (;;) {
        struct ArrowArray batch;
        size_t sf;
        const uint32_t *rows;

        CHECK(tbl_scan_next(s, &batch, &sf, &rows));
        if (batch.release == NULL)
            break;
        st = fn(sf, &batch, rows, payload);
        ar_array_release(&batch);
        if (st != INFINO_OK)
            goto fail;
    }
fail:
    tbl_scan_free(s);
    return st;
}
