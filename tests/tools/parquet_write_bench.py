#!/usr/bin/env python3
"""Writes the same table with pyarrow and with infino_parquet_write and
prints one JSON line per writer: seconds, output bytes, peak RSS.

The table is the benchmark's shape: doc_id string, a ~200-word body and a
384-dim float32 fixed_size_list. Each writer runs in its own process, so
peak RSS is comparable (both build the same table first).

usage: parquet_write_bench.py [--rows N] [--codec zstd|snappy|none]
       (INFINO_LIB or INFINO_BUILD_DIR locate libinfino.so)
"""
import argparse
import ctypes
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = pathlib.Path(__file__).resolve().parents[2]
CODECS = {"none": 0, "snappy": 1, "gzip": 2, "zstd": 6}


def make_table(n, seed=42):
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i}" for i in range(5000)])
    words = vocab[rng.zipf(1.3, size=n * 200) % len(vocab)].reshape(n, 200)
    body = pa.array([" ".join(r) for r in words])
    emb = pa.FixedSizeListArray.from_arrays(
        pa.array(rng.standard_normal(n * 384, dtype=np.float32)), 384
    )
    ids = pa.array([f"doc-{i:09d}" for i in range(n)])
    return pa.table({"doc_id": ids, "body": body, "emb": emb})


def cached_table(rows, cache_dir):
    """The table, built once and kept as an Arrow IPC file that later runs
    map instead of rebuilding (generation dwarfs the write)."""
    path = pathlib.Path(cache_dir) / f"parquet_write_bench-{rows}.arrow"
    if not path.exists():
        table = make_table(rows)
        tmp = str(path) + ".tmp"
        with pa.OSFile(tmp, "wb") as f, pa.ipc.new_file(f, table.schema) as w:
            w.write_table(table, max_chunksize=65536)
        os.replace(tmp, path)
    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()


def run_one(which, rows, codec, out, cache_dir):
    table = cached_table(rows, cache_dir)
    batches = table.to_batches(max_chunksize=65536)
    if which == "infino":
        # everything but the write itself happens before the clock starts
        sys.path.insert(0, str(ROOT / "tests" / "py"))
        from test_parquet_write import ArrowArrayStream, opts

        path = os.environ.get("INFINO_LIB") or str(
            pathlib.Path(os.environ.get("INFINO_BUILD_DIR", ROOT / "build"))
            / "libinfino.so"
        )
        lib = ctypes.CDLL(path)
        lib.infino_last_error.restype = ctypes.c_char_p
        reader = pa.RecordBatchReader.from_batches(table.schema, batches)
        stream = ArrowArrayStream()
        reader._export_to_c(ctypes.addressof(stream))
        o = opts(codec=codec)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    if which == "pyarrow":
        pq.write_table(table, out, compression=codec)
    else:
        rc = lib.infino_parquet_write(out.encode(), ctypes.byref(stream),
                                      ctypes.byref(o))
        if rc != 0:
            raise SystemExit(lib.infino_last_error().decode())
    dt = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "writer": which, "rows": rows, "codec": codec, "seconds": round(dt, 3),
        "bytes": os.path.getsize(out), "peak_rss_mb": rss1 // 1024,
        "rss_growth_mb": (rss1 - rss0) // 1024,
    }), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--codec", default="zstd", choices=list(CODECS))
    ap.add_argument("--one", choices=["pyarrow", "infino"])
    ap.add_argument("--out")
    ap.add_argument("--cache-dir", default=tempfile.gettempdir())
    a = ap.parse_args()
    if a.one:
        run_one(a.one, a.rows, a.codec, a.out, a.cache_dir)
        return
    with tempfile.TemporaryDirectory() as d:
        for which in ("pyarrow", "infino"):
            out = os.path.join(d, f"{which}.parquet")
            subprocess.run([sys.executable, __file__, "--one", which, "--rows",
                            str(a.rows), "--codec", a.codec, "--out", out,
                            "--cache-dir", a.cache_dir],
                           check=True)
            os.unlink(out)


if __name__ == "__main__":
    main()
