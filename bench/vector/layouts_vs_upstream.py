#!/usr/bin/env python3
"""Issue 16's opening table, re-measured: vector search on one superfile,
with a projected column, and on a table built by ten appends, ours vs
upstream infino 0.11.0 (PyPI, bench/.venv).

Data: the first N rows (default 100,000) of the seed data set
(bench/common.py: 384-d float32 embeddings around 1,024 planted centres),
as `id` int64 + `embedding`; l2sq; ours with 1,024 centroids (upstream
picks 1,024 itself below 5M rows). Queries: held-out points of the same
law (bench_vector.synthetic_queries), numpy float32, k = 10.

Layouts, each in its own process per engine:
  one     one append of every row (one superfile)
  ten     ten appends of N/10 rows; ours with auto-compaction off, so ten
          superfiles, as upstream keeps them
  ten-ac  ours only: the same ten appends with auto-compaction at its
          default (what a user of ours gets from ten appends)
Cases per layout: `_id`+score (the default projection) at the default
nprobe, and for ours also at nprobe 1; on `one`, `projection=["id"]`.
Recall@10 against exact l2 k-NN (numpy float64) from a pass projecting
`id`. Timing: a warm-up pass, then `passes` timed passes; engines
alternate over `rounds` rounds; medians over rounds of each round's p50.
Wall time per call from Python, as a user sees it, and the thread's CPU
time (time.thread_time_ns), which load from other processes disturbs less.

usage: layouts_vs_upstream.py [--rows N] [--queries Q] [--rounds R] [--in-process]
           [--passes P] [--out FILE]
Ours is whatever `import infino` finds in the project .venv (or first on
PYTHONPATH); upstream runs from bench/.venv.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import shutil
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import common  # noqa: E402

K = 10
NCENT = 1024
LAYOUTS = {"ours": ("one", "ten", "ten-ac"), "upstream": ("one", "ten")}


def log(*m):
    print("layouts:", *m, file=sys.stderr, flush=True)


def python_of(engine):
    if engine == "ours":
        return os.environ.get("OURS_PYTHON",
                              str(common.ROOT / ".venv" / "bin" / "python"))
    return str(common.BENCH_DIR / ".venv" / "bin" / "python")


def load_rows(src, rows):
    import pyarrow as pa

    t = pa.ipc.open_file(pa.memory_map(str(src))).read_all().slice(0, rows)
    return pa.table({"id": pa.array(range(rows), pa.int64()),
                     "embedding": t.column("embedding").combine_chunks()})


def build_worker(a):
    import infino

    ours = hasattr(infino, "_native")
    table = load_rows(a.src, a.rows)
    db = (infino.connect(a.dir, auto_compact=a.layout == "ten-ac") if ours
          else infino.connect(a.dir))
    spec = (infino.IndexSpec().vector("embedding", common.DIM, NCENT, "l2sq")
            if ours else
            infino.IndexSpec().vector("embedding", common.DIM, "l2sq"))
    t = db.create_table("v", table.schema, spec)
    n = 1 if a.layout == "one" else 10
    t0 = time.perf_counter()
    for i in range(n):
        lo, hi = i * a.rows // n, (i + 1) * a.rows // n
        t.append(table.slice(lo, hi - lo))
    secs = time.perf_counter() - t0
    sfs = t.check().n_superfiles if ours else None
    out = {"seconds": secs, "superfiles": sfs}
    if a.queries_file:
        out["queries"] = measure(t, ours, a)
    print(json.dumps(out), flush=True)


def query_worker(a):
    import infino

    ours = hasattr(infino, "_native")
    t = infino.connect(a.dir).open_table("v")
    print(json.dumps(measure(t, ours, a)), flush=True)


def measure(t, ours, a):
    """Per case: p50/p99 wall, p50 thread CPU and the ids of each query."""
    import numpy as np

    qs = [np.ascontiguousarray(q) for q in np.load(a.queries_file)]
    cases = {"default": {}}
    if ours:
        cases["nprobe 1"] = {"nprobe": 1}
    if a.layout == "one":
        cases["projection id"] = {"projection": ["id"]}
    out = {}
    for name, kw in cases.items():
        def call(q):
            return t.vector_search("embedding", q, K, **kw)
        for q in qs:
            call(q)
        wall, cpu = [], []
        for _ in range(a.passes):
            for q in qs:
                w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
                call(q)
                cpu.append((time.thread_time_ns() - c0) / 1e3)
                wall.append((time.perf_counter_ns() - w0) / 1e3)
        pk = {k: v for k, v in kw.items() if k != "projection"}
        ids = [t.vector_search("embedding", q, K, projection=["id"], **pk)
               .column("id").to_pylist() for q in qs]
        out[name] = {"p50_us": common.pct(wall, 50),
                     "p99_us": common.pct(wall, 99),
                     "cpu_p50_us": common.pct(cpu, 50), "ids": ids}
    return out


def exact_l2(src, rows, queries):
    import numpy as np

    x = load_rows(src, rows).column("embedding").combine_chunks()
    x = x.flatten().to_numpy().reshape(rows, common.DIM).astype(np.float64)
    q = queries.astype(np.float64)
    d = (q * q).sum(1)[:, None] - 2 * q @ x.T + (x * x).sum(1)[None, :]
    return np.argsort(d, axis=1, kind="stable")[:, :K]


def driver(a):
    import numpy as np

    sys.path.insert(0, str(HERE))
    from bench_vector import synthetic_queries

    src = common.ensure_dataset(max(a.rows, common.BATCH_ROWS), log=log)
    work = common.WORK_DIR / "layouts"
    work.mkdir(parents=True, exist_ok=True)
    qs = synthetic_queries(a.rows, a.queries)
    qfile = work / "queries.npy"
    np.save(qfile, qs)
    truth = exact_l2(src, a.rows, qs)
    res = {"bench": "vector_layouts",
           "date": datetime.datetime.now().isoformat(timespec="seconds"),
           "machine": common.machine_info(), "loadavg_start": os.getloadavg(),
           "params": {"rows": a.rows, "queries": a.queries, "k": K,
                      "ncent": NCENT, "rounds": a.rounds, "passes": a.passes},
           "build": {}, "cases": {}}
    dirs = {}
    rounds = {}
    for e, lays in LAYOUTS.items():
        for L in lays:
            d = dirs[e, L] = work / f"{e}-{L}"
            shutil.rmtree(d, ignore_errors=True)
            argv = [python_of(e), __file__, "--worker", "build", "--src",
                    str(src), "--rows", str(a.rows), "--layout", L, "--dir",
                    str(d), "--passes", str(a.passes)]
            if a.in_process:
                argv += ["--queries-file", str(qfile)]
            r = common.run_worker(argv)
            rounds[e, L] = [r.pop("queries")] if a.in_process else []
            res["build"][f"{e}/{L}"] = r
            log(f"build {e} {L}: {r['seconds']:.1f} s, "
                f"{r['superfiles']} superfiles" + ("".join(
                    f", {c} {v['p50_us']:.0f} us"
                    for c, v in rounds[e, L][0].items())
                    if a.in_process else ""))
    res["params"]["in_process"] = a.in_process
    for rnd in range(0 if a.in_process else a.rounds):
        order = list(dirs) if rnd % 2 == 0 else list(dirs)[::-1]
        for e, L in order:
            r = common.run_worker([python_of(e), __file__, "--worker",
                                   "query", "--dir", str(dirs[e, L]),
                                   "--layout", L, "--queries-file",
                                   str(qfile), "--passes", str(a.passes)])
            rounds[e, L].append(r)
            log(f"round {rnd} {e} {L}: " + ", ".join(
                f"{c} {v['p50_us']:.0f} us" for c, v in r.items()))
    for (e, L), rs in rounds.items():
        for c in rs[0]:
            hits = sum(len(set(got) & set(map(int, want)))
                       for got, want in zip(rs[0][c]["ids"], truth))
            res["cases"][f"{e}/{L}/{c}"] = {
                "engine": e, "layout": L, "case": c,
                "p50_us": common.median([r[c]["p50_us"] for r in rs]),
                "p99_us": common.median([r[c]["p99_us"] for r in rs]),
                "cpu_p50_us": common.median([r[c]["cpu_p50_us"] for r in rs]),
                "recall": hits / (K * len(truth))}
    res["loadavg_end"] = os.getloadavg()
    for d in dirs.values():
        shutil.rmtree(d, ignore_errors=True)
    md = markdown(res)
    print(md)
    if a.out:
        pathlib.Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
        pathlib.Path(a.out).with_suffix(".md").write_text(md)


def markdown(res):
    p, c, b = res["params"], res["cases"], res["build"]

    def cell(key):
        v = c.get(key)
        if v is None:
            return "-"
        return (f"{v['p50_us'] / 1e3:.2f} ms (CPU {v['cpu_p50_us'] / 1e3:.2f}"
                f" ms), recall {v['recall']:.3f}")

    rows = [("1 superfile, `_id`+score", "one/default", "one/nprobe 1"),
            ("1 superfile, `projection=[\"id\"]`", "one/projection id", None),
            ("10 appends of 10K, `_id`+score (ours: auto-compaction off, "
             f"{b['ours/ten']['superfiles']} superfiles)", "ten/default",
             "ten/nprobe 1"),
            ("10 appends of 10K, `_id`+score (ours: default auto-compaction, "
             f"{b['ours/ten-ac']['superfiles']} superfiles)",
             "ten-ac/default", "ten-ac/nprobe 1")]
    out = [f"# Vector search by table layout, ours vs upstream "
           f"({p['rows']:,} x 384, l2sq, {p['ncent']} centroids, k = "
           f"{p['k']})", "",
           f"`bench/vector/layouts_vs_upstream.py`, {res['date']}; "
           f"{res['machine']['cpu_model']}, {res['machine']['cores']} cores, "
           f"git {res['machine']['git_sha'][:10]}; load average "
           f"{res['loadavg_start'][0]:.1f} at the start, "
           f"{res['loadavg_end'][0]:.1f} at the end. {p['queries']} "
           f"queries, {p['passes']} passes, median of {p['rounds']} "
           "rounds of p50 (wall per call from Python; the thread's CPU time "
           "beside it)." + (" Queries ran in the process that built the "
                            "table (one round)." if p.get("in_process")
                            else " Queries ran in a new process per round "
                            "that reopened the table."), "",
           "| table | ours p50 | ours nprobe 1 | upstream 0.11 p50 |"
           " ours/upstream (wall) |", "|---|---|---|---|---|"]
    for label, case, np1 in rows:
        up_case = case.replace("ten-ac", "ten")
        o, u = c.get(f"ours/{case}"), c.get(f"upstream/{up_case}")
        ratio = f"{o['p50_us'] / u['p50_us']:.2f}" if o and u else "-"
        out.append(f"| {label} | {cell('ours/' + case)} | "
                   f"{cell('ours/' + np1) if np1 else '-'} | "
                   f"{cell('upstream/' + up_case)} | {ratio} |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--out")
    ap.add_argument("--in-process", dest="in_process", action="store_true",
                    help="query in the process that built the table (one "
                         "round), as issue 16's table was measured")
    ap.add_argument("--worker", choices=["build", "query"])
    ap.add_argument("--src")
    ap.add_argument("--dir")
    ap.add_argument("--layout")
    ap.add_argument("--queries-file", dest="queries_file")
    a = ap.parse_args()
    if a.worker == "build":
        build_worker(a)
    elif a.worker == "query":
        query_worker(a)
    else:
        driver(a)


if __name__ == "__main__":
    main()
