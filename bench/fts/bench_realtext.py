#!/usr/bin/env python3
"""BM25 on real English prose: ours vs upstream infino 0.11.0 vs tantivy.

The corpus (bench/fts/realtext_corpus.py) is made at bench time from the
manual pages, GNU info manuals, the Python manual and the Debian Reference
installed on this machine: sections cut into documents of a few words to
a few thousand, ASCII-folded so that the three analyzers see the same
tokens. Quick mode indexes every second document, full mode all of them.

Every engine indexes `body` with positions (phrases):
- ours:     IndexSpec().fts("body", positions=True) (analyzer "standard",
            the default), one append (one superfile);
- upstream: the same call on upstream infino 0.11.0 (its default analyzer
            is the same UAX #29 "standard"), body as pa.large_string();
- tantivy:  one text field, default tokenizer, index_option "position", a
            stored u64 row, one indexing thread, 128 MB writer heap, one
            commit.

Queries are drawn (seeded) from the corpus's own section headings: heading
words by document frequency for single terms, a run of 2 or 3 consecutive
words of one heading for the multi-term and phrase shapes:
  single_rare    one heading word of df 2..max(10, N/10000)
  single_mid     one heading word of df N/1000..N/100
  single_common  one of the 50 highest-df heading words
  two_or, three_or     2 / 3 consecutive heading words, mode="or"
  two_and, three_and   the same, mode="and" (tantivy: "+a +b")
  phrase_two, phrase_three   the same words quoted as a phrase
k = 10, default projection (_id, score); tantivy search(parse_query(q),
10, count=False), the parse inside the timed call as for the infinos.
Workers of the three engines alternate over rounds; each runs every query
once (warm-up) and then `passes` timed passes per shape; the driver
reports the median over rounds of each round's p50 and p99.

Agreement: top-10 overlap ours/upstream and ours/tantivy per shape, score
agreement ours/upstream, and ours against a brute-force BM25 in numpy
(the formula of docs in fts.h: sum over query terms of idf * tf / (tf +
k1 * (1 - b + b * dl / avgdl)), k1 1.2, b 0.75, idf = ln(1 + (N - df +
0.5) / (df + 0.5)); a phrase scores as its tokens with the phrase count as
tf) on a sample of queries per shape: a query agrees when the returned
scores equal the oracle's top-10 scores rank by rank and every returned
id has the oracle score it was given (ties may be broken either way),
within a relative 1e-5 for ours and 1e-3 for upstream, whose scores differ
from the formula by about 1e-4 relative).

usage: bench_realtext.py --mode quick|full [--docs N] [--queries Q]
           [--rounds R] [--passes P] [--build-repeat B] [--out FILE]
           [--ours-path DIR] [--keep]
"""
from __future__ import annotations

import argparse
import collections
import datetime
import json
import math
import os
import pathlib
import shutil
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
import common  # noqa: E402
from common import pct  # noqa: E402

ENGINES = ("ours", "upstream", "tantivy")
SHAPES = ("single_rare", "single_mid", "single_common", "two_or",
          "three_or", "two_and", "three_and", "phrase_two", "phrase_three")
MODES = {"quick": {"every": 2, "queries": 200, "rounds": 2, "passes": 2,
                   "build_repeat": 2, "oracle_sample": 25},
         "full": {"every": 1, "queries": 200, "rounds": 3, "passes": 2,
                  "build_repeat": 2, "oracle_sample": 25}}
K = 10
K1, B = 1.2, 0.75
ORACLE_REL = 1e-5     # ours vs the numpy oracle (same formula, float32)
SCORE_REL = 1e-3      # upstream: its scores differ from the formula by
                      # ~1e-4 relative (seen on a 3-doc table)
TANTIVY_HEAP = 128_000_000


def log(*m):
    print("realtext:", *m, file=sys.stderr, flush=True)


def python_of(engine):
    if engine == "ours":
        return str(common.ROOT / ".venv" / "bin" / "python")
    return str(common.BENCH_DIR / ".venv" / "bin" / "python")


def env_of(engine, ours_path):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if engine == "ours" and ours_path:
        env["PYTHONPATH"] = str(ours_path)
    return env


# ---- corpus analysis (driver) ---------------------------------------------------

def analyse(table):
    """dl per doc and df per token of `table` (doc_id, body)."""
    import numpy as np
    from realtext_corpus import tokens

    bodies = table.column("body").to_pylist()
    dl = np.zeros(len(bodies), dtype=np.int64)
    df = collections.Counter()
    for i, b in enumerate(bodies):
        t = tokens(b)
        dl[i] = len(t)
        df.update(set(t))
    return dl, df


def heading_runs(headings):
    """Distinct token lists of the headings (alphabetic tokens only; leading
    section numbers and words of one letter dropped)."""
    from realtext_corpus import tokens

    out = set()
    for h in headings:
        t = [w for w in tokens(h) if w.isalpha() and len(w) > 1]
        if t:
            out.add(tuple(t))
    return sorted(out)


def make_queries(runs, df, n_docs, n, seed):
    import numpy as np

    rng = np.random.default_rng([seed, 0x7E47])
    words = sorted({w for r in runs for w in r if df.get(w, 0) >= 2})
    by_df = sorted(words, key=lambda w: (-df[w], w))
    rare_max = max(10, n_docs // 10000)
    pools = {"common": by_df[:50],
             "mid": [w for w in words
                     if n_docs // 1000 <= df[w] <= n_docs // 100],
             "rare": [w for w in words if 2 <= df[w] <= rare_max]}

    def windows(m):
        ws = set()
        for r in runs:
            for i in range(len(r) - m + 1):
                w = r[i:i + m]
                if len(set(w)) == m:
                    ws.add(w)
        return sorted(ws)

    win = {2: windows(2), 3: windows(3)}
    out = {}
    for shape in SHAPES:
        if shape.startswith("single_"):
            pool = pools[shape[7:]]
            idx = rng.choice(len(pool), size=n, replace=len(pool) < n)
            cand = [[pool[i]] for i in idx]
        else:
            m = 2 if "two" in shape else 3
            idx = rng.choice(len(win[m]), size=n, replace=len(win[m]) < n)
            cand = [list(win[m][i]) for i in idx]
        qs = []
        for terms in cand:
            mode = "and" if shape.endswith("_and") else "or"
            phrase = shape.startswith("phrase")
            if phrase:
                iq = '"' + " ".join(terms) + '"'
                tq = iq
            else:
                iq = " ".join(terms)
                tq = " ".join(("+" + t if mode == "and" else t)
                              for t in terms)
            qs.append({"terms": terms, "mode": mode, "phrase": phrase,
                       "iq": iq, "tq": tq})
        out[shape] = qs
    info = {p: {"terms": len(v), "df_min": int(min(df[w] for w in v)),
                "df_max": int(max(df[w] for w in v))}
            for p, v in pools.items() if v}
    info["heading_runs"] = len(runs)
    info["windows"] = {str(m): len(v) for m, v in win.items()}
    return out, info


# ---- brute-force BM25 (driver) --------------------------------------------------

def oracle_topk(table, dl, df, queries, k=K):
    """For each query: the scores (float32) of every matching doc, top k
    and the full map {row: score}, by one pass over the corpus."""
    import numpy as np
    from realtext_corpus import tokens

    need = sorted({t for q in queries for t in q["terms"]})
    phrases = sorted({tuple(q["terms"]) for q in queries if q["phrase"]})
    tf = {t: {} for t in need}
    pf = {p: {} for p in phrases}
    bodies = table.column("body").to_pylist()
    for row, b in enumerate(bodies):
        toks = tokens(b)
        s = set(toks)
        for t in need:
            if t in s:
                tf[t][row] = toks.count(t)
        for p in phrases:
            if all(t in s for t in p):
                m = len(p)
                c = sum(1 for i in range(len(toks) - m + 1)
                        if tuple(toks[i:i + m]) == p)
                if c:
                    pf[p][row] = c
    n = len(bodies)
    avgdl = float(dl.sum()) / n
    norm = K1 * (1 - B + B * dl / avgdl)

    def idf(t):
        d = df.get(t, 0)
        return math.log(1.0 + (n - d + 0.5) / (d + 0.5))

    out = []
    for q in queries:
        acc = collections.defaultdict(float)
        if q["phrase"]:
            p = tuple(q["terms"])
            w = sum(idf(t) for t in p)
            for row, c in pf[p].items():
                acc[row] += w * c / (c + norm[row])
        else:
            counts = collections.Counter(q["terms"])
            rows = None
            for t, m in counts.items():
                w = m * idf(t)
                for row, c in tf[t].items():
                    acc[row] += w * c / (c + norm[row])
                if q["mode"] == "and":
                    rows = (set(tf[t]) if rows is None
                            else rows & set(tf[t]))
            if q["mode"] == "and":
                acc = {r: v for r, v in acc.items() if r in rows}
        sc = {r: float(np.float32(v)) for r, v in acc.items()}
        top = sorted(sc.values(), reverse=True)[:k]
        out.append({"top": top, "scores": sc})
    return out


def close(a, b, rel=1e-5):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-12)


def check_oracle(result, oracle, rel):
    """(ids, scores) of an engine vs the oracle: agreement as in the module
    doc string, within relative tolerance `rel`."""
    ids, scores = result
    if len(scores) != len(oracle["top"]):
        return False
    if not all(close(x, y, rel) for x, y in zip(scores, oracle["top"])):
        return False
    return all(close(oracle["scores"].get(i, -1.0), s, rel)
               for i, s in zip(ids, scores))


def max_rel_diff(result, oracle):
    """Largest relative difference between a returned score and the
    oracle's score of the same doc (None when nothing was returned)."""
    ids, scores = result
    d = [abs(s - oracle["scores"].get(i, 0.0)) / max(abs(s), 1e-12)
         for i, s in zip(ids, scores)]
    return max(d) if d else None


# ---- workers ------------------------------------------------------------------------

def import_infino(engine):
    import infino

    if hasattr(infino, "_native") != (engine == "ours"):
        raise SystemExit(f"{engine}: imported the wrong infino "
                         f"({infino.__file__})")
    return infino


def input_table(src):
    import pyarrow as pa

    return pa.ipc.open_file(pa.memory_map(src)).read_all()


def count_files(path, suffix):
    return sum(1 for _, _, fs in os.walk(path) for f in fs
               if f.endswith(suffix))


def build_worker(a):
    from common_rss import RssSampler

    table = input_table(a.src)
    n = table.num_rows
    meter = common.Meter()
    extra = {}
    if a.engine == "tantivy":
        import tantivy

        sb = tantivy.SchemaBuilder()
        sb.add_text_field("body", stored=False, tokenizer_name="default",
                          index_option="position")
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
        with RssSampler() as s:
            meter.start()
            t = db.create_table("docs", table.schema,
                                infino.IndexSpec().fts("body",
                                                       positions=True))
            t.append(table)
            r = meter.stop()
        extra["superfiles"] = count_files(a.dir, ".parquet")
        version = getattr(infino, "__version__", "?")
        if a.engine == "ours":
            extra["n_docs"] = t.count_rows()
            extra["native"] = common.where(infino._native.__file__)
        else:
            extra["n_docs"] = db.query_sql(
                "SELECT count(*) FROM docs").column(0)[0].as_py()
    if extra["n_docs"] != n:
        raise SystemExit(f"{a.engine}: index holds {extra['n_docs']} docs, "
                         f"built {n}")
    r.update(s.result())
    r.update(extra)
    r.update({"engine": a.engine, "docs": n, "disk_bytes": common.du(a.dir),
              "version": version})
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
            return ([searcher.doc(addr)["row"][0] for _, addr in res.hits],
                    [float(s) for s, _ in res.hits])

        def n_hits(res):
            return len(res.hits)
    else:
        infino = import_infino(a.engine)
        kw = {}
        if a.engine == "upstream":
            kw["cache_dir"] = a.cache      # upstream's warm path
        table = infino.connect(a.dir, **kw).open_table("docs")

        def run(q):
            return table.bm25_search("body", q["iq"], K, mode=q["mode"])

        def ids(q):
            res = table.bm25_search("body", q["iq"], K, mode=q["mode"],
                                    projection=["doc_id", "score"])
            return (res.column("doc_id").to_pylist(),
                    res.column("score").to_pylist())

        def n_hits(res):
            return res.num_rows
    out = {"engine": a.engine, "shapes": {}}
    with RssSampler() as s:
        for shape in SHAPES:
            for q in queries[shape]:
                run(q)
        for shape in SHAPES:
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
            d = {"lat_us": lat, "cpu_us": cpu, "mean_hits": hits / len(lat)}
            if a.ids:
                d["ids"] = [ids(q) for q in qs]
            out["shapes"][shape] = d
    out.update(s.result())
    out["peak_rss_mb"] = common.peak_rss_kb() / 1024.0
    print(json.dumps(out), flush=True)


# ---- driver ---------------------------------------------------------------------------

def run_build(engine, src, d, ours_path):
    shutil.rmtree(d, ignore_errors=True)
    return common.run_worker([python_of(engine), __file__, "--worker",
                              "build", "--engine", engine, "--src", str(src),
                              "--dir", str(d)],
                             env=env_of(engine, ours_path))


def run_query(engine, d, qfile, passes, cache, want_ids, ours_path):
    argv = [python_of(engine), __file__, "--worker", "query", "--engine",
            engine, "--dir", str(d), "--queries-file", str(qfile),
            "--passes", str(passes), "--cache", str(cache)]
    if want_ids:
        argv.append("--ids")
    return common.run_worker(argv, env=env_of(engine, ours_path))


def summarize_build(runs):
    med = {k: common.median([r[k] for r in runs])
           for k in ("seconds", "cpu_seconds", "peak_rss_mb",
                     "peak_rss_anon_mb", "rss_before_mb", "disk_bytes")}
    docs = runs[0]["docs"]
    med["docs"] = docs
    med["docs_per_s"] = docs / med["seconds"]
    med["docs_per_cpu_s"] = docs / med["cpu_seconds"]
    med["runs_seconds"] = [round(r["seconds"], 3) for r in runs]
    for k in ("superfiles", "segments", "version", "native"):
        if k in runs[0]:
            med[k] = runs[0][k]
    return med


def overlap(a, b):
    vals = [len(set(p[0]) & set(q[0])) / max(len(p[0]), len(q[0]))
            if p[0] or q[0] else 1.0 for p, q in zip(a, b)]
    return sum(vals) / len(vals)


def score_agreement(a, b, rel):
    """Fraction of queries whose score lists agree rank by rank within
    relative tolerance `rel`, and the largest relative difference of two
    scores at the same rank over all queries."""
    ok, worst = 0, 0.0
    for p, q in zip(a, b):
        ok += len(p[1]) == len(q[1]) and all(close(x, y, rel) for x, y in
                                              zip(p[1], q[1]))
        for x, y in zip(p[1], q[1]):
            worst = max(worst, abs(x - y) / max(abs(x), abs(y), 1e-12))
    return ok / len(a), worst


def subset_file(path, every, key):
    """The input of the engines: doc_id and body of every `every`-th doc,
    written once as an Arrow IPC file (the workers memory-map it)."""
    import pyarrow as pa

    out = path.parent / f"input-{key}-every{every}.arrow"
    if not out.exists():
        t = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
        t = t.select(["doc_id", "body"])
        if every > 1:
            ids = t.column("doc_id").to_numpy()
            t = t.filter(pa.array(ids % every == 0))
            t = pa.table({"doc_id": pa.array(range(t.num_rows),
                                             pa.int64()),
                          "body": t.column("body")})
        tmp = out.with_suffix(".tmp")
        with pa.OSFile(str(tmp), "wb") as f:
            with pa.ipc.new_file(f, t.schema) as w:
                w.write_table(t, max_chunksize=common.BATCH_ROWS)
        os.replace(tmp, out)
    return out


def corpus_summary(table, dl, df, stats, every):
    import numpy as np

    return {
        "source": "man pages, GNU info manuals, Python manual, Debian "
                  "Reference installed on the machine (realtext_corpus.py)",
        "corpus_key": stats["key"], "corpus_docs": stats["docs"],
        "corpus_tokens": stats["tokens"],
        "corpus_vocabulary": stats["vocabulary"],
        "corpus_sources": stats["sources"],
        "corpus_skipped": stats["skipped"],
        "every": every, "docs": table.num_rows, "tokens": int(dl.sum()),
        "vocabulary": len(df),
        "hapax": sum(1 for v in df.values() if v == 1),
        "body_mb": table.column("body").nbytes / 1e6,
        "length_tokens": {"min": int(dl.min()), "mean": float(dl.mean()),
                          "p10": int(np.percentile(dl, 10)),
                          "p50": int(np.percentile(dl, 50)),
                          "p90": int(np.percentile(dl, 90)),
                          "p99": int(np.percentile(dl, 99)),
                          "max": int(dl.max())},
        "length_histogram": {f"{lo}-{hi - 1}" if hi < 10**9 else f"{lo}+":
                             int(((dl >= lo) & (dl < hi)).sum())
                             for lo, hi in ((1, 10), (10, 30), (30, 100),
                                            (100, 300), (300, 1000),
                                            (1000, 3000), (3000, 10**9))},
        "distinct_headings": stats["distinct_headings"],
    }


def driver(a):
    import pyarrow as pa

    import realtext_corpus

    cfg = dict(MODES[a.mode])
    for k in cfg:
        if getattr(a, k, None):
            cfg[k] = getattr(a, k)
    for e in ENGINES:
        if not os.access(python_of(e), os.X_OK):
            raise SystemExit(f"{python_of(e)}: missing")
    t0 = time.perf_counter()
    path, stats = realtext_corpus.build(log=log)
    src = subset_file(path, cfg["every"], stats["key"])
    table = pa.ipc.open_file(pa.memory_map(str(src))).read_all()
    dl, df = analyse(table)
    n = table.num_rows
    runs = heading_runs(stats["headings"])
    shape_queries, pool_info = make_queries(runs, df, n, cfg["queries"],
                                            common.SEED)
    work = common.WORK_DIR / "realtext"
    qfile = work / f"queries-{a.mode}.json"
    qfile.write_text(json.dumps(shape_queries))
    corpus = corpus_summary(table, dl, df, stats, cfg["every"])
    log(f"{n:,} docs, {corpus['tokens']:,} tokens, vocabulary "
        f"{corpus['vocabulary']:,}; queries in "
        f"{time.perf_counter() - t0:.0f} s")

    result = {
        "bench": "realtext", "mode": a.mode,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": common.machine_info(),
        "ours_build": ("the infino package on PYTHONPATH="
                       f"{common.where(a.ours_path)}" if a.ours_path else
                       "the infino package in .venv"),
        "loadavg_start": os.getloadavg(),
        "corpus": corpus,
        "params": {"docs": n, "k": K, "queries_per_shape": cfg["queries"],
                   "passes": cfg["passes"], "rounds": cfg["rounds"],
                   "build_repeat": cfg["build_repeat"],
                   "oracle_sample": cfg["oracle_sample"],
                   "tantivy_heap": TANTIVY_HEAP, "pools": pool_info,
                   "seed": common.SEED, "k1": K1, "b": B},
        "examples": {s: [q["iq"] for q in shape_queries[s][:5]]
                     for s in SHAPES},
    }

    dirs = {e: work / e for e in ENGINES}
    builds = {e: [] for e in ENGINES}
    for rep in range(cfg["build_repeat"]):
        order = ENGINES if rep % 2 == 0 else ENGINES[::-1]
        for e in order:
            r = run_build(e, src, dirs[e], a.ours_path)
            builds[e].append(r)
            log(f"build {e}: {r['seconds']:.2f} s (cpu "
                f"{r['cpu_seconds']:.2f} s), peak {r['peak_rss_mb']:.0f} MB "
                f"(heap {r['peak_rss_anon_mb']:.0f} MB), "
                f"{r['disk_bytes'] / 1e6:.0f} MB on disk")
    result["build"] = {e: summarize_build(v) for e, v in builds.items()}
    b = result["build"]
    result["build_ratio"] = {
        p: {"speed": b["ours"]["docs_per_s"] / b[p]["docs_per_s"],
            "cpu_speed": b["ours"]["docs_per_cpu_s"] / b[p]["docs_per_cpu_s"],
            "peak_rss": b["ours"]["peak_rss_mb"] / b[p]["peak_rss_mb"],
            "peak_rss_anon": b["ours"]["peak_rss_anon_mb"]
            / max(b[p]["peak_rss_anon_mb"], 1e-9)}
        for p in ("upstream", "tantivy")}

    rounds = {e: [] for e in ENGINES}
    got = {}
    for rnd in range(cfg["rounds"]):
        order = ENGINES if rnd % 2 == 0 else ENGINES[::-1]
        for e in order:
            r = run_query(e, dirs[e], qfile, cfg["passes"],
                          work / f"cache-{e}", rnd == 0, a.ours_path)
            rounds[e].append(r)
            if rnd == 0:
                got[e] = {s: r["shapes"][s].pop("ids") for s in SHAPES}
            log(f"query round {rnd} {e}: " + ", ".join(
                f"{s} {pct(r['shapes'][s]['lat_us'], 50):.0f}"
                for s in SHAPES) + " us")
    shapes = []
    for s in SHAPES:
        entry = {"shape": s, "engines": {}}
        for e in ENGINES:
            rs = [r["shapes"][s] for r in rounds[e]]
            entry["engines"][e] = {
                "p50_us": common.median([pct(x["lat_us"], 50) for x in rs]),
                "p99_us": common.median([pct(x["lat_us"], 99) for x in rs]),
                "cpu_p50_us": common.median([pct(x["cpu_us"], 50)
                                             for x in rs]),
                "mean_hits": rs[0]["mean_hits"],
                "samples": len(rs[0]["lat_us"]),
                "rounds_p50_us": [round(pct(x["lat_us"], 50), 1)
                                  for x in rs]}
        o = entry["engines"]["ours"]
        entry["ratio"] = {p: {"p50": o["p50_us"] / entry["engines"][p]["p50_us"],
                              "p99": o["p99_us"] / entry["engines"][p]["p99_us"],
                              "cpu_p50": o["cpu_p50_us"]
                              / entry["engines"][p]["cpu_p50_us"]}
                          for p in ("upstream", "tantivy")}
        entry["overlap_ours_upstream"] = overlap(got["ours"][s],
                                                 got["upstream"][s])
        entry["overlap_ours_tantivy"] = overlap(got["ours"][s],
                                                got["tantivy"][s])
        (entry["scores_ours_upstream"],
         entry["scores_ours_upstream_max_rel_diff"]) = score_agreement(
             got["ours"][s], got["upstream"][s], SCORE_REL)
        shapes.append(entry)
    result["shapes"] = shapes
    result["query_rss"] = {e: {"peak_rss_mb": common.median(
        [r["peak_rss_mb"] for r in rounds[e]]),
        "peak_rss_anon_mb": common.median(
        [r["peak_rss_anon_mb"] for r in rounds[e]])} for e in ENGINES}

    # brute-force BM25 on a sample of each shape's queries
    t1 = time.perf_counter()
    m = cfg["oracle_sample"]
    sample = [(s, i) for s in SHAPES for i in range(min(m,
                                                       cfg["queries"]))]
    orc = oracle_topk(table, dl, df,
                      [shape_queries[s][i] for s, i in sample])
    agree = {}
    for (s, i), o in zip(sample, orc):
        d = agree.setdefault(s, {"queries": 0, "ours": 0, "upstream": 0,
                                 "ours_max_rel_diff": 0.0,
                                 "upstream_max_rel_diff": 0.0})
        d["queries"] += 1
        for e in ("ours", "upstream"):
            d[e] += check_oracle(got[e][s][i], o,
                                 ORACLE_REL if e == "ours" else SCORE_REL)
            x = max_rel_diff(got[e][s][i], o)
            if x is not None:
                d[f"{e}_max_rel_diff"] = max(d[f"{e}_max_rel_diff"], x)
    result["oracle"] = {s: dict(d, ours=d["ours"] / d["queries"],
                                upstream=d["upstream"] / d["queries"])
                        for s, d in agree.items()}
    log(f"oracle: {len(sample)} queries in {time.perf_counter() - t1:.0f} s: "
        + ", ".join(f"{s} ours {v['ours']:.2f} upstream {v['upstream']:.2f}"
                    for s, v in result["oracle"].items()))
    if not a.keep:
        for e in ENGINES:
            shutil.rmtree(dirs[e], ignore_errors=True)
            shutil.rmtree(work / f"cache-{e}", ignore_errors=True)
    result["loadavg_end"] = os.getloadavg()
    text = json.dumps(result, indent=1)
    if a.out:
        pathlib.Path(a.out).write_text(text + "\n")
    else:
        print(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=list(MODES), default="quick")
    ap.add_argument("--every", type=int)
    ap.add_argument("--queries", type=int)
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--passes", type=int)
    ap.add_argument("--build-repeat", dest="build_repeat", type=int)
    ap.add_argument("--oracle-sample", dest="oracle_sample", type=int)
    ap.add_argument("--out")
    ap.add_argument("--ours-path", dest="ours_path",
                    help="a folder holding our infino package (e.g. the "
                         "output of scripts/dev-python.sh), put on "
                         "PYTHONPATH of our workers instead of .venv's")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--worker", choices=["build", "query"])
    ap.add_argument("--engine")
    ap.add_argument("--src")
    ap.add_argument("--dir")
    ap.add_argument("--queries-file", dest="queries_file")
    ap.add_argument("--cache")
    ap.add_argument("--ids", action="store_true")
    a = ap.parse_args()
    if a.ours_path:
        a.ours_path = str(pathlib.Path(a.ours_path).resolve())
    if a.worker == "build":
        build_worker(a)
    elif a.worker == "query":
        query_worker(a)
    else:
        driver(a)


if __name__ == "__main__":
    main()
