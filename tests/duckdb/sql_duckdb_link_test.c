/*
 * sql_duckdb_link_test.c - the DuckDB that scripts/fetch-duckdb.sh brings
 * (issue 17, docs/design/sql-engine.md) links, is the pinned release, and
 * honours the locked configuration query_sql will open it with: queries
 * run, while file access, extension loading and unlocking the
 * configuration are refused.
 */
#include "harness.h"

#include <duckdb.h>

/* The release scripts/fetch-duckdb.sh pins (library and headers). */
#define PINNED_VERSION "v1.5.6"

/* An in-memory instance with the settings of design section 3. */
static duckdb_database open_locked(void)
{
    static const char *const settings[][2] = {
        {"threads", "1"},
        {"memory_limit", "256MB"},
        {"enable_external_access", "false"},
        {"autoload_known_extensions", "false"},
        {"autoinstall_known_extensions", "false"},
        {"allow_community_extensions", "false"},
        {"allow_unsigned_extensions", "false"},
        {"lock_configuration", "true"},
    };
    duckdb_config cfg = NULL;
    duckdb_database db = NULL;
    char *err = NULL;

    assert_int_equal(duckdb_create_config(&cfg), DuckDBSuccess);
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        assert_int_equal(duckdb_set_config(cfg, settings[i][0], settings[i][1]),
                         DuckDBSuccess);
    if (duckdb_open_ext(NULL, &db, cfg, &err) != DuckDBSuccess)
        fail_msg("duckdb_open_ext: %s", err ? err : "?");
    duckdb_destroy_config(&cfg);
    return db;
}

/* Runs `sql`; returns NULL on success, else the error text (static). */
static const char *run(duckdb_connection con, const char *sql, int64_t *first)
{
    static char msg[512];
    duckdb_result res;

    if (duckdb_query(con, sql, &res) != DuckDBSuccess) {
        snprintf(msg, sizeof msg, "%s", duckdb_result_error(&res));
        duckdb_destroy_result(&res);
        return msg;
    }
    if (first != NULL)
        *first = duckdb_value_int64(&res, 0, 0);
    duckdb_destroy_result(&res);
    return NULL;
}

static void test_sql_duckdb__pinned_release(void **state)
{
    (void)state;
    assert_string_equal(duckdb_library_version(), PINNED_VERSION);
}

static void test_sql_duckdb__locked_instance_answers_and_refuses(void **state)
{
    static const char *const refused[] = {
        "SELECT * FROM read_csv('/etc/hostname')",
        "COPY (SELECT 1) TO 'infino-duckdb-test.csv'",
        "ATTACH 'infino-duckdb-test.duckdb'",
        "INSTALL httpfs",
        "SET enable_external_access = true",
        "RESET lock_configuration",
    };
    duckdb_database db = open_locked();
    duckdb_connection con = NULL;
    int64_t v = 0;
    const char *err;
    (void)state;

    assert_int_equal(duckdb_connect(db, &con), DuckDBSuccess);
    err = run(con, "SELECT sum(i) FROM range(1001) t(i)", &v);
    assert_null(err);
    assert_int_equal(v, 500500);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        err = run(con, refused[i], NULL);
        if (err == NULL)
            fail_msg("accepted: %s", refused[i]);
    }
    duckdb_disconnect(&con);
    duckdb_close(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sql_duckdb__pinned_release),
        cmocka_unit_test(test_sql_duckdb__locked_instance_answers_and_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
