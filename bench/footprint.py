"""Footprint: a worker's resident memory while it delivers 100,000 letters (no growth).

    .venv/bin/python bench/footprint.py [--letters 100000] [--database-url URL]

One worker process (`python worker.py`), a redis-server of its own, the project's sink
(counting only, no files) and PostgreSQL (a throwaway database on 127.0.0.1:5432, or
--database-url).
Letters are seeded straight into the database in chunks of 5,000 (bench/delivery.py's
seed) and queued as each chunk is committed, with the delivery limits out of the way. The
worker's RSS (from /proc) is sampled, with the number of letters sent, after each chunk
while seeding, then every second.
Prints RSS at every 10,000 letters and the trend (least squares over the samples after the
first 10,000, in MB per 10,000 letters), then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advocacy.testing import stack  # noqa: E402

CHUNK = 5000


def sent_count() -> int:
    from sqlalchemy import func, select

    from advocacy.extensions import db
    from advocacy.models import Letter, LetterStatus

    db.session.rollback()
    return int(db.session.scalar(select(func.count()).where(
        Letter.status == LetterStatus.SENT)) or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=100_000)
    stack.database_option(parser)
    args = parser.parse_args()

    load_before = stack.load_average()
    with stack.installation("footprint", args.database_url, workers=1, web_server=False,
                            keep_mail=False) as site:
        [worker] = site.workers.procs
        from advocacy.delivery.queue import enqueue_letters
        from bench.delivery import seed

        samples: list[tuple[int, float]] = []  # (letters sent, RSS MB)
        app = site.app()
        started = time.monotonic()
        with app.app_context():
            seeded = 0
            while True:
                if seeded < args.letters:
                    enqueue_letters(seed(min(CHUNK, args.letters - seeded)))
                    seeded += CHUNK
                samples.append((sent_count(), stack.rss_mb(worker.pid)))
                if samples[-1][0] >= args.letters:
                    break
                if worker.poll() is not None:
                    raise RuntimeError("the worker died")
                time.sleep(1 if seeded >= args.letters else 0)
    seconds = time.monotonic() - started
    steady = [(n, mb) for n, mb in samples if n >= 10_000] or samples
    slope = (statistics.linear_regression([n for n, _ in steady], [mb for _, mb in steady]).slope
             * 10_000 if len(steady) > 2 else 0.0)
    marks = {}
    for n, mb in samples:
        marks.setdefault(n // 10_000 * 10_000, mb)
    print(f"{args.letters} letters in {seconds:.0f} s ({args.letters / seconds:.0f}/s)")
    for n, mb in sorted(marks.items()):
        print(f"  after {n:>7,} letters: {mb:.1f} MB")
    print(f"max {max(mb for _, mb in samples):.1f} MB, end {samples[-1][1]:.1f} MB,"
          f" trend after 10,000 letters: {slope:+.2f} MB per 10,000 letters")
    print(json.dumps({
        "bench": "footprint", "letters": args.letters, "seconds": round(seconds),
        "database": site.env["DATABASE_URL"].split(":", 1)[0], "load_average_before": load_before,
        "rss_first_mb": round(samples[0][1], 1), "rss_max_mb": round(max(m for _, m in samples), 1),
        "rss_end_mb": round(samples[-1][1], 1),
        "mb_per_10k_letters": round(slope, 3),
        "rss_by_10k": {str(n): round(mb, 1) for n, mb in sorted(marks.items())},
    }))


if __name__ == "__main__":
    main()
