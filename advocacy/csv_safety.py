"""Every CSV the project writes goes through here: no cell can run as a spreadsheet formula.

An office's name, a body's name or an imported official's key may be typed by anyone an
organizer imports from; the organizer then opens the export in a spreadsheet. Following
OWASP's "CSV Injection" guidance, every cell is quoted (so a separator inside a cell, a `,` or
a `;` that a spreadsheet in another language splits on, starts no new cell) and a text cell
that a spreadsheet would read as a formula gets a leading apostrophe, which spreadsheets show
as text. Formula-like means: it begins with a tab, CR, LF or NUL, or its first character after
any spaces and separators is `=`, `+`, `-` or `@`, in ASCII or in any form Unicode's NFKC folds
to them (the full-width `＝＋－＠` that some spreadsheets accept, the small `﹦﹢﹣`).
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA = frozenset("=+-@")
CONTROL = frozenset("\t\r\n\0")
SEPARATORS = frozenset(",;|")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def _formula_like(text: str) -> bool:
    """Whether a spreadsheet could take this text for a formula (see the module's rule)."""
    if text[:1] in CONTROL:
        return True
    for char in text:
        folded = unicodedata.normalize("NFKC", char)
        if folded.isspace() or folded in SEPARATORS:
            continue  # a cell split on it, or trimmed, would begin with what follows
        return folded[:1] in FORMULA
    return False


def inert(cell: Any) -> Any:
    """The cell as a spreadsheet must show it: formula-like text gets a leading apostrophe."""
    return f"'{cell}" if isinstance(cell, str) and _formula_like(cell) else cell


class InertWriter:
    """csv.writer with every cell quoted and made inert; the only CSV writer to use."""

    def __init__(self, stream: _Writable) -> None:
        self._writer = csv.writer(stream, quoting=csv.QUOTE_ALL)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([inert(cell) for cell in row])
