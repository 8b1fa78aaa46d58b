"""What a letter asks each office: one paragraph per office, per country, or the group's default.

A group's letter is the same for all its offices but for the ask: the UN rapporteur on torture
can send an urgent appeal, the High Commissioner can speak publicly, a foreign ministry can
raise the case through its embassy. The letter's `asks` map keys to paragraphs, and its text
shows the one that fits the official as {{ ask }}.

A key may also be the start of office keys, up to a hyphen: "coe-pace" is asked of every office
of the Parliamentary Assembly ("coe-pace-president", "coe-pace-legal-affairs-chair") that has
no ask of its own, so offices added later get the ask of their kind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

DEFAULT = "default"
# An office's key (targets files), a country's code (every office of that country), or DEFAULT.
KEY = re.compile(r"^(default|[A-Z]{2}|[a-z0-9][a-z0-9-]{1,78})$")


def candidates(key: str, country: str) -> list[str]:
    """The keys that may hold an office's ask, the first that has one winning: its own key,
    then its key's starts ("coe-pace-president": "coe-pace", "coe"), its country, the default."""
    parts = key.split("-")
    starts = ["-".join(parts[:n]) for n in range(len(parts), 0, -1)]
    return [*starts, country.upper(), DEFAULT]


def ask_for(asks: Mapping[str, str] | None, key: str, country: str) -> str:
    """The office's own ask, else its kind's, else its country's, else the default; "" when
    there is none."""
    asks = asks or {}
    for candidate in candidates(key, country):
        if candidate and asks.get(candidate, "").strip():
            return asks[candidate].strip()
    return ""


def bad_keys(asks: Mapping[str, str]) -> list[str]:
    """The keys that name no office, country or default (by their form)."""
    return [key for key in asks if not KEY.match(key)]
