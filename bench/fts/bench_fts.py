#!/usr/bin/env python3
"""BM25 search through the table API: ours vs upstream infino vs tantivy.

Every engine indexes the same Zipf corpus (bench/common.py: doc_id plus a
body of one unique id token and 200 tokens drawn Zipf(s=1.0) over
term00001..term10000; quick 100K docs, full 1M):
- ours:     infino.connect(dir).create_table(..., IndexSpec().fts("body")),
            one append of every row (one superfile), from the project .venv;
- upstream: the same calls on upstream infino 0.11.0 (PyPI, bench/.venv);
- tantivy:  one text field "body" (default tokenizer, frequencies without
            positions, like the two infinos), a stored u64 "row" to map hits
            back, tantivy-py's default writer heap (128 MB) with one indexing
            thread, one commit, then wait_merging_threads().
The input is the seed IPC file mapped into memory (zero-copy Arrow), so
neither infino holds a private copy of it; tantivy gets Python strings one
10K-row batch at a time. A second layout of ours and upstream, 20 appends
of N/20 rows (20 superfiles), shows the cost of fanning a query out.

Build: wall and CPU seconds (user + system, all threads: docs per CPU-second
is the per-core rate), peak RSS (VmHWM) and peak heap RSS (RssAnon, sampled).

Queries (k = 10, each shape 200 distinct seeded queries; term pools by
document frequency measured on the generated corpus, see `pools()`):
  single_rare    one term of the rare pool
  single_df1     one unique id token (df = 1)
  single_common  one term of the common pool
  two_term_or    common + mid
  three_wide_or  common + mid + rare (dfs far apart)
  five_term_or   5 mid terms
  ten_term_or    10 mid terms
  two_term_and   common + mid
  five_term_and  5 common terms
  ten_term_and   10 common terms
  negation       mid term, minus a common term ("a -b"; common ranks
                 11-50, so that some docs match)
Ours and upstream: table.bm25_search("body", q, 10, mode="or"|"and") with
the default projection (_id, score). Tantivy: searcher.search(
index.parse_query(q, ["body"]), 10, count=False) with "+a +b" for AND and
"a -b" for negation; the parse is inside the timed call, as it is for the
infinos. Each query worker opens the index, runs every query of every
shape once (warm-up), then `passes` timed passes per shape; workers of the
engines alternate over `rounds` rounds and the driver reports the median
over rounds of each round's p50 and p99 (wall and process CPU time per
query: CPU above wall means the engine used more than one thread).

Correctness (light): the body of every doc has 201 tokens, so for a
single-term query BM25 is monotonic in the term frequency and the exact
answer is "the 10 highest term frequencies" (ties among equal counts are
legitimately broken either way). Every engine's top 10 for single-term
queries is checked against that oracle (term frequencies computed from the
corpus), and ours is compared with upstream's as sets.

usage: bench_fts.py --mode quick|full [--docs N] [--queries Q] [--rounds R]
           [--passes P] [--build-repeat B] [--out results.json] [--keep]
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

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import common  # noqa: E402
from common import pct  # noqa: E402

ENGINES = ("ours", "upstream", "tantivy")
# ours_lean: ours' table queried through bm25_search_ids (query-only; run
# by bench/percall/bench_percall.py --fts)
SHAPES = ("single_rare", "single_df1", "single_common", "two_term_or",
          "three_wide_or", "five_term_or", "ten_term_or", "two_term_and",
          "five_term_and", "ten_term_and", "negation")
SINGLE = ("single_rare", "single_df1", "single_common")
MODES = {"quick": {"docs": 100_000, "queries": 200, "rounds": 2, "passes": 2,
                   "build_repeat": 2},
         "full": {"docs": 1_000_000, "queries": 200, "rounds": 2, "passes": 2,
                  "build_repeat": 2}}
K = 10
FANOUT = 20                      # appends of the many-superfile layout
TANTIVY_HEAP = 128_000_000       # tantivy-py's default writer heap
BODY_WIDTH = 10 + 10 * common.N_TOKENS   # "uNNNNNNNNN" + 200 x " termNNNNN"


def python_of(engine):
    if engine.startswith("ours"):
        return str(common.ROOT / ".venv" / "bin" / "python")
    return str(common.BENCH_DIR / ".venv" / "bin" / "python")


def log(*m):
    print("fts:", *m, file=sys.stderr, flush=True)


# ---- corpus analysis (driver) -----------------------------------------------

def body_matrix(batch, n_tokens=common.N_TOKENS):
    """The body column of a seed batch as a (rows, width) uint8 view
    (width = 10 + 10 * n_tokens): every body has the same width
    (common.SeedData writes fixed-width tokens), which this checks rather
    than assumes."""
    import numpy as np

    width = 10 + 10 * n_tokens

    col = batch.column(batch.schema.get_field_index("body"))
    _, offs, data = col.buffers()
    o = np.frombuffer(offs, dtype=np.int64)[col.offset:col.offset + len(col) + 1]
    if not (np.diff(o) == width).all():
        raise SystemExit("fts: body values are not fixed-width seed rows")
    raw = np.frombuffer(data, dtype=np.uint8)[o[0]:o[-1]]
    return raw.reshape(len(col), width)


def term_ids(mat):
    """(rows, tokens) int array of the term numbers 1..VOCAB in each body
    (200 tokens in the seed corpus)."""
    import numpy as np

    toks = mat[:, 10:].reshape(len(mat), -1, 10)[:, :, 5:]
    d = toks.astype(np.int32) - ord("0")
    return (((d[..., 0] * 10 + d[..., 1]) * 10 + d[..., 2]) * 10
            + d[..., 3]) * 10 + d[..., 4]


def corpus_df(path, n_docs, n_tokens=common.N_TOKENS):
    """Document frequency of every term (index = term number)."""
    import numpy as np

    df = np.zeros(common.VOCAB + 1, dtype=np.int64)
    r = common.open_dataset(path)
    for b in common.iter_batches(r, n_docs):
        t = np.sort(term_ids(body_matrix(b, n_tokens)), axis=1)
        first = np.ones(t.shape, dtype=bool)
        first[:, 1:] = t[:, 1:] != t[:, :-1]
        df += np.bincount(t[first], minlength=common.VOCAB + 1)
    return df


def pools(df):
    """Term pools by document frequency. The Zipf(1) law over 10,000 terms
    gives even the rarest term a df of about N/500 (no term has df 10-100 at
    these sizes), so "rare" is the bottom of the df ranking:
      common: the 50 highest-df terms
      mid:    df ranks 51..1000
      rare:   the 1000 lowest-df terms
    Ranks break df ties by term number, so the pools are deterministic."""
    import numpy as np

    terms = np.arange(1, common.VOCAB + 1)
    order = terms[np.lexsort((terms, -df[1:]))]      # by df desc, then id
    return {"common": order[:50], "mid": order[50:1000],
            "rare": order[-1000:]}


def tname(t):
    return f"term{int(t):05d}"


def make_queries(pool, n_docs, n, seed):
    """n seeded queries per shape: [{"terms", "neg", "mode"}]."""
    import numpy as np

    rng = np.random.default_rng([seed, 0xF75])
    out = {}

    def pick(p, k):
        return [tname(t) for t in rng.choice(pool[p], size=k, replace=False)]

    for shape in SHAPES:
        qs = []
        seen = set()
        while len(qs) < n:
            neg = []
            mode = "and" if shape.endswith("_and") else "or"
            if shape == "single_rare":
                terms = pick("rare", 1)
            elif shape == "single_df1":
                terms = [f"u{int(rng.integers(0, n_docs)):09d}"]
            elif shape == "single_common":
                terms = pick("common", 1)
            elif shape in ("two_term_or", "two_term_and"):
                terms = pick("common", 1) + pick("mid", 1)
            elif shape == "three_wide_or":
                terms = pick("common", 1) + pick("mid", 1) + pick("rare", 1)
            elif shape == "five_term_or":
                terms = pick("mid", 5)
            elif shape == "ten_term_or":
                terms = pick("mid", 10)
            elif shape == "five_term_and":
                terms = pick("common", 5)
            elif shape == "ten_term_and":
                terms = pick("common", 10)
            else:                                   # negation
                terms = pick("mid", 1)
                neg = [tname(rng.choice(pool["common"][10:]))]
            key = (tuple(terms), tuple(neg))
            # single-term pools (50 common terms) have fewer distinct
            # queries than n: repeats are allowed only once all are used
            if key in seen and len(seen) < {"single_common": 50}.get(
                    shape, n):
                continue
            seen.add(key)
            qs.append({"terms": terms, "neg": neg, "mode": mode})
        out[shape] = qs
    return out


def infino_query(q):
    return " ".join(q["terms"] + ["-" + t for t in q["neg"]])


def tantivy_query(q):
    plus = "+" if q["mode"] == "and" else ""
    return " ".join([plus + t for t in q["terms"]] + ["-" + t for t in q["neg"]])


def tf_oracle(path, n_docs, terms):
    """For each term: {tf: number of docs with that tf} over the corpus."""
    import numpy as np

    terms = sorted(set(int(t[4:]) for t in terms))
    col = np.full(common.VOCAB + 1, -1, dtype=np.int64)
    col[terms] = np.arange(len(terms))
    hist = np.zeros((len(terms), common.N_TOKENS + 2), dtype=np.int64)
    r = common.open_dataset(path)
    for b in common.iter_batches(r, n_docs):
        t = term_ids(body_matrix(b))
        c = col[t]
        rows = np.broadcast_to(np.arange(len(t))[:, None], t.shape)
        m = c >= 0
        tf = np.zeros((len(t), len(terms)), dtype=np.int64)
        np.add.at(tf, (rows[m], c[m]), 1)
        w = common.N_TOKENS + 2
        idx = (np.arange(len(terms))[None, :] * w + tf).reshape(-1)
        hist += np.bincount(idx, minlength=len(terms) * w).reshape(-1, w)
    return {tname(t): hist[i] for i, t in enumerate(terms)}


def expected_top_tfs(hist, k=K):
    out = []
    for tf in range(len(hist) - 1, 0, -1):
        out += [tf] * int(min(hist[tf], k - len(out)))
        if len(out) == k:
            break
    return out


def doc_tf(reader, row, term):
    """Term frequency of `term` in doc `row`; `reader` reads a memory map
    of the seed file, so fetching a batch copies nothing."""
    b = reader.get_batch(row // common.BATCH_ROWS)
    mat = body_matrix(b.slice(row % common.BATCH_ROWS, 1))
    return int((term_ids(mat) == int(term[4:])).sum())


# ---- workers ----------------------------------------------------------------

def input_table(src, n_docs):
    """The first n_docs rows (doc_id, body) of the seed file, zero-copy over
    a memory map of it."""
    import pyarrow as pa

    t = pa.ipc.open_file(pa.memory_map(src)).read_all()
    return t.select(["doc_id", "body"]).slice(0, n_docs)


def count_files(path, suffix):
    return sum(1 for _, _, fs in os.walk(path) for f in fs if f.endswith(suffix))


def import_infino(engine):
    import infino

    if hasattr(infino, "_native") != engine.startswith("ours"):
        raise SystemExit(f"{engine}: imported the wrong infino "
                         f"({infino.__file__})")
    return infino


def build_worker(a):
    from common_rss import RssSampler

    table = input_table(a.src, a.docs)
    meter = common.Meter()
    extra = {}
    if a.engine == "tantivy":
        import tantivy

        sb = tantivy.SchemaBuilder()
        sb.add_text_field("body", stored=False, tokenizer_name="default",
                          index_option="freq")
        sb.add_unsigned_field("row", stored=True, indexed=False)
        schema = sb.build()
        os.makedirs(a.dir, exist_ok=True)
        with RssSampler() as s:
            meter.start()
            index = tantivy.Index(schema, path=a.dir)
            w = index.writer(TANTIVY_HEAP, 1)
            row = 0
            for b in table.to_batches(max_chunksize=common.BATCH_ROWS):
                for body in b.column(1).to_pylist():
                    w.add_document(tantivy.Document(body=body, row=row))
                    row += 1
            w.commit()
            w.wait_merging_threads()
            r = meter.stop()
        index.reload()
        extra["segments"] = index.searcher().num_segments
        extra["n_docs"] = index.searcher().num_docs
        version = tantivy.__version__
    else:
        infino = import_infino(a.engine)
        db = infino.connect(a.dir)
        pieces = ([table] if a.appends == 1 else
                  [table.slice(i * len(table) // a.appends,
                               (i + 1) * len(table) // a.appends
                               - i * len(table) // a.appends)
                   for i in range(a.appends)])
        with RssSampler() as s:
            meter.start()
            t = db.create_table("docs", table.schema,
                                infino.IndexSpec().fts("body"))
            for p in pieces:
                t.append(p)
            r = meter.stop()
        extra["superfiles"] = count_files(a.dir, ".parquet")
        version = getattr(infino, "__version__", "?")
        if a.engine.startswith("ours"):
            extra["n_docs"] = t.count_rows()
        else:
            extra["n_docs"] = db.query_sql(
                "SELECT count(*) FROM docs").column(0)[0].as_py()
    if extra["n_docs"] != a.docs:
        raise SystemExit(f"{a.engine}: index holds {extra['n_docs']} docs, "
                         f"built {a.docs}")
    r.update(s.result())
    r.update(extra)
    r.update({"engine": a.engine, "docs": a.docs, "appends": a.appends,
              "disk_bytes": common.du(a.dir), "version": version})
    print(json.dumps(r), flush=True)


def query_worker(a):
    from common_rss import RssSampler

    queries = json.loads(pathlib.Path(a.queries_file).read_text())
    pc, tc = time.perf_counter_ns, time.process_time_ns
    if a.engine == "tantivy":
        import tantivy

        index = tantivy.Index.open(a.dir)
        index.reload()
        searcher = index.searcher()

        def run(q):
            return searcher.search(index.parse_query(q["tq"], ["body"]), K,
                                   count=False)

        def ids(q):
            res = run(q)
            return [searcher.doc(addr)["row"][0] for _, addr in res.hits]

        def n_hits(res):
            return len(res.hits)
    else:
        infino = import_infino(a.engine)
        kw = {}
        if a.engine.startswith("upstream"):
            # upstream re-reads its files on every query of a reopened
            # table unless it has a disk cache; with one it serves from
            # memory-mapped local copies (its warm path)
            kw["cache_dir"] = a.cache
        table = infino.connect(a.dir, **kw).open_table("docs")

        def run(q):
            return table.bm25_search("body", q["iq"], K, mode=q["mode"])

        def ids(q):
            res = table.bm25_search("body", q["iq"], K, mode=q["mode"],
                                    projection=["doc_id"])
            return [int(x[4:]) for x in res.column("doc_id").to_pylist()]

        def n_hits(res):
            return res.num_rows

        if a.engine == "ours_lean":
            # ours' table through the lean result path: numpy _ids and
            # scores, no pyarrow object (ids: _id -> doc number, read once)
            m = table.to_arrow(["_id", "doc_id"])
            row_of = {int(i).to_bytes(16, "big"): int(d[4:]) for i, d in zip(
                m.column("_id").to_pylist(), m.column("doc_id").to_pylist())}
            del m

            def run(q):
                return table.bm25_search_ids("body", q["iq"], K, q["mode"],
                                             with_scores=True)

            def ids(q):
                return [row_of[r.tobytes()] for r in run(q)[0]]

            def n_hits(res):
                return len(res[0])
    out = {"engine": a.engine, "shapes": {}}
    with RssSampler() as s:
        # warm-up: every query of every shape once before any timing, so
        # that caches filled in the background (upstream's disk cache)
        # are complete when the first shape is timed. A queries file may
        # hold a subset of the shapes (bench/scale/bench_scale.py at 10M)
        shapes = [sh for sh in SHAPES if sh in queries]
        for shape in shapes:
            for q in queries[shape]:
                run(q)
        for shape in shapes:
            qs = queries[shape]
            lat, cpu, hits = [], [], 0
            for _ in range(a.passes):
                for q in qs:
                    c0, t0 = tc(), pc()
                    res = run(q)
                    t1, c1 = pc(), tc()
                    lat.append((t1 - t0) / 1e3)
                    cpu.append((c1 - c0) / 1e3)
                    hits += n_hits(res)
            d = {"lat_us": lat, "cpu_us": cpu,
                 "mean_hits": hits / len(lat)}
            if a.ids:
                d["ids"] = [ids(q) for q in qs]
            out["shapes"][shape] = d
    out.update(s.result())
    out["peak_rss_mb"] = common.peak_rss_kb() / 1024.0
    print(json.dumps(out), flush=True)


# ---- driver -----------------------------------------------------------------

def run_build(engine, src, docs, appends, d):
    shutil.rmtree(d, ignore_errors=True)
    eng = engine.split("-")[0]
    return common.run_worker([python_of(eng), __file__, "--worker", "build",
                              "--engine", eng, "--src", str(src),
                              "--dir", str(d), "--docs", str(docs),
                              "--appends", str(appends)])


def run_query(engine, d, qfile, passes, cache, want_ids):
    eng = engine.split("-")[0]
    argv = [python_of(eng), __file__, "--worker", "query", "--engine", eng,
            "--dir", str(d), "--queries-file", str(qfile),
            "--passes", str(passes),
            "--cache", str(cache)]
    if want_ids:
        argv.append("--ids")
    return common.run_worker(argv)


def summarize_build(runs):
    med = {k: common.median([r[k] for r in runs])
           for k in ("seconds", "cpu_seconds", "peak_rss_mb",
                     "peak_rss_anon_mb", "rss_before_mb", "disk_bytes")}
    docs = runs[0]["docs"]
    med["docs"] = docs
    med["docs_per_s"] = docs / med["seconds"]
    med["docs_per_cpu_s"] = docs / med["cpu_seconds"]
    med["runs_seconds"] = [round(r["seconds"], 3) for r in runs]
    for k in ("superfiles", "segments", "version", "appends"):
        if k in runs[0]:
            med[k] = runs[0][k]
    return med


def build_ratio(o, p):
    return {"speed": o["docs_per_s"] / p["docs_per_s"],
            "cpu_speed": o["docs_per_cpu_s"] / p["docs_per_cpu_s"],
            "peak_rss": o["peak_rss_mb"] / p["peak_rss_mb"],
            "peak_rss_anon": o["peak_rss_anon_mb"]
            / max(p["peak_rss_anon_mb"], 1e-9)}


def check_single(shape_queries, ids_by_engine, hists, reader):
    """Oracle check of single-term queries: per engine, the fraction of
    queries whose top 10 carry exactly the 10 highest term frequencies
    (ties broken any way), and ours vs upstream set agreement."""
    out = {}
    for shape in SINGLE:
        qs = shape_queries[shape]
        res = {"queries": len(qs)}
        for e, by_shape in ids_by_engine.items():
            got = by_shape[shape]
            ok = 0
            for q, ids in zip(qs, got):
                term = q["terms"][0]
                if shape == "single_df1":
                    ok += ids == [int(term[1:])]
                    continue
                tfs = sorted((doc_tf(reader, i, term) for i in ids),
                             reverse=True)
                ok += tfs == expected_top_tfs(hists[term])
            res[f"{e}_oracle_ok"] = ok / len(qs)
        if "ours" in ids_by_engine and "upstream" in ids_by_engine:
            a, b = ids_by_engine["ours"][shape], ids_by_engine["upstream"][shape]
            res["ours_upstream_same_set"] = sum(
                set(x) == set(y) for x, y in zip(a, b)) / len(qs)
        out[shape] = res
    return out


def overlap(ids_by_engine, x, y):
    """Mean |top10(x) & top10(y)| / max(len) per shape (1 when both
    are empty)."""
    out = {}
    for shape in ids_by_engine[x]:
        a, b = ids_by_engine[x][shape], ids_by_engine[y][shape]
        vals = [len(set(p) & set(q)) / max(len(p), len(q)) if p or q
                else 1.0 for p, q in zip(a, b)]
        out[shape] = sum(vals) / len(vals)
    return out


def driver(a):
    cfg = dict(MODES[a.mode])
    for k in cfg:
        if getattr(a, k, None):
            cfg[k] = getattr(a, k)
    docs = cfg["docs"]
    for e in ENGINES:
        if not os.access(python_of(e), os.X_OK):
            raise SystemExit(f"{python_of(e)}: missing (make bench installs "
                             f"both venvs)")
    src = common.ensure_dataset(max(docs, common.BATCH_ROWS))
    work = common.WORK_DIR / "fts"
    work.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    df = corpus_df(src, docs)
    pool = pools(df)
    shape_queries = make_queries(pool, docs, cfg["queries"], common.SEED)
    singles = [q["terms"][0] for s in ("single_rare", "single_common")
               for q in shape_queries[s]]
    hists = tf_oracle(src, docs, singles)
    for qs in shape_queries.values():
        for q in qs:
            q["iq"], q["tq"] = infino_query(q), tantivy_query(q)
    qfile = work / "queries.json"
    qfile.write_text(json.dumps(shape_queries))
    log(f"{docs} docs: df, pools and {cfg['queries']} queries per shape in "
        f"{time.perf_counter() - t0:.1f} s")

    pool_info = {p: {"terms": len(v), "df_min": int(df[v].min()),
                     "df_max": int(df[v].max())} for p, v in pool.items()}
    result = {
        "bench": "fts", "mode": a.mode,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": common.machine_info(),
        "ours_build": "the infino package in .venv (make python: "
                      "scikit-build-core, CMake Release)",
        "ours_native_sha256": common.native_sha(),
        "loadavg_start": os.getloadavg(),
        "params": {"docs": docs, "rows": docs, "k": K,
                   "queries_per_shape": cfg["queries"],
                   "passes": cfg["passes"], "rounds": cfg["rounds"],
                   "build_repeat": cfg["build_repeat"], "fanout": FANOUT,
                   "tantivy_heap": TANTIVY_HEAP, "pools": pool_info,
                   "seed": common.SEED},
    }

    # ---- builds: engines alternate; the last build of each is queried
    dirs = {e: work / e for e in ENGINES}
    dirs.update({f"{e}-{FANOUT}": work / f"{e}-{FANOUT}"
                 for e in ("ours", "upstream")})
    builds = {e: [] for e in dirs}
    for rep in range(cfg["build_repeat"]):
        order = ENGINES if rep % 2 == 0 else ENGINES[::-1]
        for e in order:
            r = run_build(e, src, docs, 1, dirs[e])
            builds[e].append(r)
            log(f"build {e}: {r['seconds']:.2f} s (cpu {r['cpu_seconds']:.2f}"
                f" s), peak {r['peak_rss_mb']:.0f} MB (heap "
                f"{r['peak_rss_anon_mb']:.0f} MB)")
    for e in (f"ours-{FANOUT}", f"upstream-{FANOUT}"):
        r = run_build(e, src, docs, FANOUT, dirs[e])
        builds[e].append(r)
        log(f"build {e}: {r['seconds']:.2f} s, {r.get('superfiles')} "
            f"superfiles")
    result["build"] = {e: summarize_build(v) for e, v in builds.items()}
    b = result["build"]
    result["build_ratio"] = {p: build_ratio(b["ours"], b[p])
                             for p in ("upstream", "tantivy")}

    # ---- queries: engines alternate over rounds
    engines_q = list(dirs)
    rounds = {e: [] for e in engines_q}
    ids_by_engine = {}
    for rnd in range(cfg["rounds"]):
        order = engines_q if rnd % 2 == 0 else engines_q[::-1]
        for e in order:
            r = run_query(e, dirs[e], qfile, cfg["passes"],
                          work / f"cache-{e}", rnd == 0)
            rounds[e].append(r)
            if rnd == 0:
                ids_by_engine[e] = {s: r["shapes"][s].pop("ids")
                                    for s in SHAPES}
            log(f"query round {rnd} {e}: " + ", ".join(
                f"{s} {pct(r['shapes'][s]['lat_us'], 50):.0f}"
                for s in SHAPES) + " us")
    shapes = []
    for s in SHAPES:
        entry = {"shape": s, "engines": {}}
        for e in engines_q:
            rs = [r["shapes"][s] for r in rounds[e]]
            entry["engines"][e] = {
                "p50_us": common.median([pct(x["lat_us"], 50) for x in rs]),
                "p99_us": common.median([pct(x["lat_us"], 99) for x in rs]),
                "cpu_p50_us": common.median([pct(x["cpu_us"], 50)
                                             for x in rs]),
                "cpu_p99_us": common.median([pct(x["cpu_us"], 99)
                                             for x in rs]),
                "mean_hits": rs[0]["mean_hits"],
                "samples": len(rs[0]["lat_us"]),
            }
        o = entry["engines"]["ours"]
        entry["ratio"] = {p: {"p50": o["p50_us"] / entry["engines"][p]["p50_us"],
                              "p99": o["p99_us"] / entry["engines"][p]["p99_us"],
                              "cpu_p50": o["cpu_p50_us"]
                              / entry["engines"][p]["cpu_p50_us"]}
                          for p in ("upstream", "tantivy")}
        fo, fu = (entry["engines"][f"ours-{FANOUT}"],
                  entry["engines"][f"upstream-{FANOUT}"])
        entry["ratio"][f"upstream-{FANOUT}"] = {
            "p50": fo["p50_us"] / fu["p50_us"],
            "p99": fo["p99_us"] / fu["p99_us"],
            "cpu_p50": fo["cpu_p50_us"] / fu["cpu_p50_us"]}
        shapes.append(entry)
    result["shapes"] = shapes
    result["query_rss"] = {e: {"peak_rss_mb": common.median(
        [r["peak_rss_mb"] for r in rounds[e]]),
        "peak_rss_anon_mb": common.median(
        [r["peak_rss_anon_mb"] for r in rounds[e]])} for e in engines_q}

    import pyarrow as pa

    reader = pa.ipc.open_file(pa.memory_map(str(src)))
    result["correctness"] = {
        "single_term_oracle": check_single(
            shape_queries, {e: ids_by_engine[e] for e in ENGINES}, hists,
            reader),
        "top10_overlap_ours_upstream": overlap(ids_by_engine, "ours",
                                               "upstream"),
        "top10_overlap_ours_tantivy": overlap(ids_by_engine, "ours",
                                              "tantivy"),
        "top10_overlap_ours_1_vs_20_superfiles": overlap(
            ids_by_engine, "ours", f"ours-{FANOUT}"),
    }
    result["cases"] = flat_cases(result)
    if not a.keep:
        for d in list(dirs.values()) + [work / f"cache-{e}" for e in dirs]:
            shutil.rmtree(d, ignore_errors=True)
    common.note_run_end(result, log)
    text = json.dumps(result, indent=1)
    if a.out:
        pathlib.Path(a.out).write_text(text + "\n")
    else:
        print(text)


def flat_cases(result):
    """The comparisons as the harness's generic case records (compare.py):
    build vs each peer, then each shape's warm p50 vs each peer. For queries
    "rows_per_s" is queries per second at the p50 latency."""
    cases = []
    b = result["build"]
    for p in ("upstream", "tantivy"):
        cases.append({"op": f"build vs {p}", "peer": p,
                      "engines": {"ours": dict(b["ours"],
                                               rows_per_s=b["ours"]["docs_per_s"]),
                                  p: dict(b[p], rows_per_s=b[p]["docs_per_s"])},
                      "ratio": result["build_ratio"][p]})
    q = result["query_rss"]
    for s in result["shapes"]:
        for p in ("upstream", "tantivy"):
            o, x = s["engines"]["ours"], s["engines"][p]
            cases.append({
                "op": f"{s['shape']} vs {p}", "peer": p,
                "engines": {"ours": dict(o, rows_per_s=1e6 / o["p50_us"]),
                            p: dict(x, rows_per_s=1e6 / x["p50_us"])},
                "ratio": {"speed": x["p50_us"] / o["p50_us"],
                          "cpu_speed": x["cpu_p50_us"] / o["cpu_p50_us"],
                          "peak_rss": q["ours"]["peak_rss_mb"]
                          / q[p]["peak_rss_mb"],
                          "peak_rss_anon": q["ours"]["peak_rss_anon_mb"]
                          / max(q[p]["peak_rss_anon_mb"], 1e-9)}})
    return cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=list(MODES), default="quick")
    ap.add_argument("--docs", type=int)
    ap.add_argument("--queries", type=int)
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--passes", type=int)
    ap.add_argument("--build-repeat", dest="build_repeat", type=int)
    ap.add_argument("--out")
    ap.add_argument("--keep", action="store_true",
                    help="keep the indexes in bench/scratch/fts")
    ap.add_argument("--worker", choices=["build", "query"])
    ap.add_argument("--engine")
    ap.add_argument("--src")
    ap.add_argument("--dir")
    ap.add_argument("--appends", type=int, default=1)
    ap.add_argument("--queries-file", dest="queries_file")
    ap.add_argument("--cache")
    ap.add_argument("--ids", action="store_true")
    a = ap.parse_args()
    if a.worker == "build":
        build_worker(a)
    elif a.worker == "query":
        query_worker(a)
    else:
        driver(a)


if __name__ == "__main__":
    main()
