/*
 * table_fixture.h - tables for the C tests of the table, query and sql
 * layers, driven through the public API (include/infino.h).
 *
 * The schema is {k: int64 not null, body: utf8, vec: fixed_size_list<
 * float32, 4>} with a full-text index on body and a vector index on vec.
 * Row k has body "row<k> w<k % 7> common" and vec (k, k % 5, 1, -k), so
 * tests can compute every expected answer from the keys alone.
 */
#ifndef INFINO_TEST_TABLE_FIXTURE_H
#define INFINO_TEST_TABLE_FIXTURE_H

#include "harness.h"

#include "format/arrow/arrow.h"
#include "util/alloc.h"

#define TF_DIM 4

static inline struct ar_field tf_leaf(const char *name, enum ar_type t,
                                      bool nullable)
{
    struct ar_field f;

    memset(&f, 0, sizeof f);
    f.name = mem_strdup(name);
    f.type = t;
    f.nullable = nullable;
    return f;
}

/* The fixture's user schema; free with ar_schema_free. */
static inline void tf_schema(struct ar_schema *s)
{
    memset(s, 0, sizeof *s);
    s->n_fields = 3;
    s->fields = mem_calloc(3, sizeof *s->fields);
    s->fields[0] = tf_leaf("k", AR_INT64, false);
    s->fields[1] = tf_leaf("body", AR_UTF8, true);
    s->fields[2] = tf_leaf("vec", AR_FIXED_SIZE_LIST, true);
    s->fields[2].list_size = TF_DIM;
    s->fields[2].n_children = 1;
    s->fields[2].children = mem_calloc(1, sizeof(struct ar_field));
    s->fields[2].children[0] = tf_leaf("item", AR_FLOAT32, true);
}

static inline void tf_vec(float out[TF_DIM], int64_t k)
{
    out[0] = (float)k;
    out[1] = (float)(k % 5);
    out[2] = 1.0f;
    out[3] = (float)-k;
}

static inline int tf_body(char *out, size_t cap, int64_t k)
{
    return snprintf(out, cap, "row%lld w%lld common", (long long)k,
                    (long long)(k % 7));
}

/* A stream of one batch holding the rows `ks[0..n)` (the stream is
 * owned: pass it to an infino_* call that takes it). */
static inline void tf_stream(struct ArrowArrayStream *out, const int64_t *ks,
                             size_t n)
{
    struct ar_schema s;
    struct ar_field root;
    struct ar_builder *b;
    struct ArrowArray batch;

    tf_schema(&s);
    memset(&root, 0, sizeof root);
    root.name = (char *)"";
    root.type = AR_STRUCT;
    root.n_children = s.n_fields;
    root.children = s.fields;
    assert_ok(ar_builder_new(&b, &root));
    for (size_t i = 0; i < n; i++) {
        char body[64];
        float v[TF_DIM];
        int len = tf_body(body, sizeof body, ks[i]);
        struct ar_builder *vb = ar_builder_child(b, 2);
        assert_ok(ar_builder_append_int(ar_builder_child(b, 0), ks[i]));
        assert_ok(ar_builder_append_bytes(ar_builder_child(b, 1), body,
                                          (size_t)len));
        tf_vec(v, ks[i]);
        for (int d = 0; d < TF_DIM; d++)
            assert_ok(ar_builder_append_double(ar_builder_child(vb, 0),
                                               v[d]));
        assert_ok(ar_builder_end_list(vb));
        assert_ok(ar_builder_end_struct(b));
    }
    assert_ok(ar_builder_finish(b, &batch));
    ar_builder_free(b);
    assert_ok(ar_stream_from_batches(out, &s, &batch, 1));
    ar_schema_free(&s);
}

/* Rows first..first+n-1. */
static inline void tf_stream_range(struct ArrowArrayStream *out,
                                   int64_t first, size_t n)
{
    int64_t *ks = mem_alloc(n * sizeof *ks + 1);

    for (size_t i = 0; i < n; i++)
        ks[i] = first + (int64_t)i;
    tf_stream(out, ks, n);
    mem_free(ks);
}

/* The fixture's schema as a C-interface schema (owned: call release)
 * and its index spec (owned: infino_index_spec_free). */
static inline void tf_create_args(struct ArrowSchema *cs,
                                  infino_index_spec **spec)
{
    struct ar_schema s;

    tf_schema(&s);
    assert_ok(ar_schema_export(cs, &s));
    ar_schema_free(&s);
    assert_ok(infino_index_spec_new(spec));
    assert_ok(infino_index_spec_fts(*spec, "body"));
    assert_ok(infino_index_spec_vector(*spec, "vec", TF_DIM, 2, "l2sq"));
}

static inline infino_status tf_create(infino_table **out, infino_db *db,
                                      const char *name)
{
    struct ArrowSchema cs;
    infino_index_spec *spec;
    infino_status st;

    tf_create_args(&cs, &spec);
    st = infino_create_table(out, db, name, &cs, spec);
    infino_index_spec_free(spec);
    cs.release(&cs);
    return st;
}

static inline infino_status tf_append(infino_table *t, int64_t first,
                                      size_t n)
{
    struct ArrowArrayStream s;

    tf_stream_range(&s, first, n);
    return infino_table_append(t, &s, NULL);
}

static int tf_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The k of every live row (optionally where `predicate`), sorted, into
 * *out (owned: mem_free) and *n. */
static inline infino_status tf_keys(infino_table *t, const char *predicate,
                                    int64_t **out, size_t *n)
{
    const char *cols[] = {"k"};
    struct ArrowArrayStream s;
    struct ArrowArray a;
    int64_t *ks = NULL;
    size_t len = 0, cap = 0;
    infino_status st;

    *out = NULL;
    *n = 0;
    st = infino_table_scan(t, cols, 1, predicate, &s);
    if (st != INFINO_OK)
        return st;
    for (;;) {
        if (s.get_next(&s, &a) != 0) {
            st = err_set(INFINO_ERR_IO, "scan: %s", s.get_last_error(&s));
            break;
        }
        if (a.release == NULL)
            break;
        const struct ArrowArray *c = a.children[0];
        const int64_t *v = (const int64_t *)c->buffers[1] + c->offset;
        if (MEM_RESERVE(ks, cap, len + (size_t)c->length + 1))
            fail_msg("out of memory");
        memcpy(ks + len, v, (size_t)c->length * sizeof *v);
        len += (size_t)c->length;
        a.release(&a);
    }
    s.release(&s);
    if (st != INFINO_OK) {
        mem_free(ks);
        return st;
    }
    if (len > 1)
        qsort(ks, len, sizeof *ks, tf_cmp_i64);
    *out = ks;
    *n = len;
    return INFINO_OK;
}

/* Whether the sorted keys equal the sorted `want[0..n_want)`. */
static inline bool tf_keys_equal(const int64_t *got, size_t n,
                                 const int64_t *want, size_t n_want)
{
    return n == n_want &&
           (n == 0 || memcmp(got, want, n * sizeof *got) == 0);
}

#endif
