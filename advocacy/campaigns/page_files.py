"""Campaign pages shipped as files (campaigns/<slug>/<language>.md) and loading them.

A file is Markdown, the story, after a TOML block between two `+++` lines holding the rest
(the front matter Hugo and Zola use); campaigns/README.md describes it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from advocacy.campaigns.pages import PageDraft, problems, version_row
from advocacy.extensions import db
from advocacy.models import Campaign, CampaignPage
from advocacy.officials.files import LETTER_LANGUAGES
from advocacy.progress import Advance, counted, nothing

KEYS = {"title", "summary", "news_date", "news", "goal", "share_text"}
FENCE = "+++"


class PageFileError(ValueError):
    """A page file is broken; the message names the file and the reason."""


@dataclass(frozen=True)
class PageFile:
    campaign: str  # its slug: the folder's name
    language: str
    draft: PageDraft


def _front_matter(path: Path) -> tuple[dict[str, Any], str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PageFileError(f"{path}: cannot be read: {exc}") from None
    first, sep, rest = text.lstrip("\ufeff").partition("\n")
    front, fence, story = rest.partition(f"\n{FENCE}\n")
    if first.strip() != FENCE or not sep or not fence:
        raise PageFileError(f"{path}: begins with a TOML block between two {FENCE} lines")
    try:
        data = tomllib.loads(front)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise PageFileError(f"{path}: TOML: {exc}") from None
    return data, story


def read_page_file(path: Path) -> PageFile:
    slug, language = path.parent.name, path.stem
    if language not in LETTER_LANGUAGES:
        raise PageFileError(f"{path}: language must be one of {', '.join(LETTER_LANGUAGES)}")
    data, story = _front_matter(path)
    if extra := set(data) - KEYS:
        raise PageFileError(f"{path}: unknown keys {', '.join(sorted(extra))}")
    news_date, goal = data.get("news_date", ""), data.get("goal", "")
    if not isinstance(news_date, date | str) or not isinstance(goal, int | str) \
            or isinstance(goal, bool):
        raise PageFileError(f"{path}: news_date is a date (2026-05-21), goal a number")
    texts = {k: data.get(k, "") for k in ("title", "summary", "news", "share_text")}
    if not all(isinstance(v, str) for v in texts.values()):
        raise PageFileError(f"{path}: title, summary, news and share_text are text")
    draft = PageDraft(story=story, news_date=str(news_date), goal=str(goal),
                      **texts).normalized()
    if found := problems(draft):
        raise PageFileError(f"{path}: " + "; ".join(f"{k}: {v}" for k, v in found.items()))
    return PageFile(slug, language, draft)


def page_paths(directory: Path) -> list[Path]:
    return sorted(directory.glob("*/*.md")) if directory.is_dir() else []


def read_page_dir(directory: Path, advance: Advance = nothing) -> list[PageFile]:
    return [read_page_file(p) for p in counted(page_paths(directory), advance)]


def load_pages(files: list[PageFile], advance: Advance = nothing) -> dict[str, int]:
    """Add a version for each file that changed since it was last loaded, as letter files
    do (letters/files.py): an unchanged file leaves organizers' edits alone."""
    counts = {"added": 0, "unchanged": 0}
    for pf in counted(files, advance):
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == pf.campaign))
        if campaign is None:
            raise PageFileError(f"campaigns/{pf.campaign}: no campaign has this slug"
                                " (create it in the admin first)")
        versions = db.session.scalars(
            select(CampaignPage).where(CampaignPage.campaign_id == campaign.id,
                                       CampaignPage.language == pf.language)
            .order_by(CampaignPage.version.desc())).all()
        last_from_file = next((v for v in versions if v.origin == "file"), None)
        digest = pf.draft.content_hash()
        if (last_from_file is not None and last_from_file.content_hash == digest) or (
                versions and PageDraft.of(versions[0]).normalized() == pf.draft):
            counts["unchanged"] += 1
            continue
        db.session.add(version_row(campaign, pf.language, pf.draft,
                            versions[0].version + 1 if versions else 1, "file", None))
        counts["added"] += 1
    db.session.flush()
    return counts
