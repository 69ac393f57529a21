"""Full-text search against an oracle: a brute-force BM25 written plainly in
Python over the same tokens, on random corpora split into 1-20 superfiles
with deletions. Top-k ids must match exactly (ties broken by superfile then
row, i.e. append order) and scores to 1e-5 relative."""
from __future__ import annotations

import math
import os
import random
import re

import pyarrow as pa
import pytest

import infino

K1, B = 1.2, 0.75
QUERIES = int(os.environ.get("INFINO_ORACLE_QUERIES", "400"))


def tokens(text: str) -> list[str]:
    # ASCII corpora: our tokenizer yields exactly the lowercased alnum runs.
    return re.findall(r"[a-z0-9]+", text.lower())


class Oracle:
    """Physical rows in append order (deleted ones included until optimize,
    since N, df and avgdl count them), plus the set of live rows."""

    def __init__(self):
        self.docs: list[tuple[int, list[str], str]] = []  # (n, tokens, text)
        self.live: set[int] = set()

    def add(self, n: int, text: str):
        self.live.add(len(self.docs))
        self.docs.append((n, tokens(text), text))

    def delete_n(self, ns: set[int]):
        for i in list(self.live):
            if self.docs[i][0] in ns:
                self.live.discard(i)

    def parse(self, q: str):
        pos, neg = set(), set()
        for chunk in q.split():
            if chunk.startswith("-") and len(chunk) > 1:
                neg.update(tokens(chunk[1:]))
            else:
                pos.update(tokens(chunk))
        return sorted(pos), neg

    def matches(self, q: str, mode: str) -> list[int]:
        pos, neg = self.parse(q)
        if not pos:
            return []
        out = []
        for i in sorted(self.live):
            toks = set(self.docs[i][1])
            if toks & neg:
                continue
            if (mode == "and" and all(t in toks for t in pos)) or (
                mode == "or" and any(t in toks for t in pos)
            ):
                out.append(i)
        return out

    def bm25(self, q: str, k: int, mode: str) -> list[tuple[int, float]]:
        pos, neg = self.parse(q)
        if not pos or k == 0:
            return []
        n_docs = len(self.docs)
        total = sum(len(d[1]) for d in self.docs)
        avgdl = total / n_docs if n_docs and total else 1.0
        df = {t: sum(1 for d in self.docs if t in d[1]) for t in pos}
        a = K1 * (1 - B)
        b = K1 * B / avgdl
        scored = []
        for i in self.matches(q, mode):
            toks = self.docs[i][1]
            dl = len(toks)
            acc = 0
            for t in pos:
                tf = toks.count(t)
                if tf == 0:
                    continue
                idf = math.log(1 + (n_docs - df[t] + 0.5) / (df[t] + 0.5))
                w = idf * (K1 + 1)
                c = (w * tf) / (tf + (a + b * dl))
                acc += int(c * 2**40 + 0.5)
            scored.append((i, float(pa.scalar(acc / 2**40, pa.float32()).as_py())))
        scored.sort(key=lambda x: (-x[1], x[0]))
        return scored[:k]


def zipf_vocab(rnd: random.Random, size: int):
    words = [f"w{i}" for i in range(size)]
    weights = [1.0 / (i + 1) for i in range(size)]
    return words, weights


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_bm25_matches_brute_force(tmp_path, monkeypatch, seed, parallel):
    if parallel:
        # split every query across the worker pool (superfile groups),
        # however small: results must not change
        monkeypatch.setenv("INFINO_PARALLEL_MIN_WORK", "0")
    rnd = random.Random(seed)
    words, weights = zipf_vocab(rnd, rnd.choice([30, 200, 2000]))
    schema = pa.schema([("n", pa.int64()), ("body", pa.large_utf8())])
    t = infino.connect(str(tmp_path)).create_table("t", schema, infino.IndexSpec().fts("body"))
    oracle = Oracle()
    n = 0
    n_appends = rnd.randint(1, 20)
    for _ in range(n_appends):
        rows = []
        for _ in range(rnd.randint(1, 120)):
            length = rnd.choice([0, 1, 3, 8, 20, 50])
            text = " ".join(rnd.choices(words, weights, k=length))
            if rnd.random() < 0.1:
                text = text.upper() + "!! ..."
            rows.append({"n": n, "body": text})
            oracle.add(n, text)
            n += 1
        t.append(rows)
        if rnd.random() < 0.4:
            gone = set(rnd.sample(range(n), min(n, rnd.randint(1, 10))))
            t.delete(f"n IN ({', '.join(map(str, sorted(gone)))})")
            oracle.delete_n(gone)
    ids = t.to_arrow(columns=["_id", "n"]).to_pylist()
    id_of_n = {r["n"]: r["_id"] for r in ids}
    n_of_row = [d[0] for d in oracle.docs]

    for qi in range(QUERIES):
        n_terms = rnd.randint(1, 10)
        terms = rnd.choices(words, weights, k=n_terms)
        if rnd.random() < 0.2:
            terms.append("zzzunknown")
        if rnd.random() < 0.25:
            terms.append("-" + rnd.choice(words))
        rnd.shuffle(terms)
        q = " ".join(terms)
        if all(x.startswith("-") for x in terms):
            with pytest.raises(ValueError):
                t.bm25_search("body", q, 5)
            continue
        mode = rnd.choice(["or", "and"])
        k = rnd.choice([0, 1, 5, 10, 50, 1000])
        got = t.bm25_search("body", q, k, mode=mode, projection=["n", "score"]).to_pylist()
        want = oracle.bm25(q, k, mode)
        assert [r["n"] for r in got] == [n_of_row[i] for i, _ in want], (q, mode, k)
        for r, (_, s) in zip(got, want):
            assert r["score"] == pytest.approx(s, rel=1e-5), (q, mode)
        if qi % 10 == 0:
            want_m = {n_of_row[i] for i in oracle.matches(q, mode)}
            got_m = t.token_match("body", q, mode=mode, projection=["n", "score"])
            assert set(got_m.column("n").to_pylist()) == want_m
            assert set(got_m.column("score").to_pylist()) <= {0.0}
            assert t.count("body", q, mode=mode) == len(want_m)
    # default result shape: _id then score, ids of the right rows
    got = t.bm25_search("body", words[0], 3)
    assert got.column_names == ["_id", "score"]
    assert got.schema.field("score").type == pa.float32()
    want = oracle.bm25(words[0], 3, "or")
    assert got.column("_id").to_pylist() == [id_of_n[n_of_row[i]] for i, _ in want]


def test_scores_do_not_depend_on_the_split(tmp_path):
    rnd = random.Random(5)
    words, weights = zipf_vocab(rnd, 300)
    texts = [" ".join(rnd.choices(words, weights, k=rnd.randint(1, 30))) for _ in range(600)]
    schema = pa.schema([("n", pa.int64()), ("body", pa.large_utf8())])
    db = infino.connect(str(tmp_path))
    one = db.create_table("one", schema, infino.IndexSpec().fts("body"))
    one.append([{"n": i, "body": s} for i, s in enumerate(texts)])
    many = db.create_table("many", schema, infino.IndexSpec().fts("body"))
    for lo in range(0, 600, 37):
        many.append([{"n": i, "body": texts[i]} for i in range(lo, min(lo + 37, 600))])
    for q in ["w1 w2", "w10 w50 w3", "w0", "w7 -w1", "w120 w5 w9 w2 w4"]:
        a = one.bm25_search("body", q, 20, projection=["n", "score"]).to_pylist()
        b = many.bm25_search("body", q, 20, projection=["n", "score"]).to_pylist()
        assert a == b


def test_query_edge_cases(tmp_path):
    schema = pa.schema([("body", pa.large_utf8())])
    t = infino.connect(str(tmp_path)).create_table("t", schema, infino.IndexSpec().fts("body"))
    t.append([{"body": "the quick brown fox"}, {"body": "the lazy dog"}, {"body": ""},
              {"body": None}, {"body": "Café au lait"}, {"body": "CAFÉ NOIR"},
              {"body": "naïve-test"}, {"body": "東京 タワー"}])
    assert t.bm25_search("body", "", 10).num_rows == 0
    assert t.bm25_search("body", "   ", 10).num_rows == 0
    with pytest.raises(ValueError, match="negated"):
        t.bm25_search("body", "-fox", 10)
    with pytest.raises(ValueError, match="mode"):
        t.bm25_search("body", "fox", 10, mode="xor")
    with pytest.raises(ValueError, match="missing"):
        t.bm25_search("missing", "fox", 10)
    with pytest.raises(ValueError, match="unknown column"):
        t.bm25_search("body", "fox", 10, projection=["nope"])
    with pytest.raises(TypeError):
        t.bm25_search("body", "fox", 10, projection="body")
    with pytest.raises(OverflowError):
        t.bm25_search("body", "fox", -1)
    assert t.bm25_search("body", "FOX", 10, mode="AND").num_rows == 1
    # duplicate terms count once
    assert (t.bm25_search("body", "fox fox", 1).column("score").to_pylist()
            == t.bm25_search("body", "fox", 1).column("score").to_pylist())
    # Unicode: folded and normalized, unlike upstream which drops them
    assert t.count("body", "café") == 2
    assert t.count("body", "CAFE\u0301") == 2  # decomposed form
    assert t.count("body", "naïve") == 1
    assert t.count("body", "東京") == 1
    assert t.token_match("body", "the -lazy", projection=["body"]).column("body").to_pylist() == [
        "the quick brown fox"]
    # exact_match compares whole values
    assert t.exact_match("body", "the lazy dog", projection=["body"]).num_rows == 1
    assert t.exact_match("body", "the lazy", projection=["body"]).num_rows == 0
    assert t.exact_match("body", "THE LAZY DOG").num_rows == 0
    assert t.exact_match("body", "", projection=["body"]).column("body").to_pylist() == [""]
    got = t.exact_match("body", "Café au lait", projection=["_id", "body", "score"])
    assert got.column_names == ["_id", "body", "score"] and got.num_rows == 1
