/*
 * util_bufpool_test.c - the buffer pool: best-fit reuse within a factor
 * of two, the limit on kept bytes, closing while buffers are still out,
 * buffers given back from several threads, allocation failures.
 */
#include "harness.h"

#include "util/alloc.h"
#include "util/bufpool.h"

#include <pthread.h>

#define MIB ((size_t)1 << 20)

static void test_util_bufpool__reuse_and_limit(void **state)
{
    struct bufpool *p;
    size_t cap, cap2;
    uint8_t *a, *b, *c;
    (void)state;

    assert_ok(bufpool_new(&p, 0));
    /* nothing kept yet: a new buffer of exactly the size asked */
    a = bufpool_get(p, 3 * MIB, &cap);
    assert_non_null(a);
    assert_int_equal(cap, 3 * MIB);
    memset(a, 1, cap);
    /* the limit is 0: given back, it is freed, not kept */
    bufpool_put(p, a, cap);
    b = bufpool_get(p, 2 * MIB, &cap);
    assert_int_equal(cap, 2 * MIB);
    bufpool_put(p, b, cap);

    bufpool_keep_at_least(p, 10 * MIB);
    bufpool_keep_at_least(p, 1 * MIB); /* never lowers it */
    a = bufpool_get(p, 3 * MIB, &cap);
    b = bufpool_get(p, 5 * MIB, &cap2);
    a[0] = 7;
    bufpool_put(p, a, cap);
    bufpool_put(p, b, cap2);
    /* best fit: 2.5 MiB takes the 3 MiB buffer, not the 5 MiB one */
    c = bufpool_get(p, 5 * MIB / 2, &cap);
    assert_ptr_equal(c, a);
    assert_int_equal(cap, 3 * MIB);
    bufpool_put(p, c, cap);
    /* a buffer more than twice the size asked is not handed out */
    c = bufpool_get(p, MIB, &cap);
    assert_int_equal(cap, MIB); /* 3 and 5 MiB: both too big, a new one */
    bufpool_put(p, c, cap);     /* kept: 3 + 5 + 1 <= 10 */
    c = bufpool_get(p, 2 * MIB, &cap2);
    assert_int_equal(cap2, 3 * MIB); /* 1 is too small, 3 fits best */
    bufpool_put(p, c, cap2);
    /* over the limit: 3 + 5 + 1 kept, 4 more would make 13 > 10 */
    c = bufpool_get(p, 4 * MIB, &cap);
    assert_ptr_equal(c, b); /* the 5 MiB one (4 <= 5 <= 8) */
    a = bufpool_get(p, 4 * MIB, &cap2);
    assert_int_equal(cap2, 4 * MIB); /* none left: new */
    bufpool_put(p, c, cap);  /* kept: 3 + 1 + 5 = 9 */
    bufpool_put(p, a, cap2); /* 9 + 4 > 10: freed */
    c = bufpool_get(p, 4 * MIB, &cap);
    assert_int_equal(cap, 5 * MIB); /* so the 5 MiB one comes back */
    bufpool_put(p, c, cap);
    bufpool_close(p);
}

static void test_util_bufpool__outlives_its_owner(void **state)
{
    struct bufpool *p;
    size_t cap;
    uint8_t *a;
    (void)state;

    assert_ok(bufpool_new(&p, 64 * MIB));
    a = bufpool_get(p, 4 * MIB, &cap);
    bufpool_retain(p); /* an array holding `a` */
    bufpool_close(p);  /* the owner is done */
    memset(a, 3, cap);
    bufpool_put(p, a, cap); /* freed: a closed pool keeps nothing */
    bufpool_release(p);     /* the last reference frees the pool */
    bufpool_release(NULL);
    bufpool_close(NULL);
}

struct job {
    struct bufpool *p;
    unsigned seed;
};

static void *churn(void *arg)
{
    struct job *j = arg;

    for (int i = 0; i < 200; i++) {
        size_t cap, n = MIB + (size_t)((j->seed = j->seed * 1103515245u +
                                                  12345u) %
                                       (4 * MIB));
        uint8_t *b = bufpool_get(j->p, n, &cap);
        if (b == NULL || cap < n)
            return (void *)1;
        b[0] = b[n - 1] = (uint8_t)i;
        bufpool_put(j->p, b, cap);
    }
    bufpool_release(j->p);
    return NULL;
}

static void test_util_bufpool__threads(void **state)
{
    struct bufpool *p;
    pthread_t t[4];
    struct job jobs[4];
    (void)state;

    assert_ok(bufpool_new(&p, 16 * MIB));
    for (int i = 0; i < 4; i++) {
        jobs[i].p = p;
        jobs[i].seed = (unsigned)test_rand();
        bufpool_retain(p);
        assert_int_equal(pthread_create(&t[i], NULL, churn, &jobs[i]), 0);
    }
    bufpool_close(p); /* the threads keep it alive */
    for (int i = 0; i < 4; i++) {
        void *rc;
        assert_int_equal(pthread_join(t[i], &rc), 0);
        assert_null(rc);
    }
}

static void test_util_bufpool__allocation_failures(void **state)
{
    struct bufpool *p = NULL;
    size_t cap = 0;
    (void)state;

    mem_fail_after(1);
    assert_int_equal(bufpool_new(&p, 0), INFINO_ERR_NOMEM);
    mem_fail_reset();
    assert_null(p);
    assert_ok(bufpool_new(&p, 8 * MIB));
    mem_fail_after(1);
    assert_null(bufpool_get(p, 2 * MIB, &cap));
    mem_fail_reset();
    /* keeping a buffer may need to grow the free list: if that fails
     * the buffer is freed instead (no leak under ASan) */
    {
        uint8_t *a = bufpool_get(p, 2 * MIB, &cap);
        assert_non_null(a);
        mem_fail_after(1);
        bufpool_put(p, a, cap);
        mem_fail_reset();
    }
    bufpool_close(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_util_bufpool__reuse_and_limit),
        cmocka_unit_test(test_util_bufpool__outlives_its_owner),
        cmocka_unit_test(test_util_bufpool__threads),
        cmocka_unit_test(test_util_bufpool__allocation_failures),
    };
    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
