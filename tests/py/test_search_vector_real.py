"""Vector search on real sentence embeddings: the sample corpus
(examples/data/corpus.jsonl, title + body) embedded with all-MiniLM-L6-v2
(tests/py/minilm.py), searched with ~200 held-out questions, against exact
k-NN in numpy. recall@10 must reach 0.90 at the default nprobe for every
metric, the table built from several appends (several superfiles).

Embedding the 3200 texts takes about 100 s of CPU; the vectors are cached in
pytest's cache directory, keyed by a hash of the texts, minilm.py and the
model files, so later runs take seconds."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pathlib
import random
import time

import numpy as np
import pyarrow as pa
import pytest

import infino
import minilm
from helpers import superfiles

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "examples" / "data" / "corpus.jsonl"
K = 10
N_APPENDS = 4
N_CENTROIDS = 64
NPROBE_SWEEP = [1, 2, 4, 8, 16, 32, 64]

if minilm.model_dir() is None:
    pytest.skip(f"the {minilm.PACKAGE} package is not installed "
                "(scripts/setup.sh installs it)", allow_module_level=True)


def _corpus_vocabulary() -> dict:
    """The topics/things/actions examples/make_corpus.py writes documents
    from, so the questions talk about the same things."""
    spec = importlib.util.spec_from_file_location("make_corpus", ROOT / "examples" / "make_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.TOPICS


# Question forms the corpus never uses (its documents start with the
# OPENERS of make_corpus.py).
QUESTION_FORMS = [
    "What is the way to {action} a {thing}?",
    "Is it possible to {action} the {thing} myself?",
    "I need to {action} my {thing}, where do I start?",
    "Can someone explain how to {action} my {thing}?",
    "Where is the option to {action} my {thing}?",
    "My {thing} seems off, should I {action} it?",
    "Unable to {action} {thing}",
    "Quick question: how would I {action} a {thing}?",
    "What happens when I {action} my {thing}?",
    "Can an admin {action} the {thing} for the whole team?",
    "How long does it take to {action} a {thing}?",
    "Best way to {action} {thing}",
]

# Written for this test, in the voice of a help-center visitor.
FREE_QUESTIONS = [
    "I was charged twice this month, what should I do?",
    "Where do I find last year's receipts for my taxes?",
    "Can I switch from monthly to yearly billing?",
    "My card expired, how do I put in a new one?",
    "The promo code is not accepted at checkout",
    "The courier left my box at the wrong house",
    "Where is my order? It was due yesterday",
    "How do I send something back for a refund?",
    "Can I change where my package is delivered after ordering?",
    "Customs is holding my shipment, what papers do they need?",
    "I can't sign in after changing my email",
    "How do I turn on two-step verification?",
    "Someone else may be logged into my account",
    "I lost my authenticator phone, how do I get back in?",
    "How can I add a colleague to our workspace?",
    "My headphones will not pair over bluetooth",
    "The battery drains overnight even when idle",
    "The touch screen stopped responding",
    "Is there a new software version for my gadget?",
    "The wifi keeps dropping on my smart speaker",
    "My bread starter smells sour and has liquid on top",
    "How do I stop my skillet from rusting?",
    "What grind size should I use for espresso?",
    "My chef's knife feels dull, how do I sharpen it safely?",
    "How do I check whether my oven runs hot?",
    "When should I cut back my roses?",
    "My tomato leaves are turning yellow",
    "How often should I turn my compost pile?",
    "Should I water the lawn in the morning or evening?",
    "How do I protect young fruit trees from frost?",
]


def held_out_queries(docs: list[dict], n: int = 200, seed: int = 20240611) -> list[str]:
    """~n questions: the free-form ones plus question forms filled with the
    corpus's things and actions; none equal to any document's text."""
    topics = _corpus_vocabulary()
    texts = {d["title"] for d in docs} | {d["body"] for d in docs}
    rnd = random.Random(seed)
    out = [q for q in FREE_QUESTIONS if q not in texts]
    seen = set(out)
    names = sorted(topics)
    while len(out) < n:
        t = topics[rnd.choice(names)]
        q = rnd.choice(QUESTION_FORMS).format(thing=rnd.choice(t["things"]),
                                              action=rnd.choice(t["actions"]))
        if q not in seen and q not in texts:
            seen.add(q)
            out.append(q)
    return out


def _cache_key(texts: list[str]) -> str:
    h = hashlib.sha256()
    h.update(pathlib.Path(minilm.__file__).read_bytes())
    mdir = minilm.model_dir()
    for p in sorted(mdir.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(mdir)).encode() + b"\0")
            with p.open("rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
    for t in texts:
        h.update(t.encode() + b"\0")
    return h.hexdigest()[:32]


def embed_cached(request, texts: list[str]) -> np.ndarray:
    cache = getattr(request.config, "cache", None)
    d = (pathlib.Path(cache.mkdir("minilm")) if cache is not None
         else ROOT / "build" / "cache" / "minilm")
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{_cache_key(texts)}.npy"
    if path.exists():
        X = np.load(path)
        if X.shape == (len(texts), minilm.DIM) and X.dtype == np.float32:
            return X
    t0 = time.perf_counter()
    X = minilm.embed(texts)
    print(f"\nembedded {len(texts)} texts in {time.perf_counter() - t0:.1f} s (cold; cached "
          f"in {path.name})")
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        np.save(f, X)
    os.replace(tmp, path)  # readers never see a partial file
    return X


@pytest.fixture(scope="module")
def data(request):
    docs = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    queries = held_out_queries(docs)
    texts = [f"{d['title']} {d['body']}" for d in docs]
    E = embed_cached(request, texts + queries)
    return E[: len(docs)], E[len(docs) :], queries


def exact_distances(metric: str, X: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """(n_queries, n_docs) distances in float64, as the engine defines them
    (smaller is nearer)."""
    X, Q = X.astype(np.float64), Q.astype(np.float64)
    dot = Q @ X.T
    if metric == "l2sq":
        return (Q * Q).sum(axis=1)[:, None] - 2 * dot + (X * X).sum(axis=1)[None, :]
    if metric == "negdot":
        return -dot
    return 1 - dot / np.outer(np.linalg.norm(Q, axis=1), np.linalg.norm(X, axis=1))


def recall(t, D, Q, nprobe=None) -> tuple[float, float]:
    """(recall@K as set overlap with the exact top K, tie-aware recall@K)
    of the table's answers, D the exact distances of the queries Q.
    The second counts a returned row as a hit when its exact distance is
    within 1e-6 of the K-th exact distance or nearer: the corpus has a few
    duplicate texts, whose rows are interchangeable."""
    want = np.argsort(D, axis=1, kind="stable")[:, :K]
    strict = tied = 0
    for i, q in enumerate(Q):
        got = t.vector_search("v", q, K, nprobe=nprobe, projection=["n"]).column("n").to_pylist()
        assert len(got) == K and len(set(got)) == K
        strict += len(set(want[i].tolist()) & set(got))
        tied += int((D[i, got] <= D[i, want[i, -1]] + 1e-6).sum())
    return strict / (K * len(Q)), tied / (K * len(Q))


def test_embeddings_are_sane(data):
    X, Q, queries = data
    assert X.shape == (3000, minilm.DIM) and len(Q) == len(queries) >= 200
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1, atol=1e-5)
    # Queries are held out: no query is (nearly) a copy of a document.
    assert (Q @ X.T).max() < 0.999


@pytest.mark.parametrize("metric", ["cosine", "l2sq", "negdot"])
def test_recall_at_10_real_embeddings(tmp_path, data, metric):
    X, Q, _ = data
    dim = X.shape[1]
    schema = pa.schema([pa.field("n", pa.int64(), nullable=False),
                        pa.field("v", pa.list_(pa.float32(), dim), nullable=False)])
    t = infino.connect(str(tmp_path / metric)).create_table(
        "t", schema, infino.IndexSpec().vector("v", dim, N_CENTROIDS, metric))
    bounds = np.linspace(0, len(X), N_APPENDS + 1).astype(int)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        t.append(pa.table({"n": pa.array(np.arange(lo, hi), pa.int64()),
                           "v": pa.FixedSizeListArray.from_arrays(pa.array(X[lo:hi].ravel()),
                                                                  dim)}))
    assert t.count_rows() == len(X)
    assert len(superfiles(tmp_path / metric)) == N_APPENDS  # one per append

    D = exact_distances(metric, X, Q)
    strict, tied = recall(t, D, Q)
    sweep = {n: recall(t, D, Q, nprobe=n) for n in NPROBE_SWEEP}
    print(f"\n{metric}: recall@{K} at the default nprobe = {strict:.3f} "
          f"(tie-aware {tied:.3f}); by nprobe: "
          + ", ".join(f"{n}: {s:.3f}/{a:.3f}" for n, (s, a) in sweep.items()))
    assert tied >= 0.90
    assert strict >= 0.90
