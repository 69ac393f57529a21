/*
 * parquet_read_bench.c - times full reads of a Parquet file with
 * pq_reader (every row group, every column), for comparison with
 * pyarrow.parquet.read_table on the same file.
 * Usage: parquet_read_bench FILE [REPEATS]. Prints one JSON line per run.
 */
#include "format/parquet/parquet.h"
#include "store/store.h"
#include "util/err.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    struct store_blob *blob = NULL;
    struct pq_reader *r = NULL;
    int repeats = argc > 2 ? atoi(argv[2]) : 3;
    infino_status st;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE [REPEATS]\n", argv[0]);
        return 1;
    }
    if ((st = store_blob_open_file(&blob, argv[1])) != INFINO_OK ||
        (st = pq_reader_open(&r, blob)) != INFINO_OK) {
        fprintf(stderr, "ERROR %d %s\n", (int)st, err_last());
        return 2;
    }
    for (int k = 0; k < repeats; k++) {
        double t0 = now();
        int64_t rows = 0;
        for (int g = 0; g < pq_reader_num_row_groups(r); g++) {
            struct ArrowArray b;
            st = pq_reader_read_row_group(r, g, NULL, 0, &b);
            if (st != INFINO_OK) {
                fprintf(stderr, "ERROR %d %s\n", (int)st, err_last());
                return 2;
            }
            rows += b.length;
            ar_array_release(&b);
        }
        printf("{\"bench\":\"parquet_read\",\"rows\":%" PRId64
               ",\"seconds\":%.4f}\n",
               rows, now() - t0);
    }
    pq_reader_free(r);
    store_blob_close(blob);
    return 0;
}
