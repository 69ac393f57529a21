"""Seed corpus for the Parquet fuzz targets, and a check that each seed reads
back exactly as pyarrow reads it.

Run as a script to (re)write the seeds:
    .venv/bin/python tests/py/test_parquet_read_seeds.py fuzz/corpus
It writes small pyarrow files of every kind to fuzz_parquet_read/ (a few
KB each) and their footers and first page headers to fuzz_parquet_meta/.
As a test it regenerates the files in a temporary directory and compares
our reader with pyarrow on each (test_parquet_read.assert_same).
"""
import decimal
import pathlib
import struct
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_parquet_read import assert_same, read_tool  # noqa: F401 (fixture)

ROWS = 12


def seed_tables():
    """(name, table, write options) for every shape the reader handles."""
    rng = np.random.default_rng(7)
    n = ROWS
    nulls = [i % 4 == 1 for i in range(n)]

    def arr(values, typ, with_nulls=True):
        return pa.array(values, typ,
                        mask=np.array(nulls) if with_nulls else None)

    ints = pa.table({
        "i8": arr(rng.integers(-128, 127, n), pa.int8()),
        "u16": arr(rng.integers(0, 65535, n), pa.uint16()),
        "i32": arr(rng.integers(-2**31, 2**31 - 1, n), pa.int32(), False),
        "u64": arr(rng.integers(0, 2**63, n, dtype=np.uint64), pa.uint64()),
        "dt": arr(rng.integers(-1000, 1000, n).astype(np.int32), pa.date32()),
    })
    floats = pa.table({
        "f32": arr(rng.standard_normal(n).astype(np.float32), pa.float32()),
        "f64": arr(np.r_[np.nan, -0.0, rng.standard_normal(n - 2)],
                   pa.float64(), False),
        "b": arr(rng.random(n) < 0.5, pa.bool_()),
    })
    strings = pa.table({
        "s": arr([f"w{i % 3}" * (i % 4) for i in range(n)], pa.utf8()),
        "ls": arr([f"long{i}" for i in range(n)], pa.large_utf8(), False),
        "bin": arr([bytes([i]) * (i % 3) for i in range(n)], pa.binary()),
    })
    times = pa.table({
        "s": arr(rng.integers(0, 2**31, n), pa.timestamp("s")),
        "ms": arr(rng.integers(0, 2**40, n), pa.timestamp("ms", "UTC")),
        "ns": arr(rng.integers(0, 2**60, n),
                  pa.timestamp("ns", "America/New_York")),
    })
    decimals = pa.table({
        "d5": arr([decimal.Decimal(int(v)).scaleb(-2)
                   for v in rng.integers(-99999, 99999, n)],
                  pa.decimal128(5, 2)),
        "d38": arr([decimal.Decimal(int(v)) * 10**20
                    for v in rng.integers(-10**17, 10**17, n)],
                   pa.decimal128(38, 0)),
    })
    lists = pa.table({
        "l": pa.array([None if i % 5 == 2 else
                       [None if j % 3 == 2 else i * j for j in range(i % 4)]
                       for i in range(n)], pa.list_(pa.int32())),
        "fsl": pa.array([None if i % 6 == 3 else [float(i), -float(i)]
                         for i in range(n)], pa.list_(pa.float32(), 2)),
        "lls": pa.array([[f"x{j}" for j in range(i % 3)] for i in range(n)],
                        pa.large_list(pa.utf8())),
    })
    tables = [("ints", ints), ("floats", floats), ("strings", strings),
              ("times", times), ("decimals", decimals), ("lists", lists)]
    out = []
    for name, t in tables:
        out.append((f"{name}-default", t, {}))
        out.append((f"{name}-v2-nodict-none", t,
                    {"data_page_version": "2.0", "use_dictionary": False,
                     "compression": "none"}))
        out.append((f"{name}-pages", t,
                    {"row_group_size": 5, "data_page_size": 16,
                     "write_batch_size": 3, "compression": "gzip"}))
    out.append(("ints-delta", ints,
                {"use_dictionary": False, "compression": "none",
                 "column_encoding": {c: "DELTA_BINARY_PACKED"
                                     for c in ints.column_names}}))
    out.append(("floats-bss", floats.drop_columns(["b"]),
                {"use_dictionary": False, "compression": "none",
                 "column_encoding": {"f32": "BYTE_STREAM_SPLIT",
                                     "f64": "BYTE_STREAM_SPLIT"}}))
    out.append(("strings-delta", strings,
                {"use_dictionary": False, "compression": "none",
                 "column_encoding": {"s": "DELTA_LENGTH_BYTE_ARRAY",
                                     "ls": "DELTA_BYTE_ARRAY",
                                     "bin": "DELTA_BYTE_ARRAY"}}))
    out.append(("bool-rle", floats.select(["b"]),
                {"use_dictionary": False, "data_page_version": "2.0",
                 "column_encoding": {"b": "RLE"}}))
    out.append(("int96", times.select(["ns"]),
                {"use_deprecated_int96_timestamps": True}))
    out.append(("no-arrow-schema", lists, {"store_schema": False}))
    out.append(("decimal-ints", decimals.select(["d5"]),
                {"store_decimal_as_integer": True}))
    out.append(("crc-snappy", strings,
                {"write_page_checksum": True, "compression": "snappy"}))
    out.append(("empty", ints.slice(0, 0), {}))
    # Row groups whose columns decode to over 1 MiB each from a few KB:
    # scans take such buffers from their pool and reuse them (bufpool).
    big = 140_000
    pooled = pa.table({
        "z": pa.array(np.arange(2 * big) % 4, pa.int64()),
        "fsl": pa.FixedSizeListArray.from_arrays(
            pa.array(np.zeros(2 * big * 2, np.float32)), 2),
    })
    out.append(("scan-pooled", pooled,
                {"row_group_size": big, "compression": "zstd"}))
    return out


def write_seeds(root: pathlib.Path):
    read_dir = root / "fuzz_parquet_read"
    meta_dir = root / "fuzz_parquet_meta"
    read_dir.mkdir(parents=True, exist_ok=True)
    meta_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table, opts in seed_tables():
        path = read_dir / f"seed-{name}.parquet"
        pq.write_table(table, path, **opts)
        data = path.read_bytes()
        flen = struct.unpack("<I", data[-8:-4])[0]
        (meta_dir / f"seed-{name}.footer").write_bytes(
            data[-8 - flen:-8])
        md = pq.ParquetFile(path).metadata
        if md.num_row_groups and md.num_rows:
            col = md.row_group(0).column(0)
            start = (col.dictionary_page_offset if col.has_dictionary_page
                     else col.data_page_offset)
            (meta_dir / f"seed-{name}.page").write_bytes(
                data[start:start + 48])
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    root = tmp_path_factory.mktemp("seeds")
    return {p.stem.removeprefix("seed-"): p for p in write_seeds(root)}


@pytest.mark.parametrize("name", [s[0] for s in seed_tables()])
def test_parquet_read_seeds__each_seed_reads_like_pyarrow(seeds, read_tool,
                                                          name):
    path = seeds[name]
    assert path.stat().st_size < 8192  # seeds stay small
    assert_same(read_tool, path)


if __name__ == "__main__":
    out = write_seeds(pathlib.Path(sys.argv[1]))
    print(f"wrote {len(out)} seed files")
