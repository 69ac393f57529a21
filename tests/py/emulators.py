"""Real GCS and Azure Blob endpoints for tests, on 127.0.0.1.

`FakeGcs.start()` runs fake-gcs-server (Go, built into tests/emulators/bin by
scripts/setup.sh) with the in-memory backend and plain http on a free port
and creates a bucket; `Azurite.start()` runs Azurite's blob service (npm,
installed into tests/emulators/node_modules by scripts/setup.sh) in memory on
a free port and creates a container. Both are stopped with `stop()`.

Azurite checks Shared Key signatures with its well-known account and key
(devstoreaccount1) and SAS signatures; fake-gcs-server checks no
authorization, but honours the ifGenerationMatch precondition that GCS
commits rely on.
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
import pathlib
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from s3_server import free_port

ROOT = pathlib.Path(__file__).resolve().parents[2]
EMULATORS = ROOT / "tests" / "emulators"

AZURITE_ACCOUNT = "devstoreaccount1"
# Microsoft's published key of the Azurite/storage-emulator account.
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
    "K1SZFPTOtr/KBHBeksoGMGw=="
)


def _wait_port(proc, port, log_path, what):
    import socket

    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{what} exited with {proc.returncode}: "
                + pathlib.Path(log_path).read_text()[-2000:]
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"{what} did not start within 60 s")
            time.sleep(0.1)


class _Server:
    def __init__(self, proc, port, log_path):
        self.proc = proc
        self.port = port
        self.log_path = log_path

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            os.unlink(self.log_path)
        except OSError:
            pass


class FakeGcs(_Server):
    bucket = "infino-test"

    @staticmethod
    def binary() -> pathlib.Path:
        return EMULATORS / "bin" / "fake-gcs-server"

    @classmethod
    def start(cls) -> "FakeGcs":
        exe = cls.binary()
        if not exe.exists():
            raise RuntimeError(f"{exe} is missing: run scripts/setup.sh")
        port = free_port()
        log = tempfile.NamedTemporaryFile(prefix="fakegcs-", suffix=".log", delete=False)
        proc = subprocess.Popen(
            [str(exe), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
             "-backend", "memory", "-log-level", "error",
             "-external-url", f"http://127.0.0.1:{port}",
             "-public-host", f"127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        server = cls(proc, port, log.name)
        try:
            _wait_port(proc, port, log.name, "fake-gcs-server")
            req = urllib.request.Request(
                f"{server.origin}/storage/v1/b",
                data=json.dumps({"name": cls.bucket}).encode(),
                headers={"Content-Type": "application/json"}, method="POST")
            urllib.request.urlopen(req, timeout=10).read()
            return server
        except BaseException:
            server.stop()
            raise

    @staticmethod
    def endpoint_options(origin: str) -> dict:
        """The options that send requests to `origin` (a proxy)."""
        return {"google_base_url": origin}

    def storage_options(self, **extra) -> dict:
        opts = {"google_base_url": self.origin, "google_allow_http": "true",
                "google_skip_signature": "true"}
        opts.update(extra)
        return opts

    def uri(self, what: str) -> str:
        import uuid

        return f"gs://{self.bucket}/{what}-{uuid.uuid4().hex[:10]}"

    def keys(self, prefix: str) -> list[str]:
        out, token = [], None
        while True:
            q = {"prefix": prefix}
            if token:
                q["pageToken"] = token
            url = (f"{self.origin}/storage/v1/b/{self.bucket}/o?"
                   + urllib.parse.urlencode(q))
            page = json.loads(urllib.request.urlopen(url, timeout=10).read())
            out += [o["name"] for o in page.get("items", [])]
            token = page.get("nextPageToken")
            if not token:
                return out

    def object(self, name: str) -> dict:
        url = (f"{self.origin}/storage/v1/b/{self.bucket}/o/"
               + urllib.parse.quote(name, safe=""))
        return json.loads(urllib.request.urlopen(url, timeout=10).read())


class Azurite(_Server):
    container = "infino-test"
    account = AZURITE_ACCOUNT
    key = AZURITE_KEY

    @staticmethod
    def script() -> pathlib.Path:
        return EMULATORS / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"

    @classmethod
    def start(cls) -> "Azurite":
        main = cls.script()
        if not main.exists():
            raise RuntimeError(f"{main} is missing: run scripts/setup.sh")
        port = free_port()
        log = tempfile.NamedTemporaryFile(prefix="azurite-", suffix=".log", delete=False)
        proc = subprocess.Popen(
            ["node", str(main), "--blobHost", "127.0.0.1", "--blobPort", str(port),
             "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry",
             "--silent"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        server = cls(proc, port, log.name)
        try:
            _wait_port(proc, port, log.name, "azurite")
            server.request("PUT", "", {"restype": "container"})
            return server
        except BaseException:
            server.stop()
            raise

    @property
    def endpoint(self) -> str:
        return f"{self.origin}/{self.account}"

    def endpoint_options(self, origin: str) -> dict:
        """The options that send requests to `origin` (a proxy)."""
        return {"azure_storage_endpoint": f"{origin}/{self.account}"}

    def storage_options(self, **extra) -> dict:
        opts = {"azure_storage_account_name": self.account,
                "azure_storage_account_key": self.key,
                "azure_storage_endpoint": self.endpoint,
                "azure_allow_http": "true"}
        opts.update(extra)
        return opts

    def uri(self, what: str) -> str:
        import uuid

        return f"az://{self.container}/{what}-{uuid.uuid4().hex[:10]}"

    # A minimal Shared Key client (Microsoft's "Authorize with Shared Key")
    # for setting up and inspecting the emulator, independent of the engine.
    def request(self, method: str, blob: str, query: dict | None = None,
                headers: dict | None = None, body: bytes = b"") -> bytes:
        query = dict(query or {})
        path = f"/{self.account}/{self.container}" + (
            "/" + urllib.parse.quote(blob) if blob else "")
        h = {"x-ms-date": datetime.datetime.now(datetime.timezone.utc).strftime(
                 "%a, %d %b %Y %H:%M:%S GMT"),
             "x-ms-version": "2021-08-06"}
        h.update(headers or {})
        if method in ("PUT", "POST"):
            # urllib would add a form Content-Type: sign the one we send
            h.setdefault("Content-Type", "application/octet-stream")
        std = ["Content-Encoding", "Content-Language", "Content-Length", "Content-MD5",
               "Content-Type", "Date", "If-Modified-Since", "If-Match", "If-None-Match",
               "If-Unmodified-Since", "Range"]
        lower = {k.lower(): v for k, v in h.items()}
        vals = []
        for name in std:
            if name == "Content-Length":
                vals.append(str(len(body)) if body else "")
            else:
                vals.append(lower.get(name.lower(), ""))
        canon_h = "".join(f"{k}:{lower[k]}\n" for k in sorted(lower) if k.startswith("x-ms-"))
        canon_r = f"/{self.account}{path}" + "".join(
            f"\n{k.lower()}:{query[k]}" for k in sorted(query, key=str.lower))
        sts = method + "\n" + "\n".join(vals) + "\n" + canon_h + canon_r
        sig = base64.b64encode(hmac.new(base64.b64decode(self.key), sts.encode(),
                                        hashlib.sha256).digest()).decode()
        h["Authorization"] = f"SharedKey {self.account}:{sig}"
        url = self.origin + path + ("?" + urllib.parse.urlencode(query) if query else "")
        req = urllib.request.Request(url, data=body if method in ("PUT", "POST") else None,
                                     headers=h, method=method)
        return urllib.request.urlopen(req, timeout=10).read()

    def keys(self, prefix: str) -> list[str]:
        import xml.etree.ElementTree as ET

        out, marker = [], None
        while True:
            q = {"restype": "container", "comp": "list", "prefix": prefix}
            if marker:
                q["marker"] = marker
            root = ET.fromstring(self.request("GET", "", q))
            out += [b.findtext("Name") for b in root.iter("Blob")]
            marker = root.findtext("NextMarker")
            if not marker:
                return out

    def account_sas(self, permissions: str = "rwdlac", hours: int = 1) -> str:
        """An account SAS token for the blob service (Microsoft's "Create
        an account SAS", version 2020-12-06 string-to-sign)."""
        now = datetime.datetime.now(datetime.timezone.utc)
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        st = (now - datetime.timedelta(minutes=5)).strftime(fmt)
        se = (now + datetime.timedelta(hours=hours)).strftime(fmt)
        sv = "2020-12-06"
        sts = "\n".join([self.account, permissions, "b", "sco", st, se, "", "https,http",
                         sv, "", ""])
        sig = base64.b64encode(hmac.new(base64.b64decode(self.key), sts.encode(),
                                        hashlib.sha256).digest()).decode()
        return urllib.parse.urlencode({"sv": sv, "ss": "b", "srt": "sco", "sp": permissions,
                                       "st": st, "se": se, "spr": "https,http",
                                       "sig": sig})
