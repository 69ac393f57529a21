/*
 * fts.h - the full-text index of one text column of one superfile:
 * tokenizer, writer, region reader, BM25 top-k, counting and matching.
 *
 * Design
 * ------
 * Text arrives as (local doc id, bytes), ids 0..n-1 in increasing order.
 * The writer interns terms and accumulates delta-coded postings under a
 * memory budget, spilling sorted runs to a scratch file when the budget is
 * exceeded; fts_writer_finish() streams one self-describing region (layout
 * in FORMAT.md) into a store sink. The reader works on the borrowed region
 * bytes in place (they are normally mmapped from the superfile) and never
 * copies postings; an open reader is immutable, so any number of threads
 * may query it at once.
 *
 * Scores are BM25 (k1 = 1.2, b = 0.75 unless the column or the query says
 * otherwise; see struct fts_similarity) with TABLE-GLOBAL statistics: the
 * caller sums each region's local document frequencies, counts of docs
 * with tokens and token counts (fts_query_add_local_df,
 * fts_reader_n_scored_docs, fts_reader_total_tokens) and passes the totals to fts_search(), so a
 * score does not depend on how rows are split into superfiles.
 *
 * Scoring, exactly (so that a score can be reproduced bit for bit):
 *   idf   = ln(1 + (N - df + 0.5) / (df + 0.5))              (double)
 *   w     = idf * m       m: how many times the query names the term
 *   A     = k1 * (1 - b);   B = k1 * b / avgdl
 *   c     = (w * tf) / (tf + (A + B * dl))                   (double)
 *   q     = (int64_t)(c * 2^40 + 0.5)      per term present in the doc
 *   score = (float)((double)(sum of q) / 2^40)
 * This is upstream infino's scale (Lucene 8 and later likewise drop the
 * constant (k1 + 1) factor of the textbook formula: it scales every score
 * alike and changes no ranking). Summing 2^-40 fixed-point integers makes
 * a score independent of the
 * order in which terms are visited, so every algorithm (and every way of
 * splitting a table into regions) yields identical floats. Results are
 * ordered by score descending, then local doc id ascending.
 *
 * Queries: whitespace-separated chunks (Unicode White_Space); a chunk that
 * starts with '-' contributes its tokens as negative terms. Positive and
 * negative terms are each deduplicated and sorted bytewise; a positive
 * term keeps its multiplicity m (how many times it occurs), so "apple
 * apple" scores twice what "apple" does, as upstream infino's does. A
 * query without tokens matches nothing; a query with only negative terms
 * (or negated phrases) is INFINO_ERR_INVALID. A chunk that starts with '"'
 * or '-"' and has a closing '"' later is a phrase up to it ("phrases"
 * below); an unclosed quote is plain text.
 *
 * Caveats
 * -------
 * - Local doc ids are uint32_t; a region holds at most UINT32_MAX docs.
 * - A query holds at most FTS_MAX_QUERY_TERMS distinct positive terms
 *   (and as many negative ones).
 * - The writer keeps a region's term bytes below 4 GiB in memory, so one
 *   token may not exceed that (INFINO_ERR_UNSUPPORTED, never truncation).
 * - The alnum analyzer does not segment CJK text: a run of ideographs is
 *   one token (the standard analyzer makes each ideograph a token).
 * - A writer or tokenizer is used by one thread at a time; a reader by any
 *   number. The writer itself is single-threaded (parallelism comes from
 *   building several columns or superfiles at once).
 *
 * Not useful for: proximity search. Positions are stored only for
 * columns indexed with them (fts_writer_opts.positions): phrases are then
 * verified here; otherwise phrases and exact_match find candidates here,
 * and the caller verifies them against the stored text.
 */
#ifndef INFINO_FTS_H
#define INFINO_FTS_H

#include "infino.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/rd.h"

#include <roaring/roaring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most distinct positive (and, separately, negative) terms one query may
 * hold. It bounds the work of one query: each term costs a dictionary
 * lookup per region and a cursor (about 1 KiB) per searched range. A
 * longer query is INFINO_ERR_INVALID naming its count; exact-match values
 * are not queries and have no such limit (fts_exact_candidates). */
#define FTS_MAX_QUERY_TERMS 4096

/* ---- analysis ----------------------------------------------------------
 * What turns text into terms, per column, at index and at query time.
 *
 * Base tokenizers:
 * - FTS_BASE_STANDARD (the default of new tables): NFKC normalization with
 *   Unicode case folding and default-ignorable code points removed, then
 *   word boundaries per UAX #29 (Unicode 15.0, rules WB1-WB999); a word is
 *   a token when it holds a letter (L*) or a digit (N*). So "don't",
 *   "3.14", "u.s.a" and "user_name" are one token each, "e-mail" is two,
 *   and CJK ideographs are one token each (UAX #29 has no dictionary).
 * - FTS_BASE_ALNUM (every table made before analyzers existed): maximal
 *   runs of letters (L*) and digits (N*), plus combining marks (M*) that
 *   continue a run, after the same normalization. For ASCII text this is
 *   exactly the lowercased [A-Za-z0-9] runs.
 * Both: invalid UTF-8 separates, and tokens are never cut (a run of any
 * length is one token).
 * Then, in this order: stop words are dropped (a built-in list by
 * language, or the user's own list), and the remaining tokens are stemmed
 * by a Snowball stemmer (libstemmer) when one is named. */

enum fts_base {
    FTS_BASE_ALNUM = 0,
    FTS_BASE_STANDARD = 1,
};
#define FTS_STOP_USER 255 /* fts_analysis.stop_lang: the user's list */

struct fts_analysis {
    enum fts_base base;
    uint8_t stemmer;   /* 0: none; else a language (fts_lang_name) */
    uint8_t stop_lang; /* 0: none; a language with a built-in list; or
                          FTS_STOP_USER: stop_words below */
    /* FTS_STOP_USER only: owned, each normalized by the base tokenizer to
     * exactly one token, sorted bytewise, unique. */
    char **stop_words;
    size_t n_stop_words;
};
/* A zeroed struct fts_analysis is the alnum tokenizer, no filters. */

/* Snowball languages by id, 1..FTS_N_LANGS (an id is stored on disk:
 * append only). NULL out of range. */
#define FTS_N_LANGS 29
const char *fts_lang_name(unsigned id);
/* The id of a language name (any case), 0 when unknown. */
unsigned fts_lang_id(const char *name);
/* true when a built-in stop word list exists for language `id`. */
bool fts_lang_has_stopwords(unsigned id);
/* The analyzer's name ("standard", "alnum"); fts_base_parse: any case,
 * INFINO_ERR_INVALID listing the names otherwise. */
const char *fts_base_name(enum fts_base b);
infino_status fts_base_parse(enum fts_base *out, const char *name);

/* Sets a user stop word list: each word is normalized by a's base
 * tokenizer and must be exactly one token (INFINO_ERR_INVALID naming it
 * otherwise). Replaces any list or language. */
infino_status fts_analysis_set_stop_words(struct fts_analysis *a,
                                          const char *const *words, size_t n);
infino_status fts_analysis_copy(struct fts_analysis *out,
                                const struct fts_analysis *a);
void fts_analysis_free(struct fts_analysis *a); /* leaves it zeroed */
bool fts_analysis_equal(const struct fts_analysis *a,
                        const struct fts_analysis *b);
/* Appends a description such as "standard, stemmer english, stopwords
 * english" (for errors and reports). */
infino_status fts_analysis_describe(struct buf *out,
                                    const struct fts_analysis *a);
/* Serialization (catalog): encode appends; decode reads from `r`,
 * INFINO_ERR_CORRUPT on bad input, *out owned. */
infino_status fts_analysis_encode(struct buf *out,
                                  const struct fts_analysis *a);
infino_status fts_analysis_decode(struct fts_analysis *out, struct rd *r);

/* What a region records of the analysis that built it (FORMAT.md,
 * "Analysis"): enough to tell whether a query analyzed by a given
 * fts_analysis matches the region's terms. */
struct fts_analysis_id {
    uint8_t base, stemmer, stop_lang;
    uint32_t stop_crc; /* CRC-32C of the user's list; 0 otherwise */
};
void fts_analysis_id_of(struct fts_analysis_id *out,
                        const struct fts_analysis *a);
bool fts_analysis_id_equal(const struct fts_analysis_id *a,
                           const struct fts_analysis_id *b);

/* ---- tokenizer ---------------------------------------------------------- */

struct fts_tokenizer;

/* Called once per token, in text order. `token` is borrowed until the
 * callback returns; a non-OK return stops tokenizing and is passed on. */
typedef infino_status (*fts_token_fn)(const uint8_t *token, size_t len,
                                      void *payload);

/* On success *out is owned: release with fts_tokenizer_free(). `a` (NULL:
 * a zeroed analysis) is copied. A tokenizer holds scratch buffers and a
 * stemmer; use one per thread. INFINO_ERR_UNSUPPORTED when the stemmer's
 * language is unavailable. */
infino_status fts_tokenizer_new(struct fts_tokenizer **out,
                                const struct fts_analysis *a);
void fts_tokenizer_free(struct fts_tokenizer *tk); /* NULL is a no-op */

/* Feeds the tokens of `len` bytes at `text` (any bytes) to `fn`. */
infino_status fts_tokenize(struct fts_tokenizer *tk, const void *text,
                           size_t len, fts_token_fn fn, void *payload);
/* fts_tokenize, where `fn` may call fts_tokenizer_position() for the
 * position of the token it is given: its index among the base tokens of
 * the text, counting the stop words and the tokens stemmed to nothing
 * that were dropped (so "king of the hill" puts hill 3 after king, as a
 * phrase query must see it). */
infino_status fts_tokenize_positions(struct fts_tokenizer *tk,
                                     const void *text, size_t len,
                                     fts_token_fn fn, void *payload);
uint32_t fts_tokenizer_position(const struct fts_tokenizer *tk);
/* The same, without stop words and stemming: the base tokenizer only
 * (prefix normalization, stop word lists). */
infino_status fts_tokenize_base(struct fts_tokenizer *tk, const void *text,
                                size_t len, fts_token_fn fn, void *payload);

/* ---- writer ------------------------------------------------------------ */

struct fts_writer;

struct fts_writer_opts {
    /* Accumulator memory (bytes) above which sorted runs are spilled;
     * 0 means FTS_DEFAULT_MEM_BUDGET. Doc lengths (4 bytes per doc) are
     * kept in memory regardless. */
    size_t mem_budget;
    /* Directory for the anonymous spill file (copied); NULL: $TMPDIR. */
    const char *spill_dir;
    /* How text becomes terms (copied; NULL: a zeroed analysis). Recorded
     * in the region (fts_reader_analysis_id). */
    const struct fts_analysis *analysis;
    /* Store each posting's token positions (FORMAT.md "Positions",
     * format 5), the ones fts_tokenize_positions() assigns, so phrases
     * are verified from the region. false: format 4, nothing stored and
     * nothing paid. */
    bool positions;
};
#define FTS_DEFAULT_MEM_BUDGET ((size_t)256 << 20)

/* What fts_writer_finish() wrote. */
struct fts_region_info {
    uint64_t len;          /* region bytes written to the sink */
    uint32_t n_docs;       /* documents, including empty ones */
    uint64_t n_terms;      /* distinct terms */
    uint64_t total_tokens; /* sum of document lengths */
    uint32_t n_runs;       /* sorted runs spilled (0: built in memory) */
};

/* `opts` may be NULL. On success *out is owned: fts_writer_free(). */
infino_status fts_writer_new(struct fts_writer **out,
                             const struct fts_writer_opts *opts);

/* Indexes document `doc`. Ids must increase; skipped ids are empty
 * documents (length 0). `text` is borrowed for the call; NULL with len 0
 * is an empty (or null) document. A failure other than a refused id
 * leaves half a document behind: the writer then refuses everything but
 * fts_writer_free(). */
infino_status fts_writer_add(struct fts_writer *w, uint32_t doc,
                             const void *text, size_t len);

/* Writes the region for `n_docs` documents (>= every added id + 1; the
 * trailing ones are empty) at the sink's current position, streaming: the
 * region is never held whole in memory. The sink is borrowed: the caller
 * finishes or aborts it (after a failure it holds a partial region).
 * When `summary_out` is not NULL the term summary (see fts_summary_open)
 * is appended to it. The writer accepts nothing afterwards except
 * fts_writer_free(). */
infino_status fts_writer_finish(struct fts_writer *w, struct store_sink *sink,
                                uint32_t n_docs, struct fts_region_info *info,
                                struct buf *summary_out);

void fts_writer_free(struct fts_writer *w); /* NULL is a no-op */

/* The newest region format version fts_writer_finish() writes
 * (FORMAT.md, "Versions": 5 with positions, 4 without), which is the
 * newest this build reads; every region states its own in bytes 8..11
 * (u32 LE). Regions of older versions are still read; a reindex rewrites
 * them. */
uint32_t fts_format_version(void);

/* Tests only: writers of this process write format `version` (3: the
 * layout before per-chunk checks; 4: the layout before positions, so
 * even a positions column writes none, as superfiles made before them)
 * until called again with 0 (the current version). Any other value
 * means 0. With 0, the environment variable INFINO_FTS_FORMAT=3 or 4
 * does the same (for tests in other languages). */
void fts_test_write_version(uint32_t version);

/* ---- reader ------------------------------------------------------------ */

struct fts_reader;

#define FTS_OPEN_VERIFY_CRC 1u /* check the region's CRC-32C at open */
/* Format 4 and on: do not check the per-chunk CRCs (fuzzing and tests
 * that reach the decoders behind them; never for stored data). */
#define FTS_OPEN_NO_CHUNK_CRC 2u

/* Formats this build verifies chunk by chunk as they are read (FORMAT.md,
 * "Checks"), so the container need not verify the whole region first. */
bool fts_format_checks_chunks(uint32_t version);

/* Opens the region of `len` bytes at `data` (borrowed: must outlive the
 * reader). Validates magic, version, section bounds and, with
 * FTS_OPEN_VERIFY_CRC, the whole region's checksum. Format 4 regions also
 * check a CRC-32C per 16 KiB chunk, each chunk the first time any call
 * reads it (thread-safe; a mismatch is INFINO_ERR_CORRUPT from that call,
 * and again from every later call that reads the chunk); the structures inside are checked as
 * they are decoded, so a corrupt region yields INFINO_ERR_CORRUPT (naming
 * `name`, which is copied) from whichever call meets the damage. On
 * success *out is owned: fts_reader_close(). */
infino_status fts_reader_open(struct fts_reader **out, const uint8_t *data,
                              size_t len, const char *name, unsigned flags);
void fts_reader_close(struct fts_reader *r); /* NULL is a no-op */

uint32_t fts_reader_n_docs(const struct fts_reader *r);
/* What analysis built the region (all zero before format version 3: the
 * alnum tokenizer without filters). */
void fts_reader_analysis_id(struct fts_analysis_id *out,
                            const struct fts_reader *r);
uint64_t fts_reader_total_tokens(const struct fts_reader *r);
/* Docs with at least one token: what BM25's N counts (empty and null
 * text is not scored and does not lower avgdl), as Lucene's docCount and
 * upstream infino do. */
uint32_t fts_reader_n_scored_docs(const struct fts_reader *r);
uint64_t fts_reader_n_terms(const struct fts_reader *r);
/* true when the region stores token positions (format 5): phrases are
 * then verified from it, and fts_eval_phrased never calls o->verify. */
bool fts_reader_has_positions(const struct fts_reader *r);
/* Borrowed: valid until fts_reader_close(). */
const char *fts_reader_name(const struct fts_reader *r);
/* Token count of `doc` (< n_docs). */
uint32_t fts_reader_doc_len(const struct fts_reader *r, uint32_t doc);
/* The region's term summary (borrowed, for fts_summary_open). */
const uint8_t *fts_reader_summary(const struct fts_reader *r, size_t *len_out);
/* The same after checking its chunks (format 4), the whole summary. */
infino_status fts_reader_summary_verified(const struct fts_reader *r,
                                          const uint8_t **out, size_t *len_out);
struct fts_summary;
struct fts_query;
/* Format 4: checks the chunks of r's summary `s` (opened from
 * fts_reader_summary) that fts_summary_may_match(s, q, ...) reads: the
 * header, the extreme terms and each positive term's filter block; not
 * the whole filter (1.25 MB at a million terms). Older formats: OK. */
infino_status fts_reader_verify_summary_for(const struct fts_reader *r,
                                            const struct fts_summary *s,
                                            const struct fts_query *q);

struct fts_term_info {
    uint32_t df;       /* documents containing the term */
    uint64_t total_tf; /* occurrences over all documents */
    /* private to the fts module: where the postings are */
    uint32_t inline_doc, inline_tf; /* df == 1 */
    uint64_t off, len;              /* df >= 2: record in the postings */
};

/* Looks up a normalized term (a token as fts_tokenize() yields it).
 * INFINO_ERR_NOTFOUND when absent. */
infino_status fts_reader_lookup(struct fts_term_info *out,
                                const struct fts_reader *r,
                                const uint8_t *term, size_t len);

/* Called per term in bytewise order; `term` is borrowed until it returns.
 * A non-OK return stops the iteration and is returned by the caller. */
typedef infino_status (*fts_term_fn)(const uint8_t *term, size_t len,
                                     const struct fts_term_info *info,
                                     void *payload);

/* Visits every term that starts with `prefix` (all terms when len is 0). */
infino_status fts_reader_prefix(const struct fts_reader *r,
                                const uint8_t *prefix, size_t len,
                                fts_term_fn fn, void *payload);

/* Visits every posting of `info` (from lookup or prefix) in doc order.
 * `fn` returns non-OK to stop; that status is returned. */
typedef infino_status (*fts_posting_fn)(uint32_t doc, uint32_t tf,
                                        void *payload);
infino_status fts_reader_postings(const struct fts_reader *r,
                                  const struct fts_term_info *info,
                                  fts_posting_fn fn, void *payload);

/* ---- queries ----------------------------------------------------------- */

enum fts_mode {
    FTS_MODE_OR = 0,  /* a doc matches when it holds any positive term */
    FTS_MODE_AND = 1, /* ... when it holds every positive term */
};

struct fts_query;

/* Parses a user query (see "Queries" above). On success *out is owned:
 * fts_query_free(). A query with only negated terms is
 * INFINO_ERR_INVALID. */
infino_status fts_query_parse(struct fts_query **out,
                              const struct fts_analysis *a, const char *text,
                              size_t len);

/* An empty query, to build with the two calls below. */
infino_status fts_query_new(struct fts_query **out,
                            const struct fts_analysis *a);
/* Adds the tokens of `text` (no '-' handling) as positive or negative
 * terms. */
infino_status fts_query_add_text(struct fts_query *q, const char *text,
                                 size_t len, bool negative);
/* Adds one already-normalized term verbatim (e.g. from prefix expansion
 * through fts_reader_prefix); at least 1 byte. */
infino_status fts_query_add_term(struct fts_query *q, const uint8_t *term,
                                 size_t len, bool negative);

/* The term limit (FTS_MAX_QUERY_TERMS) is checked when the query is
 * parsed or searched (fts_search, fts_count, fts_match), not while it is
 * built, so the error can give the count. */

/* Positive terms, sorted and unique; term i is the index into the df
 * array of struct fts_global_stats. The pointer is borrowed until the
 * query changes or is freed. */
size_t fts_query_n_terms(const struct fts_query *q);
const uint8_t *fts_query_term(const struct fts_query *q, size_t i,
                              size_t *len_out);
/* How many times positive term i was added (its weight multiplier). */
uint32_t fts_query_term_count(const struct fts_query *q, size_t i);
size_t fts_query_n_negatives(const struct fts_query *q);
/* Quoted phrases of two or more tokens. A query holding any is evaluated
 * by fts_eval_phrased(), never by fts_search, fts_count or fts_match. */
size_t fts_query_n_phrases(const struct fts_query *q);
void fts_query_free(struct fts_query *q); /* NULL is a no-op */

/* Adds this region's document frequency of each positive term of `q` to
 * df[0 .. fts_query_n_terms(q)), so a caller sums over regions by calling
 * it once per region on a zeroed array. */
infino_status fts_query_add_local_df(uint64_t *df, const struct fts_reader *r,
                                     const struct fts_query *q);

/* BM25's free parameters: k1 (tf saturation) finite and > 0, b (length
 * normalization) in [0, 1]. Block and term bounds hold for any such pair,
 * because a term's score then rises with tf and falls with the doc length
 * (FORMAT.md, "Impacts"), so a region serves every pair exactly. */
struct fts_similarity {
    double k1, b;
};
#define FTS_DEFAULT_K1 1.2
#define FTS_DEFAULT_B 0.75

/* INFINO_ERR_INVALID (naming both) unless k1 and b are in range. */
infino_status fts_similarity_check(double k1, double b);

/* Table-global statistics for one query. */
struct fts_global_stats {
    uint64_t n_docs;    /* N: documents in the table */
    double avgdl;       /* average document length in the table */
    const uint64_t *df; /* borrowed: df of positive term i; df[i] <= N */
    /* borrowed; NULL: FTS_DEFAULT_K1, FTS_DEFAULT_B. Checked by the
     * search (fts_similarity_check). */
    const struct fts_similarity *sim;
};

struct fts_hit {
    uint32_t doc; /* local doc id */
    float score;
};

/* ---- one query over many regions ---------------------------------------
 * A table's search looks every query term up once per region: the entry
 * gives the table's df, a bound on the region's best score (from the
 * term's impacts, FORMAT.md) once the table's statistics are known, and,
 * passed back to fts_search, the postings, without a second lookup. */

#define FTS_MAX_IMPACTS 8u /* (tf, dl) bound points per term */

struct fts_term_stats {
    struct fts_term_info info; /* info.df == 0: the region lacks the term */
    uint32_t n_impacts;        /* 1..FTS_MAX_IMPACTS when present */
    uint32_t imp_tf[FTS_MAX_IMPACTS], imp_dl[FTS_MAX_IMPACTS];
};

/* Looks up every positive term of `q` in `r`: out[i] for term i
 * (fts_query_n_terms entries). */
infino_status fts_query_lookup(struct fts_term_stats *out,
                               const struct fts_reader *r,
                               const struct fts_query *q);

/* Adds the df of each positive term in `terms` (fts_query_lookup of one
 * region) to df[0 .. n_terms), as fts_query_add_local_df does. */
void fts_term_stats_add_df(uint64_t *df, const struct fts_term_stats *terms,
                           size_t n_terms);

/* No doc of the region scores above the returned value under `gs`: the
 * bound fts_search itself checks first, so a search whose opts->min_score
 * is above it returns nothing. 0 when nothing can match (AND with a term
 * the region lacks, or no term present); +INFINITY when gs does not fit
 * the terms (the search reports it). */
float fts_query_bound(const struct fts_term_stats *terms,
                      const struct fts_query *q,
                      const struct fts_global_stats *gs, enum fts_mode mode);

struct fts_search_opts {
    size_t k;           /* result count wanted; 0 returns nothing */
    enum fts_mode mode; /* FTS_MODE_OR (default) or FTS_MODE_AND */
    /* Only docs scoring >= min_score are returned. When fanning out over
     * regions, pass the current global k-th score so this region skips
     * what cannot compete (equal scores are kept for the global
     * tie-break). 0 returns every match. */
    float min_score;
    /* Local ids to leave out (borrowed; NULL: none). */
    const roaring_bitmap_t *deleted;
    /* Doc-id ranges to search in parallel (util/tpool.h): 0 lets the
     * search decide from the region's size and the terms' postings;
     * N > 0 forces N (tests). Results do not depend on it. */
    size_t parts;
    /* Borrowed (NULL: looked up): fts_query_lookup of this region and
     * query, so that a table's search looks each term up once. */
    const struct fts_term_stats *terms;
};

/* Top-k BM25. `out` has room for opts->k hits; on success it holds *n_out
 * <= k hits, best first. Uses block-max pruning: single terms skip
 * postings blocks, OR queries run Block-Max MaxScore over doc windows,
 * AND queries intersect with skipping. Docs holding any negative term or
 * listed in `deleted` are never returned. */
infino_status fts_search(struct fts_hit *out, size_t *n_out,
                         const struct fts_reader *r, const struct fts_query *q,
                         const struct fts_global_stats *gs,
                         const struct fts_search_opts *opts);

/* ---- prefix search ------------------------------------------------------ */

/* Normalizes a prefix as a's base tokenizer normalizes a token (prefixes
 * are not stemmed and never stop words) and appends it
 * to `out`. *ok is false, and nothing is appended, when `text` cannot
 * start any term: it holds a separator (white space, punctuation) or
 * invalid UTF-8. Empty text is ok and appends nothing: it starts every
 * term. */
infino_status fts_prefix_normalize(struct buf *out, bool *ok,
                                   const struct fts_analysis *a,
                                   const void *text, size_t len);

/* One term of a prefix expansion with its table-global df. */
struct fts_term_df {
    const uint8_t *term; /* borrowed */
    size_t len;
    uint64_t df;
};

/* Top-k over the OR of every term of `r` starting with the normalized
 * `prefix`, each weighing once. `terms` (borrowed) lists, sorted bytewise
 * and unique, every term starting with the prefix in any region of the
 * table (fts_reader_prefix) with its summed df; gs->df is not used.
 * opts->mode is ignored; k, min_score and deleted apply as in
 * fts_search(). Exhaustive over the terms' postings (8 bytes of scratch
 * per doc of the region); scores are bit-identical to fts_search() of the
 * same terms. */
infino_status fts_search_prefix(struct fts_hit *out, size_t *n_out,
                                const struct fts_reader *r,
                                const uint8_t *prefix, size_t len,
                                const struct fts_term_df *terms,
                                size_t n_terms,
                                const struct fts_global_stats *gs,
                                const struct fts_search_opts *opts);

/* Number of docs matching `q` under `mode` (negatives and `deleted`
 * applied), without materializing ids. */
infino_status fts_count(uint64_t *out, const struct fts_reader *r,
                        const struct fts_query *q, enum fts_mode mode,
                        const roaring_bitmap_t *deleted);

/* A growable array of local doc ids. A zeroed struct is empty. */
struct fts_doc_ids {
    uint32_t *ids; /* owned: release with fts_doc_ids_free() */
    size_t n;
    size_t cap;
};
void fts_doc_ids_free(struct fts_doc_ids *v);

/* token_match: appends every doc matching `q` to `out`, ascending. On
 * failure `out` keeps its previous contents. */
infino_status fts_match(struct fts_doc_ids *out, const struct fts_reader *r,
                        const struct fts_query *q, enum fts_mode mode,
                        const roaring_bitmap_t *deleted);

/* exact_match candidates: appends, ascending, every doc that could hold
 * exactly the `len` bytes at `value` (any bytes, NUL included) - it has
 * the value's token count and holds its rarest tokens (docs of length 0
 * when the value has no tokens). Any value works, whatever its number of
 * distinct tokens: a value with more than a few dozen is narrowed by its
 * rarest ones, and one holding a token the region lacks has no
 * candidates. The caller verifies candidates against the stored text.
 * `a` (NULL: zeroed) must be the analysis that built the region. */
infino_status fts_exact_candidates(struct fts_doc_ids *out,
                                   const struct fts_reader *r,
                                   const struct fts_analysis *a,
                                   const void *value, size_t len,
                                   const roaring_bitmap_t *deleted);

/* ---- phrases -------------------------------------------------------------
 * A query may quote phrases: "new york" matches the docs where the tokens
 * occur at consecutive positions, counting the stop words and tokens
 * stemmed away that were dropped ("king of the hill" needs two positions
 * between king and hill), as upstream infino and Lucene do. A phrase's
 * candidates are the docs holding all of its tokens; a region with
 * positions (format 5) verifies them itself, one without has the caller
 * verify them against the stored text (fts_phrase_count). Both give the
 * same counts: the positions stored are the ones the re-tokenization
 * sees. A phrase is one clause of the query, scored as the
 * sum over its tokens of BM25 with tf = the phrase's occurrences in the doc
 * (Lucene's PhraseQuery); clauses are OR'ed (AND'ed under FTS_MODE_AND); a
 * negated phrase (-"a b") excludes the docs holding it. */

struct fts_phrase_matcher;

/* Counts the occurrences of a query's phrases in texts analyzed by `a`
 * (NULL: zeroed), the column's analysis. One per thread. */
infino_status fts_phrase_matcher_new(struct fts_phrase_matcher **out,
                                     const struct fts_analysis *a);
void fts_phrase_matcher_free(struct fts_phrase_matcher *m); /* NULL: no-op */
/* *pf = occurrences of phrase `i` of `q` in `len` bytes at `text`
 * (overlapping ones count: "a a" occurs twice in "a a a"). */
infino_status fts_phrase_count(uint32_t *pf, struct fts_phrase_matcher *m,
                               const struct fts_query *q, size_t i,
                               const void *text, size_t len);

/* Fills pf[0..n) with the occurrences of phrase `phrase` in the docs
 * docs[0..n) (ascending local ids, none deleted), from their text.
 * Called only for regions without positions (may be NULL otherwise). */
typedef infino_status (*fts_phrase_fn)(void *payload, size_t phrase,
                                       const uint32_t *docs, size_t n,
                                       uint32_t *pf);

struct fts_phrased_opts {
    /* With `gs`: 0 returns every match in doc order; k > 0 only the best
     * k, ordered by score descending then doc ascending, verifying the
     * candidates best bound first and stopping when no other can enter
     * (fts_phrase.c, "top k"). Without `gs`: ignored. */
    size_t k;
    enum fts_mode mode;
    const roaring_bitmap_t *deleted; /* borrowed; NULL: none */
    fts_phrase_fn verify;
    void *payload;
};

/* Every doc of the region matching `q` (which may hold phrases), in
 * ascending doc order into *out (owned, mem_free; NULL when none), scored
 * when `gs` is not NULL (else every score is 0); or the best o->k (see
 * there). Exhaustive over the postings of the query's terms, with 12 to 28
 * bytes of scratch per doc of the region; the scores of plain terms are
 * bit-identical to fts_search()'s. */
infino_status fts_eval_phrased(struct fts_hit **out, size_t *n_out,
                               const struct fts_reader *r,
                               const struct fts_query *q,
                               const struct fts_global_stats *gs,
                               const struct fts_phrased_opts *o);

/* ---- term summary (table-level pruning) --------------------------------
 * A blocked Bloom filter over a region's terms (about 1% false positives)
 * plus its smallest and largest term, serialized (FORMAT.md, "Summary") so
 * a table snapshot can keep it without opening the superfile. */

struct fts_summary {
    const uint8_t *bits; /* borrowed: n_blocks * 64 bytes */
    uint32_t n_blocks;
    uint32_t n_hashes;
    /* Borrowed: the smallest term's first min_len bytes and the largest
     * term's first max_len bytes (FTS_SUMMARY_MAX_TERM at most). */
    const uint8_t *min_term, *max_term;
    size_t min_len, max_len;
    bool max_cut;     /* max_term is a prefix of the largest term */
    bool whole_terms; /* false: a version 1 region's (tokens were cut) */
    uint64_t n_terms;
};

/* Longest min_term / max_term a summary stores: terms are not limited, so
 * longer extremes are kept as prefixes (still bounds for prefix tests). */
#define FTS_SUMMARY_MAX_TERM 255

/* Validates `len` bytes at `data` (borrowed: must outlive *out). */
infino_status fts_summary_open(struct fts_summary *out, const uint8_t *data,
                               size_t len);
/* false: the region certainly lacks `term` (a normalized token). */
/* Where in s->bits the filter block that a probe of `term` reads starts
 * (0 when the summary has no blocks). */
size_t fts_summary_block_offset(const struct fts_summary *s,
                                const uint8_t *term, size_t len);
bool fts_summary_may_contain(const struct fts_summary *s, const uint8_t *term,
                             size_t len);
/* false: no term of the region starts with `prefix`. */
bool fts_summary_may_contain_prefix(const struct fts_summary *s,
                                    const uint8_t *prefix, size_t len);
/* false: no doc of the region can match `q` under `mode`. */
bool fts_summary_may_match(const struct fts_summary *s,
                           const struct fts_query *q, enum fts_mode mode);

#endif
