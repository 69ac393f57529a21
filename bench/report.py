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
    if not shown:
        return "_Benchmarks have not been run on this tree yet._"
    return "\n".join(rows + [
        "", "Speed: ours/peer throughput (above 1: we are faster), by wall "
        "time and by CPU time (the per-core rate; wall time on the shared "
        "2-core machine is noisy and includes fsync waits). RSS: ours/peer "
        "peak (below 1: we use less); peak RSS counts pages of memory-mapped "
        "files, heap RSS does not. " + "; ".join(shown) + ". "
        "Details and plots: [bench/results/latest.md](bench/results/"
        "latest.md)."])


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
    for (bench, mode) in sorted(latest, key=lambda k: (k[0] != "parquet",
                                                       k[0], k[1])):
        path, r = latest[(bench, mode)]
        lines += section(bench, mode, path, r)
        plot(bench, mode, r)
    (common.RESULTS_DIR / "latest.md").write_text("\n".join(lines))
    update_readme(readme_table(latest))


if __name__ == "__main__":
    main()
