"""The admin's forms written for campaigners (issue 20): an official chosen from lists, with
its time zone, key and salutations suggested; the letters' history word by word; translations
out of date once the letter they were written from changes."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy import select

from advocacy.campaigns.settings import find_campaign
from advocacy.extensions import db
from advocacy.letters.diffs import side_by_side, word_pair
from advocacy.letters.versions import current_template
from advocacy.models import Body, LetterTemplate, Official
from advocacy.officials.choices import countries, key_from, languages, time_zones

from helpers import PEOPLE, csrf, log_in

pytestmark = pytest.mark.usefixtures("people")
ONE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
NEW = "/admin/targets/new"
OFFICE = {
    "body": "gov", "office": "Secretary of State for Foreign Affairs", "holder": "",
    "country": "PT", "languages": ["pt", "en"], "timezone": "Europe/Lisbon", "email": "",
    "contact_page": "https://www.portugal.gov.pt/en/gc24/contacts", "postal_address": "",
    "source": "portugal.gov.pt", "salutation_en": "Dear Minister,",
    "salutation_fr": "Madame la Ministre, Monsieur le Ministre,",
    "salutation_de": "Sehr geehrte Frau Ministerin, sehr geehrter Herr Minister,",
    "salutation_ru": "Уважаемый министр!", "salutation_es": "Señora Ministra, Señor Ministro:",
}


def editor(app: Any) -> tuple[Any, str]:
    client = app.test_client()
    assert log_in(client, PEOPLE["editor"]).status_code == 302
    return client, csrf(client, "/admin/targets")


def page_of(reply: Any) -> str:
    return str(reply.data.decode())


def suggested(client: Any, token: str, **fields: Any) -> str:
    """The form after "Suggest" (what official_form.js asks for while one types)."""
    reply = client.post(NEW, data={**OFFICE, **fields, "csrf_token": token, "action": "suggest"})
    assert reply.status_code == 200
    return page_of(reply)


def options(page: str, select_id: str) -> list[tuple[str, bool]]:
    """(value, selected) of a select's options, in order."""
    body = re.search(rf'<select id="{select_id}".*?</select>', page, re.S)
    assert body, page
    return [(value, bool(selected)) for value, selected in
            re.findall(r'<option value="([^"]*)"( selected)?>', body.group(0))]


# --- choices, not codes -------------------------------------------------------------------

def test_countries_are_named_in_the_organizers_language_sorted_and_real(app: Any) -> None:
    client, _token = editor(app)
    page = page_of(client.get(f"{NEW}?lang=fr"))
    listed = options(page, "country")
    codes = [code for code, _selected in listed]
    assert codes[0] == ""  # none: an international body
    assert not {"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"} & set(codes)
    assert '<option value="DE">Allemagne</option>' in page
    assert codes.index("DE") < codes.index("AT") < codes.index("BE")  # Allemagne, Autriche, ...
    assert codes[1:] == [code for code, _name in countries("fr")]  # the public page's list
    assert "Unknown Region" not in page and "Eurozone" not in page


def test_languages_are_ticked_by_name_and_kept_in_the_officials_order(app: Any) -> None:
    assert ("de", "Deutsch") in languages("de")
    assert {"fi", "sv"} <= {code for code, _name in languages("en", "FI")}  # Finland's own
    client, token = editor(app)
    page = suggested(client, token, country="FI", languages=["fi", "en"])
    assert re.search(r'value="fi" checked> Finnish', page)
    assert re.search(r'value="sv"> Swedish', page)  # offered, not ticked
    # Only English ticked (as the form starts): the country's own languages are suggested.
    belgian = suggested(client, token, country="BE", languages=["en"])
    assert all(f'value="{code}" checked' in belgian for code in ("nl", "fr", "de", "en"))
    reply = client.post(NEW, data={**OFFICE, "csrf_token": token, "key": "gov-pt-x",
                                   "languages": ["pt"], "languages_other": "mwl"})
    assert reply.status_code == 302
    db.session.expire_all()
    added = db.session.scalars(select(Official).where(Official.key == "gov-pt-x")).one()
    assert added.languages == ["pt", "mwl"]
    # An edit that leaves them alone keeps their order (ticked in the list's order: en, pt).
    edit = f"/admin/targets/{added.id}/edit"
    opened = re.search(r'name="opened" value="([^"]+)"', page_of(client.get(edit)))
    assert opened
    data = {**OFFICE, "csrf_token": token, "opened": opened.group(1),
            "languages": ["mwl", "pt"], "timezone": "Europe/Lisbon"}
    assert client.post(edit, data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get_one(Official, added.id).languages == ["pt", "mwl"]


@pytest.mark.parametrize(("country", "zone", "several"), [
    ("FR", "Europe/Paris", False),
    ("US", "", True),
    ("RU", "", True),
])
def test_the_time_zone_is_suggested_from_the_country(
    app: Any, country: str, zone: str, several: bool
) -> None:
    zones = time_zones(country)
    assert zones.suggested == zone
    client, token = editor(app)
    page = suggested(client, token, country=country, timezone="Europe/Lisbon")
    listed = options(page, "timezone")
    if not several:
        assert listed == [("Europe/Paris", True)]
        return
    main = [name for name, _label in zones.main]
    assert listed[0] == ("", True) or listed[0] == ("", False)  # "Choose": the organizer picks
    assert not any(selected for _value, selected in listed)  # Lisbon is not theirs
    if country == "US":
        assert main[:4] == ["America/New_York", "America/Chicago", "America/Denver",
                            "America/Los_Angeles"]
        assert len(main) <= 8 < len(zones.others) + len(main)  # one per clock, then the rest
        assert "America/Phoenix" in zones
    else:
        assert {"Europe/Kaliningrad", "Europe/Moscow", "Asia/Vladivostok"} <= set(main)
        assert len(main) == 11  # Russia's eleven clocks
    assert [value for value, _selected in listed[1:len(main) + 1]] == main
    assert "Москва (Europe/Moscow)" in page_of(client.post(f"{NEW}?lang=ru", data={
        **OFFICE, "country": "RU", "csrf_token": token, "action": "suggest"})) or country != "RU"


def test_a_country_with_one_zone_needs_no_choice_and_one_with_several_says_so(app: Any) -> None:
    client, token = editor(app)
    reply = client.post(NEW, data={**OFFICE, "csrf_token": token, "key": "gov-fr-x",
                                   "country": "FR", "timezone": ""})
    assert reply.status_code == 302
    client.get(reply.headers["Location"])  # its "Saved" notice, read
    assert db.session.scalars(select(Official.timezone).where(
        Official.key == "gov-fr-x")).one() == "Europe/Paris"
    reply = client.post(NEW, data={**OFFICE, "csrf_token": token, "key": "gov-us-x",
                                   "country": "US", "timezone": "", "holder": "Typed by hand"})
    page = page_of(reply)
    assert reply.status_code == 422
    # In words, beside the field, and in the summary by the field's name; what was typed stays.
    error = re.search(r'<select id="timezone"[^>]*>.*?</select>\s*<p class="error" '
                      r'id="timezone-error">([^<]+)</p>', page, re.S)
    assert error and "Choose the time zone the office works in" in html.unescape(error.group(1))
    assert '<a href="#timezone">Time zone: Choose the time zone' in html.unescape(page)
    assert 'value="Typed by hand"' in page and '<option value="US" selected>' in page
    assert 'class="notice"' not in page  # no flash at the top: the error is by its field


def test_the_key_is_made_from_the_name_when_left_empty(app: Any) -> None:
    assert key_from("gov", "FR", "Ministre de l'Europe et des Affaires étrangères") == (
        "gov-fr-ministre-de-l-europe-et-des-affaires-etrangeres")
    assert len(key_from("un", "x " * 100)) <= 79
    client, token = editor(app)
    page = suggested(client, token, key="")
    assert 'id="key" name="key" type="text" value="gov-pt-secretary-of-state-for-foreign-affairs"' \
        in page
    for expected in ("gov-pt-secretary-of-state-for-foreign-affairs",
                     "gov-pt-secretary-of-state-for-foreign-affairs-2"):
        reply = client.post(NEW, data={**OFFICE, "csrf_token": token, "key": "",
                                       "timezone": "Europe/Lisbon"})
        assert reply.status_code == 302
        assert db.session.scalar(select(Official).where(Official.key == expected)) is not None


@pytest.mark.parametrize(("gender", "expected"), [
    ("", {"en": "Dear Minister,", "fr": "Madame la Ministre, Monsieur le Ministre,",
          "ru": "Уважаемая госпожа министр, уважаемый господин министр!",
          "es": "Señora Ministra, Señor Ministro:"}),
    ("f", {"en": "Dear Madam Minister,", "fr": "Madame la Ministre,",
           "de": "Sehr geehrte Frau Ministerin,", "ru": "Уважаемая госпожа министр!",
           "es": "Señora Ministra:"}),
    ("m", {"en": "Dear Mr Minister,", "fr": "Monsieur le Ministre,",
           "de": "Sehr geehrter Herr Minister,", "ru": "Уважаемый господин министр!",
           "es": "Señor Ministro:"}),
])
def test_the_salutations_preview_follows_the_holder(
    app: Any, gender: str, expected: dict[str, str]
) -> None:
    client, token = editor(app)
    page = suggested(client, token, holder_gender=gender)
    preview = re.search(r'<div id="salutation-preview".*?</div>', page, re.S)
    assert preview
    for lang, line in expected.items():
        assert f'<q lang="{lang}">{line}</q>' in preview.group(0)


def test_a_new_officials_salutations_start_filled_in_per_language(app: Any) -> None:
    client, token = editor(app)
    page = page_of(client.get(NEW))
    assert 'id="salutation_fr" name="salutation_fr" type="text" value="Madame, Monsieur,"' in page
    assert 'value="Dear Sir or Madam,"' in page
    filled = suggested(client, token, holder_gender="f", **{
        f"salutation_{lang}": "" for lang in ("en", "fr", "de", "ru", "es")})
    assert '<q lang="en">Dear Madam,</q>' in filled and '<q lang="fr">Madame,</q>' in filled
    assert '<q lang="es">Distinguida señora:</q>' in filled
    # Someone's own words are never replaced by a suggestion.
    own = suggested(client, token, salutation_fr="Madame la Secrétaire d'État,")
    assert "value=\"Madame la Secrétaire d&#39;État,\"" in own


def test_the_form_reads_in_the_organizers_language(app: Any) -> None:
    client, _token = editor(app)
    page = page_of(client.get(f"{NEW}?lang=fr"))
    assert "Fuseau horaire" in page and "Ajouter un responsable" in page
    assert "Langues qu’il lit" in page or "Langues qu'il lit" in html.unescape(page)


# --- the letters' history and translations --------------------------------------------------

def test_changes_are_shown_word_by_word_side_by_side() -> None:
    before, after = word_pair("We ask you to act now.", "We urge you to act today.")
    assert before == (("", "We "), ("del", "ask"), ("", " you to act "), ("del", "now."))
    assert after == (("", "We "), ("ins", "urge"), ("", " you to act "), ("ins", "today."))
    rows = side_by_side(["a", "b", "c", "d", "e", "f"], ["a", "b", "c", "d", "e", "f", "g"])
    assert [r.gap for r in rows] == [False, False]  # one line of context, then the new line
    assert rows[-1].before is None and rows[-1].after == (("ins", "g"),)


def template(language: str, body: str = "un") -> LetterTemplate:
    db.session.expire_all()
    campaign = find_campaign(None)
    group = db.session.scalars(select(Body).where(Body.slug == body)).one()
    assert campaign is not None
    found = current_template(campaign, group, language)
    assert found is not None
    return found


def form_of(t: LetterTemplate, **changes: str) -> dict[str, str]:
    return {"subject": t.subject, "default_salutation": t.default_salutation, "body": t.text,
            "subject_variants": "\n".join(t.subject_variants),
            "suggested_note": t.suggested_note, "base_version": str(t.version),
            "action": "save", **{f"ask-{k}": v for k, v in (t.asks or {}).items()}, **changes}


def fr_row(page: str) -> str:
    row = re.search(r'<tr>\s*<td data-label="Group">United Nations</td>\s*'
                    r'<td data-label="Language"><span lang="fr">.*?</tr>', page, re.S)
    assert row, page
    return row.group(0)


@ONE_DATABASE
def test_a_translation_goes_out_of_date_when_its_source_changes_and_back_when_saved(
    app: Any
) -> None:
    client, token = editor(app)
    english, french = template("en"), template("fr")
    assert (french.source_language, french.source_version) == ("en", english.version)
    assert "Out of date" not in fr_row(page_of(client.get("/admin/letters")))

    reply = client.post("/admin/letters/free-azat-miftakhov/un/en", data={
        **form_of(english, body=english.text.replace("Yours sincerely,", "With respect,")),
        "csrf_token": token, "written_from": ""})
    assert reply.status_code == 302
    new_english = template("en")
    assert new_english.version == english.version + 1 and new_english.source_language is None

    row = fr_row(page_of(client.get("/admin/letters")))
    link = f"/admin/letters/free-azat-miftakhov/un/en?since={english.version}#since"
    assert 'class="badge stale">Out of date' in row and html.escape(link) in row
    editor_page = page_of(client.get("/admin/letters/free-azat-miftakhov/un/fr"))
    assert 'id="stale"' in editor_page and html.escape(link) in editor_page
    assert '<option value="en" selected>English</option>' in editor_page
    since = page_of(client.get(link.removesuffix("#since")))
    assert '<section id="since"' in since
    assert "<del>Yours sincerely,</del>" in since and "<ins>With respect,</ins>" in since

    # Saved again (the text checked, unchanged): a version written from English's newest.
    reply = client.post("/admin/letters/free-azat-miftakhov/un/fr", data={
        **form_of(french), "csrf_token": token, "written_from": "en"})
    assert reply.status_code == 302
    again = template("fr")
    assert again.version == french.version + 1
    assert (again.source_language, again.source_version) == ("en", new_english.version)
    assert "Out of date" not in fr_row(page_of(client.get("/admin/letters")))
    assert 'id="stale"' not in page_of(client.get("/admin/letters/free-azat-miftakhov/un/fr"))
    # Saving it once more, unchanged and from the same source, adds nothing.
    client.post("/admin/letters/free-azat-miftakhov/un/fr", data={
        **form_of(again), "csrf_token": token, "written_from": "en"})
    assert template("fr").id == again.id
