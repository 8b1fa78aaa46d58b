"""Near-identical letters: what counting one costs, at 100,000 letters to one office.

    .venv/bin/python bench/similarity.py [--letters 100000] [--threshold 0.8]

What a confirmation adds for its letters (intake.confirm._count_alike): the paragraph's keyed
MinHash band keys (letters.similarity) and one pipelined round trip to Redis that counts the
letter in and reads how many alike letters its office had (delivery.alike), for --letters
letters, all to one office, on the local Redis (or the embedded one): the letters before the
last --timed are counted in bulk (the same counters), then the last ones one at a time,
timed. The worker's side is one comparison of a stored number (delivery.gate), not measured.

The paragraphs are what a campaign gets: a third copies one of five texts (with its own case,
spacing and punctuation), a third changes a word or two of one, a third writes its own. The
cost must not grow with the letters before: the first and the last tenth of the timed ones
are reported apart.
Prints the figures, then one JSON line (the goal: `ms_per_letter` under 1). A letter's wall
time is its hashing plus one round trip to Redis: `ms_redis_ping` is that round trip alone
on the same machine at the same moment, and `cpu_ms_per_letter` this process's CPU a letter,
which a loaded machine inflates less than wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.delivery import redis_url  # noqa: E402

TEXTS = [
    "I am a nurse in Lyon. Azat Miftakhov was beaten and jailed for his ideas; I ask you to"
    " use every means your office has to see him freed and safe.",
    "As a mathematician I ask you to intervene for my colleague Azat Miftakhov, a young"
    " scientist imprisoned after torture, and to ask for his immediate release.",
    "Please raise the case of Azat Miftakhov with the authorities. Nobody should be tortured"
    " or imprisoned for what they think.",
    "I write as a teacher: my students learn that science is free. Azat Miftakhov is in a"
    " prison camp for being free. Help him.",
    "Azat Miftakhov must be released. He was tortured, his trial was unfair, and he is still"
    " held. I count on you to act.",
]
WORDS = [
    "mathematics",
    "student",
    "prison",
    "camp",
    "torture",
    "freedom",
    "science",
    "colleague",
    "family",
    "letter",
    "office",
    "hope",
    "justice",
    "trial",
    "court",
    "appeal",
    "health",
    "lawyer",
    "visit",
    "winter",
    "years",
    "friend",
    "university",
    "Moscow",
    "Paris",
    "Berlin",
    "Madrid",
    "choir",
    "teacher",
    "nurse",
    "engineer",
    "daughter",
    "son",
    "mother",
    "father",
    "write",
    "ask",
    "free",
    "release",
    "rights",
    "law",
    "month",
    "week",
    "today",
]


def paragraphs(n: int, seed: int = 19) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = i % 3
        text = rng.choice(TEXTS)
        if kind == 0:  # copied, typed in its own way
            text = rng.choice([text, text.upper(), text.replace(".", "!"), "  " + text])
        elif kind == 1:  # a word or two changed
            words = text.split()
            for _ in range(rng.randint(1, 2)):
                words[rng.randrange(len(words))] = rng.choice(WORDS)
            text = " ".join(words)
        else:  # their own
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 40)))
        out.append(text)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=100_000)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--timed", type=int, default=2000, help="the last letters, timed")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="advocacy-bench-"))
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    os.environ.update(
        {
            "ADVOCACY_INSTANCE_PATH": str(tmp / "instance"),
            "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
            "REDIS_URL": redis_url(tmp),
            "ADVOCACY_QUEUE": queue,
        }
    )
    from advocacy import create_app
    from advocacy.campaigns.limits import campaign_limits
    from advocacy.connections import get_redis
    from advocacy.delivery.alike import Confirmed, band_keys, count_alike, counter_names

    app = create_app()
    limits = campaign_limits({"similar_threshold": args.threshold})
    texts = paragraphs(args.letters)
    keys_s: list[float] = []
    count_s: list[float] = []
    alike: list[int] = []
    with app.app_context():
        redis = get_redis()
        try:
            band_keys(texts[0], True, limits)  # the banding is worked out once
            start = time.time()
            # The letters before: counted in as count_alike would, in bulk (the same fields of
            # the same hash), so that the timed letters meet an office with that many.
            before = texts[: args.letters - args.timed]
            current, _last = counter_names(1, 1, limits, start)
            for first in range(0, len(before), 1000):
                with redis.pipeline(transaction=False) as pipe:
                    for text in before[first : first + 1000]:
                        for key in band_keys(text, True, limits):
                            pipe.hincrby(current, key, 1)
                    pipe.execute()
            pings = []
            for _ in range(200):  # the machine's round trip to Redis, for comparison
                t0 = time.perf_counter()
                redis.ping()
                pings.append(time.perf_counter() - t0)
            cpu = time.process_time()
            for n, text in enumerate(texts[len(before) :]):
                t0 = time.perf_counter()
                keys = band_keys(text, True, limits)
                t1 = time.perf_counter()
                counts = count_alike(1, [Confirmed(n, 1)], keys, limits, start)
                t2 = time.perf_counter()
                keys_s.append(t1 - t0)
                count_s.append(t2 - t1)
                alike.append(counts[n])
            cpu = time.process_time() - cpu
            stored = sum(1 for _ in redis.scan_iter(match=f"{queue}:alike:*", count=10_000))
        finally:
            for batch in _chunks(list(redis.scan_iter(match=f"{queue}:alike:*", count=10_000))):
                redis.delete(*batch)

    tenth = max(1, args.timed // 10)
    total = [a + b for a, b in zip(keys_s, count_s, strict=True)]
    routed = sum(1 for a in alike if limits.similar_after and a >= limits.similar_after)
    summary = {
        "bench": "similarity",
        "letters": args.letters,
        "threshold": args.threshold,
        "ms_per_letter": round(1000 * statistics.fmean(total), 4),
        "ms_p99": round(1000 * statistics.quantiles(total, n=100)[98], 4),
        "ms_band_keys": round(1000 * statistics.fmean(keys_s), 4),
        "ms_redis_count": round(1000 * statistics.fmean(count_s), 4),
        "ms_redis_ping": round(1000 * statistics.median(pings), 4),
        "cpu_ms_per_letter": round(1000 * cpu / args.timed, 4),
        "timed": args.timed,
        "ms_first_tenth": round(1000 * statistics.fmean(total[:tenth]), 4),
        "ms_last_tenth": round(1000 * statistics.fmean(total[-tenth:]), 4),
        "redis_keys": stored,
        "routed_to_digest": round(routed / len(alike), 3),
        "distinct": round(sum(1 for a in alike if a == 0) / len(alike), 3),
    }
    print(
        f"{args.letters:,} letters to one office: {summary['ms_per_letter']} ms a letter "
        f"(band keys {summary['ms_band_keys']} ms, Redis {summary['ms_redis_count']} ms; "
        f"first tenth {summary['ms_first_tenth']}, last {summary['ms_last_tenth']}; "
        f"a Redis PING takes {summary['ms_redis_ping']} ms here; this process's CPU "
        f"{summary['cpu_ms_per_letter']} ms a letter); "
        f"{summary['routed_to_digest']:.1%} routed to the digest, "
        f"{summary['distinct']:.1%} distinct, {stored:,} Redis keys"
    )
    print(json.dumps(summary))


def _chunks(items: list[bytes], size: int = 1000) -> list[list[bytes]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


if __name__ == "__main__":
    main()
