"""Chaos: faults during a stream of submissions and deliveries, with production settings.

    .venv/bin/python bench/chaos.py [--rate 10] [--relay-down 60] [--pg-down 10]

Starts gunicorn, two `advocacy worker` processes, a redis-server and a PostgreSQL cluster of
its own (initdb + pg_ctl on free ports: the machine's servers are never touched) and the
project's sink, with the app's own settings (reconcile every minute, retries after 30 s,
doubling). Supporters post letters to the JSON API and confirm them (bench/stream.py) at
--rate per second throughout, while, one after the other:
(a) Redis is restarted empty; (b) PostgreSQL is stopped for --pg-down seconds, then started;
(c) a worker is SIGKILLed five times, a new one started each time (as a supervisor would);
(d) the SMTP relay (the sink) is down for --relay-down seconds, then back.
During (b) it checks the web's answers: /healthz, the API and the form say 503.
Then it stops writing and waits for the workers alone to deliver everything, and checks
that every accepted letter is in the database and reached the sink exactly once.
Prints each event as it happens (seconds since the start, and what the web answered while
PostgreSQL was down), then one JSON line.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import ledger, stack  # noqa: E402
from bench.stream import Http, Stream, supporter_letter  # noqa: E402


def answer(port: int, method: str, path: str, body: bytes | None = None,
           headers: dict[str, str] | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    reply = conn.getresponse()
    return reply.status, reply.read().decode(errors="replace")


def while_database_down(port: int) -> dict[str, Any]:
    """What the web answers with PostgreSQL away, and how fast."""
    started = time.monotonic()
    health = answer(port, "GET", "/healthz")
    api = answer(port, "POST", "/api/letters",
                 json.dumps(supporter_letter("while-down@example.org")).encode(),
                 {"Content-Type": "application/json"})
    form = answer(port, "POST", "/", b"body=un&name=X",
                  {"Content-Type": "application/x-www-form-urlencoded"})
    page = answer(port, "GET", "/")
    return {"healthz": health[0], "healthz_body": json.loads(health[1]),
            "api": api[0], "form": form[0], "page": page[0],
            "form_says_so": "nothing was saved" in form[1],
            "seconds_for_all_four": round(time.monotonic() - started, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10, help="submissions per second")
    parser.add_argument("--relay-down", type=float, default=60)
    parser.add_argument("--pg-down", type=float, default=10)
    parser.add_argument("--settle", type=float, default=20, help="seconds between faults")
    args = parser.parse_args()

    load_before = stack.load_average()
    tmp = Path(tempfile.mkdtemp(prefix="advocacy-chaos-"))
    events: list[dict[str, Any]] = []
    started = time.monotonic()

    def event(what: str, **details: Any) -> None:
        entry = {"t": round(time.monotonic() - started, 1), "event": what, **details}
        events.append(entry)
        print(json.dumps(entry), flush=True)

    with stack.RedisServer(tmp / "redis") as redis, stack.PrivatePostgres() as pg:
        site = stack.start_site(tmp, pg.url, redis.url)
        app, port, workers = site.app(), site.port, site.workers
        try:
            with Stream(app, lambda: Http(port), per_second=args.rate) as stream:
                time.sleep(args.settle)
                redis.restart(down_seconds=1)
                event("redis restarted empty")
                time.sleep(args.settle)

                pg.stop()
                event("postgresql stopped")
                time.sleep(1)
                seen = while_database_down(port)
                time.sleep(max(0.0, args.pg_down - 1))
                pg.start()
                event("postgresql started", web_while_down=seen)
                time.sleep(args.settle)

                for _ in range(5):
                    pid = workers.kill_one()
                    workers.start()
                    event("worker SIGKILLed, another started", pid=pid)
                    time.sleep(args.settle / 4)

                stack.stop(site.sink)
                event("relay down")
                time.sleep(args.relay_down)
                site.restart_sink()
                event("relay back")
                time.sleep(args.settle)
            stream.finish(timeout=120)
            event("stream stopped", statuses={f"{k} {s}": n for (k, s), n in
                                              sorted(stream.statuses.items())})
            with app.app_context():
                left = ledger.backlog(stream.accepted)
                drain_seconds = ledger.drain(stream.accepted, timeout=1800)
                event("drained", waiting_when_stream_stopped=left,
                      seconds=round(drain_seconds))
                report = ledger.audit(stream.accepted,
                                      ledger.outbox_message_ids(tmp / "outbox"),
                                      site.env["ADVOCACY_SENDER"])
            alive = len(workers.alive)
        finally:
            site.stop()
    unexpected = stream.server_errors(frozenset({503}))
    print(f"ledger: {report}")
    print(f"answers: {dict(stream.statuses)}; 5xx other than 503 or no answer: {unexpected}")
    print(json.dumps({
        "bench": "chaos", "load_average_before": load_before, "rate": args.rate,
        "relay_down_s": args.relay_down,
        "pg_down_s": args.pg_down, "submissions_accepted": stream.statuses["submit", 202],
        "letters": len(stream.accepted), "lost": report["lost"],
        "needs_review": report["by_state"].get("needs_review", 0),
        "received_twice": report["received_twice"], "unexpected_5xx": sum(unexpected.values()),
        "status_503": sum(n for (k, s), n in stream.statuses.items() if s == 503),
        "workers_alive_at_end": alive, "drain_seconds": round(drain_seconds),
        "events": events,
    }))


if __name__ == "__main__":
    main()
