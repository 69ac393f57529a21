"""Writers started by multiprocessing, with both start methods Linux users
meet: "fork" (Python's default before 3.14), where children inherit a table
handle opened by the parent, and "spawn", where each child opens its own.
Every acknowledged row is there once and every _id is unique."""
from __future__ import annotations

import multiprocessing as mp

import pyarrow as pa
import pytest

import infino

SCHEMA = pa.schema([("child", pa.int64()), ("batch", pa.int64()), ("i", pa.int64())])
CHILDREN, BATCHES, ROWS = 3, 40, 20

_inherited = None  # the parent's handle, inherited by forked children


def _rows(child: int, batch: int) -> list[dict]:
    return [{"child": child, "batch": batch, "i": i} for i in range(ROWS)]


def _append_inherited(child: int) -> None:
    for b in range(BATCHES):
        _inherited.append(_rows(child, b))


def _append_own(root: str, child: int) -> None:
    t = infino.connect(root).open_table("t")
    for b in range(BATCHES):
        t.append(_rows(child, b))


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_children_mint_unique_ids(tmp_path, method):
    global _inherited
    root = str(tmp_path / "db")
    _inherited = infino.connect(root).create_table("t", SCHEMA, infino.IndexSpec())
    _inherited.append(_rows(-1, 0))  # the parent has minted ids too
    ctx = mp.get_context(method)
    if method == "fork":
        procs = [ctx.Process(target=_append_inherited, args=(c,)) for c in range(CHILDREN)]
    else:
        procs = [ctx.Process(target=_append_own, args=(root, c)) for c in range(CHILDREN)]
    for p in procs:
        p.start()
    _inherited.append(_rows(-1, 1))  # and keeps minting while they run
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    got = infino.connect(root).open_table("t").to_arrow()
    assert got.num_rows == (CHILDREN * BATCHES + 2) * ROWS
    keys = set(zip(*(got.column(c).to_pylist() for c in ("child", "batch", "i"))))
    assert len(keys) == got.num_rows
    ids = got.column("_id").to_pylist()
    assert len(set(ids)) == len(ids), f"{len(ids) - len(set(ids))} duplicate _ids"
