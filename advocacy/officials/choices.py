"""What the official's form offers to choose from, in the organizer's language: countries
(officials.countries, the list the public page uses), letter languages by name, a country's
time zones, and a key made from the office's name.

Time zones come from pytz's `country_timezones`, the IANA zone.tab by country, whose first
zone is the country's most populous region (America/New_York before America/Chicago). pytz is
here already for flask-babel; it is listed in pyproject.toml because this module uses it.
Babel's CLDR metazones ("America_Eastern") fold a country's many zones that keep the same
clock into one choice, so the United States offer six or seven, not twenty-nine.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import pytz
from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import get_timezone_location

from advocacy.officials.countries import countries, sort_key
from advocacy.officials.files import LETTER_LANGUAGES
from advocacy.officials.groups import language_name as display_name

__all__ = ["countries", "country_languages", "key_from", "languages", "language_name",
           "TimeZones", "time_zones"]

KEY_MAX = 79  # officials.files.OfficialSpec's pattern: 2 to 79 characters


def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return Locale("en")


def language_name(code: str, language: str) -> str:
    """A language's name in the organizer's language, as a list item ("Allemand" in French)."""
    try:
        name = display_name(code, str(_locale(language)))
    except (UnknownLocaleError, ValueError):
        return code
    return name[:1].upper() + name[1:] if name else code


def country_languages(country: str) -> list[str]:
    """The country's official languages (CLDR), most spoken first: ["fi", "sv"] for FI."""
    return [code for code, info in get_global("territory_languages").get(
        country.upper(), {}).items()
        if info.get("official_status") in ("official", "de_facto_official")
        and re.fullmatch(r"[a-z]{2,3}", code)]


def languages(language: str, country: str = "", also: tuple[str, ...] = ()
              ) -> list[tuple[str, str]]:
    """(code, name) of the languages an office may read, sorted by name in the organizer's
    language: the letters' languages, the country's official ones (CLDR) and `also`."""
    codes = dict.fromkeys([*LETTER_LANGUAGES, *country_languages(country), *also])
    return sorted(((code, language_name(code, language)) for code in codes),
                  key=lambda pair: sort_key(pair[1]))


@dataclass(frozen=True)
class TimeZones:
    """A country's time zones: one per clock (`main`, the suggestion first), the rest after."""

    main: list[tuple[str, str]]  # (IANA name, label)
    others: list[tuple[str, str]]

    @property
    def suggested(self) -> str:
        """The zone to preselect: the country's only clock, else none (the organizer picks)."""
        return self.main[0][0] if len(self.main) == 1 else ""

    def __contains__(self, zone: object) -> bool:
        return any(zone == name for name, _label in self.main + self.others)


def _label(zone: str, language: str) -> str:
    city = get_timezone_location(zone, locale=_locale(language), return_city=True)
    return f"{city} ({zone})"


@lru_cache(maxsize=64)
def time_zones(country: str, language: str = "en") -> TimeZones:
    """The country's zones as choices, labelled with their city in the organizer's language;
    empty for no or an unknown country."""
    zones: list[str] = pytz.country_timezones.get(country.upper(), []) if country else []
    metazones = get_global("meta_zones")
    seen: set[str] = set()
    main: list[tuple[str, str]] = []
    others: list[tuple[str, str]] = []
    for zone in zones:
        clock = str(metazones.get(zone, zone))
        (others if clock in seen else main).append((zone, _label(zone, language)))
        seen.add(clock)
    return TimeZones(main, sorted(others, key=lambda pair: sort_key(pair[1])))


@lru_cache(maxsize=1)
def every_zone() -> tuple[str, ...]:
    """Every current IANA zone name, for offices whose zone is not their country's."""
    return tuple(sorted(pytz.common_timezones))


def key_from(*parts: str) -> str:
    """A key made of these words: ASCII lowercase letters and digits joined by hyphens, at most
    KEY_MAX characters, cut between words ("gov-fr-minister-for-foreign-affairs")."""
    ascii_text = unicodedata.normalize("NFKD", " ".join(parts)).encode("ascii", "ignore").decode()
    words = [w for w in re.split(r"[^a-z0-9]+", ascii_text.lower()) if w]
    key = ""
    for word in words:
        longer = f"{key}-{word}" if key else word
        if len(longer) > KEY_MAX:
            break
        key = longer
    return key
