#!/usr/bin/env python3
"""Indexed ingest on one and two cores: ours vs upstream infino (PyPI).

Issue 16 item 5 asks whether the index builds use both cores. Every engine
appends the same N rows of the point-read schema (bench/point/bench_point.py:
doc_id, title, n, a 201-token Zipf `body`, a 384-d float32 `embedding`) in
one append, with one of three index specs:
- fts:     IndexSpec().fts("body")
- vector:  IndexSpec().vector("embedding", 384, 1024, "l2sq") for ours;
           upstream takes no n_cent and picks 1,024 centroids at this size
           (its cap below 5M docs), so both build 1,024 clusters
- both:    the two together.
Engines: ours with INFINO_THREADS=1 (one worker: the per-core rate), ours
with the default pool (both cores), upstream 0.11.0 (its own threads).
Each build is its own process (the packages share an import name); the
input table is built before the clock starts. Reported per run: wall and
CPU seconds (every thread), rows/s, rows per CPU-second, peak RSS (VmHWM,
input included). Engines alternate; the driver reports medians.

usage: bench_indexed.py [--rows N] [--repeat R] [--out results.json]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import shutil
import sys

BENCH = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH / "point"))
import common  # noqa: E402

ENGINES = ("ours-1", "ours", "upstream")
SPECS = ("fts", "vector", "both")
NCENT = 1024


def python_of(engine):
    if engine.startswith("ours"):
        return str(common.ROOT / ".venv" / "bin" / "python")
    return str(common.BENCH_DIR / ".venv" / "bin" / "python")


def worker(a):
    import bench_point
    import infino
    import pyarrow as pa

    ours = hasattr(infino, "_native")
    if ours != a.engine.startswith("ours"):
        raise SystemExit(f"{a.engine}: imported {infino.__file__}")
    table = pa.Table.from_batches(list(bench_point.batches(a.rows)),
                                  bench_point.schema())
    spec = infino.IndexSpec()
    if a.spec in ("fts", "both"):
        spec = spec.fts("body")
    if a.spec in ("vector", "both"):
        spec = (spec.vector("embedding", common.DIM, NCENT, "l2sq") if ours
                else spec.vector("embedding", common.DIM, "l2sq"))
    db = infino.connect(a.dir)
    t = db.create_table("docs", bench_point.schema(), spec)
    meter = common.Meter()
    meter.start()
    t.append(table)
    r = meter.stop()
    r.update({"engine": a.engine, "spec": a.spec, "rows": a.rows,
              "threads": os.environ.get("INFINO_THREADS", "default"),
              "disk_bytes": common.du(a.dir)})
    print(json.dumps(r), flush=True)


def run_once(engine, spec, rows, workdir):
    d = workdir / f"{engine}-{spec}"
    shutil.rmtree(d, ignore_errors=True)
    env = dict(os.environ)
    env.pop("INFINO_THREADS", None)
    if engine == "ours-1":
        env["INFINO_THREADS"] = "1"
    try:
        return common.run_worker([python_of(engine), __file__, "--worker",
                                  "--engine", engine, "--spec", spec,
                                  "--rows", str(rows), "--dir", str(d)],
                                 env=env)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def summarize(runs):
    med = {k: common.median([r[k] for r in runs])
           for k in ("seconds", "cpu_seconds", "peak_rss_mb", "disk_bytes")}
    rows = runs[0]["rows"]
    med["rows_per_s"] = rows / med["seconds"]
    med["rows_per_cpu_s"] = rows / med["cpu_seconds"]
    med["runs_seconds"] = [round(r["seconds"], 2) for r in runs]
    return med


def markdown(res):
    p = res["params"]
    out = [f"# Indexed ingest on one and two cores ({p['rows']:,} rows)", "",
           f"`bench/ingest/bench_indexed.py`, {res['date']}; "
           f"{res['machine']['cpu_model']}, {res['machine']['cores']} cores, "
           f"git {res['machine']['git_sha'][:10]}. Load average "
           f"{res['loadavg_start'][0]:.1f} at the start, "
           f"{res['loadavg_end'][0]:.1f} at the end. One append of every "
           f"row; median of {p['repeat']}. ours-1 = INFINO_THREADS=1.", "",
           "| index | engine | rows/s (wall) | rows per CPU-s | peak RSS |"
           " ours/upstream wall | ours/upstream per CPU-s |",
           "|---|---|---|---|---|---|---|"]
    for case in res["cases"]:
        up = case["engines"]["upstream"]
        for e in ENGINES:
            m = case["engines"][e]
            ratio = ("" if e == "upstream" else
                     f"{m['rows_per_s'] / up['rows_per_s']:.2f}x | "
                     f"{m['rows_per_cpu_s'] / up['rows_per_cpu_s']:.2f}x")
            out.append(f"| {case['spec']} | {e} | {m['rows_per_s']:,.0f} | "
                       f"{m['rows_per_cpu_s']:,.0f} | "
                       f"{m['peak_rss_mb']:,.0f} MB | {ratio or ' | '} |")
    out += ["", "Two cores over one (ours, wall): " + ", ".join(
        f"{c['spec']} {c['engines']['ours']['rows_per_s'] / c['engines']['ours-1']['rows_per_s']:.2f}x"
        for c in res["cases"]) + "."]
    if res.get("provenance"):
        out += ["", f"Provenance: {res['provenance']}."]
    return "\n".join(out) + "\n"


def driver(a):
    workdir = common.WORK_DIR / "indexed"
    workdir.mkdir(parents=True, exist_ok=True)
    res = {"bench": "indexed_ingest",
           "date": datetime.datetime.now().isoformat(timespec="seconds"),
           "machine": common.machine_info(),
           "loadavg_start": os.getloadavg(),
           "params": {"rows": a.rows, "repeat": a.repeat, "ncent": NCENT,
                      "dim": common.DIM},
           "cases": []}
    for spec in SPECS:
        runs = {e: [] for e in ENGINES}
        for rep in range(a.repeat):
            for e in (ENGINES if rep % 2 == 0 else ENGINES[::-1]):
                r = run_once(e, spec, a.rows, workdir)
                runs[e].append(r)
                print(f"indexed: {spec} {e}: {r['seconds']:.2f} s wall, "
                      f"{r['cpu_seconds']:.2f} s CPU", file=sys.stderr,
                      flush=True)
        res["cases"].append({"spec": spec, "engines": {
            e: summarize(runs[e]) for e in ENGINES}})
    res["loadavg_end"] = os.getloadavg()
    out = pathlib.Path(a.out) if a.out else (
        common.RESULTS_DIR / f"{datetime.date.today().isoformat()}"
        "-indexed.json")
    out.write_text(json.dumps(res, indent=1) + "\n")
    out.with_suffix(".md").write_text(markdown(res))
    print(markdown(res))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out")
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--engine", choices=ENGINES)
    ap.add_argument("--spec", choices=SPECS)
    ap.add_argument("--dir")
    a = ap.parse_args()
    worker(a) if a.worker else driver(a)


if __name__ == "__main__":
    main()
