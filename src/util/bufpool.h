/*
 * bufpool.h - a pool of large buffers, shared by a producer of arrays and
 * the arrays it hands out.
 *
 * A scan decodes each row group into fresh buffers and its consumer
 * usually drops them before asking for the next one. Without a pool every
 * row group is written into memory the kernel has to find and zero first
 * (a large share of a fast read). With one, a released array's buffers go
 * back to the pool and the next row group is decoded into them.
 *
 * The pool is reference counted: its owner holds one reference and every
 * array that may return buffers holds another, so arrays may outlive the
 * owner and be released on any thread (the pool has a mutex). Once the
 * owner closes the pool it keeps nothing: returned buffers are freed.
 *
 * Not useful for: small allocations (malloc recycles those already).
 */
#ifndef INFINO_UTIL_BUFPOOL_H
#define INFINO_UTIL_BUFPOOL_H

#include "infino.h"

#include <stddef.h>
#include <stdint.h>

struct bufpool;

/* A new pool that keeps at most `keep_bytes` of free buffers (see
 * bufpool_keep_at_least). On success *out is owned: the caller's
 * reference, given up with bufpool_close(). */
infino_status bufpool_new(struct bufpool **out, uint64_t keep_bytes);

/* A buffer of at least `n` bytes (contents undefined), owned by the
 * caller until bufpool_put() or mem_free(); *cap_out gets its size. A
 * free buffer of n to 2n bytes is reused; otherwise a new one is
 * allocated (mem_alloc, huge pages requested). NULL when out of memory. */
void *bufpool_get(struct bufpool *p, size_t n, size_t *cap_out);

/* Takes `b` (of `cap` bytes, from bufpool_get): kept for reuse while the
 * pool is open and under its limit, freed otherwise. */
void bufpool_put(struct bufpool *p, void *b, size_t cap);

/* Raises the limit on kept bytes to `keep_bytes` (never lowers it). */
void bufpool_keep_at_least(struct bufpool *p, uint64_t keep_bytes);

/* Another reference, for an array that will return buffers. */
void bufpool_retain(struct bufpool *p);
/* Gives up a reference from bufpool_retain(); the last one frees the
 * pool. NULL is a no-op. */
void bufpool_release(struct bufpool *p);

/* The owner's end: frees the kept buffers, keeps none from now on, and
 * gives up the owner's reference. NULL is a no-op. */
void bufpool_close(struct bufpool *p);

#endif
