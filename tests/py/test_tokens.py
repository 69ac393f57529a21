"""Tokens and exact values, end to end, against plain Python oracles.

Tokens used to be cut at 255 bytes (so 'a' * 255 + 'zzz' matched both
'a' * 300 and 'a' * 255 + 'b' * 45); they are now indexed and matched whole
by bm25_search, token_match, count, exact_match and the SQL table
functions. exact_match takes any stored value: more words than a query may
hold (4,096 distinct terms), repeated words, empty, white space only, and
values holding NUL. A query over the term limit is refused with its count.
"""
from __future__ import annotations

import random
import re

import pyarrow as pa
import pytest

import infino

SCHEMA = pa.schema([("n", pa.int64()), ("body", pa.string())])


def make_table(tmp_path, name="t"):
    db = infino.connect(str(tmp_path))
    return db, db.create_table(name, SCHEMA, infino.IndexSpec().fts("body"))


def tokens(text: str) -> set[str]:
    # ASCII values: the tokenizer yields the lowercased alnum runs, whole.
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def ns(table: pa.Table) -> list[int]:
    return sorted(table.column("n").to_pylist())


def sql_ns(db, sql: str) -> list[int]:
    return sorted(r["n"] for r in db.query_sql(sql).to_pylist())


def lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


# ---- long tokens ---------------------------------------------------------


def test_issue_example_long_tokens_are_not_cut(tmp_path):
    db, t = make_table(tmp_path)
    rows = ["a" * 300, "a" * 255 + "b" * 45, "A" * 255 + " tail", "É" * 200,
            "q" * 100_000, "x " + "a" * 300 + " y"]
    t.append(pa.table({"n": list(range(len(rows))), "body": rows}, schema=SCHEMA))
    cases = {
        "a" * 255 + "zzz": [],
        "a" * 300: [0, 5],
        "A" * 255 + "B" * 45: [1],
        "a" * 255: [2],
        "a" * 256: [],
        "é" * 200: [3],      # case folded, whole
        "é" * 127: [],       # what the old cut kept of it
        "q" * 100_000: [4],
        "q" * 99_999: [],
    }
    for q, want in cases.items():
        assert ns(t.token_match("body", q, projection=["n"])) == want, len(q)
        assert ns(t.bm25_search("body", q, 10, projection=["n"])) == want, len(q)
        assert t.count("body", q) == len(want), len(q)
        if len(q) < 1000:
            assert sql_ns(db, f"SELECT n FROM token_match('t', 'body', {lit(q)})") == want
            assert sql_ns(db, f"SELECT n FROM bm25_search('t', 'body', {lit(q)}, 10)") == want
    for i, v in enumerate(rows):
        assert ns(t.exact_match("body", v, projection=["n"])) == [i]
        assert sql_ns(db, f"SELECT n FROM exact_match('t', 'body', {lit(v)})") == [i]
    assert ns(t.exact_match("body", "a" * 255 + "zzz", projection=["n"])) == []
    assert ns(t.exact_match("body", "a" * 299, projection=["n"])) == []


def long_word(rnd: random.Random, families: list[str]) -> str:
    base = rnd.choice(families)
    cut = rnd.choice([1, 2, 127, 128, 129, 254, 255, 256, 257, 300, 500, len(base)])
    tail = "".join(rnd.choice("abcxyz") for _ in range(rnd.choice([0, 0, 1, 5, 40])))
    return base[:cut] + tail


@pytest.mark.parametrize("seed", [1, 2])
def test_long_tokens_against_oracle(tmp_path, seed):
    """Random values of long, prefix-sharing words over several superfiles:
    every search side agrees with a whole-token oracle."""
    rnd = random.Random(seed)
    families = ["".join(rnd.choice("ab") for _ in range(600)) for _ in range(3)]
    families.append("a" * 600)
    db, t = make_table(tmp_path)
    values: list[str] = []
    for batch in range(4):
        rows = []
        for _ in range(60):
            words = [long_word(rnd, families) if rnd.random() < 0.6
                     else rnd.choice(["the", "of", "ab", "a1"]) for _ in range(rnd.randint(0, 6))]
            rows.append(" ".join(words))
        t.append(pa.table({"n": list(range(len(values), len(values) + len(rows))),
                           "body": rows}, schema=SCHEMA))
        values += rows
    toks = [tokens(v) for v in values]
    all_words = sorted(set().union(*toks))
    probes = rnd.sample(all_words, min(60, len(all_words)))
    probes += [w[:255] for w in probes if len(w) > 255]
    probes += [w + "z" for w in probes[:20]] + [w[:-1] for w in probes[:20] if len(w) > 1]
    for q in probes:
        want = [i for i, ts in enumerate(toks) if q in ts]
        assert ns(t.token_match("body", q, projection=["n"])) == want, (len(q), q[:20])
        assert t.count("body", q) == len(want)
        got = ns(t.bm25_search("body", q, len(values), projection=["n"]))
        assert got == want, (len(q), q[:20])
    for q in probes[:10]:
        want = [i for i, ts in enumerate(toks) if q in ts]
        assert sql_ns(db, f"SELECT n FROM token_match('t', 'body', {lit(q)})") == want
    for v in rnd.sample(values, 30) + ["", "a" * 299]:
        want = [i for i, x in enumerate(values) if x == v]
        assert ns(t.exact_match("body", v, projection=["n"])) == want
        assert sql_ns(db, f"SELECT n FROM exact_match('t', 'body', {lit(v)})") == want


# ---- exact_match of any value ----------------------------------------------


def test_exact_match_any_value(tmp_path):
    db, t = make_table(tmp_path)
    big = " ".join(f"w{i}" for i in range(10_000))
    rows = [
        big,                                   # 10,000 distinct words
        big.replace("w9999", "w99999"),        # one word differs
        " ".join(f"w{i}" for i in reversed(range(10_000))),  # same words, other order
        big + " ",                             # trailing space
        "rep rep rep", "rep rep", "rep", "Rep rep rep",
        "", "   ", " \t\n ", None,
        " ".join(["same"] * 6000),             # 6,000 tokens, one distinct
        " ".join(f"v{i % 5000}" for i in range(9000)),  # 5,000 distinct, repeats
    ]
    t.append(pa.table({"n": list(range(len(rows))), "body": rows}, schema=SCHEMA))
    probes = [r for r in rows if r is not None] + [
        big.replace("w5000", "nowhere"), "rep rep rep rep", "rep  rep rep", " ", "\t"]
    for v in probes:
        want = [i for i, r in enumerate(rows) if r is not None and r == v]
        assert ns(t.exact_match("body", v, projection=["n"])) == want, v[:30]
        assert sql_ns(db, f"SELECT n FROM exact_match('t', 'body', {lit(v)})") == want, v[:30]


def test_exact_match_after_delete_and_across_superfiles(tmp_path):
    _, t = make_table(tmp_path)
    big = " ".join(f"w{i}" for i in range(5000))
    for k in range(3):
        t.append(pa.table({"n": [10 * k, 10 * k + 1], "body": [big, big + " x"]},
                          schema=SCHEMA))
    assert ns(t.exact_match("body", big, projection=["n"])) == [0, 10, 20]
    t.delete("n = 10")
    assert ns(t.exact_match("body", big, projection=["n"])) == [0, 20]


# ---- NUL -------------------------------------------------------------------


def test_nul_in_values_and_queries(tmp_path):
    _, t = make_table(tmp_path)
    rows = ["nul\0tail", "nul", "nul\0", "\0", "nul tail", "tail\0\0nul", ""]
    t.append(pa.table({"n": list(range(len(rows))), "body": rows}, schema=SCHEMA))
    for v in rows + ["nul\0ta", "\0\0", "nul\0tail\0"]:
        want = [i for i, r in enumerate(rows) if r == v]
        assert ns(t.exact_match("body", v, projection=["n"])) == want, repr(v)
    # NUL separates tokens in queries, as any non-alphanumeric byte does
    both = [0, 4, 5]
    assert ns(t.token_match("body", "nul\0tail", mode="and", projection=["n"])) == both
    assert ns(t.bm25_search("body", "tail\0nul", 10, mode="and", projection=["n"])) == both
    assert t.count("body", "\0tail\0", mode="and") == 3
    assert ns(t.token_match("body", "nul\0-tail", projection=["n"])) == [0, 1, 2, 4, 5]


def test_sql_exact_match_with_nul(tmp_path):
    db, t = make_table(tmp_path)
    t.append(pa.table({"n": [0, 1], "body": ["nul\0tail", "nul"]}, schema=SCHEMA))
    assert sql_ns(db, "SELECT n FROM exact_match('t', 'body', "
                      "'nul' || char(0) || 'tail')") == [0]


# ---- the query term limit --------------------------------------------------


def test_query_term_limit_names_the_count(tmp_path):
    db, t = make_table(tmp_path)
    t.append(pa.table({"n": [0, 1], "body": ["t1 t2", "t4095"]}, schema=SCHEMA))
    ok = " ".join(f"t{i}" for i in range(4096)) + " t1 t1"
    assert ns(t.bm25_search("body", ok, 10, projection=["n"])) == [0, 1]
    assert ns(t.token_match("body", ok, projection=["n"])) == [0, 1]
    assert t.count("body", ok) == 2
    over = " ".join(f"t{i}" for i in range(5000))
    msg = "query has 5000 distinct terms; at most 4096 are allowed"
    with pytest.raises(ValueError, match=msg):
        t.bm25_search("body", over, 10)
    with pytest.raises(ValueError, match=msg):
        t.token_match("body", over)
    with pytest.raises(ValueError, match=msg):
        t.count("body", over)
    with pytest.raises(Exception, match=msg):
        db.query_sql(f"SELECT n FROM bm25_search('t', 'body', {lit(over)}, 10)")
    neg = "t1 " + " ".join(f"-n{i}" for i in range(4097))
    with pytest.raises(ValueError, match="4097 distinct negated terms; at most 4096"):
        t.bm25_search("body", neg, 10)
    # exact_match is not a query: the same words are a value like any other
    t.append(pa.table({"n": [2], "body": [over]}, schema=SCHEMA))
    assert ns(t.exact_match("body", over, projection=["n"])) == [2]
