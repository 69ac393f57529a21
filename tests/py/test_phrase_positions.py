"""Phrases through stored token positions (FTS format 5, columns created
with positions=True) against the re-tokenizing path, which superfiles
written before positions still take (INFINO_FTS_FORMAT=4 writes them so):
the same hits and scores, bit for bit, over random corpora with English
stop words, repeated tokens, empty and null texts; a table mixing both
kinds of superfile; reindex (which rewrites the old ones with positions),
update and optimize keep answering the same; and damaged positions bytes
are an error naming the superfile, never a crash."""
from __future__ import annotations

import glob
import os
import random
import struct

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import infino

from test_reindex import TR_SUMMARY_OFF, TRAILER_LEN, crc32c, patch_fts_region

SCHEMA = pa.schema([pa.field("k", pa.int64(), nullable=False),
                    pa.field("body", pa.large_utf8())])
WORDS = ["the", "of", "a", "king", "hill", "kings", "running", "runs", "new",
         "york", "x", "zzz"]


def spec():
    return infino.IndexSpec().fts("body", "standard", stopwords="english",
                                  positions=True)


def text(rng: random.Random):
    r = rng.random()
    if r < 0.05:
        return None
    if r < 0.1:
        return ""
    n = rng.randrange(1, 30)
    seps = [" ", ", ", "-", ". ", "\n"]
    return seps[rng.randrange(5)].join(
        rng.choice(WORDS) if rng.random() < 0.8 else "x" for _ in range(n))


def batches(seed: int):
    rng = random.Random(seed)
    out, k = [], 0
    for _ in range(3):
        n = rng.randrange(20, 120)
        out.append([{"k": k + i, "body": text(rng)} for i in range(n)])
        k += n
    return out


def queries(seed: int, n: int):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for c in range(rng.randrange(1, 4)):
            words = [rng.choice(WORDS) for _ in range(rng.choice([1, 2, 2, 3, 5]))]
            neg = "-" if c > 0 and rng.random() < 0.2 else ""
            parts.append(neg + ('"%s"' % " ".join(words) if len(words) > 1 else words[0]))
        out.append(" ".join(parts))
    return out


def answers(t, qs):
    out = {}
    for q in qs:
        for mode in ("or", "and"):
            try:
                r = t.bm25_search("body", q, 7, mode=mode, projection=["k", "score"])
                out[(q, mode)] = sorted(zip(r["k"].to_pylist(), r["score"].to_pylist()),
                                        key=lambda x: (-x[1], x[0]))
            except ValueError as e:  # only negated clauses, or stop words only
                out[(q, mode)] = type(e).__name__
    return out


def make(root, data, old, monkeypatch):
    """A table of one superfile per batch; the batches in `old` written in
    format 4, as before positions."""
    t = infino.connect(root).create_table("t", SCHEMA, spec())
    for i, b in enumerate(data):
        if i in old:
            monkeypatch.setenv("INFINO_FTS_FORMAT", "4")
        t.append(b)
        monkeypatch.delenv("INFINO_FTS_FORMAT", raising=False)
    return t


def fts_versions(root):
    out = []
    for f in sorted(glob.glob(os.path.join(root, "tables", "t-*", "superfiles",
                                           "*.sf.parquet"))):
        kv = pq.read_metadata(f).metadata
        off, _, _ = kv[b"infino.region.fts.0"].split(b":")
        with open(f, "rb") as fh:
            fh.seek(int(off) + 8)
            out.append(struct.unpack("<I", fh.read(4))[0])
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_positions_answer_as_the_retokenizing_path(tmp_path, monkeypatch, seed):
    data = batches(seed)
    qs = queries(seed + 100, 60)
    oracle = make(str(tmp_path / "old"), data, {0, 1, 2}, monkeypatch)
    mixed_root = str(tmp_path / "mixed")
    mixed = make(mixed_root, data, {1}, monkeypatch)
    new = make(str(tmp_path / "new"), data, set(), monkeypatch)
    assert fts_versions(str(tmp_path / "old")) == [4, 4, 4]
    assert sorted(fts_versions(mixed_root)) == [4, 5, 5]
    want = answers(oracle, qs)
    assert answers(new, qs) == want
    assert answers(mixed, qs) == want
    # the superfile written before positions wants a rewrite, which adds them
    assert mixed.index_staleness().needing_rewrite == 1
    assert mixed.reindex().rewritten == 1
    assert mixed.index_staleness().needing_rewrite == 0
    assert answers(mixed, qs) == want
    # update and optimize write positions too
    row = {"k": 5, "body": "the king of the hill x x x new york"}
    for t in (oracle, mixed):
        monkeypatch.setenv("INFINO_FTS_FORMAT", "4") if t is oracle else None
        assert t.update("k = 5", [row]).n_tombstoned == 1
        monkeypatch.delenv("INFINO_FTS_FORMAT", raising=False)
    want = answers(oracle, qs + ['"king of the hill"', '"x x"', '"new york"'])
    assert answers(mixed, qs + ['"king of the hill"', '"x x"', '"new york"']) == want
    # deleted rows leave the statistics when merged away: merge both
    monkeypatch.setenv("INFINO_FTS_FORMAT", "4")
    oracle.optimize()
    monkeypatch.delenv("INFINO_FTS_FORMAT")
    want = answers(oracle, qs + ['"king of the hill"', '"x x"', '"new york"'])
    mixed.optimize()
    assert mixed.index_staleness().needing_rewrite == 0
    mixed.gc(0)
    assert set(fts_versions(mixed_root)) == {5}
    assert answers(mixed, qs + ['"king of the hill"', '"x x"', '"new york"']) == want


def postings_end(root):
    """(superfile path, region offset, end of the postings section)."""
    f = sorted(glob.glob(os.path.join(root, "tables", "t-*", "superfiles",
                                      "*.sf.parquet")))[0]
    kv = pq.read_metadata(f).metadata
    off, length, _ = kv[b"infino.region.fts.0"].split(b":")
    with open(f, "rb") as fh:
        fh.seek(int(off) + int(length) - TRAILER_LEN)
        tr = fh.read(TRAILER_LEN)
    post_off, post_len = struct.unpack_from("<QQ", tr, 24)
    return f, int(off), post_off + post_len


@pytest.mark.parametrize("fix_checks", [False, True])
def test_damaged_positions_are_an_error_naming_the_superfile(tmp_path, fix_checks):
    root = str(tmp_path / "db")
    t = infino.connect(root).create_table("t", SCHEMA, spec())
    # "zzz", the last term, ends the postings section with its positions
    t.append([{"k": i, "body": "zzz zzz king of the hill zzz " * (1 + i % 3)}
              for i in range(300)])
    assert t.bm25_search("body", '"zzz zzz"', 5).num_rows == 5
    path, off, end = postings_end(root)
    name = os.path.basename(path).split(".")[0]
    if fix_checks:  # past the chunk CRCs, to the positions decoder
        def garble(reg, tr):
            reg[end - 6:end] = b"\xff" * 6
        patch_fts_region(path, garble)
    else:
        with open(path, "r+b") as f:
            f.seek(off + end - 3)
            f.write(b"\xff\xff\xff")
    t = infino.connect(root).open_table("t")
    with pytest.raises(Exception) as e:
        t.bm25_search("body", '"zzz zzz"', 300)
    assert name in str(e.value)
    assert "corrupt" in str(e.value).lower() or "damaged" in str(e.value).lower() \
        or "checksum" in str(e.value).lower()
