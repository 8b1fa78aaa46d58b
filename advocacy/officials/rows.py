"""One official as a flat row of text: the admin form, the CSV columns, and what imports compare.

The row is checked by the same OfficialSpec as the officials files, so an official is valid in
the admin, in an import and in `targets/` by one set of rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import ValidationError

from advocacy.models import Official
from advocacy.officials.files import LANGUAGES, SALUTATION_LANGUAGES, OfficialSpec, error_message

Row = dict[str, str]

OTHER_LANGUAGES = tuple(lang for lang in LANGUAGES if lang != "en")  # English is `office`
PLAIN = ("office", "holder", "holder_gender", "country", "timezone", "email", "contact_page",
         "postal_address", "source")
COLUMNS = ("key", "body", "office", "holder", "holder_gender", "country", "languages",
           "timezone", "email", "contact_page", "postal_address", "source",
           *(f"salutation_{lang}" for lang in LANGUAGES),
           *(f"office_{lang}" for lang in OTHER_LANGUAGES))
REQUIRED = ("key", "body", "office", "languages", "timezone", "source",
            *(f"salutation_{lang}" for lang in SALUTATION_LANGUAGES))


class InvalidRow(ValueError):
    """A row that is not a valid official: (column, reason) for every problem."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def _row(key: str, body: str, item: Official | OfficialSpec, salutations: Mapping[str, str],
         office_names: Mapping[str, str]) -> Row:
    row = {"key": key, "body": body, "languages": " ".join(item.languages)}
    row |= {name: getattr(item, name) or "" for name in PLAIN}
    row |= {f"salutation_{lang}": text for lang, text in salutations.items()}
    row |= {f"office_{lang}": text for lang, text in office_names.items()}
    return row


def row_of_official(official: Official) -> Row:
    return _row(official.key, official.body.slug, official, official.salutations,
                official.office_names)


def row_of_spec(body: str, spec: OfficialSpec) -> Row:
    return _row(spec.key, body, spec, spec.salutation, spec.office_names)


def changed_fields(old: Row, new: Row) -> dict[str, tuple[str, str]]:
    """Column by column, in the columns' order: (old, new) where they differ."""
    names = [*COLUMNS, *sorted((old.keys() | new.keys()) - set(COLUMNS))]
    return {name: (old.get(name, ""), new.get(name, "")) for name in names
            if old.get(name, "") != new.get(name, "")}


def _column(loc: tuple[int | str, ...]) -> str:
    """The row column a pydantic error location stands for."""
    if not loc:
        return "email"  # the checks across fields: how the office is reached
    head = str(loc[0])
    if head == "salutation" and len(loc) > 1:
        return f"salutation_{loc[1]}"
    if head == "office_names" and len(loc) > 1:
        return f"office_{loc[1]}"
    return head


def row_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """Every error of an OfficialSpec, as (column, reason)."""
    return [(_column(tuple(err["loc"])), error_message(err)) for err in exc.errors()]


def spec_from_row(row: Mapping[str, str]) -> OfficialSpec:
    """The official a row describes, checked, or InvalidRow naming each column and reason."""

    def value(name: str) -> str:
        # Browsers send a textarea's line breaks as CRLF; files mostly have LF.
        return (row.get(name) or "").replace("\r\n", "\n").strip()

    data = {
        "key": value("key"), "office": value("office"), "holder": value("holder"),
        "holder_gender": value("holder_gender").lower(), "country": value("country").upper(),
        "languages": [code for code in re.split(r"[\s,]+", value("languages").lower()) if code],
        "timezone": value("timezone"),
        "email": value("email") or None, "contact_page": value("contact_page") or None,
        "postal_address": value("postal_address") or None, "source": value("source"),
        "salutation": {lang: value(f"salutation_{lang}") for lang in LANGUAGES
                       if value(f"salutation_{lang}")},
        "office_names": {lang: value(f"office_{lang}") for lang in OTHER_LANGUAGES
                         if value(f"office_{lang}")},
    }
    try:
        return OfficialSpec.model_validate(data)
    except ValidationError as exc:
        raise InvalidRow(row_errors(exc)) from None
