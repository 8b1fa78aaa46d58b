"""Intake: JSON submissions per second and their latency under gunicorn, next to a hello world.

    .venv/bin/python bench/intake.py [--seconds 10] [--clients 16] [--rate 100] [--database-url URL]

Starts the app under gunicorn (2 processes x 8 gthread threads, like the defaults of
advocacy/gunicorn_conf.py, but with gunicorn's default keep-alive of 2 s) on loopback,
with two endpoints of the bench's own (bench/intake_app.py), on a fresh SQLite database
(or the one --database-url names, migrated and loaded by `advocacy init`) and the
local Redis (or the embedded one), and measures in one run:
- closed loop: requests/s with --clients concurrent keep-alive clients, and the server's CPU
  time per request (its processes' user + system time over the run), for
  GET /bench/hello (the hello world: a constant string through the same app and middleware),
  GET /healthz (`SELECT 1` and a Redis PING),
  POST /bench/checked (the submission's work short of the database and the queue: the per-IP
  limit in Redis, the checks, the hash, the encryption: the ceiling of any storage design),
  POST /api/letters (all of that, then the one SELECT, three INSERTs and the commit, and the
  confirmation job into Redis);
- open loop: POST /api/letters at a fixed --rate per second; latency is taken from each
  request's scheduled start, so a slow server cannot hide its queue (p50, p99).
Prints the figures, then one JSON line: `ratio` is submissions against the hello world (the
goal: at least 0.5), `ceiling_ratio` the same for /bench/checked.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def letter(n: str) -> bytes:
    return json.dumps({
        "body": "gov", "country": "FI", "language": "en", "consent": True,
        "supporter": {"name": "Bench Reader", "email": f"bench-{n}@example.org",
                      "city": "Lyon", "country": "FR"},
        "personal_note": "I follow this case and ask you to act.",
    }).encode()


PATHS = {"hello": "/bench/hello", "healthz": "/healthz", "checked": "/bench/checked",
         "submit": "/api/letters"}


def request(conn: http.client.HTTPConnection, kind: str, n: str) -> int:
    if kind in ("hello", "healthz"):
        conn.request("GET", PATHS[kind])
    else:
        conn.request("POST", PATHS[kind], body=letter(n),
                     headers={"Content-Type": "application/json"})
    reply = conn.getresponse()
    reply.read()
    return reply.status


def closed_loop(port: int, kind: str, seconds: float, threads: int, out: Any) -> None:
    """One client process: `threads` keep-alive clients as fast as the server answers."""
    counts, errors = [0] * threads, [0] * threads
    deadline = time.perf_counter() + seconds

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < deadline:
            status = request(conn, kind, uuid.uuid4().hex)
            if status in (200, 202):
                counts[i] += 1
            else:
                errors[i] += 1

    pool = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put((sum(counts), sum(errors)))


def server_cpu(server: subprocess.Popen[bytes]) -> float:
    """User + system seconds of gunicorn's worker processes so far."""
    return sum(sum(child.cpu_times()[:2]) for child in psutil.Process(server.pid).children())


def throughput(port: int, kind: str, seconds: float, clients: int) -> tuple[float, int]:
    queue: Any = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=closed_loop,
                                     args=(port, kind, seconds, clients // 2, queue))
             for _ in range(2)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    return sum(r[0] for r in results) / seconds, sum(r[1] for r in results)


def open_loop(port: int, rate: float, seconds: float) -> tuple[list[float], int]:
    """POSTs at a fixed rate; each latency runs from the request's scheduled time."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    local = threading.local()
    start = time.perf_counter() + 0.2
    total = int(rate * seconds)
    next_index = [0]

    def worker() -> None:
        local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= total:
                return
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            status = request(local.conn, "submit", uuid.uuid4().hex)
            with lock:
                latencies.append(time.perf_counter() - scheduled)
                if status != 202:
                    errors[0] += 1

    pool = [threading.Thread(target=worker) for _ in range(32)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies, errors[0]


def redis_url(tmp: Path) -> str:
    from redis import Redis

    try:
        Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5).ping()
        return "redis://127.0.0.1:6379/0"
    except Exception:  # noqa: BLE001 - no local server: the embedded one
        from advocacy.connections import start_embedded_redis

        return start_embedded_redis(tmp)


def drop_queue(url: str, name: str) -> None:
    """No worker takes the confirmations a run queues: drop them, or Redis keeps them all."""
    from redis import Redis
    from rq import Queue

    Queue(name, connection=Redis.from_url(url)).delete(delete_jobs=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    args = parser.parse_args()

    from advocacy.delivery.sink import free_port

    tmp = Path(tempfile.mkdtemp(prefix="advocacy-intake-"))
    port = free_port()
    env = {**os.environ, "ADVOCACY_INSTANCE_PATH": str(tmp / "instance"),
           "DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'intake.db'}",
           "REDIS_URL": redis_url(tmp),
           "ADVOCACY_QUEUE": f"intake-{uuid.uuid4().hex[:8]}",
           "ADVOCACY_SUBMIT_RATE": "1000000/second", "ADVOCACY_SECRET_KEY": "bench"}
    subprocess.run([sys.executable, "-m", "advocacy", "init"], env=env, check=True,
                   capture_output=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "8",
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "bench.intake_app:create()"],
        env=env, cwd=ROOT)
    try:
        deadline = time.time() + 30
        while True:
            try:
                request(http.client.HTTPConnection("127.0.0.1", port, timeout=2), "hello", "")
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        for kind in PATHS:  # warm-up: every path once through both processes
            throughput(port, kind, 1, args.clients)
        rates: dict[str, float] = {}
        cpu_ms: dict[str, float] = {}
        errors = 0
        for kind in PATHS:
            before = server_cpu(server)
            rates[kind], failed = throughput(port, kind, args.seconds, args.clients)
            cpu_ms[kind] = (server_cpu(server) - before) / (rates[kind] * args.seconds) * 1000
            errors += failed
            print(f"closed loop, {args.clients} clients: {PATHS[kind]} {rates[kind]:.0f}/s,"
                  f" server CPU {cpu_ms[kind]:.2f} ms a request", flush=True)
        latencies, open_errors = open_loop(port, args.rate, args.seconds)
        latencies.sort()
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
        print(f"open loop at {args.rate:.0f}/s: p50 {p50:.1f} ms, p99 {p99:.1f} ms", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=20)
        drop_queue(env["REDIS_URL"], env["ADVOCACY_QUEUE"])
    print(json.dumps({
        "bench": "intake", "database": env["DATABASE_URL"].split(":", 1)[0],
        "clients": args.clients, "seconds": args.seconds,
        **{f"{kind}_per_s": round(rate) for kind, rate in rates.items()},
        **{f"{kind}_cpu_ms": round(ms, 3) for kind, ms in cpu_ms.items()},
        "ratio": round(rates["submit"] / rates["hello"], 3),
        "ceiling_ratio": round(rates["checked"] / rates["hello"], 3),
        "healthz_ratio": round(rates["submit"] / rates["healthz"], 3),
        "rate": args.rate, "p50_ms": round(p50, 1), "p99_ms": round(p99, 1),
        "errors": errors + open_errors,
    }))


if __name__ == "__main__":
    main()
