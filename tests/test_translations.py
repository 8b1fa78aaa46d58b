"""The pages speak English, French, German, Russian and Spanish, with no string left out."""

from __future__ import annotations

import gettext
import subprocess
import sys
from typing import Any

import pytest
from babel.messages.pofile import read_po
from markupsafe import escape

from helpers import ROOT, submission

TRANSLATIONS = ROOT / "advocacy" / "translations"
LANGS = ["fr", "de", "ru", "es"]


@pytest.fixture(scope="module")
def source_ids(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every translatable string in the code as it is now."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F",
                    str(ROOT / "babel.cfg"), "-o", str(pot), "--no-location", str(ROOT)],
                   check=True, capture_output=True, cwd=ROOT)
    with pot.open("rb") as fh:
        return {_key(m.id, m.context) for m in read_po(fh) if m.id}


def _key(msgid: str | tuple[str, ...], context: str | None = None) -> str:
    """A plural message by its singular: plural forms are checked form by form. A message
    with a context (pgettext) as gettext stores it: the context, EOT, the message."""
    singular = msgid[0] if isinstance(msgid, tuple) else msgid
    return f"{context}\x04{singular}" if context else singular


@pytest.mark.parametrize("lang", LANGS)
def test_every_string_is_translated_and_compiled(lang: str, source_ids: set[str]) -> None:
    folder = TRANSLATIONS / lang / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as fh:
        po = read_po(fh, locale=lang)
    catalog = {_key(m.id, m.context): m for m in po if m.id}
    missing = sorted(i for i in source_ids
                     if i not in catalog or not all(catalog[i].string if isinstance(
                         catalog[i].string, tuple) else [catalog[i].string]))
    assert not missing, f"{lang}: translate these, then pybabel compile: {missing}"
    with (folder / "messages.mo").open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    stale = []
    for i in source_ids:
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
