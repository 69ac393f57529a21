#!/usr/bin/env python3
"""Regenerates the benchmark reports from bench/results/*.json:
bench/results/latest.md, one PNG per benchmark and mode, and the table in
README.md between the <!-- bench-table --> markers.

The newest result (by its "date" field) of each (bench, mode) is "latest".
The README shows the full-mode result of each bench when there is one, the
quick one otherwise. Ratios are ours/peer: a speed ratio above 1 means we
are faster, an RSS ratio below 1 means we use less memory.

usage: report.py            (run.py calls it after every run)
"""
from __future__ import annotations

import json
import pathlib
import re
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

PEER = {"parquet": "pyarrow", "ingest": "upstream"}
PEER_NAME = {"parquet": "pyarrow 26 (single thread)",
             "ingest": "upstream infino (PyPI)"}


def load_latest():
    latest = {}
    for p in sorted(common.RESULTS_DIR.glob("*.json")):
        try:
            r = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if "bench" not in r or "mode" not in r:
            continue
        key = (r["bench"], r["mode"])
        if key not in latest or r["date"] >= latest[key][1]["date"]:
            latest[key] = (p, r)
    return latest


def case_label(bench, c):
    if bench == "parquet":
        s = f"{c['op']} {c['codec']}"
        if c["op"] == "read":
            s += f" ({'pyarrow' if c['file'] == 'pyarrow' else 'our'} file)"
        return s
    return {"batch": "append 10K-row batches",
            "single": "single-row appends"}.get(c["op"], c["op"])


def fmt_rate(bench, e):
    if bench == "parquet":
        return f"{e['mb_per_s']:.0f} MB/s"
    if e["rows_per_s"] >= 1000:
        return f"{e['rows_per_s'] / 1000:.1f}K rows/s"
    return f"{e['rows_per_s']:.0f} rows/s"


def machine_line(m):
    parts = [m.get("cpu_model", "?"), f"{m.get('cores')} cores",
             f"{m.get('memory_gib')} GiB"]
    if m.get("compiler"):
        parts.append(f"{m['compiler']} {m.get('c_flags', '')}".strip())
    sha = (m.get("git_sha") or "?")[:10]
    if m.get("git_dirty"):
        sha += " (+uncommitted changes)"
    parts.append(f"git {sha}")
    return ", ".join(parts)


def section(bench, mode, path, r):
    if bench in SEARCH_BENCHES:
        return SEARCH_BENCHES[bench][0](mode, path, r)
    peer = PEER[bench]
    p = r["params"]
    out = [f"## {bench} ({mode}): ours vs {PEER_NAME[bench]}", "",
           f"`{path.name}`, {r['date']}; {machine_line(r['machine'])}.", ""]
    if bench == "parquet":
        out.append(f"{p['rows']:,} rows of the seed schema "
                   f"({p['arrow_bytes'] / 1e6:,.0f} MB of Arrow data), "
                   f"row groups of {p['rg_rows']:,} rows, 1 MiB pages, "
                   f"zstd level {p['zstd_level']}, one thread, median of "
                   f"{p['repeat']}. Write times include reading the input "
                   f"batches ({r['source_seconds']:.2f} s alone).")
    else:
        out.append(f"{p['rows']:,} rows of the seed schema in appends of "
                   f"{p['batch_rows']:,}, and {p['singles']:,} single-row "
                   f"appends; indexes off; median of {p['repeat']}. "
                   "Rows per CPU-second is the per-core rate.")
    out += ["", "| case | ours | " + peer + " | speed ours/peer | "
            "CPU-time speed | peak RSS ours | peak RSS " + peer +
            " | RSS ours/peer | heap RSS ours/peer |",
            "|---|---|---|---|---|---|---|---|---|"]
    for c in r["cases"]:
        o, q, x = c["engines"]["ours"], c["engines"][peer], c["ratio"]
        out.append(
            f"| {case_label(bench, c)} | {fmt_rate(bench, o)} | "
            f"{fmt_rate(bench, q)} | **{x['speed']:.2f}x** | "
            f"{x['cpu_speed']:.2f}x | {o['peak_rss_mb']:.0f} MB | "
            f"{q['peak_rss_mb']:.0f} MB | **{x['peak_rss']:.2f}** | "
            f"{x['peak_rss_anon']:.2f} |")
    out += ["", "Peak RSS is the worker process's VmHWM (it counts "
            "pages of memory-mapped files, which the kernel can drop at any "
            "time); heap RSS is the peak of RssAnon sampled every 20 ms. "
            "Peak RSS before the measured operation (interpreter, imports, "
            "input set-up), ours / " + peer + ": " + "; ".join(
                f"{case_label(bench, c)} "
                f"{c['engines']['ours']['rss_before_mb']:.0f} / "
                f"{c['engines'][peer]['rss_before_mb']:.0f} MB"
                for c in r["cases"]) + "."]
    out.append("")
    if bench == "parquet":
        files = [c for c in r["cases"] if c["op"] == "write"]
        out.append("File sizes: " + "; ".join(
            f"{c['codec']}: ours {c['files']['ours']['bytes'] / 1e6:,.1f} MB, "
            f"pyarrow {c['files']['pyarrow']['bytes'] / 1e6:,.1f} MB"
            for c in files) + ".")
        out.append("")
        out.append("Where our writer and reader spend their time, and what "
                   "to change: [parquet/PROFILE.md](../parquet/PROFILE.md).")
        s = r.get("sync_calls")
        if s and "ours" in s:
            out.append("")
            out.append("fsync-family calls in one write (strace -f -c): " +
                       "; ".join(f"{e} {sum(s[e].values())}"
                                 for e in ("ours", "pyarrow")) +
                       ". Ours publishes the file durably (fsync of the "
                       "file and its folder); pyarrow leaves it in the page "
                       "cache.")
    else:
        out.append("Per append: " + "; ".join(
            f"{case_label(bench, c)}: ours "
            f"{c['engines']['ours']['ms_per_append']:.2f} ms, upstream "
            f"{c['engines']['upstream']['ms_per_append']:.2f} ms"
            for c in r["cases"]) + ".  On disk: " + "; ".join(
            f"{case_label(bench, c)}: ours "
            f"{c['engines']['ours']['disk_bytes'] / 1e6:,.1f} MB, upstream "
            f"{c['engines']['upstream']['disk_bytes'] / 1e6:,.1f} MB"
            for c in r["cases"]) + ".")
        for c in r["cases"]:
            if "ms_per_append_first_tenth" not in c["engines"]["ours"]:
                continue
            out.append("")
            out.append("Cost of one single-row append, first tenth -> last "
                       "tenth of the run: " + "; ".join(
                           f"{e} "
                           f"{c['engines'][e]['ms_per_append_first_tenth']:.1f}"
                           f" -> "
                           f"{c['engines'][e]['ms_per_append_last_tenth']:.1f}"
                           f" ms" for e in ("ours", "upstream")) + ".")
        s = r.get("sync_calls", {})
        if "ours" in s and "upstream" in s:
            def desc(e):
                parts = []
                for shape in ("single", "batch"):
                    d = s[e][shape]
                    calls = ", ".join(f"{k} x{v}"
                                      for k, v in d["calls"].items())
                    parts.append(f"{d['per_append']:.1f} per {shape} append "
                                 f"({calls or 'none'} over {d['appends']})")
                return f"{e}: " + ", ".join(parts)
            out.append("")
            out.append("Durability (strace -f -c, fsync-family calls): "
                       + "; ".join(desc(e) for e in ("ours", "upstream"))
                       + ". Ours is durable when append returns; upstream "
                       "issues no fsync, so its appends can be lost on a "
                       "power failure.")
        for c in r.get("ours_only", []):
            e = c["engines"]["ours"]
            growth = ""
            if "ms_per_append_first_tenth" in e:
                growth = (f" One append costs "
                          f"{e['ms_per_append_first_tenth']:.1f} ms in the "
                          f"first tenth of the run and "
                          f"{e['ms_per_append_last_tenth']:.1f} ms in the "
                          f"last: each commit rewrites a snapshot listing "
                          f"every superfile.")
            out.append("")
            out.append(f"Ours alone, {e['appends']:,} single-row appends: "
                       f"{e['rows_per_s']:.0f} rows/s "
                       f"({e['ms_per_append']:.2f} ms per append, "
                       f"{e['rows_per_cpu_s']:.0f} rows per CPU-second), "
                       f"peak RSS {e['peak_rss_mb']:.0f} MB, "
                       f"{e['disk_bytes'] / 1e6:,.1f} MB on disk.{growth} "
                       "Upstream is not run this far: its cost per append "
                       "grows faster (see the disk figures above).")
        v = r["cases"][0]["engines"]["upstream"].get("version")
        if v:
            out.append("")
            out.append(f"Upstream version: {v}.")
    out += ["", f"![{bench} {mode}]({bench}-{mode}.png)", ""]
    return out


def plot(bench, mode, r):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    if bench in SEARCH_BENCHES:
        return SEARCH_BENCHES[bench][1](mode, r)
    peer = PEER[bench]
    labels = [case_label(bench, c) for c in r["cases"]]
    key = "mb_per_s" if bench == "parquet" else "rows_per_s"
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    w = 0.38
    xs = range(len(labels))
    for ax, k, title in ((axes[0], key,
                          "MB/s (higher is better)" if bench == "parquet"
                          else "rows/s (higher is better)"),
                         (axes[1], "peak_rss_mb",
                          "peak RSS, MB (lower is better)")):
        for j, (e, colour) in enumerate((("ours", "#1f77b4"),
                                         (peer, "#ff7f0e"))):
            vals = [c["engines"][e][k] for c in r["cases"]]
            ax.bar([x + (j - 0.5) * w for x in xs], vals, w, label=e,
                   color=colour)
        ax.set_xticks(list(xs))
        ax.set_xticklabels(labels, rotation=25, ha="right", fontsize=8)
        ax.set_title(title, fontsize=10)
        if bench == "ingest" and k == key:
            ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.suptitle(f"{bench} ({mode}, {r['params']['rows']:,} rows): "
                 f"ours vs {peer}", fontsize=11)
    fig.tight_layout()
    fig.savefig(common.RESULTS_DIR / f"{bench}-{mode}.png", dpi=80)
    plt.close(fig)


# ---- search benchmarks: fts (BM25) and vector, ours vs several peers --------
#
# Their result files have no single peer: bench/fts/bench_fts.py compares
# with upstream infino and tantivy, bench/vector/bench_vector.py with
# upstream and faiss. Latency ratios in these sections are ours/peer p50
# (below 1: we are faster); the README's speed columns invert them.

FTS_PEERS = ("upstream", "tantivy")
VEC_PEERS = ("upstream", "faiss_ivf", "faiss_rabitq")
VEC_NAME = {"ours": "ours", "upstream": "upstream infino",
            "faiss_ivf": "faiss IVFFlat", "faiss_rabitq": "faiss IVFRaBitQ"}
VEC_COLOUR = {"ours": "#1f77b4", "upstream": "#ff7f0e",
              "faiss_ivf": "#2ca02c", "faiss_rabitq": "#9467bd"}


def _us(x):
    if x is None:
        return "-"
    return f"{x / 1000:.2f} ms" if x >= 1000 else f"{x:.0f} us"


def _mb(x):
    return f"{x:.0f} MB"


def _ratio(x, good_below=True):
    if x is None:
        return "-"
    ok = x <= 1.0 if good_below else x >= 1.0
    return f"**{x:.2f}**" if ok else f"{x:.2f}"


def fts_section(mode, path, r):
    p = r["params"]
    b = r["build"]
    fan = p["fanout"]
    pools = p["pools"]
    out = [f"## fts ({mode}): ours vs upstream infino and tantivy", "",
           f"`{path.name}`, {r['date']}; {machine_line(r['machine'])}.", "",
           f"{p['docs']:,} docs of the Zipf corpus (200 tokens Zipf(1.0) "
           f"over 10,000 terms + a unique id token), FTS on `body` only. "
           f"Ours and upstream: one append (one superfile), and a second "
           f"table built by {fan} appends ({fan} superfiles); tantivy: one "
           f"text field, default tokenizer, frequencies without positions, "
           f"one indexing thread, {p['tantivy_heap'] / 1e6:.0f} MB writer "
           f"heap, one commit. Builds: median of {p['build_repeat']}.", "",
           "### Build", "",
           "| engine | docs/s (wall) | docs per CPU-second | peak RSS | "
           "heap RSS | files | on disk |", "|---|---|---|---|---|---|---|"]
    for e in ("ours", "upstream", "tantivy", f"ours-{fan}",
              f"upstream-{fan}"):
        x = b[e]
        files = (f"{x['superfiles']} superfiles" if "superfiles" in x
                 else f"{x.get('segments', '?')} segments")
        out.append(f"| {e} | {x['docs_per_s']:,.0f} | "
                   f"{x['docs_per_cpu_s']:,.0f} | {_mb(x['peak_rss_mb'])} | "
                   f"{_mb(x['peak_rss_anon_mb'])} | {files} | "
                   f"{x['disk_bytes'] / 1e6:,.0f} MB |")
    out += ["", "| ours vs | speed (wall) | speed per core (CPU) | "
            "peak RSS | heap RSS |", "|---|---|---|---|---|"]
    for q in FTS_PEERS:
        x = r["build_ratio"][q]
        out.append(f"| {q} | {x['speed']:.2f}x | {x['cpu_speed']:.2f}x | "
                   f"{x['peak_rss']:.2f} | {x['peak_rss_anon']:.2f} |")
    u = r["build_ratio"]["upstream"]
    met = u["cpu_speed"] >= 2 and u["peak_rss"] <= 0.5
    out += ["", f"Target (build >= 2x upstream's docs per CPU-second at "
            f"<= 0.5x its peak RSS): **{'met' if met else 'missed'}** "
            f"({u['cpu_speed']:.2f}x, {u['peak_rss']:.2f}). Peak RSS is "
            f"VmHWM and includes the memory-mapped input pages both "
            f"infinos touch; heap RSS excludes them. Peak RSS before the "
            f"build (interpreter and imports): " + ", ".join(
                f"{e} {b[e]['rss_before_mb']:.0f} MB"
                for e in ("ours", "upstream", "tantivy")) + ".", ""]
    out += ["### Warm query latency", "",
            f"k = 10, {p['queries_per_shape']} queries per shape, "
            f"{p['passes']} timed passes after a warm-up pass, median over "
            f"{p['rounds']} alternating rounds. Term pools by document "
            f"frequency: common = {pools['common']['terms']} highest-df terms "
            f"(df {pools['common']['df_min']:,}-{pools['common']['df_max']:,}),"
            f" mid = df ranks 51-1000 (df {pools['mid']['df_min']:,}-"
            f"{pools['mid']['df_max']:,}), rare = {pools['rare']['terms']} "
            f"lowest-df terms (df {pools['rare']['df_min']:,}-"
            f"{pools['rare']['df_max']:,}); shapes are defined in "
            f"`bench/fts/bench_fts.py`. Ratio = ours p50 / peer p50 (bold: "
            f"we are at least as fast).", "",
            "| shape | ours p50 / p99 | upstream p50 / p99 | tantivy p50 / "
            "p99 | ours/upstream | ours/tantivy | "
            f"{fan} superfiles: ours / upstream p50 | ratio |",
            "|---|---|---|---|---|---|---|---|"]
    n_up = n_tv = 0
    for s in r["shapes"]:
        e = s["engines"]
        ru, rt = s["ratio"]["upstream"]["p50"], s["ratio"]["tantivy"]["p50"]
        n_up += ru <= 1.0
        n_tv += rt <= 1.0
        out.append(
            f"| {s['shape']} | {_us(e['ours']['p50_us'])} / "
            f"{_us(e['ours']['p99_us'])} | {_us(e['upstream']['p50_us'])} / "
            f"{_us(e['upstream']['p99_us'])} | {_us(e['tantivy']['p50_us'])}"
            f" / {_us(e['tantivy']['p99_us'])} | {_ratio(ru)} | "
            f"{_ratio(rt)} | {_us(e[f'ours-{fan}']['p50_us'])} / "
            f"{_us(e[f'upstream-{fan}']['p50_us'])} | "
            f"{_ratio(s['ratio'][f'upstream-{fan}']['p50'])} |")
    n = len(r["shapes"])
    out += ["", f"Targets: p50 <= upstream's on every shape: "
            f"**{n_up}/{n}**; p50 <= tantivy's on at least 10 of 11: "
            f"**{n_tv}/{n}**.", ""]
    c = r["correctness"]
    o = c["single_term_oracle"]
    out += ["Correctness: every doc has 201 tokens, so a single-term BM25 "
            "top 10 must hold the 10 highest term frequencies (any order "
            "among ties). Share of single-term queries passing that oracle, "
            "ours / upstream / tantivy: " + "; ".join(
                f"{s} {o[s]['ours_oracle_ok']:.0%} / "
                f"{o[s]['upstream_oracle_ok']:.0%} / "
                f"{o[s]['tantivy_oracle_ok']:.0%}" for s in o) +
            ". Same top-10 set as upstream: " + "; ".join(
                f"{s} {o[s]['ours_upstream_same_set']:.0%}" for s in o) +
            ". Mean top-10 overlap with upstream over all shapes: " +
            ", ".join(f"{s} {v:.2f}" for s, v in
                      c["top10_overlap_ours_upstream"].items()) +
            " (ties at the 10th score are cut differently).", "",
            f"![fts {mode}](fts-{mode}.png)", ""]
    return out


def fts_plot(mode, r):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fan = r["params"]["fanout"]
    shapes = [s["shape"] for s in r["shapes"]]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.4),
                             gridspec_kw={"width_ratios": [3, 1]})
    ax = axes[0]
    w = 0.17
    series = (("ours", "#1f77b4"), ("upstream", "#ff7f0e"),
              ("tantivy", "#2ca02c"), (f"ours-{fan}", "#aec7e8"),
              (f"upstream-{fan}", "#ffbb78"))
    for j, (e, colour) in enumerate(series):
        vals = [s["engines"][e]["p50_us"] for s in r["shapes"]]
        ax.bar([i + (j - 2) * w for i in range(len(shapes))], vals, w,
               label=e, color=colour)
    ax.set_yscale("log")
    ax.set_xticks(range(len(shapes)))
    ax.set_xticklabels(shapes, rotation=30, ha="right", fontsize=8)
    ax.set_title("warm p50 latency per query, us (log; lower is better)",
                 fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    ax = axes[1]
    engines = ["ours", "upstream", "tantivy"]
    ax.bar(engines, [r["build"][e]["docs_per_cpu_s"] for e in engines],
           color=["#1f77b4", "#ff7f0e", "#2ca02c"])
    ax.set_title("build: docs per CPU-second", fontsize=10)
    for i, e in enumerate(engines):
        ax.text(i, r["build"][e]["docs_per_cpu_s"],
                f"{r['build'][e]['peak_rss_mb']:.0f} MB", ha="center",
                va="bottom", fontsize=7)
    fig.suptitle(f"fts ({mode}, {r['params']['docs']:,} docs): ours vs "
                 f"upstream infino vs tantivy", fontsize=11)
    fig.tight_layout()
    fig.savefig(common.RESULTS_DIR / f"fts-{mode}.png", dpi=80)
    plt.close(fig)


def _np(p):
    return p["nprobe"] if p["nprobe"] != "default" else "def."


def vector_section(mode, path, r):
    p = r["params"]
    out = [f"## vector ({mode}): ours vs upstream infino and faiss", "",
           f"`{path.name}`, {r['date']}; {machine_line(r['machine'])}.", "",
           f"{p['dim']}-d, cosine, k = 10, one query at a time, "
           f"{p['passes']} timed passes after a warm-up, median over "
           f"{p['rounds']} alternating rounds; recall@10 against exact "
           f"numpy search. Ours: IndexSpec().vector(col, 384, nlist, "
           f"\"cosine\"), nprobe swept and default; upstream 0.11.0 takes "
           f"neither a cluster count nor an nprobe (one operating point); "
           f"faiss IVFFlat and IVFRaBitQ (1.15 defaults: 1-bit codes, "
           f"qb = 4, no re-ranking) on normalized vectors, one thread, the "
           f"same nlist. Latency of the infinos is the table API "
           f"(`vector_search`, default projection `_id`, `score`); "
           f"\"with doc_id\" projects a user column.", ""]
    for name, ds in r["datasets"].items():
        b = ds["build"]
        title = ("synthetic Gaussian clusters" if name == "synthetic" else
                 f"real all-MiniLM-L6-v2 embeddings ({ds['sentences']:,} "
                 f"help-center sentences embedded in "
                 f"{ds['embed_seconds']:.0f} s; {ds['queries']} held out as "
                 f"queries)")
        out += [f"### {name}: {title}, {ds['rows']:,} vectors, nlist "
                f"{ds['nlist']}", "",
                "| engine | vectors/s (wall) | per CPU-second | peak RSS | "
                "heap RSS | on disk | ours/peer per core | RSS ours/peer |",
                "|---|---|---|---|---|---|---|---|"]
        for e in ("ours",) + VEC_PEERS:
            x = b[e]
            rr = ds["build_ratio"].get(e)
            out.append(
                f"| {VEC_NAME[e]} | {x['vectors_per_s']:,.0f} | "
                f"{x['vectors_per_cpu_s']:,.0f} | {_mb(x['peak_rss_mb'])} | "
                f"{_mb(x['peak_rss_anon_mb'])} | "
                f"{x['disk_bytes'] / 1e6:,.0f} MB | "
                + (f"{rr['cpu_speed']:.2f}x | {rr['peak_rss']:.2f} |" if rr
                   else "- | - |"))
        u = ds["build_ratio"]["upstream"]
        met = u["cpu_speed"] >= 2 and u["peak_rss"] <= 0.5
        out += ["", f"Build target (>= 2x upstream's vectors per CPU-second "
                f"at <= 0.5x its peak RSS): **{'met' if met else 'missed'}** "
                f"({u['cpu_speed']:.2f}x, {u['peak_rss']:.2f}). faiss holds "
                f"the normalized input in memory; the infinos read it from a "
                f"memory map.", "",
                "| engine | nprobe: recall@10 / p50 (p99) |", "|---|---|"]
        for e, c in ds["curves"].items():
            out.append(f"| {VEC_NAME[e]} | " + "; ".join(
                f"{_np(x)}: {x['recall']:.3f} / {_us(x['p50_us'])} "
                f"({_us(x['p99_us'])})" for x in c) + " |")
        oc = [x for x in ds["curves"]["ours"] if "proj_p50_us" in x]
        if oc:
            out += ["", "Ours with doc_id projected, p50: " + "; ".join(
                f"{_np(x)}: {_us(x['proj_p50_us'])}" for x in oc) +
                ". Upstream: " + "; ".join(
                    _us(x["proj_p50_us"]) for x in ds["curves"]["upstream"]
                    if "proj_p50_us" in x) + "."]
        out += ["", "| recall@10 >= | ours | " + " | ".join(
            VEC_NAME[e] for e in VEC_PEERS) + " | ours/" + " | ours/".join(
            VEC_NAME[e] for e in VEC_PEERS) + " |",
            "|---|---|" + "---|" * (2 * len(VEC_PEERS))]
        for t in ("0.9", "0.95", "0.99"):
            a = ds["at_recall"]
            o = a["ours"][t]

            def cell(x):
                return ("not reached" if x is None else
                        f"{_us(x['p50_us'])} (nprobe {x['nprobe']}, "
                        f"{x['recall']:.3f})")
            ratios = [(_ratio(o["p50_us"] / a[e][t]["p50_us"])
                       if o and a[e][t] else "-") for e in VEC_PEERS]
            out.append(f"| {t} | {cell(o)} | " + " | ".join(
                cell(a[e][t]) for e in VEC_PEERS) + " | " +
                " | ".join(ratios) + " |")
        out += ["", "Targets: " + vector_targets(name, ds) + "."]
        m = ds.get("mixed")
        if m:
            out += ["", "Filtered and hybrid search (second table: doc_id, "
                    "tag, body, embedding; FTS on tag and body): "]
            for kind, desc in (("filtered", "filter_column=\"tag\", "
                                "filter_query one of 10 tags (10% of rows)"),
                               ("hybrid", "hybrid_search with a body term "
                                "of Zipf rank 51-1000 and the query "
                                "vector")):
                o, x = m["ours"][kind], m["upstream"][kind]
                rec = (f", recall@10 ours {o['recall']:.3f} / upstream "
                       f"{x['recall']:.3f}" if "recall" in o else "")
                out.append(f"- {kind} ({desc}): p50 ours {_us(o['p50_us'])}"
                           f" / upstream {_us(x['p50_us'])} = "
                           f"{_ratio(o['p50_us'] / x['p50_us'])}; p99 "
                           f"{_us(o['p99_us'])} / {_us(x['p99_us'])}{rec}.")
            out.append(f"- hybrid top-10 overlap ours/upstream: "
                       f"{m['hybrid_overlap_ours_upstream']:.2f}; mixed-table "
                       f"build ours {m['ours']['build']['seconds']:.1f} s, "
                       f"upstream {m['upstream']['build']['seconds']:.1f} s.")
        out.append("")
    out += [f"![vector {mode}](vector-{mode}.png)", ""]
    return out


def dominates(ours, peer):
    """True when every point of `peer` has an ours point at least as
    accurate and at least as fast (p50)."""
    return all(any(o["recall"] >= p["recall"] and o["p50_us"] <= p["p50_us"]
                   for o in ours) for p in peer)


def vector_targets(name, ds):
    a = ds["at_recall"]
    o = a["ours"]["0.95"]
    if name == "synthetic":
        parts = []
        for e in ("upstream", "faiss_ivf"):
            x = a[e]["0.95"]
            if o is None or x is None:
                parts.append(f"p50 <= {VEC_NAME[e]}'s at recall@10 >= 0.95: "
                             f"{'ours' if o is None else VEC_NAME[e]} does "
                             f"not reach 0.95")
                continue
            ok = o["p50_us"] <= x["p50_us"]
            parts.append(f"p50 <= {VEC_NAME[e]}'s at recall@10 >= 0.95: "
                         f"**{'met' if ok else 'missed'}** "
                         f"({_us(o['p50_us'])} vs {_us(x['p50_us'])})")
        return "; ".join(parts)
    ok = dominates(ds["curves"]["ours"], ds["curves"]["upstream"])
    return (f"ours' recall-latency curve dominates upstream's (an ours point "
            f"at least as accurate and as fast as each upstream point): "
            f"**{'met' if ok else 'missed'}**")


def vector_plot(mode, r):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    names = list(r["datasets"])
    fig, axes = plt.subplots(1, len(names), figsize=(6.2 * len(names), 4.4),
                             squeeze=False)
    for ax, name in zip(axes[0], names):
        ds = r["datasets"][name]
        for e, c in ds["curves"].items():
            pts = [x for x in c if x["nprobe"] != "default"]
            if pts:
                ax.plot([x["recall"] for x in pts], [x["p50_us"] for x in pts],
                        "o-", ms=4, label=VEC_NAME[e], color=VEC_COLOUR[e])
                for x in pts:
                    ax.annotate(str(x["nprobe"]), (x["recall"], x["p50_us"]),
                                fontsize=6, xytext=(2, 2),
                                textcoords="offset points")
            for x in c:
                if x["nprobe"] == "default":
                    ax.plot([x["recall"]], [x["p50_us"]], "*", ms=11,
                            color=VEC_COLOUR[e],
                            label=f"{VEC_NAME[e]} (default)")
        ax.set_yscale("log")
        ax.set_xlabel("recall@10")
        ax.set_ylabel("p50 latency per query, us (log)")
        ax.set_title(f"{name}: {ds['rows']:,} x {r['params']['dim']}, "
                     f"nlist {ds['nlist']}", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"vector ({mode}): recall vs latency over nprobe "
                 f"(1..64), one thread", fontsize=11)
    fig.tight_layout()
    fig.savefig(common.RESULTS_DIR / f"vector-{mode}.png", dpi=80)
    plt.close(fig)


# ---- realtext: BM25 on real English prose (bench/fts/bench_realtext.py) ----

ENG_COLOUR = {"ours": "#1f77b4", "upstream": "#ff7f0e", "tantivy": "#2ca02c"}


def realtext_section(mode, path, r):
    p, c, b = r["params"], r["corpus"], r["build"]
    lt = c["length_tokens"]
    src = "; ".join(f"{k} {v['files']:,} files, {v['docs']:,} docs"
                    for k, v in c["corpus_sources"].items())
    out = [f"## realtext ({mode}): BM25 on real English prose, ours vs "
           f"upstream infino and tantivy", "",
           f"`{path.name}`, {r['date']}; {machine_line(r['machine'])}. "
           f"Our package: {r.get('ours_build', '?')}. The machine was shared "
           f"with other builds (load average {r['loadavg_start'][0]:.1f} at "
           f"the start, {r['loadavg_end'][0]:.1f} at the end): absolute "
           f"times are noisy, the ratios of alternating rounds less so.", "",
           f"Corpus (made at bench time by `bench/fts/realtext_corpus.py` "
           f"from the documentation installed by `bench/setup.sh`; never "
           f"committed): {c['corpus_docs']:,} docs, "
           f"{c['corpus_tokens']:,} tokens ({src}). "
           + ({1: "This run indexes all of them: ",
               2: "This run indexes every second doc: "}.get(
                   c["every"], f"This run indexes one doc in {c['every']}: "))
           + f"**{c['docs']:,} docs, {c['tokens']:,} tokens, vocabulary "
           f"{c['vocabulary']:,}** ({c['hapax']:,} words seen in one doc), "
           f"{c['body_mb']:.0f} MB of text. Doc length in tokens: min "
           f"{lt['min']}, median {lt['p50']}, mean {lt['mean']:.0f}, p90 "
           f"{lt['p90']}, p99 {lt['p99']}, max {lt['max']:,}; histogram "
           + ", ".join(f"{k}: {v:,}" for k, v in
                       c["length_histogram"].items()) + ".", "",
           "Every engine indexes `body` with positions (phrase queries): "
           "ours and upstream `IndexSpec().fts(\"body\", positions=True)` "
           "(analyzer `standard`, the default of both), one append; tantivy "
           "one text field, default tokenizer, positions, one indexing "
           f"thread, {p['tantivy_heap'] / 1e6:.0f} MB heap. The text is "
           "ASCII-folded and punctuation inside words is blanked, so the "
           "three analyzers see the same tokens.", "",
           "### Build", "",
           "| engine | docs/s (wall) | docs per CPU-second | peak RSS | "
           "heap RSS | on disk | builds (s) |", "|---|---|---|---|---|---|---|"]
    for e in ("ours", "upstream", "tantivy"):
        x = b[e]
        out.append(f"| {e} | {x['docs_per_s']:,.0f} | "
                   f"{x['docs_per_cpu_s']:,.0f} | {_mb(x['peak_rss_mb'])} | "
                   f"{_mb(x['peak_rss_anon_mb'])} | "
                   f"{x['disk_bytes'] / 1e6:,.0f} MB | "
                   f"{', '.join(f'{s:.1f}' for s in x['runs_seconds'])} |")
    out += ["", "| ours vs | speed (wall) | speed per core (CPU) | "
            "peak RSS | heap RSS |", "|---|---|---|---|---|"]
    for q in FTS_PEERS:
        x = r["build_ratio"][q]
        out.append(f"| {q} | {x['speed']:.2f}x | {x['cpu_speed']:.2f}x | "
                   f"{x['peak_rss']:.2f} | {x['peak_rss_anon']:.2f} |")
    pools = p["pools"]
    out += ["", "### Warm query latency", "",
            f"k = 10, {p['queries_per_shape']} queries per shape drawn from "
            f"the corpus's own section headings "
            f"({pools['heading_runs']:,} distinct headings), {p['passes']} "
            f"timed passes after a warm-up pass, median over {p['rounds']} "
            f"alternating rounds. Single-term pools by df: rare "
            f"{pools['rare']['df_min']}-{pools['rare']['df_max']} "
            f"({pools['rare']['terms']:,} words), mid "
            f"{pools['mid']['df_min']:,}-{pools['mid']['df_max']:,} "
            f"({pools['mid']['terms']:,}), common = the 50 highest "
            f"({pools['common']['df_min']:,}-{pools['common']['df_max']:,}); "
            "multi-term shapes take 2 or 3 consecutive words of one heading "
            "(OR, AND, or quoted as a phrase). Ratio = ours p50 / peer p50 "
            "(bold: we are at least as fast); hits = mean results returned.",
            "", "| shape | e.g. | ours p50 / p99 | upstream p50 / p99 | "
            "tantivy p50 / p99 | ours/upstream | ours/tantivy | hits | "
            "overlap@10 ours-upstream | ours-tantivy |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for s in r["shapes"]:
        e = s["engines"]
        ex = r["examples"][s["shape"]][0].replace("|", "/")
        out.append(
            f"| {s['shape']} | `{ex}` | {_us(e['ours']['p50_us'])} / "
            f"{_us(e['ours']['p99_us'])} | {_us(e['upstream']['p50_us'])} / "
            f"{_us(e['upstream']['p99_us'])} | {_us(e['tantivy']['p50_us'])}"
            f" / {_us(e['tantivy']['p99_us'])} | "
            f"{_ratio(s['ratio']['upstream']['p50'])} | "
            f"{_ratio(s['ratio']['tantivy']['p50'])} | "
            f"{e['ours']['mean_hits']:.1f} | "
            f"{s['overlap_ours_upstream']:.3f} | "
            f"{s['overlap_ours_tantivy']:.3f} |")
    o = r["oracle"]
    out += ["", "Agreement. Ours vs a brute-force BM25 in numpy (same "
            "formula and tokens; a query agrees when its 10 scores equal "
            "the oracle's top 10 rank by rank and each returned doc has the "
            "oracle's score for it, relative 1e-5; upstream judged at 1e-3):",
            "", "| shape | queries | ours agrees | max rel. diff | "
            "upstream agrees (1e-3) | max rel. diff | ours-upstream scores "
            "agree (1e-3) | max rel. diff |", "|---|---|---|---|---|---|---|---|"]
    for s in r["shapes"]:
        x = o[s["shape"]]
        out.append(f"| {s['shape']} | {x['queries']} | {x['ours']:.0%} | "
                   f"{x['ours_max_rel_diff']:.1e} | {x['upstream']:.0%} | "
                   f"{x['upstream_max_rel_diff']:.1e} | "
                   f"{s['scores_ours_upstream']:.0%} | "
                   f"{s['scores_ours_upstream_max_rel_diff']:.1e} |")
    out += ["", "Tantivy scores with (k1 + 1) and a one-byte length norm, "
            "so its top 10 may differ at near-ties; its overlap is shown "
            "for orientation, not as a check.", "",
            f"![realtext {mode}](realtext-{mode}.png)", ""]
    return out


def realtext_plot(mode, r):
    import matplotlib.pyplot as plt

    shapes = [s["shape"] for s in r["shapes"]]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.4),
                             gridspec_kw={"width_ratios": [3, 1.2]})
    ax = axes[0]
    w = 0.27
    for j, e in enumerate(("ours", "upstream", "tantivy")):
        xs = [i + (j - 1) * w for i in range(len(shapes))]
        ax.bar(xs, [s["engines"][e]["p50_us"] for s in r["shapes"]], w,
               label=f"{e} p50", color=ENG_COLOUR[e])
        ax.plot(xs, [s["engines"][e]["p99_us"] for s in r["shapes"]], "_",
                ms=9, mew=2, color="black" if j == 0 else ENG_COLOUR[e],
                label=f"{e} p99")
    ax.set_yscale("log")
    ax.set_xticks(range(len(shapes)))
    ax.set_xticklabels(shapes, rotation=30, ha="right", fontsize=8)
    ax.set_title("warm latency per query, us (log; lower is better)",
                 fontsize=10)
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=3)
    ax = axes[1]
    h = r["corpus"]["length_histogram"]
    ax.bar(range(len(h)), list(h.values()), color="#7f7f7f")
    ax.set_xticks(range(len(h)))
    ax.set_xticklabels(list(h), rotation=30, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_title("docs by length in tokens", fontsize=10)
    c = r["corpus"]
    fig.suptitle(f"realtext ({mode}): {c['docs']:,} docs of manual pages "
                 f"and manuals, {c['tokens']:,} tokens; ours vs upstream "
                 f"infino vs tantivy", fontsize=11)
    fig.tight_layout()
    fig.savefig(common.RESULTS_DIR / f"realtext-{mode}.png", dpi=80)
    plt.close(fig)


# ---- scale (bench/scale/bench_scale.py) --------------------------------------

def scale_section():
    """The markdown that bench_scale.py wrote beside its newest result
    (by date), one heading level down, or []. bench_scale.py draws
    scale.png itself."""
    best = None
    for p in sorted(common.RESULTS_DIR.glob("*scale*.json")):
        try:
            r = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if r.get("bench") != "scale":
            continue
        if best is None or r["date"] >= best[1]["date"]:
            best = (p, r)
    if best is None or not best[0].with_suffix(".md").exists():
        return []
    text = best[0].with_suffix(".md").read_text()
    return [re.sub(r"^#", "##", ln) for ln in text.splitlines()] + [""]


# ---- many superfiles (bench/vector/many_superfiles.py), ours alone -----------

def load_newest(bench, pattern="*.json"):
    """The newest result (by its date) whose "bench" is `bench`, as
    (path, result), or None."""
    best = None
    for p in sorted(common.RESULTS_DIR.glob(pattern)):
        try:
            r = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(r, dict) or r.get("bench") != bench:
            continue
        if best is None or r["date"] >= best[1]["date"]:
            best = (p, r)
    return best


def load_manysf():
    """The newest many_superfiles result (by date), or None."""
    return load_newest("many_superfiles", "*manysf*.json")


# Results whose own script renders them: (bench name, script under bench/).
# Their section is the script's markdown() one heading level down.
SCRIPT_SECTIONS = (("vector_layouts", "vector/layouts_vs_upstream.py"),
                   ("indexed_ingest", "ingest/bench_indexed.py"))


def script_sections():
    import importlib.util

    lines = []
    for bench, script in SCRIPT_SECTIONS:
        found = load_newest(bench)
        if not found:
            continue
        path, r = found
        spec = importlib.util.spec_from_file_location(
            f"_report_{bench}", common.BENCH_DIR / script)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        md = mod.markdown(r).rstrip("\n").splitlines()
        if md and md[0].startswith("# "):
            md[0] = "#" + md[0]
        lines += md + ["", f"Data: `{path.name}`.", ""]
    return lines


def manysf_label(r, x):
    """A layout's column header: "10 sf", or for an auto-compacted layout
    ("100a") its appends and the superfiles its tables ended with."""
    if not x.endswith("a"):
        return f"{x} sf"
    sfs = sorted({t["superfiles"] for t in
                  r.get("build", {}).get(x, {}).get("tables", {}).values()})
    n = "/".join(str(v) for v in sfs) or "?"
    return f"{x[:-1]} appends, auto-compacted: {n} sf"


def manysf_section(path, r):
    p, s = r["params"], r["summary"]
    lay = [str(x) for x in p["layouts"]]
    out = ["## Latency vs number of superfiles (ours alone)", "",
           f"`{path.name}` ({r.get('label', '')}), {r['date']}; "
           f"{machine_line(r['machine'])}. The same {p['rows']:,} rows as "
           + ", ".join(x for x in lay if not x.endswith("a"))
           + " superfiles (appends, no optimize, auto-compaction off)"
           + ("" if all(not x.endswith("a") for x in lay) else
              "; \"N appends, auto-compacted\" makes N appends with "
              "auto-compaction at its default and names the superfiles "
              "the tables ended with (vector/BM25)") + ", "
           f"`bench/vector/many_superfiles.py`; k = {p['k']}, "
           f"{p['queries']} queries, {p['passes']} passes, median of "
           f"{p['rounds']} rounds; p50 / p95 and the ratio of p50 to one "
           "superfile. Results are checked identical to one superfile "
           "(BM25: ids and score bits). Target (issue 16): 100 superfiles "
           "within 1.5x of one.", "",
           "| BM25 shape | " + " | ".join(manysf_label(r, x) for x in lay) +
           " | identical |", "|---|" + "---|" * (len(lay) + 1)]
    for shape, v in s["fts"].items():
        same = min(v[x]["same_ids_and_scores_as_1"] for x in lay)
        out.append(f"| {shape} | " + " | ".join(
            f"{_us(v[x]['p50_us'])} / {_us(v[x]['p95_us'])}, "
            f"{'**' if v[x]['ratio_p50'] <= 1.5 else ''}"
            f"{v[x]['ratio_p50']:.2f}x"
            f"{'**' if v[x]['ratio_p50'] <= 1.5 else ''}" for x in lay)
            + f" | {same:.0%} |")
    out += ["", f"| vector (nlist {p['nlist']}) | " + " | ".join(
        manysf_label(r, x) for x in lay) + " |", "|---|" + "---|" * len(lay)]
    for metric, v in s["vector"].items():
        for label, pick in (("default nprobe", lambda pts: next(
                (q for q in pts if q["nprobe"] == "default"), None)),):
            cells = []
            for x in lay:
                q = pick(v["points"][x])
                cells.append("-" if q is None else
                             f"{_us(q['p50_us'])}, recall {q['recall']:.3f}, "
                             f"{q['ratio_p50']:.2f}x")
            out.append(f"| {metric}, {label} | " + " | ".join(cells) + " |")
        cells = []
        for x in lay:
            q = v["at_equal_recall"].get(x)
            cells.append("-" if q is None else
                         f"nprobe {q['nprobe']}: {_us(q['p50_us'])}, "
                         f"{q['ratio_p50']:.2f}x")
        out.append(f"| {metric}, recall >= {v['target_recall']:.2f} | "
                   + " | ".join(cells) + " |")
    out += ["", "Full nprobe sweeps: the `.md` beside the JSON "
            "(bench/results).", "", "![many superfiles](manysf.png)", ""]
    return out


def manysf_plot(r):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p, s = r["params"], r["summary"]
    # the plot's x axis is superfiles: auto-compacted layouts stay in the
    # tables only
    lay = [str(x) for x in p["layouts"] if not str(x).endswith("a")]
    xs = [int(x) for x in lay]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
    ax = axes[0]
    cmap = plt.get_cmap("tab20")
    for i, (shape, v) in enumerate(s["fts"].items()):
        ax.plot(xs, [v[x]["p50_us"] for x in lay], "o-", ms=4,
                color=cmap(i), label=shape)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels(lay)
    ax.set_xlabel("superfiles (same rows)")
    ax.set_ylabel("p50 per query, us (log)")
    ax.set_title("BM25, per shape", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    ax = axes[1]
    for metric, colour in (("l2sq", "#1f77b4"), ("cosine", "#d62728")):
        v = s["vector"].get(metric)
        if not v:
            continue
        eq = [v["at_equal_recall"][x]["p50_us"] for x in lay]
        ax.plot(xs, eq, "o-", color=colour,
                label=f"{metric}, recall >= {v['target_recall']:.2f}")
        for x, y in zip(xs, eq):
            ax.annotate(f"np {v['at_equal_recall'][str(x)]['nprobe']}",
                        (x, y), fontsize=6, xytext=(3, 3),
                        textcoords="offset points")
        d = [next(q for q in v["points"][x] if q["nprobe"] == "default")
             for x in lay]
        ax.plot(xs, [q["p50_us"] for q in d], "s--", color=colour, alpha=0.6,
                label=f"{metric}, default nprobe")
    ax.plot(xs, [s["vector"]["l2sq"]["at_equal_recall"][lay[0]]["p50_us"]
                 * 1.5] * len(xs), ":", color="grey",
            label="target: 1.5x one superfile (l2sq)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels(lay)
    ax.set_xlabel("superfiles (same rows)")
    ax.set_title(f"vector, nlist {p['nlist']}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.suptitle(f"latency vs number of superfiles ({p['rows']:,} rows, "
                 f"ours, {r.get('label', '')} {r['date'][:10]})",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(common.RESULTS_DIR / "manysf.png", dpi=80)
    plt.close(fig)


SEARCH_BENCHES = {"fts": (fts_section, fts_plot),
                  "vector": (vector_section, vector_plot),
                  "realtext": (realtext_section, realtext_plot)}


def search_readme(latest, rows, shown):
    """Adds the fts and vector build rows to the README ratio table `rows`
    and returns a second table of search latency ratios (lines)."""
    lat = ["", "| search (warm p50) | ours | speed ours/peer |",
           "|---|---|---|"]
    have = False
    pick = latest.get(("fts", "full")) or latest.get(("fts", "quick"))
    if pick:
        _, r = pick
        have = True
        shown.append(f"fts: {r['mode']}, {r['params']['docs']:,} docs, "
                     f"{r['date'][:10]}")
        for q in FTS_PEERS:
            x = r["build_ratio"][q]
            rows.append(f"| fts vs {q} | build (FTS on body) | "
                        f"{x['speed']:.2f}x | {x['cpu_speed']:.2f}x | "
                        f"{x['peak_rss']:.2f} | {x['peak_rss_anon']:.2f} |")
        fan = r["params"]["fanout"]
        for s in r["shapes"]:
            e = s["engines"]
            lat.append(
                f"| fts {s['shape']} | {_us(e['ours']['p50_us'])} | "
                + ", ".join(f"{e[q]['p50_us'] / e['ours']['p50_us']:.2f}x vs "
                            f"{q}" for q in FTS_PEERS)
                + f", {e[f'upstream-{fan}']['p50_us'] / e[f'ours-{fan}']['p50_us']:.2f}x"
                f" vs upstream ({fan} superfiles each) |")
    pick = latest.get(("vector", "full")) or latest.get(("vector", "quick"))
    if pick:
        _, r = pick
        have = True
        shown.append(f"vector: {r['mode']}, {r['params']['rows']:,} "
                     f"synthetic vectors, {r['date'][:10]}")
        for name, ds in r["datasets"].items():
            for q in VEC_PEERS:
                x = ds["build_ratio"][q]
                rows.append(f"| vector vs {VEC_NAME[q]} | build ({name}, "
                            f"{ds['rows']:,}) | {x['speed']:.2f}x | "
                            f"{x['cpu_speed']:.2f}x | {x['peak_rss']:.2f} | "
                            f"{x['peak_rss_anon']:.2f} |")
            o = ds["at_recall"]["ours"]["0.95"]
            parts = []
            for q in VEC_PEERS:
                x = ds["at_recall"][q]["0.95"]
                parts.append(f"{x['p50_us'] / o['p50_us']:.2f}x vs "
                             f"{VEC_NAME[q]}" if o and x else
                             f"{VEC_NAME[q]} below 0.95")
            lat.append(f"| vector {name} at recall@10 >= 0.95 | "
                       f"{_us(o['p50_us']) if o else 'not reached'} | "
                       + ", ".join(parts) + " |")
            m = ds.get("mixed")
            if m:
                for kind in ("filtered", "hybrid"):
                    o, x = m["ours"][kind], m["upstream"][kind]
                    lat.append(f"| vector {name} {kind} | {_us(o['p50_us'])}"
                               f" | {x['p50_us'] / o['p50_us']:.2f}x vs "
                               f"upstream |")
    if not have:
        return []
    return lat + ["", "Search: speed = peer p50 / ours (above 1: we are "
                  "faster), warm, one query at a time, measured through "
                  "each engine's Python API."]


def readme_table(latest):
    rows = ["| benchmark | case | speed ours/peer (wall) | "
            "speed ours/peer (CPU time) | peak RSS ours/peer | "
            "heap RSS ours/peer |",
            "|---|---|---|---|---|---|"]
    shown = []
    for bench in ("parquet", "ingest"):
        pick = latest.get((bench, "full")) or latest.get((bench, "quick"))
        if not pick:
            continue
        path, r = pick
        shown.append(f"{bench}: {r['mode']}, {r['params']['rows']:,} rows, "
                     f"{r['date'][:10]}")
        for c in r["cases"]:
            x = c["ratio"]
            rows.append(f"| {bench} vs {PEER[bench]} | "
                        f"{case_label(bench, c)} | {x['speed']:.2f}x | "
                        f"{x['cpu_speed']:.2f}x | "
                        f"{x['peak_rss']:.2f} | {x['peak_rss_anon']:.2f} |")
    search = search_readme(latest, rows, shown)     # fts, vector
    if not shown:
        return "_Benchmarks have not been run on this tree yet._"
    return "\n".join(rows + [
        "", "Speed: ours/peer throughput (above 1: we are faster), by wall "
        "time and by CPU time (the per-core rate; wall time on the shared "
        "2-core machine is noisy and includes fsync waits). RSS: ours/peer "
        "peak (below 1: we use less); peak RSS counts pages of memory-mapped "
        "files, heap RSS does not. " + "; ".join(shown) + ". "
        "Details and plots: [bench/results/latest.md](bench/results/"
        "latest.md)."] + search)


def update_readme(table):
    readme = common.ROOT / "README.md"
    text = readme.read_text()
    pat = re.compile(r"(<!-- bench-table -->\n).*?(<!-- /bench-table -->)",
                     re.S)
    if not pat.search(text):
        print("report: README.md has no bench-table markers", file=sys.stderr)
        return
    readme.write_text(pat.sub(lambda m: m.group(1) + table + "\n"
                              + m.group(2), text, count=1))


def main():
    latest = load_latest()
    lines = ["# Latest benchmark results", "",
             "Generated by `bench/report.py` from `bench/results/*.json` "
             "(`make bench`: quick, `make bench-full`: full). Ours and the "
             "peer run side by side in one invocation on the same generated "
             "data, alternating; figures are medians. Ratios are ours/peer: "
             "speed above 1 means we are faster, RSS below 1 means we use "
             "less memory. See `bench/README.md` for the method.", ""]
    if (common.RESULTS_DIR / "issue16-targets.md").exists():
        lines += ["Issue 16's targets, item by item, with the measured gaps: "
                  "[issue16-targets.md](issue16-targets.md).", ""]
    for (bench, mode) in sorted(latest, key=lambda k: (k[0] != "parquet",
                                                       k[0], k[1])):
        path, r = latest[(bench, mode)]
        lines += section(bench, mode, path, r)
        plot(bench, mode, r)
    lines += script_sections()
    m = load_manysf()
    if m:
        lines += manysf_section(*m)
        try:
            manysf_plot(m[1])
        except ImportError:
            pass
    lines += scale_section()
    (common.RESULTS_DIR / "latest.md").write_text("\n".join(lines))
    update_readme(readme_table(latest))


if __name__ == "__main__":
    main()
