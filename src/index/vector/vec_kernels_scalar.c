/*
 * vec_kernels_scalar.c - portable kernels; the reference for the SIMD
 * levels. Each emulates the 16 lanes of the canonical order described in
 * vec_kernels.h with fmaf(), so the SIMD versions must equal it bit for
 * bit. Slow but always available.
 */
#include "vec_kernels.h"

#include <math.h>
#include <string.h>

#define LANES 16

static inline const uint8_t *row_at(const uint8_t *base, size_t stride,
                                    const uint32_t *idx, size_t t)
{
    return base + (idx ? (size_t)idx[t] : t) * stride;
}

static inline float ld_f32(const uint8_t *p, size_t i)
{
    float v;
    memcpy(&v, p + 4 * i, 4);
    return v;
}

static void dot_scalar(float *out, const float *q, const uint8_t *base,
                       size_t stride, const uint32_t *idx, size_t n,
                       size_t dim)
{
    for (size_t t = 0; t < n; t++) {
        const uint8_t *row = row_at(base, stride, idx, t);
        float acc[LANES] = {0};
        for (size_t i0 = 0; i0 < dim; i0 += LANES)
            for (size_t l = 0; l < LANES; l++) {
                size_t i = i0 + l;
                float a = i < dim ? q[i] : 0.0f;
                float b = i < dim ? ld_f32(row, i) : 0.0f;
                acc[l] = fmaf(a, b, acc[l]);
            }
        out[t] = vk_reduce16(acc);
    }
}

static void l2sq_scalar(float *out, const float *q, const uint8_t *base,
                        size_t stride, const uint32_t *idx, size_t n,
                        size_t dim)
{
    for (size_t t = 0; t < n; t++) {
        const uint8_t *row = row_at(base, stride, idx, t);
        float acc[LANES] = {0};
        for (size_t i0 = 0; i0 < dim; i0 += LANES)
            for (size_t l = 0; l < LANES; l++) {
                size_t i = i0 + l;
                float d = i < dim ? q[i] - ld_f32(row, i) : 0.0f;
                acc[l] = fmaf(d, d, acc[l]);
            }
        out[t] = vk_reduce16(acc);
    }
}

static void dot_mxn_scalar(float *out, const float *x, size_t n_x,
                           const float *c, size_t n_c, size_t dim)
{
    for (size_t i = 0; i < n_x; i++)
        dot_scalar(out + i * n_c, x + i * dim, (const uint8_t *)c, dim * 4,
                   NULL, n_c, dim);
}

static void sq8_l2sq_scalar(float *out, const float *qo, const float *scale,
                            const uint8_t *base, size_t stride,
                            const uint32_t *idx, size_t n, size_t dim)
{
    for (size_t t = 0; t < n; t++) {
        const uint8_t *row = row_at(base, stride, idx, t);
        float acc[LANES] = {0};
        for (size_t i0 = 0; i0 < dim; i0 += LANES)
            for (size_t l = 0; l < LANES; l++) {
                size_t i = i0 + l;
                float d = i < dim ? fmaf(-scale[i], (float)row[i], qo[i])
                                  : 0.0f;
                acc[l] = fmaf(d, d, acc[l]);
            }
        out[t] = vk_reduce16(acc);
    }
}

static float sq8_res_l2sq_scalar(const float *q2, const float *scale,
                                 const uint8_t *code, const float *rstep,
                                 const uint8_t *res, size_t dim)
{
    float acc[LANES] = {0};

    for (size_t i0 = 0; i0 < dim; i0 += LANES)
        for (size_t l = 0; l < LANES; l++) {
            size_t i = i0 + l;
            float d = 0.0f;
            if (i < dim) {
                float prod = scale[i] * (float)code[i];
                float t = q2[i] - prod;
                d = fmaf(-rstep[i], (float)res[i], t);
            }
            acc[l] = fmaf(d, d, acc[l]);
        }
    return vk_reduce16(acc);
}

static void sq8_dot_scalar(float *out, const float *qs, const uint8_t *base,
                           size_t stride, const uint32_t *idx, size_t n,
                           size_t dim)
{
    for (size_t t = 0; t < n; t++) {
        const uint8_t *row = row_at(base, stride, idx, t);
        float acc[LANES] = {0};
        for (size_t i0 = 0; i0 < dim; i0 += LANES)
            for (size_t l = 0; l < LANES; l++) {
                size_t i = i0 + l;
                float a = i < dim ? qs[i] : 0.0f;
                float b = i < dim ? (float)row[i] : 0.0f;
                acc[l] = fmaf(a, b, acc[l]);
            }
        out[t] = vk_reduce16(acc);
    }
}

static inline unsigned popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

static void bits4_scalar(uint32_t *dot_out, uint32_t *pc_out,
                         const uint8_t *codes, size_t n, size_t code_len,
                         const uint8_t *planes)
{
    for (size_t t = 0; t < n; t++) {
        const uint8_t *code = codes + t * code_len;
        uint32_t dot = 0, pc = 0;
        for (size_t w = 0; w < code_len; w += 8) {
            uint64_t x, p;
            memcpy(&x, code + w, 8);
            pc += popcount64(x);
            for (unsigned j = 0; j < 4; j++) {
                memcpy(&p, planes + j * code_len + w, 8);
                dot += popcount64(x & p) << j;
            }
        }
        dot_out[t] = dot;
        pc_out[t] = pc;
    }
}

void vk_rotate_scalar(float *x, size_t m, const float *signs, float scale)
{
    for (int r = 0; r < 3; r++) {
        const float *s = signs + (size_t)r * m;
        for (size_t i = 0; i < m; i++)
            x[i] = x[i] * s[i];
        for (size_t h = 1; h < m; h *= 2)
            for (size_t i = 0; i < m; i += 2 * h)
                for (size_t j = i; j < i + h; j++) {
                    float a = x[j], b = x[j + h];
                    x[j] = a + b;
                    x[j + h] = a - b;
                }
    }
    for (size_t i = 0; i < m; i++)
        x[i] = x[i] * scale;
}

static void u8i8_dot_scalar(int32_t *out, const int8_t *w,
                            const uint8_t *base, size_t stride,
                            const uint32_t *idx, size_t n, size_t dim)
{
    for (size_t t = 0; t < n; t++) {
        const uint8_t *r = row_at(base, stride, idx, t);
        int32_t acc = 0;
        for (size_t d = 0; d < dim; d++)
            acc += (int32_t)w[d] * (int32_t)r[d];
        out[t] = acc;
    }
}

void vk_residual_scalar(float *rq, float *lo_out, float *hi_out,
                        const float *qrot, const uint8_t *rc, size_t m)
{
    float lo = INFINITY, hi = -INFINITY;

    for (size_t i = 0; i < m; i++) {
        float v = qrot[i] - ld_f32(rc, i);
        rq[i] = v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    *lo_out = lo;
    *hi_out = hi;
}

uint32_t vk_planes4_scalar(uint8_t *planes, const float *rq, float lo,
                           float inv, size_t m)
{
    size_t code_len = m / 8;
    uint32_t sum = 0;

    for (size_t b = 0; b < code_len; b++) {
        uint8_t u[8];
        for (unsigned t = 0; t < 8; t++) {
            float x = (rq[8 * b + t] - lo) * inv + 0.5f;
            /* clamp before converting: a damaged (checksum-valid) region
             * can hold finite values whose differences overflow */
            x = x >= 0 ? x : 0; /* also maps NaN to 0 */
            x = x <= 15 ? x : 15;
            u[t] = (uint8_t)(int)x;
            sum += u[t];
        }
        for (unsigned j = 0; j < 4; j++) {
            unsigned byte = 0;
            for (unsigned t = 0; t < 8; t++)
                byte |= ((u[t] >> j) & 1u) << t;
            planes[j * code_len + b] = (uint8_t)byte;
        }
    }
    return sum;
}

const struct vk_ops vk_ops_scalar = {
    dot_scalar,      l2sq_scalar,    dot_mxn_scalar,   sq8_l2sq_scalar,
    sq8_dot_scalar,  bits4_scalar,   vk_rotate_scalar, sq8_res_l2sq_scalar,
    u8i8_dot_scalar, vk_residual_scalar, vk_planes4_scalar,
};
