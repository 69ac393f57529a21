#!/usr/bin/env python3
"""A table on S3 (moto on 127.0.0.1): ours vs upstream infino 0.11.0 (PyPI),
plus the same table of ours on local disk.

Both engines get the same seed-schema rows (bench/common.py: doc_id, a Zipf
body of 200 tokens, 384-d embeddings) from one Arrow IPC file, with a BM25
index on body and an IVF index on embedding (cosine; each engine picks
its list count), against
the same moto server (one bucket, a fresh prefix per run). Every measured
operation is a fresh process; engines alternate; each round is repeated.

Per engine and storage:
- ingest: connect, create_table, append every 10,000-row batch (one commit
  each); rows/s of wall time.
- cold open: connect + open_table in a new process with an empty cache
  folder (a new host), in ms.
- cold first query: the first bm25_search after that open, in ms.
- warm: p50/p99 of bm25_search and vector_search (k=10) over REPS calls on
  that connection, after the first.
- ours only, on S3: the same query process again with connect's
  max_staleness_ms=STALE (default 1000; 0 skips it), the bounded-staleness
  extension: warm calls within STALE ms of a check send no request.

Ours runs from the project's .venv with PYTHONPATH=build-py/pkg (our
package, as scripts/dev-python.sh builds it); upstream from a venv holding
only infino==0.11.0 and pyarrow (default build-s3bench/venv-up; make it with
`python -m venv build-s3bench/venv-up && build-s3bench/venv-up/bin/pip
install infino==0.11.0 pyarrow==26.0.1`). The two packages share an import
name, so each run is its own process, and the worker checks which one it
imported.

usage: bench_s3_peer.py [--rows N] [--repeat R] [--reps Q] [--stale-ms STALE]
           [--upstream-python PATH] [--out results.json]
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
import uuid

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import common  # noqa: E402

K = 10
BM25_QUERY = "term00042 term00777"
# The three-argument form (0.11.0's; ours takes it too): each engine picks
# its own IVF list count per superfile.
SPEC_VECTOR = ("embedding", common.DIM, "cosine")


# ---- worker (runs in either venv) -------------------------------------------

def worker(a):
    import infino

    is_ours = hasattr(infino, "_native") or (
        pathlib.Path(infino.__file__).parent / "_infino.py").exists()
    if is_ours != (a.engine == "ours"):
        raise SystemExit(f"worker for {a.engine} imported {infino.__file__}")
    opts = json.loads(os.environ.get("BENCH_S3_OPTS") or "null")
    kw = {"storage_options": opts} if opts else {}
    if a.cache_dir:
        kw["cache_dir"] = a.cache_dir
    if a.max_staleness_ms:
        kw["max_staleness_ms"] = a.max_staleness_ms
    out = {"engine": a.engine, "max_staleness_ms": a.max_staleness_ms, "uri_kind": a.uri.split("://")[0] if "://" in a.uri else "local",
           "infino": common.where(infino.__file__)}
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    if a.op == "ingest":
        db = infino.connect(a.uri, **kw)
        spec = infino.IndexSpec().fts("body").vector(*SPEC_VECTOR)
        t = db.create_table("docs", common.seed_schema(), spec)
        rows = 0
        for b in common.iter_batches(common.open_dataset(a.data), a.rows):
            t.append(b)
            rows += b.num_rows
        wall = time.perf_counter() - t0
        out.update(rows=rows, seconds=wall, rows_per_s=rows / wall,
                   cpu_s=time.process_time() - cpu0)
    else:
        r = common.open_dataset(a.data)
        qvec = r.get_batch(0).column("embedding")[5].values.to_pylist()
        db = infino.connect(a.uri, **kw)
        t = db.open_table("docs")
        t_open = time.perf_counter()
        first = t.bm25_search("body", BM25_QUERY, K)
        t_first = time.perf_counter()
        assert first.num_rows == K, first.num_rows
        first_vec0 = time.perf_counter()
        v = t.vector_search("embedding", qvec, K)
        first_vec = time.perf_counter() - first_vec0
        assert v.num_rows == K, v.num_rows
        xs, ys = [], []
        for _ in range(a.reps):
            s = time.perf_counter()
            t.bm25_search("body", BM25_QUERY, K)
            xs.append((time.perf_counter() - s) * 1000)
            s = time.perf_counter()
            t.vector_search("embedding", qvec, K)
            ys.append((time.perf_counter() - s) * 1000)
        out.update(cold_open_ms=(t_open - t0) * 1000,
                   cold_first_query_ms=(t_first - t_open) * 1000,
                   first_vector_ms=first_vec * 1000,
                   warm_bm25_p50_ms=common.median(xs), warm_bm25_p99_ms=common.pct(xs, 99),
                   warm_vector_p50_ms=common.median(ys),
                   warm_vector_p99_ms=common.pct(ys, 99))
    out["peak_rss_kb"] = common.peak_rss_kb()
    print(json.dumps(out), flush=True)


# ---- driver -----------------------------------------------------------------

def run(engine, op, uri, a, data, opts=None, cache_dir=None, staleness=0):
    if engine == "ours":
        py = str(common.ROOT / ".venv" / "bin" / "python")
        env = dict(os.environ, PYTHONPATH=str(common.ROOT / a.ours_pkg))
    else:
        py = a.upstream_python
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    argv = [py, __file__, "--worker", "--engine", engine, "--op", op, "--uri", uri,
            "--data", str(data), "--rows", str(a.rows), "--reps", str(a.reps)]
    env.pop("BENCH_S3_OPTS", None)
    if opts:  # not on the command line: a failure prints argv
        env["BENCH_S3_OPTS"] = json.dumps(opts)
    if cache_dir:
        argv += ["--cache-dir", str(cache_dir)]
    if staleness:
        argv += ["--max-staleness-ms", str(staleness)]
    return common.run_worker(argv, env=env)


def spread(runs, key):
    xs = [r[key] for r in runs if r.get(key) is not None]
    if not xs:
        return None
    return {"median": common.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def driver(a):
    sys.path.insert(0, str(common.ROOT / "tests" / "py"))
    from s3_server import MotoS3

    data = common.ensure_dataset(a.rows)
    moto = MotoS3.start()
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="bench-s3-peer-", dir=common.WORK_DIR
                                            if common.WORK_DIR.exists() else None))
    opts = moto.storage_options()
    runs = {"ours-s3": {"ingest": [], "query": []}, "upstream-s3": {"ingest": [], "query": []},
            "ours-local": {"ingest": [], "query": []}}
    stale = f"ours-s3-stale{a.stale_ms}"
    if a.stale_ms:
        runs[stale] = {"ingest": [], "query": []}
    errors = {}
    try:
        for rnd in range(a.repeat):
            order = ["upstream", "ours"] if rnd % 2 == 0 else ["ours", "upstream"]
            for engine in order:
                name = f"{engine}-s3"
                uri = f"s3://{moto.bucket}/{engine}-{rnd}-{uuid.uuid4().hex[:6]}"
                try:
                    ing = run(engine, "ingest", uri, a, data, opts)
                    cache = scratch / f"cache-{engine}-{rnd}"
                    q = run(engine, "query", uri, a, data, opts, cache)
                except RuntimeError as e:
                    errors[name] = str(e)
                    print(f"{name}: {e}", file=sys.stderr)
                    continue
                runs[name]["ingest"].append(ing)
                runs[name]["query"].append(q)
                print(f"round {rnd} {name}: ingest {ing['rows_per_s']:.0f} rows/s, open "
                      f"{q['cold_open_ms']:.1f} ms, first {q['cold_first_query_ms']:.1f} ms, "
                      f"warm bm25 {q['warm_bm25_p50_ms']:.3f} ms, vector "
                      f"{q['warm_vector_p50_ms']:.3f} ms", flush=True)
                if engine == "ours" and a.stale_ms:
                    cache = scratch / f"cache-{engine}-{rnd}-stale"
                    try:
                        q = run(engine, "query", uri, a, data, opts, cache, a.stale_ms)
                    except RuntimeError as e:
                        errors[stale] = str(e)
                        print(f"{stale}: {e}", file=sys.stderr)
                        continue
                    runs[stale]["query"].append(q)
                    print(f"round {rnd} {stale}: open {q['cold_open_ms']:.1f} ms, first "
                          f"{q['cold_first_query_ms']:.1f} ms, warm bm25 "
                          f"{q['warm_bm25_p50_ms']:.3f} ms, vector "
                          f"{q['warm_vector_p50_ms']:.3f} ms", flush=True)
            local = scratch / f"local-{rnd}"
            ing = run("ours", "ingest", str(local), a, data)
            q = run("ours", "query", str(local), a, data)
            runs["ours-local"]["ingest"].append(ing)
            runs["ours-local"]["query"].append(q)
            print(f"round {rnd} ours-local: ingest {ing['rows_per_s']:.0f} rows/s, warm bm25 "
                  f"{q['warm_bm25_p50_ms']:.3f} ms, vector {q['warm_vector_p50_ms']:.3f} ms",
                  flush=True)
            shutil.rmtree(local, ignore_errors=True)
    finally:
        moto.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    summary = {}
    for name, r in runs.items():
        summary[name] = {"ingest_rows_per_s": spread(r["ingest"], "rows_per_s")}
        for key in ("cold_open_ms", "cold_first_query_ms", "first_vector_ms",
                    "warm_bm25_p50_ms", "warm_bm25_p99_ms", "warm_vector_p50_ms",
                    "warm_vector_p99_ms"):
            summary[name][key] = spread(r["query"], key)

    def med(name, key):
        s = summary[name].get(key)
        return s["median"] if s else None

    ratios = {}
    for key in ("warm_bm25_p50_ms", "warm_vector_p50_ms"):
        o, loc = med("ours-s3", key), med("ours-local", key)
        if o and loc:
            ratios[f"{key}: ours s3 / ours local (target <= 1.1)"] = o / loc
        if a.stale_ms:
            o, u = med(stale, key), med("upstream-s3", key)
            if o and loc:
                ratios[f"{key}: {stale} / ours local (target <= 1.1)"] = o / loc
            if o and u:
                ratios[f"{key}: upstream / {stale} (>1: we are faster)"] = u / o
    for key in ("cold_open_ms", "cold_first_query_ms", "warm_bm25_p50_ms",
                "warm_vector_p50_ms"):
        o, u = med("ours-s3", key), med("upstream-s3", key)
        if o and u:
            ratios[f"{key}: upstream / ours on s3 (>1: we are faster)"] = u / o
    o, u = med("ours-s3", "ingest_rows_per_s"), med("upstream-s3", "ingest_rows_per_s")
    if o and u:
        ratios["ingest rows/s: ours / upstream on s3 (>1: we are faster)"] = o / u

    result = {
        "bench": "s3-peer",
        "date": datetime.date.today().isoformat(),
        "machine": common.machine_info(common.ROOT / "build"),
        "params": {"rows": a.rows, "repeat": a.repeat, "warm_reps": a.reps, "k": K,
                   "stale_ms": a.stale_ms,
                   "bm25_query": BM25_QUERY, "vector_index": list(SPEC_VECTOR),
                   "store": "moto server on 127.0.0.1 (same process tree, one bucket)",
                   "cache": "cache_dir = a fresh empty folder per query worker"},
        "summary": summary, "ratios": ratios, "errors": errors, "runs": runs,
        "loadavg_end": os.getloadavg(),
    }
    out = pathlib.Path(a.out) if a.out else (
        common.RESULTS_DIR / f"{result['date']}-s3-peer.json")
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({"summary": summary, "ratios": ratios, "errors": errors}, indent=1))
    print(f"wrote {out}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--worker", action="store_true")
    p.add_argument("--engine", choices=("ours", "upstream"))
    p.add_argument("--op", choices=("ingest", "query"))
    p.add_argument("--uri")
    p.add_argument("--data")
    p.add_argument("--cache-dir")
    p.add_argument("--rows", type=int, default=20_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--stale-ms", type=int, default=1000)
    p.add_argument("--max-staleness-ms", type=int, default=0)  # worker
    p.add_argument("--ours-pkg", default="build-py/pkg")
    p.add_argument("--upstream-python",
                   default=str(common.ROOT / "build-s3bench" / "venv-up" / "bin" / "python"))
    p.add_argument("--out")
    a = p.parse_args()
    worker(a) if a.worker else driver(a)


if __name__ == "__main__":
    main()
