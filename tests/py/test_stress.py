"""Model-based multi-process stress test of the commit protocol.

test_stress_model: worker processes act at random on one database folder
(append, update, delete by predicate, optimize, gc(0) and gc with a short
grace, fresh handles, handles left idle across many commits and then written
through, children forked to append through an inherited handle; one worker
drops and re-creates a second table and writes through handles of dropped
incarnations). The test kills workers with SIGKILL at random moments and
restarts them. Each worker journals every operation before and after it
(fsynced); a Python model of the acknowledged operations must equal what a
fresh handle reads: after each kill (the killed worker's rows, while the
others go on), at every round's checkpoint (all workers paused between
operations; now and then from a fresh process, and after an extra optimize +
gc(0)), and at the end. An operation in flight at a kill may have happened
or not, but wholly. stress_model.py holds the model, workers and checks.

The other tests pin one scenario each: test_stale_handle_gc,
test_drop_recreate, test_fork_ids (deterministic), and
test_drop_recreate_with_readers (create/append/drop in a loop while other
processes open tables; timing-dependent, fails within a few iterations when
opening races with drop).

test_stress_model runs on a local folder and on S3 (moto), GCS
(fake-gcs-server) and Azure (Azurite), the workers sharing one read cache
folder, as processes of one host do. memory:// is skipped: its tables are
private to one process, and the workers are many processes.

Environment: INFINO_STRESS_ROUNDS (rounds of 1-2.5 s; `make stress
ROUNDS=N`), INFINO_STRESS_S3_ROUNDS (the object-store runs', default 5),
INFINO_STRESS_SEED (replay a run; printed on failure),
INFINO_STRESS_WORKERS (main-table workers, default 3, plus the churn
worker), INFINO_STRESS_EXCLUDE (comma-separated operation kinds to leave
out, e.g. idle,fork,drop). Figures of a run: stress_report.json in the
test's tmp dir, and printed (pytest -s).
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

import infino
from helpers import store_server
from stress_model import (CHURN, CHURN_W, HERE, MAIN, SCHEMA, KeySpace, Run, StressFailure,
                          check_churn, check_main, env_int, fresh, indexes, rows_table)

ROUNDS = env_int("INFINO_STRESS_ROUNDS", 20)
S3_ROUNDS = env_int("INFINO_STRESS_S3_ROUNDS", 5)
WORKERS = env_int("INFINO_STRESS_WORKERS", 3)
EXCLUDE = set(filter(None, os.environ.get("INFINO_STRESS_EXCLUDE", "").split(",")))


def helper(*args: object) -> object:
    out = subprocess.run([sys.executable, str(HERE), *map(str, args)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"{args[0]} helper failed:\n{out.stderr[-3000:]}"
    return json.loads(out.stdout.strip().splitlines()[-1])


def acked(w: int, parts: list[list[int]], inc: int = 0, via: str = "main") -> KeySpace:
    """The model of worker w after acknowledged appends of `parts`."""
    recs = []
    for op, (lo, hi) in enumerate(parts):
        recs += [dict(ev="begin", op=op, kind="append", parts=[[lo, hi]], inc=inc, via=via),
                 dict(ev="ack", op=op)]
    return KeySpace(w).replay(recs)


@pytest.mark.parametrize("backend", [
    "local",
    pytest.param("memory", marks=pytest.mark.skip(
        reason="memory:// tables are private to a process; the workers are processes")),
    "s3", "gcs", "azure"])
def test_stress_model(tmp_path, request, monkeypatch, backend):
    seed = os.environ.get("INFINO_STRESS_SEED") or str(random.SystemRandom().randrange(10**9))
    rounds, root = ROUNDS, None
    if backend != "local":
        # an emulator on 127.0.0.1, the workers sharing one read cache
        # folder; short (it serves a request in milliseconds, not
        # microseconds)
        server = store_server(request, backend)
        root = server.uri(f"stress-{seed}-{os.getpid()}")
        monkeypatch.setenv("INFINO_TEST_CONNECT", json.dumps(
            {"storage_options": server.storage_options(), "cache_dir": str(tmp_path / "cache")}))
        rounds = S3_ROUNDS
    run = Run(tmp_path, seed, rounds, WORKERS, EXCLUDE, root=root)
    replay = (f"replay: INFINO_STRESS_SEED={seed} INFINO_STRESS_ROUNDS={ROUNDS} "
              f"INFINO_STRESS_S3_ROUNDS={S3_ROUNDS} INFINO_STRESS_WORKERS={WORKERS}"
              + (f" INFINO_STRESS_EXCLUDE={','.join(sorted(EXCLUDE))}" if EXCLUDE else ""))
    failure = None
    try:
        report = run.run()
    except StressFailure as e:
        failure = str(e)
        report = run.report(failed=True)
    (tmp_path / "stress_report.json").write_text(json.dumps(report, indent=1))
    print("\nstress:", json.dumps(report))
    if failure:
        pytest.fail(f"{failure}\n{replay}\nfigures: {json.dumps(report)}\n"
                    f"journals and worker logs: {tmp_path}", pytrace=False)


def test_stale_handle_gc(tmp_path):
    """A handle left idle while another process commits past a snapshot
    checkpoint and runs gc(0), then appended through: every acknowledged
    row stays visible, the table stays readable."""
    root = str(tmp_path / "db")
    infino.connect(root).create_table(MAIN, SCHEMA, indexes())
    idle = fresh(root)
    idle.append(rows_table(0, [(k, 0) for k in range(5)]))
    lo, hi = helper("writer", root, 1, 150, 50)  # 150 commits, gc(0) every 50
    idle.append(rows_table(0, [(k, 0) for k in range(5, 10)]))  # through the idle handle
    bad, _ = check_main(root, {0: acked(0, [[0, 5], [5, 10]], via="idle"),
                               1: acked(1, [[lo, hi]])},
                        "after 150 commits + gc(0) by another process, then an append "
                        "through a handle idle since before them", random.Random(1))
    assert not bad, "\n".join(bad)
    # a fresh writer goes on from there, and the idle handle once more
    helper("writer", root, 2, 5, 0)
    idle.append(rows_table(0, [(k, 0) for k in range(10, 12)]))
    bad, _ = check_main(root, {0: acked(0, [[0, 5], [5, 10], [10, 12]], via="idle"),
                                   1: acked(1, [[lo, hi]]), 2: acked(2, [[0, 15]])},
                            "after 5 more commits by a fresh writer and another append "
                            "through the idle handle", random.Random(2))
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("purge", [False, True], ids=["keep", "purge"])
def test_drop_recreate(tmp_path, purge):
    """A handle opened before drop_table must fail on writes after the drop
    (and the re-create under the same name); the re-created table holds
    only its own rows."""
    root = str(tmp_path / "db")
    db = infino.connect(root)
    old = db.create_table(CHURN, SCHEMA, indexes())
    old.append(rows_table(CHURN_W, [(k, 1) for k in range(5)]))
    lo, hi = helper("dropper", root, int(purge), 4)  # drop, create, append 4 rows
    bad = []
    try:
        old.append(rows_table(CHURN_W, [(k, 1) for k in range(5, 10)]))
    except Exception:
        pass
    else:
        bad.append("append of 5 rows through a handle opened before drop_table('churn', "
                   f"purge={purge}) and the re-create was acknowledged; the rows are in "
                   f"no table: {sorted(infino.connect(root).list_tables())} "
                   f"(churn holds {fresh(root, CHURN).count_rows()} rows)")
    try:
        st = old.delete("k >= 0")
    except Exception:
        pass
    else:
        bad.append(f"delete through a handle opened before drop_table('churn', purge={purge}) "
                   f"was acknowledged (matched {st.matched})")
    ks = KeySpace(CHURN_W).replay([
        dict(ev="begin", op=0, kind="create", inc=2), dict(ev="ack", op=0),
        dict(ev="begin", op=1, kind="append", parts=[[lo, hi]], inc=2), dict(ev="ack", op=1)])
    bad += check_churn(root, ks, "re-created table churn, read with a fresh handle")[0]
    got = sorted(db.open_table(CHURN).to_arrow(columns=["k", "v"]).to_pylist(),
                 key=lambda r: r["k"])
    if got != [{"k": k, "v": 2} for k in range(lo, hi)]:
        bad.append(f"open_table('churn') on the connection that created the first "
                   f"incarnation reads {got}")
    assert not bad, "\n".join(bad)


def test_fork_ids(tmp_path):
    """Children forked after a table was opened append through the inherited
    handle at the same moments: every row is there once, _ids are unique."""
    root = str(tmp_path / "db")
    infino.connect(root).create_table(MAIN, SCHEMA, indexes())
    out = helper("forker", root, 3, 15, 20)  # 3 children x 15 appends of 20 rows
    assert out["codes"] == [0, 0, 0], out
    models = {0: acked(0, [[0, 20]])}
    for c, parts in out["plan"].items():
        models[int(c)] = acked(int(c), parts, via="fork")
    bad, _ = check_main(root, models, "after 3 forked children appended 15 x 20 rows "
                        "each through the handle they inherited", random.Random(3))
    assert not bad, "\n".join(bad)


def test_drop_recreate_with_readers(tmp_path):
    """create_table, append, drop_table, over and over under one name, while
    other processes list and open tables: every call succeeds, and the table
    is listed exactly between its create and its drop."""
    root = str(tmp_path / "db")
    db = infino.connect(root)
    db.create_table(MAIN, SCHEMA, indexes())
    readers = [subprocess.Popen([sys.executable, str(HERE), "reader", root, "4"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    bad, step = [], ""
    try:
        for i in range(300):
            if any(r.poll() is not None for r in readers):
                break
            step = f"iteration {i}: create_table('churn')"
            t = db.create_table(CHURN, SCHEMA, indexes())
            step = f"iteration {i}: append to the new table"
            t.append(rows_table(CHURN_W, [(i, i)]))
            step = f"iteration {i}: list_tables after create + append"
            if CHURN not in infino.connect(root).list_tables():
                bad.append(f"{step}: churn is not listed")
                break
            step = f"iteration {i}: drop_table('churn', purge={i % 2 == 1})"
            db.drop_table(CHURN, purge=i % 2 == 1)
            step = f"iteration {i}: list_tables after drop"
            if CHURN in infino.connect(root).list_tables():
                bad.append(f"{step}: churn is still listed")
                break
    except Exception as e:
        bad.append(f"{step} raised {type(e).__name__}: {e} (tables now: "
                   f"{infino.connect(root).list_tables()})")
    for r in readers:
        out, err = r.communicate(timeout=60)
        if r.returncode != 0:
            bad.append(f"a reader process failed: {err[-1500:]}")
    assert not bad, "\n".join(bad)
