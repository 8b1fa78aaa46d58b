"""The `advocacy` command (also `flask --app advocacy …`)."""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext
from sqlalchemy import select
from werkzeug.security import check_password_hash

from . import audit
from .accounts import AccountError, hash_password, normalise
from .extensions import db
from .models import Organizer
from .progress import bar as progress_bar
from .progress import option as progress_option

DEMO_ORGANIZER = "organizer@localhost"


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


@click.command("init")
@click.option("--targets", "targets_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--templates", "templates_dir", type=click.Path(file_okay=False, path_type=Path))
@progress_option
@with_appcontext
def init_command(targets_dir: Path | None, templates_dir: Path | None,
                 progress: bool | None = None) -> None:
    """Create or migrate the database and load targets/ and templates/ (safe to repeat)."""
    from .bootstrap import load_data, load_steps, migrate_database, project_dir
    from .letter_files import TemplateFileError
    from .targets import TargetFileError

    migrate_database()
    targets_dir = targets_dir or project_dir("targets")
    templates_dir = templates_dir or project_dir("templates")
    try:
        with progress_bar(load_steps(targets_dir, templates_dir), "Loading files", progress) as bar:
            report = load_data(targets_dir, templates_dir, bar.update)
    except (TargetFileError, TemplateFileError) as exc:
        raise click.ClickException(str(exc)) from None
    _echo_json(report)


class MigrationCommands(click.Command):
    """`advocacy db …`: Flask-Migrate's commands, set up only when one runs, so that no other
    command (`advocacy worker`, say) loads Alembic (about 12 MB)."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        from flask_migrate.cli import db as migrate_group

        from .bootstrap import set_up_migrations

        set_up_migrations(click.get_current_context().ensure_object(ScriptInfo).load_app())
        commands: click.Group = migrate_group  # with the group's own options (-d, -x)
        return commands.make_context(info_name, args, parent=parent, **extra)


db_command = MigrationCommands("db", help="Database migrations (Flask-Migrate's commands).")


@click.command("export")
@click.option("--targets-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write <body>.toml (default: targets/).")
@click.option("--templates-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write <body>/<language>.toml (default: templates/).")
@click.option("--campaign", "campaign_slug", help="Whose letters (default: the default campaign).")
@progress_option
@with_appcontext
def export_command(targets_dir: Path | None, templates_dir: Path | None,
                   campaign_slug: str | None, progress: bool | None = None) -> None:
    """Write the officials and the current letters back to the files init reads (no secrets)."""
    from .bootstrap import project_dir
    from .export import export_letters, export_steps, export_targets
    from .letter_files import TemplateFileError
    from .services import find_campaign
    from .targets import TargetFileError

    campaign = find_campaign(campaign_slug)
    if campaign is None:
        raise click.ClickException(f"no campaign {campaign_slug!r}" if campaign_slug
                                   else "no default campaign: run init")
    try:
        with progress_bar(export_steps(), "Writing files", progress) as bar:
            report = {
                "targets": export_targets(targets_dir or project_dir("targets"), bar.update),
                "letters": export_letters(campaign, templates_dir or project_dir("templates"),
                                          bar.update)}
    except (TargetFileError, TemplateFileError) as exc:  # what init would refuse: not written
        raise click.ClickException(str(exc)) from None
    _echo_json(report)


def set_organizer(email: str, password: str, role: str = "owner") -> Organizer:
    """Create the organizer, or reset their password (which logs them out everywhere)."""
    email = email.strip().lower()
    organizer = db.session.scalar(select(Organizer).where(Organizer.email == email))
    if organizer is None:
        organizer = Organizer(email=email, role=role, password_hash="", session_version=1)
        db.session.add(organizer)
    else:
        organizer.session_version += 1
    organizer.password_hash = hash_password(password)
    audit.record(None, "set password from the command line", email, role=organizer.role)
    db.session.commit()
    return organizer


@click.command("create-organizer")
@click.argument("email")
@click.option("--role", type=click.Choice(["owner", "editor", "viewer"]), default="owner")
@click.option("--password", help="Omit to generate a strong one (printed once).")
@with_appcontext
def create_organizer_command(email: str, role: str, password: str | None) -> None:
    """Create an organizer account (or reset its password)."""
    try:
        email = normalise(email)  # as an invitation would
    except AccountError as exc:
        raise click.BadParameter(str(exc), param_hint="EMAIL") from None
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    try:
        set_organizer(email, password, role)
    except AccountError as exc:
        raise click.BadParameter(str(exc), param_hint="--password") from None
    click.echo(f"organizer {email} ({role}) ready")
    if generated:
        click.echo(f"password: {password}")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Work until the queue is empty, then stop.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run a delivery worker (SimpleWorker: no fork per job; the database keeps it safe)."""
    from .worker import run_worker

    run_worker(current_app._get_current_object(), burst=burst)  # type: ignore[attr-defined]


@click.command("reconcile")
@progress_option
@with_appcontext
def reconcile_command(progress: bool | None = None) -> None:
    """Re-queue what Redis lost, release due holds, hand stale `sending` letters to review."""
    from .reconcile import STEPS, reconcile

    with progress_bar(STEPS, "Reconciling", progress) as bar:
        report = reconcile(bar.update)
    _echo_json(report)


@click.command("stats")
@with_appcontext
def stats_command() -> None:
    """Print the dashboard's numbers: letters by state and body, own mail, queue, holds."""
    from .dashboard import Filters, confirmation_rate
    from .own_mail import own_mail_counts
    from .pulse import held_by_reason, queue_state
    from .stats import letter_stats

    queue_now = queue_state()
    confirmed, submitted = confirmation_rate(Filters())
    _echo_json({**letter_stats(), "own_mail": own_mail_counts(Filters()),
                "held": held_by_reason(),
                "confirmation": {"confirmed": confirmed, "submitted": submitted},
                "queue": {"depth": queue_now.depth, "workers": queue_now.workers,
                          "oldest_queued": queue_now.oldest_queued.isoformat()
                          if queue_now.oldest_queued else None}})


@click.command("pause")
@click.option("--campaign", "campaign_slug", help="Pause a whole campaign (default campaign if"
              " neither option is given).")
@click.option("--official", "official_key", help="Pause the letters to one official (target key).")
@with_appcontext
def pause_command(campaign_slug: str | None, official_key: str | None) -> None:
    """Stop sending: letters already queued are held at their next claim."""
    from .services import set_paused

    _echo_json(set_paused(campaign_slug, official_key, paused=True))


@click.command("resume")
@click.option("--campaign", "campaign_slug")
@click.option("--official", "official_key")
@with_appcontext
def resume_command(campaign_slug: str | None, official_key: str | None) -> None:
    """Start sending again: letters held by the pause go back to the queue."""
    from .services import set_paused

    _echo_json(set_paused(campaign_slug, official_key, paused=False))


@click.command("limits")
@click.option("--campaign", "campaign_slug")
@click.option("--set", "settings", help='JSON over the defaults, e.g. \'{"relay": "5/second"}\'.')
@click.option("--digest", "digest_for", metavar="OFFICIAL",
              help="Past their daily cap, send this official one digest instead.")
@click.option("--no-digest", "no_digest_for", metavar="OFFICIAL")
@with_appcontext
def limits_command(campaign_slug: str | None, settings: str | None, digest_for: str | None,
                   no_digest_for: str | None) -> None:
    """Show or change a campaign's rate limits and send window, and officials' digests."""
    from pydantic import ValidationError

    from .services import set_digest, set_limits

    try:
        report = set_limits(campaign_slug, json.loads(settings) if settings else None)
        for key, on in ((digest_for, True), (no_digest_for, False)):
            if key:
                set_digest(key, on)
    except (ValueError, LookupError, ValidationError) as exc:
        raise click.ClickException(str(exc)) from None
    _echo_json(report)


@click.command("sink")
@click.option("--port", type=int, default=2525, show_default=True)
@click.option("--outbox", type=click.Path(file_okay=False, path_type=Path),
              help="Keep each message as an .eml file here (default: count only).")
@click.option("--hang-up-at-data", type=click.FloatRange(0, 1), default=0.0,
              help="Cut this fraction of DATA commands, before any content (bench/chaos.py).")
@click.option("--hang-up-at-end", type=click.FloatRange(0, 1), default=0.0,
              help="Cut this fraction of connections after a whole message, before the reply.")
def sink_command(port: int, outbox: Path | None, hang_up_at_data: float,
                 hang_up_at_end: float) -> None:
    """Run a local SMTP sink on 127.0.0.1 (for trying things out and for bench/)."""
    import random

    from .sink import Sink, SinkHandler

    odds = {"data": hang_up_at_data, "end": hang_up_at_end}

    def hang_up(point: str) -> bool:
        return random.random() < odds[point]  # noqa: S311 - a fault injected, not a secret

    handler = SinkHandler(outbox=outbox, keep=False,
                          hang_up=hang_up if any(odds.values()) else None)
    with Sink(handler, port=port) as sink:
        click.echo(f"SMTP sink listening on {sink.url}", err=True)
        _until_interrupted()


def _until_interrupted() -> None:
    """Keep a server thread's process alive until Ctrl-C (or SIGINT)."""
    import time

    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def _demo_login(instance: Path) -> tuple[str, str | None]:
    """The local organizer login: created on the first run, its password kept in instance/."""
    secret = instance / "organizer-password.txt"
    organizer = db.session.scalar(select(Organizer).where(Organizer.email == DEMO_ORGANIZER))
    if organizer is None:
        password = secrets.token_urlsafe(12)
        set_organizer(DEMO_ORGANIZER, password)
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password)
        return DEMO_ORGANIZER, password
    if secret.exists():
        password = secret.read_text().strip()
        if check_password_hash(organizer.password_hash, password):
            return DEMO_ORGANIZER, password
    return DEMO_ORGANIZER, None


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "5000")))
def run_command(host: str, port: int) -> None:
    """Everything for a local try: database, web, worker, SMTP sink and embedded Redis."""
    from werkzeug.serving import run_simple

    from . import create_app
    from .logs import keep_tokens_out
    from .queue import redis_url, stop_embedded_redis

    # The development server prints each request's path: links' tokens are cut out of it.
    keep_tokens_out(logging.getLogger("werkzeug"))
    os.environ.setdefault("ADVOCACY_PUBLIC_URL", f"http://{host}:{port}")
    app = create_app()
    with app.app_context():
        # The worker runs in its own process and must find the same Redis.
        os.environ["REDIS_URL"] = redis_url(app)
        click.get_current_context().invoke(init_command)
        login, password = _demo_login(Path(app.instance_path))
    worker = subprocess.Popen([sys.executable, "-m", "advocacy", "worker"])  # noqa: S603

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    smtp = app.config["SMTP_URL"]
    click.echo(f"\n  advocacy is running at http://{host}:{port}/")
    click.echo(f"  organizer login: {login} / {password or '(set it: advocacy create-organizer)'}")
    click.echo(f"  mode: {app.config['ADVOCACY_MODE']}; mail: "
               + (f"kept in {app.config['OUTBOX_DIR']}" if smtp == "sink" else smtp.split("@")[-1]))
    click.echo("  Ctrl-C stops everything.\n", err=False)
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
        stop_embedded_redis()


@click.command("export-letters")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The CSV file to write.")
@click.option("--campaign", "campaign_slug", help="Only this campaign's letters.")
@progress_option
@with_appcontext
def export_letters_command(output: Path, campaign_slug: str | None,
                           progress: bool | None = None) -> None:
    """Write every sent letter as CSV (no personal data)."""
    from .csv_safety import InertWriter
    from .dashboard import LETTER_COLUMNS, Filters, sent_by, sent_letter_rows
    from .services import find_campaign

    campaign = find_campaign(campaign_slug) if campaign_slug else None
    if campaign_slug and campaign is None:
        raise click.ClickException(f"no campaign {campaign_slug!r}")
    filters = Filters(campaign.id if campaign else None)
    total = sum(sent_by("body", filters).values())
    # The owner's alone, like everything the app writes (advocacy/instance_files.py), even
    # over an older file (but not /dev/stdout's terminal).
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if stat.S_ISREG(os.fstat(fd).st_mode):
        os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", newline="") as fh, progress_bar(total, "Sent letters", progress) as bar:
        writer = InertWriter(fh)  # no cell runs as a formula, as in the admin's exports
        writer.writerow(LETTER_COLUMNS)
        written = 0
        for written, row in enumerate(sent_letter_rows(filters), 1):  # noqa: B007
            writer.writerow(row)
            if written % 1000 == 0:
                bar.update(1000)
        bar.update(max(0, total - bar.pos))
    click.echo(f"{written} letters written to {output}")


@click.command("purge")
@click.option("--days", type=click.IntRange(min=0),
              help="Scrub what is older than this (default: ADVOCACY_RETENTION_DAYS).")
@with_appcontext
def purge_command(days: int | None) -> None:
    """Remove writers' names, addresses and words past the retention period; counts stay."""
    from .retention import purge

    _echo_json(purge(days).as_dict())


@click.command("rotate-keys")
@with_appcontext
def rotate_keys_command() -> None:
    """Encrypt all stored personal data with the first of ADVOCACY_DATA_KEYS."""
    from .key_rotation import rotate_keys

    _echo_json(rotate_keys())


@click.command("new-data-key")
def new_data_key_command() -> None:
    """Print a new key for ADVOCACY_DATA_KEYS (put it first; keep the old ones after it)."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@click.command("inbound")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=2526, show_default=True)
@click.option("--trusted-authserv-id", default=None, metavar="ID",
              help="Also believe SPF and DKIM passes in Authentication-Results headers with"
                   " this authserv-id: your MX's, and only if it removes such headers from"
                   " the mail it receives.")
@with_appcontext
def inbound_command(host: str, port: int, trusted_authserv_id: str | None) -> None:
    """Take officials' replies to relayed letters (reply+TOKEN@ addresses) over SMTP."""
    from .replies import inbound_server

    server = inbound_server(current_app._get_current_object(),  # type: ignore[attr-defined]
                            host, port, trusted_authserv_id=trusted_authserv_id)
    server.start()
    click.echo(f"Taking replies on {host}:{port}", err=True)
    try:
        _until_interrupted()
    finally:
        server.stop()


COMMANDS = [init_command, db_command, export_command, create_organizer_command, worker_command,
            reconcile_command, stats_command, run_command, pause_command, resume_command,
            limits_command, sink_command, export_letters_command, purge_command,
            rotate_keys_command, new_data_key_command, inbound_command]


def register(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)


def main() -> None:
    """Entry point of the `advocacy` console script."""
    from . import create_app

    group = FlaskGroup(create_app=create_app, add_default_commands=False,
                       add_version_option=False, help="advocacy: letters to officials.")
    group(prog_name="advocacy")
