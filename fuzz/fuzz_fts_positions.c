/*
 * fuzz_fts_positions.c - the token positions of a full-text region
 * (format 5, FORMAT.md "Positions"): opens arbitrary bytes as a region,
 * walks every posting of the first terms reading its positions
 * (fts_cursor_positions), then evaluates phrase queries over pairs and
 * triples of those terms (fts_eval_phrased, which verifies candidates
 * from the positions, never from text). Every call must return OK,
 * NOTFOUND or CORRUPT, and positions must come out strictly increasing;
 * ASan/UBSan do the rest. Runs with chunk CRCs off, as given, and with
 * them recomputed (fuzz_fts_chunks.h).
 * Seeds: tests/tools/fts_fuzz_seeds.c (pos-seed-*.bin).
 */
#include "index/fts/fts_int.h"
#include "util/alloc.h"
#include "util/err.h"
#include "fuzz_fts_chunks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TERMS 5
#define TERM_CAP 64
#define MAX_TF 4096

struct walk {
    const struct fts_reader *r;
    char terms[MAX_TERMS][TERM_CAP + 1];
    size_t n_terms;
    uint32_t pos[MAX_TF];
};

static void ok_or_corrupt(infino_status st)
{
    if (st != INFINO_OK && st != INFINO_ERR_CORRUPT &&
        st != INFINO_ERR_NOTFOUND) {
        fprintf(stderr, "status %d: %s\n", (int)st, err_last());
        abort();
    }
}

static infino_status visit(const uint8_t *t, size_t len,
                           const struct fts_term_info *info, void *payload)
{
    struct walk *w = payload;
    struct fts_cursor *c;
    infino_status st;

    if (w->n_terms == MAX_TERMS)
        return INFINO_ERR_NOTFOUND; /* stop the walk */
    if (len <= TERM_CAP && memchr(t, '"', len) == NULL) {
        memcpy(w->terms[w->n_terms], t, len);
        w->terms[w->n_terms++][len] = 0;
    }
    if ((c = mem_alloc(sizeof *c)) == NULL)
        return INFINO_OK;
    st = fts_cursor_open(c, w->r, info);
    while (st == INFINO_OK && (st = fts_cursor_next(c)) == INFINO_OK &&
           c->doc != FTS_NO_DOC) {
        uint32_t tf = fts_cursor_tf(c);
        if (tf > MAX_TF)
            break;
        st = fts_cursor_positions(c, w->pos);
        for (uint32_t k = 1; st == INFINO_OK && k < tf; k++)
            if (w->pos[k] <= w->pos[k - 1])
                abort(); /* the decoder promises increasing positions */
    }
    mem_free(c);
    ok_or_corrupt(st);
    return INFINO_OK;
}

static void phrase(const struct fts_reader *r, const char *text, size_t k,
                   enum fts_mode mode)
{
    struct fts_query *q = NULL;
    struct fts_hit *hits = NULL;
    uint64_t df[8] = {0};
    struct fts_global_stats gs;
    struct fts_phrased_opts po = {k, mode, NULL, NULL, NULL};
    size_t n;

    if (fts_query_parse(&q, NULL, text, strlen(text)) != INFINO_OK ||
        fts_query_n_terms(q) > 8) {
        fts_query_free(q);
        return;
    }
    ok_or_corrupt(fts_query_add_local_df(df, r, q));
    /* statistics that fit the region, damaged or not: N is every doc (a
     * dictionary df never exceeds it), each df the region's own */
    gs.n_docs = fts_reader_n_docs(r);
    gs.avgdl = gs.n_docs ? (double)fts_reader_total_tokens(r) / gs.n_docs
                         : 1.0;
    if (!(gs.avgdl > 0))
        gs.avgdl = 1.0;
    for (size_t i = 0; i < fts_query_n_terms(q); i++)
        if (df[i] > gs.n_docs) {
            fts_query_free(q);
            return;
        }
    gs.df = df;
    gs.sim = NULL;
    ok_or_corrupt(fts_eval_phrased(&hits, &n, r, q,
                                   gs.n_docs > 0 ? &gs : NULL, &po));
    mem_free(hits);
    fts_query_free(q);
}

static void walk_region(const uint8_t *data, size_t size, unsigned flags)
{
    struct fts_reader *r;
    static struct walk w;
    char text[4 * TERM_CAP + 16];

    if (fts_reader_open(&r, data, size, "fuzz", flags) != INFINO_OK)
        return;
    if (!fts_reader_has_positions(r)) {
        fts_reader_close(r);
        return;
    }
    memset(&w, 0, sizeof w);
    w.r = r;
    ok_or_corrupt(fts_reader_prefix(r, NULL, 0, visit, &w));
    for (size_t i = 0; i < w.n_terms; i++)
        for (size_t j = 0; j < w.n_terms; j++) {
            snprintf(text, sizeof text, "\"%s %s\"", w.terms[i], w.terms[j]);
            phrase(r, text, j % 2 ? 3 : 0, FTS_MODE_OR);
            snprintf(text, sizeof text, "\"%s %s %s\" %s", w.terms[i],
                     w.terms[j], w.terms[i], w.terms[j]);
            phrase(r, text, 10, FTS_MODE_AND);
        }
    fts_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_fts_walk_three_ways(data, size, FTS_OPEN_NO_CHUNK_CRC, walk_region);
    return 0;
}
