"""One composer: what the supporter's preview shows is what the official receives.

For every shipped office and every language with a letter for its body, a supporter writes
through the public API, confirms, and the worker sends to the SMTP sink; the delivered .eml
must carry the preview's To, From, Reply-To and text, and a subject the preview listed (the
letter's id picks one; the composer, given that letter, names exactly the delivered one).
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select

from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.letters.compose import PREVIEW_TOKEN, composed, load
from advocacy.models import Body, Campaign, Letter, LetterTemplate, Official, Submission
from advocacy.officials.choose import choose_officials
from advocacy.public import _placeholders, letter_form

from helpers import mailbox_as_read, work

NOTE = "I teach mathematics in Lyon; Ça va, «mes amis»."


def _groups() -> list[tuple[Body, str, str]]:
    """(body, government's country or "", language) for every letter a supporter can write."""
    groups = []
    for template in db.session.scalars(select(LetterTemplate).order_by(LetterTemplate.id)):
        body = db.session.get_one(Body, template.body_id)
        countries = [""] if body.slug != "gov" else sorted(set(db.session.scalars(
            select(Official.country).where(Official.body_id == body.id,
                                           Official.active.is_(True)))))
        groups += [(body, country, template.language) for country in countries
                   if any(t.email for t in choose_officials(body, country))]
    return sorted(set(groups), key=lambda g: (g[0].slug, g[1], g[2]))


def _confirm_link(sink: Sink, email: str) -> str:
    [mail] = [m for m in sink.received if m.rcpt_tos == [email.lower()]
              and "/confirm/" in m.message().get_content()]
    match = re.search(r"https?://[^/\s]+(/confirm/\S+)", mail.message().get_content())
    assert match
    return match.group(1).split("?")[0]


def _as_previewed(body: str) -> str:
    """A sent letter's text with its office link's token as the preview shows it: the preview
    holds no working link for the office (issue 19), every other character is the same."""
    text, count = re.subn(r"(/office/)[A-Za-z0-9_.\-]+(\?lang=)", rf"\g<1>{PREVIEW_TOKEN}\g<2>",
                          body)
    assert count == 1, body
    return text


def _pair(msg: EmailMessage, header: str) -> tuple[str, str]:
    [address] = msg[header].addresses
    return (address.display_name, address.addr_spec)


def test_the_preview_is_the_delivered_letter_for_every_office_and_language(
    app: Any, client: Any, sink: Sink,
) -> None:
    campaign = db.session.scalars(select(Campaign).where(Campaign.is_default.is_(True))).one()
    for template in db.session.scalars(select(LetterTemplate)):  # a subject picked by id
        template.subject_variants = [f"{{{{ official.office }}}}: {template.subject}",
                                     f"{{{{ supporter.name }}}} ({template.language})"]
    db.session.commit()
    previews: dict[tuple[str, str], dict[str, Any]] = {}  # (supporter email, office key)
    groups = _groups()
    # Groups with an office that takes email (the UN's addressed inboxes take case
    # submissions only; the other offices are reached by form or post).
    assert len({g[0].slug for g in groups}) >= 2 and len({g[2] for g in groups}) >= 2
    for n, (body, country, language) in enumerate(groups):
        email = f"writer{n}@example.org"
        form = {"body": body.slug, "country": country, "language": language,
                "name": "Marie Dubois", "email": email, "city": "Lyon",
                "supporter_country": "FR", "personal_note": NOTE}
        data = {"campaign": campaign.slug, "body": body.slug, "language": language,
                "supporter": {"name": "Marie Dubois", "email": email, "city": "Lyon",
                              "country": "FR"},
                "personal_note": NOTE, "consent": True}
        if country:
            data["country"] = country
        with app.test_request_context(f"/?lang={language}"):
            choice = letter_form.chosen(campaign, form)
            for official in choose_officials(body, country):
                if official.email:
                    shown = letter_form.preview(campaign, choice, form, _placeholders(),
                                                official_key=official.key, note=NOTE)
                    assert shown and shown["letter"], (body.slug, language, official.key)
                    previews[(email, official.key)] = shown
        reply = client.post("/api/letters", json=data)
        assert reply.status_code == 202, reply.json
    work(app)
    for n, _group in enumerate(groups):
        assert client.post(_confirm_link(sink, f"writer{n}@example.org")).status_code == 200
    work(app)

    delivered = {}
    for mail in sink.received:
        msg = message_from_bytes(mail.data, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        if (msg["Message-ID"] or "").startswith("<letter-"):
            delivered[int(msg["Message-ID"].split("-")[1].split("@")[0])] = (msg, mail.data)
    letters = db.session.execute(
        select(Letter.id, Official.key, Submission.id)
        .join(Official, Letter.target_id == Official.id)
        .join(Submission, Letter.submission_id == Submission.id)).all()
    assert len(letters) == len(previews) == len(delivered), "every letter went out"
    emails = {s.id: s.supporter.email for s in db.session.scalars(select(Submission))}
    offices, variants = set(), 0
    for letter_id, key, submission_id in letters:
        shown, (msg, raw) = previews[(emails[submission_id], key)], delivered[letter_id]
        letter = shown["letter"]
        # The office's name arrives whole, as the preview shows it (issue 17: it was cut at
        # 78 characters and stripped of commas and parentheses).
        for header, pair, line in (("To", letter.to, "to"), ("From", letter.sender, "from"),
                                   ("Reply-To", letter.reply_to, "reply_to")):
            assert mailbox_as_read(raw, header) == pair, header
            assert f"{pair[0]} <{pair[1]}>" == shown[line], header
        assert _as_previewed(msg.get_content().replace("\r\n", "\n")) == letter.body
        assert msg["Subject"] in shown["subjects"] and shown["subject"] == shown["subjects"][0]
        # The letter, once it has an id, is composed with the subject it was sent with.
        [row] = load([letter_id])
        assert letter.to[0] == row.office_in_language
        assert composed(row).subject == msg["Subject"]
        assert composed(row).body == msg.get_content().replace("\r\n", "\n")
        assert "/office/" in letter.body and PREVIEW_TOKEN in letter.body
        offices.add(key)
        variants += msg["Subject"] != shown["subject"]
    assert 0 < variants < len(letters), "the letters took different subjects"
    shipped = set(db.session.scalars(select(Official.key).where(
        Official.email.is_not(None), Official.active.is_(True),
        Official.case_intake.is_(False))))  # never offered to supporters
    assert offices == shipped


def test_a_relayed_letter_is_previewed_without_an_address_and_sent_with_its_own(
    app: Any, client: Any, sink: Sink,
) -> None:
    campaign = db.session.scalars(select(Campaign).where(Campaign.is_default.is_(True))).one()
    campaign.reply_to = "relay"
    db.session.commit()
    form = {"body": "un", "language": "en", "name": "Marie Dubois",
            "email": "marie@example.org", "city": "Lyon", "supporter_country": "FR"}
    with app.test_request_context("/"):
        shown = letter_form.preview(campaign, letter_form.chosen(campaign, form), form,
                                    _placeholders(), note=NOTE)
    assert shown and shown["reply_to"] == _placeholders()["relay"]
    assert "marie@example.org" not in str(shown)
    data = {"campaign": campaign.slug, "body": "un", "language": "en", "consent": True,
            "supporter": {"name": "Marie Dubois", "email": "marie@example.org", "city": "Lyon",
                          "country": "FR"}, "personal_note": NOTE}
    assert client.post("/api/letters", json=data).status_code == 202
    work(app)
    assert client.post(_confirm_link(sink, "marie@example.org")).status_code == 200
    work(app)
    sent = [message_from_bytes(m.data, policy=policy.default) for m in sink.received
            if m.rcpt_tos == [shown["official"].email]]
    assert len(sent) == 1
    name, address = _pair(sent[0], "Reply-To")  # type: ignore[arg-type]
    assert name == shown["letter"].reply_to[0] and address.startswith("reply+")


def test_load_opens_each_supporters_sealed_texts_once_for_all_their_letters(
    app: Any, monkeypatch: Any,
) -> None:
    from advocacy.letters import compose

    from helpers import seed_queued

    ids = seed_queued(3)  # three supporters, each to both emailed UN offices
    opened: list[str] = []
    real = compose.unseal
    monkeypatch.setattr(compose, "unseal", lambda token: opened.append(token) or real(token))
    rows = load(ids)
    assert len(rows) == 6 and len({r.supporter_email for r in rows}) == 3
    for row in rows:  # every letter has its own supporter's plain texts
        number = row.name.removeprefix("Supporter ")
        assert row.personal_note == f"Note number {number}." and row.city == "Lyon"
        assert row.supporter_email and row.supporter_email.startswith(f"supporter{number}-")
    # name, city, note and address of each of the three: twelve, not two dozen
    assert len(opened) == len(set(opened)) == 12


def test_each_office_gets_its_own_ask_salutation_and_the_dated_news(app: Any) -> None:
    """What the worker sends (load, then composed): the UN rapporteur on torture is asked for an
    urgent appeal, the WGAD gets the group's default; a named holder is greeted as herself; the
    page's dated latest news in the letter's language appears, dated."""
    from datetime import date

    from advocacy.models import CampaignPage

    from helpers import seed_queued

    un = db.session.scalars(select(Body).where(Body.slug == "un")).one()
    torture = db.session.scalars(select(Official).where(Official.key == "un-sr-torture")).one()
    torture.holder, torture.holder_gender = "Alice Jill Edwards", "f"
    torture.salutations = {**torture.salutations, "ru": "Уважаемый Специальный докладчик!"}
    page = db.session.scalars(select(CampaignPage).where(CampaignPage.language == "en")
                              .order_by(CampaignPage.version.desc())).first()
    assert page is not None
    page.news_date, page.news = date(2026, 12, 2), "His lawyer was refused a visit."
    db.session.commit()
    ids = seed_queued(1, "un")
    letters = {row.official_key: composed(row) for row in load(ids)}
    assert {"un-sr-torture", "un-wgad"} <= set(letters)
    to_her = letters["un-sr-torture"].body
    assert "send an urgent appeal to the Government of the Russian Federation" in to_her
    assert to_her.startswith("Dear Madam Special Rapporteur,")
    assert "Latest news (2 December 2026): His lawyer was refused a visit." in to_her
    # The office's own line (issue 19) closes the letter, below the news, the ask and the
    # signature, one blank line after it.
    footer = to_her.index("\n\n-- \nFor the office: receive these letters")
    assert max(to_her.index("send an urgent appeal"), to_her.index("Latest news")) < footer
    assert to_her[:footer].endswith("Lyon, France")
    assert re.search(r"\n-- \n.*\nhttp://campaign\.test/office/\S+\?lang=en\n\Z", to_her)
    wgad = letters["un-wgad"].body
    assert "send an urgent appeal" not in wgad and "speak publicly about his case" in wgad
    assert wgad.startswith("Dear Members of the Working Group,")
    assert un.slug == "un"
