"""A table grown by single-row appends, automatic compaction on vs off.

Ours alone (upstream 0.11's single-row appends rewrite manifest parts
listing every earlier file: 5 GB on disk after 1,000 appends, see
bench_ingest.py, so 10,000 of them do not fit this machine's run time).
Each configuration runs in a fresh process: N appends of one row each
(seed data: a 200-token Zipf body with a full-text index, a 384-d
embedding with a vector index), and at each tenth of N: the append
latencies of that tenth (p50, p99), the elapsed time, the superfile count
(Table.check, untimed), and search latency (p50 of 20 queries each: BM25
of one frequent and one rare term, vector k=10 with the default nprobe).

usage: bench_autocompact.py --rows N [--rows N ...] [--store disk|memory ...]
           [--out results.json]
    PYTHONPATH=build-py/pkg .venv/bin/python bench/ingest/bench_autocompact.py \\
        --rows 10000 --store memory --store disk --out bench/results/<date>-autocompact.json
"""
from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import common  # noqa: E402

N_QUERIES = 20


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def rss_mb():
    """The process's resident set now (Linux; None elsewhere)."""
    try:
        for line in pathlib.Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def worker(a):
    import numpy as np
    import infino

    src = common.open_dataset(a.src)
    pool = list(common.iter_batches(src, a.rows))
    singles = [b.slice(i, 1) for b in pool for i in range(b.num_rows)]
    emb = np.stack([np.asarray(s.column("embedding")[0].values, dtype=np.float32)
                    for s in singles[:N_QUERIES]])
    uri = "memory://" if a.store == "memory" else a.dir
    db = infino.connect(uri, auto_compact=a.ac == "on")
    spec = infino.IndexSpec().fts("body").vector("embedding", common.DIM, None, "l2sq")
    t = db.create_table("docs", common.seed_schema(), spec)
    marks = {a.rows * k // 10 for k in range(1, 11)}
    lat, points = [], []
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    for i, one in enumerate(singles, 1):
        s = time.perf_counter()
        t.append(one)
        lat.append(time.perf_counter() - s)
        if i in marks:
            elapsed = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
            n_sf = t.check().n_superfiles
            q = {}
            for name, fn in (
                    ("bm25_frequent", lambda j: t.bm25_search("body", "term00001", 10)),
                    ("bm25_rare", lambda j: t.bm25_search("body", "term09000", 10)),
                    ("vector", lambda j: t.vector_search("embedding", emb[j], 10))):
                fn(0)  # warm
                ts = []
                for j in range(N_QUERIES):
                    s = time.perf_counter()
                    fn(j)
                    ts.append(time.perf_counter() - s)
                q[name + "_p50_ms"] = statistics.median(ts) * 1e3
            points.append({"appends": i, "elapsed_s": elapsed, "cpu_s": cpu,
                           "append_p50_ms": pct(lat, 50) * 1e3,
                           "append_p99_ms": pct(lat, 99) * 1e3,
                           "superfiles": n_sf, "rss_mb": rss_mb(), **q})
            print(json.dumps(points[-1]), file=sys.stderr, flush=True)
            lat = []
            t0 += time.perf_counter() - t0 - elapsed  # searches untimed
            cpu0 += time.process_time() - cpu0 - cpu
    assert t.count_rows() == a.rows
    print(json.dumps({"store": a.store, "auto_compact": a.ac, "rows": a.rows,
                      "disk_bytes": common.du(a.dir) if a.store == "disk" else None,
                      "points": points}), flush=True)


def to_md(result) -> str:
    """The runs as one table per (rows, store): on and off side by side."""
    out = [f"# Single-row appends, automatic compaction on vs off ({result['date']})", "",
           "Ours alone (bench/ingest/bench_autocompact.py). Per tenth of the appends: "
           "append p50/p99 over that tenth, cumulative append time (searches excluded), "
           "superfiles, search p50 (20 queries).", ""]
    groups = {}
    for r in result["runs"]:
        groups.setdefault((r["rows"], r["store"]), {})[r["auto_compact"]] = r
    for (rows, store), by in groups.items():
        out += [f"## {rows:,} appends, {store}", "",
                "| appends | ac | append p50 ms | p99 ms | total s (cpu s) | superfiles "
                "| bm25 frequent ms | bm25 rare ms | vector ms |",
                "|---|---|---|---|---|---|---|---|---|"]
        n = max(len(r["points"]) for r in by.values())
        for i in range(n):
            for ac in ("on", "off"):
                if ac not in by or i >= len(by[ac]["points"]):
                    continue
                p = by[ac]["points"][i]
                out.append(f"| {p['appends']:,} | {ac} | {p['append_p50_ms']:.2f} | "
                           f"{p['append_p99_ms']:.1f} | {p['elapsed_s']:.1f} ({p['cpu_s']:.1f}) | "
                           f"{p['superfiles']:,} | {p['bm25_frequent_p50_ms']:.3f} | "
                           f"{p['bm25_rare_p50_ms']:.3f} | {p['vector_p50_ms']:.2f} |")
        out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, action="append")
    ap.add_argument("--store", action="append", choices=["disk", "memory"])
    ap.add_argument("--ac", action="append", choices=["on", "off"])
    ap.add_argument("--out")
    ap.add_argument("--md", help="only rewrite the .md of this results file")
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--src")
    ap.add_argument("--dir")
    a = ap.parse_args()
    if a.md:
        r = json.loads(pathlib.Path(a.md).read_text())
        pathlib.Path(a.md).with_suffix(".md").write_text(to_md(r))
        return None
    if a.worker:
        a.rows, a.store, a.ac = a.rows[0], a.store[0], a.ac[0]
        return worker(a)
    rows = a.rows or [10_000]
    src = common.ensure_dataset(max(rows))
    result = {"date": datetime.date.today().isoformat(),
              "machine": common.machine_info(), "runs": []}
    for n in rows:
        for store in a.store or ["memory", "disk"]:
            for ac in a.ac or ["on", "off"]:
                d = pathlib.Path(tempfile.mkdtemp(dir=common.WORK_DIR))
                argv = [sys.executable, __file__, "--worker", "--rows", str(n),
                        "--store", store, "--ac", ac, "--src", str(src),
                        "--dir", str(d / "db")]
                print(f"{n} single-row appends, {store}, auto-compaction {ac}",
                      file=sys.stderr, flush=True)
                out = subprocess.run(argv, check=True, stdout=subprocess.PIPE,
                                     text=True).stdout
                shutil.rmtree(d, ignore_errors=True)
                result["runs"].append(json.loads(out.strip().splitlines()[-1]))
                if a.out:
                    pathlib.Path(a.out).write_text(json.dumps(result, indent=1))
                    pathlib.Path(a.out).with_suffix(".md").write_text(to_md(result))


if __name__ == "__main__":
    main()
