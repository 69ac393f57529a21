/*
 * vector_kernels_test.c - every SIMD level of the distance kernels gives
 * the same bits as the scalar reference, and the reference agrees with a
 * double-precision oracle; the level override works.
 */
#include "harness.h"

#include "index/vector/vec_kernels.h"
#include "util/alloc.h"

#include <math.h>

static float rnd_f(void)
{
    /* uniform in [-4, 4), with some exact zeros and tiny values */
    uint64_t r = test_rand();
    if ((r & 63) == 0)
        return 0.0f;
    return (float)((double)(r >> 11) / 9007199254740992.0 * 8.0 - 4.0);
}

static const size_t dims[] = {1,  2,  7,  15,  16,  17,  31,  33,
                              63, 64, 65, 100, 128, 384, 385, 1000};

struct inputs {
    float *q, *q2, *scale;
    uint8_t *rows; /* n rows at stride, starting 1 byte in: unaligned */
    uint8_t *mem;
    uint32_t idx[37];
    size_t n, dim, stride;
};

static void make_inputs(struct inputs *in, size_t dim)
{
    in->dim = dim;
    in->n = 37;
    in->stride = dim * 4 + 3; /* odd stride: every row misaligned */
    in->q = mem_alloc(dim * 4);
    in->q2 = mem_alloc(dim * 4);
    in->scale = mem_alloc(dim * 4);
    in->mem = mem_alloc(in->n * in->stride + 1 + 4096);
    for (size_t b = 0; b < in->n * in->stride + 1 + 4096; b++)
        in->mem[b] = (uint8_t)test_rand();
    in->rows = in->mem + 1;
    for (size_t i = 0; i < dim; i++) {
        in->q[i] = rnd_f();
        in->q2[i] = rnd_f();
        in->scale[i] = fabsf(rnd_f()) / 64.0f;
    }
    for (size_t t = 0; t < in->n; t++) {
        for (size_t i = 0; i < dim; i++) {
            float v = rnd_f();
            memcpy(in->rows + t * in->stride + 4 * i, &v, 4);
        }
        for (size_t b = dim * 4; b < in->stride; b++)
            in->rows[t * in->stride + b] = (uint8_t)test_rand();
    }
    for (size_t t = 0; t < in->n; t++)
        in->idx[t] = (uint32_t)(test_rand() % in->n);
}

static void free_inputs(struct inputs *in)
{
    mem_free(in->q);
    mem_free(in->q2);
    mem_free(in->scale);
    mem_free(in->mem);
}

static float ldf(const uint8_t *p)
{
    float v;
    memcpy(&v, p, 4);
    return v;
}

/* Runs every kernel of `ops` on `in`, writing all outputs to out[]. */
static size_t run_all(const struct vk_ops *ops, const struct inputs *in,
                      float *out, uint32_t *iout)
{
    size_t k = 0, n = in->n, dim = in->dim;

    ops->dot(out + k, in->q, in->rows, in->stride, NULL, n, dim);
    k += n;
    ops->dot(out + k, in->q, in->rows, in->stride, in->idx, n, dim);
    k += n;
    ops->l2sq(out + k, in->q, in->rows, in->stride, in->idx, n, dim);
    k += n;
    ops->l2sq(out + k, in->q, in->rows, in->stride, NULL, 3, dim);
    k += 3;
    /* SQ8 rows: reuse the row bytes as codes */
    ops->sq8_l2sq(out + k, in->q, in->scale, in->rows, in->stride, in->idx, n,
                  dim);
    k += n;
    ops->sq8_dot(out + k, in->q2, in->rows, in->stride, NULL, n, dim);
    k += n;
    /* two-level SQ8: rows t and t + 1 as code and residual bytes */
    for (size_t t = 0; t + 1 < n; t++)
        out[k++] = ops->sq8_res_l2sq(in->q, in->scale,
                                     in->rows + t * in->stride, in->q2,
                                     in->rows + (t + 1) * in->stride, dim);
    /* dense x (3 rows of q/q2 mixes) against 6 dense centroids */
    {
        float *x = mem_alloc(5 * dim * 4), *c = mem_alloc(6 * dim * 4);
        for (size_t i = 0; i < 5 * dim; i++)
            x[i] = ldf(in->rows + (i / dim) * in->stride + 4 * (i % dim));
        for (size_t i = 0; i < 6 * dim; i++)
            c[i] = ldf(in->rows + (7 + i / dim) * in->stride + 4 * (i % dim));
        ops->dot_mxn(out + k, x, 5, c, 6, dim);
        k += 30;
        mem_free(x);
        mem_free(c);
    }
    /* rotation on m = next power of two >= max(dim, 64) */
    {
        size_t m = 64;
        while (m < dim)
            m *= 2;
        float *v = mem_alloc(m * 4), *signs = mem_alloc(3 * m * 4);
        for (size_t i = 0; i < m; i++)
            v[i] = i < dim ? in->q[i] : 0.0f;
        for (size_t i = 0; i < 3 * m; i++)
            signs[i] = ((i * 2654435761u) >> 7) & 1 ? -1.0f : 1.0f;
        ops->rotate(v, m, signs, 0.125f);
        memcpy(out + k, v, m * 4);
        k += m;
        mem_free(v);
        mem_free(signs);
    }
    /* codes: code_len = 8 * ceil(dim / 64) bytes, planes from row 0 */
    {
        size_t code_len = 8 * ((dim + 63) / 64);
        ops->bits4(iout, iout + n, in->mem, n, code_len, in->mem + 7);
    }
    return k;
}

static void test_vector_kernels__levels_bit_identical(void **state)
{
    (void)state;
    enum vk_level best = vk_best_level();
    float *ref = mem_alloc(8192 * 4), *got = mem_alloc(8192 * 4);
    uint32_t iref[128], igot[128];
    int n_levels_checked = 0;

    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
        for (int rep = 0; rep < 4; rep++) {
            struct inputs in;
            make_inputs(&in, dims[di]);
            size_t k = run_all(&vk_ops_scalar, &in, ref, iref);
            for (int lvl = VK_AVX2; lvl <= (int)best; lvl++) {
                const struct vk_ops *ops = vk_ops_for((enum vk_level)lvl);
                assert_non_null(ops);
                memset(got, 0xff, 8192 * 4);
                assert_int_equal(run_all(ops, &in, got, igot), k);
                for (size_t i = 0; i < k; i++)
                    if (memcmp(&ref[i], &got[i], 4) != 0)
                        fail_msg("%s dim %zu out %zu: %.9g != scalar %.9g",
                                 vk_level_name((enum vk_level)lvl), dims[di],
                                 i, (double)got[i], (double)ref[i]);
                assert_memory_equal(iref, igot, 2 * in.n * 4);
                n_levels_checked++;
            }
            free_inputs(&in);
        }
    }
    if (best > VK_SCALAR)
        assert_true(n_levels_checked > 0);
    mem_free(ref);
    mem_free(got);
}

static int popc(uint64_t x)
{
    int c = 0;
    for (; x; x &= x - 1)
        c++;
    return c;
}

/* The scalar reference computes the right quantities. */
static void test_vector_kernels__scalar_matches_oracle(void **state)
{
    (void)state;
    const struct vk_ops *ops = &vk_ops_scalar;
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
        struct inputs in;
        size_t dim = dims[di];
        float out[37];
        make_inputs(&in, dim);

        ops->dot(out, in.q, in.rows, in.stride, in.idx, in.n, dim);
        for (size_t t = 0; t < in.n; t++) {
            double s = 0, mag = 0;
            const uint8_t *r = in.rows + in.idx[t] * in.stride;
            for (size_t i = 0; i < dim; i++) {
                s += (double)in.q[i] * ldf(r + 4 * i);
                mag += fabs((double)in.q[i] * ldf(r + 4 * i));
            }
            assert_true(fabs(s - out[t]) <= 1e-5 * mag + 1e-30);
        }
        ops->l2sq(out, in.q, in.rows, in.stride, NULL, in.n, dim);
        for (size_t t = 0; t < in.n; t++) {
            double s = 0;
            const uint8_t *r = in.rows + t * in.stride;
            for (size_t i = 0; i < dim; i++) {
                double d = (double)in.q[i] - ldf(r + 4 * i);
                s += d * d;
            }
            assert_true(fabs(s - out[t]) <= 1e-5 * s + 1e-30);
        }
        ops->sq8_l2sq(out, in.q, in.scale, in.rows, in.stride, NULL, in.n,
                      dim);
        for (size_t t = 0; t < in.n; t++) {
            double s = 0;
            const uint8_t *r = in.rows + t * in.stride;
            for (size_t i = 0; i < dim; i++) {
                double d = (double)in.q[i] - (double)in.scale[i] * r[i];
                s += d * d;
            }
            assert_true(fabs(s - out[t]) <= 1e-5 * s + 1e-30);
        }
        for (size_t t = 0; t + 1 < in.n; t++) {
            const uint8_t *c = in.rows + t * in.stride, *r = c + in.stride;
            float got = ops->sq8_res_l2sq(in.q, in.scale, c, in.q2, r, dim);
            double s = 0;
            for (size_t i = 0; i < dim; i++) {
                double d = (double)in.q[i] - (double)in.scale[i] * c[i] -
                           (double)in.q2[i] * r[i];
                s += d * d;
            }
            assert_true(fabs(s - got) <= 1e-5 * s + 1e-30);
        }
        ops->sq8_dot(out, in.q2, in.rows, in.stride, NULL, in.n, dim);
        for (size_t t = 0; t < in.n; t++) {
            double s = 0, mag = 0;
            const uint8_t *r = in.rows + t * in.stride;
            for (size_t i = 0; i < dim; i++) {
                s += (double)in.q2[i] * r[i];
                mag += fabs((double)in.q2[i] * r[i]);
            }
            assert_true(fabs(s - out[t]) <= 1e-5 * mag + 1e-30);
        }
        {
            size_t code_len = 8 * ((dim + 63) / 64);
            uint32_t d[37], pc[37];
            const uint8_t *planes = in.mem + 5;
            ops->bits4(d, pc, in.mem, in.n, code_len, planes);
            for (size_t t = 0; t < in.n; t++) {
                uint32_t ed = 0, ep = 0;
                for (size_t b = 0; b < code_len * 8; b++) {
                    int bit = (in.mem[t * code_len + b / 8] >> (b % 8)) & 1;
                    ep += (uint32_t)bit;
                    for (int j = 0; j < 4; j++)
                        if (bit && ((planes[j * code_len + b / 8] >> (b % 8)) &
                                    1))
                            ed += 1u << j;
                }
                assert_int_equal(d[t], ed);
                assert_int_equal(pc[t], ep);
                (void)popc;
            }
        }
        free_inputs(&in);
    }
}

/* The kernels of cluster ranking and probing: u8i8_dot is the exact
 * integer dot product (query values within +-63, the largest allowed,
 * included), residual and planes4 follow their definitions (NaN and
 * overflowing values included); every level gives the scalar's bits. */
static void test_vector_kernels__probe_kernels(void **state)
{
    (void)state;
    enum vk_level best = vk_best_level();

    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
        size_t dim = dims[di], n = 37;
        int8_t *w = mem_alloc(dim);
        uint8_t *mem = mem_alloc(n * (dim + 3) + 1);
        uint8_t *rows = mem + 1; /* unaligned */
        uint32_t idx[37];
        int32_t ref[37], got[37];

        for (size_t i = 0; i < dim; i++)
            w[i] = (int8_t)((int)(test_rand() % 127) - 63);
        w[0] = 63;
        w[dim - 1] = -63;
        for (size_t b = 0; b < n * (dim + 3); b++)
            rows[b] = (uint8_t)test_rand();
        memset(rows, 255, dim); /* the extreme row */
        for (size_t t = 0; t < n; t++)
            idx[t] = (uint32_t)(test_rand() % n);
        vk_ops_scalar.u8i8_dot(ref, w, rows, dim + 3, idx, n, dim);
        for (size_t t = 0; t < n; t++) {
            int64_t e = 0;
            for (size_t i = 0; i < dim; i++)
                e += (int64_t)w[i] * rows[(size_t)idx[t] * (dim + 3) + i];
            assert_true(ref[t] == e);
        }
        for (int lvl = VK_AVX2; lvl <= (int)best; lvl++) {
            const struct vk_ops *ops = vk_ops_for((enum vk_level)lvl);
            ops->u8i8_dot(got, w, rows, dim + 3, idx, n, dim);
            assert_memory_equal(ref, got, sizeof ref);
            ops->u8i8_dot(got, w, rows, dim + 3, NULL, 5, dim);
            vk_ops_scalar.u8i8_dot(ref, w, rows, dim + 3, NULL, 5, dim);
            assert_memory_equal(ref, got, 5 * sizeof *ref);
            vk_ops_scalar.u8i8_dot(ref, w, rows, dim + 3, idx, n, dim);
        }
        mem_free(w);
        mem_free(mem);
    }
    for (size_t m = 64; m <= 1024; m *= 2) {
        float *q = mem_alloc(m * 4), *rq = mem_alloc(m * 4);
        float *rq2 = mem_alloc(m * 4), *in = mem_alloc(m * 4);
        uint8_t *rc = mem_alloc(m * 4 + 1), *p1 = mem_alloc(m / 2);
        uint8_t *p2 = mem_alloc(m / 2);

        for (int rep = 0; rep < 8; rep++) {
            float lo, hi, lo2, hi2, inv;
            uint32_t sum, esum = 0;

            for (size_t i = 0; i < m; i++) {
                float c = rnd_f();
                q[i] = rnd_f();
                memcpy(rc + 1 + 4 * i, &c, 4);
            }
            if (rep == 3) /* differences that overflow */
                for (size_t i = 0; i < 4; i++) {
                    float big = i & 1 ? -3e38f : 3e38f, neg = -big;
                    q[i] = big;
                    memcpy(rc + 1 + 4 * i, &neg, 4);
                }
            vk_residual_scalar(rq, &lo, &hi, q, rc + 1, m);
            for (size_t i = 0; i < m; i++) {
                float e = q[i] - ldf(rc + 1 + 4 * i);
                assert_true(memcmp(&rq[i], &e, 4) == 0);
            }
            inv = rep == 5 ? 0.0f : 15.0f / (hi - lo);
            memcpy(in, rq, m * 4);
            if (rep == 4)
                in[5] = NAN;
            sum = vk_planes4_scalar(p1, in, lo, inv, m);
            for (size_t i = 0; i < m; i++) {
                float x = (in[i] - lo) * inv + 0.5f;
                unsigned u;
                x = x >= 0 ? x : 0;
                x = x <= 15 ? x : 15;
                u = (unsigned)(int)x;
                esum += u;
                for (unsigned j = 0; j < 4; j++)
                    assert_int_equal((p1[j * (m / 8) + i / 8] >> (i % 8)) & 1,
                                     (u >> j) & 1);
            }
            assert_int_equal(sum, esum);
            for (int lvl = VK_AVX2; lvl <= (int)best; lvl++) {
                const struct vk_ops *ops = vk_ops_for((enum vk_level)lvl);
                ops->residual(rq2, &lo2, &hi2, q, rc + 1, m);
                assert_true(memcmp(&lo, &lo2, 4) == 0);
                assert_true(memcmp(&hi, &hi2, 4) == 0);
                assert_memory_equal(rq, rq2, m * 4);
                assert_int_equal(ops->planes4(p2, in, lo, inv, m), sum);
                assert_memory_equal(p1, p2, m / 2);
            }
        }
        mem_free(q);
        mem_free(rq);
        mem_free(rq2);
        mem_free(in);
        mem_free(rc);
        mem_free(p1);
        mem_free(p2);
    }
}

/* The rotation is orthogonal: norms and inner products survive it. */
static void test_vector_kernels__rotation_is_orthogonal(void **state)
{
    (void)state;
    for (size_t m = 64; m <= 1024; m *= 2) {
        float *a = mem_alloc(m * 4), *b = mem_alloc(m * 4);
        float *signs = mem_alloc(3 * m * 4);
        double na = 0, nb = 0, ab = 0, ra = 0, rb = 0, rab = 0;
        float scale = (float)(1.0 / (m * sqrt((double)m)));
        for (size_t i = 0; i < 3 * m; i++)
            signs[i] = (test_rand() & 1) ? -1.0f : 1.0f;
        for (size_t i = 0; i < m; i++) {
            a[i] = rnd_f();
            b[i] = rnd_f();
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
            ab += (double)a[i] * b[i];
        }
        vk_get()->rotate(a, m, signs, scale);
        vk_get()->rotate(b, m, signs, scale);
        for (size_t i = 0; i < m; i++) {
            ra += (double)a[i] * a[i];
            rb += (double)b[i] * b[i];
            rab += (double)a[i] * b[i];
        }
        assert_true(fabs(ra - na) <= 1e-5 * na);
        assert_true(fabs(rb - nb) <= 1e-5 * nb);
        assert_true(fabs(rab - ab) <= 1e-5 * sqrt(na * nb));
        mem_free(a);
        mem_free(b);
        mem_free(signs);
    }
}

static void test_vector_kernels__force_level(void **state)
{
    (void)state;
    enum vk_level before = vk_level();
    assert_int_equal(vk_force(VK_SCALAR), VK_SCALAR);
    assert_ptr_equal(vk_get(), &vk_ops_scalar);
    assert_int_equal(vk_force(VK_AVX512), vk_best_level());
    assert_null(vk_ops_for((enum vk_level)(vk_best_level() + 1)));
    vk_force(before);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_kernels__levels_bit_identical),
        cmocka_unit_test(test_vector_kernels__scalar_matches_oracle),
        cmocka_unit_test(test_vector_kernels__probe_kernels),
        cmocka_unit_test(test_vector_kernels__rotation_is_orthogonal),
        cmocka_unit_test(test_vector_kernels__force_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
