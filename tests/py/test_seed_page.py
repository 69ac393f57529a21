"""The documentation page users read (tests/py/data/seed_tables_page.txt),
run as written against a ./data folder and against an s3:// URI on moto,
with a deterministic `embed`."""
from __future__ import annotations

import os
import pathlib
import textwrap
import uuid

import pytest

from helpers import embed

PAGE = pathlib.Path(__file__).parent / "data" / "seed_tables_page.txt"

# The page's code, in order, copied verbatim (each block is checked to be
# on the page, so the test cannot drift from what users read).
BLOCKS = [
    '''import infino
import pyarrow as pa

# Durable storage (a path or s3:// URI), required if you'll update/delete later.
db = infino.connect("./data")

schema = pa.schema([
    pa.field("doc_id", pa.large_utf8(), nullable=False),
    pa.field("body", pa.large_utf8(), nullable=False),
    pa.field("embedding", pa.list_(pa.float32(), 384), nullable=False),
])
docs = db.create_table(
    "docs", schema,
    infino.IndexSpec().fts("body").vector("embedding", 384, 64, "cosine"),
)

# One append is one atomic commit, durable when the call returns.
docs.append([
    {"doc_id": "1", "body": "To cancel, open Settings then Billing.", "embedding": embed("...")},
])''',
    '''docs = db.open_table("docs")''',
    '''# Replace the row(s) matching the predicate (1:1 with the new rows):
docs.update("doc_id = '1'", [
    {"doc_id": "1", "body": "Refunds go to the original payment method.", "embedding": embed("...")},
])

# Delete rows matching a predicate:
stats = docs.delete("doc_id = '1'")
print(stats.matched, stats.n_tombstoned)''',
    '''docs.optimize()                    # merge small / underfilled superfiles
db.list_tables()                   # ["docs"]
db.drop_table("docs", purge=True)  # purge=True also deletes the table's storage''',
]


def test_blocks_are_on_the_page():
    page = PAGE.read_text()
    for block in BLOCKS:
        assert block in page, f"block not on the page:\n{block}"


@pytest.fixture(params=["local", "s3"])
def where(request, tmp_path, monkeypatch):
    """Where the page's database lives: "./data" as written, or an s3://
    URI on moto. The page passes no storage_options, so for S3 the endpoint
    and keys come from the environment, as they would for a user; the URI
    literal is the only text of the page that changes (its comment says "a
    path or s3:// URI")."""
    monkeypatch.chdir(tmp_path)
    if request.param == "local":
        yield "./data", lambda: [p.name for p in (tmp_path / "data" / "tables").glob("docs-*")]
        return
    moto = request.getfixturevalue("moto_s3")
    for k in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto.key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto.secret)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint)
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")
    prefix = f"seed-page-{uuid.uuid4().hex[:10]}"
    yield (f"s3://{moto.bucket}/{prefix}",
           lambda: [k for k in moto.keys(f"{prefix}/tables/") if "/docs-" in k])


def test_seed_page_runs_verbatim(where, capsys):
    uri, table_objects = where
    block0 = BLOCKS[0]
    if uri != "./data":
        block0 = block0.replace('infino.connect("./data")', f"infino.connect({uri!r})")
        assert block0 != BLOCKS[0]
    ns: dict = {"embed": embed}
    exec(compile(block0, "page-block-0", "exec"), ns)
    assert ns["docs"].count_rows() == 1
    body = ns["docs"].to_arrow(columns=["doc_id", "body"]).to_pylist()
    assert body == [{"doc_id": "1", "body": "To cancel, open Settings then Billing."}]

    # A fresh process would reconnect: the table persists.
    import infino

    db2 = infino.connect(uri)
    assert db2.list_tables() == ["docs"]
    assert db2.open_table("docs").count_rows() == 1

    exec(compile(BLOCKS[1], "page-block-1", "exec"), ns)
    exec(compile(BLOCKS[2], "page-block-2", "exec"), ns)
    assert capsys.readouterr().out.strip() == "1 1"
    assert ns["docs"].count_rows() == 0

    exec(compile(BLOCKS[3].split("\n")[0], "page-block-3a", "exec"), ns)
    assert eval("db.list_tables()", ns) == ["docs"]
    assert table_objects()
    exec(compile(BLOCKS[3], "page-block-3", "exec"), ns)
    assert ns["db"].list_tables() == []
    # purge=True removed the table's storage
    assert table_objects() == []


def test_update_is_one_to_one(tmp_path, monkeypatch):
    import infino
    from helpers import SEED_SCHEMA

    monkeypatch.chdir(tmp_path)
    db = infino.connect("./data")
    docs = db.create_table("docs", SEED_SCHEMA, infino.IndexSpec().fts("body"))
    rows = [{"doc_id": str(i % 2), "body": f"b{i}", "embedding": embed(str(i))} for i in range(4)]
    docs.append(rows)
    with pytest.raises(ValueError):
        docs.update("doc_id = '0'", rows[:1])  # 2 matched, 1 given
    assert docs.count_rows() == 4  # nothing changed
    st = docs.update("doc_id = '0'", rows[:2])
    assert (st.matched, st.n_tombstoned) == (2, 2)
    assert docs.count_rows() == 4


def test_memory_refuses_mutations():
    import infino
    from helpers import SEED_SCHEMA

    db = infino.connect("memory://")
    docs = db.create_table("docs", SEED_SCHEMA, infino.IndexSpec())
    docs.append([{"doc_id": "1", "body": "x", "embedding": embed("x")}])
    with pytest.raises(RuntimeError):
        docs.delete("doc_id = '1'")
    with pytest.raises(RuntimeError):
        docs.update("doc_id = '1'", [])
    # upstream refuses gc there too; ours collects (docs/differences.md)
    assert docs.gc(0).delete_errors == 0
    assert docs.count_rows() == 1
    # every memory:// connection is a new, empty database
    assert infino.connect("memory://").list_tables() == []
