"""Slow clients against gunicorn as the production image runs it (advocacy/gunicorn_conf.py),
in one process of 8 threads, so that a held process would show. Clients that trickle their
headers, stall mid-body, or connect and say nothing do not stop others from being served; a
stalled body is dropped after the read timeout.

Nothing here bounds how fast a request is served, which a loaded machine could miss: the
others must be served while the trickling client is still trickling, which it keeps doing
(a byte at a time, far inside the timeout) until they have been, for over half a minute if
need be. A server that the slow clients held up could not serve anyone before them."""

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

from advocacy.delivery.sink import Sink, free_port

from helpers import submission, worker_env

TIMEOUT = 2  # CLIENT_TIMEOUT_SECONDS for this server
TRICKLE = 0.01  # seconds between the trickling client's bytes
PADDING = 3000  # JSON whitespace at the end of its body: 30 s of trickling at the least


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
                if get(port, "/healthz") == 200:
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


def get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


def trickle(port: int, request: bytes, padding: int, finish: threading.Event,
            out: dict[str, Any]) -> None:
    """Send the request a byte at a time, into its padding and on until told to finish, then
    the rest at once; read the answer. out["cut_short"]: it was still trickling when told."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        out["cut_short"] = False
        for sent in range(len(request)):
            if sent >= len(request) - padding and finish.is_set():
                out["cut_short"] = True
                sock.sendall(request[sent:])
                break
            sock.sendall(request[sent : sent + 1])
            time.sleep(TRICKLE)
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
    body = json.dumps(submission()).encode() + b" " * PADDING
    head = (f"POST /api/letters HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            f"\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    trickled: dict[str, Any] = {}
    stalled: dict[str, Any] = {}
    finish = threading.Event()
    # The trickling client takes longer than TIMEOUT to send its request even without the
    # padding: the timeout bounds each silence, not the whole request.
    clients = [threading.Thread(target=trickle,
                                args=(port, head + body, PADDING, finish, trickled)),
               threading.Thread(target=stall, args=(port, head + body[:10], stalled))]
    for client in clients:
        client.start()
    # One that sends a byte and no more, one that sends nothing: each holds at most a thread.
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
    silent[0].sendall(b"G")
    # Time for the server to take them up. (Were it late, the test would be less strict
    # this once; it could not fail for it.)
    time.sleep(0.5)
    # Meanwhile everyone else is served, again and again.
    assert [get(port, "/healthz") for _ in range(20)] == [200] * 20
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    other = submission()
    other["supporter"]["email"] = "someone.else@example.org"
    conn.request("POST", "/api/letters", json.dumps(other),
                 {"Content-Type": "application/json"})
    assert conn.getresponse().status == 202
    conn.close()
    finish.set()
    clients[0].join(60)
    clients[1].join(60)
    # All of that happened while the slow client was still sending its request.
    assert trickled["cut_short"], "the trickling client finished before the others were served"
    # The slow but honest client is served; the stalled body is dropped after the timeout:
    # not before it, and far sooner than the 30 s this client waits or gunicorn's own timeout.
    assert status_of(trickled["answer"]) == 202, trickled
    assert status_of(stalled["answer"]) == 400, stalled
    assert TIMEOUT - 0.5 < stalled["after"] < TIMEOUT + 10, stalled
    for sock in silent:
        sock.close()
