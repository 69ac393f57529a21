"""Table.check(): the consistency check users can run. It passes on a
healthy table (counting what a Python model says is there) and names the
file when one is missing, cut short, or has a flipped byte."""
from __future__ import annotations

import pathlib

import pyarrow as pa
import pytest

import infino

SCHEMA = pa.schema([("k", pa.int64()), ("body", pa.large_utf8()),
                    ("vec", pa.list_(pa.float32(), 4))])


def rows(first: int, n: int) -> list[dict]:
    return [{"k": k, "body": f"row {k} text {k % 7}",
             "vec": [float(k), 1.0, float(k % 3), -1.0]}
            for k in range(first, first + n)]


@pytest.fixture
def table(tmp_path):
    db = infino.connect(str(tmp_path / "db"))
    t = db.create_table("t", SCHEMA,
                        infino.IndexSpec().fts("body").vector("vec", 4, 2, "l2sq"))
    for b in range(5):
        t.append(rows(b * 100, 100))
    t.delete("k % 10 = 3")
    return tmp_path / "db", t


def files(root: pathlib.Path, folder: str) -> list[pathlib.Path]:
    return sorted(p for p in root.glob(f"tables/*/{folder}/*") if p.is_file()
                  and not p.name.startswith("."))


def test_check_counts_what_the_model_holds(table):
    root, t = table
    rep = t.check()
    assert rep.n_rows == 500 - 50 == t.count_rows()
    assert rep.n_deleted == 50
    assert rep.n_superfiles == 5
    assert rep.bytes_verified == sum(p.stat().st_size for p in files(root, "superfiles"))
    t.optimize()
    rep2 = t.check()
    assert (rep2.n_rows, rep2.n_deleted, rep2.n_superfiles) == (450, 0, 1)
    assert rep2.version > rep.version
    assert "CheckReport(" in repr(rep2)
    with pytest.raises(AttributeError):
        rep2.n_rows = 1


def reopen(root: pathlib.Path):
    return infino.connect(str(root)).open_table("t")


def test_missing_superfile_is_named(table):
    root, _ = table
    victim = files(root, "superfiles")[2]
    victim.unlink()
    with pytest.raises(KeyError, match=victim.name):
        reopen(root).check()


def test_truncated_superfile_is_named(table):
    root, _ = table
    victim = files(root, "superfiles")[1]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match=victim.name):
        reopen(root).check()


@pytest.mark.parametrize("where", [0.3, 0.6, 0.9])
def test_flipped_byte_in_a_superfile_is_named(table, where):
    root, _ = table
    victim = files(root, "superfiles")[0]
    data = bytearray(victim.read_bytes())
    i = int(len(data) * where)
    data[i] ^= 0x5A
    victim.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match=victim.name):
        reopen(root).check()


def test_corrupt_or_missing_tombstone_is_named(table):
    root, _ = table
    victim = files(root, "tombstones")[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match=victim.name):
        reopen(root).check()
    victim.unlink()
    with pytest.raises(KeyError, match=victim.name):
        reopen(root).check()
