"""Crash safety: a writer killed with SIGKILL at random points of many
appends (and of optimizes) loses nothing it acknowledged, and nothing
half-written ever becomes visible. On a local folder and on S3 (moto), GCS
(fake-gcs-server) and Azure (Azurite): one round per mode on each object
store, the writers sharing one read cache folder, which the kills must not
leave corrupt either. memory:// is skipped: its tables live in the process
that a kill ends, so there is nothing to check afterwards."""
from __future__ import annotations

import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import pyarrow as pa
import pytest

import infino
from helpers import store_server

REPEAT = int(os.environ.get("INFINO_STRESS_REPEAT", "3"))

WRITER = r"""
import json, os, sys
import pyarrow as pa
import infino

root, ack_path, mode = sys.argv[1], sys.argv[2], sys.argv[3]
schema = pa.schema([("batch", pa.int64()), ("i", pa.int64()), ("body", pa.large_utf8())])
db = infino.connect(root, **json.loads(os.environ.get("INFINO_TEST_CONNECT", "{}")))
try:
    t = db.create_table("t", schema, infino.IndexSpec().fts("body"))
except ValueError:
    t = db.open_table("t")
ack = open(ack_path, "a")
b = int(sys.argv[4])
pa.Table.from_pylist([{"batch": 0, "i": 0, "body": ""}], schema=schema)  # warm up pyarrow
print("ready", flush=True)
while True:
    size = 1 + (b * 7919) % 300
    rows = [{"batch": b, "i": i, "body": f"batch {b} row {i} " * 3} for i in range(size)]
    t.append(rows)
    ack.write(json.dumps([b, size]) + "\n"); ack.flush(); os.fsync(ack.fileno())
    b += 1
    if mode == "optimize" and b % 3 == 0:
        t.optimize()
        ack.write(json.dumps(["optimized", b]) + "\n"); ack.flush(); os.fsync(ack.fileno())
    if mode == "delete" and b % 4 == 0:
        ack.write(json.dumps(["deleting", b - 2]) + "\n"); ack.flush(); os.fsync(ack.fileno())
        t.delete(f"batch = {b - 2}")
        ack.write(json.dumps(["deleted", b - 2]) + "\n"); ack.flush(); os.fsync(ack.fileno())
"""


def run_and_kill(root, ack: pathlib.Path, mode: str, start: int, delay: float, kw: dict):
    env = dict(os.environ, INFINO_TEST_CONNECT=json.dumps(kw))
    p = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), str(ack), mode, str(start)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    # Start the clock once the writer is in its loop, so every kill lands
    # somewhere among appends, commits, optimizes and deletes.
    assert p.stdout.readline().strip() == b"ready", p.stderr.read().decode()[-2000:]
    time.sleep(delay)
    p.send_signal(signal.SIGKILL)
    _, err = p.communicate()
    assert p.returncode == -signal.SIGKILL, err.decode()[-2000:]


def check(root, ack: pathlib.Path, kw: dict):
    acked: dict[int, int] = {}
    deleted: set[int] = set()
    maybe_deleted: set[int] = set()  # a delete was in flight at the kill
    for line in ack.read_text().splitlines():
        rec = json.loads(line)
        if rec[0] == "deleted":
            deleted.add(rec[1])
        elif rec[0] == "deleting":
            maybe_deleted.add(rec[1])
        elif rec[0] != "optimized":
            acked[rec[0]] = rec[1]
    db = infino.connect(str(root), **kw)
    t = db.open_table("t")
    got = t.to_arrow(columns=["batch", "i"])
    counts: dict[int, int] = {}
    for b in got.column("batch").to_pylist():
        counts[b] = counts.get(b, 0) + 1
    for b, size in acked.items():
        if b in deleted:
            assert counts.get(b, 0) == 0, f"deleted batch {b} visible"
        elif b in maybe_deleted:
            assert counts.get(b, 0) in (0, size), f"batch {b} half deleted"
        else:
            assert counts.get(b) == size, f"acknowledged batch {b}: {counts.get(b)} of {size} rows"
    for b, n in counts.items():
        # an unacknowledged batch (the one in flight) is all or nothing
        size = 1 + (b * 7919) % 300
        assert n == size, f"batch {b} is half visible: {n} of {size}"
    # the next writer picks up where this one stopped
    return max(list(acked) + list(counts) + [-1]) + 1


def target(backend: str, request, tmp_path: pathlib.Path):
    """Where the table lives and connect()'s keywords for it."""
    if backend == "local":
        return str(tmp_path / "db"), {}
    server = store_server(request, backend)
    return server.uri("crash"), {"storage_options": server.storage_options(),
                                 "cache_dir": str(tmp_path / "cache")}


# REPEAT rounds per mode on a local folder; one on each emulated object
# store (a request takes milliseconds there, not microseconds)
REMOTE = ["s3", "gcs", "azure"]
CASES = ([pytest.param("local", r, id=f"local-{r}") for r in range(REPEAT)]
         + [pytest.param("memory", 0, id="memory-0", marks=pytest.mark.skip(
             reason="memory:// tables die with the killed process: nothing to recover"))]
         + [pytest.param(b, 0, id=f"{b}-0") for b in REMOTE])


@pytest.mark.parametrize("mode", ["append", "optimize", "delete"])
@pytest.mark.parametrize("backend,round_", CASES)
def test_kill_writer(tmp_path, request, backend, mode, round_):
    rnd = random.Random(round_ * 1000 + hash(mode) % 1000)
    root, kw = target(backend, request, tmp_path)
    ack = tmp_path / "ack.jsonl"
    ack.touch()
    start = 0
    for _ in range(4):
        scale = 3 if backend in REMOTE else 1
        run_and_kill(root, ack, mode, start, rnd.uniform(0.05, 0.8) * scale, kw)
        start = check(root, ack, kw)
    # after all the crashes, gc and optimize leave the same rows
    t = infino.connect(str(root), **kw).open_table("t")
    before = t.to_arrow(columns=["batch", "i"]).sort_by([("batch", "ascending"), ("i", "ascending")])
    t.optimize()
    t.gc(0)
    after = t.to_arrow(columns=["batch", "i"]).sort_by([("batch", "ascending"), ("i", "ascending")])
    assert after.equals(before)
    assert t.check().n_rows == after.num_rows
