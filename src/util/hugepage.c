/*
 * hugepage.c - madvise(MADV_HUGEPAGE) on the aligned interior of a buffer
 * (hugepage.h). With THP in "madvise" mode (a common default) this is what
 * makes the kernel back a buffer with 2 MiB pages; in "always" mode it is
 * redundant, in "never" mode ignored.
 */
#define _GNU_SOURCE
#include "hugepage.h"

#include <stdint.h>
#include <sys/mman.h>

/* The PMD size of x86-64 and of arm64 with 4 KiB base pages. Elsewhere a
 * wrong guess only makes the hint cover a little less, or nothing. */
#define HUGE_ALIGN ((uintptr_t)2 << 20)

void hugepage_advise(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    uintptr_t a, b;

    if (p == NULL || n < HUGEPAGE_MIN_BYTES)
        return;
    a = ((uintptr_t)p + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1);
    b = ((uintptr_t)p + n) & ~(HUGE_ALIGN - 1);
    if (a < b)
        (void)madvise((void *)a, (size_t)(b - a), MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}
