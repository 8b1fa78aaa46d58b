"""`advocacy init`: migrations on SQLite and PostgreSQL, idempotent loading, file changes."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Table, func, insert, inspect, select, text

from advocacy import create_app
from advocacy.extensions import db
from advocacy.models import Body, LetterTemplate, Official
from advocacy.officials.files import read_officials_dir

from helpers import ROOT

# Offices in the shipped targets files: research adds offices, the loader loads them all.
SHIPPED = sum(len(tf.target) for tf in read_officials_dir(ROOT / "targets"))


@pytest.fixture
def blank_app(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An app on an empty database: init has to build everything."""
    monkeypatch.setenv("ADVOCACY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        yield app
        db.session.remove()
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.engine.dispose()


@pytest.fixture
def data_dirs(tmp_path: Path) -> tuple[Path, Path]:
    officials, templates = tmp_path / "targets", tmp_path / "templates"
    shutil.copytree(ROOT / "targets", officials)
    shutil.copytree(ROOT / "templates", templates)
    return officials, templates


def init(app: Any, dirs: tuple[Path, Path]) -> Any:
    result = app.test_cli_runner().invoke(
        args=["init", "--targets", str(dirs[0]), "--templates", str(dirs[1])]
    )
    assert result.exit_code == 0, result.output
    return result


def count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_migrations_build_the_schema_the_models_describe(blank_app: Any) -> None:
    from advocacy.campaigns.bootstrap import migrate_database

    migrate_database()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_advocacy_db_runs_flask_migrates_commands(blank_app: Any) -> None:
    """Flask-Migrate is set up when `advocacy db …` runs (not for every command)."""
    from advocacy.campaigns.bootstrap import MIGRATIONS

    runner = blank_app.test_cli_runner()
    upgraded = runner.invoke(args=["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
    version = "SELECT version_num FROM alembic_version"
    with db.engine.connect() as conn:
        assert conn.scalar(text(version))
    # The group's own options reach it too (-d: the migrations' directory).
    stamped = runner.invoke(args=["db", "-d", str(MIGRATIONS), "stamp", "base"])
    assert stamped.exit_code == 0, stamped.output
    with db.engine.connect() as conn:
        assert conn.scalar(text(version)) is None


def test_init_twice_loads_everything_once(blank_app: Any, data_dirs: tuple[Path, Path]) -> None:
    first = init(blank_app, data_dirs)
    assert f'"added": {SHIPPED}' in first.output and '"added": 28' in first.output
    counts = (count(Body), count(Official), count(LetterTemplate))
    assert counts == (4, SHIPPED, 28)
    second = init(blank_app, data_dirs)
    assert '"added": 0' in second.output
    assert (count(Body), count(Official), count(LetterTemplate)) == counts


def test_init_draws_a_bar_on_stderr_when_asked(blank_app: Any,
                                               data_dirs: tuple[Path, Path]) -> None:
    loud = blank_app.test_cli_runner().invoke(args=[
        "init", "--targets", str(data_dirs[0]), "--templates", str(data_dirs[1]), "--progress"])
    assert loud.exit_code == 0, loud.output
    assert json.loads(loud.stdout)["targets"]["added"] == SHIPPED  # stdout: the report alone
    assert re.search(r"Loading files  \[#+\]  100%", loud.stderr), loud.stderr
    assert "Loading files" not in init(blank_app, data_dirs).stderr  # not a terminal


def test_a_changed_letter_file_arrives_as_a_new_version(
    blank_app: Any, data_dirs: tuple[Path, Path]
) -> None:
    init(blank_app, data_dirs)
    path = data_dirs[1] / "un" / "en.toml"
    path.write_text(path.read_text().replace("urgent appeal", "URGENT appeal", 1))
    init(blank_app, data_dirs)
    versions = db.session.scalars(
        select(LetterTemplate)
        .join(Body, LetterTemplate.body_id == Body.id)
        .where(Body.slug == "un", LetterTemplate.language == "en")
        .order_by(LetterTemplate.version)
    ).all()
    assert [v.version for v in versions] == [1, 2]
    assert "URGENT appeal" in versions[1].subject and "URGENT" not in versions[0].subject
    assert count(LetterTemplate) == 29  # 4 groups x 7 languages, and the new version


def test_organizer_edits_survive_an_unchanged_file_and_yield_to_a_changed_one(
    blank_app: Any, data_dirs: tuple[Path, Path]
) -> None:
    init(blank_app, data_dirs)
    official = db.session.scalars(select(Official).where(Official.key == "un-wgad")).one()
    official.holder = "Holder Named By An Organizer"
    db.session.commit()
    init(blank_app, data_dirs)
    db.session.expire_all()
    assert official.holder == "Holder Named By An Organizer"

    path = data_dirs[0] / "un.toml"
    text_ = path.read_text()
    start = text_.index('key = "un-wgad"')
    end = text_.index('holder = ""', start) + len('holder = ""')
    path.write_text(text_[:end].replace('holder = ""', 'holder = "From The File"') + text_[end:])
    init(blank_app, data_dirs)
    db.session.expire_all()
    assert official.holder == "From The File"


def test_a_groups_edits_survive_an_unchanged_file_and_yield_to_a_changed_one(
    blank_app: Any, data_dirs: tuple[Path, Path]
) -> None:
    """As for officials: `advocacy init` again keeps what organizers set on a group."""
    init(blank_app, data_dirs)
    eu = db.session.scalars(select(Body).where(Body.slug == "eu")).one()
    eu.offered, eu.risk_notices = False, {"en": "Set by an organizer."}
    db.session.commit()
    init(blank_app, data_dirs)
    db.session.expire_all()
    assert (eu.offered, eu.risk_notices) == (False, {"en": "Set by an organizer."})

    path = data_dirs[0] / "eu.toml"
    path.write_text(path.read_text().replace("position = 2", "position = 7\noffered = true"))
    init(blank_app, data_dirs)
    db.session.expire_all()
    assert (eu.offered, eu.position, eu.risk_notices) == (True, 7, {})


def test_a_broken_file_stops_init_with_its_name_and_loads_nothing(
    blank_app: Any, data_dirs: tuple[Path, Path]
) -> None:
    path = data_dirs[0] / "coe.toml"
    broken = path.read_text().replace('timezone = "Europe/Paris"', 'timezone = "Nowhere"', 1)
    path.write_text(broken)
    result = blank_app.test_cli_runner().invoke(
        args=["init", "--targets", str(data_dirs[0]), "--templates", str(data_dirs[1])]
    )
    assert result.exit_code != 0
    assert "coe.toml" in result.output and "timezone" in result.output
    assert count(Official) == 0 and count(LetterTemplate) == 0


@pytest.mark.parametrize("file", ["coe.toml", "eu/de.toml"])
def test_a_file_nested_too_deeply_stops_init_with_its_name(
    blank_app: Any, data_dirs: tuple[Path, Path], file: str
) -> None:
    """tomllib raises RecursionError, not its decode error, on arrays thousands deep."""
    path = (data_dirs[0] if file == "coe.toml" else data_dirs[1]) / file
    path.write_text(path.read_text() + "\ndeep = " + "[" * 100_000)
    result = blank_app.test_cli_runner().invoke(
        args=["init", "--targets", str(data_dirs[0]), "--templates", str(data_dirs[1])]
    )
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.exception
    assert file.split("/")[-1] in result.output and "nested too deeply" in result.output
    assert count(Official) == 0 and count(LetterTemplate) == 0


def test_a_template_that_does_not_render_stops_init(
    blank_app: Any, data_dirs: tuple[Path, Path]
) -> None:
    path = data_dirs[1] / "eu" / "de.toml"
    path.write_text(path.read_text().replace("{{ supporter.name }}", "{{ supporter.nom }}", 1))
    result = blank_app.test_cli_runner().invoke(
        args=["init", "--targets", str(data_dirs[0]), "--templates", str(data_dirs[1])]
    )
    assert result.exit_code != 0
    assert "de.toml" in result.output and "nom" in result.output


def test_the_privacy_migration_encrypts_what_was_stored_in_clear(blank_app: Any) -> None:
    from flask_migrate import upgrade

    from advocacy.campaigns.bootstrap import MIGRATIONS, default_campaign, set_up_migrations
    from advocacy.crypto import lookup_hash
    from advocacy.models import Campaign, Submission, Supporter

    set_up_migrations(blank_app)
    upgrade(directory=str(MIGRATIONS), revision="0006")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO campaign (id, slug, name, is_default, status, bodies,"
                          " limits, created_at) VALUES (1, 'free-azat-miftakhov', 'Free Azat',"
                          " true, 'open', '[]', '{}', CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO body (id, slug, name, names) VALUES (1, 'un', 'UN', '{}')"))
        for i, email in enumerate(["ada@example.org", "ADA@example.org", "bo@example.org"], 1):
            conn.execute(text("INSERT INTO supporter (id, email, created_at)"
                              " VALUES (:i, :e, CURRENT_TIMESTAMP)"), {"i": i, "e": email})
            conn.execute(text(
                "INSERT INTO submission (campaign_id, supporter_id, body_id, target_country,"
                " name, city, country, language, personal_note, consent_at, created_at) VALUES"
                " (1, :i, 1, '', :name, 'Lyon', 'FR', 'en', 'Old words.', CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"), {"i": i, "name": f"Writer {i}"})
    upgrade(directory=str(MIGRATIONS))

    raw = db.session.execute(text("SELECT s.email, m.name, m.personal_note FROM supporter s"
                                  " JOIN submission m ON m.supporter_id = s.id")).all()
    # Spaces and "@" cannot occur in a Fernet token (base64url), so no token matches by chance.
    assert not [v for row in raw for v in row if "@" in v or "Writer " in v or "Old words" in v]
    supporters = db.session.scalars(select(Supporter).order_by(Supporter.id)).all()
    assert [s.email for s in supporters] == ["ada@example.org", "ADA@example.org",
                                             "bo@example.org"]
    # Two addresses differing in case are one writer now: the first keeps the hash.
    assert [s.email_hash for s in supporters] == [
        lookup_hash("ada@example.org"), None, lookup_hash("bo@example.org")]
    assert {s.name for s in db.session.scalars(select(Submission))} == {
        "Writer 1", "Writer 2", "Writer 3"}
    assert db.session.get(Campaign, 1).detaining_country == "RU"  # type: ignore[union-attr]
    assert default_campaign().id == 1


def test_the_organizer_security_migration_encrypts_secrets_and_finds_who_set_addresses(
    blank_app: Any,
) -> None:
    from flask_migrate import upgrade

    from advocacy.campaigns.bootstrap import MIGRATIONS, set_up_migrations
    from advocacy.models import Organizer

    set_up_migrations(blank_app)
    upgrade(directory=str(MIGRATIONS), revision="0008")
    clear = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    with db.engine.begin() as conn:
        for i, (email, secret) in enumerate([("a@campaign.test", clear),
                                             ("b@campaign.test", None)], 1):
            conn.execute(text(
                "INSERT INTO organizer (id, email, password_hash, role, active,"
                " session_version, totp_secret, created_at) VALUES (:i, :e, 'x', 'editor',"
                " true, 1, :s, CURRENT_TIMESTAMP)"), {"i": i, "e": email, "s": secret})
        conn.execute(text("INSERT INTO body (id, slug, name, names) VALUES (1, 'un', 'UN', '{}')"))
        for i, key in enumerate(["edited", "imported", "verified"], 1):
            conn.execute(text(
                "INSERT INTO target (id, key, body_id, office, holder, country, languages,"
                " timezone, email, salutations, source, verified, active) VALUES (:i, :k, 1,"
                " 'Office', '', '', '[\"en\"]', 'UTC', :m, '{}', 'src', :v, true)"),
                {"i": i, "k": key, "m": f"{key}@example.org", "v": key == "verified"})
        for who, action, subject, details in [
            (2, "add official", "edited", {"email": "first@example.org"}),
            (1, "edit official", "edited", {"email": ["first@example.org", "edited@example.org"]}),
            (1, "edit official", "edited", {"holder": ["", "Someone"]}),  # not the address
            (2, "import officials", "file.csv", {"added": [], "changed": {"imported": ["email"]},
                                                 "unchanged": 0}),
            (2, "edit official", "verified", {"email": ["x@example.org", "verified@example.org"]}),
        ]:
            conn.execute(text(
                "INSERT INTO audit_entry (organizer_id, organizer_email, action, subject, details,"
                " created_at) VALUES (:o, '', :a, :s, :d, CURRENT_TIMESTAMP)"),
                {"o": who, "a": action, "s": subject, "d": json.dumps(details)})
    upgrade(directory=str(MIGRATIONS))

    raw = db.session.execute(text("SELECT totp_secret FROM organizer ORDER BY id")).scalars().all()
    assert raw[0] and clear not in raw[0] and raw[1] is None
    a = db.session.get(Organizer, 1)
    assert a is not None and a.totp_secret == clear
    set_by = dict(db.session.execute(text("SELECT key, address_set_by FROM target")).all())
    assert set_by == {"edited": 1, "imported": 2, "verified": None}  # verified: nothing to do


def test_migration_0012_rehashes_addresses_and_merges_one_inboxs_rows(blank_app: Any) -> None:
    """Rows hashed on the old form (the lowercased address) get the canonical form's hash;
    two rows of one inbox become one, unless both wrote to one official: then, as 0007 did,
    the later keeps no hash (and key rotation leaves it so)."""
    import hashlib
    import hmac

    from flask_migrate import upgrade

    from advocacy import clock
    from advocacy.campaigns.bootstrap import MIGRATIONS, set_up_migrations
    from advocacy.crypto import keyring, lookup_hash, normalised_email
    from advocacy.models import Campaign, Letter, LetterStatus, Submission, Supporter
    from advocacy.privacy.key_rotation import rotate_keys

    def old_hash(address: str) -> str:
        return hmac.new(keyring().lookup_key, normalised_email(address).encode(),
                        hashlib.sha256).hexdigest()

    set_up_migrations(blank_app)
    # The revision before 0012: the rows below are built with today's models.
    upgrade(directory=str(MIGRATIONS), revision="0011")
    now = clock.now()
    # The campaign and body tables as they were then (0014 and 0020 add columns today's
    # models have).
    db.session.execute(text("INSERT INTO body (slug, name, names) VALUES ('un', 'UN', '{}')"))
    body = db.session.scalars(select(Body.id).where(Body.slug == "un")).one()
    db.session.execute(text(
        "INSERT INTO campaign (slug, name, is_default, status, bodies, limits, created_at)"
        " VALUES ('c', 'C', :yes, 'open', '[]', '{}', :now)"), {"yes": True, "now": now})
    campaign_id = db.session.scalars(select(Campaign.id).where(Campaign.slug == "c")).one()
    # Through Core: the ORM would write every column of today's model (NULL for those
    # without a default), and revisions after 0012 add some.
    official_id = db.session.execute(insert(cast(Table, Official.__table__)).values(
        key="t", body_id=body, office="O", email="o@example.org", source="s",
    ).returning(Official.__table__.c.id)).scalar_one()
    # (Core as well: 0026 adds columns to letter_template.)
    template_id = db.session.execute(insert(cast(Table, LetterTemplate.__table__)).values(
        campaign_id=campaign_id, body_id=body, language="en", version=1, subject="S", body="B",
        default_salutation="D", subject_variants=[], suggested_note="", origin="file",
        content_hash="x", created_at=now).returning(LetterTemplate.__table__.c.id)).scalar_one()
    addresses = ["ada.lovelace@gmail.com", "adalovelace@googlemail.com",  # merged: no clash
                 "bo+news@example.org", "bo@example.org",  # both wrote to the official
                 "cy@example.org"]  # unchanged
    supporters = [Supporter(email=a, email_hash=old_hash(a), created_at=now) for a in addresses]
    db.session.add_all(supporters)
    db.session.flush()
    for supporter, writes in zip(supporters, [False, True, True, True, True], strict=True):
        # (Core, naming its columns: today's model has columns 0011 does not, e.g. 0015's.)
        sub_id = db.session.execute(insert(Submission).values(
            campaign_id=campaign_id, supporter_id=supporter.id, body_id=body, name="N",
            city="C", country="FR", language="en", consent_at=now).returning(Submission.id)
        ).scalar_one()
        if writes:  # through Core too: later revisions add columns to letters as well
            db.session.execute(insert(cast(Table, Letter.__table__)).values(
                campaign_id=campaign_id, submission_id=sub_id, supporter_id=supporter.id,
                target_id=official_id, template_id=template_id, status=LetterStatus.SENT))
    db.session.commit()
    ids = [s.id for s in supporters]
    db.session.expunge_all()

    upgrade(directory=str(MIGRATIONS))

    rows = {s.id: s for s in db.session.scalars(select(Supporter))}
    assert sorted(rows) == [ids[0], ids[2], ids[3], ids[4]]  # the googlemail row merged
    assert rows[ids[0]].email_hash == lookup_hash("adalovelace@gmail.com")
    assert rows[ids[0]].email == "ada.lovelace@gmail.com"
    assert db.session.scalar(select(func.count(Submission.id)).where(
        Submission.supporter_id == ids[0])) == 2
    assert db.session.scalar(select(Letter.supporter_id).where(
        Letter.supporter_id.in_([ids[0], ids[1]]))) == ids[0]
    assert rows[ids[2]].email_hash == lookup_hash("bo@example.org")
    assert rows[ids[3]].email_hash is None  # its letter clashes: kept apart, as 0007 did
    assert rows[ids[4]].email_hash == old_hash("cy@example.org") == lookup_hash("cy@example.org")
    rotate_keys()  # would give the hashless row a hash, and break on the unique index
    db.session.expire_all()
    assert db.session.get(Supporter, ids[3]).email_hash is None  # type: ignore[union-attr]


def test_migration_0014_makes_the_groups_rows_with_what_code_used_to_say(blank_app: Any) -> None:
    """The national governments stay chosen by country and the shipped groups keep the form's
    order; other groups get the defaults (offered, every language, no notice). And back."""
    from flask_migrate import downgrade, upgrade

    from advocacy.campaigns.bootstrap import MIGRATIONS, set_up_migrations

    set_up_migrations(blank_app)
    upgrade(directory=str(MIGRATIONS), revision="0012")
    for slug in ("eu", "gov", "un", "coe", "ngo"):
        db.session.execute(text("INSERT INTO body (slug, name, names) VALUES (:s, :s, '{}')"),
                           {"s": slug})
    db.session.commit()

    upgrade(directory=str(MIGRATIONS), revision="0014")
    groups = {b.slug: b for b in db.session.scalars(select(Body))}
    assert {s for s, b in groups.items() if b.by_country} == {"gov"}
    assert sorted(groups, key=lambda s: groups[s].position) == ["ngo", "un", "eu", "coe", "gov"]
    assert all(b.offered and b.languages == [] and b.risk_notices == {}
               for b in groups.values())
    db.session.remove()

    downgrade(directory=str(MIGRATIONS), revision="0012")
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM body")).scalar() == 5
        with pytest.raises(Exception, match="by_country"):
            conn.execute(text("SELECT by_country FROM body"))


def test_migration_0015_carries_kept_newsletter_consents_into_opt_ins(blank_app: Any) -> None:
    """Newsletter consents of confirmed submissions not yet scrubbed become opt-ins with no
    partner, one per campaign and address (the earliest), readable with the same keys;
    unconfirmed ones wait for their confirmation, scrubbed ones are gone."""
    from datetime import UTC, datetime, timedelta

    from flask_migrate import downgrade, upgrade

    from advocacy.campaigns.bootstrap import MIGRATIONS, set_up_migrations
    from advocacy.crypto import lookup_hash, seal
    from advocacy.models import OptIn

    set_up_migrations(blank_app)
    upgrade(directory=str(MIGRATIONS), revision="0012")  # the revision before 0015
    conn = db.session.connection()
    day = datetime(2026, 11, 1, tzinfo=UTC)
    conn.execute(text("INSERT INTO campaign (id, slug, name, is_default, status, bodies, limits,"
                      " reply_to, detaining_country, resend_ambiguous, created_at) VALUES"
                      " (1, 'c', 'C', true, 'open', '[]', '{}', 'supporter', '', false, :at)"),
                 {"at": day})
    conn.execute(text("INSERT INTO body (id, slug, name, names) VALUES (1, 'un', 'UN', '{}')"))
    people = ["kept@example.org", "twice@example.org", "waiting@example.org",
              "scrubbed@example.org", "no-news@example.org"]
    for i, address in enumerate(people, start=1):
        conn.execute(text("INSERT INTO supporter (id, email, email_hash, created_at)"
                          " VALUES (:id, :email, :hash, :at)"),
                     {"id": i, "email": seal(address), "hash": lookup_hash(address), "at": day})
    # (supporter, newsletter, confirmed, scrubbed), one submission each; "twice" has two.
    rows = [(1, True, True, False), (2, True, True, False), (2, True, True, False),
            (3, True, False, False), (4, True, True, True), (5, False, True, False)]
    for n, (supporter, news, confirmed, scrubbed) in enumerate(rows, start=1):
        at = day + timedelta(days=n)
        conn.execute(text(
            "INSERT INTO submission (id, campaign_id, supporter_id, body_id, target_country,"
            " name, city, country, language, personal_note, sign_initials, consent_at,"
            " privacy_version, newsletter_at, created_at, confirmed_at, scrubbed_at) VALUES"
            " (:id, 1, :supporter, 1, '', :name, :city, 'FR', 'en', :note, false, :at,"
            " 'builtin-2-supporter', :news, :at, :confirmed, :scrubbed)"),
            {"id": n, "supporter": supporter, "name": seal(f"Writer {n}"), "city": seal("Lyon"),
             "note": seal(""), "at": at, "news": at if news else None,
             "confirmed": at if confirmed else None, "scrubbed": at if scrubbed else None})
    db.session.commit()

    upgrade(directory=str(MIGRATIONS))

    kept = db.session.scalars(select(OptIn).order_by(OptIn.id)).all()
    assert [(o.email, o.name, o.partner_id, o.notice_version) for o in kept] == [
        ("kept@example.org", "Writer 1", None, "builtin-2-supporter"),
        ("twice@example.org", "Writer 2", None, "builtin-2-supporter")]
    assert kept[1].consented_at == day + timedelta(days=2)  # the earliest of the two
    assert kept[0].email_hash == lookup_hash("kept@example.org")
    assert all(o.withdrawn_at is None for o in kept)
    db.session.commit()
    # And back down, and up again, on either database.
    downgrade(directory=str(MIGRATIONS), revision="0012")
    assert "opt_in" not in inspect(db.engine).get_table_names()
    upgrade(directory=str(MIGRATIONS))
    assert count(OptIn) == 2


def a_campaign_and_its_round(conn: Any, day: Any) -> None:
    """Campaign 1 and its follow-up round 1 of `day`, as SQL written for an old schema."""
    conn.execute(text("INSERT INTO campaign (id, slug, name, is_default, status, bodies, limits,"
                      " reply_to, detaining_country, resend_ambiguous, created_at) VALUES"
                      " (1, 'c', 'C', true, 'open', '[]', '{}', 'supporter', '', false, :at)"),
                 {"at": day})
    conn.execute(text("INSERT INTO follow_up_round (id, campaign_id, day, subject, text,"
                      " created_at) VALUES (1, 1, :day, 'S', 'T', :at)"),
                 {"day": day.date(), "at": day})


def test_migration_0028_marks_follow_ups_left_sending_so_they_go_to_review(
    blank_app: Any
) -> None:
    """Follow-ups get a letter's claim columns. One left `sending` before (a worker died with
    it, and nothing brought it back) is marked on the wire, so reconcile hands it to the
    organizers rather than sending it again; the others carry no claim. And back."""
    from datetime import UTC, datetime

    from flask_migrate import downgrade, upgrade

    from advocacy.campaigns.bootstrap import MIGRATIONS, set_up_migrations
    from advocacy.models import FollowUpLetter

    set_up_migrations(blank_app)
    upgrade(directory=str(MIGRATIONS), revision="0025")  # the revision before 0028
    conn = db.session.connection()
    day = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    a_campaign_and_its_round(conn, day)
    conn.execute(text("INSERT INTO body (id, slug, name, names, by_country, position,"
                      " languages, risk_notices, offered) VALUES"
                      " (1, 'un', 'UN', '{}', false, 0, '[]', '{}', true)"))
    for n in (1, 2):
        conn.execute(text(
            "INSERT INTO target (id, key, body_id, office, office_names, holder, country,"
            " languages, timezone, salutations, source, verified, active, paused, digest)"
            " VALUES (:id, :key, 1, 'Office', '{}', '', '', '[]', 'UTC', '{}', 'test', false,"
            " true, false, false)"), {"id": n, "key": f"office-{n}"})
    for n, status in ((1, "sending"), (2, "queued")):
        conn.execute(text("INSERT INTO follow_up_letter (id, round_id, target_id, status,"
                          " attempts, created_at) VALUES (:id, 1, :id, :status, 1, :at)"),
                     {"id": n, "status": status, "at": day})
    db.session.commit()

    upgrade(directory=str(MIGRATIONS))

    left, waiting = db.session.scalars(select(FollowUpLetter).order_by(FollowUpLetter.id))
    assert (left.status, left.claimed_at, left.on_wire_at) == ("sending", day, day)
    assert (waiting.claimed_at, waiting.claimed_by, waiting.on_wire_at) == (None, None, None)
    db.session.remove()
    downgrade(directory=str(MIGRATIONS), revision="0025")
    columns = {c["name"] for c in inspect(db.engine).get_columns("follow_up_letter")}
    assert not columns & {"claimed_at", "claimed_by", "on_wire_at"}
    assert count(FollowUpLetter.__table__) == 2


def test_migration_0029_gives_follow_up_rounds_a_language_english_for_those_before(
    blank_app: Any
) -> None:
    """Rounds written before 0029 were sent labelled with each office's first language, but
    organizers wrote them in English (the only language the form had): they read as English.
    And back."""
    from datetime import UTC, datetime

    from flask_migrate import downgrade, upgrade

    from advocacy.campaigns.bootstrap import MIGRATIONS, set_up_migrations
    from advocacy.models import FollowUpRound

    set_up_migrations(blank_app)
    upgrade(directory=str(MIGRATIONS), revision="0028")  # the revision before 0029
    conn = db.session.connection()
    day = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    a_campaign_and_its_round(conn, day)
    db.session.commit()

    upgrade(directory=str(MIGRATIONS))

    [before] = db.session.scalars(select(FollowUpRound))
    assert before.language == "en"
    db.session.add(FollowUpRound(id=2, campaign_id=1, day=day.date().replace(day=2), subject="S",
                                 text="T", language="fr"))
    db.session.commit()
    db.session.remove()
    downgrade(directory=str(MIGRATIONS), revision="0028")
    columns = {c["name"] for c in inspect(db.engine).get_columns("follow_up_round")}
    assert "language" not in columns
    assert count(FollowUpRound.__table__) == 2
