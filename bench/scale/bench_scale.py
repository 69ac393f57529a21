#!/usr/bin/env python3
"""Scale: build rate, peak memory and warm query latency at 100K, 1M and
10M rows, ours vs upstream infino 0.11.0 (issue 16 item 7).

FTS: the Zipf corpus of bench/common.py (unique id token + Zipf(1.0) over
term00001..term10000), text only (doc_id, body), generated once into
bench/scratch/text-<rows>-t<tokens>-s<seed>.arrow. Documents are
TOKENS = 50 tokens long at every size, not the 200 of bench_fts.py: at 200
tokens the 10M corpus is 20 GB of text and its generation alone would take
most of an hour on this machine; the generator, law and vocabulary are the
same. The first N rows of the largest file are the N-row corpus.
Each engine builds by appends of at most APPEND_ROWS (1M) rows read batch
by batch from the IPC file (ordinary reads, no memory map): a worker holds
at most one append's rows, never the corpus. Ours connects with its
defaults (auto-compaction on: it merges only superfiles of up to 64 MiB,
so 1M-row appends stay one superfile each). Queries: bench_fts.py's query
generation (pools by document frequency, QUERIES per shape) and its query
worker (warm-up pass, PASSES timed passes, every shape; k = 10); the report
shows single_rare, single_common, two_term_or, five_term_and and the others
in the JSON. Correctness (light): top-10 overlap of ours and upstream
(doc_id sets) per shape.

Vectors: DIM = 128 float32, Gaussian clusters like bench_vector.py's
synthetic case (1024 centres 3.0*N(0,1), noise 0.3*N(0,1)), generated in
1M-row chunks into a raw file bench/scratch/vec-<rows>-d128-s<seed>.f32;
appends of at most 1M rows read with np.fromfile (no memory map); l2sq.
Ours: vector("emb", 128, n_cent, "l2sq") with n_cent = upstream's choice
for one append of at most 1M rows (1024 lists below 5M rows, 4096 from
5M: upstream builds each superfile's index from the rows of its append, so
at 10M built by 1M-row appends it too has 1024 lists per superfile);
upstream:
vector("emb", 128, "l2sq"). 100 queries from the same mixture; exact
top-10 by numpy in 100K-row chunks (float64). Ours: nprobe swept
1, 2, 4, ... until recall@10 >= 0.99; the reported p50 is at the smallest
nprobe with recall@10 >= 0.95. Upstream has no nprobe: its one operating
point.

Every build and query runs in its own worker process, ours then upstream,
alternating over the query rounds, each under a watchdog in the driver
that polls the worker's VmRSS every 0.2 s and kills it above 12 GiB: the
result then says "exceeded 12 GiB at N rows" (N = rows appended when it
was killed) instead of a figure. Workers run at the driver's nice level.

usage: bench/.venv/bin/python bench/scale/bench_scale.py --mode quick|full
           [--sizes 100000,1000000] [--ours-path DIR] [--out FILE.json]
           [--merge] [--merge-from A.json,B.json] [--only fts,vector]
Writes FILE.json, FILE.md beside it and bench/results/scale.png.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "fts"))
import common  # noqa: E402
import bench_fts  # noqa: E402
from common import pct  # noqa: E402

MODES = {"quick": [100_000, 1_000_000],
         "full": [100_000, 1_000_000, 10_000_000]}
TOKENS = 50
APPEND_ROWS = 1_000_000
QUERIES = 100                  # per FTS shape
PASSES = 2
ROUNDS = 2
SHOWN_SHAPES = ("single_rare", "single_common", "two_term_or",
                "five_term_and")
# from this size on, only these shapes are timed (every shape of
# bench_fts.py below it): at 10M the AND and wide-OR shapes take tens of
# ms each, and 11 shapes x 100 queries x 3 passes x 4 workers would take
# most of an hour
FEW_SHAPES_FROM = 5_000_000
FEW_SHAPES = SHOWN_SHAPES + ("single_df1", "two_term_and")
DIM = 128
V_CENTRES = 1024
V_CHUNK = 1_000_000
V_QUERIES = 100
NPROBES = (1, 2, 4, 8, 16, 32, 64, 128)
K = 10
RSS_LIMIT_KB = 12 * 2**20      # 12 GiB
# the machine is shared: a worker is also killed when the whole machine's
# MemAvailable falls below this (several drivers may run at once)
MIN_AVAILABLE_KB = 3 * 2**20
POLL_S = 0.2
ENGINES = ("ours", "upstream")
RUN = {"engines": ENGINES, "build_time_limit": None,   # set by the driver
       "reuse_builds": False}
SEED = common.SEED


def log(*m):
    print("scale:", *m, file=sys.stderr, flush=True)


def upstream_ncent(rows):
    """Upstream's list count for an index built over `rows` vectors. It
    builds each superfile's index at append time from that append's rows,
    so with appends of at most APPEND_ROWS (1M) every superfile it writes
    has 1024 lists, at 10M as at 1M."""
    return 1024 if rows < 5_000_000 else 4096


# ---- data -------------------------------------------------------------------

def vec_path(rows):
    return common.WORK_DIR / f"vec-{rows}-d{DIM}-s{SEED}.f32"


def vec_centres():
    import numpy as np

    rng = np.random.default_rng([SEED, 0x5CA1E])
    return (3.0 * rng.standard_normal((V_CENTRES, DIM))).astype(np.float32)


def vec_chunk(centres, c, rows, tag=0):
    """Chunk c of the clustered vectors (depends only on (seed, tag, c))."""
    import numpy as np

    rng = np.random.default_rng([SEED, 0x5CA1E, tag, c])
    which = rng.integers(0, V_CENTRES, size=rows)
    return centres[which] + np.float32(0.3) * rng.standard_normal(
        (rows, DIM), dtype=np.float32)


def ensure_vectors(rows):
    path = vec_path(rows)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    centres = vec_centres()
    tmp = path.with_suffix(".tmp")
    t0 = time.perf_counter()
    with open(tmp, "wb") as f:
        for c in range((rows + V_CHUNK - 1) // V_CHUNK):
            vec_chunk(centres, c, min(V_CHUNK, rows - c * V_CHUNK)).tofile(f)
    os.replace(tmp, path)
    log(f"data: {rows} x {DIM} vectors into {path.name} "
        f"({path.stat().st_size / 1e9:.1f} GB, "
        f"{time.perf_counter() - t0:.1f} s)")
    return path


def vec_queries():
    return vec_chunk(vec_centres(), 0, V_QUERIES, tag=1)


def exact_topk(path, sizes, queries, chunk=100_000):
    """{size: (n_queries, K) int64 row numbers of the exact l2sq top K over
    the first `size` rows}, one pass over the raw file in chunks."""
    import numpy as np

    q = queries.astype(np.float64)
    qn = (q * q).sum(1)
    best_d = np.full((len(q), 0), np.inf)
    best_i = np.zeros((len(q), 0), dtype=np.int64)
    out = {}
    n = max(sizes)
    with open(path, "rb") as f:
        for start in range(0, n, chunk):
            rows = min(chunk, n - start)
            x = np.fromfile(f, dtype=np.float32, count=rows * DIM).reshape(
                rows, DIM).astype(np.float64)
            d = qn[:, None] - 2.0 * (q @ x.T) + (x * x).sum(1)[None, :]
            d = np.concatenate([best_d, d], axis=1)
            i = np.concatenate([best_i, np.broadcast_to(
                np.arange(start, start + rows), (len(q), rows))], axis=1)
            part = np.argpartition(d, K - 1, axis=1)[:, :K]
            best_d = np.take_along_axis(d, part, 1)
            best_i = np.take_along_axis(i, part, 1)
            if start + rows in sizes:
                out[start + rows] = best_i.copy()
    return out


# ---- workers ----------------------------------------------------------------

def progress(a, rows):
    pathlib.Path(a.progress).write_text(str(rows))


def fts_build_worker(a):
    import pyarrow as pa
    from common_rss import RssSampler

    infino = bench_fts.import_infino(a.engine)
    db = infino.connect(a.dir)
    reader = common.open_dataset(a.src)
    meter = common.Meter()
    appends = 0
    with RssSampler() as s:
        meter.start()
        t = db.create_table("docs", common.text_schema(),
                            infino.IndexSpec().fts("body"))
        pending, n, done = [], 0, 0
        for b in common.iter_batches(reader, a.docs):
            pending.append(b)
            n += b.num_rows
            if n >= a.append_rows or done + n == a.docs:
                t.append(pa.Table.from_batches(pending))
                done += n
                appends += 1
                pending, n = [], 0
                progress(a, done)
        r = meter.stop()
    r.update(s.result())
    if a.engine == "ours":
        r["n_docs"] = t.count_rows()
    else:
        r["n_docs"] = db.query_sql(
            "SELECT count(*) FROM docs").column(0)[0].as_py()
    if r["n_docs"] != a.docs:
        raise SystemExit(f"{a.engine}: {r['n_docs']} docs, built {a.docs}")
    r.update({"engine": a.engine, "docs": a.docs, "appends": appends,
              "superfiles": bench_fts.count_files(a.dir, ".parquet"),
              "disk_bytes": common.du(a.dir),
              "version": getattr(infino, "__version__", "?")})
    print(json.dumps(r), flush=True)


def vec_build_worker(a):
    import numpy as np
    import pyarrow as pa
    from common_rss import RssSampler

    infino = bench_fts.import_infino(a.engine)
    db = infino.connect(a.dir)
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False),
                        pa.field("emb", pa.list_(pa.float32(), DIM),
                                 nullable=False)])
    spec = (infino.IndexSpec().vector("emb", DIM, a.n_cent, "l2sq")
            if a.engine == "ours"
            else infino.IndexSpec().vector("emb", DIM, "l2sq"))
    meter = common.Meter()
    appends = 0
    with RssSampler() as s, open(a.src, "rb") as f:
        meter.start()
        t = db.create_table("vecs", schema, spec)
        for start in range(0, a.docs, a.append_rows):
            rows = min(a.append_rows, a.docs - start)
            x = np.fromfile(f, dtype=np.float32, count=rows * DIM)
            t.append(pa.table(
                [pa.array(np.arange(start, start + rows, dtype=np.int64)),
                 pa.FixedSizeListArray.from_arrays(pa.array(x), DIM)],
                schema=schema))
            del x
            appends += 1
            progress(a, start + rows)
        r = meter.stop()
    r.update(s.result())
    r.update({"engine": a.engine, "docs": a.docs, "appends": appends,
              "n_cent": a.n_cent if a.engine == "ours" else "auto",
              "superfiles": bench_fts.count_files(a.dir, ".parquet"),
              "disk_bytes": common.du(a.dir),
              "version": getattr(infino, "__version__", "?")})
    print(json.dumps(r), flush=True)


def vec_query_worker(a):
    import numpy as np
    from common_rss import RssSampler

    infino = bench_fts.import_infino(a.engine)
    kw = {} if a.engine == "ours" else {"cache_dir": a.cache}
    table = infino.connect(a.dir, **kw).open_table("vecs")
    qs = [q.tolist() for q in np.load(a.queries)]
    truth = np.load(a.truth)
    pc, tc = time.perf_counter_ns, time.process_time_ns
    points = []
    sweep = NPROBES if a.engine == "ours" else (None,)
    with RssSampler() as s:
        for nprobe in sweep:
            kw = {} if nprobe is None else {"nprobe": nprobe}
            found = 0
            for i, q in enumerate(qs):          # warm-up and recall pass
                res = table.vector_search("emb", q, K, projection=["id"], **kw)
                found += len(set(res.column("id").to_pylist())
                             & set(truth[i].tolist()))
            lat, cpu = [], []
            for _ in range(a.passes):
                for q in qs:
                    c0, t0 = tc(), pc()
                    table.vector_search("emb", q, K, **kw)
                    t1, c1 = pc(), tc()
                    lat.append((t1 - t0) / 1e3)
                    cpu.append((c1 - c0) / 1e3)
            recall = found / (K * len(qs))
            points.append({"nprobe": nprobe if nprobe else "default",
                           "recall": recall, "lat_us": lat, "cpu_us": cpu})
            if recall >= 0.99:
                break
    out = {"engine": a.engine, "points": points}
    out.update(s.result())
    out["peak_rss_mb"] = common.peak_rss_kb() / 1024.0
    print(json.dumps(out), flush=True)


# ---- driver: workers under a memory watchdog --------------------------------

def vm_rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def mem_available_gib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    return None


def run_watched(argv, env, prog_file=None, time_limit=None):
    """Runs a worker; polls its VmRSS every POLL_S and kills it above
    RSS_LIMIT_KB (or when the machine runs short of memory, or after
    time_limit seconds). Returns its JSON result, or {"killed": True,
    "killed_because": why, "at_rows": N, "seconds": elapsed}. Either way
    with the load average before and after and the watchdog's own peak
    VmRSS sample."""
    env = dict(env)
    env["OPENBLAS_NUM_THREADS"] = "1"
    if prog_file:
        pathlib.Path(prog_file).write_text("0")
    load0 = os.getloadavg()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(p.stdout),
                              daemon=True)
    reader.start()
    peak = 0
    killed = None
    t0 = time.perf_counter()
    while p.poll() is None:
        rss = vm_rss_kb(p.pid)
        peak = max(peak, rss)
        if rss > RSS_LIMIT_KB:
            killed = "exceeded 12 GiB"
        elif mem_available_gib() * 2**20 < MIN_AVAILABLE_KB:
            killed = "machine MemAvailable below 3 GiB"
        elif time_limit and time.perf_counter() - t0 > time_limit:
            killed = f"time limit of {time_limit:.0f} s"
        if killed:
            p.kill()
            p.wait()
            break
        time.sleep(POLL_S)
    reader.join()
    meta = {"loadavg_start": load0, "loadavg_end": os.getloadavg(),
            "watchdog_peak_vmrss_mb": peak / 1024.0}
    if killed:
        at = int(pathlib.Path(prog_file).read_text()) if prog_file else None
        log(f"worker killed ({killed}) at {at} rows: "
            f"{' '.join(argv[1:6])}")
        el = time.perf_counter() - t0
        return dict(meta, killed=True, at_rows=at, killed_because=killed,
                    seconds=el, rows_per_s_so_far=(at or 0) / el)
    if p.returncode != 0:
        raise RuntimeError(f"worker failed ({p.returncode}): {' '.join(argv)}")
    res = [ln for ln in lines if ln.startswith("{")]
    if not res:
        raise RuntimeError(f"worker printed no result: {' '.join(argv)}")
    return dict(json.loads(res[-1]), **meta)


class Runner:
    def __init__(self, ours_path):
        self.ours_path = ours_path and str(pathlib.Path(ours_path).resolve())

    def python(self, engine):
        return bench_fts.python_of(engine)

    def env(self, engine):
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        if engine == "ours" and self.ours_path:
            env["PYTHONPATH"] = self.ours_path
        return env

    def worker(self, engine, kind, prog=None, **kw):
        argv = [self.python(engine), __file__, "--worker", kind,
                "--engine", engine]
        for k, v in kw.items():
            argv += [f"--{k.replace('_', '-')}", str(v)]
        if prog:
            argv += ["--progress", str(prog)]
        return run_watched(argv, self.env(engine), prog,
                           RUN["build_time_limit"] if kind.endswith("build")
                           else None)

    def fts_query(self, engine, d, qfile, cache):
        argv = [self.python(engine), bench_fts.__file__, "--worker", "query",
                "--engine", engine, "--dir", str(d), "--queries-file",
                str(qfile), "--passes", str(PASSES), "--cache", str(cache),
                "--ids"]
        return run_watched(argv, self.env(engine))


def build_summary(r):
    if r.get("killed"):
        return r
    out = {k: r[k] for k in (
        "seconds", "cpu_seconds", "peak_rss_mb", "peak_rss_anon_mb",
        "peak_rss_file_mb", "rss_before_mb", "disk_bytes", "superfiles",
        "appends", "docs", "version", "loadavg_start", "loadavg_end",
        "watchdog_peak_vmrss_mb", "reused", "recovered_from_log")
        if k in r}
    if "n_cent" in r:
        out["n_cent"] = r["n_cent"]
    out["docs_per_s"] = r["docs"] / r["seconds"]
    out["docs_per_cpu_s"] = r["docs"] / r["cpu_seconds"]
    return out


def run_fts(run, size, src, work):
    t0 = time.perf_counter()
    df_docs = min(size, 1_000_000)
    df = bench_fts.corpus_df(src, df_docs, TOKENS)
    pool = bench_fts.pools(df)
    queries = bench_fts.make_queries(pool, size, QUERIES, SEED)
    if size >= FEW_SHAPES_FROM:
        queries = {sh: queries[sh] for sh in FEW_SHAPES}
    shapes = list(queries)
    for qs in queries.values():
        for q in qs:
            q["iq"], q["tq"] = (bench_fts.infino_query(q),
                                bench_fts.tantivy_query(q))
    qfile = work / "fts-queries.json"
    qfile.write_text(json.dumps(queries))
    log(f"fts {size}: pools from df over {df_docs} docs and queries in "
        f"{time.perf_counter() - t0:.1f} s")
    res = {"docs": size, "tokens_per_doc": TOKENS, "df_sample_docs": df_docs,
           "shapes": shapes,
           "pools": {p: {"terms": len(v), "df_min": int(df[v].min()),
                         "df_max": int(df[v].max())}
                     for p, v in pool.items()},
           "build": {}, "queries": {}}
    dirs = {e: work / f"fts-{e}" for e in RUN["engines"]}
    for e in RUN["engines"]:
        shutil.rmtree(dirs[e], ignore_errors=True)
        r = run.worker(e, "fts-build", prog=work / f"progress-{e}",
                       src=src, dir=dirs[e], docs=size,
                       append_rows=APPEND_ROWS)
        res["build"][e] = build_summary(r)
        b = res["build"][e]
        if b.get("killed"):
            log(f"fts {size} build {e}: killed ({b['killed_because']}) at "
                f"{b['at_rows']} rows")
        else:
            log(f"fts {size} build {e}: {b['seconds']:.1f} s "
                f"({b['docs_per_s']:,.0f} docs/s, {b['docs_per_cpu_s']:,.0f}"
                f"/CPU-s), peak {b['peak_rss_mb']:.0f} MB (heap "
                f"{b['peak_rss_anon_mb']:.0f} MB), {b['superfiles']} "
                f"superfiles, load {b['loadavg_start'][0]:.1f}->"
                f"{b['loadavg_end'][0]:.1f}")
    live = [e for e in RUN["engines"] if not res["build"][e].get("killed")]
    rounds = {e: [] for e in live}
    ids = {}
    for rnd in range(ROUNDS):
        for e in (live if rnd % 2 == 0 else live[::-1]):
            r = run.fts_query(e, dirs[e], qfile, work / f"cache-fts-{e}")
            if r.get("killed"):
                res["queries"][e] = r
                break
            rounds[e].append(r)
            if rnd == 0:
                ids[e] = {s: r["shapes"][s].pop("ids") for s in shapes}
            log(f"fts {size} query round {rnd} {e}: " + ", ".join(
                f"{s} {pct(r['shapes'][s]['lat_us'], 50):.0f}"
                for s in SHOWN_SHAPES) + " us")
    for e in live:
        if not rounds[e]:
            continue
        rs = rounds[e]
        res["queries"][e] = {
            "shapes": {s: {
                "p50_us": common.median([pct(r["shapes"][s]["lat_us"], 50)
                                         for r in rs]),
                "p99_us": common.median([pct(r["shapes"][s]["lat_us"], 99)
                                         for r in rs]),
                "cpu_p50_us": common.median([pct(r["shapes"][s]["cpu_us"], 50)
                                             for r in rs]),
                "mean_hits": rs[0]["shapes"][s]["mean_hits"]}
                for s in shapes},
            "peak_rss_mb": common.median([r["peak_rss_mb"] for r in rs]),
            "peak_rss_anon_mb": common.median([r["peak_rss_anon_mb"]
                                               for r in rs]),
            "loadavg": [rs[0]["loadavg_start"], rs[-1]["loadavg_end"]]}
    if "ours" in ids and "upstream" in ids:
        res["top10_overlap_ours_upstream"] = bench_fts.overlap(
            ids, "ours", "upstream")
    for e in dirs:
        shutil.rmtree(dirs[e], ignore_errors=True)
        shutil.rmtree(work / f"cache-fts-{e}", ignore_errors=True)
    return res


def run_vector(run, size, src, truth, work):
    import numpy as np

    qfile, tfile = work / "vec-queries.npy", work / f"vec-truth-{size}.npy"
    np.save(qfile, vec_queries())
    np.save(tfile, truth)
    n_cent = upstream_ncent(min(size, APPEND_ROWS))
    res = {"docs": size, "dim": DIM, "n_cent_ours": n_cent, "build": {},
           "queries": {}}
    dirs = {e: work / f"vec-{e}" for e in RUN["engines"]}
    for e in RUN["engines"]:
        saved = work / f"build-vec-{e}.json"
        if RUN["reuse_builds"] and saved.exists() and dirs[e].exists():
            r = json.loads(saved.read_text())
            r["reused"] = True
            log(f"vector {size} build {e}: reusing the table and the build "
                f"figures of {saved.name}")
        else:
            shutil.rmtree(dirs[e], ignore_errors=True)
            r = run.worker(e, "vec-build", prog=work / f"progress-{e}",
                           src=src, dir=dirs[e], docs=size,
                           append_rows=APPEND_ROWS, n_cent=n_cent)
            saved.write_text(json.dumps(r))
        res["build"][e] = b = build_summary(r)
        if b.get("killed"):
            log(f"vector {size} build {e}: killed ({b['killed_because']}) "
                f"at {b['at_rows']} rows")
        else:
            log(f"vector {size} build {e}: {b['seconds']:.1f} s "
                f"({b['docs_per_s']:,.0f} vec/s, {b['docs_per_cpu_s']:,.0f}"
                f"/CPU-s), peak {b['peak_rss_mb']:.0f} MB (heap "
                f"{b['peak_rss_anon_mb']:.0f} MB), {b['superfiles']} "
                f"superfiles, load {b['loadavg_start'][0]:.1f}->"
                f"{b['loadavg_end'][0]:.1f}")
    live = [e for e in RUN["engines"] if not res["build"][e].get("killed")]
    rounds = {e: [] for e in live}
    for rnd in range(ROUNDS):
        for e in (live if rnd % 2 == 0 else live[::-1]):
            r = run.worker(e, "vec-query", dir=dirs[e], queries=qfile,
                           truth=tfile, passes=PASSES,
                           cache=work / f"cache-vec-{e}")
            if r.get("killed"):
                res["queries"][e] = r
                break
            rounds[e].append(r)
            log(f"vector {size} query round {rnd} {e}: " + ", ".join(
                f"{p['nprobe']}: {p['recall']:.3f} / "
                f"{pct(p['lat_us'], 50):.0f} us" for p in r["points"]))
    for e in live:
        rs = rounds[e]
        if not rs:
            continue
        pts = []
        for i, p0 in enumerate(rs[0]["points"]):
            ps = [r["points"][i] for r in rs if i < len(r["points"])]
            pts.append({"nprobe": p0["nprobe"], "recall": p0["recall"],
                        "p50_us": common.median([pct(p["lat_us"], 50)
                                                 for p in ps]),
                        "p99_us": common.median([pct(p["lat_us"], 99)
                                                 for p in ps]),
                        "cpu_p50_us": common.median([pct(p["cpu_us"], 50)
                                                     for p in ps])})
        at = [p for p in pts if p["recall"] >= 0.95]
        res["queries"][e] = {
            "points": pts, "at_recall_095": at[0] if at else None,
            "peak_rss_mb": common.median([r["peak_rss_mb"] for r in rs]),
            "peak_rss_anon_mb": common.median([r["peak_rss_anon_mb"]
                                               for r in rs]),
            "loadavg": [rs[0]["loadavg_start"], rs[-1]["loadavg_end"]]}
    for e in dirs:
        shutil.rmtree(dirs[e], ignore_errors=True)
        shutil.rmtree(work / f"cache-vec-{e}", ignore_errors=True)
        (work / f"build-vec-{e}.json").unlink(missing_ok=True)
    return res


def native_sha(pkg):
    for f in sorted(pathlib.Path(pkg).glob("infino/_native*.so")):
        return hashlib.sha256(f.read_bytes()).hexdigest()[:16]
    return None


def driver(a):
    import numpy as np

    sizes = ([] if a.sizes == "none" else
             [int(x) for x in a.sizes.split(",")] if a.sizes
             else MODES[a.mode])
    only = a.only.split(",")
    RUN["engines"] = tuple(a.engines.split(","))
    RUN["build_time_limit"] = a.build_time_limit
    RUN["reuse_builds"] = a.reuse_builds
    out = pathlib.Path(a.out) if a.out else (
        common.RESULTS_DIR / f"{datetime.date.today().isoformat()}-scale.json")
    run = Runner(a.ours_path)
    # tables, caches, query and progress files of this run: a folder of its
    # own, so that runs side by side (--only fts / --only vector) never
    # touch each other's tables
    work = common.WORK_DIR / "scale" / (
        "-".join(only) + "-" + "-".join(str(n) for n in sizes) + "-"
        + "-".join(RUN["engines"]))
    work.mkdir(parents=True, exist_ok=True)
    result = {"bench": "scale", "run": a.mode,
              "date": datetime.datetime.now().isoformat(timespec="seconds"),
              "machine": common.machine_info(),
              "ours_pkg": (common.where(a.ours_path) if a.ours_path
                           else ".venv (installed)"),
              "ours_native_sha256": (native_sha(a.ours_path) if a.ours_path
                                     else common.native_sha()),
              "loadavg_start": os.getloadavg(),
              "params": {"sizes": sizes, "tokens_per_doc": TOKENS,
                         "append_rows": APPEND_ROWS, "queries_per_shape":
                         QUERIES, "passes": PASSES, "rounds": ROUNDS,
                         "dim": DIM, "vector_queries": V_QUERIES,
                         "k": K, "rss_limit_gib": RSS_LIMIT_KB / 2**20,
                         "seed": SEED},
              "fts": {}, "vector": {}, "mem_available_gib_before": {}}
    merge = [out] if a.merge and out.exists() else []
    merge += [pathlib.Path(f) for f in (a.merge_from or "").split(",") if f]
    for f in merge:
        old = json.loads(f.read_text())
        if not a.ours_path and "ours_pkg" in old and not result.get(
                "ours_from_runs"):
            # combining only: ours as the first run that names it had it
            result["ours_pkg"] = old["ours_pkg"]
            result["ours_native_sha256"] = old.get("ours_native_sha256")
            result["ours_from_runs"] = True
        result["mem_available_gib_before"].update(
            old.get("mem_available_gib_before", {}))
        for part in ("fts", "vector"):
            for size, entry in old.get(part, {}).items():
                dst = result[part].setdefault(size, {})
                for k, v in entry.items():
                    if k in ("build", "queries"):   # per engine
                        dst.setdefault(k, {}).update(v)
                    else:
                        dst[k] = v
        result["earlier_runs"] = result.get("earlier_runs", []) + old.get(
            "earlier_runs", []) + [
            {k: old.get(k) for k in ("date", "loadavg_start",
                                     "loadavg_end", "params")}]

    def save():
        result["loadavg_end"] = os.getloadavg()
        out.write_text(json.dumps(result, indent=1) + "\n")
        write_md(result, out.with_suffix(".md"))
        try:
            plot(result, common.RESULTS_DIR / "scale.png")
        except ImportError:
            log("matplotlib missing: no plot")

    if a.note:
        result["note"] = a.note
    if not sizes:
        save()
        return
    text_src = vec_src = truth = None
    # a larger file already generated serves (its first N rows are the
    # N-row data set)
    bigger = [n for n in MODES["full"] if n >= max(sizes)]
    if "fts" in only:
        have = [n for n in bigger if common.text_dataset_path(
            n, TOKENS).exists()]
        text_src = common.ensure_text_dataset(
            have[0] if have else max(sizes), TOKENS, log=log)
    if "vector" in only:
        have = [n for n in bigger if vec_path(n).exists()]
        vec_src = ensure_vectors(have[0] if have else max(sizes))
        # exact answers are kept (a pure function of the seed, the queries
        # and the size) so a repeated run skips the scan of the raw file
        cached = {n: common.WORK_DIR / "scale" / f"exact-{n}-q{V_QUERIES}.npy"
                  for n in sizes}
        missing = {n for n in sizes if not cached[n].exists()}
        truth = {}
        if missing:
            t0 = time.perf_counter()
            truth = exact_topk(vec_src, missing, vec_queries())
            log(f"vector: exact top-{K} of {V_QUERIES} queries in "
                f"{time.perf_counter() - t0:.1f} s")
            for n in missing:
                np.save(cached[n], truth[n])
        for n in sizes:
            truth[n] = np.load(cached[n])
    for size in sizes:
        avail = mem_available_gib()
        result["mem_available_gib_before"][str(size)] = avail
        log(f"size {size}: MemAvailable {avail:.1f} GiB, load "
            f"{os.getloadavg()[0]:.1f}")
        if "fts" in only:
            result["fts"][str(size)] = run_fts(run, size, text_src, work)
            save()
        if "vector" in only:
            result["vector"][str(size)] = run_vector(run, size, vec_src,
                                                     truth[size], work)
            save()
    log(f"wrote {out} and {out.with_suffix('.md').name}, scale.png")


# ---- report -----------------------------------------------------------------

def _us(x):
    return "-" if x is None else (f"{x:.0f} us" if x < 1000
                                  else f"{x / 1000:.2f} ms")


def _sizes(part):
    return sorted(part, key=int)


def _build_cells(b):
    if b is None:
        return ["-"] * 6
    if b.get("killed"):
        return [f"killed ({b.get('killed_because', 'exceeded 12 GiB')}) "
                f"at {b['at_rows']:,} rows after {b.get('seconds', 0):.0f} s"
                f" ({b.get('rows_per_s_so_far', 0):,.0f} rows/s so far)"
                ] + ["-"] * 5
    mark = (" (from the log)" if b.get("recovered_from_log") else "") + (
        " (reused)" if b.get("reused") else "")
    return [f"{b['docs_per_s']:,.0f}{mark}", f"{b['docs_per_cpu_s']:,.0f}",
            f"{b['peak_rss_mb']:,.0f} MB",
            f"{b.get('peak_rss_anon_mb', 0):,.0f} MB",
            f"{b['superfiles']} / {b['disk_bytes'] / 1e6:,.0f} MB",
            "{:.1f} -> {:.1f}".format(b["loadavg_start"][0],
                                      b["loadavg_end"][0])]


def write_md(r, path):
    m = r["machine"]
    p = r["params"]
    lines = [
        "# Scale: 100K, 1M, 10M rows, ours vs upstream infino 0.11.0", "",
        f"`{path.with_suffix('.json').name}`, {r['date']}; "
        f"{m['cpu_model']}, {m['cores']} cores, {m['memory_gib']} GiB, git "
        f"{m['git_sha'][:10]}. Ours: the package in `{r['ours_pkg']}`. "
        + ("" if r.get("earlier_runs") else
           f"Load average {r['loadavg_start'][0]:.1f} at the start, "
           f"{r['loadavg_end'][0]:.1f} at the end. ")
        + "A shared machine (other engineers' builds; the load average at "
        "the start and end of every build is in the tables): wall rates "
        "are noisy, per-CPU-second rates less so. Made by "
        "`bench/scale/bench_scale.py`.", ""]
    if r.get("earlier_runs"):
        lines += ["Combined from runs (start time, load average at start "
                  "-> end, sizes): " + "; ".join(
                      f"{x['date']}, {x['loadavg_start'][0]:.1f} -> "
                      f"{x['loadavg_end'][0]:.1f}, "
                      f"{'/'.join(str(n) for n in x['params']['sizes'])}"
                      for x in r["earlier_runs"] if x.get("date")) + ".",
                  ""]
    if r.get("note"):
        lines += [r["note"], ""]
    lines += [
        f"Every build appends at most {p['append_rows']:,} rows at a time, "
        "read batch by batch from the generated file; each build and query "
        "ran in its own process under a watchdog that kills it when its "
        f"VmRSS passes {p['rss_limit_gib']:.0f} GiB. Peak RSS is VmHWM "
        "(all resident pages); heap is the sampled peak RssAnon.", ""]
    if r["fts"]:
        lines += [
            "## FTS", "",
            f"Zipf corpus of `bench/common.py`, **{p['tokens_per_doc']} tokens "
            "per doc** (+ a unique id token) at every size (bench_fts.py uses "
            "200; at 200 the 10M corpus is 20 GB of text). BM25 on `body`, "
            f"k = {p['k']}, {p['queries_per_shape']} queries per shape, "
            f"{p['passes']} timed passes after a warm-up, median over "
            f"{p['rounds']} alternating rounds.", "",
            "| docs | engine | docs/s (wall) | docs per CPU-s | peak RSS | "
            "heap | superfiles / disk | load |",
            "|---|---|---|---|---|---|---|---|"]
        for s in _sizes(r["fts"]):
            for e in ENGINES:
                lines.append(f"| {int(s):,} | {e} | " + " | ".join(
                    _build_cells(r["fts"][s]["build"].get(e))) + " |")
        lines += ["", "Warm latency p50 / p99 (ours vs upstream; ratio = "
                  "ours p50 / upstream p50):", "",
                  "| docs | shape | ours | upstream | ratio | top-10 "
                  "overlap |", "|---|---|---|---|---|---|"]
        for s in _sizes(r["fts"]):
            f = r["fts"][s]
            q = f["queries"]
            for sh in f.get("shapes", bench_fts.SHAPES):
                cells = []
                for e in ENGINES:
                    x = q.get(e, {})
                    if x.get("killed"):
                        cells.append("exceeded 12 GiB")
                    elif "shapes" in x:
                        y = x["shapes"][sh]
                        cells.append(f"{_us(y['p50_us'])} / "
                                     f"{_us(y['p99_us'])}")
                    else:
                        cells.append("-")
                try:
                    ratio = (f"{q['ours']['shapes'][sh]['p50_us'] / q['upstream']['shapes'][sh]['p50_us']:.2f}")
                except KeyError:
                    ratio = "-"
                ov = f.get("top10_overlap_ours_upstream", {}).get(sh)
                lines.append(f"| {int(s):,} | {sh} | {cells[0]} | {cells[1]}"
                             f" | {ratio} | "
                             f"{'-' if ov is None else f'{ov:.3f}'} |")
        lines.append("")
    if r["vector"]:
        lines += [
            "## Vectors", "",
            f"{p['dim']}-d float32 Gaussian clusters (1024 centres), l2sq, "
            f"k = {p['k']}, {p['vector_queries']} queries, recall@10 against "
            "exact numpy search. Ours: n_cent = upstream's choice for "
            "one append of at most 1M rows (1024 lists per superfile at "
            "every size), nprobe swept; "
            "upstream: its own n_cent, no nprobe (one operating point).", "",
            "| rows | engine | vectors/s (wall) | per CPU-s | peak RSS | "
            "heap | superfiles / disk | load |",
            "|---|---|---|---|---|---|---|---|"]
        for s in _sizes(r["vector"]):
            for e in ENGINES:
                lines.append(f"| {int(s):,} | {e} | " + " | ".join(
                    _build_cells(r["vector"][s]["build"].get(e))) + " |")
        lines += ["", "| rows | engine | at recall@10 >= 0.95: nprobe, "
                  "recall, p50 / p99 | sweep (nprobe: recall / p50) |",
                  "|---|---|---|---|"]
        for s in _sizes(r["vector"]):
            for e in ENGINES:
                x = r["vector"][s]["queries"].get(e, {})
                if x.get("killed"):
                    lines.append(f"| {int(s):,} | {e} | exceeded 12 GiB | - |")
                    continue
                a = x.get("at_recall_095")
                at = ("not reached" if a is None else
                      f"{a['nprobe']}, {a['recall']:.3f}, {_us(a['p50_us'])} "
                      f"/ {_us(a['p99_us'])}")
                sweep = "; ".join(f"{p_['nprobe']}: {p_['recall']:.3f} / "
                                  f"{_us(p_['p50_us'])}"
                                  for p_ in x.get("points", []))
                lines.append(f"| {int(s):,} | {e} | {at} | {sweep} |")
        lines.append("")
    lines += ["![scale](scale.png)", ""]
    path.write_text("\n".join(lines))


def plot(r, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(2, 2, figsize=(11, 8))
    style = {"ours": dict(color="tab:blue"),
             "upstream": dict(color="tab:orange")}

    def ok(b):
        return b is not None and not b.get("killed")

    for row, part, unit in ((0, "fts", "docs"), (1, "vector", "vectors")):
        d = r.get(part, {})
        sizes = _sizes(d)
        if not sizes:
            for a in ax[row]:
                a.set_title(f"{part}: not run")
            continue
        a = ax[row][0]
        for e in ENGINES:
            xs = [int(s) for s in sizes if ok(d[s]["build"].get(e))]
            a.plot(xs, [d[str(x)]["build"][e]["docs_per_s"] for x in xs],
                   marker="o", label=f"{e} (wall)", **style[e])
            a.plot(xs, [d[str(x)]["build"][e]["docs_per_cpu_s"] for x in xs],
                   marker="x", ls=":", label=f"{e} (per CPU-s)", **style[e])
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel(f"{unit} in table")
        a.set_ylabel(f"build {unit}/s")
        a.set_title(f"{part}: build rate")
        a.legend(fontsize=7)
        a = ax[row][1]
        if part == "fts":
            for e, ls in (("ours", "-"), ("upstream", "--")):
                for i, sh in enumerate(SHOWN_SHAPES):
                    xs = [int(s) for s in sizes
                          if "shapes" in d[s]["queries"].get(e, {})]
                    a.plot(xs, [d[str(x)]["queries"][e]["shapes"][sh]["p50_us"]
                                for x in xs], ls=ls, marker="o",
                           color=f"C{i}", label=f"{e} {sh}")
            a.set_title("fts: warm p50 (solid ours, dashed upstream)")
        else:
            for e in ENGINES:
                xs = [int(s) for s in sizes
                      if (d[s]["queries"].get(e) or {}).get("at_recall_095")]
                a.plot(xs, [d[str(x)]["queries"][e]["at_recall_095"]["p50_us"]
                            for x in xs], marker="o",
                       label=f"{e} (recall@10 >= 0.95)", **style[e])
            a.set_title("vector: warm p50 at recall@10 >= 0.95")
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel(f"{unit} in table")
        a.set_ylabel("p50 latency (us)")
        a.legend(fontsize=7)
    fig.suptitle("Scale: ours vs upstream infino 0.11.0")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=list(MODES), default="quick")
    ap.add_argument("--sizes", help="comma-separated row counts")
    ap.add_argument("--only", default="fts,vector")
    ap.add_argument("--ours-path", dest="ours_path",
                    help="a folder holding our infino package "
                         "(scripts/dev-python.sh's output; default: the "
                         "package installed in .venv)")
    ap.add_argument("--out")
    ap.add_argument("--merge", action="store_true",
                    help="keep the sizes already in --out (a later run "
                         "adds or replaces sizes)")
    ap.add_argument("--engines", default=",".join(ENGINES),
                    help="run only these engines (a later --merge-from "
                         "combines engines of one size)")
    ap.add_argument("--build-time-limit", dest="build_time_limit",
                    type=float, help="stop a build after this many seconds "
                    "(recorded with the rows appended so far)")
    ap.add_argument("--note", help="a sentence for the report (how the "
                    "runs were made)")
    ap.add_argument("--reuse-builds", dest="reuse_builds",
                    action="store_true",
                    help="vectors: query a table a failed run left behind "
                         "(with its build-vec-ENGINE.json) instead of "
                         "building it again")
    ap.add_argument("--merge-from", dest="merge_from",
                    help="comma-separated result files whose sizes are "
                         "kept (--sizes none: only combine and report)")
    ap.add_argument("--worker", choices=["fts-build", "vec-build",
                                         "vec-query"])
    ap.add_argument("--engine")
    ap.add_argument("--src")
    ap.add_argument("--dir")
    ap.add_argument("--docs", type=int)
    ap.add_argument("--append-rows", dest="append_rows", type=int)
    ap.add_argument("--n-cent", dest="n_cent", type=int)
    ap.add_argument("--progress")
    ap.add_argument("--queries")
    ap.add_argument("--truth")
    ap.add_argument("--passes", type=int, default=PASSES)
    ap.add_argument("--cache")
    a = ap.parse_args()
    if a.worker == "fts-build":
        fts_build_worker(a)
    elif a.worker == "vec-build":
        vec_build_worker(a)
    elif a.worker == "vec-query":
        vec_query_worker(a)
    else:
        driver(a)


if __name__ == "__main__":
    main()
