/*
 * fts_prefix.c - prefix search: bm25_search_prefix.
 *
 * A prefix names every term that starts with it; the search is the OR of
 * those terms, each weighing once, scored with table-global statistics
 * like any query. The expansion may name any number of terms (the empty
 * prefix names them all), so it does not go through struct fts_query and
 * its term limit: each region accumulates the fixed-point contributions
 * of every posting of every expanded term into one slot per doc, then
 * keeps the best k. That is exhaustive, and exact by construction; it
 * costs 8 bytes per doc of the region and one pass over the postings.
 */
#include "fts_int.h"

#include "util/alloc.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

/* ---- the prefix itself --------------------------------------------------- */

struct one_token {
    struct buf *out;
    size_t n;
};

static infino_status keep_token(const uint8_t *t, size_t len, void *payload)
{
    struct one_token *o = payload;

    if (o->n++ == 0)
        return buf_append(o->out, t, len);
    return INFINO_OK;
}

infino_status fts_prefix_normalize(struct buf *out, bool *ok,
                                   const struct fts_analysis *a,
                                   const void *text, size_t len)
{
    const uint8_t *p = text, *end = p + len;
    struct fts_analysis base = {.base = a ? a->base : FTS_BASE_ALNUM};
    struct fts_tokenizer *tk = NULL;
    struct one_token o = {out, 0};
    size_t start = out->len;
    infino_status st;

    *ok = false;
    if (len == 0) {
        *ok = true; /* every term */
        return INFINO_OK;
    }
    /* a separator anywhere (white space, punctuation, invalid UTF-8)
     * means the text is not a piece of one token: no term starts with it */
    while (p < end) {
        int32_t cp;
        size_t l = fts_utf8_next(p, (size_t)(end - p), &cp);
        if (l == 0 || fts_cp_separates_in(base.base, cp))
            return INFINO_OK;
        p += l;
    }
    CHECK(fts_tokenizer_new(&tk, &base));
    CHECK(fts_tokenize_base(tk, text, len, keep_token, &o));
    fts_tokenizer_free(tk);
    if (o.n == 1)
        *ok = true;
    else
        out->len = start;
    return INFINO_OK;
fail:
    fts_tokenizer_free(tk);
    out->len = start;
    return st;
}

/* ---- search --------------------------------------------------------------- */

static int cmp_bytes(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);

    if (c != 0)
        return c;
    return na < nb ? -1 : na > nb;
}

struct prefix_run {
    const struct fts_reader *r;
    const struct fts_term_df *terms;
    size_t n_terms, next; /* terms[next..] not yet met (region order) */
    const struct fts_global_stats *gs;
    struct fts_bm25 bm;
    double w;
    int64_t *acc;    /* owned: per doc */
    uint64_t *seen;  /* owned: bit per doc */
};

static infino_status add_posting(uint32_t doc, uint32_t tf, void *payload)
{
    struct prefix_run *pr = payload;

    pr->acc[doc] += fts_fixed(fts_bm25_term(&pr->bm, pr->w, tf,
                                            fts_dl(pr->r, doc)));
    pr->seen[doc >> 6] |= (uint64_t)1 << (doc & 63);
    return INFINO_OK;
}

static infino_status add_term(const uint8_t *term, size_t len,
                              const struct fts_term_info *info, void *payload)
{
    struct prefix_run *pr = payload;
    uint64_t df;

    /* both lists are sorted: walk the caller's forward */
    while (pr->next < pr->n_terms &&
           cmp_bytes(pr->terms[pr->next].term, pr->terms[pr->next].len, term,
                     len) < 0)
        pr->next++;
    if (pr->next == pr->n_terms ||
        cmp_bytes(pr->terms[pr->next].term, pr->terms[pr->next].len, term,
                  len) != 0) {
        /* Listed, but passed already: the region's dictionary is out of
         * order (damaged), not the caller's list short of a term. */
        for (size_t i = 0; i < pr->next; i++)
            if (cmp_bytes(pr->terms[i].term, pr->terms[i].len, term, len) ==
                0)
                return err_set(INFINO_ERR_CORRUPT,
                               "prefix search: the dictionary of region %s "
                               "is out of order",
                               fts_reader_name(pr->r));
        return err_set(INFINO_ERR_INVALID,
                       "prefix search: a term of region %s is missing from "
                       "the global statistics",
                       fts_reader_name(pr->r));
    }
    df = pr->terms[pr->next].df;
    if (df < info->df || df > pr->gs->n_docs)
        return err_set(INFINO_ERR_INVALID,
                       "prefix search: global df %llu does not fit N = %llu "
                       "and the region's df %u",
                       (unsigned long long)df,
                       (unsigned long long)pr->gs->n_docs, info->df);
    pr->w = fts_bm25_idf(pr->gs->n_docs, df);
    return fts_reader_postings(pr->r, info, add_posting, pr);
}

static int cmp_hit(const void *a, const void *b)
{
    const struct fts_hit *x = a, *y = b;

    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->doc > y->doc) - (x->doc < y->doc);
}

infino_status fts_search_prefix(struct fts_hit *out, size_t *n_out,
                                const struct fts_reader *r,
                                const uint8_t *prefix, size_t len,
                                const struct fts_term_df *terms,
                                size_t n_terms,
                                const struct fts_global_stats *gs,
                                const struct fts_search_opts *opts)
{
    struct prefix_run pr;
    struct fts_hit *cand = NULL;
    size_t n_cand = 0, n_docs = r->n_docs, words = (n_docs + 63) / 64;
    infino_status st;

    *n_out = 0;
    if (opts->k == 0 || n_docs == 0 || n_terms == 0)
        return INFINO_OK;
    if (gs->sim != NULL)
        CHECK(fts_similarity_check(gs->sim->k1, gs->sim->b));
    memset(&pr, 0, sizeof pr);
    pr.r = r;
    pr.terms = terms;
    pr.n_terms = n_terms;
    pr.gs = gs;
    pr.bm = fts_bm25_params(gs->avgdl, gs->sim);
    pr.acc = mem_calloc(n_docs, sizeof *pr.acc);
    pr.seen = mem_calloc(words, sizeof *pr.seen);
    if (pr.acc == NULL || pr.seen == NULL) {
        st = err_nomem();
        goto fail;
    }
    CHECK(fts_reader_prefix(r, prefix, len, add_term, &pr));
    for (size_t wi = 0; wi < words; wi++) {
        for (uint64_t m = pr.seen[wi]; m != 0; m &= m - 1) {
            uint32_t doc = (uint32_t)(wi * 64 + (size_t)__builtin_ctzll(m));
            float score = fts_fixed_to_float(pr.acc[doc]);
            if (opts->deleted != NULL &&
                roaring_bitmap_contains(opts->deleted, doc))
                continue;
            if (score < opts->min_score)
                continue;
            if (cand == NULL) {
                /* at most one candidate per doc seen */
                size_t n_seen = 0;
                for (size_t j = wi; j < words; j++)
                    n_seen += (size_t)__builtin_popcountll(pr.seen[j]);
                cand = mem_alloc(n_seen * sizeof *cand);
                if (cand == NULL) {
                    st = err_nomem();
                    goto fail;
                }
            }
            cand[n_cand].doc = doc;
            cand[n_cand].score = score;
            n_cand++;
        }
    }
    if (n_cand > 1)
        qsort(cand, n_cand, sizeof *cand, cmp_hit);
    if (n_cand > opts->k)
        n_cand = opts->k;
    if (n_cand > 0)
        memcpy(out, cand, n_cand * sizeof *out);
    *n_out = n_cand;
    st = INFINO_OK;
fail:
    mem_free(cand);
    mem_free(pr.acc);
    mem_free(pr.seen);
    return st;
}
