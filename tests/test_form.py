"""The campaign page's form, without JavaScript: the same rules as the JSON API."""

from __future__ import annotations

import re
from typing import Any

import pytest
from markupsafe import escape

from advocacy.delivery.sink import Sink

from helpers import GOOD, confirmation_link, post, statements, stored, submission, work


def test_the_page_shows_the_officials_and_the_letter_they_will_get(client: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200
    text = page.data.decode()
    assert "Special Rapporteur on torture" in text and "Working Group on Arbitrary" in text
    assert "[your name]" in text and "Azat Miftakhov" in text
    assert 'name="csrf_token"' in text


def test_preview_follows_the_choices_and_stores_nothing(client: Any) -> None:
    reply = post(client, action="preview", body="coe", name="Ada", city="Turin",
                 supporter_country="IT", language="fr")
    text = reply.data.decode()
    assert reply.status_code == 200
    assert "Commissaire aux droits de l" in text  # the office, named in French
    assert "Ada" in text and "Turin, Italie" in text  # the letter, in French
    assert stored() == (0, 0, 0)


def test_the_suggested_paragraph_and_the_preview_read_the_letter_once(
    app: Any, client: Any
) -> None:
    """The body and the newest letter are read once a request, for both of them."""
    with statements() as seen:
        assert client.get("/").status_code == 200
    page = list(seen)
    with statements() as seen:
        part = client.post("/preview", data={"body": "un", "language": "en"})
    preview = list(seen)
    assert part.status_code == 200 and part.json["before"]
    # At most: campaign, body, newest letter, officials (nothing read again per official),
    # and the page's dated latest news, which the letter may quote.
    assert len(preview) <= 5, preview
    # The same four, and the page's own (its content, counts, languages...), the offices
    # never offered (case-intake, named apart) and the page's news the letter may quote.
    assert len(page) <= 12, page


def test_a_whole_journey_through_the_form(app: Any, client: Any, sink: Sink) -> None:
    reply = post(client)
    assert reply.status_code == 200, reply.data.decode()[:2000]
    assert "Check your inbox" in reply.data.decode()
    assert stored() == (1, 1, 2)
    work(app)
    confirmation = sink.received[0].message().get_content()
    status = re.search(r"http://campaign\.test(/status/\S+)", confirmation)
    assert status
    assert "Not confirmed yet" in client.get(status.group(1)).data.decode()
    client.post(confirmation_link(sink))
    work(app)
    page = client.get(status.group(1)).data.decode()
    assert page.count('data-state="sent"') == 2 and "Not confirmed yet" not in page
    assert client.get("/status/forged-token").status_code == 404


def test_without_the_csrf_token_nothing_is_stored_and_the_text_stays(client: Any) -> None:
    reply = client.post("/", data={**GOOD, "personal_note": "Mein eigener Absatz."})
    assert reply.status_code == 400
    text = reply.data.decode()
    assert "expired" in text and "Mein eigener Absatz." in text
    assert stored() == (0, 0, 0)


@pytest.mark.parametrize(
    ("changes", "field", "api_field"),
    [({"email": "not-an-address"}, "email", "supporter.email"),
     ({"name": "Eve\nBcc: x@example.org"}, "name", "supporter.name"),
     ({"name": "<b>Eve</b>"}, "name", "supporter.name"),
     ({"city": ""}, "city", "supporter.city"),
     ({"supporter_country": ""}, "supporter_country", "supporter.country"),
     ({"consent": ""}, "consent", "consent"),
     ({"body": "gov", "country": "", "supporter_country": "JP"}, "country", "country"),
     ({"personal_note": "x" * 2001}, "personal_note", "personal_note")],
)
def test_bad_fields_get_the_apis_message_next_to_them(
    client: Any, changes: dict[str, str], field: str, api_field: str
) -> None:
    reply = post(client, **changes)
    assert reply.status_code == 422
    text = reply.data.decode()
    assert f'aria-describedby="{field}-error"' in text
    assert "<b>Eve</b>" not in text and "\nBcc:" not in text.split("<form", 1)[0]

    api = submission(supporter={"name": GOOD["name"], "email": GOOD["email"],
                                "city": GOOD["city"], "country": GOOD["supporter_country"]})
    mapping = {"email": ("supporter", "email"), "name": ("supporter", "name"),
               "city": ("supporter", "city"), "supporter_country": ("supporter", "country")}
    for key, value in changes.items():
        if key in mapping:
            api["supporter"][mapping[key][1]] = value
        elif key == "consent":
            api["consent"] = value == "yes"
        else:
            api[key] = value
    api_reply = client.post("/api/letters", json=api)
    assert api_reply.status_code == 422
    message = api_reply.json["errors"][api_field]
    assert str(escape(message)) in text  # the same words as the API, escaped for HTML
    assert GOOD["personal_note"] in text or field == "personal_note"
    assert stored() == (0, 0, 0)


def test_the_honeypot_answers_like_success_and_stores_nothing(client: Any) -> None:
    reply = post(client, website="http://spam.example")
    assert reply.status_code == 200 and "Check your inbox" in reply.data.decode()
    assert stored() == (0, 0, 0)


def test_the_page_speaks_the_browsers_language(client: Any) -> None:
    page = client.get("/", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}).data.decode()
    assert '<html lang="de">' in page
    assert '<option value="de" lang="de" selected>' in page
    assert "Sehr geehrte" in page or "Asat Miftachow" in page  # the letter, in German


def test_the_government_defaults_to_the_supporters_own_country(client: Any) -> None:
    page = post(client, action="preview", body="gov", country="", supporter_country="FI")
    preview = page.data.decode().split('id="preview-title"', 1)[1]
    assert "Minister for Foreign Affairs (Ulkoministeriö" in preview
    # Without a government of their own country on file, nothing is chosen for them.
    page = post(client, action="preview", body="gov", country="", supporter_country="JP")
    assert 'data-key="gov-' not in page.data.decode()


def test_the_officials_own_language_is_offered_when_it_differs(client: Any) -> None:
    page = post(client, action="preview", body="un", language="de").data.decode()
    assert 'name="switch_language" value="en"' in page
    switched = post(client, switch_language="en", body="un", language="de").data.decode()
    # The salutation follows the holder (the rapporteur on torture is a woman).
    assert re.search(r"Dear [^,\n<]*Special Rapporteur", switched)
    assert '<option value="en" lang="en" selected>' in switched
    assert stored() == (0, 0, 0)


def test_country_lists_hold_countries_only_sorted_by_their_name_in_the_pages_language(
    app: Any,
) -> None:
    from sqlalchemy import select

    from advocacy.extensions import db
    from advocacy.models import Body
    from advocacy.officials.files import COUNTRIES
    from advocacy.public import letter_form

    pseudo = {"XA", "XB", "ZZ", "EU", "EZ", "UN", "QO"}  # "Pseudo-Accents", "Eurozone"…
    assert not pseudo & COUNTRIES and "XK" in COUNTRIES
    german = [name for _code, name in letter_form.countries("de")]
    assert not pseudo & {code for code, _name in letter_form.countries("de")}
    at = german.index("Österreich")  # among the O's, not after Z
    assert german[at - 1:at + 2] == ["Oman", "Österreich", "Pakistan"]
    governments = db.session.scalars(select(Body).where(Body.slug == "gov")).all()
    offered = [name for _code, name in
               letter_form.choices(list(governments), "de")["gov_countries"]]
    assert offered[-1] == "Zypern"  # by name, not by code (CY)
    assert (offered.index("Bulgarien") < offered.index("Dänemark")  # BG, DK, DE, CM by name
            < offered.index("Deutschland") < offered.index("Kamerun"))
