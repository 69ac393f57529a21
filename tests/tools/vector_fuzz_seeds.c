/*
 * vector_fuzz_seeds.c - writes small, valid vector index regions (every
 * metric and payload, several dims and sizes, including empty) into a
 * directory, as seeds for fuzz/fuzz_vector_region.c.
 * Usage: vector_fuzz_seeds OUT_DIR
 */
#include "index/vector/ivf.h"
#include "store/store.h"
#include "util/alloc.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

static int write_seed(const char *dir, uint32_t dim, size_t n,
                      enum ivf_metric metric, enum ivf_rerank rerank,
                      uint32_t n_clusters)
{
    struct ivf_build_opts o = IVF_BUILD_OPTS_INIT;
    struct ivf_builder *b = NULL;
    struct store_sink *s = NULL;
    float *x = mem_alloc(4ull * dim * (n + 1));
    uint64_t state = 12345 + n * 31 + dim;
    char path[4096];
    int rc = 1;

    o.dim = dim;
    o.metric = metric;
    o.rerank = rerank;
    o.n_clusters = n_clusters;
    o.seed = 1;
    for (size_t i = 0; i < dim * n; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((int)(state >> 40) % 2000) / 500.0f +
               (float)((i / dim) % 3);
    }
    snprintf(path, sizeof path, "%s/seed-%s-%s-d%u-n%zu", dir,
             ivf_metric_name(metric), rerank == IVF_RERANK_SQ8 ? "sq8" : "f32",
             dim, n);
    if (ivf_builder_new(&b, &o) == INFINO_OK &&
        ivf_builder_add(b, x, n) == INFINO_OK &&
        store_sink_open_file(&s, path) == INFINO_OK &&
        ivf_builder_finish(b, s, NULL) == INFINO_OK) {
        rc = store_sink_finish(s, STORE_REPLACE) == INFINO_OK ? 0 : 1;
        s = NULL;
    }
    if (rc)
        fprintf(stderr, "%s: %s\n", path, err_last());
    store_sink_abort(s);
    ivf_builder_free(b);
    mem_free(x);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    rc |= write_seed(argv[1], 4, 0, IVF_METRIC_L2SQ, IVF_RERANK_SQ8, 0);
    rc |= write_seed(argv[1], 3, 1, IVF_METRIC_COSINE, IVF_RERANK_SQ8, 4);
    rc |= write_seed(argv[1], 8, 20, IVF_METRIC_L2SQ, IVF_RERANK_SQ8, 3);
    rc |= write_seed(argv[1], 5, 70, IVF_METRIC_NEGDOT, IVF_RERANK_SQ8, 2);
    rc |= write_seed(argv[1], 6, 30, IVF_METRIC_COSINE, IVF_RERANK_F32, 2);
    rc |= write_seed(argv[1], 2, 9, IVF_METRIC_NEGDOT, IVF_RERANK_F32, 9);
    rc |= write_seed(argv[1], 17, 12, IVF_METRIC_L2SQ, IVF_RERANK_F32, 2);
    return rc;
}
