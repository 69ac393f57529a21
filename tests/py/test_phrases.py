"""Phrase queries ("new york") against a brute-force oracle written from
the rules, not from the engine: a phrase matches where its tokens stand at
the same relative positions in the text (stop words keep their positions),
scores as BM25 summed over its tokens with tf = the phrase's occurrences,
and is one clause among the query's terms; -"a b" excludes. Random corpora
over a small vocabulary (so phrases recur), several superfiles, deletions,
both modes; plus upstream 0.11.0's own answers on a fixed corpus and the
errors of a column without positions."""
from __future__ import annotations

import collections
import math
import random
import re

import pyarrow as pa
import pytest

import infino

K1, B = 1.2, 0.75
# Lucene's English stop words, as the "english" list of IndexSpec.fts
STOP = set("a an and are as at be but by for if in into is it no not of on or such "
           "that the their then there these they this to was will with".split())


def positioned(text: str, stop: set[str]) -> list[tuple[int, str]]:
    """(position, token) of the kept tokens; ASCII text: lowercased alnum
    runs, positions counting the dropped stop words too."""
    return [(p, t) for p, t in enumerate(re.findall(r"[a-z0-9]+", text.lower()))
            if t not in stop]


def parse(q: str, stop: set[str]):
    """Plain positive terms (with multiplicity), negative terms, and phrases
    as (negative, [(relative position, token)]), per the query syntax."""
    pos, neg, phrases = collections.Counter(), set(), []
    i = 0
    while i < len(q):
        if q[i].isspace():
            i += 1
            continue
        s = i
        q0 = s + (q[s] == "-")
        close = q.find('"', q0 + 1) if q0 < len(q) and q[q0] == '"' else -1
        if close >= 0:
            toks = positioned(q[q0 + 1:close], stop)
            negative = q0 != s
            if len(toks) == 1 and negative:
                neg.add(toks[0][1])
            elif len(toks) == 1:
                pos[toks[0][1]] += 1
            elif toks:
                phrases.append((negative, [(p - toks[0][0], t) for p, t in toks]))
            i = close + 1
            continue
        while i < len(q) and not q[i].isspace():
            i += 1
        chunk = q[s:i]
        if chunk.startswith("-") and len(chunk) > 1:
            neg.update(t for _, t in positioned(chunk[1:], stop))
        else:
            pos.update(t for _, t in positioned(chunk, stop))
    return pos, neg, phrases


def occurrences(doc: list[tuple[int, str]], phrase) -> int:
    at = dict(doc)
    return sum(1 for p0, _ in doc
               if all(at.get(p0 + rel) == tok for rel, tok in phrase))


class Oracle:
    def __init__(self, stop: set[str]):
        self.stop = stop
        self.docs: list[tuple[int, list[tuple[int, str]]]] = []  # (n, tokens)
        self.live: set[int] = set()

    def add(self, n: int, text: str):
        self.live.add(len(self.docs))
        self.docs.append((n, positioned(text, self.stop)))

    def delete_n(self, ns: set[int]):
        self.live = {i for i in self.live if self.docs[i][0] not in ns}

    def run(self, q: str, mode: str, k1: float = K1, b: float = B):
        """[(row, score)] of every matching live row, best first."""
        pos, neg, phrases = parse(q, self.stop)
        clauses = list(pos.items()) + [(p, None) for neg_, p in phrases if not neg_]
        if not clauses:
            return []
        terms = [d[1] for d in self.docs]
        n_docs = sum(1 for d in terms if d)  # docs with tokens
        total = sum(len(d) for d in terms)
        avgdl = total / n_docs if n_docs and total else 1.0

        def idf(t):
            df = sum(1 for d in terms if any(x == t for _, x in d))
            return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))

        def part(w, tf, dl):
            c = (w * tf) / (tf + (k1 * (1 - b) + k1 * b / avgdl * dl))
            return int(c * 2**40 + 0.5)

        out = []
        for i in sorted(self.live):
            doc = terms[i]
            toks = [t for _, t in doc]
            if set(toks) & neg or any(occurrences(doc, p) for n_, p in phrases if n_):
                continue
            acc, hit = 0, 0
            for clause, mult in clauses:
                if mult is not None:  # a plain term
                    tf = toks.count(clause)
                    if tf:
                        hit += 1
                        acc += part(idf(clause) * mult, tf, len(toks))
                else:
                    pf = occurrences(doc, clause)
                    if pf:
                        hit += 1
                        acc += sum(part(idf(tok), pf, len(toks)) for _, tok in clause)
            if hit and (mode == "or" or hit == len(clauses)):
                out.append((i, float(pa.scalar(acc / 2**40, pa.float32()).as_py())))
        out.sort(key=lambda x: (-x[1], x[0]))
        return out


WORDS = "red blue green fox dog cat sky sea big old new york".split()
FILL = ["the", "of", "a", "in", "and"]


def sentence(rnd: random.Random) -> str:
    n = rnd.choice([0, 1, 2, 4, 8, 16])
    return " ".join(rnd.choice(WORDS + FILL) for _ in range(n))


def a_query(rnd: random.Random, texts: list[str]) -> str:
    parts = []
    for _ in range(rnd.randint(1, 3)):
        r = rnd.random()
        if r < 0.5:
            # a window of a real doc's raw words: the phrase occurs somewhere
            words = re.findall(r"[a-z0-9]+", rnd.choice(texts).lower()) or ["fox", "dog"]
            start = rnd.randrange(len(words))
            phrase = " ".join(words[start:start + rnd.randint(2, 4)])
            parts.append(('-"%s"' if rnd.random() < 0.2 else '"%s"') % phrase)
        elif r < 0.7:
            parts.append('"%s %s"' % (rnd.choice(WORDS), rnd.choice(WORDS)))
        elif r < 0.9:
            parts.append(rnd.choice(WORDS))
        else:
            parts.append("-" + rnd.choice(WORDS))
    return " ".join(parts)


@pytest.mark.parametrize("seed", range(6))
def test_phrases_match_brute_force(tmp_path, seed):
    rnd = random.Random(seed)
    stop = STOP if seed % 2 else set()
    schema = pa.schema([("n", pa.int64()), ("body", pa.large_utf8())])
    spec = infino.IndexSpec().fts("body", positions=True,
                                  stopwords="english" if stop else None)
    t = infino.connect(str(tmp_path)).create_table("t", schema, spec)
    oracle = Oracle(stop)
    texts: list[str] = []
    n = 0
    for _ in range(rnd.randint(1, 8)):
        rows = []
        for _ in range(rnd.randint(1, 60)):
            text = sentence(rnd)
            if rnd.random() < 0.1:
                text = text.upper().replace(" ", ", ")
            rows.append({"n": n, "body": text if rnd.random() > 0.05 else None})
            oracle.add(n, rows[-1]["body"] or "")
            texts.append(text)
            n += 1
        t.append(rows)
        if rnd.random() < 0.4:
            gone = set(rnd.sample(range(n), min(n, rnd.randint(1, 8))))
            t.delete(f"n IN ({', '.join(map(str, sorted(gone)))})")
            oracle.delete_n(gone)
    n_of_row = [d[0] for d in oracle.docs]
    checked = 0
    for _ in range(150):
        q = a_query(rnd, texts)
        mode = rnd.choice(["or", "and"])
        k = rnd.choice([1, 5, 1000])
        pos, _neg, phrases = parse(q, stop)
        if not pos and not any(not neg_ for neg_, _ in phrases):
            if _neg or phrases:
                with pytest.raises(ValueError):
                    t.bm25_search("body", q, k)
            continue
        want = oracle.run(q, mode)
        got = t.bm25_search("body", q, k, mode=mode, projection=["n", "score"]).to_pylist()
        assert [r["n"] for r in got] == [n_of_row[i] for i, _ in want[:k]], (q, mode)
        for r, (_, s) in zip(got, want):
            assert r["score"] == pytest.approx(s, rel=1e-5), (q, mode)
        got_m = t.token_match("body", q, mode=mode, projection=["n"]).column("n").to_pylist()
        assert sorted(got_m) == sorted(n_of_row[i] for i, _ in want), (q, mode)
        assert t.count("body", q, mode=mode) == len(want), (q, mode)
        checked += bool(want) and bool(phrases)
    assert checked > 10  # phrases did match: the test exercised them


def corpus(tmp_path, **fts):
    schema = pa.schema([("id", pa.int64()), ("body", pa.large_utf8())])
    t = infino.connect(str(tmp_path)).create_table(
        "t", schema, infino.IndexSpec().fts("body", **fts))
    t.append(pa.table({"id": [0, 1, 2, 3, 4], "body": [
        "the quick brown fox", "brown quick fox jumps", "quick brown quick brown",
        "fox", "king of the hill, quick quick"]}, schema=schema))
    return t


# upstream 0.11.0's answers (row, score) on this corpus, positions=True,
# stopwords="english"
UPSTREAM = {
    'fox -"quick brown"': [(3, 0.3409), (1, 0.2223)],
    '"king hill"': [],
    '"king of the hill"': [(4, 1.1433)],
    '"king of hill"': [],
    '"quick quick"': [(4, 0.2373)],
    '"quick brown fox"': [(0, 0.637)],
    '"fox" "jumps"': [(1, 0.7939), (3, 0.3409), (0, 0.2514)],
    '"Quick-Brown"': [(2, 0.4827), (0, 0.3856)],
    '"brown quick"': [(1, 0.3409), (2, 0.3409)],
    '"quick brown': [(2, 0.4827), (0, 0.3856), (1, 0.3409), (4, 0.168)],
    '""': [],
    '"the quick" "quick brown"': [(2, 0.6507), (0, 0.5198), (4, 0.168), (1, 0.1186)],
}


@pytest.mark.parametrize("q", sorted(UPSTREAM))
def test_phrases_as_upstream_0110(tmp_path, q):
    t = corpus(tmp_path, positions=True, stopwords="english")
    got = t.bm25_search("body", q, 10, projection=["id", "score"]).to_pylist()
    assert [(r["id"], round(r["score"], 4)) for r in got] == UPSTREAM[q]


def test_phrase_needs_positions(tmp_path):
    t = corpus(tmp_path)
    for call in (lambda: t.bm25_search("body", '"quick brown"', 10),
                 lambda: t.count("body", 'fox -"quick brown"'),
                 lambda: t.token_match("body", '"quick brown"')):
        with pytest.raises(ValueError, match="without token positions"):
            call()
    # a quoted single word is a term; an unbalanced quote is plain text
    assert t.count("body", '"quick"') == t.count("body", "quick") == 4
    assert t.count("body", '"quick brown') == 4


def test_phrases_in_sql_hybrid_and_after_optimize(tmp_path):
    t = corpus(tmp_path, positions=True)
    db = infino.connect(str(tmp_path))
    t.append([{"id": 5, "body": "a brown quick hill"}])
    want = [(r["id"]) for r in t.bm25_search("body", '"brown quick"', 10,
                                             projection=["id"]).to_pylist()]
    assert sorted(want) == [1, 2, 5]
    sql = db.query_sql("""SELECT id FROM bm25_search('t', 'body', '"brown quick"', 10)""")
    assert sql.column("id").to_pylist() == want
    t.optimize()
    t2 = infino.connect(str(tmp_path)).open_table("t")
    assert [r["id"] for r in t2.bm25_search("body", '"brown quick"', 10,
                                            projection=["id"]).to_pylist()] == want
    assert infino.connect(str(tmp_path)).schema("t")["fields"][1]["index"]["positions"] is True


def test_phrases_on_a_hidden_column(tmp_path):
    """stored=False hides the text from reads, not from phrase checks."""
    schema = pa.schema([("id", pa.int64()), ("body", pa.large_utf8())])
    t = infino.connect(str(tmp_path)).create_table(
        "t", schema, infino.IndexSpec().fts("body", positions=True, stored=False))
    t.append([{"id": 0, "body": "new york city"}, {"id": 1, "body": "york new"},
              {"id": 2, "body": "a new car in york"}])
    assert [r["id"] for r in t.bm25_search("body", '"new york"', 10,
                                           projection=["id"]).to_pylist()] == [0]
    assert t.count("body", '-"new york" york') == 2
    with pytest.raises(ValueError):
        t.bm25_search("body", '"new york"', 10, projection=["body"])
