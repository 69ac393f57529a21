/*
 * fts_phrase.c - phrase queries (fts.h, "phrases"): counting a phrase's
 * occurrences in a text, and evaluating a query that holds phrases.
 *
 * A region keeps no token positions, so a phrase is found in two steps:
 * the postings give the docs holding every token of the phrase, and the
 * caller reads those docs' text, which fts_phrase_count() tokenizes again
 * with the column's analysis to see where the tokens stand. The
 * re-tokenization is exactly the indexing one, so a phrase matches where
 * the tokens were indexed, whatever the analyzer, stop words or stemmer.
 *
 * Evaluation is exhaustive over the postings of the query's terms (like a
 * prefix search): clauses are few and phrases rarely the hot path, while a
 * dense accumulator keeps the scoring of plain terms bit-identical to
 * fts_search() (same fixed-point sums, fts_int.h).
 */
#include "fts_int.h"

#include "util/alloc.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

/* ---- counting in one text ------------------------------------------------ */

struct ptok {
    size_t off, len; /* in bytes */
    uint32_t pos;
};

struct fts_phrase_matcher {
    struct fts_tokenizer *tk;
    struct ptok *v; /* the text's tokens, in order */
    size_t n, cap;
    uint8_t *bytes;
    size_t n_bytes, bytes_cap;
    int32_t *at; /* token index at each position, -1: none */
    size_t at_cap;
};

infino_status fts_phrase_matcher_new(struct fts_phrase_matcher **out,
                                     const struct fts_analysis *a)
{
    struct fts_phrase_matcher *m = mem_calloc(1, sizeof *m);
    infino_status st;

    *out = NULL;
    if (m == NULL)
        return err_nomem();
    if ((st = fts_tokenizer_new(&m->tk, a)) != INFINO_OK) {
        mem_free(m);
        return st;
    }
    *out = m;
    return INFINO_OK;
}

void fts_phrase_matcher_free(struct fts_phrase_matcher *m)
{
    if (m == NULL)
        return;
    fts_tokenizer_free(m->tk);
    mem_free(m->v);
    mem_free(m->bytes);
    mem_free(m->at);
    mem_free(m);
}

static infino_status keep_token(const uint8_t *t, size_t len, void *payload)
{
    struct fts_phrase_matcher *m = payload;

    if (MEM_RESERVE(m->v, m->cap, m->n + 1) ||
        len > SIZE_MAX - m->n_bytes ||
        MEM_RESERVE(m->bytes, m->bytes_cap, m->n_bytes + len))
        return err_nomem();
    memcpy(m->bytes + m->n_bytes, t, len);
    m->v[m->n].off = m->n_bytes;
    m->v[m->n].len = len;
    m->v[m->n].pos = fts_tokenizer_position(m->tk);
    m->n_bytes += len;
    m->n++;
    return INFINO_OK;
}

static bool tok_is(const struct fts_phrase_matcher *m, size_t i,
                   const struct fts_qterm *t)
{
    return m->v[i].len == t->len &&
           memcmp(m->bytes + m->v[i].off, t->bytes, t->len) == 0;
}

infino_status fts_phrase_count(uint32_t *pf, struct fts_phrase_matcher *m,
                               const struct fts_query *q, size_t i,
                               const void *text, size_t len)
{
    const struct fts_qphrase *ph = &q->phrases[i];
    uint32_t span = ph->rel[ph->n - 1], n_pos;
    infino_status st;

    *pf = 0;
    m->n = m->n_bytes = 0;
    CHECK(fts_tokenize_positions(m->tk, text, len, keep_token, m));
    if (m->n < ph->n)
        return INFINO_OK;
    /* positions only grow, so the last token's is the largest */
    n_pos = m->v[m->n - 1].pos + 1;
    if (MEM_RESERVE(m->at, m->at_cap, n_pos))
        return err_nomem();
    for (uint32_t p = 0; p < n_pos; p++)
        m->at[p] = -1;
    for (size_t j = 0; j < m->n; j++)
        m->at[m->v[j].pos] = (int32_t)j;
    for (size_t j = 0; j < m->n; j++) {
        uint32_t p0 = m->v[j].pos;
        size_t k = 1;
        if (!tok_is(m, j, &ph->tok[0]) || span > n_pos - 1 - p0)
            continue;
        while (k < ph->n && m->at[p0 + ph->rel[k]] >= 0 &&
               tok_is(m, (size_t)m->at[p0 + ph->rel[k]], &ph->tok[k]))
            k++;
        if (k == ph->n && *pf < UINT32_MAX)
            (*pf)++;
    }
    return INFINO_OK;
fail:
    return st;
}

/* ---- evaluating a query with phrases --------------------------------------- */

struct eval {
    const struct fts_reader *r;
    const struct fts_global_stats *gs;
    struct fts_bm25 bm;
    double w;       /* the current term's weight */
    int64_t *acc;   /* per doc, fixed point; NULL when not scoring */
    uint32_t *hits; /* per doc: positive clauses matched */
    uint64_t *excl; /* per doc bit: negated or deleted */
};

static bool excluded(const struct eval *e, uint32_t doc)
{
    return (e->excl[doc / 64] >> (doc % 64)) & 1;
}

static infino_status add_posting(uint32_t doc, uint32_t tf, void *payload)
{
    struct eval *e = payload;

    if (doc >= e->r->n_docs)
        return err_set(INFINO_ERR_CORRUPT, "%s: posting past the last doc",
                       fts_reader_name(e->r));
    e->hits[doc]++;
    if (e->acc != NULL)
        e->acc[doc] += fts_fixed(fts_bm25_term(&e->bm, e->w, tf,
                                               fts_dl(e->r, doc)));
    return INFINO_OK;
}

static infino_status exclude_posting(uint32_t doc, uint32_t tf, void *payload)
{
    struct eval *e = payload;

    (void)tf;
    if (doc >= e->r->n_docs)
        return err_set(INFINO_ERR_CORRUPT, "%s: posting past the last doc",
                       fts_reader_name(e->r));
    e->excl[doc / 64] |= (uint64_t)1 << (doc % 64);
    return INFINO_OK;
}

/* Looks term up; *found false when the region lacks it. */
static infino_status lookup(struct fts_term_info *ti, bool *found,
                            const struct fts_reader *r, const uint8_t *term,
                            size_t len)
{
    infino_status st = fts_reader_lookup(ti, r, term, len);

    *found = st == INFINO_OK;
    if (st == INFINO_ERR_NOTFOUND) {
        err_clear();
        return INFINO_OK;
    }
    return st;
}

/* The idf of positive term `i` from the caller's global df. */
static infino_status term_idf(double *out, const struct eval *e, size_t i,
                              uint32_t local_df)
{
    uint64_t df = e->gs->df[i];

    if (df < local_df || df > e->gs->n_docs)
        return err_set(INFINO_ERR_INVALID,
                       "phrase search: global df %llu does not fit N = %llu "
                       "and the region's df %u",
                       (unsigned long long)df,
                       (unsigned long long)e->gs->n_docs, local_df);
    *out = fts_bm25_idf(e->gs->n_docs, df);
    return INFINO_OK;
}

/* Index of `t` among the query's positive terms (it is there: a positive
 * phrase's tokens are added to them when it is parsed). */
static size_t pos_index(const struct fts_query *q, const struct fts_qterm *t)
{
    size_t lo = 0, hi = q->n_pos;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct fts_qterm *p = &q->pos[mid];
        int c = memcmp(p->bytes, t->bytes, p->len < t->len ? p->len : t->len);
        if (c == 0)
            c = p->len < t->len ? -1 : p->len > t->len;
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

/* The docs holding every token of phrase `i` and not yet excluded. */
static infino_status phrase_candidates(struct fts_doc_ids *out,
                                       const struct eval *e,
                                       const struct fts_query *q, size_t i)
{
    const struct fts_qphrase *ph = &q->phrases[i];
    struct fts_query *all = NULL;
    size_t m = 0;
    infino_status st;

    out->n = 0;
    CHECK(fts_query_new(&all, NULL));
    for (size_t k = 0; k < ph->n; k++)
        CHECK(fts_query_add_term(all, ph->tok[k].bytes, ph->tok[k].len,
                                 false));
    CHECK(fts_match(out, e->r, all, FTS_MODE_AND, NULL));
    for (size_t k = 0; k < out->n; k++)
        if (!excluded(e, out->ids[k]))
            out->ids[m++] = out->ids[k];
    out->n = m;
fail:
    fts_query_free(all);
    return st;
}

/* Verifies phrase `i`'s candidates and applies the phrase: excludes the
 * docs holding a negated one, scores and counts a positive one. */
static infino_status apply_phrase(struct eval *e, const struct fts_query *q,
                                  size_t i, const struct fts_phrased_opts *o)
{
    const struct fts_qphrase *ph = &q->phrases[i];
    struct fts_doc_ids cand = {0};
    uint32_t *pf = NULL;
    double *idf = NULL;
    infino_status st;

    CHECK(phrase_candidates(&cand, e, q, i));
    if (cand.n == 0)
        goto fail; /* st is OK */
    pf = mem_calloc(cand.n, sizeof *pf);
    idf = mem_calloc(ph->n, sizeof *idf);
    if (pf == NULL || idf == NULL) {
        st = err_nomem();
        goto fail;
    }
    CHECK(o->verify(o->payload, i, cand.ids, cand.n, pf));
    for (size_t k = 0; e->acc != NULL && !ph->negative && k < ph->n; k++) {
        struct fts_term_info ti;
        bool found;
        size_t t = pos_index(q, &ph->tok[k]);
        CHECK(lookup(&ti, &found, e->r, ph->tok[k].bytes, ph->tok[k].len));
        if (t == SIZE_MAX || !found) {
            st = err_set(INFINO_ERR_INVALID, "phrase search: a phrase token "
                         "is missing from the query's terms");
            goto fail;
        }
        CHECK(term_idf(&idf[k], e, t, ti.df));
    }
    for (size_t j = 0; j < cand.n; j++) {
        uint32_t doc = cand.ids[j];
        if (pf[j] == 0)
            continue;
        if (ph->negative) {
            e->excl[doc / 64] |= (uint64_t)1 << (doc % 64);
            continue;
        }
        e->hits[doc]++;
        for (size_t k = 0; e->acc != NULL && k < ph->n; k++)
            e->acc[doc] += fts_fixed(fts_bm25_term(&e->bm, idf[k], pf[j],
                                                   fts_dl(e->r, doc)));
    }
fail:
    fts_doc_ids_free(&cand);
    mem_free(pf);
    mem_free(idf);
    return st;
}

infino_status fts_eval_phrased(struct fts_hit **out, size_t *n_out,
                               const struct fts_reader *r,
                               const struct fts_query *q,
                               const struct fts_global_stats *gs,
                               const struct fts_phrased_opts *o)
{
    struct eval e;
    size_t n_docs = r->n_docs, words = (n_docs + 63) / 64, n_clauses = 0;
    size_t n = 0, cap = 0;
    struct fts_hit *hits = NULL;
    infino_status st;

    *out = NULL;
    *n_out = 0;
    memset(&e, 0, sizeof e);
    CHECK(fts_query_check(q));
    if (gs != NULL && gs->sim != NULL)
        CHECK(fts_similarity_check(gs->sim->k1, gs->sim->b));
    if (n_docs == 0)
        return INFINO_OK;
    e.r = r;
    e.gs = gs;
    if (gs != NULL)
        e.bm = fts_bm25_params(gs->avgdl, gs->sim);
    e.hits = mem_calloc(n_docs, sizeof *e.hits);
    e.excl = mem_calloc(words, sizeof *e.excl);
    e.acc = gs != NULL ? mem_calloc(n_docs, sizeof *e.acc) : NULL;
    if (e.hits == NULL || e.excl == NULL || (gs != NULL && e.acc == NULL)) {
        st = err_nomem();
        goto fail;
    }
    if (o->deleted != NULL) {
        roaring_uint32_iterator_t it;
        roaring_init_iterator(o->deleted, &it);
        for (; it.has_value && it.current_value < n_docs;
             roaring_advance_uint32_iterator(&it))
            e.excl[it.current_value / 64] |= (uint64_t)1
                                             << (it.current_value % 64);
    }
    /* exclusions first, so that phrases verify fewer candidates */
    for (size_t i = 0; i < q->n_neg; i++) {
        struct fts_term_info ti;
        bool found;
        CHECK(lookup(&ti, &found, r, q->neg[i].bytes, q->neg[i].len));
        if (found)
            CHECK(fts_reader_postings(r, &ti, exclude_posting, &e));
    }
    for (size_t i = 0; i < q->n_phrases; i++)
        if (q->phrases[i].negative)
            CHECK(apply_phrase(&e, q, i, o));
    for (size_t i = 0; i < q->n_pos; i++) {
        struct fts_term_info ti;
        bool found;
        if (q->pos[i].count == 0)
            continue; /* only a phrase's token */
        n_clauses++;
        CHECK(lookup(&ti, &found, r, q->pos[i].bytes, q->pos[i].len));
        if (!found)
            continue;
        if (gs != NULL) {
            CHECK(term_idf(&e.w, &e, i, ti.df));
            e.w *= (double)q->pos[i].count;
        }
        CHECK(fts_reader_postings(r, &ti, add_posting, &e));
    }
    for (size_t i = 0; i < q->n_phrases; i++) {
        if (q->phrases[i].negative)
            continue;
        n_clauses++;
        CHECK(apply_phrase(&e, q, i, o));
    }
    for (size_t d = 0; d < n_docs; d++) {
        uint32_t doc = (uint32_t)d;
        if (e.hits[d] == 0 || excluded(&e, doc) ||
            (o->mode == FTS_MODE_AND && e.hits[d] < n_clauses))
            continue;
        if (MEM_RESERVE(hits, cap, n + 1)) {
            st = err_nomem();
            goto fail;
        }
        hits[n].doc = doc;
        hits[n].score = e.acc != NULL ? fts_fixed_to_float(e.acc[d]) : 0.0f;
        n++;
    }
    *out = hits;
    *n_out = n;
    hits = NULL;
    st = INFINO_OK;
fail:
    mem_free(hits);
    mem_free(e.hits);
    mem_free(e.excl);
    mem_free(e.acc);
    if (st != INFINO_OK)
        return err_context(st, "phrase search in %s", fts_reader_name(r));
    return st;
}
