"""The notices to supporters and organizers, byte for byte: each is compared with a snapshot
in tests/snapshots/emails/ taken from the code that built them before they became templates
(advocacy/templates/email/), in English and in another language. A change to a text shows
here as a diff; write the snapshots afresh (UPDATE_SNAPSHOTS=1) only for a change meant."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask_babel import force_locale

from advocacy import create_app
from advocacy.letters import emails
from advocacy.letters.render import RenderedLetter

SNAPSHOTS = Path(__file__).parent / "snapshots" / "emails"
SENDER = "letters@campaign.test"
LETTER = RenderedLetter("Free them now", "Dear Minister,\n\nPlease act.\n\nAlex Example\n")
FR_LETTER = RenderedLetter("Libérez-les", "Madame la Ministre,\n\nAgissez.\n\nAlex Exemple\n")

NOTICES: dict[str, Callable[[], EmailMessage]] = {
    "confirmation": lambda: emails.confirmation_message(
        to_email="alex@example.org", to_name="Alex Example", campaign_name="Free Them",
        sender=SENDER, link="http://campaign.test/confirm/abc?lang=x",
        officials=["UN Special Rapporteur (Jane Doe)", "Ministère de la Justice"],
        status_link="http://campaign.test/status/abc?lang=x"),
    "confirmation-letters": lambda: emails.confirmation_message(
        to_email="alex@example.org", to_name="Alex Example", campaign_name="Free Them",
        sender=SENDER, link="http://campaign.test/confirm/abc",
        officials=["UN Special Rapporteur (Jane Doe)"],
        status_link="http://campaign.test/status/abc",
        letters=[("UN Special Rapporteur (Jane Doe)", LETTER), ("Ministère", FR_LETTER)],
        already=["European Parliament (Sub-committee)"]),
    "reminder": lambda: emails.confirmation_message(
        to_email="alex@example.org", to_name="Alex Example", campaign_name="Free Them",
        sender=SENDER, link="http://campaign.test/confirm/abc",
        officials=["UN Special Rapporteur (Jane Doe)"],
        status_link="http://campaign.test/status/abc", reminder=True,
        letters=[("UN Special Rapporteur (Jane Doe)", LETTER)]),
    "already-written": lambda: emails.already_written_message(
        to_email="alex@example.org", campaign_name="Free Them", sender=SENDER,
        already=["UN Special Rapporteur (Jane Doe)", "Ministère de la Justice"],
        earlier=[("Confirm them here:", "http://campaign.test/confirm/old"),
                 ("Follow them here:", "http://campaign.test/status/old")]),
    "data-link": lambda: emails.data_link_message(
        to_email="alex@example.org", campaign_name="Free Them", sender=SENDER,
        link="http://campaign.test/my-data/abc?lang=x"),
    "reply-notice": lambda: emails.reply_notice_message(
        to_email="alex@example.org", campaign_name="Free Them", sender=SENDER,
        official="UN Special Rapporteur (Jane Doe)",
        status_link="http://campaign.test/status/abc"),
    "invitation": lambda: emails.invitation_message(
        to_email="sam@example.org", campaign_name="Free Them", sender=SENDER, role="editor",
        link="http://campaign.test/admin/invitation/abc", valid_for=timedelta(days=7)),
    "password-reset": lambda: emails.password_reset_message(
        to_email="owner@example.org", campaign_name="Free Them", sender=SENDER,
        link="http://campaign.test/admin/reset/abc", valid_hours=1),
    "proof": lambda: emails.proof_message(
        to_email="sam@example.org", sender=SENDER, campaign_name="Free Them", version=3,
        official="UN Special Rapporteur <sr@un.test>", subject="Free them now",
        other_subjects=["Free them today", "Release them"], text=LETTER.body),
    "proof-one-subject": lambda: emails.proof_message(
        to_email="sam@example.org", sender=SENDER, campaign_name="Free Them", version=1,
        official="UN Special Rapporteur <sr@un.test>", subject="Free them now",
        other_subjects=[], text=LETTER.body),
    "digest": lambda: emails.digest_message(
        digest_key="7:2026-12-03", official_email="sr@un.test",
        official_office="UN Special Rapporteur", salutation="Dear Special Rapporteur,",
        campaign_name="Free Them", sender=SENDER, subject="Free them now",
        entries=[{"name": "Alex", "city": "Lyon", "country_name": "France",
                  "personal_note": "I care.\nA lot."},
                 {"name": "Kim", "city": "Bonn", "country_name": "Germany",
                  "personal_note": ""}]),
    "digest-one": lambda: emails.digest_message(
        digest_key="7:2026-12-03", official_email="sr@un.test",
        official_office="UN Special Rapporteur", salutation="Dear Special Rapporteur,",
        campaign_name="Free Them", sender=SENDER, subject="Free them now",
        entries=[{"name": "Alex", "city": "Lyon", "country_name": "France",
                  "personal_note": ""}]),
}
LANGUAGES = ("en", "fr", "ru")


@pytest.fixture(scope="module")
def text_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app, for its templates and translations alone: these emails read no data."""
    os.environ["ADVOCACY_INSTANCE_PATH"] = str(tmp_path_factory.mktemp("instance"))
    try:
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                          "ADVOCACY_SENDER": SENDER, "ADVOCACY_PUBLIC_URL": "http://campaign.test"})
    finally:
        del os.environ["ADVOCACY_INSTANCE_PATH"]
    yield app


def without_date(msg: EmailMessage) -> bytes:
    """The message's bytes, less the Date header (the one part that follows the clock) and a
    service email's Message-ID (random); both must be there."""
    assert msg["Date"] and msg["Message-ID"]
    del msg["Date"]
    if not str(msg["Message-ID"]).startswith("<digest-"):  # a digest's is derived from its key
        del msg["Message-ID"]
    return msg.as_bytes()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("notice", sorted(NOTICES))
def test_notice_is_unchanged(text_app: Any, notice: str, language: str) -> None:
    with text_app.test_request_context(), force_locale(language):
        data = without_date(NOTICES[notice]())
    snapshot = SNAPSHOTS / f"{notice}.{language}.eml"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_bytes(data)
    assert data == snapshot.read_bytes()


def test_the_snapshots_are_translated(text_app: Any) -> None:
    """The snapshots hold the translations, not English under another name (a .mo that
    failed to load would pass the comparison above after an update)."""
    assert b"Please confirm" in (SNAPSHOTS / "confirmation.en.eml").read_bytes()
    for language in ("fr", "ru"):
        assert (SNAPSHOTS / f"confirmation.{language}.eml").read_bytes() != (
            SNAPSHOTS / "confirmation.en.eml").read_bytes()


@pytest.mark.parametrize(("max_age", "language", "sentence"), [
    (timedelta(days=2), "en", "The link is valid for 2 days."),
    (timedelta(days=1), "en", "The link is valid for 1 day."),
    (timedelta(hours=36), "en", "The link is valid for 36 hours."),
    (timedelta(hours=1), "en", "The link is valid for 1 hour."),
    (timedelta(days=2), "fr", "Le lien est valable 2 jours."),
    (timedelta(days=1), "fr", "Le lien est valable 1 jour."),
    (timedelta(days=1), "de", "Der Link ist 1 Tag lang gültig."),
    (timedelta(days=2), "es", "El enlace es válido durante 2 días."),
    (timedelta(days=2), "ru", "Ссылка действительна 2 дня."),
    (timedelta(days=5), "ru", "Ссылка действительна 5 дней."),
    (timedelta(days=21), "ru", "Ссылка действительна 21 день."),
    (timedelta(hours=3), "ru", "Ссылка действительна 3 часа."),
])
def test_the_confirmation_states_the_configured_life_of_its_link(
    text_app: Any, monkeypatch: pytest.MonkeyPatch, max_age: timedelta, language: str,
    sentence: str,
) -> None:
    """The link is checked against CONFIRM_MAX_AGE; the email says that same life."""
    monkeypatch.setitem(text_app.config, "CONFIRM_MAX_AGE", int(max_age.total_seconds()))
    with text_app.test_request_context(), force_locale(language):
        text = NOTICES["confirmation"]().get_content()
    assert sentence in text
    assert "7" not in text  # nor the week it used to say


@pytest.mark.parametrize(("life", "said"), [(timedelta(days=1), "for 1 day):"),
                                            (timedelta(days=30), "for 30 days):")])
def test_the_invitation_states_its_life_in_english(text_app: Any, life: timedelta,
                                                   said: str) -> None:
    """The organizers' side is English: so is the invitation, whatever the locale around."""
    with text_app.test_request_context(), force_locale("ru"):
        text = emails.invitation_message(
            to_email="sam@example.org", campaign_name="Free Them", sender=SENDER,
            role="editor", link="http://campaign.test/admin/invitation/abc",
            valid_for=life).get_content()
    assert f"Choose your password here (the link works once, {said}" in text
