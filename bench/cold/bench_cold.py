#!/usr/bin/env python3
"""Cold start: open a table in a new process and run its first query,
ours vs upstream infino 0.11.0, on local disk.

Tables (built once per engine into bench/scratch/cold/, kept for reruns):
- fts: ROWS (default 1,000,000) seed-like rows (bench/common.py: doc_id and
  a Zipf body of 200 tokens plus one unique id token), BM25 index on body,
  appended in 10,000-row batches and then optimized into one superfile
  (upstream: optimize() as well);
- vec: VROWS (default 200,000) rows of the same generator with its 384-d
  clustered embeddings, vector index l2sq (each engine picks its list
  count).

Every measurement is a fresh process that imports the engine (untimed),
then times (a) connect + open_table, (b) the first query, (c) the p50 of
REPS more calls of the same query. Queries: BM25 of a rare term (one
document's unique id token), BM25 of a common term (term00001, in nearly
every document), a vector query (k=10). Two states of the page cache:
- cold: before the process starts, every file of the table folder is
  dropped from the page cache with posix_fadvise(POSIX_FADV_DONTNEED)
  (after an fsync, which DONTNEED needs for dirty pages; no root needed),
  and the resident bytes left are read back with mincore (via `fincore`
  from util-linux when present) and reported;
- warm: the same without the eviction, after one untimed run.
The interpreter, numpy, pyarrow and the engine's library stay cached in
both: only the table's own files are cold.

Ours runs from the project's .venv with PYTHONPATH=build-py/pkg; upstream
from bench/.venv (--upstream-python). Engines alternate; each cell is the
median of REPEAT processes.

usage: bench_cold.py [--rows N] [--vrows N] [--repeat R] [--reps Q]
           [--engines ours,upstream] [--label after] [--out results.json]
           [--ours-pkg DIR --tag=-before]   (another build of ours)
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import common  # noqa: E402

K = 10
QUERIES = {
    "bm25_rare": ("fts", "u000123457"),
    "bm25_common": ("fts", "term00001"),
    "bm25_two": ("fts", "term00042 term00777"),
    "vector": ("vec", None),
}


# ---- worker (runs in either venv) -------------------------------------------

def _schema(kind, ours):
    import pyarrow as pa

    # upstream's FTS columns must be large_string; ours takes both
    text = pa.large_string()
    if kind == "fts":
        return pa.schema([pa.field("doc_id", text, nullable=False),
                          pa.field("body", text, nullable=False)])
    return pa.schema([pa.field("doc_id", text, nullable=False),
                      pa.field("embedding", pa.list_(pa.float32(), common.DIM),
                               nullable=False)])


def _batches(kind, rows):
    gen = common.SeedData()
    for b in range((rows + common.BATCH_ROWS - 1) // common.BATCH_ROWS):
        n = min(common.BATCH_ROWS, rows - b * common.BATCH_ROWS)
        rb = gen.batch(b, n)
        if kind == "fts":
            yield rb.select(["doc_id", "body"])
        else:
            yield rb.select(["doc_id", "embedding"])


def _check_engine(infino, engine):
    ours = hasattr(infino, "_native") or (
        pathlib.Path(infino.__file__).parent / "_infino.py").exists()
    if ours != (engine == "ours"):
        raise SystemExit(f"worker for {engine} imported {infino.__file__}")
    return ours


def worker_build(a):
    import infino

    ours = _check_engine(infino, a.engine)
    t0 = time.perf_counter()
    db = infino.connect(a.uri)
    if a.kind == "fts":
        spec = infino.IndexSpec().fts("body")
    else:
        spec = infino.IndexSpec().vector("embedding", common.DIM, "l2sq")
    t = db.create_table("docs", _schema(a.kind, ours), spec)
    rows = 0
    for rb in _batches(a.kind, a.rows):
        t.append(rb)
        rows += rb.num_rows
    t_append = time.perf_counter() - t0
    t.optimize()
    print(json.dumps({"rows": rows, "append_s": t_append,
                      "total_s": time.perf_counter() - t0}), flush=True)


def _query_vector():
    return common.SeedData().batch(0, 16).column("embedding")[5].values.to_numpy()


def worker_query(a):
    import infino

    _check_engine(infino, a.engine)
    kind, text = QUERIES[a.query]
    if kind == "vec":
        qv = _query_vector()
        qv_list = qv.tolist()

        def run(t):
            return t.vector_search("embedding", qv_list, K)
    else:
        def run(t):
            return t.bm25_search("body", text, K)
    t0 = time.perf_counter()
    db = infino.connect(a.uri)
    t = db.open_table("docs")
    t1 = time.perf_counter()
    res = run(t)
    t2 = time.perf_counter()
    assert res.num_rows >= 1, res.num_rows
    xs = []
    for _ in range(a.reps):
        s = time.perf_counter()
        run(t)
        xs.append((time.perf_counter() - s) * 1000)
    print(json.dumps({"open_ms": (t1 - t0) * 1000, "first_ms": (t2 - t1) * 1000,
                      "open_first_ms": (t2 - t0) * 1000,
                      "warm_p50_ms": common.median(xs), "hits": res.num_rows,
                      "peak_rss_kb": common.peak_rss_kb()}), flush=True)


# ---- page cache -------------------------------------------------------------

def table_files(root):
    return sorted(p for p in pathlib.Path(root).rglob("*") if p.is_file())


def evict(root):
    """Drops every file under root from the page cache; returns the bytes
    still resident afterwards (mincore through fincore, else None)."""
    for p in table_files(root):
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return resident(root)


def resident(root):
    if shutil.which("fincore") is None:
        return None
    files = [str(p) for p in table_files(root)]
    total = 0
    for i in range(0, len(files), 200):
        out = subprocess.run(["fincore", "--bytes", "--noheadings", "--raw",
                              "--output", "RES"] + files[i:i + 200],
                             capture_output=True, text=True, check=True).stdout
        total += sum(int(x) for x in out.split())
    return total


# ---- driver -----------------------------------------------------------------

def python_for(engine, a):
    if engine == "ours":
        py = str(common.ROOT / ".venv" / "bin" / "python")
        env = dict(os.environ, PYTHONPATH=str(common.ROOT / a.ours_pkg))
    else:
        py = a.upstream_python
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return py, env


def run_worker(engine, a, extra):
    py, env = python_for(engine, a)
    return common.run_worker([py, __file__, "--worker", "--engine", engine] + extra, env=env)


def du_bytes(root):
    return sum(p.stat().st_size for p in table_files(root))


def ensure_table(engine, kind, rows, a, log):
    tag = a.tag if engine == "ours" else ""
    root = a.scratch / f"{engine}{tag}-{kind}-{rows}"
    done = root / ".bench-complete"
    if done.exists():
        return root, json.loads(done.read_text())
    shutil.rmtree(root, ignore_errors=True)
    res = run_worker(engine, a, ["--op", "build", "--kind", kind, "--rows", str(rows),
                                 "--uri", str(root)])
    files = table_files(root)
    res.update(files=len(files), bytes=du_bytes(root))
    done.write_text(json.dumps(res))
    log(f"{engine} {kind}: built {rows} rows in {res['total_s']:.1f} s, "
        f"{len(files)} files, {res['bytes'] / 1e6:.0f} MB")
    return root, res


def driver(a):
    a.scratch = common.WORK_DIR / "cold"
    a.scratch.mkdir(parents=True, exist_ok=True)
    engines = a.engines.split(",")
    if "upstream" in engines and not pathlib.Path(a.upstream_python).exists():
        print(f"upstream python {a.upstream_python} missing: ours only", file=sys.stderr)
        engines = [e for e in engines if e != "upstream"]
    tables = {}
    for engine in engines:
        for kind, rows in (("fts", a.rows), ("vec", a.vrows)):
            tables[(engine, kind)] = ensure_table(engine, kind, rows, a, print)
    runs = {}
    for rnd in range(a.repeat):
        order = engines if rnd % 2 == 0 else engines[::-1]
        for q, (kind, _) in QUERIES.items():
            for engine in order:
                root = tables[(engine, kind)][0]
                for state in ("cold", "warm"):
                    if state == "cold":
                        left = evict(root)
                    else:
                        left = resident(root)
                    r = run_worker(engine, a, ["--op", "query", "--query", q,
                                               "--uri", str(root), "--reps", str(a.reps)])
                    r["resident_before"] = left
                    runs.setdefault(f"{engine}/{q}/{state}", []).append(r)
                    print(f"round {rnd} {engine:8} {q:11} {state}: open {r['open_ms']:.2f} ms, "
                          f"first {r['first_ms']:.2f} ms, warm p50 {r['warm_p50_ms']:.3f} ms "
                          f"(resident before: {left})", flush=True)
    summary = {}
    for key, rs in runs.items():
        summary[key] = {f: common.median([r[f] for r in rs])
                        for f in ("open_ms", "first_ms", "open_first_ms", "warm_p50_ms")}
        summary[key]["resident_before_max"] = max(
            (r["resident_before"] or 0) for r in rs)
        summary[key]["n"] = len(rs)
    result = {
        "bench": "cold",
        "label": a.label,
        "date": datetime.date.today().isoformat(),
        "machine": common.machine_info(common.ROOT / "build"),
        "params": {"rows": a.rows, "vrows": a.vrows, "repeat": a.repeat, "reps": a.reps,
                   "k": K, "queries": {q: v[1] for q, v in QUERIES.items()},
                   "vector_index": ["embedding", common.DIM, "l2sq"]},
        "tables": {f"{e}/{k}": v[1] for (e, k), v in tables.items()},
        "summary": summary, "runs": runs, "loadavg_end": os.getloadavg(),
    }
    out = pathlib.Path(a.out) if a.out else (
        common.RESULTS_DIR / f"{result['date']}-cold-{a.label}.json")
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    print(f"wrote {out}")


def report(paths, md_out, json_out):
    """One Markdown table (and one JSON) from result files of several runs
    (e.g. ours before the change, after it, and upstream)."""
    runs = [json.loads(pathlib.Path(p).read_text()) for p in paths]
    rows = []
    for r in runs:
        for key, v in sorted(r["summary"].items()):
            engine, q, state = key.split("/")
            name = f"ours ({r['label']})" if engine == "ours" else "upstream 0.11.0"
            rows.append((q, state, name, v))
    seen = set()
    lines = ["| query | page cache | engine | connect + open ms | first query ms | "
             "open + first ms | warm p50 ms | table bytes resident before |",
             "|---|---|---|---|---|---|---|---|"]
    for q in QUERIES:
        for state in ("cold", "warm"):
            for rq, rs, name, v in rows:
                if (rq, rs) != (q, state) or (rq, rs, name) in seen:
                    continue
                seen.add((rq, rs, name))
                lines.append(f"| {q} | {state} | {name} | {v['open_ms']:.2f} | "
                             f"{v['first_ms']:.2f} | {v['open_first_ms']:.2f} | "
                             f"{v['warm_p50_ms']:.3f} | {v['resident_before_max']} |")
    pathlib.Path(md_out).write_text("\n".join(lines) + "\n")
    pathlib.Path(json_out).write_text(json.dumps({"bench": "cold", "runs": runs}, indent=1) + "\n")
    print("\n".join(lines))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--worker", action="store_true")
    p.add_argument("--engine", default="ours")
    p.add_argument("--engines", default="ours,upstream")
    p.add_argument("--op")
    p.add_argument("--kind")
    p.add_argument("--query")
    p.add_argument("--uri")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--vrows", type=int, default=200_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--label", default="run")
    p.add_argument("--tag", default="",
                   help="suffix of our tables' folders (e.g. -before: a build "
                        "of an earlier commit, --ours-pkg, writes its own)")
    p.add_argument("--ours-pkg", default="build-py/pkg")
    p.add_argument("--upstream-python", default=str(common.BENCH_DIR / ".venv" / "bin" / "python"))
    p.add_argument("--out")
    p.add_argument("--report", nargs="+", metavar="RESULT_JSON",
                   help="only write --md/--out from these result files")
    p.add_argument("--md")
    a = p.parse_args()
    if a.report:
        report(a.report, a.md, a.out)
    elif a.worker:
        (worker_build if a.op == "build" else worker_query)(a)
    else:
        driver(a)


if __name__ == "__main__":
    main()
