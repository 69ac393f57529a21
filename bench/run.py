#!/usr/bin/env python3
"""One command for the benchmarks: runs each selected bench (ours and its
peers side by side on the same generated data), writes
bench/results/<date>-<bench>-<mode>.json, then regenerates latest.md, the
plots and the README table (bench/report.py).

Runs under bench/.venv (make bench and make bench-full set everything up).

usage: run.py --mode quick|full [--only parquet,ingest,fts,vector,realtext]
              [--lib PATH] [--ours-path DIR]

`realtext` (BM25 on real English prose, bench/fts/bench_realtext.py) is
not in the default set: it needs the documentation packages of
bench/setup.sh and makes its corpus on first use (several minutes).
`scale` (bench/scale/bench_scale.py: 100K and 1M rows in quick mode, up to
10M in full; FTS and vectors) is not in the default set either: full mode
generates 10 GB of input and runs for about an hour.
"""
from __future__ import annotations

import argparse
import datetime
import pathlib
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

BENCHES = {
    "parquet": "parquet/bench_parquet.py",
    "ingest": "ingest/bench_ingest.py",
    "fts": "fts/bench_fts.py",
    "vector": "vector/bench_vector.py",
    "realtext": "fts/bench_realtext.py",
    "scale": "scale/bench_scale.py",
}
DEFAULT = ("parquet", "ingest", "fts", "vector")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["quick", "full"], default="quick")
    ap.add_argument("--only", default=",".join(DEFAULT))
    ap.add_argument("--lib", default=str(common.ROOT / "build-bench"
                                         / "libinfino.so"))
    ap.add_argument("--ours-path", dest="ours_path",
                    help="realtext: a folder holding our infino package "
                         "(scripts/dev-python.sh's output) to use instead "
                         "of the one installed in .venv")
    a = ap.parse_args()
    common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    today = datetime.date.today().isoformat()
    failed = []
    for name in a.only.split(","):
        if name not in BENCHES:
            raise SystemExit(f"unknown bench {name!r} (have {list(BENCHES)})")
        out = common.RESULTS_DIR / f"{today}-{name}-{a.mode}.json"
        argv = [sys.executable, str(common.BENCH_DIR / BENCHES[name]),
                "--mode", a.mode, "--out", str(out)]
        if name == "parquet":
            argv += ["--lib", a.lib]
        if name in ("realtext", "scale") and a.ours_path:
            argv += ["--ours-path", a.ours_path]
        print(f"bench: {name} ({a.mode})", flush=True)
        if subprocess.run(argv).returncode != 0:
            failed.append(name)
            continue
        print(f"bench: wrote {out.relative_to(common.ROOT)}", flush=True)
    subprocess.run([sys.executable, str(common.BENCH_DIR / "report.py")],
                   check=True)
    print("bench: bench/results/latest.md and README.md updated", flush=True)
    if failed:
        raise SystemExit(f"bench: failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
