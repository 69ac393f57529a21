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


def test_folder_glob_sees_tombstoned_rows_until_optimize_and_gc(tmp_path):
    # What docs/object-storage.md tells DuckDB/Spark/Trino users: a delete
    # leaves its rows in the superfiles (a tombstone hides them from us
    # only), and optimize's replaced files stay in the folder until gc; after
    # optimize + gc(0), the folder's superfiles hold exactly the live rows.
    root = tmp_path / "db"
    db = infino.connect(str(root))
    t = db.create_table("docs", SEED_SCHEMA, infino.IndexSpec().fts("body"))
    for a in range(2):
        t.append([{"doc_id": f"{a}-{i}", "body": f"b {i}", "embedding": embed(f"{a}{i}")}
                  for i in range(20)])
    assert t.delete("doc_id = '0-3' OR doc_id = '1-7'").n_tombstoned == 2
    glob = f"{root}/tables/docs-*/superfiles/*.sf.parquet"
    con = duckdb.connect()

    def external():
        return con.execute(f"select count(*), count(distinct _id) from read_parquet('{glob}')"
                           ).fetchone()

    assert t.count_rows() == 38
    assert external() == (40, 40)          # tombstoned rows still there
    t.optimize()
    assert t.count_rows() == 38
    assert external()[0] > 38              # old files and the merged one
    t.gc(0)
    assert external() == (38, 38)
    assert t.check().n_superfiles == len(superfiles(root))
    ids = {r[0] for r in con.execute(f"select doc_id from read_parquet('{glob}')").fetchall()}
    assert "0-3" not in ids and "1-7" not in ids and len(ids) == 38
