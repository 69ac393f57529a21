"""Property tests: predicates and SQL see exactly the stored values.

For every column type a table holds random values, edge values included
(extremes, NaN, -0.0, empty, nulls). Random predicates over it are
evaluated three ways - to_arrow(where=), query_sql and delete - and each
answer is compared with a Python model of the SQL semantics we document
(docs/sql.md): integers of every width, uint64 beyond int64 and decimals
compare exactly; NaN is a value, equal to itself and greater than every
number (PostgreSQL's and Arrow's order), never NULL; -0.0 equals 0.0;
dates and timestamps compare as points in time across their whole Arrow
range, with ISO 8601 literals ('T', 'Z', offsets); text compares by bytes.
A NULL makes a comparison unknown, which no predicate matches.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import random
import struct
from decimal import Decimal

import pyarrow as pa
import pytest

import infino

SEED = int(os.environ.get("INFINO_PROP_SEED", "20261207"))
N_ROWS = 48
N_PREDICATES = 120

# ---- values -----------------------------------------------------------------


def f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def int_values(rng, lo, hi):
    edge = [lo, hi, 0, 1, -1, lo + 1, hi - 1]
    edge = [v for v in edge if lo <= v <= hi]
    return edge + [rng.randint(lo, hi) for _ in range(N_ROWS)] + [
        rng.randint(-100, 100) if lo < 0 else rng.randint(0, 100) for _ in range(8)]


def float_values(rng, single):
    vals = [0.0, -0.0, float("nan"), float("inf"), float("-inf"), 1.5, -1.5,
            1e300 if not single else 3.4e38, 5e-324 if not single else 1e-45,
            0.1, 16777217.0 if not single else 16777216.0]
    vals += [rng.uniform(-1e6, 1e6) for _ in range(N_ROWS)]
    vals += [rng.choice([1.0, 2.5, -3.25]) for _ in range(6)]
    return [f32(v) for v in vals] if single else vals


def decimal_values(rng, precision, scale):
    def d(unscaled):  # exact, whatever the decimal context's precision
        return Decimal(f"{unscaled}e-{scale}")
    top = 10 ** precision - 1
    one = 10 ** scale
    vals = [d(top), d(-top), d(0), d(-5 * one), d(999 * one // 100), d(10 * one)]
    for _ in range(N_ROWS):
        digits = rng.randint(1, precision)
        vals.append(d(rng.randint(-(10 ** digits - 1), 10 ** digits - 1)))
    return vals


DATE_MIN, DATE_MAX = -(2 ** 31), 2 ** 31 - 1


def date_values(rng):
    return [0, -1, 1, DATE_MIN, DATE_MAX, 2932896, -719162, -719163,
            3000000, 19723] + [rng.randint(-3_000_000, 3_000_000) for _ in range(N_ROWS)]


UNIT_PER_SEC = {"s": 1, "ms": 10 ** 3, "us": 10 ** 6, "ns": 10 ** 9}


def ts_values(rng, unit):
    per = UNIT_PER_SEC[unit]
    lo, hi = -(2 ** 63), 2 ** 63 - 1
    if unit == "s":  # Parquet has no seconds: stored as milliseconds
        lo, hi = -(2 ** 63) // 1000 + 1, (2 ** 63 - 1) // 1000
    day = 86400 * per
    lim = min(10 ** 10, hi // per - 1)  # seconds around now, in range
    return [0, -1, 1, lo, hi, day, -day, 1704103200 * per] + [
        rng.randint(lo, hi) for _ in range(N_ROWS // 2)] + [
        rng.randint(-lim, lim) * per + rng.randrange(per) for _ in range(N_ROWS // 2)]


def text_values(rng):
    alphabet = "abcXYZ019 é中\U0001F600'\""
    vals = ["", "a", "A", "NaN", "10", "9", "-1", "é", "\U0001F600", "a" * 300]
    vals += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) for _ in range(N_ROWS)]
    return vals


def binary_values(rng):
    vals = [b"", b"\x00", b"\xff", b"a", b"\x00\x00"]
    vals += [bytes(rng.randrange(256) for _ in range(rng.randint(0, 5))) for _ in range(N_ROWS)]
    return vals


# ---- the model ---------------------------------------------------------------
# A model value is a Python value with a total order key; key() maps NaN
# above every number and -0.0 to 0.0.


def days_to_text(days: int) -> str:
    # proleptic Gregorian, any year (Python's date stops at 9999)
    z = days + 719468
    era = z // 146097  # floor division
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y += m <= 2
    return f"{'-' if y < 0 else ''}{abs(y):04d}-{m:02d}-{d:02d}"


def ts_to_text(v: int, unit: str, form: str) -> str:
    per = UNIT_PER_SEC[unit]
    secs, frac = divmod(v, per)
    days, sod = divmod(secs, 86400)
    digits = {"s": 0, "ms": 3, "us": 6, "ns": 9}[unit]
    hh, mm, ss = sod // 3600, sod // 60 % 60, sod % 60
    if form == "offset":  # the same instant written at +05:30
        total = sod + 5 * 3600 + 30 * 60
        days2, sod2 = divmod(total, 86400)
        d = days_to_text(days + days2)
        t = f"{sod2 // 3600:02d}:{sod2 // 60 % 60:02d}:{sod2 % 60:02d}"
        f = f".{frac:0{digits}d}" if digits else ""
        return f"{d}T{t}{f}+05:30"
    sep = "T" if form in ("T", "Z") else " "
    f = f".{frac:0{digits}d}" if digits and (frac or form == "frac") else ""
    return f"{days_to_text(days)}{sep}{hh:02d}:{mm:02d}:{ss:02d}{f}{'Z' if form == 'Z' else ''}"


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


class Kind:
    """How one Arrow type's values look to the model and in SQL text."""

    def __init__(self, name, arrow_type, values, literal, key=None, stored=None):
        self.name = name
        self.type = arrow_type
        self.values = values          # rng -> list of Python values
        self.literal = literal        # (value, rng) -> SQL literal text
        self.key = key or (lambda v: v)
        self.stored = stored or (lambda v: v)  # what the column holds


def float_key(v):
    if math.isnan(v):
        return (1, 0.0)
    return (0, v + 0.0)


def float_literal(v, rng):
    if math.isnan(v):
        return "'NaN'"
    if math.isinf(v):
        return "1e999" if v > 0 else "-1e999"
    return repr(v)


def int_kind(name, t, lo, hi):
    return Kind(name, t, lambda rng: int_values(rng, lo, hi),
                lambda v, rng: str(v))


def dec_kind(p, s):
    return Kind(f"decimal{p}_{s}", pa.decimal128(p, s),
                lambda rng: decimal_values(rng, p, s),
                lambda v, rng: format(v, "f"))


def ts_kind(unit, tz):
    t = pa.timestamp(unit, tz=tz)
    forms = ["space", "T", "Z", "offset", "frac"]
    return Kind(f"ts_{unit}_{'tz' if tz else 'naive'}", t,
                lambda rng: ts_values(rng, unit),
                lambda v, rng: sql_str(ts_to_text(v, unit, rng.choice(forms))))


KINDS = [
    Kind("bool", pa.bool_(), lambda rng: [True, False] * 8,
         lambda v, rng: rng.choice(["TRUE", "1"] if v else ["FALSE", "0"]), key=int),
    int_kind("int8", pa.int8(), -128, 127),
    int_kind("int16", pa.int16(), -(2 ** 15), 2 ** 15 - 1),
    int_kind("int32", pa.int32(), -(2 ** 31), 2 ** 31 - 1),
    int_kind("int64", pa.int64(), -(2 ** 63), 2 ** 63 - 1),
    int_kind("uint8", pa.uint8(), 0, 255),
    int_kind("uint16", pa.uint16(), 0, 2 ** 16 - 1),
    int_kind("uint32", pa.uint32(), 0, 2 ** 32 - 1),
    int_kind("uint64", pa.uint64(), 0, 2 ** 64 - 1),
    Kind("float32", pa.float32(), lambda rng: float_values(rng, True), float_literal, key=float_key),
    Kind("float64", pa.float64(), lambda rng: float_values(rng, False), float_literal, key=float_key),
    dec_kind(38, 0),
    dec_kind(10, 2),
    dec_kind(38, 10),
    Kind("utf8", pa.utf8(), text_values, lambda v, rng: sql_str(v),
         key=lambda v: v.encode()),
    Kind("large_utf8", pa.large_utf8(), text_values, lambda v, rng: sql_str(v),
         key=lambda v: v.encode()),
    Kind("binary", pa.binary(), binary_values, lambda v, rng: f"X'{v.hex()}'"),
    Kind("large_binary", pa.large_binary(), binary_values, lambda v, rng: f"X'{v.hex()}'"),
    Kind("date32", pa.date32(), date_values, lambda v, rng: sql_str(days_to_text(v))),
    ts_kind("s", None),
    ts_kind("ms", "UTC"),
    ts_kind("us", None),
    ts_kind("ns", "UTC"),
]


def arrow_column(kind, values):
    """The Arrow array holding `values` (None = null)."""
    if kind.type == pa.date32():
        return pa.array(values, pa.int32()).cast(pa.date32())
    if pa.types.is_timestamp(kind.type):
        return pa.array(values, pa.int64()).cast(kind.type)
    return pa.array(values, kind.type)


def stored_values(kind, arr):
    """Read back as model values (dates and timestamps as integers)."""
    if kind.type == pa.date32():
        return arr.cast(pa.int32()).to_pylist()
    if pa.types.is_timestamp(kind.type):
        return arr.cast(pa.int64()).to_pylist()
    return arr.to_pylist()


def cmp(kind, a, b):
    ka, kb = kind.key(a), kind.key(b)
    return (ka > kb) - (ka < kb)


def evaluate(kind, pred, v):
    """True / False / None (unknown) for one row value."""
    op = pred[0]
    if op == "isnull":
        return v is None
    if op == "notnull":
        return v is not None
    if v is None:
        return None
    if op == "not":
        r = evaluate(kind, pred[1], v)
        return None if r is None else not r
    if op == "in":
        return any(cmp(kind, v, x) == 0 for x in pred[1])
    if op == "between":
        return cmp(kind, v, pred[1]) >= 0 and cmp(kind, v, pred[2]) <= 0
    c = cmp(kind, v, pred[1])
    return {"=": c == 0, "<>": c != 0, "<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[op]


def render(kind, pred, rng, col="c"):
    op = pred[0]
    if op == "isnull":
        return f"{col} IS NULL"
    if op == "notnull":
        return f"{col} IS NOT NULL"
    if op == "not":
        return f"NOT ({render(kind, pred[1], rng, col)})"
    if op == "in":
        return f"{col} IN ({', '.join(kind.literal(x, rng) for x in pred[1])})"
    if op == "between":
        return f"{col} BETWEEN {kind.literal(pred[1], rng)} AND {kind.literal(pred[2], rng)}"
    lit = kind.literal(pred[1], rng)
    if rng.random() < 0.2:  # the literal on the left
        flip = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
        return f"{lit} {flip} {col}"
    return f"{col} {op} {lit}"


def random_predicate(kind, rng, values):
    present = [v for v in values if v is not None]
    pick = lambda: rng.choice(present)  # noqa: E731
    r = rng.random()
    if r < 0.05:
        return ("isnull",)
    if r < 0.08:
        return ("notnull",)
    if r < 0.18:
        return ("in", [pick() for _ in range(rng.randint(1, 4))])
    if r < 0.28:
        a, b = sorted([pick(), pick()], key=kind.key)
        return ("between", a, b)
    base = (rng.choice(["=", "<>", "<", "<=", ">", ">="]), pick())
    return ("not", base) if r < 0.35 else base


# ---- the test ----------------------------------------------------------------


def build_table(db, kind, rng, name):
    values = kind.values(rng)
    values = values + [None, None]
    rng.shuffle(values)
    schema = pa.schema([("k", pa.int64()), ("c", kind.type)])
    t = db.create_table(name, schema, infino.IndexSpec())
    batch = pa.table({"k": pa.array(range(len(values)), pa.int64()),
                      "c": arrow_column(kind, values)}, schema=schema)
    t.append(batch)
    return t, values


def same(kind, a, b):
    if a is None or b is None:
        return a is None and b is None
    return cmp(kind, a, b) == 0 and (not isinstance(a, float) or math.copysign(1, a) == math.copysign(1, b) or a == 0)


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_predicates_match_the_model(tmp_path, kind):
    rng = random.Random(f"{SEED}:{kind.name}")
    db = infino.connect(str(tmp_path))
    name = f"t_{kind.name}"
    t, values = build_table(db, kind, rng, name)

    # what the table holds is what was written
    got = t.to_arrow(columns=["k", "c"]).sort_by("k")
    assert all(same(kind, a, b) for a, b in
               zip(stored_values(kind, got.column("c")), values)), kind.name
    sql = db.query_sql(f"SELECT k, c FROM {name} ORDER BY k")
    assert sql.schema.field("c").type == kind.type
    assert all(same(kind, a, b) for a, b in
               zip(stored_values(kind, sql.column("c")), values)), kind.name

    # ORDER BY: NULLs first, then the model's order
    order = db.query_sql(f"SELECT k FROM {name} ORDER BY c, k").column("k").to_pylist()
    expect = sorted(range(len(values)),
                    key=lambda i: (values[i] is not None,
                                   kind.key(values[i]) if values[i] is not None else 0, i))
    assert order == expect, kind.name

    # count(c) counts every non-null value (NaN included)
    n = db.query_sql(f"SELECT count(c) AS n FROM {name}").column("n").to_pylist()[0]
    assert n == sum(v is not None for v in values)

    for i in range(N_PREDICATES):
        pred = random_predicate(kind, rng, values)
        text = render(kind, pred, rng)
        want = sorted(k for k, v in enumerate(values) if evaluate(kind, pred, v) is True)
        via = rng.choice(["to_arrow", "sql"])
        if via == "to_arrow":
            got = sorted(t.to_arrow(columns=["k"], where=text).column("k").to_pylist())
        else:
            got = sorted(db.query_sql(f"SELECT k FROM {name} WHERE {text}").column("k").to_pylist())
        assert got == want, f"{kind.name} via {via}: {text}"

    # delete removes exactly the matched rows, three times over
    alive = set(range(len(values)))
    for _ in range(3):
        pred = random_predicate(kind, rng, values)
        text = render(kind, pred, rng)
        matched = {k for k in alive if evaluate(kind, pred, values[k]) is True}
        t.delete(text)
        alive -= matched
        left = set(t.to_arrow(columns=["k"]).column("k").to_pylist())
        assert left == alive, f"{kind.name} delete: {text}"
