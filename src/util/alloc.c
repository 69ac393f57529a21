/*
 * alloc.c - allocation wrappers with failure injection (see alloc.h).
 *
 * The countdown is an atomic so that failure injection also works when
 * worker threads allocate; in production it costs one relaxed load.
 */
#include "alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static atomic_long countdown; /* 0 = off; else allocations left + 1 */
static atomic_long n_failed;

static int should_fail(void)
{
    long c = atomic_load_explicit(&countdown, memory_order_relaxed);

    if (c == 0)
        return 0;
    if (c == 1) {
        atomic_fetch_add(&n_failed, 1);
        return 1;
    }
    atomic_fetch_sub(&countdown, 1);
    return 0;
}

void mem_fail_after(long n)
{
    atomic_store(&n_failed, 0);
    atomic_store(&countdown, n > 0 ? n : 0);
}

void mem_fail_reset(void)
{
    atomic_store(&countdown, 0);
}

long mem_fail_count(void)
{
    return atomic_load(&n_failed);
}

void *mem_alloc(size_t n)
{
    if (should_fail())
        return NULL;
    return malloc(n ? n : 1);
}

void *mem_calloc(size_t count, size_t size)
{
    if (should_fail())
        return NULL;
    if (count == 0 || size == 0)
        return calloc(1, 1);
    return calloc(count, size);
}

void *mem_realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void mem_free(void *p)
{
    free(p);
}

char *mem_strndup(const char *s, size_t n)
{
    char *d = mem_alloc(n + 1);

    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *mem_strdup(const char *s)
{
    return mem_strndup(s, strlen(s));
}

int mem_mul(size_t *out, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return -1;
    *out = count * size;
    return 0;
}

int mem_reserve_impl(void *arr_ptr, size_t *cap, size_t need, size_t size)
{
    void *p, *np;
    size_t n = *cap ? *cap : 8, bytes;

    if (need <= *cap)
        return 0;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return -1;
        n *= 2;
    }
    if (mem_mul(&bytes, n, size) != 0)
        return -1;
    memcpy(&p, arr_ptr, sizeof p); /* the caller's pointer variable */
    np = mem_realloc(p, bytes);
    if (np == NULL)
        return -1;
    memcpy(arr_ptr, &np, sizeof np);
    *cap = n;
    return 0;
}
