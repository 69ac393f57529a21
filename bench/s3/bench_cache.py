"""Cold and warm query latency of a table on S3 (moto on 127.0.0.1) with
the read cache, against the same table on local disk.

  PYTHONPATH=build-py/pkg .venv/bin/python bench/s3/bench_cache.py [ROWS]

Prints one JSON line per (storage, phase, query): p50/min in ms over the
repetitions, and the requests a call made (S3, through the counting proxy
of tests/py/s3_proxy.py; the proxy adds ~0.3 ms a request, so the S3 timings
are taken straight against moto and the counts through the proxy).
Phases: cold (fresh connection, empty cache), warm (same connection, cache
filled), restart (new connection on the filled cache: first call, then p50).
"""
from __future__ import annotations

import json
import pathlib
import random
import statistics
import sys
import tempfile
import time
import uuid

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "tests" / "py"))

import pyarrow as pa  # noqa: E402

import infino  # noqa: E402
from cache_files import wait_complete  # noqa: E402
from s3_proxy import ProxyHandle  # noqa: E402
from s3_server import MotoS3  # noqa: E402

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
DIM = 32
REPS = 20
SCHEMA = pa.schema([("id", pa.int64()), ("text", pa.utf8()), ("tag", pa.utf8()),
                    ("v", pa.list_(pa.float32(), DIM))])


def batches():
    rnd = random.Random(7)
    for start in range(0, ROWS, 25_000):
        n = min(25_000, ROWS - start)
        yield pa.Table.from_pylist([
            {"id": i, "text": " ".join(f"w{rnd.randrange(20000)}" for _ in range(12)),
             "tag": f"t{i % 10}", "v": [rnd.random() for _ in range(DIM)]}
            for i in range(start, start + n)], schema=SCHEMA)


QUERIES = {
    "bm25": lambda db, t: t.bm25_search("text", "w17 w4242", 10),
    "vector": lambda db, t: t.vector_search("v", [0.5] * DIM, 10, nprobe=4),
    "count": lambda db, t: t.count("text", "w99"),
    "sql_agg": lambda db, t: db.query_sql("SELECT tag, count(*), avg(id) FROM docs GROUP BY tag"),
    "scan": lambda db, t: t.to_arrow(columns=["id", "tag"]),
}


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def emit(**kw):
    print(json.dumps(kw), flush=True)


def measure(storage, phase, db, t, proxy=None):
    for name, q in QUERIES.items():
        first = timed(lambda: q(db, t))
        xs = [timed(lambda: q(db, t)) for _ in range(REPS)]
        emit(storage=storage, phase=phase, query=name, first_ms=round(first, 2),
             p50_ms=round(statistics.median(xs), 3), min_ms=round(min(xs), 3))


def requests_per_call(proxy, db, t):
    out = {}
    for name, q in QUERIES.items():
        proxy.reset_log()
        q(db, t)
        log = proxy.log()
        data = [r for r in log if "/superfiles/" in r[1] or "/tombstones/" in r[1]]
        out[name] = {"requests": len(log), "data_requests": len(data),
                     "kinds": sorted({r[0] for r in log})}
    return out


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench-s3-"))
    moto = MotoS3.start()
    proxy = ProxyHandle.start(moto)
    try:
        local = infino.connect(str(tmp / "local"))
        uri = f"s3://{moto.bucket}/bench-{uuid.uuid4().hex[:8]}"
        s3 = infino.connect(uri, storage_options=moto.storage_options())
        spec = infino.IndexSpec().fts("text").vector("v", DIM, 16, "l2")
        lt, st = local.create_table("docs", SCHEMA, spec), s3.create_table("docs", SCHEMA, spec)
        t0 = time.perf_counter()
        for b in batches():
            lt.append(b)
        emit(storage="local", phase="ingest", seconds=round(time.perf_counter() - t0, 2))
        t0 = time.perf_counter()
        for b in batches():
            st.append(b)
        emit(storage="s3", phase="ingest", seconds=round(time.perf_counter() - t0, 2))

        # local: a fresh connection (the files are in the page cache)
        db = infino.connect(str(tmp / "local"))
        measure("local", "warm", db, db.open_table("docs"))

        # S3, cache: cold, then warm on the same connection
        cache = tmp / "cache"
        db = infino.connect(uri, storage_options=moto.storage_options(), cache_dir=str(cache))
        t = db.open_table("docs")
        for name, q in QUERIES.items():
            emit(storage="s3", phase="cold", query=name, first_ms=round(timed(lambda: q(db, t)), 2))
        t0 = time.perf_counter()
        es = wait_complete(cache, timeout=300)
        emit(storage="s3", phase="fill", seconds=round(time.perf_counter() - t0, 2),
             cached_bytes=sum(e.size for e in es), entries=len(es))
        measure("s3", "warm", db, t)
        # a restart on the filled cache
        db = infino.connect(uri, storage_options=moto.storage_options(), cache_dir=str(cache))
        measure("s3", "restart", db, db.open_table("docs"))
        # S3 without a cache (range reads into scratch files per open file)
        db = infino.connect(uri, storage_options=moto.storage_options())
        measure("s3-nocache", "same-connection", db, db.open_table("docs"))
        # what a warm call asks of S3
        db = infino.connect(uri, storage_options=proxy.storage_options(), cache_dir=str(cache))
        t = db.open_table("docs")
        for q in QUERIES.values():
            q(db, t)
        emit(storage="s3", phase="warm", requests=requests_per_call(proxy, db, t))
        # one HEAD against moto, for scale
        import boto3  # noqa: F401
        c = moto.client()
        key = next(k for k in moto.keys(uri.split("/", 3)[3] + "/") if "/snapshots/" in k)
        xs = [timed(lambda: c.head_object(Bucket=moto.bucket, Key=key)) for _ in range(30)]
        emit(storage="s3", phase="one HEAD via boto3", p50_ms=round(statistics.median(xs), 3))
    finally:
        proxy.stop()
        moto.stop()


if __name__ == "__main__":
    main()
