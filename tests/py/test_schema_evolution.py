"""Connection.schema: the schema document, and tables growing by nullable
columns (issue 15 item 4).

The document's shape and the error classes were observed on upstream
infino 0.11.0 and are written down here as assertions (upstream is not
installed where these tests run). Data checks compare with a model of the
table: a dict _id-free list of rows, with None for columns a row predates.
"""
import pyarrow as pa
import pytest

import infino

FTS_DOC = {"analyzer": "standard", "b": 0.75, "k1": 1.2000000476837158,
           "kind": "fts", "positions": False, "stored": True}


def make(tmp_path, name="docs"):
    db = infino.connect(str(tmp_path / "db"))
    schema = pa.schema([pa.field("title", pa.large_string()),
                        pa.field("n", pa.int64(), nullable=False)])
    t = db.create_table(name, schema, infino.IndexSpec().fts("title"))
    return db, t


def rows_sql(db, cols, table="docs"):
    got = db.query_sql(f"select {', '.join(cols)} from {table} order by n")
    return got.to_pylist()


def model_rows(model, cols):
    return [{c: r.get(c) for c in cols} for r in sorted(model, key=lambda r: r["n"])]


def test_document_shape_as_upstream(tmp_path):
    db, _ = make(tmp_path)
    doc = db.schema("docs")
    assert doc == {
        "fields": [
            {"id": 1, "index": FTS_DOC, "name": "title", "nullable": True,
             "type": "large_utf8"},
            {"id": 2, "name": "n", "nullable": False, "type": "i64"},
        ],
        "last_field_id": 2, "max_depth": 2, "max_fields": 1599,
        "schema_id": 1, "tombstoned": [],
    }


def test_type_names_as_upstream(tmp_path):
    db = infino.connect(str(tmp_path / "db"))
    types = {
        "i8": pa.int8(), "u16": pa.uint16(), "f32": pa.float32(), "f64": pa.float64(),
        "bool": pa.bool_(), "utf8": pa.string(), "large_binary": pa.large_binary(),
        "date32": pa.date32(),
    }
    for name, ty in types.items():
        db.create_table("t_" + name, pa.schema([pa.field("a", ty)]), infino.IndexSpec())
        assert db.schema("t_" + name)["fields"][0]["type"] == name
    cases = [
        (pa.timestamp("ms", tz="UTC"), {"type": "timestamp_ms", "tz": "UTC"}),
        (pa.decimal128(10, 2), {"type": "decimal", "precision": 10, "scale": 2}),
        (pa.list_(pa.float32(), 16), {"type": "vector", "dim": 16}),
        (pa.list_(pa.int32(), 3), {"type": "fixed_size_list", "dim": 3,
                                   "item": {"name": "item", "nullable": True, "type": "i32"}}),
        (pa.large_list(pa.string()), {"type": "large_list",
                                      "item": {"name": "item", "nullable": True, "type": "utf8"}}),
    ]
    for i, (ty, want) in enumerate(cases):
        db.create_table(f"c{i}", pa.schema([pa.field("a", ty)]), infino.IndexSpec())
        got = db.schema(f"c{i}")["fields"][0]
        assert {k: v for k, v in got.items() if k not in ("id", "name", "nullable")} == want
        # and the same description, as a patch, makes the same column
        doc = db.schema(f"c{i}", {"fields": [dict(want, name="b")]})
        assert doc["fields"][1]["type"] == want["type"]
        assert db.open_table(f"c{i}").schema().field("b").type == ty


def test_add_nullable_columns(tmp_path):
    db, t = make(tmp_path)
    model = []
    for n in range(3):
        t.append([{"title": f"old row {n}", "n": n}])
        model.append({"title": f"old row {n}", "n": n})
    doc = db.schema("docs", {"fields": [{"name": "x", "type": "i64", "nullable": True},
                                        {"name": "s", "type": "utf8"}]})
    assert doc["schema_id"] == 2
    assert doc["last_field_id"] == 4
    assert doc["fields"][2:] == [
        {"id": 3, "name": "x", "nullable": True, "type": "i64"},
        {"id": 4, "name": "s", "nullable": True, "type": "utf8"},
    ]
    assert t.schema().names == ["title", "n", "x", "s"]
    # the same patch again changes nothing
    assert db.schema("docs", {"fields": [{"name": "x", "type": "i64"}]})["schema_id"] == 2
    # appends with the new columns, without them, and as Arrow without them
    t.append([{"title": "new row a", "n": 10, "x": 5, "s": "q"}])
    t.append([{"title": "new row b", "n": 11}])
    t.append(pa.table({"title": pa.array(["new row c"], pa.large_string()), "n": [12]}))
    model += [{"title": "new row a", "n": 10, "x": 5, "s": "q"},
              {"title": "new row b", "n": 11}, {"title": "new row c", "n": 12}]
    cols = ["title", "n", "x", "s"]
    assert rows_sql(db, cols) == model_rows(model, cols)
    # filters on the new column, in SQL and in search results
    assert db.query_sql("select count(*) as c from docs where x is null").column("c")[0].as_py() == 5
    assert db.query_sql("select n from docs where x = 5").column("n").to_pylist() == [10]
    hits = t.bm25_search("title", "row", 10, projection=["n", "x", "s"]).to_pylist()
    assert sorted(hits, key=lambda r: r["n"]) == model_rows(model, ["n", "x", "s"])
    assert t.count("title", "row") == 6
    # delete and update with predicates on the new column
    assert t.delete("x = 5").n_tombstoned == 1
    model = [r for r in model if r.get("x") != 5]
    assert t.delete("x is null and n = 0").n_tombstoned == 1
    model = [r for r in model if r["n"] != 0]
    t.update("n = 11", [{"title": "upd", "n": 11, "x": 22}])
    model = [r for r in model if r["n"] != 11] + [{"title": "upd", "n": 11, "x": 22}]
    assert rows_sql(db, cols) == model_rows(model, cols)
    # optimize merges old and new superfiles; reopen; a second handle
    t.optimize(infino.OptimizeOptions(min_fill_percent=100))
    assert rows_sql(db, cols) == model_rows(model, cols)
    arrow = db.open_table("docs").to_arrow() if hasattr(t, "to_arrow") else None
    if arrow is not None:
        assert sorted(arrow.select(cols).to_pylist(), key=lambda r: r["n"]) == model_rows(model, cols)
    db2 = infino.connect(str(tmp_path / "db"))
    assert db2.schema("docs") == db.schema("docs")
    assert rows_sql(db2, cols) == model_rows(model, cols)


def test_other_handles_see_the_change(tmp_path):
    db, t = make(tmp_path)
    t.append([{"title": "a", "n": 1}])
    other = infino.connect(str(tmp_path / "db")).open_table("docs")
    assert other.schema().names == ["title", "n"]
    db.schema("docs", {"fields": [{"name": "x", "type": "i32"}]})
    assert other.schema().names == ["title", "n", "x"]
    other.append([{"title": "b", "n": 2, "x": 7}])
    assert t.delete("x = 7").n_tombstoned == 1
    assert t.count_rows() == 1 if hasattr(t, "count_rows") else True


def test_errors_as_upstream(tmp_path):
    db, t = make(tmp_path)
    t.append([{"title": "a", "n": 1}])
    # unknown table without a patch
    with pytest.raises(KeyError):
        db.schema("nope")
    # a non-nullable column while the table holds rows
    with pytest.raises(ValueError, match="cannot become non-nullable while the table holds rows"):
        db.schema("docs", {"fields": [{"name": "y", "type": "i64", "nullable": False}]})
    # a stale expected_schema_id: ConflictError (an InfinoError), nothing changes
    with pytest.raises(infino.ConflictError, match="at version 1, not 7"):
        db.schema("docs", {"fields": [{"name": "z", "type": "utf8"}]}, expected_schema_id=7)
    assert issubclass(infino.ConflictError, infino.InfinoError)
    with pytest.raises(infino.ConflictError):
        db.schema("docs", {"fields": [{"name": "z", "type": "utf8"}]}, expected_schema_id=0)
    assert db.schema("docs")["schema_id"] == 1
    doc = db.schema("docs", {"fields": [{"name": "z", "type": "utf8"}]}, expected_schema_id=1)
    assert doc["schema_id"] == 2
    # with a patch, even one that adds nothing, it is checked
    for patch in ({}, {"fields": [{"name": "n", "type": "i64", "nullable": False}]}):
        with pytest.raises(infino.ConflictError, match="at version 2, not 5"):
            db.schema("docs", patch, expected_schema_id=5)
    # without a patch, expected_schema_id is not checked
    assert db.schema("docs", None, expected_schema_id=99)["schema_id"] == 2
    # malformed patches: ValueError, with upstream's words
    for patch, words in [
        ([1], "schema patch is not an object"),
        ({"fields": [{"name": "bad", "type": "nope"}]}, "unknown field type 'nope'"),
        ({"fields": [{"name": "bad2"}]}, "column `bad2` is new and needs a type"),
        ({"fields": [{"type": "i64"}]}, "field has no name"),
        ({"fields": [{"name": "_id", "type": "i64"}]}, "the name `_id` is taken"),
        ({"fields": [{"name": "q", "type": "i64"}, {"name": "q", "type": "i32"}]},
         "the name `q` is taken"),
        ({"fields": [{"id": 9, "name": "w", "type": "i64"}]}, "no live column has id 9"),
        ({"fields": [{"name": "d", "type": "decimal"}]}, "decimal type has no precision"),
        ({"fields": [{"name": "l", "type": "list"}]}, "list type has no item"),
        ({"fields": [{"name": "v", "type": "vector"}]}, "vector type has no dim"),
    ]:
        with pytest.raises(ValueError, match=words):
            db.schema("docs", patch)
    assert db.schema("docs")["schema_id"] == 2  # none of them changed anything
    # argument types
    with pytest.raises(TypeError):
        db.schema(5)
    with pytest.raises(TypeError):
        db.schema("docs", None, expected_schema_id="x")
    with pytest.raises(OverflowError):
        db.schema("docs", {}, expected_schema_id=-1)
    # keys other than "fields" are not read; an empty patch changes nothing
    assert db.schema("docs", {"foo": 1})["schema_id"] == 2
    assert db.schema("docs", {"fields": 1})["schema_id"] == 2


def test_existing_columns_never_change(tmp_path):
    """Upstream 0.11 converts existing columns; we refuse (differences.md)."""
    db, t = make(tmp_path)
    t.append([{"title": "a", "n": 1}])
    for patch in [
        {"fields": [{"name": "n", "type": "i32", "nullable": False}]},
        {"fields": [{"name": "n", "type": "i64", "nullable": True}]},
        {"fields": [{"id": 2, "name": "renamed"}]},
        {"fields": [{"name": "body", "type": "large_utf8", "index": {"kind": "fts"}}]},
    ]:
        with pytest.raises(NotImplementedError):
            db.schema("docs", patch)
    assert db.schema("docs")["schema_id"] == 1
    # restating a column as it is, by name or id, is fine
    same = {"fields": [{"id": 2, "name": "n", "type": "i64", "nullable": False},
                       {"name": "title", "type": "large_utf8"}]}
    assert db.schema("docs", same)["schema_id"] == 1


def test_non_nullable_column_on_an_empty_table(tmp_path):
    db, t = make(tmp_path)
    doc = db.schema("docs", {"fields": [{"name": "y", "type": "i64", "nullable": False}]})
    assert doc["fields"][2] == {"id": 3, "name": "y", "nullable": False, "type": "i64"}
    with pytest.raises(ValueError):
        t.append([{"title": "a", "n": 1}])  # y is required now
    t.append([{"title": "a", "n": 1, "y": 3}])
    assert rows_sql(db, ["n", "y"]) == [{"n": 1, "y": 3}]


def test_a_patch_creates_a_missing_table(tmp_path):
    db = infino.connect(str(tmp_path / "db"))
    doc = db.schema("fresh", {"fields": [
        {"name": "a", "type": "i64"},
        {"name": "body", "type": "large_utf8", "index": {"kind": "fts"}}]})
    assert doc == {
        "fields": [{"id": 1, "name": "a", "nullable": True, "type": "i64"},
                   {"id": 2, "index": FTS_DOC, "name": "body", "nullable": True,
                    "type": "large_utf8"}],
        "last_field_id": 2, "max_depth": 2, "max_fields": 1599, "schema_id": 1,
        "tombstoned": []}
    assert db.list_tables() == ["fresh"]
    t = db.open_table("fresh")
    t.append([{"a": 1, "body": "hello world"}])
    assert t.bm25_search("body", "hello", 5, projection=["a"]).to_pylist() == [{"a": 1}]
    # with expected_schema_id on a missing table: ConflictError, as upstream
    with pytest.raises(infino.ConflictError):
        db.schema("fresh2", {"fields": [{"name": "a", "type": "i64"}]}, expected_schema_id=0)
    assert db.list_tables() == ["fresh"]


def test_memory_database(tmp_path):
    db = infino.connect("memory://")
    t = db.create_table("m", pa.schema([pa.field("n", pa.int64())]), infino.IndexSpec())
    t.append([{"n": 1}])
    db.schema("m", {"fields": [{"name": "x", "type": "f64"}]})
    t.append([{"n": 2, "x": 0.5}])
    assert db.query_sql("select n, x from m order by n").to_pylist() == [
        {"n": 1, "x": None}, {"n": 2, "x": 0.5}]
