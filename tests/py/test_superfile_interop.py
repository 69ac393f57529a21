"""Every superfile of a table is plain Parquet: pyarrow and DuckDB read it,
with identical values, and together the files hold the table's rows."""
from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

import infino
from helpers import DIM, SEED_SCHEMA, embed, superfiles


def test_superfiles_open_in_pyarrow_and_duckdb(tmp_path):
    root = tmp_path / "db"
    t = infino.connect(str(root)).create_table(
        "docs", SEED_SCHEMA, infino.IndexSpec().fts("body").vector("embedding", DIM, 4, "cosine")
    )
    for a in range(3):
        t.append([
            {"doc_id": f"{a}-{i}", "body": f"text {a} {i} café", "embedding": embed(f"{a}{i}")}
            for i in range(30)
        ])
    files = superfiles(root)
    assert len(files) == 3
    frames = []
    for f in files:
        ours = pq.read_table(f)
        assert ours.schema.names == ["_id", "doc_id", "body", "embedding"]
        assert ours.schema.field("_id").type == pa.decimal128(38, 0)
        assert ours.schema.field("embedding").type == pa.list_(pa.float32(), DIM)
        assert ours.schema.field("doc_id").type == pa.large_utf8()
        con = duckdb.connect()
        dd = con.execute(f"select doc_id, body from read_parquet('{f}') order by doc_id").fetchall()
        py = sorted(zip(ours.column("doc_id").to_pylist(), ours.column("body").to_pylist()))
        assert dd == py
        n = con.execute(f"select count(*), min(len(embedding)) from read_parquet('{f}')").fetchone()
        assert n == (30, DIM)
        frames.append(ours)
    union = pa.concat_tables(frames).select(["_id", "doc_id", "body", "embedding"]).sort_by("_id")
    live = t.to_arrow().sort_by("_id")
    assert union.equals(live)
    # globbing the whole folder works as upstream documents
    con = duckdb.connect()
    assert con.execute(f"select count(*) from read_parquet('{root}/**/*.sf.parquet')").fetchone() == (90,)
