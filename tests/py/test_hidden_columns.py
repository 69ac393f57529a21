"""Full-text columns indexed with IndexSpec.fts(column, stored=False):
searchable, never read back.

What upstream infino 0.11.0 does (measured with `pip install
infino==0.11.0`): such a column is absent from every read - `select *`,
search projections, SQL search functions, delete/update predicates - while
appends still take it and searches on it work. Table.schema() and
Connection.schema list it (the latter with "stored": False). Ours does the
same, with errors that say why the column cannot be read; unlike upstream
the text stays in the superfile's Parquet body (docs/differences.md), so
exact_match works on it, optimize and reindex rebuild its index, and
Parquet readers given a superfile see it.

Every check compares with a model of the table: rows by key, the hidden
text included (the model knows what was written; the engine must only use
it for searching).
"""
from __future__ import annotations

import random
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import infino
from helpers import superfiles

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"]
DIM = 4
SCHEMA = pa.schema([
    pa.field("k", pa.int64(), nullable=False),
    pa.field("title", pa.large_string()),
    pa.field("secret", pa.large_string()),
    pa.field("n", pa.int64()),
    pa.field("emb", pa.list_(pa.float32(), DIM)),
])
VISIBLE = ["k", "title", "n", "emb"]
# what a projection may name, as the error lists it
VALID = "valid columns: _id, k, title, n, emb, score"
# what SQL sees of the table (vectors are not visible to SQL)
SQL_COLUMNS = ["_id", "k", "title", "n"]
HIDDEN_ERR = r"'secret'.*stored=False"


def spec() -> infino.IndexSpec:
    return (infino.IndexSpec().fts("title").fts("secret", stored=False)
            .vector("emb", DIM, 2, "l2sq"))


def row(k: int, rng: random.Random) -> dict:
    secret = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
    return {"k": k, "title": f"title {k} {WORDS[k % len(WORDS)]}", "secret": secret,
            "n": k * 10, "emb": [float(k), float(k % 3), 1.0, -float(k)]}


class Model:
    """The table's live rows by key, hidden text included."""

    def __init__(self) -> None:
        self.rows: dict[int, dict] = {}

    def add(self, rows: list[dict]) -> None:
        for r in rows:
            self.rows[r["k"]] = dict(r)

    def visible(self) -> list[dict]:
        return [{c: r[c] for c in VISIBLE} for _, r in sorted(self.rows.items())]

    def matching(self, query: str, mode: str = "or") -> set[int]:
        want = query.split()
        test = all if mode == "and" else any
        return {k for k, r in self.rows.items()
                if test(w in (r["secret"] or "").split() for w in want)}

    def exact(self, value: str) -> set[int]:
        return {k for k, r in self.rows.items() if r["secret"] == value}


def keys(result: pa.Table) -> set[int]:
    return set(result.column("k").to_pylist())


def make(tmp_path, n: int = 40, batches: int = 2, seed: int = 7):
    rng = random.Random(seed)
    db = infino.connect(str(tmp_path / "db"))
    t = db.create_table("docs", SCHEMA, spec())
    model = Model()
    per = n // batches
    for b in range(batches):
        rows = [row(k, rng) for k in range(b * per, (b + 1) * per)]
        t.append(rows)
        model.add(rows)
    return db, t, model


def check_reads(db, t, model: Model) -> None:
    """Every read path shows the model's rows without the hidden column."""
    got = t.to_arrow()
    assert got.schema.names == ["_id"] + VISIBLE
    assert sorted(got.drop_columns(["_id"]).to_pylist(), key=lambda r: r["k"]) \
        == model.visible()
    assert t.to_arrow(columns=["k", "title"]).schema.names == ["k", "title"]
    assert t.count_rows() == len(model.rows)
    star = db.query_sql("select * from docs order by k")
    assert star.schema.names == SQL_COLUMNS
    assert star.drop_columns(["_id"]).to_pylist() == [
        {c: r[c] for c in SQL_COLUMNS[1:]} for r in model.visible()]
    # the declared schema keeps it: it is what appended rows follow
    assert t.schema().names == SCHEMA.names
    fields = {f["name"]: f for f in db.schema("docs")["fields"]}
    assert fields["secret"]["index"]["stored"] is False
    assert fields["title"]["index"]["stored"] is True


def check_searches(db, t, model: Model) -> None:
    """Searches on the hidden column answer from its index (exact_match
    from its stored text) as the model says."""
    for w in WORDS + ["alpha bravo", "nosuchword"]:
        want = model.matching(w)
        assert keys(t.token_match("secret", w, projection=["k"])) == want, w
        assert t.count("secret", w) == len(want), w
        top = t.bm25_search("secret", w, 1000, projection=["k", "title", "score"])
        assert keys(top) == want, w
        assert top.schema.names == ["k", "title", "score"]
        scores = top.column("score").to_pylist()
        assert scores == sorted(scores, reverse=True)
    both = model.matching("alpha bravo", "and")
    assert keys(t.token_match("secret", "alpha bravo", "and", projection=["k"])) == both
    assert t.count("secret", "alpha bravo", "and") == len(both)
    # the default result is unchanged: _id and score
    assert t.bm25_search("secret", "alpha", 5).schema.names == ["_id", "score"]
    for value in {r["secret"] for r in model.rows.values() if r["secret"]} \
            | {"alpha nosuchword"}:
        assert keys(t.exact_match("secret", value, projection=["k"])) \
            == model.exact(value), value
    # the hidden column as a vector search's filter and a hybrid's text
    # (nprobe: every list, so that the filter alone decides)
    near = t.vector_search("emb", [0.0, 0.0, 1.0, 0.0], 1000, 64, filter_column="secret",
                           filter_query="charlie", projection=["k"])
    assert keys(near) == model.matching("charlie")
    fused = t.hybrid_search("secret", "delta", "emb", [1.0, 1.0, 1.0, -1.0], 1000,
                            nprobe=64, projection=["k", "score"])
    assert model.matching("delta") <= keys(fused)
    # SQL search functions: the table's visible columns and the score
    sql = db.query_sql("select * from bm25_search('docs', 'secret', 'echo', 1000)")
    assert sql.schema.names == SQL_COLUMNS + ["score"]
    assert keys(sql) == model.matching("echo")
    sql = db.query_sql("select k from token_match('docs', 'secret', 'golf')")
    assert keys(sql) == model.matching("golf")
    some = next(iter(model.rows.values()))["secret"]
    sql = db.query_sql(f"select k from exact_match('docs', 'secret', '{some}')")
    assert keys(sql) == model.exact(some)


def check(db, t, model: Model) -> None:
    check_reads(db, t, model)
    check_searches(db, t, model)


def test_reads_and_searches_against_the_model(tmp_path):
    db, t, model = make(tmp_path)
    check(db, t, model)


def test_reading_it_is_a_value_error(tmp_path):
    db, t, model = make(tmp_path, n=10, batches=1)
    for sql in ["select secret from docs",
                "select k from docs where secret = 'alpha'",
                "select docs.secret from docs",
                "select SECRET from docs",
                "select count(*) from docs where secret like '%a%'",
                "select secret from bm25_search('docs', 'secret', 'alpha', 10)"]:
        with pytest.raises(ValueError, match=HIDDEN_ERR):
            db.query_sql(sql)
    with pytest.raises(ValueError, match=HIDDEN_ERR):
        t.to_arrow(columns=["k", "secret"])
    with pytest.raises(ValueError, match=HIDDEN_ERR):
        t.to_arrow(where="secret = 'alpha'")
    searches = [
        lambda p: t.bm25_search("secret", "alpha", 10, projection=p),
        lambda p: t.bm25_search("title", "title", 10, projection=p),
        lambda p: t.bm25_search_prefix("secret", "al", 10, projection=p),
        lambda p: t.token_match("secret", "alpha", projection=p),
        lambda p: t.exact_match("secret", "alpha", projection=p),
        lambda p: t.vector_search("emb", [0.0] * DIM, 10, projection=p),
        lambda p: t.hybrid_search("secret", "alpha", "emb", [0.0] * DIM, 10,
                                  projection=p),
    ]
    for search in searches:
        with pytest.raises(ValueError) as e:
            search(["k", "secret"])
        msg = str(e.value)
        assert 'unknown column "secret" in projection' in msg
        assert "stored=False" in msg
        assert msg.endswith(VALID)  # listed without it
        assert search(["k", "title"]).schema.names == ["k", "title"]
    # an unknown column is told the same way, without the stored=False note
    with pytest.raises(ValueError, match=re.escape(
            f'unknown column "nope" in projection; {VALID}')):
        t.bm25_search("secret", "alpha", 10, projection=["nope"])
    # predicates of delete and update: nothing changes
    for mutate in [lambda: t.delete("secret = 'alpha'"),
                   lambda: t.delete("k = 1 OR secret IS NULL"),
                   lambda: t.update("secret = 'alpha'", [row(1, random.Random(1))])]:
        with pytest.raises(ValueError, match=HIDDEN_ERR):
            mutate()
    check(db, t, model)


def test_appends_updates_and_deletes_keep_the_hidden_text(tmp_path):
    db, t, model = make(tmp_path)
    rng = random.Random(11)
    # update rewrites rows 3 and 25 (one in each superfile) with new text
    new = [dict(row(3, rng), secret="zulu yankee"), dict(row(25, rng), secret="zulu")]
    stats = t.update("k = 3 OR k = 25", new)
    assert (stats.matched, stats.n_tombstoned) == (2, 2)
    model.add(new)
    assert keys(t.token_match("secret", "zulu", projection=["k"])) == {3, 25}
    assert keys(t.exact_match("secret", "zulu yankee", projection=["k"])) == {3}
    # a delete by a visible column; appending more rows
    assert t.delete("k >= 30 AND k < 33").n_tombstoned == 3
    for k in (30, 31, 32):
        del model.rows[k]
    more = [row(k, rng) for k in range(100, 105)]
    t.append(more)
    model.add(more)
    check(db, t, model)
    # compaction rebuilds the index from the stored text
    t.optimize(infino.OptimizeOptions(min_fill_percent=100))
    assert len(t.to_arrow(columns=[])) == len(model.rows)
    check(db, t, model)
    # an update after compaction touches rows the index was rebuilt for
    again = [dict(row(5, rng), secret="whiskey alpha")]
    assert t.update("k = 5", again).n_tombstoned == 1
    model.add(again)
    check(db, t, model)
    # update replaces whole rows: one without the column has no hidden text
    # (as 0.11.0's, measured), the others keep theirs
    bare = {c: v for c, v in row(9, rng).items() if c != "secret"}
    assert t.update("k = 9", [bare]).n_tombstoned == 1
    model.add([dict(bare, secret=None)])
    check(db, t, model)


def test_reopening_keeps_it_hidden(tmp_path):
    db, t, model = make(tmp_path)
    t.optimize()
    root = str(tmp_path / "db")
    del t, db
    db = infino.connect(root)
    t = db.open_table("docs")
    check(db, t, model)
    with pytest.raises(ValueError, match=HIDDEN_ERR):
        db.query_sql("select secret from docs")


def test_superfiles_keep_the_column_for_parquet_readers(tmp_path):
    db, t, model = make(tmp_path)
    t.update("k = 7", [dict(row(7, random.Random(3)), secret="kilo lima")])
    model.rows[7]["secret"] = "kilo lima"
    t.optimize(infino.OptimizeOptions(min_fill_percent=100))
    t.gc(0)  # the folder now holds exactly the live rows
    files = superfiles(tmp_path / "db")
    assert len(files) == 1
    body = pq.read_table(files[0])
    assert body.schema.names == ["_id"] + SCHEMA.names
    assert body.schema.field("secret").type == pa.large_string()
    got = sorted((r["k"], r["secret"]) for r in body.select(["k", "secret"]).to_pylist())
    assert got == sorted((k, r["secret"]) for k, r in model.rows.items())
    # which is not what the engine's reads show
    assert "secret" not in t.to_arrow().schema.names
    check(db, t, model)


def test_memory_tables_hide_it_too(tmp_path):
    db = infino.connect("memory://")
    t = db.create_table("docs", SCHEMA, spec())
    model = Model()
    rows = [row(k, random.Random(k)) for k in range(12)]
    t.append(rows)
    model.add(rows)
    check(db, t, model)


def test_schema_document_creates_it_hidden(tmp_path):
    # Connection.schema(name, patch) creating a table: "stored": False in a
    # field's index is IndexSpec.fts(stored=False)
    db = infino.connect(str(tmp_path / "db"))
    doc = db.schema("notes", {"fields": [
        {"name": "k", "type": "i64", "nullable": False},
        {"name": "secret", "type": "large_utf8",
         "index": {"kind": "fts", "stored": False}},
    ]})
    assert doc["fields"][1]["index"]["stored"] is False
    t = db.open_table("notes")
    t.append([{"k": 1, "secret": "hotel india"}, {"k": 2, "secret": "juliet"}])
    assert t.to_arrow().schema.names == ["_id", "k"]
    assert keys(t.token_match("secret", "india", projection=["k"])) == {1}
    with pytest.raises(ValueError, match=r"'secret' of table notes.*stored=False"):
        db.query_sql("select secret from notes")
