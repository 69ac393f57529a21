"""connect(storage_options=..., validate=...) without a real object store.

What a port from upstream infino relies on, checked offline:
- a key no backend knows, or one of another backend than the URI's, fails
  connect with RuntimeError naming the key (upstream raises RuntimeError
  too, from its object_store builder);
- connect opens no connection unless validate=True; then it asks the
  store once, so a wrong endpoint or key fails at connect;
- no error message and no repr shows a credential's value.

A tiny HTTP server on 127.0.0.1 stands in for each store: it answers every
request 403 and counts them, so "touches the network" is observed, not
inferred from timing. The tests marked `ours` cover where we differ on
purpose (shorter aliases map to the same settings; settings we do not
implement are named as such; unknown keys fail on local paths too, where
upstream ignores every key). The others pass against upstream's PyPI
package 0.11.0 as well (checked by hand with its wheel on PYTHONPATH).
"""
import http.server
import os
import threading

import pytest

import infino

SECRET = "s3cr3t-VALUE-never-shown-7f2a"
ACCOUNT_KEY = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="  # base64, a dummy


class Counting403(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        self.server.requests.append((self.command, self.path))
        body = b"denied"
        self.send_response(403)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def stub():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting403)
    srv.requests = []
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture(autouse=True)
def no_ambient_credentials(monkeypatch):
    for k in list(os.environ):
        if k.startswith(("AWS_", "AZURE_", "GOOGLE_", "STORAGE_EMULATOR")):
            monkeypatch.delenv(k)
    monkeypatch.setenv("INFINO_HTTP_MAX_ATTEMPTS", "1")


def options_for(scheme, endpoint):
    """Credentials (with SECRET in them) and `endpoint` for one backend."""
    if scheme == "s3":
        return {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": SECRET,
                "aws_region": "us-east-1", "aws_endpoint": endpoint,
                "aws_allow_http": "true"}
    if scheme == "gs":
        return {"google_base_url": endpoint, "google_allow_http": "true",
                "google_skip_signature": "true"}
    return {"azure_storage_account_name": "acct", "azure_storage_account_key": ACCOUNT_KEY,
            "azure_storage_endpoint": endpoint + "/acct", "azure_allow_http": "true"}


OTHER_BACKEND_KEY = {"s3": "azure_storage_account_key", "gs": "aws_secret_access_key",
                     "az": "google_service_account_key"}


@pytest.mark.parametrize("scheme", ["s3", "gs", "az"])
def test_unknown_key_fails_connect_naming_it(scheme):
    with pytest.raises(RuntimeError, match="not_a_real_key") as e:
        infino.connect(f"{scheme}://bucket/prefix",
                       storage_options={"not_a_real_key": SECRET})
    assert SECRET not in str(e.value)


@pytest.mark.parametrize("scheme", ["s3", "gs", "az"])
def test_other_backends_key_fails_connect_naming_it(scheme):
    key = OTHER_BACKEND_KEY[scheme]
    with pytest.raises(RuntimeError, match=key) as e:
        infino.connect(f"{scheme}://bucket/prefix", storage_options={key: SECRET})
    assert SECRET not in str(e.value)


def test_option_keys_are_checked_before_credentials_are_used(stub):
    # A bad key next to good credentials: connect fails on the key alone,
    # without a request, and shows neither the secret nor the bad key's value.
    opts = options_for("s3", stub.url)
    opts["aws_regoin"] = "eu-west-1"
    with pytest.raises(RuntimeError, match="aws_regoin") as e:
        infino.connect("s3://bucket/prefix", storage_options=opts)
    assert SECRET not in str(e.value) and "eu-west-1" not in str(e.value)
    assert stub.requests == []


def test_connect_without_options_does_not_probe():
    # The default AWS endpoint, a bucket that does not exist: nothing is
    # asked, so this returns at once, offline.
    assert infino.connect("s3://no-such-bucket-a7c1e/prefix") is not None


@pytest.mark.parametrize("scheme", ["s3", "gs", "az"])
def test_connect_touches_no_network_unless_validate(stub, scheme):
    uri = f"{scheme}://bucket/prefix"
    opts = options_for(scheme, stub.url)
    db = infino.connect(uri, storage_options=opts)
    db2 = infino.connect(uri, storage_options=opts, validate=False)
    assert stub.requests == []
    assert SECRET not in repr(db) and ACCOUNT_KEY not in repr(db2)

    with pytest.raises(RuntimeError) as e:
        infino.connect(uri, storage_options=opts, validate=True)
    assert len(stub.requests) >= 1
    msg = str(e.value)
    assert SECRET not in msg and ACCOUNT_KEY not in msg and "AKIDEXAMPLE" not in msg

    # The handle made without validation fails at its first use instead.
    n = len(stub.requests)
    with pytest.raises(RuntimeError) as e:
        db.list_tables()
    assert len(stub.requests) > n
    assert SECRET not in str(e.value) and ACCOUNT_KEY not in str(e.value)


def test_known_keys_are_accepted_on_local_paths(tmp_path):
    db = infino.connect(str(tmp_path / "db"),
                        storage_options={"aws_region": "eu-west-1",
                                         "aws_secret_access_key": SECRET})
    assert db.list_tables() == []
    assert SECRET not in repr(db)


# ---- where we differ from upstream on purpose ---------------------------------

@pytest.mark.parametrize("scheme,alias,canonical", [
    ("s3", "region", "aws_region"),
    ("s3", "endpoint", "aws_endpoint"),
    ("s3", "aws_endpoint_url", "aws_endpoint"),
    ("s3", "allow_http", "aws_allow_http"),
    ("az", "account_key", "azure_storage_account_key"),
    ("az", "endpoint", "azure_storage_endpoint"),
    ("gs", "allow_http", "google_allow_http"),
])
def test_ours_aliases_set_the_same_setting(stub, scheme, alias, canonical):
    # object_store's short names are accepted and mean the canonical key:
    # with the alias in place of the key, validate still reaches the stub.
    opts = options_for(scheme, stub.url)
    opts[alias] = opts.pop(canonical)
    with pytest.raises(RuntimeError):
        infino.connect(f"{scheme}://bucket/prefix", storage_options=opts, validate=True)
    assert len(stub.requests) >= 1


@pytest.mark.parametrize("key", ["aws_virtual_hosted_style_request", "timeout", "proxy_url"])
def test_ours_settings_we_lack_are_named_as_unsupported(key):
    with pytest.raises(RuntimeError, match=f"'{key}' is not supported"):
        infino.connect("s3://bucket/prefix", storage_options={key: "true"})


def test_ours_unknown_key_fails_on_local_paths_too(tmp_path):
    # Upstream ignores storage_options for local folders; a misspelt key
    # there is more likely a mistake than a wish, so we name it.
    with pytest.raises(RuntimeError, match="aws_regoin"):
        infino.connect(str(tmp_path / "db"), storage_options={"aws_regoin": "x"})
