"""What appends accept: conversions only where every value survives exactly,
valid UTF-8, no null element inside a vector, each column once, and
dictionary-encoded columns decoded into the table's plain type. Refusals
are ValueErrors naming the column and the row (counted from the start of
the append) and leave the table as it was (issue 11, items 10-14)."""
from __future__ import annotations

import math
import struct

import pyarrow as pa
import pytest

import infino


@pytest.fixture
def db(tmp_path):
    return infino.connect(str(tmp_path / "db"))


def utf8_from_bytes(values, large=False):
    """A utf8 array holding exactly these bytes (None = a null slot that
    still holds the bytes b'\\xff\\xfe'), as a careless producer makes it."""
    offsets, data, valid = [0], b"", []
    for v in values:
        data += b"\xff\xfe" if v is None else v
        offsets.append(len(data))
        valid.append(v is not None)
    bits = bytearray((len(values) + 7) // 8)
    for i, ok in enumerate(valid):
        if ok:
            bits[i // 8] |= 1 << (i % 8)
    fmt = "<%dq" if large else "<%di"
    return pa.Array.from_buffers(
        pa.large_utf8() if large else pa.utf8(), len(values),
        [pa.py_buffer(bytes(bits)), pa.py_buffer(struct.pack(fmt % len(offsets), *offsets)),
         pa.py_buffer(data)],
        null_count=valid.count(False))


def refused(table, data, *needles):
    before = table.count_rows()
    with pytest.raises(ValueError) as e:
        table.append(data)
    for n in needles:
        assert n in str(e.value), (n, str(e.value))
    assert table.count_rows() == before
    return str(e.value)


# ---- item 10: float64 -> float32 only where exact ---------------------------


def test_float64_into_float32_only_when_every_value_round_trips(db):
    t = db.create_table("f", pa.schema([("f", pa.float32())]), infino.IndexSpec())
    exact = [1.5, math.nan, math.inf, -math.inf, -0.0, 3.4028234663852886e38,
             2.0 ** -149, None]
    t.append(pa.table({"f": pa.array(exact, pa.float64())}))
    got = t.to_arrow().column("f").to_pylist()
    assert got[0] == 1.5 and math.isnan(got[1]) and got[2:4] == [math.inf, -math.inf]
    assert got[4] == 0.0 and math.copysign(1, got[4]) == -1
    assert got[5:] == [3.4028234663852886e38, 2.0 ** -149, None]

    for value, shown in [(1e300, "1e+300"), (16777217.0, "16777217"), (1e-50, "1e-50"),
                         (0.1, "0.1")]:
        refused(t, pa.table({"f": pa.array([0.5, value], pa.float64())}),
                "column 'f'", "row 1", f"value {shown} is not exactly representable as float32")
    # rows count from the start of the append, across batches
    batches = [pa.record_batch({"f": pa.array([1.0, 2.0, 3.0], pa.float64())}),
               pa.record_batch({"f": pa.array([4.0, 16777217.0], pa.float64())})]
    refused(t, pa.Table.from_batches(batches), "column 'f': row 4")
    assert t.count_rows() == len(exact)
    # ints never turn into floats, even where the value would fit
    refused(t, pa.table({"f": pa.array([1], pa.int8())}), "column 'f'", "expected float32, got int8")


def test_vector_coordinates_round_to_float32(db):
    # A coordinate is an approximation to begin with: float64 embeddings
    # (Python floats, numpy float64) append rounded to the nearest float32,
    # as upstream and every embedding library do. Only a finite value
    # beyond float32's range is refused (it would become infinite).
    schema = pa.schema([("id", pa.int64()), ("v", pa.list_(pa.float32(), 4))])
    t = db.create_table("v", schema, infino.IndexSpec().vector("v", 4, 1, "l2"))
    t.append(pa.table({"id": [0], "v": pa.array([[0.1, -0.0, 16777217.0, 2.0 ** 100]],
                                                pa.list_(pa.float64()))}))
    got = t.to_arrow().column("v").to_pylist()
    want = pa.array([0.1, -0.0, 16777217.0, 2.0 ** 100], pa.float64()).cast(
        pa.float32(), safe=False).to_pylist()
    assert got == [want]
    refused(t, pa.table({"id": [1, 2], "v": pa.array([[1, 2, 3, 4], [1, 1e300, 0, 0]],
                                                    pa.list_(pa.float64()))}),
            "column 'v': row 1: element 1: value 1e+300 is beyond float32's range")
    assert t.count_rows() == 1


# ---- item 11: UTF-8 --------------------------------------------------------


@pytest.mark.parametrize("large", [False, True])
def test_invalid_utf8_is_refused(db, large):
    schema = pa.schema([("s", pa.large_utf8() if large else pa.utf8())])
    t = db.create_table("s", schema, infino.IndexSpec().fts("s"))
    good = [b"h\xc3\xa9llo", None, b"", "\u65e5\u672c \U0001F600".encode()]
    t.append(pa.table({"s": utf8_from_bytes(good, large)}))  # garbage behind a null is fine
    assert t.to_arrow().column("s").to_pylist() == ["h\u00e9llo", None, "", "\u65e5\u672c \U0001F600"]
    for bad, row in [([b"ok", b"a\xff"], 1), ([b"\xed\xa0\x80"], 0),  # lone surrogate
                     ([b"\xc0\xaf"], 0),  # overlong '/'
                     ([b"x", b"\xc3", b"\xa9"], 1)]:  # a character cut across two rows
        refused(t, pa.table({"s": utf8_from_bytes(bad, large)}),
                f"column 's': row {row} is not valid UTF-8")
    # across batches, and into the other offset width (converted, then checked)
    other = utf8_from_bytes([b"a", b"b", b"\xe2\x82"], not large)
    batches = [pa.record_batch({"s": other.slice(0, 2)}), pa.record_batch({"s": other})]
    refused(t, pa.Table.from_batches(batches), "column 's': row 4 is not valid UTF-8")
    assert t.count_rows() == 4
    # what is stored still reads back everywhere
    assert t.to_arrow().column("s").to_pylist()[0] == "h\u00e9llo"
    assert db.query_sql("SELECT count(*) AS n FROM s").column("n").to_pylist() == [4]


# ---- item 12: vectors --------------------------------------------------------


def test_null_elements_in_vectors_are_refused(db):
    schema = pa.schema([("id", pa.int64()), ("v", pa.list_(pa.float32(), 4))])
    t = db.create_table("v", schema, infino.IndexSpec().vector("v", 4, 1, "l2"))
    t.append(pa.table({"id": [0], "v": pa.array([[1, 0, 0, 0]], pa.list_(pa.float32(), 4))}))
    for typ in [pa.list_(pa.float32(), 4), pa.list_(pa.float32()), pa.list_(pa.float64())]:
        refused(t, pa.table({"id": [1, 2], "v": pa.array([[1, 2, 3, 4], [1, None, 0, 0]], typ)}),
                "column 'v': row 1: element 1 is null")
    refused(t, [{"id": 3, "v": [None, 0, 0, 1]}], "column 'v': row 0: element 0 is null")
    # a null vector is a null value: stored as null, never a search hit
    t.append(pa.table({"id": [4, 5], "v": pa.array([None, [0, 1, 0, 0]], pa.list_(pa.float32(), 4))}))
    rows = {r["id"]: r["v"] for r in t.to_arrow().to_pylist()}
    assert rows == {0: [1, 0, 0, 0], 4: None, 5: [0, 1, 0, 0]}
    hits = t.vector_search("v", [1, 0, 0, 0], 10, projection=["id"]).column("id").to_pylist()
    assert sorted(hits) == [0, 5]


def test_list_of_float_column_refuses_null_elements(db):
    t = db.create_table("l", pa.schema([("v", pa.list_(pa.float64()))]), infino.IndexSpec())
    t.append(pa.table({"v": pa.array([[1.0], [], None], pa.list_(pa.float64()))}))
    refused(t, pa.table({"v": pa.array([[1.0, None]], pa.list_(pa.float64()))}),
            "column 'v': row 0: element 1 is null")
    assert t.to_arrow().column("v").to_pylist() == [[1.0], [], None]


# ---- item 13: duplicated names ---------------------------------------------


def test_duplicated_column_names_are_refused(db):
    t = db.create_table("d", pa.schema([("a", pa.utf8()), ("b", pa.int64())]), infino.IndexSpec())
    data = pa.Table.from_arrays([pa.array(["x"]), pa.array([1]), pa.array(["y"])],
                                names=["a", "b", "a"])
    refused(t, data, "column 'a' appears more than once")
    assert t.count_rows() == 0


# ---- item 14 (dictionaries) ---------------------------------------------------


@pytest.mark.parametrize("index_type", [pa.int8(), pa.int16(), pa.int32(), pa.int64(),
                                        pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()])
def test_dictionary_encoded_strings_are_decoded(db, index_type):
    t = db.create_table("t", pa.schema([("k", pa.int64()), ("s", pa.utf8())]),
                        infino.IndexSpec().fts("s"))
    words = pa.array(["alpha beta", None, "gamma", "d\u00e9lta"], pa.large_utf8())
    indices = pa.array([3, 0, 1, None, 2, 0], index_type)
    col = pa.DictionaryArray.from_arrays(indices, words)
    # sliced: rows 1..5; index 1 names a null value, row 3's index is null
    t.append(pa.table({"k": [1, 2, 3, 4, 5], "s": col.slice(1)}))
    got = {r["k"]: r["s"] for r in t.to_arrow().to_pylist()}
    assert got == {1: "alpha beta", 2: None, 3: None, 4: "gamma", 5: "alpha beta"}
    assert t.to_arrow().schema.field("s").type == pa.utf8()
    hits = t.bm25_search("s", "alpha", 10, projection=["k"]).column("k").to_pylist()
    assert sorted(hits) == [1, 5]
    assert db.query_sql("SELECT s FROM t WHERE k = 4").column("s").to_pylist() == ["gamma"]


def test_dictionary_encoded_values_of_other_types(db):
    schema = pa.schema([("i", pa.int64()), ("f", pa.float32()), ("s", pa.utf8()),
                        ("b", pa.binary())])
    t = db.create_table("t", schema, infino.IndexSpec())
    t.append(pa.table({
        "i": pa.array([5, 7, 5, None]).cast(pa.int16()).dictionary_encode(),
        "f": pa.array([0.5, 0.25, 0.5, 2.0]).dictionary_encode(),
        "s": pa.chunked_array([pa.array(["x", "y"]).dictionary_encode(),
                               pa.array(["z", "z"]).dictionary_encode()]),
        "b": pa.array([b"\x00", b"\xff", b"\x00", b""]).dictionary_encode(),
    }))
    assert t.to_arrow(columns=["i", "f", "s", "b"]).to_pylist() == [
        {"i": 5, "f": 0.5, "s": "x", "b": b"\x00"},
        {"i": 7, "f": 0.25, "s": "y", "b": b"\xff"},
        {"i": 5, "f": 0.5, "s": "z", "b": b"\x00"},
        {"i": None, "f": 2.0, "s": "z", "b": b""},
    ]
    # decoded values obey every rule plain ones do
    lossy = pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int8()), pa.array([0.5, 1e300]))
    row = {"i": pa.array([1, 2]), "s": pa.array(["a", "b"]), "b": pa.array([b"", b""])}
    refused(t, pa.table({**row, "f": lossy}), "column 'f': row 1: value 1e+300 is not exactly")
    bad_text = pa.DictionaryArray.from_arrays(pa.array([1, 0], pa.int8()),
                                              utf8_from_bytes([b"fine", b"\xe2\x82"]))
    refused(t, pa.table({**row, "f": pa.array([1.0, 2.0], pa.float32()), "s": bad_text}),
            "column 's': row 0 is not valid UTF-8")
    wrong = pa.array([1, 2]).dictionary_encode()
    refused(t, pa.table({**row, "f": pa.array([1.0, 2.0], pa.float32()), "s": wrong}),
            "column 's': expected utf8, got dictionary<values=int64, indices=int32>")
    # an index past the dictionary is refused before anything reads it
    out_of_range = pa.DictionaryArray.from_arrays(pa.array([0, 9], pa.int32()), pa.array(["a"]),
                                                  safe=False)
    refused(t, pa.table({**row, "f": pa.array([1.0, 2.0], pa.float32()), "s": out_of_range}),
            "column 's'", "row 1: dictionary index 9 is out of range")
    assert t.count_rows() == 4


def test_dictionary_into_a_non_nullable_column(db):
    schema = pa.schema([pa.field("s", pa.utf8(), nullable=False)])
    t = db.create_table("t", schema, infino.IndexSpec())
    col = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0], pa.int8()), pa.array(["a", None]))
    refused(t, pa.table({"s": col}), "column 's': row 1 is null")
    t.append(pa.table({"s": col.slice(0, 1)}))
    assert t.to_arrow().column("s").to_pylist() == ["a"]


def test_dictionary_types_in_schemas_and_nested_input(db):
    # a table stores the values' type, and create_table says which
    with pytest.raises(ValueError, match=r"field 's': dictionary-encoded columns .* declare it utf8"):
        db.create_table("t", pa.schema([("s", pa.dictionary(pa.int32(), pa.utf8()))]),
                        infino.IndexSpec())
    # dictionaries inside a nested column are not decoded: refused in words
    t = db.create_table("u", pa.schema([("l", pa.list_(pa.utf8()))]), infino.IndexSpec())
    nested = pa.array([["a", "b"]], pa.list_(pa.dictionary(pa.int8(), pa.utf8())))
    with pytest.raises(ValueError, match="'l.item': dictionary-encoded values inside a nested type"):
        t.append(pa.table({"l": nested}))
    assert t.count_rows() == 0


def test_appended_column_of_a_type_no_table_has_is_a_value_error(db):
    t = db.create_table("x", pa.schema([("a", pa.int64())]), infino.IndexSpec())
    data = pa.table({"a": pa.array([1], pa.int64()),
                     "t": pa.array([1], pa.time64("us"))})
    with pytest.raises(ValueError, match="time64"):
        t.append(data)
    assert t.count_rows() == 0
