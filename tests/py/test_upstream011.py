"""Behaviour that upstream infino 0.11.0 (PyPI) added or changed, checked
against what 0.11.0 was observed to do (the same calls were run on it in
a separate venv; its results are noted in comments), plus the places where
upstream HEAD and 0.11.0 disagree and we accept both forms.
"""
import os
import pathlib
import shutil
import subprocess
import sys

import pyarrow as pa
import pytest

import infino
from infino import _native

ROOT = pathlib.Path(__file__).resolve().parents[2]
DIM = 16


def vec(i: int) -> list:
    return [float(i + j) for j in range(DIM)]


@pytest.fixture(params=["memory", "local"])
def db(request, tmp_path):
    return infino.connect("memory://" if request.param == "memory" else str(tmp_path / "db"))


@pytest.fixture
def docs(db):
    schema = pa.schema([
        pa.field("title", pa.large_utf8(), nullable=False),
        pa.field("emb", pa.list_(pa.float32(), DIM), nullable=False),
    ])
    t = db.create_table("docs", schema, infino.IndexSpec().fts("title").vector("emb", DIM, "cosine"))
    t.append([{"title": f"hello world {i}", "emb": vec(i)} for i in range(20)])
    return t


# ---- exception classes -------------------------------------------------------


def test_exception_classes_are_upstream_011s_and_the_builtins_head_raises():
    # 0.11.0: InfinoError(Exception), the three others subclass InfinoError,
    # all with __module__ "infino". HEAD raises RuntimeError for these cases
    # (its catch-all "backend" error), so ours are RuntimeErrors too.
    assert issubclass(infino.InfinoError, Exception)
    assert not issubclass(infino.InfinoError, RuntimeError)
    for name in ("ConflictError", "ConnectionMemoryBudgetError", "AlreadyRunningError"):
        cls = getattr(infino, name)
        assert cls.__module__ == "infino" and cls.__name__ == name
        assert issubclass(cls, infino.InfinoError)
        assert issubclass(cls, RuntimeError)
        assert name in infino.__all__
        with pytest.raises(RuntimeError):
            raise cls("x")
    assert "InfinoError" in infino.__all__


def test_statuses_map_to_exception_classes():
    # INFINO_ERR_* values are ABI (include/infino.h)
    assert _native._error_type(-6) is infino.ConflictError
    assert _native._error_type(-5) is KeyError
    assert _native._error_type(-4) is ValueError
    assert _native._error_type(-8) is ValueError  # exists
    assert _native._error_type(-9) is ValueError  # cardinality
    assert _native._error_type(-1) is MemoryError
    assert _native._error_type(-2) is RuntimeError
    assert _native._error_type(-7) is RuntimeError


def test_builtin_errors_stay_as_upstream_raises_them(db, docs):
    # 0.11.0: KeyError for a missing table, ValueError for an existing
    # one and for a bad column; none of them is an InfinoError.
    with pytest.raises(KeyError) as e:
        db.open_table("nope")
    assert not isinstance(e.value, infino.InfinoError)
    with pytest.raises(ValueError):
        db.create_table("docs", docs.schema(), infino.IndexSpec())
    with pytest.raises(ValueError):
        docs.bm25_search("nope", "x", 5)
    with pytest.raises(ValueError):
        docs.vector_search("emb", [1.0] * 3, 5)


# ---- k -------------------------------------------------------------------------


@pytest.mark.parametrize("k", [20, 21, 10**6, 10**12, 2**63, 2**64 - 1])
def test_k_beyond_the_table_returns_every_row(docs, k):
    # 0.11.0: bm25 with k=10**12 returns all 20 rows; its vector_search
    # aborts the process allocating k slots (k=10**12), so the large-k
    # vector calls were run there with k=10**6 (20 rows).
    assert docs.bm25_search("title", "hello", k).num_rows == 20
    assert docs.vector_search("emb", vec(0), k).num_rows == 20
    assert docs.hybrid_search("title", "hello", "emb", vec(0), k).num_rows == 20
    assert docs.vector_search_ids("emb", vec(0), k).shape == (20, 16)


def test_negative_k_is_a_value_error_and_an_overflow_error(docs):
    # 0.11.0 and HEAD: OverflowError("can't convert negative int to unsigned")
    calls = [
        lambda: docs.bm25_search("title", "hello", -1),
        lambda: docs.vector_search("emb", vec(0), -1),
        lambda: docs.hybrid_search("title", "hello", "emb", vec(0), -1),
        lambda: docs.vector_search_ids("emb", vec(0), -1),
    ]
    for call in calls:
        with pytest.raises(ValueError):
            call()
        with pytest.raises(OverflowError):
            call()


def test_k_past_uint64_is_an_overflow_error(docs):
    # 0.11.0: OverflowError('int too big to convert') for 2**64
    with pytest.raises(OverflowError):
        docs.bm25_search("title", "hello", 2**64)


def test_k_in_sql(db, docs):
    v = ",".join("1.0" for _ in range(DIM))
    # 0.11.0: k past the table's rows returns them all, -1 is a ValueError
    n = db.query_sql(f"SELECT count(*) AS n FROM vector_search('docs', 'emb', [{v}], 1000000000000)")
    assert n.column("n")[0].as_py() == 20
    n = db.query_sql("SELECT count(*) AS n FROM bm25_search('docs', 'title', 'hello', 1000000000000)")
    assert n.column("n")[0].as_py() == 20
    with pytest.raises(ValueError):
        db.query_sql(f"SELECT * FROM vector_search('docs', 'emb', [{v}], -1)")


# ---- SQL array literals and a column named score ----------------------------------


def test_sql_vector_argument_as_array_literal(db, docs):
    q = vec(3)
    text = ",".join(repr(x) for x in q)
    as_string = db.query_sql(f"SELECT _id, score FROM vector_search('docs', 'emb', '{text}', 5)")
    as_array = db.query_sql(f"SELECT _id, score FROM vector_search('docs', 'emb', [{text}], 5)")
    assert as_array.equals(as_string)
    assert as_array.num_rows == 5
    # integers and spacing as DataFusion accepts them (0.11.0: [1,1,...] works)
    ints = ", ".join(str(int(x)) for x in q)
    assert db.query_sql(f"SELECT _id FROM vector_search('docs', 'emb', [ {ints} ], 5)").num_rows == 5
    h_string = db.query_sql(
        f"SELECT _id, score FROM hybrid_search('docs', 'title', 'hello', 'emb', '{text}', 4)")
    h_array = db.query_sql(
        f"SELECT _id, score FROM hybrid_search('docs', 'title', 'hello', 'emb', [{text}], 4)")
    assert h_array.equals(h_string)
    # 0.11.0: ValueError "query vector has 2 dimensions; column `emb` has 16"
    with pytest.raises(ValueError):
        db.query_sql("SELECT * FROM vector_search('docs', 'emb', [1.0, 2.0], 3)")


def test_sql_brackets_elsewhere_are_still_identifiers(db, docs):
    v = ",".join("1" for _ in range(DIM))
    r = db.query_sql(f"SELECT [title] FROM docs WHERE [title] = 'hello world 3'")
    assert r.column(0).to_pylist() == ["hello world 3"]
    r = db.query_sql(
        f"SELECT d.[title] FROM vector_search('docs', 'emb', [{v}], 1) AS s "
        "JOIN docs AS d ON d._id = s._id")
    assert r.num_rows == 1


def test_a_column_named_score(db):
    schema = pa.schema([
        pa.field("title", pa.large_utf8(), nullable=False),
        pa.field("score", pa.int64(), nullable=False),
        pa.field("emb", pa.list_(pa.float32(), DIM), nullable=False),
    ])
    t = db.create_table("sc", schema, infino.IndexSpec().fts("title").vector("emb", DIM, "l2sq"))
    t.append([{"title": "hello there", "score": 7, "emb": vec(1)}])
    v = ",".join(str(x) for x in vec(1))
    # Upstream 0.11.0 returns the column (7) where the search score belongs
    # and fails `SELECT *` on bm25_search ("duplicate qualified field name
    # ... score"); ours: score is the search score in search results, and
    # the column is readable from the table itself.
    for sql in (
        "SELECT * FROM bm25_search('sc', 'title', 'hello', 5)",
        f"SELECT * FROM vector_search('sc', 'emb', [{v}], 5)",
        f"SELECT * FROM hybrid_search('sc', 'title', 'hello', 'emb', [{v}], 5)",
        "SELECT * FROM token_match('sc', 'title', 'hello')",
        "SELECT * FROM exact_match('sc', 'title', 'hello there')",
    ):
        r = db.query_sql(sql)
        assert r.num_rows == 1, sql
        assert r.column_names.count("score") == 1, sql
    hits = t.bm25_search("title", "hello", 5).to_pylist()
    assert hits[0]["score"] != 7
    assert db.query_sql("SELECT score FROM sc").column(0).to_pylist() == [7]


# ---- connection_memory_budget_bytes ----------------------------------------------


def titles(n: int) -> pa.Table:
    return pa.table({"title": pa.array([f"word{i} hello" for i in range(n)], pa.large_utf8())})


@pytest.mark.parametrize("where", ["memory", "local"])
def test_connection_memory_budget_bounds_ingest(tmp_path, where):
    uri = "memory://" if where == "memory" else str(tmp_path / "db")
    schema = pa.schema([pa.field("title", pa.large_utf8(), nullable=False)])

    def table(budget):
        db = infino.connect(uri, connection_memory_budget_bytes=budget)
        name = f"t{budget}"
        return db.create_table(name, schema, infino.IndexSpec().fts("title"))

    # Observed on 0.11.0 (same data, both URIs): budget 0 is no budget;
    # budget 1 refuses even one row; 100,000 takes 1,000 rows (20,890
    # Arrow bytes) and refuses 20,000 (448,890); 10,000,000 takes both.
    expect = {0: (True, True, True), 1: (False, False, False),
              100_000: (True, True, False), 10_000_000: (True, True, True)}
    for budget, oks in expect.items():
        t = table(budget)
        rows = 0
        for n, ok in zip((1, 1000, 20000), oks):
            if ok:
                t.append(titles(n))
                rows += n
            else:
                with pytest.raises(infino.ConnectionMemoryBudgetError):
                    t.append(titles(n))
                with pytest.raises(RuntimeError):  # what HEAD's users catch
                    t.append(titles(n).to_pylist())
        assert t.count_rows() == rows  # a refused ingest wrote nothing
        assert t.bm25_search("title", "hello", 10).num_rows == min(rows, 10)


def test_connection_memory_budget_covers_append_named_and_update(tmp_path):
    db = infino.connect(str(tmp_path / "db"), connection_memory_budget_bytes=100_000)
    t = db.create_table("t", pa.schema([pa.field("title", pa.large_utf8(), nullable=False)]),
                        infino.IndexSpec().fts("title"))
    t.append(titles(10))
    with pytest.raises(infino.ConnectionMemoryBudgetError):
        t.append_named(titles(20000), "big")
    with pytest.raises(infino.ConnectionMemoryBudgetError):
        t.update("title = 'word1 hello'", titles(20000).slice(0, 20000))
    assert t.count_rows() == 10


def test_connection_memory_budget_argument_checks():
    # 0.11.0: -1 and 2**64 OverflowError, "x" and 1.5 TypeError, 0 accepted
    infino.connect("memory://", connection_memory_budget_bytes=0)
    infino.connect("memory://", connection_memory_budget_bytes=None)
    with pytest.raises(OverflowError):
        infino.connect("memory://", connection_memory_budget_bytes=-1)
    with pytest.raises(ValueError):
        infino.connect("memory://", connection_memory_budget_bytes=-1)
    with pytest.raises(OverflowError):
        infino.connect("memory://", connection_memory_budget_bytes=2**64)
    for bad in ("x", 1.5):
        with pytest.raises(TypeError):
            infino.connect("memory://", connection_memory_budget_bytes=bad)


# ---- thin 0.11.0 additions -----------------------------------------------------------


def test_append_named_appends(docs):
    # 0.11.0: the rows are searchable; any str is a name ("a/b" and "" too)
    for name in ("src-1", "a/b", ""):
        docs.append_named([{"title": "named row", "emb": vec(99)}], name)
    assert docs.count("title", "named") == 3
    with pytest.raises(TypeError):
        docs.append_named([{"title": "named row", "emb": vec(99)}], 7)


def test_create_database(tmp_path):
    # 0.11.0: returns None, may be called again, also on memory://; a
    # fresh local path exists afterwards (ours: already after connect)
    path = tmp_path / "fresh" / "db"
    db = infino.connect(str(path))
    assert db.create_database() is None
    assert db.create_database() is None
    assert path.is_dir()
    assert infino.connect("memory://").create_database() is None


def test_vector_search_ids(docs):
    np = pytest.importorskip("numpy")
    ids = docs.vector_search_ids("emb", vec(5), 4)
    rows = docs.vector_search("emb", vec(5), 4, projection=["_id"]).column("_id").to_pylist()
    # 0.11.0: uint8, shape (n, 16), each row the _id big-endian
    assert ids.dtype == np.uint8 and ids.shape == (4, 16)
    assert [int.from_bytes(bytes(r), "big") for r in ids] == [int(d) for d in rows]
    assert docs.vector_search_ids("emb", vec(5), 0).shape == (0, 16)


def test_rerank_mult_is_accepted(docs):
    base = docs.vector_search("emb", vec(2), 5)
    assert docs.vector_search("emb", vec(2), 5, rerank_mult=4).equals(base)
    h = docs.hybrid_search("title", "hello", "emb", vec(2), 5)
    assert docs.hybrid_search("title", "hello", "emb", vec(2), 5, rerank_mult=1).equals(h)
    with pytest.raises(ValueError):
        docs.vector_search("emb", vec(2), 5, rerank_mult=-1)
    with pytest.raises(OverflowError):
        docs.vector_search("emb", vec(2), 5, rerank_mult=2**32)
    with pytest.raises(TypeError):
        docs.vector_search("emb", vec(2), 5, 1, None, None, None, None, 4)


# ---- HEAD's and 0.11.0's call forms ---------------------------------------------------


def test_vector_index_in_both_forms(db):
    schema = pa.schema([pa.field("emb", pa.list_(pa.float32(), DIM), nullable=False)])
    for i, spec in enumerate([
        infino.IndexSpec().vector("emb", DIM, 4, "cosine"),  # HEAD
        infino.IndexSpec().vector("emb", DIM, "cosine"),  # 0.11.0
        infino.IndexSpec().vector("emb", DIM, metric="cosine"),  # 0.11.0
        infino.IndexSpec().vector(column="emb", dim=DIM, n_cent=2, metric="l2sq"),
    ]):
        t = db.create_table(f"v{i}", schema, spec)
        t.append([{"emb": vec(j)} for j in range(8)])
        assert t.vector_search("emb", vec(0), 3).num_rows == 3
    with pytest.raises(TypeError):
        infino.IndexSpec().vector("emb", DIM)


def test_positional_calls_in_both_orders(docs):
    # HEAD: vector_search(column, query, k, nprobe, filter_column,
    # filter_query, filter_mode, projection); 0.11.0 has no nprobe.
    kw = docs.vector_search("emb", vec(1), 5, filter_column="title",
                            filter_query="hello", filter_mode="and",
                            projection=["title"])
    assert docs.vector_search("emb", vec(1), 5, None, "title", "hello", "and", ["title"]).equals(kw)
    assert docs.vector_search("emb", vec(1), 5, "title", "hello", "and", ["title"]).equals(kw)
    plain = docs.vector_search("emb", vec(1), 5, projection=["title"])
    assert docs.vector_search("emb", vec(1), 5, None, None, None, ["title"]).equals(plain)
    # hybrid: HEAD (..., mode, nprobe, projection), 0.11.0 (..., mode, projection)
    hk = docs.hybrid_search("title", "hello", "emb", vec(1), 5, mode="or", projection=["title"])
    assert docs.hybrid_search("title", "hello", "emb", vec(1), 5, "or", None, ["title"]).equals(hk)
    assert docs.hybrid_search("title", "hello", "emb", vec(1), 5, "or", ["title"]).equals(hk)


# ---- stubs and the parity check ---------------------------------------------------------


def _package_dir() -> pathlib.Path:
    return pathlib.Path(infino.__file__).resolve().parent


def test_stubs_pass_mypy_strict(tmp_path):
    mypy = pytest.importorskip("mypy.api")
    # The stubs sit next to the package; mypy reads them via MYPYPATH.
    pkg = tmp_path / "pkg" / "infino"
    pkg.mkdir(parents=True)
    for f in ("__init__.py", "_infino.pyi", "py.typed"):
        shutil.copy(_package_dir() / f, pkg / f)
    os.environ["MYPYPATH"] = str(pkg.parent)
    try:
        out, err, rc = mypy.run([
            "--config-file", str(ROOT / "bindings" / "python" / "pyproject.toml"),
            "--cache-dir", str(tmp_path / "cache"),
            str(ROOT / "tests" / "py" / "typing_samples" / "both_releases.py"),
            str(pkg / "__init__.py"),
        ])
    finally:
        del os.environ["MYPYPATH"]
    assert rc == 0, out + err


def test_api_parity_script_passes():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_api_parity.py")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "FAIL" not in r.stdout


def test_api_parity_script_reports_differences():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import check_api_parity as cap
    finally:
        sys.path.pop(0)
    desc = {
        "exports": ["connect", "NoSuchThing"],
        "functions": {"connect": [
            {"name": "uri", "kind": "positional"},
            {"name": "cache_dir", "kind": "keyword_only", "default": "'x'"},
            {"name": "brand_new", "kind": "keyword_only", "default": "None"},
        ]},
        "classes": {"Connection": {"bases": [], "constructor": None,
                                   "properties": ["nope"],
                                   "methods": {"drop_table": [
                                       {"name": "name", "kind": "positional"},
                                       {"name": "purge", "kind": "positional", "default": "True"}],
                                       "vanish": []}}},
    }
    keys = {k for k, _ in cap.check_version(infino, "v", desc)}
    assert keys == {
        "v:missing:NoSuchThing",
        "v:default:connect(cache_dir)",
        "v:missing-param:connect(brand_new)",
        "v:default:Connection.drop_table(purge)",
        "v:missing:Connection.vanish",
        "v:missing:Connection.nope",
    }
