/*
 * sf_build.c - rows in, superfile out (sf_build.h).
 *
 * Each batch goes to the Parquet writer and, column by column, to the
 * index writers: text cells to one FTS writer per full-text column, float
 * rows to one IVF builder per vector column. The _id column (decimal128,
 * field 0) is summarised as runs of consecutive ids for the "ids" region,
 * which turns a local row number into its _id without reading Parquet.
 */
#include "sf_build.h"

#include "sf_index.h"

#include "index/fts/fts.h"
#include "index/vector/ivf.h"
#include "util/alloc.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/tpool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BUDGET (256u << 20)
#define VECTOR_SEED 0x5EED5EED5EED5EEDull

struct sf_builder {
    struct sf_writer *w;
    struct ar_schema schema;
    struct sf_index_spec spec;
    int *fts_field; /* schema field index per FTS column */
    int *vec_field; /* schema field index per vector column */
    struct fts_writer **fts;
    struct ivf_builder **ivf;
    roaring_bitmap_t **vec_nulls; /* rows whose vector is null */
    float *zeros;                 /* stand-in for null vectors */
    struct buf runs;              /* ids region body: runs of ids */
    uint64_t n_runs;
    struct tid last_id;
    uint64_t n_rows;
};

static uint64_t budget_share(const struct sf_build_opts *opts, size_t parts)
{
    uint64_t total = opts && opts->mem_budget ? opts->mem_budget
                                              : DEFAULT_BUDGET;
    return parts ? total / parts : total;
}

infino_status sf_builder_open(struct sf_builder **out, struct store_sink *sink,
                              const struct ar_schema *schema,
                              const struct sf_index_spec *spec,
                              const struct sf_build_opts *opts)
{
    struct sf_builder *b = mem_calloc(1, sizeof *b);
    struct pq_write_opts pq = PQ_WRITE_OPTS_INIT;
    size_t parts = spec->n_fts + spec->n_vec;
    uint32_t max_dim = 1;
    infino_status st;

    *out = NULL;
    if (b == NULL)
        return err_nomem();
    CHECK(ar_schema_copy(&b->schema, schema));
    CHECK(sf_spec_copy(&b->spec, spec));
    b->fts_field = mem_calloc(spec->n_fts + 1, sizeof *b->fts_field);
    b->vec_field = mem_calloc(spec->n_vec + 1, sizeof *b->vec_field);
    b->fts = mem_calloc(spec->n_fts + 1, sizeof *b->fts);
    b->ivf = mem_calloc(spec->n_vec + 1, sizeof *b->ivf);
    b->vec_nulls = mem_calloc(spec->n_vec + 1, sizeof *b->vec_nulls);
    if (!b->fts_field || !b->vec_field || !b->fts || !b->ivf ||
        !b->vec_nulls) {
        st = err_nomem();
        goto fail;
    }
    for (size_t i = 0; i < spec->n_fts; i++) {
        struct fts_writer_opts fo = {0};
        b->fts_field[i] = ar_schema_find(schema, spec->fts[i]);
        fo.mem_budget = (size_t)budget_share(opts, parts);
        fo.spill_dir = opts ? opts->tmp_dir : NULL;
        fo.analysis = &spec->fts_opts[i].an;
        fo.positions = spec->fts_opts[i].positions;
        CHECK(fts_writer_new(&b->fts[i], &fo));
    }
    for (size_t i = 0; i < spec->n_vec; i++) {
        const struct sf_vec_spec *v = &spec->vec[i];
        struct ivf_build_opts io = IVF_BUILD_OPTS_INIT;
        b->vec_field[i] = ar_schema_find(schema, v->column);
        io.dim = v->dim;
        io.metric = sf_metric_to_ivf(v->metric);
        io.n_clusters = v->n_centroids;
        io.seed = VECTOR_SEED ^ hash64(v->column, strlen(v->column));
        io.mem_budget = (size_t)budget_share(opts, parts);
        io.tmp_dir = opts && opts->tmp_dir ? opts->tmp_dir : getenv("TMPDIR");
        if (io.tmp_dir == NULL)
            io.tmp_dir = "/tmp";
        st = ivf_builder_new(&b->ivf[i], &io);
        if (st != INFINO_OK) {
            err_context(st, "column '%s'", v->column);
            goto fail;
        }
        if (v->dim > max_dim)
            max_dim = v->dim;
    }
    b->zeros = mem_calloc(max_dim, sizeof(float));
    if (b->zeros == NULL) {
        st = err_nomem();
        goto fail;
    }
    if (opts)
        pq = opts->pq;
    CHECK(sf_writer_open(&b->w, sink, schema, &pq));
    *out = b;
    return INFINO_OK;
fail:
    sf_builder_free(b);
    return st;
}

static infino_status add_text(struct sf_builder *b, size_t i,
                              const struct ArrowArray *col, int64_t n)
{
    const struct ar_field *f = &b->schema.fields[b->fts_field[i]];
    bool large = f->type == AR_LARGE_UTF8;
    const uint8_t *data = col->buffers[2];
    infino_status st;

    for (int64_t r = 0; r < n; r++) {
        int64_t j = r + col->offset, s, e;
        uint32_t doc = (uint32_t)(b->n_rows + (uint64_t)r);
        if (!ar_array_is_valid(col, r))
            continue; /* a null is an empty document */
        if (large) {
            s = ((const int64_t *)col->buffers[1])[j];
            e = ((const int64_t *)col->buffers[1])[j + 1];
        } else {
            s = ((const int32_t *)col->buffers[1])[j];
            e = ((const int32_t *)col->buffers[1])[j + 1];
        }
        st = fts_writer_add(b->fts[i], doc, data + s, (size_t)(e - s));
        if (st != INFINO_OK)
            return err_context(st, "indexing column '%s' at row %llu",
                               f->name, (unsigned long long)doc);
    }
    return INFINO_OK;
}

static infino_status add_vectors(struct sf_builder *b, size_t i,
                                 const struct ArrowArray *col, int64_t n)
{
    const struct sf_vec_spec *v = &b->spec.vec[i];
    const struct ArrowArray *child = col->children[0];
    const float *vals = (const float *)child->buffers[1] + child->offset +
                        (size_t)col->offset * v->dim;
    int64_t r = 0;
    infino_status st;

    while (r < n) {
        /* Runs of valid rows go in one call; a null row adds zeros and is
         * remembered so searches never return it. */
        int64_t e = r;
        while (e < n && ar_array_is_valid(col, e))
            e++;
        if (e > r) {
            st = ivf_builder_add(b->ivf[i], vals + (size_t)r * v->dim,
                                 (size_t)(e - r));
            if (st != INFINO_OK)
                return err_context(st, "column '%s' near row %llu",
                                   v->column,
                                   (unsigned long long)(b->n_rows +
                                                        (uint64_t)r));
            r = e;
            continue;
        }
        if (b->vec_nulls[i] == NULL &&
            (b->vec_nulls[i] = roaring_bitmap_create()) == NULL)
            return err_nomem();
        roaring_bitmap_add(b->vec_nulls[i], (uint32_t)(b->n_rows + (uint64_t)r));
        st = ivf_builder_add(b->ivf[i], b->zeros, 1);
        if (st != INFINO_OK)
            return st;
        r++;
    }
    return INFINO_OK;
}

/* Extends the id runs with the _id column (field 0) of a batch. */
static infino_status add_ids(struct sf_builder *b, const struct ArrowArray *col,
                             int64_t n)
{
    const uint8_t *v = (const uint8_t *)col->buffers[1] + (size_t)col->offset * 16;
    infino_status st;

    for (int64_t r = 0; r < n; r++) {
        struct tid id = tid_load(v + (size_t)r * 16);
        uint64_t row = b->n_rows + (uint64_t)r;
        bool continues = row > 0 && id.hi == b->last_id.hi &&
                         b->last_id.lo != UINT64_MAX &&
                         id.lo == b->last_id.lo + 1;
        if (!continues) {
            CHECK(buf_put_u64le(&b->runs, row));
            CHECK(buf_put_u64le(&b->runs, id.hi));
            CHECK(buf_put_u64le(&b->runs, id.lo));
            b->n_runs++;
        }
        b->last_id = id;
    }
    return INFINO_OK;
fail:
    return st;
}

/* Piece i of adding a batch: 0 encodes it into Parquet (and extends the
 * id runs), 1 .. n_fts index its full-text columns, the rest its vector
 * columns. Pieces touch disjoint state, so they may run at once. */
static infino_status add_piece(struct sf_builder *b,
                               const struct ArrowArray *batch, size_t i)
{
    int64_t n = batch->length;
    struct ArrowArray view;
    infino_status st = INFINO_OK;

    if (i == 0) {
        if (b->schema.n_fields > 0 &&
            b->schema.fields[0].type == AR_DECIMAL128 &&
            strcmp(b->schema.fields[0].name, "_id") == 0) {
            view = *batch->children[0];
            view.offset += batch->offset;
            CHECK(add_ids(b, &view, n));
        }
        return sf_writer_write(b->w, batch);
    }
    if (--i < b->spec.n_fts) {
        view = *batch->children[b->fts_field[i]];
        view.offset += batch->offset;
        return add_text(b, i, &view, n);
    }
    i -= b->spec.n_fts;
    view = *batch->children[b->vec_field[i]];
    view.offset += batch->offset;
    return add_vectors(b, i, &view, n);
fail:
    return st;
}

/* Rows in a batch below which indexing it beside its Parquet encoding is
 * not worth waking the worker pool. */
#define PAR_MIN_ROWS 4096

struct add_job {
    struct sf_builder *b;
    const struct ArrowArray *batch;
    const volatile sig_atomic_t *flag; /* the caller's interrupt flag */
    struct err_saved *res; /* per piece, from the thread that ran it */
};

static void add_job_piece(void *arg, size_t i)
{
    struct add_job *j = arg;
    const volatile sig_atomic_t *own = cancel_watched();

    /* a worker polls the caller's flag while it works for it */
    cancel_watch(j->flag);
    err_save(&j->res[i], add_piece(j->b, j->batch, i));
    cancel_watch(own);
}

infino_status sf_builder_add(struct sf_builder *b,
                             const struct ArrowArray *batch)
{
    int64_t n = batch->length;
    size_t pieces = 1 + b->spec.n_fts + b->spec.n_vec;
    struct add_job j = {b, batch, cancel_watched(), NULL};
    infino_status st = INFINO_OK;

    if ((uint64_t)n > UINT32_MAX - 1 - b->n_rows)
        return err_set(INFINO_ERR_INVALID,
                       "a superfile holds at most 2^32 - 2 rows");
    /* A large batch with indexes: its columns are indexed on the worker
     * pool while the Parquet writer encodes and compresses it. The first
     * failure in piece order is reported (an index's, e.g. a NaN vector,
     * before the writer's); nothing is committed until the whole file is
     * done, so work the other pieces did is simply dropped with the
     * builder. */
    if (pieces > 1 && n >= PAR_MIN_ROWS && tpool_threads() > 1 &&
        (j.res = mem_calloc(pieces, sizeof *j.res)) != NULL) {
        tpool_run(pieces, add_job_piece, &j);
        for (size_t k = 1; k <= pieces && st == INFINO_OK; k++)
            st = err_restore(&j.res[k % pieces]);
        mem_free(j.res);
    } else {
        /* Indexes first: they are where a bad value (a NaN vector) shows
         * up. */
        for (size_t k = 1; k <= pieces && st == INFINO_OK; k++)
            st = add_piece(b, batch, k % pieces);
    }
    if (st == INFINO_OK)
        b->n_rows += (uint64_t)n;
    return st;
}

uint64_t sf_builder_num_rows(const struct sf_builder *b)
{
    return b->n_rows;
}

static infino_status write_ids(struct sf_builder *b)
{
    struct buf hdr = {0};
    struct store_sink *sink = sf_writer_sink(b->w);
    infino_status st;

    CHECK(buf_append(&hdr, SF_IDS_MAGIC, 8));
    CHECK(buf_put_u64le(&hdr, b->n_rows));
    CHECK(buf_put_u64le(&hdr, b->n_runs));
    CHECK(sf_writer_region_begin(b->w, SF_REGION_IDS));
    CHECK(store_sink_write(sink, hdr.data, hdr.len));
    CHECK(store_sink_write(sink, b->runs.data, b->runs.len));
    CHECK(sf_writer_region_end(b->w));
fail:
    buf_free(&hdr);
    return st;
}

infino_status sf_builder_finish(struct sf_builder *b,
                                struct sf_build_info *out)
{
    struct store_sink *sink = sf_writer_sink(b->w);
    char name[SF_REGION_NAME_MAX + 1];
    infino_status st;

    memset(out, 0, sizeof *out);
    out->fts_tokens = mem_calloc(b->spec.n_fts + 1, sizeof *out->fts_tokens);
    if (out->fts_tokens == NULL)
        return err_nomem();
    out->n_fts = b->spec.n_fts;
    /* Index regions can take a while: poll the caller's interrupt flag
     * before each one (the index writers also poll inside). */
    for (size_t i = 0; i < b->spec.n_fts; i++) {
        struct fts_region_info info;
        CHECK(cancel_check("building the full-text index"));
        snprintf(name, sizeof name, "%s%zu", SF_REGION_FTS_PREFIX, i);
        CHECK(sf_writer_region_begin(b->w, name));
        st = fts_writer_finish(b->fts[i], sink, (uint32_t)b->n_rows, &info,
                               NULL);
        if (st != INFINO_OK) {
            err_context(st, "indexing column '%s'", b->spec.fts[i]);
            goto fail;
        }
        CHECK(sf_writer_region_end(b->w));
        out->fts_tokens[i] = info.total_tokens;
    }
    for (size_t i = 0; i < b->spec.n_vec; i++) {
        CHECK(cancel_check("building the vector index"));
        snprintf(name, sizeof name, "%s%zu", SF_REGION_IVF_PREFIX, i);
        CHECK(sf_writer_region_begin(b->w, name));
        st = ivf_builder_finish(b->ivf[i], sink, NULL);
        if (st != INFINO_OK) {
            err_context(st, "indexing column '%s'", b->spec.vec[i].column);
            goto fail;
        }
        CHECK(sf_writer_region_end(b->w));
        if (b->vec_nulls[i]) {
            size_t n = roaring_bitmap_portable_size_in_bytes(b->vec_nulls[i]);
            char *bits = mem_alloc(n);
            if (bits == NULL) {
                st = err_nomem();
                goto fail;
            }
            roaring_bitmap_portable_serialize(b->vec_nulls[i], bits);
            snprintf(name, sizeof name, "%s%zu", SF_REGION_IVF_NULLS_PREFIX, i);
            st = sf_writer_add_region(b->w, name, bits, n);
            mem_free(bits);
            if (st != INFINO_OK)
                goto fail;
        }
    }
    if (b->n_runs > 0)
        CHECK(write_ids(b));
    CHECK(cancel_check("writing the superfile"));
    CHECK(sf_writer_finish(b->w));
    out->n_rows = b->n_rows;
    return INFINO_OK;
fail:
    sf_build_info_free(out);
    return st;
}

void sf_build_info_free(struct sf_build_info *info)
{
    if (info == NULL)
        return;
    mem_free(info->fts_tokens);
    memset(info, 0, sizeof *info);
}

void sf_builder_free(struct sf_builder *b)
{
    if (b == NULL)
        return;
    sf_writer_free(b->w);
    for (size_t i = 0; b->fts && i < b->spec.n_fts; i++)
        fts_writer_free(b->fts[i]);
    for (size_t i = 0; b->ivf && i < b->spec.n_vec; i++) {
        ivf_builder_free(b->ivf[i]);
        if (b->vec_nulls && b->vec_nulls[i])
            roaring_bitmap_free(b->vec_nulls[i]);
    }
    ar_schema_free(&b->schema);
    sf_spec_free(&b->spec);
    mem_free(b->fts_field);
    mem_free(b->vec_field);
    mem_free(b->fts);
    mem_free(b->ivf);
    mem_free(b->vec_nulls);
    mem_free(b->zeros);
    buf_free(&b->runs);
    mem_free(b);
}
