"""The default appeal letters as files (templates/<group>/<lang>.toml) and loading them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from advocacy.extensions import db
from advocacy.letters.asks import bad_keys
from advocacy.letters.render import LetterRenderError, letter_context, render_letter
from advocacy.letters.versions import SOURCE_LANGUAGE, Asks, Draft, content_hash
from advocacy.models import Body, Campaign, LetterTemplate
from advocacy.officials.files import LETTER_LANGUAGES, read_toml
from advocacy.officials.groups import known_slugs
from advocacy.progress import Advance, counted, nothing

REQUIRED = ("subject", "default_salutation", "body")
OPTIONAL = ("subject_variants", "suggested_note", "asks")  # written by `advocacy export` when set


class TemplateFileError(ValueError):
    """A letter file is broken; the message names the file and the reason."""


@dataclass(frozen=True)
class LetterFile:
    body: str
    language: str
    subject: str
    default_salutation: str
    text: str
    subject_variants: tuple[str, ...] = ()
    suggested_note: str = ""
    asks: Asks = ()

    def content_hash(self) -> str:
        # Files without the optional keys hash as they always did: no spurious versions.
        return content_hash(self.subject, self.default_salutation, self.text,
                            self.subject_variants, self.suggested_note, self.asks)

    def draft(self) -> Draft:
        return Draft(self.subject, self.default_salutation, self.text, self.subject_variants,
                     self.suggested_note, self.asks)


SAMPLE_CONTEXT_ARGS = {
    "official": {"office": "Office", "holder": "", "country": "FR", "salutations": {}},
    "supporter": {"name": "Sample Supporter", "city": "Lyon", "country": "FR"},
    "personal_note": "A personal paragraph.",
    "campaign_name": "Campaign",
}


def check_renders(subject: str, text: str, language: str, default_salutation: str,
                  asks: Asks = ()) -> None:
    """Render with a sample official and supporter; raise LetterRenderError if it fails."""
    context = letter_context(
        language=language, default_salutation=default_salutation, asks=dict(asks),
        **SAMPLE_CONTEXT_ARGS  # type: ignore[arg-type]
    )
    render_letter(subject, text, context)


def read_letter_file(path: Path, groups: Collection[str] | None = None) -> LetterFile:
    """Parse and check one letter file; its folder names a known group: one of `groups`
    (the targets files being loaded, and the database's), else one in the database."""
    body, language = path.parent.name, path.stem
    known = known_slugs() if groups is None else groups
    if body not in known:
        raise TemplateFileError(f"{path}: folder must name a group: one of"
                                f" {', '.join(sorted(known)) or '(none defined yet)'}")
    if language not in LETTER_LANGUAGES:
        raise TemplateFileError(f"{path}: language must be one of {', '.join(LETTER_LANGUAGES)}")
    data = read_toml(path, TemplateFileError)
    extra = set(data) - set(REQUIRED) - set(OPTIONAL)
    if extra:
        raise TemplateFileError(f"{path}: unknown keys {', '.join(sorted(extra))}")
    for key in REQUIRED:
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise TemplateFileError(f"{path}: {key} is missing or empty")
    variants = data.get("subject_variants", [])
    if not isinstance(variants, list) or not all(
            isinstance(v, str) and v.strip() for v in variants):
        raise TemplateFileError(f"{path}: subject_variants must be a list of subjects")
    if not isinstance(data.get("suggested_note", ""), str):
        raise TemplateFileError(f"{path}: suggested_note must be text")
    asks = data.get("asks", {})
    if not isinstance(asks, dict) or not all(
            isinstance(a, str) and a.strip() for a in asks.values()):
        raise TemplateFileError(f"{path}: asks must be a table of paragraphs, keyed by an"
                                " office's key, a country code or default")
    if bad_keys(asks):
        raise TemplateFileError(f"{path}: asks: not an office's key, a country code or"
                                f" default: {', '.join(bad_keys(asks))}")
    letter = LetterFile(body, language, data["subject"].strip(), data["default_salutation"].strip(),
                        data["body"], tuple(v.strip() for v in variants),
                        data.get("suggested_note", "").strip(),
                        Draft("", "", "", asks=tuple(asks.items())).normalized().asks)
    try:
        for subject in (letter.subject, *letter.subject_variants):
            check_renders(subject, letter.text, language, letter.default_salutation, letter.asks)
    except LetterRenderError as exc:
        raise TemplateFileError(f"{path}: does not render: {exc}") from None
    return letter


def letter_paths(directory: Path) -> list[Path]:
    return sorted(directory.glob("*/*.toml"))


def read_letter_dir(directory: Path, advance: Advance = nothing,
                    groups: Collection[str] | None = None) -> list[LetterFile]:
    """Every letter file of the directory (see read_letter_file for `groups`)."""
    known = known_slugs() if groups is None else groups
    return [read_letter_file(p, known) for p in counted(letter_paths(directory), advance)]


def load_letters(campaign: Campaign, files: list[LetterFile],
                 advance: Advance = nothing) -> dict[str, int]:
    """Add a version for each file that changed since it was last loaded."""
    counts = {"added": 0, "unchanged": 0}
    added: list[LetterTemplate] = []
    bodies = {b.slug: b for b in db.session.scalars(select(Body))}
    for lf in counted(files, advance):
        body = bodies.get(lf.body)
        if body is None:
            raise TemplateFileError(f"templates/{lf.body}: no targets file defines this group")
        if body.languages and lf.language not in body.languages:
            raise TemplateFileError(
                f"templates/{lf.body}/{lf.language}.toml: the group {lf.body} takes letters"
                f" only in {', '.join(body.languages)}")
        versions = db.session.scalars(
            select(LetterTemplate)
            .where(
                LetterTemplate.campaign_id == campaign.id,
                LetterTemplate.body_id == body.id,
                LetterTemplate.language == lf.language,
            )
            .order_by(LetterTemplate.version.desc())
        ).all()
        last_from_file = next((v for v in versions if v.origin == "file"), None)
        digest = lf.content_hash()
        # An unchanged file never overrides what organizers have edited since; a file that
        # says what the current version says (`advocacy export` wrote it) adds nothing.
        if (last_from_file is not None and last_from_file.content_hash == digest) or (
                versions and Draft.of(versions[0]).normalized() == lf.draft().normalized()):
            counts["unchanged"] += 1
            continue
        added.append(
            LetterTemplate(
                campaign_id=campaign.id,
                body_id=body.id,
                language=lf.language,
                version=(versions[0].version + 1) if versions else 1,
                subject=lf.subject,
                text=lf.text,
                default_salutation=lf.default_salutation,
                subject_variants=list(lf.subject_variants),
                suggested_note=lf.suggested_note,
                asks=dict(lf.asks),
                origin="file",
                content_hash=digest,
                author=None,
            )
        )
        db.session.add(added[-1])
        counts["added"] += 1
    db.session.flush()
    _link_to_english(added)
    return counts


def _link_to_english(added: list[LetterTemplate]) -> None:
    """The shipped translations were written from the English letters: each new one records
    the English version current now, so that a later English change marks it out of date."""
    for template in added:
        if template.language == SOURCE_LANGUAGE:
            continue
        english = db.session.scalar(
            select(func.max(LetterTemplate.version)).where(
                LetterTemplate.campaign_id == template.campaign_id,
                LetterTemplate.body_id == template.body_id,
                LetterTemplate.language == SOURCE_LANGUAGE))
        if english is not None:
            template.source_language, template.source_version = SOURCE_LANGUAGE, english
    db.session.flush()
