/*
 * bench_fts_search.c - builds one full-text region from the upstream
 * benchmark corpus and times warm queries.
 *
 * Corpus (as upstream infino's benches): doc d = "doc%07d" (a df = 1 term)
 * plus 200 tokens "term%05d" drawn Zipf(s = 1) from 10,000 words, seeded.
 * Prints JSON lines: build (docs/s, region bytes, peak RSS), then p50/p99
 * latency per query shape, k = 10, each query timed end to end for one
 * region: parse, local df lookup, search.
 * Usage: bench_fts_search [-n docs] [-b budget_mb] [-q runs] [-t tmpdir]
 *                         [-f region_file] [-s shape]
 * With -f, an existing file is queried without building; otherwise the
 * region is built into it and kept.
 */
#include "index/fts/fts.h"
#include "store/store.h"
#include "util/alloc.h"
#include "util/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define VOCAB 10000
#define TOKENS 200

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of this thread: robust on a machine shared with other work */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double process_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void die(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, err_last());
    exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct shape {
    const char *name;
    const char *query;
    enum fts_mode mode;
};

int main(int argc, char **argv)
{
    static const struct shape shapes[] = {
        {"single_rare", "term09999", FTS_MODE_OR},
        {"single_df1", "doc0500000", FTS_MODE_OR},
        {"single_common", "term00001", FTS_MODE_OR},
        {"two_term_or", "term00001 term00050", FTS_MODE_OR},
        {"three_wide_or", "term00001 term00050 term00100", FTS_MODE_OR},
        {"three_similar_or", "term00050 term00051 term00052", FTS_MODE_OR},
        {"five_term_or", "term00100 term00101 term00102 term00103 term00104",
         FTS_MODE_OR},
        {"ten_term_or",
         "term00100 term00101 term00102 term00103 term00104 term00105 "
         "term00106 term00107 term00108 term00109",
         FTS_MODE_OR},
        {"two_term_and", "term00001 term00050", FTS_MODE_AND},
        {"three_wide_and", "term00001 term00050 term00100", FTS_MODE_AND},
        {"five_term_and", "term00100 term00101 term00102 term00103 term00104",
         FTS_MODE_AND},
        {"ten_term_and",
         "term00100 term00101 term00102 term00103 term00104 term00105 "
         "term00106 term00107 term00108 term00109",
         FTS_MODE_AND},
        {"negation_common_neg", "term00500 -term00001", FTS_MODE_OR},
        {"negation_rare_neg", "term00500 -term09999", FTS_MODE_OR},
        {"two_mid_or", "term00500 term00501", FTS_MODE_OR},
        {"rare_common_or", "term09999 term00001", FTS_MODE_OR},
        {"mid_common_or", "term05000 term00010", FTS_MODE_OR},
        {"twenty_term_or",
         "term00100 term00101 term00102 term00103 term00104 term00105 "
         "term00106 term00107 term00108 term00109 term00110 term00111 "
         "term00112 term00113 term00114 term00115 term00116 term00117 "
         "term00118 term00119",
         FTS_MODE_OR},
    };
    uint32_t n_docs = 1000000;
    size_t budget_mb = 256, runs = 200;
    const char *tmp = "/tmp";
    char words[VOCAB][10], path[4096];
    static double prob[VOCAB];
    static int alias[VOCAB];
    double h = 0, t0, t1, t_add = 0, t_fin, cpu_add = 0, cpu_fin;
    struct fts_writer_opts wo = {0, NULL, NULL, false};
    struct fts_writer *w;
    struct store_sink *sink;
    struct store_blob *blob;
    struct fts_region_info info;
    struct fts_reader *r;
    const uint8_t *region;
    char *doc = malloc(TOKENS * 10 + 16);
    double *lat, *cpu;
    int opt;

    const char *keep = NULL, *only = NULL;

    while ((opt = getopt(argc, argv, "n:b:q:t:f:s:")) != -1) {
        switch (opt) {
        case 'n':
            n_docs = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'b':
            budget_mb = strtoull(optarg, NULL, 10);
            break;
        case 'q':
            runs = strtoull(optarg, NULL, 10);
            break;
        case 't':
            tmp = optarg;
            break;
        case 'f':
            keep = optarg;
            break;
        case 's':
            only = optarg;
            break;
        default:
            return 2;
        }
    }
    lat = malloc(runs * sizeof *lat);
    cpu = malloc(runs * sizeof *cpu);
    /* Zipf(1) over VOCAB words, sampled in O(1) with Walker's alias
     * method so generating the corpus does not dominate the build time */
    for (int i = 0; i < VOCAB; i++) {
        snprintf(words[i], sizeof words[i], "term%05d", i);
        h += 1.0 / (i + 1);
    }
    {
        int small[VOCAB], large[VOCAB], ns = 0, nl = 0;
        for (int i = 0; i < VOCAB; i++) {
            prob[i] = (double)VOCAB / (i + 1) / h;
            if (prob[i] < 1.0)
                small[ns++] = i;
            else
                large[nl++] = i;
        }
        while (ns > 0 && nl > 0) {
            int s = small[--ns], l = large[--nl];
            alias[s] = l;
            prob[l] -= 1.0 - prob[s];
            if (prob[l] < 1.0)
                small[ns++] = l;
            else
                large[nl++] = l;
        }
        while (nl > 0)
            prob[large[--nl]] = 1.0;
        while (ns > 0)
            prob[small[--ns]] = 1.0;
    }

    /* ---- build ---- */
    wo.mem_budget = budget_mb << 20;
    wo.spill_dir = tmp;
    snprintf(path, sizeof path, "%s/bench_fts_%ld.region", tmp,
             (long)getpid());
    if (keep != NULL) {
        snprintf(path, sizeof path, "%s", keep);
        if (access(path, R_OK) == 0)
            goto query;
    }
    if (fts_writer_new(&w, &wo) != INFINO_OK)
        die("writer");
    t0 = now();
    for (uint32_t d = 0; d < n_docs; d++) {
        size_t len = (size_t)sprintf(doc, "doc%07u", d);
        for (int i = 0; i < TOKENS; i++) {
            uint64_t x = rng();
            int lo = (int)((x >> 32) % VOCAB);
            double u = (double)(x & 0xffffffffu) * (1.0 / 4294967296.0);
            if (u >= prob[lo])
                lo = alias[lo];
            doc[len++] = ' ';
            memcpy(doc + len, words[lo], 9);
            len += 9;
        }
        t1 = now();
        cpu_fin = cpu_now();
        if (fts_writer_add(w, d, doc, len) != INFINO_OK)
            die("add");
        t_add += now() - t1;
        cpu_add += cpu_now() - cpu_fin;
    }
    t1 = now();
    t_fin = now();
    cpu_fin = process_cpu_s();
    if (store_sink_open_file(&sink, path) != INFINO_OK ||
        fts_writer_finish(w, sink, n_docs, &info, NULL) != INFINO_OK ||
        store_sink_finish(sink, STORE_REPLACE) != INFINO_OK)
        die("finish");
    t_fin = now() - t_fin;
    cpu_fin = process_cpu_s() - cpu_fin;
    fts_writer_free(w);
    printf("{\"bench\":\"fts_build\",\"docs\":%u,\"tokens_per_doc\":%d,"
           "\"budget_mb\":%zu,\"gen_s\":%.3f,\"add_s\":%.3f,"
           "\"finish_s\":%.3f,\"add_cpu_s\":%.3f,\"finish_cpu_s\":%.3f,"
           "\"docs_per_cpu_s\":%.0f,"
           "\"docs_per_s\":%.0f,\"runs_spilled\":%u,\"terms\":%llu,"
           "\"region_bytes\":%llu,\"peak_rss_mb\":%.1f}\n",
           n_docs, TOKENS + 1, budget_mb, t1 - t0 - t_add, t_add, t_fin,
           cpu_add, cpu_fin, n_docs / (cpu_add + cpu_fin),
           n_docs / (t_add + t_fin), info.n_runs,
           (unsigned long long)info.n_terms, (unsigned long long)info.len,
           peak_rss_kb() / 1024.0);
    fflush(stdout);

    /* ---- queries over the mmapped region ---- */
query:
    if (store_blob_open_file(&blob, path) != INFINO_OK ||
        store_blob_read(blob, 0, store_blob_size(blob), &region) !=
            INFINO_OK)
        die("map");
    if (keep == NULL)
        unlink(path);
    t0 = now();
    if (fts_reader_open(&r, region, store_blob_size(blob), path,
                        FTS_OPEN_VERIFY_CRC) != INFINO_OK)
        die("open");
    printf("{\"bench\":\"fts_open\",\"verify_crc_ms\":%.3f}\n",
           (now() - t0) * 1e3);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        struct fts_hit hits[10];
        size_t n_hits = 0;
        uint64_t count = 0;

        if (only != NULL && strcmp(only, shapes[s].name) != 0)
            continue;
        for (size_t i = 0; i < runs + 3; i++) {
            struct fts_query *q;
            uint64_t df[64] = {0};
            struct fts_global_stats gs;
            struct fts_search_opts so = {10, shapes[s].mode, 0, NULL, 0, NULL};

            double c0 = cpu_now();
            t0 = now();
            if (fts_query_parse(&q, NULL, shapes[s].query,
                                strlen(shapes[s].query)) != INFINO_OK ||
                fts_query_add_local_df(df, r, q) != INFINO_OK)
                die("query");
            gs.n_docs = fts_reader_n_docs(r);
            gs.avgdl = (double)fts_reader_total_tokens(r) / gs.n_docs;
            gs.df = df;
            gs.sim = NULL;
            if (fts_search(hits, &n_hits, r, q, &gs, &so) != INFINO_OK)
                die("search");
            t1 = now();
            if (i >= 3) {
                lat[i - 3] = (t1 - t0) * 1e6;
                cpu[i - 3] = (cpu_now() - c0) * 1e6;
            }
            if (i == 0 && fts_count(&count, r, q, shapes[s].mode, NULL))
                die("count");
            fts_query_free(q);
        }
        qsort(lat, runs, sizeof *lat, cmp_double);
        qsort(cpu, runs, sizeof *cpu, cmp_double);
        printf("{\"bench\":\"fts_query\",\"shape\":\"%s\",\"k\":10,"
               "\"p50_us\":%.1f,\"p99_us\":%.1f,\"cpu_p50_us\":%.1f,"
               "\"cpu_p99_us\":%.1f,\"hits\":%zu,"
               "\"matches\":%llu,\"top_score\":%.4f}\n",
               shapes[s].name, lat[runs / 2], lat[runs * 99 / 100],
               cpu[runs / 2], cpu[runs * 99 / 100], n_hits,
               (unsigned long long)count, n_hits ? hits[0].score : 0.0);
        fflush(stdout);
    }
    /* unranked: count and token_match of a common and a mid term */
    {
        static const char *const cq[] = {"term00001", "term00500 term00501"};
        for (int j = 0; j < 2; j++) {
            struct fts_query *q;
            struct fts_doc_ids ids = {0};
            uint64_t count;
            double c_us, m_us;
            if (fts_query_parse(&q, NULL, cq[j], strlen(cq[j])) != INFINO_OK)
                die("parse");
            t0 = now();
            if (fts_count(&count, r, q, FTS_MODE_OR, NULL) != INFINO_OK)
                die("count");
            c_us = (now() - t0) * 1e6;
            t0 = now();
            if (fts_match(&ids, r, q, FTS_MODE_OR, NULL) != INFINO_OK)
                die("match");
            m_us = (now() - t0) * 1e6;
            printf("{\"bench\":\"fts_unranked\",\"query\":\"%s\","
                   "\"count_us\":%.1f,\"match_us\":%.1f,\"matches\":%llu}\n",
                   cq[j], c_us, m_us, (unsigned long long)count);
            fts_doc_ids_free(&ids);
            fts_query_free(q);
        }
    }
    printf("{\"bench\":\"fts_rss\",\"peak_rss_mb\":%.1f}\n",
           peak_rss_kb() / 1024.0);
    fts_reader_close(r);
    store_blob_close(blob);
    free(doc);
    free(lat);
    free(cpu);
    return 0;
}
