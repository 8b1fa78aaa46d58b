"""The admin speaks the organizer's language, as the public pages do: the browser's
Accept-Language, or ?lang= for one page. Campaigns, groups, partners, organizers, the outbox,
going live, the page editor, imports and letters waiting, in French and Russian, with no
English sentence left over; flash messages too."""

from __future__ import annotations

import html
from typing import Any

import pytest
from sqlalchemy import select

from advocacy.extensions import db
from advocacy.models import Body, Campaign, Organizer
from advocacy.organizers import accounts

from helpers import PASSWORD, PEOPLE, csrf, log_in, make_partner_account

pytestmark = pytest.mark.usefixtures("people")

# (page, {language: sentences it must show}, English sentences no translated page keeps)
PAGES: list[tuple[str, dict[str, list[str]], list[str]]] = [
    ("/admin/campaigns", {
        "fr": ["Nouvelle campagne", "Identifiant (dans les adresses)", "Créer (en pause)"],
        "ru": ["Новая кампания", "Принимает письма сейчас", "Создать (приостановленной)"]},
     ["New campaign", "Taking letters now", "Create (paused)", "on the home page"]),
    ("/admin/campaigns/{slug}", {
        "fr": ["Mettre l'envoi en pause", "Les propres mots des soutiens", "lundi",
               "Copier cette campagne"],
        "ru": ["Приостановить отправку", "Безопасность сторонников", "понедельник",
               "Скопировать эту кампанию", "Состояние:"]},
     ["Pause sending", "Supporters' safety", "Monday", "Copy this campaign",
      "Letters that may have arrived", "Rate limits", "Where officials' replies go"]),
    ("/admin/campaigns/{slug}/page/en", {
        "fr": ["Page publique : anglais (en)", "Enregistrer comme nouvelle version",
               "Dernières nouvelles"],
        "ru": ["Публичная страница: английский (en)", "Сохранить как новую версию",
               "Последние новости"]},
     ["Save as a new version", "What happened, in one line", "What the image shows",
      "Open the public page"]),
    ("/admin/groups", {
        "fr": ["Groupes de bureaux", "Définir un groupe", "Responsables actifs"],
        "ru": ["Группы адресатов", "Создать группу", "Активные адресаты"]},
     ["Groups of offices", "Supporters first choose a group", "Active officials"]),
    ("/admin/groups/new", {
        "fr": ["Nom, en anglais (obligatoire)", "Avertissement de risque : russe"],
        "ru": ["Название на английском (обязательно)", "Предупреждение о риске: русский"]},
     ["Name, in English", "Risk notice in", "Offered by default", "Back to the groups"]),
    ("/admin/groups/un", {
        "fr": ["Identifiant : <code>un</code>", "rédigez ses lettres"],
        "ru": ["Идентификатор: <code>un</code>", "напишите её письма"]},
     ["Slug:", "write its letters", "add an official"]),
    ("/admin/live", {
        "fr": ["D'abord : les responsables dont personne n'a vérifié l'adresse",
               "Ensuite : le basculement"],
        "ru": ["Сначала: адресаты, чей адрес никто не проверил", "Затем: переключение",
               "тестовый"]},
     ["First: officials whose address", "Then: the switch", "This server runs in",
      "Live mode is set where"]),
    ("/admin/organizers", {
        "fr": ["Inviter quelqu'un", "Envoyer l'invitation", "Second facteur", "propriétaire"],
        "ru": ["Пригласить человека", "Отправить приглашение", "Второй фактор", "владелец",
               "Открытые приглашения"]},
     ["Invite someone", "Send the invitation", "Second factor", "Viewers read",
      "Open invitations", "Revoke"]),
    ("/admin/outbox", {
        "fr": ["Boîte d'envoi", "capteur de courrier local"],
        "ru": ["перехватчиком почты"]},
     ["Test mode", "read the messages there"]),
    ("/admin/partners", {
        "fr": ["Ajouter un partenaire", "Envois", "E-mail de contact",
               "accepté d'avoir des nouvelles de la campagne"],
        "ru": ["Добавить партнёра", "Контактный адрес", "Собственная рассылка кампании",
               "сторонников согласились"]},
     ["Add a partner", "Submissions", "Contact email", "The campaign's own newsletter",
      "supporters agreed"]),
    ("/admin/partners/{partner}", {
        "fr": ["Tous les partenaires", "Le compteur des lettres remises :", "Confirmés par e-mail"],
        "ru": ["Все партнёры", "Счётчик доставленных писем:", "Подтверждено по почте"]},
     ["All partners", "The counter of delivered letters", "Confirmed by email",
      "On the partner's site", "Changing the ref"]),
    ("/admin/targets/import", {
        "fr": ["Importer des responsables", "Ce que fait un import", "Colonnes CSV"],
        "ru": ["Импорт адресатов", "Что делает импорт", "Столбцы CSV", "(обязательно)"]},
     ["Import officials", "What an import does", "CSV columns", "(required)",
      "the office, in English"]),
    ("/admin/moderation", {
        "fr": ["Filtrer"], "ru": ["Отобрать"]},
     ["Letters waiting for an organizer", "Nothing is waiting."]),
    ("/admin/", {
        "fr": ["Lettres dans les propres mots des soutiens", "parmi les lettres confirmées"],
        "ru": ["Письма своими словами сторонников", "из подтверждённых писем"]},
     ["Letters in supporters' own words", "of the letters confirmed", "distinct paragraph"]),
]


def _owner(app: Any, **headers: str) -> Any:
    client = app.test_client()
    log_in(client, PEOPLE["owner"])
    if headers:
        client.environ_base.update({f"HTTP_{k.upper().replace('-', '_')}": v
                                    for k, v in headers.items()})
    return client


def _setting_up() -> dict[str, str]:
    """A campaign, a partner and an open invitation, so that every part of the pages shows."""
    slug = db.session.scalar(select(Campaign.slug).where(Campaign.is_default.is_(True)))
    partner = make_partner_account("someone@ngo.test", "ngo", "NGO")
    owner = db.session.scalar(select(Organizer).where(Organizer.email == PEOPLE["owner"]))
    accounts.invite(owner, "new@example.org", "editor")
    assert db.session.scalar(select(Body).where(Body.slug == "un")) is not None
    return {"slug": str(slug), "partner": str(partner.id)}


def _text(reply: Any) -> str:
    assert reply.status_code == 200, reply.status_code
    return html.unescape(reply.data.decode())


@pytest.mark.parametrize("lang", ["fr", "ru"])
def test_the_admin_pages_speak_the_browsers_language(app: Any, lang: str) -> None:
    names = _setting_up()
    client = _owner(app, **{"Accept-Language": f"{lang},en;q=0.5"})
    for url, wanted, english in PAGES:
        page = _text(client.get(url.format(**names)))
        assert f'<html lang="{lang}">' in page, url
        for sentence in wanted[lang]:
            assert sentence in page, (url, sentence)
        for sentence in english:
            assert sentence not in page, (url, sentence)


def test_lang_in_the_address_chooses_the_language_and_english_stays_the_default(
        app: Any) -> None:
    _setting_up()
    client = _owner(app)
    assert "Groups of offices" in _text(client.get("/admin/groups"))
    assert "Группы адресатов" in _text(client.get("/admin/groups?lang=ru"))
    assert "Groupes de bureaux" in _text(client.get("/admin/groups?lang=fr"))
    assert "Groups of offices" in _text(client.get("/admin/groups?lang=xx"))


def test_the_partner_account_and_the_invitation_speak_russian(app: Any) -> None:
    _setting_up()
    partner = app.test_client()
    partner.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    log_in(partner, "someone@ngo.test", PASSWORD)
    page = _text(partner.get("/admin/partner"))
    assert "Сторонники, желающие получать от Вас новости" in page and "На Вашем сайте" in page
    assert "Supporters who want to hear from you" not in page and "On your site" not in page
    owner = db.session.scalar(select(Organizer).where(Organizer.email == PEOPLE["owner"]))
    _, token = accounts.invite(owner, "joins@example.org", "viewer")
    stranger = app.test_client()
    stranger.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    page = _text(stranger.get(f"/admin/invitation/{token}"))
    assert "Присоединиться с ролью «наблюдатель»" in page and "Создать мою учётную запись" in page
    assert "Join as" not in page and "The same again" not in page


def test_flash_messages_and_errors_speak_russian(app: Any) -> None:
    names = _setting_up()
    client = _owner(app, **{"Accept-Language": "ru"})
    url = "/admin/campaigns"
    reply = client.post(url, data={"slug": "X", "name": "", "csrf_token": csrf(client, url)})
    page = html.unescape(reply.data.decode())
    assert reply.status_code == 422
    assert "Идентификатор — от 2 до 79 строчных латинских букв" in page
    assert "Нужно название (не более 200 символов)." in page
    reply = client.post(url, data={"slug": "second", "name": "Second",
                                   "csrf_token": csrf(client, url)}, follow_redirects=True)
    assert "Кампания second создана и приостановлена" in _text(reply)
    url = f"/admin/partners/{names['partner']}"
    reply = client.post(url, data={"name": "NGO", "ref": "ngo", "site_url": "",
                                   "contact_email": "", "csrf_token": csrf(client, url)},
                        follow_redirects=True)
    assert "Сохранено." in _text(reply) and "Saved." not in _text(reply)
