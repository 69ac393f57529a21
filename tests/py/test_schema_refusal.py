"""create_table refuses, up front and naming the column or table, every
schema the engine cannot serve; every schema it accepts is served by every
later call, and no table can break query_sql over the other tables.

Types: every type pyarrow can build is either refused with a ValueError
that names it in words, or goes through create, append, to_arrow, a search
with a projection, query_sql (a scan and a search function), delete and
optimize. Names: columns equal but for case, `_id` and the `__infino`
prefix in any case, and empty names are refused. Limits: the most columns
(INFINO_TABLE_COLUMNS_MAX, `_id` included) and the longest table name
(INFINO_TABLE_NAME_MAX) work end to end; one more is refused.
"""
from __future__ import annotations

import datetime as dt
import decimal
import pathlib

import pyarrow as pa
import pytest

import infino

COLUMNS_MAX = 1600  # INFINO_TABLE_COLUMNS_MAX, _id included
NAME_MAX = 221  # INFINO_TABLE_NAME_MAX

D = decimal.Decimal
UTC = dt.timezone.utc


def _opt(name, *args):
    """A pyarrow type constructor this pyarrow may lack (None then)."""
    fn = getattr(pa, name, None)
    return fn(*args) if fn else None


# (id, type, two values) for every type the engine serves.
SERVED = [
    ("bool", pa.bool_(), [True, False]),
    ("int8", pa.int8(), [-128, 127]),
    ("int16", pa.int16(), [-32768, 7]),
    ("int32", pa.int32(), [-(2**31), 7]),
    ("int64", pa.int64(), [-(2**63), 2**63 - 1]),
    ("uint8", pa.uint8(), [0, 255]),
    ("uint16", pa.uint16(), [0, 65535]),
    ("uint32", pa.uint32(), [0, 2**32 - 1]),
    ("uint64", pa.uint64(), [0, 2**64 - 1]),
    ("float32", pa.float32(), [1.5, -0.25]),
    ("float64", pa.float64(), [1e300, -2.5]),
    ("utf8", pa.utf8(), ["a", "é"]),
    ("large_utf8", pa.large_utf8(), ["a", ""]),
    ("binary", pa.binary(), [b"\x00a", b""]),
    ("large_binary", pa.large_binary(), [b"x", b"yz"]),
    ("date32", pa.date32(), [dt.date(2020, 1, 1), dt.date(1969, 12, 31)]),
    ("timestamp_s", pa.timestamp("s"), [dt.datetime(2020, 1, 1), dt.datetime(1960, 5, 6, 7, 8, 9)]),
    ("timestamp_ms", pa.timestamp("ms"), [dt.datetime(2020, 1, 1, 0, 0, 0, 123000), dt.datetime(2001, 1, 1)]),
    ("timestamp_us", pa.timestamp("us"), [dt.datetime(2020, 1, 1, 0, 0, 0, 123456), dt.datetime(2001, 1, 1)]),
    ("timestamp_ns_utc", pa.timestamp("ns", tz="UTC"), [dt.datetime(2020, 1, 1, tzinfo=UTC), dt.datetime(2001, 1, 1, tzinfo=UTC)]),
    ("timestamp_us_zone", pa.timestamp("us", tz="America/New_York"), [dt.datetime(2020, 1, 1, tzinfo=UTC), dt.datetime(2001, 1, 1, tzinfo=UTC)]),
    ("timestamp_us_offset", pa.timestamp("us", tz="+05:30"), [dt.datetime(2020, 1, 1, tzinfo=UTC), dt.datetime(2001, 1, 1, tzinfo=UTC)]),
    ("decimal128_10_2", pa.decimal128(10, 2), [D("-5.00"), D("99999999.99")]),
    ("decimal128_38_0", pa.decimal128(38, 0), [D(10**37), D(-1)]),
    ("decimal128_5_5", pa.decimal128(5, 5), [D("0.12345"), D("-0.00001")]),
    ("list_int32", pa.list_(pa.int32()), [[1, 2], []]),
    ("list_utf8", pa.list_(pa.utf8()), [["a"], ["b", "c"]]),
    ("list_bool", pa.list_(pa.bool_()), [[True], [False, True]]),
    ("list_float64", pa.list_(pa.float64()), [[1.0], []]),
    ("list_uint64", pa.list_(pa.uint64()), [[2**64 - 1], []]),
    ("list_binary", pa.list_(pa.binary()), [[b"x"], []]),
    ("list_date32", pa.list_(pa.date32()), [[dt.date(2020, 1, 1)], []]),
    ("list_timestamp", pa.list_(pa.timestamp("us")), [[dt.datetime(2020, 1, 1)], []]),
    ("list_decimal", pa.list_(pa.decimal128(10, 2)), [[D("1.25")], []]),
    ("large_list_int64", pa.large_list(pa.int64()), [[1, 2], [3]]),
    ("large_list_large_utf8", pa.large_list(pa.large_utf8()), [["a"], ["b"]]),
    ("fixed_size_list_float32", pa.list_(pa.float32(), 3), [[1, 2, 3], [4, 5, 6]]),
    ("fixed_size_list_int32", pa.list_(pa.int32(), 2), [[1, 2], [3, 4]]),
    ("fixed_size_list_utf8", pa.list_(pa.utf8(), 1), [["a"], ["b"]]),
    ("fixed_size_list_empty", pa.list_(pa.int32(), 0), [[], []]),
    ("fixed_size_list_decimal", pa.list_(pa.decimal128(5, 1), 1), [[D("1.5")], [D("2.5")]]),
    # extension types whose storage is served keep their extension
    ("json", _opt("json_"), ['{"a": 1}', "[]"]),
    ("bool8", _opt("bool8"), [1, 0]),
    ("fixed_shape_tensor", _opt("fixed_shape_tensor", pa.float32(), [2, 2]),
     [[1, 2, 3, 4], [5, 6, 7, 8]]),
]

# (id, type, words the refusal must show) for every type it does not.
REFUSED = [
    ("null", pa.null(), "type null"),
    ("float16", pa.float16(), "type float16"),
    ("string_view", pa.string_view(), "type string_view"),
    ("binary_view", pa.binary_view(), "type binary_view"),
    ("fixed_size_binary", pa.binary(4), "type fixed_size_binary(4)"),
    ("uuid", _opt("uuid"), "type fixed_size_binary(16)"),
    ("date64", pa.date64(), "type date64"),
    ("time32_s", pa.time32("s"), "type time32[s]"),
    ("time32_ms", pa.time32("ms"), "type time32[ms]"),
    ("time64_us", pa.time64("us"), "type time64[us]"),
    ("time64_ns", pa.time64("ns"), "type time64[ns]"),
    ("duration_s", pa.duration("s"), "type duration[s]"),
    ("duration_ns", pa.duration("ns"), "type duration[ns]"),
    ("interval", pa.month_day_nano_interval(), "type interval[month_day_nano]"),
    ("decimal32", _opt("decimal32", 5, 2), "type decimal32(5, 2)"),
    ("decimal64", _opt("decimal64", 12, 2), "type decimal64(12, 2)"),
    ("decimal256", pa.decimal256(40, 2), "type decimal256(40, 2)"),
    ("decimal128_negative_scale", pa.decimal128(5, -2), "type decimal128(5, -2)"),
    ("decimal128_scale_above_precision", pa.decimal128(5, 6), "type decimal128(5, 6)"),
    ("struct", pa.struct([("a", pa.int32()), ("b", pa.utf8())]), "type struct<a: int32, b: utf8>"),
    ("map", pa.map_(pa.utf8(), pa.int32()), "type map"),
    ("dense_union", pa.dense_union([pa.field("a", pa.int32())]), "type dense_union"),
    ("sparse_union", pa.sparse_union([pa.field("a", pa.int32())]), "type sparse_union"),
    ("run_end_encoded", pa.run_end_encoded(pa.int32(), pa.utf8()), "type run_end_encoded"),
    ("dictionary", pa.dictionary(pa.int32(), pa.utf8()), "dictionary-encoded"),
    ("list_view", pa.list_view(pa.int32()), "type list_view"),
    ("large_list_view", pa.large_list_view(pa.int32()), "type large_list_view"),
    ("list_list", pa.list_(pa.list_(pa.int32())), "type list<list<int32>>"),
    ("list_struct", pa.list_(pa.struct([("a", pa.int32())])), "type list<struct<a: int32>>"),
    ("fixed_size_list_of_lists", pa.list_(pa.list_(pa.int32(), 2), 2),
     "type fixed_size_list<fixed_size_list<int32, 2>, 2>"),
    ("list_date64", pa.list_(pa.date64()), "type date64"),
    ("list_float16", pa.list_(pa.float16()), "type float16"),
]


@pytest.fixture
def db(tmp_path):
    """A database that already holds a small table, `other`, which every
    test queries again after its own table was made or refused."""
    d = infino.connect(str(tmp_path / "db"))
    other = d.create_table("other", pa.schema([("x", pa.int64())]), infino.IndexSpec())
    other.append([{"x": 1}, {"x": 2}])
    return d


def other_still_served(db):
    assert db.query_sql("SELECT sum(x) AS s FROM other").column("s").to_pylist() == [3]
    assert db.open_table("other").to_arrow(where="x = 2").num_rows == 1


def make_array(typ, values):
    if isinstance(typ, pa.ExtensionType):
        return pa.ExtensionArray.from_storage(typ, pa.array(values, typ.storage_type))
    return pa.array(values, typ)


def body(n=2):
    return pa.array(["alpha one", "beta two"][:n], pa.large_utf8())


@pytest.mark.parametrize("typ,values", [pytest.param(t, v, id=i) for i, t, v in SERVED])
def test_served_type_goes_through_every_call(db, typ, values):
    if typ is None:
        pytest.skip("this pyarrow lacks the type")
    schema = pa.schema([pa.field("body", pa.large_utf8()), pa.field("c", typ)])
    t = db.create_table("t", schema, infino.IndexSpec().fts("body"))
    col = make_array(typ, values)
    t.append(pa.table({"body": body(), "c": col}))
    got = t.to_arrow()
    assert got.column("c").to_pylist() == col.to_pylist()
    hit = t.bm25_search("body", "alpha", 5, projection=["_id", "c"])
    assert hit.column_names == ["_id", "c"]
    assert hit.column("c").to_pylist() == col.to_pylist()[:1]
    assert db.query_sql("SELECT count(*) AS n FROM t").column("n").to_pylist() == [2]
    assert db.query_sql("SELECT * FROM t").num_rows == 2
    found = db.query_sql("SELECT * FROM bm25_search('t', 'body', 'alpha', 5)")
    assert found.num_rows == 1 and "score" in found.column_names
    assert t.delete("body = 'alpha one'").matched == 1
    t.append(pa.table({"body": body(), "c": col}))
    t.optimize()
    assert sorted(t.to_arrow().column("body").to_pylist()) == ["alpha one", "beta two", "beta two"]
    other_still_served(db)


@pytest.mark.parametrize("typ,words", [pytest.param(t, w, id=i) for i, t, w in REFUSED])
def test_unserved_type_is_refused_in_words(db, typ, words):
    if typ is None:
        pytest.skip("this pyarrow lacks the type")
    schema = pa.schema([pa.field("body", pa.large_utf8()), pa.field("c", typ)])
    with pytest.raises(ValueError) as e:
        db.create_table("t", schema, infino.IndexSpec())
    msg = str(e.value)
    assert "'c" in msg, msg  # the column, or its path ('c.item')
    assert words in msg, msg
    assert "not supported" in msg, msg
    assert db.list_tables() == ["other"]
    other_still_served(db)


def test_every_pyarrow_type_is_covered():
    """Each kind of type pyarrow knows (one pa.types.is_* predicate each)
    is in SERVED or REFUSED, so a kind pyarrow adds fails here until it is
    sorted into one of them."""
    types = [t for _, t, _ in SERVED + REFUSED if t is not None]
    types += [t.storage_type for t in types if isinstance(t, pa.ExtensionType)]
    kinds = [n for n in dir(pa.types) if n.startswith("is_") and not n.endswith("_value")]
    missing = [n for n in kinds if not any(getattr(pa.types, n)(t) for t in types)]
    assert missing == []


# ---- names -----------------------------------------------------------------


@pytest.mark.parametrize(
    "names,needle",
    [
        (["Name", "name"], "columns 'Name' and 'name' differ only in case"),
        (["body", "x", "BODY"], "columns 'body' and 'BODY' differ only in case"),
        (["a", "_ID"], "column '_ID' is reserved"),
        (["_Id"], "column '_Id' is reserved"),
        (["_id"], "column '_id' is reserved"),
        (["__infino_row"], "names starting with '__infino'"),
        (["__INFINO_arg0"], "names starting with '__infino'"),
        (["a", ""], "column 2 has an empty name"),
    ],
)
def test_names_sql_cannot_serve_are_refused(db, names, needle):
    schema = pa.schema([pa.field(n, pa.large_utf8()) for n in names])
    with pytest.raises(ValueError, match=needle.replace("(", r"\(")):
        db.create_table("t", schema, infino.IndexSpec())
    assert db.list_tables() == ["other"]
    other_still_served(db)


def test_names_sql_can_serve_are_accepted(db):
    """Non-ASCII case differences (SQLite folds ASCII only), SQL words,
    quotes and spaces; `score` and `rowid` as upstream accepts them."""
    names = ["Ä", "ä", "select", "a b", 'q"x', "_idx", "x__infino", "rowid", "score"]
    t = db.create_table("t", pa.schema([pa.field(n, pa.large_utf8()) for n in names]),
                        infino.IndexSpec())
    t.append([{n: f"v{i}" for i, n in enumerate(names)}])
    assert t.to_arrow().column_names == ["_id"] + names
    assert db.query_sql('SELECT "ä", "a b", "q""x" FROM t').to_pylist() == [
        {"ä": "v1", "a b": "v3", 'q"x': "v4"}
    ]
    assert t.delete("\"Ä\" = 'v0' AND \"ä\" = 'v1'").matched == 1
    other_still_served(db)


# ---- limits ----------------------------------------------------------------


def wide_schema(n):
    return pa.schema([pa.field("body", pa.large_utf8())]
                     + [pa.field(f"c{i}", pa.int32()) for i in range(1, n)])


def test_most_columns_work_end_to_end(db):
    schema = wide_schema(COLUMNS_MAX - 1)  # + _id
    t = db.create_table("wide", schema, infino.IndexSpec().fts("body"))
    data = {"body": ["alpha one", "beta two"]}
    data.update({f"c{i}": [i, -i] for i in range(1, COLUMNS_MAX - 1)})
    t.append(pa.table(data, schema=schema))
    assert t.to_arrow().num_columns == COLUMNS_MAX
    last = f"c{COLUMNS_MAX - 2}"
    assert t.bm25_search("body", "alpha", 5, projection=[last]).column(last).to_pylist() == [COLUMNS_MAX - 2]
    assert db.query_sql("SELECT * FROM wide").num_columns == COLUMNS_MAX
    assert db.query_sql("SELECT * FROM bm25_search('wide', 'body', 'beta', 5)").num_columns == COLUMNS_MAX + 1
    assert t.delete(f"{last} < 0").matched == 1
    other_still_served(db)


@pytest.mark.parametrize("n", [COLUMNS_MAX, 2000, 2100])
def test_too_many_columns_are_refused(db, n):
    with pytest.raises(ValueError, match=f"at most {COLUMNS_MAX}, '_id' included; this one would have {n + 1}"):
        db.create_table("wide", wide_schema(n), infino.IndexSpec())
    assert db.list_tables() == ["other"]
    other_still_served(db)


def test_longest_table_name_lives_a_whole_life(db, tmp_path):
    name = "n" * NAME_MAX
    schema = pa.schema([("body", pa.large_utf8()), ("k", pa.int64())])
    t = db.create_table(name, schema, infino.IndexSpec().fts("body"))
    t.append([{"body": "alpha", "k": 1}, {"body": "beta", "k": 2}])
    t.append([{"body": "gamma", "k": 3}])
    assert db.query_sql(f"SELECT sum(k) AS s FROM {name}").column("s").to_pylist() == [6]
    assert db.query_sql(f"SELECT k FROM bm25_search('{name}', 'body', 'beta', 5)").to_pylist() == [{"k": 2}]
    assert t.delete("k = 1").matched == 1
    t.optimize()
    t.gc(0)
    other_still_served(db)
    db.drop_table(name, purge=True)
    assert db.list_tables() == ["other"]
    tables = pathlib.Path(tmp_path / "db" / "tables")
    assert not [p for p in tables.iterdir() if p.name.startswith(name)]
    # the name can be used again
    t = db.create_table(name, schema, infino.IndexSpec())
    t.append([{"body": "delta", "k": 4}])
    assert db.open_table(name).count_rows() == 1
    other_still_served(db)


def test_table_name_one_too_long_is_refused(db):
    name = "n" * (NAME_MAX + 1)
    schema = pa.schema([("k", pa.int64())])
    with pytest.raises(RuntimeError, match=f"use 1-{NAME_MAX} characters") as e:
        db.create_table(name, schema, infino.IndexSpec())
    assert f"({NAME_MAX + 1} characters)" in str(e.value)
    assert db.list_tables() == ["other"]
    other_still_served(db)
