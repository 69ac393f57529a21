"""Many hosts on one object-store table: four processes, each with its
own read cache (as separate machines would have), commit appends to one
table at the same time and read it between commits; one of them
optimizes and another collects garbage meanwhile. On S3 (moto), GCS
(fake-gcs-server) and Azure (Azurite), each behind the proxy of
tests/py/s3_proxy.py.

Checked: every row lands exactly once; a host's next call after another
host's append was acknowledged sees that append whole (its long-lived
table handle learns every new snapshot); no host ever sees part of a
batch.

moto's `If-None-Match: *` checks, then writes, without a lock: two
writers racing for one snapshot version could both "win". AWS S3's
conditional writes are atomic. The proxy (tests/py/s3_proxy.py) stands in
for that atomicity by forwarding conditional writes of one key one at a
time: test scaffolding, not an engine feature. fake-gcs-server's
ifGenerationMatch=0 and Azurite's If-None-Match: * are atomic, so those
runs forward as they come.
"""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import time

import pyarrow as pa
import pytest

import infino
from helpers import store_proxy, store_server

HOSTS = 4
CACHED = {"s3", "gcs", "azure"}  # backends whose reads go through the local read cache
ROUNDS = 6
ROWS = 40

SCHEMA = pa.schema([("host", pa.int64()), ("round", pa.int64()), ("i", pa.int64()),
                    ("body", pa.utf8())])

HOST = r"""
import json, os, pathlib, sys, time
import pyarrow as pa
import infino

uri, opts, cache, me, acks, rounds, rows = sys.argv[1:8]
me, rounds, rows = int(me), int(rounds), int(rows)
opts = json.loads(opts)
acks = pathlib.Path(acks)
schema = pa.schema([("host", pa.int64()), ("round", pa.int64()), ("i", pa.int64()),
                    ("body", pa.utf8())])
db = infino.connect(uri, storage_options=opts, cache_dir=cache)
t = db.open_table("t")  # one handle for the whole run
ack = open(acks / f"{me}.jsonl", "a")
while not (acks / "go").exists():
    time.sleep(0.01)

def acknowledged():
    out = set()
    for p in acks.glob("*.jsonl"):
        for line in p.read_text().splitlines():
            out.add(tuple(json.loads(line)))
    return out

def check(where):
    # what other hosts acknowledged before this call began must be there
    before = acknowledged()
    d = t.to_arrow(columns=["host", "round"]).to_pydict()
    counts = {}
    for h, r in zip(d["host"], d["round"]):
        counts[(h, r)] = counts.get((h, r), 0) + 1
    for key in before:
        assert counts.get(key) == rows, f"host {me} {where}: acked batch {key} has {counts.get(key)} rows"
    for key, n in counts.items():
        assert n == rows, f"host {me} {where}: batch {key} has {n} of {rows} rows"
    return len(counts)

for r in range(rounds):
    batch = [{"host": me, "round": r, "i": i, "body": f"host{me} round{r} row{i} common"}
             for i in range(rows)]
    t.append(pa.Table.from_pylist(batch, schema=schema))
    ack.write(json.dumps([me, r]) + "\n"); ack.flush(); os.fsync(ack.fileno())
    check(f"after round {r}")
    if me == 0 and r == ROUNDS_HALF:
        t.optimize()
        check("after optimize")
    if me == 1 and r == ROUNDS_HALF + 1:
        t.gc(0)
        check("after gc")
    # the search path too: a term every row has
    n = t.count("body", "common")
    assert n >= len(acknowledged()) * rows, (n, len(acknowledged()))
print("ok", flush=True)
"""


@pytest.mark.parametrize("backend", ["s3", "gcs", "azure"])
def test_four_hosts_commit_to_one_table(request, tmp_path, backend):
    server, proxy = store_server(request, backend), store_proxy(request, backend)
    proxy.configure(serialize=backend == "s3")  # moto's conditional PUT races
    uri = server.uri("hosts")
    opts = proxy.storage_options()
    db = infino.connect(uri, storage_options=opts, cache_dir=str(tmp_path / "cache-main"))
    db.create_table("t", SCHEMA, infino.IndexSpec().fts("body"))
    acks = tmp_path / "acks"
    acks.mkdir()
    script = HOST.replace("ROUNDS_HALF", str(ROUNDS // 2))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, uri, json.dumps(opts), str(tmp_path / f"cache-{h}"),
             str(h), str(acks), str(ROUNDS), str(ROWS)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for h in range(HOSTS)
    ]
    time.sleep(0.5)  # let them all connect, then start together
    (acks / "go").touch()
    outs = [p.communicate(timeout=600) for p in procs]
    for h, (p, (out, err)) in enumerate(zip(procs, outs)):
        assert p.returncode == 0 and out.strip() == "ok", f"host {h}: {err[-4000:]}"

    # every row exactly once, seen by a fresh host and by the creator's
    # long-lived connection alike
    want = sorted((h, r, i) for h in range(HOSTS) for r in range(ROUNDS) for i in range(ROWS))
    for conn in (infino.connect(uri, storage_options=server.storage_options()), db):
        t = conn.open_table("t")
        d = t.to_arrow(columns=["host", "round", "i"]).to_pydict()
        assert sorted(zip(d["host"], d["round"], d["i"])) == want
        ids = t.to_arrow(columns=["_id"]).column("_id").to_pylist()
        assert len(set(ids)) == len(ids)
    assert t.check().n_rows == len(want)
    # the hosts did race: some conditional writes lost ("exists": 412;
    # Azure's BlobAlreadyExists: 409)
    log = proxy.log()
    assert any(m in ("PUT", "POST") and "/snapshots/" in obj and o in (409, 412)
               for m, _, o, obj in log)
    # each host filled its own cache (the backends with a read cache: GCS
    # and Azure read around it so far)
    if backend in CACHED:
        for h in range(HOSTS):
            assert list((tmp_path / f"cache-{h}").glob("*.ice"))
