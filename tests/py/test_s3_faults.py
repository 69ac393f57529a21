"""Tables on object stores under injected faults, on S3 (moto), GCS
(fake-gcs-server) and Azure (Azurite): the proxy of tests/py/s3_proxy.py
sits between the engine and the emulator and drops connections (before a
request reaches it, and after it applied the request but before the
answer returns), answers 500 and 503 with the backend's own error body
(S3 InternalError / SlowDown, GCS backendError, Azure InternalError /
ServerBusy; also after applying the request), truncates answers and
stalls them.

With faults the retries can absorb, the table workload (create, appends,
delete, update, optimize, gc, drop) runs against a Python model: after
every operation a clean connection (straight to the emulator) reads exactly the
model's rows, so no acknowledged write is lost and nothing partial is
visible; an operation that fails leaves the state before or after it.
With faults that outlast the retries, the error names the object and the
HTTP status (or the transport failure) and the attempts; the table is
intact once the faults stop.

The workload's objects are small: every GCS upload is one request and
every Azure blob one Put Blob. Faults inside a GCS resumable session are
not tested here: fake-gcs-server completes a session on a status query
("Content-Range: bytes */*"), where GCS answers 308 with what it has, so
recovery from a lost chunk answer cannot pass against it (the engine then
fails the write cleanly: "the upload completed after a chunk that was not
the last").
"""
from __future__ import annotations

import os
import re
import zlib

import pyarrow as pa
import pytest

import infino
from helpers import store_proxy, store_server

BACKENDS = ["s3", "gcs", "azure"]
# The method of a write: GCS uploads are POSTs (a resumable session's
# chunks PUTs), S3 and Azure writes PUTs.
WRITE = {"s3": "PUT", "gcs": "POST|PUT", "azure": "PUT"}
# Each backend's words for "internal error" and "slow down".
ERR_500 = {"s3": "InternalError", "gcs": "backendError", "azure": "InternalError"}
ERR_503 = {"s3": "SlowDown", "gcs": "backendError", "azure": "ServerBusy"}

SCHEMA = pa.schema([("id", pa.int64()), ("text", pa.utf8()), ("tag", pa.utf8())])
WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()


def make_rows(ids, salt=""):
    return [
        {"id": i, "text": f"{WORDS[i % 10]} {WORDS[(i * 3) % 10]} r{i}{salt}", "tag": f"g{i % 3}"}
        for i in ids
    ]


@pytest.fixture
def fast_retries(monkeypatch):
    """Retries without long sleeps, and stalls detected in about 1 s."""
    monkeypatch.setenv("INFINO_HTTP_RETRY_BASE_MS", "5")
    monkeypatch.setenv("INFINO_HTTP_RETRY_CAP_MS", "40")
    monkeypatch.setenv("INFINO_HTTP_STALL_TIMEOUT_MS", "1000")
    monkeypatch.setenv("INFINO_HTTP_MAX_ATTEMPTS", "8")


def state(clean_db):
    """What a fresh handle sees: {id: (text, tag)}, or None without the
    table."""
    if "docs" not in clean_db.list_tables():
        return None
    t = clean_db.open_table("docs")
    d = t.to_arrow(columns=["id", "text", "tag"]).to_pydict()
    got = {}
    for i, x, g in zip(d["id"], d["text"], d["tag"]):
        assert i not in got, f"row {i} twice"
        got[i] = (x, g)
    return got


class Model:
    """The rows the acknowledged operations leave; an operation that
    failed may have happened or not, and what a clean reader sees then
    decides."""

    def __init__(self, clean_db):
        self.clean = clean_db
        self.rows = None  # no table
        self.failures = []

    def run(self, name, fn, after):
        """Runs fn(); `after(rows)` gives the rows once it happened."""
        before = None if self.rows is None else dict(self.rows)
        want = after(None if before is None else dict(before))
        try:
            fn()
        except (RuntimeError, ValueError, KeyError) as e:
            self.failures.append((name, str(e)))
            seen = state(self.clean)
            assert seen in (before, want), f"{name} failed ({e}) and left a third state"
            self.rows = seen
            return False
        seen = state(self.clean)
        assert seen == want, f"after {name}: {diff(want, seen)}"
        self.rows = want
        return True


def diff(want, seen):
    if want is None or seen is None:
        return f"want {want is not None and len(want)} rows, see {seen is not None and len(seen)}"
    lost = sorted(set(want) - set(seen))[:10]
    extra = sorted(set(seen) - set(want))[:10]
    changed = sorted(i for i in set(want) & set(seen) if want[i] != seen[i])[:10]
    return f"lost {lost}, extra {extra}, changed {changed}"


def workload(db, clean, model: Model):
    """create, appends, delete, update, optimize, gc, drop."""
    handle = {}

    def create():
        handle["t"] = db.create_table("docs", SCHEMA, infino.IndexSpec().fts("text"))

    def table():
        if "t" not in handle:  # create failed but happened
            handle["t"] = db.open_table("docs")
        return handle["t"]

    model.run("create", create, lambda r: {})
    next_id = 0
    for b in range(4):
        ids = list(range(next_id, next_id + 150))
        next_id += 150
        new = make_rows(ids)
        model.run(f"append {b}", lambda: table().append(new),
                  lambda r, new=new: {**r, **{x["id"]: (x["text"], x["tag"]) for x in new}})
    model.run("delete", lambda: table().delete("id % 7 = 3"),
              lambda r: {i: v for i, v in r.items() if i % 7 != 3})
    up = make_rows([42], salt=" updated")
    model.run("update", lambda: table().update("id = 42", up),
              lambda r: {**r, 42: (up[0]["text"], up[0]["tag"])} if 42 in r else r)
    model.run("optimize", lambda: table().optimize(), lambda r: r)
    model.run("gc", lambda: table().gc(0), lambda r: r)
    t = table()
    hits = t.bm25_search("text", "gamma", 1000, projection=["id"]).column("id").to_pylist()
    assert sorted(hits) == sorted(i for i, (x, _) in model.rows.items() if "gamma" in x.split())
    assert t.check().n_rows == len(model.rows)
    model.run("drop", lambda: db.drop_table("docs", purge=True), lambda r: None)


def faults(backend):
    return {
        "drop_before": {"kind": "drop_before", "p": 0.12, "times": -1},
        "drop_after": {"kind": "drop_after", "p": 0.12, "times": -1},
        "500": {"kind": "status", "status": 500, "code": ERR_500[backend], "p": 0.12,
                "times": -1},
        "503_slowdown": {"kind": "status", "status": 503, "code": ERR_503[backend], "p": 0.12,
                         "times": -1},
        "500_after_applied": {"kind": "status", "status": 500, "code": ERR_500[backend],
                              "after": True, "p": 0.12, "times": -1},
        "truncate": {"kind": "truncate", "p": 0.12, "times": -1},
        "stall": {"kind": "stall", "secs": 2.5, "p": 0.5, "times": 3, "skip": 20},
    }


@pytest.mark.parametrize("fault", list(faults("s3")))
@pytest.mark.parametrize("backend", BACKENDS)
def test_workload_under_faults(request, fast_retries, tmp_path, backend, fault):
    server, proxy = store_server(request, backend), store_proxy(request, backend)
    uri = server.uri(f"faults-{fault}")
    # the proxy's choices are seeded: INFINO_FAULT_SEED replays a run
    seed = int(os.environ.get("INFINO_FAULT_SEED", "0")) + zlib.crc32(fault.encode()) % 1000
    proxy.configure([faults(backend)[fault]], seed=seed)
    db = infino.connect(uri, storage_options=proxy.storage_options(),
                        cache_dir=str(tmp_path / "cache"))
    clean = infino.connect(uri, storage_options=server.storage_options())
    model = Model(clean)
    workload(db, clean, model)
    fired = proxy.fired()[0]
    assert fired > 0, "no fault was injected"
    # retries absorb faults this rare: every operation went through
    assert model.failures == [], model.failures


@pytest.mark.parametrize("backend", BACKENDS)
def test_faults_outlasting_retries_name_object_and_status(request, monkeypatch, backend):
    monkeypatch.setenv("INFINO_HTTP_RETRY_BASE_MS", "5")
    monkeypatch.setenv("INFINO_HTTP_RETRY_CAP_MS", "20")
    monkeypatch.setenv("INFINO_HTTP_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("INFINO_HTTP_STALL_TIMEOUT_MS", "1000")
    server, proxy = store_server(request, backend), store_proxy(request, backend)
    uri = server.uri("outlast")
    db = infino.connect(uri, storage_options=proxy.storage_options())
    t = db.create_table("docs", SCHEMA, infino.IndexSpec().fts("text"))
    t.append(make_rows(range(100)))
    clean = infino.connect(uri, storage_options=server.storage_options())
    want = state(clean)

    # reads of a superfile: 503 and the backend's "slow down", every
    # attempt (a new connection: nothing cached)
    proxy.configure([{"kind": "status", "status": 503, "code": ERR_503[backend],
                      "method": "GET", "path": r"/superfiles/", "times": -1}])
    t2 = infino.connect(uri, storage_options=proxy.storage_options()).open_table("docs")
    with pytest.raises(RuntimeError) as e:
        t2.bm25_search("text", "alpha", 5)
    msg = str(e.value)
    assert re.search(re.escape(uri) + r"/tables/docs-[0-9a-f-]+/superfiles/[0-9a-f]+\.sf\.parquet",
                     msg), msg
    assert f"HTTP 503 {ERR_503[backend]}" in msg and "3 attempts" in msg, msg

    # writes of a superfile: 500 and the backend's "internal error"
    proxy.configure([{"kind": "status", "status": 500, "code": ERR_500[backend],
                      "method": WRITE[backend], "path": r"/superfiles/", "times": -1}])
    with pytest.raises(RuntimeError) as e:
        t.append(make_rows(range(100, 110)))
    msg = str(e.value)
    assert "/superfiles/" in msg and f"HTTP 500 {ERR_500[backend]}" in msg, msg
    assert "3 attempts" in msg, msg

    # the commit itself: connections dropped after the store applied it
    # (the ambiguous case), every attempt. The read-back decides: the
    # snapshot landed, so the append succeeded after all; nothing
    # half-written.
    proxy.configure([{"kind": "drop_after", "method": WRITE[backend],
                      "path": r"/snapshots/\d+$", "times": -1}])
    try:
        t.append(make_rows(range(200, 210)))
        landed = True
    except RuntimeError as err:  # unknown outcome, read-back failed too
        landed = False
        assert "/snapshots/" in str(err), err
    proxy.configure()
    seen = state(clean)
    grown = {**want, **{r["id"]: (r["text"], r["tag"]) for r in make_rows(range(200, 210))}}
    assert seen == grown if landed else seen in (want, grown)
    want = seen

    # every connection dropped before its request reaches S3: a transport
    # error naming the object and the attempts (existence checks answer
    # "absent" on failure, by design, and the protocol falls back to
    # listing, which fails)
    proxy.configure([{"kind": "drop_before", "times": -1}])
    with pytest.raises(RuntimeError) as e:
        t.delete("id = 5")
    msg = str(e.value)
    assert uri + "/" in msg and "attempts" in msg, msg

    # truncated answers, every attempt
    proxy.configure([{"kind": "truncate", "method": "GET", "path": r"/superfiles/",
                      "times": -1}])
    t3 = infino.connect(uri, storage_options=proxy.storage_options()).open_table("docs")
    with pytest.raises((RuntimeError, OSError)) as e:  # a stream's error: OSError
        t3.to_arrow()
    msg = str(e.value)
    assert "/superfiles/" in msg and "3 attempts" in msg, msg

    # faults gone: the table is what the acknowledged writes made it
    proxy.configure()
    assert state(clean) == want
    assert t.check().n_rows == len(want)
    t.append(make_rows(range(300, 305)))
    assert len(state(clean)) == len(want) + 5


@pytest.mark.parametrize("what", ["superfiles/", "tombstones/", r"snapshots/\d+$",
                                  r"_catalog/\d+$", "floor/"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_lost_answer_of_a_create_if_absent_write(request, fast_retries, backend, what):
    """The store applies a create-if-absent write, the answer is lost, the
    retry meets "exists": the writer reads back, finds its own bytes, and
    the operation succeeds (before, superfiles and tombstones failed here
    on S3)."""
    server, proxy = store_server(request, backend), store_proxy(request, backend)
    uri = server.uri("lost")
    db = infino.connect(uri, storage_options=proxy.storage_options())
    clean = infino.connect(uri, storage_options=server.storage_options())
    rule = {"kind": "drop_after", "method": WRITE[backend], "path": what, "times": 1}
    proxy.configure([rule])
    t = db.create_table("docs", SCHEMA, infino.IndexSpec().fts("text"))
    t.append(make_rows(range(50)))
    t.append(make_rows(range(50, 80)))
    assert t.delete("id < 10").n_tombstoned == 10
    t.optimize()
    t.gc(0)
    assert proxy.fired() == [1]
    assert sorted(state(clean)) == list(range(10, 80))
