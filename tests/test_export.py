"""`advocacy export`: the database back to files; export then init on a fresh database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from advocacy import create_app
from advocacy.campaigns.bootstrap import load_data
from advocacy.campaigns.settings import find_campaign
from advocacy.extensions import db
from advocacy.letters.files import read_letter_dir
from advocacy.letters.versions import Draft, current_template, save
from advocacy.models import Body, LetterTemplate, Official
from advocacy.organizers.accounts import set_organizer

from helpers import ROOT

FILE_FIELDS = ("key", "office", "holder", "holder_gender", "country", "languages", "timezone",
               "email", "contact_page", "postal_address", "source", "verified", "salutations",
               "office_names")


def snapshot() -> dict[str, Any]:
    """What the files carry: bodies, active officials, and each current letter."""
    campaign = find_campaign(None)
    assert campaign is not None
    bodies = db.session.scalars(select(Body).order_by(Body.slug)).all()
    officials = db.session.scalars(select(Official).where(Official.active.is_(True))
                                 .order_by(Official.key)).all()
    letters = {}
    for body in bodies:
        for language in ("en", "fr", "de", "ru", "es", "it", "pt"):
            template = current_template(campaign, body, language)
            if template is not None:
                letters[(body.slug, language)] = Draft.of(template)
    return {"bodies": [(b.slug, b.name, b.names) for b in bodies],
            "targets": [(t.body.slug, *(getattr(t, f) for f in FILE_FIELDS)) for t in officials],
            "letters": letters, "campaign": (campaign.slug, campaign.name)}


def edit_things() -> None:
    """What organizers change: letters (with variants and a suggested paragraph) and officials."""
    organizer = set_organizer("editor@campaign.test", "correct horse battery", "editor")
    campaign = find_campaign(None)
    assert campaign is not None
    for slug, language in (("un", "en"), ("gov", "ru")):
        body = db.session.scalars(select(Body).where(Body.slug == slug)).one()
        template = current_template(campaign, body, language)
        assert template is not None
        save(organizer, campaign, body, language, Draft(
            subject=template.subject + " (2)", default_salutation="Dear \"Sir\" or Madam,",
            text=template.text.replace("Yours sincerely,", 'With """respect""" \\ and\ttabs,'),
            subject_variants=("Second subject", "Third: {{ campaign.name }}"),
            suggested_note="Ich bin Lehrerin.\nZweite Zeile: «Азат»."), template.version)
    official = db.session.scalars(select(Official).where(Official.key == "un-wgad")).one()
    official.holder = "Named By An Organizer"
    official.verified = False
    gone = db.session.scalars(select(Official).where(Official.key == "un-sr-torture")).one()
    gone.active = False
    db.session.commit()


def test_export_then_init_on_a_fresh_database_gives_the_same_data(
    app: Any, tmp_path: Path
) -> None:
    edit_things()
    before = snapshot()
    targets_dir, templates_dir = tmp_path / "out" / "targets", tmp_path / "out" / "templates"
    result = app.test_cli_runner().invoke(args=[
        "export", "--targets-dir", str(targets_dir), "--templates-dir", str(templates_dir)])
    assert result.exit_code == 0, result.output
    assert '"un-sr-torture"' in result.output  # named as left out: it is deactivated
    assert sorted(p.name for p in targets_dir.iterdir()) == ["coe.toml", "eu.toml", "gov.toml",
                                                             "un.toml"]
    assert len(read_letter_dir(templates_dir)) == 28
    written = "".join(p.read_text() for p in (tmp_path / "out").rglob("*.toml"))
    # No organizer (not even as a version's author), no sender, nothing of the instance.
    assert "campaign.test" not in written
    assert "un-sr-torture" not in "".join(p.read_text() for p in targets_dir.iterdir())
    assert "suggested_note" in written and "subject_variants" in written
    assert "[asks]" in written and 'holder_gender = "f"' in written

    fresh = create_app({"TESTING": True,
                        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.db'}"})
    with fresh.app_context():
        loaded = fresh.test_cli_runner().invoke(args=[
            "init", "--targets", str(targets_dir), "--templates", str(templates_dir)])
        assert loaded.exit_code == 0, loaded.output
        after = snapshot()
        db.session.remove()
        db.engine.dispose()
    assert after == before

    # Loaded back into the database it came from (init less its migrations: the fixture's
    # schema is built without them), the export adds no version.
    count = db.session.scalar(select(func.count()).select_from(LetterTemplate))
    assert load_data(targets_dir, templates_dir)["letters"]["added"] == 0
    assert db.session.scalar(select(func.count()).select_from(LetterTemplate)) == count


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_shipped_files_export_as_they_read(app: Any, tmp_path: Path) -> None:
    """Without organizers' edits, the letter files come back with the same text and hash."""
    result = app.test_cli_runner().invoke(args=[
        "export", "--targets-dir", str(tmp_path / "t"), "--templates-dir", str(tmp_path / "l")])
    assert result.exit_code == 0, result.output
    shipped = {(lf.body, lf.language): lf.content_hash()
               for lf in read_letter_dir(ROOT / "templates")}
    exported = {(lf.body, lf.language): lf.content_hash()
                for lf in read_letter_dir(tmp_path / "l")}
    assert exported == shipped
