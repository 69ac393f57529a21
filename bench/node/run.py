"""Per-call overhead of the Node.js binding against the Python binding on
one table (bench/node/README.md). Builds the table once with the Python
package, then runs bench_node.py and bench_node.mjs alternately, each in a
fresh process, and reports medians of the per-case p50s and Node/Python
ratios. Writes bench/results/<date>-node.json.

    .venv/bin/python bench/node/run.py [--rows N] [--calls N] [--rounds N]
(PYTHONPATH must reach the infino package: bench/node/run.sh sets it.)"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

import numpy as np
import pyarrow as pa

import infino

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRATCH = os.path.join(ROOT, "bench", "scratch", "node")


def build(db_dir, rows, dim, seed):
    """A seeded table: bodies of 40 Zipf-distributed terms plus a unique
    id token, and Gaussian-cluster float32 embeddings."""
    rng = np.random.default_rng(seed)
    db = infino.connect(db_dir)
    if "docs" in db.list_tables():
        db.drop_table("docs", purge=True)
    schema = pa.schema([
        pa.field("doc_id", pa.large_utf8(), nullable=False),
        pa.field("body", pa.large_utf8(), nullable=False),
        pa.field("emb", pa.list_(pa.float32(), dim), nullable=False),
    ])
    t = db.create_table("docs", schema, infino.IndexSpec().fts("body").vector("emb", dim, 64, "cosine"))
    ranks = np.arange(1, 5001)
    p = 1.0 / ranks
    p /= p.sum()
    centers = rng.normal(size=(32, dim)).astype(np.float32)
    batch = 10000
    for start in range(0, rows, batch):
        n = min(batch, rows - start)
        terms = rng.choice(5000, size=(n, 40), p=p)
        bodies = [" ".join(f"term{x:04d}" for x in row) + f" id{start + i}" for i, row in enumerate(terms)]
        emb = centers[rng.integers(0, 32, n)] + rng.normal(scale=0.3, size=(n, dim)).astype(np.float32)
        t.append(pa.table({
            "doc_id": pa.array([str(start + i) for i in range(n)], pa.large_utf8()),
            "body": pa.array(bodies, pa.large_utf8()),
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(emb.ravel(), pa.float32()), dim),
        }, schema=schema))
    queries = {
        "rare": [f"id{int(x)}" for x in rng.integers(0, rows, 100)],
        "common": [f"term{int(a):04d} term{int(b):04d}" for a, b in rng.integers(0, 20, (100, 2))],
        "vectors": (centers[rng.integers(0, 32, 100)] +
                    rng.normal(scale=0.3, size=(100, dim)).astype(np.float32)).tolist(),
    }
    return queries


def run(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    os.makedirs(SCRATCH, exist_ok=True)
    db_dir = os.path.join(SCRATCH, f"db-{args.rows}-{args.dim}-s{args.seed}")
    qfile = os.path.join(SCRATCH, f"queries-{args.rows}-{args.dim}-s{args.seed}.json")
    if not os.path.exists(qfile):
        queries = build(db_dir, args.rows, args.dim, args.seed)
        json.dump(queries, open(qfile, "w"))
    env = dict(os.environ)
    env["NODE_PATH"] = ""  # `import "infino"` resolves through bench/node/node_modules
    samples = {}
    for _ in range(args.rounds):
        for cmd in ([sys.executable, os.path.join(HERE, "bench_node.py"), db_dir, qfile, str(args.calls)],
                    ["node", os.path.join(HERE, "bench_node.mjs"), db_dir, qfile, str(args.calls)]):
            for r in run(cmd, env):
                samples.setdefault((r["lang"], r["case"]), []).append(r)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    results = []
    for (lang, case), rs in sorted(samples.items()):
        res = {"bench": "node", "lang": lang, "case": case, "commit": commit, "machine": platform.node(),
               "rows": args.rows, "dim": args.dim, "calls": args.calls, "rounds": args.rounds,
               "p50_us": statistics.median(r["p50_us"] for r in rs),
               "p99_us": statistics.median(r["p99_us"] for r in rs),
               "mean_us": statistics.median(r["mean_us"] for r in rs)}
        results.append(res)
        print(json.dumps(res))
    py = {r["case"]: r for r in results if r["lang"] == "python"}
    print("\n| case | Python p50 (us) | Node p50 (us) | Node/Python | Node - Python (us) |")
    print("|---|---|---|---|---|")
    for r in results:
        if r["lang"] != "node":
            continue
        base = py.get(r["case"].replace("_arrow", "").replace("_async", ""))
        if base is None:
            continue
        print(f"| {r['case']} | {base['p50_us']:.1f} | {r['p50_us']:.1f} | "
              f"{r['p50_us'] / base['p50_us']:.2f} | {r['p50_us'] - base['p50_us']:+.1f} |")
    out = os.path.join(ROOT, "bench", "results", f"{datetime.date.today().isoformat()}-node.json")
    json.dump(results, open(out, "w"), indent=1)
    print(f"\nwrote {os.path.relpath(out, ROOT)}")


if __name__ == "__main__":
    main()
