"""The dashboard's speed on a seeded database: p50 and p95 of every view and of /api/stats.

    .venv/bin/python bench/seed_letters.py [--database-url URL]     # first, once
    .venv/bin/python bench/dashboard.py [--database-url URL] [--repeat 30]

Runs the app in this process (Flask's test client: the whole request, routing, login check,
queries and template, without a network hop) against the database seed_letters.py filled,
logged in as a viewer. Measures the overview page (/admin/, every view at once), each view
alone (its CSV export), the same with every filter set (a campaign, 30 days, a body, a
country); each "cold" (the sums read from the rollup table on every request, as after the
watermark moves: the worst case) and "warm" (those sums kept until the watermark moves, as
the app does; the letters sent since are always counted afresh); and GET /api/stats with
its cache off (each request counts) and on, and GET /metrics (a Prometheus scrape). Also the
streamed export of every sent letter, in rows per second. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VIEWS = ("day", "hour", "body", "target", "country", "language", "ref")


def timed(client: Any, url: str, repeat: int, cold: bool = False) -> dict[str, float]:
    """p50 and p95 in ms; `cold`: the rollup's sums are forgotten before each request."""
    client.get(url, buffered=True)  # warm: the first request compiles templates
    times = []
    for _ in range(repeat):
        if cold:
            client.application.extensions.pop("advocacy_rollup_sums", None)
        start = time.perf_counter()
        reply = client.get(url, buffered=True)
        times.append((time.perf_counter() - start) * 1000)
        assert reply.status_code == 200, (url, reply.status_code)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    from sqlalchemy import func, select

    from advocacy import clock, create_app
    from advocacy.extensions import db
    from advocacy.models import Letter
    from advocacy.organizers.accounts import set_organizer

    url = args.database_url or f"sqlite:///{ROOT / 'instance' / 'bench-letters.sqlite'}"
    password = "bench password, never used elsewhere"  # noqa: S105  # a throwaway viewer
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": args.redis_url,
                      "QUEUE_NAME": "advocacy-bench-dashboard", "STATS_CACHE_SECONDS": 0})
    results: dict[str, dict[str, float]] = {}
    with app.app_context():
        letters = db.session.scalar(select(func.count(Letter.id)))
        set_organizer("bench-viewer@campaign.test", password, "viewer")
        client = app.test_client()
        page = client.get("/admin/login").data.decode()
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/admin/login", data={"email": "bench-viewer@campaign.test",
                                          "password": password, "csrf_token": token})
        today = clock.now().date()
        narrow = (f"campaign=free-azat-miftakhov&from={today - timedelta(days=30)}"
                  f"&to={today}&body=un&country=FR")
        for cold in (True, False):
            how = "cold" if cold else "warm"
            results[f"overview, {how}"] = timed(client, "/admin/", args.repeat, cold)
            results[f"overview, filtered, {how}"] = timed(client, f"/admin/?{narrow}",
                                                          args.repeat, cold)
            for view in VIEWS:
                results[f"{view}, {how}"] = timed(client, f"/admin/export.csv?view={view}",
                                                  args.repeat, cold)
                results[f"{view}, filtered, {how}"] = timed(
                    client, f"/admin/export.csv?view={view}&{narrow}", args.repeat, cold)
        results["/api/stats, counted each time"] = timed(client, "/api/stats", args.repeat)
        app.extensions.pop("advocacy_stats_cache", None)
        app.config["STATS_CACHE_SECONDS"] = 5
        results["/api/stats, cached"] = timed(client, "/api/stats", args.repeat)
        results["/metrics"] = timed(client, "/metrics", args.repeat)
        start = time.perf_counter()
        reply = client.get("/admin/export.csv?view=letters", buffered=True)
        exported = reply.data.count(b"\n") - 1
        export_rate = exported / (time.perf_counter() - start)
    name = url.split(":")[0].split("+")[0]
    print(f"{name}, {letters:,} letters; ms, p50 / p95 over {args.repeat} requests")
    for what, r in results.items():
        print(f"  {what:40} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f}")
    print(f"  export of every sent letter: {exported:,} rows at {export_rate:,.0f} rows/s")
    worst = max(r["p95_ms"] for r in results.values())
    print(json.dumps({"database": name, "letters": letters, "repeat": args.repeat,
                      "views": results, "worst_p95_ms": worst,
                      "export_rows_per_second": round(export_rate)}))


if __name__ == "__main__":
    main()
