"""Calls written for upstream HEAD and for upstream 0.11, type-checked
against our stubs under `mypy --strict` by tests/py/test_upstream011.py.
Never run. Each `type: ignore[...]` asserts that mypy still rejects that
call with that error code (`--strict` reports ignores that go unused).
"""

import pyarrow as pa

import infino


def head_style() -> None:
    db: infino.Connection = infino.connect("memory://", cache_budget_bytes=1 << 20)
    schema = pa.schema([pa.field("emb", pa.list_(pa.float32(), 16), nullable=False)])
    spec: infino.IndexSpec = infino.IndexSpec().fts("body").vector("emb", 16, 4, "l2sq")
    t: infino.Table = db.create_table("t", schema, spec)
    t.vector_search("emb", [0.0] * 16, 5, nprobe=2, filter_column="body", filter_query="x")
    t.hybrid_search("body", "x", "emb", [0.0] * 16, 5, mode="or", nprobe=3)
    db.drop_table("t", purge=True)


def release_011_style() -> None:
    db = infino.connect("memory://", connection_memory_budget_bytes=64 << 20)
    db.create_database()
    schema = pa.schema([pa.field("emb", pa.list_(pa.float32(), 16), nullable=False)])
    t = db.create_table("t", schema, infino.IndexSpec().vector("emb", 16, "cosine"))
    t.append_named([{"emb": [0.0] * 16}], "batch-1")
    ids = t.vector_search_ids("emb", [0.0] * 16, 3)
    t.vector_search("emb", [0.0] * 16, 3, rerank_mult=4)
    try:
        t.append([{"emb": [1.0] * 16}])
    except infino.ConnectionMemoryBudgetError as e:
        err: infino.InfinoError = e
        _ = err
    except infino.ConflictError:
        pass
    except infino.AlreadyRunningError:
        pass
    _ = ids


def rejected() -> None:
    spec = infino.IndexSpec()
    spec.vector("emb", 16, 1, "euclidean")  # type: ignore[arg-type]
    spec.vector("emb", 16, "manhattan")  # type: ignore[arg-type]
    infino.connect("memory://", connection_memory_budget_bytes="1G")  # type: ignore[arg-type]
    db = infino.connect("memory://")
    db.open_table("t").vector_search("e", [0.0], 1, rerank_mult="x")  # type: ignore[arg-type]
    db.open_table("t").append_named([], 7)  # type: ignore[arg-type]
