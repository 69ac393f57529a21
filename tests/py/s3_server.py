"""A real S3 endpoint for tests: moto's standalone server on 127.0.0.1.

`MotoS3.start()` runs `python -m moto.server` on a free loopback port with
SigV4 checking on (moto checks signatures once its first few unauthenticated
requests, used here to create an IAM user with a key, are spent), creates a
bucket and returns the running server; `stop()` ends it. Requests of the
engine are then signed with that user's key, and moto refuses a wrong
signature with SignatureDoesNotMatch, as S3 does.
"""
from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

# moto authenticates requests from this many on; the first ones (IAM setup)
# pass unsigned.
_NO_AUTH_REQUESTS = 4


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoS3:
    def __init__(self, proc, port, key, secret, bucket, log_path):
        self.proc = proc
        self.port = port
        self.key = key
        self.secret = secret
        self.bucket = bucket
        self.log_path = log_path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def endpoint_options(origin: str) -> dict:
        """The options that send requests to `origin` (a proxy)."""
        return {"aws_endpoint": origin}

    def storage_options(self, **extra) -> dict:
        opts = {
            "aws_endpoint": self.endpoint,
            "aws_allow_http": "true",
            "aws_access_key_id": self.key,
            "aws_secret_access_key": self.secret,
            "aws_region": "us-east-1",
        }
        opts.update(extra)
        return opts

    def uri(self, what: str) -> str:
        """A table root of its own: s3://BUCKET/WHAT-RANDOM."""
        import uuid

        return f"s3://{self.bucket}/{what}-{uuid.uuid4().hex[:10]}"

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.key,
            aws_secret_access_key=self.secret,
            region_name="us-east-1",
        )

    def keys(self, prefix: str) -> list[str]:
        out, token = [], None
        c = self.client()
        while True:
            kw = {"Bucket": self.bucket, "Prefix": prefix}
            if token:
                kw["ContinuationToken"] = token
            page = c.list_objects_v2(**kw)
            out += [o["Key"] for o in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                return out
            token = page["NextContinuationToken"]

    @classmethod
    def start(cls, bucket: str = "infino-test", env: dict | None = None) -> "MotoS3":
        import boto3

        port = free_port()
        log = tempfile.NamedTemporaryFile(
            prefix="moto-", suffix=".log", delete=False, mode="w"
        )
        penv = dict(os.environ)
        penv["INITIAL_NO_AUTH_ACTION_COUNT"] = str(_NO_AUTH_REQUESTS)
        penv.update(env or {})
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=penv,
        )
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"moto_server exited with {proc.returncode}: "
                    + pathlib.Path(log.name).read_text()[-2000:]
                )
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    proc.kill()
                    raise RuntimeError("moto_server did not start within 60 s")
                time.sleep(0.1)
        try:
            kw = dict(
                endpoint_url=f"http://127.0.0.1:{port}",
                aws_access_key_id="setup",
                aws_secret_access_key="setup",
                region_name="us-east-1",
            )
            iam = boto3.client("iam", **kw)
            iam.create_user(UserName="infino")
            iam.put_user_policy(
                UserName="infino",
                PolicyName="all",
                PolicyDocument=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                    }
                ),
            )
            k = iam.create_access_key(UserName="infino")["AccessKey"]
            server = cls(proc, port, k["AccessKeyId"], k["SecretAccessKey"], bucket, log.name)
            server.client().create_bucket(Bucket=bucket)
            return server
        except BaseException:
            proc.kill()
            proc.wait()
            raise

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
