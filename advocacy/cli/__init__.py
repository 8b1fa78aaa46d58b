"""The `advocacy` command (also `flask --app advocacy …`), its commands grouped by what they
are for: setup.py (init, db, export, create-organizer, run, new-data-key), delivery.py
(worker, reconcile, pause, resume, limits, sink, inbound, doctor), reports.py (stats,
export-letters), privacy.py (purge, rotate-keys)."""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup

from advocacy.cli.delivery import (
    doctor_command,
    inbound_command,
    limits_command,
    pause_command,
    reconcile_command,
    resume_command,
    sink_command,
    worker_command,
)
from advocacy.cli.privacy import purge_command, rotate_keys_command
from advocacy.cli.reports import export_letters_command, stats_command
from advocacy.cli.setup import (
    create_organizer_command,
    db_command,
    export_command,
    init_command,
    new_data_key_command,
    run_command,
)

COMMANDS = [init_command, db_command, export_command, create_organizer_command, worker_command,
            reconcile_command, stats_command, run_command, pause_command, resume_command,
            limits_command, sink_command, export_letters_command, purge_command,
            rotate_keys_command, new_data_key_command, inbound_command, doctor_command]


def register(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)


def main() -> None:
    """Entry point of the `advocacy` console script."""
    from advocacy import create_app

    group = FlaskGroup(create_app=create_app, add_default_commands=False,
                       add_version_option=False, help="advocacy: letters to officials.")
    group(prog_name="advocacy")
