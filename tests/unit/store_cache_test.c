/*
 * store_cache_test.c - the read cache (store/cache.h) over a scripted
 * ranged backend: cold and warm opens, the three cold fetch modes,
 * corrupt entries refetched, eviction by budget, several processes
 * filling one entry, files that cannot be written, bounded memory while
 * scanning, and objects that changed under a cached copy.
 */
#define _GNU_SOURCE
#include "harness.h"

#include "store/cache.h"
#include "store/objstore.h"
#include "util/alloc.h"
#include "util/crc32c.h"
#include "util/endian.h"
#include "util/err.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/wait.h>

/* ---- a backend that reads by ranges from memory ------------------------ */

#define MAX_OBJS 16

struct tobj {
    char key[128];
    uint8_t *data;
    size_t size;
    char etag[32];
};

struct tstore {
    struct objstore base;
    atomic_int refs;
    struct tobj objs[MAX_OBJS];
    size_t n;
    atomic_long n_tail, n_read; /* requests */
    atomic_llong bytes;
    atomic_int fail_reads; /* nonzero: every read fails */
};

struct tranges {
    struct objstore_ranges base;
    struct tstore *s;
    size_t idx;
    char etag[OBJSTORE_ETAG_MAX];
};

static uint8_t pattern(size_t obj, uint64_t i)
{
    return (uint8_t)(((i + obj * 7919) * 2654435761u) >> 13);
}

static void tstore_unref(struct tstore *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->objs[i].data);
    mem_free(s->base.uri);
    mem_free(s);
}

static infino_status t_read(struct objstore_ranges *rg, uint64_t off,
                            size_t len, uint8_t *dst)
{
    struct tranges *r = (struct tranges *)rg;
    const struct tobj *o;

    if (r->idx == SIZE_MAX)
        return err_set(INFINO_ERR_NOTFOUND, "no such object");
    o = &r->s->objs[r->idx];
    atomic_fetch_add(&r->s->n_read, 1);
    if (atomic_load(&r->s->fail_reads))
        return err_set(INFINO_ERR_IO, "t://%s: GET range: HTTP 503 SlowDown",
                       o->key);
    if (r->etag[0] && strcmp(r->etag, o->etag) != 0)
        return err_set(INFINO_ERR_IO, "t://%s: the object changed", o->key);
    if (off > o->size || len > o->size - off)
        return err_set(INFINO_ERR_IO, "t://%s: range past the end", o->key);
    memcpy(dst, o->data + off, len);
    atomic_fetch_add(&r->s->bytes, (long long)len);
    return INFINO_OK;
}

static infino_status t_read_tail(struct objstore_ranges *rg, size_t len,
                                 uint8_t **out, size_t *n_out,
                                 uint64_t *size_out)
{
    struct tranges *r = (struct tranges *)rg;
    const struct tobj *o;
    size_t n;

    if (r->idx == SIZE_MAX)
        return err_set(INFINO_ERR_NOTFOUND, "no such object");
    o = &r->s->objs[r->idx];
    n = len < o->size ? len : o->size;
    atomic_fetch_add(&r->s->n_tail, 1);
    if (atomic_load(&r->s->fail_reads))
        return err_set(INFINO_ERR_IO, "t://%s: GET: HTTP 503 SlowDown",
                       o->key);
    *out = mem_alloc(n ? n : 1);
    memcpy(*out, o->data + o->size - n, n);
    *n_out = n;
    *size_out = o->size;
    snprintf(r->etag, sizeof r->etag, "%s", o->etag);
    atomic_fetch_add(&r->s->bytes, (long long)n);
    return INFINO_OK;
}

static void t_etag(struct objstore_ranges *rg, char out[OBJSTORE_ETAG_MAX])
{
    memcpy(out, ((struct tranges *)rg)->etag, OBJSTORE_ETAG_MAX);
}

static void t_close_ranges(struct objstore_ranges *rg)
{
    struct tranges *r = (struct tranges *)rg;

    tstore_unref(r->s);
    mem_free(r);
}

static const struct objstore_ranges_ops t_ranges_ops = {
    t_read, t_read_tail, t_etag, t_close_ranges};

static long find(struct tstore *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->objs[i].key, key) == 0)
            return (long)i;
    return -1;
}

static infino_status t_open_ranges(struct objstore *os, const char *key,
                                   const char *etag,
                                   struct objstore_ranges **out)
{
    struct tstore *s = (struct tstore *)os;
    long i = find(s, key);
    struct tranges *r;

    /* no network at open: absence shows at the first read */
    r = mem_calloc(1, sizeof *r);
    r->base.ops = &t_ranges_ops;
    r->s = s;
    r->idx = i < 0 ? SIZE_MAX : (size_t)i;
    if (etag)
        snprintf(r->etag, sizeof r->etag, "%s", etag);
    atomic_fetch_add(&s->refs, 1);
    *out = &r->base;
    return INFINO_OK;
}

static infino_status t_get(struct objstore *os, const char *key,
                           struct store_blob **out)
{
    struct tstore *s = (struct tstore *)os;
    long i = find(s, key);

    if (i < 0)
        return err_set(INFINO_ERR_NOTFOUND, "t://%s: no such object", key);
    return store_blob_from_memory(out, s->objs[i].data, s->objs[i].size, key,
                                  true);
}

static infino_status t_unsupported(void)
{
    return err_set(INFINO_ERR_UNSUPPORTED, "not in this test store");
}

static infino_status t_put_sink(struct objstore *s, const char *k,
                                struct store_sink **o)
{
    (void)s, (void)k, (void)o;
    return t_unsupported();
}

static infino_status t_stat(struct objstore *s, const char *k,
                            struct objstore_entry *o)
{
    (void)s, (void)k, (void)o;
    return t_unsupported();
}

static infino_status t_list(struct objstore *s, const char *p, bool t,
                            objstore_list_fn fn, void *pl)
{
    (void)s, (void)p, (void)t, (void)fn, (void)pl;
    return t_unsupported();
}

static infino_status t_remove(struct objstore *s, const char *k)
{
    (void)s, (void)k;
    return t_unsupported();
}

static void t_close(struct objstore *s)
{
    tstore_unref((struct tstore *)s);
}

static bool t_exists(struct objstore *s, const char *k)
{
    return find((struct tstore *)s, k) >= 0;
}

static const struct objstore_ops t_ops = {
    t_get, t_put_sink, t_stat, t_list, t_remove, t_remove, t_close, t_exists,
};

/* A store of `n` objects "obj/<i>" of the given sizes. */
static struct tstore *tstore_new(const size_t *sizes, size_t n)
{
    struct tstore *s = mem_calloc(1, sizeof *s);

    s->base.ops = &t_ops;
    s->base.uri = mem_strdup("t://bucket/prefix");
    s->base.durable = true;
    s->base.open_ranges = t_open_ranges;
    atomic_init(&s->refs, 1);
    for (size_t k = 0; k < n; k++) {
        struct tobj *o = &s->objs[k];
        snprintf(o->key, sizeof o->key, "obj/%zu", k);
        o->size = sizes[k];
        o->data = malloc(sizes[k] ? sizes[k] : 1);
        for (size_t i = 0; i < sizes[k]; i++)
            o->data[i] = pattern(k, i);
        snprintf(o->etag, sizeof o->etag, "\"v1-%zu\"", k);
    }
    s->n = n;
    return s;
}

static void attach(struct tstore *s, const char *dir, uint64_t budget,
                   enum store_cache_mode mode)
{
    struct store_cache_opts o = {0};

    o.dir = dir;
    o.budget_bytes = budget;
    o.mode = mode;
    assert_ok(store_cache_attach(&s->base, &o));
}

static void check_range(struct store_blob *b, size_t obj, uint64_t off,
                        size_t len)
{
    const uint8_t *p;

    assert_ok(store_blob_read(b, off, len, &p));
    for (size_t i = 0; i < len; i++)
        if (p[i] != pattern(obj, off + i))
            fail_msg("object %zu byte %llu differs", obj,
                     (unsigned long long)(off + i));
}

static void read_all(struct store_blob *b, size_t obj)
{
    uint64_t size = store_blob_size(b);

    for (uint64_t off = 0; off < size; off += 100000)
        check_range(b, obj, off,
                    (size_t)(size - off < 100000 ? size - off : 100000));
}

static void open_obj(struct tstore *s, size_t k, struct store_blob **out)
{
    assert_ok(objstore_get_immutable(&s->base, s->objs[k].key,
                                     s->objs[k].size, out));
}

static size_t count_entries(const char *dir, uint64_t *bytes)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    if (bytes)
        *bytes = 0;
    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len > 4 && strcmp(de->d_name + len - 4, ".ice") == 0) {
            struct stat sb;
            n++;
            if (bytes && fstatat(dirfd(d), de->d_name, &sb, 0) == 0)
                *bytes += (uint64_t)sb.st_blocks * 512;
        }
    }
    closedir(d);
    return n;
}

/* The path of the only entry in `dir`. */
static void only_entry(const char *dir, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    out[0] = '\0';
    while (d && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len > 4 && strcmp(de->d_name + len - 4, ".ice") == 0)
            snprintf(out, cap, "%s/%s", dir, de->d_name);
    }
    if (d)
        closedir(d);
    assert_true(out[0] != '\0');
}

#define MIB ((size_t)1 << 20)

/* ---- tests --------------------------------------------------------------- */

static void test_store_cache__modes(void **state)
{
    enum store_cache_mode m;
    (void)state;

    assert_ok(
        store_cache_mode_parse(&m, "lazy_foreground_with_background_fill"));
    assert_int_equal(m, STORE_CACHE_LAZY);
    assert_ok(store_cache_mode_parse(&m, "HYBRID_with_prefetch"));
    assert_int_equal(m, STORE_CACHE_HYBRID);
    assert_ok(store_cache_mode_parse(&m, "RANGE_ONLY"));
    assert_int_equal(m, STORE_CACHE_RANGE);
    assert_ok(store_cache_mode_parse(&m, "lazy"));
    assert_int_equal(m, STORE_CACHE_LAZY);
    assert_ok(store_cache_mode_parse(&m, "Hybrid"));
    assert_int_equal(m, STORE_CACHE_HYBRID);
    assert_ok(store_cache_mode_parse(&m, "range"));
    assert_int_equal(m, STORE_CACHE_RANGE);
    assert_int_equal(store_cache_mode_parse(&m, "eager"), INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "'eager'"));
    assert_non_null(strstr(err_last(), "range_only"));
    assert_string_equal(store_cache_mode_name(STORE_CACHE_HYBRID),
                        "hybrid_with_prefetch");
}

/* Lazy: a cold open reads the tail and what reads need; the background
 * fill brings the rest; a new store (a restart) opens it without a
 * request. */
static void test_store_cache__lazy_cold_then_warm(void **state)
{
    size_t sizes[] = {5 * MIB + 12345, 1000};
    struct tstore *s = tstore_new(sizes, 2);
    struct store_cache_stats st;
    struct store_blob *b;
    char dir[256];
    (void)state;

    test_tmpdir(dir, sizeof dir, "cache-lazy");
    attach(s, dir, 0, STORE_CACHE_LAZY);
    open_obj(s, 0, &b);
    assert_int_equal(store_blob_size(b), sizes[0]);
    assert_int_equal(atomic_load(&s->n_tail), 1);
    check_range(b, 0, sizes[0] - 100, 100); /* the tail */
    check_range(b, 0, 3 * MIB + 5, 1000);
    store_cache_drain(&s->base);
    read_all(b, 0);
    store_blob_close(b);
    open_obj(s, 1, &b); /* small: whole at open */
    read_all(b, 1);
    store_blob_close(b);
    store_cache_stats(&s->base, &st);
    assert_int_equal(st.opens_cold, 2);
    assert_true(st.blocks_filled > 0);
    assert_int_equal(count_entries(dir, NULL), 2);
    objstore_close(&s->base);

    s = tstore_new(sizes, 2);
    attach(s, dir, 0, STORE_CACHE_LAZY);
    for (size_t k = 0; k < 2; k++) {
        open_obj(s, k, &b);
        read_all(b, k);
        store_blob_close(b);
    }
    store_cache_stats(&s->base, &st);
    assert_int_equal(st.opens_warm, 2);
    assert_int_equal(st.opens_cold, 0);
    assert_int_equal(atomic_load(&s->n_tail) + atomic_load(&s->n_read), 0);
    /* without a size (tombstones): found by key alone */
    assert_ok(objstore_get_immutable(&s->base, "obj/0", OBJSTORE_SIZE_UNKNOWN,
                                     &b));
    assert_int_equal(store_blob_size(b), sizes[0]);
    store_blob_close(b);
    assert_int_equal(atomic_load(&s->n_tail) + atomic_load(&s->n_read), 0);
    objstore_close(&s->base);
}

/* Hybrid: misses fetch what is read plus up to 1 MiB after it, all kept;
 * nothing in the background. A reopen fetches only what is still
 * missing. */
static void test_store_cache__hybrid_keeps_ranges(void **state)
{
    size_t sizes[] = {8 * MIB};
    struct tstore *s = tstore_new(sizes, 1);
    struct store_blob *b;
    char dir[256];
    long reads;
    (void)state;

    test_tmpdir(dir, sizeof dir, "cache-hybrid");
    attach(s, dir, 0, STORE_CACHE_HYBRID);
    open_obj(s, 0, &b);
    check_range(b, 0, 10, 100);                /* block 0 + 4 prefetched */
    assert_int_equal(atomic_load(&s->n_read), 1);
    assert_int_equal(atomic_load(&s->bytes), 256 * 1024 + 5 * 256 * 1024);
    check_range(b, 0, 4 * 256 * 1024 + 7, 10); /* prefetched */
    assert_int_equal(atomic_load(&s->n_read), 1);
    store_blob_close(b);
    objstore_close(&s->base);

    s = tstore_new(sizes, 1);
    attach(s, dir, 0, STORE_CACHE_HYBRID);
    open_obj(s, 0, &b);
    check_range(b, 0, 0, 5 * 256 * 1024);
    assert_int_equal(atomic_load(&s->n_read) + atomic_load(&s->n_tail), 0);
    check_range(b, 0, 6 * MIB, 10);
    reads = atomic_load(&s->n_read);
    assert_int_equal(reads, 1);
    read_all(b, 0);
    store_blob_close(b);
    objstore_close(&s->base);
}

/* range_only: nothing is added to the cache; a complete entry made by
 * another mode is used. */
static void test_store_cache__range_only(void **state)
{
    size_t sizes[] = {3 * MIB};
    struct tstore *s = tstore_new(sizes, 1);
    struct store_blob *b;
    char dir[256];
    (void)state;

    test_tmpdir(dir, sizeof dir, "cache-range");
    attach(s, dir, 0, STORE_CACHE_RANGE);
    open_obj(s, 0, &b);
    read_all(b, 0);
    store_blob_close(b);
    assert_int_equal(count_entries(dir, NULL), 0);
    objstore_close(&s->base);

    s = tstore_new(sizes, 1);
    attach(s, dir, 0, STORE_CACHE_LAZY);
    open_obj(s, 0, &b);
    store_cache_drain(&s->base);
    store_blob_close(b);
    objstore_close(&s->base);

    s = tstore_new(sizes, 1);
    attach(s, dir, 0, STORE_CACHE_RANGE);
    open_obj(s, 0, &b);
    read_all(b, 0);
    store_blob_close(b);
    assert_int_equal(atomic_load(&s->n_read) + atomic_load(&s->n_tail), 0);
    objstore_close(&s->base);
}

/* A flipped byte fails its block's CRC: the block is fetched again,
 * served right, and rewritten, so the next open needs no request. A
 * damaged header makes the entry start over. */
static void test_store_cache__corrupt_entry_refetched(void **state)
{
    size_t sizes[] = {2 * MIB + 3};
    struct tstore *s = tstore_new(sizes, 1);
    struct store_cache_stats st;
    struct store_blob *b;
    char dir[256], path[512];
    uint8_t x;
    int fd;
    (void)state;

    test_tmpdir(dir, sizeof dir, "cache-corrupt");
    attach(s, dir, 0, STORE_CACHE_LAZY);
    open_obj(s, 0, &b);
    store_cache_drain(&s->base);
    store_blob_close(b);
    objstore_close(&s->base);

    /* flip a byte in block 3 of the data */
    only_entry(dir, path, sizeof path);
    fd = open(path, O_RDWR);
    {
        uint8_t fixed[64];
        assert_int_equal(pread(fd, fixed, 64, 0), 64);
        uint64_t data_off = load_u64le(fixed + 40);
        off_t at = (off_t)(data_off + 3 * 256 * 1024 + 77);
        assert_int_equal(pread(fd, &x, 1, at), 1);
        x ^= 0x40;
        assert_int_equal(pwrite(fd, &x, 1, at), 1);
    }
    close(fd);

    s = tstore_new(sizes, 1);
    attach(s, dir, 0, STORE_CACHE_LAZY);
    open_obj(s, 0, &b);
    read_all(b, 0);
    store_cache_stats(&s->base, &st);
    assert_int_equal(st.blocks_corrupt, 1);
    assert_int_equal(atomic_load(&s->n_read), 1);
    assert_int_equal(atomic_load(&s->bytes), 256 * 1024);
    store_blob_close(b);
    objstore_close(&s->base);

    s = tstore_new(sizes, 1);
    attach(s, dir, 0, STORE_CACHE_LAZY);
    open_obj(s, 0, &b);
    read_all(b, 0);
    store_blob_close(b);
    store_cache_stats(&s->base, &st);
    assert_int_equal(st.blocks_corrupt, 0);
    assert_int_equal(atomic_load(&s->n_read) + atomic_load(&s->n_tail), 0);
    objstore_close(&s->base);

    /* a damaged header: the entry is replaced */
    fd = open(path, O_RDWR);
    x = 'X';
    assert_int_equal(pwrite(fd, &x, 1, 70), 1); /* inside the key */
    close(fd);
    s = tstore_new(sizes, 1);
    attach(s, dir, 0, STORE_CACHE_LAZY);
    open_obj(s, 0, &b);
    read_all(b, 0);
    store_blob_close(b);
    store_cache_stats(&s->base, &st);
    assert_int_equal(st.opens_cold, 1);
    store_cache_drain(&s->base);
    objstore_close(&s->base);
    assert_int_equal(count_entries(dir, NULL), 1);

    /* a wrong size (the snapshot knows better): refetched */
    s = tstore_new(sizes, 1);
    attach(s, dir, 0, STORE_CACHE_LAZY);
    assert_ok(objstore_get_immutable(&s->base, "obj/0", sizes[0] + 1, &b));
    assert_int_equal(store_blob_size(b), sizes[0]); /* the truth */
    store_blob_close(b);
    store_cache_stats(&s->base, &st);
    assert_int_equal(st.opens_cold, 1);
    store_cache_drain(&s->base);
    objstore_close(&s->base);
}

/* Whatever bytes a cache file holds (flipped bits anywhere, zeroed
 * ranges, cut short, grown), reads return the object's bytes. */
static void test_store_cache__garbage_entries(void **state)
{
    size_t sizes[] = {3 * 256 * 1024 + 999};
    struct tstore *s = tstore_new(sizes, 1);
    struct store_blob *b;
    char dir[256], path[512];
    uint8_t *good;
    long good_len;
    FILE *f;
    (void)state;

    test_tmpdir(dir, sizeof dir, "cache-garbage");
    attach(s, dir, 0, STORE_CACHE_LAZY);
    open_obj(s, 0, &b);
    store_cache_drain(&s->base);
    store_blob_close(b);
    objstore_close(&s->base);
    only_entry(dir, path, sizeof path);
    f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    good_len = ftell(f);
    rewind(f);
    good = malloc((size_t)good_len);
    assert_int_equal(fread(good, 1, (size_t)good_len, f), (size_t)good_len);
    fclose(f);

    for (int round = 0; round < 150; round++) {
        uint8_t *bad = malloc((size_t)good_len + 4096);
        long len = good_len;
        memcpy(bad, good, (size_t)good_len);
        switch (test_rand() % 4) {
        case 0: /* a few flipped bytes, likely in the header and slots */
            for (int k = 0; k < 1 + (int)(test_rand() % 4); k++)
                bad[test_rand() % (test_rand() % 2 ? 8192 : (uint64_t)len)] ^=
                    (uint8_t)(1 + test_rand() % 255);
            break;
        case 1: { /* a zeroed range */
            long at = (long)(test_rand() % (uint64_t)len);
            long n = (long)(test_rand() % 300000);
            memset(bad + at, 0, (size_t)(at + n > len ? len - at : n));
            break;
        }
        case 2: /* cut short */
            len = (long)(test_rand() % (uint64_t)len);
            break;
        default: /* grown */
            len += 1 + (long)(test_rand() % 4095);
            break;
        }
        f = fopen(path, "wb");
        assert_int_equal(fwrite(bad, 1, (size_t)len, f), (size_t)len);
        fclose(f);
        free(bad);
        s = tstore_new(sizes, 1);
        attach(s, dir, 0, STORE_CACHE_HYBRID);
        open_obj(s, 0, &b);
        read_all(b, 0);
        store_blob_close(b);
        objstore_close(&s->base);
        if (access(path, F_OK) != 0) { /* replaced: put one back */
            f = fopen(path, "wb");
            assert_int_equal(fwrite(good, 1, (size_t)good_len, f),
                             (size_t)good_len);
            fclose(f);
        }
    }
    free(good);
}

/* The budget bounds what the entries occupy, least recently used out;
 * an evicted entry still open keeps reading; objects over half the
 * budget are not kept. */
static void test_store_cache__eviction(void **state)
{
    size_t sizes[] = {MIB, MIB, MIB, MIB, MIB, 5 * MIB};
    struct tstore *s = tstore_new(sizes, 6);
    struct store_cache_stats st;
    struct store_blob *first, *b;
    uint64_t bytes;
    char dir[256];
    (void)state;

    test_tmpdir(dir, sizeof dir, "cache-evict");
    attach(s, dir, 3 * MIB + MIB / 2, STORE_CACHE_LAZY);
    open_obj(s, 0, &first);
    store_cache_drain(&s->base);
    for (size_t k = 1; k < 5; k++) {
        usleep(20000); /* distinct mtimes */
        open_obj(s, k, &b);
        store_cache_drain(&s->base);
        read_all(b, k);
        store_blob_close(b);
    }
    count_entries(dir, &bytes);
    assert_true(bytes <= 3 * MIB + MIB / 2);
    store_cache_stats(&s->base, &st);
    assert_true(st.entries_evicted >= 2);
    read_all(first, 0); /* evicted, still mapped */
    store_blob_close(first);
    /* too large for this budget: read, not kept */
    open_obj(s, 5, &b);
    store_cache_drain(&s->base);
    read_all(b, 5);
    store_blob_close(b);
    count_entries(dir, &bytes);
    assert_true(bytes <= 3 * MIB + MIB / 2);
    objstore_close(&s->base);
}

/* Four processes open one object cold at once, read it in different
 * orders and check every byte; the entry ends complete and valid, and a
 * fresh open needs no request. */
static void test_store_cache__processes_share_an_entry(void **state)
{
    size_t sizes[] = {6 * MIB + 777};
    struct tstore *s;
    struct store_blob *b;
    char dir[256];
    pid_t kids[4];
    (void)state;

    test_tmpdir(dir, sizeof dir, "cache-procs");
    for (int k = 0; k < 4; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            int bad = 0;
            s = tstore_new(sizes, 1);
            attach(s, dir, 0, k % 2 ? STORE_CACHE_HYBRID : STORE_CACHE_LAZY);
            if (objstore_get_immutable(&s->base, "obj/0", sizes[0], &b) !=
                INFINO_OK)
                _exit(2);
            for (int round = 0; round < 40; round++) {
                uint64_t off = (uint64_t)((round * 7 + k * 13) % 24) *
                               (256 * 1024) + (uint64_t)(k * 1000);
                size_t len = 300000;
                const uint8_t *p;
                if (off + len > sizes[0])
                    off = sizes[0] - len;
                if (store_blob_read(b, off, len, &p) != INFINO_OK)
                    _exit(3);
                for (size_t i = 0; i < len; i++)
                    bad |= p[i] != pattern(0, off + i);
            }
            store_cache_drain(&s->base);
            store_blob_close(b);
            objstore_close(&s->base);
            _exit(bad ? 4 : 0);
        }
    }
    for (int k = 0; k < 4; k++) {
        int wst;
        assert_int_equal(waitpid(kids[k], &wst, 0), kids[k]);
        assert_true(WIFEXITED(wst));
        assert_int_equal(WEXITSTATUS(wst), 0);
    }
    assert_int_equal(count_entries(dir, NULL), 1);
    s = tstore_new(sizes, 1);
    attach(s, dir, 0, STORE_CACHE_LAZY);
    open_obj(s, 0, &b);
    read_all(b, 0);
    store_blob_close(b);
    assert_int_equal(atomic_load(&s->n_read) + atomic_load(&s->n_tail), 0);
    objstore_close(&s->base);
}

/* Threads reading one blob at random while it fills. */
struct reader_arg {
    struct store_blob *b;
    size_t size;
    unsigned seed;
    int bad;
};

static void *reader(void *arg)
{
    struct reader_arg *a = arg;

    for (int i = 0; i < 200; i++) {
        const uint8_t *p;
        size_t len = 1 + rand_r(&a->seed) % 70000;
        uint64_t off = (uint64_t)rand_r(&a->seed) % (a->size - len);
        if (store_blob_read(a->b, off, len, &p) != INFINO_OK) {
            a->bad = 1;
            break;
        }
        for (size_t k = 0; k < len; k++)
            a->bad |= p[k] != pattern(0, off + k);
    }
    return NULL;
}

static void test_store_cache__threads(void **state)
{
    size_t sizes[] = {4 * MIB + 1};
    struct tstore *s = tstore_new(sizes, 1);
    struct reader_arg args[4];
    pthread_t t[4];
    struct store_blob *b;
    char dir[256];
    (void)state;

    test_tmpdir(dir, sizeof dir, "cache-threads");
    attach(s, dir, 0, STORE_CACHE_LAZY);
    open_obj(s, 0, &b);
    for (int k = 0; k < 4; k++) {
        args[k] = (struct reader_arg){b, sizes[0], (unsigned)k + 1, 0};
        pthread_create(&t[k], NULL, reader, &args[k]);
    }
    for (int k = 0; k < 4; k++) {
        pthread_join(t[k], NULL);
        assert_int_equal(args[k].bad, 0);
    }
    store_blob_close(b);
    store_cache_drain(&s->base);
    objstore_close(&s->base);
}

/* A failing store fails the read, naming the object and the status, and
 * leaves nothing wrong behind: the next read (store healthy) succeeds. */
static void test_store_cache__fetch_errors(void **state)
{
    size_t sizes[] = {2 * MIB};
    struct tstore *s = tstore_new(sizes, 1);
    struct store_blob *b;
    const uint8_t *p;
    char dir[256];
    (void)state;

    test_tmpdir(dir, sizeof dir, "cache-errors");
    attach(s, dir, 0, STORE_CACHE_HYBRID);
    atomic_store(&s->fail_reads, 1);
    assert_int_equal(objstore_get_immutable(&s->base, "obj/0", sizes[0], &b),
                     INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "obj/0"));
    assert_non_null(strstr(err_last(), "503"));
    atomic_store(&s->fail_reads, 0);
    open_obj(s, 0, &b);
    atomic_store(&s->fail_reads, 1);
    assert_int_equal(store_blob_read(b, 10, 10, &p), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "t://bucket/prefix/obj/0"));
    assert_non_null(strstr(err_last(), "503"));
    atomic_store(&s->fail_reads, 0);
    read_all(b, 0);
    store_blob_close(b);
    /* an absent object is NOTFOUND */
    assert_int_equal(objstore_get_immutable(&s->base, "obj/zzz", 10, &b),
                     INFINO_ERR_NOTFOUND);
    objstore_close(&s->base);
}

/* An object replaced under its cached copy (never for superfiles, but
 * say a bucket was re-created): reads pinned to the cached version fail
 * rather than mix versions. */
static void test_store_cache__changed_object(void **state)
{
    size_t sizes[] = {2 * MIB};
    struct tstore *s = tstore_new(sizes, 1);
    struct store_blob *b;
    const uint8_t *p;
    char dir[256];
    (void)state;

    test_tmpdir(dir, sizeof dir, "cache-changed");
    attach(s, dir, 0, STORE_CACHE_HYBRID);
    open_obj(s, 0, &b);
    check_range(b, 0, 0, 10);
    store_blob_close(b);
    objstore_close(&s->base);
    s = tstore_new(sizes, 1);
    snprintf(s->objs[0].etag, sizeof s->objs[0].etag, "\"v2\"");
    attach(s, dir, 0, STORE_CACHE_HYBRID);
    open_obj(s, 0, &b);
    check_range(b, 0, 0, 10); /* cached: fine */
    assert_int_equal(store_blob_read(b, MIB + MIB / 2, 10, &p), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "changed"));
    store_blob_close(b);
    objstore_close(&s->base);
}

/* A cache file that cannot grow (here: a file size limit) costs memory,
 * not errors. */
static void test_store_cache__unwritable_files(void **state)
{
    size_t sizes[] = {3 * MIB};
    char dir[256];
    pid_t kid;
    int wst;
    (void)state;

    test_tmpdir(dir, sizeof dir, "cache-unwritable");
    kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        struct tstore *s = tstore_new(sizes, 1);
        struct store_cache_stats st;
        struct store_blob *b;
        struct rlimit rl = {128 * 1024, 128 * 1024};
        signal(SIGXFSZ, SIG_IGN);
        attach(s, dir, 0, STORE_CACHE_HYBRID);
        if (objstore_get_immutable(&s->base, "obj/0", sizes[0], &b) !=
            INFINO_OK)
            _exit(2);
        setrlimit(RLIMIT_FSIZE, &rl); /* the entry exists, blocks fail */
        for (uint64_t off = 0; off < sizes[0]; off += 100000) {
            const uint8_t *p;
            size_t len = sizes[0] - off < 100000 ? sizes[0] - off : 100000;
            if (store_blob_read(b, off, len, &p) != INFINO_OK)
                _exit(3);
            for (size_t i = 0; i < len; i++)
                if (p[i] != pattern(0, off + i))
                    _exit(4);
        }
        store_blob_close(b);
        store_cache_stats(&s->base, &st);
        if (st.write_errors == 0)
            _exit(5);
        /* and a new entry cannot even be sized: memory from the start */
        objstore_close(&s->base);
        s = tstore_new(sizes, 1);
        attach(s, dir, 0, STORE_CACHE_LAZY);
        {
            char cmd[600];
            snprintf(cmd, sizeof cmd, "rm -f %s/*.ice", dir);
            if (system(cmd) != 0)
                _exit(6);
        }
        if (objstore_get_immutable(&s->base, "obj/0", sizes[0], &b) !=
            INFINO_OK)
            _exit(7);
        for (uint64_t off = 0; off < sizes[0]; off += 100000) {
            const uint8_t *p;
            size_t len = sizes[0] - off < 100000 ? sizes[0] - off : 100000;
            if (store_blob_read(b, off, len, &p) != INFINO_OK)
                _exit(8);
            for (size_t i = 0; i < len; i++)
                if (p[i] != pattern(0, off + i))
                    _exit(9);
        }
        store_blob_close(b);
        store_cache_drain(&s->base);
        objstore_close(&s->base);
        _exit(0);
    }
    assert_int_equal(waitpid(kid, &wst, 0), kid);
    assert_true(WIFEXITED(wst));
    assert_int_equal(WEXITSTATUS(wst), 0);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0
#endif

static long rss_anon_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "RssAnon: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* Scanning a large object through the cache, releasing what was read,
 * keeps the process's own memory flat (the bytes live in the page cache,
 * not in the heap as remote blobs kept them). */
static void test_store_cache__bounded_memory(void **state)
{
    size_t sizes[] = {96 * MIB};
    struct tstore *s = tstore_new(sizes, 1);
    struct store_blob *b;
    long before, after;
    char dir[256];
    (void)state;

    test_tmpdir(dir, sizeof dir, "cache-memory");
    attach(s, dir, 0, STORE_CACHE_RANGE);
    open_obj(s, 0, &b);
    before = rss_anon_kib();
    for (uint64_t off = 0; off < sizes[0]; off += 4 * MIB) {
        check_range(b, 0, off, 4 * MIB);
        store_blob_release(b, off, 4 * MIB);
    }
    after = rss_anon_kib();
    fprintf(stderr, "# RssAnon %ld -> %ld KiB over a 96 MiB scan\n", before,
            after);
#if !UNDER_SANITIZER /* quarantines and shadow memory count as RssAnon */
    if (before >= 0 && after >= 0)
        assert_true(after - before < 32 * 1024);
#endif
    store_blob_close(b);
    objstore_close(&s->base);
}

/* Stores without ranged reads (local, memory) are read as before. */
static void test_store_cache__plain_stores(void **state)
{
    struct objstore *m;
    struct store_blob *b;
    struct store_cache_opts o = {0};
    const uint8_t *p;
    (void)state;

    assert_ok(objstore_open(&m, "memory://"));
    o.dir = "/nonexistent/never-created";
    assert_ok(store_cache_attach(m, &o)); /* ignored */
    assert_ok(objstore_put(m, "a/b", "hello", 5, STORE_NOREPLACE));
    assert_ok(objstore_get_immutable(m, "a/b", 5, &b));
    assert_ok(store_blob_read(b, 0, 5, &p));
    assert_memory_equal(p, "hello", 5);
    store_blob_close(b);
    assert_int_equal(objstore_get_immutable(m, "../x", 5, &b),
                     INFINO_ERR_INVALID);
    objstore_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_cache__modes),
        cmocka_unit_test(test_store_cache__lazy_cold_then_warm),
        cmocka_unit_test(test_store_cache__hybrid_keeps_ranges),
        cmocka_unit_test(test_store_cache__range_only),
        cmocka_unit_test(test_store_cache__corrupt_entry_refetched),
        cmocka_unit_test(test_store_cache__garbage_entries),
        cmocka_unit_test(test_store_cache__eviction),
        cmocka_unit_test(test_store_cache__processes_share_an_entry),
        cmocka_unit_test(test_store_cache__threads),
        cmocka_unit_test(test_store_cache__fetch_errors),
        cmocka_unit_test(test_store_cache__changed_object),
        cmocka_unit_test(test_store_cache__unwritable_files),
        cmocka_unit_test(test_store_cache__bounded_memory),
        cmocka_unit_test(test_store_cache__plain_stores),
    };

    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
