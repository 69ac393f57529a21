/*
 * sf_build.c - rows in, superfile out (sf_build.h).
 */
#include "sf_build.h"

#include "util/alloc.h"
#include "util/err.h"

#include <string.h>

struct sf_builder {
    struct sf_writer *w;
    struct ar_schema schema;
    struct sf_index_spec spec;
    int *fts_field; /* schema field index per FTS column */
    int *vec_field; /* schema field index per vector column */
    uint64_t *fts_tokens;
    uint64_t n_rows;
};

infino_status sf_builder_open(struct sf_builder **out, struct store_sink *sink,
                              const struct ar_schema *schema,
                              const struct sf_index_spec *spec,
                              const struct sf_build_opts *opts)
{
    struct sf_builder *b = mem_calloc(1, sizeof *b);
    struct pq_write_opts pq = PQ_WRITE_OPTS_INIT;
    infino_status st;

    *out = NULL;
    if (b == NULL)
        return err_nomem();
    CHECK(ar_schema_copy(&b->schema, schema));
    CHECK(sf_spec_copy(&b->spec, spec));
    b->fts_field = mem_calloc(spec->n_fts + 1, sizeof *b->fts_field);
    b->vec_field = mem_calloc(spec->n_vec + 1, sizeof *b->vec_field);
    b->fts_tokens = mem_calloc(spec->n_fts + 1, sizeof *b->fts_tokens);
    if (!b->fts_field || !b->vec_field || !b->fts_tokens) {
        st = err_nomem();
        goto fail;
    }
    for (size_t i = 0; i < spec->n_fts; i++)
        b->fts_field[i] = ar_schema_find(schema, spec->fts[i]);
    for (size_t i = 0; i < spec->n_vec; i++)
        b->vec_field[i] = ar_schema_find(schema, spec->vec[i].column);
    CHECK(sf_writer_open(&b->w, sink, schema, opts ? &opts->pq : &pq));
    *out = b;
    return INFINO_OK;
fail:
    sf_builder_free(b);
    return st;
}

infino_status sf_builder_add(struct sf_builder *b,
                             const struct ArrowArray *batch)
{
    infino_status st = sf_writer_write(b->w, batch);

    if (st == INFINO_OK)
        b->n_rows += (uint64_t)batch->length;
    return st;
}

uint64_t sf_builder_num_rows(const struct sf_builder *b)
{
    return b->n_rows;
}

infino_status sf_builder_finish(struct sf_builder *b,
                                struct sf_build_info *out)
{
    infino_status st;

    memset(out, 0, sizeof *out);
    CHECK(sf_writer_finish(b->w));
    out->fts_tokens = mem_calloc(b->spec.n_fts + 1, sizeof *out->fts_tokens);
    if (out->fts_tokens == NULL) {
        st = err_nomem();
        goto fail;
    }
    memcpy(out->fts_tokens, b->fts_tokens, b->spec.n_fts * sizeof(uint64_t));
    out->n_fts = b->spec.n_fts;
    out->n_rows = b->n_rows;
    return INFINO_OK;
fail:
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
    ar_schema_free(&b->schema);
    sf_spec_free(&b->spec);
    mem_free(b->fts_field);
    mem_free(b->vec_field);
    mem_free(b->fts_tokens);
    mem_free(b);
}
