/*
 * api_superfile_tool.c - test helper for tests/py/test_superfile_container.py.
 *
 *   api_superfile_tool wrap IN.parquet OUT.sf.parquet
 *       re-writes IN with our writer and appends two dummy regions
 *       ("test.alpha": 1000 bytes of a pattern, "test.beta": 5000 bytes)
 *   api_superfile_tool regions FILE
 *       prints one line per region: name offset length crc intact
 */
#include "infino.h"
#include "superfile/superfile.h"
#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, infino_last_error());
    return 1;
}

static int wrap(const char *in, const char *out)
{
    struct store_blob *blob;
    struct pq_reader *r;
    struct store_sink *sink;
    struct sf_writer *w;
    uint8_t alpha[1000], beta[5000];

    if (store_blob_open_file(&blob, in) != INFINO_OK)
        return fail("open");
    if (pq_reader_open(&r, blob) != INFINO_OK)
        return fail("read footer");
    if (store_sink_open_file(&sink, out) != INFINO_OK)
        return fail("create");
    if (sf_writer_open(&w, sink, pq_reader_schema(r), NULL) != INFINO_OK)
        return fail("writer");
    for (int rg = 0; rg < pq_reader_num_row_groups(r); rg++) {
        struct ArrowArray batch;
        if (pq_reader_read_row_group(r, rg, NULL, 0, &batch) != INFINO_OK)
            return fail("read row group");
        if (sf_writer_write(w, &batch) != INFINO_OK)
            return fail("write");
        batch.release(&batch);
    }
    for (size_t i = 0; i < sizeof alpha; i++)
        alpha[i] = (uint8_t)(i * 7 + 3);
    for (size_t i = 0; i < sizeof beta; i++)
        beta[i] = (uint8_t)((i * 2654435761u) >> 13);
    if (sf_writer_add_region(w, "test.alpha", alpha, sizeof alpha) != INFINO_OK ||
        sf_writer_add_region(w, "test.beta", beta, sizeof beta) != INFINO_OK ||
        sf_writer_finish(w) != INFINO_OK)
        return fail("regions");
    if (store_sink_finish(sink, STORE_REPLACE) != INFINO_OK)
        return fail("publish");
    sf_writer_free(w);
    pq_reader_free(r);
    store_blob_close(blob);
    return 0;
}

static int regions(const char *path)
{
    infino_region_info *info;
    size_t n;

    if (infino_superfile_regions(path, &info, &n) != INFINO_OK)
        return fail("regions");
    for (size_t i = 0; i < n; i++)
        printf("%s %llu %llu %08x %d\n", info[i].name,
               (unsigned long long)info[i].offset,
               (unsigned long long)info[i].length, info[i].crc32c,
               info[i].intact);
    infino_free(info);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "wrap") == 0)
        return wrap(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "regions") == 0)
        return regions(argv[2]);
    fprintf(stderr, "usage: api_superfile_tool wrap IN OUT | regions FILE\n");
    return 2;
}
