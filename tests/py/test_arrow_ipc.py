"""The Arrow IPC schema codec (src/format/arrow/arrow_ipc.c) against pyarrow.

pyarrow serializes a schema; tests/tools/arrow_ipc_tool decodes it, prints
each field's type and nullability, and re-encodes it; pyarrow must read the
re-encoding back equal, metadata included. Run with
INFINO_BUILD_DIR=<build dir> so the `tool` fixture finds the program.
"""
import base64
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CORRUPT = 13  # tool exit status: 10 - INFINO_ERR_CORRUPT
UNSUPPORTED = 17  # 10 - INFINO_ERR_UNSUPPORTED

UNITS = {"s": "s", "ms": "ms", "us": "us", "ns": "ns"}


def describe(t: pa.DataType) -> str:
    """Our ar_type_describe() spelling of a pyarrow type."""
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return ("int" if pa.types.is_signed_integer(t) else "uint") + str(t.bit_width)
    if pa.types.is_float32(t):
        return "float32"
    if pa.types.is_float64(t):
        return "float64"
    if pa.types.is_large_string(t):
        return "large_utf8"
    if pa.types.is_string(t):
        return "utf8"
    if pa.types.is_large_binary(t):
        return "large_binary"
    if pa.types.is_binary(t):
        return "binary"
    if pa.types.is_date32(t):
        return "date32"
    if pa.types.is_timestamp(t):
        if t.tz:
            return f"timestamp[{t.unit}, tz={t.tz}]"
        return f"timestamp[{t.unit}]"
    if pa.types.is_decimal128(t):
        return f"decimal128({t.precision}, {t.scale})"
    if pa.types.is_fixed_size_list(t):
        return f"fixed_size_list<{describe(t.value_type)}, {t.list_size}>"
    if pa.types.is_large_list(t):
        return f"large_list<{describe(t.value_type)}>"
    if pa.types.is_list(t):
        return f"list<{describe(t.value_type)}>"
    if pa.types.is_struct(t):
        inner = ", ".join(f"{f.name}: {describe(f.type)}" for f in t)
        return f"struct<{inner}>"
    raise AssertionError(f"no description for {t}")


def children(t: pa.DataType):
    if pa.types.is_struct(t):
        return [t.field(i) for i in range(t.num_fields)]
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return [t.value_field]
    return []


def nullability(f: pa.Field) -> str:
    return ("1" if f.nullable else "0") + "".join(nullability(c) for c in children(f.type))


def esc(s: str) -> str:
    """The tool's escaping of names in its output."""
    return (s.replace("\\", "\\\\").replace("\t", "\\t")
            .replace("\n", "\\n").replace("\r", "\\r"))


def run_tool(tool, tmp_path, data: bytes):
    src, dst = tmp_path / "in.bin", tmp_path / "out.bin"
    src.write_bytes(data)
    dst.unlink(missing_ok=True)
    p = subprocess.run([tool("arrow_ipc_tool"), str(src), str(dst)],
                       capture_output=True, text=True, timeout=60)
    out = dst.read_bytes() if p.returncode == 0 else None
    return p, out


def check_round_trip(tool, tmp_path, schema: pa.Schema):
    p, out = run_tool(tool, tmp_path, schema.serialize().to_pybytes())
    assert p.returncode == 0, p.stderr
    # what we decoded, field by field
    lines = p.stdout.split("\n")[:-1]  # names are escaped: one line each
    assert len(lines) == len(schema)
    for line, f in zip(lines, schema):
        name, typ, nulls = line.split("\t")
        assert name == esc(f.name)
        assert typ == esc(describe(f.type))
        assert nulls == nullability(f)
    # what we wrote, as pyarrow reads it
    back = pa.ipc.read_schema(pa.py_buffer(out))
    assert back.equals(schema, check_metadata=True), f"{back}\n!=\n{schema}"
    for a, b in zip(back, schema):  # field metadata, recursively
        assert a.equals(b, check_metadata=True)
    assert len(out) % 8 == 0 and out[:4] == b"\xff\xff\xff\xff"


# The same schema as the golden bytes in tests/unit/arrow_ipc_test.c.
GOLDEN_SCHEMA = pa.schema([
    pa.field("i8", pa.int8()),
    pa.field("u16", pa.uint16(), nullable=False),
    pa.field("i64", pa.int64()),
    pa.field("f32", pa.float32()),
    pa.field("f64", pa.float64()),
    pa.field("ok", pa.bool_()),
    pa.field("s", pa.string()),
    pa.field("ls", pa.large_string()),
    pa.field("bin", pa.binary()),
    pa.field("lbin", pa.large_binary()),
    pa.field("day", pa.date32()),
    pa.field("ts", pa.timestamp("ms")),
    pa.field("tz", pa.timestamp("ns", tz="Asia/Tokyo")),
    pa.field("dec", pa.decimal128(38, 10)),
    pa.field("l", pa.list_(pa.int32())),
    pa.field("ll", pa.large_list(pa.string())),
    pa.field("emb", pa.list_(pa.field("item", pa.float32(), nullable=False), 4),
             metadata={"dim": "4"}),
    pa.field("st", pa.struct([pa.field("a", pa.int32(), nullable=False),
                              pa.field("b", pa.list_(pa.string()))])),
], metadata={"origin": "pyarrow", "empty": ""})

CATALOGUE = [
    GOLDEN_SCHEMA,
    pa.schema([]),
    pa.schema([], metadata={"only": "metadata"}),
    pa.schema([pa.field(f"c{i}", t, nullable=bool(i % 2)) for i, t in enumerate([
        pa.bool_(), pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(),
        pa.uint16(), pa.uint32(), pa.uint64(), pa.float32(), pa.float64(),
        pa.string(), pa.large_string(), pa.binary(), pa.large_binary(),
        pa.date32()])]),
    pa.schema([pa.field(f"t{u}{i}", pa.timestamp(u, tz=tz))
               for u in ("s", "ms", "us", "ns")
               for i, tz in enumerate([None, "UTC", "America/New_York", "+07:30", "-03:00"])]),
    pa.schema([pa.field(f"d{p}_{s}", pa.decimal128(p, s))
               for p, s in [(1, 0), (5, 2), (9, 9), (18, 4), (19, 0), (38, 10), (38, 38)]]),
    pa.schema([
        pa.field("embedding", pa.list_(pa.field("item", pa.float32(), nullable=False), 384)),
        pa.field("emb0", pa.list_(pa.float64(), 0)),
        pa.field("deep", pa.list_(pa.large_list(pa.list_(pa.list_(pa.int8(), 2))))),
        pa.field("st", pa.struct([
            pa.field("a", pa.struct([pa.field("b", pa.struct([]))])),
            pa.field("tags", pa.large_list(pa.field("tag", pa.string(), nullable=False))),
        ]), nullable=False),
    ]),
    pa.schema([
        pa.field("", pa.int32()),  # unnamed
        pa.field("naïve ünïcode ✓", pa.string(), metadata={"ключ": "значение"}),
        pa.field("dup", pa.int8()),
        pa.field("dup", pa.int8()),
        pa.field("m", pa.int64(), metadata={"PARQUET:field_id": "1", "k\x01": b"v\x00\xff"}),
    ], metadata={"pandas": '{"index_columns": [], "columns": []}', "b": b"\x00\x01\x02"}),
]


@pytest.mark.parametrize("schema", CATALOGUE, ids=lambda s: f"{len(s)}fields")
def test_arrow_ipc_catalogue(tool, tmp_path, schema):
    check_round_trip(tool, tmp_path, schema)


# ---- hypothesis: random schemas ------------------------------------------

names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=8)
metadata = st.one_of(st.none(), st.dictionaries(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            max_size=6),
    st.binary(max_size=12), max_size=3))

leaf_types = st.one_of(
    st.sampled_from([pa.bool_(), pa.int8(), pa.int16(), pa.int32(), pa.int64(),
                     pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64(),
                     pa.float32(), pa.float64(), pa.string(), pa.large_string(),
                     pa.binary(), pa.large_binary(), pa.date32()]),
    st.builds(pa.timestamp, st.sampled_from(["s", "ms", "us", "ns"]),
              st.sampled_from([None, "UTC", "Europe/Paris", "+01:00"])),
    st.integers(1, 38).flatmap(
        lambda p: st.integers(-4, p).map(lambda s: pa.decimal128(p, s))),
)


def fields_of(types):
    return st.builds(lambda n, t, nullable, md: pa.field(n, t, nullable=nullable, metadata=md),
                     names, types, st.booleans(), metadata)


def nested(children):
    child = fields_of(children)
    return st.one_of(
        child.map(pa.list_),
        child.map(pa.large_list),
        st.tuples(child, st.integers(0, 64)).map(lambda a: pa.list_(a[0], a[1])),
        st.lists(child, max_size=4).map(pa.struct),
    )


types = st.recursive(leaf_types, nested, max_leaves=12)
schemas = st.builds(lambda fs, md: pa.schema(fs, metadata=md),
                    st.lists(fields_of(types), max_size=6), metadata)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schema=schemas)
def test_arrow_ipc_random_schemas(tool, tmp_path, schema):
    check_round_trip(tool, tmp_path, schema)


# ---- what we refuse ------------------------------------------------------

@pytest.mark.parametrize("typ, what", [
    (pa.float16(), "float16"),
    (pa.date64(), "date64"),
    (pa.time32("s"), "Time"),
    (pa.duration("ms"), "Duration"),
    (pa.null(), "Null"),
    (pa.binary(16), "FixedSizeBinary"),
    (pa.decimal256(40, 2), "decimal256"),
    (pa.map_(pa.string(), pa.int32()), "Map"),
    (pa.dictionary(pa.int32(), pa.string()), "dictionary"),
    (pa.dense_union([pa.field("a", pa.int32())]), "Union"),
    (pa.string_view(), "Utf8View"),
    (pa.month_day_nano_interval(), "Interval"),
])
def test_arrow_ipc_unsupported_types(tool, tmp_path, typ, what):
    schema = pa.schema([pa.field("ok", pa.int32()),
                        pa.field("outer", pa.list_(pa.field("inner", typ)))])
    p, _ = run_tool(tool, tmp_path, schema.serialize().to_pybytes())
    assert p.returncode == UNSUPPORTED, p.stderr
    assert "field 'outer.inner'" in p.stderr and what in p.stderr


def test_arrow_ipc_depth_cap(tool, tmp_path):
    t = pa.int32()
    for _ in range(64):
        t = pa.list_(t)
    p, _ = run_tool(tool, tmp_path, pa.schema([("x", t)]).serialize().to_pybytes())
    assert p.returncode == 0, p.stderr
    p, _ = run_tool(tool, tmp_path,
                    pa.schema([("x", pa.list_(t))]).serialize().to_pybytes())
    assert p.returncode == UNSUPPORTED and "nested deeper than 64" in p.stderr


def test_arrow_ipc_damaged(tool, tmp_path):
    data = GOLDEN_SCHEMA.serialize().to_pybytes()
    for n in (0, 3, 7, 8, 100, len(data) - 1):
        p, _ = run_tool(tool, tmp_path, data[:n])
        assert p.returncode == CORRUPT, (n, p.stderr)
    p, _ = run_tool(tool, tmp_path, b"\xff\xff\xff\xff\x00\x00\x00\x00")
    assert p.returncode == CORRUPT and "end-of-stream" in p.stderr


def test_arrow_ipc_legacy_framing(tool, tmp_path):
    """Before Arrow 0.15 the message had no 0xFFFFFFFF continuation."""
    data = GOLDEN_SCHEMA.serialize().to_pybytes()
    p, out = run_tool(tool, tmp_path, data[4:])
    assert p.returncode == 0, p.stderr
    assert pa.ipc.read_schema(pa.py_buffer(out)).equals(GOLDEN_SCHEMA, check_metadata=True)


def test_arrow_ipc_parquet_footer_key(tool, tmp_path):
    """What the Parquet engineers decode: ARROW:schema in a pyarrow file."""
    table = pa.table({
        "id": pa.array([1, 2, 3], pa.int64()),
        "text": pa.array(["a", None, "c"], pa.large_string()),
        "emb": pa.array([[1, 2], [3, 4], None], pa.list_(pa.float32(), 2)),
        "at": pa.array([0, 1, 2], pa.timestamp("us", tz="UTC")),
    }).replace_schema_metadata({"user": "meta"})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    kv = pq.read_metadata(path).metadata
    raw = base64.b64decode(kv[b"ARROW:schema"])
    p, out = run_tool(tool, tmp_path, raw)
    assert p.returncode == 0, p.stderr
    back = pa.ipc.read_schema(pa.py_buffer(out))
    assert back.equals(pa.ipc.read_schema(pa.py_buffer(raw)), check_metadata=True)
    assert back.metadata[b"user"] == b"meta"
    assert "emb\tfixed_size_list<float32, 2>\t11" in p.stdout
