/*
 * vector_region_test.c - the vector index region as untrusted bytes:
 * every single-bit flip anywhere in a region is caught (at open, or by
 * ivf_verify / the first search of the damaged part) as
 * INFINO_ERR_CORRUPT; truncations are refused; every allocation failure
 * in build, open and search returns INFINO_ERR_NOMEM cleanly.
 */
#include "harness.h"

#include "index/vector/ivf.h"
#include "store/store.h"
#include "util/alloc.h"

#include <math.h>

static float frand(void)
{
    return (float)((double)(test_rand() >> 11) / 9007199254740992.0 * 2 - 1);
}

static float *rows_of(size_t n, uint32_t dim)
{
    float *x = mem_alloc(n * dim * 4 + 4);
    for (size_t i = 0; i < n * dim; i++)
        x[i] = frand() + (float)((i / dim) % 5); /* 5 loose groups */
    return x;
}

static infino_status build(uint8_t **bytes, size_t *len,
                           const struct ivf_build_opts *o, const float *x,
                           size_t n)
{
    struct ivf_builder *b = NULL;
    struct store_sink *s = NULL;
    infino_status st;

    *bytes = NULL;
    st = ivf_builder_new(&b, o);
    if (st == INFINO_OK)
        st = ivf_builder_add(b, x, n / 2);
    if (st == INFINO_OK)
        st = ivf_builder_add(b, x + (n / 2) * o->dim, n - n / 2);
    if (st == INFINO_OK)
        st = store_sink_open_memory(&s, "region");
    if (st == INFINO_OK)
        st = ivf_builder_finish(b, s, NULL);
    ivf_builder_free(b);
    if (st == INFINO_OK)
        return store_sink_take_memory(s, bytes, len);
    store_sink_abort(s);
    return st;
}

/* Opens, verifies and searches (unfiltered, all clusters, a tiny
 * allow-set); returns the first failure. */
static infino_status use(const uint8_t *bytes, size_t len, uint32_t dim,
                         int verify_first)
{
    struct store_blob *blob = NULL;
    struct ivf_reader *r = NULL;
    struct ivf_hit hits[5];
    size_t nh;
    float q[64];
    infino_status st;
    roaring_bitmap_t *allow = NULL;

    for (uint32_t d = 0; d < dim; d++)
        q[d] = (float)d * 0.1f;
    st = store_blob_from_memory(&blob, bytes, len, "r.ivf", false);
    if (st == INFINO_OK)
        st = ivf_open(&r, blob, 0, len);
    if (st == INFINO_OK && verify_first)
        st = ivf_verify(r);
    if (st == INFINO_OK)
        st = ivf_search(hits, &nh, r, q, dim, 5, NULL);
    if (st == INFINO_OK) {
        uint32_t n_cl = ivf_n_clusters(r);
        uint32_t *all = mem_alloc(4ull * n_cl + 4);
        if (all == NULL) {
            st = INFINO_ERR_NOMEM;
        } else {
            for (uint32_t c = 0; c < n_cl; c++)
                all[c] = c;
            st = ivf_search_clusters(hits, &nh, r, q, dim, 5, all, n_cl,
                                     NULL);
            mem_free(all);
        }
    }
    if (st == INFINO_OK) {
        allow = roaring_bitmap_create();
        if (allow == NULL)
            st = INFINO_ERR_NOMEM;
    }
    if (st == INFINO_OK) {
        struct ivf_search_opts so = IVF_SEARCH_OPTS_INIT;
        roaring_bitmap_add(allow, 3);
        roaring_bitmap_add(allow, ivf_n_rows(r) - 1);
        so.allow = allow;
        st = ivf_search(hits, &nh, r, q, dim, 5, &so);
    }
    if (st == INFINO_OK)
        st = ivf_verify(r);
    if (allow) /* roaring_bitmap_free(NULL) is not a no-op */
        roaring_bitmap_free(allow);
    ivf_close(r);
    store_blob_close(blob);
    return st;
}

static void flip_everything(enum ivf_rerank rerank, enum ivf_metric metric)
{
    uint32_t dim = 12;
    size_t n = 300, len;
    float *x = rows_of(n, dim);
    struct ivf_build_opts o = IVF_BUILD_OPTS_INIT;
    uint8_t *bytes, *copy;

    o.dim = dim;
    o.metric = metric;
    o.rerank = rerank;
    o.n_clusters = 6;
    assert_ok(build(&bytes, &len, &o, x, n));
    assert_ok(use(bytes, len, dim, 1));
    copy = mem_alloc(len);
    /* one random bit in every byte, one byte at a time */
    for (size_t i = 0; i < len; i++) {
        memcpy(copy, bytes, len);
        copy[i] ^= (uint8_t)(1u << (test_rand() % 8));
        infino_status st = use(copy, len, dim, 1);
        if (st != INFINO_ERR_CORRUPT)
            fail_msg("flip at byte %zu of %zu: status %d (%s)", i, len,
                     (int)st, err_last());
    }
    /* the damage is found without ivf_verify too: by the searches */
    memcpy(copy, bytes, len);
    copy[len - 70] ^= 0x10;
    assert_int_equal(use(copy, len, dim, 0), INFINO_ERR_CORRUPT);
    /* truncated and over-long regions */
    for (size_t cut = 0; cut < len; cut += 1 + cut / 8)
        assert_int_equal(use(bytes, cut, dim, 1), INFINO_ERR_CORRUPT);
    {
        uint8_t *longer = mem_calloc(1, len + 64);
        memcpy(longer, bytes, len);
        assert_int_equal(use(longer, len + 64, dim, 1), INFINO_ERR_CORRUPT);
        mem_free(longer);
    }
    mem_free(copy);
    mem_free(bytes);
    mem_free(x);
}

static void test_vector_region__every_bit_flip_is_caught_sq8(void **state)
{
    (void)state;
    flip_everything(IVF_RERANK_SQ8, IVF_METRIC_L2SQ);
}

static void test_vector_region__every_bit_flip_is_caught_f32(void **state)
{
    (void)state;
    flip_everything(IVF_RERANK_F32, IVF_METRIC_COSINE);
}

static void test_vector_region__empty_region(void **state)
{
    (void)state;
    struct ivf_build_opts o = IVF_BUILD_OPTS_INIT;
    uint8_t *bytes;
    size_t len;
    struct store_blob *blob;
    struct ivf_reader *r;
    struct ivf_hit h[1];
    size_t nh = 7;
    float q[8] = {0};

    o.dim = 8;
    o.metric = IVF_METRIC_NEGDOT;
    assert_ok(build(&bytes, &len, &o, q, 0));
    assert_ok(store_blob_from_memory(&blob, bytes, len, "e", false));
    assert_ok(ivf_open(&r, blob, 0, len));
    assert_int_equal(ivf_n_rows(r), 0);
    assert_int_equal(ivf_n_clusters(r), 0);
    assert_ok(ivf_verify(r));
    assert_ok(ivf_search(h, &nh, r, q, 8, 1, NULL));
    assert_int_equal(nh, 0);
    ivf_close(r);
    store_blob_close(blob);
    mem_free(bytes);
}

/* A region inside a larger blob, at an odd offset (unaligned floats). */
static void test_vector_region__inside_a_blob(void **state)
{
    (void)state;
    uint32_t dim = 12;
    size_t n = 200, len;
    float *x = rows_of(n, dim);
    struct ivf_build_opts o = IVF_BUILD_OPTS_INIT;
    uint8_t *bytes, *big;
    struct store_blob *blob;
    struct ivf_reader *r;
    struct ivf_hit h[3];
    size_t nh;

    o.dim = dim;
    assert_ok(build(&bytes, &len, &o, x, n));
    big = mem_alloc(len + 1000);
    memset(big, 0xee, len + 1000);
    memcpy(big + 333, bytes, len);
    assert_ok(store_blob_from_memory(&blob, big, len + 1000, "big", false));
    assert_ok(ivf_open(&r, blob, 333, len));
    assert_ok(ivf_verify(r));
    assert_ok(ivf_search(h, &nh, r, x + 17 * dim, dim, 3, NULL));
    assert_int_equal(nh, 3);
    assert_int_equal(h[0].id, 17);
    ivf_close(r);
    /* a range past the blob's end */
    assert_int_equal(ivf_open(&r, blob, 700, len), INFINO_ERR_CORRUPT);
    store_blob_close(blob);
    mem_free(big);
    mem_free(bytes);
    mem_free(x);
}

static void test_vector_region__allocation_failures(void **state)
{
    (void)state;
    uint32_t dim = 10;
    size_t n = 400;
    float *x = rows_of(n, dim);
    char dir[256];
    test_tmpdir(dir, sizeof dir, "ivf-oom");

    for (int spill = 0; spill < 2; spill++) {
        struct ivf_build_opts o = IVF_BUILD_OPTS_INIT;
        uint8_t *good;
        size_t good_len;
        long n_ok = 0, n_nomem = 0;
        o.dim = dim;
        o.n_clusters = 8;
        if (spill) {
            o.tmp_dir = dir;
            o.mem_budget = 4000; /* spill after 100 rows */
        }
        assert_ok(build(&good, &good_len, &o, x, n));
        for (long k = 1;; k++) {
            uint8_t *bytes = NULL;
            size_t len = 0;
            mem_fail_after(k);
            infino_status st = build(&bytes, &len, &o, x, n);
            if (st == INFINO_OK)
                st = use(bytes, len, dim, 0);
            long failed = mem_fail_count();
            mem_fail_reset();
            mem_free(bytes);
            if (failed == 0) {
                assert_ok(st);
                n_ok++;
                break;
            }
            if (st != INFINO_ERR_NOMEM)
                fail_msg("allocation %ld failing gave %d: %s", k, (int)st,
                         err_last());
            n_nomem++;
        }
        fprintf(stderr, "# spill=%d: %ld injected failures, all NOMEM\n",
                spill, n_nomem);
        assert_true(n_nomem > 10);
        mem_free(good);
    }
    mem_free(x);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_region__every_bit_flip_is_caught_sq8),
        cmocka_unit_test(test_vector_region__every_bit_flip_is_caught_f32),
        cmocka_unit_test(test_vector_region__empty_region),
        cmocka_unit_test(test_vector_region__inside_a_blob),
        cmocka_unit_test(test_vector_region__allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
