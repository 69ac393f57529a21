/*
 * tbl_reindex.c - finding and repairing superfiles whose indexes are
 * behind what this engine writes (table.h, "reindex"), and the
 * maintenance slot that optimize and reindex share.
 *
 * Staleness is decided in one place, sf_index_is_current(), from what a
 * superfile's footer and region headers say; the repair rebuilds the
 * whole superfile from its stored rows through optimize's writer
 * (tbl_rewrite_in_place), so the new indexes are exactly what an append
 * of those rows would build today, and the commit protocol is optimize's:
 * concurrent appends, deletes and updates are kept, and a superfile that
 * another writer replaced first is left to it (held_by_another_run).
 *
 * The slot: one optimize or reindex at a time per table storage in this
 * process, whatever the handle. Other processes are not seen; their runs
 * are safe anyway (the second commit on a superfile loses its race).
 */
#define _GNU_SOURCE /* realpath */
#include "table_int.h"

#include "util/alloc.h"
#include "util/err.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the maintenance slot ------------------------------------------------ */

struct tbl_maint_slot {
    char *key;
    struct tbl_maint_slot *next;
};

static pthread_mutex_t maint_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t maint_cv = PTHREAD_COND_INITIALIZER;
static struct tbl_maint_slot *maint_held; /* under maint_mu */

/* "<where the store is>\n<table folder>": the same for every handle of
 * the table in this process (local roots are resolved to absolute paths,
 * so "./db" and "/x/db" agree). Owned; NULL when out of memory. */
static char *maint_key(const struct tbl *t)
{
    const char *root = objstore_local_root(t->store);
    char abs[PATH_MAX];
    const char *where = objstore_cache_id(t->store);
    size_t n;
    char *key;

    if (root && realpath(root, abs) != NULL)
        where = abs;
    else if (root)
        where = root;
    n = strlen(where) + strlen(t->meta.dir) + 2;
    key = mem_alloc(n);
    if (key)
        snprintf(key, n, "%s\n%s", where, t->meta.dir);
    return key;
}

static struct tbl_maint_slot **maint_find(const char *key)
{
    struct tbl_maint_slot **p = &maint_held;

    while (*p && strcmp((*p)->key, key) != 0)
        p = &(*p)->next;
    return p;
}

infino_status tbl_maint_begin(struct tbl *t, bool wait)
{
    struct tbl_maint_slot *s = mem_calloc(1, sizeof *s);

    if (s == NULL || (s->key = maint_key(t)) == NULL) {
        mem_free(s);
        return err_nomem();
    }
    pthread_mutex_lock(&maint_mu);
    while (*maint_find(s->key) != NULL) {
        if (!wait) {
            pthread_mutex_unlock(&maint_mu);
            mem_free(s->key);
            mem_free(s);
            return err_set(INFINO_ERR_BUSY,
                           "table %s: an optimize or another reindex is "
                           "already running",
                           t->meta.name);
        }
        pthread_cond_wait(&maint_cv, &maint_mu);
    }
    s->next = maint_held;
    maint_held = s;
    t->maint = s;
    pthread_mutex_unlock(&maint_mu);
    return INFINO_OK;
}

void tbl_maint_end(struct tbl *t)
{
    struct tbl_maint_slot **p, *s;

    pthread_mutex_lock(&maint_mu);
    s = t->maint;
    t->maint = NULL;
    for (p = &maint_held; s && *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    pthread_cond_broadcast(&maint_cv);
    pthread_mutex_unlock(&maint_mu);
    if (s)
        mem_free(s->key);
    mem_free(s);
}

/* ---- staleness ----------------------------------------------------------- */

/* Compares the format version region `name` states with what this
 * engine needs: older than `oldest_ok` wants a rewrite; absent, or newer
 * than `current` (the version this engine writes, the newest it reads),
 * makes the footer inconsistent. */
static infino_status check_region(enum tbl_repair *repair, bool *inconsistent,
                                  struct sf_indexes *x, const char *name,
                                  uint32_t oldest_ok, uint32_t current)
{
    uint32_t version;
    infino_status st = sf_indexes_region_version(&version, x, name);

    if (st == INFINO_ERR_NOTFOUND || st == INFINO_ERR_CORRUPT) {
        err_clear();
        *inconsistent = true;
        return INFINO_OK;
    }
    if (st != INFINO_OK)
        return st;
    if (version > current)
        *inconsistent = true;
    else if (version < oldest_ok && *repair == TBL_REPAIR_NONE)
        *repair = TBL_REPAIR_REWRITE;
    return INFINO_OK;
}

/* Whether superfile `f`'s indexes are what this engine writes today for
 * the table's index spec: the one place that decides staleness. A
 * full-text region of format 1 (terms cut at 255 bytes) wants a rewrite;
 * 2 and 3 hold whole terms (3 only adds the analysis record, which a
 * version 2 region implies: alnum, no filters).
 * *repair: NONE (current), REWRITE (a region of an older format version)
 * or REANALYZE (terms analyzed otherwise than the spec says).
 * *inconsistent: a region the spec needs is missing or unreadable by
 * this engine; such a file is reported, not repaired.
 *
 * A column whose region records another analysis (tokenizer, stop words,
 * stemmer) than the spec's wants REANALYZE, which takes precedence. A
 * column indexed with positions whose region has none (written before
 * format 5) wants REWRITE: its phrases would read the text back. */
static infino_status sf_index_is_current(enum tbl_repair *repair,
                                         bool *inconsistent,
                                         const struct tbl *t,
                                         const struct tbl_vsf *f)
{
    const struct sf_index_spec *spec = &t->meta.spec;
    char name[SF_REGION_NAME_MAX + 1];
    infino_status st = INFINO_OK;

    *repair = TBL_REPAIR_NONE;
    *inconsistent = false;
    for (size_t i = 0; i < spec->n_fts; i++) {
        snprintf(name, sizeof name, "%s%zu", SF_REGION_FTS_PREFIX, i);
        bool was_inconsistent = *inconsistent;
        const struct fts_reader *r;
        struct fts_analysis_id want, have;
        CHECK(check_region(repair, inconsistent, f->indexes, name, 2,
                           fts_format_version()));
        if (*inconsistent && !was_inconsistent)
            continue;
        st = sf_indexes_fts(&r, f->indexes, i);
        if (st == INFINO_ERR_CORRUPT) {
            err_clear();
            st = INFINO_OK;
            *inconsistent = true;
            continue;
        }
        if (st != INFINO_OK)
            goto fail;
        fts_analysis_id_of(&want, &spec->fts_opts[i].an);
        fts_reader_analysis_id(&have, r);
        if (!fts_analysis_id_equal(&want, &have))
            *repair = TBL_REPAIR_REANALYZE;
        else if (spec->fts_opts[i].positions &&
                 !fts_reader_has_positions(r) && *repair == TBL_REPAIR_NONE)
            *repair = TBL_REPAIR_REWRITE; /* written before positions */
    }
    for (size_t i = 0; i < spec->n_vec; i++) {
        snprintf(name, sizeof name, "%s%zu", SF_REGION_IVF_PREFIX, i);
        CHECK(check_region(repair, inconsistent, f->indexes, name,
                           ivf_format_version(), ivf_format_version()));
    }
fail:
    return st;
}

/* ---- reindex --------------------------------------------------------------- */

static uint64_t live_bytes(const struct snap_sf *e)
{
    if (e->n_rows == 0)
        return 0;
    return (uint64_t)((double)e->file_size *
                      (double)(e->n_rows - e->n_deleted) / (double)e->n_rows);
}

void tbl_reindex_report_free(struct tbl_reindex_report *r)
{
    if (r == NULL)
        return;
    mem_free(r->plan);
    mem_free(r->inconsistent);
    r->plan = NULL;
    r->inconsistent = NULL;
}

/* Fills out->plan (and `at`, the plan's view indexes) from `v`. */
static infino_status plan(struct tbl_reindex_report *out, size_t *at,
                          struct tbl *t, struct tbl_view *v,
                          const struct tbl_reindex_opts *o)
{
    infino_status st = INFINO_OK;

    out->superfiles = v->snap.n_sf;
    for (size_t i = 0; i < v->snap.n_sf; i++) {
        const struct snap_sf *e = &v->snap.sf[i];
        enum tbl_repair repair;
        bool inconsistent;
        struct tbl_vsf f;

        CHECK(tbl_view_pin(v, i, &f));
        st = sf_index_is_current(&repair, &inconsistent, t, &f);
        tbl_view_unpin(v, i);
        if (st != INFINO_OK)
            goto fail;
        if (inconsistent) {
            memcpy(out->inconsistent[out->n_inconsistent++], e->id,
                   SNAP_SF_ID_LEN);
            continue;
        }
        if (o->all && repair == TBL_REPAIR_NONE)
            repair = TBL_REPAIR_REWRITE;
        if (repair == TBL_REPAIR_NONE) {
            out->already_current++;
            continue;
        }
        if (repair == TBL_REPAIR_REANALYZE && o->mode == TBL_REINDEX_REWRITE) {
            out->awaiting_reanalysis++;
            continue;
        }
        if (o->mode == TBL_REINDEX_REANALYZE)
            repair = TBL_REPAIR_REANALYZE;
        at[out->needing_rewrite] = i;
        out->plan[out->needing_rewrite].repair = repair;
        memcpy(out->plan[out->needing_rewrite].id, e->id, SNAP_SF_ID_LEN);
        out->plan[out->needing_rewrite].live_bytes = live_bytes(e);
        out->plan[out->needing_rewrite].file_size = e->file_size;
        out->needing_rewrite++;
        out->bytes_to_rewrite += e->file_size;
    }
fail:
    return st;
}

infino_status tbl_reindex(struct tbl *t, const struct tbl_reindex_opts *o,
                          bool dry_run, struct tbl_reindex_report *out)
{
    struct tbl_reindex_opts d = {0};
    struct tbl_view *v = NULL;
    size_t *at = NULL;
    bool slot = false, locked = false;
    infino_status st;

    memset(out, 0, sizeof *out);
    if (o == NULL)
        o = &d;
    if (!tbl_is_durable(t))
        return err_set(INFINO_ERR_INVALID,
                       "reindex requires durable storage (not memory://)");
    if (!dry_run) {
        CHECK(tbl_maint_begin(t, false));
        slot = true;
        pthread_mutex_lock(&t->write_mu);
        locked = true;
        CHECK(tbl_write_begin(t));
    }
    CHECK(tbl_view_acquire(&v, t));
    out->plan = mem_calloc(v->snap.n_sf + 1, sizeof *out->plan);
    out->inconsistent =
        mem_calloc(v->snap.n_sf + 1, sizeof *out->inconsistent);
    at = mem_calloc(v->snap.n_sf + 1, sizeof *at);
    if (out->plan == NULL || out->inconsistent == NULL || at == NULL) {
        st = err_nomem();
        goto fail;
    }
    CHECK(plan(out, at, t, v, o));
    for (size_t i = 0; !dry_run && i < out->needing_rewrite; i++) {
        bool lost;
        st = tbl_rewrite_in_place(t, v, at[i], o->before_commit, o->arg,
                                  &lost);
        /* Interrupted after some rewrites committed: those stand, so the
         * call succeeded (the interrupt stays pending for the caller). */
        if (st == INFINO_ERR_INTERRUPTED && out->rewritten > 0) {
            err_clear();
            st = INFINO_OK;
            break;
        }
        if (st != INFINO_OK)
            goto fail;
        if (lost)
            out->held_by_another_run++;
        else
            out->rewritten++;
    }
    st = INFINO_OK;
fail:
    if (locked) {
        tbl_write_end(t);
        pthread_mutex_unlock(&t->write_mu);
    }
    if (slot)
        tbl_maint_end(t);
    tbl_view_release(v);
    mem_free(at);
    if (st != INFINO_OK)
        tbl_reindex_report_free(out);
    return err_context(st, "reindexing table %s", t->meta.name);
}
