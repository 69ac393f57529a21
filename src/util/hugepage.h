/*
 * hugepage.h - ask for transparent huge pages behind large buffers.
 *
 * Filling fresh anonymous memory costs one page fault per 4 KiB page, and
 * on a virtual machine each fault is expensive (a 100 MB buffer takes
 * 25,000 of them). A buffer whose 2 MiB-aligned interior is marked
 * MADV_HUGEPAGE before it is first written faults once per 2 MiB instead.
 * This is only a hint: where the kernel lacks transparent huge pages, or
 * has them switched off, nothing changes.
 */
#ifndef INFINO_UTIL_HUGEPAGE_H
#define INFINO_UTIL_HUGEPAGE_H

#include <stddef.h>

/* Buffers smaller than this are not worth a system call. */
#define HUGEPAGE_MIN_BYTES ((size_t)4 << 20)

/* Marks the 2 MiB-aligned part of [p, p + n) (memory from mem_alloc, or
 * any other private anonymous memory the caller owns) for huge pages.
 * Pages already touched keep their size; call it before the first write.
 * Does nothing when n < HUGEPAGE_MIN_BYTES or p is NULL. */
void hugepage_advise(void *p, size_t n);

#endif
