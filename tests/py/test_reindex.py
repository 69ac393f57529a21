"""Table.reindex, reindex_plan and index_staleness (upstream 0.11.0's
API; what each means here: docs/differences.md, "Reindex").

A stale superfile is made the way the previous writer made it: its
full-text region, written in format 3 (INFINO_FTS_FORMAT=3: format 4 adds
per-chunk checks and moves sections), is turned into format version 1 in
place (for terms of
fewer than 128 bytes the two versions are the same bytes except the
version field and the summary's "whole terms" flag; see
src/index/fts/FORMAT.md, "Versions"), with the region's checksums redone.
The table is checked against a Python model of its rows: rows, their
order, their _ids and search results are the same before and after.
Upstream 0.11.0's answers on the same calls are noted in comments.
"""
import glob
import os
import struct
import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import infino
from infino import _native

DIM = 16

# ---- making stale superfiles ---------------------------------------------------

_CRC32C = []


def crc32c(data: bytes) -> int:
    if not _CRC32C:
        for n in range(256):
            c = n
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            _CRC32C.append(c)
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


TRAILER_LEN, TR_SUMMARY_OFF, TR_CRC, SUMMARY_WHOLE = 128, 88, 124, 2
TR_AN_BASE, TR_AN_STEMMER, TR_AN_STOP, TR_AN_STOP_CRC = 5, 6, 7, 108


def patch_fts_region(path: str, edit) -> None:
    """Applies edit(region, trailer offset) to region fts.0 of the
    superfile at `path`, then fixes the region's CRC and the footer's."""
    kv = pq.read_metadata(path).metadata
    entry = kv[b"infino.region.fts.0"]
    off, length, crc = entry.split(b":")
    off, length = int(off), int(length)
    with open(path, "rb") as f:
        data = bytearray(f.read())
    reg = data[off:off + length]
    tr = length - TRAILER_LEN
    edit(reg, tr)
    if struct.unpack_from("<I", reg, 8)[0] >= 4:  # per-chunk checks
        summary, summary_len = struct.unpack_from("<QQ", reg, tr + TR_SUMMARY_OFF)
        covered = summary + summary_len
        shift = reg[covered + 4]
        for c in range((covered + (1 << shift) - 1) >> shift):
            chunk = bytes(reg[c << shift:min((c + 1) << shift, covered)])
            struct.pack_into("<I", reg, covered + 16 + 4 * c, crc32c(chunk))
        struct.pack_into("<I", reg, covered,
                         crc32c(bytes(reg[covered + 4:tr]) + bytes(reg[tr:tr + TR_CRC])))
    struct.pack_into("<I", reg, tr + TR_CRC, crc32c(bytes(reg[:tr + TR_CRC])))
    data[off:off + length] = reg
    new_entry = b"%d:%d:%08x" % (off, length, crc32c(bytes(reg)))
    at = data.find(entry, off + length)
    assert at > 0 and data.find(entry, at + 1) < 0
    data[at:at + len(entry)] = new_entry
    with open(path, "wb") as f:
        f.write(data)


def make_fts_v1(path: str) -> None:
    """Rewrites region fts.0 of the superfile at `path` in version 1, as
    the writer before whole terms and analyzers made it (the alnum
    analyzer, no analysis record)."""
    def v1(reg, tr):
        assert struct.unpack_from("<I", reg, 8)[0] == 3
        assert reg[tr + TR_AN_BASE] == 0  # alnum
        struct.pack_into("<I", reg, 8, 1)
        summary = struct.unpack_from("<Q", reg, tr + TR_SUMMARY_OFF)[0]
        reg[summary + 15] &= ~SUMMARY_WHOLE & 0xFF
    patch_fts_region(path, v1)


def superfiles(root: str, name: str) -> list:
    return sorted(glob.glob(os.path.join(root, "tables", f"{name}-*", "superfiles", "*.sf.parquet")))


def sf_id(path: str) -> str:
    return os.path.basename(path).split(".")[0]


# ---- the model -------------------------------------------------------------------

SCHEMA = pa.schema([
    pa.field("k", pa.int64(), nullable=False),
    pa.field("text", pa.large_utf8()),
    pa.field("emb", pa.list_(pa.float32(), DIM)),
])
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]


def row(k: int) -> dict:
    text = " ".join(WORDS[(k * j + j) % len(WORDS)] for j in range(1, 2 + k % 5))
    return {"k": k, "text": text, "emb": [float((k * 7 + j) % 11) for j in range(DIM)]}


def create(db) -> "infino.Table":
    return db.create_table(
        "t", SCHEMA,
        # alnum: the analyzer of the tables whose regions were version 1
        infino.IndexSpec().fts("text", "alnum").vector("emb", DIM, "cosine"))


def snapshot_of(t) -> dict:
    """What a reindex must not change: rows in order with _ids, and the
    answers of searches."""
    out = {"rows": t.to_arrow().to_pylist(), "count": t.count_rows()}
    for q in ("alpha", "beta gamma", "theta -alpha", "zeta"):
        out["bm25 " + q] = t.bm25_search("text", q, 10).to_pylist()
        out["count " + q] = t.count("text", q)
    out["vec"] = t.vector_search("emb", [1.0] * DIM, 10).to_pylist()
    out["hybrid"] = t.hybrid_search("text", "beta", "emb", [2.0] * DIM, 10).to_pylist()
    return out


@pytest.fixture
def stale(tmp_path, monkeypatch):
    """A table of 5 superfiles of 8 rows (k 0..39) with k % 6 == 0
    deleted, whose superfiles 0, 2 and 3 (by file name) are stale; the
    model holds its live rows in order. Returns (path, model, stale ids)."""
    root = str(tmp_path / "db")
    db = infino.connect(root)
    t = create(db)
    # format 3, the layout format 1 shares (format 4 adds per-chunk checks)
    monkeypatch.setenv("INFINO_FTS_FORMAT", "3")
    for b in range(5):
        t.append([row(k) for k in range(8 * b, 8 * b + 8)])
    monkeypatch.delenv("INFINO_FTS_FORMAT")
    assert t.delete("k % 6 = 0").n_tombstoned == 7
    model = [r for r in t.to_arrow().to_pylist()]
    assert [r["k"] for r in model] == [k for k in range(40) if k % 6]
    del t, db
    files = superfiles(root, "t")
    assert len(files) == 5
    for i in (0, 2, 3):
        make_fts_v1(files[i])
    return root, model, sorted(sf_id(files[i]) for i in (0, 2, 3))


# ---- reports on current tables ------------------------------------------------------


def test_current_tables_report_nothing_to_do(tmp_path):
    t = create(infino.connect(str(tmp_path / "db")))
    # 0.11.0, the same calls on an empty table:
    assert repr(t.index_staleness()) == (
        "StalenessReport(superfiles=0, needing_rewrite=0, awaiting_reanalysis=0, "
        "bytes_to_rewrite=0, unrepairable_columns=[], inconsistent_footers=[], "
        "is_current=True)")
    assert t.reindex_plan() == []
    assert repr(t.reindex()) == (
        "ReindexReport(rewritten=0, already_current=0, awaiting_reanalysis=0, "
        "held_by_another_run=0, unrepairable_columns=[], inconsistent_footers=[])")
    t.append([row(0), row(1)])
    s = t.index_staleness()
    assert (s.superfiles, s.needing_rewrite, s.bytes_to_rewrite, s.is_current) == (1, 0, 0, True)
    assert s.unrepairable_columns == [] and s.inconsistent_footers == []
    r = t.reindex(infino.ReindexOptions(mode="AUTO"))  # any case, as 0.11.0
    assert (r.rewritten, r.already_current, r.awaiting_reanalysis,
            r.held_by_another_run) == (0, 1, 0, 0)
    assert r.unrepairable_columns == [] and r.inconsistent_footers == []
    assert t.reindex(options=None).already_current == 1


# ---- repairing ---------------------------------------------------------------------


def test_reindex_repairs_stale_superfiles_and_changes_nothing_else(stale):
    root, model, stale_ids = stale
    t = infino.connect(root).open_table("t")
    before = snapshot_of(t)
    assert before["rows"] == model

    s = t.index_staleness()
    assert s.superfiles == 5 and s.needing_rewrite == 3 and not s.is_current
    assert s.awaiting_reanalysis == 0
    sizes = {sf_id(p): os.path.getsize(p) for p in superfiles(root, "t")}
    assert s.bytes_to_rewrite == sum(sizes[i] for i in stale_ids)
    plan = t.reindex_plan()
    assert sorted(p.superfile_id for p in plan) == stale_ids
    assert all(p.mode == "rewrite" for p in plan)
    for p in plan:
        assert 0 < p.live_bytes <= sizes[p.superfile_id]
        assert repr(p) == (f"PlannedRepair(superfile_id='{p.superfile_id}', "
                           f"mode='rewrite', live_bytes={p.live_bytes})")
    assert [p.mode for p in t.reindex_plan(infino.ReindexOptions(mode="reanalyze"))] == ["reanalyze"] * 3
    assert len(t.reindex_plan(infino.ReindexOptions(mode="rewrite"))) == 3
    assert snapshot_of(t) == before  # planning changed nothing

    r = t.reindex()
    assert (r.rewritten, r.already_current, r.awaiting_reanalysis,
            r.held_by_another_run) == (3, 2, 0, 0)
    assert snapshot_of(t) == before
    assert t.index_staleness().is_current and t.reindex_plan() == []
    assert t.reindex().already_current == 5
    rep = t.check()  # the new files verify whole
    assert rep.n_superfiles == 5 and rep.n_rows == len(model) and rep.n_deleted == 7
    # a fresh connection reads the same
    assert snapshot_of(infino.connect(root).open_table("t")) == before
    # later writes work as before: optimize drops the deleted rows
    t.optimize(infino.OptimizeOptions(min_fill_percent=100, recalibrate="force"))
    after = snapshot_of(t)
    assert after["rows"] == model


def test_reindex_reanalyzes_a_superfile_of_another_analysis(tmp_path):
    """A region that records another analysis than the column's is refused
    by searches (its terms would not match the query's) and rebuilt by
    reindex, after which every answer is what it was."""
    root = str(tmp_path / "db")
    t = infino.connect(root).create_table(
        "t", SCHEMA, infino.IndexSpec().fts("text", stemmer="english").vector("emb", DIM, "cosine"))
    for b in range(3):
        t.append([row(k) for k in range(8 * b, 8 * b + 8)])
    before = snapshot_of(t)
    files = superfiles(root, "t")
    del t

    def no_stemmer(reg, tr):
        assert reg[tr + TR_AN_STEMMER] == 7  # english
        reg[tr + TR_AN_STEMMER] = 0
    patch_fts_region(files[1], no_stemmer)
    t = infino.connect(root).open_table("t")
    with pytest.raises(ValueError, match="another analysis than the table's.*reindex"):
        t.bm25_search("text", "alpha", 10)
    s = t.index_staleness()
    assert (s.superfiles, s.needing_rewrite, s.awaiting_reanalysis) == (3, 1, 0)
    assert not s.is_current
    s = t.index_staleness(infino.ReindexOptions(mode="rewrite"))
    assert (s.needing_rewrite, s.awaiting_reanalysis) == (0, 1)
    assert [(p.superfile_id, p.mode) for p in t.reindex_plan()] == [(sf_id(files[1]), "reanalyze")]
    r = t.reindex(infino.ReindexOptions(mode="rewrite"))  # rewrite leaves it
    assert (r.rewritten, r.awaiting_reanalysis) == (0, 1)
    r = t.reindex()
    assert (r.rewritten, r.already_current) == (1, 2)
    assert t.index_staleness().is_current
    assert snapshot_of(t) == before


def test_writes_during_a_reindex_survive(stale):
    root, model, _ = stale
    t = infino.connect(root).open_table("t")
    other = infino.connect(root).open_table("t")
    added = [row(k) for k in range(100, 140)]
    errors = []

    def appender():
        try:
            for b in range(0, len(added), 8):
                other.append(added[b:b + 8])
            other.delete("k = 1")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    th = threading.Thread(target=appender)
    th.start()
    r = t.reindex()
    th.join()
    assert not errors
    assert r.rewritten + r.held_by_another_run == 3
    rows = t.to_arrow().to_pylist()
    want_old = [m for m in model if m["k"] != 1]
    assert [x for x in rows if x["k"] < 100] == want_old
    assert sorted(x["k"] for x in rows if x["k"] >= 100) == list(range(100, 140))
    assert t.index_staleness().is_current
    assert t.check().n_rows == len(want_old) + 40


def test_reindex_raises_already_running_while_another_run_holds_the_table(stale):
    root, model, _ = stale
    seen = []
    # Two runs on two connections of one process: whichever takes the
    # table's slot second raises AlreadyRunningError, having changed
    # nothing. They may also not overlap at all; try a few times.
    for attempt in range(20):
        a = infino.connect(root).open_table("t")
        b = infino.connect(root).open_table("t")
        go = threading.Barrier(2)
        results = {}

        def run(name, tbl):
            go.wait()
            try:
                if name == "optimize":
                    tbl.optimize(infino.OptimizeOptions(min_fill_percent=100))
                    results[name] = "done"
                else:
                    results[name] = tbl.reindex()
            except infino.AlreadyRunningError as e:
                results[name] = e

        th = threading.Thread(target=run, args=("reindex", a))
        th.start()
        run("reindex2" if attempt % 2 else "optimize", b)
        th.join()
        busy = [v for v in results.values() if isinstance(v, infino.AlreadyRunningError)]
        seen += busy
        if busy:
            break
    assert seen, "no two runs ever overlapped"
    assert isinstance(seen[0], RuntimeError)  # also upstream HEAD's class
    assert "already running" in str(seen[0])
    # the table is whole whatever ran
    t = infino.connect(root).open_table("t")
    assert [r["k"] for r in t.to_arrow().to_pylist()] == [m["k"] for m in model]
    t.check()
    assert _native._error_type(-11) is infino.AlreadyRunningError


# ---- errors and options -------------------------------------------------------------


def test_memory_tables_refuse_all_three():
    t = create(infino.connect("memory://"))
    t.append([row(0)])
    for call in (t.reindex, t.reindex_plan, t.index_staleness):
        # 0.11.0: ValueError "reindex requires durable storage (not
        # memory:// or a hosted table)"
        with pytest.raises(ValueError, match="reindex requires durable storage"):
            call()


def test_reindex_options_are_checked_as_upstream_checks_them(tmp_path):
    t = create(infino.connect(str(tmp_path / "db")))
    t.append([row(0)])
    with pytest.raises(TypeError):
        infino.ReindexOptions("auto")  # keyword-only
    with pytest.raises(TypeError, match="not an instance of 'str'"):
        infino.ReindexOptions(mode=1)
    for bad, exc in ((-1, OverflowError), (2**64, OverflowError), (1.5, TypeError), ("1", TypeError)):
        with pytest.raises(exc):
            infino.ReindexOptions(stale_seal_timeout_ms=bad)
    for ok in (0, 2**64 - 1, True, None):
        infino.ReindexOptions(stale_seal_timeout_ms=ok)
    # an unknown mode is accepted by the constructor and refused by every
    # call (0.11.0's message)
    o = infino.ReindexOptions(mode="x")
    for call in (t.reindex, t.reindex_plan, t.index_staleness):
        with pytest.raises(ValueError, match="unknown reindex mode \"x\"; use 'auto', 'rewrite', or 'reanalyze'"):
            call(o)
    for bad in (" auto", "", "re-analyze"):
        with pytest.raises(ValueError):
            t.reindex_plan(infino.ReindexOptions(mode=bad))
    for good in ("Rewrite", "REANALYZE", "auto"):
        assert t.reindex_plan(infino.ReindexOptions(mode=good)) == []
    with pytest.raises(TypeError, match="not an instance of 'ReindexOptions'"):
        t.reindex({"mode": "auto"})
    with pytest.raises(TypeError):
        t.reindex(None, None)
    with pytest.raises(TypeError):
        t.optimize(infino.ReindexOptions())


def test_optimize_takes_upstreams_new_options(tmp_path):
    t = create(infino.connect(str(tmp_path / "db")))
    t.append([row(0)])
    t.append([row(1)])
    with pytest.raises(TypeError, match="not an instance of 'str'"):
        infino.OptimizeOptions(recalibrate=1)
    for bad, exc in ((-1, OverflowError), (10**20, OverflowError), (1.5, TypeError)):
        with pytest.raises(exc):
            infino.OptimizeOptions(stale_seal_timeout_ms=bad)
    # checked when optimize runs, any case (0.11.0's message)
    for bad in ("x", " skip", ""):
        o = infino.OptimizeOptions(recalibrate=bad)
        with pytest.raises(ValueError, match='invalid recalibrate policy ".*": expected "auto", "force", or "skip"'):
            t.optimize(o)
    assert t.to_arrow().num_rows == 2  # nothing was merged
    for good in ("auto", "FORCE", "skip", None):
        t.optimize(infino.OptimizeOptions(recalibrate=good, stale_seal_timeout_ms=0))
    assert [r["k"] for r in t.to_arrow().to_pylist()] == [0, 1]


def test_report_classes_are_exported_and_read_only(tmp_path):
    for name in ("ReindexOptions", "ReindexReport", "StalenessReport", "PlannedRepair"):
        assert name in infino.__all__ and hasattr(infino, name)
    for cls in (infino.ReindexReport, infino.StalenessReport, infino.PlannedRepair):
        with pytest.raises(TypeError):
            cls()
    t = create(infino.connect(str(tmp_path / "db")))
    r = t.reindex()
    with pytest.raises(AttributeError):
        r.rewritten = 5
    r.inconsistent_footers.append("x")  # a copy
    assert r.inconsistent_footers == []
