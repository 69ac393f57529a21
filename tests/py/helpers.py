"""Shared helpers for the Python test suites."""
from __future__ import annotations

import hashlib
import math
import pathlib
import struct

import pyarrow as pa

DIM = 384


def embed(text: str, dim: int = DIM) -> list[float]:
    """A deterministic stand-in for a sentence embedding: a unit vector
    derived from the text's hash (same text, same vector)."""
    out: list[float] = []
    counter = 0
    while len(out) < dim:
        h = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        for i in range(0, len(h), 4):
            (v,) = struct.unpack("<i", h[i : i + 4])
            out.append(v / 2**31)
        counter += 1
    out = out[:dim]
    norm = math.sqrt(sum(v * v for v in out)) or 1.0
    return [v / norm for v in out]


SEED_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.large_utf8(), nullable=False),
        pa.field("body", pa.large_utf8(), nullable=False),
        pa.field("embedding", pa.list_(pa.float32(), DIM), nullable=False),
    ]
)


def superfiles(root: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in root.rglob("*.sf.parquet") if not p.name.startswith("."))


# The object stores of the parametrized table suites: backend name -> the
# fixture of its server and of the fault proxy in front of it.
STORE_FIXTURES = {"s3": ("moto_s3", "s3_proxy"), "gcs": ("fake_gcs", "gcs_proxy"),
                  "azure": ("azurite", "azure_proxy")}


def store_server(request, backend: str):
    """The emulator of `backend` ("s3", "gcs", "azure"): has uri(what) and
    storage_options(**extra)."""
    return request.getfixturevalue(STORE_FIXTURES[backend][0])


def store_proxy(request, backend: str):
    """A fresh fault proxy in front of `backend`'s emulator."""
    return request.getfixturevalue(STORE_FIXTURES[backend][1])
