"""Runs upstream infino (PyPI `infino`, bench/.venv) on the data and
queries that bench_vector_ivf -D DIR wrote: one append of every row into a
table with a cosine vector index (upstream picks its own n_cent and
nprobe), then one-query searches; prints JSON lines with build CPU time,
peak RSS (input table included; it is reported), recall@10 against exact
search and p50/p99 latency.

usage: bench/.venv/bin/python upstream_peer.py DIR DIM TABLE_DIR
"""
import json
import resource
import sys
import time

import faiss
import infino
import numpy as np
import pyarrow as pa


def main():
    d, dim, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    base = np.fromfile(f"{d}/base.f32", dtype=np.float32).reshape(-1, dim)
    qs = np.fromfile(f"{d}/queries.f32", dtype=np.float32).reshape(-1, dim)
    n = len(base)
    nb = base / np.linalg.norm(base, axis=1, keepdims=True)
    nq = qs / np.linalg.norm(qs, axis=1, keepdims=True)
    flat = faiss.IndexFlatIP(dim)
    flat.add(nb)
    _, truth = flat.search(nq, 10)
    del flat, nb
    emb = pa.FixedSizeListArray.from_arrays(pa.array(base.reshape(-1)), dim)
    table = pa.table({"i": pa.array(np.arange(n, dtype=np.int64)), "emb": emb})
    input_mb = table.nbytes / 2**20
    db = infino.connect(root)
    t = db.create_table("v", table.schema,
                        infino.IndexSpec().vector("emb", dim, "cosine"))
    c0, w0 = time.process_time(), time.perf_counter()
    t.append(table)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"bench": "upstream_vector_build", "version": infino.version("infino"),
                      "n": n, "build_cpu_s": round(cpu, 3), "build_wall_s": round(wall, 3),
                      "vectors_per_cpu_s": round(n / cpu), "peak_rss_mb": round(rss, 1),
                      "input_table_mb": round(input_mb, 1)}), flush=True)
    lat, found = [], 0
    for rep in range(3):
        for i in range(len(qs)):
            q = qs[i].tolist()
            s = time.perf_counter()
            res = t.vector_search("emb", q, 10, projection=["i"])
            lat.append((time.perf_counter() - s) * 1e6)
            if rep == 0:
                found += len(set(res.column("i").to_pylist()) & set(truth[i].tolist()))
    lat.sort()
    print(json.dumps({"bench": "upstream_vector_search", "nprobe": "default",
                      "recall_at_10": round(found / (10 * len(qs)), 4),
                      "p50_us": round(lat[len(lat) // 2], 1),
                      "p99_us": round(lat[len(lat) * 99 // 100], 1)}), flush=True)


if __name__ == "__main__":
    main()
