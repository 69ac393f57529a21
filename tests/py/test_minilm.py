"""minilm.py against oracles: token ids from vocab.txt and a published
tokenization, published all-MiniLM-L6-v2 embedding values, math.erf, and
semantic sanity (paraphrases nearer than unrelated sentences); the
safetensors reader against hand-built and corrupted files."""
from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minilm

MODEL = minilm.model_dir()
if MODEL is None:
    pytest.skip(f"the {minilm.PACKAGE} package is not installed "
                "(scripts/setup.sh installs it)", allow_module_level=True)


@pytest.fixture(scope="module")
def model():
    return minilm.load()


@pytest.fixture(scope="module")
def vocab_lines():
    """vocab.txt read directly: line i is the token of id i."""
    return (MODEL / "vocab.txt").read_text(encoding="utf-8").splitlines()


def ids_of(vocab_lines, tokens):
    return [vocab_lines.index(t) for t in tokens]


# ---- tokenizer ----------------------------------------------------------------


@pytest.mark.parametrize("text, pieces", [
    ("Hello, world!", ["hello", ",", "world", "!"]),
    # accents stripped (NFD, marks dropped) after lowercasing
    ("Café customers in Zürich and São Paulo", ["cafe", "customers", "in", "zurich",
                                                "and", "sao", "paulo"]),
    ("naïve Résumé Ünïcödé", ["naive", "resume", "unicode"]),
    # every ASCII punctuation character splits, apostrophes and $ included
    ("e-mail's $5 (1,000.50)", ["e", "-", "mail", "'", "s", "$", "5", "(", "1", ",",
                                "000", ".", "50", ")"]),
    # unknown words: greedy longest-match pieces with ##
    ("superfiles", ["super", "##fi", "##les"]),
    ("unaffable Parquet", ["una", "##ffa", "##ble", "par", "##quet"]),
    ("tokenization embeddings", ["token", "##ization", "em", "##bed", "##ding", "##s"]),
    # CJK ideographs are words of their own; kana are not (and lose the
    # voicing mark with the accents)
    ("東京タワー", ["東", "京", "タ", "##ワ", "##ー"]),
    ("ひらがな", ["ひ", "##ら", "##か", "##な"]),
    # NBSP and tab separate; zero-width space, NUL and U+FFFD are dropped
    ("a\u00a0b\tc\u200bd\x00e\ufffdf", ["a", "b", "cd", "##ef"]),
    # no piece for the emoji: the whole word is [UNK]
    ("\U0001F642 ok", ["[UNK]", "ok"]),
    # literal special tokens keep their id; lowercase look-alikes do not
    ("hello [MASK] world [mask]", ["hello", "[MASK]", "world", "[", "mask", "]"]),
    ("", []),
    (" \n\t ", []),
])
def test_tokenize_cases(model, vocab_lines, text, pieces):
    tk = model.tokenizer
    assert tk.tokenize(text) == pieces
    assert tk.encode(text) == ids_of(vocab_lines, ["[CLS]", *pieces, "[SEP]"])


def test_tokenize_well_known_ids(model):
    # bert-base-uncased ids (the vocabulary all-MiniLM-L6-v2 uses).
    assert model.tokenizer.encode("Hello, world!") == [101, 7592, 1010, 2088, 999, 102]
    # Published input_ids of all-MiniLM-L6-v2 for these sentences (a public
    # R package's test against the official tokenizer).
    assert minilm.tokenize("This is an example sentence") == [
        101, 2023, 2003, 2019, 2742, 6251, 102]
    assert minilm.tokenize("Each sentence is converted.") == [
        101, 2169, 6251, 2003, 4991, 1012, 102]
    assert minilm.tokenize("") == [101, 102]
    assert minilm.tokenize("Café déjà vu — 東京") == [
        101, 7668, 2139, 3900, 24728, 1517, 1879, 1755, 102]


def test_wordpiece_is_longest_match_first(model):
    """Each piece chosen is in the vocabulary and no longer candidate at the
    same position is (the definition of greedy longest-match-first)."""
    v = model.tokenizer.vocab
    for word in ["superfiles", "unaffable", "parquet", "embeddings", "infino",
                 "xylophonist", "bm25okapi", "deduplication"]:
        pieces = model.tokenizer.wordpiece(word)
        assert "[UNK]" not in pieces
        assert "".join(p.removeprefix("##") for p in pieces) == word
        pos = 0
        for i, p in enumerate(pieces):
            assert p.startswith("##") == (i > 0)
            n = len(p.removeprefix("##"))
            for longer in range(pos + n + 1, len(word) + 1):
                cand = ("##" if i else "") + word[pos:longer]
                assert cand not in v, (word, cand)
            pos += n


def test_word_length_limit_and_truncation(model):
    tk = model.tokenizer
    assert tk.tokenize("x" * 101) == ["[UNK]"]           # over 100 characters
    assert tk.tokenize("x" * 100)[0] == "xx"            # at the limit: pieces
    ids = tk.encode("word " * 1000)
    assert tk.max_length == 256                         # sentence_bert_config.json
    assert len(ids) == 256 and ids[0] == 101 and ids[-1] == 102
    assert set(ids[1:-1]) == {tk.vocab["word"]}


def test_vocab_and_config_agree_with_tokenizer_json(model, vocab_lines):
    """tokenizer.json (what the reference fast tokenizer runs) describes the
    same vocabulary and the normalizer/model options we implement."""
    tj = json.loads((MODEL / "tokenizer.json").read_text())
    assert tj["model"]["vocab"] == {t: i for i, t in enumerate(vocab_lines)}
    assert len(model.tokenizer.vocab) == len(vocab_lines) == 30522
    assert tj["normalizer"] == {"type": "BertNormalizer", "clean_text": True,
                                "handle_chinese_chars": True, "strip_accents": None,
                                "lowercase": True}
    assert tj["pre_tokenizer"]["type"] == "BertPreTokenizer"
    assert tj["model"]["type"] == "WordPiece"
    assert tj["model"]["continuing_subword_prefix"] == "##"
    assert tj["model"]["max_input_chars_per_word"] == model.tokenizer.max_word_chars
    specials = {t["content"]: t["id"] for t in tj["added_tokens"]}
    assert all(model.tokenizer.vocab[t] == i for t, i in specials.items())


# ---- gelu ---------------------------------------------------------------------


def test_gelu_matches_math_erf():
    x = np.concatenate([np.linspace(-10, 10, 20001), [-0.0, 0.0, 1e-30, -1e-30, 30, -30]])
    x = x.astype(np.float32)
    got = minilm.gelu(x.copy())
    want = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.tolist()])
    assert got.dtype == np.float32
    # 1.5e-7 from the erf approximation (times |x|/2), plus float32 rounding.
    np.testing.assert_allclose(got, want, rtol=3e-7, atol=3e-7)


# ---- embeddings ---------------------------------------------------------------

# Published all-MiniLM-L6-v2 (sentence-transformers) outputs, first six
# dimensions, from the same public R package test as the ids above.
REFERENCE = {
    "This is an example sentence":
        [0.06765693, 0.06349593, 0.04871314, 0.07930495, 0.03744806, 0.00265273],
    "Each sentence is converted.":
        [0.07853645, 0.08856265, -0.00209270, -0.00717247, -0.01252624, 0.01881747],
    "": [-0.11883835, 0.04829856, -0.00254805, -0.01101118, 0.05195070, 0.01029179],
    "Café déjà vu — 東京":
        [0.05083271, 0.00967685, 0.09635572, -0.00997369, -0.01987603, 0.01692343],
}


def test_matches_published_embeddings():
    X = minilm.embed(list(REFERENCE))
    np.testing.assert_allclose(X[:, :6], np.array(list(REFERENCE.values())),
                               rtol=0, atol=1e-5)
    # DJL's Spark example prints [0.08643859, 0.10...] for this one.
    (y,) = minilm.embed(["Each sentence is converted"])
    assert abs(y[0] - 0.08643859) < 1e-5 and 0.10 <= y[1] < 0.11


def test_shape_norm_determinism_and_batching():
    rng = np.random.default_rng(11)
    words = "the a password invoice reset garden tomato water how do I my can it".split()
    sents = [" ".join(rng.choice(words, rng.integers(1, 40))) for _ in range(15)]
    X = minilm.embed(sents, batch_size=4)
    assert X.shape == (15, minilm.DIM) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(X, minilm.embed(sents, batch_size=4))
    # Padding must not leak: one sentence at a time (no padding at all) and
    # in reversed order (other batch neighbours) give the same vectors.
    one = np.stack([minilm.embed([s])[0] for s in sents])
    np.testing.assert_allclose(X, one, rtol=0, atol=1e-5)
    rev = minilm.embed(sents[::-1], batch_size=5)[::-1]
    np.testing.assert_allclose(X, rev, rtol=0, atol=1e-5)
    assert minilm.embed([]).shape == (0, minilm.DIM)
    with pytest.raises(TypeError):
        minilm.embed("not a list")


@pytest.mark.parametrize("anchor, paraphrase, unrelated", [
    ("How do I reset my password?", "I forgot my password, how can I change it?",
     "The tomato plants need water"),
    ("Where can I download my invoice?", "How do I get a copy of my bill?",
     "My headphones will not pair over bluetooth"),
    ("My parcel has not arrived yet", "The package I ordered is late",
     "How long should sourdough rise?"),
    ("How often should I water tomato seedlings?", "Watering schedule for young tomato plants",
     "Cancel my annual subscription"),
    ("The cat sits on the mat", "A cat is sitting on a rug",
     "Quarterly revenue grew by ten percent"),
])
def test_paraphrases_are_nearer(anchor, paraphrase, unrelated):
    a, p, u = minilm.embed([anchor, paraphrase, unrelated])
    assert a @ p > a @ u + 0.2, (a @ p, a @ u)
    assert a @ p > 0.5


# ---- safetensors --------------------------------------------------------------


def st_file(tensors: dict, header_extra: dict | None = None, pad: int = 0,
            tail: bytes = b"") -> bytes:
    """A safetensors file built by hand: tensors is name -> (dtype, shape, bytes)."""
    header, blob = {}, b""
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    header.update(header_extra or {})
    h = json.dumps(header).encode() + b" " * pad
    return struct.pack("<Q", len(h)) + h + blob + tail


def good_file() -> bytes:
    return st_file({
        "w": ("F32", [2, 3], struct.pack("<6f", 1, 2, 3, 4, 5, -6.5)),
        "ids": ("I64", [3], struct.pack("<3q", 7, -1, 1 << 40)),
        "h": ("F16", [2], struct.pack("<2e", 0.5, -2.0)),
        "bf": ("BF16", [2], struct.pack("<2H", 0x3F80, 0xC040)),  # 1.0, -3.0
        "e": ("U8", [0, 4], b""),
    }, header_extra={"__metadata__": {"format": "pt"}}, pad=5)


def test_safetensors_reads_hand_built_file():
    t = minilm.parse_safetensors(good_file())
    assert set(t) == {"w", "ids", "h", "bf", "e"}
    np.testing.assert_array_equal(t["w"], np.array([[1, 2, 3], [4, 5, -6.5]], np.float32))
    assert t["w"].dtype == np.float32
    assert t["ids"].tolist() == [7, -1, 1 << 40]
    assert t["h"].tolist() == [0.5, -2.0]
    assert t["bf"].dtype == np.float32 and t["bf"].tolist() == [1.0, -3.0]
    assert t["e"].shape == (0, 4)


def test_safetensors_reads_the_model():
    t = minilm.read_safetensors(MODEL / "model.safetensors")
    assert len(t) == 3 + 2 + 1 + 6 * 16 + 2  # embeddings, LN, position_ids, layers, pooler
    assert t["embeddings.word_embeddings.weight"].shape == (30522, 384)
    assert t["embeddings.position_ids"].tolist() == [list(range(512))]


F32x2 = ("F32", [2], b"\0" * 8)


@pytest.mark.parametrize("data, msg", [
    (b"\1\0\0", "shorter"),
    (struct.pack("<Q", 1 << 62) + b"{}", "exceeds"),
    (struct.pack("<Q", 10) + b"{}", "exceeds"),
    (struct.pack("<Q", 2) + b"[]", "start with"),
    (struct.pack("<Q", 3) + b"{x}", "JSON"),
    (struct.pack("<Q", 2) + b"\xff}", "start with"),
    (struct.pack("<Q", 3) + b"{\xff}", "JSON"),
    (struct.pack("<Q", 20) + b'{"a":1,"a":2}       ', "duplicate"),
    (st_file({}, {"__metadata__": {"k": 1}}), "metadata"),
    (st_file({"a": ("F32", [2], b"\0" * 8)}, {"b": {"dtype": "F32"}}), "exactly"),
    (st_file({"a": ("Q4", [2], b"\0" * 8)}), "dtype"),
    (st_file({"a": ("F32", [-2], b"\0" * 8)}), "shape"),
    (st_file({"a": ("F32", [2.0], b"\0" * 8)}), "shape"),
    (st_file({"a": ("F32", [3], b"\0" * 8)}), "bytes"),
    (st_file({"a": ("F32", [1 << 62, 1 << 62], b"\0" * 8)}), "bytes"),
    (st_file({"a": F32x2, "b": F32x2})[:-1], "outside"),
    (st_file({"a": F32x2}, tail=b"\0"), "after the last"),
    (st_file({"a": F32x2}, {"b": {"dtype": "F32", "shape": [1],
                                  "data_offsets": [4, 8]}}), "overlaps"),
    (st_file({"a": F32x2}, {"b": {"dtype": "F32", "shape": [1],
                                  "data_offsets": [12, 16]}}, tail=b"\0" * 8), "hole"),
    (st_file({"a": F32x2}, {"b": {"dtype": "F32", "shape": [1],
                                  "data_offsets": [8, 4]}}), "outside"),
    (st_file({"a": F32x2}, {"b": {"dtype": "F32", "shape": [1],
                                  "data_offsets": [8]}}), "data_offsets"),
])
def test_safetensors_rejects_malformed(data, msg):
    with pytest.raises(minilm.SafetensorsError, match=msg):
        minilm.parse_safetensors(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_safetensors_mutations_fail_cleanly(data):
    """Any corruption of a valid file either still decodes (consistently with
    the bytes) or raises SafetensorsError - never another exception."""
    raw = bytearray(good_file())
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        i = data.draw(st.integers(0, max(0, len(raw) - 1)))
        if op == "flip" and raw:
            raw[i] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del raw[i:]
        else:
            raw[i:i] = data.draw(st.binary(min_size=1, max_size=8))
    try:
        t = minilm.parse_safetensors(bytes(raw))
    except minilm.SafetensorsError:
        return
    for a in t.values():
        assert isinstance(a, np.ndarray)
