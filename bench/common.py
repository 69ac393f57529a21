"""Shared pieces of the benchmark drivers and workers.

Imported by the driver (bench/.venv) and by the workers, which run in
either venv (ours: the project's .venv; peers: bench/.venv), so this file
uses only the standard library, numpy and pyarrow.

- The seed-schema data set: doc_id large_utf8, body large_utf8 (one unique
  id token and 200 tokens drawn from a Zipf(s=1.0) law over the closed
  vocabulary term00001..term10000, as bench-protocol.md specifies),
  embedding fixed_size_list<float32, 384> (Gaussian clusters: centres
  3.0*N(0,1), noise 0.3*N(0,1)). Generated from a seed, batch by batch,
  into an Arrow IPC file under bench/scratch/ that every engine then reads.
- Process measurements: wall and CPU time, peak RSS (VmHWM).
- Machine description for the result files.
"""
from __future__ import annotations

import json
import os
import pathlib
import platform
import re
import resource
import subprocess
import time

BENCH_DIR = pathlib.Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / "scratch"
RESULTS_DIR = BENCH_DIR / "results"

N_TOKENS = 200
VOCAB = 10_000
DIM = 384
N_CENTRES = 1024
BATCH_ROWS = 10_000
SEED = 20240601


# ---- data -------------------------------------------------------------------

def seed_schema():
    import pyarrow as pa

    return pa.schema([
        pa.field("doc_id", pa.large_utf8(), nullable=False),
        pa.field("body", pa.large_utf8(), nullable=False),
        pa.field("embedding", pa.list_(pa.float32(), DIM), nullable=False),
    ])


def _digits(values, width):
    """ASCII decimal digits of `values` (int64 array), zero-padded to
    `width`, as a (len(values), width) uint8 matrix."""
    import numpy as np

    pow10 = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (values[:, None] // pow10[None, :]) % 10 + ord("0")
    return digits.astype(np.uint8)


def _fixed_width_strings(matrix):
    """A large_utf8 array whose i-th value is row i of the uint8 `matrix`
    (every value has the same byte length): built from buffers, no Python
    string per row."""
    import numpy as np
    import pyarrow as pa

    n, width = matrix.shape
    offsets = np.arange(n + 1, dtype=np.int64) * width
    data = np.ascontiguousarray(matrix).reshape(-1)
    return pa.Array.from_buffers(
        pa.large_utf8(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


class SeedData:
    """Deterministic generator of the seed-schema rows. Batch b depends only
    on (seed, b), so any batch can be made alone."""

    def __init__(self, seed=SEED):
        import numpy as np

        self.seed = seed
        ranks = np.arange(1, VOCAB + 1, dtype=np.float64)
        cdf = np.cumsum(1.0 / ranks)             # Zipf, s = 1.0
        self.cdf = cdf / cdf[-1]
        # " termNNNNN" for every term id 1..VOCAB (row 0 unused)
        ids = np.arange(0, VOCAB + 1, dtype=np.int64)
        table = np.empty((VOCAB + 1, 10), dtype=np.uint8)
        table[:, 0] = ord(" ")
        table[:, 1:5] = np.frombuffer(b"term", dtype=np.uint8)
        table[:, 5:] = _digits(ids, 5)
        self.vocab_bytes = table
        rng = np.random.default_rng([seed, 0xC3])
        self.centres = (3.0 * rng.standard_normal((N_CENTRES, DIM))).astype(
            np.float32)

    def batch(self, b, rows=BATCH_ROWS):
        import numpy as np
        import pyarrow as pa

        rng = np.random.default_rng([self.seed, b])
        doc_id, body = self._text(rng, b, rows, N_TOKENS)

        which = rng.integers(0, N_CENTRES, size=rows)
        emb = self.centres[which] + np.float32(0.3) * rng.standard_normal(
            (rows, DIM), dtype=np.float32)
        emb = pa.FixedSizeListArray.from_arrays(
            pa.array(emb.reshape(-1), type=pa.float32()), DIM)
        return pa.RecordBatch.from_arrays(
            [_fixed_width_strings(doc_id), _fixed_width_strings(body), emb],
            schema=seed_schema())

    def _text(self, rng, b, rows, n_tokens):
        """doc_id and body of batch b as fixed-width uint8 matrices: body
        is "u<9-digit row>" then n_tokens Zipf draws " termNNNNN"."""
        import numpy as np

        first = b * BATCH_ROWS
        idx = np.arange(first, first + rows, dtype=np.int64)

        doc_id = np.empty((rows, 13), dtype=np.uint8)
        doc_id[:, :4] = np.frombuffer(b"doc-", dtype=np.uint8)
        doc_id[:, 4:] = _digits(idx, 9)

        terms = np.searchsorted(self.cdf, rng.random((rows, n_tokens)),
                                side="right") + 1
        np.minimum(terms, VOCAB, out=terms)
        body = np.empty((rows, 10 + 10 * n_tokens), dtype=np.uint8)
        body[:, 0] = ord("u")                   # unique id token u<9 digits>
        body[:, 1:10] = _digits(idx, 9)
        body[:, 10:] = self.vocab_bytes[terms].reshape(rows, 10 * n_tokens)
        return doc_id, body

    def text_batch(self, b, rows=BATCH_ROWS, n_tokens=N_TOKENS):
        """Batch b of the text-only schema (doc_id, body): the same Zipf
        law and id tokens as batch(), n_tokens per doc, no embedding.
        With n_tokens = N_TOKENS its text equals batch()'s."""
        import numpy as np
        import pyarrow as pa

        rng = np.random.default_rng([self.seed, b])
        doc_id, body = self._text(rng, b, rows, n_tokens)
        return pa.RecordBatch.from_arrays(
            [_fixed_width_strings(doc_id), _fixed_width_strings(body)],
            schema=text_schema())


def text_schema():
    import pyarrow as pa

    return pa.schema([
        pa.field("doc_id", pa.large_utf8(), nullable=False),
        pa.field("body", pa.large_utf8(), nullable=False),
    ])


def text_dataset_path(rows, n_tokens, seed=SEED):
    return WORK_DIR / f"text-{rows}-t{n_tokens}-s{seed}.arrow"


def ensure_text_dataset(rows, n_tokens, seed=SEED, log=print):
    """Like ensure_dataset, for the text-only schema (doc_id, body) with
    n_tokens Zipf tokens per doc: generated batch by batch (one batch in
    memory at a time), so 10M docs need no more memory than 10K. Batch b
    depends only on (seed, b), so the first N rows of a larger file are
    the N-row data set."""
    gen = SeedData(seed)
    return _write_dataset(
        text_dataset_path(rows, n_tokens, seed), text_schema(), rows,
        lambda b, n: gen.text_batch(b, n, n_tokens),
        f"{rows} text rows ({n_tokens} tokens)", log)


def _write_dataset(path, schema, rows, make_batch, what, log):
    """`path`, first written (when absent) as an IPC file of `rows` rows in
    batches of BATCH_ROWS, batch b being make_batch(b, rows in it);
    atomically: a half-written file is never mistaken for a complete one."""
    import pyarrow as pa

    if path.exists():
        return path
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    t0 = time.perf_counter()
    with pa.OSFile(str(tmp), "wb") as f, pa.ipc.new_file(f, schema) as w:
        for b in range((rows + BATCH_ROWS - 1) // BATCH_ROWS):
            w.write_batch(make_batch(b, min(BATCH_ROWS, rows - b * BATCH_ROWS)))
    os.replace(tmp, path)
    log(f"data: generated {what} into {path.relative_to(ROOT)} "
        f"({path.stat().st_size / 1e6:.0f} MB, "
        f"{time.perf_counter() - t0:.1f} s)")
    return path


def dataset_path(rows, seed=SEED):
    return WORK_DIR / f"seed-{rows}-s{seed}.arrow"


def ensure_dataset(rows, seed=SEED, log=print):
    """Path of the IPC file holding `rows` rows in batches of BATCH_ROWS,
    generating it first when absent (atomically: a half-written file is
    never mistaken for a complete one)."""
    gen = SeedData(seed)
    return _write_dataset(dataset_path(rows, seed), seed_schema(), rows,
                          gen.batch, f"{rows} rows", log)


def open_dataset(path):
    """A RecordBatchFileReader over `path`. Reads go through ordinary file
    reads into fresh buffers (not a memory map), so a consumer that drops
    each batch keeps only one batch of input in memory."""
    import pyarrow as pa

    return pa.ipc.open_file(pa.OSFile(str(path), "rb"))


def iter_batches(reader, limit_rows=None):
    seen = 0
    for i in range(reader.num_record_batches):
        b = reader.get_batch(i)
        if limit_rows is not None and seen + b.num_rows > limit_rows:
            b = b.slice(0, limit_rows - seen)
        if b.num_rows == 0:
            return
        seen += b.num_rows
        yield b


def dataset_bytes(path):
    """Logical (Arrow in-memory) bytes and rows of the data set: the sum of
    its buffers, the basis for every MB/s figure."""
    r = open_dataset(path)
    n = rows = 0
    for i in range(r.num_record_batches):
        b = r.get_batch(i)
        n += b.nbytes
        rows += b.num_rows
    return n, rows


# ---- process measurements ---------------------------------------------------

def peak_rss_kb():
    """This process's peak resident set size in KiB: VmHWM of
    /proc/self/status. Not getrusage's ru_maxrss: Linux carries that one
    over from the parent across fork + exec, so a worker would report at
    least the driver's RSS. ru_maxrss only where /proc is missing."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class Meter:
    """Wall time, CPU time (user + system, every thread of this process)
    and the peak RSS of this process. `start()` records the high-water mark
    reached before the measured operation (imports, setup)."""

    def start(self):
        ru = resource.getrusage(resource.RUSAGE_SELF)
        self.rss0 = peak_rss_kb()
        self.cpu0 = ru.ru_utime + ru.ru_stime
        self.t0 = time.perf_counter()

    def stop(self):
        wall = time.perf_counter() - self.t0
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "seconds": wall,
            "cpu_seconds": ru.ru_utime + ru.ru_stime - self.cpu0,
            "peak_rss_mb": peak_rss_kb() / 1024.0,
            "rss_before_mb": self.rss0 / 1024.0,
        }


def run_worker(argv, env=None, cwd=None):
    """Runs one worker process and returns the JSON object of its last
    output line. Its stderr passes through; a failure raises with it.
    numpy's OpenBLAS thread pool is capped at one thread: neither engine
    uses BLAS, and its idle threads only add noise."""
    env = dict(os.environ if env is None else env)
    env["OPENBLAS_NUM_THREADS"] = "1"
    p = subprocess.run(argv, stdout=subprocess.PIPE, env=env, cwd=cwd,
                       text=True)
    if p.returncode != 0:
        raise RuntimeError(f"worker failed ({p.returncode}): {' '.join(argv)}")
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"worker printed no result: {' '.join(argv)}")
    return json.loads(lines[-1])


SYNC_CALLS = "fsync,fdatasync,syncfs,sync_file_range,msync"


def parse_strace(path):
    """{syscall: calls} from the summary table of `strace -c`."""
    calls = {}
    for line in pathlib.Path(path).read_text().splitlines():
        m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$",
                     line)
        if m and m.group(2) != "total":
            calls[m.group(2)] = int(m.group(1))
    return calls


def median(xs):
    s = sorted(xs)
    n = len(s)
    if n == 0:
        return None
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


# ---- machine ----------------------------------------------------------------

def _sh(argv):
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True,
                              cwd=ROOT).stdout.strip()
    except OSError:
        return ""


def _cmake_cache(build_dir, key):
    try:
        text = (pathlib.Path(build_dir) / "CMakeCache.txt").read_text()
    except OSError:
        return None
    m = re.search(rf"^{re.escape(key)}:[A-Z]+=(.*)$", text, re.M)
    return m.group(1) if m else None


def machine_info(build_dir=None):
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    info = {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "git_sha": _sh(["git", "rev-parse", "HEAD"]),
        "git_dirty": bool(_sh(["git", "status", "--porcelain", "--", "src",
                               "include", "bindings"])),
    }
    if build_dir:
        cc = _cmake_cache(build_dir, "CMAKE_C_COMPILER")
        info["compiler"] = _sh([cc, "--version"]).splitlines()[0] if cc else ""
        bt = _cmake_cache(build_dir, "CMAKE_BUILD_TYPE") or ""
        info["build_type"] = bt
        info["c_flags"] = " ".join(filter(None, [
            _cmake_cache(build_dir, "CMAKE_C_FLAGS"),
            _cmake_cache(build_dir, f"CMAKE_C_FLAGS_{bt.upper()}")]))
    return info


def pct(xs, p):
    """The p-th percentile of xs (nearest rank)."""
    s = sorted(xs)
    return s[min(len(s) - 1, int(len(s) * p / 100))]


def native_sha():
    """sha256 (first 16 hex digits) of our extension module in .venv, to
    tell which build of ours a result file measured."""
    import hashlib

    for f in sorted((ROOT / ".venv").glob(
            "lib/python*/site-packages/infino/_native*.so")):
        return hashlib.sha256(f.read_bytes()).hexdigest()[:16]
    return None


def note_run_end(result, log=print):
    """Records the load at the end of a run and whether our package was
    reinstalled (make python) meanwhile: then the result mixes two builds
    of ours."""
    result["loadavg_end"] = os.getloadavg()
    if native_sha() != result["ours_native_sha256"]:
        result["ours_native_sha256_end"] = native_sha()
        log("warning: our package changed during the run")


def du(path):
    """Bytes on disk below `path` (allocated blocks)."""
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(dirpath, f)).st_blocks * 512
            except OSError:
                pass
    return total


def where(path) -> str:
    """A path for a results file without this machine's folders: relative
    to the repository when inside it, else from the nearest site-packages,
    else its last three parts under "(outside the repo)"."""
    p = pathlib.Path(path).resolve()
    try:
        return str(p.relative_to(ROOT.resolve()))
    except ValueError:
        pass
    parts = p.parts
    if "site-packages" in parts:
        return str(pathlib.Path(*parts[parts.index("site-packages"):]))
    return str(pathlib.Path("(outside the repo)", *parts[-3:]))
