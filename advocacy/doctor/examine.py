"""The whole going-live check for this configuration: each From domain in use (the server's
ADVOCACY_SENDER and campaigns' own senders), then the relay."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from advocacy.config import smtp_host
from advocacy.doctor.checks import FAIL, Check
from advocacy.doctor.domain import check_domain, resolver
from advocacy.doctor.relay import check_relay
from advocacy.extensions import db
from advocacy.letters.addresses import bounce_address, reply_domain
from advocacy.models import Campaign


def senders() -> list[str]:
    """ADVOCACY_SENDER, then the campaigns' own senders, each once."""
    found = [str(current_app.config["ADVOCACY_SENDER"])]
    try:
        found += [s for s in db.session.scalars(select(Campaign.sender).where(
            Campaign.sender.is_not(None)).order_by(Campaign.id)) if s]
    except SQLAlchemyError:  # no database yet: the server's sender is the one in use
        db.session.rollback()
    return list(dict.fromkeys(s.strip().lower() for s in found))


def examine(*, sender: str | None, dkim_selector: str | None, dkim_domain: str | None,
            send_to: str | None, resolver_address: str | None) -> list[Check]:
    config = current_app.config
    relay_host = smtp_host(config["SMTP_URL"])
    res = resolver(resolver_address)
    checks: list[Check] = []
    chosen = [sender] if sender else senders()
    for address in chosen:
        from_domain = address.rpartition("@")[2]
        if "." not in from_domain:  # letters@localhost, the default: no DNS to ask
            checks.append(Check("sender", FAIL, f"The sender {address} has no domain of"
                                " its own.", "Set ADVOCACY_SENDER to an address at your"
                                " organisation's domain, e.g. letters@campaign.example."))
            continue
        checks += check_domain(res, from_domain=from_domain,
                               bounce_domain=reply_domain(address), relay_host=relay_host,
                               dkim_selector=dkim_selector, dkim_domain=dkim_domain)
    # A bounce address that names no email: a bounce of the test is read and dropped.
    checks += check_relay(config["SMTP_URL"], mode=config["ADVOCACY_MODE"],
                          test_hosts=set(config["ADVOCACY_TEST_SMTP_HOSTS"]),
                          sender=chosen[0], return_path=bounce_address("test", 0, chosen[0]),
                          send_to=send_to)
    return checks
