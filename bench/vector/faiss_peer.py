"""Runs faiss IndexIVFFlat (the peer of bench-protocol.md) on the data and
queries that bench_vector_ivf -D DIR wrote, single-threaded, and prints
one JSON line per nprobe with recall@10 (vs exact search) and p50/p99
latency of one-query searches, for a side-by-side comparison.

usage: python faiss_peer.py DIR DIM NLIST METRIC   (METRIC: cosine|l2sq|negdot)
Needs faiss-cpu and numpy (a bench-only peer; tests never import it).
"""
import json
import sys
import time

import faiss
import numpy as np


def main():
    d, dim, nlist, metric = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    faiss.omp_set_num_threads(1)
    base = np.fromfile(f"{d}/base.f32", dtype=np.float32).reshape(-1, dim)
    qs = np.fromfile(f"{d}/queries.f32", dtype=np.float32).reshape(-1, dim)
    if metric == "cosine":
        base = base / np.linalg.norm(base, axis=1, keepdims=True)
        qs = qs / np.linalg.norm(qs, axis=1, keepdims=True)
    mt = faiss.METRIC_L2 if metric == "l2sq" else faiss.METRIC_INNER_PRODUCT
    flat = faiss.IndexFlat(dim, mt)
    flat.add(base)
    _, truth = flat.search(qs, 10)
    del flat
    quant = faiss.IndexFlat(dim, mt)
    ivf = faiss.IndexIVFFlat(quant, dim, nlist, mt)
    t0 = time.process_time()
    ivf.train(base)  # faiss samples 256 * nlist rows itself
    ivf.add(base)
    build = time.process_time() - t0
    print(json.dumps({"bench": "faiss_ivfflat_build", "n": len(base), "nlist": nlist,
                      "build_cpu_s": round(build, 3)}), flush=True)
    for nprobe in (1, 2, 4, 8, 16, 32):
        ivf.nprobe = nprobe
        lat = []
        found = 0
        for rep in range(3):
            for i in range(len(qs)):
                q = qs[i:i + 1]
                t = time.perf_counter()
                _, ids = ivf.search(q, 10)
                lat.append((time.perf_counter() - t) * 1e6)
                if rep == 0:
                    found += len(set(ids[0]) & set(truth[i]))
        lat.sort()
        print(json.dumps({"bench": "faiss_ivfflat_search", "nprobe": nprobe,
                          "recall_at_10": round(found / (10 * len(qs)), 4),
                          "p50_us": round(lat[len(lat) // 2], 1),
                          "p99_us": round(lat[len(lat) * 99 // 100], 1)}), flush=True)


if __name__ == "__main__":
    main()
