/*
 * tbl_optimize.c - compaction: merge small superfiles, drop deleted rows.
 *
 * Plan: superfiles whose live bytes are below min_fill_percent of the
 * target size, or that carry deletions, are candidates; consecutive
 * candidates are grouped up to the target size. Each group is merged by
 * streaming its live rows, one decoded row group at a time, into a new
 * superfile (rows keep their _ids), so memory is bounded by one row group
 * plus the index builders' budget, both derived from max_memory_mb.
 *
 * Commit: the new snapshot drops the inputs and adds the output. If a
 * concurrent delete tombstoned more input rows while we merged, those
 * rows are carried over as a tombstone on the output, translated to its
 * row numbers; if an input disappeared (another optimize won), the merge
 * is abandoned and its output removed.
 *
 * Automatic compaction (tbl_auto_compact), after a writer's own commit:
 * superfiles are tiered by live rows, tier k holding those with F^k to
 * F^(k+1) - 1 of them (F: tbl_opts.compact_fanout). When the lowest tier
 * holds F or more whose files total at most compact_max_bytes, they are
 * merged into one (of tier k + 1 or above, so the same rows are not merged
 * again within their tier), and the tiers are looked at again. A row is
 * thus rewritten about log_F(rows) times over its life, and the table
 * keeps fewer than F superfiles per tier below the cap: O(F log_F N) in
 * all. Larger merges are left to optimize, so what an append pays for
 * compaction is bounded by the cap.
 *
 * Reindex rewrites one superfile with the same machinery in place: every
 * row is copied (deleted ones too, the tombstone carried over whole), and
 * the output takes the input's position in the snapshot.
 */
#include "table_int.h"

#include "tomb.h"

#include "format/arrow/arrow_take.h"

#include "util/alloc.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/random.h"

#include <string.h>

#define DEFAULT_TARGET_MB 1024
#define DEFAULT_MIN_FILL 80
#define DEFAULT_MEMORY_MB 1024

struct input {
    uint8_t id[SNAP_SF_ID_LEN];
    size_t at;                       /* index in the merge's view */
    uint64_t tomb_id;                /* at merge time */
    const roaring_bitmap_t *deleted; /* at merge time (borrowed from view,
                                        set when first pinned) */
    struct sf_reader *reader;        /* while pinned */
    uint64_t n_rows;
    uint64_t out_base; /* first output row of this input's survivors */
};

struct merge {
    struct tbl_view *v; /* borrowed */
    struct input *in;
    size_t n_in;
    /* streaming state */
    size_t cur;     /* input */
    bool pinned;    /* in[cur] is pinned */
    int rg;         /* row group within it */
    uint64_t row0;  /* first local row of rg */
    uint64_t out_rows;
    struct ArrowArray batch, live;
    uint32_t *idx;
    size_t idx_cap;
    const struct ar_schema *schema;
    uint64_t dropped;
    /* reindex: copy deleted rows too (the tombstone is carried over
     * whole), so row numbers within the file do not change */
    bool keep_deleted;
};

static void alias_release(struct ArrowArray *a)
{
    a->release = NULL;
}

static void merge_release_batches(struct merge *m)
{
    ar_array_release(&m->live);
    ar_array_release(&m->batch);
}

/* Inputs are opened one at a time, so merging thousands of small
 * superfiles keeps one of them mapped, not all. */
static void merge_unpin(struct merge *m)
{
    if (m->pinned) {
        tbl_view_unpin(m->v, m->in[m->cur].at);
        m->pinned = false;
    }
}

/* tbl_batch_source.next: the next batch of live rows, with _id. */
static infino_status merge_next(void *payload, struct ArrowArray *out)
{
    struct merge *m = payload;
    infino_status st;

    merge_release_batches(m);
    memset(out, 0, sizeof *out);
    while (m->cur < m->n_in) {
        struct input *in = &m->in[m->cur];
        struct pq_reader *r;
        int64_t len;
        size_t n_live = 0;

        /* Between row groups: the caller's interrupt flag. The output is
         * not published yet, so stopping here commits nothing (the
         * writer removes its file). */
        st = cancel_check("merging superfiles");
        if (st != INFINO_OK)
            return st;
        if (!m->pinned) {
            struct tbl_vsf f;
            st = tbl_view_pin(m->v, in->at, &f);
            if (st != INFINO_OK)
                return st;
            m->pinned = true;
            in->reader = f.reader;
            if (!m->keep_deleted)
                in->deleted = f.deleted; /* lives as long as the view */
        }
        r = sf_reader_parquet(in->reader);
        if (m->rg == 0)
            in->out_base = m->out_rows;
        if (m->rg >= pq_reader_num_row_groups(r)) {
            merge_unpin(m);
            in->reader = NULL;
            m->cur++;
            m->rg = 0;
            m->row0 = 0;
            continue;
        }
        len = pq_reader_row_group_rows(r, m->rg);
        if ((size_t)len > m->idx_cap) {
            uint32_t *ni = mem_realloc(m->idx, (size_t)len * sizeof *ni);
            if (ni == NULL)
                return err_nomem();
            m->idx = ni;
            m->idx_cap = (size_t)len;
        }
        for (int64_t i = 0; i < len; i++) {
            uint32_t row = (uint32_t)(m->row0 + (uint64_t)i);
            if (in->deleted && roaring_bitmap_contains(in->deleted, row))
                continue;
            m->idx[n_live++] = (uint32_t)i;
        }
        m->dropped += (uint64_t)len - n_live;
        m->row0 += (uint64_t)len;
        m->rg++;
        if (n_live == 0)
            continue;
        st = tbl_read_columns(&m->batch, r, m->schema, m->rg - 1, NULL, 0,
                              NULL, 0);
        if (st != INFINO_OK)
            return st;
        m->out_rows += n_live;
        /* Hand out shallow aliases: m keeps ownership until the next call
         * (the source contract), so the alias's release does nothing. */
        if (n_live == (size_t)len) {
            *out = m->batch;
            out->release = alias_release;
            return INFINO_OK;
        }
        st = ar_batch_take(&m->live, m->schema, &m->batch, m->idx, n_live);
        ar_array_release(&m->batch);
        if (st != INFINO_OK)
            return st;
        *out = m->live;
        out->release = alias_release;
        return INFINO_OK;
    }
    return INFINO_OK;
}

struct commit_ctx {
    struct merge *m;
    const struct snap_sf *output; /* NULL when every row was deleted */
    uint32_t n_fts;
    bool in_place; /* one input, whose position the output takes */
};

/* Maps a deleted input row to its output row: survivors keep their order,
 * so it is the input's base plus the row's rank among survivors. */
static uint64_t out_row(const struct input *in, uint32_t row)
{
    uint64_t deleted_before =
        in->deleted ? roaring_bitmap_rank(in->deleted, row) : 0;
    return in->out_base + row - deleted_before;
}

static infino_status prepare_optimize(struct tbl_change *chg,
                                      struct tbl_view *base, void *payload)
{
    struct commit_ctx *c = payload;
    struct merge *m = c->m;
    struct tbl *t = base->t;
    roaring_bitmap_t *carry = NULL;
    infino_status st = INFINO_OK;

    for (size_t i = 0; i < m->n_in; i++) {
        struct input *in = &m->in[i];
        long j = snapshot_find_sf(&base->snap, in->id);
        const roaring_bitmap_t *now;

        if (j < 0)
            return err_set(INFINO_ERR_CONFLICT,
                           "table %s: a superfile being merged was removed "
                           "by a concurrent optimize",
                           t->meta.name);
        if (!(c->in_place && c->output))
            CHECK(tbl_change_remove(chg, in->id));
        /* Carry what is deleted now and was not dropped by the merge:
         * the rows deleted since (or, keeping deleted rows, all). */
        if (base->snap.sf[j].tomb_id == 0 ||
            (!m->keep_deleted && base->snap.sf[j].tomb_id == in->tomb_id))
            continue;
        {
            struct tbl_vsf f;
            CHECK(tbl_view_pin(base, (size_t)j, &f));
            now = f.deleted; /* lives as long as the view */
            tbl_view_unpin(base, (size_t)j);
        }
        if (now == NULL)
            continue;
        /* Rows deleted since we merged: carry them to the output. */
        roaring_uint32_iterator_t *it = roaring_create_iterator(now);
        for (; it->has_value; roaring_advance_uint32_iterator(it)) {
            uint32_t row = it->current_value;
            if (in->deleted && roaring_bitmap_contains(in->deleted, row))
                continue;
            if (carry == NULL && (carry = roaring_bitmap_create()) == NULL) {
                roaring_free_uint32_iterator(it);
                st = err_nomem();
                goto fail;
            }
            roaring_bitmap_add(carry, (uint32_t)out_row(in, row));
        }
        roaring_free_uint32_iterator(it);
    }
    if (c->output) {
        if (c->in_place)
            CHECK(tbl_change_replace_sf(chg, m->in[0].id, c->output,
                                        c->n_fts));
        else
            CHECK(tbl_change_add_sf(chg, c->output, c->n_fts));
        if (carry) {
            char key[700];
            uint64_t tomb_id;
            do
                tomb_id = random_u64();
            while (tomb_id == 0);
            snapshot_tomb_key(key, sizeof key, t->meta.dir, c->output->id,
                              tomb_id);
            CHECK(tbl_lease_take(t, key));
            st = tomb_store(t->store, key, c->output->id, carry);
            if (st != INFINO_OK) {
                tbl_lease_drop(t, key);
                goto fail;
            }
            CHECK(tbl_change_add_tomb(chg, c->output->id, tomb_id,
                                      roaring_bitmap_get_cardinality(carry),
                                      key));
        }
    }
fail:
    if (carry)
        roaring_bitmap_free(carry);
    return st;
}

static uint64_t live_bytes(const struct snap_sf *e)
{
    if (e->n_rows == 0)
        return 0;
    return (uint64_t)((double)e->file_size *
                      (double)(e->n_rows - e->n_deleted) / (double)e->n_rows);
}

/* How merge_group writes and commits (see tbl_rewrite_in_place). */
struct merge_how {
    bool in_place;     /* one member: the output takes its position */
    bool keep_deleted; /* copy deleted rows, carry the tombstone */
    void (*before_commit)(void *);
    void *arg;
};

/* Merges view superfiles members[0..n) (indexes into `v`) into one.
 * *lost (may be NULL) is set when a concurrent writer removed a member
 * first: nothing was committed, and the status is OK. */
static infino_status merge_group(struct tbl *t, struct tbl_view *v,
                                 const size_t *members, size_t n,
                                 const struct merge_how *how,
                                 struct tbl_optimize_report *rep, bool *lost)
{
    struct merge m = {0};
    struct tbl_batch_source src;
    struct snap_sf e = {0};
    struct commit_ctx c;
    bool maybe;
    infino_status st;

    m.in = mem_calloc(n, sizeof *m.in);
    if (m.in == NULL)
        return err_nomem();
    if (lost)
        *lost = false;
    m.v = v;
    m.n_in = n;
    m.schema = tbl_full_schema(t); /* inputs lacking columns: nulls */
    m.keep_deleted = how->keep_deleted;
    for (size_t i = 0; i < n; i++) {
        const struct snap_sf *meta = tbl_view_meta(v, members[i]);
        memcpy(m.in[i].id, meta->id, SNAP_SF_ID_LEN);
        m.in[i].at = members[i];
        m.in[i].tomb_id = meta->tomb_id;
        m.in[i].n_rows = meta->n_rows;
    }
    src.next = merge_next;
    src.payload = &m;
    src.has_ids = true;
    src.schema = m.schema;
    st = tbl_write_superfile(&e, t, &src);
    merge_release_batches(&m);
    merge_unpin(&m);
    if (st == INFINO_ERR_NOTFOUND && tbl_newer_exists(t, v->snap.version)) {
        /* An input vanished: a concurrent optimize merged it and gc went
         * past the snapshot we planned on. Leave this group. */
        err_clear();
        st = INFINO_OK;
        if (lost)
            *lost = true;
        goto done;
    }
    if (st != INFINO_OK)
        goto done;
    if (how->before_commit)
        how->before_commit(how->arg);
    c.m = &m;
    c.output = e.n_rows ? &e : NULL;
    c.n_fts = (uint32_t)t->meta.spec.n_fts;
    c.in_place = how->in_place;
    st = tbl_commit(t, prepare_optimize, &c, &maybe);
    if (st != INFINO_OK) {
        if (e.n_rows && !maybe)
            tbl_discard_superfile(t, e.id); /* surely unpublished */
        if (st == INFINO_ERR_CONFLICT) {
            st = INFINO_OK; /* someone else compacted these: fine */
            err_clear();
            if (lost)
                *lost = true;
        }
        goto done;
    }
    rep->n_inputs += n;
    rep->n_outputs += e.n_rows ? 1 : 0;
    rep->rows_dropped += m.dropped;
done:
    mem_free(e.fts_tokens);
    mem_free(m.idx);
    mem_free(m.in);
    return st;
}

infino_status tbl_optimize(struct tbl *t, const struct tbl_optimize_opts *o,
                           struct tbl_optimize_report *out)
{
    struct tbl_optimize_opts d = TBL_OPTIMIZE_OPTS_INIT;
    struct tbl_view *v = NULL;
    struct tbl_opts saved;
    size_t *group = NULL, n_group = 0;
    uint64_t target, threshold, group_bytes = 0, mem_mb;
    uint32_t fill;
    infino_status st;

    memset(out, 0, sizeof *out);
    if (o == NULL)
        o = &d;
    target = (o->target_superfile_mb ? o->target_superfile_mb
                                     : DEFAULT_TARGET_MB) << 20;
    fill = o->min_fill_percent == UINT32_MAX ? DEFAULT_MIN_FILL
                                             : o->min_fill_percent;
    if (fill > 100)
        return err_set(INFINO_ERR_INVALID,
                       "min_fill_percent must be between 0 and 100, got %u",
                       fill);
    threshold = target / 100 * fill;
    mem_mb = o->max_memory_mb ? o->max_memory_mb : DEFAULT_MEMORY_MB;

    /* Waits for a reindex of this table in this process to finish. */
    st = tbl_maint_begin(t, true);
    if (st != INFINO_OK)
        return err_context(st, "optimizing table %s", t->meta.name);
    pthread_mutex_lock(&t->write_mu);
    saved = t->opts;
    /* Half the budget for index accumulation, the rest for row groups in
     * flight and the Parquet writer. */
    t->opts.mem_budget = (mem_mb << 20) / 2;
    CHECK(tbl_write_begin(t));
    CHECK(tbl_view_acquire(&v, t));
    group = mem_calloc(v->snap.n_sf + 1, sizeof *group);
    if (group == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (size_t i = 0; i <= v->snap.n_sf; i++) {
        const struct snap_sf *e = i < v->snap.n_sf ? &v->snap.sf[i] : NULL;
        uint64_t lb = e ? live_bytes(e) : 0;
        bool candidate = e && (lb < threshold || e->n_deleted > 0);
        bool fits = e && group_bytes + lb <= target;

        if (n_group > 0 && (!candidate || !fits)) {
            /* A lone superfile is only worth rewriting to drop deletions. */
            if (n_group > 1 || v->snap.sf[group[0]].n_deleted > 0) {
                static const struct merge_how merge = {0};
                st = merge_group(t, v, group, n_group, &merge, out, NULL);
                /* Interrupted after some groups committed: those merges
                 * stand, so the call succeeded (the caller's interrupt
                 * is still pending for it to act on). */
                if (st == INFINO_ERR_INTERRUPTED && out->n_inputs > 0) {
                    err_clear();
                    st = INFINO_OK;
                    break;
                }
                if (st != INFINO_OK)
                    goto fail;
            }
            n_group = 0;
            group_bytes = 0;
        }
        if (candidate) {
            group[n_group++] = i;
            group_bytes += lb;
        }
    }
    st = INFINO_OK;
    if (out->n_inputs > 0)
        tbl_gc_merged(t); /* memory://: nothing else frees the inputs */
fail:
    t->opts = saved;
    tbl_write_end(t);
    pthread_mutex_unlock(&t->write_mu);
    tbl_maint_end(t);
    tbl_view_release(v);
    mem_free(group);
    return err_context(st, "optimizing table %s", t->meta.name);
}

infino_status tbl_rewrite_in_place(struct tbl *t, struct tbl_view *v,
                                   size_t at, void (*before_commit)(void *),
                                   void *arg, bool *lost)
{
    struct merge_how how = {true, true, before_commit, arg};
    struct tbl_optimize_report rep = {0};

    return merge_group(t, v, &at, 1, &how, &rep, lost);
}

/* ---- automatic compaction --------------------------------------------- */

#define MAX_TIERS 64

static unsigned tier_of(const struct snap_sf *e, uint32_t fanout)
{
    uint64_t live = e->n_rows - (e->n_deleted < e->n_rows ? e->n_deleted
                                                           : e->n_rows);
    unsigned k = 0;

    while (live >= fanout && k + 1 < MAX_TIERS) {
        live /= fanout;
        k++;
    }
    return k;
}

/* The group to merge next in `s`, into members[] (room for s->n_sf):
 * every superfile of the lowest tier with at least `fanout` members whose
 * files fit `cap` together, in snapshot order (those that do not fit are
 * left); 0 when no tier qualifies. */
static size_t compact_plan(const struct snapshot *s, uint32_t fanout,
                           uint64_t cap, size_t *members)
{
    size_t count[MAX_TIERS] = {0};

    for (size_t i = 0; i < s->n_sf; i++)
        count[tier_of(&s->sf[i], fanout)]++;
    for (unsigned k = 0; k < MAX_TIERS; k++) {
        uint64_t bytes = 0;
        size_t n = 0;

        if (count[k] < fanout)
            continue;
        for (size_t i = 0; i < s->n_sf; i++) {
            const struct snap_sf *e = &s->sf[i];
            if (tier_of(e, fanout) != k || bytes + e->file_size > cap)
                continue;
            bytes += e->file_size;
            members[n++] = i;
        }
        if (n >= fanout)
            return n;
    }
    return 0;
}

void tbl_compact_stats(struct tbl *t, struct tbl_compact_stats *out)
{
    out->merges = atomic_load(&t->ac_merges);
    out->inputs = atomic_load(&t->ac_inputs);
    out->failures = atomic_load(&t->ac_failures);
    out->skipped = atomic_load(&t->ac_skipped);
}

/* compact_plan on `v`, growing *members (room for *cap) to its size;
 * false when out of memory. */
static bool plan_view(const struct tbl_view *v, const struct tbl *t,
                      size_t **members, size_t *cap, size_t *n)
{
    if (*cap < v->snap.n_sf) {
        size_t *grown = mem_realloc(*members, v->snap.n_sf * sizeof *grown);
        if (grown == NULL)
            return false;
        *members = grown;
        *cap = v->snap.n_sf;
    }
    *n = v->snap.n_sf < t->opts.compact_fanout
             ? 0
             : compact_plan(&v->snap, t->opts.compact_fanout,
                            t->opts.compact_max_bytes, *members);
    return true;
}

/* Each merge is one commit and raises the group's tier, so a call ends
 * after about one merge per tier; the bound is a guard. */
#define MAX_ROUNDS (2 * MAX_TIERS)

void tbl_auto_compact(struct tbl *t)
{
    static const struct merge_how merge = {0};
    size_t *members = NULL, cap = 0;
    bool slot = false, merged = false;

    if (t->opts.compact_fanout < 2)
        return;
    for (int round = 0; round < MAX_ROUNDS; round++) {
        struct tbl_optimize_report rep = {0};
        struct tbl_view *v = tbl_view_current(t);
        size_t n;
        bool lost = false, ok;
        infino_status st;

        /* Planned on the view our commit installed: nothing is asked of
         * storage unless a tier is full. */
        ok = plan_view(v, t, &members, &cap, &n);
        tbl_view_release(v);
        if (!ok)
            atomic_fetch_add(&t->ac_failures, 1);
        if (!ok || n == 0)
            break;
        /* One maintenance run at a time per table in this process: an
         * optimize or reindex running elsewhere keeps its superfiles. */
        if (!slot) {
            if (tbl_maint_begin(t, false) != INFINO_OK) {
                atomic_fetch_add(&t->ac_skipped, 1);
                break;
            }
            slot = true;
        }
        /* Merged from a leased view of the newest snapshot (its files are
         * safe from gc while we read them), planned afresh on it. */
        if (tbl_view_acquire(&v, t) != INFINO_OK) {
            atomic_fetch_add(&t->ac_failures, 1);
            break;
        }
        ok = plan_view(v, t, &members, &cap, &n);
        st = ok && n ? merge_group(t, v, members, n, &merge, &rep, &lost)
                     : INFINO_OK;
        tbl_view_release(v);
        if (!ok || st != INFINO_OK) {
            atomic_fetch_add(&t->ac_failures, 1);
            break;
        }
        if (n == 0)
            break;
        if (lost) {
            atomic_fetch_add(&t->ac_skipped, 1);
            break;
        }
        atomic_fetch_add(&t->ac_merges, 1);
        atomic_fetch_add(&t->ac_inputs, rep.n_inputs);
        merged = true;
    }
    if (slot)
        tbl_maint_end(t);
    if (merged)
        tbl_gc_merged(t); /* memory://: nothing else frees the inputs */
    mem_free(members);
    err_clear(); /* the caller's call succeeded; this is not its error */
}
