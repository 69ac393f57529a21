/*
 * bufpool.c - reference-counted pool of large buffers (bufpool.h).
 *
 * The free list is a small array searched linearly for the best fit: a
 * pool holds the buffers of about one row group, a few dozen at most.
 */
#include "bufpool.h"

#include "alloc.h"
#include "err.h"
#include "hugepage.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

struct free_buf {
    void *p;
    size_t cap;
};

struct bufpool {
    atomic_long refs;
    pthread_mutex_t lock; /* guards everything below */
    bool closed;
    uint64_t keep; /* most bytes kept free */
    uint64_t kept; /* bytes in `free` */
    struct free_buf *free; /* owned, with the buffers */
    size_t n_free, free_cap;
};

infino_status bufpool_new(struct bufpool **out, uint64_t keep_bytes)
{
    struct bufpool *p = mem_calloc(1, sizeof *p);

    *out = NULL;
    if (p == NULL)
        return err_nomem();
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        mem_free(p);
        return err_nomem();
    }
    atomic_init(&p->refs, 1);
    p->keep = keep_bytes;
    *out = p;
    return INFINO_OK;
}

void *bufpool_get(struct bufpool *p, size_t n, size_t *cap_out)
{
    void *b = NULL;
    size_t best = SIZE_MAX, cap = n ? n : 1;

    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->n_free; i++) {
        size_t c = p->free[i].cap;
        if (c >= n && c / 2 <= n && (best == SIZE_MAX || c < p->free[best].cap))
            best = i;
    }
    if (best != SIZE_MAX) {
        b = p->free[best].p;
        cap = p->free[best].cap;
        p->kept -= cap;
        p->free[best] = p->free[--p->n_free];
    }
    pthread_mutex_unlock(&p->lock);
    if (b == NULL) {
        b = mem_alloc(cap);
        if (b == NULL)
            return NULL;
        hugepage_advise(b, cap);
    }
    *cap_out = cap;
    return b;
}

void bufpool_put(struct bufpool *p, void *b, size_t cap)
{
    bool kept = false;

    if (b == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    if (!p->closed && p->kept <= p->keep && cap <= p->keep - p->kept &&
        MEM_RESERVE(p->free, p->free_cap, p->n_free + 1) == 0) {
        p->free[p->n_free].p = b;
        p->free[p->n_free].cap = cap;
        p->n_free++;
        p->kept += cap;
        kept = true;
    }
    pthread_mutex_unlock(&p->lock);
    if (!kept)
        mem_free(b);
}

void bufpool_keep_at_least(struct bufpool *p, uint64_t keep_bytes)
{
    pthread_mutex_lock(&p->lock);
    if (keep_bytes > p->keep)
        p->keep = keep_bytes;
    pthread_mutex_unlock(&p->lock);
}

void bufpool_retain(struct bufpool *p)
{
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

void bufpool_release(struct bufpool *p)
{
    if (p == NULL ||
        atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < p->n_free; i++)
        mem_free(p->free[i].p);
    mem_free(p->free);
    pthread_mutex_destroy(&p->lock);
    mem_free(p);
}

void bufpool_close(struct bufpool *p)
{
    struct free_buf *f;
    size_t n;

    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->closed = true;
    f = p->free;
    n = p->n_free;
    p->free = NULL;
    p->n_free = p->free_cap = 0;
    p->kept = 0;
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < n; i++)
        mem_free(f[i].p);
    mem_free(f);
    bufpool_release(p);
}
