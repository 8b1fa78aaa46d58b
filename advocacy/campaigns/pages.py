"""A campaign's public page per language: its versions, the story made safe, its image.

Every save is a new CampaignPage version (the highest is current), as for letters
(letters/versions.py): nothing is overwritten, any version can come back, each has a diff.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date
from pathlib import Path

import nh3
from flask import current_app
from flask_babel import gettext as _
from markdown_it import MarkdownIt
from markupsafe import Markup
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from advocacy import audit
from advocacy.extensions import db
from advocacy.instance_files import private_dir
from advocacy.letters.diffs import Row, side_by_side
from advocacy.letters.versions import DraftError, VersionConflict
from advocacy.models import Campaign, CampaignPage, Organizer

# The language a page falls back to when it has no content in the one asked for.
DEFAULT_LANGUAGE = "en"
LIMITS = {"title": 200, "summary": 300, "story": 50_000, "image_alt": 300, "news": 500,
          "share_text": 500}
GOAL_MAX = 1_000_000_000
IMAGE_MAX_BYTES = 10 * 1024 * 1024  # a phone's photo, with room to spare
IMAGE_MAX_PIXELS = 50_000_000  # past this, decoding alone takes too much memory
IMAGE_WIDTH = 1200  # twice a phone's width: sharp enough, a few hundred KB
IMAGE_FOLDER = "page-images"  # in the instance folder, private like everything there
_IMAGE_NAME = re.compile(r"^[0-9a-f]{64}\.(jpg|png)$")


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True)
class PageDraft:
    """The content of one version, as typed or as stored (goal and date as typed)."""

    title: str
    summary: str
    story: str = ""
    image: str = ""
    image_alt: str = ""
    news_date: str = ""  # ISO, e.g. 2026-12-01
    news: str = ""
    goal: str = ""
    share_text: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> PageDraft:
        return cls(**{name: form.get(name, "") for name in cls.__dataclass_fields__}).normalized()

    @classmethod
    def of(cls, page: CampaignPage) -> PageDraft:
        return cls(page.title, page.summary, page.story, page.image or "", page.image_alt,
                   page.news_date.isoformat() if page.news_date else "", page.news,
                   str(page.goal) if page.goal is not None else "", page.share_text)

    def normalized(self) -> PageDraft:
        """Only what changes the page: line ends, outer blank space, spaces in one-liners."""
        one_line = {name: " ".join(getattr(self, name).split()) for name in (
            "title", "summary", "image", "image_alt", "news_date", "news", "goal", "share_text")}
        return replace(self, story=_lines(self.story).strip(), **one_line)

    def content_hash(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()

    def as_lines(self) -> list[str]:
        """The whole version as text, for diffs, its parts named in the reader's language."""
        return [_("Title: %(text)s", text=self.title), _("Summary: %(text)s", text=self.summary),
                _("Image: %(text)s", text=self.image or _("(none)")),
                _("Image text: %(text)s", text=self.image_alt),
                _("Latest news: %(text)s", text=f"{self.news_date} {self.news}").rstrip(),
                _("Goal: %(text)s", text=self.goal),
                _("Share text: %(text)s", text=self.share_text), _("Story:"),
                *self.story.splitlines()]


def problems(draft: PageDraft) -> dict[str, str]:
    """What stops the draft from being saved, per field."""
    found: dict[str, str] = {}
    for name in ("title", "summary"):
        if not getattr(draft, name):
            found[name] = "This is required."
    for name, limit in LIMITS.items():
        value = getattr(draft, name)
        if len(value) > limit:
            found[name] = f"At most {limit} characters (now {len(value)})."
    if draft.goal and not (draft.goal.isdigit() and 0 < int(draft.goal) <= GOAL_MAX):
        found["goal"] = "A whole number of letters, such as 10000, or nothing."
    if draft.news_date:
        try:
            date.fromisoformat(draft.news_date)
        except ValueError:
            found["news_date"] = "A date such as 2026-12-01, or nothing."
    if draft.news and not draft.news_date:
        found["news_date"] = "Date the news, so that readers know how fresh it is."
    if draft.image and image_path(draft.image) is None:
        found["image"] = "This image is gone: upload it again."
    if draft.image and not draft.image_alt:
        found["image_alt"] = "Describe the image for people who cannot see it."
    return found


# --- the story -------------------------------------------------------------------------------

# markdown-it-py: CommonMark, kept by the Executable Books project (its sibling linkify-it-py
# already checks names for links), with raw HTML off. Then nh3 (Python's binding of Rust's
# ammonia) keeps only these tags, attributes and link schemes: whatever a parser lets
# through, no script, event handler or javascript: link reaches the page.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})
_TAGS = {"p", "br", "strong", "em", "a", "ul", "ol", "li", "blockquote", "h2", "h3", "h4",
         "code", "pre", "hr"}


def story_html(markdown: str) -> Markup:
    """The story as HTML that is safe to put in the page."""
    html = _MARKDOWN.render(markdown)
    clean = nh3.clean(html, tags=_TAGS, attributes={"a": {"href", "title"}},
                      url_schemes={"http", "https", "mailto"},
                      link_rel="noopener noreferrer nofollow")
    return Markup(clean)  # noqa: S704  # sanitised by nh3 just above


# --- the image -------------------------------------------------------------------------------

def _image_folder() -> Path:
    return private_dir(Path(current_app.instance_path) / IMAGE_FOLDER)


def image_path(name: str) -> Path | None:
    """Where a stored image is, or None for a name that is not one of ours."""
    if not _IMAGE_NAME.match(name):
        return None
    path = Path(current_app.instance_path) / IMAGE_FOLDER / name
    return path if path.is_file() else None


def store_image(data: bytes) -> str:
    """Keep an uploaded image, resized and stripped of its metadata (camera, place, time);
    the answer is its file name, made from its content. DraftError when it is not one.

    Pillow (the maintained fork of PIL) reads the formats phones and cameras write; the
    pixels are copied into a new image, so no EXIF, XMP or ICC block goes along.
    """
    if len(data) > IMAGE_MAX_BYTES:
        raise DraftError({"image": _("The image is too large: at most %(mb)d MB.",
                                     mb=IMAGE_MAX_BYTES // (1024 * 1024))})
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.format not in ("JPEG", "PNG", "WEBP", "GIF"):
                raise DraftError({"image": _("Upload a JPEG, PNG, WebP or GIF image.")})
            if opened.width * opened.height > IMAGE_MAX_PIXELS:
                raise DraftError({"image": _("The image has too many pixels: at most 50"
                                             " million.")})
            upright = ImageOps.exif_transpose(opened)  # phones store the turn in EXIF
            clear = upright.mode in ("RGBA", "LA") or "transparency" in upright.info
            image = upright.convert("RGBA" if clear else "RGB")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError,
            ValueError) as exc:
        if isinstance(exc, DraftError):
            raise
        raise DraftError({"image": _("This file is not an image we can read.")}) from None
    image.thumbnail((IMAGE_WIDTH, IMAGE_WIDTH * 4))
    bare = Image.frombytes(image.mode, image.size, image.tobytes())  # pixels only
    out = io.BytesIO()
    if clear:
        bare.save(out, "PNG", optimize=True)
    else:
        bare.save(out, "JPEG", quality=85, optimize=True)
    stored = out.getvalue()
    name = f"{hashlib.sha256(stored).hexdigest()}.{'png' if clear else 'jpg'}"
    path = _image_folder() / name
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as fh:
            fh.write(stored)
    return name


# --- versions --------------------------------------------------------------------------------

def current_page(campaign: Campaign, language: str) -> CampaignPage | None:
    """The newest version of the campaign's page in this language."""
    return db.session.scalar(
        select(CampaignPage).where(CampaignPage.campaign_id == campaign.id,
                                   CampaignPage.language == language)
        .order_by(CampaignPage.version.desc()).limit(1))


@dataclass(frozen=True)
class Shown:
    """What the public page shows: the content (None: nothing in any language), the language
    it is in, and the one asked for (they differ when the page fell back)."""

    page: CampaignPage | None
    language: str
    asked: str

    @property
    def fell_back(self) -> bool:
        return self.page is not None and self.language != self.asked


def shown_page(campaign: Campaign, language: str) -> Shown:
    """The page in `language`, else in the default language."""
    page = current_page(campaign, language)
    if page is None and language != DEFAULT_LANGUAGE:
        return Shown(current_page(campaign, DEFAULT_LANGUAGE), DEFAULT_LANGUAGE, language)
    return Shown(page, language, language)


def version_row(campaign: Campaign, language: str, draft: PageDraft, version: int, origin: str,
         author: str | None) -> CampaignPage:
    return CampaignPage(
        campaign_id=campaign.id, language=language, version=version, title=draft.title,
        summary=draft.summary, story=draft.story, image=draft.image or None,
        image_alt=draft.image_alt,
        news_date=date.fromisoformat(draft.news_date) if draft.news_date else None,
        news=draft.news, goal=int(draft.goal) if draft.goal else None,
        share_text=draft.share_text, origin=origin, content_hash=draft.content_hash(),
        author=author)


def _commit(current: CampaignPage | None) -> None:
    try:
        db.session.commit()
    except IntegrityError:  # another organizer took this version number a moment ago
        db.session.rollback()
        raise VersionConflict(current) from None


def save_page(organizer: Organizer, campaign: Campaign, language: str, draft: PageDraft,
              base_version: int | None) -> CampaignPage | None:
    """A new version with the draft; None when it is the current content already.
    VersionConflict when another version was saved after `base_version`, the one edited."""
    draft = draft.normalized()
    if found := problems(draft):
        raise DraftError(found)
    current = current_page(campaign, language)
    if current is not None and PageDraft.of(current).normalized() == draft:
        return None
    if (current.version if current else None) != base_version:
        raise VersionConflict(current)
    version = version_row(campaign, language, draft, current.version + 1 if current else 1,
                   "organizer", organizer.email)
    db.session.add(version)
    audit.record(organizer, "save page", f"{campaign.slug}/{language}",
                 version=version.version)
    _commit(current)
    return version


def roll_back_page(organizer: Organizer, old: CampaignPage) -> CampaignPage | None:
    """A new version with an old version's content; None when that is the current one."""
    campaign = db.session.get_one(Campaign, old.campaign_id)
    draft = PageDraft.of(old).normalized()
    if found := problems(draft):  # its image may be gone
        raise DraftError(found)
    current = current_page(campaign, old.language)
    if current is not None and PageDraft.of(current).normalized() == draft:
        return None
    version = version_row(campaign, old.language, draft, current.version + 1 if current else 1,
                   "organizer", organizer.email)
    db.session.add(version)
    audit.record(organizer, "roll back page", f"{campaign.slug}/{old.language}",
                 to_version=old.version, version=version.version)
    _commit(current)
    return version


@dataclass(frozen=True)
class PageVersion:
    page: CampaignPage
    diff: list[Row]  # against the version before it, word by word


def page_history(campaign: Campaign, language: str) -> list[PageVersion]:
    """Every version, newest first, each with its diff against the one before."""
    rows = db.session.scalars(
        select(CampaignPage).where(CampaignPage.campaign_id == campaign.id,
                                   CampaignPage.language == language)
        .order_by(CampaignPage.version)).all()
    views, before = [], PageDraft("", "").as_lines()
    for row in rows:
        lines = PageDraft.of(row).as_lines()
        views.append(PageVersion(row, side_by_side(before, lines)))
        before = lines
    return views[::-1]


def languages_with_content(campaign: Campaign) -> set[str]:
    return set(db.session.scalars(select(CampaignPage.language).distinct()
                                  .where(CampaignPage.campaign_id == campaign.id)))
