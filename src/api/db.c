/*
 * db.c - databases, tables and their operations (infino.h).
 *
 * Thin: argument checks, handle <-> internal mapping, Arrow C interface
 * import/export. Every operation is implemented by the table and sql
 * layers.
 */
#include "infino.h"

#include "sql/sql.h"
#include "table/catalog.h"
#include "table/table.h"

#include "format/arrow/arrow_take.h"
#include "store/cache.h"
#include "util/alloc.h"
#include "util/err.h"

#include <stdio.h>
#include <stddef.h>
#include <string.h>

#include "api_int.h"

struct infino_index_spec {
    struct sf_index_spec spec;
};

#define ARG(cond, what)                                                        \
    do {                                                                       \
        if (!(cond))                                                           \
            return err_set(INFINO_ERR_INVALID, "%s: %s", __func__, what);      \
    } while (0)

infino_status api_connect_store(infino_db **out, struct objstore *store,
                                const infino_connect_opts *opts)
{
    infino_db *db;

    *out = NULL;
    db = mem_calloc(1, sizeof *db);
    if (db == NULL) {
        objstore_close(store);
        return err_nomem();
    }
    if (opts && opts->tmp_dir) {
        db->tmp_dir = mem_strdup(opts->tmp_dir);
        if (db->tmp_dir == NULL) {
            mem_free(db);
            objstore_close(store);
            return err_nomem();
        }
    }
    db->topts.tmp_dir = db->tmp_dir;
    db->topts.mem_budget = opts ? opts->build_memory_bytes : 0;
    if (opts && opts->version >= 4)
        db->topts.max_staleness_ms = opts->max_staleness_ms;
    db->topts.compact_fanout = INFINO_AUTO_COMPACT_DEFAULT;
    if (opts && opts->version >= 5) {
        if (opts->auto_compact_fanout == INFINO_AUTO_COMPACT_OFF)
            db->topts.compact_fanout = 0;
        else if (opts->auto_compact_fanout != 0)
            db->topts.compact_fanout = opts->auto_compact_fanout;
        db->topts.compact_max_bytes = opts->auto_compact_max_bytes;
    }
    atomic_init(&db->commits, 0);
    db->topts.commits = &db->commits;
    db->store = store;
    *out = db;
    return INFINO_OK;
}

/* The read cache of an object store (local folders and memory:// have
 * none). The mode is checked for every URI, as upstream does. */
static infino_status attach_cache(struct objstore *store,
                                  const infino_connect_opts *opts)
{
    struct store_cache_opts co = {0};

    co.mode = STORE_CACHE_LAZY;
    if (opts && opts->version >= 3) {
        if (opts->cold_fetch_mode &&
            store_cache_mode_parse(&co.mode, opts->cold_fetch_mode) !=
                INFINO_OK)
            return INFINO_ERR_INVALID;
        co.dir = opts->cache_dir;
        co.budget_bytes = opts->cache_budget_bytes;
    }
    if (opts)
        co.scratch_dir = opts->tmp_dir;
    return store_cache_attach(store, &co);
}

INFINO_API infino_status infino_connect(infino_db **out, const char *uri,
                                        const infino_connect_opts *opts)
{
    struct objstore *store;
    infino_status st;

    ARG(out != NULL, "out is NULL");
    *out = NULL;
    ARG(uri != NULL, "uri is NULL");
    if (opts && opts->version >= 2 && opts->n_storage_options > 0) {
        /* infino_storage_option and objstore_option are the same pair;
         * copied, so neither header depends on the other. */
        size_t n = opts->n_storage_options;
        struct objstore_option *o;
        ARG(opts->storage_options != NULL, "storage_options is NULL");
        o = mem_calloc(n, sizeof *o);
        if (o == NULL)
            return err_nomem();
        for (size_t i = 0; i < n; i++) {
            o[i].key = opts->storage_options[i].key;
            o[i].value = opts->storage_options[i].value;
        }
        st = objstore_open_opts(&store, uri, o, n);
        mem_free(o);
    } else {
        st = objstore_open(&store, uri);
    }
    if (st == INFINO_OK)
        st = attach_cache(store, opts);
    if (st != INFINO_OK) {
        objstore_close(store);
        return st;
    }
    return api_connect_store(out, store, opts);
}

INFINO_API void infino_db_close(infino_db *db)
{
    if (db == NULL)
        return;
    objstore_close(db->store);
    mem_free(db->tmp_dir);
    mem_free(db);
}

INFINO_API int infino_db_is_durable(const infino_db *db)
{
    return db && objstore_is_durable(db->store);
}

INFINO_API int infino_table_name_valid(const char *name)
{
    return catalog_name_valid(name);
}

/* ---- index specs ------------------------------------------------------ */

INFINO_API infino_status infino_index_spec_new(infino_index_spec **out)
{
    ARG(out != NULL, "out is NULL");
    *out = mem_calloc(1, sizeof **out);
    return *out ? INFINO_OK : err_nomem();
}

INFINO_API void infino_index_spec_free(infino_index_spec *s)
{
    if (s == NULL)
        return;
    sf_spec_free(&s->spec);
    mem_free(s);
}

INFINO_API infino_status infino_index_spec_fts(infino_index_spec *s,
                                               const char *column)
{
    return infino_index_spec_fts_ex(s, column, NULL);
}

/* The options of one full-text column, checked and converted. */
static infino_status fts_opts_from(struct sf_fts_opts *out,
                                   const infino_fts_opts *o)
{
    infino_status st = INFINO_OK;
    unsigned lang;

    memset(out, 0, sizeof *out);
    out->an.base = FTS_BASE_STANDARD;
    if (o == NULL)
        return INFINO_OK;
    ARG(o->version == 1 || o->version == 2, "infino_fts_opts: unknown "
        "version (use INFINO_FTS_OPTS_INIT)");
    if (o->version >= 2) { /* version 1 has neither field */
        out->positions = o->positions != 0;
        out->hidden = o->stored == 0;
    }
    if (o->analyzer != NULL)
        CHECK(fts_base_parse(&out->an.base, o->analyzer));
    if (o->stemmer != NULL) {
        lang = fts_lang_id(o->stemmer);
        if (lang == 0) {
            st = err_set(INFINO_ERR_INVALID, "unknown stemmer '%s' (the "
                         "Snowball languages: arabic ... yiddish, or "
                         "porter)", o->stemmer);
            goto fail;
        }
        out->an.stemmer = (uint8_t)lang;
    }
    if (o->stopwords != NULL && o->stopword_list != NULL) {
        st = err_set(INFINO_ERR_INVALID, "give a stop word language or a "
                     "stop word list, not both");
        goto fail;
    }
    if (o->stopwords != NULL) {
        lang = fts_lang_id(o->stopwords);
        if (lang == 0 || !fts_lang_has_stopwords(lang)) {
            st = err_set(INFINO_ERR_INVALID, "no built-in stop words for "
                         "'%s' (valid: english, french, german, spanish, "
                         "italian, portuguese, dutch; or give a list)",
                         o->stopwords);
            goto fail;
        }
        out->an.stop_lang = (uint8_t)lang;
    }
    if (o->stopword_list != NULL)
        CHECK(fts_analysis_set_stop_words(&out->an, o->stopword_list,
                                          o->n_stopword_list));
    if (o->k1 != 0 || o->b != 0)
        CHECK(fts_similarity_check(o->k1, o->b));
    out->k1 = o->k1;
    out->b = o->b;
    return INFINO_OK;
fail:
    fts_analysis_free(&out->an);
    return st;
}

INFINO_API infino_status infino_index_spec_fts_ex(infino_index_spec *s,
                                                  const char *column,
                                                  const infino_fts_opts *o)
{
    struct sf_fts_opts fo;
    infino_status st;

    ARG(s != NULL && column != NULL, "NULL argument");
    st = fts_opts_from(&fo, o);
    if (st != INFINO_OK)
        return err_context(st, "full-text column '%s'", column);
    st = sf_spec_add_fts_opts(&s->spec, column, &fo);
    fts_analysis_free(&fo.an);
    return st;
}

INFINO_API infino_status infino_index_spec_vector(infino_index_spec *s,
                                                  const char *column,
                                                  uint32_t dim,
                                                  uint32_t n_centroids,
                                                  const char *metric)
{
    enum sf_metric m;
    infino_status st;

    ARG(s != NULL && column != NULL && metric != NULL, "NULL argument");
    st = sf_metric_parse(&m, metric);
    if (st != INFINO_OK)
        return st;
    return sf_spec_add_vector(&s->spec, column, dim, n_centroids, m);
}

/* ---- catalog ---------------------------------------------------------- */

static infino_status wrap_table(infino_table **out, infino_db *db,
                                const struct cat_entry *e)
{
    infino_table *h = mem_calloc(1, sizeof *h);
    infino_status st;

    if (h == NULL)
        return err_nomem();
    h->db = db;
    st = tbl_open(&h->t, db->store, e, &db->topts);
    if (st != INFINO_OK) {
        mem_free(h);
        return st;
    }
    *out = h;
    return INFINO_OK;
}

INFINO_API infino_status infino_create_table(infino_table **out,
                                             infino_db *db, const char *name,
                                             const struct ArrowSchema *schema,
                                             const infino_index_spec *spec)
{
    struct ar_schema s = {0};
    struct sf_index_spec none = {0};
    struct cat_entry e = {0};
    infino_status st;

    ARG(out != NULL, "out is NULL");
    *out = NULL;
    ARG(db != NULL && name != NULL && schema != NULL, "NULL argument");
    CHECK(catalog_check_name(name));
    st = ar_schema_import(&s, schema);
    if (st == INFINO_ERR_UNSUPPORTED) {
        /* A type Arrow has and we do not: the caller's schema is what
         * is wrong, as for the types catalog_check_schema() refuses. */
        char why[512];

        snprintf(why, sizeof why, "%s", err_last());
        st = err_set(INFINO_ERR_INVALID, "%s (supported: " TABLE_TYPES_TEXT ")",
                     why);
    }
    if (st != INFINO_OK)
        goto fail;
    CHECK(catalog_create(&e, db->store, name, &s, spec ? &spec->spec : &none));
    CHECK(wrap_table(out, db, &e));
fail:
    ar_schema_free(&s);
    cat_entry_free(&e);
    return st;
}

INFINO_API infino_status infino_open_table(infino_table **out, infino_db *db,
                                           const char *name)
{
    struct catalog c = {0};
    const struct cat_entry *e;
    infino_status st;

    ARG(out != NULL, "out is NULL");
    *out = NULL;
    ARG(db != NULL && name != NULL, "NULL argument");
    CHECK(catalog_check_name(name));
    CHECK(catalog_load(&c, db->store));
    CHECK(catalog_settle(&c, db->store));
    e = catalog_find(&c, name);
    if (e == NULL) {
        st = err_set(INFINO_ERR_NOTFOUND, "table '%s' not found", name);
        goto fail;
    }
    CHECK(wrap_table(out, db, e));
fail:
    catalog_free(&c);
    return st;
}

INFINO_API infino_status infino_drop_table(infino_db *db, const char *name,
                                           int purge)
{
    char *dir = NULL;
    infino_status st;

    ARG(db != NULL && name != NULL, "NULL argument");
    CHECK(catalog_check_name(name));
    CHECK(catalog_drop(&dir, db->store, name, NULL, purge != 0));
    /* The name is gone first, so a crash mid-purge only leaves orphans. */
    if (purge)
        st = objstore_delete_prefix(db->store, dir);
fail:
    mem_free(dir);
    return err_context(st, "dropping table %s", name ? name : "?");
}

INFINO_API infino_status infino_list_tables(infino_db *db, char ***names_out,
                                            size_t *n_out)
{
    struct catalog c = {0};
    char **names = NULL;
    infino_status st;

    ARG(names_out != NULL && n_out != NULL && db != NULL, "NULL argument");
    *names_out = NULL;
    *n_out = 0;
    CHECK(catalog_load(&c, db->store));
    CHECK(catalog_settle(&c, db->store));
    names = mem_calloc(c.n + 1, sizeof *names);
    if (names == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (size_t i = 0; i < c.n; i++) {
        names[i] = mem_strdup(c.entries[i].name);
        if (names[i] == NULL) {
            infino_free_names(names, i);
            st = err_nomem();
            goto fail;
        }
    }
    *names_out = names;
    *n_out = c.n;
fail:
    catalog_free(&c);
    return st;
}

INFINO_API void infino_free_names(char **names, size_t n)
{
    if (names == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        mem_free(names[i]);
    mem_free(names);
}

/* ---- tables ----------------------------------------------------------- */

INFINO_API void infino_table_close(infino_table *t)
{
    if (t == NULL)
        return;
    tbl_close(t->t);
    mem_free(t);
}

INFINO_API const char *infino_table_name(const infino_table *t)
{
    return tbl_name(t->t);
}

INFINO_API infino_status infino_table_schema(const infino_table *t,
                                             struct ArrowSchema *out)
{
    infino_status st;

    ARG(t != NULL && out != NULL, "NULL argument");
    st = tbl_refresh(t->t); /* a column another handle added */
    if (st != INFINO_OK)
        return st;
    return ar_schema_export(out, tbl_user_schema(t->t));
}

INFINO_API infino_status infino_table_schema_id(infino_table *t,
                                                uint64_t *out)
{
    ARG(t != NULL && out != NULL, "NULL argument");
    return tbl_schema_id(t->t, out);
}

INFINO_API infino_status infino_table_add_columns(
    infino_table *t, const struct ArrowSchema *columns,
    uint64_t expected_schema_id, uint64_t *schema_id_out)
{
    struct ar_schema s = {0};
    infino_status st;

    if (schema_id_out)
        *schema_id_out = 0;
    ARG(t != NULL && columns != NULL, "NULL argument");
    st = ar_schema_import(&s, columns);
    if (st == INFINO_OK)
        st = tbl_add_columns(t->t, &s, expected_schema_id, schema_id_out);
    ar_schema_free(&s);
    return st;
}

INFINO_API infino_status infino_table_index_at(const infino_table *t,
                                               size_t i,
                                               const char **kind_out,
                                               const char **column_out,
                                               uint32_t *dim_out,
                                               uint32_t *n_centroids_out,
                                               const char **metric_out)
{
    const struct sf_index_spec *spec;
    const struct sf_vec_spec *vs = NULL;

    ARG(t != NULL, "NULL argument");
    spec = tbl_spec(t->t);
    if (i >= spec->n_fts + spec->n_vec)
        return err_set(INFINO_ERR_NOTFOUND, "table %s has %zu indexes",
                       tbl_name(t->t), spec->n_fts + spec->n_vec);
    if (i >= spec->n_fts)
        vs = &spec->vec[i - spec->n_fts];
    if (kind_out)
        *kind_out = vs ? "vector" : "fts";
    if (column_out)
        *column_out = vs ? vs->column : spec->fts[i];
    if (dim_out)
        *dim_out = vs ? vs->dim : 0;
    if (n_centroids_out)
        *n_centroids_out = vs ? vs->n_centroids : 0;
    if (metric_out)
        *metric_out = vs ? sf_metric_name(vs->metric) : NULL;
    return INFINO_OK;
}

INFINO_API infino_status infino_table_fts_opts_at(const infino_table *t,
                                                  size_t i,
                                                  infino_fts_opts *out)
{
    const struct sf_index_spec *spec;
    const struct sf_fts_opts *o;
    infino_fts_opts init = INFINO_FTS_OPTS_INIT;

    ARG(t != NULL && out != NULL, "NULL argument");
    spec = tbl_spec(t->t);
    if (i >= spec->n_fts + spec->n_vec)
        return err_set(INFINO_ERR_NOTFOUND, "table %s has %zu indexes",
                       tbl_name(t->t), spec->n_fts + spec->n_vec);
    if (i >= spec->n_fts)
        return err_set(INFINO_ERR_INVALID, "table %s: index %zu is a vector "
                       "index", tbl_name(t->t), i);
    ARG(out->version == 1 || out->version == 2, "infino_table_fts_opts_at: "
        "set out->version (INFINO_FTS_OPTS_INIT) first");
    o = &spec->fts_opts[i];
    if (out->version == 1) { /* the version-1 struct ends after k1 and b */
        infino_fts_opts v2 = init;
        v2.version = 1;
        memcpy(out, &v2, offsetof(infino_fts_opts, positions));
    } else {
        *out = init;
    }
    out->analyzer = fts_base_name(o->an.base);
    out->stemmer = o->an.stemmer ? fts_lang_name(o->an.stemmer) : NULL;
    if (o->an.stop_lang == FTS_STOP_USER) {
        out->stopword_list = (const char *const *)o->an.stop_words;
        out->n_stopword_list = o->an.n_stop_words;
    } else if (o->an.stop_lang != 0) {
        out->stopwords = fts_lang_name(o->an.stop_lang);
    }
    out->k1 = o->k1;
    out->b = o->b;
    if (out->version >= 2) {
        out->positions = o->positions;
        out->stored = !o->hidden;
    }
    return INFINO_OK;
}

INFINO_API infino_status infino_table_count_rows(infino_table *t,
                                                 uint64_t *out)
{
    struct tbl_view *v;
    infino_status st;

    ARG(t != NULL && out != NULL, "NULL argument");
    st = tbl_view_acquire_read(&v, t->t);
    if (st != INFINO_OK)
        return st;
    *out = snapshot_live_rows(tbl_view_snapshot(v));
    tbl_view_release(v);
    return INFINO_OK;
}

INFINO_API infino_status infino_table_append(infino_table *t,
                                             struct ArrowArrayStream *rows,
                                             uint64_t *n_rows_out)
{
    if (t == NULL || rows == NULL) {
        if (rows && rows->release)
            rows->release(rows);
        return err_set(INFINO_ERR_INVALID, "infino_table_append: NULL "
                                           "argument");
    }
    return tbl_append(t->t, rows, n_rows_out);
}

static infino_status check_pred(struct tbl *t, const char *predicate)
{
    infino_status st;

    if (predicate == NULL)
        return err_set(INFINO_ERR_INVALID, "predicate is NULL");
    st = tbl_refresh(t); /* columns another handle added */
    if (st != INFINO_OK)
        return st;
    return sql_check_predicate(t, predicate);
}

INFINO_API infino_status infino_table_delete(infino_table *t,
                                             const char *predicate,
                                             infino_mutation_stats *out)
{
    struct tbl_mutation_stats s;
    infino_status st;

    ARG(t != NULL && out != NULL, "NULL argument");
    memset(out, 0, sizeof *out);
    st = check_pred(t->t, predicate);
    if (st == INFINO_OK)
        st = tbl_delete(t->t, sql_match_predicate, (void *)predicate, &s);
    if (st == INFINO_OK) {
        out->matched = s.matched;
        out->n_tombstoned = s.n_tombstoned;
        out->n_not_found = s.n_not_found;
    }
    return st;
}

INFINO_API infino_status infino_table_update(infino_table *t,
                                             const char *predicate,
                                             struct ArrowArrayStream *rows,
                                             infino_mutation_stats *out)
{
    struct tbl_mutation_stats s;
    infino_status st;

    if (t == NULL || rows == NULL || out == NULL) {
        if (rows && rows->release)
            rows->release(rows);
        return err_set(INFINO_ERR_INVALID, "infino_table_update: NULL "
                                           "argument");
    }
    memset(out, 0, sizeof *out);
    st = check_pred(t->t, predicate);
    if (st != INFINO_OK) {
        if (rows->release)
            rows->release(rows);
        return st;
    }
    st = tbl_update(t->t, sql_match_predicate, (void *)predicate, rows, &s);
    if (st == INFINO_OK) {
        out->matched = s.matched;
        out->n_tombstoned = s.n_tombstoned;
        out->n_not_found = s.n_not_found;
    }
    return st;
}

INFINO_API infino_status infino_table_optimize(infino_table *t,
                                               const infino_optimize_opts *o)
{
    struct tbl_optimize_opts to = TBL_OPTIMIZE_OPTS_INIT;
    struct tbl_optimize_report rep;

    ARG(t != NULL, "NULL table");
    if (o) {
        if (o->min_fill_percent > 100)
            return err_set(INFINO_ERR_INVALID,
                           "min_fill_percent must be between 0 and 100, got "
                           "%d",
                           o->min_fill_percent);
        to.max_memory_mb = o->max_memory_mb;
        to.target_superfile_mb = o->target_superfile_mb;
        if (o->min_fill_percent >= 0)
            to.min_fill_percent = (uint32_t)o->min_fill_percent;
        /* version 2: recalibrate is validated, stale_seal_timeout_ms
         * taken as is; neither changes what optimize does (infino.h) */
        if (o->version >= 2 && !api_recalibrate_valid(o->recalibrate))
            return err_set(INFINO_ERR_INVALID,
                           "invalid recalibrate policy \"%s\": expected "
                           "\"auto\", \"force\", or \"skip\"",
                           o->recalibrate);
    }
    return tbl_optimize(t->t, &to, &rep);
}

INFINO_API infino_status infino_table_gc(infino_table *t, double grace_secs,
                                         infino_gc_report *out)
{
    struct tbl_gc_report r;
    infino_status st;

    ARG(t != NULL && out != NULL, "NULL argument");
    memset(out, 0, sizeof *out);
    st = tbl_gc(t->t, grace_secs, &r);
    /* The catalog is shared by the database's tables: any table's gc
     * also retires its superseded versions. */
    if (st == INFINO_OK)
        st = catalog_gc(tbl_store(t->t), grace_secs, &r.objects_deleted,
                        &r.bytes_freed);
    if (st == INFINO_OK) {
        out->bytes_freed = r.bytes_freed;
        out->objects_deleted = r.objects_deleted;
        out->objects_skipped_live = r.objects_skipped_live;
        out->objects_skipped_too_new = r.objects_skipped_too_new;
        out->delete_errors = r.delete_errors;
    }
    return st;
}

INFINO_API infino_status infino_table_check(infino_table *t,
                                            infino_check_report *out)
{
    struct tbl_check_report r;
    infino_status st;

    ARG(t != NULL && out != NULL, "NULL argument");
    memset(out, 0, sizeof *out);
    st = tbl_check(t->t, &r);
    if (st == INFINO_OK) {
        out->version = r.version;
        out->n_superfiles = r.n_superfiles;
        out->n_rows = r.n_rows;
        out->n_deleted = r.n_deleted;
        out->bytes_verified = r.bytes_verified;
    }
    return st;
}

/* ---- scans as streams ------------------------------------------------- */

struct scan_stream {
    struct tbl_view *v;
    struct tbl_scan *scan;
    roaring_bitmap_t **keep; /* per superfile, when filtered */
    size_t n_sf;
    uint32_t *idx;
    size_t idx_cap;
    bool no_columns; /* columns = [] asked: batches keep only their length */
};

static void scan_stream_close(void *payload)
{
    struct scan_stream *s = payload;

    tbl_scan_free(s->scan);
    for (size_t i = 0; s->keep && i < s->n_sf; i++)
        if (s->keep[i])
            roaring_bitmap_free(s->keep[i]);
    mem_free(s->keep);
    tbl_view_release(s->v);
    mem_free(s->idx);
    mem_free(s);
}

static infino_status scan_stream_rows(void *payload, struct ArrowArray *out);

/* A batch with the rows of the next one and no columns. */
static infino_status scan_stream_next(void *payload, struct ArrowArray *out)
{
    struct scan_stream *s = payload;
    struct ArrowArray batch;
    void *bufs[1] = {NULL};
    infino_status st = scan_stream_rows(payload, &batch);

    if (st != INFINO_OK || !s->no_columns || batch.release == NULL) {
        *out = batch;
        return st;
    }
    st = ar_array_make(out, batch.length, 0, 1, bufs, 0, NULL);
    ar_array_release(&batch);
    return st;
}

static infino_status scan_stream_rows(void *payload, struct ArrowArray *out)
{
    struct scan_stream *s = payload;
    infino_status st;

    for (;;) {
        struct ArrowArray batch;
        size_t sf, n = 0;
        const uint32_t *rows;

        st = tbl_scan_next(s->scan, &batch, &sf, &rows);
        if (st != INFINO_OK || batch.release == NULL) {
            memset(out, 0, sizeof *out);
            return st;
        }
        if (s->keep == NULL) {
            *out = batch;
            return INFINO_OK;
        }
        if ((size_t)batch.length > s->idx_cap) {
            uint32_t *ni = mem_realloc(s->idx, (size_t)batch.length *
                                                   sizeof *ni);
            if (ni == NULL) {
                ar_array_release(&batch);
                return err_nomem();
            }
            s->idx = ni;
            s->idx_cap = (size_t)batch.length;
        }
        for (int64_t i = 0; i < batch.length; i++)
            if (s->keep[sf] && roaring_bitmap_contains(s->keep[sf], rows[i]))
                s->idx[n++] = (uint32_t)i;
        if (n == 0) {
            ar_array_release(&batch);
            continue;
        }
        if (n == (size_t)batch.length) {
            *out = batch;
            return INFINO_OK;
        }
        st = ar_batch_take(out, tbl_scan_projection(s->scan), &batch, s->idx,
                           n);
        ar_array_release(&batch);
        return st;
    }
}

INFINO_API infino_status infino_table_scan(infino_table *t,
                                           const char *const *columns,
                                           size_t n_columns,
                                           const char *predicate,
                                           struct ArrowArrayStream *out)
{
    struct scan_stream *s;
    struct ar_stream_source src;
    infino_status st;

    ARG(t != NULL && out != NULL, "NULL argument");
    memset(out, 0, sizeof *out);
    s = mem_calloc(1, sizeof *s);
    if (s == NULL)
        return err_nomem();
    CHECK(tbl_view_acquire_read(&s->v, t->t));
    if (columns != NULL && n_columns == 0) {
        static const char *const id[] = {TBL_ID_COLUMN};
        s->no_columns = true;
        columns = id;
        n_columns = 1;
    }
    CHECK(tbl_scan_open(&s->scan, s->v, columns, n_columns));
    if (predicate) {
        s->n_sf = tbl_view_n_sf(s->v);
        s->keep = mem_calloc(s->n_sf + 1, sizeof *s->keep);
        if (s->keep == NULL) {
            st = err_nomem();
            goto fail;
        }
        CHECK(sql_check_predicate(t->t, predicate));
        CHECK(sql_match_predicate(s->keep, s->v, (void *)predicate));
    }
    src.payload = s;
    src.next = scan_stream_next;
    src.close = scan_stream_close;
    if (s->no_columns) {
        static const struct ar_schema none = {0};
        return ar_stream_export(out, &none, src);
    }
    return ar_stream_export(out, tbl_scan_projection(s->scan), src);
fail:
    scan_stream_close(s);
    return st;
}
