/*
 * fts_search.c - BM25 top-k, counting and matching over one region.
 *
 * Every algorithm visits candidate docs in increasing id order and keeps
 * the k best in a heap ordered by (float score, doc id). Later docs lose
 * ties, so "can this enter?" depends only on the score, and because the
 * float conversion is monotone it becomes one integer comparison against
 * the smallest fixed-point score that can enter. Upper bounds are computed
 * in the same 2^-40 fixed point as scores, rounded up, so pruning never
 * drops a doc that belongs in the result.
 *
 * - one term: walk the skip table, decode only blocks whose bound (max tf,
 *   min doc length of the block) can enter the heap;
 * - OR: Block-Max MaxScore over windows of WINDOW doc ids. Per window each
 *   term's bound is the max of its overlapping blocks' bounds; the terms
 *   whose bounds together cannot enter are non-essential. Essential terms
 *   are scored term-at-a-time into an accumulator array, skipping blocks
 *   that cannot enter even with every other term at its best; then each
 *   candidate probes the non-essential terms in decreasing bound order
 *   while it can still enter. Windows nothing can reach are skipped, and
 *   the next window starts at the smallest next doc of any term;
 * - AND: walk the rarest term block by block, skipping blocks whose bound
 *   plus the other terms' bounds over the same ids cannot enter, and
 *   leapfrog the other cursors to each remaining doc.
 * Negative terms and deleted docs are checked only for docs about to
 * enter the heap (top-k) or to be emitted (count, match).
 */
#include "fts_int.h"

#include "util/alloc.h"
#include "util/err.h"
#include "util/tpool.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 4096u        /* doc ids per MaxScore window */
#define MATCH_WINDOW 65536u /* doc ids per bitset window when matching */
/* Score tables: for terms with at least QTAB_MIN_DF postings, when every
 * doc length is <= QTAB_MAX_DL, the fixed-point contribution of tf 1..QTAB_TF
 * is precomputed per doc length, replacing a division per posting by a
 * load. At most QTAB_TERMS tables per query (the largest terms). */
#define QTAB_TF 4u
#define QTAB_MAX_DL 1023u
#define QTAB_MIN_DF 4096u
#define QTAB_TERMS 64u
_Static_assert(WINDOW % 64 == 0 && MATCH_WINDOW % 64 == 0,
               "windows are whole bitset words");

struct term {
    struct fts_cursor cur;
    double w;      /* idf * multiplicity in the query */
    int64_t wub;   /* bound of this term inside the current window */
    int64_t tub;   /* bound of this term anywhere (from its impacts) */
    int64_t after; /* AND: bound of the terms after this one in the order,
                      over the lead's current block */
    uint32_t df;
    uint32_t idx;  /* position in the query */
    int64_t *qtab; /* owned or NULL: [tf - 1][dl] contributions */
};

struct search {
    const struct fts_reader *r;
    struct fts_bm25 bm;
    struct term *terms; /* owned: positive terms present in the region */
    size_t n_terms;
    struct term **order; /* owned: scratch permutation of terms */
    struct fts_cursor *neg; /* owned: negative terms present */
    size_t n_neg;
    const roaring_bitmap_t *deleted;
    bool empty; /* AND with a term the region lacks */
    uint64_t lo, hi; /* top-k: the doc ids searched, [lo, hi) */
    /* top-k */
    struct fts_hit *heap; /* borrowed: the caller's output array */
    size_t k, n_heap;
    float floor;
    /* windows */
    int64_t tq;      /* smallest fixed-point score that can enter */
    int64_t *acc;    /* owned: WINDOW accumulators */
    uint64_t *bits;  /* owned: window bitset */
    /* matching output */
    struct fts_doc_ids *ids;
    uint64_t count;
};


/* Adds "<what> in <region>" to a failure's message, except a corrupt
 * region's, which the reader's message already names (fts_corrupt). */
static infino_status in_region(infino_status st, const char *what,
                               const struct fts_reader *r)
{
    if (st == INFINO_ERR_CORRUPT)
        return st;
    return err_context(st, "%s in %s", what, fts_reader_name(r));
}

static void search_free(struct search *s)
{
    for (size_t i = 0; i < s->n_terms; i++)
        mem_free(s->terms[i].qtab);
    mem_free(s->terms);
    mem_free(s->order);
    mem_free(s->neg);
    mem_free(s->acc);
    mem_free(s->bits);
}

/* Opens cursors for the query's terms, from `looked` (fts_query_lookup
 * of this region) or looking them up. With `gs`, also BM25 weights. */
static infino_status setup(struct search *s, const struct fts_reader *r,
                           const struct fts_query *q, enum fts_mode mode,
                           const struct fts_global_stats *gs,
                           const roaring_bitmap_t *deleted,
                           const struct fts_term_stats *looked)
{
    infino_status st;

    memset(s, 0, sizeof *s);
    s->r = r;
    s->lo = 0;
    s->hi = r->n_docs;
    s->deleted = deleted;
    if (q->n_pos > 0) {
        s->terms = mem_alloc(q->n_pos * sizeof *s->terms);
        s->order = mem_alloc(q->n_pos * sizeof *s->order);
        if (s->terms == NULL || s->order == NULL)
            return err_nomem();
    }
    if (q->n_neg > 0 &&
        (s->neg = mem_alloc(q->n_neg * sizeof *s->neg)) == NULL)
        return err_nomem();
    if (gs != NULL) {
        if (gs->sim != NULL)
            CHECK(fts_similarity_check(gs->sim->k1, gs->sim->b));
        s->bm = fts_bm25_params(gs->avgdl, gs->sim);
    }
    for (size_t i = 0; i < q->n_pos; i++) {
        struct fts_term_info ti;
        struct term *t;
        bool found;

        if (looked != NULL) {
            ti = looked[i].info;
            found = ti.df > 0;
        } else {
            CHECK(fts_dict_find(&ti, &found, r, q->pos[i].bytes,
                                q->pos[i].len));
        }
        if (!found) {
            if (mode == FTS_MODE_AND)
                s->empty = true;
            continue;
        }
        t = &s->terms[s->n_terms];
        CHECK(fts_cursor_open(&t->cur, r, &ti));
        t->df = ti.df;
        t->idx = (uint32_t)i;
        t->wub = 0;
        t->w = 0;
        t->qtab = NULL;
        if (gs != NULL) {
            if (gs->df[i] == 0 || gs->df[i] > gs->n_docs) {
                st = err_set(INFINO_ERR_INVALID,
                             "global df %llu of query term %zu does not fit "
                             "N = %llu (the region holds the term)",
                             (unsigned long long)gs->df[i], i,
                             (unsigned long long)gs->n_docs);
                goto fail;
            }
            t->w = fts_bm25_idf(gs->n_docs, gs->df[i]) *
                   (double)q->pos[i].count;
        }
        s->n_terms++;
    }
    for (size_t i = 0; i < q->n_neg; i++) {
        struct fts_term_info ti;
        bool found;

        CHECK(fts_dict_find(&ti, &found, r, q->neg[i].bytes, q->neg[i].len));
        if (found) {
            CHECK(fts_cursor_open(&s->neg[s->n_neg], r, &ti));
            s->n_neg++;
        }
    }
    if (s->n_terms == 0)
        s->empty = true;
    return INFINO_OK;
fail:
    return st;
}

/* true when doc must not be returned: deleted, or holds a negative term.
 * Docs are asked in increasing order, so negative cursors only advance. */
static infino_status excluded(struct search *s, uint32_t doc, bool *out)
{
    infino_status st;

    *out = true;
    if (s->deleted != NULL && roaring_bitmap_contains(s->deleted, doc))
        return INFINO_OK;
    for (size_t i = 0; i < s->n_neg; i++) {
        bool has;
        CHECK(fts_cursor_contains(&s->neg[i], doc, &has));
        if (has)
            return INFINO_OK;
    }
    *out = false;
    return INFINO_OK;
fail:
    return st;
}

/* ---- scoring and the heap ---------------------------------------------- */

static inline int64_t contrib(const struct search *s, const struct term *t,
                              uint32_t tf, uint32_t doc)
{
    uint32_t dl = fts_dl(s->r, doc);

    /* the max_dl check also guards against doc lengths the trailer
     * understates in a damaged region */
    if (t->qtab != NULL && tf <= QTAB_TF && dl <= s->r->max_dl)
        return t->qtab[(tf - 1) * ((size_t)s->r->max_dl + 1) + dl];
    return fts_fixed(fts_bm25_term(&s->bm, t->w, tf, dl));
}

static int cmp_df_desc(const void *a, const void *b)
{
    const struct term *x = *(const struct term *const *)a;
    const struct term *y = *(const struct term *const *)b;

    if (x->df != y->df)
        return x->df > y->df ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Builds score tables for the largest terms (see QTAB_*). Entry (tf, dl)
 * is exactly what the division would give, so results do not change. */
static infino_status build_qtabs(struct search *s)
{
    size_t stride = (size_t)s->r->max_dl + 1, n = 0;

    if (s->r->max_dl > QTAB_MAX_DL || s->n_terms == 0)
        return INFINO_OK;
    for (size_t i = 0; i < s->n_terms; i++)
        s->order[i] = &s->terms[i];
    qsort(s->order, s->n_terms, sizeof *s->order, cmp_df_desc);
    for (size_t i = 0; i < s->n_terms && n < QTAB_TERMS; i++, n++) {
        struct term *t = s->order[i];
        if (t->df < QTAB_MIN_DF)
            break;
        t->qtab = mem_alloc(QTAB_TF * stride * sizeof *t->qtab);
        if (t->qtab == NULL)
            return err_nomem();
        for (uint32_t tf = 1; tf <= QTAB_TF; tf++)
            for (size_t dl = 0; dl < stride; dl++)
                t->qtab[(tf - 1) * stride + dl] = fts_fixed(
                    fts_bm25_term(&s->bm, t->w, tf, (uint32_t)dl));
    }
    return INFINO_OK;
}

static inline int64_t block_ub(const struct search *s, const struct term *t,
                               uint32_t b)
{
    return fts_fixed_ub(fts_bm25_term(&s->bm, t->w,
                                      fts_skip_max_tf(&t->cur, b),
                                      fts_skip_min_dl(&t->cur, b)));
}

static int64_t term_ub(const struct search *s, const struct term *t)
{
    int64_t ub = 0;

    for (uint32_t i = 0; i < t->cur.n_impacts; i++) {
        int64_t u = fts_fixed_ub(fts_bm25_term(&s->bm, t->w,
                                               t->cur.imp_tf[i],
                                               t->cur.imp_dl[i]));
        if (u > ub)
            ub = u;
    }
    return ub;
}

/* The exact rule: a doc scoring q (or at most q) can still enter the top
 * k. Later docs lose ties, so a full heap needs a strictly better float. */
static bool can_enter_float(const struct search *s, int64_t q)
{
    float f = fts_fixed_to_float(q);

    return s->n_heap < s->k ? f >= s->floor : f > s->heap[0].score;
}

/* Recomputes s->tq, the smallest fixed-point score that can enter. The
 * float conversion is monotone, so the rule above is "q >= tq"; finding
 * tq by bisection whenever the heap's floor moves keeps every hot-loop
 * check one integer comparison. */
static void update_tq(struct search *s)
{
    int64_t lo = 0, hi = INT64_MAX / 4; /* above any sum of contributions */

    if (can_enter_float(s, 0)) {
        s->tq = 0;
        return;
    }
    while (hi - lo > 1) { /* !can_enter(lo), can_enter(hi) */
        int64_t mid = lo + (hi - lo) / 2;
        if (can_enter_float(s, mid))
            hi = mid;
        else
            lo = mid;
    }
    s->tq = hi;
}

/* Could a doc scoring `q` (or at most q) still enter the top k? */
static inline bool can_enter(const struct search *s, int64_t q)
{
    return q >= s->tq;
}

static inline bool worse(const struct fts_hit *a, const struct fts_hit *b)
{
    return a->score < b->score || (a->score == b->score && a->doc > b->doc);
}

static void sift_down(struct fts_hit *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && worse(&h[l], &h[m]))
            m = l;
        if (l + 1 < n && worse(&h[l + 1], &h[m]))
            m = l + 1;
        if (m == i)
            return;
        struct fts_hit t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Offers a fully scored doc to the heap. */
static infino_status offer(struct search *s, uint32_t doc, int64_t q)
{
    struct fts_hit hit;
    infino_status st;
    bool ex;

    if (!can_enter(s, q))
        return INFINO_OK;
    CHECK(excluded(s, doc, &ex));
    if (ex)
        return INFINO_OK;
    hit.doc = doc;
    hit.score = fts_fixed_to_float(q);
    if (s->n_heap < s->k) {
        size_t i = s->n_heap++;
        s->heap[i] = hit;
        while (i > 0 && worse(&s->heap[i], &s->heap[(i - 1) / 2])) {
            struct fts_hit t = s->heap[i];
            s->heap[i] = s->heap[(i - 1) / 2];
            s->heap[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else {
        s->heap[0] = hit;
        sift_down(s->heap, s->n_heap, 0);
    }
    if (s->n_heap == s->k)
        update_tq(s);
    return INFINO_OK;
fail:
    return st;
}

/* ---- top-k: one term --------------------------------------------------- */

static infino_status topk_single(struct search *s)
{
    struct term *t = &s->terms[0];
    struct fts_cursor *c = &t->cur;
    infino_status st;

    for (uint32_t b = fts_cursor_find_block(c, 0, (uint32_t)s->lo);
         b < c->n_blocks && fts_skip_first(c, b) < s->hi; b++) {
        uint32_t first = fts_skip_first(c, b);
        if (!can_enter(s, block_ub(s, t, b)))
            continue;
        CHECK(fts_cursor_seek(c, first > s->lo ? first : (uint32_t)s->lo));
        if (c->doc == FTS_NO_DOC)
            break;
        b = c->blk;
        for (uint32_t i = c->pos; i < c->n && c->docs[i] < s->hi; i++)
            CHECK(offer(s, c->docs[i], contrib(s, t, c->tfs[i], c->docs[i])));
    }
    return INFINO_OK;
fail:
    return st;
}

/* ---- top-k: OR, Block-Max MaxScore over windows ------------------------ */

/* The bound of t over docs [lo, hi). */
static int64_t window_ub(const struct search *s, struct term *t, uint32_t lo,
                         uint64_t hi)
{
    struct fts_cursor *c = &t->cur;
    int64_t ub = 0;
    uint32_t b;

    if (c->blk >= c->n_blocks ||
        (c->decoded == c->blk && c->doc >= hi))
        return 0; /* exhausted, or known to have nothing here */
    for (b = fts_cursor_find_block(c, c->blk, lo);
         b < c->n_blocks && fts_skip_first(c, b) < hi; b++) {
        int64_t u = block_ub(s, t, b);
        if (u > ub)
            ub = u;
    }
    return ub;
}

static int cmp_tub(const void *a, const void *b)
{
    const struct term *x = *(const struct term *const *)a;
    const struct term *y = *(const struct term *const *)b;

    if (x->tub != y->tub)
        return x->tub < y->tub ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_wub(const void *a, const void *b)
{
    const struct term *x = *(const struct term *const *)a;
    const struct term *y = *(const struct term *const *)b;

    if (x->wub != y->wub)
        return x->wub < y->wub ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Scores t's postings in [lo, hi) into the accumulators, skipping blocks
 * whose bound plus every other term's window bound (`others`) cannot
 * enter. Skipping is safe without bookkeeping: a doc of a skipped block
 * that still becomes a candidate through another term scores below the
 * threshold even with t's contribution, so it is rejected all the more
 * without it. */
static infino_status accumulate(struct search *s, struct term *t, uint32_t lo,
                                uint64_t hi, int64_t others)
{
    struct fts_cursor *c = &t->cur;
    infino_status st;
    uint32_t b;

    for (b = fts_cursor_find_block(c, c->blk, lo);
         b < c->n_blocks && fts_skip_first(c, b) < hi; b++) {
        uint32_t i, first = fts_skip_first(c, b);

        if (!can_enter(s, block_ub(s, t, b) + others))
            continue;
        CHECK(fts_cursor_seek(c, first > lo ? first : lo));
        if (c->doc >= hi)
            break;
        b = c->blk;
        for (i = c->pos; i < c->n && c->docs[i] < hi; i++) {
            uint32_t d = c->docs[i], o = d - lo;
            s->acc[o] += contrib(s, t, c->tfs[i], d);
            s->bits[o >> 6] |= (uint64_t)1 << (o & 63);
        }
        c->pos = i < c->n ? i : c->n - 1;
        c->doc = c->docs[c->pos];
        if (i < c->n)
            break;
    }
    return INFINO_OK;
fail:
    return st;
}

/* A lower bound on the first doc >= hi of any term, without decoding:
 * exact for cursors whose block is decoded, else the first doc the block
 * holding hi could contain. UINT64_MAX when every term is exhausted. */
static uint64_t next_start(const struct search *s, uint64_t hi)
{
    uint64_t m = UINT64_MAX;

    for (size_t i = 0; i < s->n_terms && m > hi; i++) {
        const struct fts_cursor *c = &s->terms[i].cur;
        uint64_t x;
        uint32_t b;

        if (c->blk >= c->n_blocks)
            continue;
        if (c->decoded == c->blk && c->docs[c->n - 1] >= hi) {
            uint32_t lo = c->pos, up = c->n - 1; /* docs[up] >= hi */
            if (c->docs[lo] >= hi)
                up = lo;
            while (up - lo > 1) {
                uint32_t mid = lo + (up - lo) / 2;
                if (c->docs[mid] >= hi)
                    up = mid;
                else
                    lo = mid;
            }
            x = c->docs[up];
        } else {
            b = fts_cursor_find_block(c, c->blk, (uint32_t)hi);
            if (b >= c->n_blocks)
                continue;
            x = fts_skip_first(c, b);
        }
        if (x < m)
            m = x;
    }
    return m < hi ? hi : m;
}

/* Sorts the (few) terms by window bound; ties by query position so the
 * order is deterministic. */
static void sort_by_wub(struct term **v, size_t n)
{
    if (n > 24) {
        qsort(v, n, sizeof *v, cmp_wub);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        struct term *t = v[i];
        size_t j = i;
        while (j > 0 && cmp_wub(&v[j - 1], &t) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = t;
    }
}

static infino_status topk_or(struct search *s)
{
    uint64_t lo = s->lo, n_docs = s->hi;
    size_t n = s->n_terms;
    infino_status st;

    struct term **by_tub = mem_alloc(n * sizeof *by_tub);

    if (by_tub == NULL)
        return err_nomem();
    for (size_t i = 0; i < n; i++) {
        s->order[i] = by_tub[i] = &s->terms[i];
        s->terms[i].tub = term_ub(s, &s->terms[i]);
    }
    qsort(by_tub, n, sizeof *by_tub, cmp_tub);
    while (lo < n_docs) {
        uint64_t hi = lo + WINDOW < n_docs ? lo + WINDOW : n_docs;
        int64_t sum = 0;
        size_t e = 0, cheap = 0;

        /* Terms whose global bounds together are negligible (a 16th of
         * the threshold) stay non-essential whatever the window: skip
         * their block scans. Others get the tighter window bound. */
        int64_t theta = (int64_t)((double)(s->n_heap < s->k
                                               ? s->floor
                                               : s->heap[0].score) *
                                  FTS_SCORE_SCALE);
        while (cheap < n && (sum + by_tub[cheap]->tub) * 16 < theta) {
            by_tub[cheap]->wub = by_tub[cheap]->tub;
            sum += by_tub[cheap++]->tub;
        }
        sum = 0;
        for (size_t i = cheap; i < n; i++)
            by_tub[i]->wub =
                window_ub(s, by_tub[i], (uint32_t)lo, hi);
        sort_by_wub(s->order, n);
        while (e < n && !can_enter(s, sum + s->order[e]->wub))
            sum += s->order[e++]->wub;
        if (e < n) {
            int64_t total = sum;
            for (size_t j = e; j < n; j++)
                total += s->order[j]->wub;
            for (size_t j = e; j < n; j++)
                CHECK(accumulate(s, s->order[j], (uint32_t)lo, hi,
                                 total - s->order[j]->wub));
            for (uint32_t w = 0; w < (hi - lo + 63) / 64; w++) {
                uint64_t word = s->bits[w];
                s->bits[w] = 0;
                while (word != 0) {
                    uint32_t o = w * 64 + (uint32_t)__builtin_ctzll(word);
                    uint32_t d = (uint32_t)lo + o;
                    int64_t q = s->acc[o], rem = sum;
                    bool full = true;
                    word &= word - 1;
                    s->acc[o] = 0;
                    if (!can_enter(s, q + rem))
                        continue;
                    /* probe non-essential terms, largest bound first */
                    for (size_t j = e; j-- > 0;) {
                        struct term *t = s->order[j];
                        rem -= t->wub;
                        CHECK(fts_cursor_seek(&t->cur, d));
                        if (t->cur.doc == d)
                            q += contrib(s, t, fts_cursor_tf(&t->cur), d);
                        if (!can_enter(s, q + rem)) {
                            full = false;
                            break;
                        }
                    }
                    if (full)
                        CHECK(offer(s, d, q));
                }
            }
        }
        lo = next_start(s, hi);
    }
    mem_free(by_tub);
    return INFINO_OK;
fail:
    mem_free(by_tub);
    return st;
}

/* ---- AND: leapfrog from the rarest term -------------------------------- */

static int cmp_df(const void *a, const void *b)
{
    const struct term *x = *(const struct term *const *)a;
    const struct term *y = *(const struct term *const *)b;

    if (x->df != y->df)
        return x->df < y->df ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The largest bound of t's blocks overlapping [lo, hi); *none when t has
 * no posting at or after lo. */
static int64_t range_ub(const struct search *s, struct term *t, uint32_t lo,
                        uint64_t hi, bool *none)
{
    struct fts_cursor *c = &t->cur;
    uint32_t b = fts_cursor_find_block(c, c->blk, lo);
    int64_t ub = 0;

    *none = b >= c->n_blocks;
    for (; b < c->n_blocks && fts_skip_first(c, b) < hi; b++) {
        int64_t u = block_ub(s, t, b);
        if (u > ub)
            ub = u;
    }
    return ub;
}

/* Calls found(s, doc, score) for each doc holding every term, ascending,
 * walking the rarest term block by block. With `scored`, a block whose
 * bound plus the other terms' bounds over its doc range cannot enter the
 * heap is skipped undecoded. `want_dl` (UINT32_MAX: any) keeps only docs
 * of that length. */
static infino_status leapfrog(struct search *s, bool scored, uint32_t want_dl,
                              infino_status (*found)(struct search *,
                                                     uint32_t, int64_t))
{
    size_t n = s->n_terms;
    struct fts_cursor *lead;
    infino_status st;

    for (size_t i = 0; i < n; i++)
        s->order[i] = &s->terms[i];
    qsort(s->order, n, sizeof *s->order, cmp_df);
    lead = &s->order[0]->cur;
    for (uint32_t b = fts_cursor_find_block(lead, 0, (uint32_t)s->lo);
         b < lead->n_blocks && fts_skip_first(lead, b) < s->hi; b++) {
        uint32_t first = fts_skip_first(lead, b);
        int64_t rest = -1; /* others' bound over this block, if known */

        if (first < s->lo)
            first = (uint32_t)s->lo;
        if (scored && !(s->n_heap < s->k && s->floor <= 0)) {
            uint64_t end = (uint64_t)fts_skip_last(lead, b) + 1;
            bool none = false;
            rest = 0;
            for (size_t j = n - 1; j >= 1 && !none; j--) {
                s->order[j]->after = rest;
                rest += range_ub(s, s->order[j], first, end, &none);
            }
            if (none)
                break; /* a term has nothing left: no more matches */
            if (!can_enter(s, block_ub(s, s->order[0], b) + rest))
                continue;
        }
        CHECK(fts_cursor_seek(lead, first));
        if (lead->doc == FTS_NO_DOC)
            break;
        b = lead->blk;
        for (uint32_t i = lead->pos; i < lead->n; i++) {
            uint32_t d = lead->docs[i];
            size_t j;
            int64_t q = 0;
            bool hopeless = false;

            if (d >= s->hi)
                goto done;
            if (rest >= 0) {
                q = contrib(s, s->order[0], lead->tfs[i], d);
                if (!can_enter(s, q + rest))
                    continue; /* even with every other term at its best */
            }
            /* Rarest first; with a threshold, each term found adds its
             * real contribution, and the doc is dropped as soon as the
             * terms still to check cannot lift it into the top k (it is
             * then never known whether it holds them all). */
            for (j = 1; j < n; j++) {
                struct term *t = s->order[j];
                CHECK(fts_cursor_seek(&t->cur, d));
                if (t->cur.doc != d)
                    break;
                if (rest >= 0) {
                    q += contrib(s, t, fts_cursor_tf(&t->cur), d);
                    if (!can_enter(s, q + t->after)) {
                        hopeless = true;
                        break;
                    }
                }
            }
            if (hopeless)
                continue;
            if (j < n) {
                uint32_t next = s->order[j]->cur.doc;
                if (next == FTS_NO_DOC)
                    goto done;
                while (i + 1 < lead->n && lead->docs[i + 1] < next)
                    i++; /* leap over lead docs the other term lacks */
                continue;
            }
            if (want_dl != UINT32_MAX && fts_dl(s->r, d) != want_dl)
                continue;
            lead->pos = i; /* so every term's tf reads through its cursor */
            lead->doc = d;
            if (scored && rest < 0)
                for (j = 0; j < n; j++)
                    q += contrib(s, s->order[j],
                                 fts_cursor_tf(&s->order[j]->cur), d);
            CHECK(found(s, d, q));
        }
        lead->pos = lead->n - 1;
        lead->doc = lead->docs[lead->pos];
    }
done:
    return INFINO_OK;
fail:
    return st;
}

static infino_status found_offer(struct search *s, uint32_t doc, int64_t q)
{
    return offer(s, doc, q);
}

/* ---- top-k entry ------------------------------------------------------- */

static int cmp_hits(const void *a, const void *b)
{
    const struct fts_hit *x = a, *y = b;

    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* Runs the top-k algorithm for the query over [s->lo, s->hi) into
 * s->heap (s->k entries); s is set up. */
static infino_status run_topk(struct search *s, enum fts_mode mode)
{
    infino_status st;

    CHECK(build_qtabs(s));
    if (mode == FTS_MODE_AND && s->n_terms > 1) {
        CHECK(leapfrog(s, true, UINT32_MAX, found_offer));
    } else if (s->n_terms == 1) {
        CHECK(topk_single(s));
    } else {
        /* windows never span more than the searched range: a small
         * region needs (and clears) only that much */
        uint64_t span = s->hi - s->lo < WINDOW ? s->hi - s->lo : WINDOW;
        size_t words = span > 0 ? (size_t)(span + 63) / 64 : 1;
        s->acc = mem_calloc(words * 64, sizeof *s->acc);
        s->bits = mem_calloc(words, sizeof *s->bits);
        if (s->acc == NULL || s->bits == NULL)
            CHECK(err_nomem());
        CHECK(topk_or(s));
    }
    return INFINO_OK;
fail:
    return st;
}

/* ---- one region across cores ------------------------------------------- */

/* A multi-term query over a large region is cut into doc-id ranges
 * searched on the pool's threads (util/tpool.h), each with its own
 * cursors and heap; the k best of their heaps are the k best of the
 * region, exactly: every range keeps its own best k under the same order
 * (score, then doc id), and scores do not depend on the visiting order.
 * Worth it only where the postings are many (a thread handoff costs a
 * few microseconds); ranges are whole windows. */
#define PAR_MIN_DOCS 32768u       /* docs per range at least */
#define PAR_MIN_POSTINGS 100000u  /* sum of the terms' df at least */

struct part {
    const struct fts_reader *r;
    const struct fts_query *q;
    const struct fts_global_stats *gs;
    const struct fts_search_opts *opts;
    uint64_t lo, hi;
    struct fts_hit *heap; /* opts->k entries, owned by the caller */
    size_t n_heap;
    struct err_saved res; /* from the thread that ran the part */
};

static void run_part(void *arg, size_t i)
{
    struct part *p = (struct part *)arg + i;
    struct search s;
    infino_status st;

    memset(&s, 0, sizeof s);
    CHECK(setup(&s, p->r, p->q, p->opts->mode, p->gs, p->opts->deleted,
                p->opts->terms));
    if (!s.empty) {
        s.lo = p->lo;
        s.hi = p->hi;
        s.heap = p->heap;
        s.k = p->opts->k;
        s.floor = p->opts->min_score > 0 ? p->opts->min_score : 0;
        update_tq(&s);
        CHECK(run_topk(&s, p->opts->mode));
    }
    p->n_heap = s.n_heap;
    search_free(&s);
    err_save(&p->res, INFINO_OK);
    return;
fail:
    search_free(&s);
    err_save(&p->res, st);
}

/* How many ranges to cut the search into (1: none). */
static size_t n_parts(const struct search *s, enum fts_mode mode)
{
    uint64_t postings = 0, n;

    if (s->n_terms < 2 || s->r->n_docs < 2ull * PAR_MIN_DOCS)
        return 1;
    for (size_t i = 0; i < s->n_terms; i++)
        postings += s->terms[i].df;
    if (mode == FTS_MODE_AND) {
        /* the work follows the rarest term (and the seeks into others) */
        uint64_t min_df = UINT64_MAX;
        for (size_t i = 0; i < s->n_terms; i++)
            if (s->terms[i].df < min_df)
                min_df = s->terms[i].df;
        postings = min_df * s->n_terms;
    }
    if (postings < tpool_min_work(PAR_MIN_POSTINGS))
        return 1;
    n = s->r->n_docs / PAR_MIN_DOCS;
    if (n > tpool_threads())
        n = tpool_threads();
    return n < 1 ? 1 : (size_t)n;
}

static infino_status search_parts(struct fts_hit *out, size_t *n_out,
                                  const struct fts_reader *r,
                                  const struct fts_query *q,
                                  const struct fts_global_stats *gs,
                                  const struct fts_search_opts *opts,
                                  size_t n)
{
    struct part *parts = mem_calloc(n, sizeof *parts);
    struct fts_hit *all = mem_alloc(n * opts->k * sizeof *all);
    uint64_t step, lo = 0;
    size_t got = 0;
    infino_status st = INFINO_OK;

    if (parts == NULL || all == NULL) {
        mem_free(parts);
        mem_free(all);
        return err_nomem();
    }
    /* equal ranges, of whole windows when they span several */
    step = (r->n_docs + n - 1) / n;
    if (step >= 4 * WINDOW)
        step = (step + WINDOW - 1) / WINDOW * WINDOW;
    if (step == 0)
        step = 1;
    for (size_t i = 0; i < n; i++) {
        parts[i] = (struct part){r, q, gs, opts, lo,
                                 lo + step < r->n_docs ? lo + step : r->n_docs,
                                 all + i * opts->k, 0, {INFINO_OK, {0}}};
        lo = parts[i].hi;
    }
    tpool_run(n, run_part, parts);
    for (size_t i = 0; i < n; i++) {
        if ((st = err_restore(&parts[i].res)) != INFINO_OK)
            goto done;
        memmove(all + got, parts[i].heap, parts[i].n_heap * sizeof *all);
        got += parts[i].n_heap;
    }
    qsort(all, got, sizeof *all, cmp_hits);
    *n_out = got < opts->k ? got : opts->k;
    memcpy(out, all, *n_out * sizeof *out);
done:
    mem_free(parts);
    mem_free(all);
    return st;
}

/* A query with phrases has tokens that are no clause of their own (count
 * 0): only fts_eval_phrased() knows what they mean. */
static infino_status plain_only(const struct fts_query *q)
{
    if (q->n_phrases == 0)
        return INFINO_OK;
    return err_set(INFINO_ERR_INVALID, "a query with phrases is evaluated "
                   "by fts_eval_phrased");
}

infino_status fts_search(struct fts_hit *out, size_t *n_out,
                         const struct fts_reader *r, const struct fts_query *q,
                         const struct fts_global_stats *gs,
                         const struct fts_search_opts *opts)
{
    struct search s;
    size_t parts;
    infino_status st;

    memset(&s, 0, sizeof s);
    *n_out = 0;
    CHECK(plain_only(q));
    CHECK(fts_query_check(q));
    if (opts->k == 0 || q->n_pos == 0)
        return INFINO_OK;
    if (gs == NULL || gs->df == NULL || !(gs->avgdl > 0) ||
        !isfinite(gs->avgdl)) {
        st = err_set(INFINO_ERR_INVALID, "fts search: global statistics "
                     "missing or avgdl not positive");
        goto fail;
    }
    CHECK(setup(&s, r, q, opts->mode, gs, opts->deleted, opts->terms));
    if (s.empty)
        goto done;
    s.heap = out;
    s.k = opts->k;
    s.floor = opts->min_score > 0 ? opts->min_score : 0;
    update_tq(&s);
    {
        /* Nothing here can reach the caller's floor: skip the region
         * without touching postings (a MaxScore bound from the impacts). */
        int64_t ub = 0;
        for (size_t i = 0; i < s.n_terms; i++)
            ub += term_ub(&s, &s.terms[i]);
        if (!can_enter(&s, ub))
            goto done;
    }
    parts = opts->k <= SIZE_MAX / 64 ? n_parts(&s, opts->mode) : 1;
    if (opts->parts > 0)
        parts = opts->parts;
    if (parts > 1) {
        search_free(&s);
        CHECK(search_parts(out, n_out, r, q, gs, opts, parts));
        return INFINO_OK;
    }
    CHECK(run_topk(&s, opts->mode));
    qsort(out, s.n_heap, sizeof *out, cmp_hits);
    *n_out = s.n_heap;
done:
    search_free(&s);
    return INFINO_OK;
fail:
    search_free(&s);
    return in_region(st, "fts search", r);
}

/* ---- one query over many regions ---------------------------------------- */

/* The impacts of a looked-up term, checked as fts_cursor_open checks them. */
static infino_status read_impacts(struct fts_term_stats *t,
                                  const struct fts_reader *r)
{
    struct rd rest;

    return fts_read_impacts(r, &t->info, t->imp_tf, t->imp_dl, &t->n_impacts,
                            &rest);
}

infino_status fts_query_lookup(struct fts_term_stats *out,
                               const struct fts_reader *r,
                               const struct fts_query *q)
{
    infino_status st;

    for (size_t i = 0; i < q->n_pos; i++) {
        struct fts_term_stats *t = &out[i];
        bool found;

        memset(t, 0, sizeof *t);
        CHECK(fts_dict_find(&t->info, &found, r, q->pos[i].bytes,
                            q->pos[i].len));
        if (!found) {
            memset(&t->info, 0, sizeof t->info);
            continue;
        }
        CHECK(read_impacts(t, r));
    }
    return INFINO_OK;
fail:
    return in_region(st, "fts lookup", r);
}

void fts_term_stats_add_df(uint64_t *df, const struct fts_term_stats *terms,
                           size_t n_terms)
{
    for (size_t i = 0; i < n_terms; i++)
        df[i] += terms[i].info.df;
}

/* The sum fts_search checks before touching postings: each present term's
 * best impact, in the fixed point of scores, rounded up. */
float fts_query_bound(const struct fts_term_stats *terms,
                      const struct fts_query *q,
                      const struct fts_global_stats *gs, enum fts_mode mode)
{
    struct fts_bm25 bm;
    int64_t ub = 0;
    bool any = false;

    if (gs == NULL || gs->df == NULL || !(gs->avgdl > 0) ||
        !isfinite(gs->avgdl) ||
        (gs->sim != NULL &&
         fts_similarity_check(gs->sim->k1, gs->sim->b) != INFINO_OK)) {
        err_clear();
        return INFINITY;
    }
    bm = fts_bm25_params(gs->avgdl, gs->sim);
    for (size_t i = 0; i < q->n_pos; i++) {
        const struct fts_term_stats *t = &terms[i];
        int64_t best = 0;
        double w;

        if (t->info.df == 0) {
            if (mode == FTS_MODE_AND)
                return 0.0f;
            continue;
        }
        if (gs->df[i] == 0 || gs->df[i] > gs->n_docs ||
            t->n_impacts == 0 || t->n_impacts > FTS_MAX_IMPACTS)
            return INFINITY;
        any = true;
        w = fts_bm25_idf(gs->n_docs, gs->df[i]) * (double)q->pos[i].count;
        for (uint32_t j = 0; j < t->n_impacts; j++) {
            int64_t u = fts_fixed_ub(
                fts_bm25_term(&bm, w, t->imp_tf[j], t->imp_dl[j]));
            if (u > best)
                best = u;
        }
        ub += best;
    }
    return any ? fts_fixed_to_float(ub) : 0.0f;
}

/* ---- count and match --------------------------------------------------- */

/* Makes room for `extra` more ids in s->ids. */
static infino_status reserve_ids(struct search *s, size_t extra)
{
    struct fts_doc_ids *v = s->ids;
    size_t cap = v->cap ? v->cap : 256, bytes;
    uint32_t *p;

    if (v->n + extra <= v->cap)
        return INFINO_OK;
    while (cap < v->n + extra)
        cap *= 2;
    if (mem_mul(&bytes, cap, sizeof *p) != 0 ||
        (p = mem_realloc(v->ids, bytes)) == NULL)
        return err_nomem();
    v->ids = p;
    v->cap = cap;
    return INFINO_OK;
}

static infino_status emit(struct search *s, uint32_t doc, int64_t q)
{
    infino_status st;

    (void)q;
    if (s->ids == NULL) {
        s->count++;
        return INFINO_OK;
    }
    CHECK(reserve_ids(s, 1));
    s->ids->ids[s->ids->n++] = doc;
    return INFINO_OK;
fail:
    return st;
}

static infino_status emit_checked(struct search *s, uint32_t doc, int64_t q)
{
    infino_status st;
    bool ex;

    CHECK(excluded(s, doc, &ex));
    if (!ex)
        CHECK(emit(s, doc, q));
    return INFINO_OK;
fail:
    return st;
}

/* Clears the bits of docs holding cursor c's term in [lo, hi). */
static infino_status clear_term(struct search *s, struct fts_cursor *c,
                                uint32_t lo, uint64_t hi)
{
    infino_status st;

    CHECK(fts_cursor_seek(c, lo));
    while (c->doc < hi) {
        uint32_t o = c->doc - lo;
        s->bits[o >> 6] &= ~((uint64_t)1 << (o & 63));
        CHECK(fts_cursor_next(c));
    }
    return INFINO_OK;
fail:
    return st;
}

/* OR: per window, set the positives' bits, clear negatives and deletions,
 * then emit the survivors. */
static infino_status match_or(struct search *s)
{
    uint64_t lo = 0, n_docs = s->r->n_docs;
    roaring_uint32_iterator_t it;
    infino_status st;

    if (s->deleted != NULL)
        roaring_init_iterator(s->deleted, &it);
    while (lo < n_docs) {
        uint64_t hi = lo + MATCH_WINDOW < n_docs ? lo + MATCH_WINDOW : n_docs;
        uint64_t next = UINT64_MAX;
        uint32_t n_words = (uint32_t)((hi - lo + 63) / 64);

        for (size_t i = 0; i < s->n_terms; i++) {
            struct fts_cursor *c = &s->terms[i].cur;
            CHECK(fts_cursor_seek(c, (uint32_t)lo));
            while (c->doc < hi) {
                uint32_t o = c->doc - (uint32_t)lo;
                s->bits[o >> 6] |= (uint64_t)1 << (o & 63);
                CHECK(fts_cursor_next(c));
            }
            if (c->doc != FTS_NO_DOC && c->doc < next)
                next = c->doc;
        }
        for (size_t i = 0; i < s->n_neg; i++)
            CHECK(clear_term(s, &s->neg[i], (uint32_t)lo, hi));
        if (s->deleted != NULL &&
            roaring_move_uint32_iterator_equalorlarger(&it, (uint32_t)lo)) {
            while (it.has_value && it.current_value < hi) {
                uint32_t o = it.current_value - (uint32_t)lo;
                s->bits[o >> 6] &= ~((uint64_t)1 << (o & 63));
                roaring_advance_uint32_iterator(&it);
            }
        }
        if (s->ids == NULL) {
            for (uint32_t w = 0; w < n_words; w++) {
                s->count += (uint64_t)__builtin_popcountll(s->bits[w]);
                s->bits[w] = 0;
            }
        } else {
            size_t in_window = 0;
            for (uint32_t w = 0; w < n_words; w++)
                in_window += (size_t)__builtin_popcountll(s->bits[w]);
            if (in_window > 0) /* (until then ids may be NULL) */
                CHECK(reserve_ids(s, in_window));
            for (uint32_t w = 0; w < n_words; w++) {
                uint64_t word = s->bits[w];
                s->bits[w] = 0;
                while (word != 0) {
                    s->ids->ids[s->ids->n++] =
                        (uint32_t)lo + w * 64 +
                        (uint32_t)__builtin_ctzll(word);
                    word &= word - 1;
                }
            }
        }
        lo = next;
    }
    return INFINO_OK;
fail:
    return st;
}

/* Shared by fts_count and fts_match (ids == NULL: count only). */
static infino_status run_match(struct search *s, enum fts_mode mode,
                               uint32_t want_dl)
{
    if (s->empty)
        return INFINO_OK;
    if (s->n_terms == 1 && s->n_neg == 0 && s->deleted == NULL &&
        s->ids == NULL && want_dl == UINT32_MAX) {
        s->count = s->terms[0].df;
        return INFINO_OK;
    }
    if ((mode == FTS_MODE_AND && s->n_terms > 1) || want_dl != UINT32_MAX)
        return leapfrog(s, false, want_dl, emit_checked);
    s->bits = mem_calloc(MATCH_WINDOW / 64, sizeof *s->bits);
    if (s->bits == NULL)
        return err_nomem();
    return match_or(s);
}

infino_status fts_count(uint64_t *out, const struct fts_reader *r,
                        const struct fts_query *q, enum fts_mode mode,
                        const roaring_bitmap_t *deleted)
{
    struct search s;
    infino_status st;

    memset(&s, 0, sizeof s);
    *out = 0;
    CHECK(plain_only(q));
    CHECK(fts_query_check(q));
    CHECK(setup(&s, r, q, mode, NULL, deleted, NULL));
    CHECK(run_match(&s, mode, UINT32_MAX));
    *out = s.count;
    search_free(&s);
    return INFINO_OK;
fail:
    search_free(&s);
    return in_region(st, "fts count", r);
}

infino_status fts_match(struct fts_doc_ids *out, const struct fts_reader *r,
                        const struct fts_query *q, enum fts_mode mode,
                        const roaring_bitmap_t *deleted)
{
    size_t n0 = out->n;
    struct search s;
    infino_status st;

    memset(&s, 0, sizeof s);
    CHECK(plain_only(q));
    CHECK(fts_query_check(q));
    CHECK(setup(&s, r, q, mode, NULL, deleted, NULL));
    s.ids = out;
    CHECK(run_match(&s, mode, UINT32_MAX));
    search_free(&s);
    return INFINO_OK;
fail:
    out->n = n0;
    search_free(&s);
    return in_region(st, "fts match", r);
}

/* A value with more distinct tokens than this is narrowed by its rarest
 * ones: candidates are verified against the stored text anyway, and past
 * a few dozen terms the intersection rarely shrinks, while every term
 * costs a cursor. */
#define EXACT_MAX_TERMS 64u

struct rare {
    uint32_t df;
    size_t i; /* index into the stage */
};

static int by_df(const void *a, const void *b)
{
    const struct rare *x = a, *y = b;

    if (x->df != y->df)
        return x->df < y->df ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static int by_index(const void *a, const void *b)
{
    const struct rare *x = a, *y = b;

    return x->i < y->i ? -1 : x->i > y->i;
}

/* Builds in q the terms that narrow an exact match of the staged value:
 * all of them, or the EXACT_MAX_TERMS rarest in this region. *absent is
 * true when the region lacks one of them (then nothing can match). */
static infino_status exact_terms(struct fts_query *q, bool *absent,
                                 const struct fts_reader *r,
                                 const struct fts_stage *stage)
{
    struct fts_span pick[EXACT_MAX_TERMS];
    struct rare *v = NULL;
    size_t bytes, n_pick;
    infino_status st;

    *absent = false;
    if (stage->n <= EXACT_MAX_TERMS)
        return fts_query_add_spans(q, stage->v, stage->n, false);
    if (mem_mul(&bytes, stage->n, sizeof *v) != 0 ||
        (v = mem_alloc(bytes)) == NULL)
        return err_nomem();
    for (size_t i = 0; i < stage->n; i++) {
        struct fts_term_info ti;
        bool found;
        CHECK(fts_dict_find(&ti, &found, r, stage->v[i].p, stage->v[i].len));
        if (!found) {
            *absent = true;
            goto done;
        }
        v[i].df = ti.df;
        v[i].i = i;
    }
    qsort(v, stage->n, sizeof *v, by_df);
    n_pick = EXACT_MAX_TERMS;
    qsort(v, n_pick, sizeof *v, by_index); /* back in term order */
    for (size_t i = 0; i < n_pick; i++)
        pick[i] = stage->v[v[i].i];
    CHECK(fts_query_add_spans(q, pick, n_pick, false));
done:
    st = INFINO_OK;
fail:
    mem_free(v);
    return st;
}

infino_status fts_exact_candidates(struct fts_doc_ids *out,
                                   const struct fts_reader *r,
                                   const struct fts_analysis *a,
                                   const void *value, size_t len,
                                   const roaring_bitmap_t *deleted)
{
    struct fts_tokenizer *tk = NULL;
    struct fts_stage stage;
    struct fts_query *q = NULL;
    size_t n0 = out->n;
    struct search s;
    bool absent;
    infino_status st;

    memset(&s, 0, sizeof s);
    fts_stage_init(&stage);
    CHECK(fts_query_new(&q, a));
    CHECK(fts_tokenizer_new(&tk, a));
    CHECK(fts_stage_text(&stage, tk, value, len));
    if (stage.n_tokens == 0) {
        /* no tokens: only docs without tokens can hold the value */
        s.r = r;
        s.ids = out;
        for (uint32_t d = 0; d < r->n_docs; d++)
            if (fts_dl(r, d) == 0 &&
                (deleted == NULL || !roaring_bitmap_contains(deleted, d)))
                CHECK(emit(&s, d, 0));
    } else {
        /* a doc holding the value has exactly its token count (repeats
         * counted) and every one of its distinct tokens */
        uint64_t n = stage.n_tokens;
        fts_stage_sort(&stage);
        CHECK(exact_terms(q, &absent, r, &stage));
        if (!absent) {
            CHECK(setup(&s, r, q, FTS_MODE_AND, NULL, deleted, NULL));
            s.ids = out;
            /* doc lengths saturate at UINT32_MAX, which also means "any
             * length" here: a superset, still verified */
            CHECK(run_match(&s, FTS_MODE_AND,
                            n < UINT32_MAX ? (uint32_t)n : UINT32_MAX));
        }
    }
    search_free(&s);
    fts_stage_free(&stage);
    fts_tokenizer_free(tk);
    fts_query_free(q);
    return INFINO_OK;
fail:
    out->n = n0;
    search_free(&s);
    fts_stage_free(&stage);
    fts_tokenizer_free(tk);
    fts_query_free(q);
    return in_region(st, "fts exact match", r);
}
