/*
 * fuzz_vector_region.c - opens arbitrary bytes as a vector index region
 * and searches it every way (probes, all clusters, exact allow-set path,
 * per-row distances). The harness first recomputes every checksum it can
 * locate, so mutations reach the decoders instead of dying at a crc.
 * Seeds: tests/tools/vector_fuzz_seeds.c.
 */
#include "index/vector/ivf.h"
#include "index/vector/ivf_int.h"
#include "store/store.h"
#include "util/alloc.h"
#include "util/crc32c.h"
#include "util/endian.h"

#include <stdlib.h>
#include <string.h>

static void put_crc(uint8_t *p, size_t size, uint64_t off, uint64_t len)
{
    if (len < 4 || off > size || len > size - off)
        return;
    store_u32le(p + off + len - 4, crc32c(p + off, (size_t)len - 4));
}

/* Best effort: wherever the header says a checksum is, make it right. */
static void fix_checksums(uint8_t *p, size_t size)
{
    struct ivf_layout L;
    uint32_t dim, n_clusters, n_rows;

    if (size < IVF_HEADER_LEN)
        return;
    dim = load_u32le(p + 16);
    n_clusters = load_u32le(p + 24);
    n_rows = load_u32le(p + 28);
    if (dim == 0 || dim > IVF_MAX_DIM || n_clusters > IVF_MAX_CLUSTERS ||
        p[33] > IVF_RERANK_F32)
        return;
    ivf_layout_init(&L, dim, (enum ivf_metric)(p[32] % 3),
                    (enum ivf_rerank)p[33], n_clusters, n_rows);
    for (uint32_t c = 0; c < n_clusters; c++) {
        uint64_t e = L.dir_off + (uint64_t)c * IVF_DIR_ENTRY_LEN;
        if (e + IVF_DIR_ENTRY_LEN > size)
            break;
        put_crc(p, size, load_u64le(p + e), load_u64le(p + e + 8));
    }
    put_crc(p, size, L.positions_off, 4ull * n_rows + 4);
    put_crc(p, size, 0, L.meta_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    struct store_blob *blob = NULL;
    struct ivf_reader *r = NULL;

    if (p == NULL)
        return 0;
    memcpy(p, data, size);
    fix_checksums(p, size);
    if (store_blob_from_memory(&blob, p, size, "fuzz", false) == INFINO_OK &&
        ivf_open(&r, blob, 0, size) == INFINO_OK) {
        uint32_t dim = ivf_dim(r), n_cl = ivf_n_clusters(r);
        uint32_t n = ivf_n_rows(r);
        float *q = mem_alloc(4ull * dim);
        uint32_t *all = mem_alloc(4ull * n_cl + 4);
        struct ivf_hit hits[8];
        size_t nh;
        roaring_bitmap_t *allow = roaring_bitmap_create();
        if (q && all && allow) {
            struct ivf_search_opts so = IVF_SEARCH_OPTS_INIT;
            float keys[4];
            for (uint32_t d = 0; d < dim; d++)
                q[d] = (float)((d * 7) % 5) - 2.0f;
            for (uint32_t c = 0; c < n_cl; c++)
                all[c] = n_cl - 1 - c;
            (void)ivf_search(hits, &nh, r, q, dim, 8, NULL);
            (void)ivf_search_clusters(hits, &nh, r, q, dim, 8, all, n_cl,
                                      NULL);
            roaring_bitmap_add(allow, 0);
            roaring_bitmap_add(allow, n / 2);
            roaring_bitmap_add(allow, n ? n - 1 : 0);
            so.allow = allow;
            so.nprobe = 1;
            (void)ivf_search(hits, &nh, r, q, dim, 8, &so);
            if (n > 0) {
                uint32_t ids[2] = {0, n - 1};
                float d2[2];
                (void)ivf_distances(d2, r, q, dim, ids, 2);
            }
            if (n_cl > 0 && n_cl <= 4)
                (void)ivf_cluster_keys(keys, r, q, dim);
            (void)ivf_verify(r);
        }
        if (allow)
            roaring_bitmap_free(allow);
        mem_free(q);
        mem_free(all);
    }
    ivf_close(r);
    store_blob_close(blob);
    free(p);
    return 0;
}
