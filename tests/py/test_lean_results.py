"""Search results without the stream import (issue 16 item 8).

Two paths are checked against an oracle:
- the default pa.Table, now imported against a schema cached by content
  (_native.to_table), against pyarrow's stream import of the same engine
  output (RecordBatchReader.from_stream(...).read_all(), the path it
  replaced): equal tables, schema and metadata included, across
  projections, tables whose columns share names but not types, schema
  changes and a table dropped and created again under the same name;
- the lean numpy results (bm25_search_ids, vector_search_ids with
  with_scores) against the default pa.Table: the same _ids in the same
  order (as 16 big-endian bytes) and the same float32 score bits.
"""
import numpy as np
import pyarrow as pa
import pytest

import infino
from infino import _infino

DIM = 8


def stream_import(capsule):
    return pa.RecordBatchReader.from_stream(_infino._Stream(capsule)).read_all()


def id_bytes(table):
    """The _id column as a (n, 16) uint8 array of big-endian integers."""
    ids = [int(x).to_bytes(16, "big", signed=True)
           for x in table.column("_id").to_pylist()]
    return np.frombuffer(b"".join(ids), dtype=np.uint8).reshape(len(ids), 16)


def make_table(tmp_path, rows=300, name="docs"):
    rng = np.random.default_rng(7)
    words = ["alpha", "beta", "gamma", "delta", "eps"]
    body = [" ".join(words[(i * j) % 5] for j in range(1 + i % 7)) + f" u{i}"
            for i in range(rows)]
    emb = rng.standard_normal((rows, DIM)).astype(np.float32)
    data = pa.table({
        "doc_id": pa.array([f"d{i}" for i in range(rows)]),
        "n": pa.array(np.arange(rows, dtype=np.int64)),
        "body": pa.array(body),
        "embedding": pa.FixedSizeListArray.from_arrays(
            pa.array(emb.ravel()), DIM)})
    db = infino.connect(str(tmp_path / "db"))
    t = db.create_table(name, data.schema, infino.IndexSpec().fts("body")
                        .vector("embedding", DIM, 4, "l2sq"))
    # two superfiles, so that hits come from both
    t.append(data.slice(0, rows // 2))
    t.append(data.slice(rows // 2))
    return db, t, emb


BM25_CASES = [("alpha", None, {}), ("beta gamma", None, {}),
              ("beta gamma", "and", {}), ("delta -eps", None, {}),
              ("u17", None, {}), ("alpha eps", None, {"k1": 2.0, "b": 0.3}),
              ("nothingmatches", None, {})]


@pytest.mark.parametrize("k", [1, 10, 1000])
def test_bm25_ids_match_the_table(tmp_path, k):
    _, t, _ = make_table(tmp_path)
    for query, mode, kw in BM25_CASES:
        want = t.bm25_search("body", query, k, mode, **kw)
        ids, scores = t.bm25_search_ids("body", query, k, mode, with_scores=True,
                                        **kw)
        assert ids.dtype == np.uint8 and ids.shape == (want.num_rows, 16)
        assert scores.dtype == np.float32 and scores.shape == (want.num_rows,)
        assert (ids == id_bytes(want)).all()
        got_bits = scores.view(np.uint32)
        want_bits = want.column("score").to_numpy().astype(np.float32).view(np.uint32)
        assert (got_bits == want_bits).all()
        only = t.bm25_search_ids("body", query, k, mode, **kw)
        assert (only == ids).all()
        ids[:] = 0  # the arrays own writable memory
    assert t.bm25_search_ids("body", "alpha", 0).shape == (0, 16)


def test_vector_ids_match_the_table(tmp_path):
    _, t, emb = make_table(tmp_path)
    rng = np.random.default_rng(3)
    for i in range(20):
        q = emb[i * 7] + 0.01 * rng.standard_normal(DIM).astype(np.float32)
        for nprobe in (None, 1, 4):
            for k in (1, 10, 500):
                want = t.vector_search("embedding", q, k, nprobe)
                ids, scores = t.vector_search_ids("embedding", q, k, nprobe,
                                                  with_scores=True)
                assert ids.shape == (want.num_rows, 16)
                assert (ids == id_bytes(want)).all()
                wb = want.column("score").to_numpy().astype(np.float32)
                assert (scores.view(np.uint32) == wb.view(np.uint32)).all()
                # upstream's signature: (column, query, k), ids only
                if nprobe is None:
                    assert (t.vector_search_ids("embedding", q.tolist(), k)
                            == ids).all()


def test_ids_errors_as_the_table(tmp_path):
    _, t, emb = make_table(tmp_path)
    for call in (lambda: t.bm25_search_ids("nope", "alpha", 3),
                 lambda: t.vector_search_ids("nope", emb[0], 3),
                 lambda: t.vector_search_ids("embedding", emb[0][:3], 3)):
        with pytest.raises(ValueError):
            call()
    with pytest.raises(TypeError):
        t.bm25_search_ids("body", 5, 3)
    with pytest.raises(OverflowError):
        t.bm25_search_ids("body", "alpha", -1)


PROJECTIONS = [None, ["_id"], ["score"], ["score", "_id"], ["doc_id"],
               ["n", "doc_id", "score"], ["body", "_id", "n"]]


def check_both_paths(t, emb):
    for proj in PROJECTIONS:
        got = t.bm25_search("body", "beta gamma", 10, projection=proj)
        want = stream_import(t._t.bm25_search("body", "beta gamma", 10, None,
                                              proj))
        assert got.schema.equals(want.schema, check_metadata=True)
        assert got.equals(want)
        got = t.vector_search("embedding", emb[5], 10, projection=proj)
        want = stream_import(t._t.vector_search("embedding", emb[5], 10, 0,
                                                None, None, None, proj))
        assert got.schema.equals(want.schema, check_metadata=True)
        assert got.equals(want)


def test_cached_schema_import_equals_the_stream_import(tmp_path):
    db, t, emb = make_table(tmp_path)
    check_both_paths(t, emb)
    check_both_paths(t, emb)  # now from the cache


def test_cache_follows_schema_changes(tmp_path):
    db, t, emb = make_table(tmp_path)
    check_both_paths(t, emb)
    # a second table whose "n" and "doc_id" have other types
    rows = 50
    other = pa.table({
        "doc_id": pa.array(np.arange(rows, dtype=np.int32)),
        "n": pa.array([f"s{i}" for i in range(rows)]),
        "body": pa.array(["beta gamma"] * rows),
        "embedding": pa.FixedSizeListArray.from_arrays(
            pa.array(emb[:rows].ravel()), DIM)})
    t2 = db.create_table("other", other.schema, infino.IndexSpec().fts("body")
                         .vector("embedding", DIM, 2, "l2sq"))
    t2.append(other)
    check_both_paths(t2, emb)
    got = t2.bm25_search("body", "beta", 3, projection=["doc_id", "n"])
    assert got.schema.field("doc_id").type == pa.int32()
    assert got.schema.field("n").type == pa.string()
    got = t.bm25_search("body", "beta", 3, projection=["doc_id", "n"])
    assert got.schema.field("doc_id").type == pa.string()
    assert got.schema.field("n").type == pa.int64()
    # a column added to the first table: projected, null for old rows
    db.schema("docs", {"fields": [{"name": "x", "type": "i64", "nullable": True}]})
    got = t.bm25_search("body", "alpha", 5, projection=["x", "n"])
    assert got.schema.names == ["x", "n"]
    assert got.column("x").null_count == got.num_rows
    want = stream_import(t._t.bm25_search("body", "alpha", 5, None, ["x", "n"]))
    assert got.equals(want) and got.schema.equals(want.schema, check_metadata=True)
    check_both_paths(t, emb)
    # dropped and created again under the same name, "n" now a float
    db.drop_table("other")
    other = other.set_column(1, "n", pa.array(np.arange(rows, dtype=np.float64)))
    t3 = db.create_table("other", other.schema, infino.IndexSpec().fts("body")
                         .vector("embedding", DIM, 2, "l2sq"))
    t3.append(other)
    got = t3.bm25_search("body", "beta", 3, projection=["n"])
    assert got.schema.field("n").type == pa.float64()
    check_both_paths(t3, emb)


def test_hidden_columns_stay_unreadable(tmp_path):
    db = infino.connect(str(tmp_path / "db"))
    data = pa.table({"title": ["red fox", "blue fox"], "secret": ["a b", "c d"]})
    t = db.create_table("h", data.schema, infino.IndexSpec().fts("title")
                        .fts("secret", stored=False))
    t.append(data)
    for _ in range(2):  # before and after the cache holds the table's schemas
        got = t.bm25_search("secret", "c", 5, projection=["title", "score"])
        assert got.column("title").to_pylist() == ["blue fox"]
        with pytest.raises(ValueError, match="stored=False"):
            t.bm25_search("title", "fox", 5, projection=["secret"])
        assert t.bm25_search_ids("secret", "a", 5).shape == (1, 16)
