/*
 * query_search_test.c - the query layer against brute force: BM25 top-k
 * (scores reproduced bit for bit from fts.h's formula with table-global
 * N, df and avgdl), exact k-NN with every list probed, reciprocal rank
 * fusion of the two, token_match / exact_match / count, and result
 * projections; on one superfile, on several, after deletes (which stay
 * in BM25's statistics until optimize) and after optimize.
 *
 * The oracle knows every row from its key: bodies are generated from k
 * (below) with varied term frequencies and lengths, vectors are tf_vec.
 */
#include "harness.h"
#include "table_layer_fixture.h"

#include "query/query.h"

#include <math.h>

/* ---- the corpus ---------------------------------------------------------- */

/* "row<k> w<k%7> common", then k%4 times "x<k%3>", k%3 times "y<k%5>",
 * and "rare" when k%11 == 0. Keys from SPECIAL on have the body "common"
 * alone (for exact_match). All tokens are lowercase [a-z0-9] runs, so the
 * tokenizer splits them exactly at the spaces. */
#define SPECIAL 10000

static int body_of(char *out, size_t cap, int64_t k)
{
    size_t n;

    if (k >= SPECIAL)
        return snprintf(out, cap, "common");
    n = (size_t)snprintf(out, cap, "row%lld w%lld common", (long long)k,
                         (long long)(k % 7));
    for (int64_t i = 0; i < k % 4; i++)
        n += (size_t)snprintf(out + n, cap - n, " x%lld", (long long)(k % 3));
    for (int64_t i = 0; i < k % 3; i++)
        n += (size_t)snprintf(out + n, cap - n, " y%lld", (long long)(k % 5));
    if (k % 11 == 0)
        n += (size_t)snprintf(out + n, cap - n, " rare");
    return (int)n;
}

#define MAX_ROWS 1024

/* The rows physically in the table (live or tombstoned) and which live. */
struct oracle {
    int64_t k[MAX_ROWS];
    bool live[MAX_ROWS];
    size_t n;
};

static void oracle_add(struct oracle *o, int64_t first, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_true(o->n < MAX_ROWS);
        o->k[o->n] = first + (int64_t)i;
        o->live[o->n++] = true;
    }
}

/* Term frequency of `term` in row k's body, and its length in tokens. */
static uint32_t tf_of(int64_t k, const char *term, uint32_t *dl)
{
    char body[512], *save = NULL, *tok;
    uint32_t tf = 0, n = 0;

    body_of(body, sizeof body, k);
    for (tok = strtok_r(body, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        n++;
        tf += strcmp(tok, term) == 0;
    }
    if (dl)
        *dl = n;
    return tf;
}

/* A parsed query: positive and negative terms, deduplicated; a positive
 * term remembers how often it was named (its weight). */
struct q {
    char pos[8][32], neg[8][32];
    unsigned mult[8];
    size_t n_pos, n_neg;
};

static void parse(struct q *q, const char *text)
{
    char buf[256], *save = NULL, *tok;

    memset(q, 0, sizeof *q);
    snprintf(buf, sizeof buf, "%s", text);
    for (tok = strtok_r(buf, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        bool neg = tok[0] == '-';
        char (*list)[32] = neg ? q->neg : q->pos;
        size_t *n = neg ? &q->n_neg : &q->n_pos;
        bool dup = false;
        if (neg)
            tok++;
        for (size_t i = 0; i < *n; i++) {
            if (strcmp(list[i], tok) == 0) {
                dup = true;
                if (!neg)
                    q->mult[i]++;
            }
        }
        if (!dup && *n < 8) {
            if (!neg)
                q->mult[*n] = 1;
            snprintf(list[(*n)++], 32, "%s", tok);
        }
    }
}

/* Whether row k matches q (mode: 0 or, 1 and), ignoring deletion. */
static bool matches(int64_t k, const struct q *q, int and_mode)
{
    size_t hits = 0;

    for (size_t i = 0; i < q->n_neg; i++)
        if (tf_of(k, q->neg[i], NULL) > 0)
            return false;
    for (size_t i = 0; i < q->n_pos; i++)
        hits += tf_of(k, q->pos[i], NULL) > 0;
    return and_mode ? q->n_pos > 0 && hits == q->n_pos : hits > 0;
}

/* BM25 exactly as src/index/fts/fts.h "Scoring, exactly" states it, with
 * N, df and avgdl over every row the oracle holds (deleted ones too:
 * they stay in the regions until optimize rewrites them). */
#define K1 1.2
#define B 0.75
#define SCALE 1099511627776.0 /* 2^40 */

struct stats {
    double n_docs, avgdl;
    double df[8];
};

static void stats_of(struct stats *s, const struct oracle *o, const struct q *q)
{
    double tokens = 0;

    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < o->n; i++) {
        uint32_t l;
        tf_of(o->k[i], "", &l);
        tokens += l;
        s->n_docs += l > 0; /* N counts the rows with tokens */
        for (size_t t = 0; t < q->n_pos; t++)
            s->df[t] += tf_of(o->k[i], q->pos[t], NULL) > 0;
    }
    s->avgdl = tokens / s->n_docs;
}

static float bm25(const struct stats *s, const struct q *q, int64_t k)
{
    int64_t sum = 0;
    uint32_t dl;

    for (size_t t = 0; t < q->n_pos; t++) {
        double idf, w, A, Bc, tf, bdl, norm, num, c;
        uint32_t f = tf_of(k, q->pos[t], &dl);
        if (f == 0)
            continue;
        idf = log(1.0 + (s->n_docs - s->df[t] + 0.5) / (s->df[t] + 0.5));
        w = idf * (double)q->mult[t]; /* no (k1 + 1): upstream's scale */
        A = K1 * (1.0 - B);
        Bc = K1 * B / s->avgdl;
        tf = (double)f;
        bdl = Bc * (double)dl;
        norm = A + bdl;
        num = w * tf;
        c = num / (tf + norm);
        sum += (int64_t)(c * SCALE + 0.5);
    }
    return (float)((double)sum / SCALE);
}

static double l2(int64_t k, const float *q)
{
    float v[TF_DIM];
    double s = 0;

    tf_vec(v, k);
    for (int d = 0; d < TF_DIM; d++) {
        double a = q[d], b = v[d];
        s += (a - b) * (a - b);
    }
    return s;
}

/* ---- results ------------------------------------------------------------- */

struct res {
    int64_t k[MAX_ROWS];
    float score[MAX_ROWS];
    size_t n;
};

/* Materializes hits as (k, score) and checks the result schema. */
static void materialize(struct res *out, struct tbl_view *v,
                        const struct qry_hits *h)
{
    static const char *const proj[] = {"k", "score"};
    struct ArrowArray a;
    struct ar_schema s;

    assert_true(h->n <= MAX_ROWS);
    assert_ok(qry_materialize(&a, &s, v, h, proj, 2, "test"));
    assert_int_equal(s.n_fields, 2);
    assert_int_equal(s.fields[0].type, AR_INT64);
    assert_int_equal(s.fields[1].type, AR_FLOAT32);
    assert_int_equal(a.length, (int64_t)h->n);
    out->n = h->n;
    for (size_t i = 0; i < h->n; i++) {
        const struct ArrowArray *kc = a.children[0], *sc = a.children[1];
        out->k[i] = ((const int64_t *)kc->buffers[1])[kc->offset + (int64_t)i];
        out->score[i] =
            ((const float *)sc->buffers[1])[sc->offset + (int64_t)i];
        assert_true(out->score[i] == h->v[i].score);
    }
    ar_array_release(&a);
    ar_schema_free(&s);
}

/* The expected ranking: every live candidate with its score, best first
 * (`desc`: higher is better). */
struct cand {
    int64_t k;
    double score;
};

static int cand_desc(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    return x->score != y->score ? (x->score > y->score ? -1 : 1) : 0;
}

static int cand_asc(const void *a, const void *b)
{
    return -cand_desc(a, b);
}

/* Checks that `got` is a valid top-k of `want` (n_want candidates, sorted
 * best first): the right length, each row a distinct candidate with its
 * exact score, in order, and the scores exactly the best k (rows tied at
 * the boundary may be any of the tied ones). */
static void assert_topk(const struct res *got, struct cand *want,
                        size_t n_want, size_t k, const char *what)
{
    size_t expect = n_want < k ? n_want : k;

    if (got->n != expect)
        fail_msg("%s: %zu results, want %zu", what, got->n, expect);
    for (size_t i = 0; i < got->n; i++) {
        const struct cand *c = NULL;
        for (size_t j = 0; j < n_want; j++)
            if (want[j].k == got->k[i])
                c = &want[j];
        if (c == NULL)
            fail_msg("%s: result %zu (k=%lld) is not a candidate", what, i,
                     (long long)got->k[i]);
        if ((float)c->score != got->score[i])
            fail_msg("%s: result %zu (k=%lld) scores %.9g, want %.9g", what,
                     i, (long long)got->k[i], (double)got->score[i],
                     (double)(float)c->score);
        if ((float)want[i].score != got->score[i])
            fail_msg("%s: result %zu scores %.9g, but the %zu-th best is "
                     "%.9g (k=%lld)",
                     what, i, (double)got->score[i], i,
                     (double)(float)want[i].score, (long long)want[i].k);
        for (size_t j = 0; j < i; j++)
            if (got->k[j] == got->k[i])
                fail_msg("%s: k=%lld returned twice", what,
                         (long long)got->k[i]);
    }
}

/* ---- the checks ---------------------------------------------------------- */

static void check_bm25(struct tbl_view *v, const struct oracle *o,
                       const char *text, int and_mode, size_t k,
                       const char *state)
{
    struct qry_hits h;
    struct res got;
    struct q q;
    struct stats gs;
    struct cand want[MAX_ROWS];
    size_t n = 0;
    char what[256];

    parse(&q, text);
    stats_of(&gs, o, &q);
    for (size_t i = 0; i < o->n; i++)
        if (o->live[i] && matches(o->k[i], &q, and_mode)) {
            want[n].k = o->k[i];
            want[n++].score = bm25(&gs, &q, o->k[i]);
        }
    qsort(want, n, sizeof *want, cand_desc);
    snprintf(what, sizeof what, "%s: bm25 '%s' %s k=%zu", state, text,
             and_mode ? "AND" : "OR", k);
    if (qry_bm25(&h, v, 0, text, k,
                 and_mode ? FTS_MODE_AND : FTS_MODE_OR) != INFINO_OK)
        fail_msg("%s: %s", what, err_last());
    materialize(&got, v, &h);
    qry_hits_free(&h);
    assert_topk(&got, want, n, k, what);
}

static void check_unranked(struct tbl_view *v, const struct oracle *o,
                           const char *text, int and_mode, const char *state)
{
    struct qry_hits h;
    struct res got;
    struct q q;
    int64_t want[MAX_ROWS];
    size_t n = 0;
    uint64_t count;
    enum fts_mode mode = and_mode ? FTS_MODE_AND : FTS_MODE_OR;

    parse(&q, text);
    for (size_t i = 0; i < o->n; i++)
        if (o->live[i] && matches(o->k[i], &q, and_mode))
            want[n++] = o->k[i];
    qsort(want, n, sizeof *want, tf_cmp_i64);
    if (qry_token_match(&h, v, 0, text, mode) != INFINO_OK)
        fail_msg("%s: token_match '%s': %s", state, text, err_last());
    materialize(&got, v, &h);
    qry_hits_free(&h);
    qsort(got.k, got.n, sizeof *got.k, tf_cmp_i64);
    for (size_t i = 0; i < got.n; i++)
        assert_true(got.score[i] == 0.0f); /* unranked */
    if (!tf_keys_equal(got.k, got.n, want, n))
        fail_msg("%s: token_match '%s' %s: %zu rows, want %zu", state, text,
                 and_mode ? "AND" : "OR", got.n, n);
    if (qry_count(&count, v, 0, text, mode) != INFINO_OK)
        fail_msg("%s: count '%s': %s", state, text, err_last());
    if (count != n)
        fail_msg("%s: count '%s' %s: %llu, want %zu", state, text,
                 and_mode ? "AND" : "OR", (unsigned long long)count, n);
}

static void check_exact(struct tbl_view *v, const struct oracle *o,
                        const char *value, const char *state)
{
    struct qry_hits h;
    struct res got;
    int64_t want[MAX_ROWS];
    size_t n = 0;

    for (size_t i = 0; i < o->n; i++) {
        char body[512];
        body_of(body, sizeof body, o->k[i]);
        if (o->live[i] && strcmp(body, value) == 0)
            want[n++] = o->k[i];
    }
    qsort(want, n, sizeof *want, tf_cmp_i64);
    assert_ok(qry_exact_match(&h, v, 0, value, strlen(value)));
    materialize(&got, v, &h);
    qry_hits_free(&h);
    qsort(got.k, got.n, sizeof *got.k, tf_cmp_i64);
    if (!tf_keys_equal(got.k, got.n, want, n))
        fail_msg("%s: exact_match '%s': %zu rows, want %zu", state, value,
                 got.n, n);
}

/* Every list of every superfile: nprobe per superfile >= its lists. */
#define ALL_LISTS 1024

static void check_vector(struct tbl_view *v, const struct oracle *o,
                         const float *query, size_t k, const char *state)
{
    struct qry_hits h;
    struct res got;
    struct cand want[MAX_ROWS];
    size_t n = 0;
    char what[256];

    for (size_t i = 0; i < o->n; i++)
        if (o->live[i]) {
            want[n].k = o->k[i];
            want[n++].score = l2(o->k[i], query);
        }
    qsort(want, n, sizeof *want, cand_asc);
    snprintf(what, sizeof what, "%s: vector (%g,%g,%g,%g) k=%zu", state,
             (double)query[0], (double)query[1], (double)query[2],
             (double)query[3], k);
    if (qry_vector(&h, v, 0, query, TF_DIM, k, ALL_LISTS, NULL) != INFINO_OK)
        fail_msg("%s: %s", what, err_last());
    materialize(&got, v, &h);
    qry_hits_free(&h);
    assert_topk(&got, want, n, k, what);
}

/* RRF of the engine's two rankings (each checked against the oracle
 * above), summed as the engine sums them: 1 / (60 + rank + 1) per list. */
static void check_hybrid(struct tbl_view *v, const struct oracle *o,
                         const char *text, const float *query, size_t k,
                         const char *state)
{
    struct qry_hits a, b, h;
    struct res ra, rb, got;
    struct cand want[2 * MAX_ROWS];
    size_t n = 0;
    char what[256];

    (void)o;
    snprintf(what, sizeof what, "%s: hybrid '%s' k=%zu", state, text, k);
    assert_ok(qry_bm25(&a, v, 0, text, k, FTS_MODE_OR));
    assert_ok(qry_vector(&b, v, 0, query, TF_DIM, k, ALL_LISTS, NULL));
    materialize(&ra, v, &a);
    materialize(&rb, v, &b);
    for (int list = 0; list < 2; list++) {
        const struct res *r = list ? &rb : &ra;
        for (size_t i = 0; i < r->n; i++) {
            float c = (float)(1.0 / (60.0 + (double)i + 1.0));
            size_t j = 0;
            while (j < n && want[j].k != r->k[i])
                j++;
            if (j == n) {
                want[n].k = r->k[i];
                want[n++].score = c;
            } else {
                want[j].score = (float)((float)want[j].score + c);
            }
        }
    }
    qsort(want, n, sizeof *want, cand_desc);
    if (qry_hybrid(&h, v, 0, text, FTS_MODE_OR, 0, query, TF_DIM, k,
                   ALL_LISTS) != INFINO_OK)
        fail_msg("%s: %s", what, err_last());
    materialize(&got, v, &h);
    assert_topk(&got, want, n, k, what);
    qry_hits_free(&a);
    qry_hits_free(&b);
    qry_hits_free(&h);
}

static const char *const or_queries[] = {
    "common",      "x1",          "y2 x0",        "w3 rare",
    "rare",        "row17 row250 row599 row10001", "x2 -w3",
    "common -x1 -y2", "nosuchterm", "row5 nosuchterm", "x0 x0 -nosuch",
    "w1 w2 w3 w4 y4",
};
static const char *const and_queries[] = {
    "x1 y1", "w2 x2 y4", "common x0", "row5 nosuchterm", "common rare -w0",
    "w4 common",
};
static const size_t ks[] = {1, 3, 10, 1000};

static void check_all(struct tbl *t, const struct oracle *o, const char *state)
{
    static const float queries[][TF_DIM] = {
        {0, 0, 1, 0}, {17.2f, 2, 1, -17.2f}, {400, 0, 0, -400},
        {123.5f, 3.5f, 1, -123.5f}, {-5, 9, 2, 5}, {1e4f, 0, 1, -1e4f},
    };
    struct tbl_view *v;
    char name[64];

    assert_ok(tbl_view_acquire(&v, t));
    for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
        for (size_t q = 0; q < sizeof or_queries / sizeof *or_queries; q++)
            check_bm25(v, o, or_queries[q], 0, ks[i], state);
        for (size_t q = 0; q < sizeof and_queries / sizeof *and_queries; q++)
            check_bm25(v, o, and_queries[q], 1, ks[i], state);
        for (size_t q = 0; q < sizeof queries / sizeof *queries; q++) {
            check_vector(v, o, queries[q], ks[i], state);
            check_hybrid(v, o, or_queries[q % 6], queries[q], ks[i], state);
        }
    }
    for (size_t q = 0; q < sizeof or_queries / sizeof *or_queries; q++)
        check_unranked(v, o, or_queries[q], 0, state);
    for (size_t q = 0; q < sizeof and_queries / sizeof *and_queries; q++)
        check_unranked(v, o, and_queries[q], 1, state);
    check_exact(v, o, "common", state);
    check_exact(v, o, "row17 w3 common x2 y2 y2", state);
    body_of(name, sizeof name, 250);
    check_exact(v, o, name, state);
    check_exact(v, o, "row17", state);
    check_exact(v, o, "", state);
    tbl_view_release(v);
}

static void delete_where(struct tbl *t, struct oracle *o,
                         bool (*fn)(int64_t, const void *), const void *arg)
{
    struct tl_pred p = {fn, arg};
    struct tbl_mutation_stats ms;
    uint64_t n = 0;

    for (size_t i = 0; i < o->n; i++)
        if (o->live[i] && fn(o->k[i], arg)) {
            o->live[i] = false;
            n++;
        }
    assert_ok(tbl_delete(t, tl_match, &p, &ms));
    assert_int_equal(ms.n_tombstoned, n);
}

static bool k_mod(int64_t k, const void *arg)
{
    const int64_t *m = arg;
    return k % m[0] == m[1];
}

/* After optimize the deleted rows are gone from storage and statistics. */
static void oracle_compact(struct oracle *o)
{
    size_t j = 0;

    for (size_t i = 0; i < o->n; i++)
        if (o->live[i]) {
            o->k[j] = o->k[i];
            o->live[j++] = true;
        }
    o->n = j;
}

static void append_rows(struct tbl *t, struct oracle *o, int64_t first,
                        size_t n)
{
    int64_t keys[MAX_ROWS];

    for (size_t i = 0; i < n; i++)
        keys[i] = first + (int64_t)i;
    assert_ok(tl_append_keys(t, keys, n, body_of));
    oracle_add(o, first, n);
}

/* ---- tests --------------------------------------------------------------- */

static void test_query_search__oracle_through_table_states(void **state)
{
    static const int64_t mod3[2] = {3, 0}, mod10[2] = {10, 7};
    struct tl_world w;
    struct tbl *t;
    struct tbl_optimize_opts oo = TBL_OPTIMIZE_OPTS_INIT;
    struct tbl_optimize_report rep;
    static struct oracle o;
    (void)state;

    memset(&o, 0, sizeof o);
    tl_world_open(&w, "query-oracle");
    assert_ok(tl_create_n(&t, w.store, "t", 4));

    append_rows(t, &o, 0, 200);
    check_all(t, &o, "one superfile");

    append_rows(t, &o, 200, 150);
    append_rows(t, &o, 350, 250);
    append_rows(t, &o, SPECIAL, 3);
    check_all(t, &o, "four superfiles");

    delete_where(t, &o, k_mod, mod3);
    delete_where(t, &o, k_mod, mod10);
    check_all(t, &o, "after deletes");

    oo.min_fill_percent = 100;
    assert_ok(tbl_optimize(t, &oo, &rep));
    assert_int_equal(rep.n_outputs, 1);
    oracle_compact(&o);
    check_all(t, &o, "after optimize");

    append_rows(t, &o, 600, 40);
    check_all(t, &o, "optimized plus one");
    tbl_close(t);
    tl_world_close(&w);
}

/* The same through the worker pool: superfile groups searched in parallel
 * (INFINO_PARALLEL_MIN_WORK=0 splits every multi-superfile query). */
static void test_query_search__oracle_parallel_groups(void **state)
{
    static const int64_t mod4[2] = {4, 2};
    struct tl_world w;
    struct tbl *t;
    static struct oracle o;
    (void)state;

    setenv("INFINO_PARALLEL_MIN_WORK", "0", 1);
    memset(&o, 0, sizeof o);
    tl_world_open(&w, "query-par");
    assert_ok(tl_create(&t, w.store, "t"));
    for (int i = 0; i < 6; i++)
        append_rows(t, &o, 100 * i, 100);
    delete_where(t, &o, k_mod, mod4);
    check_all(t, &o, "six superfiles, parallel");
    unsetenv("INFINO_PARALLEL_MIN_WORK");
    tbl_close(t);
    tl_world_close(&w);
}

/* Two views over the same rows: every BM25 answer is the same list, row
 * for row (ties included: rows tie-break in insertion order in both) and
 * score bit for score bit. */
static void assert_same_bm25(struct tbl_view *a, struct tbl_view *b,
                             const char *text, enum fts_mode mode, size_t k)
{
    struct qry_hits ha, hb;
    static struct res ra, rb;

    assert_ok(qry_bm25(&ha, a, 0, text, k, mode));
    assert_ok(qry_bm25(&hb, b, 0, text, k, mode));
    materialize(&ra, a, &ha);
    materialize(&rb, b, &hb);
    if (ra.n != rb.n)
        fail_msg("bm25 '%s' k=%zu: %zu rows, %zu over one superfile", text,
                 k, rb.n, ra.n);
    for (size_t i = 0; i < ra.n; i++)
        if (ra.k[i] != rb.k[i] || memcmp(&ra.score[i], &rb.score[i], 4) != 0)
            fail_msg("bm25 '%s' k=%zu: row %zu is k=%lld (%.9g), over one "
                     "superfile k=%lld (%.9g)",
                     text, k, i, (long long)rb.k[i], (double)rb.score[i],
                     (long long)ra.k[i], (double)ra.score[i]);
    qry_hits_free(&ha);
    qry_hits_free(&hb);
}

/* The same rows as one superfile and as 40: BM25 (which ranks superfiles
 * by score bound and skips the ones that cannot enter) answers exactly
 * as over one superfile, through deletes too; vector search probing
 * every list answers the exact k-NN over both, and at the default nprobe
 * (which picks clusters across superfiles) finds the same neighbours on
 * these easy rows. */
static void test_query_search__many_superfiles_match_one(void **state)
{
    static const char *const ties[] = {
        "common", "common common", "w3", "x0 y1", "x1 x2 -w4", "rare common",
        "w0 w1 w2 w3 w4 w5 w6", "row5 row105 row205 row395 common",
        "y0 y1 y2 y3 y4 x0 x1 x2",
    };
    static const int64_t mod5[2] = {5, 1};
    static const float vq[][TF_DIM] = {
        {0, 0, 1, 0}, {217.5f, 2, 1, -217.5f}, {599, 4, 1, -599},
        {-3, 1, 1, 3}, {333, 0, 1, -333},
    };
    static struct oracle o1, o2;
    struct tl_world w;
    struct tbl *one, *many;
    struct tbl_view *a, *b;
    (void)state;

    memset(&o1, 0, sizeof o1);
    memset(&o2, 0, sizeof o2);
    tl_world_open(&w, "query-manysf");
    assert_ok(tl_create_n(&one, w.store, "one", 8));
    assert_ok(tl_create_n(&many, w.store, "many", 8));
    append_rows(one, &o1, 0, 600);
    for (int i = 0; i < 40; i++)
        append_rows(many, &o2, 15 * i, 15);
    for (int round = 0; round < 2; round++) {
        assert_ok(tbl_view_acquire(&a, one));
        assert_ok(tbl_view_acquire(&b, many));
        assert_int_equal(tbl_view_n_sf(b), 40);
        for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
            for (size_t q = 0; q < sizeof ties / sizeof *ties; q++) {
                assert_same_bm25(a, b, ties[q], FTS_MODE_OR, ks[i]);
                assert_same_bm25(a, b, ties[q], FTS_MODE_AND, ks[i]);
            }
            for (size_t q = 0; q < sizeof or_queries / sizeof *or_queries;
                 q++)
                assert_same_bm25(a, b, or_queries[q], FTS_MODE_OR, ks[i]);
            for (size_t q = 0; q < sizeof and_queries / sizeof *and_queries;
                 q++)
                assert_same_bm25(a, b, and_queries[q], FTS_MODE_AND, ks[i]);
        }
        for (size_t q = 0; q < sizeof vq / sizeof *vq; q++) {
            struct qry_hits h;
            struct res got;
            struct cand want[MAX_ROWS];
            size_t n = 0, found = 0;

            check_vector(a, &o1, vq[q], 10, "one superfile");
            check_vector(b, &o2, vq[q], 10, "40 superfiles");
            for (size_t i = 0; i < o2.n; i++)
                if (o2.live[i]) {
                    want[n].k = o2.k[i];
                    want[n++].score = l2(o2.k[i], vq[q]);
                }
            qsort(want, n, sizeof *want, cand_asc);
            assert_ok(qry_vector(&h, b, 0, vq[q], TF_DIM, 10, 0, NULL));
            materialize(&got, b, &h);
            qry_hits_free(&h);
            for (size_t i = 0; i < got.n; i++)
                for (size_t j = 0; j < 10 && j < n; j++)
                    found += got.k[i] == want[j].k;
            if (found < 9)
                fail_msg("40 superfiles, default nprobe: %zu of the 10 "
                         "nearest to (%g, %g, %g, %g)",
                         found, (double)vq[q][0], (double)vq[q][1],
                         (double)vq[q][2], (double)vq[q][3]);
        }
        tbl_view_release(a);
        tbl_view_release(b);
        delete_where(one, &o1, k_mod, mod5);
        delete_where(many, &o2, k_mod, mod5);
    }
    tbl_close(one);
    tbl_close(many);
    tl_world_close(&w);
}

/* Every allocation of a search over many superfiles may fail: the search
 * reports INFINO_ERR_NOMEM and frees what it took (the sanitizer builds
 * check the leaks), then succeeds once allocations do. */
struct alloc_walk {
    struct tbl_view *v;
    const char *text;
    enum fts_mode mode;
    const float *q;
    uint32_t nprobe;
};

static infino_status walk_bm25(void *arg)
{
    struct alloc_walk *a = arg;
    struct qry_hits h;
    infino_status st = qry_bm25(&h, a->v, 0, a->text, 10, a->mode);

    if (st == INFINO_OK)
        qry_hits_free(&h);
    return st;
}

static infino_status walk_vector(void *arg)
{
    struct alloc_walk *a = arg;
    struct qry_hits h;
    infino_status st = qry_vector(&h, a->v, 0, a->q, TF_DIM, 10, a->nprobe,
                                  NULL);

    if (st == INFINO_OK)
        qry_hits_free(&h);
    return st;
}

static void fail_each(infino_status (*fn)(void *), void *arg)
{
    int n;

    assert_ok(fn(arg)); /* opens what the search opens, once */
    for (n = 1;; n++) {
        infino_status st;
        mem_fail_after(n);
        st = fn(arg);
        mem_fail_reset();
        if (st == INFINO_OK)
            break;
        if (st != INFINO_ERR_NOMEM)
            fail_msg("allocation %d: status %d (%s)", n, st, err_last());
    }
    assert_true(n > 1);
}

static void test_query_search__many_superfiles_allocation_failures(
    void **state)
{
    static const char *const texts[] = {"common", "x1 y2 -w3", "rare row5"};
    static const float q[TF_DIM] = {217.5f, 2, 1, -217.5f};
    static struct oracle o;
    struct tl_world w;
    struct tbl *t;
    struct alloc_walk a = {0};
    (void)state;

    memset(&o, 0, sizeof o);
    tl_world_open(&w, "query-manysf-oom");
    assert_ok(tl_create_n(&t, w.store, "t", 4));
    for (int i = 0; i < 12; i++)
        append_rows(t, &o, 25 * i, 25);
    assert_ok(tbl_view_acquire(&a.v, t));
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        a.text = texts[i];
        a.mode = FTS_MODE_OR;
        fail_each(walk_bm25, &a);
        a.mode = FTS_MODE_AND;
        fail_each(walk_bm25, &a);
    }
    a.q = q;
    a.nprobe = 0;
    fail_each(walk_vector, &a);
    a.nprobe = ALL_LISTS;
    fail_each(walk_vector, &a);
    tbl_view_release(a.v);
    tbl_close(t);
    tl_world_close(&w);
}

static void test_query_search__errors_and_edges(void **state)
{
    static const float q[TF_DIM] = {1, 2, 3, 4};
    static const float bad[TF_DIM] = {1, NAN, 3, 4};
    struct tl_world w;
    struct tbl *t;
    struct tbl_view *v;
    struct qry_hits h;
    uint64_t n;
    (void)state;

    tl_world_open(&w, "query-edges");
    assert_ok(tl_create(&t, w.store, "t"));

    /* an empty table answers nothing */
    assert_ok(tbl_view_acquire(&v, t));
    assert_ok(qry_bm25(&h, v, 0, "common", 10, FTS_MODE_OR));
    assert_int_equal(h.n, 0);
    qry_hits_free(&h);
    assert_ok(qry_vector(&h, v, 0, q, TF_DIM, 10, 0, NULL));
    assert_int_equal(h.n, 0);
    qry_hits_free(&h);
    assert_ok(qry_count(&n, v, 0, "common", FTS_MODE_OR));
    assert_int_equal(n, 0);
    tbl_view_release(v);

    assert_ok(tl_append(t, 0, 10));
    assert_ok(tbl_view_acquire(&v, t));
    /* an empty query returns no rows; only negated terms is refused */
    assert_ok(qry_bm25(&h, v, 0, "", 10, FTS_MODE_OR));
    assert_int_equal(h.n, 0);
    qry_hits_free(&h);
    assert_ok(qry_bm25(&h, v, 0, "   ", 10, FTS_MODE_AND));
    assert_int_equal(h.n, 0);
    qry_hits_free(&h);
    assert_int_equal(qry_bm25(&h, v, 0, "-common", 10, FTS_MODE_OR),
                     INFINO_ERR_INVALID);
    assert_int_equal(qry_token_match(&h, v, 0, "-w1 -w2", FTS_MODE_OR),
                     INFINO_ERR_INVALID);
    /* k = 0 */
    assert_ok(qry_bm25(&h, v, 0, "common", 0, FTS_MODE_OR));
    assert_int_equal(h.n, 0);
    qry_hits_free(&h);
    assert_ok(qry_vector(&h, v, 0, q, TF_DIM, 0, 0, NULL));
    assert_int_equal(h.n, 0);
    qry_hits_free(&h);
    /* the query vector: dimension and finiteness */
    assert_int_equal(qry_vector(&h, v, 0, q, 3, 5, 0, NULL),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "dimension"));
    assert_int_equal(qry_vector(&h, v, 0, bad, TF_DIM, 5, 0, NULL),
                     INFINO_ERR_INVALID);
    assert_int_equal(qry_hybrid(&h, v, 0, "common", FTS_MODE_OR, 0, bad,
                                TF_DIM, 5, 0),
                     INFINO_ERR_INVALID);
    tbl_view_release(v);
    tbl_close(t);
    tl_world_close(&w);
}

/* Projections: any table column, _id and score, in the order asked;
 * unknown names refused with the method's name. */
static void test_query_search__projections(void **state)
{
    static const char *const proj[] = {"score", "body", "_id", "k", "vec",
                                       "k"};
    static const char *const unknown[] = {"k", "nope"};
    struct tl_world w;
    struct tbl *t;
    struct tbl_view *v;
    struct qry_hits h;
    struct ArrowArray a;
    struct ar_schema s;
    uint8_t ids[20][16];
    (void)state;

    tl_world_open(&w, "query-proj");
    assert_ok(tl_create(&t, w.store, "t"));
    assert_ok(tl_append(t, 0, 10));
    assert_ok(tl_append(t, 10, 10));
    assert_ok(tbl_view_acquire(&v, t));
    assert_ok(qry_bm25(&h, v, 0, "common", 20, FTS_MODE_OR));
    assert_int_equal(h.n, 20);

    assert_ok(qry_materialize(&a, &s, v, &h, proj, 6, "bm25_search"));
    assert_int_equal(s.n_fields, 6);
    assert_string_equal(s.fields[0].name, "score");
    assert_int_equal(s.fields[0].type, AR_FLOAT32);
    assert_int_equal(s.fields[1].type, AR_UTF8);
    assert_int_equal(s.fields[2].type, AR_DECIMAL128);
    assert_int_equal(s.fields[3].type, AR_INT64);
    assert_int_equal(s.fields[4].type, AR_FIXED_SIZE_LIST);
    assert_int_equal(s.fields[5].type, AR_INT64);
    for (int64_t i = 0; i < a.length; i++) {
        const struct ArrowArray *body = a.children[1], *id = a.children[2],
                                *k = a.children[3], *vec = a.children[4],
                                *k2 = a.children[5];
        int64_t kv = ((const int64_t *)k->buffers[1])[k->offset + i];
        const int32_t *off = (const int32_t *)body->buffers[1] + body->offset;
        const float *items = (const float *)vec->children[0]->buffers[1] +
                             vec->children[0]->offset;
        char want[64];
        float vw[TF_DIM];
        int len = tf_body(want, sizeof want, kv);
        assert_int_equal(off[i + 1] - off[i], len);
        assert_memory_equal((const char *)body->buffers[2] + off[i], want,
                            (size_t)len);
        tf_vec(vw, kv);
        assert_memory_equal(items + (vec->offset + i) * TF_DIM, vw,
                            sizeof vw);
        assert_int_equal(((const int64_t *)k2->buffers[1])[k2->offset + i],
                         kv);
        memcpy(ids[i], (const uint8_t *)id->buffers[1] + (id->offset + i) * 16,
               16);
        assert_true(((const float *)a.children[0]->buffers[1])[i] ==
                    h.v[i].score);
    }
    for (int i = 0; i < 20; i++)
        for (int j = 0; j < i; j++)
            assert_memory_not_equal(ids[i], ids[j], 16);
    ar_array_release(&a);
    ar_schema_free(&s);

    /* the default projection: _id and score */
    assert_ok(qry_materialize(&a, &s, v, &h, NULL, 0, "bm25_search"));
    assert_int_equal(s.n_fields, 2);
    assert_string_equal(s.fields[0].name, "_id");
    assert_string_equal(s.fields[1].name, "score");
    assert_memory_equal(a.children[0]->buffers[1], ids[0], 16);
    ar_array_release(&a);
    ar_schema_free(&s);

    assert_int_equal(qry_materialize(&a, &s, v, &h, unknown, 2,
                                     "bm25_search"),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "bm25_search"));
    assert_non_null(strstr(err_last(), "nope"));
    qry_hits_free(&h);

    /* no hits: a batch of no rows with the asked-for columns */
    assert_ok(qry_bm25(&h, v, 0, "nosuchterm", 20, FTS_MODE_OR));
    assert_ok(qry_materialize(&a, &s, v, &h, proj, 6, "bm25_search"));
    assert_int_equal(a.length, 0);
    assert_int_equal(s.n_fields, 6);
    ar_array_release(&a);
    ar_schema_free(&s);
    qry_hits_free(&h);
    tbl_view_release(v);
    tbl_close(t);
    tl_world_close(&w);
}

/* A view pins its snapshot: commits, deletes and an optimize after it
 * was acquired change nothing it answers. */
static void test_query_search__view_is_a_snapshot(void **state)
{
    static const int64_t mod2[2] = {2, 0};
    struct tl_pred even = {k_mod, mod2};
    struct tl_world w;
    struct tbl *t;
    struct tbl_view *v;
    struct tbl_mutation_stats ms;
    struct tbl_optimize_opts oo = TBL_OPTIMIZE_OPTS_INIT;
    struct tbl_optimize_report rep;
    static struct oracle o;
    (void)state;

    memset(&o, 0, sizeof o);
    tl_world_open(&w, "query-snap");
    assert_ok(tl_create(&t, w.store, "t"));
    append_rows(t, &o, 0, 60);
    append_rows(t, &o, 60, 60);
    assert_ok(tbl_view_acquire(&v, t));
    assert_ok(tbl_delete(t, tl_match, &even, &ms));
    append_rows(t, &o, 500, 30);
    oo.min_fill_percent = 100;
    assert_ok(tbl_optimize(t, &oo, &rep));
    o.n -= 30; /* the view holds the first 120 rows only */
    for (size_t i = 0; i < sizeof or_queries / sizeof *or_queries; i++)
        check_bm25(v, &o, or_queries[i], 0, 10, "pinned view");
    for (size_t i = 0; i < sizeof or_queries / sizeof *or_queries; i++)
        check_unranked(v, &o, or_queries[i], 0, "pinned view");
    {
        static const float q[TF_DIM] = {30, 1, 1, -30};
        check_vector(v, &o, q, 7, "pinned view");
    }
    tbl_view_release(v);
    tbl_close(t);
    tl_world_close(&w);
}

/* k is a bound, not a size to allocate: "k = 2^32" (or SIZE_MAX) asks for
 * every match and must get them, as k = 1000 does above. The searches
 * allocated k (or k + 4) result slots up front, so these failed with
 * INFINO_ERR_NOMEM on a 20-row table. */
static void test_query_search__huge_k_returns_every_match(void **state)
{
    static const float q[TF_DIM] = {1, 2, 3, 4};
    static const size_t huge[] = {(size_t)1 << 32, SIZE_MAX};
    struct tl_world w;
    struct tbl *t;
    struct tbl_view *v;
    struct qry_hits h;
    infino_status st[3];
    size_t n[3];
    char msg[3][256];
    (void)state;

    tl_world_open(&w, "query-hugek");
    assert_ok(tl_create(&t, w.store, "t"));
    assert_ok(tl_append(t, 0, 10));
    assert_ok(tl_append(t, 10, 10));
    assert_ok(tbl_view_acquire(&v, t));
    for (size_t i = 0; i < sizeof huge / sizeof *huge; i++) {
        for (int m = 0; m < 3; m++) {
            st[m] = m == 0   ? qry_bm25(&h, v, 0, "common", huge[i],
                                        FTS_MODE_OR)
                    : m == 1 ? qry_vector(&h, v, 0, q, TF_DIM, huge[i], 0,
                                          NULL)
                             : qry_hybrid(&h, v, 0, "common", FTS_MODE_OR, 0,
                                          q, TF_DIM, huge[i], 0);
            n[m] = st[m] == INFINO_OK ? h.n : 0;
            snprintf(msg[m], sizeof msg[m], "%s",
                     st[m] == INFINO_OK ? "" : err_last());
            if (st[m] == INFINO_OK)
                qry_hits_free(&h);
        }
        for (int m = 0; m < 3; m++)
            if (st[m] != INFINO_OK || n[m] != 20) {
                tbl_view_release(v);
                tbl_close(t);
                tl_world_close(&w);
                fail_msg("%s with k = %zu: status %d (%s), %zu rows; want "
                         "all 20",
                         (const char *const[]){"bm25", "vector",
                                               "hybrid"}[m],
                         huge[i], (int)st[m], msg[m], n[m]);
            }
    }
    tbl_view_release(v);
    tbl_close(t);
    tl_world_close(&w);
}

/* Table `name` as tl_create makes it, with its body indexed with
 * stored=False (sf_fts_opts.hidden), as IndexSpec.fts does. */
static void create_hidden(struct tbl **out, struct objstore *s,
                          const char *name)
{
    struct ar_schema sch;
    struct sf_index_spec spec = {0};
    struct sf_fts_opts o = {0};
    struct cat_entry e = {0};

    tf_schema(&sch);
    o.hidden = true;
    assert_ok(sf_spec_add_fts_opts(&spec, "body", &o));
    assert_ok(sf_spec_add_vector(&spec, "vec", TF_DIM, 2, SF_METRIC_L2SQ));
    assert_ok(catalog_create(&e, s, name, &sch, &spec));
    assert_ok(tbl_open(out, s, &e, NULL));
    cat_entry_free(&e);
    sf_spec_free(&spec);
    ar_schema_free(&sch);
}

/* The searches a hidden body must keep answering, from its index and
 * (exact_match) from its stored text: k 3, 10, 17 hold "w3" among k 0..19
 * (tf_body), and only k 5 is "row5 w5 common". Reading it is refused. */
static void check_hidden_searches(struct tbl *t, const char *when)
{
    static const int64_t w3[] = {3, 10, 17};
    static const int64_t k5[] = {5};
    static const char *const body[] = {"k", "body"};
    struct tbl_view *v;
    struct qry_hits h;
    struct ArrowArray a;
    struct ar_schema s;
    struct res got;
    uint64_t n;

    assert_ok(tbl_view_acquire(&v, t));
    if (qry_token_match(&h, v, 0, "w3", FTS_MODE_OR) != INFINO_OK)
        fail_msg("%s: token_match: %s", when, err_last());
    materialize(&got, v, &h);
    qsort(got.k, got.n, sizeof *got.k, tf_cmp_i64);
    if (!tf_keys_equal(got.k, got.n, w3, 3))
        fail_msg("%s: token_match w3: %zu rows", when, got.n);
    assert_int_equal(qry_materialize(&a, &s, v, &h, body, 2, "token_match"),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "stored=False"));
    assert_non_null(strstr(err_last(), "valid columns: _id, k, vec, score"));
    qry_hits_free(&h);
    assert_ok(qry_count(&n, v, 0, "w3", FTS_MODE_OR));
    assert_int_equal(n, 3);
    if (qry_exact_match(&h, v, 0, "row5 w5 common", 14) != INFINO_OK)
        fail_msg("%s: exact_match: %s", when, err_last());
    materialize(&got, v, &h);
    qry_hits_free(&h);
    if (!tf_keys_equal(got.k, got.n, k5, 1))
        fail_msg("%s: exact_match: %zu rows", when, got.n);
    tbl_view_release(v);
}

/* A hidden column (IndexSpec.fts(stored=False)) is out of every reader's
 * schema and scan but stays in the superfile: searches, exact_match's
 * verification, optimize and reindex (which rebuilds the index from the
 * stored text: Python cannot force that) go on finding it. */
static void test_query_search__hidden_column(void **state)
{
    static const char *const only_body[] = {"body"};
    struct tl_world w;
    struct tbl *t;
    struct tbl_view *v;
    struct tbl_scan *sc;
    struct tbl_reindex_opts ro = {0};
    struct tbl_reindex_report rr;
    struct tbl_optimize_opts oo = TBL_OPTIMIZE_OPTS_INIT;
    struct tbl_optimize_report rep;
    const struct ar_schema *p;
    (void)state;

    tl_world_open(&w, "query-hidden");
    create_hidden(&t, w.store, "t");
    assert_ok(tl_append(t, 0, 10));
    assert_ok(tl_append(t, 10, 10));
    assert_true(tbl_column_hidden(t, "body"));
    assert_false(tbl_column_hidden(t, "k"));
    assert_int_equal(ar_schema_find(tbl_visible_schema(t), "body"), -1);
    assert_int_equal(tbl_visible_schema(t)->n_fields, 3); /* _id, k, vec */
    assert_true(ar_schema_find(tbl_full_schema(t), "body") >= 0);
    assert_true(ar_schema_find(tbl_user_schema(t), "body") >= 0);

    /* scans: all columns means the visible ones; naming it is refused */
    assert_ok(tbl_view_acquire(&v, t));
    assert_ok(tbl_scan_open(&sc, v, NULL, 0));
    p = tbl_scan_projection(sc);
    assert_int_equal(p->n_fields, 3);
    assert_string_equal(p->fields[0].name, "_id");
    assert_string_equal(p->fields[1].name, "k");
    assert_string_equal(p->fields[2].name, "vec");
    tbl_scan_free(sc);
    assert_int_equal(tbl_scan_open(&sc, v, only_body, 1), INFINO_ERR_INVALID);
    assert_null(sc);
    assert_non_null(strstr(err_last(), "'body'"));
    assert_non_null(strstr(err_last(), "stored=False"));
    tbl_view_release(v);
    check_hidden_searches(t, "appended");

    ro.all = true; /* rebuild every superfile from its stored rows */
    ro.mode = TBL_REINDEX_REANALYZE;
    assert_ok(tbl_reindex(t, &ro, false, &rr));
    assert_int_equal(rr.rewritten, 2);
    tbl_reindex_report_free(&rr);
    check_hidden_searches(t, "reindexed");

    oo.min_fill_percent = 100;
    assert_ok(tbl_optimize(t, &oo, &rep));
    assert_int_equal(rep.n_outputs, 1);
    check_hidden_searches(t, "optimized");

    tbl_close(t); /* the flag is the catalog's: a new handle has it */
    assert_ok(tl_open(&t, w.store, "t"));
    assert_true(tbl_column_hidden(t, "body"));
    assert_int_equal(ar_schema_find(tbl_visible_schema(t), "body"), -1);
    check_hidden_searches(t, "reopened");
    tbl_close(t);
    tl_world_close(&w);
}

/* The test above asks for absurd allocations on purpose (until the
 * searches stop making them): under the sanitizers they should fail as
 * allocations do, with NULL (INFINO_ERR_NOMEM), not abort the program. */
const char *__asan_default_options(void);
const char *__tsan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}
const char *__tsan_default_options(void)
{
    return "allocator_may_return_null=1";
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_search__oracle_through_table_states),
        cmocka_unit_test(test_query_search__oracle_parallel_groups),
        cmocka_unit_test(test_query_search__many_superfiles_match_one),
        cmocka_unit_test(
            test_query_search__many_superfiles_allocation_failures),
        cmocka_unit_test(test_query_search__errors_and_edges),
        cmocka_unit_test(test_query_search__projections),
        cmocka_unit_test(test_query_search__view_is_a_snapshot),
        cmocka_unit_test(test_query_search__huge_k_returns_every_match),
        cmocka_unit_test(test_query_search__hidden_column),
    };
    test_seed();
    if (getenv("INFINO_TEST_FILTER"))
        cmocka_set_test_filter(getenv("INFINO_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
