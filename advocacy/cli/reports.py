"""Reading what happened: counts, and every letter as CSV."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import click
from flask.cli import with_appcontext

from advocacy.cli.common import echo_json
from advocacy.progress import bar as progress_bar
from advocacy.progress import option as progress_option


@click.command("stats")
@with_appcontext
def stats_command() -> None:
    """Print the dashboard's numbers: letters by state and body, own mail, queue, holds."""
    from advocacy.reporting.dashboard import Filters, confirmation_rate
    from advocacy.reporting.own_mail import own_mail_counts
    from advocacy.reporting.stats import letter_stats
    from advocacy.reporting.stuck import held_by_reason, queue_state

    queue_now = queue_state()
    confirmed, submitted = confirmation_rate(Filters())
    echo_json({**letter_stats(), "own_mail": own_mail_counts(Filters()),
                "held": held_by_reason(),
                "confirmation": {"confirmed": confirmed, "submitted": submitted},
                "queue": {"depth": queue_now.depth, "workers": queue_now.workers,
                          "oldest_queued": queue_now.oldest_queued.isoformat()
                          if queue_now.oldest_queued else None}})


@click.command("export-letters")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The CSV file to write.")
@click.option("--campaign", "campaign_slug", help="Only this campaign's letters.")
@progress_option
@with_appcontext
def export_letters_command(output: Path, campaign_slug: str | None,
                           progress: bool | None = None) -> None:
    """Write every sent letter as CSV (no personal data)."""
    from advocacy.campaigns.settings import find_campaign
    from advocacy.csv_safety import InertWriter
    from advocacy.reporting.dashboard import LETTER_COLUMNS, Filters, sent_by, sent_letter_rows

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
