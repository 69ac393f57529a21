/*
 * store_memory_test.c - the memory store's key index against a model.
 *
 * Random puts (replace and create-if-absent), deletes, prefix deletes and
 * listings on keys drawn to share long prefixes, checked after every step
 * against a naive model (an unsorted array scanned in full); and threads
 * working on their own prefixes while others list across all of them.
 */
#include "harness.h"

#include "store/objstore.h"
#include "util/err.h"

#include <pthread.h>
#include <stdatomic.h>

#define MODEL_MAX 4096

struct model {
    char *keys[MODEL_MAX];
    uint32_t vals[MODEL_MAX]; /* the 4 bytes each object holds */
    size_t n;
};

static long model_find(const struct model *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0)
            return (long)i;
    return -1;
}

static void model_remove_at(struct model *m, size_t i)
{
    free(m->keys[i]);
    m->keys[i] = m->keys[m->n - 1];
    m->vals[i] = m->vals[m->n - 1];
    m->n--;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Keys over a small alphabet with a long shared stem, so that many are
 * prefixes of each other and comparisons run deep. */
static void random_key(char *out, size_t cap)
{
    static const char *stems[] = {"", "t/", "tables/docs-1a2b/superfiles/",
                                  "tables/docs-1a2b/snapshots/0000000",
                                  "tables/docs-1a2b/snapshots/00000001"};
    static const char alpha[] = "ab/0z";

    do { /* valid keys only: no empty segment, no trailing '/' */
        const char *stem = stems[test_rand() % 5];
        size_t len = strlen(stem), n = 1 + test_rand() % 6;

        snprintf(out, cap, "%s", stem);
        for (size_t i = 0; i < n && len + 1 < cap; i++)
            out[len++] = alpha[test_rand() % (sizeof alpha - 1)];
        out[len] = '\0';
    } while (!objstore_key_valid(out) || out[strlen(out) - 1] == '/');
}

/* A prefix to list: a cut of a stored key (often a key itself, or a
 * prefix of others), a fresh random key, or "". */
static void random_prefix(char *out, size_t cap, const struct model *m)
{
    uint64_t r = test_rand() % 8;

    if (r == 0 || m->n == 0) {
        out[0] = '\0';
    } else if (r < 6) {
        const char *k = m->keys[test_rand() % m->n];
        size_t len = strlen(k), cut = len - test_rand() % (len + 1);
        snprintf(out, cap, "%.*s", (int)cut, k);
    } else {
        random_key(out, cap);
        if (r == 7) /* cut a random key too */
            out[test_rand() % (strlen(out) + 1)] = '\0';
    }
}

struct got {
    char *keys[MODEL_MAX];
    uint64_t sizes[MODEL_MAX];
    size_t n;
};

static infino_status got_cb(const struct objstore_entry *e, void *payload)
{
    struct got *g = payload;

    if (g->n == MODEL_MAX)
        return err_set(INFINO_ERR_INVALID, "listing too long");
    g->keys[g->n] = strdup(e->key);
    g->sizes[g->n] = e->size;
    g->n++;
    return INFINO_OK;
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->keys[i]);
    g->n = 0;
}

static void check_listing(struct objstore *s, const struct model *m,
                          const char *prefix)
{
    static struct got g;
    static char *want[MODEL_MAX];
    size_t n_want = 0, plen = strlen(prefix);

    for (size_t i = 0; i < m->n; i++)
        if (strncmp(m->keys[i], prefix, plen) == 0)
            want[n_want++] = m->keys[i];
    qsort(want, n_want, sizeof *want, cmp_str);
    g.n = 0;
    assert_ok(objstore_list(s, prefix, got_cb, &g));
    if (g.n != n_want)
        fail_msg("prefix \"%s\": listed %zu, model has %zu", prefix, g.n,
                 n_want);
    qsort(g.keys, g.n, sizeof *g.keys, cmp_str);
    for (size_t i = 0; i < n_want; i++) {
        if (strcmp(g.keys[i], want[i]) != 0)
            fail_msg("prefix \"%s\": #%zu is \"%s\", model says \"%s\"",
                     prefix, i, g.keys[i], want[i]);
        assert_int_equal(g.sizes[i], 4);
    }
    got_free(&g);
}

static void check_get(struct objstore *s, const struct model *m,
                      const char *key)
{
    long i = model_find(m, key);
    struct store_blob *b;
    const uint8_t *p;
    uint32_t v;

    assert_int_equal(objstore_exists(s, key), i >= 0);
    if (i < 0) {
        assert_int_equal(objstore_get(s, key, &b), INFINO_ERR_NOTFOUND);
        return;
    }
    assert_ok(objstore_get(s, key, &b));
    assert_ok(store_blob_read(b, 0, 4, &p));
    memcpy(&v, p, 4);
    assert_int_equal(v, m->vals[i]);
    store_blob_close(b);
}

static void test_store_memory__model(void **state)
{
    static struct model m;
    struct objstore *s;
    char key[96], prefix[96];

    (void)state;
    test_seed();
    assert_ok(objstore_open(&s, "memory://"));
    for (int step = 0; step < 30000; step++) {
        uint64_t op = test_rand() % 100;
        long i;

        random_key(key, sizeof key);
        i = model_find(&m, key);
        if (op < 40 && m.n < MODEL_MAX) { /* put */
            uint32_t v = (uint32_t)test_rand();
            bool noreplace = test_rand() & 1;
            infino_status st =
                objstore_put(s, key, &v, 4,
                             noreplace ? STORE_NOREPLACE : STORE_REPLACE);
            if (noreplace && i >= 0) {
                assert_int_equal(st, INFINO_ERR_EXISTS);
            } else {
                assert_ok(st);
                if (i < 0) {
                    i = (long)m.n++;
                    m.keys[i] = strdup(key);
                }
                m.vals[i] = v;
            }
        } else if (op < 60) { /* delete, usually a stored key */
            if (m.n && test_rand() % 4)
                snprintf(key, sizeof key, "%s", m.keys[test_rand() % m.n]);
            i = model_find(&m, key);
            if (i < 0) {
                assert_int_equal(objstore_delete(s, key),
                                 INFINO_ERR_NOTFOUND);
            } else {
                assert_ok(objstore_delete(s, key));
                model_remove_at(&m, (size_t)i);
            }
        } else if (op < 62) { /* delete a folder */
            random_prefix(prefix, sizeof prefix, &m);
            if (prefix[0] == '\0')
                continue; /* would empty the store: rarely useful */
            assert_ok(objstore_delete_prefix(s, prefix));
            for (size_t k = m.n; k-- > 0;)
                if (strncmp(m.keys[k], prefix, strlen(prefix)) == 0)
                    model_remove_at(&m, k);
        } else if (op < 90) {
            random_prefix(prefix, sizeof prefix, &m);
            check_listing(s, &m, prefix);
        } else {
            if (m.n && test_rand() % 2)
                snprintf(key, sizeof key, "%s", m.keys[test_rand() % m.n]);
            check_get(s, &m, key);
        }
    }
    check_listing(s, &m, "");
    while (m.n)
        model_remove_at(&m, m.n - 1);
    objstore_close(s);
}

/* A blob taken before its object is deleted or replaced keeps its bytes. */
static void test_store_memory__blob_outlives_delete(void **state)
{
    struct objstore *s;
    struct store_blob *b1, *b2;
    const uint8_t *p;

    (void)state;
    assert_ok(objstore_open(&s, "memory://"));
    assert_ok(objstore_put(s, "t/a", "alpha", 5, STORE_NOREPLACE));
    assert_ok(objstore_get(s, "t/a", &b1));
    assert_ok(objstore_put(s, "t/a", "beta", 4, STORE_REPLACE));
    assert_ok(objstore_get(s, "t/a", &b2));
    assert_ok(objstore_delete(s, "t/a"));
    assert_false(objstore_exists(s, "t/a"));
    assert_ok(store_blob_read(b1, 0, 5, &p));
    assert_memory_equal(p, "alpha", 5);
    assert_ok(store_blob_read(b2, 0, 4, &p));
    assert_memory_equal(p, "beta", 4);
    objstore_close(s); /* blobs may outlive the store too */
    store_blob_close(b1);
    store_blob_close(b2);
}

/* Threads each own a prefix ("w<i>/"), put and delete under it and check
 * their own listing against their model, while lister threads list the
 * whole store and prefixes of everyone's keys. Run under TSan in CI. */
#define N_WRITERS 4
#define N_LISTERS 2

struct worker {
    struct objstore *s;
    int id;
    uint64_t rng;
    atomic_bool *stop;
    const char *failed;
};

static uint64_t worker_rand(struct worker *w)
{
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return w->rng * 0x2545F4914F6CDD1Dull;
}

struct count {
    size_t n;
    const char *prefix;
    bool bad;
};

static infino_status count_cb(const struct objstore_entry *e, void *payload)
{
    struct count *c = payload;

    if (strncmp(e->key, c->prefix, strlen(c->prefix)) != 0)
        c->bad = true;
    c->n++;
    return INFINO_OK;
}

static void *writer_main(void *arg)
{
    struct worker *w = arg;
    bool have[64] = {0};
    size_t n_have = 0;
    char key[64], prefix[16];

    snprintf(prefix, sizeof prefix, "w%d/", w->id);
    for (int step = 0; step < 4000 && w->failed == NULL; step++) {
        int k = (int)(worker_rand(w) % 64);
        struct count c = {0, prefix, false};

        /* keys of different lengths sharing stems: w0/3, w0/31, w0/311 */
        int len = snprintf(key, sizeof key, "%s%d", prefix, k % 8);
        for (int j = 0; j < k / 8; j++)
            key[len++] = '1';
        key[len] = '\0';
        if (!have[k]) {
            if (objstore_put(w->s, key, "x", 1, STORE_NOREPLACE) != INFINO_OK)
                w->failed = "put";
            have[k] = true;
            n_have++;
        } else {
            if (objstore_delete(w->s, key) != INFINO_OK)
                w->failed = "delete";
            have[k] = false;
            n_have--;
        }
        if (objstore_list(w->s, prefix, count_cb, &c) != INFINO_OK || c.bad ||
            c.n != n_have)
            w->failed = "own listing disagrees with the model";
    }
    return NULL;
}

static void *lister_main(void *arg)
{
    struct worker *w = arg;

    while (!atomic_load(w->stop) && w->failed == NULL) {
        char prefix[8];
        struct count c = {0, prefix, false};

        snprintf(prefix, sizeof prefix, "w%d/%d",
                 (int)(worker_rand(w) % N_WRITERS),
                 (int)(worker_rand(w) % 8));
        if (worker_rand(w) % 3 == 0)
            prefix[worker_rand(w) % 4] = '\0';
        if (objstore_list(w->s, prefix, count_cb, &c) != INFINO_OK || c.bad)
            w->failed = "listing";
    }
    return NULL;
}

static void test_store_memory__threads(void **state)
{
    struct objstore *s;
    pthread_t th[N_WRITERS + N_LISTERS];
    struct worker w[N_WRITERS + N_LISTERS];
    atomic_bool stop;

    (void)state;
    test_seed();
    atomic_init(&stop, false);
    assert_ok(objstore_open(&s, "memory://"));
    for (int i = 0; i < N_WRITERS + N_LISTERS; i++) {
        w[i] = (struct worker){s, i, test_rand() | 1, &stop, NULL};
        assert_int_equal(pthread_create(&th[i], NULL,
                                        i < N_WRITERS ? writer_main
                                                      : lister_main,
                                        &w[i]),
                         0);
    }
    for (int i = 0; i < N_WRITERS; i++)
        pthread_join(th[i], NULL);
    atomic_store(&stop, true);
    for (int i = N_WRITERS; i < N_WRITERS + N_LISTERS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N_WRITERS + N_LISTERS; i++)
        if (w[i].failed)
            fail_msg("thread %d: %s", i, w[i].failed);
    objstore_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_memory__model),
        cmocka_unit_test(test_store_memory__blob_outlives_delete),
        cmocka_unit_test(test_store_memory__threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
