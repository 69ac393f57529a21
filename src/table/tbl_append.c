/*
 * tbl_append.c - writing superfiles and committing appends.
 *
 * An append streams its batches through the conformer into one new
 * superfile, minting an _id for every row on the way, makes the file
 * durable, and only then commits a snapshot that lists it. Nothing is
 * visible until that commit; a failure before it removes the file. After
 * the commit, automatic compaction may merge small superfiles
 * (tbl_auto_compact in tbl_optimize.c).
 */
#include "table_int.h"

#include "util/alloc.h"
#include "util/err.h"
#include "util/random.h"

#include <stdio.h>
#include <string.h>

void tbl_discard_superfile(struct tbl *t, const uint8_t id[SNAP_SF_ID_LEN])
{
    char key[700], saved[1024];

    snprintf(saved, sizeof saved, "%s", err_last());
    snapshot_sf_key(key, sizeof key, t->meta.dir, id);
    objstore_delete(t->store, key);
    tbl_lease_drop(t, key);
    err_set(INFINO_OK, "%s", saved);
}

static void noop_release(struct ArrowArray *a)
{
    a->release = NULL;
}

/* Prepends a minted _id column to a user batch, for sf_builder_add. */
static infino_status with_ids(struct tbl *t, const struct ArrowArray *user,
                              struct ArrowArray *ids,
                              struct ArrowArray **kids, struct ArrowArray *out,
                              struct tid *first, struct tid *last)
{
    uint8_t *vals = mem_alloc((size_t)user->length * 16 + 1);
    infino_status st;

    if (vals == NULL)
        return err_nomem();
    idgen_fill(&t->ids, vals, (uint64_t)user->length, first, last);
    void *bufs[2] = {NULL, vals};
    st = ar_array_make(ids, user->length, 0, 2, bufs, 0, NULL);
    if (st != INFINO_OK)
        return st;
    kids[0] = ids;
    for (int64_t i = 0; i < user->n_children; i++)
        kids[i + 1] = user->children[i];
    memset(out, 0, sizeof *out);
    static const void *no_validity[1] = {NULL};
    out->length = user->length;
    out->n_buffers = 1;
    out->buffers = no_validity;
    out->n_children = user->n_children + 1;
    out->children = kids;
    out->release = noop_release;
    return INFINO_OK;
}

infino_status tbl_write_superfile(struct snap_sf *e, struct tbl *t,
                                  struct tbl_batch_source *src)
{
    struct store_sink *sink = NULL;
    struct sf_builder *b = NULL;
    struct sf_build_info info = {0};
    struct sf_build_opts bo = {0};
    struct ArrowArray **kids = NULL;
    const struct ar_schema *schema = src->schema;
    struct objstore_entry ent;
    char key[700];
    bool have_ids = false, published = false, leased = false;
    uint32_t file_crc;
    uint64_t file_len;
    infino_status st;

    memset(e, 0, sizeof *e);
    random_bytes(e->id, SNAP_SF_ID_LEN);
    snapshot_sf_key(key, sizeof key, t->meta.dir, e->id);
    bo.mem_budget = t->opts.mem_budget;
    bo.tmp_dir = t->opts.tmp_dir;
    bo.pq = (struct pq_write_opts)PQ_WRITE_OPTS_INIT;
    if (t->opts.zstd_level)
        bo.pq.zstd_level = t->opts.zstd_level;
    /* Row groups of at most 64K rows (as upstream writes them) and a size
     * that keeps one decoded row group well inside the memory budget, so
     * optimize and point reads never hold a huge group. */
    bo.pq.row_group_rows = TBL_ROW_GROUP_ROWS;
    bo.pq.row_group_bytes = t->opts.mem_budget / 8;
    if (bo.pq.row_group_bytes > TBL_ROW_GROUP_BYTES)
        bo.pq.row_group_bytes = TBL_ROW_GROUP_BYTES;
    if (bo.pq.row_group_bytes < (1u << 20))
        bo.pq.row_group_bytes = 1u << 20;
    /* Search results fetch single rows: a point read decompresses one
     * page per column and row group it touches (and decodes only the
     * rows asked for), plus one dictionary page. 16 KiB pages fetch a
     * projected column 2-2.5x faster than 64 KiB ones and make full scans
     * of a zstd text column 10-20% slower, the files <1% larger: search
     * then fetch is what this table is for. Embeddings (fetched for every
     * vector search, to rescore it) are stored uncompressed: float32 noise
     * gains nothing from zstd, and a point read then copies the row out of
     * the mapping. So are the other fixed-width columns (numbers, dates,
     * timestamps): decompressing a 16 KiB page to return one 8-byte value
     * was 90% of fetching it (+390 us for 10 hits on 100K rows, +12 us
     * uncompressed, for +0.7% on disk; bench/point/README.md). Strings
     * stay zstd: uncompressed text would grow the table by half.
     * Dictionaries past 64 KiB fall back to PLAIN, as a large one would be
     * decoded whole for every row read (bench/point/README.md). */
    bo.pq.page_bytes = 16u << 10;
    bo.pq.fixed_list_page_bytes = 16u << 10;
    bo.pq.fixed_list_codec = PQ_UNCOMPRESSED;
    bo.pq.fixed_width_codec = PQ_UNCOMPRESSED;
    bo.pq.dictionary_bytes = 64u << 10;
    if (schema == NULL)
        schema = tbl_full_schema(t);
    kids = mem_calloc(schema->n_fields + 1, sizeof *kids);
    if (kids == NULL) {
        st = err_nomem();
        goto fail;
    }
    CHECK(tbl_lease_take(t, key));
    leased = true;
    CHECK(objstore_put_sink(t->store, key, &sink));
    CHECK(sf_builder_open(&b, sink, schema, &t->meta.spec, &bo));
    for (;;) {
        struct ArrowArray user, ids = {0}, full;
        struct tid first, last;

        CHECK(tbl_lease_tick(t));
        CHECK(src->next(src->payload, &user));
        if (user.release == NULL)
            break;
        if (src->has_ids) {
            /* Rows that already have ids keep them (optimize). */
            const struct ArrowArray *idc = user.children[0];
            const uint8_t *v = (const uint8_t *)idc->buffers[1] +
                               (size_t)(idc->offset + user.offset) * 16;
            first = tid_load(v);
            last = tid_load(v + (size_t)(user.length - 1) * 16);
            for (int64_t i = 0; i < user.length; i++) {
                struct tid x = tid_load(v + (size_t)i * 16);
                if (tid_cmp(x, first) < 0)
                    first = x;
                if (tid_cmp(x, last) > 0)
                    last = x;
            }
            st = sf_builder_add(b, &user);
        } else {
            CHECK(with_ids(t, &user, &ids, kids, &full, &first, &last));
            st = sf_builder_add(b, &full);
            ar_array_release(&ids);
        }
        if (st != INFINO_OK)
            goto fail;
        if (!have_ids || tid_cmp(first, e->id_min) < 0)
            e->id_min = first;
        if (!have_ids || tid_cmp(last, e->id_max) > 0)
            e->id_max = last;
        have_ids = true;
    }
    if (sf_builder_num_rows(b) == 0) {
        sf_builder_free(b);
        store_sink_abort(sink);
        tbl_lease_drop(t, key);
        mem_free(kids);
        memset(e, 0, sizeof *e);
        return INFINO_OK;
    }
    CHECK(sf_builder_finish(b, &info));
    file_crc = store_sink_file_crc(sink); /* Table.check() verifies it */
    file_len = store_sink_tell(sink);
    st = store_sink_finish(sink, STORE_NOREPLACE);
    sink = NULL;
    /* An I/O error may hide a publish that happened (an answer lost, then
     * "exists" on the retry): the name is ours alone, so our bytes there
     * mean it did. */
    if (st != INFINO_OK && st != INFINO_ERR_EXISTS && st != INFINO_ERR_NOMEM &&
        objstore_read_back(t->store, key, file_len, file_crc) == 1)
        st = INFINO_OK;
    if (st != INFINO_OK)
        goto fail;
    published = true;
    CHECK(objstore_stat(t->store, key, &ent));
    e->n_rows = info.n_rows;
    e->file_size = ent.size;
    e->has_file_crc = true;
    e->file_crc = file_crc;
    e->fts_tokens = mem_calloc(t->meta.spec.n_fts + 1, sizeof(uint64_t));
    if (e->fts_tokens == NULL) {
        st = err_nomem();
        goto fail;
    }
    memcpy(e->fts_tokens, info.fts_tokens,
           t->meta.spec.n_fts * sizeof(uint64_t));
    sf_build_info_free(&info);
    sf_builder_free(b);
    mem_free(kids);
    return INFINO_OK;
fail:
    sf_build_info_free(&info);
    sf_builder_free(b);
    store_sink_abort(sink);
    if (published)
        tbl_discard_superfile(t, e->id);
    else if (leased)
        tbl_lease_drop(t, key);
    mem_free(kids);
    mem_free(e->fts_tokens);
    memset(e, 0, sizeof *e);
    return st;
}

/* ---- append ----------------------------------------------------------- */

static infino_status conform_source(void *payload, struct ArrowArray *out)
{
    return tbl_conform_next(payload, out);
}

struct append_ctx {
    const struct snap_sf *sf;
    uint32_t n_fts;
};

static infino_status prepare_append(struct tbl_change *chg,
                                    struct tbl_view *base, void *payload)
{
    struct append_ctx *a = payload;

    (void)base;
    return tbl_change_add_sf(chg, a->sf, a->n_fts);
}

/* Builds the superfile for `rows` (consumed). */
static infino_status build_from_stream(struct snap_sf *e, struct tbl *t,
                                       struct ArrowArrayStream *rows)
{
    struct tbl_conform *c = NULL;
    struct tbl_batch_source src;
    const struct tbl_schema *sc;
    infino_status st;

    /* The newest schema (a column another handle added is accepted);
     * the superfile follows it whatever changes meanwhile. */
    st = tbl_refresh(t);
    if (st != INFINO_OK) {
        if (rows->release)
            rows->release(rows);
        return st;
    }
    sc = tbl_schema_now(t);
    st = tbl_conform_open(&c, &sc->user, rows);
    if (st != INFINO_OK)
        return st;
    src.next = conform_source;
    src.payload = c;
    src.has_ids = false;
    src.schema = &sc->full;
    st = tbl_write_superfile(e, t, &src);
    tbl_conform_free(c);
    return st;
}

infino_status tbl_append(struct tbl *t, struct ArrowArrayStream *rows,
                         uint64_t *n_rows_out)
{
    struct snap_sf e;
    struct append_ctx a;
    bool maybe;
    infino_status st;

    if (n_rows_out)
        *n_rows_out = 0;
    pthread_mutex_lock(&t->write_mu);
    st = tbl_write_begin(t);
    if (st != INFINO_OK) {
        if (rows->release)
            rows->release(rows);
        goto done;
    }
    st = build_from_stream(&e, t, rows);
    if (st != INFINO_OK || e.n_rows == 0)
        goto done;
    a.sf = &e;
    a.n_fts = (uint32_t)t->meta.spec.n_fts;
    st = tbl_commit(t, prepare_append, &a, &maybe);
    mem_free(e.fts_tokens);
    if (st != INFINO_OK && !maybe)
        tbl_discard_superfile(t, e.id); /* surely unpublished */
    if (st != INFINO_OK)
        goto done;
    if (n_rows_out)
        *n_rows_out = e.n_rows;
    /* The rows are committed (acknowledged below whatever happens here):
     * merging small superfiles now is extra work the call pays, bounded
     * by tbl_opts.compact_max_bytes, and it never fails the append. */
    tbl_auto_compact(t);
done:
    tbl_write_end(t);
    pthread_mutex_unlock(&t->write_mu);
    return err_context(st, "appending to table %s", t->meta.name);
}

infino_status tbl_build_rows(struct snap_sf *e, struct tbl *t,
                             struct ArrowArrayStream *rows)
{
    return build_from_stream(e, t, rows);
}
