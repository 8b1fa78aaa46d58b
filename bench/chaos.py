"""Chaos: faults during a stream of submissions and deliveries, with production settings.

    .venv/bin/python bench/chaos.py [--rate 10] [--relay-down 60] [--pg-down 10]

Starts gunicorn, two `advocacy worker` processes, a redis-server and a PostgreSQL cluster of
its own (initdb + pg_ctl on free ports: the machine's servers are never touched) and the
project's sink, with the app's own settings (reconcile every minute, retries after 30 s,
doubling). Supporters post letters to the JSON API and confirm them (advocacy/testing/stream.py) at
--rate per second throughout, while, one after the other:
(a) Redis is restarted empty; (b) PostgreSQL is stopped for --pg-down seconds, then started;
(c) a worker is SIGKILLed five times, a new one started each time (as a supervisor would);
(d) the SMTP relay (the sink) is down for --relay-down seconds, then back.
During (b) it checks the web's answers: /healthz, the API and the form say 503.
Then it stops writing and waits for the workers alone to deliver everything, and checks
that every accepted letter is in the database and reached the sink exactly once.
Prints each event as it happens (seconds since the start, and what the web answered while
PostgreSQL was down), then one JSON line.

    .venv/bin/python bench/chaos.py --per-fault [--rate 10] [--stale 30]

Runs one fault at a time instead, each during its own stream of supporters, and waits for
that stream's letters to settle before the next: the relay hanging up on 1 connection in 10
after a whole letter (before its reply), the same with the campaign's "resend ambiguous
letters" chosen, the relay hanging up on 1 DATA command in 10, Redis killed mid-batch with
the limits counted, a worker SIGKILLed three times, PostgreSQL crashed (its processes killed,
on a cluster that loses what a real crash loses) and started again. For each it prints one
JSON line: letters accepted, lost (neither arrived nor waiting for a person), sent twice,
put to review, and how many of those had in fact arrived. `--stale` shortens the wait before
a dead worker's letters are looked at (the app's is 600 s), so the run ends in minutes.
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

from advocacy.testing import ledger, stack  # noqa: E402
from advocacy.testing.stream import Http, Stream, supporter_letter  # noqa: E402


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


# Limits counted in Redis at values no run reaches: the limiter is called for every letter.
COUNTED = {"relay": "1000000/second", "per_domain": "1000000/second",
           "per_official_hour": "100000000/hour", "per_official_day": "100000000/day",
           # Every letter here is alike: past `similar_after` (50 by default) they would go
           # into the office's daily digest, as designed, and wait for tomorrow.
           "window": None, "similar_after": None}


def fault_report(accepted: list[int], outbox: Path, sender: str) -> dict[str, Any]:
    """Lost, sent twice, put to review and, of those, arrived: for these letters."""
    from sqlalchemy import select

    from advocacy.extensions import db
    from advocacy.letters.emails import letter_message_id
    from advocacy.models import Letter

    report = ledger.audit(accepted, ledger.outbox_message_ids(outbox), sender)
    arrived = set(ledger.outbox_message_ids(outbox))
    review = [i for i in db.session.scalars(select(Letter.id).where(
        Letter.id.in_(accepted), Letter.status == "needs_review"))]
    review_arrived = sum(1 for i in review if letter_message_id(i, sender) in arrived)
    # Lost: not in the database, marked sent but never received, or neither sent nor
    # waiting for a person (a letter in review is not lost: someone will decide).
    return {"letters": report["accepted"], "by_state": report["by_state"],
            "lost": (report["missing_from_database"] + report["sent_never_received"]
                     + report["not_delivered"] - len(review)),
            "sent_twice": report["received_twice"], "put_to_review": len(review),
            "review_had_arrived": review_arrived}


def per_fault(args: argparse.Namespace) -> None:
    """Each fault during a stream of its own; one JSON line per fault."""
    tmp = Path(tempfile.mkdtemp(prefix="advocacy-chaos-"))
    started = time.monotonic()
    results: list[dict[str, Any]] = []
    with stack.RedisServer(tmp / "redis") as redis, \
            stack.PrivatePostgres(crash_faithful=True) as pg:
        site = stack.start_site(tmp, pg.url, redis.url, workers=0)
        # The app's settings but the wait before a dead worker's letters are looked at.
        site.workers = stack.Workers(site.env, {"STALE_SENDING_SECONDS": args.stale},
                                     log=tmp / "workers.log")
        site.workers.start(2)
        app, port = site.app(), site.port
        outbox = tmp / "outbox"

        def relay(*faults: str) -> None:
            stack.stop(site.sink)
            site.restart_sink(faults)

        def resend(on: bool) -> None:
            from sqlalchemy import update

            from advocacy.extensions import db
            from advocacy.models import Campaign

            with app.app_context():
                db.session.execute(update(Campaign).values(resend_ambiguous=on))
                db.session.commit()

        def cut_after_letters(resending: bool = False) -> None:
            resend(resending)
            relay("--hang-up-at-end", "0.1")

        def relay_as_usual() -> None:
            resend(False)
            relay()

        def limits(values: dict[str, Any]) -> None:
            from advocacy.organizers.controls import set_limits

            with app.app_context():
                set_limits(None, values)

        def kill_workers() -> None:
            for _ in range(3):
                site.workers.kill_one()
                site.workers.start()
                time.sleep(args.settle / 3)

        def crash_postgres() -> None:
            pg.stop("immediate")
            time.sleep(2)
            pg.start()

        def kill_redis() -> None:
            redis.stop()
            time.sleep(2)
            redis.start()

        faults: list[tuple[str, Any, Any, Any]] = [
            ("relay hangs up after 1 letter in 10, before its reply",
             cut_after_letters, None, relay_as_usual),
            ("the same, the campaign resending ambiguous letters",
             lambda: cut_after_letters(resending=True), None, relay_as_usual),
            ("relay hangs up on 1 DATA command in 10", lambda: relay("--hang-up-at-data", "0.1"),
             None, relay),
            ("Redis killed mid-batch, limits counted", lambda: limits(COUNTED), kill_redis,
             lambda: limits(stack.NO_LIMITS)),
            ("a worker SIGKILLed 3 times", None, kill_workers, None),
            ("PostgreSQL crashed and started again", None, crash_postgres, None),
        ]
        try:
            for n, (name, before, during, after) in enumerate(faults):
                if args.only and n + 1 not in args.only:
                    continue
                if before:
                    before()
                with Stream(app, lambda: Http(port), per_second=args.rate,
                            prefix=f"fault{n}") as stream:
                    time.sleep(args.settle / 2)
                    if during:
                        during()
                    time.sleep(args.settle / 2)
                stream.finish(timeout=120)
                with app.app_context():
                    seconds = ledger.drain(stream.accepted, timeout=args.drain)
                    result = {"fault": name, **fault_report(
                        stream.accepted, outbox, site.env["ADVOCACY_SENDER"]),
                        # Still queued, sending or held when the wait ended: stuck.
                        "still_waiting": ledger.backlog(stream.accepted),
                        "drain_seconds": round(seconds),
                        "t": round(time.monotonic() - started)}
                if after:
                    after()
                results.append(result)
                print(json.dumps(result), flush=True)
        finally:
            site.stop()
    print(json.dumps({"bench": "chaos per fault", "rate": args.rate, "stale_s": args.stale,
                      "faults": results}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10, help="submissions per second")
    parser.add_argument("--relay-down", type=float, default=60)
    parser.add_argument("--pg-down", type=float, default=10)
    parser.add_argument("--settle", type=float, default=20, help="seconds between faults")
    parser.add_argument("--per-fault", action="store_true",
                        help="one fault at a time, each with its own figures")
    parser.add_argument("--stale", type=float, default=30,
                        help="with --per-fault: STALE_SENDING_SECONDS of the workers")
    parser.add_argument("--only", type=int, nargs="*", default=[],
                        help="with --per-fault: only these faults (1 to 6, in order)")
    parser.add_argument("--drain", type=float, default=600,
                        help="with --per-fault: the longest wait for a fault's letters")
    args = parser.parse_args()
    if args.per_fault:
        per_fault(args)
        return

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
