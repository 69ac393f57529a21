"""The superfile container: index regions between the row groups and the
footer are invisible to plain Parquet readers, found and verified by ours,
and a flipped byte in a region is reported as corruption."""
from __future__ import annotations

import subprocess

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq


def regions(tool, path):
    out = subprocess.run([tool("api_superfile_tool"), "regions", str(path)],
                         check=True, capture_output=True, text=True).stdout
    rows = [line.split() for line in out.splitlines()]
    return {r[0]: (int(r[1]), int(r[2]), r[3], r[4] == "1") for r in rows}


def test_regions_are_invisible_and_verified(tmp_path, tool):
    src = tmp_path / "in.parquet"
    table = pa.table({
        "id": pa.array(range(5000), pa.int64()),
        "text": pa.array([f"row {i} " * (i % 5) for i in range(5000)], pa.large_utf8()),
        "vec": pa.array([[float(i), 1.0, 2.0, 3.0] for i in range(5000)], pa.list_(pa.float32(), 4)),
        "maybe": pa.array([None if i % 3 == 0 else i for i in range(5000)], pa.int32()),
    })
    pq.write_table(table, src, row_group_size=1000)
    out = tmp_path / "out.sf.parquet"
    subprocess.run([tool("api_superfile_tool"), "wrap", str(src), str(out)], check=True)

    # pyarrow and DuckDB see exactly the table
    assert pq.read_table(out).equals(table)
    con = duckdb.connect()
    assert con.execute(f"select count(*), sum(id), count(maybe) from '{out}'").fetchone() == (
        5000, sum(range(5000)), 5000 - 1667)
    assert pq.ParquetFile(out).metadata.num_row_groups >= 1

    found = regions(tool, out)
    assert set(found) == {"test.alpha", "test.beta"}
    assert found["test.alpha"][1] == 1000 and found["test.beta"][1] == 5000
    assert all(r[3] for r in found.values())
    footer_start = out.stat().st_size - 8 - int.from_bytes(out.read_bytes()[-8:-4], "little")
    for off, length, _, _ in found.values():
        assert 4 <= off and off + length <= footer_start

    # a flipped byte inside one region is caught, and only there
    data = bytearray(out.read_bytes())
    off, length, _, _ = found["test.beta"]
    data[off + length // 2] ^= 0x40
    bad = tmp_path / "bad.sf.parquet"
    bad.write_bytes(bytes(data))
    again = regions(tool, bad)
    assert again["test.alpha"][3] is True
    assert again["test.beta"][3] is False
    assert pq.read_table(bad).equals(table)  # the Parquet body is untouched


def test_plain_parquet_has_no_regions(tmp_path, tool):
    p = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"x": [1, 2, 3]}), p)
    assert regions(tool, p) == {}
