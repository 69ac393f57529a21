"""Tables on s3:// against a real S3 endpoint: moto's server on 127.0.0.1
(the `moto_s3` fixture, tests/py/s3_server.py), which checks every SigV4
signature.

The same workload runs on a local folder and on S3 and must give the same
answers; a second connection (another "host") sees what the first wrote;
storage options are checked at connect without touching the network; errors
name the object and S3's code and never a credential; and the C suite
tests/unit/store_s3_test.c runs against the same server.
"""
import os
import subprocess
import uuid

import pyarrow as pa
import pytest

import infino

DIM = 8

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("text", pa.utf8()),
        ("tag", pa.utf8()),
        ("v", pa.list_(pa.float32(), DIM)),
    ]
)

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()


def spec():
    return infino.IndexSpec().fts("text").vector("v", DIM, 4, "l2")


def rows(n, start=0):
    out = []
    for i in range(start, start + n):
        words = [WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(1 + i % 5)]
        out.append(
            {
                "id": i,
                "text": " ".join(words) + f" doc{i}",
                "tag": "even" if i % 2 == 0 else "odd",
                "v": [float((i * (j + 3)) % 17) for j in range(DIM)],
            }
        )
    return out


def s3_uri(moto, what):
    return f"s3://{moto.bucket}/{what}-{uuid.uuid4().hex[:10]}"


def answers(db, t):
    """Everything a workload shows, independent of engine-assigned _ids."""
    def ids(tbl):
        d = tbl.to_pydict()
        return sorted(zip([round(s, 4) for s in d["score"]], d["id"]))

    return {
        "bm25": ids(t.bm25_search("text", "gamma delta", 10, projection=["id", "score"])),
        "vector": ids(t.vector_search("v", [3.0] * DIM, 10, nprobe=4,
                                      projection=["id", "score"])),
        "hybrid": ids(t.hybrid_search("text", "beta", "v", [1.0] * DIM, 10, nprobe=4,
                                      projection=["id", "score"])),
        "token": sorted(t.token_match("text", "kappa", projection=["id"])["id"].to_pylist()),
        "count": t.count("text", "alpha"),
        "rows": t.count_rows(),
        "sql": db.query_sql(
            "SELECT tag, count(*) AS n, sum(id) AS s FROM docs GROUP BY tag ORDER BY tag"
        ).to_pylist(),
        "sql_search": sorted(
            db.query_sql(
                "SELECT d.id FROM bm25_search('docs', 'text', 'theta', 5) AS b "
                "JOIN docs AS d ON d._id = b._id"
            )["id"].to_pylist()
        ),
    }


def workload(db):
    """create, append x3, delete, update, optimize, gc; answers after each."""
    t = db.create_table("docs", SCHEMA, spec())
    t.append(rows(150))
    t.append(pa.Table.from_pylist(rows(100, 150), schema=SCHEMA))
    t.append(rows(50, 250))
    seen = [answers(db, t)]
    st = t.delete("id % 10 = 3")
    assert (st.matched, st.n_tombstoned, st.n_not_found) == (30, 30, 0)
    st = t.update("id = 42", [{"id": 42, "text": "gamma gamma replaced", "tag": "new",
                               "v": [9.0] * DIM}])
    assert st.matched == 1
    seen.append(answers(db, t))
    t.optimize()
    seen.append(answers(db, t))
    report = t.gc(0)
    assert report.delete_errors == 0
    seen.append(answers(db, t))
    return t, seen


def test_s3_table_lifecycle_matches_local(moto_s3, tmp_path):
    local = infino.connect(str(tmp_path / "local"))
    _, want = workload(local)

    uri = s3_uri(moto_s3, "lifecycle")
    db = infino.connect(uri, storage_options=moto_s3.storage_options())
    assert db.list_tables() == []
    t, got = workload(db)
    assert got == want
    assert t.check().n_rows == 300 - 30
    prefix = uri.split("/", 3)[3] + "/"
    assert any(k.endswith(".sf.parquet") for k in moto_s3.keys(prefix))

    # Another connection (another host) sees the table and its contents,
    # and writes it sees are seen back.
    db2 = infino.connect(uri, storage_options=moto_s3.storage_options())
    assert db2.list_tables() == ["docs"]
    t2 = db2.open_table("docs")
    assert answers(db2, t2) == got[-1]
    t2.append(rows(10, 1000))
    assert t.count_rows() == 270 + 10
    t.append(rows(5, 2000))  # t's view was stale: the commit lands on top
    assert t2.count_rows() == 285
    assert db.query_sql("SELECT count(*) AS n FROM docs").to_pylist() == [{"n": 285}]

    # Create and drop go through the catalog on S3 too.
    db.create_table("other", SCHEMA, spec()).append(rows(3))
    assert db2.list_tables() == ["docs", "other"]
    with pytest.raises(ValueError, match="other"):
        db2.create_table("other", SCHEMA, spec())
    db2.drop_table("docs", purge=True)
    assert db.list_tables() == ["other"]
    with pytest.raises(KeyError):
        db.open_table("docs")
    assert not any("/docs-" in k for k in moto_s3.keys(prefix + "tables/"))
    db.drop_table("other", purge=True)
    assert db2.list_tables() == []


def test_s3_multipart_superfiles(moto_s3, monkeypatch):
    # Parts of 256 KiB (moto allows them here): superfiles of a few MiB
    # are published by multipart upload, create-if-absent included.
    monkeypatch.setenv("INFINO_S3_PART_SIZE", str(256 << 10))
    uri = s3_uri(moto_s3, "multipart")
    db = infino.connect(uri, storage_options=moto_s3.storage_options())
    t = db.create_table("docs", SCHEMA, spec())
    big = rows(20000)
    for r in big:
        r["text"] += " " + " ".join(f"w{(r['id'] * 31 + j) % 5003}" for j in range(20))
    t.append(big)
    prefix = uri.split("/", 3)[3] + "/"
    c = moto_s3.client()
    sfs = [k for k in moto_s3.keys(prefix) if k.endswith(".sf.parquet")]
    assert sfs
    head = c.head_object(Bucket=moto_s3.bucket, Key=sfs[0])
    assert head["ContentLength"] > 4 * (256 << 10)
    assert "-" in head["ETag"]  # a multipart upload's ETag: "<md5>-<parts>"
    # Read back by ranges from a fresh connection.
    db2 = infino.connect(uri, storage_options=moto_s3.storage_options())
    t2 = db2.open_table("docs")
    assert t2.count_rows() == 20000
    hit = t2.bm25_search("text", "w17", 5, projection=["id"])["id"].to_pylist()
    assert hit and all(any(f"w17" == w for w in big[i]["text"].split()) for i in hit)
    assert t2.check().n_rows == 20000
    db2.drop_table("docs", purge=True)


def test_s3_connect_checks_options_without_network(moto_s3, monkeypatch):
    uri = s3_uri(moto_s3, "options")
    with pytest.raises(RuntimeError, match="'aws_regio'"):
        infino.connect(uri, storage_options={"aws_regio": "us-east-1"})
    with pytest.raises(RuntimeError, match="google_service_account"):
        infino.connect(uri, storage_options={"google_service_account": "x"})
    with pytest.raises(RuntimeError, match="aws_allow_http"):
        infino.connect(uri, storage_options={"aws_endpoint": moto_s3.endpoint})
    with pytest.raises(RuntimeError, match="aws_access_key_id"):
        infino.connect(uri, storage_options={"aws_secret_access_key": "x"})
    with pytest.raises(TypeError, match="aws_region"):
        infino.connect(uri, storage_options={"aws_region": 3})
    # A bool is accepted for aws_allow_http.
    opts = moto_s3.storage_options(aws_allow_http=True)
    assert infino.connect(uri, storage_options=opts).list_tables() == []

    # connect() does not probe: nothing listens on this port.
    from s3_server import free_port

    monkeypatch.setenv("INFINO_HTTP_MAX_ATTEMPTS", "2")
    dead = moto_s3.storage_options(aws_endpoint=f"http://127.0.0.1:{free_port()}")
    db = infino.connect(uri, storage_options=dead)
    with pytest.raises(RuntimeError) as e:
        db.list_tables()
    with pytest.raises(RuntimeError, match="2 attempts"):
        infino.connect(uri, storage_options=dead, validate=True)
    msg = str(e.value)
    assert uri.split("://")[1].split("/")[0] in msg and "2 attempts" in msg
    assert moto_s3.secret not in msg and moto_s3.key not in msg


def test_s3_credentials_never_shown(moto_s3):
    uri = s3_uri(moto_s3, "creds")
    secret = "wrong-" + moto_s3.secret
    db = infino.connect(uri, storage_options=moto_s3.storage_options(
        aws_secret_access_key=secret))
    assert secret not in repr(db)
    with pytest.raises(RuntimeError) as e:
        db.create_table("docs", SCHEMA, spec())
    msg = str(e.value)
    assert "HTTP 403 SignatureDoesNotMatch" in msg and uri[5:] in msg, msg
    assert secret not in msg and moto_s3.key not in msg
    # A session token is sent (and signed), never shown.
    token = "FwoGZXIvYXdzEXAMPLETOKEN"
    db = infino.connect(uri, storage_options=moto_s3.storage_options(
        aws_session_token=token))
    with pytest.raises(RuntimeError) as e:
        db.list_tables()
    msg = str(e.value)
    assert "InvalidToken" in msg and token not in msg, msg


def test_s3_environment_fallback(moto_s3, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_s3.key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_s3.secret)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_s3.endpoint)
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")
    uri = s3_uri(moto_s3, "env")
    db = infino.connect(uri)
    db.create_table("docs", SCHEMA, spec()).append(rows(5))
    # options win over the environment
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-it")
    db2 = infino.connect(uri, storage_options=moto_s3.storage_options())
    assert db2.open_table("docs").count_rows() == 5


def test_s3_c_suite(moto_s3, build):
    """tests/unit/store_s3_test.c against moto: the object-store contract,
    multipart and ranged reads, listing pages."""
    exe = build / "store_s3_test"
    if not exe.exists():
        pytest.fail(f"{exe} was not built")
    env = dict(os.environ)
    env.update(
        INFINO_TEST_S3_ENDPOINT=moto_s3.endpoint,
        INFINO_TEST_S3_BUCKET=moto_s3.bucket,
        INFINO_TEST_S3_KEY=moto_s3.key,
        INFINO_TEST_S3_SECRET=moto_s3.secret,
    )
    env.pop("INFINO_S3_PART_SIZE", None)
    r = subprocess.run([str(exe)], env=env, capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    assert "SKIPPED" not in out, out[-4000:]
