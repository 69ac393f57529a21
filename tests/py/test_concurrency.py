"""Several writer processes on one table: commits serialize, every row is
present exactly once, _ids are unique; readers see whole commits only."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

import infino

REPEAT = int(os.environ.get("INFINO_STRESS_REPEAT", "3"))
WRITERS = 4
APPENDS = 15

WRITER = r"""
import sys
import pyarrow as pa
import infino
root, w, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t = infino.connect(root).open_table("t")
for a in range(n):
    size = 1 + (w * 31 + a * 17) % 50
    t.append([{"writer": w, "a": a, "i": i, "body": f"w{w} a{a} i{i}"} for i in range(size)])
    if a % 5 == 4:
        t.delete(f"writer = {w} AND a = {a - 1} AND i = 0")
"""


@pytest.mark.parametrize("round_", range(REPEAT))
def test_concurrent_writers(tmp_path, round_):
    import pyarrow as pa

    root = str(tmp_path / "db")
    schema = pa.schema([("writer", pa.int64()), ("a", pa.int64()), ("i", pa.int64()),
                        ("body", pa.large_utf8())])
    t = infino.connect(root).create_table("t", schema, infino.IndexSpec().fts("body"))
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, root, str(w), str(APPENDS)],
                         stderr=subprocess.PIPE)
        for w in range(WRITERS)
    ]
    # a reader polling meanwhile only ever sees whole appends
    seen_partial = []
    while any(p.poll() is None for p in procs):
        got = t.to_arrow(columns=["writer", "a", "i"]).to_pylist()
        per = {}
        for r in got:
            per.setdefault((r["writer"], r["a"]), set()).add(r["i"])
        for (w, a), idx in per.items():
            size = 1 + (w * 31 + a * 17) % 50
            want = set(range(size))
            if a % 5 == 3 and a + 1 < APPENDS:  # row 0 may be deleted later
                want_alt = want - {0}
                if idx not in (want, want_alt):
                    seen_partial.append((w, a, len(idx)))
            elif idx != want:
                seen_partial.append((w, a, len(idx)))
    for p in procs:
        _, err = p.communicate()
        assert p.returncode == 0, err.decode()[-3000:]
    assert not seen_partial
    got = t.to_arrow(columns=["_id", "writer", "a", "i"]).to_pylist()
    keys = [(r["writer"], r["a"], r["i"]) for r in got]
    assert len(keys) == len(set(keys)), "a row is present twice"
    ids = [r["_id"] for r in got]
    assert len(ids) == len(set(ids)), "duplicate _id"
    expect = set()
    for w in range(WRITERS):
        for a in range(APPENDS):
            size = 1 + (w * 31 + a * 17) % 50
            for i in range(size):
                if a % 5 == 3 and a + 1 < APPENDS and i == 0:
                    continue
                expect.add((w, a, i))
    assert set(keys) == expect
