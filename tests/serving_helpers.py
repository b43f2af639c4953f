"""gunicorn as production runs it (the repository's gunicorn.conf.py), for the tests that read a
promise from the running server: its answers to request heads, what its workers do at start-up."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.common import free_port, stop

ROOT = Path(__file__).resolve().parent.parent


def raw(port: int, head: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send one request head as bytes and read the whole answer (the server closes or says how long)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        status_line, _, rest = data.partition(b"\r\n")
        header_block, _, body = rest.partition(b"\r\n\r\n")
        headers = {}
        for line in header_block.decode("latin-1").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return int(status_line.split()[1]), headers, body


@contextlib.contextmanager
def served(tmp_path: Path, target: str = "wsgi:app") -> Iterator[int]:
    """gunicorn with the repository's gunicorn.conf.py serving `target` on a free port, on a
    SQLite database with the schema only; stopped afterwards."""
    from parking.extensions import db

    url = f"sqlite:///{tmp_path / 'heads.db'}"
    engine = sa.create_engine(url)
    db.metadata.create_all(engine)  # the schema only; the tests here are about the server, not the data
    engine.dispose()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "serving-test",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SCHEDULER_ENABLED": "0",
        "RATELIMIT_ENABLED": "0",
    }
    cmd = [str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", target]
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as output:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True, stdout=output, stderr=output)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if raw(port, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")[0] == 200:
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start: {log.read_text()[-2000:]}")
                time.sleep(0.1)  # the server is starting; nothing to wait on but its port
        yield port
    finally:
        stop(proc)
