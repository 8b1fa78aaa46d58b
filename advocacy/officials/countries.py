"""Countries by name, as lists for people to choose from: the supporters' form and the admin's
filters share one list, in the page's language."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from babel import Locale

from advocacy.officials.files import COUNTRIES


@lru_cache(maxsize=16)
def sort_key(name: str) -> str:
    """A name as a reader of its language orders it, near enough without a collation
    library: letters without their accents, case folded ("Österreich" among the O's)."""
    stripped = "".join(
        ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch)
    )
    return stripped.casefold()


def countries(language: str) -> list[tuple[str, str]]:
    """(code, name) of every country, sorted by name in the page's language."""
    names = Locale.parse(language).territories
    return sorted(
        ((code, str(name)) for code, name in names.items() if code in COUNTRIES),
        key=lambda pair: (sort_key(pair[1]), pair[1]),
    )
