/*
 * util_cancel_test.c - the per-thread interrupt flag: nothing is requested
 * until a watched flag is set, cancel_check reports it with its message,
 * each thread sees only its own flag, and a signal handler can set it.
 */
#include "harness.h"

#include "util/cancel.h"

#include <pthread.h>
#include <signal.h>

static void test_util_cancel__idle_until_set(void **state)
{
    volatile sig_atomic_t flag = 0;
    (void)state;

    assert_null(cancel_watched());
    assert_false(cancel_requested());
    err_set(INFINO_ERR_IO, "earlier");
    assert_int_equal(cancel_check("copying"), INFINO_OK);
    assert_string_equal(err_last(), "earlier"); /* OK leaves the message */

    cancel_watch(&flag);
    assert_ptr_equal(cancel_watched(), &flag);
    assert_false(cancel_requested());
    assert_int_equal(cancel_check("copying"), INFINO_OK);

    flag = 1;
    assert_true(cancel_requested());
    assert_int_equal(cancel_check("copying"), INFINO_ERR_INTERRUPTED);
    assert_string_equal(err_last(), "interrupted while copying");
    assert_int_equal(cancel_check(NULL), INFINO_ERR_INTERRUPTED);
    assert_string_equal(err_last(), "interrupted");
    /* the library never clears the caller's flag */
    assert_int_equal(flag, 1);
    assert_true(cancel_requested());

    flag = 0; /* the caller clears it: polls pass again */
    assert_false(cancel_requested());

    flag = 1;
    cancel_watch(NULL); /* no longer watched: set or not, nothing stops */
    assert_null(cancel_watched());
    assert_false(cancel_requested());
    assert_int_equal(cancel_check("copying"), INFINO_OK);
}

static void test_util_cancel__message_takes_context(void **state)
{
    volatile sig_atomic_t flag = 1;
    infino_status st;
    (void)state;

    cancel_watch(&flag);
    st = err_context(cancel_check("merging superfiles"),
                     "optimizing table %s", "docs");
    cancel_watch(NULL);
    assert_int_equal(st, INFINO_ERR_INTERRUPTED);
    assert_string_equal(err_last(),
                        "optimizing table docs: interrupted while merging "
                        "superfiles");
}

struct other {
    volatile sig_atomic_t own;
    const volatile sig_atomic_t *watched_at_start;
    bool requested_at_start, requested_own;
};

static void *other_thread(void *arg)
{
    struct other *o = arg;

    o->watched_at_start = cancel_watched();
    o->requested_at_start = cancel_requested();
    cancel_watch(&o->own);
    o->own = 1;
    o->requested_own = cancel_requested();
    return NULL;
}

/* One thread's flag stops only that thread's calls. */
static void test_util_cancel__per_thread(void **state)
{
    volatile sig_atomic_t mine = 1;
    struct other o = {0, NULL, true, false};
    pthread_t t;
    (void)state;

    cancel_watch(&mine);
    assert_int_equal(pthread_create(&t, NULL, other_thread, &o), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_null(o.watched_at_start);
    assert_false(o.requested_at_start);
    assert_true(o.requested_own);
    /* the other thread's watch did not replace ours */
    assert_ptr_equal(cancel_watched(), &mine);
    mine = 0;
    assert_false(cancel_requested()); /* o.own is set, but not ours */
    cancel_watch(NULL);
}

static volatile sig_atomic_t from_handler;

static void on_signal(int sig)
{
    (void)sig;
    from_handler = 1;
}

/* The intended use: a signal handler sets the flag, the next poll sees it. */
static void test_util_cancel__set_by_signal_handler(void **state)
{
    struct sigaction sa, old;
    int polls = 0;
    (void)state;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
    from_handler = 0;
    cancel_watch(&from_handler);
    while (cancel_check("waiting for a signal") == INFINO_OK) {
        if (polls++ == 10)
            raise(SIGUSR1);
        assert_true(polls < 1000);
    }
    assert_int_equal(polls, 11);
    assert_string_equal(err_last(), "interrupted while waiting for a signal");
    cancel_watch(NULL);
    assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_util_cancel__idle_until_set),
        cmocka_unit_test(test_util_cancel__message_takes_context),
        cmocka_unit_test(test_util_cancel__per_thread),
        cmocka_unit_test(test_util_cancel__set_by_signal_handler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
