#!/usr/bin/env python3
"""Search cost against the number of superfiles (issue 16, deliverable 1).

The same rows are written as 1, 10 and 100 superfiles (one append of N
rows, or n appends of N/n rows, no optimize, auto-compaction off), and
every layout answers the same queries. A layout written with an `a`
suffix ("100a") makes the same appends with auto-compaction at its
default (on since issue 16 item 2): the table a user gets from n appends. The reference is our own one-superfile layout: the target is
100 superfiles within 1.5x of it at equal recall, for vector search and for
every BM25 shape. Peers are not involved (bench_vector.py and bench_fts.py
compare with upstream, tantivy and faiss); the ratio that matters here is
between layouts of ours, measured side by side in one run.

Data: the seed data set (bench/common.py; quick 100K rows): doc_id, body
(Zipf text, 201 tokens) and embedding (384-d Gaussian clusters, 1024
planted centres). Per layout one database with three tables:
  vl2   doc_id, embedding   vector("embedding", 384, nlist, "l2sq")
  vcos  doc_id, embedding   vector("embedding", 384, nlist, "cosine")
  fts   doc_id, body        fts("body")
nlist = 1024 by default (issue 16's measurement); each superfile clamps it
to its own size (about 4 sqrt(rows): 126 clusters for 1,000 rows).

Vector queries: `queries` held-out points of the same law (numpy float32,
k = 10, default projection), swept over nprobe 1..32 and the default;
recall@10 against exact k-NN (numpy, float64) per metric, from a separate
pass projecting doc_id. BM25 queries: bench_fts.py's eleven shapes (its
pools and seeded generator, k = 10), default projection; a separate pass
projecting (doc_id, score) checks that every layout returns the same ids
with bit-identical scores as the one-superfile layout.

Timing: each layout is queried by its own process (warm-up pass, then
`passes` timed passes per point); layouts alternate over `rounds` rounds;
the report takes the median over rounds of each round's p50 and p95 (wall
time per call from Python, as a user sees it).

usage: many_superfiles.py [--rows N] [--layouts 1,10,100] [--queries Q]
           [--rounds R] [--passes P] [--nlist C] [--only vector,fts]
           [--label TEXT] [--out FILE] [--keep] [--reuse]
Run it with the package under test importable, e.g.
  PYTHONPATH=build-py/pkg .venv/bin/python bench/vector/many_superfiles.py
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
sys.path.insert(0, str(HERE.parent / "fts"))
import common  # noqa: E402
from common import pct  # noqa: E402

DIM = common.DIM
K = 10
NPROBES = (1, 2, 4, 8, 16, 32)
METRICS = ("l2sq", "cosine")
TABLE_OF = {"l2sq": "vl2", "cosine": "vcos"}


def log(*m):
    print("manysf:", *m, file=sys.stderr, flush=True)


# ---- workers ----------------------------------------------------------------

def import_ours():
    import infino

    if not hasattr(infino, "_native"):
        raise SystemExit(f"imported another infino ({infino.__file__})")
    return infino


def appends_of(layout):
    """The number of appends a layout ("100" or "100a") makes."""
    return int(str(layout).rstrip("a"))


def pieces(table, n):
    return [table.slice(i * len(table) // n,
                        (i + 1) * len(table) // n - i * len(table) // n)
            for i in range(n)]


def build_worker(a):
    import pyarrow as pa

    infino = import_ours()
    src = pa.ipc.open_file(pa.memory_map(a.src)).read_all().slice(0, a.rows)
    # layout "n" is n appends with auto-compaction off, "na" n appends
    # with the default policy
    db = infino.connect(a.dir, auto_compact=a.superfiles.endswith("a"))
    out = {"layout": a.superfiles, "tables": {}}
    specs = {"vl2": (["doc_id", "embedding"], infino.IndexSpec().vector(
                 "embedding", DIM, a.nlist, "l2sq")),
             "vcos": (["doc_id", "embedding"], infino.IndexSpec().vector(
                 "embedding", DIM, a.nlist, "cosine")),
             "fts": (["doc_id", "body"], infino.IndexSpec().fts("body"))}
    for name in a.tables.split(","):
        cols, spec = specs[name]
        t_in = src.select(cols)
        t0 = time.perf_counter()
        t = db.create_table(name, t_in.schema, spec)
        for p in pieces(t_in, appends_of(a.superfiles)):
            t.append(p)
        secs = time.perf_counter() - t0
        # the live superfiles (merged-away files stay on disk until gc)
        n_sf = t.check().n_superfiles
        if t.count_rows() != a.rows:
            raise SystemExit(f"{name}: {t.count_rows()} rows, wrote {a.rows}")
        out["tables"][name] = {"seconds": secs, "superfiles": n_sf}
    print(json.dumps(out), flush=True)


def timed(fn, items, passes):
    """Warm-up pass, then `passes` timed passes: wall us per call."""
    pc = time.perf_counter_ns
    for it in items:
        fn(it)
    lat = []
    for _ in range(passes):
        for it in items:
            t0 = pc()
            fn(it)
            lat.append((pc() - t0) / 1e3)
    return lat


def query_worker(a):
    import numpy as np

    infino = import_ours()
    db = infino.connect(a.dir)
    out = {"layout": a.superfiles, "vector": {}, "fts": {}}
    if "vector" in a.only:
        qs = np.load(a.queries_file).astype(np.float32)
        items = [np.ascontiguousarray(q) for q in qs]
        for metric in METRICS:
            t = db.open_table(TABLE_OF[metric])
            pts = []
            for nprobe in list(NPROBES) + [None]:
                kw = {} if nprobe is None else {"nprobe": nprobe}
                lat = timed(lambda q: t.vector_search("embedding", q, K, **kw),
                            items, a.passes)
                ids = [[int(x[4:]) for x in t.vector_search(
                    "embedding", q, K, projection=["doc_id"], **kw)
                    .column("doc_id").to_pylist()] for q in items]
                pts.append({"nprobe": "default" if nprobe is None else nprobe,
                            "lat_us": lat, "ids": ids})
            out["vector"][metric] = pts
    if "fts" in a.only:
        shapes = json.loads(pathlib.Path(a.fts_queries).read_text())
        t = db.open_table("fts")
        for shape, qs in shapes.items():
            lat = timed(lambda q: t.bm25_search("body", q["iq"], K,
                                                mode=q["mode"]),
                        qs, a.passes)
            res = []
            for q in qs:
                r = t.bm25_search("body", q["iq"], K, mode=q["mode"],
                                  projection=["doc_id", "score"])
                # scores as float32 bit patterns: identity, not closeness
                sc = np.asarray(r.column("score").to_numpy(),
                                dtype=np.float32).view(np.uint32)
                res.append([[int(x[4:]) for x in
                             r.column("doc_id").to_pylist()],
                            [int(s) for s in sc]])
            out["fts"][shape] = {"lat_us": lat, "results": res}
    print(json.dumps(out), flush=True)


# ---- driver -----------------------------------------------------------------

def exact_knn(base, queries, metric, k=K):
    """Exact top-k row numbers per query (float64)."""
    import numpy as np

    q = queries.astype(np.float64)
    out = []
    step = 20_000
    best = None
    for s in range(0, len(base), step):
        x = np.asarray(base[s:s + step], dtype=np.float64)
        if metric == "cosine":
            xn = x / np.linalg.norm(x, axis=1, keepdims=True)
            qn = q / np.linalg.norm(q, axis=1, keepdims=True)
            d = 1.0 - qn @ xn.T
        else:
            d = ((q * q).sum(1)[:, None] - 2 * q @ x.T
                 + (x * x).sum(1)[None, :])
        ids = np.broadcast_to(np.arange(s, s + len(x)), d.shape)
        if best is not None:
            d = np.concatenate([best[0], d], axis=1)
            ids = np.concatenate([best[1], ids], axis=1)
        top = np.argsort(d, axis=1, kind="stable")[:, :k]
        best = (np.take_along_axis(d, top, 1), np.take_along_axis(ids, top, 1))
    out = best[1]
    return out


def recall(ids, truth):
    found = sum(len(set(g) & set(t.tolist())) for g, t in zip(ids, truth))
    return found / (K * len(truth))


def med(xs):
    return common.median(xs)


def summarize(rounds, layouts, truth):
    """Per-layout summaries and ratios to the first layout (1 superfile)."""
    res = {"vector": {}, "fts": {}}
    ref = layouts[0]
    first = {L: rounds[L][0] for L in layouts}
    for metric in METRICS:
        if metric not in first[ref]["vector"]:
            continue
        per = {}
        for L in layouts:
            pts = []
            for i, p0 in enumerate(first[L]["vector"][metric]):
                ps = [r["vector"][metric][i] for r in rounds[L]]
                pts.append({"nprobe": p0["nprobe"],
                            "p50_us": med([pct(p["lat_us"], 50) for p in ps]),
                            "p95_us": med([pct(p["lat_us"], 95) for p in ps]),
                            "recall": recall(p0["ids"], truth[metric])})
            per[str(L)] = pts
        for L in layouts:
            for p, r in zip(per[str(L)], per[str(ref)]):
                p["ratio_p50"] = p["p50_us"] / r["p50_us"]
                p["ratio_p95"] = p["p95_us"] / r["p95_us"]
        # equal recall: the fastest point of each layout reaching the
        # recall the one-superfile layout has at its default nprobe
        target = [p for p in per[str(ref)] if p["nprobe"] == "default"][0]
        eq = {}
        for L in layouts:
            ok = [p for p in per[str(L)] if p["recall"] >= target["recall"]]
            best = min(ok, key=lambda p: p["p50_us"]) if ok else None
            eq[str(L)] = best and {k: best[k] for k in
                                   ("nprobe", "p50_us", "p95_us", "recall")}
        ref_best = eq[str(ref)]
        for L in layouts:
            if eq[str(L)] and ref_best:
                eq[str(L)]["ratio_p50"] = eq[str(L)]["p50_us"] / \
                    ref_best["p50_us"]
                eq[str(L)]["ratio_p95"] = eq[str(L)]["p95_us"] / \
                    ref_best["p95_us"]
        res["vector"][metric] = {"points": per, "target_recall":
                                 target["recall"], "at_equal_recall": eq}
    for shape in first[ref]["fts"]:
        per = {}
        for L in layouts:
            rs = [r["fts"][shape] for r in rounds[L]]
            same_ids = same_scores = 0
            for a, b in zip(first[L]["fts"][shape]["results"],
                            first[ref]["fts"][shape]["results"]):
                same_ids += a[0] == b[0]
                same_scores += a == b
            n = len(first[ref]["fts"][shape]["results"])
            per[str(L)] = {"p50_us": med([pct(x["lat_us"], 50) for x in rs]),
                           "p95_us": med([pct(x["lat_us"], 95) for x in rs]),
                           "same_ids_as_1": same_ids / n,
                           "same_ids_and_scores_as_1": same_scores / n}
        for L in layouts:
            per[str(L)]["ratio_p50"] = per[str(L)]["p50_us"] / \
                per[str(ref)]["p50_us"]
            per[str(L)]["ratio_p95"] = per[str(L)]["p95_us"] / \
                per[str(ref)]["p95_us"]
        res["fts"][shape] = per
    return res


def markdown(result):
    from report import manysf_label

    lay = [str(L) for L in result["params"]["layouts"]]
    s = result["summary"]

    def label(L):
        return manysf_label(result, L)

    out = [f"# many superfiles ({result['label']}, {result['date']}, "
           f"{result['params']['rows']} rows, git "
           f"{result['machine']['git_sha'][:10]})", ""]
    for metric, v in s["vector"].items():
        out.append(f"## vector {metric} (nlist {result['params']['nlist']}),"
                   f" p50 / p95 us, recall@10, ratio p50 (p95) to 1 sf")
        out.append("")
        out.append("| nprobe | " + " | ".join(label(L) for L in lay) + " |")
        out.append("|---|" + "---|" * len(lay))
        for i, p0 in enumerate(v["points"][lay[0]]):
            cells = []
            for L in lay:
                p = v["points"][L][i]
                cells.append(f"{p['p50_us']:.0f} / {p['p95_us']:.0f}, "
                             f"{p['recall']:.3f}, {p['ratio_p50']:.2f}x "
                             f"({p['ratio_p95']:.2f}x)")
            out.append(f"| {p0['nprobe']} | " + " | ".join(cells) + " |")
        eq = v["at_equal_recall"]
        cells = []
        for L in lay:
            e = eq[L]
            cells.append("-" if e is None else
                         f"nprobe {e['nprobe']}: {e['p50_us']:.0f} / "
                         f"{e['p95_us']:.0f}, {e['recall']:.3f}, "
                         f"{e['ratio_p50']:.2f}x ({e['ratio_p95']:.2f}x)")
        out.append(f"| recall >= {v['target_recall']:.3f} | "
                   + " | ".join(cells) + " |")
        out.append("")
    if s["fts"]:
        out.append("## BM25, p50 / p95 us, ratio p50 (p95) to 1 sf, "
                   "results identical to 1 sf (ids and score bits)")
        out.append("")
        out.append("| shape | " + " | ".join(label(L) for L in lay) + " |")
        out.append("|---|" + "---|" * len(lay))
        for shape, per in s["fts"].items():
            cells = [f"{per[L]['p50_us']:.0f} / {per[L]['p95_us']:.0f}, "
                     f"{per[L]['ratio_p50']:.2f}x ({per[L]['ratio_p95']:.2f}x)"
                     f", {per[L]['same_ids_and_scores_as_1']:.0%}"
                     for L in lay]
            out.append(f"| {shape} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def driver(a):
    import numpy as np

    import bench_fts
    from bench_vector import synthetic_queries

    layouts = a.layouts.split(",")
    for L in layouts:
        appends_of(L)  # rejects a malformed layout before any work
    only = a.only.split(",")
    src = common.ensure_dataset(max(a.rows, common.BATCH_ROWS))
    work = common.WORK_DIR / "manysf"
    work.mkdir(parents=True, exist_ok=True)
    result = {"bench": "many_superfiles", "label": a.label,
              "date": datetime.datetime.now().isoformat(timespec="seconds"),
              "machine": common.machine_info(),
              "loadavg_start": os.getloadavg(),
              "params": {"rows": a.rows, "layouts": layouts, "k": K,
                         "nlist": a.nlist, "queries": a.queries,
                         "rounds": a.rounds, "passes": a.passes,
                         "nprobes": list(NPROBES), "metrics": list(METRICS),
                         "seed": common.SEED}}
    t0 = time.perf_counter()
    truth = {}
    qfile = work / "vector-queries.npy"
    if "vector" in only:
        q = synthetic_queries(a.rows, a.queries)
        np.save(qfile, q)
        base = pyarrow_embeddings(src, a.rows)
        for m in METRICS:
            truth[m] = exact_knn(base, q, m)
        del base
    ffile = work / "fts-queries.json"
    if "fts" in only:
        df = bench_fts.corpus_df(src, a.rows)
        shape_q = bench_fts.make_queries(bench_fts.pools(df), a.rows,
                                         a.queries, common.SEED)
        for qs in shape_q.values():
            for qq in qs:
                qq["iq"] = bench_fts.infino_query(qq)
        ffile.write_text(json.dumps(shape_q))
    log(f"queries and ground truth in {time.perf_counter() - t0:.1f} s")

    tables = ",".join((["vl2", "vcos"] if "vector" in only else [])
                      + (["fts"] if "fts" in only else []))
    dirs = {L: work / f"sf{L}" for L in layouts}
    builds = {}
    for L in layouts:
        if a.reuse and (dirs[L] / "build.json").exists():
            builds[str(L)] = json.loads((dirs[L] / "build.json").read_text())
            continue
        shutil.rmtree(dirs[L], ignore_errors=True)
        builds[str(L)] = common.run_worker([
            sys.executable, __file__, "--worker", "build", "--src", str(src),
            "--rows", str(a.rows), "--superfiles", str(L), "--nlist",
            str(a.nlist), "--tables", tables, "--dir", str(dirs[L])])
        log(f"build {L}: " + ", ".join(
            f"{n} {v['superfiles']} sf {v['seconds']:.1f} s"
            for n, v in builds[str(L)]["tables"].items()))
        (dirs[L] / "build.json").write_text(json.dumps(builds[str(L)]))
    result["build"] = builds
    rounds = {L: [] for L in layouts}
    for rnd in range(a.rounds):
        order = layouts if rnd % 2 == 0 else layouts[::-1]
        for L in order:
            r = common.run_worker([
                sys.executable, __file__, "--worker", "query", "--dir",
                str(dirs[L]), "--superfiles", str(L), "--only", a.only,
                "--queries-file", str(qfile), "--fts-queries", str(ffile),
                "--passes", str(a.passes)])
            rounds[L].append(r)
            msg = []
            for m, pts in r["vector"].items():
                msg.append(f"{m} " + " ".join(
                    f"{p['nprobe']}:{pct(p['lat_us'], 50):.0f}" for p in pts))
            if r["fts"]:
                msg.append("fts " + " ".join(
                    f"{s}:{pct(v['lat_us'], 50):.0f}"
                    for s, v in r["fts"].items()))
            log(f"round {rnd} layout {L}: " + "; ".join(msg) + " us")
    result["summary"] = summarize(rounds, layouts, truth)
    result["loadavg_end"] = os.getloadavg()
    if not a.keep:
        for d in dirs.values():
            shutil.rmtree(d, ignore_errors=True)
    md = markdown(result)
    print(md)
    if a.out:
        pathlib.Path(a.out).write_text(json.dumps(result, indent=1) + "\n")
        pathlib.Path(a.out).with_suffix(".md").write_text(md + "\n")


def pyarrow_embeddings(src, rows):
    import numpy as np

    chunks = []
    r = common.open_dataset(src)
    for b in common.iter_batches(r, rows):
        chunks.append(b.column(2).flatten().to_numpy().reshape(-1, DIM))
    return np.concatenate(chunks).astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--layouts", default="1,10,100")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--nlist", type=int, default=1024)
    ap.add_argument("--only", default="vector,fts")
    ap.add_argument("--label", default="")
    ap.add_argument("--out")
    ap.add_argument("--keep", action="store_true",
                    help="keep the tables in bench/scratch/manysf")
    ap.add_argument("--reuse", action="store_true",
                    help="query tables a --keep run left (same params)")
    ap.add_argument("--worker", choices=["build", "query"])
    ap.add_argument("--src")
    ap.add_argument("--dir")
    ap.add_argument("--superfiles")
    ap.add_argument("--tables")
    ap.add_argument("--queries-file", dest="queries_file")
    ap.add_argument("--fts-queries", dest="fts_queries")
    a = ap.parse_args()
    if a.worker == "build":
        build_worker(a)
    elif a.worker == "query":
        query_worker(a)
    else:
        driver(a)


if __name__ == "__main__":
    main()
