/*
 * bench_vector_ivf.c - vector index micro-benchmark: build throughput and
 * peak RSS, then recall@10 against exact search and query latency over a
 * sweep of nprobe, on planted Gaussian clusters (centres 3*N(0,1), noise
 * 0.3*N(0,1), row i around centre i % n_centres; queries are rows plus
 * 0.01*N(0,1) noise), the shape upstream publishes figures for.
 *
 * Rows are generated on the fly from a counter-based RNG (row i is a pure
 * function of (seed, i)), so the benchmark never holds the data set and
 * the RSS it reports is the index build's own.
 *
 * Usage: bench_vector_ivf [-n rows] [-d dim] [-c centres] [-k clusters]
 *        [-q queries] [-m metric] [-b budget_mb] [-t tmpdir] [-r sq8|f32]
 *        [-o region_path [-S]]  (keep the region; -S: search it, no build)
 *        [-D dumpdir]   (also writes base.f32 and queries.f32 there, for
 *                        bench/vector/faiss_peer.py to run on the same data)
 * Prints one JSON object per line. Not part of ctest; built by
 * bench/CMakeLists.txt as BUILD/bench/bench_vector_ivf. Peers on the same
 * data: faiss_peer.py and upstream_peer.py (see README.md).
 */
#include "index/vector/ivf.h"
#include "index/vector/vec_kernels.h"
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

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Standard normal pairs from a counter (Box-Muller). */
static void gauss_fill(float *out, size_t n, uint64_t key)
{
    for (size_t i = 0; i < n; i += 2) {
        uint64_t a = mix(key + 2 * i + 1), b = mix(key + 2 * i + 2);
        double u1 = ((double)(a >> 11) + 1.0) / 9007199254740993.0;
        double u2 = (double)(b >> 11) / 9007199254740992.0;
        double r = sqrt(-2.0 * log(u1));
        out[i] = (float)(r * cos(6.283185307179586 * u2));
        if (i + 1 < n)
            out[i + 1] = (float)(r * sin(6.283185307179586 * u2));
    }
}

struct data {
    size_t n, n_centres;
    uint32_t dim;
    uint64_t seed;
    float *centres;
};

static void row(const struct data *D, size_t i, float *out)
{
    const float *c = D->centres + (i % D->n_centres) * D->dim;
    uint64_t key = D->seed ^ (0x524f5753ull + i * 0x9e3779b97f4a7c15ull);
    gauss_fill(out, D->dim, mix(key));
    for (uint32_t d = 0; d < D->dim; d++)
        out[d] = c[d] + 0.3f * out[d];
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
           ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define K 10

int main(int argc, char **argv)
{
    struct data D = {1000000, 1024, 384, 42, NULL};
    uint32_t n_clusters = 1024;
    size_t n_q = 200, budget_mb = 256;
    const char *tmp = "/tmp", *metric_name = "cosine", *dump = NULL;
    FILE *dump_base = NULL;
    const char *keep = NULL;
    int search_only = 0;
    enum ivf_rerank rerank = IVF_RERANK_SQ8;
    enum ivf_metric metric;
    int opt;

    while ((opt = getopt(argc, argv, "n:d:c:k:q:m:b:t:r:D:o:S")) != -1) {
        switch (opt) {
        case 'n': D.n = strtoull(optarg, NULL, 10); break;
        case 'd': D.dim = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'c': D.n_centres = strtoull(optarg, NULL, 10); break;
        case 'k': n_clusters = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'q': n_q = strtoull(optarg, NULL, 10); break;
        case 'm': metric_name = optarg; break;
        case 'b': budget_mb = strtoull(optarg, NULL, 10); break;
        case 't': tmp = optarg; break;
        case 'D': dump = optarg; break;
        case 'o': keep = optarg; break;
        case 'S': search_only = 1; break;
        case 'r': rerank = strcmp(optarg, "f32") == 0 ? IVF_RERANK_F32
                                                      : IVF_RERANK_SQ8; break;
        default: return 2;
        }
    }
    if (ivf_metric_parse(&metric, metric_name) != INFINO_OK) {
        fprintf(stderr, "%s\n", err_last());
        return 2;
    }
    D.centres = malloc(D.n_centres * D.dim * 4);
    gauss_fill(D.centres, D.n_centres * D.dim, mix(D.seed));
    for (size_t i = 0; i < D.n_centres * D.dim; i++)
        D.centres[i] *= 3.0f;

    /* ---- build ---- */
    char path[4096];
    snprintf(path, sizeof path, "%s/bench-ivf-%ld.bin", tmp, (long)getpid());
    if (keep)
        snprintf(path, sizeof path, "%s", keep);
    struct ivf_build_opts o = IVF_BUILD_OPTS_INIT;
    struct ivf_builder *b;
    struct store_sink *sink;
    struct ivf_build_stats stats;
    size_t chunk = 4096;
    float *buf = malloc(chunk * D.dim * 4);
    o.dim = D.dim;
    o.metric = metric;
    o.n_clusters = n_clusters;
    o.seed = 7;
    o.rerank = rerank;
    o.mem_budget = budget_mb << 20;
    o.tmp_dir = tmp;
    if (dump) {
        char p2[4096];
        snprintf(p2, sizeof p2, "%s/base.f32", dump);
        dump_base = fopen(p2, "wb");
        if (dump_base == NULL) {
            perror(p2);
            return 1;
        }
    }
    if (search_only)
        goto search;
    long rss0 = peak_rss_kb();
    double gen = 0, t0 = now(), c0 = cpu_s();
    if (ivf_builder_new(&b, &o) || store_sink_open_file(&sink, path)) {
        fprintf(stderr, "%s\n", err_last());
        return 1;
    }
    for (size_t i0 = 0; i0 < D.n; i0 += chunk) {
        size_t nb = D.n - i0 < chunk ? D.n - i0 : chunk;
        double g0 = cpu_s();
        for (size_t i = 0; i < nb; i++)
            row(&D, i0 + i, buf + i * D.dim);
        if (dump_base)
            fwrite(buf, 4, nb * D.dim, dump_base);
        gen += cpu_s() - g0; /* data generation is not the build's */
        if (ivf_builder_add(b, buf, nb)) {
            fprintf(stderr, "%s\n", err_last());
            return 1;
        }
    }
    double t1 = now();
    if (ivf_builder_finish(b, sink, &stats) ||
        store_sink_finish(sink, STORE_REPLACE)) {
        fprintf(stderr, "%s\n", err_last());
        return 1;
    }
    ivf_builder_free(b);
    double cpu_build = cpu_s() - c0 - gen;
    double t_build = now() - t0 - gen;
    (void)t1;
    long rss_build = peak_rss_kb();
    printf("{\"bench\":\"vector_build\",\"simd\":\"%s\",\"n\":%zu,\"dim\":%u,"
           "\"metric\":\"%s\",\"rerank\":\"%s\",\"clusters\":%u,\"train_rows\":%u,"
           "\"iters\":%u,\"spilled\":%d,\"build_wall_s\":%.3f,\"build_cpu_s\":%.3f,"
           "\"vectors_per_cpu_s\":%.0f,\"peak_rss_mb\":%.1f,\"rss_before_mb\":%.1f,"
           "\"region_mb\":%.1f}\n",
           vk_level_name(vk_level()), D.n, D.dim, ivf_metric_name(metric),
           rerank == IVF_RERANK_F32 ? "f32" : "sq8", stats.n_clusters,
           stats.n_train, stats.n_iters, stats.spilled, t_build, cpu_build,
           D.n / cpu_build, rss_build / 1024.0, rss0 / 1024.0,
           stats.region_len / 1048576.0);
    fflush(stdout);

search:;
    /* ---- ground truth: queries are perturbed rows ---- */
    float *qs = malloc(n_q * D.dim * 4);
    for (size_t t = 0; t < n_q; t++) {
        float noise[4096];
        row(&D, (t * 7919) % D.n, qs + t * D.dim);
        gauss_fill(noise, D.dim, mix(0xabcdefull + t));
        for (uint32_t d = 0; d < D.dim; d++)
            qs[t * D.dim + d] += 0.01f * noise[d];
    }
    if (dump) {
        char p2[4096];
        fclose(dump_base);
        snprintf(p2, sizeof p2, "%s/queries.f32", dump);
        FILE *fq = fopen(p2, "wb");
        if (fq) {
            fwrite(qs, 4, n_q * D.dim, fq);
            fclose(fq);
        }
    }
    /* top K per query by streaming all rows through the tiled kernel */
    uint32_t *truth = malloc(n_q * K * 4);
    double *td = malloc(n_q * K * sizeof(double));
    for (size_t i = 0; i < n_q * K; i++)
        td[i] = INFINITY;
    {
        const struct vk_ops *ops = vk_get();
        size_t blk = 256;
        float *rows = malloc(blk * D.dim * 4), *dots = malloc(blk * n_q * 4);
        float *qp = malloc(n_q * D.dim * 4), *qn = malloc(n_q * 4);
        float *xn = malloc(blk * 4);
        for (size_t t = 0; t < n_q; t++) {
            double s2 = 0;
            for (uint32_t d = 0; d < D.dim; d++)
                s2 += (double)qs[t * D.dim + d] * qs[t * D.dim + d];
            float inv = metric == IVF_METRIC_COSINE ? (float)(1 / sqrt(s2)) : 1;
            for (uint32_t d = 0; d < D.dim; d++)
                qp[t * D.dim + d] = qs[t * D.dim + d] * inv;
            qn[t] = (float)(s2 * inv * inv);
        }
        for (size_t i0 = 0; i0 < D.n; i0 += blk) {
            size_t nb = D.n - i0 < blk ? D.n - i0 : blk;
            for (size_t i = 0; i < nb; i++) {
                double s2 = 0;
                row(&D, i0 + i, rows + i * D.dim);
                for (uint32_t d = 0; d < D.dim; d++)
                    s2 += (double)rows[i * D.dim + d] * rows[i * D.dim + d];
                xn[i] = (float)s2;
            }
            ops->dot_mxn(dots, rows, nb, qp, n_q, D.dim);
            for (size_t i = 0; i < nb; i++)
                for (size_t t = 0; t < n_q; t++) {
                    double dt = dots[i * n_q + t], d;
                    if (metric == IVF_METRIC_L2SQ)
                        d = qn[t] + xn[i] - 2 * dt;
                    else if (metric == IVF_METRIC_NEGDOT)
                        d = -dt;
                    else
                        d = 1 - dt / sqrt(xn[i]);
                    double *tt = td + t * K;
                    uint32_t *ti = truth + t * K;
                    if (d >= tt[K - 1])
                        continue;
                    int j = K - 1;
                    while (j > 0 && tt[j - 1] > d) {
                        tt[j] = tt[j - 1];
                        ti[j] = ti[j - 1];
                        j--;
                    }
                    tt[j] = d;
                    ti[j] = (uint32_t)(i0 + i);
                }
        }
        free(rows);
        free(dots);
        free(qp);
        free(qn);
        free(xn);
    }

    /* ---- search ---- */
    struct store_blob *blob;
    struct ivf_reader *r;
    if (store_blob_open_file(&blob, path) ||
        ivf_open(&r, blob, 0, store_blob_size(blob)) || ivf_verify(r)) {
        fprintf(stderr, "%s\n", err_last());
        return 1;
    }
    const uint32_t probes[] = {1, 2, 4, 8, 16, 32};
    double *lat = malloc(n_q * 3 * sizeof(double));
    double *clat = malloc(n_q * 3 * sizeof(double));
    for (size_t pi = 0; pi < sizeof probes / sizeof probes[0]; pi++) {
        struct ivf_search_opts so = IVF_SEARCH_OPTS_INIT;
        struct ivf_hit hits[K];
        size_t nh, found = 0, n_lat = 0;
        so.nprobe = probes[pi];
        for (int rep = 0; rep < 3; rep++)
            for (size_t t = 0; t < n_q; t++) {
                double s0 = now(), u0 = thread_cpu();
                if (ivf_search(hits, &nh, r, qs + t * D.dim, D.dim, K, &so)) {
                    fprintf(stderr, "%s\n", err_last());
                    return 1;
                }
                clat[n_lat] = (thread_cpu() - u0) * 1e6;
                lat[n_lat++] = (now() - s0) * 1e6;
                if (rep == 0)
                    for (size_t h = 0; h < nh; h++)
                        for (int j = 0; j < K; j++)
                            if (hits[h].id == truth[t * K + j]) {
                                found++;
                                break;
                            }
            }
        qsort(lat, n_lat, sizeof *lat, cmp_double);
        qsort(clat, n_lat, sizeof *clat, cmp_double);
        printf("{\"bench\":\"vector_search\",\"simd\":\"%s\",\"n\":%zu,"
               "\"metric\":\"%s\",\"nprobe\":%u,\"recall_at_10\":%.4f,"
               "\"p50_us\":%.1f,\"p99_us\":%.1f,\"p50_cpu_us\":%.1f,"
               "\"queries\":%zu}\n",
               vk_level_name(vk_level()), D.n, ivf_metric_name(metric),
               probes[pi], (double)found / (n_q * K), lat[n_lat / 2],
               lat[n_lat * 99 / 100], clat[n_lat / 2], n_q);
        fflush(stdout);
    }
    ivf_close(r);
    store_blob_close(blob);
    if (!keep)
        unlink(path);
    free(lat);
    free(clat);
    free(qs);
    free(truth);
    free(td);
    free(buf);
    free(D.centres);
    return 0;
}
