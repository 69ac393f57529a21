#!/usr/bin/env python3
"""The fixed cost of one vector search: CPU time per call at several nprobe.

A 36,864 x 384 table shaped like the real MiniLM set of bench_vector.py
(36,364 base rows, 500 held-out queries; nlist 256, cosine) but generated:
unit vectors around 512 planted centres (centre N(0,1), noise 0.6 N(0,1)
per coordinate, then normalized), so it needs no embedding run. One
append, one superfile. Each query runs alone; the figure is the thread's
CPU time (time.thread_time_ns) per call, median over rounds of the mean
over all queries, so a loaded machine does not blur it.

    PYTHONPATH=build-py/pkg .venv/bin/python bench/vector/fixed_cost.py \
        --dir /tmp/fc [--nprobe 1,4,16,0] [--dump ids.npz] [--profile N]

`--dump` saves the ids and scores of every query at every nprobe (to
check that two builds answer bit-identically); `--profile N` loops N
times over the queries at the first nprobe only (for perf record);
`--calls N` makes N lean calls at the first nprobe (perf stat: the
difference of two N gives instructions per call).
`--faiss` (run with bench/.venv/bin/python) times faiss IndexIVFFlat on
the same vectors with the same nlist and nprobes instead (one thread).
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time

ROWS = 36_864
QUERIES = 500
DIM = 384
NLIST = 256
CENTRES = 512
K = 10


def data():
    import numpy as np

    rng = np.random.default_rng(20261208)
    c = rng.standard_normal((CENTRES, DIM)).astype(np.float32)
    which = rng.integers(0, CENTRES, ROWS)
    x = c[which] + 0.6 * rng.standard_normal((ROWS, DIM)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x[QUERIES:].copy(), x[:QUERIES].copy()


def queries_of(d):
    """The queries, cached next to the table (generating costs seconds)."""
    import numpy as np

    path = pathlib.Path(d) / "queries.npy"
    if not path.exists():
        np.save(path, data()[1])
    return np.load(path)


def open_table(d):
    import pyarrow as pa
    import infino

    db = infino.connect(d)
    if "vec" in db.list_tables():
        return db.open_table("vec")
    base, _ = data()
    t = db.create_table(
        "vec",
        pa.schema([("doc_id", pa.int64()),
                   ("embedding", pa.list_(pa.float32(), DIM))]),
        infino.IndexSpec().vector("embedding", DIM, NLIST, "cosine"))
    t.append(pa.table({
        "doc_id": pa.array(range(len(base)), pa.int64()),
        "embedding": pa.FixedSizeListArray.from_arrays(
            pa.array(base.ravel()), DIM)}))
    return t


def per_call(fn, queries, rounds):
    """Median and minimum over rounds of the mean CPU us per call (the
    minimum is the round least disturbed by other processes)."""
    means = []
    for _ in range(rounds):
        t0 = time.thread_time_ns()
        for q in queries:
            fn(q)
        means.append((time.thread_time_ns() - t0) / len(queries) / 1e3)
    return statistics.median(means), min(means)


def ours(a, nprobes):
    import numpy as np

    t = open_table(a.dir)
    queries = queries_of(a.dir)
    if a.profile or a.calls:
        np_ = nprobes[0] or None
        if a.calls:  # a fixed number of calls (for perf stat)
            for i in range(a.calls):
                t.vector_search_ids("embedding", queries[i % len(queries)],
                                    K, np_, with_scores=True)
            return
        for _ in range(a.profile):
            for q in queries:
                t.vector_search_ids("embedding", q, K, np_, with_scores=True)
        return
    dump = {}
    for nprobe in nprobes:
        np_ = nprobe or None
        for q in queries[:50]:  # warm-up: maps, pages
            t.vector_search_ids("embedding", q, K, np_, with_scores=True)
        lean = per_call(lambda q: t.vector_search_ids(
            "embedding", q, K, np_, with_scores=True), queries, a.rounds)
        table = per_call(lambda q: t.vector_search("embedding", q, K, np_),
                         queries, a.rounds)
        print(f"ours nprobe {nprobe or 'default'}: lean {lean[0]:.1f} "
              f"(min {lean[1]:.1f}) us, pa.Table {table[0]:.1f} "
              f"(min {table[1]:.1f}) us CPU per call", flush=True)
        if a.dump:
            ids, scores = [], []
            for q in queries:
                i, s = t.vector_search_ids("embedding", q, K, np_,
                                           with_scores=True)
                ids.append(np.asarray(i))
                scores.append(np.asarray(s))
            dump[f"ids{nprobe}"] = np.stack(ids)
            dump[f"scores{nprobe}"] = np.stack(scores)
    if a.dump:
        np.savez(a.dump, **dump)


def faiss_run(a, nprobes):
    import faiss
    import numpy as np

    faiss.omp_set_num_threads(1)
    base, queries = data()
    quant = faiss.IndexFlatIP(DIM)
    index = faiss.IndexIVFFlat(quant, DIM, NLIST, faiss.METRIC_INNER_PRODUCT)
    index.train(base)
    index.add(base)
    for nprobe in nprobes:
        index.nprobe = nprobe or 8
        for q in queries[:50]:
            index.search(q[None, :], K)
        us = per_call(lambda q: index.search(q[None, :], K), queries,
                      a.rounds)
        print(f"faiss IVFFlat nprobe {nprobe or '8 (ours default)'}: "
              f"{us[0]:.1f} (min {us[1]:.1f}) us CPU per call", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--nprobe", default="1,4,16,0")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dump")
    ap.add_argument("--profile", type=int, default=0)
    ap.add_argument("--calls", type=int, default=0)
    ap.add_argument("--faiss", action="store_true")
    a = ap.parse_args()
    nprobes = [int(x) for x in a.nprobe.split(",")]
    if a.faiss:
        faiss_run(a, nprobes)
    else:
        ours(a, nprobes)


if __name__ == "__main__":
    sys.exit(main())
