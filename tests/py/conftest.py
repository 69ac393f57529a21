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


@pytest.fixture(scope="session")
def fake_gcs():
    """fake-gcs-server on 127.0.0.1 (a free port), in memory, with an empty
    bucket; stopped after the session. It honours ifGenerationMatch, the
    precondition GCS commits rely on, and checks no authorization."""
    from emulators import FakeGcs

    server = FakeGcs.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def azurite():
    """Azurite's blob service on 127.0.0.1 (a free port), in memory, with an
    empty container; stopped after the session. It checks Shared Key and SAS
    signatures of its well-known account devstoreaccount1."""
    from emulators import Azurite

    server = Azurite.start()
    try:
        yield server
    finally:
        server.stop()


def _proxy_process(server, flavor):
    from s3_proxy import ProxyHandle

    proxy = ProxyHandle.start(server, flavor)
    try:
        yield proxy
    finally:
        proxy.stop()


def _fresh_proxy(proxy):
    proxy.configure()
    proxy.reset_log()
    yield proxy
    proxy.configure()


@pytest.fixture(scope="session")
def _s3_proxy_process(moto_s3):
    yield from _proxy_process(moto_s3, "s3")


@pytest.fixture(scope="session")
def _gcs_proxy_process(fake_gcs):
    yield from _proxy_process(fake_gcs, "gcs")


@pytest.fixture(scope="session")
def _azure_proxy_process(azurite):
    yield from _proxy_process(azurite, "azure")


@pytest.fixture
def s3_proxy(_s3_proxy_process):
    """The fault-injecting proxy in front of `moto_s3` (tests/py/s3_proxy.py),
    with no rules, serialization off and an empty request log."""
    yield from _fresh_proxy(_s3_proxy_process)


@pytest.fixture
def gcs_proxy(_gcs_proxy_process):
    """The fault-injecting proxy in front of `fake_gcs` (GCS error bodies),
    with no rules, serialization off and an empty request log."""
    yield from _fresh_proxy(_gcs_proxy_process)


@pytest.fixture
def azure_proxy(_azure_proxy_process):
    """The fault-injecting proxy in front of `azurite` (Azure error bodies),
    with no rules, serialization off and an empty request log."""
    yield from _fresh_proxy(_azure_proxy_process)
