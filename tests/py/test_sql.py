"""query_sql: SQL over tables (SQLite dialect) and the search table
functions, checked against the table API and pyarrow."""
from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import infino


@pytest.fixture
def db(tmp_path):
    db = infino.connect(str(tmp_path))
    schema = pa.schema([
        pa.field("title", pa.large_utf8(), nullable=False),
        pa.field("category", pa.utf8()),
        pa.field("price", pa.float64()),
        pa.field("qty", pa.int32()),
        pa.field("day", pa.date32()),
        pa.field("at", pa.timestamp("us", tz="UTC")),
        pa.field("v", pa.list_(pa.float32(), 4)),
    ])
    t = db.create_table("docs", schema, infino.IndexSpec().fts("title").vector("v", 4, 2, "l2sq"))
    rows = [{
        "title": ("quick brown fox " if i % 3 == 0 else "lazy dog ") + str(i),
        "category": [None, "a", "b", "c"][i % 4],
        "price": i * 2.5, "qty": i, "day": dt.date(2024, 1, 1 + i % 28),
        "at": dt.datetime(2024, 5, 1, 12, 0, i % 60, 250000, tzinfo=dt.timezone.utc),
        "v": [float(i), float(i % 5), 1.0, 0.0],
    } for i in range(60)]
    t.append(rows[:30])
    t.append(rows[30:])
    t.delete("qty IN (7, 8)")
    other = db.create_table("cats", pa.schema([("category", pa.utf8()), ("label", pa.utf8())]),
                            infino.IndexSpec())
    other.append([{"category": "a", "label": "Apples"}, {"category": "b", "label": "Bananas"}])
    return db


def test_scans_aggregates_and_types(db):
    t = db.open_table("docs")
    n = db.query_sql("SELECT COUNT(*) AS n FROM docs")
    assert n.column_names == ["n"] and n.schema.field("n").type == pa.int64()
    assert n.to_pylist() == [{"n": 58}]
    full = db.query_sql("SELECT * FROM docs")
    # vectors are not visible; _id is, with its Arrow type
    assert full.column_names == ["_id", "title", "category", "price", "qty", "day", "at"]
    assert full.schema.field("_id").type == pa.decimal128(38, 0)
    assert full.schema.field("title").type == pa.large_utf8()
    assert full.schema.field("day").type == pa.date32()
    assert full.schema.field("at").type == pa.timestamp("us", tz="UTC")
    want = t.to_arrow(columns=["_id", "title", "category", "price", "qty", "day", "at"])
    assert full.sort_by("_id").cast(want.schema).equals(want.sort_by("_id"))
    g = db.query_sql("SELECT category, COUNT(*) AS n, SUM(price) AS total FROM docs "
                     "GROUP BY category ORDER BY category").to_pylist()
    ref = want.group_by("category").aggregate([([], "count_all"), ("price", "sum")])
    expect = {r["category"]: (r["count_all"], r["price_sum"]) for r in ref.to_pylist()}
    assert {r["category"]: (r["n"], r["total"]) for r in g} == expect
    f = db.query_sql("SELECT qty FROM docs WHERE day >= '2024-01-20' AND category = 'c' ORDER BY qty")
    mask = pc.and_(pc.greater_equal(want.column("day"), pa.scalar(dt.date(2024, 1, 20))),
                   pc.equal(want.column("category"), "c"))
    assert f.column("qty").to_pylist() == sorted(want.filter(mask).column("qty").to_pylist())
    j = db.query_sql("SELECT d.qty, c.label FROM docs d JOIN cats c ON d.category = c.category "
                     "WHERE d.qty < 6 ORDER BY d.qty").to_pylist()
    assert j == [{"qty": 1, "label": "Apples"}, {"qty": 2, "label": "Bananas"},
                 {"qty": 5, "label": "Apples"}]


def test_table_functions_match_the_methods(db):
    t = db.open_table("docs")
    got = db.query_sql("SELECT _id, score FROM bm25_search('docs', 'title', 'fox', 5)")
    want = t.bm25_search("title", "fox", 5)
    assert got.column("_id").to_pylist() == want.column("_id").to_pylist()
    assert got.column("score").to_pylist() == pytest.approx(want.column("score").to_pylist())
    assert got.schema.field("score").type == pa.float32()
    got = db.query_sql("SELECT _id FROM bm25_search('docs', 'title', 'lazy dog', 5, 'AND')")
    assert got.column("_id").to_pylist() == t.bm25_search(
        "title", "lazy dog", 5, mode="and").column("_id").to_pylist()
    got = db.query_sql("SELECT qty, score FROM vector_search('docs', 'v', '[3, 3, 1, 0]', 3)")
    want = t.vector_search("v", [3, 3, 1, 0], 3, projection=["qty", "score"])
    assert got.column("qty").to_pylist() == want.column("qty").to_pylist()
    assert got.column("score").to_pylist() == pytest.approx(want.column("score").to_pylist())
    hy = db.query_sql("SELECT _id FROM hybrid_search('docs', 'title', 'fox', 'v', '1,1,1,0', 10)")
    assert set(hy.column("_id").to_pylist()) == set(
        t.hybrid_search("title", "fox", "v", [1, 1, 1, 0], 10).column("_id").to_pylist())
    tm = db.query_sql("SELECT COUNT(*) AS n FROM token_match('docs', 'title', 'fox')")
    assert tm.to_pylist() == [{"n": t.count("title", "fox")}]
    em = db.query_sql("SELECT qty FROM exact_match('docs', 'title', 'lazy dog 4')")
    assert em.to_pylist() == [{"qty": 4}]
    # joinable with anything
    j = db.query_sql("SELECT s.qty, c.label FROM bm25_search('docs','title','dog',50) s "
                     "JOIN cats c USING (category) ORDER BY s.qty LIMIT 2").to_pylist()
    assert j == [{"qty": 1, "label": "Apples"}, {"qty": 2, "label": "Bananas"}]


def test_errors(db):
    for bad in ["SELECT * FROM nope", "SELEC 1", "SELECT 1; SELECT 2",
                "DELETE FROM docs", "SELECT * FROM bm25_search('nope','title','x',3)",
                "SELECT * FROM bm25_search('docs','missing','x',3)",
                "SELECT * FROM bm25_search('docs','title','x',-1)",
                "SELECT * FROM bm25_search('docs','title')",
                "SELECT * FROM vector_search('docs','v','1,2',3)",
                "CREATE TABLE x(a)", "ATTACH ':memory:' AS m"]:
        with pytest.raises(ValueError):
            db.query_sql(bad)
    # the documented decimal type of _id comes back intact
    one = db.query_sql("SELECT _id FROM docs LIMIT 1").column("_id")[0].as_py()
    assert isinstance(one, decimal.Decimal)
