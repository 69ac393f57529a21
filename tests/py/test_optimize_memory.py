"""optimize() honours max_memory_mb: merging ~100 MB of text into one
superfile under a 32 MB budget keeps the process's anonymous memory (heap;
mapped input files are page cache and excluded) within the budget plus a
fixed allowance."""
from __future__ import annotations

import random
import subprocess
import sys

import pyarrow as pa

import infino

BUDGET_MB = 32
SLACK_MB = 48  # interpreter, pyarrow, allocator caches, one batch in flight

CHILD = r"""
import sys, threading, time
import infino
def anon_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0
t = infino.connect(sys.argv[1]).open_table("t")
t.count_rows()
base = anon_kb()
peak = [base]
done = False
def sample():
    while not done:
        peak[0] = max(peak[0], anon_kb())
        time.sleep(0.002)
th = threading.Thread(target=sample); th.start()
t.optimize(infino.OptimizeOptions(max_memory_mb=int(sys.argv[2])))
done = True; th.join()
print((peak[0] - base) // 1024, t.count_rows())
"""


def test_optimize_stays_within_budget(tmp_path):
    rnd = random.Random(1)
    words = [f"word{i}" for i in range(5000)]
    schema = pa.schema([("n", pa.int64()), ("body", pa.large_utf8())])
    # Twelve superfiles of 8,000 rows for optimize to merge (automatic
    # compaction would merge eight of them already, into row groups sized
    # by the appends' budget, not this optimize's).
    t = infino.connect(str(tmp_path), auto_compact=False).create_table(
        "t", schema, infino.IndexSpec().fts("body"))
    n = 0
    for _ in range(12):
        bodies = [" ".join(rnd.choices(words, k=120)) for _ in range(8000)]
        t.append(pa.table({"n": pa.array(range(n, n + len(bodies)), pa.int64()),
                           "body": pa.array(bodies, pa.large_utf8())}))
        n += len(bodies)
    before = t.bm25_search("body", "word7 word99", 10, projection=["n", "score"])
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), str(BUDGET_MB)],
                         check=True, capture_output=True, text=True).stdout.split()
    grew_mb, rows = int(out[0]), int(out[1])
    print(f"optimize under {BUDGET_MB} MB: anonymous memory grew {grew_mb} MB")
    assert rows == n
    assert grew_mb <= BUDGET_MB + SLACK_MB
    t2 = infino.connect(str(tmp_path)).open_table("t")
    assert len(list(tmp_path.rglob("*.sf.parquet"))) >= 1
    assert t2.bm25_search("body", "word7 word99", 10, projection=["n", "score"]).equals(before)
