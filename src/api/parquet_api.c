/*
 * parquet_api.c - the "Parquet files" section of infino.h: whole files
 * written from an Arrow stream and read back as one, on top of the
 * format/parquet writer and scanner. Argument checks and ownership live
 * here; everything else is the parquet module's.
 */
#include "infino.h"

#include "format/arrow/arrow.h"
#include "format/parquet/parquet.h"
#include "store/store.h"
#include "util/alloc.h"
#include "util/err.h"

#include <string.h>

/* infino_parquet_opts mirrors struct pq_write_opts field for field. */
static infino_status convert_opts(struct pq_write_opts *out,
                                  const infino_parquet_opts *in)
{
    static const struct pq_write_opts defaults = PQ_WRITE_OPTS_INIT;

    *out = defaults;
    if (in == NULL)
        return INFINO_OK;
    if (in->version != 1)
        return err_set(INFINO_ERR_INVALID,
                       "infino_parquet_opts version %u (expected 1)",
                       (unsigned)in->version);
    if (in->codec != PQ_UNCOMPRESSED && in->codec != PQ_SNAPPY &&
        in->codec != PQ_GZIP && in->codec != PQ_ZSTD)
        return err_set(INFINO_ERR_UNSUPPORTED,
                       "compression codec %d (use 0, 1, 2 or 6)", in->codec);
    out->codec = (enum pq_codec)in->codec;
    out->zstd_level = in->zstd_level;
    out->row_group_bytes = in->row_group_bytes;
    out->row_group_rows = in->row_group_rows;
    out->page_bytes = in->page_bytes;
    out->data_page_version = in->data_page_version;
    out->dictionary = in->dictionary;
    out->dictionary_bytes = in->dictionary_bytes;
    out->statistics = in->statistics;
    return INFINO_OK;
}

INFINO_API infino_status infino_parquet_write(const char *path,
                                              struct ArrowArrayStream *stream,
                                              const infino_parquet_opts *opts)
{
    struct pq_write_opts po;
    struct ar_schema schema = {0};
    struct store_sink *sink = NULL;
    struct pq_writer *w = NULL;
    struct ArrowArray batch;
    infino_status st;
    bool eof = false;

    memset(&batch, 0, sizeof batch);
    if (stream == NULL || stream->release == NULL)
        return err_set(INFINO_ERR_INVALID,
                       "infino_parquet_write: no stream (or released)");
    if (path == NULL)
        CHECK(err_set(INFINO_ERR_INVALID, "infino_parquet_write: no path"));
    CHECK(convert_opts(&po, opts));
    CHECK(ar_stream_import_schema(&schema, stream));
    CHECK(store_sink_open_file(&sink, path));
    CHECK(pq_writer_open(&w, sink, &schema, &po));
    for (;;) {
        /* ar_stream_next validates the batch against the schema */
        CHECK(ar_stream_next(stream, &schema, &batch, &eof));
        if (eof)
            break;
        st = pq_writer_write(w, &batch);
        ar_array_release(&batch);
        CHECK(st);
    }
    CHECK(pq_writer_finish(w));
    pq_writer_free(w);
    w = NULL;
    st = store_sink_finish(sink, STORE_REPLACE); /* frees the sink */
    sink = NULL;
    CHECK(st);
    ar_schema_free(&schema);
    stream->release(stream);
    return INFINO_OK;
fail:
    ar_array_release(&batch);
    pq_writer_free(w);
    store_sink_abort(sink);
    ar_schema_free(&schema);
    stream->release(stream);
    return err_context(st, "writing %s", path ? path : "(null)");
}

/* ---- reading ------------------------------------------------------------- */

struct read_state {
    struct store_blob *blob; /* owned */
    struct pq_reader *reader;
    struct pq_scan *scan;
};

static void read_state_free(struct read_state *s)
{
    if (s == NULL)
        return;
    pq_scan_free(s->scan);
    pq_reader_free(s->reader);
    store_blob_close(s->blob);
    mem_free(s);
}

static infino_status read_next(void *payload, struct ArrowArray *out)
{
    struct read_state *s = payload;
    bool eof = false;
    infino_status st = pq_scan_next(s->scan, out, &eof);

    if (st == INFINO_OK && eof)
        out->release = NULL; /* the end of the stream */
    return st;
}

static void read_close(void *payload)
{
    read_state_free(payload);
}

INFINO_API infino_status infino_parquet_read(struct ArrowArrayStream *out,
                                             const char *path,
                                             const char *const *columns,
                                             size_t n_columns)
{
    struct read_state *s = NULL;
    struct ar_stream_source src;
    const struct ar_schema *schema;
    int *fields = NULL;
    infino_status st;

    if (out == NULL)
        return err_set(INFINO_ERR_INVALID, "infino_parquet_read: no output");
    memset(out, 0, sizeof *out);
    if (path == NULL || (columns == NULL && n_columns > 0))
        return err_set(INFINO_ERR_INVALID,
                       "infino_parquet_read: no path or column list");
    s = mem_calloc(1, sizeof *s);
    if (s == NULL)
        return err_nomem();
    CHECK(store_blob_open_file(&s->blob, path));
    CHECK(pq_reader_open(&s->reader, s->blob));
    schema = pq_reader_schema(s->reader);
    if (n_columns > 0) {
        fields = mem_calloc(n_columns, sizeof *fields);
        if (fields == NULL)
            CHECK(err_nomem());
        for (size_t i = 0; i < n_columns; i++) {
            if (columns[i] == NULL)
                CHECK(err_set(INFINO_ERR_INVALID, "column %zu is NULL", i));
            fields[i] = ar_schema_find(schema, columns[i]);
            if (fields[i] < 0)
                CHECK(err_set(INFINO_ERR_INVALID, "no column named '%s'",
                              columns[i]));
        }
    }
    CHECK(pq_scan_open(&s->scan, s->reader, fields, n_columns, NULL, 0));
    mem_free(fields);
    fields = NULL;
    src.payload = s;
    src.next = read_next;
    src.close = read_close;
    /* the stream takes `s` from here on, also if exporting fails */
    st = ar_stream_export(out, pq_scan_schema(s->scan), src);
    if (st != INFINO_OK) {
        memset(out, 0, sizeof *out);
        return err_context(st, "reading %s", path);
    }
    return INFINO_OK;
fail:
    mem_free(fields);
    read_state_free(s);
    memset(out, 0, sizeof *out);
    return err_context(st, "reading %s", path);
}
