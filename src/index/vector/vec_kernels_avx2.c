/*
 * vec_kernels_avx2.c - AVX2 + FMA kernels. The 16 canonical lanes live in
 * two ymm registers (lanes 0-7 and 8-15); the last partial chunk is
 * copied into zero-padded stack arrays so it follows the same order.
 */
#include "vec_kernels.h"

#include <math.h>
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

TARGET static inline int32_t hsum_epi32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v),
                              _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* 32 bytes per step: vpmaddubsw (u8 x i8, adjacent pairs summed into
 * int16, exact while |w| <= 63), vpmaddwd by 1 into int32 lanes; four
 * rows at a time share the query's loads. */
TARGET static void u8i8_dot_avx2(int32_t *out, const int8_t *w,
                                 const uint8_t *base, size_t stride,
                                 const uint32_t *idx, size_t n, size_t dim)
{
    const __m256i ones = _mm256_set1_epi16(1);
    size_t full = dim & ~(size_t)31, t = 0;

    for (; t + 4 <= n; t += 4) {
        const uint8_t *r0 = row_at(base, stride, idx, t);
        const uint8_t *r1 = row_at(base, stride, idx, t + 1);
        const uint8_t *r2 = row_at(base, stride, idx, t + 2);
        const uint8_t *r3 = row_at(base, stride, idx, t + 3);
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t d = 0; d < full; d += 32) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(w + d));
            __m256i c0 = _mm256_loadu_si256((const __m256i *)(r0 + d));
            __m256i c1 = _mm256_loadu_si256((const __m256i *)(r1 + d));
            __m256i c2 = _mm256_loadu_si256((const __m256i *)(r2 + d));
            __m256i c3 = _mm256_loadu_si256((const __m256i *)(r3 + d));
            a0 = _mm256_add_epi32(
                a0, _mm256_madd_epi16(_mm256_maddubs_epi16(c0, q), ones));
            a1 = _mm256_add_epi32(
                a1, _mm256_madd_epi16(_mm256_maddubs_epi16(c1, q), ones));
            a2 = _mm256_add_epi32(
                a2, _mm256_madd_epi16(_mm256_maddubs_epi16(c2, q), ones));
            a3 = _mm256_add_epi32(
                a3, _mm256_madd_epi16(_mm256_maddubs_epi16(c3, q), ones));
        }
        int32_t s0 = hsum_epi32(a0), s1 = hsum_epi32(a1);
        int32_t s2 = hsum_epi32(a2), s3 = hsum_epi32(a3);
        for (size_t d = full; d < dim; d++) {
            s0 += (int32_t)w[d] * (int32_t)r0[d];
            s1 += (int32_t)w[d] * (int32_t)r1[d];
            s2 += (int32_t)w[d] * (int32_t)r2[d];
            s3 += (int32_t)w[d] * (int32_t)r3[d];
        }
        out[t] = s0;
        out[t + 1] = s1;
        out[t + 2] = s2;
        out[t + 3] = s3;
    }
    for (; t < n; t++) {
        const uint8_t *r = row_at(base, stride, idx, t);
        __m256i acc = _mm256_setzero_si256();
        int32_t tail = 0;
        for (size_t d = 0; d < full; d += 32) {
            __m256i c = _mm256_loadu_si256((const __m256i *)(r + d));
            __m256i q = _mm256_loadu_si256((const __m256i *)(w + d));
            acc = _mm256_add_epi32(
                acc, _mm256_madd_epi16(_mm256_maddubs_epi16(c, q), ones));
        }
        for (size_t d = full; d < dim; d++)
            tail += (int32_t)w[d] * (int32_t)r[d];
        out[t] = hsum_epi32(acc) + tail;
    }
}

TARGET void vk_residual_avx2(float *rq, float *lo_out, float *hi_out,
                             const float *qrot, const uint8_t *rc, size_t m)
{
    __m256 lo = _mm256_set1_ps(INFINITY), hi = _mm256_set1_ps(-INFINITY);
    float l[8], h[8], lm, hm;

    for (size_t i = 0; i < m; i += 8) {
        __m256 v = _mm256_sub_ps(_mm256_loadu_ps(qrot + i), ldu(rc + 4 * i));
        _mm256_storeu_ps(rq + i, v);
        lo = _mm256_min_ps(lo, v);
        hi = _mm256_max_ps(hi, v);
    }
    _mm256_storeu_ps(l, lo);
    _mm256_storeu_ps(h, hi);
    lm = l[0];
    hm = h[0];
    for (int i = 1; i < 8; i++) {
        lm = l[i] < lm ? l[i] : lm;
        hm = h[i] > hm ? h[i] : hm;
    }
    *lo_out = lm;
    *hi_out = hm;
}

/* 32 values per step: quantized as vk_planes4_scalar does (a product and
 * a sum, never fused), packed to bytes, and each bit plane taken with
 * one shift and movemask. */
TARGET uint32_t vk_planes4_avx2(uint8_t *planes, const float *rq, float lo,
                                float inv, size_t m)
{
    const __m256 vlo = _mm256_set1_ps(lo), vinv = _mm256_set1_ps(inv);
    const __m256 half = _mm256_set1_ps(0.5f), zero = _mm256_setzero_ps();
    const __m256 fifteen = _mm256_set1_ps(15.0f);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    size_t code_len = m / 8;
    __m256i sums = _mm256_setzero_si256();
    uint64_t s[4];

    for (size_t i = 0; i < m; i += 32) {
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            __m256 t = _mm256_sub_ps(_mm256_loadu_ps(rq + i + 8 * k), vlo);
            t = _mm256_add_ps(_mm256_mul_ps(t, vinv), half);
            t = _mm256_max_ps(t, zero); /* NaN gives the second: 0 */
            t = _mm256_min_ps(t, fifteen);
            q[k] = _mm256_cvttps_epi32(t);
        }
        /* packs interleave 128-bit lanes; the permute restores order */
        __m256i w = _mm256_packs_epi32(q[0], q[1]);
        __m256i x = _mm256_packs_epi32(q[2], q[3]);
        __m256i b = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(w, x),
                                                order);
        sums = _mm256_add_epi64(
            sums, _mm256_sad_epu8(b, _mm256_setzero_si256()));
        for (int j = 0; j < 4; j++) {
            uint32_t bits = (uint32_t)_mm256_movemask_epi8(
                _mm256_slli_epi16(b, 7 - j));
            memcpy(planes + (size_t)j * code_len + i / 8, &bits, 4);
        }
    }
    _mm256_storeu_si256((__m256i *)s, sums);
    return (uint32_t)(s[0] + s[1] + s[2] + s[3]);
}

/* The butterflies of spans 1, 2 and 4 inside one register: lane j gets
 * a + b (v + t) in the lower half of each pair of spans and a - b (t - v)
 * in the upper one, the same additions as the scalar kernel's, so the
 * result is bit-identical. */
TARGET static inline __m256 butterfly8(__m256 v)
{
    __m256 t = _mm256_permute_ps(v, 0xB1); /* h = 1: lanes 1,0,3,2 */
    v = _mm256_blend_ps(_mm256_add_ps(v, t), _mm256_sub_ps(t, v), 0xAA);
    t = _mm256_permute_ps(v, 0x4E); /* h = 2: lanes 2,3,0,1 */
    v = _mm256_blend_ps(_mm256_add_ps(v, t), _mm256_sub_ps(t, v), 0xCC);
    t = _mm256_permute2f128_ps(v, v, 0x01); /* h = 4: halves swapped */
    return _mm256_blend_ps(_mm256_add_ps(v, t), _mm256_sub_ps(t, v), 0xF0);
}

/* vk_rotate_scalar's three rounds of signs and Walsh-Hadamard transform,
 * 8 lanes at a time (m is a power of two >= 64). */
TARGET static void rotate_avx2(float *x, size_t m, const float *signs,
                               float scale)
{
    if (m % 8 != 0) {
        vk_rotate_scalar(x, m, signs, scale);
        return;
    }
    for (int r = 0; r < 3; r++) {
        const float *s = signs + (size_t)r * m;
        for (size_t i = 0; i < m; i += 8)
            _mm256_storeu_ps(x + i, butterfly8(_mm256_mul_ps(
                                        _mm256_loadu_ps(x + i),
                                        _mm256_loadu_ps(s + i))));
        for (size_t h = 8; h < m; h *= 2)
            for (size_t i = 0; i < m; i += 2 * h)
                for (size_t j = i; j < i + h; j += 8) {
                    __m256 a = _mm256_loadu_ps(x + j);
                    __m256 b = _mm256_loadu_ps(x + j + h);
                    _mm256_storeu_ps(x + j, _mm256_add_ps(a, b));
                    _mm256_storeu_ps(x + j + h, _mm256_sub_ps(a, b));
                }
    }
    __m256 sv = _mm256_set1_ps(scale);
    for (size_t i = 0; i < m; i += 8)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), sv));
}

const struct vk_ops vk_ops_avx2 = {
    dot_avx2,     l2sq_avx2,  dot_mxn_avx2,     sq8_l2sq_avx2,
    sq8_dot_avx2, bits4_avx2, rotate_avx2,      sq8_res_l2sq_avx2,
    u8i8_dot_avx2, vk_residual_avx2, vk_planes4_avx2,
};

#else
const struct vk_ops vk_ops_avx2 = {0};
#endif
