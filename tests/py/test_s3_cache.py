"""The local read cache of remote tables (connect's cache_dir,
cache_budget_bytes and cold_fetch_mode) on all three bucket backends: S3
(moto), GCS (fake-gcs-server) and Azure Blob (Azurite), each behind the
counting proxy of tests/py/s3_proxy.py, whose request log tells what went
over the network.

Warm queries fetch no data: once superfiles and tombstones are cached, a
query's only requests are the snapshot checks every call makes (is there a
newer snapshot?), on the same connection and after a restart. Every cold
fetch mode answers as local disk does; range_only keeps nothing; a corrupt
entry is fetched again and repaired; processes share a cache folder; the
budget holds.
"""
from __future__ import annotations

import os
import pathlib
import random
import subprocess
import sys
import urllib.parse
import uuid

import pyarrow as pa
import pytest

import infino
from cache_files import disk_bytes, entries, wait_complete

BACKENDS = ["s3", "gcs", "azure"]
SERVER = {"s3": "moto_s3", "gcs": "fake_gcs", "azure": "azurite"}
PROXY = {"s3": "s3_proxy", "gcs": "gcs_proxy", "azure": "azure_proxy"}

DIM = 8
SCHEMA = pa.schema(
    [("id", pa.int64()), ("text", pa.utf8()), ("tag", pa.utf8()), ("v", pa.list_(pa.float32(), DIM))]
)


def rows(n, start, seed):
    rnd = random.Random(seed)
    return [
        {
            "id": i,
            "text": f"w{i % 97} " + " ".join(f"t{rnd.randrange(50000)}" for _ in range(25)),
            "tag": "even" if i % 2 == 0 else "odd",
            "v": [rnd.random() for _ in range(DIM)],
        }
        for i in range(start, start + n)
    ]


def spec():
    return infino.IndexSpec().fts("text").vector("v", DIM, 4, "l2")


def answers(db, t):
    def ids(tbl):
        return sorted(tbl.column("id").to_pylist())

    return {
        "bm25": ids(t.bm25_search("text", "w7 t123", 20, projection=["id"])),
        "vector": ids(t.vector_search("v", [0.5] * DIM, 10, nprobe=4, projection=["id"])),
        "count": t.count("text", "w13"),
        "rows": t.count_rows(),
        "scan": sorted(t.to_arrow(columns=["id"]).column("id").to_pylist())[::97],
        "sql": db.query_sql("SELECT tag, count(*) AS n, sum(id) AS s FROM docs GROUP BY tag ORDER BY tag")
        .to_pylist(),
    }


def request_path(target):
    """The object path of a logged request target, decoded (GCS puts the
    whole object name in one path segment, '/' as %2F), and its query."""
    path, _, query = target.partition("?")
    return urllib.parse.unquote(path), query


def is_data(method, target):
    """A request for an object's bytes (GET; on GCS only media downloads,
    alt=media: a GET without it reads the object's metadata)."""
    path, query = request_path(target)
    return method == "GET" and (not path.startswith("/storage/v1/") or "alt=media" in query)


def data_gets(log):
    """Data GETs of superfiles and tombstones: the bytes a cache serves."""
    return [r for r in log if is_data(r[0], r[1]) and any(
        f"/{folder}/" in request_path(r[1])[0] for folder in ("superfiles", "tombstones"))]


def is_snapshot_check(method, target):
    """Is there a newer snapshot? HEAD on S3 and Azure, an objects.get of
    metadata on GCS."""
    return "/snapshots/" in request_path(target)[0] and not is_data(method, target)


def fill(db):
    t = db.create_table("docs", SCHEMA, spec())
    for b in range(3):
        t.append(rows(8000, b * 8000, b))
    t.delete("id % 50 = 7")


@pytest.fixture(scope="module")
def want(tmp_path_factory):
    """The answers the table's rows give on local disk."""
    local = infino.connect(str(tmp_path_factory.mktemp("local")))
    fill(local)
    return answers(local, local.open_table("docs"))


@pytest.fixture(scope="module", params=BACKENDS)
def table(request, want):
    """(backend, uri, want): a table on that backend's server (3
    superfiles of a few MiB, a delete's tombstones), written directly
    (not through the proxy)."""
    backend = request.param
    server = request.getfixturevalue(SERVER[backend])
    if backend == "s3":
        uri = f"s3://{server.bucket}/cache-{uuid.uuid4().hex[:10]}"
    else:
        uri = server.uri("cache")
    fill(infino.connect(uri, storage_options=server.storage_options()))
    return backend, uri, want


@pytest.fixture
def proxy(table, request):
    """The counting proxy in front of the table's server."""
    return request.getfixturevalue(PROXY[table[0]])


def connect(proxy, uri, cache, **kw):
    return infino.connect(uri, storage_options=proxy.storage_options(), cache_dir=str(cache), **kw)


def test_warm_queries_fetch_no_data(table, proxy, tmp_path):
    backend, uri, want = table
    cache = tmp_path / "cache"
    db = connect(proxy, uri, cache)
    t = db.open_table("docs")
    assert answers(db, t) == want
    cold = data_gets(proxy.log())
    assert cold
    print(f"{backend}: cold answers(): {len(cold)} data GETs")
    es = wait_complete(cache)
    assert {pathlib.PurePosixPath(e.key).parent.name for e in es} == {"superfiles", "tombstones"}

    # warm, same connection: no data, only the per-call snapshot checks
    proxy.reset_log()
    assert answers(db, t) == want
    log = proxy.log()
    assert data_gets(log) == []
    # searches: the snapshot check and the reader lease; query_sql also
    # reads the catalog and lists the table's snapshots (listings name
    # their prefix in the query)
    meta = ("/snapshots/", "/leases/read-", "/_catalog/")
    assert all(any(m in urllib.parse.unquote(p) for m in meta) for _, p, *_ in log), log
    print(f"{backend}: warm answers(): {len(log)} requests, "
          f"{len(data_gets(log))} data GETs")
    proxy.reset_log()
    t.bm25_search("text", "w7 t123", 20)
    t.vector_search("v", [0.5] * DIM, 10)
    log = proxy.log()
    assert log and all(is_snapshot_check(m, p) for m, p, *_ in log), log
    print(f"{backend}: warm bm25 + vector search: {len(log)} requests, all snapshot checks")

    # a restart (new connection, same folder): metadata only
    proxy.reset_log()
    db2 = connect(proxy, uri, cache)
    t2 = db2.open_table("docs")
    assert answers(db2, t2) == want
    assert data_gets(proxy.log()) == []
    print(f"{backend}: after a restart: {len(proxy.log())} requests, 0 data GETs")


@pytest.mark.parametrize(
    "mode", ["lazy_foreground_with_background_fill", "hybrid_with_prefetch", "range_only",
             "lazy", "HYBRID", "range"]
)
def test_cold_fetch_modes(table, proxy, tmp_path, mode):
    _, uri, want = table
    cache = tmp_path / "cache"
    db = connect(proxy, uri, cache, cold_fetch_mode=mode)
    assert answers(db, db.open_table("docs")) == want
    first = len(data_gets(proxy.log()))
    name = mode.lower()
    if name.startswith("range"):
        assert entries(cache) == []  # nothing kept
    elif name.startswith("lazy"):
        wait_complete(cache)
    else:  # hybrid keeps what it fetched, fills nothing more
        es = entries(cache)
        assert es and sum(e.present for e in es) > 0
    # a second connection: lazy and hybrid fetch no more than before
    proxy.reset_log()
    db2 = connect(proxy, uri, cache, cold_fetch_mode=mode)
    assert answers(db2, db2.open_table("docs")) == want
    again = len(data_gets(proxy.log()))
    if name.startswith("range"):
        assert again > 0
    else:
        assert again == 0, (first, again)


def test_corrupt_entries_are_fetched_again(table, proxy, tmp_path):
    _, uri, want = table
    cache = tmp_path / "cache"
    db = connect(proxy, uri, cache)
    assert answers(db, db.open_table("docs")) == want
    es = wait_complete(cache)
    del db
    # flip one byte in the middle of every superfile's data
    damaged = 0
    for e in es:
        if e.size > 0 and "/superfiles/" in e.key:
            with open(e.path, "r+b") as f:
                at = e.data_off + e.size // 2
                f.seek(at)
                b = f.read(1)
                f.seek(at)
                f.write(bytes([b[0] ^ 0x5A]))
            damaged += 1
    assert damaged >= 3
    proxy.reset_log()
    db = connect(proxy, uri, cache)
    assert answers(db, db.open_table("docs")) == want
    refetched = data_gets(proxy.log())
    assert refetched
    del db
    # repaired in place: the next connection fetches nothing
    proxy.reset_log()
    db = connect(proxy, uri, cache)
    assert answers(db, db.open_table("docs")) == want
    assert data_gets(proxy.log()) == []


READER = r"""
import json, sys
import infino
uri, cache, opts = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
db = infino.connect(uri, storage_options=opts, cache_dir=cache)
t = db.open_table("docs")
ids = sorted(t.to_arrow(columns=["id"]).column("id").to_pylist())
hits = sorted(t.bm25_search("text", "w7 t123", 20, projection=["id"]).column("id").to_pylist())
print(json.dumps([len(ids), sum(ids), hits]))
"""


def test_processes_share_a_cache_folder(table, proxy, tmp_path):
    """Three processes scan cold through one cache folder at once (two of
    them race to create and fill the same entries); all read right and
    the entries end whole."""
    import json

    _, uri, want = table
    cache = tmp_path / "cache"
    opts = json.dumps(proxy.storage_options())
    procs = [
        subprocess.Popen([sys.executable, "-c", READER, uri, str(cache), opts],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    got = {out for out, _ in outs}
    assert len(got) == 1
    n, total, hits = json.loads(got.pop())
    assert n == want["rows"] and hits == want["bm25"]
    es = wait_complete(cache)
    assert len({e.key for e in es}) == len(es)


def test_budget_bounds_the_folder(table, proxy, tmp_path):
    _, uri, want = table
    cache = tmp_path / "cache"
    budget = 6 << 20  # about two of the three superfiles
    db = connect(proxy, uri, cache, cache_budget_bytes=budget)
    t = db.open_table("docs")
    for _ in range(2):
        assert answers(db, t) == want
    # background fills may still be landing: let them, then look
    import time

    time.sleep(1.0)
    assert disk_bytes(cache) <= budget + (1 << 20)
    assert entries(cache)


def test_connect_cache_arguments(tmp_path, moto_s3):
    # upstream's checks: mode names case-insensitive, unknown ones ValueError
    with pytest.raises(ValueError, match="cold_fetch_mode"):
        infino.connect(str(tmp_path / "a"), cold_fetch_mode="eager")
    with pytest.raises(OverflowError):
        infino.connect(str(tmp_path / "a"), cache_budget_bytes=-1)
    with pytest.raises(TypeError):
        infino.connect(str(tmp_path / "a"), cache_dir=3)
    # local folders and memory:// take and ignore them
    infino.connect(str(tmp_path / "b"), cache_dir=str(tmp_path / "c"), cold_fetch_mode="Lazy")
    infino.connect("memory://", cache_dir=str(tmp_path / "c"), cold_fetch_mode="range")
    assert not (tmp_path / "c").exists()
    # an object store creates the folder at connect, touching no network
    uri = f"s3://{moto_s3.bucket}/args-{uuid.uuid4().hex[:8]}"
    infino.connect(uri, storage_options=moto_s3.storage_options(),
                   cache_dir=tmp_path / "d" / "e", cache_budget_bytes=1 << 30)
    assert (tmp_path / "d" / "e").is_dir()
    # a cache_dir that is a file fails at connect, naming it
    (tmp_path / "f").write_text("x")
    with pytest.raises(RuntimeError, match="cache_dir"):
        infino.connect(uri, storage_options=moto_s3.storage_options(), cache_dir=str(tmp_path / "f"))
