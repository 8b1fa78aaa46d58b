"""Officials' replies through the campaign's relay, for supporters who do not give their address.

A campaign with `reply_to = "relay"` sends letters with `Reply-To: reply+<letter>-<mac>@<domain>`
instead of the supporter's own address. Mail to that address reaches `advocacy inbound` (an
SMTP server, aiosmtpd, behind the campaign's MX or relay), which accepts it only for a valid
token, keeps the text encrypted (models.Reply) and shows it on the supporter's status page.
Nobody learns the supporter's address, and officials can still answer.

Anyone who learns a relay address (a forwarded letter, a leaky office) can write to it, so each
reply is checked on intake: it is confirmed to come from the office only when a valid DKIM
signature covers it whose signing domain (d=) shares the organisational domain of the
official's address, as does its From address (DMARC's relaxed alignment). Other replies are
kept but marked as unconfirmed, and the supporter is not emailed about them.

The same server takes the mail that comes back to an email's bounce address
(`bounce+<kind>-<row>-<mac>@`, its envelope sender): delivery status notifications and
complaints, which delivery.bounces reads and acts upon. A bounce address whose signature is
not ours is refused at RCPT and logged; nothing is done for it.

SPF cannot be checked here: behind the campaign's MX, the connecting host is the MX. When
`advocacy inbound --trusted-authserv-id ID` names the MX's authserv-id, its
Authentication-Results headers (RFC 8601) count too: an SPF pass for an envelope sender, or a
DKIM pass for a signing domain, aligned like the above. The MX must remove such headers with
that id from the mail it receives (RFC 8601, section 5), or anyone could write them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses
from functools import cache
from typing import TYPE_CHECKING, Any

from flask import Flask
from redis.exceptions import RedisError

from advocacy import clock
from advocacy.delivery import queue
from advocacy.delivery.bounces import outcome_pending, quoted_bounce_address, receive
from advocacy.extensions import db
from advocacy.letters.addresses import bounced, is_bounce_address, is_report_address, letter_of
from advocacy.logs import quiet_smtp_servers
from advocacy.models import Letter, Reply

if TYPE_CHECKING:
    from aiosmtpd.controller import Controller
    from publicsuffixlist import PublicSuffixList

log = logging.getLogger(__name__)
MAX_REPLY_BYTES = 256 * 1024
MAX_REPLY_TEXT = 20_000
MAX_SIGNATURES = 5  # each costs a DNS lookup; a real reply carries one or two
# dkimpy's resolver: (name, timeout=...) -> the TXT record's bytes, or None.
DnsFunc = Callable[..., bytes | None]


def _text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    if part is None:
        return "(This reply has no plain-text part; ask the official to send it as text.)"
    content = part.get_content()
    return str(content)[:MAX_REPLY_TEXT]


@dataclass(frozen=True)
class Verdict:
    """Whether a reply is confirmed to come from the official's office, and why (in English)."""

    authenticated: bool
    reason: str


# dkimpy (the DKIM verifier authheaders builds on too; DNS through a `dnsfunc` we can replace),
# publicsuffixlist (the Public Suffix List bundled with each release: offline, no
# dependencies) and authres (the RFC 8601 parser authheaders uses) are imported where used:
# only `advocacy inbound` checks replies; the web and worker processes need none of them.


@cache
def _suffixes() -> PublicSuffixList:
    from publicsuffixlist import PublicSuffixList
    return PublicSuffixList()  # reads the bundled list once


def organisational_domain(domain: str) -> str:
    """The registrable part of a domain ("mail.ohchr.org" -> "ohchr.org"), lower-case."""
    domain = domain.strip().rstrip(".").lower()
    return _suffixes().privatesuffix(domain) or domain


def _aligned(domain: str, official_domain: str) -> bool:
    return organisational_domain(domain) == organisational_domain(official_domain)


def _signatures(raw: bytes) -> list[dict[bytes, bytes]]:
    """The tags of each DKIM-Signature header, in order; unreadable ones as empty dicts."""
    import dkim
    signatures: list[dict[bytes, bytes]] = []
    for name, value in dkim.DKIM(raw).headers:
        if name.lower() == b"dkim-signature":
            try:
                signatures.append(dkim.util.parse_tag_value(value))
            except dkim.util.InvalidTagValueList:
                signatures.append({})
    return signatures


def _trusted_results(msg: Message, authserv_id: str, official_domain: str,
                     from_domain: str) -> Verdict | None:
    """A pass, aligned with the official's domain, in the MX's Authentication-Results."""
    import authres
    for value in msg.get_all("Authentication-Results", []):
        try:
            header = authres.AuthenticationResultsHeader.parse_value(str(value))
        except authres.AuthResError:
            continue
        if str(header.authserv_id).lower() != authserv_id.lower():
            continue  # written by someone else on the way: not evidence
        for result in header.results:
            if str(result.result).lower() != "pass":
                continue
            method = str(result.method).lower()
            wanted = {"spf": ("smtp", "mailfrom"), "dkim": ("header", "d")}.get(method)
            for prop in result.properties:
                if wanted != (prop.type, prop.name) or not prop.value:
                    continue
                domain = str(prop.value).rpartition("@")[2].lower()
                if _aligned(domain, official_domain) and _aligned(from_domain or "-",
                                                                  official_domain):
                    return Verdict(True, f"{method.upper()} pass for {domain}"
                                         f" (checked by {header.authserv_id})")
    return None


def authenticate(raw: bytes, official_address: str | None, dnsfunc: DnsFunc | None = None,
                 trusted_authserv_id: str | None = None) -> Verdict:
    """Check a reply's DKIM signatures (and, if trusted, the MX's Authentication-Results)
    against the domain of the official's address."""
    official_domain = (official_address or "").rpartition("@")[2]
    if not official_domain:
        return Verdict(False, "the official has no email address on file")
    msg = message_from_bytes(raw, policy=policy.compat32)
    # One From and one Subject (RFC 5322): a second one, unsigned, could be what is shown.
    if len(msg.get_all("From", [])) != 1 or len(msg.get_all("Subject", [])) > 1:
        return Verdict(False, "more than one From or Subject header")
    senders = getaddresses(msg.get_all("From", []))
    from_domain = senders[0][1].rpartition("@")[2] if len(senders) == 1 else ""
    own = _own_check(raw, msg, official_domain, from_domain, dnsfunc)
    if not own.authenticated and trusted_authserv_id:
        return _trusted_results(msg, trusted_authserv_id, official_domain, from_domain) or own
    return own


def _own_check(raw: bytes, msg: Message, official_domain: str, from_domain: str,
               dnsfunc: DnsFunc | None) -> Verdict:
    """Our own verification of the message's DKIM signatures, the first aligned pass wins."""
    import dkim
    try:
        signatures = _signatures(raw)
    except dkim.MessageFormatError:
        return Verdict(False, "malformed message")
    if not signatures:
        return Verdict(False, "no signature")
    failures: list[str] = []
    for index, sig in enumerate(signatures[:MAX_SIGNATURES]):
        domain = sig.get(b"d", b"").decode("ascii", "replace").lower()
        signed = [h.strip().lower() for h in sig.get(b"h", b"").split(b":")]
        if not _aligned(domain, official_domain):
            failures.append(f"signature from another domain: {domain or 'none'}")
        elif b"l" in sig:  # a length limit lets anyone append words after the signed part
            failures.append(f"signature from {domain} covers only part of the message")
        elif b"from" not in signed or (msg["Subject"] is not None and b"subject" not in signed):
            failures.append(f"signature from {domain} does not cover the sender or subject")
        elif not _verified(raw, index, dnsfunc):
            failures.append(f"bad signature from {domain}")
        elif not _aligned(from_domain or "-", official_domain):
            failures.append(f"signature from {domain}, but the sender address is elsewhere")
        else:
            return Verdict(True, f"DKIM pass for {domain}")
    return Verdict(False, "; ".join(failures)[:200])


def _verified(raw: bytes, index: int, dnsfunc: DnsFunc | None) -> bool:
    """dkimpy's check of one signature; any failure (DNS, format, key) is a failed check."""
    import dkim
    checker = dkim.DKIM(raw, logger=log)
    try:
        if dnsfunc is None:
            return bool(checker.verify(idx=index))
        return bool(checker.verify(idx=index, dnsfunc=dnsfunc))
    except Exception:  # dkimpy and the resolver raise many kinds; none may confirm a reply
        return False


def store_reply(letter_id: int, raw: bytes, dnsfunc: DnsFunc | None = None,
                trusted_authserv_id: str | None = None) -> int | None:
    """Keep an official's reply to a letter; None (dropped) when its writer is no longer
    known: their data was scrubbed or erased, and a reply would be theirs alone to read."""
    letter = db.session.get(Letter, letter_id)
    if letter is None or letter.submission.scrubbed_at is not None:
        return None
    raw = raw[:MAX_REPLY_BYTES]
    verdict = authenticate(raw, letter.official.email, dnsfunc, trusted_authserv_id)
    msg = message_from_bytes(raw, policy=policy.default)
    reply = Reply(letter_id=letter_id, from_address=str(msg.get("From", ""))[:500],
                  subject=str(msg.get("Subject", ""))[:500], text=_text_of(msg),
                  received_at=clock.now(), authenticated=verdict.authenticated,
                  authentication=verdict.reason[:200])
    db.session.add(reply)
    if verdict.authenticated or letter.relayed_reply is None:  # confirmed wins, and stays
        letter.relayed_reply = "confirmed" if verdict.authenticated else "unconfirmed"
    db.session.commit()
    if not verdict.authenticated:
        # No email for it: a notice from the campaign would lend a forged "reply" (a phishing
        # lure, say) the campaign's trust. It waits, marked, on the status page.
        log.warning("reply %s not confirmed to come from the office: %s", reply.id,
                    verdict.reason)
        return reply.id
    try:  # after the commit: the reply is kept even if the notice cannot be queued now
        queue.enqueue_reply_notice(reply.id)
    except RedisError:
        log.warning("notice of reply %s not queued; it waits on the status page", reply.id)
    return reply.id


class InboundHandler:
    """aiosmtpd handler: refuse unknown recipients at RCPT, store replies and act on bounces
    at DATA."""

    def __init__(self, app: Flask, dnsfunc: DnsFunc | None = None,
                 trusted_authserv_id: str | None = None) -> None:
        self.app = app
        self.dnsfunc = dnsfunc  # DKIM keys' lookups: DNS unless a test gives its own
        self.trusted_authserv_id = trusted_authserv_id

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        with self.app.app_context():
            if is_bounce_address(address) and bounced(address) is None:
                # Forged, mistyped, or signed under a key since changed: never acted upon.
                log.warning("mail to a bounce address whose signature is not ours: refused",
                            extra={"fields": {"event": "bad bounce address"}})
                return "550 5.1.1 No such recipient"
            if (not is_bounce_address(address) and not is_report_address(address)
                    and letter_of(address) is None):
                return "550 5.1.1 No such recipient"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if len(raw) > MAX_REPLY_BYTES:
            return "552 5.3.4 Message too big"
        # In a thread: the DKIM keys' DNS lookups would otherwise stall every other session.
        if not await asyncio.to_thread(self._store, raw, list(envelope.rcpt_tos)):
            return "451 4.3.0 The message's letter is being recorded: try again later"
        return "250 Message accepted"

    def _store(self, raw: bytes, rcpt_tos: list[str]) -> bool:
        """Act on the message; False (nothing done) while a letter it reports on is still
        being sent, so that its sender tries again later (bounces.outcome_pending)."""
        with self.app.app_context():
            named = {bounced(address) for address in rcpt_tos}
            if any(is_report_address(address) for address in rcpt_tos):
                quoted = quoted_bounce_address(raw)  # a feedback loop's one address
                if quoted is None:
                    log.warning("a report to bounce@ quotes no bounce address of ours: dropped",
                                extra={"fields": {"event": "bad bounce address"}})
                named.add(quoted)
            reports = [one for one in named if one is not None]
            if any(outcome_pending(one) for one in reports):
                return False
            # Once per letter, however many of the message's recipients name it.
            letters = {letter_of(address) for address in rcpt_tos}
            for letter_id in sorted(i for i in letters if i is not None):
                store_reply(letter_id, raw, self.dnsfunc, self.trusted_authserv_id)
            for one in reports:
                receive(one, raw)
            return True


def inbound_server(app: Flask, host: str, port: int, dnsfunc: DnsFunc | None = None,
                   trusted_authserv_id: str | None = None) -> Controller:
    """The SMTP server that takes replies, bounces and complaints (not started); one message
    at most 256 KiB."""
    from aiosmtpd.controller import Controller  # only `advocacy inbound` runs it
    quiet_smtp_servers()
    handler = InboundHandler(app, dnsfunc, trusted_authserv_id)
    return Controller(handler, hostname=host, port=port,
                      data_size_limit=MAX_REPLY_BYTES)
