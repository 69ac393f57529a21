#!/usr/bin/env python3
"""Writes the seed corpus of fuzz/fuzz_parquet_snappy.c.

Seeds are raw snappy blocks made by pyarrow's snappy (an independent
compressor), small enough to keep in git. Usage (from the repo root):
    .venv/bin/python tests/tools/parquet_write_fuzz_seeds.py
"""
import pathlib
import random

import pyarrow as pa

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "fuzz" / "corpus" / "fuzz_parquet_snappy"


def main() -> None:
    rng = random.Random(7)
    words = [b"parquet ", b"infino ", b"vector ", b"the ", b"a ", b"index "]
    inputs = {
        "empty": b"",
        "one": b"x",
        "run": b"a" * 3000,
        "text": b"".join(rng.choice(words) for _ in range(500)),
        "random": bytes(rng.getrandbits(8) for _ in range(700)),
        "pattern": bytes(i % 7 for i in range(2500)),
        "mixed": b"".join(
            bytes(rng.getrandbits(8) for _ in range(40)) + rng.choice(words) * 9
            for _ in range(20)
        ),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in inputs.items():
        block = pa.compress(data, codec="snappy", asbytes=True)
        (OUT / f"seed-{name}").write_bytes(block)


if __name__ == "__main__":
    main()
