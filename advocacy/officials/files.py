"""Officials files (one per group of offices, TOML): schema, loading, choosing the officials."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import ngettext
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from sqlalchemy import select

from advocacy.email_reasons import email_reason
from advocacy.extensions import db
from advocacy.models import Body, Official
from advocacy.progress import Advance, counted, nothing

# The pages, the emails and the letters ship in these (Italian and Portuguese since Italy and
# Brazil are among the signatories). The one list: the language bar, Babel's choice, the
# forms of the admin and the letter languages all read it.
LANGUAGES = ("en", "fr", "de", "ru", "es", "it", "pt")
LETTER_LANGUAGES = LANGUAGES
# Every office has a salutation in each of these (the offices were written before Italian and
# Portuguese came); in another language the letter's default salutation serves, if it has none.
SALUTATION_LANGUAGES = ("en", "fr", "de", "ru", "es")
# What a TOML file nested deeper than the parser can follow is told (tomllib raises
# RecursionError on arrays or tables some thousand levels deep, not TOMLDecodeError).
NESTED_TOO_DEEPLY = "arrays or tables are nested too deeply"


class OfficialsFileError(ValueError):
    """An officials file is broken; the message names the file, the entry and the reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class BodySpec(_Strict):
    """A group of offices, as the [body] table of a targets file says it."""

    slug: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,19}$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    names: dict[str, str] = {}
    by_country: bool = False
    position: int = 0
    languages: list[str] = []  # the letter languages its offices accept; none: all
    risk_notice: dict[str, str] = {}  # per page language
    offered: bool = True  # by campaigns that have not chosen their groups

    @field_validator("names", "risk_notice")
    @classmethod
    def _per_language(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = [lang for lang in v if lang not in LANGUAGES]
        if unknown:
            raise ValueError(_("unknown languages %(unknown)s; use %(known)s",
                               unknown=", ".join(unknown), known=", ".join(LANGUAGES)))
        return {lang: text.strip() for lang, text in v.items() if text.strip()}

    @field_validator("languages")
    @classmethod
    def _letter_languages(cls, v: list[str]) -> list[str]:
        unknown = [lang for lang in v if lang not in LANGUAGES]
        if unknown:
            raise ValueError(_("unknown languages %(unknown)s; use %(known)s",
                               unknown=", ".join(unknown), known=", ".join(LANGUAGES)))
        return list(dict.fromkeys(v))

    def file_hash(self) -> str:
        """A stable hash of this table, to tell whether the file changed since the last load."""
        blob = json.dumps(self.model_dump(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def apply(self, body: Body) -> None:
        """Give the group row this table's values."""
        body.name, body.names, body.by_country = self.name, self.names, self.by_country
        body.position, body.languages = self.position, self.languages
        body.risk_notices, body.offered = self.risk_notice, self.offered


class OfficialSpec(_Strict):
    key: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,78}$")]
    office: Annotated[str, Field(min_length=3, max_length=300)]
    holder: Annotated[str, Field(max_length=200)] = ""
    # "f" or "m" once a holder is named: the salutation follows (letters.salutations).
    holder_gender: Annotated[str, Field(pattern=r"^[fm]?$")] = ""
    country: Annotated[str, Field(pattern=r"^([A-Z]{2})?$")] = ""
    languages: Annotated[list[str], Field(min_length=1)]
    timezone: str
    email: str | None = None
    # The columns' sizes (models.Official): PostgreSQL refuses longer, SQLite would not say.
    contact_page: Annotated[str, Field(pattern=r"^https://\S+$", max_length=500)] | None = None
    postal_address: str | None = None
    source: Annotated[str, Field(min_length=3, max_length=500)]
    verified: bool = False
    salutation: dict[str, str]
    office_names: dict[str, str] = {}  # the office in other languages than English
    # An inbox for one documented case submission (targets-sources.md): the organizers'
    # formal submission goes there; it is never offered to supporters' letters.
    case_intake: bool = False

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, v: list[str]) -> list[str]:
        bad = [code for code in v if not re.fullmatch(r"[a-z]{2,3}", code)]
        if bad:
            raise ValueError(_("not ISO 639-1 codes: %(codes)s", codes=", ".join(bad)))
        return v

    @field_validator("timezone")
    @classmethod
    def _time_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(_("unknown IANA time zone %(zone)s", zone=repr(v))) from None
        return v

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            return validate_email(v, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(email_reason(str(exc))) from None

    @field_validator("salutation")
    @classmethod
    def _salutations(cls, v: dict[str, str]) -> dict[str, str]:
        missing = [lang for lang in SALUTATION_LANGUAGES if not v.get(lang, "").strip()]
        if missing:
            raise ValueError(_("missing for %(languages)s", languages=", ".join(missing)))
        return v

    @field_validator("office_names")
    @classmethod
    def _office_names(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = [lang for lang in v if lang not in LETTER_LANGUAGES]
        if unknown:
            raise ValueError(_("unknown languages %(unknown)s; use %(known)s",
                               unknown=", ".join(unknown), known=", ".join(LETTER_LANGUAGES)))
        if any(not name.strip() for name in v.values()):
            raise ValueError(_("an office name is empty"))
        return v

    @model_validator(mode="after")
    def _reachable(self) -> OfficialSpec:
        if not (self.email or self.contact_page or self.postal_address):
            raise ValueError(_("needs at least one of email, contact_page, postal_address"))
        if self.verified and not self.email:
            raise ValueError(_("only an email address can be verified"))
        return self

    def file_hash(self) -> str:
        """A stable hash of this entry, to tell whether the file changed since the last load."""
        blob = json.dumps(self.model_dump(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()


class OfficialsFile(_Strict):
    body: BodySpec
    target: Annotated[list[OfficialSpec], Field(min_length=1)]


# Fields whose rule is a pattern: say it in words rather than quote the expression.
def _pattern_hints() -> dict[str, str]:
    return {
        "key": _("use 2 to 79 lowercase letters, digits and hyphens, starting with a letter or"
                 " digit"),
        "country": _("use two capital letters (ISO 3166-1, such as FR), or nothing"),
        "contact_page": _("use an https:// address without spaces"),
        "slug": _("use 1 to 20 lowercase letters, digits and hyphens, starting with a letter or"
                  " digit"),
    }


def _in_words(error: ErrorDetails) -> str | None:
    """Pydantic's usual reasons, in the reader's language (pydantic words them in English)."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return str(_("Field required"))
    if kind == "string_too_short":
        return str(ngettext("String should have at least %(num)d character",
                            "String should have at least %(num)d characters", ctx["min_length"]))
    if kind == "string_too_long":
        return str(ngettext("String should have at most %(num)d character",
                            "String should have at most %(num)d characters", ctx["max_length"]))
    if kind == "extra_forbidden":
        return str(_("Extra inputs are not permitted"))
    if kind in ("string_type", "list_type", "dict_type", "bool_type", "int_type"):
        return str(_("Input has the wrong type"))
    return None


def error_message(error: ErrorDetails) -> str:
    """Pydantic's reason for one error, in plain words, in the reader's language (read while
    validating: the organizer's in a request, English in a command)."""
    field = str(error["loc"][-1]) if error["loc"] else ""
    if error["type"] == "string_pattern_mismatch" and field in (hints := _pattern_hints()):
        return str(hints[field])
    if error["type"] == "too_short" and field == "languages":
        return str(_("name at least one language (ISO 639-1 codes, such as en fr)"))
    return _in_words(error) or error["msg"].removeprefix("Value error, ")


def body_rule(by_country: bool, spec: OfficialSpec) -> str | None:
    """The rule that needs the group (an office of a group chosen by country has a country),
    or None."""
    if by_country and not spec.country:
        return str(_("required: this group is chosen by country"))
    return None


def _describe(exc: ValidationError, data: dict[str, object]) -> str:
    first = exc.errors()[0]
    loc = list(first["loc"])
    where = ".".join(str(part) for part in loc)
    if len(loc) >= 2 and loc[0] == "target" and isinstance(loc[1], int):
        entries = data.get("target")
        entry = entries[loc[1]] if isinstance(entries, list) and loc[1] < len(entries) else {}
        key = entry.get("key", "?") if isinstance(entry, dict) else "?"
        field = ".".join(str(part) for part in loc[2:]) or "(entry)"
        where = f"entry {loc[1] + 1} (key {key!r}), field {field}"
    return f"{where}: {error_message(first)}"


def read_toml(path: Path, error: type[ValueError]) -> dict[str, Any]:
    """A shipped data file's TOML (officials or letters), or `error` naming the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses into each nested array or table
        raise error(f"{path}: not valid TOML: {NESTED_TOO_DEEPLY}") from None


def read_officials_file(path: Path) -> OfficialsFile:
    """Parse and validate one officials file; OfficialsFileError names file, entry, reason."""
    data = read_toml(path, OfficialsFileError)
    try:
        parsed = OfficialsFile.model_validate(data)
    except ValidationError as exc:
        raise OfficialsFileError(f"{path}: {_describe(exc, data)}") from None
    if parsed.body.slug != path.stem:
        raise OfficialsFileError(f"{path}: body.slug {parsed.body.slug!r} must match the file name")
    seen: set[str] = set()
    for index, spec in enumerate(parsed.target, start=1):
        if spec.key in seen:
            raise OfficialsFileError(f"{path}: entry {index} (key {spec.key!r}): duplicate key")
        seen.add(spec.key)
        problem = body_rule(parsed.body.by_country, spec)
        if problem:
            raise OfficialsFileError(
                f"{path}: entry {index} (key {spec.key!r}), field country: {problem}"
            )
    return parsed


def officials_paths(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.toml"))


def read_officials_dir(directory: Path, advance: Advance = nothing) -> list[OfficialsFile]:
    """Read every *.toml in the directory; keys must be unique across all files."""
    files = [read_officials_file(p) for p in counted(officials_paths(directory), advance)]
    owner: dict[str, str] = {}
    for tf in files:
        for spec in tf.target:
            if spec.key in owner:
                raise OfficialsFileError(
                    f"{directory / (tf.body.slug + '.toml')}: key {spec.key!r} is also in"
                    f" {owner[spec.key]}.toml"
                )
            owner[spec.key] = tf.body.slug
    return files


def load_officials(files: list[OfficialsFile], advance: Advance = nothing) -> dict[str, int]:
    """Upsert groups and targets; a changed file entry wins, an unchanged one keeps DB edits."""
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    for tf in counted(files, advance):
        body = db.session.scalar(select(Body).where(Body.slug == tf.body.slug))
        if body is None:
            body = Body(slug=tf.body.slug)
            db.session.add(body)
        if body.file_hash != (digest := tf.body.file_hash()):  # else organizers' edits stay
            tf.body.apply(body)
            body.file_hash = digest
        for spec in tf.target:
            digest = spec.file_hash()
            official = db.session.scalar(select(Official).where(Official.key == spec.key))
            if official is None:
                official = Official(key=spec.key, body=body)
                db.session.add(official)
                counts["added"] += 1
            elif official.file_hash == digest:
                counts["unchanged"] += 1
                continue
            else:
                counts["updated"] += 1
            apply_spec(official, spec, body)
            # The file speaks for the address now: no organizer's verification stands for it.
            official.verified = spec.verified
            official.verified_by, official.verified_at = None, None
            official.address_set_by = None
            official.file_hash = digest
    db.session.flush()
    return counts


def apply_spec(official: Official, spec: OfficialSpec, body: Body) -> None:
    """Give the official an entry's values; verification and file_hash are the caller's."""
    official.body = body
    official.office, official.holder, official.country = spec.office, spec.holder, spec.country
    official.holder_gender = spec.holder_gender
    official.office_names = spec.office_names
    official.languages, official.timezone = spec.languages, spec.timezone
    official.email, official.contact_page = spec.email, spec.contact_page
    official.postal_address, official.salutations = spec.postal_address, spec.salutation
    official.source, official.case_intake = spec.source, spec.case_intake


def office_name(office: str, names: dict[str, str] | None, language: str) -> str:
    """The office's name in the language, else in English."""
    return (names or {}).get(language) or office


# Two-letter codes CLDR names that are no country a person lives in: pseudo-locales'
# regions, "Unknown Region", the EU, the Eurozone, the United Nations, "Outlying Oceania".
NOT_COUNTRIES = frozenset({"XA", "XB", "ZZ", "EU", "EZ", "UN", "QO"})
COUNTRIES = frozenset(
    str(code) for code in Locale.parse("en").territories
    if re.fullmatch(r"[A-Z]{2}", str(code)) and str(code) not in NOT_COUNTRIES
)


def is_country(code: str) -> bool:
    """A two-letter ISO 3166 country code Babel knows."""
    return code in COUNTRIES
