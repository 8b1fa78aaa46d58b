"""Delivery throughput: queued letters to a local SMTP sink running in another process.

    .venv/bin/python bench/delivery.py [--letters 3000] [--repeat 3] [--database-url URL]
                                       [--limits-counted | --relay-rate N]

Measures, in one run and against the same sink (`advocacy sink`, its own process):
- baseline: a plain smtplib loop sending prebuilt messages over one reused connection;
- pipelined: the same loop through the project's transport, which pipelines each message's
  envelope and DATA (RFC 2920) where the relay offers it, as the sink does and smtplib
  cannot: the fastest any worker could go over that connection (`ratio_pipelined`);
- pipeline: letters queued in the database and Redis, delivered by 1 and then 2 worker
  processes (`python worker.py`) with every bit of bookkeeping (claims, limits with their
  values set out of the way, composing, recording), timed from enqueue to the last `sent`.
Prints the figures, then one JSON line with medians and ratios to the baseline.

With --relay-rate N the relay is limited to N letters a second (the other limits off), and
the line also says how close to N the workers drain (`relay_ratio`, median over rounds of
2 workers' rate / N) and the most letters 2 workers sent in any one second
(`busiest_second`, from `sent_at`): the limit's promise is that it stays at N, give or
take a letter per worker that a paused process sends late.
"""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advocacy.testing.stack import NO_LIMITS  # noqa: E402

# --limits-counted: every limit on, at values no run reaches, so the Redis counting is paid.
COUNTED = {"relay": "1000000/second", "per_domain": "1000000/second",
           "per_official_hour": "100000000/hour", "per_official_day": "100000000/day",
           # Off, as in bench/chaos.py: alike letters past `similar_after` go into the
           # office's daily digest (this bench's letters are seeded with no count of alike
           # letters, so the gate never holds them; said here so that nobody wonders).
           "window": None, "similar_after": None}


def redis_url(tmp: Path) -> str:
    from redis import Redis

    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    try:
        Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5).ping()
        return "redis://127.0.0.1:6379/0"
    except Exception:  # noqa: BLE001 - no local server: use the embedded one
        from advocacy.connections import start_embedded_redis

        return start_embedded_redis(tmp)


def seed(n: int) -> list[int]:
    """n confirmed letters from n/2 supporters to the two UN offices."""
    from sqlalchemy import select

    from advocacy import clock
    from advocacy.campaigns.settings import find_campaign
    from advocacy.extensions import db
    from advocacy.letters.versions import current_template
    from advocacy.models import Body, Letter, LetterStatus, Official, Submission, Supporter

    campaign = find_campaign(None)
    body = db.session.scalars(select(Body).where(Body.slug == "un")).one()
    assert campaign is not None
    template = current_template(campaign, body, "en")
    assert template is not None
    # The UN's addressed offices (case-intake inboxes, never offered to supporters): any two
    # offices with an address do for the engine, and the bench's sink keeps every message.
    officials = list(db.session.scalars(select(Official).where(
        Official.body_id == body.id, Official.email.is_not(None)).order_by(Official.id)))
    now, run = clock.now(), uuid.uuid4().hex[:8]
    letters: list[Letter] = []
    for i in range(n // len(officials)):
        supporter = Supporter(email=f"bench-{run}-{i}@example.org")
        submission = Submission(
            campaign_id=campaign.id, supporter=supporter, body_id=body.id, name=f"Reader {i}",
            city="Lyon", country="FR", language="en", consent_at=now, confirmed_at=now,
            personal_note="I have followed this case for years and ask you to act now.",
        )
        letters += [Letter(campaign_id=campaign.id, submission=submission, supporter=supporter,
                           target_id=t.id, template_id=template.id,
                           status=LetterStatus.QUEUED, queued_at=now) for t in officials]
    db.session.add_all(letters)
    db.session.commit()
    return [letter.id for letter in letters]


def baseline(port: int, messages: list[tuple[str, str, bytes]]) -> float:
    """Messages per second: prebuilt bytes, one connection, plain smtplib."""
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        start = time.perf_counter()
        for sender, rcpt, data in messages:
            smtp.sendmail(sender, [rcpt], data)
        return len(messages) / (time.perf_counter() - start)


def pipelined(port: int, messages: list[tuple[str, str, bytes]]) -> float:
    """Messages per second: the same, through the project's transport (pipelining)."""
    from advocacy.delivery.mail import Transport
    from advocacy.letters.emails import Outgoing

    outgoing = [Outgoing(sender, [rcpt], data) for sender, rcpt, data in messages]
    with Transport(f"smtp://127.0.0.1:{port}") as smtp:
        smtp.send(outgoing[0])  # connected, as the plain loop is before its clock starts
        start = time.perf_counter()
        for msg in outgoing[1:]:
            smtp.send(msg, resend_unconfirmed=False)
        return (len(outgoing) - 1) / (time.perf_counter() - start)


def prebuilt(n: int) -> list[tuple[str, str, bytes]]:
    from sqlalchemy import delete

    from advocacy.extensions import db
    from advocacy.letters.compose import compose, load
    from advocacy.models import Letter

    ids = seed(min(n, 200))
    built = [(m.sender, m.recipients[0], m.data) for m in map(compose, load(ids))]

    db.session.execute(delete(Letter).where(Letter.id.in_(ids)))
    db.session.commit()
    return [built[i % len(built)] for i in range(n)]


def busiest_second(ids: list[int]) -> int:
    """The most of these letters whose sent_at falls in one whole second."""
    from collections import Counter

    from sqlalchemy import select

    from advocacy.extensions import db
    from advocacy.models import Letter

    times = db.session.scalars(select(Letter.sent_at).where(Letter.id.in_(ids)))
    return max(Counter(int(t.timestamp()) for t in times if t is not None).values())


def pipeline(n: int, workers: int, env: dict[str, str], busiest: list[int] | None = None
             ) -> float:
    """Letters per second from enqueue to `sent`, with this many worker processes."""
    from rq import Worker
    from sqlalchemy import func, select

    from advocacy.connections import get_redis
    from advocacy.delivery.queue import enqueue_letters, get_queue
    from advocacy.extensions import db
    from advocacy.models import Letter, LetterStatus

    ids = seed(n)
    procs = [subprocess.Popen([sys.executable, str(ROOT / "worker.py")], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(workers)]
    try:
        deadline = time.monotonic() + 60
        while len(Worker.all(queue=get_queue())) < workers:  # all ready, listening
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not start")
            time.sleep(0.1)
        start = time.time()
        enqueue_letters(ids)
        # Poll gently (the poll takes CPU from the workers); the end time is the last
        # letter's own sent_at, recorded once the sink had accepted it.
        span = (Letter.id >= min(ids)) & (Letter.id <= max(ids))
        query = select(func.count(), func.max(Letter.sent_at)).where(
            span, Letter.status == LetterStatus.SENT)
        while True:
            time.sleep(0.25)
            db.session.rollback()  # a fresh snapshot each poll
            done, last = db.session.execute(query).one()
            if done >= len(ids) and last is not None:
                if busiest is not None:
                    busiest.append(busiest_second(ids))
                return len(ids) / (last.timestamp() - start)
            if time.time() - start > 600:
                raise RuntimeError(f"only {done} of {len(ids)} sent")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        get_redis()  # keep the connection for the next round


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--limits-counted", action="store_true",
                        help="count every limit in Redis (at values never reached)")
    choice.add_argument("--relay-rate", type=int, default=None, metavar="N",
                        help="limit the relay to N letters a second, the other limits off")
    args = parser.parse_args()

    from advocacy.delivery.sink import free_port

    tmp = Path(tempfile.mkdtemp(prefix="advocacy-bench-"))
    port = free_port()
    env = {**os.environ, "ADVOCACY_INSTANCE_PATH": str(tmp / "instance"),
           "DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'bench.db'}",
           "REDIS_URL": redis_url(tmp), "ADVOCACY_QUEUE": f"bench-{uuid.uuid4().hex[:8]}",
           "SMTP_URL": f"smtp://127.0.0.1:{port}", "ADVOCACY_SENDER": "letters@bench.test"}
    os.environ.update(env)
    # The project's own sink, keeping every message as an .eml file, as `SMTP_URL=sink` does.
    sink = subprocess.Popen([sys.executable, "-m", "advocacy", "sink", "--port", str(port),
                             "--outbox", str(tmp / "outbox")], env=env, stderr=subprocess.DEVNULL)
    from advocacy import create_app
    from advocacy.campaigns.bootstrap import load_data, migrate_database
    from advocacy.organizers.controls import set_limits

    app = create_app()
    results: dict[str, list[float]] = {"baseline": [], "pipelined": [], "workers_1": [],
                                       "workers_2": []}
    busiest: list[int] = []
    try:
        with app.app_context():
            migrate_database()
            load_data(ROOT / "targets", ROOT / "templates")
            limits = COUNTED if args.limits_counted else NO_LIMITS
            if args.relay_rate:
                limits = {**NO_LIMITS, "relay": f"{args.relay_rate}/second"}
            set_limits(None, limits)
            time.sleep(1)  # the sink is listening by now
            messages = prebuilt(args.letters)
            baseline(port, messages)  # warm-up, not counted: the sink's first files are slow
            pipeline(min(args.letters, 500), 1, env)
            for round_ in range(args.repeat):
                results["baseline"].append(baseline(port, messages))
                results["pipelined"].append(pipelined(port, messages))
                for w in (1, 2):
                    # The busiest second: only under --relay-rate, of 2 workers' rounds.
                    record = busiest if args.relay_rate and w == 2 else None
                    results[f"workers_{w}"].append(pipeline(args.letters, w, env, record))
                print(f"round {round_ + 1}: " + ", ".join(
                    f"{k} {v[-1]:.0f}/s" for k, v in results.items()), flush=True)
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    med = {k: statistics.median(v) for k, v in results.items()}
    summary: dict[str, Any] = {
        "bench": "delivery", "letters": args.letters, "repeat": args.repeat,
        "database": app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0],
        "limits": "counted" if args.limits_counted else (
            f"relay {args.relay_rate}/s" if args.relay_rate else "off"),
        "baseline_per_s": round(med["baseline"]),
        "pipelined_per_s": round(med["pipelined"]),
        "workers_1_per_s": round(med["workers_1"]),
        "workers_2_per_s": round(med["workers_2"]),
        # Ratios per round (pipeline and baseline measured back to back), then the median.
        "ratio": round(statistics.median(
            w / b for w, b in zip(results["workers_2"], results["baseline"], strict=True)), 3),
        "ratio_1": round(statistics.median(
            w / b for w, b in zip(results["workers_1"], results["baseline"], strict=True)), 3),
        "ratio_pipelined": round(statistics.median(
            w / b for w, b in zip(results["workers_2"], results["pipelined"], strict=True)), 3),
    }
    if args.relay_rate:
        summary["relay_ratio"] = round(statistics.median(
            w / args.relay_rate for w in results["workers_2"]), 3)
        summary["busiest_second"] = max(busiest)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
