"""After the form, without a browser (issue 18): the per-IP limit counts accepted submissions
only, the email validator's reasons are translated, error pages keep the site's frame, the
From line speaks the letter's language, and a resend token sends nothing it should not."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from advocacy.delivery.sink import Sink

from helpers import ONE_DATABASE, SUPPORTER, mailbox_as_read, post, submission, work

pytestmark = ONE_DATABASE


def _bad() -> dict[str, Any]:
    return submission(supporter={**SUPPORTER, "email": "typo@example@org"})


def test_refused_submissions_do_not_use_up_the_per_ip_limit(app: Any, client: Any) -> None:
    app.config["SUBMIT_RATE"] = "3/minute"
    for _ in range(8):  # a classroom's typos
        assert client.post("/api/letters", json=_bad()).status_code == 422
    for i in range(3):
        good = submission(supporter={**SUPPORTER, "email": f"pupil{i}@example.org"})
        assert client.post("/api/letters", json=good).status_code == 202
    # Now the limit is reached: accepted ones counted, and every request is checked.
    assert client.post("/api/letters", json=_bad()).status_code == 429
    extra = submission(supporter={**SUPPORTER, "email": "pupil9@example.org"})
    assert client.post("/api/letters", json=extra).status_code == 429


def test_the_forms_refusals_do_not_count_either(app: Any, client: Any) -> None:
    app.config["SUBMIT_RATE"] = "2/minute"
    for _ in range(5):
        assert post(client, email="not an address").status_code == 422
        assert post(client, action="preview").status_code == 200  # "Show the letter"
    assert "Check your inbox" in post(client, email="a1@example.org").data.decode()
    assert "Check your inbox" in post(client, email="a2@example.org").data.decode()
    assert post(client, email="a3@example.org").status_code == 429


@pytest.mark.parametrize(("lang", "expected"), [
    ("ru", "После знака @ стоит символ, которого не бывает в адресах: '@'"),
    ("fr", "Après l'arobase (@), il y a un caractère qui n'a pas sa place dans une adresse"),
    ("de", "Nach dem @-Zeichen steht ein Zeichen"),
    ("es", "Después de la arroba (@) hay un carácter"),
    ("en", "After the @ sign there is a character that does not belong in an address: '@'"),
])
def test_the_validators_reasons_speak_the_supporters_language(
    client: Any, lang: str, expected: str
) -> None:
    reply = client.post("/api/letters", json=_bad(), headers={"Accept-Language": lang})
    message = reply.json["errors"]["supporter.email"]
    assert expected in message and "@-sign" not in message, message


@pytest.mark.parametrize("typed", ["anna", "@example.org", "anna@", "an..na@example.org",
                                   "anna@localhost", "анна@example.org", "an na@example.org",
                                   "anna@exa_mple.org", "anna@example.invalid"])
def test_no_reason_is_left_in_english(client: Any, typed: str) -> None:
    reply = client.post("/api/letters", json=submission(supporter={**SUPPORTER, "email": typed}),
                        headers={"Accept-Language": "ru"})
    message = reply.json["errors"]["supporter.email"]
    assert not any(word in message for word in ("The ", "email address", "sign", "period")), \
        message


@pytest.mark.parametrize(("lang", "title"), [("en", "Something went wrong on our side"),
                                             ("ru", "У нас что-то пошло не так"),
                                             ("fr", "Un problème est survenu de notre côté")])
def test_an_unexpected_error_gets_a_page_in_the_sites_frame(
    app: Any, client: Any, lang: str, title: str
) -> None:
    def broken(slug: str | None) -> str:
        raise RuntimeError("a bug")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.view_functions["public.privacy"] = broken
    reply = client.get(f"/privacy?lang={lang}")
    page = reply.data.decode()
    assert reply.status_code == 500
    assert f'<html lang="{lang}">' in page and f"<h1>{title}</h1>" in page
    assert '<meta name="viewport"' in page and 'class="languages"' in page


@pytest.mark.parametrize(("lang", "title"), [("en", "Please wait a moment"),
                                             ("ru", "Пожалуйста, подождите немного")])
def test_the_429_page_is_translated_and_framed(
    app: Any, client: Any, lang: str, title: str
) -> None:
    app.config["SUBMIT_RATE"] = "1/minute"
    good = submission(supporter={**SUPPORTER, "email": "once@example.org"})
    assert client.post("/api/letters", json=good).status_code == 202
    reply = client.post(f"/widget?lang={lang}", data={"name": "x"})
    page = reply.data.decode()
    assert reply.status_code == 429
    assert f"<h1>{title}</h1>" in page and '<meta name="viewport"' in page


def test_the_from_line_speaks_the_letters_language(app: Any, client: Any, sink: Sink) -> None:
    data = submission(language="ru")
    assert client.post("/api/letters", json=data,
                       headers={"Accept-Language": "ru"}).status_code == 202
    work(app)
    [confirmation_mail] = [m.message() for m in sink.received]
    confirmation = confirmation_mail.get_content()
    link = re.search(r"https?://[^/\s]+(/confirm/\S+)", confirmation)
    assert link and client.post(link.group(1)).status_code == 200
    work(app)
    letters = [m.data for m in sink.received if m.message()["Auto-Submitted"] == "no"]
    assert letters
    for letter in letters:  # the campaign's name is its Russian page's title, read as a
        name, _address = mailbox_as_read(letter, "From")  # mail reader reads it (RFC 2047)
        assert name.endswith(" через Свободу Азату Мифтахову"), name
    # The confirmation too, in the language of the supporter's pages.
    assert "Свободу Азату Мифтахову" in str(confirmation_mail["From"])
    assert "Свободу Азату Мифтахову" in str(confirmation_mail["Subject"])


def test_a_resend_token_cannot_be_forged_and_a_bots_sends_nothing(
    app: Any, client: Any, sink: Sink
) -> None:
    from advocacy.extensions import db
    from advocacy.models import Submission

    assert client.post("/resend/forged").status_code == 400
    page = client.post("/widget", data={"website": "spam", "email": "bot@example.org"})
    shown = page.data.decode()
    assert "b•••@example.org" in shown and "bot@example.org" not in shown
    found = re.search(r'action="(/resend/[^"?]+)', shown)
    assert found
    reply = client.post(found.group(1))
    assert reply.status_code == 200 and "b•••@example.org" in reply.data.decode()
    work(app)
    assert sink.received == []
    assert db.session.scalar(select(func.count(Submission.id))) == 0
