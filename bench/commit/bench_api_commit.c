/*
 * bench_api_commit.c - what one commit costs as a table grows.
 *
 * Appends one row at a time to a fresh table (each append one commit and
 * one new superfile) and reports, for windows of commits around the
 * 10th, 100th, 1,000th, 10,000th (and further with --commits), the mean
 * wall and CPU time per commit, then the cost of opening the table and of
 * counting its rows with a fresh handle, and of scanning every superfile
 * (with the process's memory maps before and after: a handle maps a
 * bounded number of superfiles). One JSON line per result.
 *
 *   bench_api_commit [--commits N] [--dir PATH]
 */
#define _GNU_SOURCE
#include "infino.h"

#include "format/arrow/arrow.h"
#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long count_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    long n = 0;
    int c;

    if (f == NULL)
        return -1;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static void die(const char *what, infino_status st)
{
    fprintf(stderr, "%s: %s: %s\n", what, infino_status_str(st),
            infino_last_error());
    exit(1);
}

static struct ar_schema schema;

static void one_row(struct ArrowArrayStream *out, int64_t k)
{
    struct ar_field root = {0};
    struct ar_builder *b;
    struct ArrowArray batch;
    infino_status st;

    root.name = (char *)"";
    root.type = AR_STRUCT;
    root.n_children = schema.n_fields;
    root.children = schema.fields;
    if ((st = ar_builder_new(&b, &root)) != INFINO_OK ||
        (st = ar_builder_append_int(ar_builder_child(b, 0), k)) !=
            INFINO_OK ||
        (st = ar_builder_end_struct(b)) != INFINO_OK ||
        (st = ar_builder_finish(b, &batch)) != INFINO_OK)
        die("building a row", st);
    ar_builder_free(b);
    if ((st = ar_stream_from_batches(out, &schema, &batch, 1)) != INFINO_OK)
        die("stream", st);
}

int main(int argc, char **argv)
{
    long commits = 10000;
    const char *dir = "bench/scratch/commit";
    infino_db *db;
    infino_table *t;
    struct ArrowSchema cs;
    infino_status st;
    long marks[] = {10, 100, 1000, 10000, 30000, 100000};
    const long window = 50;
    char cmd[600];

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--commits") == 0)
            commits = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    schema.n_fields = 1;
    schema.fields = mem_calloc(1, sizeof *schema.fields);
    schema.fields[0].name = mem_strdup("k");
    schema.fields[0].type = AR_INT64;
    if ((st = infino_connect(&db, dir, NULL)) != INFINO_OK)
        die("connect", st);
    if ((st = ar_schema_export(&cs, &schema)) != INFINO_OK)
        die("schema", st);
    if ((st = infino_create_table(&t, db, "t", &cs, NULL)) != INFINO_OK)
        die("create", st);
    cs.release(&cs);
    for (long i = 1, m = 0; i <= commits; i++) {
        bool timed = false;
        double w0 = 0, c0 = 0;
        struct ArrowArrayStream s;

        while (m < (long)(sizeof marks / sizeof *marks) && marks[m] < i)
            m++;
        if (m < (long)(sizeof marks / sizeof *marks) && i == marks[m] &&
            marks[m] <= commits) {
            timed = true;
            w0 = now_s();
            c0 = cpu_s();
        }
        if (!timed) {
            one_row(&s, i);
            if ((st = infino_table_append(t, &s, NULL)) != INFINO_OK)
                die("append", st);
            continue;
        }
        for (long j = 0; j < window; j++) {
            one_row(&s, i + j);
            if ((st = infino_table_append(t, &s, NULL)) != INFINO_OK)
                die("append", st);
        }
        printf("{\"bench\":\"commit\",\"superfiles\":%ld,\"commits\":%ld,"
               "\"wall_us_per_commit\":%.1f,\"cpu_us_per_commit\":%.1f}\n",
               i, window, (now_s() - w0) / (double)window * 1e6,
               (cpu_s() - c0) / (double)window * 1e6);
        fflush(stdout);
        i += window - 1;
    }
    infino_table_close(t);
    {
        double w0 = now_s(), c0 = cpu_s();
        uint64_t n;
        if ((st = infino_open_table(&t, db, "t")) != INFINO_OK ||
            (st = infino_table_count_rows(t, &n)) != INFINO_OK)
            die("open", st);
        printf("{\"bench\":\"open\",\"superfiles\":%ld,\"rows\":%llu,"
               "\"wall_ms\":%.2f,\"cpu_ms\":%.2f}\n",
               commits, (unsigned long long)n, (now_s() - w0) * 1e3,
               (cpu_s() - c0) * 1e3);
        {
            const char *cols[] = {"k"};
            struct ArrowArrayStream s;
            struct ArrowArray a;
            long maps0 = count_maps();
            uint64_t rows = 0;
            w0 = now_s();
            c0 = cpu_s();
            if ((st = infino_table_scan(t, cols, 1, NULL, &s)) != INFINO_OK)
                die("scan", st);
            for (;;) {
                if (s.get_next(&s, &a) != 0)
                    die("scan next", INFINO_ERR_IO);
                if (a.release == NULL)
                    break;
                rows += (uint64_t)a.length;
                a.release(&a);
            }
            s.release(&s);
            printf("{\"bench\":\"scan\",\"superfiles\":%ld,\"rows\":%llu,"
                   "\"wall_ms\":%.2f,\"cpu_ms\":%.2f,\"maps_before\":%ld,"
                   "\"maps_after\":%ld}\n",
                   commits, (unsigned long long)rows, (now_s() - w0) * 1e3,
                   (cpu_s() - c0) * 1e3, maps0, count_maps());
        }
        infino_table_close(t);
    }
    infino_db_close(db);
    return 0;
}
