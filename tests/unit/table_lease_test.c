/*
 * table_lease_test.c - leases, the floor and the collectors.
 *
 * Leases: per-lease names, dropping one holder's lease leaves another's,
 * renewal rewrites them once due, and gc judges them on the storage's
 * clock (a lease stamped in the storage's future is fresh, one stamped
 * LEASE_SECS ago is not). The floor: gc raises it before deleting
 * versions, and a writer that publishes below it takes its version back.
 * Catalog versions are collected, never the newest.
 */
#define _GNU_SOURCE
#include "harness.h"
#include "table_layer_fixture.h"

#include "table/lease.h"
#include "table/objlist.h"
#include "table/vlog.h"
#include "util/clock.h"

#include <fcntl.h>
#include <sys/stat.h>

static size_t count_prefix(struct objstore *s, const char *prefix)
{
    struct objlist l = {0};
    size_t n;

    assert_ok(objstore_list(s, prefix, objlist_collect, &l));
    n = l.n;
    objlist_free(&l);
    return n;
}

/* Sets the modification time of `key` to now + `delta_s`. */
static void stamp(const struct tl_world *w, const char *key, double delta_s)
{
    char path[1200];
    struct timespec ts[2];
    int64_t t = clock_now_ns() + (int64_t)(delta_s * 1e9);

    snprintf(path, sizeof path, "%s/%s", w->dir, key);
    ts[0].tv_sec = ts[1].tv_sec = t / 1000000000;
    ts[0].tv_nsec = ts[1].tv_nsec = t % 1000000000;
    if (utimensat(AT_FDCWD, path, ts, 0) != 0)
        fail_msg("utimensat %s", path);
}

static void test_table_lease__names_drop_and_renew(void **state)
{
    struct tl_world w;
    struct lease_set a = {0}, b = {0};
    struct objlist l = {0};
    char base[256];
    struct objstore_entry e1, e2;
    (void)state;

    tl_world_open(&w, "lease");
    assert_ok(lease_take(&a, w.store, "t/leases/", "t/superfiles/x.sf"));
    assert_ok(lease_take(&b, w.store, "t/leases/", "t/superfiles/x.sf"));
    assert_int_equal(count_prefix(w.store, "t/leases/"), 2);
    assert_ok(objstore_list(w.store, "t/leases/", objlist_collect, &l));
    for (size_t i = 0; i < l.n; i++) {
        assert_true(lease_parse(base, sizeof base, l.items[i].key));
        assert_string_equal(base, "x.sf");
    }
    objlist_free(&l);
    assert_false(lease_parse(base, sizeof base, "t/leases/clock~0123456789abcdef"));
    assert_true(lease_parse(base, sizeof base, "t/leases/old-style"));
    assert_true(lease_is_safe(&a, "t/superfiles/x.sf"));
    assert_false(lease_is_safe(&a, "t/superfiles/other"));

    /* one holder's drop leaves the other's lease */
    lease_drop(&a, w.store, "t/superfiles/x.sf");
    assert_int_equal(count_prefix(w.store, "t/leases/"), 1);

    /* renewal rewrites once due, not before */
    assert_ok(objstore_stat(w.store, b.items[0].lease_key, &e1));
    stamp(&w, b.items[0].lease_key, -120);
    assert_ok(lease_renew_due(&b, w.store));
    assert_ok(objstore_stat(w.store, b.items[0].lease_key, &e2));
    assert_true(e2.mtime_ns < e1.mtime_ns); /* not due: untouched */
    b.renewed_mono_ns -= (int64_t)(LEASE_RENEW_SECS + 1) * 1000000000;
    b.items[0].mono_ns -= (int64_t)LEASE_SECS * 1000000000;
    assert_false(lease_is_safe(&b, "t/superfiles/x.sf"));
    assert_ok(lease_renew_due(&b, w.store));
    assert_ok(objstore_stat(w.store, b.items[0].lease_key, &e2));
    assert_true(e2.mtime_ns >= e1.mtime_ns);
    assert_true(lease_is_safe(&b, "t/superfiles/x.sf"));
    lease_drop_all(&b, w.store);
    lease_drop_all(&a, w.store);
    assert_int_equal(count_prefix(w.store, "t/leases/"), 0);
    tl_world_close(&w);
}

/* An orphan superfile (written, never published) under a lease: gc keeps
 * it while the lease is fresh on the storage's clock, even one stamped
 * in the storage's future, and removes both once the lease is older than
 * LEASE_SECS. */
static void test_table_lease__gc_judges_leases_on_the_storage_clock(
    void **state)
{
    struct tl_world w;
    struct tbl *t;
    struct tbl_gc_report r;
    struct lease_set ls = {0};
    char dir[600], orphan[700];
    (void)state;

    tl_world_open(&w, "leasegc");
    assert_ok(tl_create(&t, w.store, "t"));
    assert_ok(tl_append(t, 0, 3));
    tl_table_dir(dir, sizeof dir, w.store, "t");
    snprintf(orphan, sizeof orphan, "%ssuperfiles/%s.sf.parquet", dir,
             "00112233445566778899aabbccddeeff");
    assert_ok(objstore_put(w.store, orphan, "x", 1, STORE_REPLACE));
    stamp(&w, orphan, -3 * 3600.0); /* old: only the lease protects it */
    {
        char lease_dir[700];
        snprintf(lease_dir, sizeof lease_dir, "%sleases/", dir);
        assert_ok(lease_take(&ls, w.store, lease_dir, orphan));
    }
    stamp(&w, ls.items[0].lease_key, +1800); /* a clock ahead of ours */
    assert_ok(tbl_gc(t, 0, &r));
    assert_true(objstore_exists(w.store, orphan));
    stamp(&w, ls.items[0].lease_key, -(LEASE_SECS + 60.0));
    assert_ok(tbl_gc(t, 0, &r));
    assert_false(objstore_exists(w.store, orphan));
    assert_false(objstore_exists(w.store, ls.items[0].lease_key));
    lease_drop_all(&ls, w.store);
    {
        int64_t *keys;
        size_t n;
        assert_ok(tl_keys(t, &keys, &n));
        assert_int_equal(n, 3);
        mem_free(keys);
    }
    tbl_close(t);
    tl_world_close(&w);
}

/* A writer that believes version 2 is the newest, after gc removed it
 * and raised the floor, publishes into the hole: it must learn it is
 * stale and take its version back. */
static void test_table_lease__publish_below_the_floor_is_taken_back(
    void **state)
{
    struct tl_world w;
    struct vlog l;
    enum vlog_outcome outcome;
    bool stale;
    uint64_t latest, floor;
    (void)state;

    tl_world_open(&w, "floor");
    assert_ok(vlog_init(&l, w.store, "log/", "log/leases/"));
    for (uint64_t v = 1; v <= 5; v++)
        assert_ok(vlog_publish(&l, v, "v", 1, &outcome, &stale));
    assert_int_equal(outcome, VLOG_PUBLISHED);
    /* gc: floor 4, versions 1..3 deleted */
    assert_ok(vlog_raise_floor(&l, 4));
    {
        struct objlist objs = {0};
        uint64_t n = 0;
        assert_ok(objstore_list(w.store, "log/", objlist_collect, &objs));
        assert_ok(vlog_delete_below(&l, &objs, 4, &n, NULL));
        assert_int_equal(n, 3);
        objlist_free(&objs);
    }
    assert_ok(vlog_floor(&l, &floor));
    assert_int_equal(floor, 4);
    /* the stale writer (newest = 2) publishes 3: below the floor */
    assert_int_equal(vlog_publish(&l, 3, "x", 1, &outcome, &stale),
                     INFINO_ERR_CONFLICT);
    assert_true(stale);
    assert_int_equal(outcome, VLOG_NOT_PUBLISHED);
    assert_false(objstore_exists(w.store, "log/00000000000000000003"));
    /* readers find the newest even from a hint or a version gc removed */
    assert_ok(vlog_refresh(&l, 2, &latest));
    assert_int_equal(latest, 5);
    assert_ok(objstore_put(w.store, "log/LATEST", "2", 1, STORE_REPLACE));
    assert_ok(vlog_latest(&l, &latest));
    assert_int_equal(latest, 5);
    /* a lower floor never replaces a higher one */
    assert_ok(vlog_raise_floor(&l, 2));
    assert_ok(vlog_floor(&l, &floor));
    assert_int_equal(floor, 4);
    /* a reservation keeps gc's floor at or below it */
    {
        struct lease_set r = {0};
        uint64_t min;
        assert_ok(lease_take(&r, w.store, "log/leases/",
                             "log/00000000000000000006"));
        assert_ok(vlog_min_reserved(&l, 0, &min));
        assert_int_equal(min, 6);
        lease_drop_all(&r, w.store);
        assert_ok(vlog_min_reserved(&l, 0, &min));
        assert_int_equal(min, UINT64_MAX);
    }
    tl_world_close(&w);
}

static void test_table_lease__catalog_versions_are_collected(void **state)
{
    struct tl_world w;
    struct tbl *t;
    struct catalog c = {0};
    uint64_t n = 0, bytes = 0;
    char name[16];
    (void)state;

    tl_world_open(&w, "catgc");
    for (int i = 0; i < 12; i++) {
        snprintf(name, sizeof name, "t%d", i);
        assert_ok(tl_create(&t, w.store, name));
        tbl_close(t);
        if (i % 2)
            assert_ok(tl_drop(w.store, name, true));
    }
    assert_ok(catalog_load(&c, w.store));
    assert_int_equal(c.version, 18);
    assert_int_equal(c.n, 6);
    catalog_free(&c);
    assert_ok(catalog_gc(w.store, 0, &n, &bytes));
    assert_int_equal(n, 17);
    assert_true(bytes > 0);
    assert_true(objstore_exists(w.store, "_catalog/00000000000000000018"));
    assert_false(objstore_exists(w.store, "_catalog/00000000000000000017"));
    assert_ok(catalog_load(&c, w.store));
    assert_int_equal(c.version, 18);
    assert_int_equal(c.n, 6);
    catalog_free(&c);
    /* the next create publishes version 19 above the floor */
    assert_ok(tl_create(&t, w.store, "again"));
    tbl_close(t);
    assert_ok(catalog_load(&c, w.store));
    assert_int_equal(c.version, 19);
    assert_int_equal(c.n, 7);
    catalog_free(&c);
    /* a grace period keeps the young versions */
    n = 0;
    assert_ok(catalog_gc(w.store, 3600, &n, NULL));
    assert_int_equal(n, 0);
    tl_world_close(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_lease__names_drop_and_renew),
        cmocka_unit_test(test_table_lease__gc_judges_leases_on_the_storage_clock),
        cmocka_unit_test(test_table_lease__publish_below_the_floor_is_taken_back),
        cmocka_unit_test(test_table_lease__catalog_versions_are_collected),
    };
    if (getenv("INFINO_TEST_FILTER"))
        cmocka_set_test_filter(getenv("INFINO_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
