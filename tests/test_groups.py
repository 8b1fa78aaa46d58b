"""Target groups are data: no list of groups in code; a campaign offers its groups in its
order; groups chosen by country, groups taking only some languages, risk notices; organizers
define groups in the admin."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from advocacy.extensions import db
from advocacy.letters.files import TemplateFileError, load_letters, read_letter_dir
from advocacy.models import AuditEntry, Body, Campaign, Letter, LetterTemplate, Official

from helpers import PEOPLE, ROOT, csrf, give_the_coe_an_inbox, log_in, stored, submission

RISK_EN = "Writing to Russian officials may draw attention to you if you live in Russia."
RISK_RU = "Письмо российским чиновникам может привлечь к вам внимание, если вы живёте в России."
RU_LETTER = "{{ salutation }}\n\nОсвободите Азата Мифтахова.\n\n{{ personal_note }}\n\n" \
            "{{ supporter.name }}\n"


def campaign() -> Campaign:
    return db.session.scalars(select(Campaign).where(Campaign.is_default.is_(True))).one()


def add_group(slug: str, *, by_country: bool = False, languages: list[str] | None = None,
              risk: dict[str, str] | None = None, offered: bool = False,
              officials: list[tuple[str, str]] = (), letters: tuple[str, ...] = ()) -> Body:
    """A group with officials (key, country) and a letter per language for the campaign."""
    group = Body(slug=slug, name=f"Group {slug}", names={"ru": f"Группа {slug}"},
                 by_country=by_country, position=9, languages=languages or [],
                 risk_notices=risk or {}, offered=offered)
    db.session.add(group)
    for key, country in officials:
        db.session.add(Official(
            key=key, body=group, office=f"Office {key}", country=country, languages=["ru"],
            timezone="Europe/Moscow", email=f"{key}@example.org", source="test",
            verified=True, salutations={lang: "Sir," for lang in ("en", "fr", "de", "ru", "es")}))
    db.session.flush()
    for language in letters:
        db.session.add(LetterTemplate(
            campaign_id=campaign().id, body_id=group.id, language=language, version=1,
            subject="Освободите Азата", text=RU_LETTER, default_salutation="Уважаемые,",
            origin="organizer", content_hash="0" * 64))
    db.session.commit()
    return group


def offer(*slugs: str) -> None:
    db.session.execute(update(Campaign).values(bodies=list(slugs)))
    db.session.commit()


def options(page: str) -> list[str]:
    select_ = re.search(r'<select id="body" name="body".*?</select>', page, re.S)
    assert select_, page
    return re.findall(r'<option value="([^"]+)"', select_.group(0))


def russian_authorities() -> Body:
    return add_group("ru-auth", languages=["ru"], risk={"en": RISK_EN, "ru": RISK_RU},
                     officials=[("ru-prosecutor", "")], letters=("ru",))


# --- no list of groups in code --------------------------------------------------------------

SHIPPED = ("eu", "coe", "un", "gov")


def test_no_list_of_group_slugs_is_left_in_code() -> None:
    """Groups are rows: no BODY_SLUGS, no tuple or list of the four slugs, no `== "gov"`."""
    quoted = r"""["']({})["']""".format("|".join(SHIPPED))
    together = re.compile(r"[(\[]\s*" + r"\s*,\s*".join([quoted] * 4) + r"\s*,?\s*[)\]]")
    gov = re.compile(r"""[!=]==?\s*["']gov["']|["']gov["']\s*[!=]==?""")
    found = []
    for path in (ROOT / "advocacy").rglob("*"):
        if path.suffix not in (".py", ".html", ".js", ".json") or "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in ("BODY_SLUGS", together, gov):
            if re.search(pattern, text):
                found.append(f"{path.relative_to(ROOT)}: {getattr(pattern, 'pattern', pattern)}")
    assert not found, found
    assert together.search('x = ("eu", "coe", "un", "gov")')  # the check itself finds one
    assert gov.search('if body == "gov":')


def test_the_shipped_groups_come_from_the_targets_files(app: Any) -> None:
    groups = {b.slug: b for b in db.session.scalars(select(Body))}
    assert set(groups) == set(SHIPPED)
    assert [s for s, b in groups.items() if b.by_country] == ["gov"]
    assert sorted(groups, key=lambda s: groups[s].position) == ["un", "eu", "coe", "gov"]
    assert all(b.offered and not b.languages and not b.risk_notices for b in groups.values())


# --- the campaign's groups, in its order ----------------------------------------------------

def test_the_form_and_the_api_offer_the_campaigns_groups_in_its_order(
        app: Any, client: Any) -> None:
    assert options(client.get("/").data.decode()) == ["un", "eu", "coe", "gov"]
    offer("coe", "un")
    page = client.get("/").data.decode()
    assert options(page) == ["coe", "un"]
    assert 'value="coe" selected' in page  # the first is chosen to start with
    assert 'id="country-field"' not in page  # no group chosen by country: no country to pick
    refused = client.post("/api/letters", json=submission(body="eu"))
    assert refused.status_code == 422
    assert refused.json["errors"] == {"body": "Choose one of: coe, un."}
    assert stored() == (0, 0, 0)
    give_the_coe_an_inbox()
    assert client.post("/api/letters", json=submission(body="coe")).status_code == 202
    offer("un", "coe")
    assert options(client.get("/").data.decode()) == ["un", "coe"]
    refused = client.post("/api/letters", json=submission(body="gov", country="FR"))
    assert refused.json["errors"] == {"body": "Choose one of: un, coe."}


def test_the_choices_are_said_in_the_supporters_language(app: Any, client: Any) -> None:
    offer("coe", "un")
    refused = client.post("/api/letters", json=submission(body="eu"),
                          headers={"Accept-Language": "fr"})
    assert refused.json["errors"]["body"] == (
        "Veuillez choisir l'une des valeurs suivantes\u00a0: coe, un.")


def test_a_group_with_no_active_official_is_not_offered(app: Any, client: Any) -> None:
    add_group("empty", offered=True, letters=("en",))
    add_group("gone", offered=True, officials=[("gone-office", "")], letters=("en",))
    db.session.execute(update(Official).where(Official.key == "gone-office").values(active=False))
    db.session.commit()
    assert options(client.get("/").data.decode()) == ["un", "eu", "coe", "gov"]
    # Sent anyway (an old page, the API): it says so, and the choices leave it out.
    refused = client.post("/api/letters", json=submission(body="empty"))
    assert refused.status_code == 422
    assert refused.json["errors"]["body"] == "No official of this body is set up for letters yet."
    offer("un", "empty")
    refused = client.post("/api/letters", json=submission(body="eu"))
    assert refused.json["errors"]["body"] == "Choose one of: un."


def test_an_opt_in_group_is_offered_only_by_campaigns_that_choose_it(
        app: Any, client: Any) -> None:
    russian_authorities()
    assert "ru-auth" not in options(client.get("/").data.decode())
    refused = client.post("/api/letters", json=submission(body="ru-auth", language="ru"))
    assert refused.status_code == 422 and "ru-auth" not in refused.json["errors"]["body"]
    offer("ru-auth", "un")
    assert options(client.get("/").data.decode()) == ["ru-auth", "un"]


# --- chosen by country ----------------------------------------------------------------------

def test_a_group_chosen_by_country_asks_for_one_and_writes_to_its_offices(
        app: Any, client: Any) -> None:
    add_group("parl", by_country=True, offered=True, letters=("en",),
              officials=[("parl-de", "DE"), ("parl-at", "AT")])
    offer("un", "parl")
    page = client.get("/").data.decode()
    assert 'id="country-field"' in page and '<option value="parl" data-by-country>' in page
    assert '<option value="un" selected>' in page  # no data-by-country: no country for it
    countries = re.search(r'<select id="country".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="([A-Z]{2})"', countries) == ["AT", "DE"]

    missing = client.post("/api/letters", json=submission(body="parl"))
    assert missing.status_code == 422
    assert missing.json["errors"] == {"country": "Country of the offices is required."}
    nobody = client.post("/api/letters", json=submission(body="parl", country="FR"))
    assert nobody.status_code == 422 and "No official" in nobody.json["errors"]["country"]
    stray = client.post("/api/letters", json=submission(body="un", country="DE"))
    assert stray.status_code == 422 and "chosen by country" in stray.json["errors"]["country"]
    assert stored() == (0, 0, 0)

    assert client.post("/api/letters", json=submission(body="parl", country="DE")
                       ).status_code == 202
    targets = db.session.scalars(select(Official.key).join(
        Letter, Letter.target_id == Official.id)).all()
    assert targets == ["parl-de"]


def test_the_form_sends_the_country_only_for_a_group_chosen_by_country(
        app: Any, client: Any) -> None:
    add_group("parl", by_country=True, offered=True, letters=("en",),
              officials=[("parl-de", "DE")])
    token = csrf(client, "/")
    form = {"csrf_token": token, "body": "un", "country": "DE", "language": "en",
            "name": "Ada Lovelace", "email": "ada@example.org", "city": "London",
            "supporter_country": "GB", "consent": "yes", "action": "send"}
    # The select is in every form (hidden by script for other groups): for the UN it is left.
    assert client.post("/", data=form).status_code == 200
    assert stored()[2] > 0
    sent = client.post("/", data={**form, "body": "parl", "email": "bo@example.org"})
    assert sent.status_code == 200 and "Office parl-de" in sent.data.decode()


# --- letter languages and the risk notice ---------------------------------------------------

def test_a_group_taking_only_russian_refuses_another_language_clearly(
        app: Any, client: Any) -> None:
    russian_authorities()
    offer("ru-auth", "un")
    refused = client.post("/api/letters", json=submission(body="ru-auth", language="en"))
    assert refused.status_code == 422
    assert refused.json["errors"] == {
        "language": "Group ru-auth takes letters only in: Russian."}
    in_russian = client.post("/api/letters", json=submission(body="ru-auth", language="en"),
                             headers={"Accept-Language": "ru"})
    assert in_russian.json["errors"]["language"] == (
        "Группа ru-auth принимает письма только на языках: русский.")
    assert stored() == (0, 0, 0)
    accepted = client.post("/api/letters", json=submission(body="ru-auth", language="ru"))
    assert accepted.status_code == 202
    assert accepted.json["officials"] == [{"official": "Office ru-prosecutor"}]
    # The form's preview says so too, and offers the letter in Russian.
    page = client.get("/?body=ru-auth&lang=en").data.decode()
    assert "Group ru-auth takes letters only in: Russian." in page
    assert 'name="switch_language" value="ru"' in page


def test_a_letter_file_in_a_language_the_group_does_not_take_is_refused(
        app: Any, tmp_path: Path) -> None:
    russian_authorities()
    folder = tmp_path / "ru-auth"
    folder.mkdir()
    (folder / "en.toml").write_text(
        'subject = "S"\ndefault_salutation = "D"\nbody = "{{ salutation }}"\n',
        encoding="utf-8")
    files = read_letter_dir(tmp_path)  # the folder names a group of the database: read
    with pytest.raises(TemplateFileError, match="the group ru-auth takes letters only in ru"):
        load_letters(campaign(), files)
    (tmp_path / "nato").mkdir()
    (folder / "en.toml").rename(tmp_path / "nato" / "en.toml")
    with pytest.raises(TemplateFileError, match="folder must name a group: one of coe, eu"):
        read_letter_dir(tmp_path)


def test_the_risk_notice_shows_when_the_group_is_chosen_without_javascript(
        app: Any, client: Any) -> None:
    russian_authorities()
    offer("ru-auth", "un")
    first = client.get("/?lang=en").data.decode()  # chosen to start with: the first group
    assert 'id="group-risk"' in first and RISK_EN in first
    assert RISK_RU in client.get("/?lang=ru").data.decode()
    assert 'id="group-risk"' not in client.get("/?body=un").data.decode()
    # "Show the letter" (a POST without script) and the live preview both carry it.
    token = csrf(client, "/")
    shown = client.post("/?lang=en", data={"csrf_token": token, "body": "ru-auth",
                                           "language": "ru", "action": "preview"})
    assert RISK_EN in shown.data.decode()
    part = client.post("/preview?lang=en", data={"body": "ru-auth", "language": "ru"})
    assert RISK_EN in part.json["officials"] and part.json["before"]
    other = client.post("/preview?lang=en", data={"body": "un", "language": "en"})
    assert "group-risk" not in other.json["officials"]


def test_the_risk_notice_stands_beside_its_groups_tick_box_before_it_is_ticked(
        app: Any, client: Any) -> None:
    russian_authorities()
    offer("un", "ru-auth")
    page = client.get("/?body=un&lang=ru").data.decode()  # another group previewed
    box = page.split('id="to-ru-auth"')[1].split("</p>")[0]
    assert 'aria-describedby="risk-ru-auth"' in box and "checked" not in box
    beside = page.split('id="risk-ru-auth"')[1].split("</p>")[0]
    assert RISK_RU in beside
    assert 'id="risk-un"' not in page  # a group without a notice has none


# --- the admin ------------------------------------------------------------------------------

GROUP_FORM = {"slug": "ru-auth", "name": "Russian authorities", "name-ru": "Власти России",
              "position": "5", "languages": ["ru"], "risk-en": RISK_EN, "risk-ru": RISK_RU}


def organizer(app: Any, role: str) -> Any:
    client = app.test_client()
    log_in(client, PEOPLE[role])
    return client


@pytest.mark.usefixtures("people")
def test_editors_define_and_edit_groups_and_viewers_only_see_them(app: Any) -> None:
    editor = organizer(app, "editor")
    token = csrf(editor, "/admin/groups/new")
    bad = editor.post("/admin/groups/new", data={**GROUP_FORM, "slug": "Russia!",
                                                 "languages": ["xx"], "position": "--5",
                                                 "csrf_token": token})
    page = bad.data.decode()
    assert bad.status_code == 422 and 'id="slug-error"' in page and 'value="Russia!"' in page
    assert 'id="languages-error"' in page and 'id="position-error"' in page
    new = editor.post("/admin/groups/new", data={**GROUP_FORM, "slug": "new",
                                                 "csrf_token": token})
    assert new.status_code == 422 and "Choose another slug" in new.data.decode()
    made = editor.post("/admin/groups/new", data={**GROUP_FORM, "csrf_token": token})
    assert made.status_code == 302
    group = db.session.scalars(select(Body).where(Body.slug == "ru-auth")).one()
    assert (group.name, group.names["ru"], group.languages) == (
        "Russian authorities", "Власти России", ["ru"])
    assert group.risk_notices == {"en": RISK_EN, "ru": RISK_RU}
    assert not group.by_country and not group.offered and group.position == 5
    again = editor.post("/admin/groups/new", data={**GROUP_FORM, "csrf_token": token})
    assert again.status_code == 422 and "Another group has this slug" in again.data.decode()
    listing = editor.get("/admin/groups").data.decode()
    assert "Russian authorities" in listing and "opt-in" in listing
    # The official editor and the letter editor offer it.
    assert '<option value="ru-auth"' in editor.get("/admin/targets/new").data.decode()
    letters = editor.get("/admin/letters").data.decode()
    assert "/admin/letters/free-azat-miftakhov/ru-auth/ru" in letters
    assert "/admin/letters/free-azat-miftakhov/ru-auth/en" not in letters
    assert editor.get("/admin/letters/free-azat-miftakhov/ru-auth/en").status_code == 404

    edited = editor.post("/admin/groups/ru-auth", data={
        **GROUP_FORM, "slug": "changed", "by_country": "yes", "offered": "yes",
        "csrf_token": token})
    assert edited.status_code == 302
    db.session.refresh(group)
    assert group.slug == "ru-auth" and group.by_country and group.offered
    actions = db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.subject == "ru-auth").order_by(AuditEntry.id)).all()
    assert actions == ["add group", "edit group"]

    viewer = organizer(app, "viewer")
    assert viewer.get("/admin/groups/ru-auth").status_code == 200
    refused = viewer.post("/admin/groups/ru-auth", data={**GROUP_FORM, "csrf_token": csrf(
        viewer, "/admin/groups/ru-auth")})
    assert refused.status_code == 403


@pytest.mark.usefixtures("people")
def test_a_group_with_officials_lacking_a_country_cannot_become_chosen_by_country(
        app: Any) -> None:
    editor = organizer(app, "editor")
    token = csrf(editor, "/admin/groups/un")
    reply = editor.post("/admin/groups/un", data={"name": "United Nations", "position": "1",
                                                  "offered": "yes", "by_country": "yes",
                                                  "csrf_token": token})
    assert reply.status_code == 422 and "have no country" in reply.data.decode()
    assert not db.session.scalars(select(Body.by_country).where(Body.slug == "un")).one()


@pytest.mark.usefixtures("people")
def test_owners_choose_the_campaigns_groups_and_their_order(app: Any, client: Any) -> None:
    russian_authorities()
    owner = organizer(app, "owner")
    url = "/admin/campaigns/free-azat-miftakhov"
    page = owner.get(url).data.decode()
    assert 'id="position-ru-auth"' in page and 'id="body-ru-auth"' in page
    settings = {"name": "Free Azat Miftakhov", "relay": "", "per_domain": "",
                "per_official_hour": "", "per_official_day": "", "domains": "",
                "reply_to": "supporter", "csrf_token": csrf(owner, url)}
    reply = owner.post(url, data={**settings, "bodies": ["un", "ru-auth", "gov"],
                                  "position-un": "2", "position-ru-auth": "1",
                                  "position-gov": ""})
    assert reply.status_code == 302, reply.data.decode()
    assert campaign().bodies == ["ru-auth", "un", "gov"]  # a blank number comes last
    assert options(client.get("/").data.decode()) == ["ru-auth", "un", "gov"]
    bad = owner.post(url, data={**settings, "bodies": ["un"], "position-un": "first"})
    assert bad.status_code == 422 and "whole number" in bad.data.decode()
    none = owner.post(url, data=settings)
    assert none.status_code == 422 and "Offer at least one group" in none.data.decode()
    # The default groups in their default order are stored as "the default".
    reply = owner.post(url, data={**settings, "bodies": ["un", "eu", "coe", "gov"]})
    assert reply.status_code == 302 and campaign().bodies == []
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "change campaign")) == 2


def test_the_api_lists_the_campaigns_groups_in_its_order(app: Any, client: Any) -> None:
    russian_authorities()
    add_group("parl", by_country=True, offered=True, letters=("en",),
              officials=[("parl-de", "DE"), ("parl-at", "AT")])
    offer("ru-auth", "parl", "un")
    reply = client.get("/api/groups?campaign=free-azat-miftakhov&lang=ru")
    assert reply.status_code == 200
    assert [g["body"] for g in reply.json["groups"]] == ["ru-auth", "parl", "un"]
    ru, parl, un = reply.json["groups"]
    assert ru == {"body": "ru-auth", "name": "Группа ru-auth", "by_country": False,
                  "countries": [], "languages": ["ru"], "risk_notice": RISK_RU}
    assert parl["by_country"] and parl["countries"] == ["AT", "DE"]
    assert un["name"] == "Организация Объединенных Наций" and un["risk_notice"] is None
    assert client.get("/api/groups").json == reply.json | {"groups": [
        {**g, "name": n, "risk_notice": r} for g, n, r in zip(
            reply.json["groups"], ["Group ru-auth", "Group parl", "United Nations"],
            [RISK_EN, None, None], strict=True)]}
    assert client.get("/api/groups?campaign=nope").status_code == 404
