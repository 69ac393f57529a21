/*
 * vec_kernels.c - picks the kernel level once per process: the best the
 * CPU supports (cpuid via __builtin_cpu_supports), lowered by the
 * environment variable INFINO_SIMD=scalar|avx2|avx512 or by vk_force().
 */
#include "vec_kernels.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Atomic int level_in_force = -1; /* -1: not chosen yet */

enum vk_level vk_best_level(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512vpopcntdq"))
        return VK_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("popcnt"))
        return VK_AVX2;
#endif
    return VK_SCALAR;
}

static const struct vk_ops *table(enum vk_level level)
{
    switch (level) {
    case VK_AVX512:
        return &vk_ops_avx512;
    case VK_AVX2:
        return &vk_ops_avx2;
    default:
        return &vk_ops_scalar;
    }
}

const struct vk_ops *vk_ops_for(enum vk_level level)
{
    if ((int)level < VK_SCALAR || level > vk_best_level())
        return NULL;
    return table(level);
}

static enum vk_level choose(void)
{
    enum vk_level best = vk_best_level(), want = best;
    const char *env = getenv("INFINO_SIMD");

    if (env != NULL) {
        if (strcmp(env, "scalar") == 0)
            want = VK_SCALAR;
        else if (strcmp(env, "avx2") == 0)
            want = VK_AVX2;
        else if (strcmp(env, "avx512") == 0)
            want = VK_AVX512;
    }
    return want < best ? want : best;
}

enum vk_level vk_level(void)
{
    int lvl = atomic_load_explicit(&level_in_force, memory_order_acquire);

    if (lvl < 0) {
        lvl = (int)choose();
        atomic_store_explicit(&level_in_force, lvl, memory_order_release);
    }
    return (enum vk_level)lvl;
}

const struct vk_ops *vk_get(void)
{
    return table(vk_level());
}

enum vk_level vk_force(enum vk_level level)
{
    enum vk_level best = vk_best_level();

    if ((int)level < VK_SCALAR)
        level = VK_SCALAR;
    if (level > best)
        level = best;
    atomic_store_explicit(&level_in_force, (int)level, memory_order_release);
    return level;
}

const char *vk_level_name(enum vk_level level)
{
    switch (level) {
    case VK_AVX512:
        return "avx512";
    case VK_AVX2:
        return "avx2";
    default:
        return "scalar";
    }
}
