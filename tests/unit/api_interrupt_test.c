/*
 * api_interrupt_test.c - infino_interrupt_watch through the public API:
 * a flag set while an append, update, delete, optimize or SQL query runs
 * stops it with INFINO_ERR_INTERRUPTED, committing nothing and leaving no
 * superfile behind; the same calls succeed once the flag is cleared, and a
 * flag nobody watches changes nothing.
 */
#include "harness.h"

#include "format/arrow/arrow.h"
#include "util/alloc.h"

#include <dirent.h>

static volatile sig_atomic_t flag;

/* ---- rows ---------------------------------------------------------------- */

static struct ar_field leaf(const char *name, enum ar_type t)
{
    struct ar_field f;

    memset(&f, 0, sizeof f);
    f.name = mem_strdup(name);
    f.type = t;
    f.nullable = true;
    return f;
}

/* {id: int64, body: utf8} */
static void make_schema(struct ar_schema *s)
{
    memset(s, 0, sizeof *s);
    s->n_fields = 2;
    s->fields = mem_calloc(2, sizeof *s->fields);
    assert_non_null(s->fields);
    s->fields[0] = leaf("id", AR_INT64);
    s->fields[1] = leaf("body", AR_UTF8);
}

static void make_batch(const struct ar_schema *s, struct ArrowArray *out,
                       int64_t first, int n)
{
    struct ar_field root;
    struct ar_builder *b;

    memset(&root, 0, sizeof root);
    root.name = (char *)"";
    root.type = AR_STRUCT;
    root.n_children = s->n_fields;
    root.children = s->fields;
    assert_ok(ar_builder_new(&b, &root));
    for (int i = 0; i < n; i++) {
        char body[48];
        int len = snprintf(body, sizeof body, "word%lld common",
                           (long long)((first + i) % 97));
        assert_ok(ar_builder_append_int(ar_builder_child(b, 0), first + i));
        assert_ok(ar_builder_append_bytes(ar_builder_child(b, 1), body,
                                          (size_t)len));
        assert_ok(ar_builder_end_struct(b));
    }
    assert_ok(ar_builder_finish(b, out));
    ar_builder_free(b);
}

/* A stream of n_batches batches of `rows` rows starting at id `first`,
 * which sets `flag` as it hands out batch `set_at` (n_batches: at the
 * end; -1: never), as a SIGINT arriving in the middle of an append would. */
struct source {
    struct ar_schema schema;
    int64_t first;
    int rows, n_batches, set_at, next;
};

static infino_status source_next(void *payload, struct ArrowArray *out)
{
    struct source *s = payload;

    memset(out, 0, sizeof *out);
    if (s->next == s->set_at)
        flag = 1;
    if (s->next == s->n_batches)
        return INFINO_OK;
    make_batch(&s->schema, out, s->first + (int64_t)s->next * s->rows,
               s->rows);
    s->next++;
    return INFINO_OK;
}

static void source_close(void *payload)
{
    struct source *s = payload;

    ar_schema_free(&s->schema);
    mem_free(s);
}

static void open_stream(struct ArrowArrayStream *out, int64_t first, int rows,
                        int n_batches, int set_at)
{
    struct source *s = mem_calloc(1, sizeof *s);
    struct ar_stream_source src;

    assert_non_null(s);
    make_schema(&s->schema);
    s->first = first;
    s->rows = rows;
    s->n_batches = n_batches;
    s->set_at = set_at;
    src.payload = s;
    src.next = source_next;
    src.close = source_close;
    assert_ok(ar_stream_export(out, &s->schema, src));
}

/* ---- a database ------------------------------------------------------------ */

struct fixture {
    char dir[512];
    infino_db *db;
    infino_table *t;
};

static void open_fixture(struct fixture *f, const char *tag)
{
    struct ar_schema s;
    struct ArrowSchema cs;
    infino_index_spec *spec;

    test_tmpdir(f->dir, sizeof f->dir, tag);
    assert_ok(infino_connect(&f->db, f->dir, NULL));
    make_schema(&s);
    assert_ok(ar_schema_export(&cs, &s));
    ar_schema_free(&s);
    assert_ok(infino_index_spec_new(&spec));
    assert_ok(infino_index_spec_fts(spec, "body"));
    assert_ok(infino_create_table(&f->t, f->db, "docs", &cs, spec));
    cs.release(&cs);
    infino_index_spec_free(spec);
    flag = 0;
    infino_interrupt_watch(&flag);
}

static void close_fixture(struct fixture *f)
{
    infino_interrupt_watch(NULL);
    flag = 0;
    infino_table_close(f->t);
    infino_db_close(f->db);
}

static uint64_t rows_of(infino_table *t)
{
    uint64_t n = 0;

    assert_ok(infino_table_count_rows(t, &n));
    return n;
}

/* Regular files under `path` whose name ends in `suffix`, recursively. */
static int count_files(const char *path, const char *suffix)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char sub[1024];
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        struct stat st;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        if (stat(sub, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            n += count_files(sub, suffix);
        else if (len >= sl && strcmp(e->d_name + len - sl, suffix) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static void append_ok(infino_table *t, int64_t first, int rows, int n_batches)
{
    struct ArrowArrayStream s;

    open_stream(&s, first, rows, n_batches, -1);
    assert_ok(infino_table_append(t, &s, NULL));
}

static void assert_interrupted(infino_status st, const char *context)
{
    assert_int_equal(st, INFINO_ERR_INTERRUPTED);
    if (getenv("INFINO_TEST_VERBOSE"))
        fprintf(stderr, "# %s\n", err_last());
    if (strstr(err_last(), context) == NULL ||
        strstr(err_last(), "interrupted") == NULL)
        fail_msg("message '%s' lacks '%s' or 'interrupted'", err_last(),
                 context);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_api_interrupt__status(void **state)
{
    (void)state;
    assert_int_equal(INFINO_ERR_INTERRUPTED, -10);
    assert_string_equal(infino_status_str(INFINO_ERR_INTERRUPTED),
                        "interrupted");
}

/* The flag is set while batch `set_at` is produced: the append stops at
 * its next poll, whatever the batch, and commits nothing. */
static void test_api_interrupt__append_mid_stream(void **state)
{
    struct fixture f;
    struct ArrowArrayStream s;
    uint64_t n = 7;
    (void)state;

    open_fixture(&f, "intr-append");
    append_ok(f.t, 0, 100, 2);
    assert_int_equal(count_files(f.dir, ".sf.parquet"), 1);
    for (int set_at = 0; set_at < 4; set_at++) {
        flag = 0;
        open_stream(&s, 1000, 500, 4, set_at);
        assert_interrupted(infino_table_append(f.t, &s, &n),
                           "appending to table docs");
        assert_int_equal(n, 0);
        assert_null(s.release); /* taken, as on every other failure */
        assert_int_equal(rows_of(f.t), 200);
        assert_int_equal(count_files(f.dir, ".sf.parquet"), 1);
    }
    /* already set when the call starts: nothing is read */
    open_stream(&s, 1000, 500, 4, -1);
    assert_interrupted(infino_table_append(f.t, &s, NULL),
                       "interrupted after 0 input rows");
    /* cleared: the same append goes through */
    flag = 0;
    open_stream(&s, 1000, 500, 4, -1);
    assert_ok(infino_table_append(f.t, &s, &n));
    assert_int_equal(n, 2000);
    assert_int_equal(rows_of(f.t), 2200);
    close_fixture(&f);
}

/* Only the flag this thread watches counts. */
static void test_api_interrupt__unwatched_flag_is_ignored(void **state)
{
    struct fixture f;
    (void)state;

    open_fixture(&f, "intr-unwatched");
    infino_interrupt_watch(NULL);
    flag = 1;
    append_ok(f.t, 0, 100, 3);
    assert_int_equal(rows_of(f.t), 300);
    close_fixture(&f);
}

static void test_api_interrupt__optimize(void **state)
{
    struct fixture f;
    int before;
    (void)state;

    open_fixture(&f, "intr-optimize");
    for (int i = 0; i < 6; i++)
        append_ok(f.t, i * 1000, 300, 2);
    before = count_files(f.dir, ".sf.parquet");
    assert_int_equal(before, 6);
    flag = 1;
    assert_interrupted(infino_table_optimize(f.t, NULL),
                       "optimizing table docs");
    assert_int_equal(count_files(f.dir, ".sf.parquet"), before);
    assert_int_equal(rows_of(f.t), 3600);
    flag = 0;
    assert_ok(infino_table_optimize(f.t, NULL));
    assert_int_equal(count_files(f.dir, ".sf.parquet"), before + 1);
    assert_int_equal(rows_of(f.t), 3600);
    close_fixture(&f);
}

static void test_api_interrupt__delete_and_update(void **state)
{
    struct fixture f;
    struct ArrowArrayStream s;
    infino_mutation_stats ms = {9, 9, 9};
    (void)state;

    open_fixture(&f, "intr-mutate");
    append_ok(f.t, 0, 400, 3);
    flag = 1;
    assert_interrupted(infino_table_delete(f.t, "id < 600", &ms),
                       "deleting from table docs");
    assert_int_equal(ms.matched, 0);
    assert_int_equal(rows_of(f.t), 1200);
    /* update: interrupted while its replacement rows are read ... */
    flag = 0;
    open_stream(&s, 5000, 10, 3, 1);
    assert_interrupted(infino_table_update(f.t, "id < 30", &s, &ms),
                       "updating table docs");
    assert_int_equal(rows_of(f.t), 1200);
    /* ... and while its predicate is evaluated (no replacement rows, the
     * flag set as the stream ends: the first poll is the predicate's) */
    flag = 0;
    open_stream(&s, 5000, 10, 0, 0);
    assert_interrupted(infino_table_update(f.t, "id < 30", &s, &ms),
                       "interrupted while scanning table docs");
    assert_int_equal(rows_of(f.t), 1200);
    flag = 0;
    assert_ok(infino_table_delete(f.t, "id < 600", &ms));
    assert_int_equal(ms.n_tombstoned, 600);
    assert_int_equal(rows_of(f.t), 600);
    close_fixture(&f);
}

static void test_api_interrupt__queries(void **state)
{
    struct fixture f;
    struct ArrowArrayStream out;
    struct ArrowArray batch;
    (void)state;

    open_fixture(&f, "intr-query");
    append_ok(f.t, 0, 200, 2);
    flag = 1;
    assert_interrupted(infino_query_sql(f.db, "SELECT count(*) FROM docs",
                                        &out),
                       "interrupted");
    assert_null(out.release);
    assert_interrupted(infino_table_scan(f.t, NULL, 0, "id > 10", &out),
                       "scanning table docs");
    /* a scan stream stops at its next row group */
    flag = 0;
    assert_ok(infino_table_scan(f.t, NULL, 0, NULL, &out));
    flag = 1;
    assert_int_not_equal(out.get_next(&out, &batch), 0);
    assert_non_null(strstr(out.get_last_error(&out), "interrupted"));
    out.release(&out);
    flag = 0;
    assert_ok(infino_query_sql(f.db, "SELECT count(*) FROM docs", &out));
    out.release(&out);
    close_fixture(&f);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_interrupt__status),
        cmocka_unit_test(test_api_interrupt__append_mid_stream),
        cmocka_unit_test(test_api_interrupt__unwatched_flag_is_ignored),
        cmocka_unit_test(test_api_interrupt__optimize),
        cmocka_unit_test(test_api_interrupt__delete_and_update),
        cmocka_unit_test(test_api_interrupt__queries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
