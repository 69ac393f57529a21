#!/usr/bin/env python3
"""Parquet write and full-read throughput and peak RSS: ours vs pyarrow.

Both engines get the same seed-schema rows (bench/common.py), read batch by
batch from one Arrow IPC file, and write them with the same settings:
single-threaded (pyarrow: set_cpu_count(1), set_io_thread_count(1),
use_threads=False), the same codec (zstd level 1, or none), dictionary
encoding of the string columns with a 1 MiB fallback limit (ours never
dictionary-encodes floats; pyarrow is told the same), statistics and page
indexes on, 1 MiB data pages v1, the same row-group length (--rg-rows). Ours is
libinfino.so's infino_parquet_write / infino_parquet_read called through
ctypes from the same Python interpreter, so both sides pay the same glue.
A short write of each engine also runs under strace to count fsyncs (ours
publishes its file durably; pyarrow does not sync).

A full read decodes every column of every row group into Arrow arrays and
drops each row group before reading the next (ours: the C stream, one batch
per row group; pyarrow: ParquetFile.read_row_group). Each engine reads both
files (the one pyarrow wrote and the one we wrote), so the read ratios
compare the readers on identical bytes. Before any read is timed, the first
row group of each file, as each engine reads it, is checked equal to the
input rows.

Every operation runs in its own process (fresh peak RSS), engines
alternate, each is repeated --repeat times, and the driver reports medians
and the ratios ours/pyarrow. The write time includes reading the input
batches from the IPC file, the same for both (reported as source_seconds).

usage: bench_parquet.py --mode quick|full [--rows N] [--repeat R]
           [--lib build-bench/libinfino.so] [--out results.json]
"""
from __future__ import annotations

import argparse
import ctypes
import datetime
import json
import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import common  # noqa: E402

CODECS = {"zstd": 6, "none": 0}
ENGINES = ("pyarrow", "ours")
MODES = {"quick": {"rows": 100_000, "repeat": 3},
         "full": {"rows": 1_000_000, "repeat": 3}}
RG_ROWS = 50_000
PAGE_BYTES = 1 << 20
DICT_BYTES = 1 << 20


# ---- worker: one operation in this process ----------------------------------

class ArrowArrayStream(ctypes.Structure):
    # Arrow C stream interface (include/infino.h, Arrow's C Stream ABI)
    _fields_ = [("get_schema", ctypes.c_void_p), ("get_next", ctypes.c_void_p),
                ("get_last_error", ctypes.c_void_p),
                ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p)]


class ParquetOpts(ctypes.Structure):
    # struct infino_parquet_opts, version 1 (include/infino.h)
    _fields_ = [("version", ctypes.c_uint32), ("codec", ctypes.c_int),
                ("zstd_level", ctypes.c_int),
                ("row_group_bytes", ctypes.c_uint64),
                ("row_group_rows", ctypes.c_int64),
                ("page_bytes", ctypes.c_uint32),
                ("data_page_version", ctypes.c_int),
                ("dictionary", ctypes.c_int),
                ("dictionary_bytes", ctypes.c_uint32),
                ("statistics", ctypes.c_int)]


def load_lib(path):
    lib = ctypes.CDLL(path)   # CDLL: the GIL is released during each call
    lib.infino_last_error.restype = ctypes.c_char_p
    lib.infino_parquet_write.argtypes = [ctypes.c_char_p, ctypes.c_void_p,
                                         ctypes.c_void_p]
    lib.infino_parquet_read.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                        ctypes.c_void_p, ctypes.c_size_t]
    return lib


def worker(a):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from common_rss import RssSampler

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    lib = load_lib(a.lib) if a.engine == "ours" else None
    meter = common.Meter()
    rows = nbytes = 0

    if a.op == "write" and a.limit_rows:
        src_rows = a.limit_rows
    else:
        src_rows = None
    if a.op == "source":
        # the cost of producing the input batches alone (both writers pay it)
        src = common.open_dataset(a.src)
        with RssSampler() as s:
            meter.start()
            for b in common.iter_batches(src, src_rows):
                rows += b.num_rows
                nbytes += b.nbytes
            r = meter.stop()
    elif a.op == "write":
        src = common.open_dataset(a.src)
        schema = src.schema
        with RssSampler() as s:
            meter.start()
            if a.engine == "pyarrow":
                # dictionary for strings and binary only, as ours does
                # (pyarrow's True would also try it on the float column)
                dict_cols = [f.name for f in schema
                             if pa.types.is_string(f.type)
                             or pa.types.is_large_string(f.type)
                             or pa.types.is_binary(f.type)
                             or pa.types.is_large_binary(f.type)]
                kw = {"compression": a.codec, "use_dictionary": dict_cols,
                      "write_statistics": True, "data_page_size": PAGE_BYTES,
                      "dictionary_pagesize_limit": DICT_BYTES,
                      "data_page_version": "1.0",
                      # ours writes ColumnIndex + OffsetIndex for every
                      # column chunk; pyarrow only when asked
                      "write_page_index": True}
                if a.codec == "zstd":
                    kw["compression_level"] = 1
                with pq.ParquetWriter(a.path, schema, **kw) as w:
                    chunk, n = [], 0
                    for b in common.iter_batches(src, src_rows):
                        chunk.append(b)
                        n += b.num_rows
                        rows += b.num_rows
                        nbytes += b.nbytes
                        if n >= a.rg_rows:
                            w.write_table(pa.Table.from_batches(chunk, schema),
                                          row_group_size=a.rg_rows)
                            chunk, n = [], 0
                    if chunk:
                        w.write_table(pa.Table.from_batches(chunk, schema),
                                      row_group_size=a.rg_rows)
            else:
                counts = [0, 0]

                def gen():
                    for b in common.iter_batches(src, src_rows):
                        counts[0] += b.num_rows
                        counts[1] += b.nbytes
                        yield b

                reader = pa.RecordBatchReader.from_batches(schema, gen())
                stream = ArrowArrayStream()
                reader._export_to_c(ctypes.addressof(stream))
                o = ParquetOpts(1, CODECS[a.codec], 1, 1 << 40, a.rg_rows,
                                PAGE_BYTES, 1, 1, DICT_BYTES, 1)
                rc = lib.infino_parquet_write(a.path.encode(),
                                              ctypes.addressof(stream),
                                              ctypes.addressof(o))
                if rc != 0:
                    raise SystemExit("infino_parquet_write: "
                                     + lib.infino_last_error().decode())
                rows, nbytes = counts
            r = meter.stop()
    else:  # read
        with RssSampler() as s:
            meter.start()
            if a.engine == "pyarrow":
                pf = pq.ParquetFile(a.path)
                for i in range(pf.num_row_groups):
                    t = pf.read_row_group(i, use_threads=False)
                    rows += t.num_rows
                    nbytes += t.nbytes
                    del t
            else:
                stream = ArrowArrayStream()
                rc = lib.infino_parquet_read(ctypes.addressof(stream),
                                             a.path.encode(), None, 0)
                if rc != 0:
                    raise SystemExit("infino_parquet_read: "
                                     + lib.infino_last_error().decode())
                reader = pa.RecordBatchReader._import_from_c(
                    ctypes.addressof(stream))
                for b in reader:
                    rows += b.num_rows
                    nbytes += b.nbytes
                    del b
                reader.close()
            r = meter.stop()
    r.update(s.result())
    r.update({"op": a.op, "engine": a.engine, "codec": a.codec,
              "rows": rows, "arrow_bytes": nbytes})
    print(json.dumps(r), flush=True)


# ---- driver -----------------------------------------------------------------

def run_op(py, lib, op, engine, codec, src, path, rg_rows):
    argv = [py, __file__, "--worker", "--op", op, "--engine", engine,
            "--codec", codec, "--src", str(src), "--path", str(path),
            "--lib", str(lib), "--rg-rows", str(rg_rows)]
    return common.run_worker(argv)


def summarize(runs, data_bytes, rows):
    med = {k: common.median([r[k] for r in runs])
           for k in ("seconds", "cpu_seconds", "peak_rss_mb",
                     "peak_rss_anon_mb", "peak_rss_file_mb", "rss_before_mb")}
    med["mb_per_s"] = data_bytes / 1e6 / med["seconds"]
    med["rows_per_s"] = rows / med["seconds"]
    med["runs_seconds"] = [round(r["seconds"], 4) for r in runs]
    return med


def ratios(ours, peer):
    return {"speed": peer["seconds"] / ours["seconds"],
            "cpu_speed": peer["cpu_seconds"] / ours["cpu_seconds"],
            "peak_rss": ours["peak_rss_mb"] / peer["peak_rss_mb"],
            "peak_rss_anon": ours["peak_rss_anon_mb"]
            / max(peer["peak_rss_anon_mb"], 1e-9)}


def file_info(path):
    import pyarrow.parquet as pq

    md = pq.ParquetFile(path).metadata
    return {"bytes": os.path.getsize(path), "row_groups": md.num_row_groups,
            "rows": md.num_rows, "created_by": md.created_by}


def verify(lib_path, src, paths):
    """Checks, outside any timing, that both readers return exactly the
    source rows from both writers' files: the first row group of each file,
    read by each engine, equals the same rows of the input. Raises on a
    mismatch, so a fast wrong result can never be reported."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    lib = load_lib(str(lib_path))
    for by, path in paths.items():
        pf = pq.ParquetFile(path)
        n = pf.metadata.row_group(0).num_rows
        want = pa.Table.from_batches(
            list(common.iter_batches(common.open_dataset(src), n)))
        got = {"pyarrow": pf.read_row_group(0, use_threads=False)}
        stream = ArrowArrayStream()
        if lib.infino_parquet_read(ctypes.addressof(stream), str(path).encode(),
                                   None, 0) != 0:
            raise SystemExit("infino_parquet_read: "
                             + lib.infino_last_error().decode())
        reader = pa.RecordBatchReader._import_from_c(ctypes.addressof(stream))
        got["ours"] = pa.Table.from_batches([reader.read_next_batch()])
        reader.close()
        for e, t in got.items():
            if not t.equals(want):
                raise SystemExit(f"{e} reading the file {by} wrote: first row "
                                 f"group differs from the input")


def sync_counts(py, lib, src, outdir, rg_rows, log):
    """fsync-family calls of one small zstd write per engine (strace -f -c):
    ours publishes the file durably (fsync of file and directory)."""
    import shutil
    import tempfile

    if not shutil.which("strace"):
        return {"error": "strace not installed"}
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for e in ENGINES:
            f = pathlib.Path(tmp) / f"{e}.txt"
            path = outdir / f"sync-{e}.parquet"
            argv = ["strace", "-f", "-c", "-e", f"trace={common.SYNC_CALLS}",
                    "-o", str(f), py, __file__, "--worker", "--op", "write",
                    "--engine", e, "--codec", "zstd", "--src", str(src),
                    "--path", str(path), "--lib", str(lib), "--rg-rows",
                    str(rg_rows), "--limit-rows", str(common.BATCH_ROWS)]
            common.run_worker(argv)
            path.unlink()
            out[e] = common.parse_strace(f)
            log(f"strace {e} write: {out[e]}")
    return out


def driver(a):
    py = sys.executable
    lib = pathlib.Path(a.lib).resolve()
    if not lib.exists():
        raise SystemExit(f"{a.lib}: not built (make bench builds it)")
    cfg = MODES[a.mode]
    rows = a.rows or cfg["rows"]
    repeat = a.repeat or cfg["repeat"]
    src = common.ensure_dataset(rows)
    data_bytes, n = common.dataset_bytes(src)
    assert n == rows, (n, rows)
    outdir = common.WORK_DIR / "parquet"
    outdir.mkdir(parents=True, exist_ok=True)
    log = (lambda *m: print("parquet:", *m, file=sys.stderr, flush=True))
    log(f"{rows} rows, {data_bytes / 1e6:.0f} MB of Arrow data, "
        f"repeat {repeat}")

    src_runs = [run_op(py, lib, "source", "pyarrow", "none", src, "-",
                       a.rg_rows) for _ in range(repeat)]
    result = {
        "bench": "parquet", "mode": a.mode,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": common.machine_info(lib.parent),
        "params": {"rows": rows, "repeat": repeat, "rg_rows": a.rg_rows,
                   "page_bytes": PAGE_BYTES, "dictionary_bytes": DICT_BYTES,
                   "zstd_level": 1, "arrow_bytes": data_bytes,
                   "threads": 1, "seed": common.SEED},
        "source_seconds": common.median([r["seconds"] for r in src_runs]),
        "cases": [],
    }
    import pyarrow
    result["machine"]["pyarrow"] = pyarrow.__version__

    for codec in CODECS:
        paths = {e: outdir / f"{e}-{codec}.parquet" for e in ENGINES}
        runs = {e: [] for e in ENGINES}
        for rep in range(repeat):
            order = ENGINES if rep % 2 == 0 else ENGINES[::-1]
            for e in order:
                # Every write starts with no file at its path, as new
                # files do in use: an old file left there would be freed
                # at different times (pyarrow truncates it on open, ours
                # is replaced when the new one is published), and on a VM
                # reusing just-freed pages is much cheaper than fresh ones.
                paths[e].unlink(missing_ok=True)
                r = run_op(py, lib, "write", e, codec, src, paths[e],
                           a.rg_rows)
                if r["rows"] != rows:
                    raise SystemExit(f"{e} wrote {r['rows']} rows, not {rows}")
                runs[e].append(r)
                log(f"write {codec} {e}: {r['seconds']:.2f} s, "
                    f"peak {r['peak_rss_mb']:.0f} MB")
        verify(lib, src, paths)
        case = {"op": "write", "codec": codec, "file": None,
                "engines": {e: summarize(runs[e], data_bytes, rows)
                            for e in ENGINES},
                "files": {e: file_info(paths[e]) for e in ENGINES}}
        case["ratio"] = ratios(case["engines"]["ours"],
                               case["engines"]["pyarrow"])
        result["cases"].append(case)

        for file_by in ENGINES:
            runs = {e: [] for e in ENGINES}
            for rep in range(repeat):
                order = ENGINES if rep % 2 == 0 else ENGINES[::-1]
                for e in order:
                    r = run_op(py, lib, "read", e, codec, src, paths[file_by],
                               a.rg_rows)
                    if r["rows"] != rows:
                        raise SystemExit(
                            f"{e} read {r['rows']} rows, not {rows}")
                    runs[e].append(r)
                    log(f"read {codec} file-by-{file_by} {e}: "
                        f"{r['seconds']:.2f} s, peak {r['peak_rss_mb']:.0f} MB")
            case = {"op": "read", "codec": codec, "file": file_by,
                    "engines": {e: summarize(runs[e], data_bytes, rows)
                                for e in ENGINES}}
            case["ratio"] = ratios(case["engines"]["ours"],
                                   case["engines"]["pyarrow"])
            result["cases"].append(case)
        if not a.keep:
            for p in paths.values():
                p.unlink()

    result["sync_calls"] = sync_counts(py, lib, src, outdir, a.rg_rows, log)
    text = json.dumps(result, indent=1)
    if a.out:
        pathlib.Path(a.out).write_text(text + "\n")
    else:
        print(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=list(MODES), default="quick")
    ap.add_argument("--rows", type=int)
    ap.add_argument("--repeat", type=int)
    ap.add_argument("--rg-rows", type=int, default=RG_ROWS)
    ap.add_argument("--lib", default=str(common.ROOT / "build-bench"
                                         / "libinfino.so"))
    ap.add_argument("--out")
    ap.add_argument("--keep", action="store_true",
                    help="keep the Parquet files under bench/scratch/parquet")
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--op", choices=["write", "read", "source"])
    ap.add_argument("--engine", choices=ENGINES)
    ap.add_argument("--codec", choices=list(CODECS))
    ap.add_argument("--src")
    ap.add_argument("--limit-rows", type=int)
    ap.add_argument("--path")
    a = ap.parse_args()
    if a.worker:
        worker(a)
    else:
        driver(a)


if __name__ == "__main__":
    main()
