/*
 * sf_spec.c - index spec validation and (de)serialization (sf_spec.h).
 */
#include "sf_spec.h"

#include "util/alloc.h"
#include "util/doc.h"
#include "util/endian.h"
#include "util/err.h"

#include <strings.h>
#include <string.h>

infino_status sf_metric_parse(enum sf_metric *out, const char *name)
{
    if (strcasecmp(name, "cosine") == 0)
        *out = SF_METRIC_COSINE;
    else if (strcasecmp(name, "l2sq") == 0 || strcasecmp(name, "l2") == 0)
        *out = SF_METRIC_L2SQ;
    else if (strcasecmp(name, "negdot") == 0 || strcasecmp(name, "dot") == 0)
        *out = SF_METRIC_NEGDOT;
    else
        return err_set(INFINO_ERR_INVALID,
                       "unknown metric '%s'; use 'cosine', 'l2sq', 'l2', "
                       "'negdot', or 'dot'",
                       name);
    return INFINO_OK;
}

const char *sf_metric_name(enum sf_metric m)
{
    switch (m) {
    case SF_METRIC_COSINE:
        return "cosine";
    case SF_METRIC_L2SQ:
        return "l2sq";
    case SF_METRIC_NEGDOT:
        return "negdot";
    }
    return "?";
}

infino_status sf_spec_add_fts(struct sf_index_spec *s, const char *column)
{
    struct sf_fts_opts none;

    memset(&none, 0, sizeof none);
    return sf_spec_add_fts_opts(s, column, &none);
}

infino_status sf_spec_add_fts_opts(struct sf_index_spec *s,
                                   const char *column,
                                   const struct sf_fts_opts *o)
{
    char **nf;
    struct sf_fts_opts *no;
    char *c;
    infino_status st;

    if ((o->k1 != 0 || o->b != 0) &&
        (st = fts_similarity_check(o->k1, o->b)) != INFINO_OK)
        return err_context(st, "full-text column '%s'", column);
    if (o->an.stemmer != 0 && fts_lang_name(o->an.stemmer) == NULL)
        return err_set(INFINO_ERR_INVALID, "full-text column '%s': bad "
                       "stemmer", column);
    if ((nf = mem_realloc(s->fts, (s->n_fts + 1) * sizeof *nf)) == NULL)
        return err_nomem();
    s->fts = nf;
    no = mem_realloc(s->fts_opts, (s->n_fts + 1) * sizeof *no);
    if (no == NULL)
        return err_nomem();
    s->fts_opts = no;
    c = mem_strdup(column);
    if (c == NULL)
        return err_nomem();
    if ((st = fts_analysis_copy(&no[s->n_fts].an, &o->an)) != INFINO_OK) {
        mem_free(c);
        return st;
    }
    no[s->n_fts].k1 = o->k1;
    no[s->n_fts].b = o->b;
    no[s->n_fts].positions = o->positions;
    no[s->n_fts].hidden = o->hidden;
    s->fts[s->n_fts++] = c;
    return INFINO_OK;
}

infino_status sf_spec_add_vector(struct sf_index_spec *s, const char *column,
                                 uint32_t dim, uint32_t n_centroids,
                                 enum sf_metric metric)
{
    struct sf_vec_spec *nv = mem_realloc(s->vec, (s->n_vec + 1) * sizeof *nv);
    struct sf_vec_spec *v;

    if (nv == NULL)
        return err_nomem();
    s->vec = nv;
    v = &s->vec[s->n_vec];
    v->column = mem_strdup(column);
    if (v->column == NULL)
        return err_nomem();
    v->dim = dim;
    v->n_centroids = n_centroids;
    v->metric = metric;
    s->n_vec++;
    return INFINO_OK;
}

int sf_spec_fts_index(const struct sf_index_spec *s, const char *column)
{
    for (size_t i = 0; i < s->n_fts; i++)
        if (strcmp(s->fts[i], column) == 0)
            return (int)i;
    return -1;
}

int sf_spec_vec_index(const struct sf_index_spec *s, const char *column)
{
    for (size_t i = 0; i < s->n_vec; i++)
        if (strcmp(s->vec[i].column, column) == 0)
            return (int)i;
    return -1;
}

static infino_status describe(struct buf *b, const struct ar_field *f)
{
    buf_reset(b);
    return ar_type_describe(b, f);
}

infino_status sf_spec_validate(const struct sf_index_spec *s,
                               const struct ar_schema *schema)
{
    struct buf t = {0};
    infino_status st = INFINO_OK;

    for (size_t i = 0; i < s->n_fts; i++) {
        const char *c = s->fts[i];
        int fi = ar_schema_find(schema, c);
        if (fi < 0) {
            st = err_set(INFINO_ERR_INVALID,
                         "FTS column '%s' is not in the schema", c);
            goto done;
        }
        const struct ar_field *f = &schema->fields[fi];
        if (f->type != AR_UTF8 && f->type != AR_LARGE_UTF8) {
            describe(&t, f);
            st = err_set(INFINO_ERR_INVALID,
                         "FTS column '%s' must be utf8 or large_utf8; found %s",
                         c, t.data ? (char *)t.data : "?");
            goto done;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->fts[j], c) == 0) {
                st = err_set(INFINO_ERR_INVALID,
                             "FTS column '%s' is listed twice", c);
                goto done;
            }
    }
    for (size_t i = 0; i < s->n_vec; i++) {
        const struct sf_vec_spec *v = &s->vec[i];
        int fi = ar_schema_find(schema, v->column);
        if (fi < 0) {
            st = err_set(INFINO_ERR_INVALID,
                         "vector column '%s' is not in the schema", v->column);
            goto done;
        }
        const struct ar_field *f = &schema->fields[fi];
        if (v->dim < 1 || v->dim > SF_VECTOR_DIM_MAX) {
            st = err_set(INFINO_ERR_INVALID,
                         "vector column '%s': dim %u is outside [1, %u]",
                         v->column, v->dim, SF_VECTOR_DIM_MAX);
            goto done;
        }
        if (f->type != AR_FIXED_SIZE_LIST || f->n_children != 1 ||
            f->children[0].type != AR_FLOAT32 ||
            (uint32_t)f->list_size != v->dim) {
            describe(&t, f);
            st = err_set(INFINO_ERR_INVALID,
                         "vector column '%s' must be fixed_size_list<float32, "
                         "%u>; found %s",
                         v->column, v->dim, t.data ? (char *)t.data : "?");
            goto done;
        }
        if (sf_spec_fts_index(s, v->column) >= 0) {
            st = err_set(INFINO_ERR_INVALID,
                         "column '%s' cannot be both FTS and vector indexed",
                         v->column);
            goto done;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->vec[j].column, v->column) == 0) {
                st = err_set(INFINO_ERR_INVALID,
                             "vector column '%s' is listed twice", v->column);
                goto done;
            }
    }
done:
    buf_free(&t);
    return st;
}

void sf_spec_free(struct sf_index_spec *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_fts; i++) {
        mem_free(s->fts[i]);
        fts_analysis_free(&s->fts_opts[i].an);
    }
    mem_free(s->fts);
    mem_free(s->fts_opts);
    for (size_t i = 0; i < s->n_vec; i++)
        mem_free(s->vec[i].column);
    mem_free(s->vec);
    memset(s, 0, sizeof *s);
}

infino_status sf_spec_copy(struct sf_index_spec *out,
                           const struct sf_index_spec *s)
{
    infino_status st = INFINO_OK;

    memset(out, 0, sizeof *out);
    for (size_t i = 0; st == INFINO_OK && i < s->n_fts; i++)
        st = sf_spec_add_fts_opts(out, s->fts[i], &s->fts_opts[i]);
    for (size_t i = 0; st == INFINO_OK && i < s->n_vec; i++)
        st = sf_spec_add_vector(out, s->vec[i].column, s->vec[i].dim,
                                s->vec[i].n_centroids, s->vec[i].metric);
    if (st != INFINO_OK)
        sf_spec_free(out);
    return st;
}

infino_status sf_spec_encode(struct buf *out, const struct sf_index_spec *s)
{
    infino_status st = buf_put_uvarint(out, s->n_fts);

    for (size_t i = 0; st == INFINO_OK && i < s->n_fts; i++)
        st = doc_put_bytes(out, s->fts[i], strlen(s->fts[i]));
    if (st == INFINO_OK)
        st = buf_put_uvarint(out, s->n_vec);
    for (size_t i = 0; st == INFINO_OK && i < s->n_vec; i++) {
        const struct sf_vec_spec *v = &s->vec[i];
        st = doc_put_bytes(out, v->column, strlen(v->column));
        if (st == INFINO_OK)
            st = buf_put_uvarint(out, v->dim);
        if (st == INFINO_OK)
            st = buf_put_uvarint(out, v->n_centroids);
        if (st == INFINO_OK)
            st = buf_put_uvarint(out, (uint64_t)v->metric);
    }
    if (st == INFINO_OK)
        st = buf_put_uvarint(out, s->n_fts);
    for (size_t i = 0; st == INFINO_OK && i < s->n_fts; i++) {
        uint8_t f[16];
        st = fts_analysis_encode(out, &s->fts_opts[i].an);
        uint64_t k1, b;
        memcpy(&k1, &s->fts_opts[i].k1, 8);
        memcpy(&b, &s->fts_opts[i].b, 8);
        store_u64le(f, k1);
        store_u64le(f + 8, b);
        if (st == INFINO_OK)
            st = buf_append(out, f, sizeof f);
    }
    /* Flags per column (bit 0 positions, bit 1 hidden), written only when
     * one is set so that a spec without them stays byte-identical. */
    bool any = false;
    for (size_t i = 0; i < s->n_fts; i++)
        any |= s->fts_opts[i].positions || s->fts_opts[i].hidden;
    if (st == INFINO_OK && any)
        st = buf_put_uvarint(out, s->n_fts);
    for (size_t i = 0; st == INFINO_OK && any && i < s->n_fts; i++)
        st = buf_put_uvarint(out, (s->fts_opts[i].positions ? 1u : 0u) |
                                      (s->fts_opts[i].hidden ? 2u : 0u));
    return st;
}

static infino_status get_name(struct rd *r, char **out)
{
    const uint8_t *p;
    size_t n;

    if (doc_get_bytes(r, &p, &n) != 0 || n == 0 || memchr(p, 0, n))
        return err_set(INFINO_ERR_CORRUPT, "index spec: bad column name");
    *out = mem_strndup((const char *)p, n);
    return *out ? INFINO_OK : err_nomem();
}

infino_status sf_spec_decode(struct sf_index_spec *out, struct rd *r)
{
    infino_status st = INFINO_OK;
    uint64_t n, dim, nc, metric;
    char *name = NULL;

    memset(out, 0, sizeof *out);
    if (rd_uvarint(r, &n) != 0 || n > rd_left(r))
        return err_set(INFINO_ERR_CORRUPT, "index spec: bad FTS count");
    for (uint64_t i = 0; i < n; i++) {
        CHECK(get_name(r, &name));
        CHECK(sf_spec_add_fts(out, name));
        mem_free(name);
        name = NULL;
    }
    if (rd_uvarint(r, &n) != 0 || n > rd_left(r)) {
        st = err_set(INFINO_ERR_CORRUPT, "index spec: bad vector count");
        goto fail;
    }
    for (uint64_t i = 0; i < n; i++) {
        CHECK(get_name(r, &name));
        if (rd_uvarint(r, &dim) != 0 || rd_uvarint(r, &nc) != 0 ||
            rd_uvarint(r, &metric) != 0 || dim == 0 ||
            dim > SF_VECTOR_DIM_MAX || nc > UINT32_MAX ||
            metric < SF_METRIC_COSINE || metric > SF_METRIC_NEGDOT) {
            st = err_set(INFINO_ERR_CORRUPT, "index spec: bad vector entry");
            goto fail;
        }
        CHECK(sf_spec_add_vector(out, name, (uint32_t)dim, (uint32_t)nc,
                                 (enum sf_metric)metric));
        mem_free(name);
        name = NULL;
    }
    if (rd_left(r) == 0)
        return INFINO_OK; /* written before analyzers: zeroed options */
    if (rd_uvarint(r, &n) != 0 || n != out->n_fts) {
        st = err_set(INFINO_ERR_CORRUPT, "index spec: bad full-text options");
        goto fail;
    }
    for (size_t i = 0; i < out->n_fts; i++) {
        struct sf_fts_opts *o = &out->fts_opts[i];
        const uint8_t *f;
        CHECK(fts_analysis_decode(&o->an, r));
        uint64_t k1, b;
        if (rd_bytes(r, 16, &f) != 0) {
            st = err_set(INFINO_ERR_CORRUPT, "index spec: truncated options");
            goto fail;
        }
        k1 = load_u64le(f);
        b = load_u64le(f + 8);
        memcpy(&o->k1, &k1, 8);
        memcpy(&o->b, &b, 8);
        if ((o->k1 != 0 || o->b != 0) &&
            fts_similarity_check(o->k1, o->b) != INFINO_OK) {
            st = err_set(INFINO_ERR_CORRUPT, "index spec: bad k1/b for '%s'",
                         out->fts[i]);
            goto fail;
        }
    }
    if (rd_left(r) == 0)
        return INFINO_OK; /* no column has flags */
    if (rd_uvarint(r, &n) != 0 || n != out->n_fts) {
        st = err_set(INFINO_ERR_CORRUPT, "index spec: bad full-text flags");
        goto fail;
    }
    for (size_t i = 0; i < out->n_fts; i++) {
        uint64_t fl;
        if (rd_uvarint(r, &fl) != 0 || fl > 3) {
            st = err_set(INFINO_ERR_CORRUPT, "index spec: bad flags for '%s'",
                         out->fts[i]);
            goto fail;
        }
        out->fts_opts[i].positions = (fl & 1) != 0;
        out->fts_opts[i].hidden = (fl & 2) != 0;
    }
    return INFINO_OK;
fail:
    mem_free(name);
    sf_spec_free(out);
    return st;
}
