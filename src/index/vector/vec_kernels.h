/*
 * vec_kernels.h - distance kernels in scalar, AVX2 and AVX-512 versions,
 * chosen at run time, with bit-identical results at every level.
 *
 * Canonical float order (every kernel, every level): a vector of `dim`
 * values is cut into chunks of 16 (the last one zero-padded); lane l
 * (0..15) of one accumulator takes element 16*j + l of chunk j with one
 * fused multiply-add per element, chunks in order; then the 16 lanes are
 * reduced as a fixed tree: l += l+8 (l < 8), l += l+4, l += l+2, l += l+1.
 * The scalar code emulates exactly these lanes with fmaf(), AVX2 keeps
 * lanes 0-7 and 8-15 in two registers, AVX-512 in one. Integer kernels
 * are exact anyway. Tests compare all levels bit for bit.
 *
 * Row pointers into index regions may be unaligned: kernels load them
 * with unaligned loads (memcpy in scalar code).
 */
#ifndef INFINO_INDEX_VECTOR_VEC_KERNELS_H
#define INFINO_INDEX_VECTOR_VEC_KERNELS_H

#include <stddef.h>
#include <stdint.h>

enum vk_level {
    VK_SCALAR = 0,
    VK_AVX2 = 1,   /* AVX2 + FMA + POPCNT */
    VK_AVX512 = 2, /* AVX-512 F/BW/VL/VPOPCNTDQ */
};

/* In every kernel, row t of a batch is base + idx[t] * stride bytes, or
 * base + t * stride when idx is NULL; `n` rows are computed into out[t]. */
struct vk_ops {
    /* out[t] = sum_d q[d] * row[d] (row: dim float32) */
    void (*dot)(float *out, const float *q, const uint8_t *base, size_t stride,
                const uint32_t *idx, size_t n, size_t dim);
    /* out[t] = sum_d (q[d] - row[d])^2 */
    void (*l2sq)(float *out, const float *q, const uint8_t *base,
                 size_t stride, const uint32_t *idx, size_t n, size_t dim);
    /* out[i * n_c + j] = dot(x_i, c_j): x is n_x rows, c is n_c rows, both
     * dense float arrays of `dim` columns. Same values as `dot`. */
    void (*dot_mxn)(float *out, const float *x, size_t n_x, const float *c,
                    size_t n_c, size_t dim);
    /* SQ8 rows (dim bytes): out[t] = sum_d (qo[d] - scale[d]*code[d])^2
     * with qo = query - offset; the difference is one fused op. */
    void (*sq8_l2sq)(float *out, const float *qo, const float *scale,
                     const uint8_t *base, size_t stride, const uint32_t *idx,
                     size_t n, size_t dim);
    /* SQ8 rows: out[t] = sum_d qs[d] * code[d], qs = query * scale. */
    void (*sq8_dot)(float *out, const float *qs, const uint8_t *base,
                    size_t stride, const uint32_t *idx, size_t n, size_t dim);
    /* n consecutive codes of code_len bytes (a multiple of 8) against a
     * 4-bit query in bit planes (planes + j*code_len holds bit j):
     * dot_out[t] = sum_j 2^j popcount(code_t & plane_j),
     * pc_out[t] = popcount(code_t). */
    void (*bits4)(uint32_t *dot_out, uint32_t *pc_out, const uint8_t *codes,
                  size_t n, size_t code_len, const uint8_t *planes);
    /* In place, x has m floats (m a power of two, >= 64): three rounds of
     * "multiply by signs[r*m .. r*m+m) (each +1 or -1), then the
     * unnormalized Walsh-Hadamard butterflies h = 1, 2, 4, ... m/2", then
     * x *= scale. Only exact-per-element operations in a fixed order per
     * element, so any vectorization gives the same bits. */
    void (*rotate)(float *x, size_t m, const float *signs, float scale);
    /* One SQ8 row with its residual byte (a two-level code): returns
     * sum_d (t[d] - rstep[d]*res[d])^2 where t = q2[d] - scale[d]*code[d]
     * is rounded as a product, then a difference (no fused op); the
     * residual term is one fused op, as in sq8_l2sq. */
    float (*sq8_res_l2sq)(const float *q2, const float *scale,
                          const uint8_t *code, const float *rstep,
                          const uint8_t *res, size_t dim);
    /* 8-bit rows (dim bytes) against a 7-bit query (|w[d]| <= 63, so
     * each pair of products fits in int16: vpmaddubsw):
     * out[t] = sum_d w[d] * code[d], exact. */
    void (*u8i8_dot)(int32_t *out, const int8_t *w, const uint8_t *base,
                     size_t stride, const uint32_t *idx, size_t n,
                     size_t dim);
    /* The query side of probing a cluster (m a multiple of 32): rq[i] =
     * qrot[i] - rc[i] (rc: m floats, possibly unaligned), with their
     * minimum and maximum. */
    void (*residual)(float *rq, float *lo_out, float *hi_out,
                     const float *qrot, const uint8_t *rc, size_t m);
    /* u_i = (int)clamp((rq[i] - lo) * inv + 0.5f, 0, 15) (a product, then
     * a sum; NaN gives 0) in 4 bit planes of m/8 bytes: bit i%8 of byte
     * planes[j * m/8 + i/8] is bit j of u_i. Returns sum_i u_i. */
    uint32_t (*planes4)(uint8_t *planes, const float *rq, float lo,
                        float inv, size_t m);
};

/* The portable query-side probe kernels (the reference). */
void vk_residual_scalar(float *rq, float *lo_out, float *hi_out,
                        const float *qrot, const uint8_t *rc, size_t m);
uint32_t vk_planes4_scalar(uint8_t *planes, const float *rq, float lo,
                           float inv, size_t m);
/* The AVX2 ones, also in the AVX-512 table. */
void vk_residual_avx2(float *rq, float *lo_out, float *hi_out,
                      const float *qrot, const uint8_t *rc, size_t m);
uint32_t vk_planes4_avx2(uint8_t *planes, const float *rq, float lo,
                         float inv, size_t m);

/* The portable rotation, also used by the AVX2 table. */
void vk_rotate_scalar(float *x, size_t m, const float *signs, float scale);

/* The kernels in force: the best level the CPU has, unless the
 * environment variable INFINO_SIMD (scalar|avx2|avx512) or vk_force()
 * lowered it. Never NULL. */
const struct vk_ops *vk_get(void);
enum vk_level vk_level(void);
/* The highest level this CPU supports. */
enum vk_level vk_best_level(void);
/* Kernels of one level, or NULL when the CPU lacks it (tests). */
const struct vk_ops *vk_ops_for(enum vk_level level);
/* Forces `level` (clamped to vk_best_level()) for the whole process and
 * returns the level now in force. For tests and benchmarks; not
 * thread-safe against concurrent searches. */
enum vk_level vk_force(enum vk_level level);
const char *vk_level_name(enum vk_level level);

/* Per-level tables, defined in vec_kernels_<level>.c. */
extern const struct vk_ops vk_ops_scalar;
extern const struct vk_ops vk_ops_avx2;
extern const struct vk_ops vk_ops_avx512;

/* The canonical 16-lane reduction, shared by scalar code paths. */
static inline float vk_reduce16(const float *acc)
{
    float t[8];
    for (int i = 0; i < 8; i++)
        t[i] = acc[i] + acc[i + 8];
    for (int i = 0; i < 4; i++)
        t[i] = t[i] + t[i + 4];
    for (int i = 0; i < 2; i++)
        t[i] = t[i] + t[i + 2];
    return t[0] + t[1];
}

#endif
