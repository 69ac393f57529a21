"""A deterministic text embedding for the demo: each token maps to a fixed
random unit vector (seeded by the token's CRC-32), a text is the normalized
sum of its tokens' vectors. Texts sharing words are near each other, which
is all the demo needs; no model download."""
from __future__ import annotations

import re
import zlib

import numpy as np

DIM = 384
_cache: dict[str, np.ndarray] = {}


def _token_vector(tok: str) -> np.ndarray:
    v = _cache.get(tok)
    if v is None:
        rng = np.random.default_rng(zlib.crc32(tok.encode()))
        v = rng.standard_normal(DIM).astype(np.float32)
        v /= np.linalg.norm(v)
        _cache[tok] = v
    return v


def embed(text: str) -> np.ndarray:
    toks = re.findall(r"\w+", text.lower())
    if not toks:
        return np.zeros(DIM, np.float32)
    v = np.sum([_token_vector(t) for t in toks], axis=0)
    return (v / (np.linalg.norm(v) or 1.0)).astype(np.float32)


def embed_many(texts: list[str]) -> np.ndarray:
    return np.stack([embed(t) for t in texts])
