"""The dashboard: rolled-up counts equal a plain count, filters, CSV exports, retrying failures."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from advocacy.extensions import db
from advocacy.models import (
    Body,
    Campaign,
    LatencyCount,
    Letter,
    LetterStatus,
    Official,
    OwnMail,
    Submission,
    SubmissionCount,
)
from advocacy.reporting import dashboard
from advocacy.reporting.dashboard import Filters
from advocacy.reporting.rollup import Watermark, mark, roll_up, steady
from advocacy.reporting.stats import letter_stats

from helpers import (
    NOW,
    PEOPLE,
    agree_under_every_filter,
    counted,
    csrf,
    elsewhere,
    every_filter,
    give_the_coe_an_inbox,
    log_in,
    seed_queued,
    send,
    statements,
    work,
)


def test_rolled_up_and_recent_letters_add_up_to_a_plain_count(app: Any) -> None:
    old = seed_queued(4, "un")  # 8 letters: 4 supporters to the 2 UN offices
    db.session.execute(update(Submission).where(Submission.id.in_(
        select(Letter.submission_id).where(Letter.id == old[0]))).values(ref="memorial"))
    send(old[:4], NOW - timedelta(days=3), "FR")
    send(old[4:], NOW - timedelta(days=1, hours=2), "DE")
    coe, moved = elsewhere()  # one of each before the watermark, the other since
    send([coe[0], moved[0]], NOW - timedelta(days=1), "FR")
    assert roll_up(NOW) == 8 + 2
    assert mark() == NOW.replace(minute=0)
    assert roll_up(NOW) == 0  # nothing new: nothing counted twice
    recent = seed_queued(3, "un")
    send(recent + [coe[1], moved[1]], NOW, "FR")  # after the watermark: counted live
    agree_under_every_filter()
    # 10 rolled up, 6 + 2 counted live; 2 of them to the CoE.
    assert sum(dashboard.sent_by("day", Filters()).values()) == 18
    assert letter_stats()["letters"]["sent"] == 18
    assert letter_stats()["by_body"]["un"]["sent"] == 16
    assert letter_stats()["by_body"]["coe"]["sent"] == 2
    # A worker that stamped sent_at before the watermark but committed after it (a slow
    # relay): its letter is counted at the next run, which recounts the day before.
    late = seed_queued(1, "un")
    send(late[:1], NOW - timedelta(hours=2), "FR")
    assert sum(dashboard.sent_by("day", Filters()).values()) == 18  # not yet
    # An hour later the recent ones are rolled up too, and the late one is found.
    assert roll_up(NOW + timedelta(hours=2)) >= 8 + 1
    assert sum(dashboard.sent_by("day", Filters()).values()) == 19
    assert roll_up(NOW + timedelta(hours=2)) == 0  # nothing counted twice
    agree_under_every_filter()
    rows = db.session.execute(text("SELECT count(*) FROM sent_count")).scalar()
    # Sums, not a row per letter: a row per letter would be 10 for each of the 19 letters
    # (5 dimensions, per country and summed over countries).
    assert rows and rows < 10 * 19


def test_the_small_states_and_the_confirmation_rate(app: Any) -> None:
    ids = seed_queued(3, "un")
    send(ids[:2], NOW - timedelta(hours=5))
    db.session.execute(update(Letter).where(Letter.id == ids[2])
                       .values(status=LetterStatus.FAILED, last_error="550 no such user"))
    db.session.commit()
    roll_up(NOW)
    states = dashboard.state_counts(Filters())
    assert states["sent"] == 2 and states["failed"] == 1 and states["queued"] == 3
    assert dashboard.confirmation_rate(Filters()) == (3, 3)


def confirmations_counted(filters: Filters) -> tuple[int, int]:
    """(confirmed, submitted) counted in Python over the submissions."""
    confirmed = submitted = 0
    for made, confirmed_at, campaign, body, country in db.session.execute(select(
            Submission.created_at, Submission.confirmed_at, Submission.campaign_id,
            Submission.body_id, Submission.country)):
        day = made.astimezone(UTC).date()
        if ((filters.campaign_id is None or campaign == filters.campaign_id)
                and (filters.body_id is None or body == filters.body_id)
                and (not filters.country or country == filters.country)
                and (not filters.start or day >= filters.start)
                and (not filters.end or day <= filters.end)):
            submitted += 1
            confirmed += confirmed_at is not None
    return confirmed, submitted


def made(supporters: int, at: datetime, confirmed: datetime | None, country: str = "FR",
         body: str = "un") -> list[int]:
    """Submissions made at a time, confirmed at another (or not); their ids."""
    ids = list(db.session.scalars(select(Letter.submission_id).distinct().where(
        Letter.id.in_(seed_queued(supporters, body)))))
    db.session.execute(update(Submission).where(Submission.id.in_(ids)).values(
        created_at=at, confirmed_at=confirmed, country=country))
    db.session.commit()
    return ids


def test_the_confirmation_rate_adds_up_across_the_watermark(app: Any) -> None:
    def agree() -> None:
        for filters in every_filter():
            assert dashboard.confirmation_rate(filters) == confirmations_counted(filters), filters

    made(2, NOW - timedelta(days=3), NOW - timedelta(days=3))
    waiting = made(1, NOW - timedelta(days=3), None, "DE")
    give_the_coe_an_inbox()
    made(1, NOW - timedelta(days=1), None, "DE", "coe")
    made(1, NOW - timedelta(days=1), NOW - timedelta(hours=3), "DE")
    agree()  # nothing rolled up yet: all counted from the submissions
    roll_up(NOW)
    assert db.session.scalar(select(func.sum(SubmissionCount.submitted))) == 5
    agree()
    # Confirmed after the watermark, three days after it was made.
    db.session.execute(update(Submission).where(Submission.id.in_(waiting))
                       .values(confirmed_at=NOW))
    db.session.commit()
    agree()
    made(1, NOW, NOW)  # made since the watermark
    made(1, NOW, None, "DE")
    agree()
    assert dashboard.confirmation_rate(Filters()) == (5, 7)
    # Rolled up again: the day confirmed since is counted anew, the new ones are in.
    roll_up(NOW + timedelta(hours=2))
    assert db.session.scalar(select(func.sum(SubmissionCount.confirmed))) == 5
    agree()


def test_the_overview_filters_and_exports(app: Any, people: Any) -> None:
    ids = seed_queued(2, "un")
    send(ids[:2], NOW - timedelta(days=2), "FR")
    send(ids[2:], NOW - timedelta(days=2), "DE")
    roll_up(NOW)
    client = app.test_client()
    log_in(client, PEOPLE["viewer"])
    page = client.get("/admin/").data.decode()
    assert 'id="chart-day"' in page and "<rect" in page
    assert "Sent per supporter country" in page
    filtered = client.get("/admin/?country=DE").data.decode()
    # Countries by name, not code; the filter is chosen from a list of names.
    assert ">France<" in page.split('id="table-country"')[1]
    assert ">France<" not in filtered.split('id="table-country"')[1]
    assert '<option value="DE" selected>Germany</option>' in filtered
    # A name typed into a link counts too; a name of no country is said, not ignored.
    by_name = client.get("/admin/?country=Germany").data.decode()
    assert by_name.split('id="table-country"')[1] == filtered.split('id="table-country"')[1]
    unknown = client.get("/admin/?country=Atlantis").data.decode()
    assert "No country is called “Atlantis”" in unknown
    assert ">France<" in unknown.split('id="table-country"')[1]
    for view in dashboard.VIEWS:
        reply = client.get(f"/admin/export.csv?view={view}", buffered=True)
        assert reply.status_code == 200 and reply.mimetype == "text/csv"
        rows = list(csv.reader(io.StringIO(reply.data.decode())))
        assert rows[0] == [view, "letters"]
        assert sum(int(n) for _, n in rows[1:]) == (4 if view != "hour" else
                                                    sum(int(n) for _, n in rows[1:]))
    reply = client.get("/admin/export.csv?view=letters&country=DE", buffered=True)
    rows = list(csv.DictReader(io.StringIO(reply.data.decode())))
    assert {r["letter"] for r in rows} == {str(i) for i in ids[2:]}
    assert all(r["supporter_country"] == "DE" and "@" not in str(r) for r in rows)
    assert client.get("/admin/export.csv?view=nope").status_code == 404


def test_own_mail_counts_follow_the_filters_they_can(app: Any, people: Any) -> None:
    from advocacy.intake.own_mail import record
    from advocacy.reporting.own_mail import own_mail_counts

    default = db.session.scalars(select(Campaign).where(Campaign.is_default)).one()
    other = Campaign(slug="other", name="Another campaign", bodies=[])
    db.session.add(other)
    un, coe = (db.session.scalars(select(Official).join(Body).where(Body.slug == slug)).first()
               for slug in ("un", "coe"))
    assert un is not None and coe is not None
    record(default, un, "mailto", "en", None)
    record(default, coe, "gmail", "fr", "memorial")
    record(other, un, "mailto", "en", None)
    db.session.execute(update(OwnMail).where(OwnMail.channel == "gmail")
                       .values(created_at=NOW - timedelta(days=3)))
    db.session.commit()
    coe_id = coe.body_id
    for filters, expected in [
            (Filters(), {"mailto": 2, "gmail": 1}),
            (Filters(campaign_id=default.id), {"mailto": 1, "gmail": 1}),
            (Filters(body_id=coe_id), {"gmail": 1}),
            (Filters(start=(NOW - timedelta(days=1)).date()), {"mailto": 2}),
            (Filters(end=(NOW - timedelta(days=2)).date()), {"gmail": 1}),
            (Filters(country="DE"), {"mailto": 2, "gmail": 1})]:  # no country is kept
        assert own_mail_counts(filters) == {"mailto": 0, "gmail": 0, "outlook": 0, "copy": 0,
                                            **expected}, filters
    client = app.test_client()
    log_in(client, PEOPLE["viewer"])
    own = client.get("/admin/?body=coe").data.decode().split('id="own-mail"')[1].split("</p>")[0]
    assert "mailto 0, gmail 1" in own and "country" not in own
    page = client.get("/admin/?country=DE").data.decode()
    assert "the supporter's country cannot" in page.split('id="own-mail"')[1].split("</p>")[0]
    # Days are UTC days, and the page says so.
    assert "Sent per day (UTC)" in page and '<th scope="col">Day (UTC)</th>' in page
    assert '<th scope="col">Hour (UTC)</th>' in page


def test_an_editor_retries_failed_letters_with_a_reason(app: Any, people: Any) -> None:
    ids = seed_queued(1, "un")
    db.session.execute(update(Letter).where(Letter.id.in_(ids))
                       .values(status=LetterStatus.FAILED, last_error="421 try later"))
    db.session.commit()
    client = app.test_client()
    log_in(client, PEOPLE["editor"])
    assert "421 try later" in client.get("/admin/").data.decode()
    token = csrf(client, "/admin/")
    client.post("/admin/failures/retry", data={"letter": ids, "reason": "", "csrf_token": token})
    assert db.session.scalar(select(Letter.status).where(Letter.id == ids[0])) == "failed"
    reply = client.post("/admin/failures/retry", data={
        "letter": ids, "reason": "the relay is back", "csrf_token": token})
    assert reply.status_code == 302
    db.session.expire_all()
    assert set(db.session.scalars(select(Letter.status).where(Letter.id.in_(ids)))) == {"queued"}


def test_the_badge_counts_letters_delivered_in_the_readers_language(app: Any,
                                                                      client: Any) -> None:
    send(seed_queued(1, "un"), NOW - timedelta(hours=1))
    reply = client.get("/badge.svg?lang=fr")
    assert reply.status_code == 200 and reply.mimetype == "image/svg+xml"
    svg = reply.data.decode()
    assert "Lettres remises jusqu" in svg and ">2</text>" in svg
    assert "frame-ancestors *;" in reply.headers["Content-Security-Policy"] + ";"
    assert "X-Frame-Options" not in reply.headers
    assert client.get("/badge.svg?campaign=nope").status_code == 404


def test_the_hand_over_report_lists_each_letter_by_message_id_and_hash(
    app: Any, people: Any
) -> None:
    ids = seed_queued(3, "un")
    send(ids[:4], NOW - timedelta(days=2), "FR")
    send(ids[4:], NOW - timedelta(days=1), "DE")
    wgad = db.session.scalar(select(Official.id).where(Official.key == "un-wgad"))
    to_wgad = db.session.scalars(select(Letter.id).where(Letter.id.in_(ids),
                                                         Letter.target_id == wgad)).all()
    client = app.test_client()
    log_in(client, PEOPLE["viewer"])
    assert "Make the report" in client.get("/admin/report").data.decode()
    page = client.get("/admin/report?official=un-wgad", buffered=True).data.decode()
    assert "3 letters from 2 countries" in page
    for letter_id in to_wgad:
        assert f"&lt;letter-{letter_id}@campaign.test&gt;" in page
    assert len(re.findall(r'class="mono hash">[0-9a-f]{64}<', page)) == 3
    whole = client.get("/admin/report?body=un", buffered=True).data.decode()
    assert "6 letters from 2 countries" in whole
    day = (NOW - timedelta(days=1)).date().isoformat()
    assert "1 letter from 1 country" in client.get(
        f"/admin/report?official=un-wgad&from={day}&to={day}", buffered=True).data.decode()


def test_metrics_answer_loopback_or_the_token_with_the_same_numbers(app: Any,
                                                                    client: Any) -> None:
    ids = seed_queued(1, "un")
    send(ids[:1], NOW - timedelta(minutes=10))
    text_ = client.get("/metrics").data.decode()
    assert 'advocacy_letters{campaign="free-azat-miftakhov",state="sent"} 1.0' in text_
    assert 'advocacy_letters{campaign="free-azat-miftakhov",state="queued"} 1.0' in text_
    assert "advocacy_queue_depth" in text_ and "advocacy_oldest_queued_seconds" in text_
    assert 'advocacy_send_latency_seconds_count{campaign="free-azat-miftakhov"} 1.0' in text_
    away = {"REMOTE_ADDR": "192.0.2.7"}
    assert client.get("/metrics", environ_base=away).status_code == 404
    app.config["METRICS_TOKEN"] = "s3cret-token-for-the-scraper"
    assert client.get("/metrics", environ_base=away).status_code == 401
    assert client.get("/metrics", environ_base=away, headers={
        "Authorization": "Bearer s3cret-token-for-the-scraper"}).status_code == 200


def latency_samples(client: Any) -> dict[str, float]:
    """The default campaign's send-latency histogram in /metrics: {"le=60.0": n, "count": n,
    "sum": s}, read with Prometheus' own parser."""
    from prometheus_client.parser import text_string_to_metric_families

    families = text_string_to_metric_families(client.get("/metrics").data.decode())
    family = next(f for f in families if f.name == "advocacy_send_latency_seconds")
    assert family.type == "histogram"
    return {(f"le={s.labels['le']}" if "le" in s.labels else s.name.rsplit("_", 1)[1]): s.value
            for s in family.samples if s.labels["campaign"] == "free-azat-miftakhov"}


def waited(ids: list[int], waits: list[float], earlier: timedelta = timedelta()) -> None:
    """Give delivered letters these waits from confirmation to sent (sent `earlier` too)."""
    for letter_id, wait in zip(ids, waits, strict=True):
        sent = db.session.scalar(select(Letter.sent_at).where(Letter.id == letter_id))
        assert sent is not None
        db.session.execute(update(Letter).where(Letter.id == letter_id).values(
            sent_at=sent - earlier, queued_at=sent - earlier - timedelta(seconds=wait)))
    db.session.commit()


def test_the_send_latency_histogram_counts_every_delivered_letter(app: Any,
                                                                   client: Any) -> None:
    from advocacy.delivery.queue import enqueue_letters

    first = seed_queued(2, "un")
    enqueue_letters(first)
    work(app)
    db.session.expire_all()
    assert set(db.session.scalars(select(Letter.status).where(Letter.id.in_(first)))) == {"sent"}
    waited(first, [0.5, 0.5, 30, 7200], earlier=timedelta(hours=3))
    expected = {"le=1.0": 2, "le=5.0": 2, "le=15.0": 2, "le=60.0": 3, "le=3600.0": 3,
                "le=14400.0": 4, "le=259200.0": 4, "le=+Inf": 4, "count": 4}
    samples = latency_samples(client)
    assert {k: samples[k] for k in expected} == expected
    assert samples["sum"] == pytest.approx(7231, abs=0.01)
    roll_up()  # those four are counted in the rollup now, and the same in /metrics
    assert db.session.scalar(select(func.sum(LatencyCount.letters))) == 4
    assert latency_samples(client) == samples
    later = seed_queued(1, "un")  # sent after the watermark: counted from the letters
    enqueue_letters(later)
    work(app)
    waited(later, [100_000, 400_000])
    samples = latency_samples(client)
    expected.update({"le=259200.0": 5, "le=+Inf": 6, "count": 6})
    assert {k: samples[k] for k in expected} == expected
    assert samples["sum"] == pytest.approx(507_231, abs=0.01)


def test_advocacy_stats_prints_the_dashboards_numbers(app: Any, runner: Any) -> None:
    send(seed_queued(1, "un")[:1], NOW - timedelta(hours=3))
    result = runner.invoke(args=["stats"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["letters"]["sent"] == 1 and printed["letters"]["queued"] == 1
    assert printed["confirmation"] == {"confirmed": 1, "submitted": 1}
    assert printed["own_mail"]["mailto"] == 0 and "depth" in printed["queue"]


def test_the_workers_logs_are_json_lines_of_ids_and_counts(app: Any, capsys: Any) -> None:
    import logging

    from advocacy import logs
    from advocacy.delivery.jobs import deliver_letters

    handler = logs.configure()
    try:
        assert logs.configure() is None  # once
        seed = seed_queued(2, "un")
        deliver_letters(seed)
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()
                 if line.startswith("{")]
        batch = next(line for line in lines if line.get("event") == "batch")
        assert batch["letters"] == 4 and batch["sent"] == 4 and batch["level"] == "info"
        assert "@" not in json.dumps(lines) and "Supporter" not in json.dumps(lines)
    finally:
        logger = logging.getLogger("advocacy")
        logger.removeHandler(handler)  # type: ignore[arg-type]
        logger.propagate = True


def test_advocacy_export_writes_every_sent_letter(app: Any, runner: Any, tmp_path: Any) -> None:
    ids = seed_queued(2, "un")
    send(ids[:3], NOW - timedelta(days=1))
    out = tmp_path / "letters.csv"
    result = runner.invoke(args=["export-letters", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(newline="")))
    assert sorted(int(r["letter"]) for r in rows) == sorted(ids[:3])
    unknown = runner.invoke(args=["export-letters", "-o", str(out), "--campaign", "nope"])
    assert unknown.exit_code != 0


# Cells a spreadsheet would run: ASCII and full-width formula signs, control characters, and
# a separator first (`;` splits cells in spreadsheets set to some languages).
FORMULAS = ["=1+1", "+1", "-1", "@SUM(1)", "\t=1", "\r=1", "\n=1", "\x00=1", "＝1+1", "＋1",
            "－1", "＠SUM(1)", "﹦1", ";=1+1", ",=1+1", "; =1", "；＝1", " =1", "|=1"]


@pytest.mark.parametrize("cell", FORMULAS)
def test_the_guard_makes_every_formula_inert(cell: str) -> None:
    from advocacy.csv_safety import inert

    assert inert(cell) == "'" + cell
    for harmless in ("Secretary-General", "a=b", "x;=1", "", "12"):
        assert inert(harmless) == harmless
    assert inert(-1) == -1  # numbers are numbers


def exported_cells(text: str) -> list[list[str]]:
    """Every cell of a CSV, each line checked to quote all its cells."""
    for line in text.splitlines():
        assert line.startswith('"') and line.endswith('"'), line
    return list(csv.reader(io.StringIO(text)))


def test_no_exported_cell_runs_as_a_formula(app: Any, people: Any,
                                            runner: Any, tmp_path: Any) -> None:
    """Names typed (or imported) by organizers reach every CSV as text, in the admin's exports
    and the command line's."""
    ids = seed_queued(1, "un")
    send(ids, NOW - timedelta(days=1))
    officials = db.session.scalars(select(Official).where(Official.id.in_(
        select(Letter.target_id).where(Letter.id.in_(ids)))).order_by(Official.id)).all()
    hostile = {t.id: (key, office) for t, key, office in zip(
        officials, (";=HYPERLINK(1)", "＠SUM(1)"), ("＝cmd|' /C calc'!A0", "\t=1+1"), strict=False)}
    for official in officials:
        official.key, official.office = hostile[official.id]
    db.session.scalars(select(Body).where(Body.slug == "un")).one().name = ";=2+3"
    db.session.commit()
    roll_up(NOW)
    client = app.test_client()
    log_in(client, PEOPLE["viewer"])
    keys = {key for key, _ in hostile.values()}
    letters = exported_cells(client.get("/admin/export.csv?view=letters", buffered=True)
                             .data.decode())
    assert {row[2] for row in letters[1:]} == {"'" + key for key in keys}
    offices = exported_cells(client.get("/admin/export.csv?view=target", buffered=True)
                             .data.decode())
    assert {row[0] for row in offices[1:]} == {f"'{office} ({key})"
                                                for key, office in hostile.values()}
    bodies = exported_cells(client.get("/admin/export.csv?view=body", buffered=True)
                            .data.decode())
    assert [row[0] for row in bodies[1:]] == ["';=2+3 (un)"]
    out = tmp_path / "letters.csv"
    assert runner.invoke(args=["export-letters", "-o", str(out)]).exit_code == 0
    command_line = exported_cells(out.read_text())
    assert {row[2] for row in command_line[1:]} == {"'" + key for key in keys}


def test_figures_stand_on_one_watermark_even_if_a_roll_up_commits_meanwhile(app: Any) -> None:
    ids = seed_queued(3, "un")
    send(ids[:2], NOW - timedelta(days=2))
    roll_up(NOW)
    send(ids[2:], NOW + timedelta(minutes=10))  # since the watermark: counted live
    truth = counted("day", Filters())
    passes: list[Watermark] = []

    def figures(at: Watermark) -> dict[Any, int]:
        if not passes:  # a worker's hourly roll-up commits after the page read the mark
            assert roll_up(NOW + timedelta(hours=2)) == 4
        passes.append(at)
        return dashboard.sent_by("day", Filters(), at)

    assert steady(figures) == truth
    assert len(passes) == 2 and passes[1] != passes[0]
    # What the first pass saw: the new rollup's hour and the same letters since the old mark.
    assert sum(dashboard.sent_by("day", Filters(), passes[0]).values()) == 6 + 4
    assert sum(truth.values()) == 6


def without_token(page: str) -> str:
    """A page without its form's CSRF token (signed afresh on every answer)."""
    return re.sub(r'name="csrf_token" value="[^"]+"', "", page)


def test_a_dashboard_page_keeps_the_rollups_sums_between_requests(app: Any,
                                                                  people: Any) -> None:
    ids = seed_queued(2, "un")
    send(ids[:2], NOW - timedelta(days=2), "FR")
    roll_up(NOW)
    send(ids[2:], NOW - timedelta(minutes=10), "DE")
    client = app.test_client()
    log_in(client, PEOPLE["viewer"])
    for path in ("/admin/", "/admin/?country=DE", "/admin/?body=un&from=2000-01-01"):
        passes: list[tuple[list[str], str]] = []
        for _ in range(2):  # the rollup's sums computed, then kept
            with statements() as seen:
                page = client.get(path)
            assert page.status_code == 200
            passes.append((seen, without_token(page.data.decode())))
        (computed, first), (kept, again) = passes
        assert again == first, path  # the kept sums show the same figures...
        assert len(kept) < len(computed), (path, computed, kept)  # ...without summing again
        # At most: no figure read once per row (the complaints alert reads one more; the
        # headline's week, the waiting letters and the offices' alerts five more; the share
        # of letters in supporters' own words one more; the offices' reply rates one more;
        # what offices asked for through their letters' link, issue 19, one more; the
        # follow-up letters waiting for a decision, one more).
        assert len(kept) <= 37, (path, kept)


def test_metrics_take_as_many_queries_for_many_campaigns_as_for_two(app: Any,
                                                                   client: Any) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    other = Campaign(slug="other", name="Another campaign", bodies=[])
    db.session.add(other)
    db.session.commit()
    ids = seed_queued(3, "un")
    db.session.execute(update(Letter).where(Letter.id.in_(ids[3:])).values(campaign_id=other.id))
    db.session.commit()
    # Each campaign has letters sent before the watermark and since; the other one queued.
    send(ids[:2] + ids[3:4], NOW - timedelta(days=2))
    roll_up(NOW)
    send([ids[2], ids[4]], NOW - timedelta(minutes=10))

    def scrape() -> tuple[list[str], str]:
        scrape_once()  # the rollup's sums are computed once, then kept until the mark moves
        return scrape_once()

    def scrape_once() -> tuple[list[str], str]:
        with statements() as seen:
            reply = client.get("/metrics")
        assert reply.status_code == 200
        return seen, reply.data.decode()

    two, text_ = scrape()
    letters = next(f for f in text_string_to_metric_families(text_)
                   if f.name == "advocacy_letters")
    scraped = {(s.labels["campaign"], s.labels["state"]): s.value for s in letters.samples}
    for campaign in db.session.scalars(select(Campaign)):  # each campaign's own count
        for state, n in letter_stats(campaign)["letters"].items():
            assert scraped[(campaign.slug, state)] == n, (campaign.slug, state)
    assert scraped[("other", "sent")] == 2 and scraped[("other", "queued")] == 1
    assert scraped[("free-azat-miftakhov", "sent")] == 3
    db.session.add_all([Campaign(slug=f"more-{n}", name=f"Campaign {n}", bodies=[])
                        for n in range(3)])
    db.session.commit()
    many, text_ = scrape()
    assert len(many) == len(two), (two, many)
    assert 'advocacy_letters{campaign="more-2",state="sent"} 0.0' in text_
