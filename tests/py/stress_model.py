"""The model, the worker processes and the checks of tests/py/test_stress.py.

Tables and key spaces
  "main": worker w (0..n-1) owns the rows with column w = w and only ever
  appends, updates and deletes those; its k are a per-worker sequence, v
  counts the updates of a row. body and vec are functions of (w, k, v), so a
  row read back can be checked field by field. optimize and gc are run by
  every worker and must never change what anyone reads.
  "churn": one worker (w = CHURN_W) creates, fills, drops and re-creates it;
  there v is the incarnation (which create_table made the row's table).

Journals
  Every worker appends JSON lines to its own journal, each flushed and
  fsynced: {"ev": "begin", "op": n, "kind": ...} before an operation and
  {"ev": "ack", "op": n} once it returned. After a SIGKILL the test reads the
  worker's rows (stable: nobody else writes them), decides whether the
  operation it began took effect, all or nothing, and writes
  {"ev": "resolve", "op": n, "applied": [...]} into the journal before the
  worker restarts. Replaying a journal gives the exact rows the worker owns.

Run as a program, this file is a worker (`worker main|churn ...`), a
read-only checker in a fresh process (`check ...`) or one of the scripted
helpers of the scenario tests (`writer`, `forker`, `dropper`).
"""
from __future__ import annotations

import faulthandler
import hashlib
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time
import traceback
from collections import Counter
from typing import Any, Optional

import pyarrow as pa

import infino

HERE = pathlib.Path(__file__).resolve()
MAIN, CHURN = "main", "churn"
CHURN_W = 99
FORK_TICK = 0.03  # forked children start their n-th append at start + n * FORK_TICK
DIM = 8
SCHEMA = pa.schema(
    [
        pa.field("w", pa.int64(), nullable=False),
        pa.field("k", pa.int64(), nullable=False),
        pa.field("v", pa.int64(), nullable=False),
        pa.field("body", pa.large_utf8(), nullable=False),
        pa.field("vec", pa.list_(pa.float32(), DIM), nullable=False),
    ]
)
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo "
         "lima mike november oscar papa quebec romeo sierra tango").split()


def indexes() -> infino.IndexSpec:
    return infino.IndexSpec().fts("body").vector("vec", DIM, "l2")


def _h(w: int, k: int, v: int) -> bytes:
    return hashlib.blake2b(f"{w}:{k}:{v}".encode(), digest_size=16).digest()


def body_of(w: int, k: int, v: int) -> str:
    h = _h(w, k, v)
    words = " ".join(WORDS[b % len(WORDS)] for b in h[: 2 + h[15] % 6])
    return f"wtok{w} key{w}x{k} ver{v} {words}"


def vec_of(w: int, k: int, v: int) -> list[float]:
    # multiples of 1/64 in [-2, 2): exact in float32
    return [(b - 128) / 64.0 for b in _h(w, k, v)[:DIM]]


def rows_table(w: int, kv: list[tuple[int, int]]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"w": w, "k": k, "v": v, "body": body_of(w, k, v), "vec": vec_of(w, k, v)}
         for k, v in kv],
        schema=SCHEMA,
    )


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


# ---- journals ----------------------------------------------------------------


class Journal:
    def __init__(self, path: pathlib.Path | str):
        self.f = open(path, "a")

    def log(self, **rec: Any) -> None:
        self.f.write(json.dumps(rec, separators=(",", ":")) + "\n")
        self.f.flush()
        os.fsync(self.f.fileno())


def read_journal(path: pathlib.Path | str) -> list[dict]:
    out = []
    try:
        text = pathlib.Path(path).read_text()
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line torn by the kill: never acked
            pass
    return out


# ---- the model of one worker's rows -----------------------------------------


def _ranges(parts: list[list[int]]) -> str:
    return ", ".join(f"k {lo}..{hi - 1}" for lo, hi in parts)


class KeySpace:
    """The rows one worker owns, replayed from its journal.

    live: k -> (v, op that wrote this version); gone: k -> op that deleted
    it. For "churn", v is the incarnation and `exists` says whether the table
    exists. `pending` is a begun operation without outcome (the worker was
    killed or raised), to be resolved against what is read."""

    def __init__(self, w: int):
        self.w = w
        self.live: dict[int, tuple[int, int]] = {}
        self.gone: dict[int, int] = {}
        self.ops: dict[int, dict] = {}
        self.outcome: dict[int, str] = {}
        self.next_k = 0
        self.next_op = 0
        self.next_inc = 1
        self.exists = False
        self.inc = 0
        self.pending: Optional[dict] = None
        self.violations: list[tuple[str, str]] = []  # (kind, message)
        self.errors: list[dict] = []
        self.lives = 0

    # -- what an op does
    def parts(self, rec: dict) -> list[tuple[str, dict, dict]]:
        """(label, before, after) per independently atomic part of `rec`;
        before/after map the keys the part touches to v (absent: missing)."""
        kind, out = rec["kind"], []
        if kind in ("append", "fork_append"):
            v = rec.get("inc", 0)
            for i, (lo, hi) in enumerate(rec["parts"]):
                out.append((f"batch {i} (k {lo}..{hi - 1})", {},
                            {k: v for k in range(lo, hi)}))
        elif kind == "update":
            before = {k: self.live[k][0] for k in rec["keys"] if k in self.live}
            out.append(("", before, dict(zip(rec["keys"], rec["vs"]))))
        elif kind == "delete":
            before = {k: self.live[k][0] for k in range(rec["lo"], rec["hi"]) if k in self.live}
            out.append(("", before, {}))
        return out

    def apply(self, rec: dict, applied: list[bool]) -> None:
        kind, op = rec["kind"], rec["op"]
        if kind == "create" and applied and applied[0]:
            self.exists, self.inc, self.live = True, rec["inc"], {}
        elif kind == "drop" and applied and applied[0]:
            self.exists, self.live = False, {}
        for (label, before, after), a in zip(self.parts(rec), applied):
            if not a:
                continue
            for k in before:
                if k not in after:
                    self.live.pop(k, None)
                    self.gone[k] = op
            for k, v in after.items():
                self.live[k] = (v, op)

    def replay(self, records: list[dict]) -> "KeySpace":
        for r in records:
            ev = r["ev"]
            if ev == "start":
                self.lives += 1
            elif ev == "begin":
                if self.pending is not None:
                    raise AssertionError(
                        f"worker {self.w}: op {r['op']} began while op "
                        f"{self.pending['op']} was unresolved (journal bug)")
                self.pending = r
                self.ops[r["op"]] = r
                self.next_op = r["op"] + 1
                for lo, hi in r.get("parts", []) + r.get("stale_parts", []):
                    self.next_k = max(self.next_k, hi)
                if "inc" in r and r["kind"] == "create":
                    self.next_inc = max(self.next_inc, r["inc"] + 1)
            elif ev in ("ack", "resolve"):
                p = self.pending
                assert p is not None and p["op"] == r["op"], (self.w, r)
                if ev == "ack":
                    applied = [True] * max(1, len(self.parts(p)))
                    self.outcome[p["op"]] = "acknowledged"
                else:
                    applied = r["applied"]
                    self.outcome[p["op"]] = (
                        f"not acknowledged, found {'applied' if all(applied) else 'not applied' if not any(applied) else 'applied in part ' + str(applied)}")
                self.apply(p, applied)
                self.pending = None
            elif ev == "error":
                self.errors.append(r)
            elif ev == "violation":
                self.violations.append((r.get("what", "?"), r["msg"]))
        return self

    def describe(self, op: Optional[int]) -> str:
        if op is None:
            return "never written"
        r = self.ops.get(op, {})
        kind = r.get("kind", "?")
        what = kind
        if kind in ("append", "fork_append"):
            what += f" {_ranges(r['parts'])}"
        elif kind == "update":
            what += f" k in {r['keys']} to v {r['vs']}"
        elif kind == "delete":
            what += f" k in [{r['lo']}, {r['hi']})"
        elif kind in ("create", "drop"):
            what += f" of incarnation {r.get('inc')}" + (" with purge" if r.get("purge") else "")
        if r.get("via"):
            what += f" via {r['via']} handle"
        if r.get("parked_op") is not None:
            what += f" parked at op {r['parked_op']}"
        return f"op {op} ({what}; {self.outcome.get(op, 'pending')})"

    def state(self) -> dict[int, int]:
        return {k: v for k, (v, _) in self.live.items()}


def compare(ks: KeySpace, observed: dict[int, list[int]], where: str,
            resolve: bool = False) -> tuple[list[str], Optional[list[bool]]]:
    """Compares what was read (k -> list of v) with the model. With a pending
    op and resolve=True, each part may be applied or not, but wholly.
    Returns (violations, applied flags of the pending op's parts)."""
    who = f"w={ks.w}"
    bad: list[str] = []
    for k, vs in sorted(observed.items()):
        if len(vs) > 1:
            bad.append(f"{where}: {who} k={k} is present {len(vs)} times (v {vs}); "
                       f"last written by {ks.describe(ks.live.get(k, (0, None))[1])}")
    touched: set[int] = set()
    applied: Optional[list[bool]] = None
    if ks.pending is not None and resolve:
        applied = []
        for label, before, after in ks.parts(ks.pending):
            keys = set(before) | set(after)
            touched |= keys
            got = {k: observed[k][0] for k in keys if k in observed}
            if got == after:
                applied.append(True)
            elif got == before:
                applied.append(False)
            else:
                diff = sorted(k for k in keys if got.get(k) != after.get(k))
                bad.append(
                    f"{where}: {who} {ks.describe(ks.pending['op'])} {label} is half "
                    f"applied: before {dict(sorted(before.items()))}, after "
                    f"{dict(sorted(after.items()))}, read {dict(sorted(got.items()))} "
                    f"(differs from 'after' at k {diff[:10]})")
                applied.append(False)
    want = ks.state()
    lines = []
    for k in sorted(set(want) | set(observed)):
        if k in touched:
            continue
        got = observed.get(k, [])
        if k not in want:
            if k in ks.gone:
                lines.append(f"k={k} v={got} is visible, but was deleted by {ks.describe(ks.gone[k])}")
            else:
                lines.append(f"k={k} v={got} is visible, but no acknowledged op of "
                             f"this worker wrote it"
                             + (f" (pending: {ks.describe(ks.pending['op'])})" if ks.pending else ""))
        elif not got:
            lines.append(f"k={k} is missing: expected v={want[k]} written by "
                         f"{ks.describe(ks.live[k][1])}")
        elif got[0] != want[k]:
            lines.append(f"k={k}: expected v={want[k]} written by "
                         f"{ks.describe(ks.live[k][1])}, read v={got[0]}")
    if lines:
        more = f" ... and {len(lines) - 12} more" if len(lines) > 12 else ""
        bad.append(f"{where}: {who}: {len(lines)} rows differ from the model "
                   f"({len(want)} expected, {sum(map(len, observed.values()))} read):\n    "
                   + "\n    ".join(lines[:12]) + more)
    return bad, applied


# ---- reading a table back ----------------------------------------------------


def connect(root: str) -> infino.Connection:
    """infino.connect with the keywords INFINO_TEST_CONNECT holds (JSON:
    storage options and a read cache folder when the database is on S3);
    worker processes inherit it."""
    return infino.connect(root, **json.loads(os.environ.get("INFINO_TEST_CONNECT", "{}")))


def fresh(root: str, name: str = MAIN) -> infino.Table:
    return connect(root).open_table(name)


def read_rows(t: infino.Table, where: Optional[str] = None) -> pa.Table:
    return t.to_arrow(where=where)


def check_rows(tbl: pa.Table, where: str) -> tuple[dict[int, dict[int, list[int]]], list[str]]:
    """Groups rows by w -> k -> [v]; checks content and _id uniqueness."""
    bad: list[str] = []
    per: dict[int, dict[int, list[int]]] = {}
    ids = tbl.column("_id").to_pylist()
    ws, ks, vs = (tbl.column(c).to_pylist() for c in ("w", "k", "v"))
    bodies, vecs = tbl.column("body").to_pylist(), tbl.column("vec").to_pylist()
    content = []
    for i in range(tbl.num_rows):
        w, k, v = ws[i], ks[i], vs[i]
        per.setdefault(w, {}).setdefault(k, []).append(v)
        if bodies[i] != body_of(w, k, v):
            content.append(f"w={w} k={k} v={v}: body {bodies[i]!r}, expected {body_of(w, k, v)!r}")
        elif vecs[i] != vec_of(w, k, v):
            content.append(f"w={w} k={k} v={v}: vec {vecs[i]}, expected {vec_of(w, k, v)}")
    if content:
        bad.append(f"{where}: {len(content)} rows have wrong content: " + "; ".join(content[:5]))
    dup = [(i, n) for i, n in Counter(ids).items() if n > 1]
    if dup:
        keys_of: dict[Any, list] = {}
        for i in range(tbl.num_rows):
            keys_of.setdefault(ids[i], []).append((ws[i], ks[i]))
        ex = "; ".join(f"_id {i} x{n}: (w,k) {keys_of[i]}" for i, n in dup[:5])
        bad.append(f"{where}: {len(dup)} _ids are not unique ({sum(n for _, n in dup)} rows "
                   f"share them, of {tbl.num_rows}): {ex}")
    return per, bad


def check_indexes(t: infino.Table, w: int, obs: dict[int, list[int]], where: str,
                  rng: random.Random) -> list[str]:
    """token_match, bm25_search, count and a filtered vector search for the
    worker's own token agree with the rows a scan read."""
    bad = []
    want = sorted((k, v) for k, vs in obs.items() for v in vs)
    tok = f"wtok{w}"
    got = t.token_match("body", tok, projection=["k", "v"])
    got = sorted(zip(got.column("k").to_pylist(), got.column("v").to_pylist()))
    if got != want:
        bad.append(f"{where}: w={w}: token_match('{tok}') gives {len(got)} rows, the scan "
                   f"{len(want)}: only in token_match {sorted(set(got) - set(want))[:8]}, "
                   f"only in scan {sorted(set(want) - set(got))[:8]}")
    got = t.bm25_search("body", tok, len(want) + 5, projection=["k", "v"])
    got = sorted(zip(got.column("k").to_pylist(), got.column("v").to_pylist()))
    if got != want:
        bad.append(f"{where}: w={w}: bm25_search('{tok}') gives {len(got)} rows, the scan "
                   f"{len(want)}: only in bm25 {sorted(set(got) - set(want))[:8]}, "
                   f"only in scan {sorted(set(want) - set(got))[:8]}")
    n = t.count("body", tok)
    if n != len(want):
        bad.append(f"{where}: w={w}: count('{tok}') = {n}, the scan read {len(want)} rows")
    for k, v in rng.sample(want, min(2, len(want))):
        got = t.vector_search("vec", vec_of(w, k, v), 1, filter_column="body",
                              filter_query=f"key{w}x{k}", projection=["w", "k", "v"]).to_pylist()
        if got != [{"w": w, "k": k, "v": v}]:
            bad.append(f"{where}: vector_search for (w={w}, k={k}, v={v}) filtered to "
                       f"key{w}x{k} gives {got}")
    return bad


def check_main(root: str, models: dict[int, KeySpace], where: str, rng: random.Random,
               only: Optional[int] = None, resolve: bool = False,
               ) -> tuple[list[str], dict[int, Optional[list[bool]]]]:
    """Checks table main with a fresh handle against `models`. With `only`,
    only that worker's rows (the others are being written meanwhile)."""
    bad: list[str] = []
    resolved: dict[int, Optional[list[bool]]] = {}
    try:
        t = fresh(root)
        if only is None:
            tbl = read_rows(t)
            n = t.count_rows()
            if n != tbl.num_rows:
                bad.append(f"{where}: count_rows() = {n}, but a scan read {tbl.num_rows} rows")
        else:
            tbl = read_rows(t, where=f"w = {only}")
        per, b = check_rows(tbl, where)
        bad += b
        for w in sorted(set(per) - set(models)):
            bad.append(f"{where}: {sum(map(len, per[w].values()))} rows of unknown w={w}")
        for w in sorted(models) if only is None else [only]:
            obs = per.get(w, {})
            b, resolved[w] = compare(models[w], obs, where, resolve)
            bad += b
            if only is None:
                sub = read_rows(t, where=f"w = {w}")
                sub_per, _ = check_rows(sub, where)
                if sub_per.get(w, {}) != obs:
                    bad.append(f"{where}: w={w}: to_arrow(where='w = {w}') reads "
                               f"{sub.num_rows} rows, different from the full scan's "
                               f"{sum(map(len, obs.values()))}")
            bad += check_indexes(t, w, obs, where, rng)
        if only is None:
            counts = {r["w"]: r["n"] for r in connect(root).query_sql(
                "SELECT w, count(*) AS n FROM main GROUP BY w").to_pylist()}
            scan = {w: sum(map(len, o.values())) for w, o in per.items()}
            if counts != scan:
                bad.append(f"{where}: query_sql GROUP BY w counts {counts}, the scan {scan}")
    except Exception as e:  # a fresh handle must always be able to read
        bad.append(f"{where}: reading table main with a fresh handle raised "
                   f"{type(e).__name__}: {e}")
    return bad, resolved


def check_churn(root: str, ks: KeySpace, where: str, resolve: bool = False,
                ) -> tuple[list[str], Optional[list[bool]]]:
    bad: list[str] = []
    applied: Optional[list[bool]] = None
    try:
        db = connect(root)
        exists = CHURN in db.list_tables()
        p = ks.pending if resolve else None
        if p is not None and p["kind"] in ("create", "drop"):
            applied = [exists == (p["kind"] == "create")]
            ks.apply(p, applied)
            ks.pending = None
        if exists != ks.exists:
            bad.append(f"{where}: table churn {'exists' if exists else 'does not exist'}, "
                       f"but the model says it {'does' if ks.exists else 'does not'} "
                       f"(last create/drop: {ks.describe(max((o for o, r in ks.ops.items() if r['kind'] in ('create', 'drop')), default=None))})")
            return bad, applied
        if not exists:
            return bad, applied
        tbl = read_rows(db.open_table(CHURN))
        per, b = check_rows(tbl, where)
        bad += b
        obs = per.pop(CHURN_W, {})
        if per:
            bad.append(f"{where}: churn holds rows of w {sorted(per)}")
        old = sorted((k, v) for k, vs in obs.items() for v in vs if v != ks.inc)
        if old:
            bad.append(f"{where}: re-created table churn (incarnation {ks.inc}) shows "
                       f"{len(old)} rows of earlier incarnations: (k, inc) {old[:10]}")
        b, a = compare(ks, obs, where + " [churn]", resolve)
        bad += b
        if applied is None:
            applied = a
    except Exception as e:
        bad.append(f"{where}: reading table churn with a fresh handle raised "
                   f"{type(e).__name__}: {e}")
    return bad, applied


# ---- workers -----------------------------------------------------------------


class Worker:
    """One worker process: replays its journal, then runs random operations
    until told to stop, pausing between operations when asked."""

    def __init__(self, role: str, root: str, jpath: str, w: int, seed: str, life: int,
                 ctl: str, exclude: set[str]):
        self.role, self.root, self.w, self.ctl = role, root, w, pathlib.Path(ctl)
        self.exclude = exclude
        self.ks = KeySpace(w).replay(read_journal(jpath))
        if self.ks.pending is not None:
            sys.stderr.write(f"worker {w}: op {self.ks.pending['op']} unresolved at start\n")
            sys.exit(5)
        self.rng = random.Random(f"{seed}:{w}:{life}")
        self.j = Journal(jpath)
        self.j.log(ev="start", pid=os.getpid(), life=life)
        self.db = connect(root)
        self.t = None
        if role == MAIN or self.ks.exists:
            self.t = self.db.open_table(MAIN if role == MAIN else CHURN)
        self.n_ops = 0
        self.idle: Optional[dict] = None
        self.stale: list[tuple[infino.Table, int]] = []

    # -- control
    def control(self) -> None:
        pause, stop = self.ctl / "pause", self.ctl / "stop"
        marker = self.ctl / f"paused.{self.w}"
        acked = None
        while True:
            if stop.exists():
                sys.exit(0)
            try:
                gen = pause.read_text()
            except FileNotFoundError:
                return
            if gen and gen != acked:
                tmp = self.ctl / f".paused.{self.w}.tmp"
                tmp.write_text(gen)
                os.replace(tmp, marker)
                acked = gen
            time.sleep(0.005)

    def begin(self, kind: str, **kw: Any) -> int:
        op = self.ks.next_op
        rec = dict(ev="begin", op=op, kind=kind, **kw)
        self.j.log(**rec)
        self.ks.replay([rec])
        return op

    def ack(self, op: int, **kw: Any) -> None:
        rec = dict(ev="ack", op=op, **kw)
        self.j.log(**rec)
        self.ks.replay([rec])

    def violation(self, op: int, what: str, msg: str) -> None:
        """Something the worker saw that breaks the contract; the run goes
        on (the model still holds) and the test fails at its end."""
        self.j.log(ev="violation", op=op, what=what, msg=f"worker {self.w} op {op}: {msg}")

    def new_keys(self, n: int) -> list[int]:
        lo = self.ks.next_k
        return [lo, lo + n]

    def run(self) -> None:
        while True:
            self.control()
            try:
                if self.role == MAIN:
                    self.step_main()
                else:
                    self.step_churn()
            except SystemExit:
                raise
            except BaseException as e:
                op = self.ks.pending["op"] if self.ks.pending else -1
                kind = self.ks.pending["kind"] if self.ks.pending else "?"
                self.j.log(ev="error", op=op, kind=kind,
                           msg=f"{type(e).__name__}: {e}"[:1500],
                           tb=traceback.format_exc()[-1500:])
                sys.exit(3)
            self.n_ops += 1

    def pick(self, weights: dict[str, int]) -> str:
        kinds = [k for k in weights if k not in self.exclude and weights[k] > 0]
        return self.rng.choices(kinds, [weights[k] for k in kinds])[0]

    # -- main table
    def append_via(self, t: infino.Table, via: str, n: int, **kw: Any) -> None:
        lo, hi = self.new_keys(n)
        tbl = rows_table(self.w, [(k, 0) for k in range(lo, hi)])
        op = self.begin("append", parts=[[lo, hi]], via=via, **kw)
        t.append(tbl)
        self.ack(op)

    def update_via(self, t: infino.Table, via: str, keys: list[int], **kw: Any) -> None:
        vs = [self.ks.live[k][0] + 1 for k in keys]
        tbl = rows_table(self.w, list(zip(keys, vs)))
        op = self.begin("update", keys=keys, vs=vs, via=via, **kw)
        st = t.update(f"w = {self.w} AND k IN ({', '.join(map(str, keys))})", tbl)
        self.ack(op, matched=st.matched)
        if st.matched != len(keys):
            self.violation(op, "update matched count", f"update of {len(keys)} rows matched {st.matched}")

    def step_main(self) -> None:
        rng, live = self.rng, self.ks.live
        if self.idle is not None and self.n_ops >= self.idle["due"]:
            idle, self.idle = self.idle, None
            if rng.random() < 0.5 and "gc" not in self.exclude:
                op = self.begin("gc", grace=0)
                self.t.gc(0)
                self.ack(op)
            old = [k for k in live if k < idle["next_k"]]
            if old and rng.random() < 0.3:
                self.update_via(idle["t"], "idle", rng.sample(old, min(len(old), 3)),
                                parked_op=idle["op"])
            else:
                self.append_via(idle["t"], "idle", rng.randint(1, 20), parked_op=idle["op"])
            return
        kind = self.pick(dict(
            append=30, update=14 if live else 0, delete=9 if live else 0, optimize=4,
            gc=5, gc_grace=3, reopen=5, fresh=4, idle=3 if self.idle is None else 0,
            fork=2, selfcheck=8))
        if kind == "append":
            self.append_via(self.t, "main", rng.randint(1, 40))
        elif kind == "fresh":
            self.append_via(fresh(self.root), "fresh", rng.randint(1, 10))
        elif kind == "update":
            self.update_via(self.t, "main", rng.sample(sorted(live), min(len(live), rng.randint(1, 4))))
        elif kind == "delete":
            lo = rng.choice(sorted(live))
            # mostly a few rows; sometimes (more often as the table grows) a wide range
            wide = rng.random() < (0.5 if len(live) > 1500 else 0.1)
            hi = lo + (rng.randint(20, 300) if wide else rng.randint(1, 6))
            n = sum(1 for k in range(lo, hi) if k in live)
            op = self.begin("delete", lo=lo, hi=hi, via="main")
            st = self.t.delete(f"w = {self.w} AND k >= {lo} AND k < {hi}")
            self.ack(op, matched=st.matched)
            if st.matched != n:
                self.violation(op, "delete matched count", f"delete of k in [{lo}, {hi}) matched {st.matched}, "
                                   f"the model has {n} such rows")
        elif kind == "optimize":
            op = self.begin("optimize")
            self.t.optimize()
            self.ack(op)
        elif kind in ("gc", "gc_grace"):
            grace = 0 if kind == "gc" else rng.choice([0.05, 0.2, 1.0])
            op = self.begin("gc", grace=grace)
            r = self.t.gc(grace)
            self.ack(op, deleted=r.objects_deleted)
        elif kind == "reopen":
            op = self.begin("reopen")
            self.db = connect(self.root)
            self.t = self.db.open_table(MAIN)
            self.ack(op)
        elif kind == "idle":
            op = self.begin("park")
            t = fresh(self.root)
            t.count_rows()  # loads the current snapshot into the handle
            self.idle = {"t": t, "op": op, "next_k": self.ks.next_k,
                         "due": self.n_ops + rng.randint(60, 160)}
            self.ack(op)
        elif kind == "selfcheck":
            op = self.begin("selfcheck")
            got = self.t.to_arrow(columns=["k", "v"], where=f"w = {self.w}")
            obs: dict[int, list[int]] = {}
            for k, v in zip(got.column("k").to_pylist(), got.column("v").to_pylist()):
                obs.setdefault(k, []).append(v)
            self.ack(op)
            bad, _ = compare(self.ks, obs, f"worker {self.w} reading its own rows "
                                           f"through its handle after op {op - 1}")
            for b in bad:
                self.violation(op, "read-your-writes", b)
        elif kind == "fork":
            self.fork_append()

    def fork_append(self) -> None:
        """Children forked from this process append through the handle they
        inherited; each of their appends is its own atomic commit."""
        rng = self.rng
        children, parts, k = [], [], self.ks.next_k
        for _ in range(rng.randint(2, 3)):
            mine = []
            for _ in range(rng.randint(3, 6)):
                n = rng.randint(5, 15)
                mine.append(len(parts))
                parts.append([k, k + n])
                k += n
            children.append(mine)
        tables = [rows_table(self.w, [(x, 0) for x in range(lo, hi)]) for lo, hi in parts]
        op = self.begin("fork_append", parts=parts, via="fork", children=children)
        start = time.time() + 0.05
        pids = []
        for mine in children:
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    for n, i in enumerate(mine):
                        while time.time() < start + n * FORK_TICK:
                            pass  # children append in step: same-millisecond ids
                        self.t.append(tables[i])
                except BaseException:
                    traceback.print_exc()
                    code = 1
                os._exit(code)
            pids.append(pid)
        codes = [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids]
        if any(codes):
            raise RuntimeError(f"forked children exited with {codes}")
        self.ack(op)

    # -- churn table
    def step_churn(self) -> None:
        rng, ks = self.rng, self.ks
        if not ks.exists:
            kind = self.pick(dict(create=10, stale_append=4 if self.stale else 0,
                                  stale_delete=1 if self.stale else 0))
        else:
            kind = self.pick(dict(
                append=30, delete=6 if ks.live else 0, drop=8, reopen=4, optimize=3, gc=4,
                stale_append=6 if self.stale else 0, stale_delete=2 if self.stale else 0))
        if kind == "create":
            inc = ks.next_inc
            op = self.begin("create", inc=inc)
            self.t = self.db.create_table(CHURN, SCHEMA, indexes())
            self.ack(op)
        elif kind == "append":
            lo, hi = self.new_keys(rng.randint(1, 20))
            op = self.begin("append", parts=[[lo, hi]], inc=ks.inc, via="main")
            self.t.append(rows_table(self.w, [(k, ks.inc) for k in range(lo, hi)]))
            self.ack(op)
        elif kind == "delete":
            lo = rng.choice(sorted(ks.live))
            hi = lo + rng.randint(1, 5)
            op = self.begin("delete", lo=lo, hi=hi, via="main")
            self.t.delete(f"k >= {lo} AND k < {hi}")
            self.ack(op)
        elif kind == "drop":
            purge = rng.random() < 0.5
            self.stale = (self.stale + [(self.t, ks.inc)])[-3:]
            op = self.begin("drop", purge=purge, inc=ks.inc)
            self.db.drop_table(CHURN, purge=purge)
            self.ack(op)
            self.t = None
        elif kind in ("stale_append", "stale_delete"):
            h, inc = rng.choice(self.stale)
            if kind == "stale_append":
                # fresh keys, so that they could never be mistaken for acked rows
                lo, hi = ks.next_k, ks.next_k + rng.randint(1, 5)
                op = self.begin(kind, stale_parts=[[lo, hi]], inc=inc,
                                current=ks.inc if ks.exists else None)
                call = lambda: h.append(rows_table(self.w, [(k, inc) for k in range(lo, hi)]))
            else:
                op = self.begin(kind, inc=inc, current=ks.inc if ks.exists else None)
                call = lambda: h.delete("k >= 0")
            try:
                call()
            except Exception as e:
                self.ack(op, result="error", msg=f"{type(e).__name__}: {e}"[:300])
            else:
                self.ack(op, result="acknowledged")
                self.violation(op, f"{kind.replace('_', ' ')} through a dropped table's handle "
                                   "acknowledged",
                               f"{kind.replace('_', ' ')} through a handle opened before "
                                   f"drop_table('churn') (incarnation {inc}) was acknowledged "
                                   f"instead of failing (table now "
                                   f"{'incarnation ' + str(ks.inc) if ks.exists else 'dropped'})")
        elif kind == "reopen":
            op = self.begin("reopen")
            self.db = connect(self.root)
            self.t = self.db.open_table(CHURN)
            self.ack(op)
        elif kind == "optimize":
            op = self.begin("optimize")
            self.t.optimize()
            self.ack(op)
        elif kind == "gc":
            op = self.begin("gc", grace=0)
            self.t.gc(0)
            self.ack(op)


# ---- the orchestrator --------------------------------------------------------


class StressFailure(AssertionError):
    pass


class Run:
    """Starts the workers, kills and restarts them, pauses them for
    checkpoints; see test_stress.test_stress_model."""

    def __init__(self, tmp: pathlib.Path, seed: str, rounds: int, n_main: int,
                 exclude: set[str], root: Optional[str] = None):
        self.tmp, self.seed, self.rounds = tmp, seed, rounds
        self.root = root or str(tmp / "db")
        self.jdir = tmp / "journals"
        self.ctl = tmp / "ctl"
        self.logs = tmp / "logs"
        for d in (self.jdir, self.ctl, self.logs):
            d.mkdir(parents=True, exist_ok=True)
        self.rng = random.Random(seed)
        self.check_rng = random.Random(seed + ":check")
        self.workers = list(range(n_main)) + ([] if "drop" in exclude else [CHURN_W])
        self.exclude = exclude
        self.procs: dict[int, subprocess.Popen] = {}
        self.life: Counter = Counter()
        self.kills: Counter = Counter()
        self.exits: list[str] = []
        self.checkpoints = 0
        self.transient: list[str] = []
        self.pause_gen = 0
        self.t0 = time.time()
        self.round = 0

    def role(self, w: int) -> str:
        return CHURN if w == CHURN_W else MAIN

    def jpath(self, w: int) -> pathlib.Path:
        return self.jdir / f"w{w}.jsonl"

    def model(self, w: int) -> KeySpace:
        return KeySpace(w).replay(read_journal(self.jpath(w)))

    def start(self, w: int) -> None:
        self.life[w] += 1
        life = self.life[w]
        err = open(self.logs / f"w{w}.{life}.err", "w")
        self.procs[w] = subprocess.Popen(
            [sys.executable, str(HERE), "worker", self.role(w), self.root, str(self.jpath(w)),
             str(w), self.seed, str(life), str(self.ctl), ",".join(sorted(self.exclude))],
            stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        err.close()

    def kill(self, w: int) -> None:
        p = self.procs.pop(w)
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
        wait_group_gone(p.pid)

    def where(self) -> str:
        return f"round {self.round}"

    def fail(self, bad: list[str], context: str) -> None:
        for w in list(self.procs):
            self.kill(w)
        recent = []
        for w in self.workers:
            ks = self.model(w)
            last = sorted(ks.ops)[-6:]
            recent.append(f"  w={w}: " + "; ".join(ks.describe(o) for o in last))
        soft = self.soft()
        raise StressFailure(
            f"{context}\n" + "\n".join(f"- {b}" for b in bad)
            + "\nlast operations per worker:\n" + "\n".join(recent)
            + (f"\nworkers also saw (the run went on after these):\n{soft}" if soft else ""))

    def soft(self) -> str:
        """What workers reported as violations, grouped by kind."""
        groups: dict[str, list[str]] = {}
        for w in self.workers:
            for what, msg in self.model(w).violations:
                groups.setdefault(what, []).append(msg)
        out = []
        for what, msgs in sorted(groups.items()):
            out.append(f"- {what}: {len(msgs)} times, e.g.\n      "
                       + "\n      ".join(msgs[:3]))
        return "\n".join(out)

    def tail_err(self, w: int) -> str:
        p = self.logs / f"w{w}.{self.life[w]}.err"
        text = p.read_text() if p.exists() else ""
        lines = [x for x in text.splitlines() if not x.startswith("Extension modules:")]
        return "\n".join(lines)[-1500:]

    def resolve(self, w: int, why: str) -> None:
        """Worker w is dead: decide its pending op from what a fresh handle
        reads of its rows (stable now), check the rest, write the outcome."""
        where = f"{self.where()}, after {why} worker {w}"
        for attempt in range(3):
            ks = self.model(w)
            pending = ks.pending
            if self.role(w) == MAIN:
                bad, res = check_main(self.root, {w: ks}, where, self.check_rng, only=w,
                                      resolve=True)
                applied = res.get(w)
            else:
                bad, applied = check_churn(self.root, ks, where, resolve=True)
            # The others go on meanwhile: a read that failed while their
            # gc(0) ran may be retried (and is counted); a wrong answer not.
            if bad and attempt < 2 and all("with a fresh handle raised" in b for b in bad):
                self.transient.append(bad[0])
                time.sleep(0.1)
                continue
            break
        if bad:
            self.fail(bad, f"seed {self.seed}: {where}")
        if pending is not None:
            Journal(self.jpath(w)).log(ev="resolve", op=pending["op"],
                                       applied=applied if applied else [False])
            if pending["kind"] in ("create", "drop"):
                self.probe_churn(pending, where)

    def probe_churn(self, pending: dict, where: str) -> None:
        """After a kill during create_table or drop_table: whichever way it
        went, a table that is listed must take writes. The probe append is
        journaled as the churn worker's own acknowledged op."""
        ks = self.model(CHURN_W)
        if not ks.exists:
            return
        j = Journal(self.jpath(CHURN_W))
        op, lo = ks.next_op, ks.next_k
        j.log(ev="begin", op=op, kind="append", parts=[[lo, lo + 1]], inc=ks.inc, via="checker")
        try:
            fresh(self.root, CHURN).append(rows_table(CHURN_W, [(lo, ks.inc)]))
        except Exception as e:
            j.log(ev="resolve", op=op, applied=[False])
            self.fail([f"{where}: {ks.describe(pending['op'])} left table churn listed "
                       f"(incarnation {ks.inc}), but appending one row to it with a fresh "
                       f"handle raised {type(e).__name__}: {e}"],
                      f"seed {self.seed}: {where}")
        j.log(ev="ack", op=op)

    def poll_exits(self) -> None:
        for w, p in list(self.procs.items()):
            if p.poll() is None:
                continue
            del self.procs[w]
            wait_group_gone(p.pid)
            ks = self.model(w)
            err = ks.errors[-1] if ks.errors else None
            msg = (f"{self.where()}: worker {w} exited with {p.returncode}: "
                   + (f"op {err['op']} ({err['kind']}) raised {err['msg']}" if err
                      else self.tail_err(w)))
            self.exits.append(msg)
            # what its rows look like now, for the report
            bad, _ = check_main(self.root, {w: ks}, f"{self.where()}, after worker {w} failed",
                                self.check_rng, only=w, resolve=True) \
                if self.role(w) == MAIN else check_churn(self.root, ks, self.where(), resolve=True)
            self.fail([msg] + bad, f"seed {self.seed}: a worker failed")

    def pause(self) -> None:
        self.pause_gen += 1
        gen = str(self.pause_gen)
        tmp = self.ctl / ".pause.tmp"
        tmp.write_text(gen)
        os.replace(tmp, self.ctl / "pause")
        deadline = time.time() + 60
        while True:
            self.poll_exits()
            waiting = [w for w in self.procs if _read(self.ctl / f"paused.{w}") != gen]
            if not waiting:
                return
            if time.time() > deadline:
                self.fail([f"workers {waiting} did not pause within 60 s"], f"seed {self.seed}")
            time.sleep(0.01)

    def resume(self) -> None:
        (self.ctl / "pause").unlink()

    def checkpoint(self, label: str) -> None:
        """Every worker is paused between operations (or dead and
        resolved): the whole database must equal the model."""
        self.checkpoints += 1
        where = f"{self.where()}, checkpoint {label}"
        models = {w: self.model(w) for w in self.workers if w != CHURN_W}
        bad, _ = check_main(self.root, models, where, self.check_rng)
        if CHURN_W in self.workers:
            b, _ = check_churn(self.root, self.model(CHURN_W), where)
            bad += b
        if bad:
            self.fail(bad, f"seed {self.seed}: {where}")

    def subprocess_check(self, label: str) -> None:
        self.checkpoints += 1
        where = f"{self.where()}, checkpoint {label} (fresh process)"
        out = subprocess.run(
            [sys.executable, str(HERE), "check", self.root, str(self.jdir),
             ",".join(map(str, self.workers)), where],
            capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            self.fail([f"{where}: checker exited {out.returncode}: {out.stderr[-1500:]}"],
                      f"seed {self.seed}")
        bad = json.loads(out.stdout.strip().splitlines()[-1])
        if bad:
            self.fail(bad, f"seed {self.seed}: {where}")

    def run(self) -> dict:
        db = connect(self.root)
        db.create_table(MAIN, SCHEMA, indexes())
        for w in self.workers:
            self.start(w)
        rng = self.rng
        for self.round in range(1, self.rounds + 1):
            duration = rng.uniform(1.0, 2.5)
            kills = sorted(rng.uniform(0.3, duration) for _ in range(rng.choice([0, 1, 1, 2])))
            t_start = time.time()
            for at in kills + [duration]:
                while time.time() - t_start < at:
                    self.poll_exits()
                    time.sleep(0.02)
                if at == duration:
                    break
                w = rng.choice(sorted(self.procs))
                self.kill(w)
                self.kills[self.role(w)] += 1
                self.resolve(w, "SIGKILL of")
                self.start(w)
            self.pause()
            self.checkpoint("a")
            if rng.random() < 0.3:
                # optimize and gc change no content, whoever runs them
                t = fresh(self.root)
                t.optimize()
                t.gc(0)
                self.checkpoint("b (after optimize + gc(0))")
            if self.round % 3 == 0 or self.round == self.rounds:
                self.subprocess_check("c")
            self.resume()
        self.pause()
        (self.ctl / "stop").write_text("")
        self.resume()
        for w, p in list(self.procs.items()):
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.fail([f"worker {w} did not stop"], f"seed {self.seed}")
            if p.returncode != 0:
                self.fail([f"worker {w} exited {p.returncode} at stop: {self.tail_err(w)}"],
                          f"seed {self.seed}")
            wait_group_gone(p.pid)
        self.procs.clear()
        self.round = self.rounds
        self.checkpoint("final")
        soft = self.soft()
        if soft:
            raise StressFailure(f"seed {self.seed}: the model held at every checkpoint, "
                                f"but workers saw:\n{soft}")
        return self.report()

    def report(self, failed: bool = False) -> dict:
        begun: Counter = Counter()
        acked: Counter = Counter()
        unacked: Counter = Counter()
        stale: Counter = Counter()
        for w in self.workers:
            recs = read_journal(self.jpath(w))
            kinds = {}
            for r in recs:
                if r["ev"] == "begin":
                    k = r["kind"] + ("/" + r["via"] if r.get("via") not in (None, "main") else "")
                    kinds[r["op"]] = k
                    begun[k] += 1
                elif r["ev"] == "ack":
                    acked[kinds[r["op"]]] += 1
                    if r.get("result"):
                        stale[r["result"]] += 1
                elif r["ev"] == "resolve":
                    unacked[f"{kinds[r['op']]}: {'applied' if all(r['applied']) else 'not applied' if not any(r['applied']) else 'part'}"] += 1
        try:
            rows = fresh(self.root).count_rows()
        except Exception as e:
            rows = f"unreadable: {type(e).__name__}"
        return {
            "failed": failed,
            "seed": self.seed, "rounds": self.rounds, "workers": self.workers,
            "exclude": sorted(self.exclude),
            "wall_s": round(time.time() - self.t0, 1),
            "ops_begun": dict(sorted(begun.items())), "ops_acked": dict(sorted(acked.items())),
            "unacked_resolved": dict(sorted(unacked.items())),
            "stale_handle_writes": dict(stale),
            "kills": dict(self.kills), "lives": dict(self.life),
            "checkpoints": self.checkpoints, "rows_main": rows,
            "retried_read_errors": len(self.transient),
            "retried_read_error_examples": self.transient[:3],
        }


def _read(p: pathlib.Path) -> Optional[str]:
    try:
        return p.read_text()
    except FileNotFoundError:
        return None


def wait_group_gone(pgid: int, timeout: float = 20.0) -> None:
    """Waits until no live (non-zombie) process is left in process group
    pgid: forked children of a killed worker die a moment after it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        alive = False
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                stat = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive = True
                break
        if not alive:
            return
        time.sleep(0.01)
    raise AssertionError(f"process group {pgid} still alive after SIGKILL")


# ---- the programs ------------------------------------------------------------


def main(argv: list[str]) -> None:
    cmd = argv[1]
    faulthandler.enable()  # a crash in the engine leaves a traceback in the log
    if cmd == "worker":
        role, root, jpath, w, seed, life, ctl, exclude = argv[2:10]
        Worker(role, root, jpath, int(w), seed, int(life), ctl,
               set(filter(None, exclude.split(",")))).run()
    elif cmd == "check":
        # the checks of a checkpoint, from a fresh process
        root, jdir, workers, where = argv[2], pathlib.Path(argv[3]), argv[4], argv[5]
        ws = [int(x) for x in workers.split(",")]
        rng = random.Random(0)
        models = {w: KeySpace(w).replay(read_journal(jdir / f"w{w}.jsonl")) for w in ws}
        churn = models.pop(CHURN_W, None)
        bad, _ = check_main(root, models, where, rng)
        if churn is not None:
            bad += check_churn(root, churn, where)[0]
        print(json.dumps(bad))
    elif cmd == "writer":
        # appends n batches of 3 rows as worker w, gc(0) every gc_every;
        # prints the acknowledged key range
        root, w, n, gc_every = argv[2], int(argv[3]), int(argv[4]), int(argv[5])
        t = fresh(root)
        for i in range(n):
            t.append(rows_table(w, [(3 * i + j, 0) for j in range(3)]))
            if gc_every and (i + 1) % gc_every == 0:
                t.gc(0)
        t.gc(0)
        print(json.dumps([0, 3 * n]))
    elif cmd == "forker":
        # opens main, appends once, then forks children that append through
        # the inherited handle; prints the key ranges the children appended
        root, children, batches, size = argv[2], int(argv[3]), int(argv[4]), int(argv[5])
        t = fresh(root)
        t.append(rows_table(0, [(k, 0) for k in range(size)]))
        plan = {c: [[(c * batches + b) * size, (c * batches + b + 1) * size]
                    for b in range(batches)] for c in range(1, children + 1)}
        tables = {c: [rows_table(c, [(k, 0) for k in range(lo, hi)]) for lo, hi in ps]
                  for c, ps in plan.items()}
        start = time.time() + 0.2
        pids = []
        for c in plan:
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    for n, tb in enumerate(tables[c]):
                        while time.time() < start + n * FORK_TICK:
                            pass  # children append in step: same-millisecond ids
                        t.append(tb)
                except BaseException:
                    traceback.print_exc()
                    code = 1
                os._exit(code)
            pids.append(pid)
        codes = [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids]
        print(json.dumps({"codes": codes, "plan": plan}))
    elif cmd == "reader":
        # opens tables in a loop for `seconds` (churn may come and go)
        root, seconds = argv[2], float(argv[3])
        end, n = time.time() + seconds, 0
        while time.time() < end:
            db = connect(root)
            db.list_tables()
            try:
                db.open_table(CHURN).count_rows()
            except KeyError:
                pass
            n += 1
        print(json.dumps(n))
    elif cmd == "dropper":
        # drops churn (purge?), re-creates it and appends rows of incarnation 2
        root, purge, n = argv[2], argv[3] == "1", int(argv[4])
        db = connect(root)
        db.drop_table(CHURN, purge=purge)
        t = db.create_table(CHURN, SCHEMA, indexes())
        t.append(rows_table(CHURN_W, [(1000 + k, 2) for k in range(n)]))
        print(json.dumps([1000, 1000 + n]))
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
