"""The hand-over dossier (issue 20): the campaign and partners first, what the letters ask,
where they came from, the share in the writers' own words with a few quoted (only with their
consent, initials and city only), and the verification appendix last; in the office's
language. And the consent to be quoted, asked apart on the form and the JSON API."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from advocacy.extensions import db
from advocacy.models import Letter, Partner, Submission

from helpers import GOOD, PEOPLE, csrf_token, log_in, seed_queued, send

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
QUOTED = "My students asked me what a mathematician can do for another one. This letter."
UNQUOTED = "I keep his photo on my desk and write to him every month."


def words(submission_ids: list[int], note: str, quote: bool, name: str, city: str) -> None:
    for sid in submission_ids:
        row = db.session.get(Submission, sid)
        assert row is not None
        row.personal_note, row.personalised, row.name, row.city = note, True, name, city
        row.quote_at = NOW if quote else None
    db.session.commit()


def test_the_dossier_puts_the_case_first_and_quotes_only_who_agreed(app: Any, people: Any) -> None:
    db.session.add(Partner(name="Amnesty Lyon", ref="amnesty-lyon"))
    ids = seed_queued(4, "un")
    send(ids[:4], NOW - timedelta(days=2), "FR")
    send(ids[4:], NOW - timedelta(days=1), "DE")
    subs = sorted({s for s in db.session.scalars(
        select(Letter.submission_id).where(Letter.id.in_(ids)))})
    words(subs[:1], QUOTED, True, "Marie-Claire Dupont", "Lyon")
    words(subs[1:2], UNQUOTED, False, "Paul Martin", "Nantes")
    db.session.execute(update(Submission).where(Submission.id.in_(subs[:2]))
                       .values(ref="amnesty-lyon", language="fr"))
    db.session.commit()
    client = app.test_client()
    log_in(client, PEOPLE["viewer"])
    page = html.unescape(client.get("/admin/report?body=un", buffered=True).data.decode())
    head, _sep, appendix = page.partition('id="report-appendix"')
    assert "8 letters from 2 countries" in head
    assert "Amnesty Lyon" in head.split("</header>")[0]  # the partners, in the header
    # What is asked, per office, from the letters' own ask paragraphs.
    asks = head.split('id="report-asks"')[1].split("</section>")[0]
    assert asks.count("<dt>") >= 2 and "<dd>" in asks
    counts = head.split('id="report-counts"')[1].split("</section>")[0]
    assert "France" in counts and "Germany" in counts and "French" in counts
    # Quoted: the one who agreed, as "M. C. D., Lyon"; never a name, never the other one.
    assert QUOTED in head and "M. C. D., Lyon" in head
    assert UNQUOTED not in page and "Marie-Claire" not in page and "Paul Martin" not in page
    # The verification appendix comes last, with every letter.
    assert "Appendix" in appendix and appendix.count('class="mono hash"') == 8
    # In the office's language.
    fr = html.unescape(client.get("/admin/report?body=un&lang=fr", buffered=True).data.decode())
    assert "Lettres adressées à" in fr and "8 lettres de 2 pays" in fr
    assert "Ce que demandent les lettres" in fr
    assert "Annexe : vérifier le décompte" in fr and "Allemagne" in fr


def test_a_scrubbed_paragraph_is_never_quoted(app: Any, people: Any) -> None:
    ids = seed_queued(1, "un")
    send(ids, NOW, "FR")
    sid = db.session.scalar(select(Letter.submission_id).where(Letter.id == ids[0]))
    assert sid is not None
    words([sid], QUOTED, True, "Ada Lovelace", "London")
    db.session.execute(update(Submission).where(Submission.id == sid).values(scrubbed_at=NOW))
    db.session.commit()
    client = app.test_client()
    log_in(client, PEOPLE["viewer"])
    assert QUOTED not in client.get("/admin/report?body=un", buffered=True).data.decode()


def test_the_consent_to_be_quoted_is_asked_apart_and_stored_with_a_paragraph_only(
        client: Any) -> None:
    page = client.get("/").data.decode()
    box = page.split('id="quote"')[1].split(">")[0]
    assert "checked" not in box  # never ticked for the supporter
    form = {**GOOD, "csrf_token": csrf_token(client.get("/").data), "quote": "yes"}
    assert client.post("/", data=form).status_code == 200
    assert db.session.scalar(select(Submission.quote_at)) is not None
    # Nothing to quote without a paragraph: no consent recorded.
    form = {**form, "email": "nobody-quoted@example.org", "personal_note": ""}
    assert client.post("/", data=form).status_code == 200
    rows = db.session.execute(select(Submission.personal_note, Submission.quote_at)
                              .order_by(Submission.id)).all()
    assert len(rows) == 2 and rows[1].quote_at is None
    # The JSON API takes it as a boolean, and says so otherwise.
    reply = client.post("/api/letters", json={
        "body": "un", "language": "en", "consent": True, "quote": "yes",
        "supporter": {"name": "A B", "email": "ab@example.org", "city": "Rome", "country": "IT"}})
    assert reply.status_code == 422 and "quote" in reply.get_json()["errors"]
