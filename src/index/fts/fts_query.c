/*
 * fts_query.c - query parsing and the per-region statistics a caller sums
 * into table-global BM25 statistics.
 *
 * A query is two sorted sets of normalized terms, positive ones with their
 * multiplicity. Sorting makes the query (and the df array indexed by it)
 * independent of how the user ordered words; a repeated word raises its
 * term's weight (see fts.h). Text is
 * tokenized into a stage first and sorted once, so a long text costs
 * O(n log n), not one insertion per token.
 */
#include "fts_int.h"

#include "util/alloc.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

infino_status fts_query_new(struct fts_query **out,
                            const struct fts_analysis *a)
{
    struct fts_query *q = mem_calloc(1, sizeof *q);
    infino_status st;

    *out = NULL;
    if (q == NULL)
        return err_nomem();
    if (a != NULL && (st = fts_analysis_copy(&q->an, a)) != INFINO_OK) {
        mem_free(q);
        return st;
    }
    *out = q;
    return INFINO_OK;
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
    for (size_t i = 0; i < q->n_phrases; i++) {
        for (size_t j = 0; j < q->phrases[i].n; j++)
            mem_free(q->phrases[i].tok[j].bytes);
        mem_free(q->phrases[i].tok);
        mem_free(q->phrases[i].rel);
    }
    mem_free(q->phrases);
    fts_analysis_free(&q->an);
    mem_free(q);
}

static int cmp_bytes(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);

    if (c != 0)
        return c;
    return na < nb ? -1 : na > nb;
}

size_t fts_query_pos_index(const struct fts_query *q, const uint8_t *term,
                           size_t len)
{
    size_t lo = 0, hi = q->n_pos;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_bytes(q->pos[mid].bytes, q->pos[mid].len, term, len);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

/* Adds `add` to the count of term in the sorted set (v, n, cap), inserting
 * a copy with that count when absent. */
static infino_status set_add(struct fts_qterm **v, size_t *n, size_t *cap,
                             const uint8_t *term, size_t len, uint32_t add)
{
    size_t lo = 0, hi = *n;
    uint8_t *copy;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_bytes((*v)[mid].bytes, (*v)[mid].len, term, len);
        if (c == 0) {
            if ((*v)[mid].count <= UINT32_MAX - add)
                (*v)[mid].count += add;
            return INFINO_OK;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
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
    (*v)[lo].count = add;
    (*n)++;
    return INFINO_OK;
}

infino_status fts_query_add_term(struct fts_query *q, const uint8_t *term,
                                 size_t len, bool negative)
{
    if (len == 0)
        return err_set(INFINO_ERR_INVALID, "empty query term");
    if (negative)
        return set_add(&q->neg, &q->n_neg, &q->neg_cap, term, len, 1);
    return set_add(&q->pos, &q->n_pos, &q->pos_cap, term, len, 1);
}

/* ---- stage --------------------------------------------------------------- */

/* Makes room for `need` elements of `size` bytes in *p (capacity *cap),
 * starting from the inline array `small` of small_cap elements. */
static infino_status stage_reserve(void *pp, size_t *cap, void *small,
                                   size_t small_cap, size_t need, size_t size)
{
    void *p, *np;
    size_t c, bytes;

    memcpy(&p, pp, sizeof p);
    if (p == NULL) {
        p = small;
        *cap = small_cap;
    }
    if (need > *cap) {
        c = *cap;
        while (c < need && c <= SIZE_MAX / 4)
            c *= 2;
        if (c < need)
            c = need;
        if (mem_mul(&bytes, c, size) != 0)
            return err_nomem();
        if (p == small) {
            np = mem_alloc(bytes);
            if (np != NULL)
                memcpy(np, small, *cap * size);
        } else {
            np = mem_realloc(p, bytes);
        }
        if (np == NULL)
            return err_nomem();
        p = np;
        *cap = c;
    }
    memcpy(pp, &p, sizeof p);
    return INFINO_OK;
}

static infino_status stage_token(const uint8_t *t, size_t len, void *payload)
{
    struct fts_stage *s = payload;
    infino_status st;

    CHECK(stage_reserve(&s->v, &s->cap, s->small_v, FTS_STAGE_SMALL_SPANS,
                        s->n + 1, sizeof *s->v));
    if (len > SIZE_MAX - s->bytes_len)
        return err_nomem();
    CHECK(stage_reserve(&s->bytes, &s->bytes_cap, s->small_bytes,
                        FTS_STAGE_SMALL_BYTES, s->bytes_len + len, 1));
    memcpy(s->bytes + s->bytes_len, t, len);
    s->v[s->n].p = NULL;
    s->v[s->n].off = s->bytes_len;
    s->v[s->n].len = len;
    s->v[s->n].count = 1;
    s->bytes_len += len;
    s->n++;
    s->n_tokens++;
    return INFINO_OK;
fail:
    return st;
}

infino_status fts_stage_text(struct fts_stage *s, struct fts_tokenizer *tk,
                             const void *text, size_t len)
{
    return fts_tokenize(tk, text, len, stage_token, s);
}

static int cmp_span(const void *a, const void *b)
{
    const struct fts_span *x = a, *y = b;

    return cmp_bytes(x->p, x->len, y->p, y->len);
}

void fts_stage_sort(struct fts_stage *s)
{
    size_t m = 0;

    if (s->n == 0)
        return; /* v may be NULL */
    for (size_t i = 0; i < s->n; i++)
        s->v[i].p = s->bytes + s->v[i].off;
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, cmp_span);
    for (size_t i = 0; i < s->n; i++) {
        if (m == 0 || cmp_span(&s->v[m - 1], &s->v[i]) != 0)
            s->v[m++] = s->v[i];
        else if (s->v[m - 1].count < UINT32_MAX)
            s->v[m - 1].count++;
    }
    s->n = m;
}

void fts_stage_free(struct fts_stage *s)
{
    if (s->bytes != s->small_bytes)
        mem_free(s->bytes);
    if (s->v != s->small_v)
        mem_free(s->v);
    fts_stage_init(s);
}

infino_status fts_query_add_spans(struct fts_query *q,
                                  const struct fts_span *v, size_t n,
                                  bool negative)
{
    struct fts_qterm **set = negative ? &q->neg : &q->pos;
    size_t *n_set = negative ? &q->n_neg : &q->n_pos;
    size_t *cap = negative ? &q->neg_cap : &q->pos_cap;
    struct fts_qterm *old = *set, *out = NULL;
    size_t i = 0, j = 0, m = 0, n_out, bytes;
    infino_status st;

    if (n == 0)
        return INFINO_OK;
    n_out = *n_set + n; /* both lists hold distinct heap objects */
    if (mem_mul(&bytes, n_out, sizeof *out) != 0 ||
        (out = mem_alloc(bytes)) == NULL)
        return err_nomem();
    /* merge two sorted, unique lists; new terms get their own copies */
    while (i < *n_set || j < n) {
        int c = i == *n_set ? 1
                : j == n    ? -1
                            : cmp_bytes(old[i].bytes, old[i].len, v[j].p,
                                        v[j].len);
        if (c <= 0) {
            out[m] = old[i++];
            if (c == 0) {
                uint64_t sum = (uint64_t)out[m].count + v[j++].count;
                out[m].count = sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
            }
            m++;
            continue;
        }
        out[m].bytes = mem_alloc(v[j].len);
        if (out[m].bytes == NULL) {
            st = err_nomem();
            goto fail;
        }
        memcpy(out[m].bytes, v[j].p, v[j].len);
        out[m].count = v[j].count;
        out[m++].len = v[j++].len;
    }
    mem_free(old);
    *set = out;
    *n_set = m;
    *cap = n_out;
    return INFINO_OK;
fail:
    /* free only the copies made here: the old terms stay in q */
    for (size_t k = 0, o = 0; k < m; k++) {
        if (o < *n_set && out[k].bytes == old[o].bytes)
            o++;
        else
            mem_free(out[k].bytes);
    }
    mem_free(out);
    return st;
}

infino_status fts_query_add_text(struct fts_query *q, const char *text,
                                 size_t len, bool negative)
{
    struct fts_tokenizer *tk = NULL;
    struct fts_stage s;
    infino_status st;

    fts_stage_init(&s);
    CHECK(fts_tokenizer_new(&tk, &q->an));
    CHECK(fts_stage_text(&s, tk, text, len));
    fts_stage_sort(&s);
    CHECK(fts_query_add_spans(q, s.v, s.n, negative));
fail:
    fts_stage_free(&s);
    fts_tokenizer_free(tk);
    return st;
}

/* A positive clause: a plain term, or a phrase not negated. */
static bool has_positive(const struct fts_query *q)
{
    for (size_t i = 0; i < q->n_pos; i++)
        if (q->pos[i].count > 0)
            return true;
    for (size_t i = 0; i < q->n_phrases; i++)
        if (!q->phrases[i].negative)
            return true;
    return false;
}

infino_status fts_query_check(const struct fts_query *q)
{
    if (!has_positive(q) && (q->n_neg > 0 || q->n_phrases > 0))
        return err_set(INFINO_ERR_INVALID,
                       "query has only negated terms; at least one positive "
                       "term is required");
    if (q->n_pos > FTS_MAX_QUERY_TERMS || q->n_neg > FTS_MAX_QUERY_TERMS)
        return err_set(INFINO_ERR_INVALID,
                       "query has %zu distinct %sterms; at most %d are "
                       "allowed",
                       q->n_pos > FTS_MAX_QUERY_TERMS ? q->n_pos : q->n_neg,
                       q->n_pos > FTS_MAX_QUERY_TERMS ? "" : "negated ",
                       FTS_MAX_QUERY_TERMS);
    return INFINO_OK;
}

/* ---- phrases ------------------------------------------------------------ */

/* The tokens of one quoted phrase, with their positions. */
struct phrase_build {
    struct fts_tokenizer *tk;
    struct fts_qphrase ph;
    size_t cap;
    uint32_t first;
};

static infino_status phrase_token(const uint8_t *t, size_t len,
                                  void *payload)
{
    struct phrase_build *b = payload;
    uint32_t pos = fts_tokenizer_position(b->tk);

    if (b->ph.n == b->cap) {
        size_t nc = b->cap ? 2 * b->cap : 4;
        struct fts_qterm *nt = mem_realloc(b->ph.tok, nc * sizeof *nt);
        if (nt == NULL)
            return err_nomem();
        b->ph.tok = nt;
        uint32_t *nr = mem_realloc(b->ph.rel, nc * sizeof *nr);
        if (nr == NULL)
            return err_nomem();
        b->ph.rel = nr;
        b->cap = nc;
    }
    if ((b->ph.tok[b->ph.n].bytes = mem_alloc(len)) == NULL)
        return err_nomem();
    memcpy(b->ph.tok[b->ph.n].bytes, t, len);
    b->ph.tok[b->ph.n].len = len;
    b->ph.tok[b->ph.n].count = 1;
    if (b->ph.n == 0)
        b->first = pos;
    b->ph.rel[b->ph.n++] = pos - b->first;
    return INFINO_OK;
}

/* Adds the quoted text as a phrase clause: two or more tokens make a
 * phrase, one token is a plain term (as upstream infino treats "word"),
 * none adds nothing. */
static infino_status add_phrase(struct fts_query *q, struct fts_tokenizer *tk,
                                const uint8_t *text, size_t len,
                                bool negative)
{
    struct phrase_build b;
    struct fts_qphrase *np;
    infino_status st;

    memset(&b, 0, sizeof b);
    b.tk = tk;
    b.ph.negative = negative;
    CHECK(fts_tokenize_positions(tk, text, len, phrase_token, &b));
    if (b.ph.n == 1) {
        st = fts_query_add_term(q, b.ph.tok[0].bytes, b.ph.tok[0].len,
                                negative);
        goto fail; /* done with b either way */
    }
    if (b.ph.n == 0)
        goto fail;
    if (q->n_phrases >= FTS_MAX_QUERY_TERMS) {
        st = err_set(INFINO_ERR_INVALID, "query has more than %d phrases",
                     FTS_MAX_QUERY_TERMS);
        goto fail;
    }
    for (size_t i = 0; !negative && i < b.ph.n; i++)
        CHECK(set_add(&q->pos, &q->n_pos, &q->pos_cap, b.ph.tok[i].bytes,
                      b.ph.tok[i].len, 0));
    np = mem_realloc(q->phrases, (q->n_phrases + 1) * sizeof *np);
    if (np == NULL) {
        st = err_nomem();
        goto fail;
    }
    q->phrases = np;
    q->phrases[q->n_phrases++] = b.ph;
    return INFINO_OK;
fail:
    for (size_t i = 0; i < b.ph.n; i++)
        mem_free(b.ph.tok[i].bytes);
    mem_free(b.ph.tok);
    mem_free(b.ph.rel);
    return st;
}

size_t fts_query_n_phrases(const struct fts_query *q)
{
    return q->n_phrases;
}

infino_status fts_query_parse(struct fts_query **out,
                              const struct fts_analysis *a, const char *text,
                              size_t len)
{
    const uint8_t *p = (const uint8_t *)text, *end = p;
    struct fts_tokenizer *tk = NULL;
    struct fts_query *q = NULL;
    struct fts_stage pos, neg;
    infino_status st;

    *out = NULL;
    fts_stage_init(&pos);
    fts_stage_init(&neg);
    if (len > 0) /* text may be NULL when len is 0 */
        end = p + len;
    CHECK(fts_query_new(&q, a));
    CHECK(fts_tokenizer_new(&tk, a));
    while (p < end) {
        const uint8_t *s, *q0, *q1;
        size_t l = 0;
        int32_t cp;

        /* skip white space; an invalid byte is not space */
        while (p < end && (l = fts_utf8_next(p, (size_t)(end - p), &cp)) &&
               fts_is_space(cp))
            p += l;
        if (p == end)
            break;
        s = p;
        q0 = s + (*s == '-');
        if (q0 < end && *q0 == '"' &&
            (q1 = memchr(q0 + 1, '"', (size_t)(end - q0 - 1))) != NULL) {
            CHECK(add_phrase(q, tk, q0 + 1, (size_t)(q1 - q0 - 1),
                             q0 != s));
            p = q1 + 1;
            continue;
        }
        while (p < end) {
            l = fts_utf8_next(p, (size_t)(end - p), &cp);
            if (l != 0 && fts_is_space(cp))
                break;
            p += l ? l : 1;
        }
        if (*s == '-' && p - s > 1)
            CHECK(fts_stage_text(&neg, tk, s + 1, (size_t)(p - s - 1)));
        else
            CHECK(fts_stage_text(&pos, tk, s, (size_t)(p - s)));
    }
    fts_stage_sort(&pos);
    fts_stage_sort(&neg);
    CHECK(fts_query_add_spans(q, pos.v, pos.n, false));
    CHECK(fts_query_add_spans(q, neg.v, neg.n, true));
    CHECK(fts_query_check(q));
    fts_stage_free(&pos);
    fts_stage_free(&neg);
    fts_tokenizer_free(tk);
    *out = q;
    return INFINO_OK;
fail:
    fts_stage_free(&pos);
    fts_stage_free(&neg);
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

uint32_t fts_query_term_count(const struct fts_query *q, size_t i)
{
    return q->pos[i].count;
}

infino_status fts_similarity_check(double k1, double b)
{
    /* written so that NaN fails every comparison */
    if (!(k1 > 0 && k1 <= 1e300) || !(b >= 0 && b <= 1))
        return err_set(INFINO_ERR_INVALID,
                       "bm25 k1 must be finite and > 0, b must be finite and "
                       "in [0, 1]; got k1=%g, b=%g",
                       k1, b);
    return INFINO_OK;
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
