"""Slow clients against gunicorn as the production image runs it (advocacy/gunicorn_conf.py),
in one process of 8 threads, so that a held process would show. Clients that trickle their
headers, stall mid-body, or connect and say nothing do not stop others from being served; a
stalled body is dropped after the read timeout."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from advocacy.sink import Sink, free_port

from conftest import worker_env
from test_end_to_end import submission

TIMEOUT = 2  # CLIENT_TIMEOUT_SECONDS for this server


@pytest.fixture
def server(app: Any, sink: Sink, tmp_path: Path) -> Iterator[int]:
    port = free_port()
    env = {**worker_env(app, sink.url, tmp_path), "ADVOCACY_SUBMIT_RATE": "1000/minute"}
    log = (tmp_path / "gunicorn.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:advocacy.gunicorn_conf",
         "--bind", f"127.0.0.1:{port}", "--workers", "1",
         f"advocacy:create_app({{'CLIENT_TIMEOUT_SECONDS': {TIMEOUT}}})"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail((tmp_path / "gunicorn.log").read_text()[-3000:])
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def get(port: int, path: str) -> tuple[int, float]:
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        status = conn.getresponse().status
    finally:
        conn.close()
    return status, time.monotonic() - start


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


def trickle(port: int, request: bytes, delay: float, out: dict[str, Any]) -> None:
    """Send the request a byte at a time, then read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        for byte in request:
            sock.sendall(bytes([byte]))
            time.sleep(delay)
        out["answer"] = sock.recv(4096)


def stall(port: int, request: bytes, out: dict[str, Any]) -> None:
    """Send part of the request, then nothing: how long until the server answers or hangs up?"""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        start = time.monotonic()
        out["answer"] = sock.recv(4096)
        out["after"] = time.monotonic() - start


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_slow_clients_do_not_hold_up_the_others(server: int) -> None:
    port = server
    body = json.dumps(submission()).encode()
    head = (f"POST /api/letters HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            f"\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    trickled: dict[str, Any] = {}
    stalled: dict[str, Any] = {}
    clients = [threading.Thread(target=trickle, args=(port, head + body, 0.01, trickled)),
               threading.Thread(target=stall, args=(port, head + body[:10], stalled))]
    for client in clients:
        client.start()
    # One that sends a byte and no more, one that sends nothing: each holds at most a thread.
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
    silent[0].sendall(b"G")
    time.sleep(0.5)  # they are all connected and busy being slow
    # Meanwhile everyone else is served at once, again and again.
    others = [get(port, "/healthz") for _ in range(20)]
    assert all(status == 200 for status, _ in others)
    assert max(took for _, took in others) < 1.5, others
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    other = submission()
    other["supporter"]["email"] = "someone.else@example.org"
    conn.request("POST", "/api/letters", json.dumps(other),
                 {"Content-Type": "application/json"})
    assert conn.getresponse().status == 202
    conn.close()
    clients[0].join(30)
    clients[1].join(30)
    # The slow but honest client is served; the stalled body is dropped after the timeout.
    assert status_of(trickled["answer"]) == 202, trickled
    assert status_of(stalled["answer"]) == 400, stalled
    assert TIMEOUT - 0.5 < stalled["after"] < TIMEOUT + 3, stalled
    for sock in silent:
        sock.close()
