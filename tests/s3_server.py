"""A real S3-compatible server on loopback for the object-storage tests: moto in server mode.

`s3_server` (a pytest fixture, one per test module) starts `python -m moto.server` on a
free 127.0.0.1 port as a child process, points this process's AWS settings at it
(`AWS_ENDPOINT_URL`, dummy credentials, so every child process the tests start inherits
them), and at the end of the module stops the server by its PID and restores the
settings, so no other module sees them. Each test makes its own bucket (`new_bucket`).
Needs the `test` extra (`moto[server]`); offline.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from utility_gap.models.embedded import free_loopback_port

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "utility-gap-test",
    "AWS_SECRET_ACCESS_KEY": "utility-gap-test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    port = free_loopback_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    saved = {k: os.environ.get(k) for k in [*S3_ENV, "AWS_ENDPOINT_URL"]}
    _forget_connections()
    os.environ.update(S3_ENV, AWS_ENDPOINT_URL=endpoint)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start on {endpoint}") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _forget_connections()


def _forget_connections() -> None:
    """Drop cached S3 filesystems: a new one reads the AWS settings of the environment again,
    as a new process would."""
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()


def new_bucket(endpoint: str) -> str:
    """A fresh, empty bucket on the test server; returns its name."""
    import s3fs

    name = f"ug-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(skip_instance_cache=True, endpoint_url=endpoint).mkdir(name)  # a bucket
    return name
