"""A fault-injecting HTTP proxy between the engine and an object store
emulator: moto's S3 server, fake-gcs-server (GCS JSON API) or Azurite
(Blob service).

Tests point the endpoint option (aws_endpoint, google_base_url,
azure_storage_endpoint) at the proxy; it forwards every request to the
emulator byte for byte (so signatures, SigV4's made over the Host header
the engine sent and Shared Key's over the path, still verify) and, when a
rule matches, misbehaves in one of these ways instead:

  drop_before   read the request, then close the connection without
                forwarding it (nothing happened, but the client cannot
                know: its bytes left)
  drop_after    forward it, let the emulator answer, then close the
                connection without passing the answer on (the ambiguous
                case: a write was applied, the client never hears so)
  status        answer `status` with the backend's error body naming
                `code` (S3: XML <Code>, e.g. 503 SlowDown; GCS: JSON
                error.errors[0].reason, e.g. 503 backendError; Azure: XML
                <Code> and x-ms-error-code, e.g. 503 ServerBusy), without
                forwarding; with "after": true, forward first and answer
                the error anyway (applied, reported as failed)
  truncate      forward, then send the answer's headers and half its body
                and close (Content-Length promised more)
  stall         forward, send the headers and half the body (or, without a
                body, nothing), sleep `secs`, then send the rest (a client
                with a stall timeout gives up first)

A rule matches by method (`method`: "GET", or alternatives "PUT|POST") and
by a regular expression searched in the request's object view
"/BUCKET/KEY", the same on every backend: S3's path-style path; GCS's
/storage/v1/b/BUCKET/o/ENCODED_KEY, or the name= of an upload (a
resumable session's chunks map back to the name its start named);
Azure's /ACCOUNT/CONTAINER/BLOB without the account. Keys are decoded;
listings are "/BUCKET". A rule fires on matches `skip`+1 ..
`skip`+`times` (`times` -1: forever), each with probability `p` (seeded:
runs repeat).

What it never does: answer a request before forwarding it (except the
pre-forward faults above), reorder requests of one connection, or merge
requests of different connections. Each client connection has its own
upstream connection and is served first come, first served. The one
rewrite: fake-gcs-server's resumable session URLs (Location) name the
emulator; the proxy makes them name itself, so chunks pass through it.

Serialized create-if-absent (`serialize`): moto's `If-None-Match: *` is
check-then-write, not atomic when two writers race for one key (AWS S3's
is atomic). With serialization on, the proxy forwards conditional writes
of one object (If-None-Match, or GCS's ifGenerationMatch) one at a time,
so the many-writer tests see S3's semantics. This is test scaffolding
standing in for S3's own atomicity, not a property of the engine.
fake-gcs-server's ifGenerationMatch=0 and Azurite's If-None-Match: * were
measured atomic (16 racing creates of one name, 20 rounds: one winner
each time), so their tests run without it.

Control (JSON over HTTP on the same port, paths under /__proxy__/):
  POST /__proxy__/config  {"rules": [...], "serialize": bool}  (replaces)
  POST /__proxy__/reset   clears the request log
  GET  /__proxy__/log     [[method, target, outcome, object], ...] since
                          the reset
  GET  /__proxy__/fired   how often each rule fired
Run: python s3_proxy.py UPSTREAM_PORT [PORT] [--flavor s3|gcs|azure]
(prints "port N" when listening).
"""
from __future__ import annotations

import json
import random
import re
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid

CONTROL = "/__proxy__/"
FLAVORS = ("s3", "gcs", "azure")


class Rule:
    def __init__(self, d: dict, seed: int):
        self.kind = d["kind"]
        assert self.kind in ("drop_before", "drop_after", "status", "truncate", "stall"), d
        # None: any; "PUT|POST": either
        self.methods = set(d["method"].split("|")) if d.get("method") else None
        self.path = re.compile(d.get("path", ""))
        self.skip = int(d.get("skip", 0))
        self.times = int(d.get("times", 1))
        self.p = float(d.get("p", 1.0))
        self.status = int(d.get("status", 503))
        self.code = d.get("code", "SlowDown")
        self.after = bool(d.get("after", False))
        self.secs = float(d.get("secs", 2.0))
        self.rnd = random.Random(seed)
        self.seen = 0
        self.fired = 0

    def pick(self, method: str, obj: str) -> bool:
        """Caller holds the proxy's lock."""
        if self.methods and method not in self.methods:
            return False
        if not self.path.search(obj):
            return False
        self.seen += 1
        if self.seen <= self.skip:
            return False
        if self.times >= 0 and self.fired >= self.times:
            return False
        if self.p < 1.0 and self.rnd.random() >= self.p:
            return False
        self.fired += 1
        return True


class Proxy:
    def __init__(self, upstream_port: int, flavor: str = "s3"):
        assert flavor in FLAVORS, flavor
        self.flavor = flavor
        self.upstream = ("127.0.0.1", upstream_port)
        self.upstream_origin = f"http://127.0.0.1:{upstream_port}".encode()
        self.origin = b""  # ours, once listening
        self.sessions: dict[str, str] = {}  # GCS upload_id -> object view
        self.lock = threading.Lock()
        self.rules: list[Rule] = []
        self.serialize = False
        self.key_locks: dict[str, threading.Lock] = {}
        self.log: list[list] = []

    # ---- HTTP plumbing ------------------------------------------------

    @staticmethod
    def read_head(f) -> bytes | None:
        lines = []
        while True:
            line = f.readline(65537)
            if not line:
                return None
            if line in (b"\r\n", b"\n"):
                if not lines:
                    continue  # tolerate stray blank lines between requests
                return b"".join(lines) + line
            lines.append(line)

    @staticmethod
    def headers_of(head: bytes) -> dict[str, str]:
        out = {}
        for line in head.split(b"\r\n")[1:]:
            if b":" in line:
                k, v = line.split(b":", 1)
                out[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
        return out

    @staticmethod
    def read_body(f, h: dict[str, str], no_body: bool) -> bytes | None:
        """The body and its framing, raw (chunked stays chunked). None:
        delimited by the connection's end."""
        if no_body:
            return b""
        if "chunked" in h.get("transfer-encoding", "").lower():
            parts = []
            while True:
                size_line = f.readline()
                parts.append(size_line)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers, then the blank line
                        t = f.readline()
                        parts.append(t)
                        if t in (b"\r\n", b"\n", b""):
                            return b"".join(parts)
                parts.append(f.read(size + 2))
        if "content-length" in h:
            n = int(h["content-length"])
            data = f.read(n)
            if len(data) != n:
                raise ConnectionError("short body")
            return data
        return None

    # ---- what a request is about --------------------------------------

    def object_of(self, target: str) -> str:
        """The object view "/BUCKET/KEY" (decoded) of a request target;
        "/BUCKET" for listings; the path itself when it names neither."""
        path, _, query = target.partition("?")
        if self.flavor == "s3":
            return path
        q = urllib.parse.parse_qs(query)
        if self.flavor == "gcs":
            m = re.match(r"^(?:/upload)?/storage/v1/b/([^/]+)/o(?:/(.*))?$", path)
            if not m:
                return path
            bucket, enc = m.group(1), m.group(2)
            if enc is not None:
                return f"/{bucket}/" + urllib.parse.unquote(enc)
            if "name" in q:
                return f"/{bucket}/" + q["name"][0]
            if "upload_id" in q:
                with self.lock:
                    return self.sessions.get(q["upload_id"][0], f"/{bucket}")
            return f"/{bucket}"
        parts = path.split("/", 3)  # "", account, container, blob
        if len(parts) < 3:
            return path
        return "/" + "/".join(urllib.parse.unquote(x) for x in parts[2:])

    @staticmethod
    def conditional_create(method: str, target: str, h: dict[str, str]) -> bool:
        return method in ("PUT", "POST") and (
            "if-none-match" in h or "ifGenerationMatch=" in target)

    def fix_location(self, rhead: bytes, obj: str) -> bytes:
        """GCS: a resumable session's URL names the emulator; make it name
        the proxy, and remember which object the session writes."""
        if self.flavor != "gcs":
            return rhead
        lines = rhead.split(b"\r\n")
        for i, line in enumerate(lines):
            if line.lower().startswith(b"location:"):
                url = line.split(b":", 1)[1].strip()
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(url.decode("latin-1")).query)
                if "upload_id" in q:
                    with self.lock:
                        self.sessions[q["upload_id"][0]] = obj
                if url.startswith(self.upstream_origin):
                    lines[i] = b"Location: " + self.origin + url[len(self.upstream_origin):]
        return b"\r\n".join(lines)

    # ---- control ------------------------------------------------------

    def control(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        what = path[len(CONTROL):]
        with self.lock:
            if what == "config" and method == "POST":
                cfg = json.loads(body or b"{}")
                seed = int(cfg.get("seed", 0))
                self.rules = [Rule(r, seed * 1000 + i) for i, r in enumerate(cfg.get("rules", []))]
                self.serialize = bool(cfg.get("serialize", False))
                return 200, b"{}"
            if what == "reset" and method == "POST":
                self.log = []
                return 200, b"{}"
            if what == "log" and method == "GET":
                return 200, json.dumps(self.log).encode()
            if what == "fired" and method == "GET":
                return 200, json.dumps([r.fired for r in self.rules]).encode()
        return 404, b"{}"

    # ---- one client connection -----------------------------------------

    def serve(self, client: socket.socket) -> None:
        up = None
        upf = None
        cf = client.makefile("rb")
        try:
            while True:
                head = self.read_head(cf)
                if head is None:
                    return
                line = head.split(b"\r\n", 1)[0].decode("latin-1")
                method, target = line.split(" ")[0], line.split(" ")[1]
                path = target.split("?", 1)[0]
                h = self.headers_of(head)
                obj = self.object_of(target)
                body = self.read_body(cf, h, False) if (
                    "content-length" in h or "transfer-encoding" in h) else b""
                if path.startswith(CONTROL):
                    code, out = self.control(method, path, body)
                    client.sendall(
                        b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n" % (code, len(out)) + out
                    )
                    continue
                with self.lock:
                    rule = next((r for r in self.rules if r.pick(method, obj)), None)
                outcome = rule.kind if rule else "ok"
                if rule and rule.kind == "status" and not rule.after:
                    self.record(method, target, f"status {rule.status}", obj)
                    self.send_error(client, rule, method)
                    continue
                if rule and rule.kind == "drop_before":
                    self.record(method, target, outcome, obj)
                    return
                # forward
                if up is None:
                    up = socket.create_connection(self.upstream)
                    upf = up.makefile("rb")
                conditional = self.serialize and self.conditional_create(method, target, h)
                klock = None
                if conditional:
                    with self.lock:
                        klock = self.key_locks.setdefault(obj, threading.Lock())
                    klock.acquire()
                try:
                    up.sendall(head + body)
                    rhead = self.read_head(upf)
                    if rhead is None:
                        raise ConnectionError("upstream closed")
                    rhead = self.fix_location(rhead, obj)
                    rh = self.headers_of(rhead)
                    status = int(rhead.split(b" ", 2)[1])
                    no_body = method == "HEAD" or status in (204, 304) or 100 <= status < 200
                    rbody = self.read_body(upf, rh, no_body)
                    upstream_closes = rbody is None or "close" in rh.get("connection", "").lower()
                    if rbody is None:
                        rbody = upf.read()
                finally:
                    if klock:
                        klock.release()
                if upstream_closes:
                    upf.close()
                    up.close()
                    up = upf = None
                self.record(method, target, outcome if rule else status, obj)
                if rule is None:
                    client.sendall(rhead + rbody)
                    if upstream_closes:
                        return
                    continue
                if rule.kind == "drop_after":
                    return
                if rule.kind == "status":  # after: applied, reported failed
                    self.send_error(client, rule, method)
                    continue
                if rule.kind == "truncate":
                    if not rbody:
                        # nothing to cut: close before the headers end
                        client.sendall(rhead[: len(rhead) // 2])
                        return
                    client.sendall(rhead + rbody[: len(rbody) // 2])
                    return
                if rule.kind == "stall":
                    # nothing moves for `secs`: mid-body, or before the
                    # headers when there is no body to cut
                    if rbody:
                        client.sendall(rhead + rbody[: len(rbody) // 2])
                        time.sleep(rule.secs)
                    else:
                        time.sleep(rule.secs)
                        client.sendall(rhead)
                    client.sendall(rbody[len(rbody) // 2:])
                    if upstream_closes:
                        return
                    continue
        except (ConnectionError, OSError, ValueError, IndexError):
            return
        finally:
            for s in (upf, up, cf):
                try:
                    if s:
                        s.close()
                except OSError:
                    pass
            try:
                client.close()
            except OSError:
                pass

    def record(self, method: str, target: str, outcome, obj: str) -> None:
        with self.lock:
            if len(self.log) < 1_000_000:
                self.log.append([method, target, outcome, obj])

    def send_error(self, client: socket.socket, rule: Rule, method: str) -> None:
        """An error answer shaped as the backend's own."""
        message = "injected by the test proxy"
        request_id = f"proxy-{rule.fired}-{uuid.uuid4().hex[:8]}"
        extra = ""
        if self.flavor == "gcs":
            # JSON API errors: {"error": {"code", "message", "errors": [...]}}
            ctype = "application/json; charset=UTF-8"
            body = json.dumps({"error": {
                "code": rule.status, "message": message,
                "errors": [{"message": message, "domain": "global", "reason": rule.code}]}})
        elif self.flavor == "azure":
            # Blob service errors: XML <Error><Code>, and the code again in
            # x-ms-error-code
            ctype = "application/xml"
            now = time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime())
            body = (f"<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{rule.code}</Code>"
                    f"<Message>{message}\nRequestId:{request_id}\nTime:{now}</Message></Error>")
            extra = (f"x-ms-error-code: {rule.code}\r\nx-ms-request-id: {request_id}\r\n"
                     f"x-ms-version: 2021-08-06\r\n")
        else:
            ctype = "application/xml"
            body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{rule.code}</Code>"
                    f"<Message>{message}</Message><RequestId>{request_id}</RequestId></Error>")
        data = body.encode()
        reason = {500: "Internal Server Error", 429: "Too Many Requests",
                  503: "Slow Down" if self.flavor == "s3" else "Service Unavailable"
                  }.get(rule.status, "Error")
        head = (
            f"HTTP/1.1 {rule.status} {reason}\r\nContent-Type: {ctype}\r\n{extra}"
            f"Content-Length: {len(data)}\r\n\r\n"
        ).encode()
        client.sendall(head + (b"" if method == "HEAD" else data))

    def run(self, port: int = 0) -> None:
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", port))
        ls.listen(128)
        self.origin = f"http://127.0.0.1:{ls.getsockname()[1]}".encode()
        print(f"port {ls.getsockname()[1]}", flush=True)
        while True:
            c, _ = ls.accept()
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()


class ProxyHandle:
    """The test side: a running proxy process in front of `server` (a
    MotoS3, FakeGcs or Azurite of tests/py), and its control calls."""

    def __init__(self, proc, port: int, server, flavor: str):
        self.proc = proc
        self.port = port
        self.server = server
        self.flavor = flavor

    @property
    def moto(self):  # the name the S3 tests knew it by
        return self.server

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def storage_options(self, **extra) -> dict:
        """The server's options with its endpoint replaced by the proxy."""
        if self.flavor == "gcs":
            return self.server.storage_options(google_base_url=self.endpoint, **extra)
        if self.flavor == "azure":
            return self.server.storage_options(
                azure_storage_endpoint=f"{self.endpoint}/{self.server.account}", **extra)
        return self.server.storage_options(aws_endpoint=self.endpoint, **extra)

    def _call(self, method: str, what: str, payload=None):
        data = json.dumps(payload).encode() if payload is not None else None
        rq = urllib.request.Request(self.endpoint + CONTROL + what, data=data, method=method)
        with urllib.request.urlopen(rq, timeout=30) as r:
            return json.loads(r.read() or b"null")

    def configure(self, rules=(), serialize: bool = False, seed: int = 0) -> None:
        self._call("POST", "config", {"rules": list(rules), "serialize": serialize, "seed": seed})

    def reset_log(self) -> None:
        self._call("POST", "reset", {})

    def log(self) -> list:
        return self._call("GET", "log")

    def fired(self) -> list:
        return self._call("GET", "fired")

    @classmethod
    def start(cls, server, flavor: str = "s3") -> "ProxyHandle":
        import subprocess

        proc = subprocess.Popen(
            [sys.executable, __file__, str(server.port), "0", "--flavor", flavor],
            stdout=subprocess.PIPE, text=True
        )
        line = proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "port":
            proc.kill()
            raise RuntimeError(f"the {flavor} proxy did not start")
        return cls(proc, int(line[1]), server, flavor)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("upstream_port", type=int)
    ap.add_argument("port", type=int, nargs="?", default=0)
    ap.add_argument("--flavor", choices=FLAVORS, default="s3")
    a = ap.parse_args()
    Proxy(a.upstream_port, a.flavor).run(a.port)
