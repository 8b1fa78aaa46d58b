"""Load: 200 supporters on the campaign page, the form and the JSON API; nothing lost.

    .venv/bin/python bench/load.py [--seconds 180] [--users 200] [--database-url URL]

Starts the whole stack on loopback: gunicorn (the package's settings,
advocacy/gunicorn_conf.py), two `advocacy worker` processes, a redis-server of its own,
the project's sink (`advocacy sink`, keeping every message as an .eml file) and
PostgreSQL: a throwaway database on 127.0.0.1:5432 (created and dropped here), or the
one --database-url names. Then locust (bench/locustfile.py, headless) runs --users
simulated supporters for --seconds: browsers open GET / and send the form (POST /, with
the page's CSRF token and their session cookie), partner sites POST /api/letters.

Every user comes from 127.0.0.1, so the per-IP limit (ADVOCACY_SUBMIT_RATE) is set out of
reach, and so are the delivery limits (relay, per domain, per official, the send window):
this measures the software, not the limits.

After the run it follows the confirmation link of every accepted submission from the sink,
lets the workers drain, and checks that every accepted submission is in the database and
every confirmed letter reached the sink exactly once (by Message-ID). Meanwhile it samples
the resident memory of the web processes and the workers from /proc.
Prints the figures, then one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advocacy.testing import ledger, stack  # noqa: E402
from advocacy.testing.stream import Http  # noqa: E402

CONFIRM_LINK = re.compile(r"https?://[^/\s]+(/confirm/[^\s?]+)")


class Sampler(threading.Thread):
    """RSS of some processes every `every` seconds, kept per process kind."""

    def __init__(self, kinds: dict[str, Any], every: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.kinds, self.every = kinds, every
        self.samples: dict[str, list[float]] = {k: [] for k in kinds}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            for kind, pids in self.kinds.items():
                for pid in pids():
                    # The process may end between the listing and the reading.
                    with contextlib.suppress(OSError, LookupError):
                        self.samples[kind].append(stack.rss_mb(pid))

    def summary(self) -> dict[str, dict[str, float]]:
        return {k: {"max_mb": round(max(v), 1), "last_mb": round(v[-1], 1)}
                for k, v in self.samples.items() if v}


def run_locust(port: int, users: int, seconds: float, tmp: Path) -> dict[str, Any]:
    """locust, headless; returns its per-kind stats (from its CSV) and what users saw."""
    results = tmp / "load-results"
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
         "--headless", "--users", str(users), "--spawn-rate", str(max(1, users // 10)),
         "--run-time", f"{int(seconds)}s", "--host", f"http://127.0.0.1:{port}",
         "--csv", str(tmp / "locust"), "--only-summary", "--loglevel", "WARNING",
         "--stop-timeout", "10"],
        env={**os.environ, "LOAD_RESULTS": str(results)}, cwd=ROOT, check=False)
    stats = {}
    with (tmp / "locust_stats.csv").open() as fh:
        for row in csv.DictReader(fh):
            stats[row["Name"]] = {"requests": int(row["Request Count"]),
                                  "per_s": round(float(row["Requests/s"]), 1),
                                  "p50_ms": float(row["50%"]), "p99_ms": float(row["99%"])}
    seen: Counter[str] = Counter()
    api_addresses: list[str] = []
    form_addresses: list[str] = []
    for path in tmp.glob("load-results.*.json"):
        part = json.loads(path.read_text())
        seen.update(part["seen"])
        api_addresses += part["api_addresses"]
        form_addresses += part["form_addresses"]
    return {"stats": stats, "seen": seen, "api_addresses": api_addresses,
            "form_addresses": form_addresses}


def letters_of(addresses: list[str]) -> list[int]:
    """The letters of the supporters with these addresses (found by their lookup hash)."""
    from sqlalchemy import select

    from advocacy.crypto import lookup_hash
    from advocacy.extensions import db
    from advocacy.models import Letter, Supporter

    ids: list[int] = []
    for start in range(0, len(addresses), 500):
        hashes = [lookup_hash(a) for a in addresses[start:start + 500]]
        ids += db.session.scalars(select(Letter.id).join(
            Supporter, Letter.supporter_id == Supporter.id).where(
            Supporter.email_hash.in_(hashes))).all()
    return ids


def confirmation_paths(outbox: Path, expected: int, timeout: float) -> list[str]:
    """The confirmation links in the sink, once `expected` have arrived (or at timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        paths = set()
        for path in outbox.glob("*.eml"):
            msg = message_from_bytes(path.read_bytes(), policy=policy.default)
            if "confirm" in str(msg["Subject"]).lower():
                match = CONFIRM_LINK.search(msg.get_body().get_content())  # type: ignore[union-attr]
                if match:
                    paths.add(match.group(1))
        if len(paths) >= expected or time.monotonic() > deadline:
            return sorted(paths)
        time.sleep(2)


def confirm_all(port: int, paths: list[str]) -> Counter[int]:
    """POST every confirmation link, as the supporters' buttons do, 16 at a time
    (status 0: no answer at all)."""
    web = Http(port)
    with ThreadPoolExecutor(16) as pool:
        return Counter(pool.map(lambda path: web.post(path)[0], paths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--users", type=int, default=200)
    stack.database_option(parser)
    args = parser.parse_args()

    load_before = stack.load_average()
    with stack.installation("load", args.database_url) as site:
        app, port, web, workers, tmp = site.app(), site.port, site.web, site.workers, site.folder
        sampler = Sampler({"web": lambda: stack.web_processes(web),
                           "worker": lambda: [p.pid for p in workers.alive]})
        sampler.start()
        try:
            print(f"load average before: {' '.join(load_before)}; {args.users} users,"
                  f" {args.seconds:.0f} s; per-IP and delivery limits out of reach", flush=True)
            run = run_locust(port, args.users, args.seconds, tmp)
            under_load = sampler.summary()
            with app.app_context():
                accepted = letters_of(run["api_addresses"] + run["form_addresses"])
                submissions = run["seen"]["api 202"] + len(run["form_addresses"])
                paths = confirmation_paths(tmp / "outbox", submissions, timeout=600)
                confirmed = confirm_all(port, paths)
                drain_seconds = ledger.drain(accepted, timeout=1800)
                report = ledger.audit(accepted, ledger.outbox_message_ids(tmp / "outbox"),
                                      site.env["ADVOCACY_SENDER"])
        finally:
            sampler.done.set()
    total = run["stats"].pop("Aggregated")
    errors = Counter({k: n for k, n in run["seen"].items()
                      if not k.endswith((" 200", " 202"))})
    print(f"{total['requests']} requests, {total['per_s']}/s overall; errors: {dict(errors)}")
    for kind, figures in run["stats"].items():
        print(f"  {kind}: {figures['per_s']}/s, p50 {figures['p50_ms']:.0f} ms,"
              f" p99 {figures['p99_ms']:.0f} ms")
    print(f"submissions accepted: {submissions} ({len(accepted)} letters); confirmation links"
          f" followed: {len(paths)} {dict(confirmed)}; drained in {drain_seconds:.0f} s")
    print(f"ledger: {report}")
    print(f"RSS under load: {under_load}")
    print(json.dumps({
        "bench": "load", "users": args.users, "seconds": args.seconds,
        "database": site.env["DATABASE_URL"].split(":", 1)[0], "load_average_before": load_before,
        "requests_per_s": total["per_s"], "kinds": run["stats"],
        "statuses": dict(run["seen"]), "errors_5xx": sum(
            n for k, n in run["seen"].items() if k.split()[-1].startswith("5")),
        "submissions": submissions, "letters": len(accepted),
        "confirmed": dict(confirmed), "drain_seconds": round(drain_seconds),
        "lost": report["lost"], "ledger": report, "rss_under_load": under_load,
    }))


if __name__ == "__main__":
    main()
