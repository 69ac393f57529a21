/*
 * vec_kernels_avx512.c - AVX-512 (F/BW/VL/VPOPCNTDQ) kernels. One zmm
 * register holds the 16 canonical lanes of a row; several rows run side
 * by side to hide FMA latency without changing any row's order of
 * operations. Compiled with a target attribute, used only when the CPU
 * reports the features (vec_kernels.c).
 */
#include "vec_kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define TARGET                                                                 \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512vpopcntdq,"         \
                          "avx2,fma,popcnt")))

TARGET static inline float reduce16(__m512 v)
{
    __m256 lo = _mm512_castps512_ps256(v);
    __m256 hi =
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
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

/* One lane step of each float kernel: `acc` takes chunk values q, r. */
#define STEP_DOT(acc, qv, rv) acc = _mm512_fmadd_ps(qv, rv, acc)
#define STEP_L2(acc, qv, rv)                                                   \
    do {                                                                       \
        __m512 d_ = _mm512_sub_ps(qv, rv);                                     \
        acc = _mm512_fmadd_ps(d_, d_, acc);                                    \
    } while (0)

/* Float-row kernels: 4 rows at a time, then singles. */
#define FLOAT_KERNEL(name, STEP)                                               \
    TARGET static void name(float *out, const float *q, const uint8_t *base,   \
                            size_t stride, const uint32_t *idx, size_t n,      \
                            size_t dim)                                        \
    {                                                                          \
        size_t full = dim & ~(size_t)15;                                       \
        __mmask16 tm = (__mmask16)((1u << (dim & 15)) - 1);                    \
        size_t t = 0;                                                          \
        for (; t + 4 <= n; t += 4) {                                           \
            const uint8_t *r0 = row_at(base, stride, idx, t);                  \
            const uint8_t *r1 = row_at(base, stride, idx, t + 1);              \
            const uint8_t *r2 = row_at(base, stride, idx, t + 2);              \
            const uint8_t *r3 = row_at(base, stride, idx, t + 3);              \
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;        \
            size_t i = 0;                                                      \
            for (; i < full; i += 16) {                                        \
                __m512 qv = _mm512_loadu_ps(q + i);                            \
                STEP(a0, qv, _mm512_loadu_ps(r0 + 4 * i));                     \
                STEP(a1, qv, _mm512_loadu_ps(r1 + 4 * i));                     \
                STEP(a2, qv, _mm512_loadu_ps(r2 + 4 * i));                     \
                STEP(a3, qv, _mm512_loadu_ps(r3 + 4 * i));                     \
            }                                                                  \
            if (tm) {                                                          \
                __m512 qv = _mm512_maskz_loadu_ps(tm, q + i);                  \
                STEP(a0, qv, _mm512_maskz_loadu_ps(tm, r0 + 4 * i));           \
                STEP(a1, qv, _mm512_maskz_loadu_ps(tm, r1 + 4 * i));           \
                STEP(a2, qv, _mm512_maskz_loadu_ps(tm, r2 + 4 * i));           \
                STEP(a3, qv, _mm512_maskz_loadu_ps(tm, r3 + 4 * i));           \
            }                                                                  \
            out[t] = reduce16(a0);                                             \
            out[t + 1] = reduce16(a1);                                         \
            out[t + 2] = reduce16(a2);                                         \
            out[t + 3] = reduce16(a3);                                         \
        }                                                                      \
        for (; t < n; t++) {                                                   \
            const uint8_t *r0 = row_at(base, stride, idx, t);                  \
            __m512 a0 = _mm512_setzero_ps();                                   \
            size_t i = 0;                                                      \
            for (; i < full; i += 16)                                          \
                STEP(a0, _mm512_loadu_ps(q + i), _mm512_loadu_ps(r0 + 4 * i)); \
            if (tm)                                                            \
                STEP(a0, _mm512_maskz_loadu_ps(tm, q + i),                     \
                     _mm512_maskz_loadu_ps(tm, r0 + 4 * i));                   \
            out[t] = reduce16(a0);                                             \
        }                                                                      \
    }

FLOAT_KERNEL(dot_avx512, STEP_DOT)
FLOAT_KERNEL(l2sq_avx512, STEP_L2)

/* 4x4 tiles: 16 accumulators in named registers (an array would spill
 * to the stack), each the canonical order of one pair. */
#define TILE_FMA4(vx, r)                                                       \
    do {                                                                       \
        a##r##0 = _mm512_fmadd_ps(vx, v0, a##r##0);                            \
        a##r##1 = _mm512_fmadd_ps(vx, v1, a##r##1);                            \
        a##r##2 = _mm512_fmadd_ps(vx, v2, a##r##2);                            \
        a##r##3 = _mm512_fmadd_ps(vx, v3, a##r##3);                            \
    } while (0)
#define TILE_OUT(r)                                                            \
    do {                                                                       \
        float *o_ = out + (i + r) * n_c + j;                                   \
        o_[0] = reduce16(a##r##0);                                             \
        o_[1] = reduce16(a##r##1);                                             \
        o_[2] = reduce16(a##r##2);                                             \
        o_[3] = reduce16(a##r##3);                                             \
    } while (0)

TARGET static void dot_mxn_avx512(float *out, const float *x, size_t n_x,
                                  const float *c, size_t n_c, size_t dim)
{
    size_t full = dim & ~(size_t)15;
    __mmask16 tm = (__mmask16)((1u << (dim & 15)) - 1);
    size_t i = 0;

    for (; i + 4 <= n_x; i += 4) {
        const float *x0 = x + i * dim, *x1 = x0 + dim, *x2 = x1 + dim,
                    *x3 = x2 + dim;
        size_t j = 0;
        for (; j + 4 <= n_c; j += 4) {
            const float *c0 = c + j * dim, *c1 = c0 + dim, *c2 = c1 + dim,
                        *c3 = c2 + dim;
            __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
            __m512 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            __m512 a20 = a00, a21 = a00, a22 = a00, a23 = a00;
            __m512 a30 = a00, a31 = a00, a32 = a00, a33 = a00;
            size_t d = 0;
            for (; d < full; d += 16) {
                __m512 v0 = _mm512_loadu_ps(c0 + d);
                __m512 v1 = _mm512_loadu_ps(c1 + d);
                __m512 v2 = _mm512_loadu_ps(c2 + d);
                __m512 v3 = _mm512_loadu_ps(c3 + d);
                __m512 vx = _mm512_loadu_ps(x0 + d);
                TILE_FMA4(vx, 0);
                vx = _mm512_loadu_ps(x1 + d);
                TILE_FMA4(vx, 1);
                vx = _mm512_loadu_ps(x2 + d);
                TILE_FMA4(vx, 2);
                vx = _mm512_loadu_ps(x3 + d);
                TILE_FMA4(vx, 3);
            }
            if (tm) {
                __m512 v0 = _mm512_maskz_loadu_ps(tm, c0 + d);
                __m512 v1 = _mm512_maskz_loadu_ps(tm, c1 + d);
                __m512 v2 = _mm512_maskz_loadu_ps(tm, c2 + d);
                __m512 v3 = _mm512_maskz_loadu_ps(tm, c3 + d);
                __m512 vx = _mm512_maskz_loadu_ps(tm, x0 + d);
                TILE_FMA4(vx, 0);
                vx = _mm512_maskz_loadu_ps(tm, x1 + d);
                TILE_FMA4(vx, 1);
                vx = _mm512_maskz_loadu_ps(tm, x2 + d);
                TILE_FMA4(vx, 2);
                vx = _mm512_maskz_loadu_ps(tm, x3 + d);
                TILE_FMA4(vx, 3);
            }
            TILE_OUT(0);
            TILE_OUT(1);
            TILE_OUT(2);
            TILE_OUT(3);
        }
        for (size_t a = 0; a < 4 && j < n_c; a++)
            dot_avx512(out + (i + a) * n_c + j, x + (i + a) * dim,
                       (const uint8_t *)(c + j * dim), dim * 4, NULL, n_c - j,
                       dim);
    }
    for (; i < n_x; i++)
        dot_avx512(out + i * n_c, x + i * dim, (const uint8_t *)c, dim * 4,
                   NULL, n_c, dim);
}

/* SQ8 rows: 16 code bytes widen to 16 floats per step. */
TARGET static inline __m512 load_codes(const uint8_t *p, __mmask16 m)
{
    __m128i b = _mm_maskz_loadu_epi8(m, p);
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b));
}

TARGET static float sq8_res_l2sq_avx512(const float *q2, const float *scale,
                                        const uint8_t *code,
                                        const float *rstep,
                                        const uint8_t *res, size_t dim)
{
    __m512 acc = _mm512_setzero_ps();

    for (size_t i = 0; i < dim; i += 16) {
        size_t left = dim - i;
        __mmask16 m =
            left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
        __m512 t = _mm512_sub_ps(
            _mm512_maskz_loadu_ps(m, q2 + i),
            _mm512_mul_ps(_mm512_maskz_loadu_ps(m, scale + i),
                          load_codes(code + i, m)));
        __m512 d = _mm512_fnmadd_ps(_mm512_maskz_loadu_ps(m, rstep + i),
                                    load_codes(res + i, m), t);
        acc = _mm512_fmadd_ps(d, d, acc);
    }
    return reduce16(acc);
}

TARGET static void sq8_l2sq_avx512(float *out, const float *qo,
                                   const float *scale, const uint8_t *base,
                                   size_t stride, const uint32_t *idx,
                                   size_t n, size_t dim)
{
    size_t t = 0;

    for (; t + 4 <= n; t += 4) {
        const uint8_t *r[4];
        __m512 acc[4];
        for (int a = 0; a < 4; a++) {
            r[a] = row_at(base, stride, idx, t + (size_t)a);
            acc[a] = _mm512_setzero_ps();
        }
        for (size_t i = 0; i < dim; i += 16) {
            size_t left = dim - i;
            __mmask16 m =
                left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
            __m512 qv = _mm512_maskz_loadu_ps(m, qo + i);
            __m512 sv = _mm512_maskz_loadu_ps(m, scale + i);
            for (int a = 0; a < 4; a++) {
                __m512 d = _mm512_fnmadd_ps(sv, load_codes(r[a] + i, m), qv);
                acc[a] = _mm512_fmadd_ps(d, d, acc[a]);
            }
        }
        for (int a = 0; a < 4; a++)
            out[t + (size_t)a] = reduce16(acc[a]);
    }
    for (; t < n; t++) {
        const uint8_t *r0 = row_at(base, stride, idx, t);
        __m512 acc = _mm512_setzero_ps();
        for (size_t i = 0; i < dim; i += 16) {
            size_t left = dim - i;
            __mmask16 m =
                left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
            __m512 d = _mm512_fnmadd_ps(_mm512_maskz_loadu_ps(m, scale + i),
                                        load_codes(r0 + i, m),
                                        _mm512_maskz_loadu_ps(m, qo + i));
            acc = _mm512_fmadd_ps(d, d, acc);
        }
        out[t] = reduce16(acc);
    }
}

TARGET static void sq8_dot_avx512(float *out, const float *qs,
                                  const uint8_t *base, size_t stride,
                                  const uint32_t *idx, size_t n, size_t dim)
{
    size_t t = 0;

    for (; t + 4 <= n; t += 4) {
        const uint8_t *r[4];
        __m512 acc[4];
        for (int a = 0; a < 4; a++) {
            r[a] = row_at(base, stride, idx, t + (size_t)a);
            acc[a] = _mm512_setzero_ps();
        }
        for (size_t i = 0; i < dim; i += 16) {
            size_t left = dim - i;
            __mmask16 m =
                left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
            __m512 qv = _mm512_maskz_loadu_ps(m, qs + i);
            for (int a = 0; a < 4; a++)
                acc[a] = _mm512_fmadd_ps(qv, load_codes(r[a] + i, m), acc[a]);
        }
        for (int a = 0; a < 4; a++)
            out[t + (size_t)a] = reduce16(acc[a]);
    }
    for (; t < n; t++) {
        const uint8_t *r0 = row_at(base, stride, idx, t);
        __m512 acc = _mm512_setzero_ps();
        for (size_t i = 0; i < dim; i += 16) {
            size_t left = dim - i;
            __mmask16 m =
                left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, qs + i),
                                  load_codes(r0 + i, m), acc);
        }
        out[t] = reduce16(acc);
    }
}

/* Per 64-bit lane: popcounts of the four planes weighted 1,2,4,8 in the
 * low half and the code's own popcount in the high half, so one
 * horizontal sum yields both (each sum stays far below 2^32). */
TARGET static inline __m512i code_lanes(__m512i x, __m512i p0, __m512i p1,
                                        __m512i p2, __m512i p3)
{
    __m512i c0 = _mm512_popcnt_epi64(_mm512_and_si512(x, p0));
    __m512i c1 = _mm512_popcnt_epi64(_mm512_and_si512(x, p1));
    __m512i c2 = _mm512_popcnt_epi64(_mm512_and_si512(x, p2));
    __m512i c3 = _mm512_popcnt_epi64(_mm512_and_si512(x, p3));
    __m512i pc = _mm512_popcnt_epi64(x);
    __m512i d = _mm512_add_epi64(
        _mm512_add_epi64(c0, _mm512_slli_epi64(c1, 1)),
        _mm512_add_epi64(_mm512_slli_epi64(c2, 2), _mm512_slli_epi64(c3, 3)));
    return _mm512_add_epi64(d, _mm512_slli_epi64(pc, 32));
}

/* Sums the 8 lanes of each of a, b into two 64-bit totals [a, b]. */
TARGET static inline __m128i sum_pair(__m512i a, __m512i b)
{
    __m512i t = _mm512_add_epi64(_mm512_unpacklo_epi64(a, b),
                                 _mm512_unpackhi_epi64(a, b));
    __m256i h = _mm256_add_epi64(_mm512_castsi512_si256(t),
                                 _mm512_extracti64x4_epi64(t, 1));
    return _mm_add_epi64(_mm256_castsi256_si128(h),
                         _mm256_extracti128_si256(h, 1));
}

TARGET static void bits4_avx512(uint32_t *dot_out, uint32_t *pc_out,
                                const uint8_t *codes, size_t n,
                                size_t code_len, const uint8_t *planes)
{
    size_t n_words = code_len / 8, t = 0;

    if (n_words <= 8) { /* one register per code (m <= 512) */
        __mmask8 m = n_words == 8 ? (__mmask8)0xff
                                  : (__mmask8)((1u << n_words) - 1);
        __m512i p0 = _mm512_maskz_loadu_epi64(m, planes);
        __m512i p1 = _mm512_maskz_loadu_epi64(m, planes + code_len);
        __m512i p2 = _mm512_maskz_loadu_epi64(m, planes + 2 * code_len);
        __m512i p3 = _mm512_maskz_loadu_epi64(m, planes + 3 * code_len);
        for (; t + 4 <= n; t += 4) {
            const uint8_t *c = codes + t * code_len;
            __m512i s0 = code_lanes(_mm512_maskz_loadu_epi64(m, c), p0, p1,
                                    p2, p3);
            __m512i s1 = code_lanes(
                _mm512_maskz_loadu_epi64(m, c + code_len), p0, p1, p2, p3);
            __m512i s2 = code_lanes(
                _mm512_maskz_loadu_epi64(m, c + 2 * code_len), p0, p1, p2, p3);
            __m512i s3 = code_lanes(
                _mm512_maskz_loadu_epi64(m, c + 3 * code_len), p0, p1, p2, p3);
            __m128i a = sum_pair(s0, s1), b = sum_pair(s2, s3);
            uint64_t r[4];
            _mm_storeu_si128((__m128i *)(void *)r, a);
            _mm_storeu_si128((__m128i *)(void *)(r + 2), b);
            for (int i = 0; i < 4; i++) {
                dot_out[t + (size_t)i] = (uint32_t)r[i];
                pc_out[t + (size_t)i] = (uint32_t)(r[i] >> 32);
            }
        }
        for (; t < n; t++) {
            __m512i s0 = code_lanes(
                _mm512_maskz_loadu_epi64(m, codes + t * code_len), p0, p1, p2,
                p3);
            uint64_t tot = (uint64_t)_mm512_reduce_add_epi64(s0);
            dot_out[t] = (uint32_t)tot;
            pc_out[t] = (uint32_t)(tot >> 32);
        }
        return;
    }
    for (; t < n; t++) {
        const uint8_t *code = codes + t * code_len;
        __m512i s = _mm512_setzero_si512();
        for (size_t w = 0; w < n_words; w += 8) {
            size_t left = n_words - w;
            __mmask8 m = left >= 8 ? (__mmask8)0xff
                                   : (__mmask8)((1u << left) - 1);
            size_t off = w * 8;
            s = _mm512_add_epi64(
                s, code_lanes(
                       _mm512_maskz_loadu_epi64(m, code + off),
                       _mm512_maskz_loadu_epi64(m, planes + off),
                       _mm512_maskz_loadu_epi64(m, planes + code_len + off),
                       _mm512_maskz_loadu_epi64(m, planes + 2 * code_len + off),
                       _mm512_maskz_loadu_epi64(m,
                                                planes + 3 * code_len + off)));
        }
        uint64_t tot = (uint64_t)_mm512_reduce_add_epi64(s);
        dot_out[t] = (uint32_t)tot;
        pc_out[t] = (uint32_t)(tot >> 32);
    }
}

/* Butterflies h = 1, 2, 4, 8 stay inside one register: `t` is `v` with
 * partners swapped; lanes in the lower half of each pair take v + t
 * (= a + b), the upper ones t - v (= a - b), exactly the scalar operands.
 * h >= 16 pairs whole registers. */
TARGET static inline __m512 butterfly_in_reg(__m512 v)
{
    __m512 t = _mm512_permute_ps(v, 0xB1); /* h = 1 */
    v = _mm512_mask_blend_ps(0xAAAA, _mm512_add_ps(v, t), _mm512_sub_ps(t, v));
    t = _mm512_permute_ps(v, 0x4E); /* h = 2 */
    v = _mm512_mask_blend_ps(0xCCCC, _mm512_add_ps(v, t), _mm512_sub_ps(t, v));
    t = _mm512_shuffle_f32x4(v, v, 0xB1); /* h = 4 */
    v = _mm512_mask_blend_ps(0xF0F0, _mm512_add_ps(v, t), _mm512_sub_ps(t, v));
    t = _mm512_shuffle_f32x4(v, v, 0x4E); /* h = 8 */
    v = _mm512_mask_blend_ps(0xFF00, _mm512_add_ps(v, t), _mm512_sub_ps(t, v));
    return v;
}

TARGET static void rotate_avx512(float *x, size_t m, const float *signs,
                                 float scale)
{
    for (int r = 0; r < 3; r++) {
        const float *s = signs + (size_t)r * m;
        for (size_t i = 0; i < m; i += 16) {
            __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + i),
                                     _mm512_loadu_ps(s + i));
            _mm512_storeu_ps(x + i, butterfly_in_reg(v));
        }
        for (size_t h = 16; h < m; h *= 2)
            for (size_t i = 0; i < m; i += 2 * h)
                for (size_t j = i; j < i + h; j += 16) {
                    __m512 a = _mm512_loadu_ps(x + j);
                    __m512 b = _mm512_loadu_ps(x + j + h);
                    _mm512_storeu_ps(x + j, _mm512_add_ps(a, b));
                    _mm512_storeu_ps(x + j + h, _mm512_sub_ps(a, b));
                }
    }
    __m512 sv = _mm512_set1_ps(scale);
    for (size_t i = 0; i < m; i += 16)
        _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), sv));
}

/* 64 bytes per step, as the AVX2 kernel does 32. */
TARGET static void u8i8_dot_avx512(int32_t *out, const int8_t *w,
                                   const uint8_t *base, size_t stride,
                                   const uint32_t *idx, size_t n, size_t dim)
{
    const __m512i ones = _mm512_set1_epi16(1);
    size_t full = dim & ~(size_t)63;

    for (size_t t = 0; t < n; t++) {
        const uint8_t *r = row_at(base, stride, idx, t);
        __m512i acc = _mm512_setzero_si512();
        int32_t tail = 0;
        for (size_t d = 0; d < full; d += 64) {
            __m512i c = _mm512_loadu_si512((const void *)(r + d));
            __m512i q = _mm512_loadu_si512((const void *)(w + d));
            __m512i p = _mm512_maddubs_epi16(c, q);
            acc = _mm512_add_epi32(acc, _mm512_madd_epi16(p, ones));
        }
        for (size_t d = full; d < dim; d++)
            tail += (int32_t)w[d] * (int32_t)r[d];
        out[t] = _mm512_reduce_add_epi32(acc) + tail;
    }
}

const struct vk_ops vk_ops_avx512 = {
    dot_avx512,     l2sq_avx512,  dot_mxn_avx512, sq8_l2sq_avx512,
    sq8_dot_avx512, bits4_avx512, rotate_avx512, sq8_res_l2sq_avx512,
    u8i8_dot_avx512, vk_residual_avx2, vk_planes4_avx2,
};

#else
/* Not x86-64: the dispatcher never selects this table. */
const struct vk_ops vk_ops_avx512 = {0};
#endif
