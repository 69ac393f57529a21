"""Appends of large batches index their columns on the worker pool while the
Parquet writer encodes the batch (src/superfile/sf_build.c, batches of
4,096 rows or more when the pool has more than one thread). The oracle is
the same rows appended in batches of 1,000, which take the serial path:
one superfile each way, so every search must agree exactly (ids and score
bits), and the stored rows must be the input."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import infino

DIM = 24
WORDS = [f"w{i}" for i in range(300)]


def rows(n, seed):
    rng = np.random.default_rng(seed)
    zipf = np.minimum(rng.zipf(1.3, size=(n, 12)), len(WORDS)) - 1
    title = [" ".join(WORDS[j] for j in r[:3]) for r in zipf]
    body = [" ".join(WORDS[j] for j in r) for r in zipf[:, ::-1]]
    centres = rng.standard_normal((16, DIM)).astype(np.float32) * 3
    v = centres[rng.integers(0, 16, n)] + \
        rng.standard_normal((n, DIM)).astype(np.float32) * 0.3
    return pa.table({
        "n": pa.array(np.arange(n), pa.int64()),
        "title": pa.array(title, pa.large_utf8()),
        "body": pa.array(body, pa.large_utf8()),
        "v": pa.FixedSizeListArray.from_arrays(
            pa.array(v.reshape(-1), pa.float32()), DIM),
    })


def make(tmp_path, name, data, batch_rows):
    spec = infino.IndexSpec().fts("title").fts("body").vector("v", DIM, 32,
                                                              "l2sq")
    t = infino.connect(str(tmp_path / name)).create_table(
        "t", data.schema, spec)
    t.append(pa.RecordBatchReader.from_batches(
        data.schema, data.to_batches(max_chunksize=batch_rows)))
    return t


def test_large_batches_index_like_small_ones(tmp_path):
    data = rows(14_000, 5)
    big = make(tmp_path, "big", data, 7_000)
    small = make(tmp_path, "small", data, 1_000)
    got = big.to_arrow(columns=["n", "title", "body", "v"]).sort_by("n")
    assert got.equals(data)
    rng = np.random.default_rng(9)
    for q in range(40):
        text = " ".join(rng.choice(WORDS[:60], size=1 + q % 3))
        for col in ("title", "body"):
            for mode in (None, "and"):
                a = big.bm25_search(col, text, 10, mode=mode,
                                    projection=["n", "score"])
                b = small.bm25_search(col, text, 10, mode=mode,
                                      projection=["n", "score"])
                assert a.equals(b), (col, text, mode)
            assert big.count(col, text) == small.count(col, text)
        vq = data.column("v")[q * 97].values.to_numpy()
        a = big.vector_search("v", vq, 10, projection=["n", "score"])
        b = small.vector_search("v", vq, 10, projection=["n", "score"])
        assert a.equals(b)


def test_a_bad_vector_in_a_large_batch_fails_the_append(tmp_path):
    data = rows(6_000, 6)
    t = make(tmp_path, "t", data.slice(0, 100), 100)
    v = data.column("v").combine_chunks()
    flat = v.values.to_numpy().copy()
    flat[4_500 * DIM + 3] = np.nan
    bad = data.set_column(3, "v", pa.FixedSizeListArray.from_arrays(
        pa.array(flat, pa.float32()), DIM))
    with pytest.raises(ValueError, match=r"'v'.*NaN|NaN.*'v'"):
        t.append(bad)
    assert t.count_rows() == 100
    t.append(data.slice(0, 5_000))
    assert t.count_rows() == 5_100
    assert t.count("body", WORDS[0]) == small_count(data, 100, 5_000)


def small_count(data, first, second):
    body = data.column("body").to_pylist()
    return sum(WORDS[0] in b.split() for b in body[:first]) + \
        sum(WORDS[0] in b.split() for b in body[:second])
