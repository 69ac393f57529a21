"""Model-based test: random appends, updates, deletes, optimizes, gcs and
reopenings, checked after every step against a plain Python model of the
table's rows; on a local folder, memory:// and each bucket emulator (S3 on
moto, GCS on fake-gcs-server, Azure Blob on Azurite)."""
from __future__ import annotations

import os

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, rule,
                                 run_state_machine_as_test)

import infino
from helpers import store_server

SCHEMA = pa.schema(
    [
        pa.field("key", pa.int64(), nullable=False),
        pa.field("grp", pa.utf8(), nullable=True),
        pa.field("body", pa.large_utf8(), nullable=False),
        pa.field("vec", pa.list_(pa.float32(), 4), nullable=False),
    ]
)
GROUPS = ["a", "b", "c", None]


def make_row(key: int, grp, version: int) -> dict:
    return {
        "key": key,
        "grp": grp,
        "body": f"row {key} v{version} " + "x" * (key % 7),
        "vec": [float(key), float(version), 0.5, -1.0],
    }


class TableModel(RuleBasedStateMachine):
    # Where each run's table lives: a function giving (uri, storage
    # options) for a fresh database; set per backend below.
    target = None

    def __init__(self):
        super().__init__()
        self.dir, self.opts = type(self).target()
        self.memory = self.dir.startswith("memory")
        self.db = self.connect()
        self.t = None
        self.model: dict[int, dict] = {}  # key -> row (keys unique)
        self.ids: dict[int, object] = {}  # key -> _id
        self.next_key = 0
        self.version = 0

    @initialize()
    def create(self):
        self.t = self.db.create_table(
            "m", SCHEMA, infino.IndexSpec().fts("body").vector("vec", 4, 2, "l2sq")
        )

    @rule(n=st.integers(0, 40), grp=st.sampled_from(GROUPS), as_table=st.booleans())
    def append(self, n, grp, as_table):
        new = []
        for _ in range(n):
            new.append(make_row(self.next_key, grp, self.version))
            self.next_key += 1
        data = pa.Table.from_pylist(new, schema=SCHEMA) if as_table else new
        self.t.append(data)
        for r in new:
            self.model[r["key"]] = r

    @rule(lo=st.integers(0, 200), width=st.integers(0, 30))
    def delete_range(self, lo, width):
        hi = lo + width
        if self.refused(self.t.delete, f"key >= {lo} AND key < {hi}"):
            return
        st_ = self.t.delete(f"key >= {lo} AND key < {hi}")
        gone = [k for k in self.model if lo <= k < hi]
        assert st_.matched == len(gone) and st_.n_tombstoned == len(gone)
        for k in gone:
            del self.model[k]
            self.ids.pop(k, None)

    @rule(grp=st.sampled_from(GROUPS))
    def delete_group(self, grp):
        pred = "grp IS NULL" if grp is None else f"grp = '{grp}'"
        if self.refused(self.t.delete, pred):
            return
        st_ = self.t.delete(pred)
        gone = [k for k, r in self.model.items() if r["grp"] == grp]
        assert st_.matched == len(gone)
        for k in gone:
            del self.model[k]
            self.ids.pop(k, None)

    @rule(lo=st.integers(0, 200), width=st.integers(0, 10), wrong=st.booleans())
    def update_range(self, lo, width, wrong):
        hi = lo + width
        hit = sorted(k for k in self.model if lo <= k < hi)
        if self.refused(self.t.update, f"key >= {lo} AND key < {hi}", []):
            return
        self.version += 1
        repl = [make_row(k, self.model[k]["grp"], self.version) for k in hit]
        if wrong:
            repl = repl + [make_row(10**6 + self.version, "a", self.version)]
            try:
                self.t.update(f"key >= {lo} AND key < {hi}", repl)
            except ValueError:
                return  # cardinality mismatch: nothing changed
            raise AssertionError("update with a wrong row count succeeded")
        st_ = self.t.update(f"key >= {lo} AND key < {hi}", repl)
        assert st_.matched == len(hit)
        for r in repl:
            self.model[r["key"]] = r
            self.ids.pop(r["key"], None)  # replacement rows get new ids

    @rule(fill=st.sampled_from([None, 0, 50, 100]), mem=st.sampled_from([None, 16, 256]))
    def optimize(self, fill, mem):
        self.t.optimize(infino.OptimizeOptions(min_fill_percent=fill, max_memory_mb=mem))

    @rule()
    def gc(self):
        # memory:// too (upstream refuses it there; docs/differences.md)
        r = self.t.gc(0)
        assert r.delete_errors == 0

    def refused(self, call, *args) -> bool:
        """On memory://, update and delete are refused as upstream
        refuses them (durable storage only), changing nothing."""
        if not self.memory:
            return False
        with pytest.raises(RuntimeError, match="requires durable storage"):
            call(*args)
        return True

    def connect(self):
        return infino.connect(self.dir, storage_options=self.opts or None)

    @rule()
    def reopen(self):
        # memory:// lives as long as its connection: reopen the table only
        if not self.memory:
            self.db = self.connect()
        self.t = self.db.open_table("m")

    @invariant()
    def rows_match_model(self):
        if self.t is None:
            return
        got = self.t.to_arrow(columns=["_id", "key", "grp", "body", "vec"])
        rows = got.to_pylist()
        assert len(rows) == len(self.model), (len(rows), len(self.model))
        ids = [r["_id"] for r in rows]
        assert len(set(ids)) == len(ids)
        for r in rows:
            k = r["key"]
            want = self.model[k]
            assert (r["grp"], r["body"], r["vec"]) == (want["grp"], want["body"], want["vec"])
            # an id never changes unless the row was replaced
            if k in self.ids:
                assert self.ids[k] == r["_id"]
            self.ids[k] = r["_id"]
        assert self.t.count_rows() == len(self.model)


def _local():
    import tempfile

    return tempfile.mkdtemp(prefix="infino-model-"), None


# Examples per backend: buckets answer over HTTP, so fewer there (each
# example is up to 25 steps with a full read-back after every one).
EXAMPLES = int(os.environ.get("INFINO_MODEL_EXAMPLES", "25"))
BACKENDS = {"local": EXAMPLES, "memory": EXAMPLES, "s3": max(1, EXAMPLES // 5),
            "gcs": max(1, EXAMPLES // 5), "azure": max(1, EXAMPLES // 5)}


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_table_model(backend, request):
    if backend == "local":
        target = _local
    elif backend == "memory":
        def target():
            return "memory://", None
    else:
        server = store_server(request, backend)

        def target():
            return server.uri("model"), server.storage_options()

    class Model(TableModel):
        pass

    Model.target = staticmethod(target)
    run_state_machine_as_test(Model, settings=settings(
        max_examples=BACKENDS[backend],
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    ))
