"""No English left in a German or Russian admin (issue 20): every admin page, the import's
preview and its problems, the official's form with its field errors, account errors, flash
messages; groups named in the organizer's language and languages by their names."""

from __future__ import annotations

import html
import io
import re
from typing import Any

import pytest
from sqlalchemy import select, update

from advocacy.extensions import db
from advocacy.letters.states import HoldReason, LetterStatus
from advocacy.models import Letter, Official, Organizer
from advocacy.officials.rows import COLUMNS, row_of_official
from advocacy.organizers import accounts

from helpers import PASSWORD, PEOPLE, csrf, log_in, make_partner_account, seed_queued

pytestmark = pytest.mark.usefixtures("people")

SLUG = "free-azat-miftakhov"
# (page, {language: words it must show}, English it must not show in either language)
PAGES: list[tuple[str, dict[str, list[str]], list[str]]] = [
    ("/admin/targets", {
        "de": ["Eine Stelle hinzufügen", "Aus CSV oder einer Zieldatei importieren",
               "Alle Gruppen", "Vereinte Nationen", "Europarat", "Stellen.", "Geprüft"],
        "ru": ["Добавить адресата", "Все группы", "Организация Объединенных Наций",
               "Проверен"]},
     ["Add an official", "Import from CSV", "All groups", "All countries", "Search office",
      ">United Nations<", "officials.", "Verified</th>"]),
    ("/admin/targets/{torture}", {
        "de": ["Alle Amtsträger", "Prüfung", "Diese Stelle bearbeiten",
               "Was die Stelle selbst gewählt hat", "Englisch (<code>en</code>)",
               "Anrede (Russisch)", "Deaktivieren und 2 Briefe stornieren"],
        "ru": ["Все адресаты", "Проверка", "Изменить этого адресата",
               "Что выбрал сам адресат", "Английский (<code>en</code>)",
               "Обращение (русский)", "Деактивировать и отменить 2 письма"]},
     ["All officials", "Verification", "Edit this official", "The office's own say",
      "Salutation (", "Deactivate and cancel", "Not verified:", "Why (kept"]),
    ("/admin/letters", {
        "de": ["Der Appell, den jede Stelle erhält", "Vereinte Nationen", "Gespeichert (UTC)"],
        "ru": ["Обращение, которое получает каждый адресат", "Организация Объединенных Наций"]},
     ["The appeal each official receives", "Saved (UTC)", "United Nations,"]),
    (f"/admin/letters/{SLUG}/un/en", {
        "de": ["Der Brief", "Vorschau: genau die E-Mail", "Mir einen Test schicken",
               "Jede Stelle ohne eigene Bitte (der Standard)", "Versionen", "(aktuell)",
               "Betreff: ", "Bitte an un-sr-torture:"],
        "ru": ["Письмо", "Предпросмотр: письмо в точности", "Прислать мне тест",
               "Каждый адресат без собственной просьбы (по умолчанию)", "Версии", "Тема: ",
               "Просьба для un-sr-torture:"]},
     ["The letter", "Preview: exactly the email", "Send me a test", "Every office without",
      "Save as a new version", "Bring back this version", "(current)", "Also allowed",
      "Subject: ", "Ask for "]),
    ("/admin/report", {
        "de": ["Übergabebericht", "Bericht erstellen", "(oder eine ganze Gruppe)"],
        "ru": ["Составить отчёт", "(или вся группа)"]},
     ["A page to print and hand over", "Make the report", "(or a whole group)"]),
    ("/admin/groups", {
        "de": ["Vereinte Nationen", "Europarat"],
        "ru": ["Организация Объединенных Наций"]},
     [">United Nations<", ">Council of Europe<"]),
    ("/admin/groups/new", {
        "de": ["Name: Russisch (leer: der englische Name)", "Risikohinweis: Russisch",
               "Russisch (<code>ru</code>)"],
        "ru": ["Название: русский (пусто: английское название)",
               "Предупреждение о риске: русский"]},
     ["(empty: the English name)", "Risk notice:"]),
    (f"/admin/campaigns/{SLUG}", {
        "de": ["Vereinte Nationen (un)", "Nummer von Vereinte Nationen"],
        "ru": ["Организация Объединенных Наций (un)"]},
     ["United Nations (un)", "Number of"]),
    (f"/admin/campaigns/{SLUG}/page/ru", {
        "de": ["Öffentliche Seite: Russisch (ru)", "Version 1", "von einer Datei", "Titel: ",
               "Geschichte:"],
        "ru": ["Публичная страница: русский (ru)", "Версия 1", "Заголовок: ", "История:"]},
     ["Public page", "(current)", ", by a file", "Title: ", "Story:"]),
    ("/admin/partners", {"de": ["Einsendungen"], "ru": ["Добавить партнёра"]},
     ["Submissions", "Add a partner"]),
    ("/admin/account", {"de": ["Inhaber"], "ru": ["владелец"]}, [", owner."]),
    ("/admin/", {"de": ["Vereinte Nationen"], "ru": ["Организация Объединенных Наций"]},
     [">United Nations<"]),
]


def _client(app: Any, lang: str, who: str = PEOPLE["owner"]) -> Any:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    if who:
        log_in(client, who, PASSWORD)
    return client


def _text(reply: Any, status: int = 200) -> str:
    assert reply.status_code == status, reply.status_code
    return html.unescape(reply.data.decode())


def _torture() -> Official:
    found = db.session.scalar(select(Official).where(Official.key == "un-sr-torture"))
    assert found is not None
    return found


def _setting_up() -> dict[str, str]:
    """Letters waiting for an office, a partner, an open invitation: every part shows."""
    seed_queued(2, "un")  # a letter from each of two supporters to each office
    torture = _torture()
    first = db.session.scalar(select(Letter.id).where(Letter.target_id == torture.id).limit(1))
    db.session.execute(update(Letter).where(Letter.id == first).values(
        status=LetterStatus.HELD, hold_reason=HoldReason.PAUSED))
    db.session.commit()
    make_partner_account("someone@ngo.test", "ngo", "NGO")
    owner = db.session.scalar(select(Organizer).where(Organizer.email == PEOPLE["owner"]))
    accounts.invite(owner, "new@example.org", "editor")
    return {"torture": str(torture.id)}


@pytest.mark.parametrize("lang", ["de", "ru", "fr", "es"])
def test_every_admin_page_speaks_the_organizers_language(app: Any, lang: str) -> None:
    """In German and Russian, the words are checked; in French and Spanish, that the pages
    render and keep none of the English."""
    names = _setting_up()
    client = _client(app, lang)
    for url, wanted, english in PAGES:
        page = _text(client.get(url.format(**names)))
        assert f'<html lang="{lang}">' in page, url
        for words in wanted.get(lang, []):
            assert words in page, (url, words)
        for words in english:
            assert words not in page, (url, words)


def test_english_stays_the_default(app: Any) -> None:
    names = _setting_up()
    client = _client(app, "en")
    page = _text(client.get(f"/admin/targets/{names['torture']}"))
    assert "Deactivate and cancel 2 letters" in page and "Salutation (Russian)" in page
    page = _text(client.get("/admin/targets"))
    assert "Add an official" in page and ">United Nations<" in page and "officials." in page


def _csv(*rows: dict[str, str], columns: tuple[str, ...] = COLUMNS) -> bytes:
    lines = [",".join(columns)]
    lines += [",".join(f'"{row.get(name, "")}"' for name in columns) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def _upload(client: Any, name: str, data: bytes) -> Any:
    url = "/admin/targets/import"
    return client.post(url, data={"csrf_token": csrf(client, url),
                                  "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


IMPORT = {
    "de": ["Zeile 1", "unbekannte Spalte", "Zeile 2", "unbekannte IANA-Zeitzone",
           "mindestens 3 Zeichen", "Zeile 3", "muss eines davon sein", "Laden Sie eine .csv-Datei",
           "Diese Vorschau ist nicht lesbar", "Hinzuzufügen: 0"],
    "ru": ["строка 1", "неизвестный столбец", "строка 2", "неизвестный часовой пояс IANA",
           "не менее 3 символов", "строка 3", "должно быть одним из", "Загрузите файл .csv",
           "Этот предпросмотр не читается"],
}
IMPORT_ENGLISH = ["row 1", "unknown column", "row 2", "unknown IANA time zone",
                  "String should have", "must be one of", "Upload a .csv file",
                  "This preview cannot be read", "to add,"]


@pytest.mark.parametrize("lang", ["de", "ru"])
def test_the_import_says_its_problems_in_the_organizers_language(app: Any, lang: str) -> None:
    client = _client(app, lang)
    wgad = row_of_official(db.session.scalar(select(Official).where(Official.key == "un-wgad")))
    shown = _text(_upload(client, "a.csv", _csv({}, columns=(*COLUMNS, "colour"))), 422)
    shown += _text(_upload(client, "b.csv", _csv(
        {**wgad, "timezone": "Mars/Olympus", "office": "ab"},
        {**wgad, "key": "un-new-office", "body": "nowhere"})), 422)
    shown += _text(_upload(client, "c.txt", b"key\n"), 422)
    shown += _text(client.post("/admin/targets/import/apply", data={
        "csrf_token": csrf(client, "/admin/targets/import"), "token": "forged"}), 422)
    for words in IMPORT[lang]:
        assert words in shown, words
    for words in IMPORT_ENGLISH:
        assert words not in shown, words


def test_the_import_words_its_problems_in_english_outside_a_request(app: Any) -> None:
    """The plan is made without a request (a command, a job): its words are English then."""
    from advocacy.organizers import official_import

    plan = official_import.plan("a.csv", "key,colour\n")
    assert [(str(p.where), p.field, str(p.reason)) for p in plan.problems][:2] == [
        ("row 1", "colour", "unknown column"), ("row 1", "body", "missing column")]


@pytest.mark.parametrize(("lang", "words", "english"), [
    ("de", ["Wählen Sie eine Gruppe.", "mindestens 3 Zeichen", "Pflichtfeld"],
     ["Choose a group.", "String should have", "Field required"]),
    ("ru", ["Выберите группу.", "не менее 3 символов"],
     ["Choose a group.", "String should have"]),
])
def test_the_officials_form_says_its_field_errors_in_the_organizers_language(
        app: Any, lang: str, words: list[str], english: list[str]) -> None:
    client = _client(app, lang)
    url = "/admin/targets/new"
    page = _text(client.post(url, data={
        "csrf_token": csrf(client, url), "office": "ab", "source": "x", "languages": "en",
        "timezone": "Europe/Paris", "email": "someone@example.org"}), 422)
    for shown in words:
        assert shown in page, shown
    for shown in english:
        assert shown not in page, shown
    # A field's error sits next to its field, described by it.
    assert re.search(r'id="office"[^>]*aria-invalid="true"', page)


@pytest.mark.parametrize(("lang", "words"), [
    ("de", ["Einladung", "Diese Einladung ist ungültig.",
            "Die E-Mail-Adresse oder das Passwort ist falsch.",
            "Diese E-Mail-Adresse ist nicht verwendbar: Es fehlt das @-Zeichen",
            "Die Rolle muss eine von diesen sein:", "Organisatoren: anmelden"]),
    ("ru", ["Приглашение", "Это приглашение недействительно.", "Неверный адрес или пароль.",
            "Этот адрес нельзя использовать: Не хватает знака @", "Роль должна быть одной из:",
            "Организаторы: вход"]),
])
def test_account_errors_speak_the_organizers_language(app: Any, lang: str,
                                                       words: list[str]) -> None:
    stranger = _client(app, lang, who="")
    shown = _text(stranger.get("/admin/invitation/not-a-token"), 404)
    shown += _text(stranger.get("/admin/login"))
    shown += _text(stranger.post("/admin/login", data={
        "email": PEOPLE["owner"], "password": "wrong", "csrf_token": csrf(stranger)}), 401)
    owner = _client(app, lang)
    for email, role in (("not-an-address", "viewer"), ("someone@example.org", "boss")):
        shown += _text(owner.post("/admin/organizers/invite", data={
            "email": email, "role": role, "csrf_token": csrf(owner, "/admin/organizers")},
            follow_redirects=True))
    for text in words:
        assert text in shown, text
    for text in ("This invitation is not valid.", "The email or the password is wrong.",
                 "@-sign", "The role must be", "Organizers: log in", "<h1>Invitation"):
        assert text not in shown, text


@pytest.mark.parametrize(("lang", "words"), [
    ("de", ["un-sr-torture ist inaktiv. Storniert: 2 noch nicht an die Stelle gesendete Briefe.",
            "un-sr-torture ist wieder aktiv"]),
    ("ru", ["un-sr-torture неактивен. Отменено: 2 ещё не отправленных ему письма.",
            "un-sr-torture снова активен"]),
])
def test_flash_messages_about_officials_speak_the_organizers_language(
        app: Any, lang: str, words: list[str]) -> None:
    names = _setting_up()
    client = _client(app, lang)
    url = f"/admin/targets/{names['torture']}/active"
    token = csrf(client, f"/admin/targets/{names['torture']}")
    shown = _text(client.post(url, data={"active": "no", "csrf_token": token},
                              follow_redirects=True))
    shown += _text(client.post(url, data={"active": "yes", "csrf_token": token},
                               follow_redirects=True))
    for text in words:
        assert text in shown, text
    assert "is inactive. Cancelled" not in shown and "is active again" not in shown


SETTINGS = {"name": "Free Azat Miftakhov", "sender": "not an address", "opens_at": "",
            "closes_at": "", "bodies": ["un"], "relay": "lots", "per_domain": "",
            "per_official_hour": "20/hour", "per_official_day": "100/day", "domains": "",
            "window_on": "yes", "window_start": "18:00", "window_end": "09:00",
            "window_days": ["0"], "digest_at": "18:30", "privacy_notice": ""}


@pytest.mark.parametrize(("lang", "words"), [
    ("de", ["ist keine Rate wie", "Es fehlt das @-Zeichen", "das Ende muss nach dem Beginn"]),
    ("ru", ["— не частота вида", "Не хватает знака @", "конец должен быть позже начала"]),
])
def test_campaign_and_partner_field_errors_speak_the_organizers_language(
        app: Any, lang: str, words: list[str]) -> None:
    """The limits' reasons and email-validator's, which speak English by themselves."""
    names = {"partner": str(make_partner_account("someone@ngo.test", "ngo", "NGO").id)}
    client = _client(app, lang)
    url = f"/admin/campaigns/{SLUG}"
    shown = _text(client.post(url, data={**SETTINGS, "csrf_token": csrf(client, url)}), 422)
    url = f"/admin/partners/{names['partner']}"
    shown += _text(client.post(url, data={"name": "NGO", "ref": "ngo", "site_url": "",
                                          "contact_email": "nobody",
                                          "csrf_token": csrf(client, url)}), 422)
    for text in words:
        assert text in shown, text
    for text in ("is not a rate", "@-sign", "end must be after start"):
        assert text not in shown, text


def test_the_dashboards_tables_name_groups_in_the_organizers_language(app: Any) -> None:
    from advocacy.models import Body
    from advocacy.reporting import dashboard

    un = db.session.scalar(select(Body.id).where(Body.slug == "un"))
    assert dashboard.labels("body", "de")[un] == "Vereinte Nationen (un)"
    assert dashboard.labels("body")[un] == "United Nations (un)"  # (the CSV export: its name)


@pytest.mark.parametrize(("lang", "words"), [("de", "Nicht für Ihre Rolle"),
                                             ("ru", "Недоступно для Вашей роли")])
def test_a_page_beyond_the_role_says_so_in_the_organizers_language(
        app: Any, lang: str, words: str) -> None:
    viewer = _client(app, lang, who=PEOPLE["viewer"])
    for url in ("/admin/organizers", "/admin/targets/new"):
        page = _text(viewer.get(url), 403)
        assert words in page and "Forbidden" not in page, url


@pytest.mark.parametrize(("lang", "words"), [
    ("de", ["Nicht gespeichert", "Lässt sich nicht darstellen: Zeile 1: unbekannter Platzhalter"
            " supporter.nom", "eine Schleife ({% for %}) ist in einem Brief nicht erlaubt",
            "Das ist Pflicht."]),
    ("ru", ["Не удаётся отобразить: строка 1: неизвестная подстановка supporter.nom",
            "цикл ({% for %}) в письме не допускается", "Это обязательное поле."]),
])
def test_the_letter_editor_says_why_a_text_does_not_render_in_the_organizers_language(
        app: Any, lang: str, words: list[str]) -> None:
    from advocacy.campaigns.settings import find_campaign
    from advocacy.letters.versions import current_template
    from advocacy.models import Body

    campaign = find_campaign(None)
    body = db.session.scalar(select(Body).where(Body.slug == "un"))
    assert campaign is not None and body is not None
    template = current_template(campaign, body, "en")
    assert template is not None
    client = _client(app, lang)
    url = f"/admin/letters/{SLUG}/un/en"
    form = {"subject": "", "default_salutation": template.default_salutation,
            "body": "Dear {{ supporter.nom }},\r\n{% for x in range(3) %}x{% endfor %}",
            "subject_variants": "", "suggested_note": "", "official": "un-wgad",
            "base_version": str(template.version), "action": "save"}
    shown = _text(client.post(url, data={**form, "csrf_token": csrf(client, url)}), 422)
    form["body"] = "{% for x in range(3) %}x{% endfor %}"
    shown += _text(client.post(url, data={**form, "csrf_token": csrf(client, url)}), 422)
    for text in words:
        assert text in shown, text
    for text in ("unknown placeholder", "is not allowed in a letter", "This is required",
                 "Does not render"):
        assert text not in shown, text
