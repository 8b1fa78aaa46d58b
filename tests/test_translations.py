"""The pages speak English, French, German, Russian, Spanish, Italian and Portuguese, with no
string left out."""

from __future__ import annotations

import gettext
import json
import re
import subprocess
import sys
from typing import Any

import pytest
from babel.messages.pofile import read_po
from markupsafe import escape

from advocacy.officials.files import LANGUAGES

from helpers import ROOT, submission

TRANSLATIONS = ROOT / "advocacy" / "translations"
LANGS = [lang for lang in LANGUAGES if lang != "en"]  # English is the source


# The admin is the organizers': it speaks the five languages the project began with (issue
# 20); every word a supporter or an official reads is in every page language.
ADMIN_LANGUAGES = ("fr", "de", "ru", "es")
ADMIN_PATHS = ("advocacy/admin/", "advocacy/templates/admin/")


@pytest.fixture(scope="module")
def source_ids(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bool]:
    """Every translatable string in the code as it is now, and whether only the admin uses
    it."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F",
                    str(ROOT / "babel.cfg"), "-o", str(pot), str(ROOT)],
                   check=True, capture_output=True, cwd=ROOT)
    with pot.open("rb") as fh:
        return {_key(m.id, m.context): all(
                    (ROOT / path).resolve().relative_to(ROOT.resolve()).as_posix()
                    .startswith(ADMIN_PATHS) for path, _line in m.locations)
                for m in read_po(fh) if m.id}


def _key(msgid: str | tuple[str, ...], context: str | None = None) -> str:
    """A plural message by its singular: plural forms are checked form by form. A message
    with a context (pgettext) as gettext stores it: the context, EOT, the message."""
    singular = msgid[0] if isinstance(msgid, tuple) else msgid
    return f"{context}\x04{singular}" if context else singular


@pytest.mark.parametrize("lang", LANGS)
def test_every_string_is_translated_and_compiled(lang: str,
                                                 source_ids: dict[str, bool]) -> None:
    folder = TRANSLATIONS / lang / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as fh:
        po = read_po(fh, locale=lang)
    catalog = {_key(m.id, m.context): m for m in po if m.id}
    wanted = {i for i, admin_only in source_ids.items()
              if lang in ADMIN_LANGUAGES or not admin_only}
    missing = sorted(i for i in wanted
                     if i not in catalog or not all(catalog[i].string if isinstance(
                         catalog[i].string, tuple) else [catalog[i].string]))
    assert not missing, f"{lang}: translate these, then pybabel compile: {missing}"
    with (folder / "messages.mo").open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    stale = []
    for i in wanted:
        message = catalog[i]
        if isinstance(message.id, tuple):
            forms = [compiled.ngettext(message.id[0], message.id[1], n) for n in range(30)]
            if set(forms) != set(message.string):  # every form is used by some number
                stale.append(i)
        else:
            context, _, singular = i.rpartition("\x04")
            shown = compiled.pgettext(context, singular) if context else compiled.gettext(i)
            if shown != message.string:
                stale.append(i)
    assert not stale, f"{lang}: run pybabel compile -d advocacy/translations: {stale}"


@pytest.mark.parametrize(("lang", "button"), [("fr", "Envoyer mes lettres"),
                                               ("de", "Meine Briefe senden"),
                                               ("ru", "Отправить мои письма"),
                                               ("es", "Enviar mis cartas"),
                                               ("it", "Invia le mie lettere"),
                                               ("pt", "Enviar minhas cartas"),
                                               ("en", "Send my letters")])
def test_the_page_in_each_language(client: Any, lang: str, button: str) -> None:
    page = client.get(f"/?lang={lang}").data.decode()
    assert f'<html lang="{lang}">' in page and button in page


def translation(lang: str, msgid: str) -> str:
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return str(read_po(fh)[msgid].string)


@pytest.mark.parametrize("lang", LANGS)
def test_field_messages_speak_the_supporters_language(client: Any, lang: str) -> None:

    consent = "Your consent is needed to send letters in your name."
    reply = client.post("/api/letters", json=submission(consent=False),
                        headers={"Accept-Language": lang})
    assert reply.json["errors"]["consent"] == translation(lang, consent) != consent
    page = client.post(f"/?lang={lang}", data={"action": "send", "language": lang}).data.decode()
    expired = translation(lang, "The form had expired. Please send it again.")
    assert str(escape(expired)) in page


# Words of each page the supporter reads, in Italian and Portuguese: the catalog's and the
# shipped story's (campaigns/free-azat-miftakhov/<lang>.md).
NEW_LANGUAGES = {
    "it": ("Libertà per Azat Miftakhov", "Lingua di questa pagina", "Il suo nome",
           "Scriva ai responsabili che possono agire", "Informativa sulla privacy",
           "Nazioni Unite"),
    "pt": ("Liberdade para Azat Miftakhov", "Idioma desta página", "Seu nome",
           "Escreva às autoridades que podem agir", "Aviso de privacidade",
           "Nações Unidas"),
}


@pytest.mark.parametrize("lang", sorted(NEW_LANGUAGES))
def test_the_campaign_page_in_italian_and_portuguese(client: Any, lang: str) -> None:
    page = client.get(f"/?lang={lang}").data.decode()
    assert f'<html lang="{lang}">' in page
    for words in NEW_LANGUAGES[lang]:
        assert str(escape(words)) in page, words
    # The browser's own language chooses it too, and every language is in the bar.
    asked = client.get("/", headers={"Accept-Language": f"{lang}-BR,{lang};q=0.9"}).data.decode()
    assert f'<html lang="{lang}">' in asked
    for code in LANGUAGES:
        assert f'hreflang="{code}"' in page, code


def test_every_language_is_in_the_bar_and_the_embed_help(client: Any) -> None:
    page = client.get("/privacy?lang=it").data.decode()
    for code, name in [("it", "Italiano"), ("pt", "Português"), ("ru", "Русский")]:
        assert f'<a href="?lang={code}" lang="{code}" hreflang="{code}"' in page
        assert name in page
    embed = client.get("/embed?lang=pt").data.decode()
    assert "Defina lang como um destes valores: " + ", ".join(LANGUAGES) + "." in embed


@pytest.mark.parametrize(("days", "words"), [(1, "через 1 день после"), (3, "через 3 дня после"),
                                             (30, "через 30 дней после"),
                                             (21, "через 21 день после")])
def test_the_retention_period_in_russian_plural_forms(app: Any, client: Any, days: int,
                                                     words: str) -> None:
    app.config["RETENTION_DAYS"] = days
    page = client.get("/privacy?lang=ru").data.decode()
    assert words in page and "дн." not in page


@pytest.mark.parametrize("lang", sorted(NEW_LANGUAGES))
def test_italian_and_portuguese_keep_every_placeholder(lang: str) -> None:
    fields = re.compile(r"%\([a-z_]+\)[sd]|%%")
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        po = read_po(fh, locale=lang)
    assert po.num_plurals == 2
    wrong = []
    for m in po:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        expected = sorted(set(fields.findall(ids[-1])) | set(fields.findall(ids[0])))
        for text in strings:
            if sorted(set(fields.findall(text))) != expected:
                wrong.append(m.id)
    assert not wrong, wrong


def test_the_api_description_names_every_language() -> None:
    spec = json.loads((ROOT / "advocacy" / "api" / "openapi.json").read_text())
    assert spec["components"]["parameters"]["lang"]["schema"]["enum"] == list(LANGUAGES)
    assert f"({', '.join(LANGUAGES)})" in spec["info"]["description"]
