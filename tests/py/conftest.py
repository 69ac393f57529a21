"""Shared pytest fixtures: where the C build lives.

`make test-py` sets INFINO_BUILD_DIR; running pytest by hand falls back to
./build. Helper programs built from tests/tools/ are in <build>/tools/.
"""
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def build_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("INFINO_BUILD_DIR", ROOT / "build"))


@pytest.fixture(scope="session")
def build():
    d = build_dir()
    if not d.is_dir():
        pytest.fail(f"build directory {d} is missing: run `make build` first")
    return d


@pytest.fixture(scope="session")
def tool(build):
    """tool("arrow_ipc_tool") -> path of that helper program."""

    def find(name: str) -> str:
        p = build / "tools" / name
        if not p.exists():
            pytest.fail(f"{p} was not built")
        return str(p)

    return find


@pytest.fixture(scope="session")
def moto_s3():
    """A moto S3 server on 127.0.0.1 (a free port) that checks SigV4
    signatures, with an empty bucket; stopped after the session. Parts of
    256 KiB are allowed, so tests can drive multipart uploads with small
    objects (INFINO_S3_PART_SIZE)."""
    from s3_server import MotoS3

    server = MotoS3.start(env={"S3_UPLOAD_PART_MIN_SIZE": str(256 << 10)})
    try:
        yield server
    finally:
        server.stop()
