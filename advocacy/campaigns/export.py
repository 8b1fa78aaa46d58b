"""`advocacy export`: the officials and the current letters written back as the files init reads.

targets/<body>.toml and templates/<body>/<language>.toml, in the formats of advocacy.officials.files
and advocacy.letters.files, so that export then `advocacy init` on a fresh database gives the
same data. Nothing else leaves the database: no organizer, supporter, letter or setting, not
even who wrote a version (organizers of a campaign like this one may have reasons to stay
unnamed in a public repository).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomli_w
from sqlalchemy import func, select

from advocacy import clock
from advocacy.extensions import db
from advocacy.letters.files import read_letter_file
from advocacy.letters.versions import current_template
from advocacy.models import Body, Campaign, LetterTemplate, Official
from advocacy.officials.files import LETTER_LANGUAGES, read_officials_file
from advocacy.progress import Advance, counted, nothing

OFFICIALS_HEADER = """\
# Officials of one body, written by `advocacy export` on {date}. Offices, not persons.
# Only addresses stated by a primary source (the office's own site or list) are verified.
"""
LETTER_HEADER = """\
# The appeal, written by `advocacy export` on {date} from campaign "{campaign}", version {version}.
"""


def _write(path: Path, header: str, data: dict[str, Any], check: Callable[[Path], object]) -> None:
    """Write the file whole or not at all, once init has read it back without a complaint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".export-") as tmp:
        # The readers take the body and language from the names: keep folder and file names.
        staged = Path(tmp) / path.parent.name / path.name
        staged.parent.mkdir()
        staged.write_text(header + "\n" + tomli_w.dumps(data, multiline_strings=True),
                          encoding="utf-8")
        check(staged)
        os.replace(staged, path)


def official_entry(official: Official) -> dict[str, Any]:
    """One official as an officials file describes it (advocacy.officials.files.OfficialSpec)."""
    entry: dict[str, Any] = {
        "key": official.key, "office": official.office, "holder": official.holder,
        **({"holder_gender": official.holder_gender} if official.holder_gender else {}),
        "country": official.country, "languages": list(official.languages),
        "timezone": official.timezone,
    }
    for key in ("email", "contact_page", "postal_address"):
        if getattr(official, key):
            entry[key] = getattr(official, key)
    entry["source"] = official.source
    entry["verified"] = official.verified
    entry["salutation"] = dict(official.salutations)
    if official.office_names:
        entry["office_names"] = dict(official.office_names)
    return entry


def export_steps() -> int:
    """How many steps export_officials and export_letters report: a body, a body's language."""
    return int(db.session.scalar(select(func.count(Body.id))) or 0) * (1 + len(LETTER_LANGUAGES))


def group_table(body: Body) -> dict[str, Any]:
    """A group as the [body] table of a targets file says it (officials.files.BodySpec)."""
    table: dict[str, Any] = {"slug": body.slug, "name": body.name, "names": dict(body.names),
                             "by_country": body.by_country, "position": body.position,
                             "offered": body.offered}
    if body.languages:
        table["languages"] = list(body.languages)
    if body.risk_notices:
        table["risk_notice"] = dict(body.risk_notices)
    return table


def export_officials(directory: Path, advance: Advance = nothing) -> dict[str, Any]:
    """targets/<body>.toml for each body; deactivated officials stay out (files cannot say
    'inactive', and loading them back would write to them again)."""
    report: dict[str, Any] = {"files": [], "left_out": []}
    date = clock.now().date().isoformat()
    for body in counted(db.session.scalars(select(Body).order_by(Body.id)), advance):
        officials = db.session.scalars(
            select(Official).where(Official.body_id == body.id).order_by(Official.id)).all()
        report["left_out"] += [t.key for t in officials if not t.active]
        active = [official_entry(t) for t in officials if t.active]
        if not active:
            continue
        path = directory / f"{body.slug}.toml"
        _write(path, OFFICIALS_HEADER.format(date=date),
               {"body": group_table(body), "target": active},
               read_officials_file)
        report["files"].append(str(path))
    return report


def letter_data(template: LetterTemplate) -> dict[str, Any]:
    """One version as a letter file says it (advocacy.letters.files)."""
    data: dict[str, Any] = {"subject": template.subject,
                            "default_salutation": template.default_salutation}
    if template.subject_variants:
        data["subject_variants"] = list(template.subject_variants)
    if template.suggested_note:
        data["suggested_note"] = template.suggested_note
    data["body"] = template.text
    if template.asks:
        data["asks"] = dict(sorted(template.asks.items()))
    return data


def export_letters(campaign: Campaign, directory: Path,
                   advance: Advance = nothing) -> dict[str, Any]:
    """templates/<body>/<language>.toml: the current version of each of the campaign's."""
    report: dict[str, Any] = {"files": []}
    date = clock.now().date().isoformat()
    for body in db.session.scalars(select(Body).order_by(Body.id)):
        for language in counted(LETTER_LANGUAGES, advance):
            template = current_template(campaign, body, language)
            if template is None or (body.languages and language not in body.languages):
                continue
            path = directory / body.slug / f"{language}.toml"
            header = LETTER_HEADER.format(date=date, campaign=campaign.name.replace('"', "'"),
                                          version=template.version)
            _write(path, header, letter_data(template), read_letter_file)
            report["files"].append(str(path))
    return report
