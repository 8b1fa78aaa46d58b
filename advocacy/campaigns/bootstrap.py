"""`advocacy init`: the database schema, the default campaign, targets, letters and pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from advocacy.campaigns.page_files import load_pages, page_paths, read_page_dir
from advocacy.extensions import db
from advocacy.letters.files import letter_paths, load_letters, read_letter_dir
from advocacy.models import Campaign
from advocacy.officials.files import load_officials, officials_paths, read_officials_dir
from advocacy.officials.groups import known_slugs
from advocacy.progress import Advance, nothing

# Russia holds Azat Miftakhov: supporters who give it as their country are warned.
DEFAULT_CAMPAIGN = {"slug": "free-azat-miftakhov", "name": "Free Azat Miftakhov",
                    "detaining_country": "RU"}
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"  # advocacy/migrations


def project_dir(name: str) -> Path:
    """targets/, templates/ or campaigns/ beside the package in a checkout, else in the
    working directory."""
    beside = Path(__file__).resolve().parents[2] / name  # the checkout, above advocacy/
    return beside if beside.is_dir() else Path.cwd() / name


def default_campaign() -> Campaign:
    slug = DEFAULT_CAMPAIGN["slug"]
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    if campaign is None:
        has_default = db.session.scalar(select(Campaign).where(Campaign.is_default.is_(True)))
        campaign = Campaign(**DEFAULT_CAMPAIGN, is_default=has_default is None, bodies=[])
        db.session.add(campaign)
        db.session.flush()
    return campaign


def set_up_migrations(app: Flask) -> None:
    """Flask-Migrate for this app: only `advocacy init` and `advocacy db` set it up, as
    Alembic is about 12 MB in every process that imports it."""
    from flask_migrate import Migrate

    if "migrate" not in app.extensions:
        Migrate(app, db, directory=str(MIGRATIONS), render_as_batch=True)


def migrate_database() -> None:
    from flask_migrate import upgrade

    set_up_migrations(current_app._get_current_object())  # type: ignore[attr-defined]
    upgrade(directory=str(MIGRATIONS))


def load_steps(targets_dir: Path, templates_dir: Path, campaigns_dir: Path | None = None) -> int:
    """How many steps load_data reports: each file is read, then loaded."""
    pages = page_paths(campaigns_dir or project_dir("campaigns"))
    return 2 * (len(officials_paths(targets_dir)) + len(letter_paths(templates_dir))
                + len(pages))


def load_data(targets_dir: Path, templates_dir: Path, advance: Advance = nothing,
              campaigns_dir: Path | None = None) -> dict[str, Any]:
    """Load every kind of file in one transaction: all of it arrives, or none. The
    campaigns' pages come from campaigns/ beside targets/ unless `campaigns_dir` says."""
    # Validate everything before writing anything.
    officials_files = read_officials_dir(targets_dir, advance)
    # A letter's folder names a group from the targets files, or one organizers defined.
    groups = {f.body.slug for f in officials_files} | known_slugs()
    letter_files = read_letter_dir(templates_dir, advance, groups)
    page_files = read_page_dir(campaigns_dir or project_dir("campaigns"), advance)
    try:
        officials = load_officials(officials_files, advance)
        campaign = default_campaign()
        letters = load_letters(campaign, letter_files, advance)
        pages = load_pages(page_files, advance)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return {"targets": officials, "letters": letters, "pages": pages,
            "campaign": campaign.slug}
