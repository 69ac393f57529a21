/*
 * arena.c - bump allocation from a list of geometrically growing blocks
 * (see arena.h). Requests larger than a quarter of the next block get a
 * block of their own, so a big array never wastes a half-used block.
 */
#include "arena.h"

#include "alloc.h"

#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#define ARENA_MIN_BLOCK 4096u
#define ARENA_MAX_BLOCK (1u << 20)
#define ARENA_ALIGN alignof(max_align_t)

struct arena_block {
    struct arena_block *next;
    size_t used; /* bytes of data[] handed out */
    size_t cap;  /* bytes in data[] */
    alignas(max_align_t) unsigned char data[];
};

static size_t round_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

void *arena_alloc(struct arena *a, size_t n)
{
    struct arena_block *b = a->head;
    size_t want, cap;

    if (n > SIZE_MAX / 2)
        return NULL;
    want = round_up(n);
    if (b != NULL && b->cap - b->used >= want) {
        void *p = b->data + b->used;
        b->used += want;
        return p;
    }
    /* Next block size: double the previous one, within bounds. */
    cap = ARENA_MIN_BLOCK;
    if (b != NULL)
        cap = b->cap >= ARENA_MAX_BLOCK / 2 ? ARENA_MAX_BLOCK : b->cap * 2;
    if (cap < ARENA_MIN_BLOCK)
        cap = ARENA_MIN_BLOCK;
    if (want > cap / 4) {
        /* A block of its own, linked behind the head so the head's free
         * space stays usable for later small requests. */
        struct arena_block *big = mem_alloc(sizeof *big + want);
        if (big == NULL)
            return NULL;
        big->used = want;
        big->cap = want;
        if (b != NULL) {
            big->next = b->next;
            b->next = big;
        } else {
            big->next = NULL;
            a->head = big;
        }
        a->total += sizeof *big + want;
        return big->data;
    }
    b = mem_alloc(sizeof *b + cap);
    if (b == NULL)
        return NULL;
    b->next = a->head;
    b->used = want;
    b->cap = cap;
    a->head = b;
    a->total += sizeof *b + cap;
    return b->data;
}

void *arena_calloc(struct arena *a, size_t count, size_t size)
{
    size_t n;
    void *p;

    if (mem_mul(&n, count, size) != 0)
        return NULL;
    p = arena_alloc(a, n);
    if (p != NULL && n > 0)
        memset(p, 0, n);
    return p;
}

char *arena_strndup(struct arena *a, const void *s, size_t n)
{
    char *p;

    if (n == SIZE_MAX)
        return NULL;
    p = arena_alloc(a, n + 1);
    if (p == NULL)
        return NULL;
    if (n > 0)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void arena_free(struct arena *a)
{
    struct arena_block *b = a->head;

    while (b != NULL) {
        struct arena_block *next = b->next;
        mem_free(b);
        b = next;
    }
    a->head = NULL;
    a->total = 0;
}
