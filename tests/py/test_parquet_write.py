"""Files written by infino_parquet_write, checked against pyarrow and DuckDB.

The public C API is driven through ctypes: tables go in as Arrow C streams
exported by pyarrow, and every file must read back in pyarrow and DuckDB
with identical values and schema. The statistics the footer claims are
recomputed here by brute force from the data of each row group.
"""
import ctypes
import datetime
import decimal
import math
import os
import pathlib
import random

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import build_dir

CODECS = {"none": 0, "snappy": 1, "gzip": 2, "zstd": 6}
STATS_MAX_BYTES = 64  # PQ_STATS_MAX_BYTES: longer byte-array bounds are cut


class ArrowArrayStream(ctypes.Structure):
    _fields_ = [
        ("get_schema", ctypes.c_void_p),
        ("get_next", ctypes.c_void_p),
        ("get_last_error", ctypes.c_void_p),
        ("release", ctypes.c_void_p),
        ("private_data", ctypes.c_void_p),
    ]


class ParquetOpts(ctypes.Structure):
    """infino_parquet_opts, field for field."""

    _fields_ = [
        ("version", ctypes.c_uint32),
        ("codec", ctypes.c_int),
        ("zstd_level", ctypes.c_int),
        ("row_group_bytes", ctypes.c_uint64),
        ("row_group_rows", ctypes.c_int64),
        ("page_bytes", ctypes.c_uint32),
        ("data_page_version", ctypes.c_int),
        ("dictionary", ctypes.c_int),
        ("dictionary_bytes", ctypes.c_uint32),
        ("statistics", ctypes.c_int),
    ]


def opts(**kw):
    """INFINO_PARQUET_OPTS_INIT with overrides."""
    o = ParquetOpts(1, 6, 1, 128 << 20, 1 << 20, 1 << 20, 1, 1, 1 << 20, 1)
    for k, v in kw.items():
        setattr(o, k, CODECS[v] if k == "codec" and isinstance(v, str) else v)
    return o


class InfinoError(Exception):
    def __init__(self, status, message):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


@pytest.fixture(scope="session")
def lib():
    path = os.environ.get("INFINO_LIB") or str(build_dir() / "libinfino.so")
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing: build the shared library first")
    lib = ctypes.CDLL(path)
    lib.infino_parquet_write.restype = ctypes.c_int
    lib.infino_parquet_write.argtypes = [
        ctypes.c_char_p,
        ctypes.POINTER(ArrowArrayStream),
        ctypes.POINTER(ParquetOpts),
    ]
    lib.infino_parquet_read.restype = ctypes.c_int
    lib.infino_parquet_read.argtypes = [
        ctypes.POINTER(ArrowArrayStream),
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_char_p),
        ctypes.c_size_t,
    ]
    lib.infino_last_error.restype = ctypes.c_char_p
    return lib


def write(lib, path, data, o=None, max_chunksize=None):
    """Writes a pa.Table (as batches of max_chunksize rows) or a list of
    batches with infino_parquet_write."""
    if isinstance(data, pa.Table):
        schema = data.schema
        batches = data.to_batches(max_chunksize=max_chunksize)
    else:
        schema, batches = data
    reader = pa.RecordBatchReader.from_batches(schema, batches)
    stream = ArrowArrayStream()
    reader._export_to_c(ctypes.addressof(stream))
    rc = lib.infino_parquet_write(
        str(path).encode(), ctypes.byref(stream), ctypes.byref(o or opts())
    )
    # the stream is consumed either way
    assert stream.release is None
    if rc != 0:
        raise InfinoError(rc, lib.infino_last_error().decode())


def read_ours(lib, path, columns=None):
    stream = ArrowArrayStream()
    cols = None
    n = 0
    if columns is not None:
        n = len(columns)
        cols = (ctypes.c_char_p * n)(*[c.encode() for c in columns])
    rc = lib.infino_parquet_read(ctypes.byref(stream), str(path).encode(), cols, n)
    if rc != 0:
        raise InfinoError(rc, lib.infino_last_error().decode())
    reader = pa.RecordBatchReader._import_from_c(ctypes.addressof(stream))
    return reader.read_all()


# ---- data --------------------------------------------------------------


def rand_str(rng, n_max=12):
    alphabet = "abcxyz é€😀\u00ff"
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(n_max)))


def all_types_table(n, seed=1, nulls=True):
    """One column of every supported type, with nulls, extremes, NaN, -0.0,
    empty strings, empty lists and null list items."""
    rng = random.Random(seed)

    def maybe(v):
        return None if nulls and rng.random() < 0.15 else v

    def ints(lo, hi):
        edge = [lo, hi, 0, -1 if lo < 0 else 1]
        return [maybe(rng.choice(edge) if rng.random() < 0.1 else rng.randint(lo, hi)) for _ in range(n)]

    def floats():
        special = [float("nan"), -0.0, 0.0, float("inf"), -float("inf")]
        return [maybe(rng.choice(special) if rng.random() < 0.1 else rng.uniform(-1e6, 1e6)) for _ in range(n)]

    def ts(lo, hi):
        return [maybe(rng.randint(lo, hi)) for _ in range(n)]

    def fsl():
        out = []
        for _ in range(n):
            if nulls and rng.random() < 0.1:
                out.append(None)
            else:
                out.append([maybe(rng.uniform(-1, 1)) for _ in range(4)])
        return out

    def lst():
        out = []
        for _ in range(n):
            r = rng.random()
            if nulls and r < 0.1:
                out.append(None)
            elif r < 0.2:
                out.append([])
            else:
                out.append([maybe(rng.uniform(-5, 5)) for _ in range(rng.randrange(1, 7))])
        return out

    strs = [maybe(rand_str(rng)) for _ in range(n)]
    bins = [maybe(bytes(rng.getrandbits(8) for _ in range(rng.randrange(6)))) for _ in range(n)]
    decs = [maybe(decimal.Decimal(rng.randint(-(10**9), 10**9)) / 100) for _ in range(n)]
    big_decs = [maybe(decimal.Decimal(rng.randint(-(10**37), 10**37)) / 10**5) for _ in range(n)]
    s_max = 10**11  # seconds: stays inside the ns range after scaling
    cols = {
        "b": pa.array([maybe(rng.random() < 0.5) for _ in range(n)], pa.bool_()),
        "i8": pa.array(ints(-128, 127), pa.int8()),
        "i16": pa.array(ints(-(2**15), 2**15 - 1), pa.int16()),
        "i32": pa.array(ints(-(2**31), 2**31 - 1), pa.int32()),
        "i64": pa.array(ints(-(2**63), 2**63 - 1), pa.int64()),
        "u8": pa.array(ints(0, 255), pa.uint8()),
        "u16": pa.array(ints(0, 2**16 - 1), pa.uint16()),
        "u32": pa.array(ints(0, 2**32 - 1), pa.uint32()),
        "u64": pa.array(ints(0, 2**64 - 1), pa.uint64()),
        "f32": pa.array(floats(), pa.float32()),
        "f64": pa.array(floats(), pa.float64()),
        "s": pa.array(strs, pa.utf8()),
        "ls": pa.array(strs[::-1], pa.large_utf8()),
        "bin": pa.array(bins, pa.binary()),
        "lbin": pa.array(bins[::-1], pa.large_binary()),
        "d32": pa.array(ts(-(10**5), 10**5), pa.date32()),
        "ts_s": pa.array(ts(-s_max // 10, s_max // 10), pa.timestamp("s")),
        "ts_ms": pa.array(ts(-(10**15), 10**15), pa.timestamp("ms", tz="UTC")),
        "ts_us": pa.array(ts(-(10**17), 10**17), pa.timestamp("us")),
        "ts_ns": pa.array(ts(-(10**18), 10**18), pa.timestamp("ns", tz="America/New_York")),
        "ts_s_tz": pa.array(ts(-s_max // 10, s_max // 10), pa.timestamp("s", tz="Asia/Kolkata")),
        "dec": pa.array(decs, pa.decimal128(12, 2)),
        "dec38": pa.array(big_decs, pa.decimal128(38, 5)),
        "fsl": pa.array(fsl(), pa.list_(pa.float32(), 4)),
        "lst": pa.array(lst(), pa.list_(pa.float32())),
        "llst": pa.array(lst(), pa.large_list(pa.field("item", pa.int64()))),
        "lstr": pa.array([None if v is None else [rand_str(rng, 5) for _ in v] for v in lst()], pa.list_(pa.utf8())),
    }
    table = pa.table(cols)
    # a few non-nullable fields too (they need data without nulls)
    req = {
        "req_i32": pa.array([rng.randint(-5, 5) for _ in range(n)], pa.int32()),
        "req_s": pa.array([rand_str(rng) for _ in range(n)], pa.utf8()),
        "req_vec": pa.FixedSizeListArray.from_arrays(
            pa.array(np.arange(n * 3, dtype=np.float32)), 3
        ),
    }
    fields = list(table.schema) + [
        pa.field("req_i32", pa.int32(), nullable=False),
        pa.field("req_s", pa.utf8(), nullable=False),
        pa.field("req_vec", pa.list_(pa.field("item", pa.float32(), nullable=False), 3), nullable=False),
    ]
    arrays = list(table.columns) + [
        req["req_i32"],
        req["req_s"],
        req["req_vec"].cast(fields[-1].type),
    ]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


# ---- checks ------------------------------------------------------------


def norm_list(values):
    """to_pylist output with NaN made comparable."""

    def n(v):
        if isinstance(v, float) and math.isnan(v):
            return "NaN"
        if isinstance(v, list):
            return [n(x) for x in v]
        return v

    return [n(v) for v in values]


def comparable(col):
    """A column as plain Python values that pyarrow and DuckDB agree on:
    timestamps as int64 nanoseconds since the epoch (UTC)."""
    t = col.type
    if pa.types.is_timestamp(t):
        scale = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[t.unit]
        raw = col.cast(pa.int64()).to_pylist()
        return [None if v is None else v * scale for v in raw]
    if (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)) \
            and pa.types.is_timestamp(t.value_type):
        scale = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[t.value_type.unit]
        raw = col.cast(pa.list_(pa.int64())).to_pylist()
        return [None if v is None else [None if x is None else x * scale for x in v] for v in raw]
    if pa.types.is_dictionary(t):
        return norm_list(col.cast(t.value_type).to_pylist())
    return norm_list(col.to_pylist())


def check_pyarrow(path, table):
    """pyarrow reads our file as it reads its own file of the same table
    (same schema: e.g. list items come back named "element" both ways),
    with the same values."""
    got = pq.read_table(path)
    ref_path = pathlib.Path(str(path) + ".pyarrow")
    pq.write_table(table, ref_path)
    want = pq.read_table(ref_path).schema
    ref_path.unlink()
    assert got.schema.equals(want, check_metadata=False), (got.schema, want)
    for name in table.column_names:
        assert comparable(got[name]) == comparable(table[name]), name
    return got


def check_duckdb(path, table):
    rel = duckdb.sql(f"select * from read_parquet('{path}')").to_arrow_table()
    assert rel.column_names == table.column_names
    assert rel.num_rows == table.num_rows
    for name in table.column_names:
        assert comparable(rel[name]) == comparable(table[name]), name


def upper_bound(b, utf8):
    """Reference for the truncated max: prefix with its last unit bumped."""
    if not utf8:
        p = bytearray(b[:STATS_MAX_BYTES])
        while p and p[-1] == 0xFF:
            p.pop()
        if not p:
            return None
        p[-1] += 1
        return bytes(p)
    s = b.decode()
    out = ""
    for ch in s:  # longest whole-character prefix within the limit
        if len((out + ch).encode()) > STATS_MAX_BYTES:
            break
        out += ch
    while out:
        cp = ord(out[-1])
        if cp < 0x10FFFF:
            cp = 0xE000 if cp == 0xD7FF else cp + 1
            return (out[:-1] + chr(cp)).encode()
        out = out[:-1]
    return None


def lower_bound(b, utf8):
    if not utf8:
        return b[:STATS_MAX_BYTES]
    out = ""
    for ch in b.decode():
        if len((out + ch).encode()) > STATS_MAX_BYTES:
            break
        out += ch
    return out.encode()


def expected_stats(col):
    """(null_count, min, max) of one leaf column, by brute force; min/max
    None when there is no non-null, non-NaN value."""
    t = col.type
    is_list = pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)
    vt0 = t.value_type if is_list else t
    if pa.types.is_timestamp(vt0):  # beyond datetime's range: use ints
        col = col.cast(pa.list_(pa.int64()) if is_list else pa.int64())
    values = col.to_pylist()
    nulls = 0
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        flat = []
        for v in values:
            if v is None or len(v) == 0:
                nulls += 1  # a null slot or an empty list: one entry, no value
                continue
            for x in v:
                if x is None:
                    nulls += 1
                else:
                    flat.append(x)
        vt = vt0
        values = flat
    else:
        nulls = sum(v is None for v in values)
        values = [v for v in values if v is not None]
        vt = vt0
    if pa.types.is_floating(vt):
        values = [v for v in values if not math.isnan(v)]
    if not values:
        return nulls, None, None
    if pa.types.is_string(vt) or pa.types.is_large_string(vt):
        enc = [v.encode() for v in values]
        return nulls, min(enc), max(enc)
    if pa.types.is_timestamp(vt):
        # the physical INT64: seconds are stored as milliseconds
        scale = 1000 if vt.unit == "s" else 1
        return nulls, min(values) * scale, max(values) * scale
    return nulls, min(values), max(values)


def check_stats(path, table):
    md = pq.ParquetFile(path).metadata
    assert md.created_by == "infino version 0.1.0"
    row = 0
    names = table.column_names
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        part = table.slice(row, rg.num_rows)
        row += rg.num_rows
        for j in range(rg.num_columns):
            cm = rg.column(j)
            name = cm.path_in_schema.split(".")[0]
            col = part[names.index(name)]
            st = cm.statistics
            assert st is not None and st.has_null_count, name
            nulls, lo, hi = expected_stats(col)
            assert st.null_count == nulls, (name, g)
            if lo is None:
                assert not st.has_min_max, name
                continue
            vt = col.type.value_type if hasattr(col.type, "value_type") else col.type
            assert st.has_min_max or pa.types.is_binary(vt) or pa.types.is_large_binary(vt), name
            if pa.types.is_timestamp(vt):
                assert (st.min_raw, st.max_raw) == (lo, hi), name
            elif pa.types.is_floating(vt):
                assert (st.min, st.max) == (lo, hi), name
                # a zero min is -0.0 and a zero max +0.0
                if st.min == 0:
                    assert math.copysign(1, st.min) < 0, name
                if st.max == 0:
                    assert math.copysign(1, st.max) > 0, name
            elif pa.types.is_string(vt) or pa.types.is_large_string(vt):
                emin = lo if len(lo) <= STATS_MAX_BYTES else lower_bound(lo, True)
                emax = hi if len(hi) <= STATS_MAX_BYTES else upper_bound(hi, True)
                assert st.min_raw == emin, name
                assert st.max_raw == emax, name
            elif pa.types.is_binary(vt) or pa.types.is_large_binary(vt):
                emin = lo if len(lo) <= STATS_MAX_BYTES else lower_bound(lo, False)
                emax = hi if len(hi) <= STATS_MAX_BYTES else upper_bound(hi, False)
                if emax is None:  # no short upper bound exists: max omitted
                    assert not st.has_min_max, name
                    continue
                assert st.min_raw == emin, name
                assert st.max_raw == emax, name
            elif pa.types.is_date(vt):
                assert (st.min, st.max) == (lo, hi), name
            else:
                assert (st.min, st.max) == (lo, hi), (name, st.min, st.max, lo, hi)
    assert row == table.num_rows


def check_all(path, table, stats=True):
    check_pyarrow(path, table)
    check_duckdb(path, table)
    if stats:
        check_stats(path, table)


# ---- tests -------------------------------------------------------------


@pytest.mark.parametrize("codec", list(CODECS))
@pytest.mark.parametrize("page_version", [1, 2])
@pytest.mark.parametrize("dictionary", [0, 1])
def test_every_type_codec_and_page_version(lib, tmp_path, codec, page_version, dictionary):
    table = all_types_table(1500, seed=page_version * 10 + dictionary)
    path = tmp_path / "t.parquet"
    # tiny pages and row groups: many of each
    write(
        lib,
        path,
        table,
        opts(codec=codec, data_page_version=page_version, dictionary=dictionary,
             page_bytes=2048, row_group_rows=600),
        max_chunksize=257,
    )
    check_all(path, table)
    md = pq.ParquetFile(path).metadata
    assert md.num_row_groups == 3
    for j in range(md.num_columns):
        cm = md.row_group(0).column(j)
        assert cm.compression == {"none": "UNCOMPRESSED"}.get(codec, codec.upper())
        if dictionary and cm.physical_type == "BYTE_ARRAY":
            assert cm.has_dictionary_page
            assert "RLE_DICTIONARY" in cm.encodings
        if not dictionary:
            assert not cm.has_dictionary_page


def test_no_nulls_and_all_nulls(lib, tmp_path):
    table = all_types_table(700, seed=5, nulls=False)
    path = tmp_path / "nonull.parquet"
    write(lib, path, table, opts(page_bytes=1000))
    check_all(path, table)

    n = 300
    nulls = pa.table({f.name: pa.nulls(n, f.type) for f in all_types_table(1).schema if f.nullable})
    path = tmp_path / "allnull.parquet"
    write(lib, path, nulls, opts(row_group_rows=128))
    check_all(path, nulls)


def test_empty_tables(lib, tmp_path):
    schema = all_types_table(1).schema
    empty = schema.empty_table()
    path = tmp_path / "empty.parquet"
    write(lib, path, (schema, []))
    check_all(path, empty)
    assert pq.ParquetFile(path).metadata.num_rows == 0
    # zero-length batches in between are skipped
    t = all_types_table(50)
    path = tmp_path / "gaps.parquet"
    batches = [t.slice(0, 0).to_batches()[0] if t.slice(0, 0).to_batches() else None]
    zero = pa.RecordBatch.from_pylist([], schema=t.schema)
    write(lib, path, (t.schema, [zero] + t.to_batches(max_chunksize=20) + [zero]))
    check_all(path, t)
    del batches


def test_empty_and_huge_strings(lib, tmp_path):
    rng = random.Random(3)
    big = [
        "".join(rng.choice("abcdefgh") for _ in range(3 << 20)),
        "\u00e9" * (2 << 20),
        "z" * (5 << 20) + "\U0010FFFF",
    ]
    vals = ["", "", None, big[0], "", big[1], "short", big[2], ""]
    table = pa.table({
        "s": pa.array(vals, pa.utf8()),
        "ls": pa.array(vals, pa.large_utf8()),
        "b": pa.array([None if v is None else v.encode() for v in vals], pa.binary()),
        "ff": pa.array([b"\xff" * 100, b"\x00"] * 4 + [None], pa.binary()),
    })
    for page_version in (1, 2):
        path = tmp_path / f"big{page_version}.parquet"
        write(lib, path, table, opts(codec="snappy", data_page_version=page_version, page_bytes=4096))
        check_all(path, table)
        # the long max was truncated to a bound, not written whole
        st = pq.ParquetFile(path).metadata.row_group(0).column(0).statistics
        assert len(st.max_raw) <= STATS_MAX_BYTES + 4


def test_dictionary_fallback(lib, tmp_path):
    """Past dictionary_bytes a column chunk switches to PLAIN, keeping the
    dictionary pages written so far."""
    n = 20000
    rng = random.Random(9)
    low = [rng.choice(["red", "green", "blue", None]) for _ in range(n)]
    high = [f"id-{i:08d}-{rng.random()}" for i in range(n)]
    table = pa.table({"low": low, "high": high})
    path = tmp_path / "fallback.parquet"
    write(lib, path, table, opts(dictionary_bytes=16 << 10, page_bytes=8 << 10))
    check_all(path, table)
    md = pq.ParquetFile(path).metadata
    lowc, highc = md.row_group(0).column(0), md.row_group(0).column(1)
    assert lowc.has_dictionary_page and highc.has_dictionary_page
    assert {"RLE_DICTIONARY", "PLAIN"} <= set(highc.encodings)
    # the high-cardinality dictionary stopped growing near the limit (all
    # 20000 values would take ~600 KB), the rest of the chunk is PLAIN
    dict_len = highc.data_page_offset - highc.dictionary_page_offset
    assert dict_len < 2 * (16 << 10), dict_len
    # the low-cardinality column stays tiny
    assert lowc.total_compressed_size < 20000


def test_many_rows_many_row_groups(lib, tmp_path):
    n = 1_200_000
    ids = np.arange(n, dtype=np.int64)
    table = pa.table({
        "id": pa.array(ids),
        "f": pa.array((ids % 1000).astype(np.float32)),
        "tag": pa.array(np.where(ids % 7 == 0, "seven", "other")),
    })
    path = tmp_path / "many.parquet"
    write(lib, path, table, opts(row_group_rows=250_000), max_chunksize=100_000)
    md = pq.ParquetFile(path).metadata
    assert md.num_rows == n
    assert [md.row_group(i).num_rows for i in range(md.num_row_groups)] == [250_000] * 4 + [200_000]
    got = pq.read_table(path)
    assert got.equals(table)
    cnt = duckdb.sql(f"select count(*), sum(id), count(*) filter (where tag = 'seven') from read_parquet('{path}')").fetchall()[0]
    assert cnt == (n, int(ids.sum()), int((ids % 7 == 0).sum()))
    check_stats(path, table)


def test_row_group_bytes_bound(lib, tmp_path):
    n = 40000
    rng = np.random.default_rng(1)
    table = pa.table({"v": pa.FixedSizeListArray.from_arrays(pa.array(rng.random(n * 16, dtype=np.float32)), 16)})
    path = tmp_path / "rgb.parquet"
    write(lib, path, table, opts(codec="none", row_group_bytes=512 << 10), max_chunksize=n)
    md = pq.ParquetFile(path).metadata
    sizes = [md.row_group(i).column(0).total_compressed_size for i in range(md.num_row_groups)]
    assert md.num_row_groups >= 4
    # each row group closes within about one slice of its byte target
    assert all(s <= (512 << 10) * 1.5 for s in sizes), sizes
    check_all(path, table)


def test_vectors_like_the_benchmark(lib, tmp_path):
    n = 5000
    rng = np.random.default_rng(2)
    words = np.array(["alpha", "beta", "gamma", "delta", "search", "vector"])
    table = pa.table({
        "doc_id": pa.array([f"doc-{i}" for i in range(n)]),
        "body": pa.array([" ".join(rng.choice(words, 200)) for _ in range(n)]),
        "emb": pa.FixedSizeListArray.from_arrays(pa.array(rng.standard_normal(n * 384, dtype=np.float32)), 384),
    })
    for codec in ("zstd", "snappy"):
        path = tmp_path / f"bench-{codec}.parquet"
        write(lib, path, table, opts(codec=codec), max_chunksize=1000)
        check_all(path, table)


def test_invalid_input_is_refused(lib, tmp_path):
    path = tmp_path / "bad.parquet"
    with pytest.raises(InfinoError) as e:
        write(lib, path, pa.table({"x": [1]}), opts(codec=4))
    assert e.value.status == -7  # INFINO_ERR_UNSUPPORTED
    with pytest.raises(InfinoError) as e:
        write(lib, path, pa.table({"x": [1]}), opts(data_page_version=3))
    assert e.value.status == -4
    with pytest.raises(InfinoError) as e:
        write(lib, path, pa.table({"x": pa.array([{"a": 1}])}))
    assert not path.exists()
    # a batch whose schema does not match the stream's is refused, and no
    # file appears
    schema = pa.schema([pa.field("x", pa.int32(), nullable=False)])
    bad = pa.RecordBatch.from_arrays([pa.array([1, None], pa.int32())], names=["x"])
    with pytest.raises(InfinoError):
        write(lib, path, (schema, [bad]))
    assert not path.exists()


def test_metadata_and_arrow_schema(lib, tmp_path):
    table = all_types_table(10).replace_schema_metadata({"owner": "infino", "k": "v"})
    path = tmp_path / "meta.parquet"
    write(lib, path, table)
    f = pq.ParquetFile(path)
    kv = f.metadata.metadata
    assert kv[b"owner"] == b"infino"
    # file order: ARROW:schema first
    keys = [r[1] for r in duckdb.sql(f"select * from parquet_kv_metadata('{path}')").fetchall()]
    assert keys[0] == b"ARROW:schema", keys
    got = pq.read_table(path)
    assert got.schema.metadata[b"owner"] == b"infino"
    # the Arrow types come back exactly, including what Parquet cannot say
    assert got.schema.field("ls").type == pa.large_utf8()
    assert got.schema.field("fsl").type == pa.list_(pa.float32(), 4)
    assert got.schema.field("ts_ns").type == pa.timestamp("ns", tz="America/New_York")
    assert got.schema.field("u64").type == pa.uint64()
    # Parquet has no seconds: like pyarrow's own files, they come back in ms
    assert got.schema.field("ts_s").type == pa.timestamp("ms")


def test_ours_round_trip(lib, tmp_path):
    """ours -> ours: the reader gives back what the writer was given."""
    table = all_types_table(900, seed=11)
    path = tmp_path / "rt.parquet"
    write(lib, path, table, opts(page_bytes=1500, row_group_rows=400))
    got = read_ours(lib, path)
    assert got.schema.equals(table.schema, check_metadata=False)
    for name in table.column_names:
        assert comparable(got[name]) == comparable(table[name]), name
    sub = read_ours(lib, path, ["s", "i8"])
    assert sub.column_names == ["s", "i8"]
    assert comparable(sub["s"]) == comparable(table["s"])
    with pytest.raises(InfinoError) as e:
        read_ours(lib, path, ["nope"])
    assert "nope" in e.value.message


# ---- property test -------------------------------------------------------

PRIMS = [
    pa.bool_(), pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(),
    pa.uint16(), pa.uint32(), pa.uint64(), pa.float32(), pa.float64(),
    pa.utf8(), pa.large_utf8(), pa.binary(), pa.large_binary(), pa.date32(),
    pa.timestamp("ms"), pa.timestamp("us", tz="UTC"), pa.timestamp("ns"),
    pa.decimal128(9, 3), pa.decimal128(30, 0),
]


@st.composite
def field_types(draw):
    prim = draw(st.sampled_from(PRIMS))
    kind = draw(st.sampled_from(["flat", "flat", "list", "large_list", "fsl"]))
    item_nullable = draw(st.booleans())
    item = pa.field("item", prim, nullable=item_nullable)
    if kind == "list":
        return pa.list_(item)
    if kind == "large_list":
        return pa.large_list(item)
    if kind == "fsl":
        return pa.list_(item, draw(st.integers(1, 5)))
    return prim


@st.composite
def tables(draw):
    n_cols = draw(st.integers(1, 4))
    n_rows = draw(st.integers(0, 120))
    seed = draw(st.integers(0, 2**32 - 1))
    null_p = draw(st.sampled_from([0.0, 0.3, 1.0]))
    rng = random.Random(seed)
    fields, arrays = [], []
    for c in range(n_cols):
        t = draw(field_types())
        nullable = draw(st.booleans())
        fields.append(pa.field(f"c{c}", t, nullable=nullable))
        arrays.append(random_array(rng, t, n_rows, null_p if nullable else 0.0))
    schema = pa.schema(fields)
    return pa.Table.from_arrays(arrays, schema=schema)


def random_value(rng, t):
    if pa.types.is_boolean(t):
        return rng.random() < 0.5
    if pa.types.is_integer(t):
        info = np.iinfo(t.to_pandas_dtype())
        return rng.choice([int(info.min), int(info.max), 0, rng.randint(int(info.min), int(info.max))])
    if pa.types.is_floating(t):
        return rng.choice([float("nan"), -0.0, 0.0, rng.uniform(-1e3, 1e3), float("inf")])
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return rand_str(rng, rng.choice([3, 90]))
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 2, 80])))
    if pa.types.is_date(t):
        return datetime.date(1970, 1, 1) + datetime.timedelta(days=rng.randint(-5000, 5000))
    if pa.types.is_timestamp(t):
        return rng.randint(-(10**14), 10**14)  # inside DuckDB's range in every unit
    if pa.types.is_decimal(t):
        return decimal.Decimal(rng.randint(-(10 ** (t.precision - 1)), 10 ** (t.precision - 1))).scaleb(-t.scale)
    raise AssertionError(t)


def random_array(rng, t, n, null_p):
    def nul():
        return rng.random() < null_p

    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        item_null_p = 0.3 if t.value_field.nullable else 0.0
        vals = []
        for _ in range(n):
            if nul():
                vals.append(None)
                continue
            k = t.list_size if pa.types.is_fixed_size_list(t) else rng.choice([0, 1, 3])
            vals.append([None if rng.random() < item_null_p else random_value(rng, t.value_type) for _ in range(k)])
        return pa.array(vals, t)
    return pa.array([None if nul() else random_value(rng, t) for _ in range(n)], t)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=tables(), codec=st.sampled_from(list(CODECS)), v=st.sampled_from([1, 2]),
       dictionary=st.booleans(), page_bytes=st.sampled_from([64, 700, 1 << 20]),
       chunk=st.integers(1, 50))
def test_property_random_schemas(lib, tmp_path, table, codec, v, dictionary, page_bytes, chunk):
    path = tmp_path / f"prop-{random.getrandbits(32)}.parquet"
    write(lib, path, table, opts(codec=codec, data_page_version=v, dictionary=int(dictionary),
                                 page_bytes=page_bytes, row_group_rows=37), max_chunksize=chunk)
    check_all(path, table)
    got = read_ours(lib, path)
    for name in table.column_names:
        assert comparable(got[name]) == comparable(table[name]), name
    path.unlink()
