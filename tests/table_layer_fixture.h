/*
 * table_layer_fixture.h - the table of table_fixture.h, driven through the
 * table layer itself (table/catalog.h, table/table.h) instead of infino.h.
 *
 * A test program tests/unit/<module>_<name>_test.c links only its module's
 * library and the layers below (CMakeLists.txt), so the table_*, query_*
 * and sql_* suites cannot call the infino_* functions of src/api: they
 * create, open and drop tables through the catalog as src/api/db.c does,
 * and write through tbl_append / tbl_delete / tbl_update with matchers
 * written here. Only the table_fixture.h helpers that build Arrow data
 * (tf_schema, tf_stream, tf_body, tf_vec) are used from it.
 */
#ifndef INFINO_TEST_TABLE_LAYER_FIXTURE_H
#define INFINO_TEST_TABLE_LAYER_FIXTURE_H

#include "table_fixture.h"

#include "store/objstore.h"
#include "table/catalog.h"
#include "table/table.h"

#include <dirent.h>
#include <sys/stat.h>

/* A database folder and its store. */
struct tl_world {
    char dir[512];
    struct objstore *store; /* owned */
};

static inline void tl_world_open(struct tl_world *w, const char *tag)
{
    memset(w, 0, sizeof *w);
    test_tmpdir(w->dir, sizeof w->dir, tag);
    assert_ok(objstore_open(&w->store, w->dir));
}

static inline void tl_world_close(struct tl_world *w)
{
    char cmd[700];

    objstore_close(w->store);
    w->store = NULL;
    if (getenv("INFINO_TEST_KEEP") == NULL) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", w->dir);
        if (system(cmd) != 0)
            fail_msg("cannot remove %s", w->dir);
    }
}

/* Creates table `name` with the fixture's schema and indexes (full-text
 * on body; vec: dim 4, `n_centroids` lists, l2sq) and opens it. */
static inline infino_status tl_create_n(struct tbl **out, struct objstore *s,
                                        const char *name,
                                        uint32_t n_centroids)
{
    struct ar_schema sch;
    struct sf_index_spec spec = {0};
    struct cat_entry e = {0};
    infino_status st;

    *out = NULL;
    tf_schema(&sch);
    assert_ok(sf_spec_add_fts(&spec, "body"));
    assert_ok(sf_spec_add_vector(&spec, "vec", TF_DIM, n_centroids,
                                 SF_METRIC_L2SQ));
    st = catalog_create(&e, s, name, &sch, &spec);
    if (st == INFINO_OK)
        st = tbl_open(out, s, &e, NULL);
    cat_entry_free(&e);
    sf_spec_free(&spec);
    ar_schema_free(&sch);
    return st;
}

static inline infino_status tl_create(struct tbl **out, struct objstore *s,
                                      const char *name)
{
    return tl_create_n(out, s, name, 2);
}

/* Opens table `name` as infino_open_table does. */
static inline infino_status tl_open(struct tbl **out, struct objstore *s,
                                    const char *name)
{
    struct catalog c = {0};
    const struct cat_entry *e;
    infino_status st;

    *out = NULL;
    st = catalog_load(&c, s);
    if (st == INFINO_OK)
        st = catalog_settle(&c, s);
    if (st == INFINO_OK) {
        e = catalog_find(&c, name);
        st = e ? tbl_open(out, s, e, NULL)
               : err_set(INFINO_ERR_NOTFOUND, "table '%s' not found", name);
    }
    catalog_free(&c);
    return st;
}

/* Drops table `name` as infino_drop_table does. */
static inline infino_status tl_drop(struct objstore *s, const char *name,
                                    bool purge)
{
    char *dir = NULL;
    infino_status st = catalog_drop(&dir, s, name, NULL, purge);

    if (st == INFINO_OK && purge)
        st = objstore_delete_prefix(s, dir);
    mem_free(dir);
    return st;
}

/* The storage folder of table `name` ("tables/<name>-.../") into out. */
static inline void tl_table_dir(char *out, size_t cap, struct objstore *s,
                                const char *name)
{
    struct catalog c = {0};
    const struct cat_entry *e;

    assert_ok(catalog_load(&c, s));
    e = catalog_find(&c, name);
    if (e == NULL)
        fail_msg("table %s is not in the catalog", name);
    snprintf(out, cap, "%s", e->dir);
    catalog_free(&c);
}

/* Whether `root`/`rel` exists on disk. */
static inline bool tl_path_exists(const char *root, const char *rel)
{
    char p[1400];
    struct stat sb;

    snprintf(p, sizeof p, "%s/%s", root, rel);
    return stat(p, &sb) == 0;
}

/* Files in `root`/`rel` whose names end in `suffix` ("" for all;
 * dot-files and folders are not counted); 0 when the folder is absent.
 * The last such name goes to last_out (cap 256) when it is not NULL. */
static inline size_t tl_count_files(const char *root, const char *rel,
                                    const char *suffix, char *last_out)
{
    char p[1400];
    DIR *d;
    struct dirent *de;
    size_t n = 0, sl = strlen(suffix);

    snprintf(p, sizeof p, "%s/%s", root, rel);
    d = opendir(p);
    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        char fp[1700];
        struct stat sb;
        if (de->d_name[0] == '.' || l < sl ||
            strcmp(de->d_name + l - sl, suffix) != 0)
            continue;
        snprintf(fp, sizeof fp, "%s/%s", p, de->d_name);
        if (stat(fp, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        n++;
        if (last_out)
            snprintf(last_out, 256, "%s", de->d_name);
    }
    closedir(d);
    return n;
}

/* ---- rows ---------------------------------------------------------------- */

typedef int (*tl_body_fn)(char *out, size_t cap, int64_t k);

/* One batch of the fixture's schema holding rows ks[0..n) with bodies from
 * `body` (tf_body when NULL). With null_k_at >= 0 that row's k is null
 * (the batch's schema then declares k nullable), for refused input.
 * *out and *schema_out are owned. */
static inline void tl_batch(struct ArrowArray *out,
                            struct ar_schema *schema_out, const int64_t *ks,
                            size_t n, tl_body_fn body, long null_k_at)
{
    struct ar_field root;
    struct ar_builder *b;

    tf_schema(schema_out);
    if (null_k_at >= 0)
        schema_out->fields[0].nullable = true;
    memset(&root, 0, sizeof root);
    root.name = (char *)"";
    root.type = AR_STRUCT;
    root.n_children = schema_out->n_fields;
    root.children = schema_out->fields;
    assert_ok(ar_builder_new(&b, &root));
    for (size_t i = 0; i < n; i++) {
        char text[512];
        float v[TF_DIM];
        int len = (body ? body : tf_body)(text, sizeof text, ks[i]);
        struct ar_builder *vb = ar_builder_child(b, 2);
        if ((long)i == null_k_at)
            assert_ok(ar_builder_append_null(ar_builder_child(b, 0)));
        else
            assert_ok(ar_builder_append_int(ar_builder_child(b, 0), ks[i]));
        assert_ok(ar_builder_append_bytes(ar_builder_child(b, 1), text,
                                          (size_t)len));
        tf_vec(v, ks[i]);
        for (int d = 0; d < TF_DIM; d++)
            assert_ok(ar_builder_append_double(ar_builder_child(vb, 0),
                                               v[d]));
        assert_ok(ar_builder_end_list(vb));
        assert_ok(ar_builder_end_struct(b));
    }
    assert_ok(ar_builder_finish(b, out));
    ar_builder_free(b);
}

/* A stream of one batch: rows ks[0..n) (owned: pass it to a call that
 * takes it). */
static inline void tl_stream(struct ArrowArrayStream *out, const int64_t *ks,
                             size_t n, tl_body_fn body)
{
    struct ar_schema s;
    struct ArrowArray batch;

    tl_batch(&batch, &s, ks, n, body, -1);
    assert_ok(ar_stream_from_batches(out, &s, &batch, 1));
    ar_schema_free(&s);
}

static inline infino_status tl_append_keys(struct tbl *t, const int64_t *ks,
                                           size_t n, tl_body_fn body)
{
    struct ArrowArrayStream s;

    tl_stream(&s, ks, n, body);
    return tbl_append(t, &s, NULL);
}

/* Rows first..first+n-1. */
static inline infino_status tl_append(struct tbl *t, int64_t first, size_t n)
{
    int64_t *ks = mem_alloc(n * sizeof *ks + 1);
    infino_status st;

    for (size_t i = 0; i < n; i++)
        ks[i] = first + (int64_t)i;
    st = tl_append_keys(t, ks, n, NULL);
    mem_free(ks);
    return st;
}

/* ---- reading back -------------------------------------------------------- */

struct tl_keys_ctx {
    int64_t *ks;
    size_t n, cap;
};

static inline infino_status tl_keys_cb(size_t sf, const struct ArrowArray *b,
                                       const uint32_t *rows, void *payload)
{
    struct tl_keys_ctx *c = payload;
    const struct ArrowArray *col = b->children[0];
    const int64_t *v = (const int64_t *)col->buffers[1] + col->offset;

    (void)sf;
    (void)rows;
    if (MEM_RESERVE(c->ks, c->cap, c->n + (size_t)col->length + 1))
        return err_nomem();
    memcpy(c->ks + c->n, v, (size_t)col->length * sizeof *v);
    c->n += (size_t)col->length;
    return INFINO_OK;
}

/* The k of every live row of the newest snapshot, sorted, into *out
 * (owned: mem_free) and *n. */
static inline infino_status tl_keys(struct tbl *t, int64_t **out, size_t *n)
{
    static const char *const cols[] = {"k"};
    struct tl_keys_ctx c = {0};
    struct tbl_view *v = NULL;
    infino_status st;

    *out = NULL;
    *n = 0;
    st = tbl_view_acquire(&v, t);
    if (st == INFINO_OK)
        st = tbl_view_scan(v, cols, 1, tl_keys_cb, &c);
    tbl_view_release(v);
    if (st != INFINO_OK) {
        mem_free(c.ks);
        return st;
    }
    if (c.n > 1)
        qsort(c.ks, c.n, sizeof *c.ks, tf_cmp_i64);
    *out = c.ks;
    *n = c.n;
    return INFINO_OK;
}

/* Fails the test unless the table's keys are exactly want[0..n_want)
 * (sorted). */
static inline void tl_assert_keys(struct tbl *t, const int64_t *want,
                                  size_t n_want, const char *what)
{
    int64_t *got;
    size_t n;

    assert_ok(tl_keys(t, &got, &n));
    if (n_want == 0 ? n != 0 : !tf_keys_equal(got, n, want, n_want)) {
        size_t i = 0;
        while (i < n && i < n_want && got[i] == want[i])
            i++;
        fail_msg("%s: %zu keys, want %zu; first difference at %zu "
                 "(got %lld, want %lld)",
                 what, n, n_want, i, i < n ? (long long)got[i] : -1LL,
                 i < n_want ? (long long)want[i] : -1LL);
    }
    mem_free(got);
}

/* The newest snapshot's version, through a view. */
static inline uint64_t tl_version(struct tbl *t)
{
    struct tbl_view *v;
    uint64_t ver;

    assert_ok(tbl_view_acquire(&v, t));
    ver = tbl_view_snapshot(v)->version;
    tbl_view_release(v);
    return ver;
}

/* Runs tbl_check and fails the test unless it passes with `live` rows. */
static inline void tl_assert_check(struct tbl *t, uint64_t live,
                                   const char *what)
{
    struct tbl_check_report r;

    if (tbl_check(t, &r) != INFINO_OK)
        fail_msg("%s: check fails: %s", what, err_last());
    if (r.n_rows != live)
        fail_msg("%s: check counts %llu live rows, want %llu", what,
                 (unsigned long long)r.n_rows, (unsigned long long)live);
}

/* ---- matchers (tbl_match_fn) --------------------------------------------- */

/* Selects the live rows whose k satisfies `fn`. */
struct tl_pred {
    bool (*fn)(int64_t k, const void *arg);
    const void *arg;
};

struct tl_match_ctx {
    const struct tl_pred *p;
    roaring_bitmap_t **per_sf;
};

static inline infino_status tl_match_cb(size_t sf, const struct ArrowArray *b,
                                        const uint32_t *rows, void *payload)
{
    struct tl_match_ctx *c = payload;
    const struct ArrowArray *col = b->children[0];
    const int64_t *v = (const int64_t *)col->buffers[1] + col->offset;

    for (int64_t i = 0; i < col->length; i++) {
        if (!c->p->fn(v[i], c->p->arg))
            continue;
        if (c->per_sf[sf] == NULL &&
            (c->per_sf[sf] = roaring_bitmap_create()) == NULL)
            return err_nomem();
        roaring_bitmap_add(c->per_sf[sf], rows[i]);
    }
    return INFINO_OK;
}

static inline infino_status tl_match(roaring_bitmap_t **per_sf,
                                     struct tbl_view *v, void *payload)
{
    static const char *const cols[] = {"k"};
    struct tl_match_ctx c = {payload, per_sf};

    return tbl_view_scan(v, cols, 1, tl_match_cb, &c);
}

/* Predicate: k is one of a sorted list. */
struct tl_key_set {
    const int64_t *ks;
    size_t n;
};

static inline bool tl_in_set(int64_t k, const void *arg)
{
    const struct tl_key_set *s = arg;

    return s->n > 0 &&
           bsearch(&k, s->ks, s->n, sizeof *s->ks, tf_cmp_i64) != NULL;
}

#endif
