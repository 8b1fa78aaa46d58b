"""Running delivery: the worker, reconcile, pausing and limits, the SMTP sink, the replies."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from advocacy.cli.common import echo_json, until_interrupted
from advocacy.progress import bar as progress_bar
from advocacy.progress import option as progress_option


@click.command("worker")
@click.option("--burst", is_flag=True, help="Work until the queue is empty, then stop.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run a delivery worker (SimpleWorker: no fork per job; the database keeps it safe)."""
    from advocacy.worker import run_worker

    run_worker(current_app._get_current_object(), burst=burst)  # type: ignore[attr-defined]


@click.command("reconcile")
@progress_option
@with_appcontext
def reconcile_command(progress: bool | None = None) -> None:
    """Re-queue what Redis lost, release due holds, hand stale `sending` letters to review;
    then roll up the dashboard's counts and purge what is past the retention period."""
    from advocacy import housekeeping

    with progress_bar(housekeeping.STEPS, "Reconciling", progress) as bar:
        report = housekeeping.run(bar.update)
    echo_json(report)


@click.command("pause")
@click.option("--campaign", "campaign_slug", help="Pause a whole campaign (default campaign if"
              " neither option is given).")
@click.option("--official", "official_key", help="Pause the letters to one official (target key).")
@with_appcontext
def pause_command(campaign_slug: str | None, official_key: str | None) -> None:
    """Stop sending: letters already queued are held at their next claim."""
    from advocacy.organizers.controls import set_paused

    echo_json(set_paused(campaign_slug, official_key, paused=True))


@click.command("resume")
@click.option("--campaign", "campaign_slug")
@click.option("--official", "official_key")
@with_appcontext
def resume_command(campaign_slug: str | None, official_key: str | None) -> None:
    """Start sending again: letters held by the pause go back to the queue."""
    from advocacy.organizers.controls import set_paused

    echo_json(set_paused(campaign_slug, official_key, paused=False))


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

    from advocacy.organizers.controls import set_digest, set_limits

    try:
        report = set_limits(campaign_slug, json.loads(settings) if settings else None)
        for key, on in ((digest_for, True), (no_digest_for, False)):
            if key:
                set_digest(key, on)
    except (ValueError, LookupError, ValidationError) as exc:
        raise click.ClickException(str(exc)) from None
    echo_json(report)


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

    from advocacy.delivery.sink import Sink, SinkHandler

    odds = {"data": hang_up_at_data, "end": hang_up_at_end}

    def hang_up(point: str) -> bool:
        return random.random() < odds[point]  # noqa: S311 - a fault injected, not a secret

    handler = SinkHandler(outbox=outbox, keep=False,
                          hang_up=hang_up if any(odds.values()) else None)
    with Sink(handler, port=port) as sink:
        click.echo(f"SMTP sink listening on {sink.url}", err=True)
        until_interrupted()


@click.command("inbound")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=2526, show_default=True)
@click.option("--trusted-authserv-id", default=None, metavar="ID",
              help="Also believe SPF and DKIM passes in Authentication-Results headers with"
                   " this authserv-id: your MX's, and only if it removes such headers from"
                   " the mail it receives.")
@with_appcontext
def inbound_command(host: str, port: int, trusted_authserv_id: str | None) -> None:
    """Take officials' replies to relayed letters (reply+TOKEN@) and the bounces and
    complaints that come back to every email's bounce address (bounce+...@), over SMTP."""
    from advocacy.privacy.replies import inbound_server

    server = inbound_server(current_app._get_current_object(),  # type: ignore[attr-defined]
                            host, port, trusted_authserv_id=trusted_authserv_id)
    server.start()
    click.echo(f"Taking replies, bounces and complaints on {host}:{port}", err=True)
    try:
        until_interrupted()
    finally:
        server.stop()


@click.command("doctor")
@click.option("--sender", metavar="ADDRESS",
              help="Check this From address (default: ADVOCACY_SENDER and campaigns' own).")
@click.option("--dkim-selector", metavar="NAME",
              help="The selector your relay signs with (the s= of its DKIM-Signature).")
@click.option("--dkim-domain", metavar="DOMAIN",
              help="The domain it signs for (its d=; default: the From domain).")
@click.option("--send-test", "send_to", metavar="ADDRESS",
              help="Also send a test message through the relay to this address.")
@click.option("--resolver", "resolver_address", metavar="HOST[:PORT]",
              help="Ask this DNS server (default: the system's resolvers).")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@with_appcontext
def doctor_command(sender: str | None, dkim_selector: str | None, dkim_domain: str | None,
                   send_to: str | None, resolver_address: str | None, as_json: bool) -> None:
    """Before going live: check the sender's domain (SPF, DKIM, DMARC, MX) and the relay
    (TLS, login, a test message), and say what to fix. Exits 1 if a check fails."""
    from advocacy.doctor.checks import as_text, failed
    from advocacy.doctor.examine import examine

    checks = examine(sender=sender, dkim_selector=dkim_selector, dkim_domain=dkim_domain,
                     send_to=send_to, resolver_address=resolver_address)
    if as_json:
        echo_json({"checks": [check.as_dict() for check in checks], "failed": failed(checks)})
    else:
        click.echo(as_text(checks))
    if failed(checks):
        raise SystemExit(1)
