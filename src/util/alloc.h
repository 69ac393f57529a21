/*
 * alloc.h - every allocation in the library goes through these functions,
 * so tests can make the Nth allocation fail (as SQLite's test_malloc.c does)
 * and check that each failure path returns INFINO_ERR_NOMEM without leaking.
 */
#ifndef INFINO_UTIL_ALLOC_H
#define INFINO_UTIL_ALLOC_H

#include <stddef.h>

/* Same contracts as malloc/calloc/realloc/free/strdup; NULL on failure.
 * mem_alloc(0) returns a unique non-NULL pointer. */
void *mem_alloc(size_t n);
void *mem_calloc(size_t count, size_t size);
void *mem_realloc(void *p, size_t n);
void mem_free(void *p);
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t n);

/* Overflow-checked count * size; returns 0 and sets *out on success,
 * -1 when the product does not fit in size_t. */
int mem_mul(size_t *out, size_t count, size_t size);

/* Makes room for `need` elements in the growable array `arr` (a pointer
 * variable) whose capacity, in elements, is the size_t `cap`; grows
 * geometrically. Evaluates to 0 on success, -1 when memory (or size_t)
 * runs out, leaving `arr` and `cap` unchanged. */
#define MEM_RESERVE(arr, cap, need)                                            \
    mem_reserve_impl((void *)&(arr), &(cap), (need), sizeof *(arr))
int mem_reserve_impl(void *arr_ptr, size_t *cap, size_t need, size_t size);

/* Test hook: the `n`th allocation from now (1-based) and every later one
 * fails, until mem_fail_reset(). n <= 0 disables. Process-wide. */
void mem_fail_after(long n);
void mem_fail_reset(void);
/* Number of allocations that were made to fail since the last reset. */
long mem_fail_count(void);

#endif
