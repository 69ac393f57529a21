"""The Arrow C Data / Stream interfaces of src/format/arrow/ against pyarrow.

A small shim library is compiled from the C source below and linked with
the module's static libraries (libinfino_arrow.a, libinfino_util.a in
$INFINO_BUILD_DIR); pyarrow exports into it and imports from it through
its _export_to_c / _import_from_c entry points, exactly as the Python
binding will through PyCapsules. pyarrow is the oracle: schemas, batches
and streams we hand back must be equal to what went in, and arrays our
builders make must equal arrays pyarrow builds from the same values.
"""
import ctypes
import datetime
import decimal
import os
import pathlib
import shutil
import subprocess

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

from test_arrow_ipc import CATALOGUE, schemas

ROOT_DIR = pathlib.Path(__file__).resolve().parents[2]

SHIM_C = r"""
#include "format/arrow/arrow.h"
#include "util/alloc.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

const char *shim_last_error(void) { return err_last(); }

/* Consumes `in` (releases it), exports our copy into `out`. */
int shim_schema_round_trip(struct ArrowSchema *in, struct ArrowSchema *out)
{
    struct ar_schema s;
    int st = ar_schema_import(&s, in);
    in->release(in);
    if (st != INFINO_OK)
        return st;
    st = ar_schema_export(out, &s);
    ar_schema_free(&s);
    return st;
}

/* Validates a pyarrow array against its exported type; consumes both. */
int shim_validate(struct ArrowSchema *schema, struct ArrowArray *array)
{
    struct ar_field f;
    int st = ar_field_import(&f, schema);
    if (st == INFINO_OK)
        st = ar_array_validate(&f, array);
    ar_field_free(&f);
    schema->release(schema);
    array->release(array);
    return st;
}

/* Validates a record batch (exported as a struct array); consumes both. */
int shim_validate_batch(struct ArrowSchema *schema, struct ArrowArray *array)
{
    struct ar_schema s;
    int st = ar_schema_import(&s, schema);
    if (st == INFINO_OK)
        st = ar_batch_validate(&s, array);
    ar_schema_free(&s);
    schema->release(schema);
    array->release(array);
    return st;
}

/* Reads a foreign stream to the end, validating every batch, and exports
 * the very same batches through a stream of ours. Consumes `in`. */
int shim_stream_pass(struct ArrowArrayStream *in, struct ArrowArrayStream *out)
{
    struct ar_schema s;
    struct ArrowArray *batches = NULL;
    size_t n = 0;
    bool eof = false;
    int st = ar_stream_import_schema(&s, in);

    while (st == INFINO_OK) {
        struct ArrowArray b;
        st = ar_stream_next(in, &s, &b, &eof);
        if (st != INFINO_OK || eof)
            break;
        batches = realloc(batches, (n + 1) * sizeof *batches);
        batches[n++] = b;
    }
    in->release(in); /* batches outlive their stream */
    if (st == INFINO_OK)
        st = ar_stream_from_batches(out, &s, batches, n);
    else
        for (size_t i = 0; i < n; i++)
            ar_array_release(&batches[i]);
    free(batches);
    ar_schema_free(&s);
    return st;
}

static struct ar_field leaf(const char *name, enum ar_type t, bool nullable)
{
    struct ar_field f;
    memset(&f, 0, sizeof f);
    f.name = mem_strdup(name);
    f.type = t;
    f.nullable = nullable;
    return f;
}

static struct ar_field with_child(struct ar_field f, struct ar_field c)
{
    f.n_children = 1;
    f.children = mem_calloc(1, sizeof c);
    f.children[0] = c;
    return f;
}

#define OK(x) do { st = (x); if (st != INFINO_OK) goto done; } while (0)

/* Builds the batch that test_arrow_cdata_builder_batch expects. */
int shim_build(struct ArrowSchema *schema_out, struct ArrowArray *array_out)
{
    struct ar_schema s;
    struct ar_field root;
    struct ar_builder *b = NULL;
    int st;
    static const char *names[] = {"alpha", NULL, "gamma", "\xc3\xa9t\xc3\xa9"};

    memset(&s, 0, sizeof s);
    s.n_fields = 8;
    s.fields = mem_calloc(8, sizeof *s.fields);
    s.fields[0] = leaf("id", AR_INT64, false);
    s.fields[1] = leaf("name", AR_UTF8, true);
    s.fields[2] = with_child(leaf("tags", AR_LIST, true),
                             leaf("item", AR_LARGE_UTF8, true));
    s.fields[3] = with_child(leaf("emb", AR_FIXED_SIZE_LIST, true),
                             leaf("item", AR_FLOAT32, false));
    s.fields[3].list_size = 3;
    s.fields[4] = leaf("price", AR_DECIMAL128, true);
    s.fields[4].precision = 10;
    s.fields[4].scale = 2;
    s.fields[5] = leaf("at", AR_TIMESTAMP, true);
    s.fields[5].unit = AR_MILLI;
    s.fields[5].tz = mem_strdup("UTC");
    s.fields[6] = leaf("ok", AR_BOOL, true);
    s.fields[7] = leaf("day", AR_DATE32, false);
    OK(ar_schema_set_meta(&s, "built", "by infino", 9));

    memset(&root, 0, sizeof root);
    root.name = (char *)"";
    root.type = AR_STRUCT;
    root.n_children = s.n_fields;
    root.children = s.fields;
    OK(ar_builder_new(&b, &root));
    for (int r = 0; r < 4; r++) {
        struct ar_builder *c;
        uint8_t dec[16];
        int64_t cents = r == 3 ? -12345 : 100 * r + 1;

        OK(ar_builder_append_int(ar_builder_child(b, 0), 10 + r));
        c = ar_builder_child(b, 1);
        OK(names[r] ? ar_builder_append_bytes(c, names[r], strlen(names[r]))
                    : ar_builder_append_null(c));
        c = ar_builder_child(b, 2);
        if (r == 2) {
            OK(ar_builder_append_null(c));
        } else {
            for (int k = 0; k < r; k++)
                OK(ar_builder_append_bytes(ar_builder_child(c, 0), "t", 1));
            OK(ar_builder_end_list(c));
        }
        c = ar_builder_child(b, 3);
        if (r == 1) {
            OK(ar_builder_append_null(c));
        } else {
            for (int k = 0; k < 3; k++)
                OK(ar_builder_append_double(ar_builder_child(c, 0), r + k / 4.0));
            OK(ar_builder_end_list(c));
        }
        memcpy(dec, &cents, 8);
        memset(dec + 8, cents < 0 ? 0xff : 0, 8);
        OK(ar_builder_append_decimal(ar_builder_child(b, 4), dec));
        c = ar_builder_child(b, 5);
        OK(r == 0 ? ar_builder_append_null(c)
                  : ar_builder_append_int(c, 1700000000000LL + r));
        OK(ar_builder_append_bool(ar_builder_child(b, 6), r % 2));
        OK(ar_builder_append_int(ar_builder_child(b, 7), 19000 + r));
        OK(ar_builder_end_struct(b));
    }
    OK(ar_builder_finish(b, array_out));
    OK(ar_schema_export(schema_out, &s));
done:
    if (st != INFINO_OK)
        ar_array_release(array_out);
    ar_builder_free(b);
    ar_schema_free(&s);
    return st;
}
"""

SCHEMA_SIZE, ARRAY_SIZE, STREAM_SIZE = 72, 80, 40  # bytes, on 64-bit


@pytest.fixture(scope="session")
def shim(build, tmp_path_factory):
    cc = shutil.which(os.environ.get("CC", "cc"))
    if cc is None:
        pytest.fail("no C compiler to build the shim")
    libs = [build / "libinfino_arrow.a", build / "libinfino_util.a"]
    for lib in libs:
        if not lib.exists():
            pytest.fail(f"{lib} was not built (ninja infino_arrow)")
    d = tmp_path_factory.mktemp("shim")
    (d / "shim.c").write_text(SHIM_C)
    so = d / "shim.so"
    # $CFLAGS lets a sanitizer build of the libraries be tested too
    subprocess.run([cc, "-shared", "-fPIC", "-O1", "-g", "-std=c11",
                    *os.environ.get("CFLAGS", "").split(),
                    "-D_POSIX_C_SOURCE=200809L",
                    "-I", str(ROOT_DIR / "include"), "-I", str(ROOT_DIR / "src"),
                    "-o", str(so), str(d / "shim.c"), *map(str, libs), "-lm"],
                   check=True)
    lib = ctypes.CDLL(str(so))
    lib.shim_last_error.restype = ctypes.c_char_p
    return lib


def alloc(n):
    return ctypes.create_string_buffer(n)  # zeroed: a released structure


def addr(buf):
    return ctypes.addressof(buf)


def call(shim, fn, *bufs):
    # pointers must go as c_void_p: ctypes would pass a plain int as C int
    st = getattr(shim, fn)(*[ctypes.c_void_p(addr(b)) for b in bufs])
    return st, shim.shim_last_error().decode("utf-8", "replace")


# ---- schemas -------------------------------------------------------------

def schema_round_trip(shim, schema):
    src, dst = alloc(SCHEMA_SIZE), alloc(SCHEMA_SIZE)
    schema._export_to_c(addr(src))
    st, msg = call(shim, "shim_schema_round_trip", src, dst)
    assert st == 0, msg
    return pa.Schema._import_from_c(addr(dst))


@pytest.mark.parametrize("schema", CATALOGUE, ids=lambda s: f"{len(s)}fields")
def test_arrow_cdata_schema_catalogue(shim, schema):
    back = schema_round_trip(shim, schema)
    assert back.equals(schema, check_metadata=True)
    for a, b in zip(back, schema):
        assert a.equals(b, check_metadata=True)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schema=schemas)
def test_arrow_cdata_schema_random(shim, schema):
    back = schema_round_trip(shim, schema)
    assert back.equals(schema, check_metadata=True)


def test_arrow_cdata_schema_unsupported(shim):
    src, dst = alloc(SCHEMA_SIZE), alloc(SCHEMA_SIZE)
    pa.schema([pa.field("m", pa.map_(pa.string(), pa.float16()))])._export_to_c(addr(src))
    st, msg = call(shim, "shim_schema_round_trip", src, dst)
    assert st == -7, msg  # INFINO_ERR_UNSUPPORTED
    assert "field 'm'" in msg and "'+m'" in msg


# ---- arrays --------------------------------------------------------------

ARRAYS = [
    pa.array([1, None, 3], pa.int32()),
    pa.array([True, None, False, True] * 5, pa.bool_()),
    pa.array(range(100), pa.uint64()).slice(37, 20),
    pa.array([1.5, None], pa.float32()),
    pa.array(["a", None, "ccc", ""], pa.string()),
    pa.array(["a", None, "ccc", ""] * 3, pa.large_string()).slice(2, 7),
    pa.array([b"\x00\xff", None], pa.binary()),
    pa.array([b"x"] * 9, pa.large_binary()).slice(8),
    pa.array([], pa.string()),
    pa.array(["", ""], pa.string()),
    pa.array([0, 19000, None], pa.date32()),
    pa.array([0, None, 2], pa.timestamp("ns", tz="UTC")),
    pa.array([decimal.Decimal("1.25"), None], pa.decimal128(5, 2)),
    pa.array([[1, 2], None, [], [3]], pa.list_(pa.int64())),
    pa.array([[1, 2], None, [], [3]] * 4, pa.large_list(pa.int8())).slice(3, 9),
    pa.array([[1, 2, 3], None, [4, 5, 6]], pa.list_(pa.float32(), 3)),
    pa.array([[1, 2, 3], None, [4, 5, 6]],
             pa.list_(pa.field("item", pa.float32(), nullable=False), 3)).slice(1),
    pa.array([{"a": 1, "b": "x"}, None, {"a": None, "b": "z"}],
             pa.struct([("a", pa.int32()), ("b", pa.string())])),
    pa.array([{"a": 1}, None], pa.struct([pa.field("a", pa.int32(), nullable=False)])),
    pa.array([[{"t": ["x", None]}], None, [{"t": None}, None]],
             pa.list_(pa.struct([("t", pa.large_list(pa.string()))]))),
]


@pytest.mark.parametrize("arr", ARRAYS, ids=lambda a: str(a.type))
def test_arrow_cdata_validates_pyarrow_arrays(shim, arr):
    sch, ar = alloc(SCHEMA_SIZE), alloc(ARRAY_SIZE)
    arr._export_to_c(addr(ar), addr(sch))
    st, msg = call(shim, "shim_validate", sch, ar)
    assert st == 0, msg


def test_arrow_cdata_rejects_nulls_in_non_nullable_column(shim):
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False)])
    batch = pa.RecordBatch.from_arrays([pa.array([1, None, 3])], schema=schema)
    sch, ar = alloc(SCHEMA_SIZE), alloc(ARRAY_SIZE)
    batch._export_to_c(addr(ar), addr(sch))
    st, msg = call(shim, "shim_validate_batch", sch, ar)
    assert st == -4, msg  # INFINO_ERR_INVALID
    assert msg == "column 'id': non-nullable, but row 1 is null"


# ---- streams -------------------------------------------------------------

def test_arrow_cdata_stream_pass_through(shim):
    table = pa.table({
        "id": pa.array(range(1000), pa.int64()),
        "text": pa.array([None if i % 7 == 0 else f"row {i}" for i in range(1000)]),
        "emb": pa.array([[float(i), 0.5, -1.0] for i in range(1000)],
                        pa.list_(pa.float32(), 3)),
        "tags": pa.array([[str(i)] * (i % 3) for i in range(1000)], pa.large_list(pa.string())),
        "s": pa.array([{"x": i, "y": None} for i in range(1000)],
                      pa.struct([("x", pa.int16()), ("y", pa.bool_())])),
    }).replace_schema_metadata({"origin": "pytest"})
    batches = table.to_batches(max_chunksize=128)
    batches.append(table.slice(10, 5).to_batches()[0])  # an offset batch
    reader = pa.RecordBatchReader.from_batches(table.schema, batches)
    src, dst = alloc(STREAM_SIZE), alloc(STREAM_SIZE)
    reader._export_to_c(addr(src))
    st, msg = call(shim, "shim_stream_pass", src, dst)
    assert st == 0, msg
    back = pa.RecordBatchReader._import_from_c(addr(dst))
    assert back.schema.equals(table.schema, check_metadata=True)
    got = back.read_all()
    assert got.equals(pa.Table.from_batches(batches))
    assert got.num_rows == 1005


def test_arrow_cdata_stream_error_reaches_us(shim):
    schema = pa.schema([("x", pa.int32())])

    def gen():
        yield pa.record_batch([pa.array([1, 2])], schema=schema)
        raise ValueError("producer exploded")

    reader = pa.RecordBatchReader.from_batches(schema, gen())
    src, dst = alloc(STREAM_SIZE), alloc(STREAM_SIZE)
    reader._export_to_c(addr(src))
    st, msg = call(shim, "shim_stream_pass", src, dst)
    assert st == -2, msg  # INFINO_ERR_IO
    assert "producer exploded" in msg


# ---- builders ------------------------------------------------------------

def test_arrow_cdata_builder_batch(shim):
    sch, ar = alloc(SCHEMA_SIZE), alloc(ARRAY_SIZE)
    st, msg = call(shim, "shim_build", sch, ar)
    assert st == 0, msg
    got = pa.RecordBatch._import_from_c(addr(ar), addr(sch))
    utc = datetime.timezone.utc
    want_schema = pa.schema([
        pa.field("id", pa.int64(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("tags", pa.list_(pa.field("item", pa.large_string()))),
        pa.field("emb", pa.list_(pa.field("item", pa.float32(), nullable=False), 3)),
        pa.field("price", pa.decimal128(10, 2)),
        pa.field("at", pa.timestamp("ms", tz="UTC")),
        pa.field("ok", pa.bool_()),
        pa.field("day", pa.date32(), nullable=False),
    ], metadata={"built": "by infino"})
    want = pa.record_batch([
        pa.array([10, 11, 12, 13], pa.int64()),
        pa.array(["alpha", None, "gamma", "été"]),
        pa.array([[], ["t"], None, ["t", "t", "t"]], want_schema.field("tags").type),
        pa.array([[0, 0.25, 0.5], None, [2, 2.25, 2.5], [3, 3.25, 3.5]],
                 want_schema.field("emb").type),
        pa.array([decimal.Decimal("0.01"), decimal.Decimal("1.01"),
                  decimal.Decimal("2.01"), decimal.Decimal("-123.45")], pa.decimal128(10, 2)),
        pa.array([None] + [datetime.datetime.fromtimestamp(1700000000 + r / 1000, utc)
                           for r in (1, 2, 3)], pa.timestamp("ms", tz="UTC")),
        pa.array([False, True, False, True]),
        pa.array([datetime.date(1970, 1, 1) + datetime.timedelta(days=19000 + r)
                  for r in range(4)], pa.date32()),
    ], schema=want_schema)
    assert got.schema.equals(want_schema, check_metadata=True)
    assert got.equals(want), f"{got.to_pydict()}\n!=\n{want.to_pydict()}"
    got.validate(full=True)
