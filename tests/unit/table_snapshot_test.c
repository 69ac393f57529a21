/*
 * table_snapshot_test.c - snapshot checkpoints and deltas: a chain of
 * random changes, stored as deltas (with periodic checkpoints), replays to
 * exactly the snapshots it was made from; damage is refused.
 */
#include "harness.h"

#include "table/snapshot.h"
#include "util/alloc.h"

static void random_entry(struct snap_sf *e, uint64_t *tokens, uint32_t n_fts)
{
    for (int i = 0; i < SNAP_SF_ID_LEN; i++)
        e->id[i] = (uint8_t)test_rand();
    e->n_rows = 1 + test_rand() % 1000;
    e->file_size = test_rand() % 100000;
    e->id_min.hi = test_rand() % 100;
    e->id_max.hi = e->id_min.hi + 1;
    e->n_deleted = 0;
    e->tomb_id = 0;
    for (uint32_t c = 0; c < n_fts; c++)
        tokens[c] = test_rand() % 5000;
    e->fts_tokens = tokens;
}

static bool equal(const struct snapshot *a, const struct snapshot *b)
{
    if (a->version != b->version || a->n_sf != b->n_sf || a->chain != b->chain)
        return false;
    for (size_t i = 0; i < a->n_sf; i++) {
        const struct snap_sf *x = &a->sf[i], *y = &b->sf[i];
        if (memcmp(x->id, y->id, SNAP_SF_ID_LEN) || x->n_rows != y->n_rows ||
            x->n_deleted != y->n_deleted || x->tomb_id != y->tomb_id ||
            memcmp(x->fts_tokens, y->fts_tokens, a->n_fts * sizeof(uint64_t)))
            return false;
    }
    return true;
}

static void test_table_snapshot__delta_chain_replays(void **state)
{
    struct snapshot cur = {0}, replayed = {0};
    uint64_t tokens[2];
    (void)state;

    cur.n_fts = 2;
    for (int step = 1; step <= 200; step++) {
        struct snapshot next;
        struct snap_doc d;
        struct buf b = {0};

        assert_ok(snapshot_copy(&next, &cur));
        next.parent = cur.version;
        next.version = cur.version + 1;
        next.chain = cur.version > 0 && cur.chain + 1 < SNAP_CHECKPOINT_EVERY
                         ? cur.chain + 1
                         : 0;
        /* remove some, change some tombstones, append some */
        for (size_t i = 0; i < next.n_sf;)
            if (test_rand() % 10 == 0)
                snapshot_remove_sf(&next, i);
            else
                i++;
        for (size_t i = 0; i < next.n_sf; i++)
            if (test_rand() % 8 == 0 && next.sf[i].n_deleted < next.sf[i].n_rows) {
                next.sf[i].n_deleted++;
                next.sf[i].tomb_id = test_rand() | 1;
            }
        for (int k = (int)(test_rand() % 4); k > 0; k--) {
            struct snap_sf e = {0};
            random_entry(&e, tokens, 2);
            assert_ok(snapshot_add_sf(&next, &e));
        }
        if (next.chain > 0)
            assert_ok(snapshot_encode_delta(&b, &next, &cur));
        else
            assert_ok(snapshot_encode(&b, &next));
        assert_ok(snap_doc_decode(&d, b.data, b.len, "t"));
        assert_int_equal(d.chain, next.chain);
        snapshot_free(&replayed);
        assert_ok(snapshot_apply_doc(&replayed, &cur, &d, "t"));
        assert_true(equal(&replayed, &next));
        /* a delta refuses a base it does not follow */
        if (d.chain > 0) {
            struct snapshot wrong, out;
            assert_ok(snapshot_copy(&wrong, &cur));
            wrong.version++;
            assert_int_equal(snapshot_apply_doc(&out, &wrong, &d, "t"),
                             INFINO_ERR_CORRUPT);
            snapshot_free(&wrong);
            /* and a flipped byte is caught by the checksum */
            b.data[b.len / 2] ^= 1;
            struct snap_doc bad;
            assert_int_equal(snap_doc_decode(&bad, b.data, b.len, "t"),
                             INFINO_ERR_CORRUPT);
        }
        snap_doc_free(&d);
        buf_free(&b);
        snapshot_free(&cur);
        cur = next;
    }
    snapshot_free(&cur);
    snapshot_free(&replayed);
}

static void test_table_snapshot__duplicates_refused(void **state)
{
    struct snapshot s = {0}, out;
    struct snap_sf e = {0};
    uint64_t tokens[1];
    struct buf b = {0};
    (void)state;

    s.version = 3;
    s.n_fts = 1;
    random_entry(&e, tokens, 1);
    assert_ok(snapshot_add_sf(&s, &e));
    assert_ok(snapshot_add_sf(&s, &e));
    assert_ok(snapshot_encode(&b, &s));
    assert_int_equal(snapshot_decode(&out, b.data, b.len, "t"),
                     INFINO_ERR_CORRUPT);
    buf_free(&b);
    snapshot_free(&s);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_snapshot__delta_chain_replays),
        cmocka_unit_test(test_table_snapshot__duplicates_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
