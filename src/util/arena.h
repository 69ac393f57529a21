/*
 * arena.h - a bump allocator for objects that die together.
 *
 * A decoded Parquet footer is hundreds of small arrays (schema elements,
 * row groups, column chunks, paths) that live exactly as long as the
 * reader. An arena hands them out from a few large blocks, so decoding
 * makes O(log n) calls to mem_alloc and one arena_free() releases it all.
 * A zeroed struct arena is a valid empty arena.
 */
#ifndef INFINO_UTIL_ARENA_H
#define INFINO_UTIL_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
    struct arena_block *head; /* owned: newest block first */
    size_t total;             /* bytes obtained from mem_alloc so far */
};

/* Returns `n` bytes aligned for any object type, valid until arena_free().
 * NULL when out of memory (the arena is unchanged). n == 0 is allowed. */
void *arena_alloc(struct arena *a, size_t n);
/* Zeroed count * size bytes; NULL on overflow or out of memory. */
void *arena_calloc(struct arena *a, size_t count, size_t size);
/* A NUL-terminated copy of the `n` bytes at `s` (which may hold NULs). */
char *arena_strndup(struct arena *a, const void *s, size_t n);
/* Releases every block; the arena is empty and reusable afterwards. */
void arena_free(struct arena *a);

#endif
