"""Our Parquet reader against pyarrow: pyarrow (and DuckDB) write files with
every supported type, codec, page version, encoding and shape; the C reader
(tests/tools/parquet_read_tool.c) must return identical values and the
identical Arrow schema, and statistics pruning must skip exactly the row
groups that the statistics exclude.

The oracle is pyarrow reading the same file, with one deliberate
difference: a timestamp whose ARROW:schema unit differs from the stored
Parquet unit (timestamp[s] is stored as ms) comes back in the ARROW:schema
unit, as arrow-rs does; pyarrow keeps the stored unit.
"""
import base64
import decimal
import json
import pathlib
import struct
import subprocess

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

SEED = 20240611

# ---- the tool's JSON form ------------------------------------------------

TYPE_NAMES = {
    pa.bool_(): "bool",
    pa.int8(): "int8",
    pa.int16(): "int16",
    pa.int32(): "int32",
    pa.int64(): "int64",
    pa.uint8(): "uint8",
    pa.uint16(): "uint16",
    pa.uint32(): "uint32",
    pa.uint64(): "uint64",
    pa.float32(): "float32",
    pa.float64(): "float64",
    pa.utf8(): "utf8",
    pa.large_utf8(): "large_utf8",
    pa.binary(): "binary",
    pa.large_binary(): "large_binary",
    pa.date32(): "date32",
}


def field_json(f: pa.Field) -> dict:
    t = f.type
    d = {"name": f.name, "nullable": f.nullable}
    if t in TYPE_NAMES:
        d["type"] = TYPE_NAMES[t]
    elif pa.types.is_timestamp(t):
        d.update(type="timestamp", unit=t.unit, tz=t.tz)
    elif pa.types.is_decimal128(t):
        d.update(type="decimal128", precision=t.precision, scale=t.scale)
    elif pa.types.is_fixed_size_list(t):
        d.update(type="fixed_size_list", list_size=t.list_size,
                 children=[field_json(t.value_field)])
    elif pa.types.is_large_list(t):
        d.update(type="large_list", children=[field_json(t.value_field)])
    elif pa.types.is_list(t):
        d.update(type="list", children=[field_json(t.value_field)])
    else:
        raise AssertionError(f"no JSON form for {t}")
    return d


def dec_unscaled(v: decimal.Decimal, scale: int) -> int:
    sign, digits, exp = v.as_tuple()
    n = int("".join(map(str, digits)) or "0")
    shift = exp + scale
    n = n * 10**shift if shift >= 0 else n // 10**(-shift)
    return -n if sign else n


def values_json(arr: pa.Array) -> list:
    """An Arrow array in the tool's value notation."""
    t = arr.type
    valid = [not x for x in arr.is_null().to_pylist()]
    if pa.types.is_boolean(t) or pa.types.is_integer(t):
        return arr.to_pylist()
    if pa.types.is_date32(t):
        return arr.cast(pa.int32()).to_pylist()
    if pa.types.is_timestamp(t):
        return arr.cast(pa.int64()).to_pylist()
    if pa.types.is_floating(t):
        width = 4 if t == pa.float32() else 8
        raw = np.frombuffer(arr.buffers()[1], dtype=f"<u{width}",
                            count=len(arr) + arr.offset)[arr.offset:]
        tag = "f32" if width == 4 else "f64"
        return [f"{tag}:{int(b):0{2 * width}x}" if ok else None
                for b, ok in zip(raw, valid)]
    if pa.types.is_decimal128(t):
        return [f"d:{dec_unscaled(v, t.scale)}" if v is not None else None
                for v in arr.to_pylist()]
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return ["h:" + v.encode().hex() if v is not None else None
                for v in arr.to_pylist()]
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return ["h:" + v.hex() if v is not None else None
                for v in arr.to_pylist()]
    if pa.types.is_fixed_size_list(t):
        child = values_json(arr.values)
        n = t.list_size
        return [child[(arr.offset + i) * n:(arr.offset + i + 1) * n]
                if ok else None for i, ok in enumerate(valid)]
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        child = values_json(arr.values)
        offs = arr.offsets.to_pylist()
        return [child[offs[i]:offs[i + 1]] if ok else None
                for i, ok in enumerate(valid)]
    raise AssertionError(f"no JSON form for {t}")


def original_schema(pf: pq.ParquetFile):
    meta = pf.metadata.metadata or {}
    if b"ARROW:schema" not in meta:
        return None
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(
        meta[b"ARROW:schema"])))


def expected_schema(pf: pq.ParquetFile) -> pa.Schema:
    """pyarrow's schema, with the ARROW:schema's timestamp units."""
    schema = pf.schema_arrow
    orig = original_schema(pf)
    if orig is None or len(orig) != len(schema):
        return schema
    fields = []
    for f, o in zip(schema, orig):
        t = f.type
        if pa.types.is_timestamp(t) and pa.types.is_timestamp(o.type):
            t = pa.timestamp(o.type.unit, tz=t.tz)
        fields.append(pa.field(f.name, t, f.nullable))
    return pa.schema(fields)


def expected(path, fields=None) -> dict:
    pf = pq.ParquetFile(path)
    schema = expected_schema(pf)
    idx = list(range(len(schema))) if fields is None else fields
    batches = []
    for g in range(pf.num_row_groups):
        t = pf.read_row_group(g)
        cols = []
        for i in idx:
            col = t.column(i).combine_chunks()
            if col.type != schema.field(i).type:
                col = col.cast(schema.field(i).type, safe=False)
            cols.append(values_json(col))
        batches.append({"rows": t.num_rows, "columns": cols})
    return {
        "schema": [field_json(f) for f in schema],
        "num_rows": pf.metadata.num_rows,
        "row_groups": [pf.metadata.row_group(g).num_rows
                       for g in range(pf.num_row_groups)],
        "batches": batches,
    }


@pytest.fixture(scope="session")
def read_tool(tool):
    exe = tool("parquet_read_tool")

    def run(path, *args, check=True):
        p = subprocess.run([exe, *map(str, args), str(path)],
                           capture_output=True, text=True)
        if not check:
            return p
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)

    return run


def assert_same(read_tool, path, fields=None):
    args = ["--fields", ",".join(map(str, fields))] if fields else []
    ours = read_tool(path, *args)
    want = expected(path, fields)
    assert ours["schema"] == want["schema"]
    assert ours["num_rows"] == want["num_rows"]
    assert ours["row_groups"] == want["row_groups"]
    assert len(ours["batches"]) == len(want["batches"])
    for g, (a, b) in enumerate(zip(ours["batches"], want["batches"])):
        assert a["rows"] == b["rows"], f"row group {g}"
        for c, (x, y) in enumerate(zip(a["columns"], b["columns"])):
            assert x == y, f"row group {g} column {c}"
    return ours


# ---- data ----------------------------------------------------------------

def rand_strings(rng, n, null_frac=0.0, max_len=12):
    alphabet = list("abcdefghij") + ["é", "ß", "中", "😀", " "]
    out = []
    for _ in range(n):
        if rng.random() < null_frac:
            out.append(None)
        else:
            k = int(rng.integers(0, max_len + 1))
            out.append("".join(rng.choice(alphabet, k)))
    return out


def with_nulls(rng, arr: pa.Array, frac: float) -> pa.Array:
    if frac == 0:
        return arr
    mask = pa.array(rng.random(len(arr)) < frac)
    return pc.if_else(mask, pa.scalar(None, arr.type), arr)


def all_types_table(n, null_frac=0.2, seed=SEED) -> pa.Table:
    rng = np.random.default_rng(seed)

    def ints(dtype, lo, hi):
        v = rng.integers(lo, hi, n, dtype=np.int64, endpoint=True)
        if n >= 2:
            v[0], v[1] = lo, hi  # the extremes
        return pa.array(v.astype(dtype))

    cols = {
        "b": pa.array(rng.random(n) < 0.5),
        "i8": ints(np.int8, -128, 127),
        "i16": ints(np.int16, -2**15, 2**15 - 1),
        "i32": ints(np.int32, -2**31, 2**31 - 1),
        "i64": pa.array(rng.integers(-2**63, 2**63 - 1, n, dtype=np.int64)),
        "u8": ints(np.uint8, 0, 255),
        "u16": ints(np.uint16, 0, 2**16 - 1),
        "u32": ints(np.uint32, 0, 2**32 - 1),
        "u64": pa.array(rng.integers(0, 2**64 - 1, n, dtype=np.uint64)),
        "f32": pa.array(rng.standard_normal(n).astype(np.float32)),
        "f64": pa.array(np.concatenate([[np.nan, -0.0, np.inf]
                                        if n >= 3 else [],
                                        rng.standard_normal(max(n - 3, 0))
                                        if n >= 3 else
                                        rng.standard_normal(n)]),
                        pa.float64()),
        "s": pa.array(rand_strings(rng, n), pa.utf8()),
        "ls": pa.array(rand_strings(rng, n), pa.large_utf8()),
        "bin": pa.array([bytes(rng.integers(0, 256, int(rng.integers(0, 9)),
                                            dtype=np.uint8)) for _ in range(n)],
                        pa.binary()),
        "lbin": pa.array([b"\x00" * int(k) for k in rng.integers(0, 5, n)],
                         pa.large_binary()),
        "dt": pa.array(rng.integers(-100000, 100000, n, dtype=np.int32),
                       pa.date32()),
        "ts_s": pa.array(rng.integers(-2**40, 2**40, n), pa.timestamp("s")),
        "ts_ms": pa.array(rng.integers(-2**50, 2**50, n), pa.timestamp("ms")),
        "ts_us": pa.array(rng.integers(-2**60, 2**60, n),
                          pa.timestamp("us", tz="UTC")),
        "ts_ns": pa.array(rng.integers(-2**62, 2**62, n),
                          pa.timestamp("ns", tz="Europe/Paris")),
        "dec9": pa.array([decimal.Decimal(int(v)).scaleb(-2) for v in
                          rng.integers(-10**9 + 1, 10**9 - 1, n)],
                         pa.decimal128(9, 2)),
        "dec18": pa.array([decimal.Decimal(int(v)).scaleb(-5) for v in
                           rng.integers(-10**17, 10**17, n)],
                          pa.decimal128(18, 5)),
        "dec38": pa.array([decimal.Decimal(int(a) * 10**20 + int(b))
                           for a, b in zip(rng.integers(-10**17, 10**17, n),
                                           rng.integers(0, 10**18, n))],
                          pa.decimal128(38, 0)),
        "l_i32": pa.array([None if rng.random() < null_frac else
                           [None if rng.random() < 0.1 else int(x)
                            for x in rng.integers(-50, 50,
                                                  int(rng.integers(0, 5)))]
                           for _ in range(n)], pa.list_(pa.int32())),
        "ll_s": pa.array([None if rng.random() < null_frac else
                          rand_strings(rng, int(rng.integers(0, 4)))
                          for _ in range(n)],
                         pa.large_list(pa.field("x", pa.utf8(),
                                                nullable=False))),
        "fsl": pa.array([None if rng.random() < null_frac else
                         [float(x) for x in rng.standard_normal(4)]
                         for _ in range(n)], pa.list_(pa.float32(), 4)),
        "fsl_req": pa.array([[int(x) for x in rng.integers(0, 9, 3)]
                             for _ in range(n)],
                            pa.list_(pa.field("v", pa.int64(),
                                              nullable=False), 3)),
    }
    out = {}
    for name, arr in cols.items():
        if not (pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type)
                or pa.types.is_fixed_size_list(arr.type)):
            arr = with_nulls(rng, arr, null_frac)
        out[name] = arr
    fields = [pa.field(k, v.type, nullable=True) for k, v in out.items()]
    fields.append(pa.field("req_i64", pa.int64(), nullable=False))
    fields.append(pa.field("req_s", pa.utf8(), nullable=False))
    arrays = list(out.values())
    arrays.append(pa.array(rng.integers(-5, 5, n), pa.int64()))
    arrays.append(pa.array(rand_strings(rng, n), pa.utf8()))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


@pytest.fixture(scope="module")
def table():
    return all_types_table(1000)


# ---- tests ---------------------------------------------------------------

@pytest.mark.parametrize("compression", ["zstd", "snappy", "gzip", "none"])
@pytest.mark.parametrize("version", ["1.0", "2.0"])
@pytest.mark.parametrize("dictionary", [True, False])
def test_parquet_read__every_type_codec_page_version(tmp_path, read_tool, table,
                                                     compression, version,
                                                     dictionary):
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, compression=compression,
                   data_page_version=version, use_dictionary=dictionary,
                   row_group_size=300, data_page_size=2048)
    ours = assert_same(read_tool, path)
    assert len(ours["batches"]) == 4
    # the files do have many pages
    md = pq.ParquetFile(path).metadata
    assert md.row_group(0).column(0).total_compressed_size > 0


def test_parquet_read__without_nulls(tmp_path, read_tool):
    path = tmp_path / "t.parquet"
    pq.write_table(all_types_table(500, null_frac=0.0, seed=SEED + 1), path,
                   row_group_size=128)
    assert_same(read_tool, path)


def test_parquet_read__tiny_pages_many_row_groups(tmp_path, read_tool):
    path = tmp_path / "t.parquet"
    pq.write_table(all_types_table(257, seed=SEED + 2), path,
                   row_group_size=10, data_page_size=64,
                   write_batch_size=7, max_rows_per_page=5)
    ours = assert_same(read_tool, path)
    assert len(ours["batches"]) == 26


def test_parquet_read__empty_table(tmp_path, read_tool):
    path = tmp_path / "t.parquet"
    t = all_types_table(0)
    pq.write_table(t, path)
    ours = assert_same(read_tool, path)
    assert ours["num_rows"] == 0


def test_parquet_read__all_null_columns(tmp_path, read_tool, table):
    path = tmp_path / "t.parquet"
    t = pa.table({f.name: pa.nulls(300, f.type) for f in table.schema
                  if f.nullable})
    pq.write_table(t, path, row_group_size=100)
    assert_same(read_tool, path)


def test_parquet_read__empty_and_huge_strings(tmp_path, read_tool):
    rng = np.random.default_rng(SEED + 3)
    big = ["".join(rng.choice(list("xyz"), 3 << 20)) for _ in range(3)]
    t = pa.table({
        "s": ["", big[0], None, "", big[1], big[2], ""],
        "b": pa.array([b"", b"\x00" * (2 << 20), None, b"", b"a", b"", b""],
                      pa.large_binary()),
    })
    for v in ["1.0", "2.0"]:
        path = tmp_path / f"t{v}.parquet"
        pq.write_table(t, path, data_page_version=v)
        assert_same(read_tool, path)


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_parquet_read__extra_encodings(tmp_path, read_tool, table, version):
    enc = {}
    for f in table.schema:
        t = f.type
        if t in (pa.int32(), pa.int64(), pa.int8(), pa.int16(), pa.uint8(),
                 pa.uint16(), pa.uint32(), pa.uint64(),
                 pa.date32()) or pa.types.is_timestamp(t):
            enc[f.name] = "DELTA_BINARY_PACKED"
        elif t in (pa.float32(), pa.float64()):
            enc[f.name] = "BYTE_STREAM_SPLIT"
        elif t in (pa.utf8(), pa.binary()):
            enc[f.name] = "DELTA_LENGTH_BYTE_ARRAY"
        elif t in (pa.large_utf8(), pa.large_binary()):
            enc[f.name] = "DELTA_BYTE_ARRAY"
        elif pa.types.is_decimal(t):
            enc[f.name] = "BYTE_STREAM_SPLIT"
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, use_dictionary=False, column_encoding=enc,
                   data_page_version=version, row_group_size=400,
                   data_page_size=4096)
    md = pq.ParquetFile(path).metadata
    used = set()
    for c in range(md.num_columns):
        used.update(md.row_group(0).column(c).encodings)
    assert {"DELTA_BINARY_PACKED", "BYTE_STREAM_SPLIT",
            "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY"} <= used
    assert_same(read_tool, path)


def test_parquet_read__delta_byte_array_shared_prefixes(tmp_path, read_tool):
    words = [f"prefix/{i // 7:05d}/{'x' * (i % 5)}" for i in range(3000)]
    t = pa.table({"s": words, "fixed": pa.array(
        [decimal.Decimal(i * 37 - 5000) for i in range(3000)],
        pa.decimal128(12, 0))})
    path = tmp_path / "t.parquet"
    pq.write_table(t, path, use_dictionary=False,
                   column_encoding={"s": "DELTA_BYTE_ARRAY",
                                    "fixed": "DELTA_BYTE_ARRAY"})
    assert_same(read_tool, path)


def test_parquet_read__bool_rle(tmp_path, read_tool):
    rng = np.random.default_rng(SEED + 4)
    t = pa.table({"b": with_nulls(rng, pa.array(rng.random(5000) < 0.9), 0.1),
                  "r": pa.array(np.arange(5000) % 3 == 0)})
    path = tmp_path / "t.parquet"
    pq.write_table(t, path, use_dictionary=False, data_page_version="2.0",
                   column_encoding={"b": "RLE", "r": "RLE"})
    assert "RLE" in pq.ParquetFile(path).metadata.row_group(0).column(0)\
        .encodings
    assert_same(read_tool, path)


def test_parquet_read__no_arrow_schema(tmp_path, read_tool, table):
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, store_schema=False, row_group_size=500)
    ours = assert_same(read_tool, path)
    by_name = {f["name"]: f for f in ours["schema"]}
    assert by_name["ls"]["type"] == "utf8"  # large_utf8 needs the hint
    assert by_name["fsl"]["type"] == "list"
    assert by_name["ts_us"]["tz"] == "UTC"


def test_parquet_read__restores_arrow_only_types(tmp_path, read_tool, table):
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    ours = read_tool(path)
    by_name = {f["name"]: f for f in ours["schema"]}
    assert by_name["ls"]["type"] == "large_utf8"
    assert by_name["lbin"]["type"] == "large_binary"
    assert by_name["ll_s"]["type"] == "large_list"
    assert by_name["fsl"] == {"name": "fsl", "type": "fixed_size_list",
                              "nullable": True, "list_size": 4,
                              "children": [{"name": "element",
                                            "type": "float32",
                                            "nullable": True}]}
    assert by_name["ts_ns"]["tz"] == "Europe/Paris"
    # timestamp[s] is stored as ms; the reader restores seconds
    assert by_name["ts_s"]["unit"] == "s"
    secs = table.column("ts_s").cast(pa.int64()).to_pylist()
    got = [v for b in ours["batches"]
           for v in b["columns"][list(by_name).index("ts_s")]]
    assert got == secs


def test_parquet_read__timestamp_unit_conversion(tmp_path, read_tool):
    t = pa.table({"ns": pa.array([0, 1_000, -2_000, None, 123_456_000],
                                 pa.timestamp("ns"))})
    path = tmp_path / "t.parquet"
    pq.write_table(t, path, coerce_timestamps="us")
    ours = assert_same(read_tool, path)
    assert ours["schema"][0]["unit"] == "ns"
    assert ours["batches"][0]["columns"][0] == [0, 1000, -2000, None,
                                                123456000]


def test_parquet_read__int96_timestamps(tmp_path, read_tool):
    t = pa.table({"t": pa.array([0, 1, -86_400_000_000_123, None,
                                 1_700_000_000_123_456_789],
                                pa.timestamp("ns"))})
    path = tmp_path / "t.parquet"
    pq.write_table(t, path, use_deprecated_int96_timestamps=True)
    assert pq.ParquetFile(path).schema.column(0).physical_type == "INT96"
    assert_same(read_tool, path)
    path2 = tmp_path / "t2.parquet"
    pq.write_table(t, path2, use_deprecated_int96_timestamps=True,
                   store_schema=False)
    assert_same(read_tool, path2)


def test_parquet_read__decimals_as_integers(tmp_path, read_tool):
    vals = [decimal.Decimal("-12345.67"), decimal.Decimal("0.01"), None,
            decimal.Decimal("9999999.99")]
    t = pa.table({"d32": pa.array(vals, pa.decimal128(9, 2)),
                  "d64": pa.array(vals, pa.decimal128(18, 2)),
                  "d38": pa.array(vals, pa.decimal128(38, 2))})
    path = tmp_path / "t.parquet"
    pq.write_table(t, path, store_decimal_as_integer=True)
    types = [pq.ParquetFile(path).schema.column(i).physical_type
             for i in range(3)]
    assert types == ["INT32", "INT64", "FIXED_LEN_BYTE_ARRAY"]
    assert_same(read_tool, path)


def test_parquet_read__page_checksums(tmp_path, read_tool, table):
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, write_page_checksum=True,
                   row_group_size=250)
    assert_same(read_tool, path)
    # A flipped byte inside a page is caught by the CRC, not misread.
    data = bytearray(path.read_bytes())
    col = pq.ParquetFile(path).metadata.row_group(1).column(3)
    start = (col.dictionary_page_offset if col.has_dictionary_page
             else col.data_page_offset)
    at = start + col.total_compressed_size - 3
    data[at] ^= 0x40
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(bytes(data))
    p = read_tool(bad, check=False)
    assert p.returncode == 2
    assert "ERROR -3" in p.stderr and "CRC" in p.stderr
    assert "row group 1" in p.stderr and "column 'i32'" in p.stderr


def test_parquet_read__projection(tmp_path, read_tool, table):
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=300)
    assert_same(read_tool, path, fields=[5, 0, 24, 5])
    ours = read_tool(path, "--scan", "--fields", "2,25")
    want = expected(path, [2, 25])
    assert [b["columns"] for b in ours["batches"]] == \
        [b["columns"] for b in want["batches"]]


def test_parquet_read__non_compliant_nested_names(tmp_path, read_tool, table):
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, use_compliant_nested_type=False)
    assert_same(read_tool, path)


def test_parquet_read__duckdb_written(tmp_path, read_tool):
    duckdb = pytest.importorskip("duckdb")
    path = tmp_path / "d.parquet"
    con = duckdb.connect()
    con.execute(f"""
        COPY (SELECT i::INTEGER AS i, (i * 3)::BIGINT AS b,
                     CASE WHEN i % 7 = 0 THEN NULL ELSE 'v' || i END AS s,
                     (i / 3.0)::DOUBLE AS d,
                     [i, i + 1, NULL]::INTEGER[] AS l,
                     (i * 1.25)::DECIMAL(12, 2) AS dec,
                     DATE '2020-01-01' + i::INTEGER AS dt,
                     i % 2 = 0 AS flag
              FROM range(0, 5000) t(i))
        TO '{path}' (FORMAT PARQUET, ROW_GROUP_SIZE 1024)""")
    assert_same(read_tool, path)


# ---- pruning -------------------------------------------------------------

def stats_prune(pf: pq.ParquetFile, col: int, op: str, value) -> list:
    """Expected may_match per row group, from pyarrow's statistics."""
    out = []
    for g in range(pf.num_row_groups):
        st = pf.metadata.row_group(g).column(col).statistics
        if st is None or not st.has_min_max:
            n = pf.metadata.row_group(g).num_rows
            if st is not None and st.null_count == n and op not in (
                    "isnull",):
                out.append(op == "isnull")
            else:
                out.append(True)
            continue
        lo, hi = st.min, st.max
        if op == "isnull":
            out.append(st.null_count > 0)
        elif op == "notnull":
            out.append(st.null_count < st.num_values)
        else:
            out.append({"eq": lo <= value <= hi, "lt": lo < value,
                        "le": lo <= value, "gt": hi > value,
                        "ge": hi >= value}[op])
    return out


def brute_match(col: pa.ChunkedArray, op, value):
    v = col.to_pylist()
    f = {"eq": lambda x: x == value, "lt": lambda x: x < value,
         "le": lambda x: x <= value, "gt": lambda x: x > value,
         "ge": lambda x: x >= value}.get(op)
    if op == "isnull":
        return any(x is None for x in v)
    if op == "notnull":
        return any(x is not None for x in v)
    return any(x is not None and f(x) for x in v)


def test_parquet_read__pruning(tmp_path, read_tool):
    n = 4000
    rng = np.random.default_rng(SEED + 5)
    ids = np.arange(n, dtype=np.int64)
    t = pa.table({
        "id": ids,                                           # 0 sorted
        "u": pa.array((ids * 1_000_003) % 2**32, pa.uint32()),  # 1
        "x": pa.array(rng.standard_normal(n)),                # 2
        "s": pa.array([f"k{i:06d}" for i in ids]),           # 3
        "maybe": pa.array([None if (i // 500) % 2 else int(i)  # 4
                           for i in ids], pa.int64()),
        "ts": pa.array(ids * 1000, pa.timestamp("s")),        # 5
        "dec": pa.array([decimal.Decimal(int(i)) for i in ids],
                        pa.decimal128(10, 0)),               # 6
        "f32": pa.array(ids.astype(np.float32)),             # 7
    })
    path = tmp_path / "t.parquet"
    pq.write_table(t, path, row_group_size=500)
    pf = pq.ParquetFile(path)
    cases = [
        (0, "eq", 1234, 1234), (0, "lt", 1000, 1000), (0, "le", 999, 999),
        (0, "gt", 3499, 3499), (0, "ge", 3500, 3500), (0, "eq", -1, -1),
        (1, "lt", 4_000_000, 4_000_000),
        (2, "gt", 3.5, 3.5),
        (3, "eq", "h:" + b"k001234".hex(), "k001234"),
        (3, "lt", "h:" + b"k0005".hex(), "k0005"),
        (3, "ge", "h:" + b"k003999".hex(), "k003999"),
        (4, "isnull", None, None), (4, "notnull", None, None),
        (4, "gt", 10, 10),
        (5, "ge", 3_000_000, None),
        (6, "le", "d:700", decimal.Decimal(700)),
        (7, "ge", 3999.5, 3999.5),
    ]
    for col, op, arg, pyval in cases:
        text = f"{col} {op}" + ("" if arg is None else f" {arg}")
        ours = read_tool(path, "--filter", text)["may_match"]
        table = pf.read()
        for g in range(pf.num_row_groups):
            rows = table.slice(g * 500, 500).column(col)
            if col == 5:  # pyarrow reads ms; the field is in seconds
                rows = rows.cast(pa.timestamp("s")).cast(pa.int64())
            truth = brute_match(rows, op, pyval if col != 5 else arg)
            # sound: never skips a row group with a matching row
            assert ours[g] or not truth, (text, g)
        if col in (5,):
            continue
        assert ours == stats_prune(pf, col, op, pyval), text
        # tight on this data: exactly the row groups with matches survive
        expect = [brute_match(table.slice(g * 500, 500).column(col), op,
                              pyval) for g in range(pf.num_row_groups)]
        if col not in (2,):
            assert ours == expect, text
    # timestamps compare in the field's unit (s) though stored as ms
    ours = read_tool(path, "--filter", "5 ge 3000000")["may_match"]
    assert ours == [False] * 6 + [True] * 2
    # ANDed filters, and a scan that skips exactly the pruned row groups
    res = read_tool(path, "--scan", "--filter", "0 ge 1000",
                    "--filter", "0 lt 2000", "--fields", "0")
    assert res["may_match"] == [False, False, True, True] + [False] * 4
    got = [v for b in res["batches"] for v in b["columns"][0]]
    assert got == list(range(1000, 2000))


def test_parquet_read__pruning_without_statistics(tmp_path, read_tool):
    t = pa.table({"id": np.arange(1000, dtype=np.int64)})
    path = tmp_path / "t.parquet"
    pq.write_table(t, path, row_group_size=100, write_statistics=False)
    ours = read_tool(path, "--filter", "0 eq -5")
    assert ours["may_match"] == [True] * 10


def test_parquet_read__memory_limit(tmp_path, read_tool):
    t = pa.table({"s": ["x" * 1000] * 10000})
    path = tmp_path / "t.parquet"
    pq.write_table(t, path)  # one dictionary entry: tiny file, 10 MB read
    p = read_tool(path, "--max-bytes", str(1 << 20), check=False)
    assert p.returncode == 2 and "ERROR -7" in p.stderr
    assert read_tool(path)["batches"][0]["rows"] == 10000


def test_parquet_read__rejects_damaged_footers(tmp_path, read_tool, table):
    path = tmp_path / "t.parquet"
    pq.write_table(table.slice(0, 50), path)
    good = path.read_bytes()
    flen = struct.unpack("<I", good[-8:-4])[0]
    cases = {
        "magic": good[:-4] + b"PAR2",
        "head": b"PAR0" + good[4:],
        "len": good[:-8] + struct.pack("<I", len(good)) + b"PAR1",
        "trunc": good[: len(good) - 8 - flen // 2] + good[-8:],
        "short": b"PAR1PAR1",
    }
    for name, data in cases.items():
        bad = tmp_path / f"{name}.parquet"
        bad.write_bytes(data)
        p = read_tool(bad, check=False)
        assert p.returncode == 2, name
        assert "ERROR -3" in p.stderr, (name, p.stderr)
