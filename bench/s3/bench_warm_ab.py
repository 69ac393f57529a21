#!/usr/bin/env python3
"""Warm S3 queries of two builds of ours side by side: one moto server, one
table (20,000 seed-schema rows, written by the first package), then per
round one fresh query process per variant (alternating order, a fresh empty
cache_dir each), 200 warm bm25_search and vector_search calls each, through
bench_s3_peer.py's worker. For comparing a change to the per-call snapshot
check, e.g. the base commit's package against this tree's:

    git archive BASE | tar -x -C /tmp/base && ln -s $PWD/.venv /tmp/base/.venv
    (cd /tmp/base && scripts/dev-python.sh build-py)
    bench/s3/bench_warm_ab.py --pkg base=/tmp/base/build-py/pkg \
        --pkg new=build-py/pkg --pkg new-stale1000=build-py/pkg:1000

A variant is NAME=PACKAGE_DIR[:MAX_STALENESS_MS]. Prints and writes JSON
(--out) with the median of the per-process p50s and p99s.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import uuid

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import common  # noqa: E402

KEYS = ("warm_bm25_p50_ms", "warm_vector_p50_ms", "warm_bm25_p99_ms", "warm_vector_p99_ms")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pkg", action="append", required=True, help="NAME=DIR[:MAX_STALENESS_MS]")
    p.add_argument("--rows", type=int, default=20_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--out")
    a = p.parse_args()
    variants = []
    for spec in a.pkg:
        name, _, rest = spec.partition("=")
        path, _, stale = rest.partition(":")
        variants.append((name, str((common.ROOT / path).resolve()), int(stale or 0)))

    sys.path.insert(0, str(common.ROOT / "tests" / "py"))
    from s3_server import MotoS3

    data = common.ensure_dataset(a.rows)
    py = str(common.ROOT / ".venv" / "bin" / "python")
    moto = MotoS3.start()
    opts = moto.storage_options()
    uri = f"s3://{moto.bucket}/ab-{uuid.uuid4().hex[:6]}"
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="bench-warm-ab-"))

    def worker(pkg, op, extra=()):
        env = dict(os.environ, PYTHONPATH=pkg, BENCH_S3_OPTS=json.dumps(opts))
        argv = [py, str(HERE / "bench_s3_peer.py"), "--worker", "--engine", "ours", "--op", op,
                "--uri", uri, "--data", str(data), "--rows", str(a.rows), "--reps", str(a.reps),
                *extra]
        return common.run_worker(argv, env=env)

    runs = {name: [] for name, _, _ in variants}
    try:
        worker(variants[0][1], "ingest")
        for rnd in range(a.repeat):
            order = variants if rnd % 2 == 0 else variants[::-1]
            for name, pkg, stale in order:
                extra = ["--cache-dir", str(scratch / f"{name}-{rnd}")]
                if stale:
                    extra += ["--max-staleness-ms", str(stale)]
                q = worker(pkg, "query", extra)
                runs[name].append(q)
                print(f"round {rnd} {name}: warm bm25 {q['warm_bm25_p50_ms']:.3f} ms, vector "
                      f"{q['warm_vector_p50_ms']:.3f} ms", flush=True)
    finally:
        moto.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    summary = {name: {k: common.median([r[k] for r in rs]) for k in KEYS}
               for name, rs in runs.items()}
    result = {"bench": "s3-warm-ab", "machine": common.machine_info(common.ROOT / "build"),
              "params": {"rows": a.rows, "repeat": a.repeat, "warm_reps": a.reps,
                         "variants": [[n, common.where(d), s] for n, d, s in variants]},
              "summary": summary, "runs": runs, "loadavg_end": os.getloadavg()}
    print(json.dumps(summary, indent=1))
    if a.out:
        pathlib.Path(a.out).write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
