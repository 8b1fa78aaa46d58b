"""Salutations that follow the holder: a feminine or a masculine form when the office's holder
is known, the double form (or a neutral one) only when nobody is named.

Targets files and the admin keep one salutation per office and language, written for an unknown
holder ("Madame la Ministre, Monsieur le Ministre,"; "Dear Minister,"; "Уважаемый министр!").
The forms for a known holder are made from it here, by each language's rule, so that nobody
has to keep three salutations per office in step, and a holder's change is one field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

GENDERS = ("f", "m")  # and "" for a holder nobody named

# What a new official's form starts from, per language: forms for an unknown holder that the
# rules below turn into the feminine or masculine one (Madame, Monsieur, -> Madame,). German
# and Russian have no such form without a title; the organizer adds the office's title.
DEFAULTS = {
    "en": "Dear Sir or Madam,",
    "fr": "Madame, Monsieur,",
    "de": "Sehr geehrte Damen und Herren,",
    "ru": "Уважаемые дамы и господа!",
    "es": "Distinguida señora, distinguido señor:",
    "it": "Gentile Signora, Egregio Signore,",
    "pt": "Prezada Senhora, Prezado Senhor,",
}

# The double forms: the feminine part, a comma, then the masculine part.
_DOUBLE = {
    "fr": re.compile(r"^(?P<f>Madame\b.*?),\s*(?P<m>Monsieur\b.*?)(?P<end>[,:]?)$"),
    "de": re.compile(
        r"^(?P<f>Sehr geehrte (?:Frau|Dame)\b.*?),\s*"
        r"(?P<m>[Ss]ehr geehrter (?:Herr|Herren)\b.*?)(?P<end>,?)$"
    ),
    "es": re.compile(
        r"^(?P<f>(?:Excelentísima\s+|Distinguida\s+)?[Ss]eñora\b.*?),\s*"
        r"(?P<m>(?:[Ee]xcelentísimo\s+|[Dd]istinguido\s+)?[Ss]eñor\b.*?)"
        r"(?P<end>[:,]?)$"
    ),
    "it": re.compile(
        r"^(?P<f>(?:Gentile\s+|Illustre\s+|Onorevole\s+)?Signora\b.*?),\s*"
        r"(?P<m>(?:[Ee]gregio\s+|[Ii]llustre\s+|[Oo]norevole\s+)?[Ss]ignore?\b.*?)"
        r"(?P<end>,?)$"
    ),
    "pt": re.compile(
        r"^(?P<f>(?:Excelentíssima\s+|Prezada\s+)?Senhora\b.*?),\s*"
        r"(?P<m>(?:[Ee]xcelentíssimo\s+|[Pp]rezado\s+)?[Ss]enhor\b.*?)(?P<end>,?)$"
    ),
}


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _double(language: str, text: str, gender: str) -> str:
    match = _DOUBLE[language].match(text.strip())
    if match is None:
        return text
    end = match["end"] or ("," if language != "es" else ":")
    return _capital(match[gender].strip()) + end


# Russian: the title does not change ("министр", "Специальный докладчик"); the adjective and
# "госпожа"/"господин" follow the holder.
_RU = re.compile(
    r"^Уважаем(?:ый|ая)\s+(?:господин\s+|госпожа\s+)?(?P<title>[^,!]+?)"
    r"(?:,\s*уважаем(?:ый|ая)\s+(?:господин\s+|госпожа\s+)?[^!]+)?!$"
)


def _russian(text: str, gender: str) -> str:
    match = _RU.match(text.strip())
    if match is None:  # "Уважаемые члены Рабочей группы!", "Уважаемые дамы и господа!"
        return text
    title = match["title"].strip()
    if gender == "f":
        return f"Уважаемая госпожа {title}!"
    if gender == "m":
        return f"Уважаемый господин {title}!"
    return f"Уважаемая госпожа {title}, уважаемый господин {title}!"


# English titles are the same for both: "Dear Minister," fits anyone; a named holder gets
# "Dear Madam Minister," or "Dear Mr Minister,".
_EN = re.compile(r"^Dear (?!(?:Sir|Madam|Mr|Mrs|Ms|Members|Friends)\b)(?P<title>[^,]+?),?$")
_EN_SHORT = {"Secretary of State": "Secretary"}  # "Dear Mr Secretary,"


def _english(text: str, gender: str) -> str:
    if gender and re.fullmatch(r"Dear (?:Sir or Madam|Madam or Sir),?", text.strip()):
        return "Dear Madam," if gender == "f" else "Dear Sir,"
    match = _EN.match(text.strip())
    if match is None or not gender:
        return text
    title = _EN_SHORT.get(match["title"], match["title"])
    return f"Dear {'Madam' if gender == 'f' else 'Mr'} {title},"


_RULES: dict[str, Callable[[str, str], str]] = {
    "en": _english,
    "ru": _russian,
    **{lang: partial(_double, lang) for lang in _DOUBLE},
}


def for_holder(salutation: str, language: str, gender: str) -> str:
    """The salutation for this holder: `gender` "f" or "m", else "" (nobody named), when the
    double (or neutral) form stays; a salutation no rule knows stays as it is."""
    if gender not in GENDERS and language != "ru":
        return salutation
    rule = _RULES.get(language)
    return rule(salutation, gender if gender in GENDERS else "") if rule else salutation
