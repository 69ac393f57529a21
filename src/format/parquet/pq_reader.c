/*
 * pq_reader.c - the reader half of parquet.h: footer, schema, key-value
 * metadata, row groups and scans.
 *
 * File layout (parquet-format README, "File Format"): "PAR1", column
 * chunks, FileMetaData, its 4-byte little-endian length, "PAR1". Opening
 * validates everything later reads rely on (magic, footer bounds, one
 * column chunk per leaf with the leaf's type and path, chunk byte ranges
 * inside the data region, row counts), so a row-group read only has page
 * contents left to distrust.
 */
#include "pq_read.h"

#include "util/alloc.h"
#include "util/base64.h"
#include "util/bufpool.h"
#include "util/err.h"

#include <string.h>

#define ARROW_SCHEMA_KEY "ARROW:schema"

void pq_reader_free(struct pq_reader *r)
{
    if (r == NULL)
        return;
    pq_page_maps_free(r);
    pq_schema_free(&r->ps);
    ar_schema_free(&r->schema);
    pq_file_meta_free(&r->meta);
    arena_free(&r->arena);
    mem_free(r);
}

static infino_status corrupt(const char *what)
{
    return err_set(INFINO_ERR_CORRUPT, "%s", what);
}

/* NUL-terminated copies of the footer's key-value entries. */
static infino_status copy_kv(struct pq_reader *r)
{
    size_t n = r->meta.n_kv;

    r->kv_keys = arena_calloc(&r->arena, n, sizeof *r->kv_keys);
    r->kv_values = arena_calloc(&r->arena, n, sizeof *r->kv_values);
    r->kv_lens = arena_calloc(&r->arena, n, sizeof *r->kv_lens);
    if (!r->kv_keys || !r->kv_values || !r->kv_lens)
        return err_nomem();
    for (size_t i = 0; i < n; i++) {
        const struct pq_kv *kv = &r->meta.kv[i];
        r->kv_keys[i] = arena_strndup(&r->arena, kv->key.p, kv->key.len);
        if (r->kv_keys[i] == NULL)
            return err_nomem();
        if (kv->value.p != NULL) {
            r->kv_values[i] =
                arena_strndup(&r->arena, kv->value.p, kv->value.len);
            if (r->kv_values[i] == NULL)
                return err_nomem();
            r->kv_lens[i] = kv->value.len;
        }
    }
    r->n_kv = n;
    return INFINO_OK;
}

/* Decodes the ARROW:schema entry into *out. A hint that does not decode
 * (damaged, or a type we do not read) is dropped: the Parquet schema is
 * enough to read the file. */
static infino_status load_hint(struct pq_reader *r, struct ar_schema *out,
                               bool *have)
{
    struct buf raw = {0};
    size_t len;
    const char *b64 = pq_reader_kv(r, ARROW_SCHEMA_KEY, &len);
    infino_status st;

    *have = false;
    if (b64 == NULL)
        return INFINO_OK;
    st = base64_decode(&raw, b64, len);
    if (st == INFINO_OK)
        st = ar_schema_from_ipc(out, raw.data, raw.len);
    buf_free(&raw);
    if (st == INFINO_ERR_NOMEM)
        return st;
    *have = st == INFINO_OK;
    return INFINO_OK;
}

static bool path_matches(const struct pq_leaf *leaf,
                         const struct pq_column_meta *cm)
{
    if (cm->n_path != leaf->n_path)
        return false;
    for (size_t i = 0; i < cm->n_path; i++)
        if (cm->path[i].len != leaf->path[i].len ||
            memcmp(cm->path[i].p, leaf->path[i].p, cm->path[i].len) != 0)
            return false;
    return true;
}

static infino_status check_row_groups(struct pq_reader *r)
{
    int64_t total = 0;

    if (r->meta.n_row_groups > INT32_MAX)
        return corrupt("too many row groups");
    for (size_t g = 0; g < r->meta.n_row_groups; g++) {
        const struct pq_row_group *rg = &r->meta.row_groups[g];
        if (rg->num_rows < 0 || rg->num_rows > INT64_MAX - total)
            return err_set(INFINO_ERR_CORRUPT, "row group %zu: %lld rows", g,
                           (long long)rg->num_rows);
        total += rg->num_rows;
        if (rg->n_columns != r->ps.n_leaves)
            return err_set(INFINO_ERR_CORRUPT,
                           "row group %zu has %zu columns, the schema %zu", g,
                           rg->n_columns, r->ps.n_leaves);
        for (size_t c = 0; c < rg->n_columns; c++) {
            const struct pq_column_chunk *cc = &rg->columns[c];
            const struct pq_column_meta *cm = &cc->meta_data;
            const struct pq_leaf *leaf = &r->ps.leaves[c];
            uint64_t off, len;
            infino_status st;
            if (cc->encrypted)
                return err_set(INFINO_ERR_UNSUPPORTED,
                               "row group %zu column '%s' is encrypted", g,
                               leaf->arrow->name);
            if (cc->file_path.p != NULL)
                return err_set(INFINO_ERR_UNSUPPORTED,
                               "row group %zu column '%s' lives in another "
                               "file",
                               g, leaf->arrow->name);
            if (!cc->has_meta_data)
                return err_set(INFINO_ERR_CORRUPT,
                               "row group %zu column '%s' has no metadata", g,
                               leaf->arrow->name);
            if (cm->type != leaf->type || !path_matches(leaf, cm))
                return err_set(INFINO_ERR_CORRUPT,
                               "row group %zu column %zu does not match the "
                               "schema's column '%s'",
                               g, c, leaf->arrow->name);
            if (cm->num_values < 0 ||
                (!leaf->is_list && cm->num_values != rg->num_rows))
                return err_set(INFINO_ERR_CORRUPT,
                               "row group %zu column '%s': %lld values for "
                               "%lld rows",
                               g, leaf->arrow->name,
                               (long long)cm->num_values,
                               (long long)rg->num_rows);
            if ((st = pq_chunk_range(r, cm, &off, &len)) != INFINO_OK)
                return err_context(st, "row group %zu column '%s'", g,
                                   leaf->arrow->name);
        }
    }
    if (total != r->meta.num_rows)
        return err_set(INFINO_ERR_CORRUPT,
                       "row groups hold %lld rows, the footer says %lld",
                       (long long)total, (long long)r->meta.num_rows);
    r->num_rows = total;
    return INFINO_OK;
}

static infino_status load_orders(struct pq_reader *r)
{
    size_t n = r->ps.n_leaves;

    r->orders = arena_calloc(&r->arena, n, sizeof *r->orders);
    if (r->orders == NULL)
        return err_nomem();
    /* parquet.thrift: one ColumnOrder per leaf; without them (or with a
     * list that does not match) min_value/max_value mean nothing. */
    if (r->meta.n_column_orders == n)
        memcpy(r->orders, r->meta.column_orders, n * sizeof *r->orders);
    return INFINO_OK;
}

infino_status pq_reader_open(struct pq_reader **out, struct store_blob *blob)
{
    struct pq_reader *r = NULL;
    struct ar_schema hint = {0};
    const uint8_t *head, *tail;
    uint32_t footer_len;
    bool have_hint = false;
    infino_status st;

    *out = NULL;
    r = mem_calloc(1, sizeof *r);
    if (r == NULL)
        return err_nomem();
    r->blob = blob;
    r->name = store_blob_name(blob);
    r->file_size = store_blob_size(blob);
    if (r->file_size < 12)
        CHECK(corrupt("too small for a Parquet file"));
    CHECK(store_blob_read(blob, 0, 4, &head));
    CHECK(store_blob_read(blob, r->file_size - 8, 8, &tail));
    if (memcmp(tail + 4, "PARE", 4) == 0)
        CHECK(err_set(INFINO_ERR_UNSUPPORTED, "encrypted footer"));
    if (memcmp(head, "PAR1", 4) != 0 || memcmp(tail + 4, "PAR1", 4) != 0)
        CHECK(corrupt("missing PAR1 magic"));
    footer_len = load_u32le(tail);
    if (footer_len > r->file_size - 12)
        CHECK(err_set(INFINO_ERR_CORRUPT,
                      "footer length %u exceeds the file", footer_len));
    r->footer_off = r->file_size - 8 - footer_len;
    CHECK(store_blob_read(blob, r->footer_off, footer_len, &r->footer));
    CHECK(pq_meta_decode_file(&r->meta, r->footer, footer_len));
    if (r->meta.encrypted)
        CHECK(err_set(INFINO_ERR_UNSUPPORTED, "encrypted columns"));
    CHECK(copy_kv(r));
    CHECK(load_hint(r, &hint, &have_hint));
    CHECK(pq_schema_from_parquet(&r->ps, &r->schema, r->meta.schema,
                                 r->meta.n_schema, have_hint ? &hint : NULL));
    for (size_t i = 0; i < r->n_kv; i++)
        if (strcmp(r->kv_keys[i], ARROW_SCHEMA_KEY) != 0 && r->kv_values[i])
            CHECK(ar_schema_set_meta(&r->schema, r->kv_keys[i],
                                     r->kv_values[i], r->kv_lens[i]));
    CHECK(check_row_groups(r));
    CHECK(load_orders(r));
    pq_reader_set_max_bytes(r, 0);
    ar_schema_free(&hint);
    *out = r;
    return INFINO_OK;
fail:
    ar_schema_free(&hint);
    st = err_context(st, "%s", r->name ? r->name : "parquet");
    pq_reader_free(r);
    return st;
}

void pq_reader_set_max_bytes(struct pq_reader *r, uint64_t max_bytes)
{
    if (max_bytes == 0) {
        max_bytes = PQ_READ_LIMIT_MIN;
        if (r->file_size <= UINT64_MAX / PQ_READ_LIMIT_RATIO &&
            r->file_size * PQ_READ_LIMIT_RATIO > max_bytes)
            max_bytes = r->file_size * PQ_READ_LIMIT_RATIO;
    }
    r->max_bytes = max_bytes;
}

const struct ar_schema *pq_reader_schema(const struct pq_reader *r)
{
    return &r->schema;
}

int64_t pq_reader_num_rows(const struct pq_reader *r)
{
    return r->num_rows;
}

int pq_reader_num_row_groups(const struct pq_reader *r)
{
    return (int)r->meta.n_row_groups;
}

int64_t pq_reader_row_group_rows(const struct pq_reader *r, int rg)
{
    if (rg < 0 || (size_t)rg >= r->meta.n_row_groups)
        return 0;
    return r->meta.row_groups[rg].num_rows;
}

uint64_t pq_reader_footer_offset(const struct pq_reader *r)
{
    return r->footer_off;
}

const char *pq_reader_kv(const struct pq_reader *r, const char *key,
                         size_t *len_out)
{
    for (size_t i = 0; i < r->n_kv; i++) {
        if (strcmp(r->kv_keys[i], key) == 0 && r->kv_values[i] != NULL) {
            if (len_out)
                *len_out = r->kv_lens[i];
            return r->kv_values[i];
        }
    }
    if (len_out)
        *len_out = 0;
    return NULL;
}

size_t pq_reader_kv_count(const struct pq_reader *r)
{
    return r->n_kv;
}

void pq_reader_kv_at(const struct pq_reader *r, size_t i, const char **key_out,
                     const char **value_out, size_t *value_len_out)
{
    *key_out = r->kv_keys[i];
    *value_out = r->kv_values[i];
    *value_len_out = r->kv_lens[i];
}

/* ---- reading ---------------------------------------------------------- */

static infino_status check_fields(const struct pq_reader *r, const int *fields,
                                  size_t n_fields)
{
    if (n_fields > 0 && fields == NULL)
        return err_set(INFINO_ERR_INVALID, "fields is NULL");
    for (size_t i = 0; i < n_fields; i++)
        if (fields[i] < 0 || (size_t)fields[i] >= r->schema.n_fields)
            return err_set(INFINO_ERR_INVALID, "field %d out of range",
                           fields[i]);
    return INFINO_OK;
}

/* A row-group read decodes each column chunk once, into buffers it owns
 * (no array it returns points into the blob), so the chunk's mapped pages
 * can leave the resident set right away: a scan then holds about one
 * column chunk of the file at a time, not every page it has read. Point
 * reads keep theirs (they come back to the same pages). */
static void release_chunk(const struct pq_reader *r, int rg, size_t leaf)
{
    uint64_t off, len;

    /* check_row_groups() validated every range at open */
    if (pq_chunk_range(r, &r->meta.row_groups[rg].columns[leaf].meta_data,
                       &off, &len) == INFINO_OK &&
        len > 0)
        store_blob_release(r->blob, off, len);
}

/* pq_reader_read_row_group() with large buffers from `pool` (NULL: none);
 * *used_out gets the bytes the read allocated. */
static infino_status read_group(struct pq_reader *r, int rg, const int *fields,
                                size_t n_fields, struct bufpool *pool,
                                struct ArrowArray *out, uint64_t *used_out)
{
    struct ArrowArray *children = NULL;
    void *root_validity = NULL;
    uint64_t budget = r->max_bytes;
    size_t n, made = 0;
    infino_status st;

    memset(out, 0, sizeof *out);
    if (rg < 0 || (size_t)rg >= r->meta.n_row_groups)
        return err_set(INFINO_ERR_INVALID, "%s: no row group %d", r->name,
                       rg);
    CHECK(check_fields(r, fields, n_fields));
    n = fields ? n_fields : r->schema.n_fields;
    children = mem_calloc(n ? n : 1, sizeof *children);
    if (children == NULL)
        CHECK(err_nomem());
    for (made = 0; made < n; made++) {
        size_t leaf = fields ? (size_t)fields[made] : made;
        CHECK(pq_read_column(&children[made], r, rg, leaf, &budget, pool));
        release_chunk(r, rg, leaf);
    }
    st = ar_array_make(out, r->meta.row_groups[rg].num_rows, 0, 1,
                       &root_validity, (int)n, children);
    made = 0; /* moved into *out, released there on failure too */
    mem_free(children);
    *used_out = r->max_bytes - budget;
    if (st != INFINO_OK)
        return err_context(st, "%s: row group %d", r->name, rg);
    return INFINO_OK;
fail:
    for (size_t i = 0; i < made; i++)
        ar_array_release(&children[i]);
    mem_free(children);
    return err_context(st, "%s: row group %d", r->name, rg);
}

infino_status pq_reader_read_row_group(struct pq_reader *r, int rg,
                                       const int *fields, size_t n_fields,
                                       struct ArrowArray *out)
{
    uint64_t used;

    return read_group(r, rg, fields, n_fields, NULL, out, &used);
}

static infino_status check_rows(const struct pq_reader *r, int rg,
                                const uint32_t *rows, size_t n_rows)
{
    int64_t n = r->meta.row_groups[rg].num_rows;

    if (n_rows > 0 && rows == NULL)
        return err_set(INFINO_ERR_INVALID, "rows is NULL");
    for (size_t i = 0; i < n_rows; i++) {
        if ((int64_t)rows[i] >= n)
            return err_set(INFINO_ERR_INVALID,
                           "row %u out of range (row group %d has %lld)",
                           rows[i], rg, (long long)n);
        if (i > 0 && rows[i] <= rows[i - 1])
            return err_set(INFINO_ERR_INVALID,
                           "rows must be ascending and unique (%u after %u)",
                           rows[i], rows[i - 1]);
    }
    return INFINO_OK;
}

infino_status pq_reader_read_rows(struct pq_reader *r, int rg,
                                  const int *fields, size_t n_fields,
                                  const uint32_t *rows, size_t n_rows,
                                  struct ArrowArray *out)
{
    struct ArrowArray *children = NULL;
    void *root_validity = NULL;
    uint64_t budget = r->max_bytes;
    size_t n, made = 0;
    infino_status st;

    memset(out, 0, sizeof *out);
    if (rg < 0 || (size_t)rg >= r->meta.n_row_groups)
        return err_set(INFINO_ERR_INVALID, "%s: no row group %d", r->name,
                       rg);
    CHECK(check_fields(r, fields, n_fields));
    CHECK(check_rows(r, rg, rows, n_rows));
    n = fields ? n_fields : r->schema.n_fields;
    children = mem_calloc(n ? n : 1, sizeof *children);
    if (children == NULL)
        CHECK(err_nomem());
    for (made = 0; made < n; made++)
        CHECK(pq_read_column_rows(&children[made], r, rg,
                                  fields ? (size_t)fields[made] : made, rows,
                                  n_rows, &budget));
    st = ar_array_make(out, (int64_t)n_rows, 0, 1, &root_validity, (int)n,
                       children);
    made = 0; /* moved into *out, released there on failure too */
    mem_free(children);
    if (st != INFINO_OK)
        return err_context(st, "%s: row group %d", r->name, rg);
    return INFINO_OK;
fail:
    for (size_t i = 0; i < made; i++)
        ar_array_release(&children[i]);
    mem_free(children);
    return err_context(st, "%s: row group %d", r->name, rg);
}

bool pq_reader_row_group_may_match(const struct pq_reader *r, int rg,
                                   const struct pq_filter *filters,
                                   size_t n_filters)
{
    if (rg < 0 || (size_t)rg >= r->meta.n_row_groups)
        return true;
    for (size_t i = 0; i < n_filters; i++)
        if (!pq_stats_may_match(r, rg, &filters[i]))
            return false;
    return true;
}

/* ---- scans ------------------------------------------------------------ */

struct pq_scan {
    struct pq_reader *r; /* borrowed */
    /* Output buffers the consumer gave back, for the next row group: a
     * scan whose consumer drops each batch before the next decodes into
     * memory that is already mapped. Owned (the batches hold references
     * too). */
    struct bufpool *pool;
    int *fields;         /* owned; NULL = all */
    size_t n_fields;
    struct pq_filter *filters; /* owned copy; byte values borrowed */
    size_t n_filters;
    int next_rg;
    struct ar_schema schema; /* owned: the projected fields */
};

void pq_scan_free(struct pq_scan *s)
{
    if (s == NULL)
        return;
    bufpool_close(s->pool);
    mem_free(s->fields);
    mem_free(s->filters);
    ar_schema_free(&s->schema);
    mem_free(s);
}

infino_status pq_scan_open(struct pq_scan **out, struct pq_reader *r,
                           const int *fields, size_t n_fields,
                           const struct pq_filter *filters, size_t n_filters)
{
    struct pq_scan *s;
    size_t n;
    infino_status st;

    *out = NULL;
    if ((st = check_fields(r, fields, n_fields)) != INFINO_OK)
        return st;
    for (size_t i = 0; i < n_filters; i++)
        if (filters[i].field < 0 ||
            (size_t)filters[i].field >= r->schema.n_fields)
            return err_set(INFINO_ERR_INVALID, "filter on field %d out of "
                                               "range",
                           filters[i].field);
    s = mem_calloc(1, sizeof *s);
    if (s == NULL)
        return err_nomem();
    s->r = r;
    CHECK(bufpool_new(&s->pool, 0));
    n = fields ? n_fields : r->schema.n_fields;
    if (fields) {
        s->fields = mem_alloc((n ? n : 1) * sizeof *s->fields);
        if (s->fields == NULL)
            CHECK(err_nomem());
        memcpy(s->fields, fields, n * sizeof *s->fields);
        s->n_fields = n;
    }
    if (n_filters > 0) {
        s->filters = mem_alloc(n_filters * sizeof *s->filters);
        if (s->filters == NULL)
            CHECK(err_nomem());
        memcpy(s->filters, filters, n_filters * sizeof *s->filters);
        s->n_filters = n_filters;
    }
    s->schema.fields = mem_calloc(n ? n : 1, sizeof *s->schema.fields);
    if (s->schema.fields == NULL)
        CHECK(err_nomem());
    for (size_t i = 0; i < n; i++) {
        CHECK(ar_field_copy(&s->schema.fields[i],
                            &r->schema.fields[fields ? fields[i] : (int)i]));
        s->schema.n_fields = i + 1;
    }
    *out = s;
    return INFINO_OK;
fail:
    pq_scan_free(s);
    return st;
}

infino_status pq_scan_next(struct pq_scan *s, struct ArrowArray *out,
                           bool *eof)
{
    memset(out, 0, sizeof *out);
    *eof = false;
    while ((size_t)s->next_rg < s->r->meta.n_row_groups) {
        int rg = s->next_rg++;
        uint64_t used = 0;
        infino_status st;
        if (!pq_reader_row_group_may_match(s->r, rg, s->filters, s->n_filters))
            continue;
        st = read_group(s->r, rg, s->fields, s->n_fields, s->pool, out,
                        &used);
        /* keep about one row group's buffers once they come back */
        bufpool_keep_at_least(s->pool, used);
        return st;
    }
    *eof = true;
    return INFINO_OK;
}

const struct ar_schema *pq_scan_schema(const struct pq_scan *s)
{
    return &s->schema;
}
