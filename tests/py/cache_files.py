"""Reads the read cache's entry files (src/store/cache.h) for tests: which
entries a cache folder holds and how many of their blocks are in."""
from __future__ import annotations

import os
import pathlib
import struct
import time

M32 = 0xFFFFFFFF


def slot_tag(block: int, crc: int) -> int:
    """The tag a present block's slot carries (cache.c: slot_tag)."""
    return (((crc * 0x9E3779B1) & M32) ^ (((block & M32) * 0x85EBCA77) & M32) ^ 0x1CE5A17E) | 1


class Entry:
    def __init__(self, path: pathlib.Path):
        self.path = path
        raw = path.read_bytes()
        assert raw[:8] == b"INFCACH1", path
        (self.size, self.n_blocks, self.slots_off, self.data_off) = struct.unpack_from("<QQQQ", raw, 16)
        etag_len, id_len = struct.unpack_from("<HH", raw, 48)
        self.key = raw[64 + etag_len: 64 + etag_len + id_len].decode().split("\n", 1)[1]
        self.present = 0
        for i in range(self.n_blocks):
            crc, tag = struct.unpack_from("<II", raw, self.slots_off + 8 * i)
            if tag == slot_tag(i, crc):
                self.present += 1

    @property
    def complete(self) -> bool:
        return self.present == self.n_blocks


def entries(folder) -> list[Entry]:
    folder = pathlib.Path(folder)
    if not folder.exists():
        return []
    return [Entry(p) for p in sorted(folder.glob("*.ice"))]


def disk_bytes(folder) -> int:
    return sum(os.stat(p).st_blocks * 512 for p in pathlib.Path(folder).glob("*.ice"))


def wait_complete(folder, timeout: float = 60.0) -> list[Entry]:
    """Waits for the background fills: every entry complete."""
    deadline = time.monotonic() + timeout
    while True:
        es = entries(folder)
        if es and all(e.complete for e in es):
            return es
        if time.monotonic() > deadline:
            raise AssertionError(
                "cache not filled: " + ", ".join(f"{e.key} {e.present}/{e.n_blocks}" for e in es)
            )
        time.sleep(0.05)
