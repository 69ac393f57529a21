"""Search latency with projections: what fetching a few rows costs.

Builds (once, under --db) a table of the bench seed data (bench/common.py:
200-token Zipf bodies, 384-d clustered embeddings) plus a short `title`
and an int64 `n`, appended as one stream so row groups are as large as the
writer makes them (65,536 rows or 32 MiB). Then, for bm25_search and
vector_search at k=10, times each projection over the same queries and
reports the median and 90th percentile in milliseconds, plus full scans
(to_arrow, median of 3) and the table's size on disk.

    .venv/bin/python bench/point/bench_point.py [--rows 200000] \
        [--db bench/scratch/point-200000] [--queries 40] [--json OUT]

The infino package is whatever `import infino` finds, so an older build
can be measured by putting it first on PYTHONPATH (with its own --db).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import common  # noqa: E402  (bench/common.py)

import infino  # noqa: E402

PROJECTIONS = {
    "default": None,
    "title": ["title", "score"],
    "body": ["body", "score"],
    "n": ["n", "score"],
    "embedding": ["embedding", "score"],
    "all": ["_id", "doc_id", "title", "n", "body", "embedding", "score"],
}


def schema():
    return pa.schema([
        pa.field("doc_id", pa.large_utf8(), nullable=False),
        pa.field("title", pa.large_utf8(), nullable=False),
        pa.field("n", pa.int64(), nullable=False),
        pa.field("body", pa.large_utf8(), nullable=False),
        pa.field("embedding", pa.list_(pa.float32(), common.DIM),
                 nullable=False),
    ])


def batches(rows):
    data = common.SeedData()
    n_batches = (rows + common.BATCH_ROWS - 1) // common.BATCH_ROWS
    for b in range(n_batches):
        size = min(common.BATCH_ROWS, rows - b * common.BATCH_ROWS)
        seed = data.batch(b, size)
        body = seed.column("body")
        # title: the first three terms of the body
        title = pc.utf8_slice_codeunits(body, 11, 41)
        yield pa.record_batch([
            seed.column("doc_id"), title,
            pa.array(np.arange(b * common.BATCH_ROWS,
                               b * common.BATCH_ROWS + size), pa.int64()),
            body, seed.column("embedding"),
        ], schema=schema())


def build(path, rows):
    db = infino.connect(str(path))
    if "docs" in db.list_tables():
        return db.open_table("docs")
    spec = infino.IndexSpec().fts("body").vector("embedding", common.DIM,
                                                 256, "l2sq")
    t = db.create_table("docs", schema(), spec)
    start = time.perf_counter()
    t.append(pa.RecordBatchReader.from_batches(schema(), batches(rows)))
    print(f"# built {rows} rows in {time.perf_counter() - start:.1f} s",
          file=sys.stderr)
    return t


def measure(calls):
    """Median and p90 (ms) of one call per query, after a warm-up."""
    for c in calls[:3]:
        c()
    times = []
    for c in calls:
        start = time.perf_counter()
        c()
        times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    return {"median_ms": statistics.median(times),
            "p90_ms": times[int(0.9 * (len(times) - 1))]}


def dir_bytes(path):
    return sum(f.stat().st_size for f in pathlib.Path(path).rglob("*")
               if f.is_file())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--db", default=None)
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--json", default=None)
    ap.add_argument("--label", default="")
    args = ap.parse_args()
    db = pathlib.Path(args.db or common.WORK_DIR / f"point-{args.rows}")
    t = build(db, args.rows)
    rng = np.random.default_rng(7)
    texts = [f"term{a:05d} term{b:05d}"
             for a, b in rng.integers(20, 3000, size=(args.queries, 2))]
    centres = common.SeedData().centres
    vecs = centres[rng.integers(0, len(centres), args.queries)] + \
        np.float32(0.3) * rng.standard_normal((args.queries, common.DIM),
                                              dtype=np.float32)
    result = {"label": args.label, "rows": args.rows, "queries": args.queries,
              "table_bytes": dir_bytes(db), "bm25": {}, "vector": {}}
    for name, proj in PROJECTIONS.items():
        result["bm25"][name] = measure([
            (lambda q=q: t.bm25_search("body", q, 10, projection=proj))
            for q in texts])
        result["vector"][name] = measure([
            (lambda q=q: t.vector_search("embedding", q, 10, projection=proj))
            for q in vecs])
    for what, cols in (("scan_all", None), ("scan_body", ["body"]),
                       ("scan_title", ["title"]),
                       ("scan_embedding", ["embedding"]), ("scan_n", ["n"])):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            got = t.to_arrow(columns=cols)
            times.append((time.perf_counter() - start) * 1000.0)
            assert got.num_rows == args.rows
            del got
        result[what + "_ms"] = statistics.median(times)
    print(json.dumps(result, indent=1))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
