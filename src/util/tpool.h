/*
 * tpool.h - one process-wide pool of worker threads for splitting a single
 * query across cores.
 *
 * A search over one large region is cut into doc-id ranges; tpool_run()
 * runs the pieces on the calling thread and the workers and returns when
 * all are done. Workers start on first use, one fewer than the cores this
 * process may run on (sched_getaffinity), at most TPOOL_MAX_THREADS in
 * all; INFINO_THREADS=N in the environment sets the total (1: no
 * workers, everything runs on the caller).
 *
 * One run at a time: a call made while another thread's run is in
 * progress runs its pieces itself, one after another, rather than wait.
 * After fork() the child starts with no workers (they are not inherited)
 * and makes new ones on its first run.
 */
#ifndef INFINO_UTIL_TPOOL_H
#define INFINO_UTIL_TPOOL_H

#include <stddef.h>

#define TPOOL_MAX_THREADS 8

/* Threads a run may use, the caller included (>= 1). */
size_t tpool_threads(void);

/* The least work (a caller's own measure, e.g. postings) worth splitting
 * a query for: `dflt`, or INFINO_PARALLEL_MIN_WORK from the environment
 * (tests set 0 to split everything they can). */
unsigned long long tpool_min_work(unsigned long long dflt);

/* Calls fn(arg, i) once for each i in [0, n), in any order and on any of
 * the pool's threads, and returns when every call has returned. fn must
 * not call tpool_run() itself (it would run its pieces inline). */
void tpool_run(size_t n, void (*fn)(void *arg, size_t i), void *arg);

#endif
