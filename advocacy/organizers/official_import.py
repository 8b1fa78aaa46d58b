"""Importing officials from a CSV or a targets TOML file: read, preview the change, apply it.

The preview saves nothing. It hands the organizer the upload back, signed with the app's key
together with a hash of the change it showed; applying reads that same upload again, plans
again against the database as it is then, and saves only if the plan is the one previewed.
An upload with any problem saves nothing. An import never verifies an address: an official
it adds or changes is unverified, and only an unchanged one keeps its verification. It does
not set Official.file_hash, so `advocacy init` keeps imported values as it keeps other edits.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tomllib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any, TypeAlias

from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from advocacy import audit
from advocacy.extensions import db
from advocacy.models import Body, Official, Organizer
from advocacy.officials.files import (
    BodySpec,
    OfficialSpec,
    apply_spec,
    body_rule,
)
from advocacy.officials.rows import (
    COLUMNS,
    REQUIRED,
    InvalidRow,
    Row,
    changed_fields,
    row_errors,
    row_of_official,
    row_of_spec,
    spec_from_row,
)

MAX_BYTES = 256 * 1024  # hundreds of officials; the signed copy must fit a form field too
# Known columns are a few dozen (officials.rows.COLUMNS); a header this wide is not a sheet of
# officials, and a problem listed per column would make a page of thousands.
MAX_COLUMNS = 100
# The whole request: the file (or its signed copy, compressed) and the form around it.
MAX_REQUEST_BYTES = 2 * MAX_BYTES
PREVIEW_MAX_AGE = 3600  # seconds from preview to apply
SALT = "advocacy-target-import"


# Words for the organizer, made here outside any request: lazy, each is put in the organizer's
# language when the page shows it (and in English in a command).
Words: TypeAlias = "str | LazyString"


class UploadError(ValueError):
    """The upload cannot be read at all, or its preview expired; the message says why."""


def _row(number: int) -> Words:
    return _("row %(num)d", num=number)


FILE = _("file")


@dataclass(frozen=True)
class Problem:
    where: Words  # "row 3", "entry 2", "file"
    key: str
    field: str
    reason: Words


@dataclass(frozen=True)
class Entry:
    where: Words
    body: str
    spec: OfficialSpec


@dataclass(frozen=True)
class Change:
    entry: Entry
    target_id: int
    fields: dict[str, tuple[str, str]]
    unverifies: bool  # verified now; changed, it must be verified again
    inactive: bool  # the import does not reactivate it


@dataclass
class Plan:
    name: str
    problems: list[Problem] = field(default_factory=list)
    added: list[Entry] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # keys
    # CSV columns the file leaves out: officials already here keep their values in them
    left_out: tuple[str, ...] = ()

    @property
    def applicable(self) -> bool:
        return not self.problems and bool(self.added or self.changed)

    def digest(self) -> str:
        """A hash of exactly what applying would do."""
        blob = json.dumps({
            # (a plan with problems is never applied: their place and field are enough here,
            # and the same in every language)
            "problems": [[p.key, p.field] for p in self.problems],
            "added": [row_of_spec(e.body, e.spec) for e in self.added],
            "changed": [[c.target_id, c.fields, c.unverifies] for c in self.changed],
            "unchanged": self.unchanged,
        }, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()


class ImportChanged(Exception):
    """The officials changed since the preview: here is the preview of the change now."""

    def __init__(self, plan: Plan, token: str) -> None:
        super().__init__(plan.name)
        self.plan, self.token = plan, token


def read_limited(stream: IO[bytes]) -> bytes:
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise UploadError(_("The file is larger than %(kb)d KB: split it in parts.",
                                       kb=MAX_BYTES // 1024))
    return data


def decode(name: str, data: bytes) -> str:
    if not name.lower().endswith((".csv", ".toml")):
        raise UploadError(_("Upload a .csv file or a .toml file in the format of"
                                       " targets/."))
    try:
        return data.decode("utf-8-sig")  # spreadsheets often start UTF-8 with a BOM
    except UnicodeDecodeError:
        raise UploadError(_("The file is not UTF-8 text: save it again as UTF-8 (in"
                                       " a spreadsheet, \"CSV UTF-8\").")) from None


def header_problems(header: list[str]) -> list[Problem]:
    """Unknown, missing and repeated columns, in time linear in the header's width (each name
    is counted once, then looked up in sets: no column is compared with every other)."""
    known, counts = frozenset(COLUMNS), Counter(header)
    problems = [Problem(_row(1), "", name, _("unknown column"))
                for name in header if name not in known]
    problems += [Problem(_row(1), "", name, _("missing column"))
                 for name in REQUIRED if name not in counts]
    problems += [Problem(_row(1), "", name, _("the column appears twice"))
                 for name in sorted(name for name, seen in counts.items() if seen > 1)]
    return problems


def _csv_rows(text: str) -> tuple[list[tuple[Words, Row]], list[Problem], list[str]]:
    """The rows as (where, row) with only the file's columns, its problems, and its header."""
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)  # spreadsheets in some languages use ;
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = list(reader)
    except csv.Error as exc:
        return [], [Problem(_("line %(num)d", num=reader.line_num), "", "",
                            _("not readable as CSV: %(reason)s", reason=str(exc)))], []
    if not records:
        return [], [Problem(FILE, "", "", _("the file is empty"))], []
    if len(records[0]) > MAX_COLUMNS:
        raise UploadError(_(
            "The first row has %(num)d columns; an import has at most %(most)d. Keep only the"
            " columns listed on this page.", num=len(records[0]), most=MAX_COLUMNS))
    header = [name.strip().lower() for name in records[0]]
    problems = header_problems(header)
    if problems:
        return [], problems, header
    rows = []
    for number, values in enumerate(records[1:], start=2):
        if not any(value.strip() for value in values):
            continue
        row = dict(zip(header, values, strict=False))
        if len(values) > len(header):
            problems.append(Problem(_row(number), row.get("key", ""), "",
                                    _("more values than columns")))
        else:
            rows.append((_row(number), row))
    return rows, problems, header


def read_csv(text: str, current: Mapping[str, Row] | None = None
             ) -> tuple[list[Entry], list[Problem], tuple[str, ...]]:
    """The file's officials. A column the file leaves out keeps, for an official already
    here (`current`: key -> its row now), the value it has: the page says optional columns
    may be left out, and leaving one out must not blank it. Returns the columns left out."""
    rows, problems, header = _csv_rows(text)
    left_out = tuple(name for name in COLUMNS if name not in header) if header else ()
    entries = []
    for where, row in rows:
        key = row.get("key", "").strip()
        now = (current or {}).get(key)
        if now is not None:
            row = {**{name: now.get(name, "") for name in left_out}, **row}
        try:
            spec = spec_from_row(row)
        except InvalidRow as exc:
            problems += [Problem(where, key, name, reason) for name, reason in exc.errors]
            continue
        entries.append(Entry(where, row.get("body", "").strip(), spec))
    return entries, problems, left_out


def read_toml(text: str) -> tuple[list[Entry], list[Problem]]:
    """A file in the format of targets/ (its `verified` flags are not taken)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [], [Problem(FILE, "", "", _("not valid TOML: %(reason)s",
                                                       reason=str(exc)))]
    except RecursionError:  # arrays or tables thousands deep: tomllib recurses into each
        return [], [Problem(FILE, "", "", _("arrays or tables are nested too deeply"))]
    problems = [Problem(FILE, "", name,
                        _("unknown table: use [body] and [[target]]"))
                for name in data if name not in ("body", "target")]
    slug = ""
    try:
        slug = BodySpec.model_validate(data.get("body")).slug
    except ValidationError as exc:
        problems += [Problem("[body]", "", name, reason) for name, reason in row_errors(exc)]
    raw_entries = data.get("target")
    if not isinstance(raw_entries, list) or not raw_entries:
        problems.append(Problem(FILE, "", "target", _("no [[target]] entries")))
        raw_entries = []
    entries = []
    for number, raw in enumerate(raw_entries, start=1):
        key = str(raw.get("key", "")) if isinstance(raw, dict) else ""
        try:
            spec = OfficialSpec.model_validate(raw)
        except ValidationError as exc:
            problems += [Problem(_("entry %(num)d", num=number), key, name, reason)
                         for name, reason in row_errors(exc)]
            continue
        entries.append(Entry(_("entry %(num)d", num=number), slug, spec))
    return entries, problems


def _check_across(entries: list[Entry], bodies: Mapping[str, bool]) -> list[Problem]:
    """What one entry alone cannot tell: the group exists here (`bodies`: slug -> chosen by
    country), keys are not repeated."""
    known = bodies
    problems = []
    first: dict[str, Words] = {}
    for entry in entries:
        key = entry.spec.key
        if entry.body not in known:
            problems.append(Problem(entry.where, key, "body", _(
                "must be one of %(slugs)s", slugs=", ".join(sorted(known)))))
        elif problem := body_rule(known[entry.body], entry.spec):
            problems.append(Problem(entry.where, key, "country", problem))
        if key in first:
            problems.append(Problem(entry.where, key, "key",
                                    _("already in %(where)s", where=first[key])))
        first.setdefault(key, entry.where)
    return problems


def _existing(keys: list[str], lock: bool) -> dict[str, Official]:
    query = (select(Official).where(Official.key.in_(keys)).options(selectinload(Official.body)))
    return {t.key: t for t in db.session.scalars(
        query.with_for_update() if lock else query)}  # applying: no one edits them meanwhile


def plan(name: str, text: str, lock: bool = False) -> Plan:
    """What importing this upload would change now (nothing is written)."""
    left_out: tuple[str, ...] = ()
    if name.lower().endswith(".csv"):
        rows, _problems, _header = _csv_rows(text)
        existing = _existing([row.get("key", "").strip() for _where, row in rows], lock)
        entries, problems, left_out = read_csv(
            text, {key: row_of_official(official) for key, official in existing.items()})
    else:
        entries, problems = read_toml(text)
        existing = _existing([e.spec.key for e in entries], lock)
    bodies = {slug: by_country for slug, by_country in db.session.execute(
        select(Body.slug, Body.by_country))}
    result = Plan(name, problems + _check_across(entries, bodies), left_out=left_out)
    for entry in entries:
        official = existing.get(entry.spec.key)
        if official is None:
            result.added.append(entry)
            continue
        fields = changed_fields(row_of_official(official), row_of_spec(entry.body, entry.spec))
        if not fields:
            result.unchanged.append(official.key)
        else:
            result.changed.append(Change(entry, official.id, fields, official.verified,
                                         not official.active))
    return result


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_for(preview: Plan, text: str) -> str:
    """The upload and the hash of its previewed change, signed, for the apply button."""
    return _serializer().dumps({"name": preview.name, "text": text, "plan": preview.digest()})


def preview(name: str, stream: IO[bytes]) -> tuple[Plan, str]:
    """Read an uploaded file and plan its import; the token carries it to `apply`."""
    text = decode(name, read_limited(stream))
    result = plan(name, text)
    return result, token_for(result, text)


def apply(by: Organizer, token: str) -> Plan:
    """Save exactly the previewed change, or raise ImportChanged with the new preview."""
    try:
        upload: dict[str, Any] = _serializer().loads(token, max_age=PREVIEW_MAX_AGE)
    except SignatureExpired:
        raise UploadError(_("This preview is more than an hour old: upload the file"
                                       " again.")) from None
    except BadSignature:
        raise UploadError(_("This preview cannot be read: upload the file again."))\
            from None
    result = plan(upload["name"], upload["text"], lock=True)
    if result.digest() != upload["plan"]:
        db.session.rollback()
        raise ImportChanged(result, token_for(result, upload["text"]))
    if not result.applicable:
        db.session.rollback()
        raise UploadError(_("Nothing was saved: the file has problems, or changes"
                                       " nothing."))
    bodies = {b.slug: b for b in db.session.scalars(select(Body))}
    for entry in result.added:
        official = Official(key=entry.spec.key, verified=False, active=True, address_set_by=by.id)
        apply_spec(official, entry.spec, bodies[entry.body])
        db.session.add(official)
    for change in result.changed:
        official = db.session.get_one(Official, change.target_id)
        apply_spec(official, change.entry.spec, bodies[change.entry.body])
        official.verified, official.verified_by, official.verified_at = False, None, None
        if "email" in change.fields:  # four eyes: the importer does not verify it (official_edits)
            official.address_set_by = by.id
    audit.record(by, "import officials", result.name,
                 added=[e.spec.key for e in result.added],
                 changed={c.entry.spec.key: sorted(c.fields) for c in result.changed},
                 unchanged=len(result.unchanged))
    try:
        db.session.commit()
    except IntegrityError:  # an official with a new key was added meanwhile
        db.session.rollback()
        result = plan(upload["name"], upload["text"])
        raise ImportChanged(result, token_for(result, upload["text"])) from None
    return result
