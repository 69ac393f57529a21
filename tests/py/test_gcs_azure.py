"""Tables on gs:// and az:// against real endpoints on 127.0.0.1:
fake-gcs-server (`fake_gcs`) and Azurite (`azurite`), see tests/py/emulators.py.

The workload of test_s3.py runs on a local folder and on each backend and must
give the same answers; a second connection (another "host") sees what the
first wrote; large superfiles go up as resumable uploads (GCS) or staged blocks
(Azure) and are read back by ranges; storage options are checked at connect
without touching the network; Shared Key and SAS signatures are checked by
Azurite; a Google service-account key is exchanged for a token at a token
endpoint of ours that verifies the RS256 signature; errors name the object and
never a credential; and the C suites run against the same servers.
"""
import base64
import json
import os
import subprocess
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow as pa
import pytest

import infino
from s3_server import free_port
from test_s3 import SCHEMA, answers, rows, spec, workload

BACKENDS = ["gcs", "azure"]


@pytest.fixture(params=BACKENDS)
def store(request):
    return request.getfixturevalue({"gcs": "fake_gcs", "azure": "azurite"}[request.param])


def prefix_of(uri):
    return uri.split("/", 3)[3] + "/"


def test_lifecycle_matches_local(store, tmp_path):
    local = infino.connect(str(tmp_path / "local"))
    _, want = workload(local)

    uri = store.uri("lifecycle")
    db = infino.connect(uri, storage_options=store.storage_options())
    assert db.list_tables() == []
    t, got = workload(db)
    assert got == want
    assert t.check().n_rows == 300 - 30
    assert any(k.endswith(".sf.parquet") for k in store.keys(prefix_of(uri)))

    # Another connection (another host) sees the table, and its writes are
    # seen back; a stale view commits on top.
    db2 = infino.connect(uri, storage_options=store.storage_options())
    assert db2.list_tables() == ["docs"]
    t2 = db2.open_table("docs")
    assert answers(db2, t2) == got[-1]
    t2.append(rows(10, 1000))
    assert t.count_rows() == 280
    t.append(rows(5, 2000))
    assert t2.count_rows() == 285

    db.create_table("other", SCHEMA, spec()).append(rows(3))
    assert db2.list_tables() == ["docs", "other"]
    with pytest.raises(ValueError, match="other"):
        db2.create_table("other", SCHEMA, spec())
    db2.drop_table("docs", purge=True)
    assert db.list_tables() == ["other"]
    with pytest.raises(KeyError):
        db.open_table("docs")
    assert not any("/docs-" in k for k in store.keys(prefix_of(uri) + "tables/"))
    db.drop_table("other", purge=True)
    assert db2.list_tables() == []


def test_large_superfiles(store, monkeypatch):
    # Chunks / blocks of 256 KiB: superfiles of a few MiB go up in parts
    # (a resumable upload created if absent; staged blocks and a block list
    # with If-None-Match) and are read back by ranges.
    monkeypatch.setenv("INFINO_GCS_PART_SIZE", str(256 << 10))
    monkeypatch.setenv("INFINO_AZURE_BLOCK_SIZE", str(256 << 10))
    uri = store.uri("large")
    db = infino.connect(uri, storage_options=store.storage_options())
    t = db.create_table("docs", SCHEMA, spec())
    big = rows(20000)
    for r in big:
        r["text"] += " " + " ".join(f"w{(r['id'] * 31 + j) % 5003}" for j in range(20))
    t.append(big)
    sfs = [k for k in store.keys(prefix_of(uri)) if k.endswith(".sf.parquet")]
    assert sfs
    if hasattr(store, "object"):
        assert int(store.object(sfs[0])["size"]) > 4 * (256 << 10)
    db2 = infino.connect(uri, storage_options=store.storage_options())
    t2 = db2.open_table("docs")
    assert t2.count_rows() == 20000
    hit = t2.bm25_search("text", "w17", 5, projection=["id"])["id"].to_pylist()
    assert hit and all("w17" in big[i]["text"].split() for i in hit)
    assert t2.check().n_rows == 20000
    db2.drop_table("docs", purge=True)


def test_connect_checks_options_without_network(store, monkeypatch):
    uri = store.uri("options")
    with pytest.raises(RuntimeError, match="'not_a_real_key'"):
        infino.connect(uri, storage_options={"not_a_real_key": "x"})
    cross = "aws_region" if uri.startswith("gs") else "google_service_account"
    with pytest.raises(RuntimeError, match=cross):
        infino.connect(uri, storage_options={cross: "x"})
    endpoint_key = "google_base_url" if uri.startswith("gs") else "azure_storage_endpoint"
    allow_key = "google_allow_http" if uri.startswith("gs") else "azure_allow_http"
    opts = store.storage_options()
    del opts[allow_key]
    with pytest.raises(RuntimeError, match=allow_key):
        infino.connect(uri, storage_options=opts)
    # A bool is accepted for the flags.
    assert infino.connect(uri, storage_options=store.storage_options(
        **{allow_key: True})).list_tables() == []

    # connect() does not probe: nothing listens on this port.
    monkeypatch.setenv("INFINO_HTTP_MAX_ATTEMPTS", "2")
    dead = f"http://127.0.0.1:{free_port()}"
    if uri.startswith("az"):
        dead += "/" + store.account
    db = infino.connect(uri, storage_options=store.storage_options(**{endpoint_key: dead}))
    with pytest.raises(RuntimeError) as e:
        db.list_tables()
    assert uri.split("://")[1].split("/")[0] in str(e.value) and "2 attempts" in str(e.value)
    with pytest.raises(RuntimeError, match="2 attempts"):
        infino.connect(uri, storage_options=store.storage_options(**{endpoint_key: dead}),
                       validate=True)


# ---- Azure: Shared Key, SAS, the emulator option --------------------------


def test_azure_wrong_key_never_shown(azurite):
    uri = azurite.uri("creds")
    wrong = base64.b64encode(b"not the key of devstoreaccount1, at all").decode()
    db = infino.connect(uri, storage_options=azurite.storage_options(
        azure_storage_account_key=wrong))
    assert wrong not in repr(db)
    with pytest.raises(RuntimeError) as e:
        db.create_table("docs", SCHEMA, spec())
    msg = str(e.value)
    assert "HTTP 403 AuthorizationFailure" in msg or "HTTP 403 AuthenticationFailed" in msg, msg
    assert uri[5:] in msg and wrong not in msg and azurite.key not in msg
    with pytest.raises(RuntimeError, match="not base64"):
        infino.connect(uri, storage_options=azurite.storage_options(
            azure_storage_account_key="***"))


def test_azure_sas(azurite):
    uri = azurite.uri("sas")
    sas = azurite.account_sas()
    opts = {"azure_storage_endpoint": azurite.endpoint, "azure_allow_http": "true",
            "azure_storage_sas_key": "?" + sas}
    db = infino.connect(uri, storage_options=opts)
    db.create_table("docs", SCHEMA, spec()).append(rows(20))
    assert db.open_table("docs").count_rows() == 20
    # A read-and-list-only SAS is not enough (readers write leases): the
    # error names the object and Azure's code, never the token.
    ro_sas = azurite.account_sas("rl")
    db_ro = infino.connect(uri, storage_options=dict(opts, azure_storage_sas_key=ro_sas))
    with pytest.raises(RuntimeError) as e:
        db_ro.open_table("docs").count_rows()
    msg = str(e.value)
    assert "HTTP 403 AuthorizationPermissionMismatch" in msg and uri[5:] in msg, msg
    assert "sig=" not in msg and ro_sas.split("sig=")[1][:20] not in msg
    # A forged signature is refused by Azurite.
    forged = sas.replace("sig=", "sig=AAAA")
    bad = infino.connect(uri, storage_options=dict(opts, azure_storage_sas_key=forged))
    with pytest.raises(RuntimeError, match="HTTP 403"):
        bad.list_tables()


def test_azure_use_emulator(azurite, monkeypatch):
    monkeypatch.setenv("AZURITE_BLOB_STORAGE_URL", azurite.origin)
    uri = azurite.uri("emulator")
    db = infino.connect(uri, storage_options={"azure_storage_use_emulator": "true"})
    db.create_table("docs", SCHEMA, spec()).append(rows(7))
    assert db.open_table("docs").count_rows() == 7
    assert any(k.endswith(".sf.parquet") for k in azurite.keys(prefix_of(uri)))


def test_azure_environment_fallback(azurite, monkeypatch):
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", azurite.account)
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", azurite.key)
    uri = azurite.uri("env")
    opts = {"azure_storage_endpoint": azurite.endpoint, "azure_allow_http": "true"}
    db = infino.connect(uri, storage_options=opts)
    db.create_table("docs", SCHEMA, spec()).append(rows(5))
    # options win over the environment
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", base64.b64encode(b"nope").decode())
    assert infino.connect(uri, storage_options=azurite.storage_options()).open_table(
        "docs").count_rows() == 5


# ---- GCS: the emulator variable, service-account tokens -------------------


def test_gcs_emulator_host(fake_gcs, monkeypatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"127.0.0.1:{fake_gcs.port}")
    uri = fake_gcs.uri("emuhost").replace("gs://", "gcs://")
    db = infino.connect(uri)
    db.create_table("docs", SCHEMA, spec()).append(rows(4))
    assert infino.connect(uri).open_table("docs").count_rows() == 4


class TokenServer:
    """An OAuth token endpoint on 127.0.0.1 that checks RS256 JWT bearer
    assertions (RFC 7523) with the service account's public key."""

    def __init__(self, public_key, audience):
        self.public_key = public_key
        self.audience = audience
        self.requests = []
        self.failures = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                form = urllib.parse.parse_qs(self.rfile.read(n).decode())
                outer.requests.append(form)
                ok, why = outer.check(form)
                if ok:
                    body = {"access_token": f"ya29.token-{len(outer.requests)}",
                            "expires_in": 3599, "token_type": "Bearer"}
                    code = 200
                else:
                    outer.failures.append(why)
                    body = {"error": "invalid_grant", "error_description": why}
                    code = 400
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/token"

    def check(self, form):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return False, "bad grant_type"
        parts = form["assertion"][0].split(".")
        pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
        header = json.loads(base64.urlsafe_b64decode(pad(parts[0])))
        claims = json.loads(base64.urlsafe_b64decode(pad(parts[1])))
        try:
            self.public_key.verify(base64.urlsafe_b64decode(pad(parts[2])),
                                   f"{parts[0]}.{parts[1]}".encode(),
                                   padding.PKCS1v15(), hashes.SHA256())
        except Exception:
            return False, "bad signature"
        if header != {"alg": "RS256", "typ": "JWT", "kid": "key-1"}:
            return False, f"bad header {header}"
        if claims["aud"] != self.url or claims["iss"] != "infino@test.iam.example":
            return False, "bad claims"
        if claims["exp"] - claims["iat"] != 3600 or "devstorage" not in claims["scope"]:
            return False, "bad lifetime or scope"
        return True, ""

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_gcs_service_account_tokens(fake_gcs, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    tokens = TokenServer(key.public_key(), None)
    try:
        sa = {"type": "service_account", "project_id": "p", "private_key_id": "key-1",
              "private_key": pem, "client_email": "infino@test.iam.example",
              "token_uri": tokens.url}
        uri = fake_gcs.uri("sa")
        opts = {"google_base_url": fake_gcs.origin, "google_allow_http": "true",
                "google_service_account_key": json.dumps(sa)}
        db = infino.connect(uri, storage_options=opts)
        assert pem not in repr(db)
        t = db.create_table("docs", SCHEMA, spec())
        t.append(rows(30))
        assert t.count_rows() == 30
        # One token served every request of the connection (cached).
        assert len(tokens.requests) == 1 and not tokens.failures

        # The same key from a file (google_service_account), and through
        # GOOGLE_APPLICATION_CREDENTIALS.
        path = tmp_path / "sa.json"
        path.write_text(json.dumps(sa))
        db2 = infino.connect(uri, storage_options={
            "google_base_url": fake_gcs.origin, "google_allow_http": "true",
            "google_service_account": str(path)})
        assert db2.open_table("docs").count_rows() == 30
        assert len(tokens.requests) == 2 and not tokens.failures

        # A key the endpoint refuses: the error names the endpoint and its
        # answer, never the key.
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        sa_bad = dict(sa, private_key=other.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode())
        bad = infino.connect(uri, storage_options=dict(
            opts, google_service_account_key=json.dumps(sa_bad)))
        with pytest.raises(RuntimeError) as e:
            bad.list_tables()
        msg = str(e.value)
        assert "token endpoint" in msg and "invalid_grant" in msg and "bad signature" in msg
        assert "PRIVATE KEY" not in msg and sa_bad["private_key"][40:80] not in msg
    finally:
        tokens.stop()
    with pytest.raises(RuntimeError, match="google_service_account_key"):
        infino.connect(fake_gcs.uri("x"), storage_options={
            "google_service_account_key": "{\"type\": \"service_account\"}"})
    with pytest.raises(RuntimeError, match="cannot read"):
        infino.connect(fake_gcs.uri("x"), storage_options={
            "google_service_account": str(tmp_path / "missing.json")})


# ---- the C suites against the same servers --------------------------------


@pytest.mark.parametrize("which", BACKENDS)
def test_c_suite(which, request, build):
    """tests/unit/store_{gcs,azure}_test.c against the emulator: the
    object-store contract, parts and ranged reads, listing pages."""
    exe = build / f"store_{which}_test"
    if not exe.exists():
        pytest.fail(f"{exe} was not built")
    env = dict(os.environ)
    if which == "gcs":
        srv = request.getfixturevalue("fake_gcs")
        env.update(INFINO_TEST_GCS_ENDPOINT=srv.origin, INFINO_TEST_GCS_BUCKET=srv.bucket)
    else:
        srv = request.getfixturevalue("azurite")
        env.update(INFINO_TEST_AZURE_ENDPOINT=srv.endpoint,
                   INFINO_TEST_AZURE_CONTAINER=srv.container)
    for k in ("INFINO_GCS_PART_SIZE", "INFINO_AZURE_BLOCK_SIZE"):
        env.pop(k, None)
    r = subprocess.run([str(exe)], env=env, capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    assert "SKIPPED" not in out, out[-4000:]
