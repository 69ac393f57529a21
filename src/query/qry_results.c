/*
 * qry_results.c - hits to an Arrow result batch (query.h).
 *
 * "_id" comes from each superfile's ids region (no Parquet read), "score"
 * from the hit; other columns are read one row group at a time, only for
 * row groups that hold hits, and copied cell by cell in hit order. Decoded
 * row groups are kept for the call (results are small), except that a
 * hit list in (superfile, row) order releases each group once passed.
 */
#include "query.h"

#include "format/arrow/arrow_take.h"
#include "util/alloc.h"
#include "util/err.h"

#include <string.h>

#define SCORE_NAME "score"

struct group {
    uint32_t sf;
    int rg;
    uint64_t start; /* first local row of the row group */
    struct ArrowArray batch;
};

struct ctx {
    struct tbl_view *v;
    const struct ar_schema *full;
    int *fields;      /* full-schema index per read column */
    size_t n_fields;  /* columns read from Parquet */
    struct group *groups;
    size_t n_groups, cap;
    bool ordered; /* hits in (sf, row) order: keep one group only */
};

static void ctx_free(struct ctx *c)
{
    for (size_t i = 0; i < c->n_groups; i++)
        ar_array_release(&c->groups[i].batch);
    mem_free(c->groups);
    mem_free(c->fields);
}

/* The decoded row group holding (sf, row), and the row's index in it. */
static infino_status group_of(struct group **out, int64_t *row_out,
                              struct ctx *c, uint32_t sf, uint32_t row)
{
    struct pq_reader *r;
    uint64_t start = 0;
    int rg, n_rg;
    infino_status st;

    for (size_t i = 0; i < c->n_groups; i++) {
        struct group *g = &c->groups[i];
        if (g->sf == sf && row >= g->start &&
            row < g->start + (uint64_t)g->batch.length) {
            *out = g;
            *row_out = (int64_t)(row - g->start);
            return INFINO_OK;
        }
    }
    r = sf_reader_parquet(tbl_view_sf(c->v, sf)->reader);
    n_rg = pq_reader_num_row_groups(r);
    for (rg = 0; rg < n_rg; rg++) {
        uint64_t len = (uint64_t)pq_reader_row_group_rows(r, rg);
        if (row < start + len)
            break;
        start += len;
    }
    if (rg == n_rg)
        return err_set(INFINO_ERR_CORRUPT, "%s: row %u beyond the file",
                       sf_reader_name(tbl_view_sf(c->v, sf)->reader), row);
    if (c->ordered) {
        for (size_t i = 0; i < c->n_groups; i++)
            ar_array_release(&c->groups[i].batch);
        c->n_groups = 0;
    }
    if (MEM_RESERVE(c->groups, c->cap, c->n_groups + 1))
        return err_nomem();
    struct group *g = &c->groups[c->n_groups];
    memset(g, 0, sizeof *g);
    st = pq_reader_read_row_group(r, rg, c->fields, c->n_fields, &g->batch);
    if (st != INFINO_OK)
        return st;
    g->sf = sf;
    g->rg = rg;
    g->start = start;
    c->n_groups++;
    *out = g;
    *row_out = (int64_t)(row - start);
    return INFINO_OK;
}

static bool in_order(const struct qry_hits *h)
{
    for (size_t i = 1; i < h->n; i++)
        if (h->v[i].sf < h->v[i - 1].sf ||
            (h->v[i].sf == h->v[i - 1].sf && h->v[i].row < h->v[i - 1].row))
            return false;
    return true;
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
    infino_status st;

    memset(out, 0, sizeof *out);
    memset(schema_out, 0, sizeof *schema_out);
    if (projection == NULL) {
        projection = defaults;
        n_projection = 2;
    }
    n_out = n_projection;
    c.v = v;
    c.full = full;
    c.ordered = in_order(hits);
    schema.fields = mem_calloc(n_out + 1, sizeof *schema.fields);
    src = mem_calloc(n_out + 1, sizeof *src);
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
        if (strcmp(name, SCORE_NAME) == 0 && ar_schema_find(full, name) < 0) {
            f->name = mem_strdup(SCORE_NAME);
            if (f->name == NULL) {
                st = err_nomem();
                goto fail;
            }
            f->type = AR_FLOAT32;
            f->nullable = false;
            src[i] = -2;
        } else {
            int fi = ar_schema_find(full, name);
            if (fi < 0) {
                st = err_set(INFINO_ERR_INVALID, "%s: unknown column \"%s\"",
                             method, name);
                goto fail;
            }
            CHECK(ar_field_copy(f, &full->fields[fi]));
            if (fi == 0) { /* _id */
                src[i] = -1;
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
    for (size_t h = 0; h < hits->n; h++) {
        const struct qry_hit *hit = &hits->v[h];
        const struct tbl_vsf *f = tbl_view_sf(v, hit->sf);
        struct group *g = NULL;
        int64_t row = 0;

        if (c.n_fields > 0)
            CHECK(group_of(&g, &row, &c, hit->sf, hit->row));
        for (size_t i = 0; i < n_out; i++) {
            if (src[i] == -2) {
                CHECK(ar_builder_append_double(b[i], hit->score));
            } else if (src[i] == -1) {
                struct tid id;
                uint8_t cell[16];
                /* Every superfile a table writes has an ids region. */
                st = sf_indexes_id(&id, f->indexes, hit->row);
                if (st == INFINO_ERR_NOTFOUND)
                    st = err_set(INFINO_ERR_CORRUPT, "%s: no ids region",
                                 sf_reader_name(f->reader));
                if (st != INFINO_OK)
                    goto fail;
                tid_store(cell, id);
                CHECK(ar_builder_append_decimal(b[i], cell));
            } else {
                const struct ArrowArray *col = g->batch.children[src[i]];
                struct ArrowArray view = *col;
                view.offset += g->batch.offset;
                CHECK(ar_builder_append_from(b[i], &schema.fields[i], &view,
                                             row));
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
