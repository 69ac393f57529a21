"""What a warm read asks S3, counted by the proxy's request log
(tests/py/s3_proxy.py), and connect's max_staleness_ms.

Strict reads (max_staleness_ms=0, the default) ask for snapshot N+1 once
per call: the handle's reader lease on N proves gc has not deleted N
(src/table/table.c, kept_until), so N itself is not checked. Without a
lease that is certainly fresh the check of N comes back. A failed check
is not taken for "absent". Another process's commit is seen on the next
call.

With max_staleness_ms=N a warm read sends nothing while the last check is
younger than N ms; a commit of another connection shows after that; a
commit through the same connection shows at once; writes always check.
"""
from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pyarrow as pa
import pytest

import infino

DIM = 4
SCHEMA = pa.schema([("id", pa.int64()), ("text", pa.utf8()), ("v", pa.list_(pa.float32(), DIM))])


def rows(start, n):
    return pa.Table.from_pylist(
        [{"id": i, "text": f"w{i % 7} common", "v": [float(i % 5), 1.0, 0.5, 0.25]}
         for i in range(start, start + n)], schema=SCHEMA)


def spec():
    return infino.IndexSpec().fts("text").vector("v", DIM, 2, "l2")


@pytest.fixture
def uri(moto_s3):
    """A new table with 100 rows, written without the proxy."""
    u = f"s3://{moto_s3.bucket}/fresh-{uuid.uuid4().hex[:10]}"
    db = infino.connect(u, storage_options=moto_s3.storage_options())
    db.create_table("docs", SCHEMA, spec()).append(rows(0, 100))
    return u


def connect(proxy, uri, tmp_path, **kw):
    return infino.connect(uri, storage_options=proxy.storage_options(),
                          cache_dir=str(tmp_path / "cache"), **kw)


def searches(t):
    return [lambda: t.bm25_search("text", "common", 10),
            lambda: t.vector_search("v", [1.0, 1.0, 0.5, 0.25], 10)]


def snapshot_heads(log):
    return [p.rsplit("/", 1)[1] for m, p, *_ in log if m == "HEAD" and "/snapshots/" in p]


def test_warm_search_checks_one_snapshot(uri, s3_proxy, tmp_path):
    t = connect(s3_proxy, uri, tmp_path).open_table("docs")
    for f in searches(t):
        f()  # cold: lease, check, fetch
    for f in searches(t) * 3:
        s3_proxy.reset_log()
        f()
        log = s3_proxy.log()
        # version 1 is current: one HEAD of version 2, nothing else
        assert snapshot_heads(log) == ["00000000000000000002"], log
        assert len(log) == 1, log


def test_without_a_fresh_lease_both_versions_are_checked(uri, s3_proxy, tmp_path, monkeypatch):
    # reader leases off: nothing proves gc kept version 1
    monkeypatch.setenv("INFINO_READ_LEASE_SECS", "0")
    t = connect(s3_proxy, uri, tmp_path).open_table("docs")
    monkeypatch.delenv("INFINO_READ_LEASE_SECS")
    for f in searches(t):
        f()
    s3_proxy.reset_log()
    searches(t)[0]()
    assert snapshot_heads(s3_proxy.log()) == ["00000000000000000002", "00000000000000000001"]

    # a 3 s lease vouches for 1 s (a third): then the call checks both and
    # renews the lease, after which one check suffices again
    monkeypatch.setenv("INFINO_READ_LEASE_SECS", "3")
    t = connect(s3_proxy, uri, tmp_path).open_table("docs")
    monkeypatch.delenv("INFINO_READ_LEASE_SECS")
    for f in searches(t):
        f()
    s3_proxy.reset_log()
    searches(t)[0]()
    assert snapshot_heads(s3_proxy.log()) == ["00000000000000000002"]
    time.sleep(1.2)
    s3_proxy.reset_log()
    searches(t)[0]()
    log = s3_proxy.log()
    assert snapshot_heads(log) == ["00000000000000000002", "00000000000000000001"], log
    assert [m for m, p, *_ in log if "/leases/read-" in p] == ["PUT"], log
    s3_proxy.reset_log()
    searches(t)[0]()
    assert snapshot_heads(s3_proxy.log()) == ["00000000000000000002"]


def test_failed_check_is_not_absence(uri, moto_s3, s3_proxy, tmp_path, monkeypatch):
    """HEADs of snapshots answer 503 (beyond the retries): the reader must
    not take that for "nothing newer" and keep its old view."""
    monkeypatch.setenv("INFINO_HTTP_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("INFINO_HTTP_RETRY_BASE_MS", "1")
    t = connect(s3_proxy, uri, tmp_path).open_table("docs")
    assert t.count_rows() == 100
    infino.connect(uri, storage_options=moto_s3.storage_options()).open_table("docs").append(
        rows(100, 5))
    s3_proxy.configure(rules=[{"kind": "status", "method": "HEAD", "path": "/snapshots/",
                               "status": 503, "code": "SlowDown", "times": -1}])
    try:
        n = t.count_rows()
    except RuntimeError:
        n = None  # failing is fine; answering 100 is not
    assert n in (None, 105)


APPEND = r"""
import sys, pyarrow as pa, infino
uri, key, secret, endpoint, start = sys.argv[1:6]
opts = {"aws_endpoint": endpoint, "aws_allow_http": "true", "aws_access_key_id": key,
        "aws_secret_access_key": secret, "aws_region": "us-east-1"}
schema = pa.schema([("id", pa.int64()), ("text", pa.utf8()), ("v", pa.list_(pa.float32(), 4))])
start = int(start)
infino.connect(uri, storage_options=opts).open_table("docs").append(pa.Table.from_pylist(
    [{"id": i, "text": f"w{i % 7} common", "v": [1.0, 1.0, 0.5, 0.25]} for i in range(start, start + 5)],
    schema=schema))
"""


def append_elsewhere(moto_s3, uri, start):
    """Appends 5 rows from another process; returns once acknowledged."""
    subprocess.run([sys.executable, "-c", APPEND, uri, moto_s3.key, moto_s3.secret,
                    moto_s3.endpoint, str(start)], check=True, timeout=120)


def test_strict_reader_sees_another_process_next_call(uri, moto_s3, s3_proxy, tmp_path):
    t = connect(s3_proxy, uri, tmp_path, max_staleness_ms=0).open_table("docs")
    assert t.count_rows() == 100
    t.bm25_search("text", "common", 10)
    for k in range(3):
        append_elsewhere(moto_s3, uri, 100 + 5 * k)
        assert t.count_rows() == 105 + 5 * k
        assert t.count("text", "common") == 105 + 5 * k


def test_bounded_staleness(uri, moto_s3, s3_proxy, tmp_path):
    stale_ms = 3000
    db = connect(s3_proxy, uri, tmp_path, max_staleness_ms=stale_ms)
    t = db.open_table("docs")
    t0 = time.monotonic()
    assert t.count_rows() == 100  # checks (first call)
    for f in searches(t):
        f()
    # warm: no request at all
    s3_proxy.reset_log()
    for f in searches(t) * 5:
        f()
    assert t.count("text", "common") == 100
    assert s3_proxy.log() == []

    # another process commits: unseen until the interval has passed
    append_elsewhere(moto_s3, uri, 100)
    n = t.count_rows()
    if time.monotonic() - t0 < stale_ms / 1000 * 0.9:  # not too slow a machine
        assert n == 100
    time.sleep(max(0.0, stale_ms / 1000 - (time.monotonic() - t0)) + 0.05)
    s3_proxy.reset_log()
    assert t.count_rows() == 105
    assert snapshot_heads(s3_proxy.log()), "the interval passed: the call must check"

    # own commits show at once, also in another handle of the connection
    other = db.open_table("docs")
    assert other.count_rows() == 105
    t.append(rows(200, 3))
    s3_proxy.reset_log()
    assert t.count_rows() == 108
    assert other.count_rows() == 108
    assert t.count("text", "common") == 108
    t1 = time.monotonic()  # the delete below checks: the interval restarts
    t.delete("id = 200")
    assert t.count_rows() == 107 and other.count_rows() == 107
    s3_proxy.reset_log()
    assert t.count_rows() == 107
    if time.monotonic() - t1 < stale_ms / 1000 * 0.9:
        assert s3_proxy.log() == []  # and warm again

    # writes always check: a delete sees rows another process just added
    append_elsewhere(moto_s3, uri, 300)
    n = t.count_rows()
    if time.monotonic() - t1 < stale_ms / 1000 * 0.9:  # not too slow a machine
        assert n == 107  # within the interval: not yet
    else:
        assert n in (107, 112)
    t.delete("id >= 300")
    assert t.count_rows() == 107
    fresh = infino.connect(uri, storage_options=moto_s3.storage_options()).open_table("docs")
    assert fresh.count_rows() == 107


def test_bounded_staleness_still_renews_after_a_check(uri, s3_proxy, tmp_path, monkeypatch):
    """A lease due for renewal (a third of its lifetime: 1 s of 3 here)
    sends the call the checking way even within max_staleness_ms: the
    renewal follows a check of both versions."""
    monkeypatch.setenv("INFINO_READ_LEASE_SECS", "3")
    t = connect(s3_proxy, uri, tmp_path, max_staleness_ms=60_000).open_table("docs")
    monkeypatch.delenv("INFINO_READ_LEASE_SECS")
    for f in searches(t):
        f()
    s3_proxy.reset_log()
    searches(t)[0]()
    assert s3_proxy.log() == []
    time.sleep(1.2)
    s3_proxy.reset_log()
    searches(t)[0]()
    log = s3_proxy.log()
    assert snapshot_heads(log) == ["00000000000000000002", "00000000000000000001"], log
    assert [m for m, p, *_ in log if "/leases/read-" in p] == ["PUT"], log
    s3_proxy.reset_log()
    searches(t)[1]()
    assert s3_proxy.log() == []


@pytest.mark.parametrize("bad", [-1, "10", 1.5, 2**64])
def test_max_staleness_ms_is_checked(tmp_path, bad):
    with pytest.raises((TypeError, OverflowError)):
        infino.connect(str(tmp_path / "db"), max_staleness_ms=bad)


def test_local_folder_bounded_staleness(tmp_path):
    """The option means the same on a local folder."""
    root = str(tmp_path / "db")
    w = infino.connect(root)
    w.create_table("docs", SCHEMA, spec()).append(rows(0, 10))
    r = infino.connect(root, max_staleness_ms=60_000).open_table("docs")
    assert r.count_rows() == 10
    w.open_table("docs").append(rows(10, 5))
    assert r.count_rows() == 10  # a minute of staleness allowed
    r.append(rows(20, 1))  # a write checks, then its own commit shows
    assert r.count_rows() == 16
    assert infino.connect(root).open_table("docs").count_rows() == 16
