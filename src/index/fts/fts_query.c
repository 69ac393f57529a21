/*
 * fts_query.c - query parsing and the per-region statistics a caller sums
 * into table-global BM25 statistics.
 *
 * A query is two sorted sets of normalized terms. Sorting makes the query
 * (and the df array indexed by it) independent of how the user ordered or
 * repeated words; scores do not depend on it either (see fts.h).
 */
#include "fts_int.h"

#include "util/alloc.h"
#include "util/err.h"

#include <string.h>

infino_status fts_query_new(struct fts_query **out)
{
    *out = mem_calloc(1, sizeof **out);
    return *out == NULL ? err_nomem() : INFINO_OK;
}

void fts_query_free(struct fts_query *q)
{
    if (q == NULL)
        return;
    for (size_t i = 0; i < q->n_pos; i++)
        mem_free(q->pos[i].bytes);
    for (size_t i = 0; i < q->n_neg; i++)
        mem_free(q->neg[i].bytes);
    mem_free(q->pos);
    mem_free(q->neg);
    mem_free(q);
}

static int cmp_bytes(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);

    if (c != 0)
        return c;
    return na < nb ? -1 : na > nb;
}

/* Inserts a copy of term into the sorted set (v, n, cap) unless present. */
static infino_status set_add(struct fts_qterm **v, size_t *n, size_t *cap,
                             const uint8_t *term, size_t len)
{
    size_t lo = 0, hi = *n;
    uint8_t *copy;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_bytes((*v)[mid].bytes, (*v)[mid].len, term, len);
        if (c == 0)
            return INFINO_OK;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (*n >= FTS_MAX_QUERY_TERMS)
        return err_set(INFINO_ERR_INVALID, "query has more than %d terms",
                       FTS_MAX_QUERY_TERMS);
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 8;
        struct fts_qterm *nv = mem_realloc(*v, nc * sizeof *nv);
        if (nv == NULL)
            return err_nomem();
        *v = nv;
        *cap = nc;
    }
    copy = mem_alloc(len);
    if (copy == NULL)
        return err_nomem();
    memcpy(copy, term, len);
    memmove(*v + lo + 1, *v + lo, (*n - lo) * sizeof **v);
    (*v)[lo].bytes = copy;
    (*v)[lo].len = len;
    (*n)++;
    return INFINO_OK;
}

infino_status fts_query_add_term(struct fts_query *q, const uint8_t *term,
                                 size_t len, bool negative)
{
    if (len == 0 || len > FTS_MAX_TOKEN_LEN)
        return err_set(INFINO_ERR_INVALID, "query term of %zu bytes", len);
    if (negative)
        return set_add(&q->neg, &q->n_neg, &q->neg_cap, term, len);
    return set_add(&q->pos, &q->n_pos, &q->pos_cap, term, len);
}

static infino_status add_pos(const uint8_t *t, size_t len, void *payload)
{
    return fts_query_add_term(payload, t, len, false);
}

static infino_status add_neg(const uint8_t *t, size_t len, void *payload)
{
    return fts_query_add_term(payload, t, len, true);
}

infino_status fts_query_add_text(struct fts_query *q, const char *text,
                                 size_t len, bool negative)
{
    struct fts_tokenizer *tk = NULL;
    infino_status st;

    CHECK(fts_tokenizer_new(&tk));
    CHECK(fts_tokenize(tk, text, len, negative ? add_neg : add_pos, q));
    fts_tokenizer_free(tk);
    return INFINO_OK;
fail:
    fts_tokenizer_free(tk);
    return st;
}

infino_status fts_query_check(const struct fts_query *q)
{
    if (q->n_pos == 0 && q->n_neg > 0)
        return err_set(INFINO_ERR_INVALID,
                       "query has only negated terms; at least one positive "
                       "term is required");
    return INFINO_OK;
}

infino_status fts_query_parse(struct fts_query **out, const char *text,
                              size_t len)
{
    const uint8_t *p = (const uint8_t *)text, *end = p;
    struct fts_tokenizer *tk = NULL;
    struct fts_query *q = NULL;
    infino_status st;

    *out = NULL;
    if (len > 0) /* text may be NULL when len is 0 */
        end = p + len;
    CHECK(fts_query_new(&q));
    CHECK(fts_tokenizer_new(&tk));
    while (p < end) {
        const uint8_t *s;
        size_t l = 0;
        int32_t cp;

        /* skip white space; an invalid byte is not space */
        while (p < end && (l = fts_utf8_next(p, (size_t)(end - p), &cp)) &&
               fts_is_space(cp))
            p += l;
        if (p == end)
            break;
        s = p;
        while (p < end) {
            l = fts_utf8_next(p, (size_t)(end - p), &cp);
            if (l != 0 && fts_is_space(cp))
                break;
            p += l ? l : 1;
        }
        if (*s == '-' && p - s > 1)
            CHECK(fts_tokenize(tk, s + 1, (size_t)(p - s - 1), add_neg, q));
        else
            CHECK(fts_tokenize(tk, s, (size_t)(p - s), add_pos, q));
    }
    CHECK(fts_query_check(q));
    fts_tokenizer_free(tk);
    *out = q;
    return INFINO_OK;
fail:
    fts_tokenizer_free(tk);
    fts_query_free(q);
    return st;
}

size_t fts_query_n_terms(const struct fts_query *q)
{
    return q->n_pos;
}

const uint8_t *fts_query_term(const struct fts_query *q, size_t i,
                              size_t *len_out)
{
    *len_out = q->pos[i].len;
    return q->pos[i].bytes;
}

size_t fts_query_n_negatives(const struct fts_query *q)
{
    return q->n_neg;
}

infino_status fts_query_add_local_df(uint64_t *df, const struct fts_reader *r,
                                     const struct fts_query *q)
{
    infino_status st;

    for (size_t i = 0; i < q->n_pos; i++) {
        struct fts_term_info ti;
        bool found;
        CHECK(fts_dict_find(&ti, &found, r, q->pos[i].bytes, q->pos[i].len));
        if (found)
            df[i] += ti.df;
    }
    return INFINO_OK;
fail:
    return st;
}

void fts_doc_ids_free(struct fts_doc_ids *v)
{
    if (v == NULL)
        return;
    mem_free(v->ids);
    v->ids = NULL;
    v->n = v->cap = 0;
}
