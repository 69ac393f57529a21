/*
 * fts_writer.c - builds the postings of one column under a memory budget.
 *
 * Terms are interned once: key bytes in one arena, a cold record per term,
 * and an open-addressing table whose 32-byte slots carry each term's hot
 * fields (short key, tf counter), so a token costs one cache line. Tokens
 * are hashed as the tokenizer yields them and interned in batches, the
 * table slot of each prefetched a few tokens ahead. Per document, a
 * term's first occurrence pushes it on a "touched" list and later ones
 * bump its tf, so no per-document hash table is needed; at the end of the
 * document each touched term appends (gap, tf) as varints to its own
 * chain of chunks.
 * Chunks double in size (16 B .. 32 KiB) and are cut from 1 MiB pages, so
 * a posting costs about 1-2 bytes and rare terms waste little.
 *
 * With positions, each token's position (fts_tokenizer_position) rides in
 * the batch with it; interning appends (touched index, position) to the
 * document's occurrence list, and at the end of the document a counting
 * sort by touched index gives each term its positions in text order,
 * appended to its chain right after its (gap, tf) as the region encodes
 * them (FORMAT.md "Positions"). Without positions none of this runs.
 *
 * Doc ids arrive in order, so every chain is already sorted. When the
 * budget is exceeded the terms are sorted and written as a run to an
 * anonymous spill file; runs hold disjoint, increasing doc ranges, so the
 * final k-way merge by term just concatenates each term's postings in run
 * order. Both paths hand the serializer the same (term, postings) stream,
 * so a spilled build is byte-identical to an in-memory one.
 */
#include "fts_int.h"

#include "util/alloc.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/rd.h"
#include "util/spill.h"

#include <stdlib.h>
#include <string.h>

#define PAGE_BYTES ((uint32_t)1 << 20)
#define REF_SHIFT 4 /* chunks are 16-byte aligned inside a page */
#define MAX_PAGES ((uint32_t)1 << 16)
#define CHUNK_MIN 16u
#define MAX_CLASS 11u /* 16 << 11 = 32 KiB */
#define CHUNK_HDR 4u  /* u32 ref of the next chunk */

/* The hot half of a term, in the hash table itself: one cache line
 * access per token. Keys of up to 16 bytes live here whole (tokens hold
 * no NUL byte, so zero padding keeps them distinct); longer keys are
 * confirmed against the key arena. */
struct slot {
    uint64_t k0, k1;   /* the key's first 16 bytes, zero padded */
    uint32_t hash;     /* high half of the key's hash */
    uint32_t id1;      /* term id + 1; 0 = empty slot */
    uint32_t last_doc; /* doc whose occurrences tf counts */
    uint32_t tf;
};

/* The cold half, touched once per distinct term per document. */
struct wterm {
    uint32_t key_off;  /* into keys */
    uint32_t hash;     /* as in its slot */
    uint32_t slot;     /* its index in the table (updated by rehash) */
    uint32_t df;       /* postings in the chain */
    uint32_t prev_doc; /* doc of the last posting (FTS_NO_DOC: none) */
    uint32_t head, tail; /* chunk refs; 0 = none */
    uint16_t tail_len;   /* data bytes used in the tail chunk */
    uint8_t tail_class;
    /* the key's length, or LONG_KEY: read it from the key offsets (keys
     * are appended in term id order), keeping this record 32 bytes */
    uint8_t key_len;
};
#define LONG_KEY 255u

/* A token waiting in the batch (bytes in batch_bytes). */
struct pending {
    uint32_t off, len, hash;
    uint32_t pos; /* its position, when the writer keeps positions */
};

#define BATCH_TOKENS 256u
#define BATCH_TOKEN_MAX 255u /* longer tokens are interned at once */
#define RELEASE_BYTES ((uint64_t)4 << 20) /* merge: drop read pages */
#define PREFETCH_AHEAD 8u

struct fts_writer {
    struct fts_tokenizer *tk; /* owned */
    struct fts_analysis_id an_id; /* recorded in the region */
    struct pending batch[BATCH_TOKENS];
    /* token bytes of the batch, + FTS_TOKEN_PAD for whole-word loads */
    uint8_t batch_bytes[BATCH_TOKENS * BATCH_TOKEN_MAX + FTS_TOKEN_PAD];
    uint32_t n_batch, batch_len;
    size_t budget;
    char *spill_dir; /* owned, may be NULL */

    struct wterm *terms; /* owned */
    uint32_t n_terms, terms_cap;
    struct slot *table; /* owned: open addressing, linear probing */
    uint32_t table_cap;
    uint8_t *keys; /* owned */
    size_t keys_len, keys_cap;
    uint8_t **pages; /* owned, each PAGE_BYTES */
    uint32_t n_pages, pages_cap;
    uint32_t cur_page, page_used;

    uint32_t *touched; /* owned: term ids seen in the current doc */
    uint32_t n_touched, touched_cap;
    uint32_t cur_doc, cur_len;

    uint32_t *doc_lens; /* owned */
    uint32_t n_docs;    /* docs added (highest id + 1) */
    size_t doc_lens_cap;

    struct spill_file *spill; /* owned */
    uint64_t *run_offs;       /* owned: start of each run in the file */
    uint32_t n_runs, runs_cap;

    uint32_t *sdocs, *stfs; /* owned: one term's postings for serializing */
    size_t s_cap;
    struct buf scratch;
    struct buf merge_key; /* the term being merged from the runs */

    /* positions (opts.positions; else all unused) */
    bool positions;
    uint32_t *touch_idx; /* per term id: its index in touched[] */
    uint32_t touch_idx_cap;
    uint32_t *occ_touch, *occ_pos; /* the document's tokens in order */
    uint32_t n_occ, occ_cap, occ_pos_cap;
    uint32_t *occ_start; /* per touched term: its first slot in dpos */
    uint32_t occ_start_cap;
    uint32_t *dpos; /* the document's positions, grouped by term */
    uint32_t dpos_cap;
    struct buf post_scratch; /* one posting and its positions, encoded */
    struct buf spos;         /* one term's positions for serializing */
    uint64_t *spos_end;      /* per posting: its end in spos */

    bool done;   /* finished or failed: only free is allowed */
};

static inline uint32_t class_bytes(uint32_t cls)
{
    return CHUNK_MIN << cls;
}

static inline uint8_t *ref_ptr(const struct fts_writer *w, uint32_t ref)
{
    return w->pages[ref >> 16] + ((size_t)(ref & 0xffff) << REF_SHIFT);
}

static inline uint32_t key_len_of(const struct fts_writer *w, uint32_t id)
{
    const struct wterm *t = &w->terms[id];

    if (t->key_len != LONG_KEY)
        return t->key_len;
    return (id + 1 < w->n_terms ? w->terms[id + 1].key_off
                                : (uint32_t)w->keys_len) -
           t->key_off;
}

/* Accumulator bytes in use (capacities are reused, so this tracks them). */
static size_t mem_used(const struct fts_writer *w)
{
    return (size_t)w->cur_page * PAGE_BYTES + w->page_used +
           (size_t)w->n_terms *
               (sizeof(struct wterm) + 2 * sizeof(struct slot)) +
           w->keys_len;
}

infino_status fts_writer_new(struct fts_writer **out,
                             const struct fts_writer_opts *opts)
{
    struct fts_writer *w;
    infino_status st;

    *out = NULL;
    w = mem_calloc(1, sizeof *w);
    if (w == NULL)
        return err_nomem();
    w->budget = opts != NULL && opts->mem_budget != 0 ? opts->mem_budget
                                                      : FTS_DEFAULT_MEM_BUDGET;
    if (opts != NULL && opts->spill_dir != NULL &&
        (w->spill_dir = mem_strdup(opts->spill_dir)) == NULL) {
        st = err_nomem();
        goto fail;
    }
    CHECK(fts_tokenizer_new(&w->tk, opts != NULL ? opts->analysis : NULL));
    w->positions = opts != NULL && opts->positions;
    if (opts != NULL && opts->analysis != NULL)
        fts_analysis_id_of(&w->an_id, opts->analysis);
    w->table_cap = 1024;
    w->table = mem_calloc(w->table_cap, sizeof *w->table);
    if (w->table == NULL) {
        st = err_nomem();
        goto fail;
    }
    w->page_used = CHUNK_MIN; /* ref 0 means "none" */
    *out = w;
    return INFINO_OK;
fail:
    fts_writer_free(w);
    return st;
}

void fts_writer_free(struct fts_writer *w)
{
    if (w == NULL)
        return;
    fts_tokenizer_free(w->tk);
    mem_free(w->spill_dir);
    mem_free(w->terms);
    mem_free(w->table);
    mem_free(w->keys);
    for (uint32_t i = 0; i < w->n_pages; i++)
        mem_free(w->pages[i]);
    mem_free(w->pages);
    mem_free(w->touched);
    mem_free(w->doc_lens);
    spill_close(w->spill);
    mem_free(w->run_offs);
    mem_free(w->sdocs);
    mem_free(w->stfs);
    buf_free(&w->scratch);
    buf_free(&w->merge_key);
    mem_free(w->touch_idx);
    mem_free(w->occ_touch);
    mem_free(w->occ_pos);
    mem_free(w->occ_start);
    mem_free(w->dpos);
    buf_free(&w->post_scratch);
    buf_free(&w->spos);
    mem_free(w->spos_end);
    mem_free(w);
}

/* Grows the array whose pointer is at `pp` (of *cap elements of `size`)
 * to hold at least `need`. The pointer is read and written with memcpy so
 * one helper serves arrays of any type without type punning. */
static infino_status grow(void *pp, uint32_t *cap, uint64_t need, size_t size)
{
    uint64_t c = *cap ? *cap : 16;
    size_t bytes;
    void *p, *np;

    if (need <= *cap)
        return INFINO_OK;
    while (c < need)
        c *= 2;
    if (c > UINT32_MAX)
        c = UINT32_MAX;
    if (c < need || mem_mul(&bytes, (size_t)c, size) != 0)
        return err_set(INFINO_ERR_NOMEM, "fts writer: table too large");
    memcpy(&p, pp, sizeof p);
    np = mem_realloc(p, bytes);
    if (np == NULL)
        return err_nomem();
    memcpy(pp, &np, sizeof np);
    *cap = (uint32_t)c;
    return INFINO_OK;
}

/* ---- chunk chains ------------------------------------------------------ */

static infino_status alloc_chunk(struct fts_writer *w, uint32_t bytes,
                                 uint32_t *ref_out)
{
    infino_status st;

    if (w->page_used + bytes > PAGE_BYTES) {
        w->cur_page++;
        w->page_used = 0;
    }
    if (w->cur_page >= MAX_PAGES)
        return err_set(INFINO_ERR_NOMEM, "fts writer: postings exceed "
                       "64 GiB; lower the memory budget");
    if (w->cur_page == w->n_pages) {
        CHECK(grow(&w->pages, &w->pages_cap, (uint64_t)w->n_pages + 1,
                   sizeof *w->pages));
        w->pages[w->n_pages] = mem_alloc(PAGE_BYTES);
        if (w->pages[w->n_pages] == NULL)
            return err_nomem();
        w->n_pages++;
    }
    *ref_out = w->cur_page << 16 | w->page_used >> REF_SHIFT;
    w->page_used += bytes;
    return INFINO_OK;
fail:
    return st;
}

/* Appends n bytes at p to t's chain. When n <= 16, p has 16 readable
 * bytes. */
static infino_status chain_append(struct fts_writer *w, struct wterm *t,
                                  const uint8_t *p, size_t n)
{
    infino_status st;

    while (n > 0) {
        uint32_t room = t->tail == 0 ? 0
                                     : class_bytes(t->tail_class) -
                                           CHUNK_HDR - t->tail_len;
        size_t take;

        if (room == 0) {
            uint32_t cls = t->tail == 0 ? 0
                           : t->tail_class < MAX_CLASS ? t->tail_class + 1u
                                                       : MAX_CLASS;
            uint32_t ref = 0;
            CHECK(alloc_chunk(w, class_bytes(cls), &ref));
            store_u32le(ref_ptr(w, ref), 0);
            if (t->tail == 0)
                t->head = ref;
            else
                store_u32le(ref_ptr(w, t->tail), ref);
            t->tail = ref;
            t->tail_class = (uint8_t)cls;
            t->tail_len = 0;
            room = class_bytes(cls) - CHUNK_HDR;
        }
        take = n < room ? n : room;
        {
            uint8_t *dst = ref_ptr(w, t->tail) + CHUNK_HDR + t->tail_len;
            if (n <= 16 && room >= 16) {
                /* a posting is a few bytes: two word stores beat a call
                 * (the caller's source has 16 readable bytes) */
                store_u64le(dst, load_u64le(p));
                store_u64le(dst + 8, load_u64le(p + 8));
            } else {
                memcpy(dst, p, take);
            }
        }
        t->tail_len = (uint16_t)(t->tail_len + take);
        p += take;
        n -= take;
    }
    return INFINO_OK;
fail:
    return st;
}

/* Calls fn on each filled piece of t's chain, in order. */
static infino_status chain_walk(const struct fts_writer *w,
                                const struct wterm *t,
                                infino_status (*fn)(const uint8_t *, size_t,
                                                    void *),
                                void *payload)
{
    uint32_t ref = t->head, cls = 0;
    infino_status st;

    while (ref != 0) {
        const uint8_t *c = ref_ptr(w, ref);
        uint32_t next = load_u32le(c);
        size_t n = next == 0 ? t->tail_len : class_bytes(cls) - CHUNK_HDR;

        CHECK(fn(c + CHUNK_HDR, n, payload));
        ref = next;
        if (cls < MAX_CLASS)
            cls++;
    }
    return INFINO_OK;
fail:
    return st;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* ---- interning --------------------------------------------------------- */

static infino_status rehash(struct fts_writer *w, uint32_t cap)
{
    struct slot *t = mem_calloc(cap, sizeof *t);

    if (t == NULL)
        return err_nomem();
    for (uint32_t j = 0; j < w->table_cap; j++) {
        const struct slot *e = &w->table[j];
        uint32_t i = e->hash & (cap - 1);
        if (e->id1 == 0)
            continue;
        while (t[i].id1 != 0)
            i = (i + 1) & (cap - 1);
        t[i] = *e;
        w->terms[e->id1 - 1].slot = i;
    }
    mem_free(w->table);
    w->table = t;
    w->table_cap = cap;
    return INFINO_OK;
}

/* The first 16 bytes of a key as two zero-padded words. The key has
 * FTS_TOKEN_PAD readable bytes after it. */
static inline void key_words(const uint8_t *p, size_t n, uint64_t *k0,
                             uint64_t *k1)
{
    uint64_t a = load_u64le(p), b = load_u64le(p + 8);

    if (n < 8) {
        a &= ((uint64_t)1 << (8 * n)) - 1;
        b = 0;
    } else if (n < 16) {
        b &= ((uint64_t)1 << (8 * (n - 8))) - 1;
    }
    *k0 = a;
    *k1 = b;
}

static infino_status new_term(struct fts_writer *w, const uint8_t *tok,
                              size_t len, uint32_t hash, uint32_t slot,
                              uint64_t k0, uint64_t k1, uint32_t *slot_out)
{
    struct wterm *t;
    struct slot *e;
    infino_status st;

    if (len >= UINT32_MAX)
        return err_set(INFINO_ERR_UNSUPPORTED, "fts writer: a token of %zu "
                       "bytes (at most 4 GiB can be indexed)", len);
    if (w->n_terms == UINT32_MAX - 1 || w->keys_len + len > UINT32_MAX)
        return err_set(INFINO_ERR_NOMEM, "fts writer: too many terms; "
                       "lower the memory budget");
    CHECK(grow(&w->terms, &w->terms_cap, (uint64_t)w->n_terms + 1,
               sizeof *w->terms));
    if (w->keys_len + len > w->keys_cap) {
        size_t cap = w->keys_cap ? w->keys_cap : 4096;
        uint8_t *k;
        while (cap < w->keys_len + len)
            cap *= 2;
        /* FTS_TOKEN_PAD readable bytes past the last key (key_words) */
        k = mem_realloc(w->keys, cap + FTS_TOKEN_PAD);
        if (k == NULL)
            return err_nomem();
        memset(k + cap, 0, FTS_TOKEN_PAD);
        w->keys = k;
        w->keys_cap = cap;
    }
    memcpy(w->keys + w->keys_len, tok, len);
    t = &w->terms[w->n_terms];
    memset(t, 0, sizeof *t);
    t->key_off = (uint32_t)w->keys_len;
    t->key_len = (uint8_t)(len < LONG_KEY ? len : LONG_KEY);
    t->hash = hash;
    t->slot = slot;
    t->prev_doc = FTS_NO_DOC;
    w->keys_len += len;
    e = &w->table[slot];
    e->k0 = k0;
    e->k1 = k1;
    e->hash = hash;
    e->id1 = ++w->n_terms;
    e->last_doc = FTS_NO_DOC;
    e->tf = 0;
    if ((uint64_t)w->n_terms * 2 > w->table_cap)
        CHECK(rehash(w, w->table_cap * 2));
    *slot_out = w->terms[w->n_terms - 1].slot;
    return INFINO_OK;
fail:
    return st;
}

/* Records an occurrence of term `id` at `pos` (positions only). */
static infino_status add_occurrence(struct fts_writer *w, uint32_t id,
                                    bool first, uint32_t pos)
{
    infino_status st;

    if (first) {
        if (id >= w->touch_idx_cap)
            CHECK(grow(&w->touch_idx, &w->touch_idx_cap, (uint64_t)id + 1,
                       sizeof *w->touch_idx));
        w->touch_idx[id] = w->n_touched - 1;
    }
    if (w->n_occ >= w->occ_cap || w->n_occ >= w->occ_pos_cap) {
        if (w->n_occ == UINT32_MAX - 1)
            return err_set(INFINO_ERR_UNSUPPORTED, "fts writer: a document "
                           "of more than 2^32 - 2 tokens cannot keep "
                           "positions");
        CHECK(grow(&w->occ_touch, &w->occ_cap, (uint64_t)w->n_occ + 1,
                   sizeof *w->occ_touch));
        CHECK(grow(&w->occ_pos, &w->occ_pos_cap, (uint64_t)w->n_occ + 1,
                   sizeof *w->occ_pos));
    }
    w->occ_touch[w->n_occ] = w->touch_idx[id];
    w->occ_pos[w->n_occ++] = pos;
    return INFINO_OK;
fail:
    return st;
}

/* Counts one occurrence of a token whose hash is known; `pos` is its
 * position (used only with positions). */
static infino_status intern(struct fts_writer *w, const uint8_t *tok,
                            size_t len, uint32_t hash, uint32_t pos)
{
    bool first = false;
    uint32_t mask = w->table_cap - 1, i = hash & mask;
    uint64_t k0, k1;
    struct slot *e;
    infino_status st;

    key_words(tok, len, &k0, &k1);
    for (;;) {
        e = &w->table[i];
        if (e->id1 == 0) {
            CHECK(new_term(w, tok, len, hash, i, k0, k1, &i));
            e = &w->table[i];
            break;
        }
        if (e->hash == hash && e->k0 == k0 && e->k1 == k1) {
            const struct wterm *t = &w->terms[e->id1 - 1];
            if (len <= 16 || (key_len_of(w, e->id1 - 1) == len &&
                              memcmp(w->keys + t->key_off, tok, len) == 0))
                break;
        }
        i = (i + 1) & mask;
    }
    if (e->last_doc != w->cur_doc) {
        if (w->n_touched == w->touched_cap)
            CHECK(grow(&w->touched, &w->touched_cap,
                       (uint64_t)w->n_touched + 1, sizeof *w->touched));
        w->touched[w->n_touched++] = e->id1 - 1;
        e->last_doc = w->cur_doc;
        e->tf = 1;
        first = true;
    } else if (e->tf != UINT32_MAX) {
        e->tf++;
    }
    if (w->positions)
        CHECK(add_occurrence(w, e->id1 - 1, first, pos));
    if (w->cur_len != UINT32_MAX)
        w->cur_len++;
    return INFINO_OK;
fail:
    return st;
}

/* Interns the batched tokens, prefetching each one's table slot a few
 * tokens ahead: the table is far larger than the caches, and this hides
 * most of the misses. */
static infino_status drain_batch(struct fts_writer *w)
{
    infino_status st;

    for (uint32_t i = 0; i < w->n_batch; i++) {
        const struct pending *p = &w->batch[i];
        if (i + PREFETCH_AHEAD < w->n_batch)
            __builtin_prefetch(
                &w->table[w->batch[i + PREFETCH_AHEAD].hash &
                          (w->table_cap - 1)]);
        CHECK(intern(w, w->batch_bytes + p->off, p->len, p->hash, p->pos));
    }
    w->n_batch = 0;
    w->batch_len = 0;
    return INFINO_OK;
fail:
    return st;
}

static infino_status on_token(const uint8_t *tok, size_t len, void *payload)
{
    struct fts_writer *w = payload;
    struct pending *p;
    uint32_t pos = w->positions ? fts_tokenizer_position(w->tk) : 0;

    if (len > BATCH_TOKEN_MAX) { /* rare: no batching, order kept */
        uint32_t hash = (uint32_t)(fts_token_hash(tok, len) >> 32);
        infino_status st = drain_batch(w);
        return st != INFINO_OK ? st : intern(w, tok, len, hash, pos);
    }
    if (w->n_batch == BATCH_TOKENS) {
        infino_status st = drain_batch(w);
        if (st != INFINO_OK)
            return st;
    }
    p = &w->batch[w->n_batch++];
    p->off = w->batch_len;
    p->len = (uint32_t)len;
    p->hash = (uint32_t)(fts_token_hash(tok, len) >> 32);
    p->pos = pos;
    if (len <= 16) { /* both sides are padded: copy two whole words */
        uint8_t *dst = w->batch_bytes + w->batch_len;
        store_u64le(dst, load_u64le(tok));
        store_u64le(dst + 8, load_u64le(tok + 8));
    } else {
        memcpy(w->batch_bytes + w->batch_len, tok, len);
    }
    w->batch_len += (uint32_t)len;
    return INFINO_OK;
}

/* ---- sorting ----------------------------------------------------------- */

struct sort_key {
    uint64_t prefix; /* first 8 key bytes, big-endian: compares as bytes */
    const uint8_t *key;
    uint32_t id;
    uint32_t len;
};

static int cmp_keys(const void *a, const void *b)
{
    const struct sort_key *x = a, *y = b;
    size_t n;
    int c;

    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    n = x->len < y->len ? x->len : y->len;
    c = n > 8 ? memcmp(x->key + 8, y->key + 8, n - 8) : 0;
    if (c != 0)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* Term ids in bytewise key order. *out is owned (mem_free). Tokens never
 * contain NUL, so zero-padding short keys keeps prefix order exact. */
static infino_status sorted_terms(struct fts_writer *w, struct sort_key **out)
{
    struct sort_key *v;
    size_t bytes;

    *out = NULL;
    if (mem_mul(&bytes, (size_t)w->n_terms + 1, sizeof *v) != 0 ||
        (v = mem_alloc(bytes)) == NULL)
        return err_nomem();
    for (uint32_t id = 0; id < w->n_terms; id++) {
        const struct wterm *t = &w->terms[id];
        const uint8_t *k = w->keys + t->key_off;
        uint32_t len = key_len_of(w, id);
        uint64_t p = 0;
        for (unsigned i = 0; i < 8; i++)
            p = p << 8 | (i < len ? k[i] : 0);
        v[id].prefix = p;
        v[id].key = k;
        v[id].id = id;
        v[id].len = len;
    }
    qsort(v, w->n_terms, sizeof *v, cmp_keys);
    *out = v;
    return INFINO_OK;
}

/* ---- documents --------------------------------------------------------- */

static infino_status reserve_docs(struct fts_writer *w, uint64_t n)
{
    size_t cap = w->doc_lens_cap ? w->doc_lens_cap : 1024, bytes;
    uint32_t *p;

    if (n <= w->doc_lens_cap)
        return INFINO_OK;
    while (cap < n)
        cap *= 2;
    if (mem_mul(&bytes, cap, sizeof *p) != 0 ||
        (p = mem_realloc(w->doc_lens, bytes)) == NULL)
        return err_nomem();
    memset(p + w->doc_lens_cap, 0, (cap - w->doc_lens_cap) * sizeof *p);
    w->doc_lens = p;
    w->doc_lens_cap = cap;
    return INFINO_OK;
}

static infino_status spill_run(struct fts_writer *w);

/* The end of a document with positions: groups its occurrences by term
 * (a counting sort over the touched terms, so each term's positions stay
 * in text order) and appends to each touched term's chain its posting
 * followed by its positions: varint first position, then varint
 * (position - previous - 1) per further one (FORMAT.md "Positions"). */
static infino_status append_with_positions(struct fts_writer *w,
                                           uint32_t doc)
{
    infino_status st;
    uint32_t at = 0;

    CHECK(grow(&w->occ_start, &w->occ_start_cap, (uint64_t)w->n_touched + 1,
               sizeof *w->occ_start));
    CHECK(grow(&w->dpos, &w->dpos_cap, (uint64_t)w->n_occ + 1,
               sizeof *w->dpos));
    for (uint32_t i = 0; i <= w->n_touched; i++)
        w->occ_start[i] = 0;
    for (uint32_t j = 0; j < w->n_occ; j++)
        w->occ_start[w->occ_touch[j] + 1]++;
    for (uint32_t i = 0; i < w->n_touched; i++) {
        uint32_t n = w->occ_start[i + 1];
        w->occ_start[i + 1] = at + n; /* end, once filled below */
        w->occ_start[i] = at;         /* next free slot of term i */
        at += n;
    }
    for (uint32_t j = 0; j < w->n_occ; j++)
        w->dpos[w->occ_start[w->occ_touch[j]]++] = w->occ_pos[j];
    /* now occ_start[i] is the end of term i's slots, its start is the
     * previous term's end */
    for (uint32_t i = 0; i < w->n_touched; i++) {
        struct wterm *t = &w->terms[w->touched[i]];
        uint32_t lo = i == 0 ? 0 : w->occ_start[i - 1];
        uint32_t tf = w->occ_start[i] - lo;
        uint32_t gap = doc - t->prev_doc - 1; /* prev -1: gap = doc */
        struct buf *b = &w->post_scratch;
        size_t n;

        buf_reset(b);
        /* 20 for the posting, 5 per position, 16 readable past the end */
        CHECK(buf_reserve(b, 36 + 5 * (size_t)tf));
        n = put_varint(b->data, (uint64_t)gap << 1 | (tf == 1));
        if (tf != 1)
            n += put_varint(b->data + n, tf - 2);
        for (uint32_t k = lo; k < lo + tf; k++)
            n += put_varint(b->data + n, k == lo ? w->dpos[k]
                                                 : w->dpos[k] - w->dpos[k - 1]
                                                       - 1);
        memset(b->data + n, 0, 16);
        CHECK(chain_append(w, t, b->data, n));
        t->prev_doc = doc;
        t->df++;
    }
    return INFINO_OK;
fail:
    return st;
}

infino_status fts_writer_add(struct fts_writer *w, uint32_t doc,
                             const void *text, size_t len)
{
    infino_status st;

    if (w->done)
        return err_set(INFINO_ERR_INVALID,
                       "fts writer: finished or failed earlier");
    if (doc < w->n_docs || doc == UINT32_MAX)
        return err_set(INFINO_ERR_INVALID,
                       "fts writer: doc id %u after %u (ids must increase)",
                       doc, w->n_docs);
    CHECK(reserve_docs(w, (uint64_t)doc + 1));
    w->cur_doc = doc;
    w->cur_len = 0;
    w->n_touched = 0;
    w->n_occ = 0;
    if (w->positions) {
        CHECK(fts_tokenize_positions(w->tk, text, len, on_token, w));
        CHECK(drain_batch(w));
        CHECK(append_with_positions(w, doc));
        goto done;
    }
    CHECK(fts_tokenize(w->tk, text, len, on_token, w));
    CHECK(drain_batch(w));
    for (uint32_t i = 0; i < w->n_touched; i++) {
        struct wterm *t = &w->terms[w->touched[i]];
        uint32_t tf = w->table[t->slot].tf;
        uint8_t v[20] = {0};
        uint32_t gap = doc - t->prev_doc - 1; /* prev -1: gap = doc */
        size_t n = put_varint(v, (uint64_t)gap << 1 | (tf == 1));

        /* two-stage prefetch: the term record, then its tail chunk */
        if (i + 2 * PREFETCH_AHEAD < w->n_touched)
            __builtin_prefetch(
                &w->terms[w->touched[i + 2 * PREFETCH_AHEAD]]);
        if (i + PREFETCH_AHEAD < w->n_touched) {
            const struct wterm *a = &w->terms[w->touched[i + PREFETCH_AHEAD]];
            if (a->tail != 0)
                __builtin_prefetch(ref_ptr(w, a->tail) + CHUNK_HDR +
                                   a->tail_len, 1);
        }
        if (tf != 1)
            n += put_varint(v + n, tf - 2);
        CHECK(chain_append(w, t, v, n));
        t->prev_doc = doc;
        t->df++;
    }
done:
    w->doc_lens[doc] = w->cur_len;
    w->n_docs = doc + 1;
    if (mem_used(w) > w->budget)
        CHECK(spill_run(w));
    return INFINO_OK;
fail:
    /* the accumulator may hold half a document: refuse further use */
    w->done = true;
    return err_context(st, "fts writer: doc %u", doc);
}

/* ---- spilling ---------------------------------------------------------- */

static infino_status spill_piece(const uint8_t *p, size_t n, void *payload)
{
    return spill_write(payload, p, n);
}

static void reset_accumulator(struct fts_writer *w)
{
    w->n_terms = 0;
    w->keys_len = 0;
    w->cur_page = 0;
    w->page_used = CHUNK_MIN;
    memset(w->table, 0, (size_t)w->table_cap * sizeof *w->table);
}

/* A run: per term in key order, varint key length, key, varint df, varint
 * byte count, then the chain's varints (gaps from -1 at the run's start). */
static infino_status spill_run(struct fts_writer *w)
{
    struct sort_key *order = NULL;
    infino_status st;

    if (w->n_terms == 0)
        return INFINO_OK;
    if (w->spill == NULL)
        CHECK(spill_open(&w->spill, w->spill_dir));
    CHECK(grow(&w->run_offs, &w->runs_cap, (uint64_t)w->n_runs + 1,
               sizeof *w->run_offs));
    w->run_offs[w->n_runs] = spill_tell(w->spill);
    CHECK(sorted_terms(w, &order));
    for (uint32_t i = 0; i < w->n_terms; i++) {
        const struct wterm *t = &w->terms[order[i].id];
        uint64_t bytes = t->tail_len;
        uint8_t h[20];
        size_t n;

        /* chain length: full chunks of growing classes plus the tail */
        for (uint32_t ref = t->head, cls = 0; ref != t->tail;
             ref = load_u32le(ref_ptr(w, ref))) {
            bytes += class_bytes(cls) - CHUNK_HDR;
            if (cls < MAX_CLASS)
                cls++;
        }
        n = put_varint(h, order[i].len);
        CHECK(spill_write(w->spill, h, n));
        CHECK(spill_write(w->spill, w->keys + t->key_off, order[i].len));
        n = put_varint(h, t->df);
        n += put_varint(h + n, bytes);
        CHECK(spill_write(w->spill, h, n));
        CHECK(chain_walk(w, t, spill_piece, w->spill));
    }
    mem_free(order);
    reset_accumulator(w);
    w->n_runs++;
    return INFINO_OK;
fail:
    mem_free(order);
    return st;
}

/* ---- finishing --------------------------------------------------------- */

static infino_status reserve_postings(struct fts_writer *w, uint64_t n)
{
    size_t cap = w->s_cap ? w->s_cap : 1024, bytes;
    uint32_t *d, *t;

    if (n <= w->s_cap)
        return INFINO_OK;
    while (cap < n)
        cap *= 2;
    if (mem_mul(&bytes, cap, sizeof(uint32_t)) != 0)
        return err_nomem();
    d = mem_realloc(w->sdocs, bytes);
    if (d == NULL)
        return err_nomem();
    w->sdocs = d;
    t = mem_realloc(w->stfs, bytes);
    if (t == NULL)
        return err_nomem();
    w->stfs = t;
    if (w->positions) {
        uint64_t *e;
        if (mem_mul(&bytes, cap, sizeof *e) != 0 ||
            (e = mem_realloc(w->spos_end, bytes)) == NULL)
            return err_nomem();
        w->spos_end = e;
    }
    w->s_cap = cap;
    return INFINO_OK;
}

/* Appends the postings varints at p (gaps relative to `prev`, -1 at a
 * run's start) to sdocs/stfs from index *n. Our own bytes, but read back
 * from disk, so still decoded defensively. */
static infino_status decode_postings(struct fts_writer *w, const uint8_t *p,
                                     size_t len, uint64_t df, uint32_t *n)
{
    struct rd rd = rd_make(p, len);
    uint64_t doc = 0;
    bool first = true;
    infino_status st;

    if (df > w->n_docs || (uint64_t)*n + df > w->n_docs)
        goto corrupt;
    CHECK(reserve_postings(w, (uint64_t)*n + df));
    for (uint64_t i = 0; i < df; i++) {
        uint64_t v, tf = 1;
        if (rd_uvarint(&rd, &v))
            goto corrupt;
        if (!(v & 1)) {
            if (rd_uvarint(&rd, &tf))
                goto corrupt;
            tf += 2;
        }
        doc = first ? (v >> 1) : doc + 1 + (v >> 1);
        first = false;
        if (doc >= w->n_docs || tf > UINT32_MAX ||
            (*n > 0 && doc <= w->sdocs[*n - 1]))
            goto corrupt;
        if (w->positions) {
            const uint8_t *from = rd.p;
            if (!fts_decode_positions(&rd, (uint32_t)tf, NULL))
                goto corrupt;
            CHECK(buf_append(&w->spos, from, (size_t)(rd.p - from)));
            w->spos_end[*n] = w->spos.len;
        }
        w->sdocs[*n] = (uint32_t)doc;
        w->stfs[*n] = (uint32_t)tf;
        (*n)++;
    }
    if (rd_left(&rd) != 0)
        goto corrupt;
    return INFINO_OK;
corrupt:
    return err_set(INFINO_ERR_CORRUPT, "fts writer: spilled postings are "
                   "damaged");
fail:
    return st;
}

static infino_status gather_piece(const uint8_t *p, size_t n, void *payload)
{
    return buf_append(payload, p, n);
}

static infino_status finish_in_memory(struct fts_writer *w,
                                      struct fts_ser *ser)
{
    struct sort_key *order = NULL;
    infino_status st;

    CHECK(sorted_terms(w, &order));
    for (uint32_t i = 0; i < w->n_terms; i++) {
        const struct wterm *t = &w->terms[order[i].id];
        uint32_t n = 0;

        /* per term: one term may hold millions of postings */
        CHECK(cancel_check("building the full-text index"));
        buf_reset(&w->scratch);
        buf_reset(&w->spos);
        CHECK(chain_walk(w, t, gather_piece, &w->scratch));
        CHECK(decode_postings(w, w->scratch.data, w->scratch.len, t->df, &n));
        CHECK(fts_ser_add_term(ser, w->keys + t->key_off, order[i].len,
                               w->sdocs, w->stfs, n, w->doc_lens,
                               w->spos.data, w->spos_end));
    }
    mem_free(order);
    return INFINO_OK;
fail:
    mem_free(order);
    return st;
}

struct run {
    struct rd rd; /* the rest of the run */
    const uint8_t *rec; /* start of the current record */
    uint64_t released;  /* map offset up to which pages were released */
    const uint8_t *key;
    size_t key_len;
    uint64_t df;
    const uint8_t *post;
    size_t post_len;
    uint32_t idx; /* run number: the tie-break that keeps doc order */
};

static int run_less(const struct run *a, const struct run *b)
{
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(a->key, b->key, n);

    if (c != 0)
        return c < 0;
    if (a->key_len != b->key_len)
        return a->key_len < b->key_len;
    return a->idx < b->idx;
}

/* Loads the next term of run r; *ok false at the run's end. */
static infino_status run_advance(struct run *r, bool *ok)
{
    uint64_t n, key_len;

    *ok = false;
    r->rec = r->rd.p;
    if (rd_left(&r->rd) == 0)
        return INFINO_OK;
    if (rd_uvarint(&r->rd, &key_len) || key_len == 0 ||
        key_len > rd_left(&r->rd) ||
        rd_bytes(&r->rd, (size_t)key_len, &r->key) ||
        rd_uvarint(&r->rd, &r->df) ||
        rd_uvarint(&r->rd, &n) || n > rd_left(&r->rd) ||
        rd_bytes(&r->rd, (size_t)n, &r->post))
        return err_set(INFINO_ERR_CORRUPT, "fts writer: spilled run %u is "
                       "damaged", r->idx);
    r->key_len = (size_t)key_len;
    r->post_len = (size_t)n;
    *ok = true;
    return INFINO_OK;
}

static void heap_down(struct run **h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && run_less(h[l], h[m]))
            m = l;
        if (l + 1 < n && run_less(h[l + 1], h[m]))
            m = l + 1;
        if (m == i)
            return;
        struct run *t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static infino_status finish_merge(struct fts_writer *w, struct fts_ser *ser)
{
    struct run *runs = NULL, **heap = NULL;
    const uint8_t *map;
    size_t map_len, n_heap = 0;
    infino_status st;

    CHECK(spill_map(w->spill, &map, &map_len));
    runs = mem_calloc(w->n_runs, sizeof *runs);
    heap = mem_calloc(w->n_runs, sizeof *heap);
    if (runs == NULL || heap == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (uint32_t i = 0; i < w->n_runs; i++) {
        uint64_t a = w->run_offs[i];
        uint64_t b = i + 1 < w->n_runs ? w->run_offs[i + 1] : map_len;
        bool ok;
        runs[i].rd = rd_make(map + a, (size_t)(b - a));
        runs[i].idx = i;
        runs[i].released = a;
        CHECK(run_advance(&runs[i], &ok));
        if (ok)
            heap[n_heap++] = &runs[i];
    }
    for (size_t i = n_heap / 2; i-- > 0;)
        heap_down(heap, n_heap, i);
    while (n_heap > 0) {
        struct run *top = heap[0];
        size_t key_len = top->key_len;
        const uint8_t *key;
        uint32_t n = 0;

        CHECK(cancel_check("merging the full-text index"));
        /* a copy: the runs move on (and release their pages) below */
        buf_reset(&w->merge_key);
        CHECK(buf_append(&w->merge_key, top->key, key_len));
        key = w->merge_key.data;
        buf_reset(&w->spos);
        /* pop every run holding this term; run order = doc order */
        while (n_heap > 0 && heap[0]->key_len == key_len &&
               memcmp(heap[0]->key, key, key_len) == 0) {
            struct run *r = heap[0];
            bool ok;
            CHECK(decode_postings(w, r->post, r->post_len, r->df, &n));
            CHECK(run_advance(r, &ok));
            /* what lies before the new record is never read again: keep
             * the resident set near the budget, not the file size */
            if ((uint64_t)(r->rec - map) - r->released >= RELEASE_BYTES) {
                spill_release(w->spill, r->released,
                              (uint64_t)(r->rec - map) - r->released);
                r->released = (uint64_t)(r->rec - map);
            }
            if (!ok)
                heap[0] = heap[--n_heap];
            heap_down(heap, n_heap, 0);
        }
        CHECK(fts_ser_add_term(ser, key, key_len, w->sdocs, w->stfs, n,
                               w->doc_lens, w->spos.data, w->spos_end));
    }
    mem_free(runs);
    mem_free(heap);
    return INFINO_OK;
fail:
    mem_free(runs);
    mem_free(heap);
    return st;
}

/* Releases the accumulator once everything is on disk. */
static void drop_accumulator(struct fts_writer *w)
{
    for (uint32_t i = 0; i < w->n_pages; i++)
        mem_free(w->pages[i]);
    mem_free(w->pages);
    w->pages = NULL;
    w->n_pages = w->pages_cap = 0;
    mem_free(w->terms);
    w->terms = NULL;
    w->terms_cap = 0;
    mem_free(w->keys);
    w->keys = NULL;
    w->keys_cap = 0;
}

infino_status fts_writer_finish(struct fts_writer *w, struct store_sink *sink,
                                uint32_t n_docs, struct fts_region_info *info,
                                struct buf *summary_out)
{
    struct fts_ser *ser = NULL;
    uint64_t total = 0;
    infino_status st;

    if (w->done)
        return err_set(INFINO_ERR_INVALID,
                       "fts writer: finished or failed earlier");
    w->done = true;
    if (n_docs < w->n_docs) {
        st = err_set(INFINO_ERR_INVALID, "fts writer: %u docs given at "
                     "finish, but doc %u was added", n_docs, w->n_docs - 1);
        goto fail;
    }
    CHECK(reserve_docs(w, n_docs));
    for (uint32_t d = 0; d < n_docs; d++)
        total += w->doc_lens[d];
    w->n_docs = n_docs;
    CHECK(fts_ser_begin(&ser, sink, n_docs ? (double)total / n_docs : 1.0,
                        w->positions));
    if (w->n_runs == 0) {
        CHECK(finish_in_memory(w, ser));
    } else {
        CHECK(spill_run(w));
        drop_accumulator(w);
        CHECK(finish_merge(w, ser));
    }
    CHECK(fts_ser_finish(ser, w->doc_lens, n_docs, &w->an_id, info,
                         summary_out));
    if (info != NULL)
        info->n_runs = w->n_runs;
    fts_ser_free(ser);
    return INFINO_OK;
fail:
    fts_ser_free(ser);
    return err_context(st, "fts writer: finishing %u docs", n_docs);
}
