"""Supporters' data: the purge and re-encrypting with the newest key."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from advocacy.cli.common import echo_json


@click.command("purge")
@click.option("--days", type=click.IntRange(min=0),
              help="Scrub what is older than this (default: ADVOCACY_RETENTION_DAYS).")
@with_appcontext
def purge_command(days: int | None) -> None:
    """Remove writers' names, addresses and words past the retention period; counts stay."""
    from advocacy.privacy.retention import purge

    echo_json(purge(days).as_dict())


@click.command("rotate-keys")
@with_appcontext
def rotate_keys_command() -> None:
    """Encrypt all stored personal data with the first of ADVOCACY_DATA_KEYS."""
    from advocacy.privacy.key_rotation import rotate_keys

    echo_json(rotate_keys())
