"""memory:// frees what compaction merged away (gc runs there, and each
merge collects after itself), and no reader notices: a Table object taken
before many compactions still searches and reads every row, threads read
while another appends, and Table.gc returns a report instead of raising
(upstream refuses gc on memory://; docs/differences.md). Superfiles are
opened one at a time (INFINO_MAX_OPEN_SUPERFILES=1), so reads after a merge
re-open files whose objects gc may have deleted."""
from __future__ import annotations

import threading

import pyarrow as pa
import pytest

import infino

SCHEMA = pa.schema([("k", pa.int64()), ("body", pa.string())])


@pytest.fixture(autouse=True)
def one_open_superfile(monkeypatch):
    monkeypatch.setenv("INFINO_MAX_OPEN_SUPERFILES", "1")


def rows(first: int, n: int = 1) -> pa.Table:
    ks = list(range(first, first + n))
    return pa.table({"k": ks, "body": [f"common row{k}" for k in ks]}, schema=SCHEMA)


def keys(t) -> list:
    return sorted(t.to_arrow(columns=["k"]).column("k").to_pylist())


def test_old_table_object_reads_after_many_compactions():
    db = infino.connect("memory://", auto_compact=4)
    t = db.create_table("t", SCHEMA, infino.IndexSpec().fts("body"))
    for k in range(20):
        t.append(rows(k))
    old = db.open_table("t")
    assert keys(old) == list(range(20))
    assert len(old.bm25_search("body", "row7", 10)) == 1
    before = old.check().n_superfiles
    for k in range(20, 400):
        t.append(rows(k))
    assert t.check().n_superfiles <= 4 * 3  # F - 1 per tier, 5 tiers
    # the old object, untouched meanwhile, sees everything
    assert old.count_rows() == 400
    assert keys(old) == list(range(400))
    hits = old.bm25_search("body", "row7", 10, projection=["k"])
    assert len(hits) == 1 and hits.column("k")[0].as_py() == 7
    assert len(old.bm25_search("body", "row399", 10)) == 1
    assert before >= 1


def test_gc_on_memory_returns_a_report():
    db = infino.connect("memory://", auto_compact=4)
    t = db.create_table("t", SCHEMA, infino.IndexSpec().fts("body"))
    for k in range(100):
        t.append(rows(k))
    r = t.gc(0)
    assert r.delete_errors == 0
    assert keys(t) == list(range(100))
    t.optimize()
    assert t.check().n_superfiles == 1
    r = t.gc(0)
    assert r.delete_errors == 0
    assert keys(t) == list(range(100))
    assert t.check().n_rows == 100


def test_readers_in_threads_while_appends_compact():
    db = infino.connect("memory://", auto_compact=4)
    t = db.create_table("t", SCHEMA, infino.IndexSpec().fts("body"))
    t.append(rows(0))
    n_appends = 250
    committed = [1]
    done = threading.Event()
    errors: list = []

    def writer():
        try:
            for k in range(1, n_appends):
                t.append(rows(k))
                committed[0] = k + 1
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            done.set()

    def reader(table):
        try:
            while True:
                last = done.is_set()
                floor = committed[0]
                got = keys(table)
                assert len(got) >= floor and got == list(range(len(got)))
                hits = table.bm25_search("body", "row0", 5, projection=["k"])
                assert hits.column("k").to_pylist() == [0]
                if last:
                    return
        except Exception as e:
            errors.append(e)

    # one reader shares the writer's Table, one has its own
    threads = [threading.Thread(target=writer),
               threading.Thread(target=reader, args=(t,)),
               threading.Thread(target=reader, args=(db.open_table("t"),))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    assert keys(t) == list(range(n_appends))
    assert t.gc(0).delete_errors == 0
