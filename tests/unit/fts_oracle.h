/*
 * fts_oracle.h - shared by the fts unit tests: random corpora, a region
 * builder, and a brute-force reference index (every doc tokenized, every
 * term's postings listed) with BM25 written out exactly as fts.h specifies
 * it. Header-only (static functions) so each test program stays one file
 * plus this.
 */
#ifndef FTS_ORACLE_H
#define FTS_ORACLE_H

#include "harness.h"

#include "index/fts/fts.h"
#include "util/alloc.h"

#include <math.h>

/* ---- corpora ----------------------------------------------------------- */

struct corpus {
    char **docs;   /* NULL: a skipped id (an empty document) */
    size_t *lens;
    uint32_t n;
    char **vocab;  /* surface forms; each tokenizes to exactly one token */
    size_t n_vocab;
    double *cdf;   /* Zipf CDF over the vocabulary, or NULL: uniform */
};

static const char *const unicode_words[] = {
    "caf\xc3\xa9", "CAF\xc3\x89", "cafe\xcc\x81", "na\xc3\xafve",
    "\xe6\x97\xa5\xe6\x9c\xac", ("stra\xc3\x9f" "e"),
    "\xce\xa3\xce\x9f\xce\xa6",
    "\xef\xbd\x86\xef\xbd\x8f\xef\xbd\x8f", "\xe2\x85\xab",
    "\xd0\xbc\xd0\xb8\xd1\x80", "\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8",
    "\xc3\x85ngstr\xc3\xb6m",
};

static inline char *random_word(void)
{
    size_t n = 1 + test_rand() % 8;
    char *w;

    if (test_rand() % 10 == 0)
        return mem_strdup(unicode_words[test_rand() %
                                        (sizeof unicode_words /
                                         sizeof *unicode_words)]);
    w = mem_alloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t r = test_rand() % 40;
        w[i] = (char)(r < 26   ? 'a' + r
                      : r < 30 ? 'A' + (r - 26)
                               : '0' + (r - 30));
    }
    w[n] = '\0';
    return w;
}

static inline size_t pick_word(const struct corpus *c)
{
    if (c->cdf == NULL)
        return test_rand() % c->n_vocab;
    double u = (double)(test_rand() >> 11) / 9007199254740992.0;
    size_t lo = 0, hi = c->n_vocab - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* A random corpus of n docs over a vocabulary of n_vocab words. */
static inline void corpus_random(struct corpus *c, uint32_t n, size_t n_vocab,
                          bool zipf, uint32_t max_len)
{
    static const char *const seps[] = {" ", "  ", ", ", ". ", "\n", "-",
                                       "/", "\xe2\x80\x94", "\t"};
    memset(c, 0, sizeof *c);
    c->n = n;
    c->n_vocab = n_vocab;
    c->vocab = mem_calloc(n_vocab, sizeof *c->vocab);
    for (size_t i = 0; i < n_vocab; i++)
        c->vocab[i] = random_word();
    if (zipf) {
        double h = 0, acc = 0;
        c->cdf = mem_calloc(n_vocab, sizeof *c->cdf);
        for (size_t i = 0; i < n_vocab; i++)
            h += 1.0 / (double)(i + 1);
        for (size_t i = 0; i < n_vocab; i++) {
            acc += 1.0 / (double)(i + 1) / h;
            c->cdf[i] = acc;
        }
        c->cdf[n_vocab - 1] = 1.0;
    }
    c->docs = mem_calloc(n ? n : 1, sizeof *c->docs);
    c->lens = mem_calloc(n ? n : 1, sizeof *c->lens);
    for (uint32_t d = 0; d < n; d++) {
        uint64_t r = test_rand() % 100;
        uint32_t words = r < 10   ? 0
                         : r < 15 ? max_len / 2 + (uint32_t)(test_rand() %
                                                  (max_len / 2 + 1))
                                  : 1 + (uint32_t)(test_rand() % 40);
        struct buf b = {0};

        if (r < 4)
            continue; /* skipped id */
        for (uint32_t i = 0; i < words; i++) {
            if (i > 0)
                buf_append_str(&b, seps[test_rand() %
                                        (sizeof seps / sizeof *seps)]);
            buf_append_str(&b, c->vocab[pick_word(c)]);
        }
        buf_put_u8(&b, 0);
        c->lens[d] = b.len - 1;
        c->docs[d] = (char *)buf_detach(&b, NULL);
    }
}

static inline void corpus_free(struct corpus *c)
{
    for (uint32_t d = 0; d < c->n; d++)
        mem_free(c->docs[d]);
    for (size_t i = 0; i < c->n_vocab; i++)
        mem_free(c->vocab[i]);
    mem_free(c->docs);
    mem_free(c->lens);
    mem_free(c->vocab);
    mem_free(c->cdf);
}

/* Builds a region of docs [lo, hi) of c (renumbered from 0) in memory.
 * *data_out is owned (mem_free). */
static inline void region_build(const struct corpus *c, uint32_t lo,
                                uint32_t hi,
                         size_t budget, uint8_t **data_out, size_t *len_out,
                         struct fts_region_info *info, struct buf *summary)
{
    struct fts_writer_opts opts = {budget, NULL, NULL, false};
    struct fts_region_info tmp;
    struct fts_writer *w;
    struct store_sink *sink;

    assert_ok(fts_writer_new(&w, &opts));
    for (uint32_t d = lo; d < hi; d++)
        if (c->docs[d] != NULL)
            assert_ok(fts_writer_add(w, d - lo, c->docs[d], c->lens[d]));
    assert_ok(store_sink_open_memory(&sink, "fts-test"));
    assert_ok(fts_writer_finish(w, sink, hi - lo, info ? info : &tmp,
                                summary));
    assert_ok(store_sink_take_memory(sink, data_out, len_out));
    fts_writer_free(w);
}

/* ---- the reference index ----------------------------------------------- */

struct oterm {
    uint8_t *t;
    size_t len;
    uint32_t df;
    uint64_t total_tf;
    uint32_t *docs, *tfs;
};

struct oracle {
    struct oterm *terms; /* sorted bytewise */
    size_t n_terms;
    uint32_t *dl;
    uint32_t n_docs;
    uint64_t total;
};

struct occ {
    uint8_t *t;
    size_t len;
    uint32_t doc;
};

struct occ_list {
    struct occ *v;
    size_t n, cap;
    uint32_t doc;
    uint32_t *dl;
};

static inline infino_status oracle_tok(const uint8_t *t, size_t len,
                                       void *payload)
{
    struct occ_list *l = payload;

    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 1024;
        l->v = mem_realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n].t = mem_alloc(len);
    memcpy(l->v[l->n].t, t, len);
    l->v[l->n].len = len;
    l->v[l->n].doc = l->doc;
    l->n++;
    l->dl[l->doc]++;
    return INFINO_OK;
}

static inline int cmp_bytes(const uint8_t *a, size_t na, const uint8_t *b,
                            size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c != 0 ? c : na < nb ? -1 : na > nb;
}

static inline int cmp_occ(const void *a, const void *b)
{
    const struct occ *x = a, *y = b;
    int c = cmp_bytes(x->t, x->len, y->t, y->len);
    return c != 0 ? c : x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* Tokenizes docs [lo, hi) of c (renumbered from 0) the plain way. */
static inline void oracle_build(struct oracle *o, const struct corpus *c,
                                uint32_t lo,
                         uint32_t hi)
{
    struct fts_tokenizer *tk;
    struct occ_list l = {0};

    memset(o, 0, sizeof *o);
    o->n_docs = hi - lo;
    o->dl = mem_calloc(o->n_docs + 1, sizeof *o->dl);
    l.dl = o->dl;
    assert_ok(fts_tokenizer_new(&tk, NULL));
    for (uint32_t d = lo; d < hi; d++) {
        l.doc = d - lo;
        if (c->docs[d] != NULL)
            assert_ok(fts_tokenize(tk, c->docs[d], c->lens[d], oracle_tok, &l));
        o->total += o->dl[d - lo];
    }
    fts_tokenizer_free(tk);
    if (l.n > 0)
        qsort(l.v, l.n, sizeof *l.v, cmp_occ);
    o->terms = mem_calloc(l.n + 1, sizeof *o->terms);
    for (size_t i = 0; i < l.n;) {
        size_t j = i;
        struct oterm *t = &o->terms[o->n_terms++];
        while (j < l.n && cmp_bytes(l.v[j].t, l.v[j].len, l.v[i].t,
                                    l.v[i].len) == 0)
            j++;
        t->t = mem_alloc(l.v[i].len);
        memcpy(t->t, l.v[i].t, l.v[i].len);
        t->len = l.v[i].len;
        t->docs = mem_calloc(j - i, sizeof *t->docs);
        t->tfs = mem_calloc(j - i, sizeof *t->tfs);
        for (size_t k = i; k < j; k++) {
            if (t->df > 0 && t->docs[t->df - 1] == l.v[k].doc) {
                t->tfs[t->df - 1]++;
            } else {
                t->docs[t->df] = l.v[k].doc;
                t->tfs[t->df] = 1;
                t->df++;
            }
            t->total_tf++;
        }
        i = j;
    }
    for (size_t i = 0; i < l.n; i++)
        mem_free(l.v[i].t);
    mem_free(l.v);
}

static inline void oracle_free(struct oracle *o)
{
    for (size_t i = 0; i < o->n_terms; i++) {
        mem_free(o->terms[i].t);
        mem_free(o->terms[i].docs);
        mem_free(o->terms[i].tfs);
    }
    mem_free(o->terms);
    mem_free(o->dl);
}

static inline const struct oterm *oracle_find(const struct oracle *o,
                                       const uint8_t *t, size_t len)
{
    size_t lo = 0, hi = o->n_terms;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = cmp_bytes(o->terms[mid].t, o->terms[mid].len, t, len);
        if (c == 0)
            return &o->terms[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* tf of term t in doc d (0 when absent), by binary search. */
static inline uint32_t oracle_tf(const struct oterm *t, uint32_t d)
{
    size_t lo = 0, hi = t ? t->df : 0;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->docs[mid] == d)
            return t->tfs[mid];
        if (t->docs[mid] < d)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* One term's fixed-point contribution, literally as fts.h states it. */
static inline int64_t oracle_q(uint64_t n_docs, uint64_t df, double avgdl,
                        uint32_t tf, uint32_t dl, uint32_t mult)
{
    double idf = log(1.0 + ((double)n_docs - (double)df + 0.5) /
                               ((double)df + 0.5));
    double w = idf * (double)mult; /* upstream's scale: no (k1 + 1) */
    double A = 1.2 * (1.0 - 0.75);
    double B = 1.2 * 0.75 / avgdl;
    double bdl = B * (double)dl;
    double norm = A + bdl;
    double num = w * (double)tf;
    double c = num / ((double)tf + norm);

    return (int64_t)(c * 1099511627776.0 + 0.5);
}

/* BM25 without the constant (k1 + 1) factor (upstream infino's and
 * Lucene 8's scale) in double, for a tolerance check. */
static inline double plain_bm25(uint64_t n_docs, uint64_t df, double avgdl,
                         uint32_t tf, uint32_t dl)
{
    double idf = log(1.0 + (n_docs - df + 0.5) / (df + 0.5));
    return idf * tf / (tf + 1.2 * (0.25 + 0.75 * dl / avgdl));
}

#endif
