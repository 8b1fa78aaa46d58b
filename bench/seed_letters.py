"""Seed a database with many letters spread over 90 days, for measuring the dashboard.

    .venv/bin/python bench/seed_letters.py [--letters 1000000] [--days 90]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/advocacy_bench]

Creates or migrates the database (default: SQLite at instance/bench-letters.sqlite), loads
targets/ and templates/, then adds supporters, submissions and letters with bulk INSERTs
(executemany in chunks, ids chosen here): two campaigns (nine letters in ten to the default
one), each submission writing to every official of one body (EU, Council of Europe, UN, or
the supporter's government when it is in targets/; also officials without an address yet,
so that every body has letters: nothing seeded is ever delivered), supporters from about
forty countries (a long tail), letters in the supporter's language or English, one in four through
a partner `ref`; more letters in the campaign's busy weeks and the day's waking hours.
States follow age: old letters are mostly sent, some cancelled unconfirmed, a few failed,
held or in review; the last two days hold the unconfirmed and queued ones.
Finally the rollup runs (timed) and the planner's statistics are refreshed.
Prints progress, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHUNK = 20_000
COUNTRIES = ["FR", "DE", "RU", "US", "GB", "ES", "IT", "NL", "BE", "CH", "CA", "SE", "PL",
             "AT", "IE", "PT", "FI", "DK", "NO", "CZ", "AR", "MX", "BR", "AU", "JP", "UA",
             "GE", "AM", "KZ", "IL", "TR", "GR", "RO", "HU", "LT", "LV", "EE", "SK", "SI", "IN"]
LANGUAGE = {"FR": "fr", "BE": "fr", "CH": "de", "DE": "de", "AT": "de", "RU": "ru", "KZ": "ru",
            "UA": "ru", "ES": "es", "AR": "es", "MX": "es"}
REFS = ["amnesty-fr", "memorial", "ams-math", "lms", "smf", "scholars-at-risk", "ovd-info",
        "pen", "ems", "dmv", "rsme", "cmath"]
BODIES = {"eu": 35, "coe": 20, "un": 30, "gov": 15}


def zipf(items: list[str]) -> list[float]:
    return [1 / (i + 1) for i in range(len(items))]


def plan(rng: random.Random, now: datetime, days: int) -> tuple[datetime, str]:
    """When a submission was made and what became of it (by its age)."""
    # Busy weeks: a launch, a press day, the anniversary of the arrest.
    day = min(days - 1, int(rng.triangular(0, days, days * 0.8)))
    if rng.random() < 0.15:
        day = rng.choice([int(days * 0.1), int(days * 0.5), int(days * 0.9)])
    hour = int(rng.triangular(0, 24, 15))
    created = now - timedelta(days=days - day) + timedelta(hours=hour,
                                                           seconds=rng.randrange(3600))
    created = min(created, now - timedelta(minutes=5))
    age = now - created
    r = rng.random()
    if age < timedelta(hours=48) and r < 0.35:
        return created, "unconfirmed"
    if age > timedelta(days=3) and r < 0.06:
        return created, "cancelled"
    return created, "confirmed"


def letter_state(rng: random.Random, confirmed_at: datetime, now: datetime) -> str:
    if now - confirmed_at < timedelta(hours=2):
        return rng.choice(["queued", "held", "sent"])
    r = rng.random()
    return ("failed" if r < 0.01 else "held" if r < 0.02 else "needs_review" if r < 0.022
            else "sent")


def seed(n: int, days: int, rng: random.Random) -> dict[str, Any]:
    from sqlalchemy import func, insert, select, text

    from advocacy import clock
    from advocacy.extensions import db
    from advocacy.models import (
        Body,
        Campaign,
        Letter,
        LetterTemplate,
        Official,
        Submission,
        Supporter,
    )

    campaigns = [db.session.scalars(select(Campaign).where(Campaign.is_default)).one()]
    second = db.session.scalar(select(Campaign).where(Campaign.slug == "bench-second"))
    if second is None:
        second = Campaign(slug="bench-second", name="A second campaign", bodies=[])
        db.session.add(second)
        db.session.commit()
    campaigns.append(second)
    bodies = {b.slug: b for b in db.session.scalars(select(Body))}
    officials: dict[str, list[Official]] = {}
    for t in db.session.scalars(select(Official).where(Official.active)):
        slug = next(s for s, b in bodies.items() if b.id == t.body_id)
        officials.setdefault(slug if slug != "gov" else f"gov-{t.country}", []).append(t)
    template = {b: db.session.scalar(select(LetterTemplate.id)
                                     .where(LetterTemplate.body_id == bodies[b].id).limit(1))
                for b in BODIES}
    start = {m: int(db.session.scalar(select(func.max(m.id))) or 0) + 1
             for m in (Supporter, Submission, Letter)}
    now, run = clock.now(), uuid.uuid4().hex[:8]
    country_w, ref_w = zipf(COUNTRIES), zipf(REFS)
    body_names, body_w = list(BODIES), list(BODIES.values())
    supporters: list[dict[str, Any]] = []
    submissions: list[dict[str, Any]] = []
    letters: list[dict[str, Any]] = []
    made = sub_id = 0
    started = time.perf_counter()

    def flush() -> None:
        for model, rows in ((Supporter, supporters), (Submission, submissions),
                            (Letter, letters)):
            if rows:
                db.session.execute(insert(model), rows)
            rows.clear()
        db.session.commit()

    while made < n:
        country = rng.choices(COUNTRIES, country_w)[0]
        body = rng.choices(body_names, body_w)[0]
        to = officials.get(f"gov-{country}" if body == "gov" else body)
        if not to or template[body] is None:
            continue
        campaign = campaigns[0] if rng.random() < 0.9 else campaigns[1]
        created, fate = plan(rng, now, days)
        confirmed = created + timedelta(minutes=rng.randrange(2, 600))
        confirmed = min(confirmed, now) if fate == "confirmed" else None
        supporter_id = start[Supporter] + sub_id
        submission_id = start[Submission] + sub_id
        language = LANGUAGE.get(country, "en") if rng.random() < 0.8 else "en"
        supporters.append({"id": supporter_id, "email": f"seed-{run}-{sub_id}@example.org",
                           "created_at": created})
        submissions.append({
            "id": submission_id, "campaign_id": campaign.id, "supporter_id": supporter_id,
            "body_id": bodies[body].id, "target_country": country if body == "gov" else "",
            "name": f"Seed Supporter {sub_id}", "city": "Somewhere", "country": country,
            "language": language, "locale": language, "personal_note": "",
            "ref": rng.choices(REFS, ref_w)[0] if rng.random() < 0.25 else None,
            "consent_at": created, "created_at": created, "confirmation_sent_at": created,
            "confirmed_at": confirmed})
        for official in to[: n - made]:
            status = ("unconfirmed" if fate == "unconfirmed" else "cancelled"
                      if fate == "cancelled" else letter_state(rng, confirmed or now, now))
            sent = (min(now, (confirmed or now) + timedelta(seconds=rng.randrange(1, 7200)))
                    if status == "sent" else None)
            letters.append({
                "id": start[Letter] + made, "campaign_id": campaign.id,
                "submission_id": submission_id, "supporter_id": supporter_id,
                "target_id": official.id, "template_id": template[body], "status": status,
                "created_at": created, "queued_at": confirmed, "sent_at": sent,
                "attempts": 1 if sent or status == "failed" else 0,
                "last_error": ("550 5.1.1 mailbox unavailable" if status == "failed"
                               else None),
                "not_before": now + timedelta(hours=1) if status == "held" else None,
                "hold_reason": "limit" if status == "held" else None})
            made += 1
        sub_id += 1
        if len(letters) >= CHUNK:
            flush()
            print(f"\r{made:,} / {n:,} letters", end="", file=sys.stderr, flush=True)
    flush()
    print(file=sys.stderr)
    if db.engine.dialect.name == "postgresql":  # ids were chosen here: move the sequences on
        for table in ("supporter", "submission", "letter"):
            db.session.execute(text(  # the table names are the three constants above
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608
                f" (SELECT max(id) FROM {table}))"))
        db.session.commit()
    return {"letters": made, "submissions": sub_id,
            "insert_seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--letters", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    from sqlalchemy import text

    from advocacy import create_app
    from advocacy.campaigns.bootstrap import load_data, migrate_database, project_dir
    from advocacy.extensions import db
    from advocacy.reporting.rollup import roll_up

    url = args.database_url or f"sqlite:///{ROOT / 'instance' / 'bench-letters.sqlite'}"
    (ROOT / "instance").mkdir(exist_ok=True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        migrate_database()
        load_data(project_dir("targets"), project_dir("templates"))
        result = seed(args.letters, args.days, random.Random(args.seed))
        started = time.perf_counter()
        rolled = roll_up()
        result["rollup_seconds"] = round(time.perf_counter() - started, 1)
        result["rolled_up"] = rolled
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql"
                              else "ANALYZE"))
    print(json.dumps({"database": url.split(":")[0], **result}))


if __name__ == "__main__":
    main()
