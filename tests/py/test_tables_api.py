"""The table lifecycle API: names, arguments, defaults, types and errors as
upstream infino's Python API has them."""
from __future__ import annotations

import decimal
import pathlib

import pyarrow as pa
import pytest

import infino
from helpers import DIM, SEED_SCHEMA, embed


@pytest.fixture
def db(tmp_path):
    return infino.connect(str(tmp_path / "db"))


def rows(n, start=0, dim=DIM):
    return [
        {"doc_id": str(i), "body": f"document number {i}", "embedding": embed(str(i), dim)}
        for i in range(start, start + n)
    ]


def test_package_surface():
    # upstream HEAD's names plus 0.11.0's exception and reindex classes
    assert set(infino.__all__) == {
        "connect", "Connection", "Table", "IndexSpec", "MutationStats", "GcReport",
        "OptimizeOptions", "InfinoError", "ConflictError",
        "ConnectionMemoryBudgetError", "AlreadyRunningError",
        "ReindexOptions", "ReindexReport", "StalenessReport", "PlannedRepair",
    }
    assert isinstance(infino.__version__, str) and infino.__version__
    pkg = pathlib.Path(infino.__file__).parent
    assert (pkg / "py.typed").exists() and (pkg / "_infino.pyi").exists()


def test_connect_options(tmp_path):
    infino.connect(str(tmp_path / "a"), storage_options={"aws_region": "us-east-1"})
    infino.connect(str(tmp_path / "b"), cold_fetch_mode="RANGE_ONLY", cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="cold_fetch_mode"):
        infino.connect(str(tmp_path / "c"), cold_fetch_mode="eager")
    with pytest.raises(RuntimeError, match="gopher"):
        infino.connect("gopher://host/x")
    with pytest.raises(OverflowError):
        infino.connect(str(tmp_path / "d"), cache_budget_bytes=-1)
    db = infino.connect(f"file://{tmp_path / 'e'}")
    assert db.list_tables() == []


def test_catalog_errors(db):
    t = db.create_table("docs", SEED_SCHEMA, infino.IndexSpec())
    assert isinstance(t, infino.Table)
    with pytest.raises(ValueError, match="docs"):
        db.create_table("docs", SEED_SCHEMA, infino.IndexSpec())
    with pytest.raises(KeyError) as e:
        db.open_table("nope")
    assert e.value.args == ("nope",)
    with pytest.raises(KeyError):
        db.drop_table("nope")
    for bad in ["", "_hidden", "has space", "semi;colon", "a/b"]:
        with pytest.raises(RuntimeError):
            db.create_table(bad, SEED_SCHEMA, infino.IndexSpec())
    for name in ["zeta", "alpha", "Mid-1", "b_2"]:
        db.create_table(name, SEED_SCHEMA, infino.IndexSpec())
    assert db.list_tables() == sorted(["docs", "zeta", "alpha", "Mid-1", "b_2"])
    db.drop_table("zeta")
    assert "zeta" not in db.list_tables()
    # a re-created name is a fresh, empty table
    t2 = db.create_table("zeta", SEED_SCHEMA, infino.IndexSpec())
    assert t2.count_rows() == 0


def test_schema_validation(db):
    with pytest.raises(ValueError, match="_id"):
        db.create_table("t1", pa.schema([("_id", pa.int64()), ("x", pa.int64())]), infino.IndexSpec())
    with pytest.raises(ValueError, match="n"):
        db.create_table("t2", pa.schema([("n", pa.int64())]), infino.IndexSpec().fts("n"))
    with pytest.raises(ValueError, match="missing"):
        db.create_table("t3", pa.schema([("n", pa.int64())]), infino.IndexSpec().fts("missing"))
    with pytest.raises(ValueError, match="embedding"):
        db.create_table("t4", SEED_SCHEMA, infino.IndexSpec().vector("embedding", 128, 4, "cosine"))
    with pytest.raises(ValueError, match="metric"):
        db.create_table("t5", SEED_SCHEMA, infino.IndexSpec().vector("embedding", DIM, 4, "hamming"))
    for metric in ["cosine", "L2SQ", "l2", "negdot", "Dot"]:
        db.create_table(f"m{metric}", SEED_SCHEMA,
                        infino.IndexSpec().fts("body").vector("embedding", DIM, 4, metric))
    # utf8 text columns are accepted too (upstream insists on large_utf8)
    s = pa.schema([("title", pa.utf8())])
    db.create_table("t6", s, infino.IndexSpec().fts("title"))
    # IndexSpec is immutable
    a = infino.IndexSpec()
    b = a.fts("body")
    assert a is not b and "fts" not in repr(a) and "body" in repr(b)


def test_append_inputs(db):
    import pandas as pd

    t = db.create_table("docs", SEED_SCHEMA, infino.IndexSpec().fts("body"))
    t.append(rows(3))
    t.append(pa.Table.from_pylist(rows(2, 3), schema=SEED_SCHEMA))
    t.append(pa.RecordBatch.from_pylist(rows(2, 5), schema=SEED_SCHEMA))
    t.append(pd.DataFrame(rows(2, 7)))
    # columns in another order, utf8 instead of large_utf8, list<float64>
    # instead of fixed_size_list<float32>: converted
    loose = pa.table({
        "embedding": pa.array([embed("9")], pa.list_(pa.float64())),
        "body": pa.array(["document number 9"], pa.utf8()),
        "doc_id": pa.array(["9"], pa.utf8()),
    })
    t.append(loose)

    class Exporter:
        def __arrow_c_stream__(self, requested_schema=None):
            return pa.Table.from_pylist(rows(1, 10), schema=SEED_SCHEMA).__arrow_c_stream__()

    t.append(Exporter())
    t.append([])
    t.append(SEED_SCHEMA.empty_table())
    got = t.to_arrow(columns=["doc_id", "body"]).sort_by("doc_id")
    assert got.column("doc_id").to_pylist() == sorted(str(i) for i in range(11))
    assert got.column("body").to_pylist() == [f"document number {i}" for i in sorted(str(i) for i in range(11))]
    emb = t.to_arrow(columns=["doc_id", "embedding"]).sort_by("doc_id")
    v = emb.column("embedding").to_pylist()[0]
    assert len(v) == DIM and abs(v[0] - pa.scalar(embed("0")[0], pa.float32()).as_py()) == 0


def test_append_rejections_name_column_and_row(db):
    t = db.create_table("docs", SEED_SCHEMA, infino.IndexSpec())
    good = rows(3)
    cases = [
        ([*good[:2], {"doc_id": "x", "body": "b"}], "embedding"),  # missing key -> null
        ([*good[:1], {**good[1], "extra": 1}], "extra"),
        ([*good[:1], {**good[1], "embedding": embed("y")[:DIM - 1]}], "embedding"),
        ([*good[:1], {**good[1], "body": None}], "body"),
        ([{**good[0], "doc_id": 5}], "doc_id"),
    ]
    for bad, column in cases:
        with pytest.raises(ValueError, match=column):
            t.append(bad)
    # pyarrow inputs are checked in C, naming the row
    tbl = pa.table({
        "doc_id": pa.array(["a", None, "c"], pa.large_utf8()),
        "body": pa.array(["x", "y", "z"], pa.large_utf8()),
        "embedding": pa.array([embed("a"), embed("b"), embed("c")], pa.list_(pa.float32(), DIM)),
    })
    with pytest.raises(ValueError, match=r"doc_id.*row 1"):
        t.append(tbl)
    short = pa.table({
        "doc_id": pa.array(["a", "b"], pa.large_utf8()),
        "body": pa.array(["x", "y"], pa.large_utf8()),
        "embedding": pa.array([embed("a"), embed("b")[:10]], pa.list_(pa.float32())),
    })
    with pytest.raises(ValueError, match=r"embedding.*row 1"):
        t.append(short)
    with pytest.raises(ValueError, match="missing"):
        t.append(pa.table({"doc_id": ["a"], "body": ["b"]}))
    with pytest.raises(TypeError):
        t.append(42)
    assert t.count_rows() == 0  # all or nothing


def test_ids(db):
    t = db.create_table("docs", SEED_SCHEMA, infino.IndexSpec())
    t.append(rows(50))
    t.append(rows(50, 50))
    got = t.to_arrow(columns=["_id", "doc_id"])
    assert got.schema.field("_id").type == pa.decimal128(38, 0)
    assert not got.schema.field("_id").nullable
    ids = got.column("_id").to_pylist()
    assert all(isinstance(i, decimal.Decimal) for i in ids)
    assert len(set(ids)) == 100
    by_doc = dict(zip(got.column("doc_id").to_pylist(), ids))
    # increasing in append order within and across appends
    seq = [by_doc[str(i)] for i in range(100)]
    assert seq == sorted(seq)
    # an update gives the replacement a new id
    t.update("doc_id = '7'", rows(1, 7))
    new = t.to_arrow(columns=["_id", "doc_id"]).to_pylist()
    new_by_doc = {r["doc_id"]: r["_id"] for r in new}
    assert new_by_doc["7"] != by_doc["7"] and new_by_doc["7"] > max(ids)
    assert t.schema() == SEED_SCHEMA  # no _id in the declared schema


def test_predicates(db):
    s = pa.schema([("tag", pa.utf8()), ("price", pa.float64()), ("n", pa.int32()),
                   ("day", pa.date32()), ("ok", pa.bool_())])
    t = db.create_table("p", s, infino.IndexSpec())
    import datetime as dt

    data = [
        {"tag": "a", "price": 5.0, "n": 1, "day": dt.date(2024, 1, 1), "ok": True},
        {"tag": "b", "price": 15.0, "n": 2, "day": dt.date(2024, 2, 1), "ok": False},
        {"tag": "c", "price": 25.0, "n": 3, "day": dt.date(2024, 3, 1), "ok": True},
        {"tag": None, "price": 35.0, "n": 4, "day": None, "ok": None},
    ]
    t.append(data)
    st = t.delete("price > 10 AND tag IN ('a','b')")
    assert (st.matched, st.n_tombstoned, st.n_not_found) == (1, 1, 0)
    assert repr(st) == "MutationStats(matched=1, n_tombstoned=1, n_not_found=0)"
    assert t.delete("tag = 'zzz'").matched == 0
    assert sorted(r["n"] for r in t.to_arrow().to_pylist()) == [1, 3, 4]
    assert t.to_arrow(columns=["n"], where="day >= '2024-02-15'").column("n").to_pylist() == [3]
    assert t.to_arrow(columns=["n"], where="tag IS NULL").column("n").to_pylist() == [4]
    assert t.to_arrow(columns=["n"], where="ok").column("n").to_pylist() == [1, 3]
    for bad in ["", "nope = 1", "1) UNION SELECT (1", "n = 1; DROP TABLE t",
                "n = (1", "tag = 'unterminated"]:
        with pytest.raises(ValueError):
            t.delete(bad)
    assert t.count_rows() == 3


def test_optimize_and_gc(db):
    t = db.create_table("docs", SEED_SCHEMA, infino.IndexSpec().fts("body"))
    for i in range(5):
        t.append(rows(20, 20 * i))
    t.delete("doc_id IN ('3', '33', '77')")
    before = t.to_arrow(columns=["_id", "doc_id", "body"]).sort_by("_id")
    t.optimize()
    t.optimize(infino.OptimizeOptions(max_memory_mb=64, min_fill_percent=50,
                                      target_superfile_size_mb=16))
    after = t.to_arrow(columns=["_id", "doc_id", "body"]).sort_by("_id")
    assert after.equals(before)
    report = t.gc(0)
    assert isinstance(report, infino.GcReport)
    assert report.objects_deleted >= 5 and report.bytes_freed > 0
    assert report.delete_errors == 0
    assert t.to_arrow(columns=["_id", "doc_id", "body"]).sort_by("_id").equals(before)
    assert "GcReport(bytes_freed=" in repr(report)
    again = t.gc(-5)  # negative grace clamps to 0
    assert again.objects_deleted == 0
    with pytest.raises(TypeError):
        infino.OptimizeOptions(max_memory_mb="lots")
    with pytest.raises(OverflowError):
        infino.OptimizeOptions(max_memory_mb=-1)
    with pytest.raises(OverflowError):
        infino.OptimizeOptions(min_fill_percent=300)
    with pytest.raises(TypeError):
        infino.OptimizeOptions(64)


def test_reopen_sees_everything(tmp_path):
    path = str(tmp_path / "db")
    db = infino.connect(path)
    t = db.create_table("docs", SEED_SCHEMA, infino.IndexSpec().fts("body"))
    t.append(rows(10))
    t.delete("doc_id = '4'")
    db2 = infino.connect(path)
    t2 = db2.open_table("docs")
    assert t2.count_rows() == 9
    # commits through one handle are visible to the other on the next call
    t2.append(rows(1, 100))
    assert t.count_rows() == 10
