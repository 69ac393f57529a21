/*
 * util_tpool_test.c - the worker pool: every piece runs exactly once, runs
 * from several threads at once all complete, and a forked child gets a
 * working pool of its own.
 */
#include "harness.h"

#include "util/tpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#define PIECES 1000

struct counts {
    atomic_int hits[PIECES];
    atomic_int threads_seen; /* pieces run off the calling thread */
    pthread_t caller;
};

static void count_piece(void *arg, size_t i)
{
    struct counts *c = arg;

    atomic_fetch_add(&c->hits[i], 1);
    if (!pthread_equal(pthread_self(), c->caller))
        atomic_fetch_add(&c->threads_seen, 1);
    /* a little work, so that workers get a share */
    for (volatile int spin = 0; spin < 2000; spin = spin + 1)
        ;
}

static void run_and_check(size_t n)
{
    struct counts *c = calloc(1, sizeof *c);

    assert_non_null(c);
    c->caller = pthread_self();
    tpool_run(n, count_piece, c);
    for (size_t i = 0; i < PIECES; i++)
        assert_int_equal(atomic_load(&c->hits[i]), i < n ? 1 : 0);
    free(c);
}

static void test_util_tpool__each_piece_once(void **state)
{
    (void)state;
    assert_true(tpool_threads() >= 1);
    assert_true(tpool_threads() <= TPOOL_MAX_THREADS);
    run_and_check(0);
    run_and_check(1);
    run_and_check(2);
    run_and_check(PIECES);
    for (int r = 0; r < 50; r++)
        run_and_check(1 + (size_t)(test_rand() % PIECES));
}

static void *runner(void *arg)
{
    uint64_t x = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;

    for (int r = 0; r < 30; r++) {
        x ^= x << 13; /* a generator per thread: test_rand is not shared */
        x ^= x >> 7;
        x ^= x << 17;
        run_and_check(1 + (size_t)(x % PIECES));
    }
    return NULL;
}

/* Runs from several threads at once: the one that finds the pool busy
 * runs its pieces itself; every run completes with each piece once. */
static void test_util_tpool__concurrent_runs(void **state)
{
    pthread_t t[4];
    (void)state;

    for (int i = 0; i < 4; i++)
        assert_int_equal(
            pthread_create(&t[i], NULL, runner, (void *)(uintptr_t)(i + 1)), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
}

/* The child of a fork has none of the parent's workers; its runs must
 * still complete (on workers of its own, or inline). */
static void test_util_tpool__after_fork(void **state)
{
    int status = 0;
    pid_t pid;
    (void)state;

    run_and_check(PIECES); /* the parent's workers exist */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct counts *c = calloc(1, sizeof *c);
        int bad = c == NULL;
        if (!bad) {
            c->caller = pthread_self();
            tpool_run(PIECES, count_piece, c);
            for (size_t i = 0; i < PIECES; i++)
                bad |= atomic_load(&c->hits[i]) != 1;
        }
        _exit(bad ? 1 : 0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    run_and_check(PIECES); /* and the parent's pool still works */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_util_tpool__each_piece_once),
        cmocka_unit_test(test_util_tpool__concurrent_runs),
        cmocka_unit_test(test_util_tpool__after_fork),
    };
    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
