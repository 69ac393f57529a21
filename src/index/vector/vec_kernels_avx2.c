/*
 * vec_kernels_avx2.c - AVX2 + FMA kernels. The 16 canonical lanes live in
 * two ymm registers (lanes 0-7 and 8-15); the last partial chunk is
 * copied into zero-padded stack arrays so it follows the same order.
 */
#include "vec_kernels.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma,popcnt")))

/* (lo + hi) is the l += l+8 step; the rest is the shared tree. */
TARGET static inline float reduce16(__m256 lo, __m256 hi)
{
    __m256 s8 = _mm256_add_ps(lo, hi);
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8),
                           _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
    return _mm_cvtss_f32(s1);
}

static inline const uint8_t *row_at(const uint8_t *base, size_t stride,
                                    const uint32_t *idx, size_t t)
{
    return base + (idx ? (size_t)idx[t] : t) * stride;
}

TARGET static inline __m256 ldu(const void *p)
{
    return _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)p));
}

enum fkind { F_DOT, F_L2 };

/* One row against q over `dim` floats in canonical order. */
TARGET static inline float float_row(const float *q, const uint8_t *r,
                                     size_t dim, enum fkind kind)
{
    __m256 lo = _mm256_setzero_ps(), hi = lo;
    size_t full = dim & ~(size_t)15, i = 0;
    float qt[16], rt[16];

    for (;; i += 16) {
        const float *qp = q + i;
        const uint8_t *rp = r + 4 * i;
        if (i >= full) {
            if (i == dim)
                break;
            memset(qt, 0, sizeof qt);
            memset(rt, 0, sizeof rt);
            memcpy(qt, q + i, 4 * (dim - i));
            memcpy(rt, r + 4 * i, 4 * (dim - i));
            qp = qt;
            rp = (const uint8_t *)rt;
        }
        __m256 q0 = ldu(qp), q1 = ldu(qp + 8);
        __m256 r0 = ldu(rp), r1 = ldu(rp + 32);
        if (kind == F_DOT) {
            lo = _mm256_fmadd_ps(q0, r0, lo);
            hi = _mm256_fmadd_ps(q1, r1, hi);
        } else {
            __m256 d0 = _mm256_sub_ps(q0, r0), d1 = _mm256_sub_ps(q1, r1);
            lo = _mm256_fmadd_ps(d0, d0, lo);
            hi = _mm256_fmadd_ps(d1, d1, hi);
        }
        if (i >= full)
            break;
    }
    return reduce16(lo, hi);
}

TARGET static void dot_avx2(float *out, const float *q, const uint8_t *base,
                            size_t stride, const uint32_t *idx, size_t n,
                            size_t dim)
{
    for (size_t t = 0; t < n; t++)
        out[t] = float_row(q, row_at(base, stride, idx, t), dim, F_DOT);
}

TARGET static void l2sq_avx2(float *out, const float *q, const uint8_t *base,
                             size_t stride, const uint32_t *idx, size_t n,
                             size_t dim)
{
    for (size_t t = 0; t < n; t++)
        out[t] = float_row(q, row_at(base, stride, idx, t), dim, F_L2);
}

/* Row by row: AVX2 is the fallback level, kept simple. */
TARGET static void dot_mxn_avx2(float *out, const float *x, size_t n_x,
                                const float *c, size_t n_c, size_t dim)
{
    for (size_t i = 0; i < n_x; i++)
        dot_avx2(out + i * n_c, x + i * dim, (const uint8_t *)c, dim * 4,
                 NULL, n_c, dim);
}

enum qkind { Q_L2, Q_DOT };

TARGET static inline __m256 widen8(const uint8_t *p)
{
    __m128i b = _mm_loadl_epi64((const __m128i *)p);
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
}

TARGET static inline float sq8_row(const float *qv, const float *scale,
                                   const uint8_t *r, size_t dim,
                                   enum qkind kind)
{
    __m256 lo = _mm256_setzero_ps(), hi = lo;
    size_t full = dim & ~(size_t)15, i = 0;
    float qt[16], st[16];
    uint8_t rt[16];

    for (;; i += 16) {
        const float *qp = qv + i, *sp = kind == Q_L2 ? scale + i : NULL;
        const uint8_t *rp = r + i;
        if (i >= full) {
            if (i == dim)
                break;
            memset(qt, 0, sizeof qt);
            memset(st, 0, sizeof st);
            memset(rt, 0, sizeof rt);
            memcpy(qt, qv + i, 4 * (dim - i));
            if (kind == Q_L2)
                memcpy(st, scale + i, 4 * (dim - i));
            memcpy(rt, r + i, dim - i);
            qp = qt;
            sp = st;
            rp = rt;
        }
        __m256 c0 = widen8(rp), c1 = widen8(rp + 8);
        if (kind == Q_L2) {
            __m256 d0 = _mm256_fnmadd_ps(ldu(sp), c0, ldu(qp));
            __m256 d1 = _mm256_fnmadd_ps(ldu(sp + 8), c1, ldu(qp + 8));
            lo = _mm256_fmadd_ps(d0, d0, lo);
            hi = _mm256_fmadd_ps(d1, d1, hi);
        } else {
            lo = _mm256_fmadd_ps(ldu(qp), c0, lo);
            hi = _mm256_fmadd_ps(ldu(qp + 8), c1, hi);
        }
        if (i >= full)
            break;
    }
    return reduce16(lo, hi);
}

/* sq8_res_l2sq (vec_kernels.h); a short last chunk goes through
 * zero-padded copies. */
TARGET static float sq8_res_l2sq_avx2(const float *q2, const float *scale,
                                      const uint8_t *code, const float *rstep,
                                      const uint8_t *res, size_t dim)
{
    __m256 lo = _mm256_setzero_ps(), hi = lo;
    size_t full = dim & ~(size_t)15, i = 0;
    float qt[16], st[16], rst[16];
    uint8_t ct[16], rt[16];

    for (;; i += 16) {
        const float *qp = q2 + i, *sp = scale + i, *rsp = rstep + i;
        const uint8_t *cp = code + i, *rp = res + i;
        if (i >= full) {
            if (i == dim)
                break;
            memset(qt, 0, sizeof qt);
            memset(st, 0, sizeof st);
            memset(rst, 0, sizeof rst);
            memset(ct, 0, sizeof ct);
            memset(rt, 0, sizeof rt);
            memcpy(qt, q2 + i, 4 * (dim - i));
            memcpy(st, scale + i, 4 * (dim - i));
            memcpy(rst, rstep + i, 4 * (dim - i));
            memcpy(ct, code + i, dim - i);
            memcpy(rt, res + i, dim - i);
            qp = qt;
            sp = st;
            rsp = rst;
            cp = ct;
            rp = rt;
        }
        __m256 t0 = _mm256_sub_ps(ldu(qp), _mm256_mul_ps(ldu(sp), widen8(cp)));
        __m256 t1 = _mm256_sub_ps(ldu(qp + 8),
                                  _mm256_mul_ps(ldu(sp + 8), widen8(cp + 8)));
        __m256 d0 = _mm256_fnmadd_ps(ldu(rsp), widen8(rp), t0);
        __m256 d1 = _mm256_fnmadd_ps(ldu(rsp + 8), widen8(rp + 8), t1);
        lo = _mm256_fmadd_ps(d0, d0, lo);
        hi = _mm256_fmadd_ps(d1, d1, hi);
        if (i >= full)
            break;
    }
    return reduce16(lo, hi);
}

TARGET static void sq8_l2sq_avx2(float *out, const float *qo,
                                 const float *scale, const uint8_t *base,
                                 size_t stride, const uint32_t *idx, size_t n,
                                 size_t dim)
{
    for (size_t t = 0; t < n; t++)
        out[t] = sq8_row(qo, scale, row_at(base, stride, idx, t), dim, Q_L2);
}

TARGET static void sq8_dot_avx2(float *out, const float *qs,
                                const uint8_t *base, size_t stride,
                                const uint32_t *idx, size_t n, size_t dim)
{
    for (size_t t = 0; t < n; t++)
        out[t] = sq8_row(qs, NULL, row_at(base, stride, idx, t), dim, Q_DOT);
}

TARGET static void bits4_avx2(uint32_t *dot_out, uint32_t *pc_out,
                              const uint8_t *codes, size_t n, size_t code_len,
                              const uint8_t *planes)
{
    for (size_t t = 0; t < n; t++) {
        const uint8_t *code = codes + t * code_len;
        uint64_t dot = 0, pc = 0;
        for (size_t w = 0; w < code_len; w += 8) {
            uint64_t x, p0, p1, p2, p3;
            memcpy(&x, code + w, 8);
            memcpy(&p0, planes + w, 8);
            memcpy(&p1, planes + code_len + w, 8);
            memcpy(&p2, planes + 2 * code_len + w, 8);
            memcpy(&p3, planes + 3 * code_len + w, 8);
            pc += (uint64_t)_mm_popcnt_u64(x);
            dot += (uint64_t)_mm_popcnt_u64(x & p0) +
                   ((uint64_t)_mm_popcnt_u64(x & p1) << 1) +
                   ((uint64_t)_mm_popcnt_u64(x & p2) << 2) +
                   ((uint64_t)_mm_popcnt_u64(x & p3) << 3);
        }
        dot_out[t] = (uint32_t)dot;
        pc_out[t] = (uint32_t)pc;
    }
}

const struct vk_ops vk_ops_avx2 = {
    dot_avx2,     l2sq_avx2,  dot_mxn_avx2,     sq8_l2sq_avx2,
    sq8_dot_avx2, bits4_avx2, vk_rotate_scalar, sq8_res_l2sq_avx2,
};

#else
const struct vk_ops vk_ops_avx2 = {0};
#endif
