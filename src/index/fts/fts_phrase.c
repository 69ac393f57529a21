/*
 * fts_phrase.c - phrase queries (fts.h, "phrases"): counting a phrase's
 * occurrences in a text, and evaluating a query that holds phrases.
 *
 * A phrase is found in two steps: the postings give the docs holding
 * every token of the phrase, then each candidate is verified. A region
 * with positions (format 5) answers from the positions of each token in
 * the candidate (one cursor per distinct token, walked forward with the
 * ascending candidates). Without positions the caller reads the
 * candidates' text, which fts_phrase_count() tokenizes again with the
 * column's analysis to see where the tokens stand. The positions stored
 * are exactly the re-tokenization's, so both paths count the same, a
 * phrase matching where the tokens were indexed, whatever the analyzer,
 * stop words or stemmer.
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

/* ---- counting in one text ---------------------------------------------- */

/* A text is reduced to one code per position: 1 + the index of the first
 * phrase token it equals, or 0 (another token, or a position whose token
 * was dropped). Matching then compares small integers, and nothing of the
 * text is copied. */
struct fts_phrase_matcher {
    struct fts_tokenizer *tk;
    const struct fts_qphrase *ph; /* the phrase being counted */
    uint32_t *code;               /* per position */
    size_t n_pos, cap;
    uint32_t *want; /* per phrase token: its code */
    size_t want_cap;
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
    mem_free(m->code);
    mem_free(m->want);
    mem_free(m);
}

static bool same(const struct fts_qterm *a, const uint8_t *t, size_t len)
{
    return a->len == len && memcmp(a->bytes, t, len) == 0;
}

static infino_status code_token(const uint8_t *t, size_t len, void *payload)
{
    struct fts_phrase_matcher *m = payload;
    uint32_t pos = fts_tokenizer_position(m->tk), c = 0;

    if (MEM_RESERVE(m->code, m->cap, (size_t)pos + 1))
        return err_nomem();
    while (m->n_pos < pos) /* dropped tokens */
        m->code[m->n_pos++] = 0;
    for (size_t k = 0; k < m->ph->n; k++)
        if (m->want[k] == k + 1 && same(&m->ph->tok[k], t, len)) {
            c = (uint32_t)k + 1;
            break;
        }
    m->code[m->n_pos++] = c;
    return INFINO_OK;
}

infino_status fts_phrase_count(uint32_t *pf, struct fts_phrase_matcher *m,
                               const struct fts_query *q, size_t i,
                               const void *text, size_t len)
{
    const struct fts_qphrase *ph = &q->phrases[i];
    uint32_t span = ph->rel[ph->n - 1];
    infino_status st;

    *pf = 0;
    if (MEM_RESERVE(m->want, m->want_cap, ph->n))
        return err_nomem();
    for (size_t k = 0; k < ph->n; k++) {
        size_t j = 0;
        while (!same(&ph->tok[j], ph->tok[k].bytes, ph->tok[k].len))
            j++;
        m->want[k] = (uint32_t)j + 1;
    }
    m->ph = ph;
    m->n_pos = 0;
    CHECK(fts_tokenize_positions(m->tk, text, len, code_token, m));
    for (size_t p0 = 0; p0 + span < m->n_pos; p0++) {
        size_t k = 0;
        while (k < ph->n && m->code[p0 + ph->rel[k]] == m->want[k])
            k++;
        if (k == ph->n && *pf < UINT32_MAX)
            (*pf)++;
    }
    return INFINO_OK;
fail:
    return st;
}

/* ---- counting from stored positions ------------------------------------- */

/* One distinct token of a phrase: its cursor and its positions in the
 * current candidate. */
struct pos_tok {
    struct fts_cursor c;
    uint32_t *pos; /* owned */
    uint32_t n;
    size_t cap;
};

/* Occurrences of the phrase in one doc, from each phrase token k's
 * positions (t[tok_of[k]]): starts p0 of token 0 such that p0 + rel[k] is
 * a position of token k for every k. Each token's list is walked once
 * (targets rise with p0), so this is linear in the positions. */
static uint32_t count_aligned(const struct fts_qphrase *ph,
                              struct pos_tok *t, const size_t *tok_of,
                              size_t *at)
{
    const struct pos_tok *t0 = &t[tok_of[0]];
    uint32_t pf = 0;

    for (size_t k = 0; k < ph->n; k++)
        at[k] = 0;
    for (uint32_t i = 0; i < t0->n; i++) {
        uint64_t p0 = t0->pos[i];
        size_t k = 1;
        for (; k < ph->n; k++) {
            const struct pos_tok *tk = &t[tok_of[k]];
            uint64_t want = p0 + ph->rel[k];
            while (at[k] < tk->n && tk->pos[at[k]] < want)
                at[k]++;
            if (at[k] == tk->n)
                return pf; /* no later start can complete */
            if (tk->pos[at[k]] != want)
                break;
        }
        if (k == ph->n && pf < UINT32_MAX)
            pf++;
    }
    return pf;
}

/* fts_phrase_fn from the region's positions: pf[j] for docs[j]. */
static infino_status count_from_positions(const struct fts_reader *r,
                                          const struct fts_query *q,
                                          size_t phrase, const uint32_t *docs,
                                          size_t n, uint32_t *pf)
{
    const struct fts_qphrase *ph = &q->phrases[phrase];
    struct pos_tok *t = NULL;
    size_t *tok_of = NULL, *at = NULL, n_tok = 0;
    infino_status st = INFINO_OK;

    t = mem_calloc(ph->n, sizeof *t);
    tok_of = mem_calloc(ph->n, sizeof *tok_of);
    at = mem_calloc(ph->n, sizeof *at);
    if (t == NULL || tok_of == NULL || at == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (size_t k = 0; k < ph->n; k++) {
        struct fts_term_info ti;
        size_t x = 0;
        while (x < k && !same(&ph->tok[x], ph->tok[k].bytes, ph->tok[k].len))
            x++;
        if (x < k) { /* a repeated token shares the first one's cursor */
            tok_of[k] = tok_of[x];
            continue;
        }
        tok_of[k] = n_tok;
        st = fts_reader_lookup(&ti, r, ph->tok[k].bytes, ph->tok[k].len);
        if (st == INFINO_ERR_NOTFOUND) { /* no candidate holds it */
            err_clear();
            memset(pf, 0, n * sizeof *pf);
            st = INFINO_OK;
            goto fail;
        }
        CHECK(st);
        CHECK(fts_cursor_open(&t[n_tok].c, r, &ti));
        n_tok++;
    }
    for (size_t j = 0; j < n; j++) {
        bool all = true;
        for (size_t u = 0; u < n_tok && all; u++) {
            struct pos_tok *pt = &t[u];
            uint32_t tf;
            CHECK(fts_cursor_seek(&pt->c, docs[j]));
            if (pt->c.doc != docs[j]) {
                all = false;
                break;
            }
            tf = fts_cursor_tf(&pt->c);
            if (tf > pt->c.pos_len) { /* a position takes a byte at least */
                st = fts_corrupt(r, "postings block %u of %u: tf %u beyond "
                                 "the term's positions", pt->c.blk,
                                 pt->c.n_blocks, tf);
                goto fail;
            }
            if (MEM_RESERVE(pt->pos, pt->cap, tf)) {
                st = err_nomem();
                goto fail;
            }
            CHECK(fts_cursor_positions(&pt->c, pt->pos));
            pt->n = tf;
        }
        pf[j] = all ? count_aligned(ph, t, tok_of, at) : 0;
    }
fail:
    if (t != NULL)
        for (size_t u = 0; u < ph->n; u++)
            mem_free(t[u].pos);
    mem_free(t);
    mem_free(tok_of);
    mem_free(at);
    return st;
}

/* pf[j] = occurrences of phrase `phrase` in docs[j]: from the region's
 * positions when it has them, else from the caller's texts. */
static infino_status count_phrase(const struct fts_reader *r,
                                  const struct fts_query *q,
                                  const struct fts_phrased_opts *o,
                                  size_t phrase, const uint32_t *docs,
                                  size_t n, uint32_t *pf)
{
    if (r->positions)
        return count_from_positions(r, q, phrase, docs, n, pf);
    if (o->verify == NULL)
        return err_set(INFINO_ERR_INVALID, "phrase search in %s: the region "
                       "stores no positions and no verifier was given",
                       fts_reader_name(r));
    return o->verify(o->payload, phrase, docs, n, pf);
}

/* ---- evaluating a query with phrases ------------------------------------ */

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

/* idf[k] = the idf of token k of positive phrase `i` (the region holds
 * every token when the phrase has candidates here). */
static infino_status phrase_idf(double *idf, const struct eval *e,
                                const struct fts_query *q, size_t i)
{
    const struct fts_qphrase *ph = &q->phrases[i];
    infino_status st = INFINO_OK;

    for (size_t k = 0; st == INFINO_OK && k < ph->n; k++) {
        struct fts_term_info ti;
        bool found;
        size_t t = fts_query_pos_index(q, ph->tok[k].bytes, ph->tok[k].len);
        CHECK(lookup(&ti, &found, e->r, ph->tok[k].bytes, ph->tok[k].len));
        if (t == SIZE_MAX || !found)
            return err_set(INFINO_ERR_INVALID, "phrase search: a phrase "
                           "token is missing from the query's terms");
        st = term_idf(&idf[k], e, t, ti.df);
    }
fail:
    return st;
}

/* Phrase i's fixed-point contribution to `doc` with pf occurrences. */
static int64_t phrase_score(const struct eval *e, const struct fts_qphrase *ph,
                            const double *idf, uint32_t pf, uint32_t doc)
{
    int64_t sum = 0;

    for (size_t k = 0; k < ph->n; k++)
        sum += fts_fixed(fts_bm25_term(&e->bm, idf[k], pf, fts_dl(e->r, doc)));
    return sum;
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
    CHECK(count_phrase(e->r, q, o, i, cand.ids, cand.n, pf));
    if (e->acc != NULL && !ph->negative)
        CHECK(phrase_idf(idf, e, q, i));
    for (size_t j = 0; j < cand.n; j++) {
        uint32_t doc = cand.ids[j];
        if (pf[j] == 0)
            continue;
        if (ph->negative) {
            e->excl[doc / 64] |= (uint64_t)1 << (doc % 64);
            continue;
        }
        e->hits[doc]++;
        if (e->acc != NULL)
            e->acc[doc] += phrase_score(e, ph, idf, pf[j], doc);
    }
fail:
    fts_doc_ids_free(&cand);
    mem_free(pf);
    mem_free(idf);
    return st;
}

/* ---- top k: verify in order of an upper bound ----------------------------
 * A doc's phrase count is at most the smallest tf of the phrase's tokens
 * (each occurrence starts at its own position, so token k of the phrase
 * stands at a different position in each; occurrences may overlap, so a
 * repeated token does not divide its tf), and a contribution only grows
 * with the count, so scoring with that bound over-estimates exactly (the
 * same fixed-point arithmetic). Candidates are visited by bound, best
 * first, verified in batches (one read of the stored text per batch), and
 * the visit stops once the next bound cannot beat the k-th exact score:
 * a top-k search of a common phrase reads the few docs that can rank,
 * not every doc holding its tokens. */

struct pending {
    uint32_t doc, phrase, pf; /* pf once verified */
};

struct bound {
    int64_t ub;
    uint32_t doc;
};

/* The bound of every candidate of positive phrase `i`: walks each token's
 * postings against the candidate list (both ascending). */
struct tf_walk {
    const struct fts_doc_ids *cand;
    uint32_t *pfub; /* per candidate */
    size_t j;
};

static infino_status bound_posting(uint32_t doc, uint32_t tf, void *payload)
{
    struct tf_walk *w = payload;

    while (w->j < w->cand->n && w->cand->ids[w->j] < doc)
        w->j++;
    if (w->j < w->cand->n && w->cand->ids[w->j] == doc && tf < w->pfub[w->j])
        w->pfub[w->j] = tf;
    return INFINO_OK;
}

struct topk {
    struct eval e;
    const struct fts_query *q;
    const struct fts_phrased_opts *o;
    double *idf;   /* per phrase token, phrases back to back */
    size_t *idf_at; /* per phrase: its first entry in idf */
    int64_t *ub;   /* per doc: the bound of its unverified phrases */
    uint32_t *pend; /* per doc: positive phrases it awaits */
    struct pending *todo;
    size_t n_todo, todo_cap;
    struct fts_hit *heap; /* the best so far; worst at the root */
    size_t n_heap, k;
};

static infino_status add_pending(struct topk *t, uint32_t doc, size_t phrase)
{
    if (MEM_RESERVE(t->todo, t->todo_cap, t->n_todo + 1))
        return err_nomem();
    t->todo[t->n_todo++] = (struct pending){doc, (uint32_t)phrase, 0};
    return INFINO_OK;
}

static infino_status bound_phrase(struct topk *t, size_t i)
{
    const struct fts_qphrase *ph = &t->q->phrases[i];
    const double *idf = t->idf + t->idf_at[i];
    struct fts_doc_ids cand = {0};
    uint32_t *pfub = NULL;
    infino_status st;

    CHECK(phrase_candidates(&cand, &t->e, t->q, i));
    if (cand.n == 0)
        goto fail;
    if (ph->negative) { /* checked when a candidate could rank */
        for (size_t j = 0; j < cand.n; j++)
            CHECK(add_pending(t, cand.ids[j], i));
        goto fail;
    }
    CHECK(phrase_idf(t->idf + t->idf_at[i], &t->e, t->q, i));
    if ((pfub = mem_alloc(cand.n * sizeof *pfub)) == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (size_t j = 0; j < cand.n; j++)
        pfub[j] = UINT32_MAX;
    for (size_t k = 0; k < ph->n; k++) {
        struct fts_term_info ti;
        bool found, first = true;
        struct tf_walk w = {&cand, pfub, 0};
        for (size_t x = 0; x < k && first; x++)
            first = !same(&ph->tok[x], ph->tok[k].bytes, ph->tok[k].len);
        if (!first)
            continue;
        CHECK(lookup(&ti, &found, t->e.r, ph->tok[k].bytes, ph->tok[k].len));
        if (found)
            CHECK(fts_reader_postings(t->e.r, &ti, bound_posting, &w));
    }
    for (size_t j = 0; j < cand.n; j++) {
        uint32_t doc = cand.ids[j];
        if (pfub[j] == 0 || pfub[j] == UINT32_MAX)
            continue; /* cannot hold the phrase */
        t->ub[doc] += phrase_score(&t->e, ph, idf, pfub[j], doc);
        t->pend[doc]++;
        CHECK(add_pending(t, doc, i));
    }
fail:
    fts_doc_ids_free(&cand);
    mem_free(pfub);
    return st;
}

static int by_bound(const void *a, const void *b)
{
    const struct bound *x = a, *y = b;

    if (x->ub != y->ub)
        return x->ub > y->ub ? -1 : 1;
    return (x->doc > y->doc) - (x->doc < y->doc);
}

static int by_doc_phrase(const void *a, const void *b)
{
    const struct pending *x = a, *y = b;

    if (x->doc != y->doc)
        return x->doc < y->doc ? -1 : 1;
    return (x->phrase > y->phrase) - (x->phrase < y->phrase);
}

static int by_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/* Results order: score descending, then doc ascending. */
static int by_rank(const void *a, const void *b)
{
    const struct fts_hit *x = a, *y = b;

    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->doc > y->doc) - (x->doc < y->doc);
}

/* a ranks below b: lower score, or equal score and a later doc. */
static bool worse(const struct fts_hit *a, const struct fts_hit *b)
{
    return a->score < b->score || (a->score == b->score && a->doc > b->doc);
}

static void heap_offer(struct topk *t, struct fts_hit h)
{
    size_t i;

    if (t->n_heap == t->k) {
        if (!worse(&t->heap[0], &h))
            return;
        i = 0; /* replace the root, sift down */
        for (;;) {
            size_t c = 2 * i + 1;
            if (c >= t->n_heap)
                break;
            if (c + 1 < t->n_heap && worse(&t->heap[c + 1], &t->heap[c]))
                c++;
            if (!worse(&t->heap[c], &h))
                break;
            t->heap[i] = t->heap[c];
            i = c;
        }
        t->heap[i] = h;
        return;
    }
    i = t->n_heap++;
    while (i > 0 && worse(&h, &t->heap[(i - 1) / 2])) {
        t->heap[i] = t->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    t->heap[i] = h;
}

/* The todo entries of `doc` (sorted by doc): [*lo, *hi). */
static void todo_range(const struct topk *t, uint32_t doc, size_t *lo,
                       size_t *hi)
{
    size_t a = 0, b = t->n_todo;

    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (t->todo[m].doc < doc)
            a = m + 1;
        else
            b = m;
    }
    *lo = a;
    while (a < t->n_todo && t->todo[a].doc == doc)
        a++;
    *hi = a;
}

/* Verifies the phrases of the batch's docs (ascending), then offers each
 * doc's exact score. */
static infino_status verify_batch(struct topk *t, uint32_t *docs, size_t n,
                                  size_t n_clauses)
{
    uint32_t *ids = NULL, *pf = NULL;
    infino_status st = INFINO_OK;

    qsort(docs, n, sizeof *docs, by_u32);
    ids = mem_alloc(n * sizeof *ids);
    pf = mem_alloc(n * sizeof *pf);
    if (ids == NULL || pf == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (size_t i = 0; i < t->q->n_phrases; i++) {
        size_t m = 0;
        for (size_t j = 0; j < n; j++) {
            size_t lo, hi;
            todo_range(t, docs[j], &lo, &hi);
            while (lo < hi && t->todo[lo].phrase != i)
                lo++;
            if (lo < hi)
                ids[m++] = docs[j];
        }
        if (m == 0)
            continue;
        memset(pf, 0, m * sizeof *pf);
        CHECK(count_phrase(t->e.r, t->q, t->o, i, ids, m, pf));
        for (size_t j = 0; j < m; j++) {
            size_t lo, hi;
            todo_range(t, ids[j], &lo, &hi);
            while (t->todo[lo].phrase != i)
                lo++;
            t->todo[lo].pf = pf[j];
        }
    }
    for (size_t j = 0; j < n; j++) {
        uint32_t doc = docs[j];
        int64_t score = t->e.acc[doc];
        size_t hits = t->e.hits[doc], lo, hi;
        bool out = false;
        todo_range(t, doc, &lo, &hi);
        for (; lo < hi && !out; lo++) {
            const struct pending *p = &t->todo[lo];
            const struct fts_qphrase *ph = &t->q->phrases[p->phrase];
            if (p->pf == 0)
                continue;
            if (ph->negative) {
                out = true;
                continue;
            }
            hits++;
            score += phrase_score(&t->e, ph, t->idf + t->idf_at[p->phrase],
                                  p->pf, doc);
        }
        if (out || hits == 0 ||
            (t->o->mode == FTS_MODE_AND && hits < n_clauses))
            continue;
        heap_offer(t, (struct fts_hit){doc, fts_fixed_to_float(score)});
    }
fail:
    mem_free(ids);
    mem_free(pf);
    return st;
}

static bool is_candidate(const struct topk *t, size_t d, size_t n_clauses)
{
    return (t->e.hits[d] > 0 || t->pend[d] > 0) &&
           !excluded(&t->e, (uint32_t)d) &&
           (t->o->mode != FTS_MODE_AND ||
            t->e.hits[d] + t->pend[d] >= n_clauses);
}

/* Visits the candidates by bound until none left can enter the top k.
 * Without plain terms (only phrases) a candidate awaits a positive
 * phrase, so the sorted todo list gives them without a pass over every
 * doc of the region. */
static infino_status visit_by_bound(struct topk *t, size_t n_clauses,
                                    bool only_phrases)
{
    size_t n_docs = t->e.r->n_docs, n = 0, batch = 16;
    struct bound *c = NULL;
    uint32_t *docs = NULL;
    infino_status st = INFINO_OK;

    if (t->n_todo > 1) /* todo is NULL when no doc awaits a phrase */
        qsort(t->todo, t->n_todo, sizeof *t->todo, by_doc_phrase);
    if (only_phrases) {
        for (size_t j = 0; j < t->n_todo; j++)
            n += (j == 0 || t->todo[j].doc != t->todo[j - 1].doc) &&
                 is_candidate(t, t->todo[j].doc, n_clauses);
    } else {
        for (size_t d = 0; d < n_docs; d++)
            n += is_candidate(t, d, n_clauses);
    }
    if (n == 0)
        return INFINO_OK;
    c = mem_alloc(n * sizeof *c);
    docs = mem_alloc(n * sizeof *docs);
    if (c == NULL || docs == NULL) {
        st = err_nomem();
        goto fail;
    }
    n = 0;
    if (only_phrases) {
        for (size_t j = 0; j < t->n_todo; j++) {
            uint32_t d = t->todo[j].doc;
            if ((j == 0 || d != t->todo[j - 1].doc) &&
                is_candidate(t, d, n_clauses))
                c[n++] = (struct bound){t->e.acc[d] + t->ub[d], d};
        }
    } else {
        for (size_t d = 0; d < n_docs; d++)
            if (is_candidate(t, d, n_clauses))
                c[n++] = (struct bound){t->e.acc[d] + t->ub[d], (uint32_t)d};
    }
    qsort(c, n, sizeof *c, by_bound);
    for (size_t i = 0; i < n;) {
        size_t m = 0;
        for (; i < n && m < batch; i++) {
            struct fts_hit b = {c[i].doc, fts_fixed_to_float(c[i].ub)};
            /* the bound as a float can round up to a tie, never below */
            if (t->n_heap == t->k && worse(&b, &t->heap[0]))
                break;
            docs[m++] = c[i].doc;
        }
        if (m == 0)
            break;
        CHECK(verify_batch(t, docs, m, n_clauses));
        /* a batch reads the pages holding its docs: grow fast, so that
         * a phrase whose bounds are loose reads the column a few times,
         * not once per small batch */
        batch = batch <= SIZE_MAX / 8 ? batch * 8 : SIZE_MAX;
    }
fail:
    mem_free(c);
    mem_free(docs);
    return st;
}

/* fts_eval_phrased with gs and o->k > 0. */
static infino_status eval_top_k(struct fts_hit **out, size_t *n_out,
                                struct topk *t, size_t n_clauses)
{
    const struct fts_query *q = t->q;
    size_t n_docs = t->e.r->n_docs, n_idf = 0;
    bool only_phrases = true;
    infino_status st;

    for (size_t i = 0; i < q->n_pos; i++)
        only_phrases = only_phrases && q->pos[i].count == 0;

    t->idf_at = mem_calloc(q->n_phrases, sizeof *t->idf_at);
    if (t->idf_at == NULL)
        return err_nomem();
    for (size_t i = 0; i < q->n_phrases; i++) {
        t->idf_at[i] = n_idf;
        n_idf += q->phrases[i].n;
    }
    t->idf = mem_calloc(n_idf ? n_idf : 1, sizeof *t->idf);
    t->ub = mem_calloc(n_docs, sizeof *t->ub);
    t->pend = mem_calloc(n_docs, sizeof *t->pend);
    t->k = t->o->k < n_docs ? t->o->k : n_docs;
    t->heap = mem_alloc(t->k * sizeof *t->heap);
    if (t->idf_at == NULL || t->idf == NULL || t->ub == NULL ||
        t->pend == NULL || t->heap == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (size_t i = 0; i < q->n_phrases; i++)
        CHECK(bound_phrase(t, i));
    CHECK(visit_by_bound(t, n_clauses, only_phrases));
    if (t->n_heap > 1)
        qsort(t->heap, t->n_heap, sizeof *t->heap, by_rank);
    *out = t->heap;
    *n_out = t->n_heap;
    t->heap = NULL;
    st = INFINO_OK;
fail:
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
    for (size_t i = 0; i < q->n_phrases; i++)
        n_clauses += !q->phrases[i].negative;
    if (gs != NULL && o->k > 0) {
        struct topk t;
        memset(&t, 0, sizeof t);
        t.e = e;
        t.q = q;
        t.o = o;
        st = eval_top_k(out, n_out, &t, n_clauses);
        mem_free(t.idf);
        mem_free(t.idf_at);
        mem_free(t.ub);
        mem_free(t.pend);
        mem_free(t.todo);
        mem_free(t.heap);
        goto fail; /* frees e's arrays, whatever st */
    }
    /* negated phrases first, so that positive ones verify fewer docs */
    for (size_t i = 0; i < q->n_phrases; i++)
        if (q->phrases[i].negative)
            CHECK(apply_phrase(&e, q, i, o));
    for (size_t i = 0; i < q->n_phrases; i++)
        if (!q->phrases[i].negative)
            CHECK(apply_phrase(&e, q, i, o));
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
