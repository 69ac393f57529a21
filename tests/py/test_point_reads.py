"""Point reads, page indexes, and search results that use them.

- Parquet level: pq_reader_read_rows (tests/tools/parquet_read_tool --rows)
  on pyarrow-written files, with and without a page index, every type,
  both page versions, dictionary and PLAIN pages, must return exactly the
  rows pyarrow returns for the same indexes.
- Our writer's page index, parsed here with a small independent Thrift
  decoder: every OffsetIndex entry must point at a data page header whose
  row count matches the next entry, every ColumnIndex must bound its
  page's values; pyarrow must report both as present.
- Table level: projected search results must equal the full-scan values
  of the same rows (Table.to_arrow with a `where`), and vector scores must
  be numpy's exact distances.

Run as a script to (re)write fuzz seeds that carry page indexes (files for
fuzz_parquet_read, their page indexes for fuzz_parquet_pageindex):
    .venv/bin/python tests/py/test_point_reads.py fuzz/corpus
"""
import ctypes
import os
import pathlib
import struct
import sys

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import infino
from test_parquet_read import (all_types_table, expected_schema,  # noqa: F401
                               read_tool, values_json)
from test_parquet_write import (ArrowArrayStream, ParquetOpts,  # noqa: F401
                                lib, opts, write)

# ---- a small Thrift compact-protocol decoder (the test's own oracle) ------


def _varint(b, i):
    shift = n = 0
    while True:
        byte = b[i]
        i += 1
        n |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return n, i


def _zigzag(n):
    return (n >> 1) ^ -(n & 1)


def _value(b, i, t):
    if t in (1, 2):  # bool field: the type is the value
        return t == 1, i
    if t == 3:
        return struct.unpack_from("b", b, i)[0], i + 1
    if t in (4, 5, 6):
        n, i = _varint(b, i)
        return _zigzag(n), i
    if t == 7:
        return struct.unpack_from("<d", b, i)[0], i + 8
    if t == 8:
        n, i = _varint(b, i)
        return bytes(b[i:i + n]), i + n
    if t in (9, 10):
        head = b[i]
        i += 1
        n, et = head >> 4, head & 0x0F
        if n == 15:
            n, i = _varint(b, i)
        out = []
        for _ in range(n):
            if et in (1, 2):  # list<bool>: one byte each, 1 is true
                out.append(b[i] == 1)
                i += 1
            else:
                v, i = _value(b, i, et)
                out.append(v)
        return out, i
    if t == 12:
        return _struct(b, i)
    raise AssertionError(f"thrift type {t}")


def _struct(b, i):
    fields, last = {}, 0
    while True:
        head = b[i]
        i += 1
        if head == 0:
            return fields, i
        t, delta = head & 0x0F, head >> 4
        if delta:
            fid = last + delta
        else:
            n, i = _varint(b, i)
            fid = _zigzag(n)
        last = fid
        fields[fid], i = _value(b, i, t)


def thrift(b, i=0):
    """Decodes the struct at b[i:]; returns (fields by id, end offset)."""
    return _struct(memoryview(b), i)


# ---- Parquet level --------------------------------------------------------

def rows_json(read_tool, path, rows, fields=None):
    args = ["--rows", ",".join(map(str, rows))]
    if fields:
        args += ["--fields", ",".join(map(str, fields))]
    return read_tool(path, *args)


def expected_rows(path, rows, fields=None):
    """pyarrow's values of `rows` (within each row group)."""
    pf = pq.ParquetFile(path)
    schema = expected_schema(pf)
    idx = list(range(len(schema))) if fields is None else fields
    out = []
    for g in range(pf.num_row_groups):
        t = pf.read_row_group(g)
        take = [r for r in rows if r < t.num_rows]
        t = t.take(pa.array(take, pa.int64()))
        cols = []
        for i in idx:
            col = t.column(i).combine_chunks()
            if col.type != schema.field(i).type:
                col = col.cast(schema.field(i).type, safe=False)
            cols.append(values_json(col))
        out.append({"rows": len(take), "columns": cols})
    return out


def assert_rows_same(read_tool, path, rows, fields=None):
    ours = rows_json(read_tool, path, rows, fields)["batches"]
    want = expected_rows(path, rows, fields)
    assert len(ours) == len(want)
    for g, (a, b) in enumerate(zip(ours, want)):
        assert a["rows"] == b["rows"], f"row group {g}"
        for c, (x, y) in enumerate(zip(a["columns"], b["columns"])):
            assert x == y, f"row group {g} column {c} rows {rows}"


def subsets(rng, n):
    yield []
    yield [0]
    yield [n - 1]
    yield list(range(n))
    for frac in (0.01, 0.1, 0.5):
        yield sorted(set(rng.choice(n, max(1, int(n * frac)),
                                    replace=False).tolist()))


@pytest.fixture(scope="module")
def table():
    return all_types_table(900)


@pytest.mark.parametrize("page_index", [True, False])
@pytest.mark.parametrize("version", ["1.0", "2.0"])
@pytest.mark.parametrize("dictionary", [True, False])
def test_pyarrow_files(tmp_path, read_tool, table, page_index, version,
                       dictionary):
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, data_page_version=version,
                   use_dictionary=dictionary, write_page_index=page_index,
                   compression="zstd" if dictionary else "snappy",
                   row_group_size=400, data_page_size=512)
    md = pq.ParquetFile(path).metadata
    assert md.row_group(0).column(0).has_offset_index == page_index
    rng = np.random.default_rng(3)
    for rows in subsets(rng, 400):
        assert_rows_same(read_tool, path, rows)
    # a projection, reordered and repeated
    assert_rows_same(read_tool, path, [5, 6, 7, 300], fields=[26, 3, 26, 0])


def fsl_table(kind, n=2000, dim=24):
    """`emb` fixed_size_list<float32, dim> and `id`: kind "required" (a
    non-nullable field), "nullable" (nullable, holding no null: what
    pyarrow writes for most embedding tables), "null_slots" (some rows
    null, in runs and alone) or "null_items" (a few null floats)."""
    rng = np.random.default_rng(len(kind))
    vals = rng.standard_normal(n * dim).astype(np.float32)
    items = pa.array(vals, mask=(rng.random(n * dim) < 0.002
                                 if kind == "null_items" else None))
    slots = None
    if kind == "null_slots":
        null = rng.random(n) < 0.01
        null[500:530] = True
        slots = pa.array(null)
    emb = pa.FixedSizeListArray.from_arrays(items, dim, mask=slots)
    return pa.Table.from_arrays(
        [emb, pa.array(np.arange(n), pa.int64())],
        schema=pa.schema([pa.field("emb", emb.type,
                                   nullable=kind != "required"),
                          pa.field("id", pa.int64(), nullable=False)]))


def page_starts(path, column=0):
    """First rows of the data pages of `column`, per row group, from the
    OffsetIndex (decoded by the test's own Thrift reader)."""
    data = pathlib.Path(path).read_bytes()
    footer_len = struct.unpack("<I", data[-8:-4])[0]
    footer, _ = thrift(data, len(data) - 8 - footer_len)
    out = []
    for rg in footer[4]:
        oi, _ = thrift(data, rg[1][column][4])  # offset_index_offset
        out.append([loc[3] for loc in oi[1]])  # first_row_index
    return out


@pytest.mark.parametrize("kind", ["required", "nullable", "null_slots",
                                  "null_items"])
@pytest.mark.parametrize("version", ["1.0", "2.0"])
@pytest.mark.parametrize("compression", ["none", "snappy"])
@pytest.mark.parametrize("dictionary", [False, True])
def test_pyarrow_fixed_size_lists(tmp_path, read_tool, kind, version,
                                  compression, dictionary):
    """Point reads of embedding-like columns written by pyarrow: PLAIN
    uncompressed pages without nulls are copied a row at a time, the rest
    decoded; the rows must be pyarrow's either way. Rows at the first and
    last position of every page, neighbours across page boundaries,
    several pages and row groups at once."""
    path = tmp_path / "fsl.parquet"
    pq.write_table(fsl_table(kind), path, data_page_version=version,
                   use_dictionary=dictionary, write_page_index=True,
                   compression=compression, row_group_size=700,
                   data_page_size=1024, write_batch_size=100)
    starts = page_starts(path)
    assert all(len(s) > 20 for s in starts)  # many pages per row group
    edges = sorted({r for s in starts for f in s[1:] for r in (f - 1, f)} |
                   {0, 599, 699})
    assert_rows_same(read_tool, path, edges)
    assert_rows_same(read_tool, path, edges, fields=[0])
    for f in starts[1][1:4]:  # one page's first row, then its last
        assert_rows_same(read_tool, path, [f], fields=[0])
        assert_rows_same(read_tool, path, [f - 1], fields=[0])
    rng = np.random.default_rng(7)
    for rows in subsets(rng, 700):
        assert_rows_same(read_tool, path, rows, fields=[1, 0])


def page_headers(data, col):
    """(offset, length, header fields) of the pages of a column chunk."""
    start = (col.dictionary_page_offset if col.has_dictionary_page
             else col.data_page_offset)
    end = start + col.total_compressed_size
    out = []
    at = start
    while at < end:
        h, body = thrift(data, at)
        out.append((at, body - at + h[3], h))
        at = body + h[3]  # 3: compressed_page_size
    assert at == end
    return out


def check_page_index(path):
    """Our writer's OffsetIndex and ColumnIndex against the pages."""
    data = pathlib.Path(path).read_bytes()
    pf = pq.ParquetFile(path)
    footer_len = struct.unpack("<I", data[-8:-4])[0]
    footer, _ = thrift(data, len(data) - 8 - footer_len)
    for g in range(pf.num_row_groups):
        rg = pf.metadata.row_group(g)
        table = pf.read_row_group(g)
        for c in range(rg.num_columns):
            col = rg.column(c)
            assert col.has_offset_index and col.has_column_index
            chunk = footer[4][g][1][c]  # row_groups, columns
            oi, end = thrift(data, chunk[4])
            assert end - chunk[4] == chunk[5]
            assert chunk[6] + chunk[7] <= chunk[4]  # column index first
            ci, end = thrift(data, chunk[6])
            assert end - chunk[6] == chunk[7]
            locs = oi[1]
            data_pages = [p for p in page_headers(data, col)
                          if p[2][1] in (0, 3)]  # DATA_PAGE, DATA_PAGE_V2
            assert [(p[0], p[1]) for p in data_pages] == \
                [(loc[1], loc[2]) for loc in locs]
            first = 0
            for loc, (_, _, h) in zip(locs, data_pages):
                assert loc[3] == first
                if 8 in h:   # v2: num_rows
                    first += h[8][3]
                else:        # v1, flat columns: num_values
                    first += h[5][1]
            assert first == rg.num_rows
            # ColumnIndex: null pages and null counts per page
            column = table.column(c).combine_chunks()
            bounds = [loc[3] for loc in locs] + [rg.num_rows]
            assert len(ci[1]) == len(locs) == len(ci[5])
            for i in range(len(locs)):
                page = column.slice(bounds[i], bounds[i + 1] - bounds[i])
                assert ci[1][i] == (page.null_count == len(page))
                assert ci[5][i] == page.null_count
                if ci[1][i]:
                    assert ci[2][i] == b"" and ci[3][i] == b""


def test_our_page_index(lib, tmp_path, read_tool):
    for version in (1, 2):
        path = tmp_path / f"ours-v{version}.parquet"
        n = 3000
        t = pa.table({
            "id": pa.array(np.arange(n), pa.int64()),
            "s": pa.array([None if i % 7 == 3 or 1000 <= i < 2000 else
                           f"word{i % 13}" for i in range(n)], pa.utf8()),
            "x": pa.array(np.random.default_rng(1).standard_normal(n)),
        })
        write(lib, path, t, opts(page_bytes=600, row_group_rows=1200,
                                 data_page_version=version))
        check_page_index(path)
        # pyarrow and DuckDB read the file
        assert pq.read_table(path).equals(t)
        assert duckdb.sql(f"SELECT count(*), sum(id), count(s) FROM "
                          f"'{path}'").fetchall() == \
            [(n, n * (n - 1) // 2, n - t.column("s").null_count)]
        rng = np.random.default_rng(version)
        for rows in subsets(rng, 600):
            assert_rows_same(read_tool, path, rows)


# ---- table level ----------------------------------------------------------

WORDS = [f"w{i}" for i in range(300)]


def docs(rng, lo, hi, dim):
    n = hi - lo
    body = [" ".join(rng.choice(WORDS, int(rng.integers(20, 120))))
            for _ in range(n)]
    return pa.table({
        "n": pa.array(np.arange(lo, hi), pa.int64()),
        "title": pa.array([None if i % 11 == 0 else f"title {i}"
                           for i in range(lo, hi)], pa.utf8()),
        "body": pa.array(body, pa.large_utf8()),
        "tags": pa.array([[f"t{j}" for j in range(i % 4)] if i % 9 else None
                          for i in range(lo, hi)], pa.list_(pa.utf8())),
        "v": pa.FixedSizeListArray.from_arrays(
            pa.array(rng.standard_normal(n * dim).astype(np.float32)), dim),
    })


@pytest.fixture(scope="module", params=["l2sq", "cosine", "negdot"])
def search_table(request, tmp_path_factory):
    rng = np.random.default_rng(11)
    dim = 16
    path = tmp_path_factory.mktemp("point") / request.param
    schema = pa.schema([
        pa.field("n", pa.int64(), nullable=False),
        pa.field("title", pa.utf8()),
        pa.field("body", pa.large_utf8()),
        pa.field("tags", pa.list_(pa.utf8())),
        pa.field("v", pa.list_(pa.float32(), dim), nullable=False),
    ])
    t = infino.connect(str(path)).create_table(
        "t", schema,
        infino.IndexSpec().fts("body").vector("v", dim, 16, request.param))
    # one big append (row groups of 65,536 rows at most), then small
    # ones: several superfiles, several row groups
    bounds = [0, 67000, 70000, 73000]
    parts = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        part = docs(rng, lo, hi, dim)
        t.append(part)
        parts.append(part)
    t.delete("n % 97 = 5")
    return t, pa.concat_tables(parts), request.param


def same_rows(t, got, cols):
    """Each result row equals the full-scan row with the same n."""
    ns = got.column("n").to_pylist()
    want = t.to_arrow(columns=cols,
                      where="n IN (" + ",".join(map(str, ns)) + ")")
    by_n = {r["n"]: r for r in want.to_pylist()}
    for r in got.to_pylist():
        w = by_n[r["n"]]
        for c in cols:
            assert r[c] == w[c], (c, r["n"])
    assert len(by_n) == len(set(ns))


def test_search_projections_equal_scan(search_table):
    t, _, _ = search_table
    cols = ["n", "title", "body", "tags", "v", "_id"]
    rng = np.random.default_rng(5)
    for _ in range(8):
        q = " ".join(rng.choice(WORDS, 2))
        got = t.bm25_search("body", q, 25, projection=cols + ["score"])
        assert got.num_rows == 25
        assert all(n % 97 != 5 for n in got.column("n").to_pylist())
        same_rows(t, got, cols)
        # the projection order and the default projection agree
        ids = t.bm25_search("body", q, 25).column("_id").to_pylist()
        assert ids == got.column("_id").to_pylist()
        vq = rng.standard_normal(16).astype(np.float32)
        got = t.vector_search("v", vq, 12, projection=cols + ["score"])
        assert got.num_rows == 12
        same_rows(t, got, cols)


def exact(metric, X, q):
    X = X.astype(np.float64)
    q = q.astype(np.float64)
    if metric == "l2sq":
        return ((X - q) ** 2).sum(axis=1)
    if metric == "negdot":
        return -(X @ q)
    return 1 - (X @ q) / (np.linalg.norm(X, axis=1) * np.linalg.norm(q))


def test_vector_scores_are_exact(search_table):
    t, data, metric = search_table
    X = data.column("v").combine_chunks().values.to_numpy().reshape(-1, 16)
    live = np.array([n % 97 != 5 for n in range(len(X))])
    rng = np.random.default_rng(8)
    for _ in range(10):
        q = rng.standard_normal(16).astype(np.float32)
        got = t.vector_search("v", q, 10, nprobe=16, projection=["n", "score"])
        ns = got.column("n").to_pylist()
        scores = np.array(got.column("score").to_pylist())
        want = exact(metric, X[ns], q)
        # float32 rounding of a distance computed exactly
        np.testing.assert_allclose(scores, want.astype(np.float32),
                                   rtol=1e-6, atol=1e-6)
        assert list(scores) == sorted(scores)
        # probing every cluster: the exact top 10, in exact order
        d = exact(metric, X, q)
        d[~live] = np.inf
        order = np.lexsort((np.arange(len(d)), d.astype(np.float32)))[:10]
        assert ns == order.tolist()
        # deterministic
        again = t.vector_search("v", q, 10, nprobe=16,
                                projection=["n", "score"])
        assert again.equals(got)


# ---- fuzz seeds -------------------------------------------------------------

def load_lib(path):
    lib = ctypes.CDLL(path)
    lib.infino_parquet_write.restype = ctypes.c_int
    lib.infino_parquet_write.argtypes = [
        ctypes.c_char_p, ctypes.POINTER(ArrowArrayStream),
        ctypes.POINTER(ParquetOpts)]
    lib.infino_last_error.restype = ctypes.c_char_p
    return lib


def write_seeds(root: pathlib.Path, lib_path):
    """Small files with page indexes for fuzz_parquet_read (a few KB each):
    pyarrow's and ours (through the shared library at `lib_path`)."""
    out = root / "fuzz_parquet_read"
    out.mkdir(parents=True, exist_ok=True)
    t = all_types_table(40).select(["i32", "s", "l_i32", "fsl", "dec9",
                                    "b", "ll_s"])
    for version in ("1.0", "2.0"):
        pq.write_table(t, out / f"seed-pageindex-v{version[0]}.parquet",
                       write_page_index=True, data_page_version=version,
                       row_group_size=25, data_page_size=64,
                       write_batch_size=8, compression="none")
        write(load_lib(lib_path), out / f"seed-ours-v{version[0]}.parquet",
              t, opts(codec=0, page_bytes=64, row_group_rows=25,
                      data_page_version=int(version[0]),
                      dictionary_bytes=100))
    files = sorted(out.glob("seed-pageindex-*")) + \
        sorted(out.glob("seed-ours-*"))
    # their page indexes, alone, for fuzz_parquet_pageindex
    idx_dir = root / "fuzz_parquet_pageindex"
    idx_dir.mkdir(parents=True, exist_ok=True)
    for f in files:
        data = f.read_bytes()
        footer_len = struct.unpack("<I", data[-8:-4])[0]
        footer, _ = thrift(data, len(data) - 8 - footer_len)
        for c in (0, 1, 2):  # int32, utf8, list<int32>
            chunk = footer[4][0][1][c]
            for kind, off, size in (("offset", 4, 5), ("column", 6, 7)):
                at, n = chunk[off], chunk[size]
                (idx_dir / f"{f.stem}-c{c}.{kind}").write_bytes(
                    data[at:at + n])
    return files + sorted(idx_dir.glob("seed-*"))


if __name__ == "__main__":
    from conftest import build_dir
    lib_file = os.environ.get("INFINO_LIB") or str(build_dir() /
                                                   "libinfino.so")
    for p in write_seeds(pathlib.Path(sys.argv[1]), lib_file):
        print(p, p.stat().st_size)
