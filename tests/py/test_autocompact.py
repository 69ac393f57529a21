"""Automatic compaction (connect(auto_compact=...), an extension): a
table grown by many small appends, deletes and updates through two
connections stays equal to a Python model of its rows, answers searches as
a fresh one-superfile table of the same rows does (BM25) or as brute force
does (vector, every list probed), and keeps O(F log N) superfiles."""
from __future__ import annotations

import math
import random

import numpy as np
import pyarrow as pa
import pytest

import infino

F = 4
DIM = 4
WORDS = [f"w{i}" for i in range(12)]
SCHEMA = pa.schema([("k", pa.int64()), ("body", pa.string()),
                    ("vec", pa.list_(pa.float32(), DIM))])


def spec():
    return infino.IndexSpec().fts("body").vector("vec", DIM, 2, "l2sq")


def make_row(rng: random.Random, k: int) -> tuple:
    n = rng.randint(1, 6)
    body = " ".join(rng.choice(WORDS) for _ in range(n)) + f" row{k}"
    vec = [round(rng.uniform(-4, 4), 3) for _ in range(DIM)]
    return k, body, vec


def batch(rows) -> pa.Table:
    return pa.table({"k": [r[0] for r in rows], "body": [r[1] for r in rows],
                     "vec": [r[2] for r in rows]}, schema=SCHEMA)


def live(t) -> dict:
    a = t.to_arrow(["k", "body", "vec"]).to_pydict()
    out = {}
    for k, b, v in zip(a["k"], a["body"], a["vec"]):
        assert k not in out, f"row k={k} twice"
        out[k] = (b, [float(x) for x in v])
    return out


def bound(rows: int) -> int:
    tiers = 1
    while rows >= F:
        rows //= F
        tiers += 1
    return tiers * (F - 1)


def hits(t, q: str) -> list:
    """(score, k) of the top 10 for `q`, best first."""
    r = t.bm25_search("body", q, 10)
    ids = t.to_arrow(["_id", "k"]).to_pydict()
    key = dict(zip(ids["_id"], ids["k"]))
    return sorted(zip(r["score"].to_pylist(), (key[i] for i in r["_id"].to_pylist())),
                  reverse=True)


def same_bm25(g: list, w: list, what: str) -> None:
    """Same hits and scores; hits tied at the last score may differ."""
    assert len(g) == len(w), what
    for (gs, _), (ws, _) in zip(g, w):
        assert gs == pytest.approx(ws, rel=1e-5), what
    if w:
        last = w[-1][0]
        above = lambda hits: {k for s, k in hits if s > last * (1 + 1e-5)}
        assert above(g) == above(w), what


def check_search(t, model: dict, rng: random.Random, what: str,
                 deleted: bool) -> None:
    """BM25 against a fresh one-superfile table of the live rows while
    nothing was deleted (deleted rows still count in the BM25 statistics
    of the superfiles holding them, which merges drop: scores then differ
    from a fresh table's); afterwards every hit must be a live row holding
    a query word, as many as there are, up to k. Vector search against
    brute force."""
    fresh_db = infino.connect("memory://", auto_compact=False)
    fresh = fresh_db.create_table("f", SCHEMA, spec())
    rows = [(k, b, v) for k, (b, v) in sorted(model.items())]
    if rows:
        fresh.append(batch(rows))
    for q in ("w1", "w3 w7", "w0 w5 w11", "row3"):
        if not deleted:
            same_bm25(hits(t, q), hits(fresh, q), f"{what}: bm25 {q!r}")
            continue
        got = [k for _, k in hits(t, q)]
        words = set(q.split())
        match = [k for k, (b, _) in model.items() if words & set(b.split())]
        assert len(got) == len(set(got)) == min(10, len(match)), what
        assert set(got) <= set(match), f"{what}: bm25 {q!r}"
    for _ in range(3):
        q = np.array([rng.uniform(-4, 4) for _ in range(DIM)], dtype=np.float32)
        got = t.vector_search("vec", q, 5, nprobe=1 << 20, projection=["k"])
        ks = np.array(sorted(model))
        vs = np.array([model[k][1] for k in ks], dtype=np.float32)
        d = ((vs - q) ** 2).sum(axis=1)
        order = np.lexsort((ks, d))[:5]
        want_d = sorted(d[order].tolist())
        got_k = got["k"].to_pylist()
        got_d = sorted(float(((np.array(model[k][1], dtype=np.float32) - q) ** 2).sum())
                       for k in got_k)
        assert len(set(got_k)) == len(got_k), what
        assert got_d == pytest.approx(want_d, rel=1e-5), f"{what}: vector"


def test_model_walk(tmp_path):
    rng = random.Random(20261207)
    uri = str(tmp_path / "db")
    dbs = [infino.connect(uri, auto_compact=F), infino.connect(uri, auto_compact=F)]
    ts = [dbs[0].create_table("t", SCHEMA, spec()), None]
    ts[1] = dbs[1].open_table("t")
    model: dict = {}
    next_key = 0
    steps = 200
    deleted = False
    for step in range(steps):
        t = ts[rng.randrange(2)]
        # appends only first, then deletes and updates too
        op = rng.random() * (0.75 if step < 80 else 1.0)
        if op < 0.6 or not model:
            rows = [make_row(rng, next_key)]
        elif op < 0.75:
            rows = [make_row(rng, next_key + i) for i in range(rng.randint(2, 6))]
        else:
            rows = None
        if rows is not None:
            t.append(batch(rows))
            for k, b, v in rows:
                model[k] = (b, v)
            next_key += len(rows)
        elif op < 0.88:
            k = rng.choice(sorted(model))
            assert t.delete(f"k = {k}").n_tombstoned == 1
            del model[k]
            deleted = True
        else:
            k = rng.choice(sorted(model))
            new = make_row(rng, next_key)
            next_key += 1
            t.update(f"k = {k}", batch([new]))
            del model[k]
            deleted = True
            model[new[0]] = (new[1], new[2])
        what = f"step {step}"
        got = live(ts[step % 2])
        assert got.keys() == model.keys(), what
        for k, (b, v) in model.items():
            assert got[k][0] == b and got[k][1] == pytest.approx(v), f"{what}: k={k}"
        if step % 20 == 19 or step == steps - 1:
            rep = ts[0].check()
            assert rep.n_rows == len(model), what
            assert rep.n_superfiles <= bound(next_key), (what, rep.n_superfiles)
            check_search(ts[0], model, rng, what, deleted)


def test_off_keeps_one_superfile_per_append():
    db = infino.connect("memory://", auto_compact=False)
    t = db.create_table("t", SCHEMA, spec())
    rng = random.Random(1)
    for k in range(12):
        t.append(batch([make_row(rng, k)]))
    assert t.check().n_superfiles == 12


def test_default_is_on_and_bounded():
    db = infino.connect("memory://")
    t = db.create_table("t", SCHEMA, spec())
    rng = random.Random(2)
    for k in range(200):
        t.append(batch([make_row(rng, k)]))
    n = t.check().n_superfiles
    assert n <= 7 * (1 + math.floor(math.log(200, 8))), n
    assert t.count_rows() == 200


@pytest.mark.parametrize("bad", [0, 1, -3, 2**32, "yes", 2.5])
def test_bad_fanout_is_refused(bad):
    with pytest.raises(ValueError, match="auto_compact"):
        infino.connect("memory://", auto_compact=bad)


def test_max_bytes_must_be_positive():
    with pytest.raises(ValueError, match="auto_compact_max_bytes"):
        infino.connect("memory://", auto_compact_max_bytes=0)
    with pytest.raises(OverflowError):
        infino.connect("memory://", auto_compact_max_bytes=-1)
