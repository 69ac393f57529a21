#!/usr/bin/env python3
"""Append throughput and peak RSS: ours vs upstream infino (PyPI).

Both engines get the same seed-schema rows (bench/common.py) from one Arrow
IPC file, with indexes off (IndexSpec() empty), in two shapes:
- batch:  every row in appends of 10,000 rows (pyarrow RecordBatches);
- single: many appends of one row each (one-row RecordBatch slices).
Each append is one commit. Ours runs from the project's .venv (the
`infino` package built by `make python`), upstream from bench/.venv; the two
packages share an import name, so each run is its own process, and the
worker checks which one it imported.

Reported per engine: wall time, CPU time (user + system over every thread:
rows per CPU-second is the "per core" rate), rows/s, MB/s of Arrow data,
peak RSS (VmHWM) and the bytes the table takes on disk. Engines
alternate, each run is repeated, the driver reports medians and the ratios
ours/upstream. A separate short run under `strace -f -c` counts fsync and
fdatasync calls per append for each engine (durability on return).

usage: bench_ingest.py --mode quick|full [--rows N] [--singles N]
           [--singles-ours N] [--repeat R] [--out results.json]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import shutil
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import common  # noqa: E402

ENGINES = ("upstream", "ours")
# Upstream's single-row appends cost grows with the number of earlier
# appends (each one rewrites manifest parts listing every earlier file: 5 GB
# on disk after 1,000 appends), so 10,000 of them side by side would need
# about 500 GB and hours. The side-by-side run stops at `singles`; full mode
# adds `singles_ours` appends of ours alone.
MODES = {"quick": {"rows": 100_000, "singles": 500, "singles_ours": 0,
                   "repeat": 3},
         "full": {"rows": 1_000_000, "singles": 1_000, "singles_ours": 10_000,
                  "repeat": 2}}


def python_of(engine):
    if engine == "ours":
        return str(common.ROOT / ".venv" / "bin" / "python")
    return str(common.BENCH_DIR / ".venv" / "bin" / "python")


# ---- worker -----------------------------------------------------------------

def count_rows(db, table):
    if hasattr(table, "count_rows"):                    # ours
        return table.count_rows()
    return db.query_sql("SELECT count(*) AS n FROM docs").column(0)[0].as_py()


def worker(a):
    import infino
    import pyarrow as pa
    from common_rss import RssSampler

    is_ours = hasattr(infino, "_native")
    if is_ours != (a.engine == "ours"):
        raise SystemExit(f"{a.engine}: imported the wrong infino "
                         f"({infino.__file__})")
    version = getattr(infino, "__version__", None) or str(
        getattr(infino, "version", lambda: "?")())
    src = common.open_dataset(a.src)
    db = infino.connect(a.dir)
    table = db.create_table("docs", common.seed_schema(), infino.IndexSpec())
    meter = common.Meter()
    rows = nbytes = appends = 0
    if a.shape == "batch":
        with RssSampler() as s:
            meter.start()
            for b in common.iter_batches(src, a.rows):
                table.append(b)
                rows += b.num_rows
                nbytes += b.nbytes
                appends += 1
            r = meter.stop()
    else:
        pool = []
        need = a.rows
        for b in common.iter_batches(src, need):
            pool.append(b)
        singles = [b.slice(i, 1) for b in pool for i in range(b.num_rows)]
        del pool
        # elapsed seconds at each tenth of the appends, to show whether the
        # cost of one append grows with the number of earlier ones
        marks = {len(singles) * k // 10 for k in range(1, 11)}
        tenths = []
        with RssSampler() as s:
            meter.start()
            for one in singles:
                table.append(one)
                appends += 1
                if appends in marks:
                    tenths.append(time.perf_counter() - meter.t0)
            r = meter.stop()
        r["tenths_seconds"] = tenths
        rows = len(singles)
        nbytes = sum(b.nbytes for b in singles)
    r.update(s.result())
    n = count_rows(db, table)
    if n != rows:
        raise SystemExit(f"{a.engine}: table has {n} rows, appended {rows}")
    r.update({"engine": a.engine, "shape": a.shape, "rows": rows,
              "appends": appends, "arrow_bytes": nbytes,
              "disk_bytes": common.du(a.dir), "version": version})
    print(json.dumps(r), flush=True)


# ---- driver -----------------------------------------------------------------

def run_once(engine, shape, src, rows, workdir, strace_to=None):
    d = workdir / f"{engine}-{shape}"
    shutil.rmtree(d, ignore_errors=True)
    argv = [python_of(engine), __file__, "--worker", "--engine", engine,
            "--shape", shape, "--src", str(src), "--dir", str(d),
            "--rows", str(rows)]
    if strace_to:
        argv = ["strace", "-f", "-c", "-e", f"trace={common.SYNC_CALLS}", "-o",
                str(strace_to)] + argv
    try:
        return common.run_worker(argv)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def sync_counts(src, workdir, log):
    """fsync-family calls per append of each engine, over short runs."""
    if not shutil.which("strace"):
        return {"error": "strace not installed"}
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for e in ENGINES:
            out[e] = {}
            for shape, rows in (("single", 20),
                                ("batch", 3 * common.BATCH_ROWS)):
                f = pathlib.Path(tmp) / f"{e}-{shape}.txt"
                r = run_once(e, shape, src, rows, workdir, strace_to=f)
                calls = common.parse_strace(f)
                out[e][shape] = {"appends": r["appends"], "calls": calls,
                                 "per_append": sum(calls.values())
                                 / r["appends"]}
                log(f"strace {e} {shape}: {calls} over {r['appends']} "
                    f"appends")
    return out


def summarize(runs):
    med = {k: common.median([r[k] for r in runs])
           for k in ("seconds", "cpu_seconds", "peak_rss_mb",
                     "peak_rss_anon_mb", "rss_before_mb", "disk_bytes")}
    rows, nbytes = runs[0]["rows"], runs[0]["arrow_bytes"]
    med["rows"] = rows
    med["appends"] = runs[0]["appends"]
    med["rows_per_s"] = rows / med["seconds"]
    med["rows_per_cpu_s"] = rows / med["cpu_seconds"]
    med["mb_per_s"] = nbytes / 1e6 / med["seconds"]
    med["ms_per_append"] = 1e3 * med["seconds"] / runs[0]["appends"]
    med["runs_seconds"] = [round(r["seconds"], 4) for r in runs]
    med["version"] = runs[0]["version"]
    med["rss_growth_mb"] = med["peak_rss_mb"] - med["rss_before_mb"]
    t = runs[0].get("tenths_seconds")
    if t and len(t) == 10:
        per = runs[0]["appends"] / 10
        med["ms_per_append_first_tenth"] = 1e3 * t[0] / per
        med["ms_per_append_last_tenth"] = 1e3 * (t[9] - t[8]) / per
    return med


def driver(a):
    cfg = MODES[a.mode]
    rows = a.rows or cfg["rows"]
    singles = a.singles or cfg["singles"]
    repeat = a.repeat or cfg["repeat"]
    singles_ours = (a.singles_ours if a.singles_ours is not None
                    else cfg["singles_ours"])
    for e in ENGINES:
        if not os.access(python_of(e), os.X_OK):
            raise SystemExit(f"{python_of(e)}: missing (make bench installs "
                             f"both venvs)")
    src = common.ensure_dataset(max(rows, singles, singles_ours))
    workdir = common.WORK_DIR / "ingest"
    workdir.mkdir(parents=True, exist_ok=True)
    log = (lambda *m: print("ingest:", *m, file=sys.stderr, flush=True))
    log(f"{rows} rows in batches of {common.BATCH_ROWS}, {singles} single-row "
        f"appends, repeat {repeat}")
    result = {
        "bench": "ingest", "mode": a.mode,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": common.machine_info(),
        "ours_build": "the infino package in .venv (make python: "
                      "scikit-build-core, CMake Release)",
        "params": {"rows": rows, "batch_rows": common.BATCH_ROWS,
                   "singles": singles, "singles_ours": singles_ours,
                   "repeat": repeat,
                   "indexes": "none (IndexSpec())", "seed": common.SEED},
        "cases": [],
    }
    for shape, n in (("batch", rows), ("single", singles)):
        runs = {e: [] for e in ENGINES}
        for rep in range(repeat):
            order = ENGINES if rep % 2 == 0 else ENGINES[::-1]
            for e in order:
                r = run_once(e, shape, src, n, workdir)
                runs[e].append(r)
                log(f"{shape} {e}: {r['seconds']:.2f} s "
                    f"(cpu {r['cpu_seconds']:.2f} s), "
                    f"peak {r['peak_rss_mb']:.0f} MB")
        case = {"op": shape, "engines": {e: summarize(runs[e])
                                         for e in ENGINES}}
        o, p = case["engines"]["ours"], case["engines"]["upstream"]
        case["ratio"] = {"speed": o["rows_per_s"] / p["rows_per_s"],
                         "cpu_speed": o["rows_per_cpu_s"] / p["rows_per_cpu_s"],
                         "peak_rss": o["peak_rss_mb"] / p["peak_rss_mb"],
                         "peak_rss_anon": o["peak_rss_anon_mb"]
                         / max(p["peak_rss_anon_mb"], 1e-9),
                         "disk": o["disk_bytes"] / p["disk_bytes"]}
        result["cases"].append(case)
    result["ours_only"] = []
    if singles_ours:
        r = run_once("ours", "single", src, singles_ours, workdir)
        log(f"single ours alone: {singles_ours} appends in "
            f"{r['seconds']:.1f} s, peak {r['peak_rss_mb']:.0f} MB")
        result["ours_only"].append({"op": "single",
                                    "engines": {"ours": summarize([r])}})
    result["sync_calls"] = sync_counts(src, workdir, log)
    text = json.dumps(result, indent=1)
    if a.out:
        pathlib.Path(a.out).write_text(text + "\n")
    else:
        print(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=list(MODES), default="quick")
    ap.add_argument("--rows", type=int)
    ap.add_argument("--singles", type=int)
    ap.add_argument("--singles-ours", type=int)
    ap.add_argument("--repeat", type=int)
    ap.add_argument("--out")
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--engine", choices=ENGINES)
    ap.add_argument("--shape", choices=["batch", "single"])
    ap.add_argument("--src")
    ap.add_argument("--dir")
    a = ap.parse_args()
    if a.worker:
        worker(a)
    else:
        driver(a)


if __name__ == "__main__":
    main()
