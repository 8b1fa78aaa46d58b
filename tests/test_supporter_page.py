"""The supporter's page, phone first (issue 18): the form in the first screen, several groups
in one submission with one confirmation, the government's country by default, and a language
switch that keeps what was typed. In headless Chromium, in English, Russian and French."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.models import Body, Letter, LetterStatus, Official, Submission

from helpers import (
    ONE_DATABASE,
    accessibility_problems,
    give_the_coe_an_inbox,
    needs_chromium,
    picture_the_campaign,
    stored,
    work,
)
from helpers import SHOTS as SCREENSHOTS

pytestmark = [needs_chromium, ONE_DATABASE]

SHOTS = SCREENSHOTS / "supporter-page"
SCREENS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}
CHECK_INBOX = {"en": "Check your inbox", "ru": "Проверьте", "fr": "Consultez votre boîte"}
SEND = {"en": "Send my letters", "ru": "Отправить мои письма", "fr": "Envoyer mes lettres"}


@pytest.fixture(autouse=True)
def pictured(app: Any) -> None:
    with app.app_context():
        give_the_coe_an_inbox()  # the shipped files give no CoE office an address
    picture_the_campaign(app)


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    page.screenshot(path=str(SHOTS / f"{name}-full.png"), full_page=True)


def sign(page: Any, name: str, email: str, city: str, country: str) -> None:
    """Fill in who signs."""
    page.fill("#name", name)
    page.fill("#email", email)
    page.fill("#city", city)
    page.select_option("#supporter_country", country)


def send(page: Any) -> None:
    page.check("#consent")
    page.click("button[value=send]")


def _groups_of(submission_id: int) -> list[str]:
    return sorted(
        set(
            db.session.scalars(
                select(Body.slug)
                .join(Official, Official.body_id == Body.id)
                .join(Letter, Letter.target_id == Official.id)
                .where(Letter.submission_id == submission_id)
            )
        )
    )


@pytest.mark.parametrize("device", ["phone", "desktop"])
@pytest.mark.parametrize("lang", ["en", "ru", "fr"])
def test_the_form_is_in_the_first_screen(live: str, browser: Any, lang: str, device: str) -> None:
    page = browser.new_page(viewport=SCREENS[device], locale=lang)
    page.goto(f"{live}/?lang={lang}")
    _shot(page, f"landing-{lang}-{device}")
    first = page.locator("#letter-form input:visible").first
    box = first.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= SCREENS[device]["height"], box
    # Above it: the image, the title, the summary and the counter with its goal bar.
    tops = [
        page.locator(s).bounding_box()["y"]  # type: ignore[index]
        for s in ("img.campaign-image", "h1", ".lead", "#sent-count", "#goal-bar")
    ]
    assert tops == sorted(tops) and tops[-1] < SCREENS[device]["height"]
    if device == "phone":  # in one column, the form comes after them, the story after it
        assert tops[-1] < box["y"]
        assert page.locator("#story").bounding_box()["y"] > box["y"]  # type: ignore[index]
    assert page.locator("details#whole-letter").count() == 1
    assert accessibility_problems(page) == []
    if device == "phone":  # "Write now" takes the supporter to the first field
        page.click("#write-now")
        assert page.evaluate("document.activeElement.id") == "name"
    page.close()


@pytest.mark.parametrize(("lang", "device"), [("en", "phone"), ("ru", "phone"), ("fr", "desktop")])
def test_three_groups_in_one_submission_and_one_confirmation(
    app: Any, live: str, sink: Sink, browser: Any, lang: str, device: str
) -> None:
    page = browser.new_page(viewport=SCREENS[device], locale=lang)
    page.goto(f"{live}/?lang={lang}")
    # Every group is ticked to begin with; this supporter leaves out the EU (whose offices
    # take no email yet) and writes to their own government.
    for slug in ("eu", "coe", "un", "gov"):
        assert page.is_checked(f"#to-{slug}")
    page.uncheck("#to-eu")
    sign(
        page, "Aino Virtanen", "aino.three@example.org", "Tampere", "FI"
    )  # Finland's government takes email
    page.fill("#personal_note", "I teach mathematics.")
    page.check("#consent")
    page.click(f"button[value=send]:has-text('{SEND[lang]}')")
    assert CHECK_INBOX[lang] in page.inner_text("h1")
    # The page offers the group not written to, the details kept.
    assert page.is_checked("#more-eu") and page.locator("#more-un").count() == 0
    _shot(page, f"check-inbox-{lang}-{device}")

    with app.app_context():
        [submission] = db.session.scalars(select(Submission)).all()
        assert _groups_of(submission.id) == ["coe", "gov", "un"]
        assert submission.bodies == ["un", "coe", "gov"] and submission.target_country == "FI"
        letters = db.session.scalars(select(Letter)).all()
        assert {x.status for x in letters} == {LetterStatus.UNCONFIRMED}
    work(app)
    mails = [m.message() for m in sink.received if m.rcpt_tos == ["aino.three@example.org"]]
    assert len(mails) == 1  # one confirmation for the three groups
    link = re.search(r"http://127\.0\.0\.1:\d+(/confirm/\S+)", mails[0].get_content())
    assert link
    inbox = browser.new_page(locale=lang)  # the link, opened from the email
    inbox.goto(f"{live}{link.group(1)}")
    inbox.click("form button[type=submit]")
    inbox.close()
    with app.app_context():
        statuses = set(db.session.scalars(select(Letter.status)))
        assert LetterStatus.UNCONFIRMED not in statuses and statuses
        assert len(db.session.scalars(select(Letter)).all()) == len(letters)

    # "Write to them too": back to the form, details kept, only the EU ticked.
    page.click("section.more-groups button[type=submit]")
    assert page.input_value("#name") == "Aino Virtanen"
    assert page.input_value("#email") == "aino.three@example.org"
    assert page.input_value("#personal_note").strip() == "I teach mathematics."
    assert page.is_checked("#to-eu") and not page.is_checked("#to-gov")
    page.close()


def test_writing_to_a_group_again_sends_no_second_letter(
    app: Any, live: str, sink: Sink, browser: Any
) -> None:
    # One letter per official per supporter: a second submission naming a group written to
    # adds only the others' letters.
    page = browser.new_page(viewport=SCREENS["phone"], locale="en")
    for groups in (["un"], ["un", "coe"]):
        page.goto(f"{live}/?lang=en")
        for slug in ("eu", "coe", "un", "gov"):
            page.set_checked(f"#to-{slug}", slug in groups)
        sign(page, "Jonas Weber", "jonas.again@example.org", "Leipzig", "DE")
        send(page)
        assert "Check your inbox" in page.inner_text("h1")
    with app.app_context():
        first, second = db.session.scalars(select(Submission).order_by(Submission.id)).all()
        assert _groups_of(first.id) == ["un"] and _groups_of(second.id) == ["coe"]
    page.close()


@pytest.mark.parametrize("scripts", [True, False], ids=["javascript", "no-javascript"])
def test_the_government_defaults_from_the_supporters_country_then_the_browser(
    app: Any, live: str, browser: Any, scripts: bool
) -> None:
    context = browser.new_context(
        java_script_enabled=scripts, viewport=SCREENS["phone"], locale="fr-FR"
    )
    page = context.new_page()
    page.goto(f"{live}/")
    assert page.input_value("#country") == "FR"  # from the browser's language
    for slug in ("eu", "coe", "un"):
        page.uncheck(f"#to-{slug}")
    sign(page, "Ana Lima", "ana.gov@example.org", "Helsinki", "FI")  # their country wins
    send(page)
    assert "Consultez" in page.inner_text("h1"), page.inner_text("#error-summary")
    with app.app_context():
        [submission] = db.session.scalars(select(Submission)).all()
        assert submission.target_country == "FI"
    context.close()


@pytest.mark.parametrize("scripts", [True, False], ids=["javascript", "no-javascript"])
def test_with_no_country_the_page_asks_for_the_country_not_another_language(
    app: Any, live: str, browser: Any, scripts: bool
) -> None:
    context = browser.new_context(
        java_script_enabled=scripts, viewport=SCREENS["desktop"], locale="en-NZ"
    )  # no office in New Zealand
    page = context.new_page()
    page.goto(f"{live}/?body=gov")
    assert page.input_value("#country") == ""
    text = page.text_content("#officials") or ""
    assert "Choose the country of the government" in text
    assert "another language" not in text
    sign(page, "Ana Lima", "ana.none@example.org", "Lima", "PE")
    page.check("#consent")
    page.click("button[value=send]")
    assert "Country of the offices is required." in page.inner_text("#country-error")
    assert stored()[1] == 0
    context.close()


@pytest.mark.parametrize("scripts", [True, False], ids=["javascript", "no-javascript"])
@pytest.mark.parametrize(
    ("start", "switch", "button"), [("en", "ru", "Русский"), ("fr", "en", "English")]
)
def test_switching_the_language_keeps_what_was_typed(
    app: Any, live: str, browser: Any, scripts: bool, start: str, switch: str, button: str
) -> None:
    context = browser.new_context(
        java_script_enabled=scripts, viewport=SCREENS["phone"], locale=start
    )
    page = context.new_page()
    page.goto(f"{live}/?lang={start}")
    page.uncheck("#to-eu")
    sign(page, "Mira Okafor", "mira@example.org", "Lagos", "NG")
    page.fill("#personal_note", "My own words, kept.")
    page.check("#sign_initials")
    page.click(f"nav.languages button:has-text('{button}')")
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == switch
    assert page.input_value("#name") == "Mira Okafor"
    assert page.input_value("#email") == "mira@example.org"
    assert page.input_value("#city") == "Lagos"
    assert page.input_value("#supporter_country") == "NG"
    assert page.input_value("#personal_note").strip() == "My own words, kept."
    assert page.is_checked("#sign_initials") and not page.is_checked("#to-eu")
    assert page.input_value("#language") == switch  # the letter follows the page's language
    assert stored()[1] == 0  # nothing was sent
    assert page.locator(".error-summary").count() == 0
    context.close()


def test_a_group_the_campaign_does_not_offer_is_refused_by_the_groups(
    live: str, browser: Any
) -> None:
    page = browser.new_page(viewport=SCREENS["desktop"], locale="en")
    page.goto(f"{live}/")
    page.locator("#to-un").evaluate("el => { el.value = 'nato'; }")  # as a script would
    sign(page, "Ada Lovelace", "ada.nato@example.org", "London", "GB")
    page.check("#consent")
    page.click("button[value=send]")
    assert "Choose one of: un, eu, coe, gov" in page.inner_text("#bodies-error")
    assert page.get_attribute("#bodies", "aria-describedby") == "bodies-error"
    page.click("#error-summary a[href='#bodies']")
    assert stored()[1] == 0
    # None ticked: the page asks for one, and sends nothing.
    for box in page.locator("input[name=bodies]").all():
        box.uncheck()
    page.click("button[value=send]")
    assert "at least one" in page.inner_text("#bodies-error")
    assert stored()[1] == 0
    page.close()
