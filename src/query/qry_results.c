/*
 * qry_results.c - hits to an Arrow result batch (query.h).
 *
 * "_id" comes from each superfile's ids region (no Parquet read), "score"
 * from the hit; other columns are point reads: hits are grouped by
 * (superfile, row group), each group's distinct rows are read with one
 * pq_reader_read_rows() call (which decodes only the pages holding them),
 * and cells are then copied in hit order. Superfiles are visited in order
 * and pinned one at a time, so a result spanning every superfile of a
 * huge table maps one of them at a time.
 */
#include "query.h"

#include "format/arrow/arrow_take.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

#define SCORE_NAME "score"

/* Where one hit's row lives. */
struct place {
    uint32_t sf;
    int rg;
    uint32_t row; /* within the row group */
    size_t hit;   /* index into the hit list */
};

/* One point read: rows of one (superfile, row group). */
struct group {
    struct ArrowArray batch; /* the read columns, rows ascending */
};

struct ctx {
    struct tbl_view *v;
    const struct ar_schema *full; /* the schema `fields` index */
    int *fields;     /* full-schema index per read column */
    size_t n_fields; /* columns read from Parquet */
    struct place *places;  /* one per hit, then sorted by position */
    struct group *groups;  /* one per distinct (sf, rg) */
    size_t n_groups;
    size_t *group_of; /* per hit: its group */
    uint32_t *pos_of; /* per hit: its row in the group's batch */
    struct tid *ids;  /* per hit, when "_id" is projected */
};

static void ctx_free(struct ctx *c)
{
    for (size_t i = 0; i < c->n_groups; i++)
        ar_array_release(&c->groups[i].batch);
    mem_free(c->groups);
    mem_free(c->places);
    mem_free(c->group_of);
    mem_free(c->pos_of);
    mem_free(c->ids);
    mem_free(c->fields);
}

static int by_place(const void *a, const void *b)
{
    const struct place *x = a, *y = b;

    if (x->sf != y->sf)
        return x->sf < y->sf ? -1 : 1;
    if (x->rg != y->rg)
        return x->rg < y->rg ? -1 : 1;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    return (x->hit > y->hit) - (x->hit < y->hit);
}

/* The row group of pinned superfile `f` (index `sf`) holding local row
 * `row`. */
static infino_status locate(struct place *out, const struct tbl_vsf *f,
                            uint32_t sf, uint32_t row)
{
    struct pq_reader *r = sf_reader_parquet(f->reader);
    int n_rg = pq_reader_num_row_groups(r);
    uint64_t start = 0;

    for (int rg = 0; rg < n_rg; rg++) {
        uint64_t len = (uint64_t)pq_reader_row_group_rows(r, rg);
        if (row < start + len) {
            out->sf = sf;
            out->rg = rg;
            out->row = (uint32_t)(row - start);
            return INFINO_OK;
        }
        start += len;
    }
    return err_set(INFINO_ERR_CORRUPT, "%s: row %u beyond the file",
                   sf_reader_name(f->reader), row);
}

static int by_hit_place(const void *a, const void *b)
{
    const struct place *x = a, *y = b;

    if (x->sf != y->sf)
        return x->sf < y->sf ? -1 : 1;
    if (x->row != y->row) /* still the superfile-local row here */
        return x->row < y->row ? -1 : 1;
    return (x->hit > y->hit) - (x->hit < y->hit);
}

/* The hits [from, to) of c->places, all in superfile `f`, located and
 * sorted: reads their projected columns (one point read per row group)
 * and their ids. */
static infino_status read_superfile(struct ctx *c, const struct tbl_vsf *f,
                                    size_t from, size_t to, uint32_t *rows)
{
    infino_status st = INFINO_OK;

    for (size_t h = from; h < to && c->ids; h++) {
        /* Every superfile a table writes has an ids region. */
        st = sf_indexes_id(&c->ids[c->places[h].hit], f->indexes,
                           c->places[h].row);
        if (st == INFINO_ERR_NOTFOUND)
            st = err_set(INFINO_ERR_CORRUPT, "%s: no ids region",
                         sf_reader_name(f->reader));
        if (st != INFINO_OK)
            return st;
    }
    for (size_t h = from; h < to; h++)
        CHECK(locate(&c->places[h], f, c->places[h].sf, c->places[h].row));
    if (c->n_fields == 0)
        return INFINO_OK;
    if (to - from > 1)
        qsort(c->places + from, to - from, sizeof *c->places, by_place);
    for (size_t i = from; i < to;) {
        const struct place *p = &c->places[i];
        size_t j = i, n_rows = 0, g = c->n_groups;
        for (; j < to && c->places[j].rg == p->rg; j++) {
            if (n_rows == 0 || rows[n_rows - 1] != c->places[j].row)
                rows[n_rows++] = c->places[j].row;
            c->group_of[c->places[j].hit] = g;
            c->pos_of[c->places[j].hit] = (uint32_t)(n_rows - 1);
        }
        /* columns added after the file was written read as null */
        CHECK(tbl_read_columns(&c->groups[g].batch,
                               sf_reader_parquet(f->reader), c->full, p->rg,
                               c->fields, c->n_fields, rows, n_rows));
        c->n_groups++;
        i = j;
    }
fail:
    return st;
}

/* Reads the projected columns and ids of every hit, superfile by
 * superfile. */
static infino_status read_hits(struct ctx *c, const struct qry_hits *hits,
                               bool need_ids)
{
    uint32_t *rows = NULL;
    size_t n = hits->n;
    infino_status st = INFINO_OK;

    c->places = mem_calloc(n ? n : 1, sizeof *c->places);
    c->groups = mem_calloc(n ? n : 1, sizeof *c->groups);
    c->group_of = mem_calloc(n ? n : 1, sizeof *c->group_of);
    c->pos_of = mem_calloc(n ? n : 1, sizeof *c->pos_of);
    if (need_ids)
        c->ids = mem_calloc(n ? n : 1, sizeof *c->ids);
    rows = mem_calloc(n ? n : 1, sizeof *rows);
    if (!c->places || !c->groups || !c->group_of || !c->pos_of || !rows ||
        (need_ids && !c->ids)) {
        st = err_nomem();
        goto fail;
    }
    for (size_t h = 0; h < n; h++) {
        c->places[h].sf = hits->v[h].sf;
        c->places[h].row = hits->v[h].row;
        c->places[h].hit = h;
    }
    if (n > 1)
        qsort(c->places, n, sizeof *c->places, by_hit_place);
    for (size_t i = 0; i < n;) {
        uint32_t sf = c->places[i].sf;
        struct tbl_vsf f;
        size_t j = i;
        while (j < n && c->places[j].sf == sf)
            j++;
        CHECK(tbl_view_pin(c->v, sf, &f));
        st = read_superfile(c, &f, i, j, rows);
        tbl_view_unpin(c->v, sf);
        if (st != INFINO_OK)
            goto fail;
        i = j;
    }
fail:
    mem_free(rows);
    return st;
}

/* INFINO_ERR_INVALID for a projection naming `name`, which is not a
 * column readers see: upstream's message, listing the names that are
 * (hidden columns left out, with a word on why when `name` is one). */
static infino_status unknown_column(const struct tbl *t, const char *method,
                                    const char *name)
{
    const struct ar_schema *vis = tbl_visible_schema(t);
    struct buf names = {0};
    bool score = false;
    infino_status st = INFINO_OK;

    for (size_t i = 0; i < vis->n_fields && st == INFINO_OK; i++) {
        st = buf_printf(&names, "%s%s", i ? ", " : "", vis->fields[i].name);
        score |= strcmp(vis->fields[i].name, SCORE_NAME) == 0;
    }
    if (st == INFINO_OK && !score)
        st = buf_printf(&names, ", " SCORE_NAME);
    if (st == INFINO_OK)
        st = buf_put_u8(&names, 0);
    if (st != INFINO_OK) {
        buf_free(&names);
        return st;
    }
    st = err_set(INFINO_ERR_INVALID,
                 "%s: unknown column \"%s\" in projection%s; valid columns: "
                 "%s",
                 method, name,
                 tbl_column_hidden(t, name)
                     ? " (a full-text column indexed with stored=False is "
                       "searchable but not readable)"
                     : "",
                 (const char *)names.data);
    buf_free(&names);
    return st;
}

infino_status qry_materialize(struct ArrowArray *out,
                              struct ar_schema *schema_out,
                              struct tbl_view *v, const struct qry_hits *hits,
                              const char *const *projection,
                              size_t n_projection, const char *method)
{
    static const char *const defaults[] = {"_id", SCORE_NAME};
    const struct ar_schema *full = tbl_full_schema(tbl_view_table(v));
    struct ar_schema schema = {0};
    struct ar_builder **b = NULL;
    struct ArrowArray *kids = NULL;
    int *src = NULL; /* per output column: read-column index, -1 id, -2 score */
    struct ctx c = {0};
    size_t n_out, built = 0;
    bool need_ids = false;
    infino_status st;

    memset(out, 0, sizeof *out);
    memset(schema_out, 0, sizeof *schema_out);
    if (projection == NULL) {
        projection = defaults;
        n_projection = 2;
    }
    n_out = n_projection;
    c.v = v;
    schema.fields = mem_calloc(n_out + 1, sizeof *schema.fields);
    src = mem_calloc(n_out + 1, sizeof *src);
    c.full = full;
    c.fields = mem_calloc(n_out + 2, sizeof *c.fields);
    b = mem_calloc(n_out + 1, sizeof *b);
    kids = mem_calloc(n_out + 1, sizeof *kids);
    if (!schema.fields || !src || !c.fields || !b || !kids) {
        st = err_nomem();
        goto fail;
    }
    for (size_t i = 0; i < n_out; i++) {
        const char *name = projection[i];
        struct ar_field *f = &schema.fields[i];
        /* the score shadows a user column of that name in results */
        if (strcmp(name, SCORE_NAME) == 0) {
            f->name = mem_strdup(SCORE_NAME);
            if (f->name == NULL) {
                st = err_nomem();
                goto fail;
            }
            f->type = AR_FLOAT32;
            f->nullable = false;
            src[i] = -2;
        } else {
            int fi = tbl_column_hidden(tbl_view_table(v), name)
                         ? -1
                         : ar_schema_find(full, name);
            if (fi < 0) {
                st = unknown_column(tbl_view_table(v), method, name);
                goto fail;
            }
            CHECK(ar_field_copy(f, &full->fields[fi]));
            if (fi == 0) { /* _id */
                src[i] = -1;
                need_ids = true;
            } else {
                size_t j = 0;
                while (j < c.n_fields && c.fields[j] != fi)
                    j++;
                if (j == c.n_fields)
                    c.fields[c.n_fields++] = fi;
                src[i] = (int)j;
            }
        }
        schema.n_fields++;
        CHECK(ar_builder_new(&b[i], f));
    }
    if (c.n_fields > 0 || need_ids)
        CHECK(read_hits(&c, hits, need_ids));
    for (size_t h = 0; h < hits->n; h++) {
        const struct qry_hit *hit = &hits->v[h];

        for (size_t i = 0; i < n_out; i++) {
            if (src[i] == -2) {
                CHECK(ar_builder_append_double(b[i], hit->score));
            } else if (src[i] == -1) {
                uint8_t cell[16];
                tid_store(cell, c.ids[h]);
                CHECK(ar_builder_append_decimal(b[i], cell));
            } else {
                const struct group *g = &c.groups[c.group_of[h]];
                const struct ArrowArray *col = g->batch.children[src[i]];
                struct ArrowArray view = *col;
                view.offset += g->batch.offset;
                CHECK(ar_builder_append_from(b[i], &schema.fields[i], &view,
                                             (int64_t)c.pos_of[h]));
            }
        }
    }
    for (; built < n_out; built++)
        CHECK(ar_builder_finish(b[built], &kids[built]));
    {
        void *bufs[1] = {NULL};
        CHECK(ar_array_make(out, (int64_t)hits->n, 0, 1, bufs, (int)n_out,
                            kids));
        built = 0; /* moved into *out */
    }
    *schema_out = schema;
    memset(&schema, 0, sizeof schema);
fail:
    for (size_t i = 0; i < built; i++)
        ar_array_release(&kids[i]);
    for (size_t i = 0; b && i < n_out; i++)
        ar_builder_free(b[i]);
    mem_free(b);
    mem_free(kids);
    mem_free(src);
    ctx_free(&c);
    ar_schema_free(&schema);
    return st;
}
