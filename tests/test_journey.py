"""The supporter's journey beyond the form: live preview, own mail, consents, widget, languages."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.intake.consent import notice_version
from advocacy.models import Campaign, OwnMail, Submission

from helpers import (
    GOOD,
    SUPPORTER,
    give_the_coe_an_inbox,
    post,
    stored,
    submission,
    submit_and_confirm,
    work,
)

OWN = {"body": "un", "language": "en", "name": "Jonas Weber", "city": "Leipzig",
       "supporter_country": "DE", "personal_note": "Ich unterrichte Mathematik."}


def own_mail_rows() -> list[tuple[str, str, str | None]]:
    rows = db.session.execute(select(OwnMail.channel, OwnMail.language, OwnMail.ref))
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_the_live_preview_marks_the_locked_parts_and_places_the_paragraph(client: Any) -> None:
    reply = client.post("/preview", data={**OWN, "email": "jonas@example.org"})
    assert reply.status_code == 200
    part = reply.json
    assert part["has_note"] is True
    # The organizer's text is locked around the supporter's paragraph; the signature follows it.
    assert part["before"].startswith("Dear Madam Special Rapporteur,")  # Alice Jill Edwards
    assert "Azat" in part["before"]
    assert part["after"].startswith("Yours sincerely,") and "Jonas Weber" in part["after"]
    assert "Leipzig, Germany" in part["after"] and "Ich unterrichte" not in part["before"]
    assert "urgent-action@ohchr.org" in part["headers"] and "jonas@example.org" in part["headers"]
    assert "Jonas Weber via" in part["headers"] and "letters@campaign.test" in part["headers"]
    assert "Working Group on Arbitrary Detention" in part["officials"]
    assert 'value="gmail:un-wgad"' in part["own_mail"]
    assert stored() == (0, 0, 0)


def test_the_live_preview_escapes_what_is_typed(client: Any) -> None:
    part = client.post("/preview", data={**OWN, "name": "<img src=x onerror=alert(1)>",
                                         "email": "<img src=y onerror=alert(2)>"}).json
    assert "<img" not in part["headers"] and "&lt;img src=y" in part["headers"]
    # A name loses what a header cannot carry, as in the email the official gets.
    assert "img src=x onerror=alert1 via" in part["headers"]


def test_the_preview_speaks_the_letters_language_and_names_offices_in_it(client: Any) -> None:
    part = client.post("/preview?lang=fr", data={**OWN, "language": "fr",
                                                 "supporter_country": "FR"}).json
    assert "Groupe de travail sur la détention arbitraire" in part["officials"]
    assert "Leipzig, France" in part["after"]


@pytest.mark.parametrize(("channel", "start"), [
    ("gmail", "https://mail.google.com/mail/?"),
    ("outlook", "https://outlook.live.com/mail/0/deeplink/compose?"),
])
def test_own_mail_opens_a_filled_in_email_and_is_counted_apart(
    client: Any, channel: str, start: str
) -> None:
    reply = client.post("/own-mail", data={**OWN, "own_mail": f"{channel}:un-wgad",
                                           "ref": "amnesty-lyon"})
    assert reply.status_code == 303
    location = reply.headers["Location"]
    assert location.startswith(start)
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["to"] == "hrc-wg-ad@un.org"
    assert "Azat Miftakhov" in query.get("su", query.get("subject", ""))
    assert query["body"].startswith("Dear Members of the Working Group,")
    assert "Ich unterrichte Mathematik." in query["body"] and "Jonas Weber" in query["body"]
    assert own_mail_rows() == [(channel, "en", "amnesty-lyon")]
    assert stored() == (0, 0, 0)  # no supporter, no submission, no letter: nothing personal
    stats = client.get("/api/stats").json
    assert stats["own_mail"][channel] == 1 and stats["letters"]["sent"] == 0


def test_own_mail_by_mailto_is_rfc_6068(client: Any) -> None:
    reply = client.post("/own-mail", data={**OWN, "personal_note": "", "own_mail":
                                           "mailto:un-sr-torture"})
    location = reply.headers["Location"]
    assert location.startswith("mailto:urgent-action@ohchr.org?subject=")
    body = parse_qs(urlsplit(location).query)["body"][0]
    assert "\r\n" in body and "\n\n\n" not in body.replace("\r\n", "\n")


def test_copy_answers_the_letter_as_json_for_the_page_and_as_a_page_without_it(
    client: Any
) -> None:
    data = {**OWN, "own_mail": "copy:un-wgad"}
    letter = client.post("/own-mail", data=data, headers={"Accept": "application/json"}).json
    assert letter["to"] == "hrc-wg-ad@un.org" and "Ich unterrichte" in letter["body"]
    page = client.post("/own-mail", data=data).data.decode()
    assert 'id="copy-body"' in page and "Ich unterrichte Mathematik." in page
    assert [row[0] for row in own_mail_rows()] == ["copy", "copy"]


@pytest.mark.parametrize("own_mail", [
    "fax:un-wgad", "gmail:no-such-office", "gmail:coe-commissioner-human-rights", "gmail:",
    "", "gmail:un-high-commissioner-human-rights\r\nBcc: x@example.org",
])
def test_own_mail_refuses_what_it_cannot_open_and_counts_nothing(
    client: Any, own_mail: str
) -> None:
    reply = client.post("/own-mail", data={**OWN, "own_mail": own_mail})
    assert reply.status_code == 400
    assert own_mail_rows() == []


def test_consents_are_recorded_apart_with_the_notice_version(client: Any) -> None:
    assert client.post("/api/letters", json=submission(newsletter=True)).status_code == 202
    other = submission(supporter={"name": "Ana", "email": "ana@example.org", "city": "Porto",
                                  "country": "PT"})
    assert client.post("/api/letters", json=other).status_code == 202
    rows = db.session.execute(select(Submission.name, Submission.newsletter_at.is_not(None),
                                     Submission.privacy_version, Submission.consent_at.is_not(None))
                              .order_by(Submission.id)).all()
    assert [tuple(r) for r in rows] == [("Marie Dubois", True, "builtin-4-supporter", True),
                                        ("Ana", False, "builtin-4-supporter", True)]
    bad = client.post("/api/letters", json=submission(newsletter="yes"))
    assert bad.status_code == 422 and "newsletter" in bad.json["errors"]


def test_consent_to_the_campaigns_own_notice_records_that_notice(client: Any) -> None:
    campaign = db.session.scalar(select(Campaign).where(Campaign.is_default.is_(True)))
    campaign.privacy_notice = "Our own notice.\n\n" + "Kept for thirty days. " * 900
    db.session.commit()
    assert client.post("/api/letters", json=submission()).status_code == 202
    recorded = db.session.scalar(select(Submission.privacy_version))
    assert recorded == notice_version(campaign) and recorded.startswith("campaign-")
    campaign.privacy_notice = "Our own notice, changed."
    db.session.commit()
    other = submission(supporter={"name": "Ana", "email": "ana@example.org", "city": "Porto",
                                  "country": "PT"})
    assert client.post("/api/letters", json=other).status_code == 202
    versions = db.session.scalars(select(Submission.privacy_version).order_by(Submission.id))
    assert list(versions) == [recorded, notice_version(campaign)]
    assert notice_version(campaign) != recorded  # a new text, a new version


def test_the_form_records_the_newsletter_only_when_ticked(client: Any) -> None:

    assert post(client, newsletter="yes").status_code == 200
    assert post(client, email="other@example.org").status_code == 200
    flags = db.session.scalars(select(Submission.newsletter_at.is_not(None))
                               .order_by(Submission.id)).all()
    assert flags == [True, False]


def test_the_privacy_notice_is_on_the_form_and_on_its_page(client: Any) -> None:
    page = client.get("/").data.decode()
    assert "GDPR, Article 9(2)(a)" in page and 'id="newsletter"' in page
    notice = client.get("/privacy?lang=de").data.decode()
    assert "letters@campaign.test" in notice and "builtin-4-supporter" in notice
    assert "DSGVO" in notice
    # Every separate choice on the form is explained: being quoted, and the reply question
    # with the days the site is configured for.
    assert "Zitieren" in notice and "14 Tage nach der Zustellung" in notice


def test_the_supporters_language_carries_to_their_emails_and_pages(
    app: Any, client: Any, sink: Sink
) -> None:
    reply = client.post("/api/letters", json=submission(language="en"),
                        headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert reply.status_code == 202
    assert reply.json["next"].startswith("Bitte") or "Posteingang" in reply.json["next"]
    assert "Arbeitsgruppe" in " ".join(o["official"] for o in reply.json["officials"])
    work(app)
    mail = sink.received[0].message()
    assert "bestätigen" in mail["Subject"]
    text = mail.get_content()
    assert "Guten Tag Marie Dubois" in text and "Arbeitsgruppe" in text
    status = text.split("/status/", 1)[1].split()[0]
    assert status.endswith("?lang=de")
    page = client.get(f"/status/{status}").data.decode()
    assert "Wartet auf Ihre Bestätigung" in page and 'data-state="unconfirmed"' in page


def test_the_letter_to_the_official_names_the_office_in_the_letters_language(
    app: Any, client: Any, sink: Sink
) -> None:
    give_the_coe_an_inbox()
    data = submission(language="fr", body="coe")
    submit_and_confirm(app, client, sink, data)
    work(app)
    to_officials = [m.message() for m in sink.received if "Marie" in str(m.message()["From"])]
    assert to_officials
    assert any("Commissaire aux droits de l" in str(m["To"]) for m in to_officials)


def test_only_the_widget_may_be_framed(client: Any) -> None:
    page = client.get("/")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    widget = client.get("/widget?ref=amnesty-lyon&lang=fr")
    assert widget.status_code == 200 and "X-Frame-Options" not in widget.headers
    assert "frame-ancestors *;" in widget.headers["Content-Security-Policy"] + ";"
    text = widget.data.decode()
    assert 'name="csrf_token"' not in text and 'value="amnesty-lyon"' in text
    assert 'action="/widget?lang=fr"' in text
    assert client.get("/status/x").headers["Referrer-Policy"] == "same-origin"


def test_the_widget_takes_letters_without_a_session_and_credits_the_partner(
    client: Any
) -> None:
    form = {**GOOD, "ref": "amnesty-lyon"}
    reply = client.post("/widget", data=form)
    assert reply.status_code == 200 and "Check your inbox" in reply.data.decode()
    assert db.session.scalar(select(Submission.ref)) == "amnesty-lyon"
    assert client.post("/widget", data={**GOOD, "email": "x@example.org",
                                        "website": "spam"}).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 1


def test_the_embed_page_gives_the_snippet_with_this_sites_address(client: Any) -> None:
    page = client.get("/embed").data.decode()
    # The snippet names the campaign: it stays the same if another one goes on the home page.
    assert ('&lt;iframe id=&#34;advocacy-free-azat-miftakhov-your-organisation&#34;'
            ' src=&#34;http://campaign.test/c/free-azat-miftakhov/widget'
            '?ref=your-organisation') in page
    assert "e.origin===&#34;http://campaign.test&#34;" in page
    assert '"campaign": "free-azat-miftakhov"' in page
    assert "POST http://campaign.test/api/letters" in page


def test_the_preview_is_exactly_the_letter_the_official_receives(
    app: Any, client: Any, sink: Sink
) -> None:

    give_the_coe_an_inbox()
    data = submission(language="fr", body="coe")
    submit_and_confirm(app, client, sink, data)
    work(app)
    form = {"body": "coe", "language": "fr", "name": SUPPORTER["name"],
            "city": SUPPORTER["city"], "supporter_country": SUPPORTER["country"],
            "email": SUPPORTER["email"]}
    part = client.post("/preview", data=form).json
    shown = f"{part['before']}\n\n{data['personal_note']}\n\n{part['after']}\n"
    to = re.search(r"&lt;([^&]+)&gt;", part["headers"]).group(1)  # type: ignore[union-attr]
    [received] = [m.message() for m in sink.received if m.rcpt_tos == [to]]
    # The office's own link is signed for the office alone: the preview, public, shows its
    # place, never the link.
    got = re.sub(r"/office/[^?\s]+", "/office/…", received.get_content().replace("\r\n", "\n"))
    assert got == shown
    assert "/office/…" in shown
    subject = re.search(r'class="subject">([^<]+)<', part["headers"]).group(1)  # type: ignore[union-attr]
    # The preview shows the letter's first subject; the letter, once it has an id, takes one
    # of its subjects by that id (test_composer holds them to the preview's list).
    assert str(received["Subject"]).startswith("Azat Miftakhov")
    assert html.unescape(subject).startswith("Azat Miftakhov")
