"""Setting up: the database and its data, organizers, the local campaign (`advocacy run`), keys."""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import ScriptInfo, with_appcontext
from sqlalchemy import select
from werkzeug.security import check_password_hash

from advocacy.cli.common import echo_json
from advocacy.extensions import db
from advocacy.models import Organizer
from advocacy.organizers.accounts import AccountError, normalise, set_organizer
from advocacy.progress import bar as progress_bar
from advocacy.progress import option as progress_option

DEMO_ORGANIZER = "organizer@localhost"


@click.command("init")
@click.option("--targets", "targets_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--templates", "templates_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--campaigns", "campaigns_dir", type=click.Path(file_okay=False, path_type=Path))
@progress_option
@with_appcontext
def init_command(targets_dir: Path | None, templates_dir: Path | None,
                 campaigns_dir: Path | None = None, progress: bool | None = None) -> None:
    """Create or migrate the database and load targets/, templates/ and campaigns/ (safe to
    repeat)."""
    from advocacy.campaigns.bootstrap import load_data, load_steps, migrate_database, project_dir
    from advocacy.campaigns.page_files import PageFileError
    from advocacy.letters.files import TemplateFileError
    from advocacy.officials.files import OfficialsFileError

    migrate_database()
    targets_dir = targets_dir or project_dir("targets")
    templates_dir = templates_dir or project_dir("templates")
    try:
        steps = load_steps(targets_dir, templates_dir, campaigns_dir)
        with progress_bar(steps, "Loading files", progress) as bar:
            report = load_data(targets_dir, templates_dir, bar.update, campaigns_dir)
    except (OfficialsFileError, TemplateFileError, PageFileError) as exc:
        raise click.ClickException(str(exc)) from None
    echo_json(report)


class MigrationCommands(click.Command):
    """`advocacy db …`: Flask-Migrate's commands, set up only when one runs, so that no other
    command (`advocacy worker`, say) loads Alembic (about 12 MB)."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        from flask_migrate.cli import db as migrate_group

        from advocacy.campaigns.bootstrap import set_up_migrations

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
    from advocacy.campaigns.bootstrap import project_dir
    from advocacy.campaigns.export import export_letters, export_officials, export_steps
    from advocacy.campaigns.settings import find_campaign
    from advocacy.letters.files import TemplateFileError
    from advocacy.officials.files import OfficialsFileError

    campaign = find_campaign(campaign_slug)
    if campaign is None:
        raise click.ClickException(f"no campaign {campaign_slug!r}" if campaign_slug
                                   else "no default campaign: run init")
    try:
        with progress_bar(export_steps(), "Writing files", progress) as bar:
            report = {
                "targets": export_officials(targets_dir or project_dir("targets"), bar.update),
                "letters": export_letters(campaign, templates_dir or project_dir("templates"),
                                          bar.update)}
    except (OfficialsFileError, TemplateFileError) as exc:  # what init would refuse: not written
        raise click.ClickException(str(exc)) from None
    echo_json(report)


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

    from advocacy import create_app
    from advocacy.connections import redis_url, stop_embedded_redis
    from advocacy.logs import keep_tokens_out

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


@click.command("new-data-key")
def new_data_key_command() -> None:
    """Print a new key for ADVOCACY_DATA_KEYS (put it first; keep the old ones after it)."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())
