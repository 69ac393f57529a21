"""FTS regions of format 4 verify a CRC per chunk as a query first reads
it, not the whole region on first use: a flipped byte in a postings block
fails the query that decodes that block (INFINO_ERR_CORRUPT naming the
superfile), queries that never read it still answer, and Table.check()
still finds it."""
from __future__ import annotations

import random
import struct

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import infino

N = 200_000
SCHEMA = pa.schema([("k", pa.int64()), ("body", pa.large_utf8())])


def corpus():
    rnd = random.Random(7)
    docs = []
    for k in range(N):
        # "w0".."w39" in turn, and "zz" (last in the dictionary) in about
        # 3/4 of the docs with tf 1..6: zz's bit-packed blocks fill the
        # last chunks of the postings section alone
        words = [f"w{k % 40}"]
        if rnd.random() < 0.75:
            words += ["zz"] * rnd.randint(1, 6)
        docs.append(" ".join(words))
    return docs


def region(path):
    meta = pq.read_metadata(path).metadata
    off, length, _crc = meta[b"infino.region.fts.0"].decode().split(":")
    return int(off), int(length)


@pytest.fixture
def table(tmp_path):
    db = infino.connect(str(tmp_path / "db"))
    t = db.create_table("t", SCHEMA, infino.IndexSpec().fts("body"))
    docs = corpus()
    t.append(pa.table({"k": pa.array(range(N), pa.int64()),
                       "body": pa.array(docs, pa.large_utf8())}))
    (sf,) = [p for p in (tmp_path / "db").glob("tables/*/superfiles/*")
             if p.is_file() and not p.name.startswith(".")]
    return tmp_path / "db", sf, docs


def test_flipped_postings_byte_fails_the_query_that_reads_it(table):
    root, sf, docs = table
    t = infino.connect(str(root)).open_table("t")
    want = sorted(k for k, d in enumerate(docs) if "zz" in d.split())
    got = t.bm25_search("body", "zz", N, projection=["k"])
    assert sorted(got.column("k").to_pylist()) == want

    data = bytearray(sf.read_bytes())
    off, length = region(sf)
    reg = data[off:off + length]
    assert reg[:8] == b"INFTSRG1"
    assert struct.unpack_from("<I", reg, 8)[0] == 4
    tr = length - 128
    post_off, post_len = struct.unpack_from("<QQ", reg, tr + 24)
    assert post_off == 16 and post_len > 6 * 16384  # several chunks
    # inside zz's blocks, in a chunk holding nothing else
    i = off + post_off + post_len - 2 * 16384 - 50
    data[i] ^= 0x10
    sf.write_bytes(bytes(data))

    t = infino.connect(str(root)).open_table("t")
    # a term whose bytes lie elsewhere still answers: nothing verified
    # the whole region first
    hit = t.bm25_search("body", "w7", N, projection=["k"])
    assert sorted(hit.column("k").to_pylist()) == list(range(7, N, 40))
    with pytest.raises(RuntimeError, match=sf.name):
        t.bm25_search("body", "zz", N)
    with pytest.raises(RuntimeError, match=sf.name):  # again: not cached
        t.bm25_search("body", "zz", N)
    with pytest.raises(RuntimeError, match=sf.name):
        t.check()


def test_check_finds_a_flip_in_every_section(table):
    root, sf, _ = table
    clean = sf.read_bytes()
    off, length = region(sf)
    tr = length - 128
    secs = struct.unpack_from("<10Q", clean, off + tr + 24)
    # postings, dictionary, block index, doc lengths, summary, then the
    # checks section and the trailer
    where = [secs[2 * s] + secs[2 * s + 1] // 2 for s in range(5)]
    where += [secs[8] + secs[9] + 20, tr + 10]
    for w in where:
        data = bytearray(clean)
        data[off + w] ^= 0x01
        sf.write_bytes(bytes(data))
        with pytest.raises(RuntimeError, match=sf.name):
            infino.connect(str(root)).open_table("t").check()
    sf.write_bytes(clean)
    infino.connect(str(root)).open_table("t").check()
