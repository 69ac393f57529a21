/*
 * lifecycle.c - the seed page's lifecycle through the public C API: connect
 * to a folder, create a table with a full-text index, append the rows of a
 * Parquet file, search, run SQL, delete by predicate, count, drop.
 *
 * Build against an installed infino:
 *   cc lifecycle.c $(pkg-config --cflags --libs infino) -o lifecycle
 * Run:
 *   ./lifecycle CORPUS.parquet DB_FOLDER
 * The Parquet file needs a utf8 `body` column (full-text indexed), and
 * `doc_id`, `title` and `topic` utf8 columns (examples/data/corpus.jsonl
 * written as Parquet has them). Exit status 0 on success, 1 with the
 * library's message on stderr otherwise.
 */
#include <infino.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints the failing call and the library's message, and exits. */
static void check(infino_status st, const char *what)
{
    if (st == INFINO_OK)
        return;
    fprintf(stderr, "lifecycle: %s: %s (%s)\n", what, infino_last_error(),
            infino_status_str(st));
    exit(1);
}

static int is_valid(const struct ArrowArray *a, int64_t i)
{
    const uint8_t *bits = a->buffers[0];
    i += a->offset;
    return bits == NULL || (bits[i / 8] >> (i % 8)) & 1;
}

/* Prints value i of a column of the types these queries return. */
static void print_value(const struct ArrowSchema *s,
                        const struct ArrowArray *a, int64_t i)
{
    int64_t j = i + a->offset;

    if (!is_valid(a, i)) {
        printf("NULL");
    } else if (strcmp(s->format, "u") == 0) {
        const int32_t *off = a->buffers[1];
        printf("%.*s", (int)(off[j + 1] - off[j]),
               (const char *)a->buffers[2] + off[j]);
    } else if (strcmp(s->format, "U") == 0) {
        const int64_t *off = a->buffers[1];
        printf("%.*s", (int)(off[j + 1] - off[j]),
               (const char *)a->buffers[2] + off[j]);
    } else if (strcmp(s->format, "l") == 0) {
        printf("%" PRId64, ((const int64_t *)a->buffers[1])[j]);
    } else if (strcmp(s->format, "f") == 0) {
        printf("%.4f", ((const float *)a->buffers[1])[j]);
    } else if (strcmp(s->format, "g") == 0) {
        printf("%.4f", ((const double *)a->buffers[1])[j]);
    } else {
        printf("<%s>", s->format);
    }
}

/* Prints every row of a result stream, columns separated by " | ", and
 * releases it; returns the number of rows. */
static int64_t print_stream(struct ArrowArrayStream *st)
{
    struct ArrowSchema schema;
    int64_t rows = 0;

    if (st->get_schema(st, &schema) != 0) {
        fprintf(stderr, "lifecycle: %s\n", st->get_last_error(st));
        exit(1);
    }
    for (;;) {
        struct ArrowArray batch;
        if (st->get_next(st, &batch) != 0) {
            fprintf(stderr, "lifecycle: %s\n", st->get_last_error(st));
            exit(1);
        }
        if (batch.release == NULL)
            break;
        for (int64_t r = 0; r < batch.length; r++, rows++) {
            printf("  ");
            for (int64_t c = 0; c < schema.n_children; c++) {
                if (c > 0)
                    printf(" | ");
                print_value(schema.children[c], batch.children[c], r);
            }
            printf("\n");
        }
        batch.release(&batch);
    }
    schema.release(&schema);
    st->release(st);
    return rows;
}

int main(int argc, char **argv)
{
    static const char *const shown[] = {"doc_id", "title", "score"};
    infino_search_opts so = INFINO_SEARCH_OPTS_INIT;
    infino_mutation_stats del;
    struct ArrowArrayStream rows, res;
    struct ArrowSchema schema;
    infino_index_spec *spec;
    infino_table *t;
    infino_db *db;
    uint64_t n = 0, live = 0;
    const char *query = "reset password";

    if (argc != 3) {
        fprintf(stderr, "usage: lifecycle CORPUS.parquet DB_FOLDER\n");
        return 2;
    }
    printf("infino %u.%u.%u\n", infino_version_number() / 10000,
           infino_version_number() / 100 % 100, infino_version_number() % 100);

    check(infino_connect(&db, argv[2], NULL), "connect");
    check(infino_parquet_read(&rows, argv[1], NULL, 0), "read the corpus");
    if (rows.get_schema(&rows, &schema) != 0) {
        fprintf(stderr, "lifecycle: %s\n", rows.get_last_error(&rows));
        return 1;
    }
    check(infino_index_spec_new(&spec), "index spec");
    check(infino_index_spec_fts(spec, "body"), "index spec: fts(body)");
    check(infino_create_table(&t, db, "docs", &schema, spec), "create_table");
    infino_index_spec_free(spec);
    schema.release(&schema);

    check(infino_table_append(t, &rows, &n), "append"); /* takes rows */
    printf("appended %" PRIu64 " rows\n", n);

    printf("bm25_search(\"body\", \"%s\", 3):\n", query);
    so.projection = shown;
    so.n_projection = sizeof shown / sizeof shown[0];
    check(infino_table_bm25_search(t, "body", query, strlen(query), 3, &so,
                                   &res),
          "bm25_search");
    print_stream(&res);

    printf("SQL: topics by rows:\n");
    check(infino_query_sql(db,
                           "SELECT topic, count(*) AS n FROM docs "
                           "GROUP BY topic ORDER BY n DESC, topic LIMIT 3",
                           &res),
          "query_sql");
    print_stream(&res);

    check(infino_table_delete(t, "topic = 'billing'", &del), "delete");
    check(infino_table_count_rows(t, &live), "count_rows");
    printf("deleted %" PRIu64 " billing rows, %" PRIu64 " left\n",
           del.n_tombstoned, live);

    infino_table_close(t);
    check(infino_drop_table(db, "docs", 1), "drop_table");
    infino_db_close(db);
    printf("dropped docs\n");
    return 0;
}
