"""Writes tests/py/data/upstream_0110_bm25.json: BM25 scores from upstream
infino 0.11.0 (run with a venv that has `infino==0.11.0`, never the
project's), on a seeded corpus of short ASCII documents, so that upstream's
quantized document lengths are exact and its per-superfile statistics
(one append = one superfile) equal our table-global ones.

    python3 -m venv /tmp/up && /tmp/up/bin/pip install infino==0.11.0 pyarrow
    /tmp/up/bin/python tests/py/upstream_bm25_fixture.py

test_search_fts.py::test_scores_match_upstream_0110 replays it."""
import json
import os
import random
import shutil
import tempfile

import infino
import pyarrow as pa


def main():
    rnd = random.Random(1511)
    words = [f"w{i}" for i in range(40)] + ["apple", "apply", "applesauce", "app", "banana"]
    weights = [1.0 / (i + 1) for i in range(len(words))]
    docs = [" ".join(rnd.choices(words, weights, k=rnd.randint(0, 8))) for _ in range(300)]
    queries = []
    for _ in range(150):
        terms = rnd.choices(words, weights, k=rnd.randint(1, 5))
        if rnd.random() < 0.3:
            terms.append(rnd.choice(terms))  # a repeated term weighs twice
        q = {"query": " ".join(terms), "mode": rnd.choice(["or", "and"]), "k": rnd.choice([1, 5, 20, 300])}
        if rnd.random() < 0.3:
            q["k1"] = round(rnd.uniform(0.2, 3.0), 3)
            q["b"] = round(rnd.uniform(0.0, 1.0), 3)
        queries.append(q)
    prefixes = [{"prefix": p, "k": k} for p in ["app", "APP", "w1", "w", "apple", "ban", "", "zz", "w3"]
                for k in (5, 300)]
    tmp = tempfile.mkdtemp()
    try:
        db = infino.connect(os.path.join(tmp, "db"))
        schema = pa.schema([("n", pa.int64()), ("body", pa.large_utf8())])
        t = db.create_table("t", schema, infino.IndexSpec().fts("body"))
        t.append([{"n": i, "body": d} for i, d in enumerate(docs)])
        for q in queries:
            kw = {"k1": q["k1"], "b": q["b"]} if "k1" in q else {}
            got = t.bm25_search("body", q["query"], q["k"], mode=q["mode"], projection=["n", "score"], **kw)
            q["want"] = [[r["n"], r["score"]] for r in got.to_pylist()]
        for p in prefixes:
            sql = f"select n, score from bm25_search_prefix('t', 'body', '{p['prefix']}', {p['k']})"
            p["want"] = [[r["n"], r["score"]] for r in db.query_sql(sql).to_pylist()]
    finally:
        shutil.rmtree(tmp)
    out = os.path.join(os.path.dirname(__file__), "data", "upstream_0110_bm25.json")
    with open(out, "w") as f:
        json.dump({"upstream": "infino 0.11.0", "docs": docs, "queries": queries, "prefixes": prefixes}, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
