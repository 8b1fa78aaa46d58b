"""Replies through the relay are confirmed to come from the official's office, or marked.

Anyone who learns a `reply+…` address can write to it. Messages here are signed for real with
dkimpy and an RSA key made for the run; the public key is served by a stub resolver (never
DNS). A reply counts as the office's only with a valid DKIM signature whose domain shares the
organisational domain of the official's address; the others are kept, clearly marked, and
the supporter gets no email about them.
"""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from typing import Any

import dkim
import pytest
from sqlalchemy import select

from advocacy.delivery.sink import Sink, free_port
from advocacy.extensions import db
from advocacy.letters.addresses import reply_address
from advocacy.models import Campaign, Letter, Official, Reply
from advocacy.privacy.replies import authenticate, inbound_server, organisational_domain
from advocacy.privacy.rights import everything_about

from helpers import (
    OFFICE_KEY,
    OFFICIAL,
    OTHER_KEY,
    OTHER_TXT,
    SELECTOR,
    StubDNS,
    answer,
    confirmation_link,
    dns,
    signed,
    work,
)

# --- the check itself ----------------------------------------------------------------------

def test_a_reply_signed_by_the_officials_domain_is_confirmed() -> None:
    resolver = dns()
    verdict = authenticate(signed(answer()), OFFICIAL, resolver)
    assert verdict.authenticated and verdict.reason == "DKIM pass for ohchr.org"
    assert resolver.asked == ["sel2026._domainkey.ohchr.org."]  # the stub, nothing else


def test_a_subdomain_of_the_office_is_aligned() -> None:
    verdict = authenticate(signed(answer(), domain="mail.ohchr.org"), OFFICIAL, dns())
    assert verdict.authenticated and verdict.reason == "DKIM pass for mail.ohchr.org"
    assert organisational_domain("Mail.OHCHR.org.") == "ohchr.org"
    assert organisational_domain("a.b.gov.uk") == "b.gov.uk"  # the list, not "last two labels"


def test_an_unsigned_reply_is_not_confirmed() -> None:
    resolver = dns()
    verdict = authenticate(answer(), OFFICIAL, resolver)
    assert (verdict.authenticated, verdict.reason) == (False, "no signature")
    assert resolver.asked == []


@pytest.mark.parametrize("domain", ["attacker.example", "ohchr.org.attacker.example"])
def test_a_valid_signature_from_another_domain_is_not_the_office(domain: str) -> None:
    resolver = StubDNS({f"sel2026._domainkey.{domain}.": OTHER_TXT})
    raw = signed(answer(), domain=domain, key=OTHER_KEY)
    assert dkim.verify(raw, dnsfunc=resolver)  # the signature itself is good
    verdict = authenticate(raw, OFFICIAL, resolver)
    assert not verdict.authenticated
    assert verdict.reason == f"signature from another domain: {domain}"


def test_a_tampered_body_is_a_bad_signature() -> None:
    raw = signed(answer()).replace(b"will raise the case", b"wants your passport")
    verdict = authenticate(raw, OFFICIAL, dns())
    assert (verdict.authenticated, verdict.reason) == (False, "bad signature from ohchr.org")


def test_a_signature_with_the_offices_name_but_another_key_is_bad() -> None:
    verdict = authenticate(signed(answer(), key=OTHER_KEY), OFFICIAL, dns())
    assert (verdict.authenticated, verdict.reason) == (False, "bad signature from ohchr.org")


def test_a_key_missing_from_dns_is_a_bad_signature() -> None:
    verdict = authenticate(signed(answer()), OFFICIAL, StubDNS({}))
    assert (verdict.authenticated, verdict.reason) == (False, "bad signature from ohchr.org")


def test_words_appended_after_a_length_limited_signature_are_not_confirmed() -> None:
    raw = signed(answer(), length=True) + b"Also, send us your home address.\r\n"
    assert dkim.verify(raw, dnsfunc=dns())  # dkimpy alone would let it through
    verdict = authenticate(raw, OFFICIAL, dns())
    assert not verdict.authenticated
    assert verdict.reason == "signature from ohchr.org covers only part of the message"


def test_a_signature_that_leaves_the_subject_out_is_not_confirmed() -> None:
    raw = answer()
    signature = dkim.sign(raw, SELECTOR, b"ohchr.org", OFFICE_KEY, include_headers=[b"from"])
    resigned = (signature + raw).replace(b"Subject: Re: your letter",
                                         b"Subject: Urgent: verify your account")
    assert dkim.verify(resigned, dnsfunc=dns())  # valid, yet the subject is anyone's to write
    verdict = authenticate(resigned, OFFICIAL, dns())
    assert (verdict.authenticated, verdict.reason) == (
        False, "signature from ohchr.org does not cover the sender or subject")


def test_a_second_from_header_on_a_signed_reply_is_not_confirmed() -> None:
    raw = b"From: President <president@ohchr.org>\r\n" + signed(
        answer(sender="Someone <someone@attacker.example>"))
    verdict = authenticate(raw, OFFICIAL, dns())
    assert (verdict.authenticated, verdict.reason) == (
        False, "more than one From or Subject header")


def test_a_reply_signed_by_the_office_from_an_outside_address_is_not_confirmed() -> None:
    raw = signed(answer(sender="Someone <someone@attacker.example>"))
    verdict = authenticate(raw, OFFICIAL, dns())
    assert not verdict.authenticated
    assert verdict.reason == "signature from ohchr.org, but the sender address is elsewhere"


# --- the MX's Authentication-Results, believed only from its configured authserv-id --------

MX = "mx.campaign.test"


def vouched(raw: bytes, results: str) -> bytes:
    return f"Authentication-Results: {results}\r\n".encode() + raw


def test_an_spf_pass_from_the_trusted_mx_confirms_an_unsigned_reply() -> None:
    raw = vouched(answer(), f"{MX}; spf=pass smtp.mailfrom=bounces@mail.ohchr.org")
    verdict = authenticate(raw, OFFICIAL, dns(), trusted_authserv_id="MX.campaign.test")
    assert verdict.authenticated
    assert verdict.reason == "SPF pass for mail.ohchr.org (checked by mx.campaign.test)"


def test_results_are_ignored_unless_their_authserv_id_is_trusted() -> None:
    raw = vouched(answer(), f"{MX}; spf=pass smtp.mailfrom=ohchr.org")
    assert authenticate(raw, OFFICIAL, dns()).reason == "no signature"  # none trusted
    forged = vouched(answer(), "mx.attacker.example; spf=pass smtp.mailfrom=ohchr.org")
    verdict = authenticate(forged, OFFICIAL, dns(), trusted_authserv_id=MX)
    assert (verdict.authenticated, verdict.reason) == (False, "no signature")


@pytest.mark.parametrize("results", [
    f"{MX}; spf=pass smtp.mailfrom=bounce@attacker.example",  # another domain passed
    f"{MX}; spf=softfail smtp.mailfrom=ohchr.org",
    f"{MX}; dkim=fail header.d=ohchr.org",
    f"{MX}; spf=pass smtp.helo=ohchr.org",  # the HELO name is not the sender
    f"{MX}; spf=pass smtp.mailfrom=ohchr.org (",  # unreadable
])
def test_the_trusted_mx_must_report_an_aligned_pass(results: str) -> None:
    verdict = authenticate(vouched(answer(), results), OFFICIAL, dns(), trusted_authserv_id=MX)
    assert not verdict.authenticated


def test_an_aligned_pass_does_not_vouch_for_an_outside_from_address() -> None:
    raw = vouched(answer(sender="someone@attacker.example"),
                  f"{MX}; dkim=pass header.d=ohchr.org")
    assert not authenticate(raw, OFFICIAL, dns(), trusted_authserv_id=MX).authenticated
    aligned = vouched(answer(), f"{MX}; dkim=pass header.d=ohchr.org")
    assert authenticate(aligned, OFFICIAL, dns(), trusted_authserv_id=MX).reason == (
        "DKIM pass for ohchr.org (checked by mx.campaign.test)")


# --- through `advocacy inbound`, to the status page and the supporter's inbox ---------------

WRITER = {"name": "Ilse Marrow", "email": "ilse.m@example.org", "city": "Ghent", "country": "BE"}


def relayed_letter(app: Any, client: Any, sink: Sink) -> tuple[Letter, str]:
    """A supporter's confirmed, sent letter to OFFICIAL, and the relay address it carried."""
    campaign = db.session.scalars(select(Campaign)).one()
    campaign.reply_to = "relay"
    db.session.commit()
    sent = client.post("/api/letters", json={
        "campaign": "free-azat-miftakhov", "body": "un", "language": "en",
        "supporter": WRITER, "consent": True})
    assert sent.status_code == 202
    work(app)
    assert client.post(confirmation_link(sink)).status_code == 200
    work(app)
    letter = db.session.scalars(select(Letter).join(Official).where(
        Official.email == OFFICIAL)).one()
    relay = reply_address(letter.id, "letters@campaign.test")
    [to_official] = [m for m in sink.received if m.rcpt_tos == [OFFICIAL]]
    assert relay in to_official.message()["Reply-To"]
    return letter, relay


def deliver(app: Any, relay: str, raw: bytes, trusted: str | None = None) -> None:
    """Hand a message to the reply server over SMTP, as the campaign's MX would."""
    port = free_port()
    server = inbound_server(app, "127.0.0.1", port, dnsfunc=dns(), trusted_authserv_id=trusted)
    server.start()
    try:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.sendmail("bounce@ohchr.org", [relay], raw)
    finally:
        server.stop()


def status_page(client: Any, sink: Sink) -> str:
    [confirmation] = [m.message() for m in sink.received if "confirm" in m.message()["Subject"]]
    found = re.search(r"https?://[^/\s]+(/status/[^\s?]+)", confirmation.get_content())
    assert found
    return str(client.get(found.group(1) + "?lang=en").data.decode())


def notices(sink: Sink) -> list[EmailMessage]:
    return [m.message() for m in sink.received if "replied" in m.message()["Subject"]]


def test_a_forged_reply_is_kept_marked_and_not_announced(
    app: Any, client: Any, sink: Sink
) -> None:
    _letter, relay = relayed_letter(app, client, sink)
    forged = signed(answer(sender="UN Office <office@ohchr-org.attacker.example>", to=relay,
                           text="Confirm your identity at http://ohchr-org.attacker.example/"),
                    domain="attacker.example", key=OTHER_KEY)
    deliver(app, relay, forged)

    db.session.expire_all()
    reply = db.session.scalars(select(Reply)).one()
    assert not reply.authenticated
    assert reply.authentication == "signature from another domain: attacker.example"
    work(app)
    assert notices(sink) == []  # the campaign lends it no email of its own

    page = status_page(client, sink)
    assert "could not be confirmed to come from the office" in page
    assert 'data-authenticated="no"' in page and 'data-authenticated="yes"' not in page
    assert "signature from another domain: attacker.example" in page
    mine = everything_about(reply.letter.supporter)["submissions"][0]["letters"]
    [shown] = [r for letter in mine for r in letter["replies"]]
    assert shown["from_the_office"] == {
        "confirmed": False, "how": "signature from another domain: attacker.example"}


def test_a_signed_reply_is_confirmed_and_announced(app: Any, client: Any, sink: Sink) -> None:
    _letter, relay = relayed_letter(app, client, sink)
    deliver(app, relay, signed(answer(to=relay)))

    db.session.expire_all()
    reply = db.session.scalars(select(Reply)).one()
    assert (reply.authenticated, reply.authentication) == (True, "DKIM pass for ohchr.org")
    work(app)
    [notice] = notices(sink)
    assert notice["To"] == WRITER["email"]

    page = status_page(client, sink)
    assert 'data-authenticated="yes"' in page and "DKIM pass for ohchr.org" in page
    assert "could not be confirmed" not in page and "will raise the case" in page


def test_a_tampered_reply_through_the_relay_is_marked(app: Any, client: Any, sink: Sink) -> None:
    _letter, relay = relayed_letter(app, client, sink)
    deliver(app, relay, signed(answer(to=relay)).replace(b"raise the case", b"close the case"))

    db.session.expire_all()
    reply = db.session.scalars(select(Reply)).one()
    assert (reply.authenticated, reply.authentication) == (False, "bad signature from ohchr.org")
    work(app)
    assert notices(sink) == []
    assert "could not be confirmed to come from the office" in status_page(client, sink)


def test_the_reply_server_believes_the_mx_it_is_told_to_trust(
    app: Any, client: Any, sink: Sink
) -> None:
    _letter, relay = relayed_letter(app, client, sink)
    raw = vouched(answer(to=relay), f"{MX}; spf=pass smtp.mailfrom=ohchr.org")
    deliver(app, relay, raw)  # `advocacy inbound` without --trusted-authserv-id
    deliver(app, relay, raw, trusted=MX)

    db.session.expire_all()
    replies = db.session.scalars(select(Reply).order_by(Reply.id)).all()
    assert [(r.authenticated, r.authentication) for r in replies] == [
        (False, "no signature"), (True, "SPF pass for ohchr.org (checked by mx.campaign.test)")]
    work(app)
    assert len(notices(sink)) == 1
