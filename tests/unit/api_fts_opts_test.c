/*
 * api_fts_opts_test.c - a full-text column's options through the public
 * API: what infino_index_spec_fts_ex takes comes back from
 * infino_table_fts_opts_at after a reopen, including the version-2 fields
 * (positions, stored); a caller of version 1 gets only the fields its
 * struct has (nothing written past k1 and b); an unset version is
 * refused.
 */
#include "harness.h"
#include "table_fixture.h"

#include <stddef.h>

/* A version-1 caller's struct, followed by bytes that must stay intact. */
struct v1_and_canary {
    uint32_t version;
    const char *analyzer, *stemmer, *stopwords;
    const char *const *stopword_list;
    size_t n_stopword_list;
    double k1, b;
    unsigned char canary[16];
};

static void test_api_fts_opts__round_trip(void **state)
{
    char dir[512];
    struct ArrowSchema cs;
    struct ar_schema s;
    infino_db *db;
    infino_table *t;
    infino_index_spec *spec;
    infino_fts_opts o = INFINO_FTS_OPTS_INIT, got = INFINO_FTS_OPTS_INIT;
    struct v1_and_canary v1;

    (void)state;
    test_tmpdir(dir, sizeof dir, "ftsopts");
    assert_ok(infino_connect(&db, dir, NULL));
    tf_schema(&s);
    assert_ok(ar_schema_export(&cs, &s));
    ar_schema_free(&s);
    assert_ok(infino_index_spec_new(&spec));
    o.stemmer = "english";
    o.k1 = 1.5;
    o.b = 0.5;
    o.positions = 1;
    o.stored = 0;
    assert_ok(infino_index_spec_fts_ex(spec, "body", &o));
    assert_ok(infino_create_table(&t, db, "t", &cs, spec));
    infino_index_spec_free(spec);
    cs.release(&cs);
    infino_table_close(t);
    infino_db_close(db);

    assert_ok(infino_connect(&db, dir, NULL));
    assert_ok(infino_open_table(&t, db, "t"));
    assert_ok(infino_table_fts_opts_at(t, 0, &got));
    assert_string_equal(got.analyzer, "standard");
    assert_string_equal(got.stemmer, "english");
    assert_true(got.k1 == 1.5 && got.b == 0.5);
    assert_int_equal(got.positions, 1);
    assert_int_equal(got.stored, 0);

    memset(&v1, 0xA5, sizeof v1);
    v1.version = 1;
    assert_true(offsetof(struct v1_and_canary, canary) <=
                offsetof(infino_fts_opts, positions) + sizeof(int) * 2);
    assert_ok(infino_table_fts_opts_at(t, 0, (infino_fts_opts *)(void *)&v1));
    assert_string_equal(v1.stemmer, "english");
    assert_true(v1.k1 == 1.5 && v1.b == 0.5);
    for (size_t i = 0; i < sizeof v1.canary; i++)
        assert_int_equal(v1.canary[i], 0xA5);

    memset(&got, 0, sizeof got);
    assert_int_equal(infino_table_fts_opts_at(t, 0, &got), INFINO_ERR_INVALID);
    infino_table_close(t);
    infino_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_fts_opts__round_trip),
    };
    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
