/*
 * arrow_stream_test.c - ArrowArrayStream export over batches and over a
 * source, import with validation, error propagation both ways, and the
 * ownership rules (close runs once; unread batches are released).
 */
#include "harness.h"

#include "format/arrow/arrow.h"
#include "util/alloc.h"

#include <errno.h>

static struct ar_field leaf(const char *name, enum ar_type t, bool nullable)
{
    struct ar_field f;

    memset(&f, 0, sizeof f);
    f.name = mem_strdup(name);
    f.type = t;
    f.nullable = nullable;
    return f;
}

/* schema {id: int64 not null, name: utf8} */
static void make_schema(struct ar_schema *s)
{
    memset(s, 0, sizeof *s);
    s->n_fields = 2;
    s->fields = mem_calloc(2, sizeof *s->fields);
    s->fields[0] = leaf("id", AR_INT64, false);
    s->fields[1] = leaf("name", AR_UTF8, true);
    assert_ok(ar_schema_set_meta(s, "origin", "test", 4));
}

/* A batch of `n` rows with ids first..first+n-1 and every third name null. */
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
        char name[32];
        int len = snprintf(name, sizeof name, "row-%lld",
                           (long long)(first + i));
        assert_ok(ar_builder_append_int(ar_builder_child(b, 0), first + i));
        if (i % 3 == 2)
            assert_ok(ar_builder_append_null(ar_builder_child(b, 1)));
        else
            assert_ok(ar_builder_append_bytes(ar_builder_child(b, 1), name,
                                              (size_t)len));
        assert_ok(ar_builder_end_struct(b));
    }
    /* errors name columns without a prefix for the unnamed root */
    assert_int_equal(ar_builder_append_null(ar_builder_child(b, 0)),
                     INFINO_ERR_INVALID);
    assert_string_equal(err_last(), "field 'id': null in a non-nullable field");
    assert_ok(ar_builder_finish(b, out));
    ar_builder_free(b);
}

static void check_batch(const struct ArrowArray *a, int64_t first, int n)
{
    const struct ArrowArray *ids = a->children[0], *names = a->children[1];

    assert_int_equal(a->length, n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(((const int64_t *)ids->buffers[1])[i], first + i);
        assert_int_equal(ar_array_is_valid(names, i), i % 3 != 2);
    }
}

static void test_arrow_stream__batches_round_trip(void **state)
{
    struct ar_schema s, got;
    struct ArrowArray batches[3], out;
    struct ArrowArrayStream stream, moved;
    bool eof;
    (void)state;

    make_schema(&s);
    make_batch(&s, &batches[0], 0, 5);
    make_batch(&s, &batches[1], 5, 0); /* empty batches are batches too */
    make_batch(&s, &batches[2], 5, 7);
    assert_ok(ar_stream_from_batches(&stream, &s, batches, 3));
    for (int i = 0; i < 3; i++)
        assert_null(batches[i].release); /* taken */
    moved = stream; /* streams move like arrays */
    stream.release = NULL;

    assert_ok(ar_stream_import_schema(&got, &moved));
    assert_true(ar_schema_equal(&s, &got));
    assert_non_null(ar_schema_get_meta(&got, "origin"));
    ar_schema_free(&got);
    assert_ok(ar_stream_import_schema(&got, &moved)); /* again: a copy */
    ar_schema_free(&got);

    assert_ok(ar_stream_next(&moved, &s, &out, &eof));
    assert_false(eof);
    check_batch(&out, 0, 5);
    ar_array_release(&out);
    assert_ok(ar_stream_next(&moved, &s, &out, &eof));
    assert_false(eof);
    assert_int_equal(out.length, 0);
    ar_array_release(&out);
    assert_ok(ar_stream_next(&moved, &s, &out, &eof));
    check_batch(&out, 5, 7);
    ar_array_release(&out);
    assert_ok(ar_stream_next(&moved, &s, &out, &eof));
    assert_true(eof);
    assert_null(out.release);
    assert_ok(ar_stream_next(&moved, &s, &out, &eof)); /* stays at the end */
    assert_true(eof);
    assert_null(moved.get_last_error(&moved));
    moved.release(&moved);
    assert_null(moved.release);
    ar_schema_free(&s);
}

static void test_arrow_stream__unread_batches_are_released(void **state)
{
    struct ar_schema s;
    struct ArrowArray batches[2], out;
    struct ArrowArrayStream stream;
    bool eof;
    (void)state;

    make_schema(&s);
    make_batch(&s, &batches[0], 0, 10);
    make_batch(&s, &batches[1], 10, 10);
    assert_ok(ar_stream_from_batches(&stream, &s, batches, 2));
    assert_ok(ar_stream_next(&stream, &s, &out, &eof));
    stream.release(&stream); /* batch 1 never read: freed here (ASan) */
    check_batch(&out, 0, 10); /* a batch outlives its stream */
    ar_array_release(&out);
    ar_schema_free(&s);
}

/* A source that yields `n_ok` batches then fails. */
struct failing {
    const struct ar_schema *s;
    int n_ok;
    int n_calls;
    int n_closed;
};

static infino_status failing_next(void *payload, struct ArrowArray *out)
{
    struct failing *f = payload;

    f->n_calls++;
    if (f->n_calls > f->n_ok)
        return err_set(INFINO_ERR_IO, "disk on fire at call %d", f->n_calls);
    make_batch(f->s, out, 100 * f->n_calls, 3);
    return INFINO_OK;
}

static void failing_close(void *payload)
{
    ((struct failing *)payload)->n_closed++;
}

static void test_arrow_stream__errors_reach_the_consumer(void **state)
{
    struct ar_schema s;
    struct failing src_state = {0};
    struct ar_stream_source src = {&src_state, failing_next, failing_close};
    struct ArrowArrayStream stream;
    struct ArrowArray out;
    bool eof;
    int rc;
    (void)state;

    make_schema(&s);
    src_state.s = &s;
    src_state.n_ok = 1;
    assert_ok(ar_stream_export(&stream, &s, src));
    /* the raw C interface first */
    assert_int_equal(stream.get_next(&stream, &out), 0);
    check_batch(&out, 100, 3);
    out.release(&out);
    rc = stream.get_next(&stream, &out);
    assert_int_equal(rc, EIO);
    assert_null(out.release);
    assert_non_null(stream.get_last_error(&stream));
    assert_non_null(strstr(stream.get_last_error(&stream),
                           "disk on fire at call 2"));
    /* sticky: the source is not called again */
    assert_int_equal(stream.get_next(&stream, &out), EIO);
    assert_int_equal(src_state.n_calls, 2);
    /* and through our consumer side */
    assert_int_equal(ar_stream_next(&stream, &s, &out, &eof), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "get_next failed"));
    assert_non_null(strstr(err_last(), "disk on fire at call 2"));
    assert_null(out.release);
    assert_int_equal(src_state.n_closed, 0);
    stream.release(&stream);
    assert_int_equal(src_state.n_closed, 1);
    ar_schema_free(&s);
}

static void test_arrow_stream__export_failure_closes_source(void **state)
{
    struct ar_schema s;
    struct failing src_state = {0};
    struct ar_stream_source src = {&src_state, failing_next, failing_close};
    struct ArrowArrayStream stream;
    struct ArrowArray batches[1];
    long n;
    infino_status st;
    (void)state;

    make_schema(&s);
    src_state.s = &s;
    for (n = 1;; n++) {
        mem_fail_after(n);
        st = ar_stream_export(&stream, &s, src);
        mem_fail_reset();
        if (st == INFINO_OK)
            break;
        assert_int_equal(st, INFINO_ERR_NOMEM);
        assert_null(stream.release);
        assert_int_equal(src_state.n_closed, (int)n); /* taken: closed */
    }
    stream.release(&stream);
    assert_int_equal(src_state.n_closed, (int)n);

    src.next = NULL;
    assert_int_equal(ar_stream_export(&stream, &s, src), INFINO_ERR_INVALID);
    assert_int_equal(src_state.n_closed, (int)n + 1);

    for (n = 1;; n++) {
        make_batch(&s, &batches[0], 0, 4);
        mem_fail_after(n);
        st = ar_stream_from_batches(&stream, &s, batches, 1);
        mem_fail_reset();
        assert_null(batches[0].release); /* taken either way (ASan: freed) */
        if (st == INFINO_OK)
            break;
        assert_int_equal(st, INFINO_ERR_NOMEM);
    }
    /* get_schema under allocation failure reports ENOMEM with a message */
    for (n = 1;; n++) {
        struct ArrowSchema raw;
        int rc;
        mem_fail_after(n);
        rc = stream.get_schema(&stream, &raw);
        mem_fail_reset();
        if (rc == 0) {
            raw.release(&raw);
            break;
        }
        assert_int_equal(rc, ENOMEM);
        assert_non_null(strstr(stream.get_last_error(&stream), "memory"));
    }
    stream.release(&stream);
    ar_schema_free(&s);
}

/* A foreign stream that misbehaves in configurable ways. */
struct foreign {
    int schema_rc;
    bool bad_batch;
    const struct ar_schema *s;
};

static int foreign_get_schema(struct ArrowArrayStream *st,
                              struct ArrowSchema *out)
{
    struct foreign *f = st->private_data;
    if (f->schema_rc != 0)
        return f->schema_rc;
    return ar_schema_export(out, f->s) == INFINO_OK ? 0 : ENOMEM;
}

static int foreign_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
    struct foreign *f = st->private_data;
    make_batch(f->s, out, 0, 3);
    if (f->bad_batch)
        out->children[0]->null_count = 1; /* id is non-nullable, no bitmap */
    return 0;
}

static const char *foreign_last_error(struct ArrowArrayStream *st)
{
    (void)st;
    return NULL; /* allowed: no message */
}

static void foreign_release(struct ArrowArrayStream *st)
{
    st->release = NULL;
}

static void test_arrow_stream__import_checks(void **state)
{
    struct ar_schema s, got;
    struct foreign f = {EINVAL, false, NULL};
    struct ArrowArrayStream st = {foreign_get_schema, foreign_get_next,
                                  foreign_last_error, foreign_release, &f};
    struct ArrowArray out;
    bool eof;
    (void)state;

    make_schema(&s);
    f.s = &s;
    assert_int_equal(ar_stream_import_schema(&got, &st), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "get_schema failed"));
    assert_non_null(strstr(err_last(), "no message"));
    f.schema_rc = 0;
    assert_ok(ar_stream_import_schema(&got, &st));
    assert_true(ar_schema_equal(&s, &got));
    ar_schema_free(&got);

    assert_ok(ar_stream_next(&st, &s, &out, &eof));
    ar_array_release(&out);
    f.bad_batch = true;
    assert_int_equal(ar_stream_next(&st, &s, &out, &eof), INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "column 'id'"));
    assert_null(out.release); /* released for us (ASan: no leak) */

    st.release(&st);
    assert_int_equal(ar_stream_next(&st, &s, &out, &eof), INFINO_ERR_INVALID);
    assert_int_equal(ar_stream_import_schema(&got, &st), INFINO_ERR_INVALID);
    ar_schema_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arrow_stream__batches_round_trip),
        cmocka_unit_test(test_arrow_stream__unread_batches_are_released),
        cmocka_unit_test(test_arrow_stream__errors_reach_the_consumer),
        cmocka_unit_test(test_arrow_stream__export_failure_closes_source),
        cmocka_unit_test(test_arrow_stream__import_checks),
    };
    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
