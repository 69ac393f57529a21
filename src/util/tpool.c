/*
 * tpool.c - the process-wide worker pool (tpool.h).
 *
 * State is one mutex-guarded job: the function, its argument, the next
 * index to hand out and the number of pieces not finished. A run bumps
 * `gen` and wakes the workers; each takes indexes until none are left.
 * The caller takes indexes too, then waits for `pending` to reach zero.
 */
#define _GNU_SOURCE
#include "tpool.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    bool started;      /* workers were created (in this process) */
    size_t threads;    /* the caller plus the workers */
    bool busy;         /* a run is in progress */
    unsigned long gen; /* bumped by every run */
    void (*fn)(void *, size_t);
    void *arg;
    size_t n, next, pending;
} P = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
       PTHREAD_COND_INITIALIZER, false, 0, false, 0, NULL, NULL, 0, 0, 0};

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static size_t wanted_threads(void)
{
    const char *env = getenv("INFINO_THREADS");
    cpu_set_t set;
    long n = 1;

    if (env != NULL && *env != '\0') {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v >= 1)
            n = v;
    } else if (sched_getaffinity(0, sizeof set, &set) == 0) {
        n = CPU_COUNT(&set);
    }
    if (n < 1)
        n = 1;
    return n > TPOOL_MAX_THREADS ? TPOOL_MAX_THREADS : (size_t)n;
}

/* Takes and runs pieces of the current job; called and returns with the
 * mutex held. */
static void take_pieces(void)
{
    while (P.next < P.n) {
        size_t i = P.next++;
        void (*fn)(void *, size_t) = P.fn;
        void *arg = P.arg;
        pthread_mutex_unlock(&P.mu);
        fn(arg, i);
        pthread_mutex_lock(&P.mu);
        if (--P.pending == 0)
            pthread_cond_broadcast(&P.done);
    }
}

static void *worker(void *unused)
{
    sigset_t all;
    unsigned long seen;

    (void)unused;
    /* signals are the host program's business, on its own threads */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_mutex_lock(&P.mu);
    seen = P.gen;
    for (;;) {
        while (P.gen == seen)
            pthread_cond_wait(&P.work, &P.mu);
        seen = P.gen;
        take_pieces();
    }
    return NULL;
}

/* fork() copies only the calling thread: hold the mutex across it so the
 * child's copy is consistent, and let the child start afresh. */
static void before_fork(void)
{
    pthread_mutex_lock(&P.mu);
}

static void after_fork_parent(void)
{
    pthread_mutex_unlock(&P.mu);
}

static void after_fork_child(void)
{
    pthread_mutex_init(&P.mu, NULL);
    pthread_cond_init(&P.work, NULL);
    pthread_cond_init(&P.done, NULL);
    P.started = false;
    P.threads = 0;
    P.busy = false;
    P.n = P.next = P.pending = 0;
}

static void register_atfork(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* Creates the workers once per process; with the mutex held. */
static void start_locked(void)
{
    size_t want;

    if (P.started)
        return;
    P.started = true;
    P.threads = 1;
    want = wanted_threads();
    for (size_t i = 1; i < want; i++) {
        pthread_t t;
        pthread_attr_t a;
        if (pthread_attr_init(&a) != 0)
            break;
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &a, worker, NULL) != 0) {
            pthread_attr_destroy(&a);
            break; /* run with the workers there are */
        }
        pthread_attr_destroy(&a);
        P.threads++;
    }
}

unsigned long long tpool_min_work(unsigned long long dflt)
{
    const char *env = getenv("INFINO_PARALLEL_MIN_WORK");
    char *end;
    unsigned long long v;

    if (env == NULL || *env == '\0')
        return dflt;
    v = strtoull(env, &end, 10);
    return *end == '\0' ? v : dflt;
}

size_t tpool_threads(void)
{
    size_t n;

    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&P.mu);
    start_locked();
    n = P.threads;
    pthread_mutex_unlock(&P.mu);
    return n;
}

void tpool_run(size_t n, void (*fn)(void *arg, size_t i), void *arg)
{
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&P.mu);
    start_locked();
    if (n <= 1 || P.busy || P.threads <= 1) {
        pthread_mutex_unlock(&P.mu);
        for (size_t i = 0; i < n; i++)
            fn(arg, i);
        return;
    }
    P.busy = true;
    P.fn = fn;
    P.arg = arg;
    P.n = n;
    P.next = 0;
    P.pending = n;
    P.gen++;
    pthread_cond_broadcast(&P.work);
    take_pieces();
    while (P.pending > 0)
        pthread_cond_wait(&P.done, &P.mu);
    P.busy = false;
    P.fn = NULL;
    P.arg = NULL;
    pthread_mutex_unlock(&P.mu);
}
