"""Per-call time of searches from Python on the table run.py built: the same
cases and queries as bench_node.mjs; one JSON line per case.
    python bench_node.py DB_DIR QUERIES_JSON CALLS"""
import json
import sys
import time

import infino

db_dir, queries_file, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
q = json.load(open(queries_file))
t = infino.connect(db_dir).open_table("docs")
vecs = q["vectors"]


def stats(ns):
    ns.sort()
    pick = lambda p: ns[min(len(ns) - 1, int(p * len(ns)))]
    return {"p50_us": pick(0.5) / 1e3, "p99_us": pick(0.99) / 1e3, "mean_us": sum(ns) / len(ns) / 1e3}


def timed(fn, n):
    for i in range(min(200, n)):
        fn(i)
    ns = [0] * n
    clock = time.perf_counter_ns
    for i in range(n):
        t0 = clock()
        fn(i)
        ns[i] = clock() - t0
    return stats(ns)


cases = {
    "bm25_empty": lambda i: t.bm25_search("body", "", 10),
    "bm25_rare": lambda i: t.bm25_search("body", q["rare"][i % len(q["rare"])], 10),
    "bm25_common": lambda i: t.bm25_search("body", q["common"][i % len(q["common"])], 10),
    "vector": lambda i: t.vector_search("emb", vecs[i % len(vecs)], 10),
}
for name, fn in cases.items():
    print(json.dumps({"lang": "python", "case": name, "calls": calls, **timed(fn, calls)}), flush=True)
