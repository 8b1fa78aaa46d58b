"""The only code that talks SMTP: one connection, reused across a batch of messages."""

from __future__ import annotations

import contextlib
import logging
import re
import smtplib
import ssl
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

from advocacy.config import check_mail_safety
from advocacy.letters.emails import Outgoing

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, SizedBuffer

log = logging.getLogger(__name__)
TIMEOUT = 30
# An address smtplib's quoteaddr returns unchanged in <>: a dot-atom @ a host name.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_LEADING_DOT = re.compile(rb"(?m)^\.")  # smtplib's own dot-stuffing


class RelayError(Exception):
    """The relay cannot be reached or refuses us (connection, TLS, login): not a letter's fault."""


class Unconfirmed(smtplib.SMTPServerDisconnected):
    """The whole message went out (DATA's final "."), but no reply came: it may have arrived."""


class NotMarked(Exception):  # noqa: N818 - an outcome, not an error
    """The message did not go: the mark asked for before it (`Transport.send`'s `mark`) said
    no. The relay saw MAIL FROM alone, and that transaction was reset; or, where the relay
    offers PIPELINING, the envelope and DATA, and the connection was closed before any of
    the message went."""


class _EndOfData(smtplib.SMTP):
    """smtplib's client, noting when a message's terminating CRLF.CRLF has been written.

    smtplib's `data()` writes the message and its end in one `send`, then waits for the
    reply; a connection lost before that `send` returned cannot have delivered the message,
    one lost after it may have. Subclassing keeps smtplib's own SMTP conversation (ESMTP
    options, dot-stuffing, refusals) instead of a hand-written one.
    """

    data_ended = False
    # Set by Transport.send for one message: `mark` runs once MAIL FROM is written (with
    # PIPELINING, the envelope and DATA), before a reply is read (the relay reads the
    # commands meanwhile), and the message goes only if it returns True; `meanwhile` runs
    # once the message's final "." is written, before the reply to it is read. Each is
    # called at most once, then cleared.
    mark: Callable[[], bool] | None = None
    meanwhile: Callable[[], None] | None = None

    def send(self, s: ReadableBuffer | str) -> None:
        super().send(s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.data_ended = True
            if self.meanwhile is not None:
                meanwhile, self.meanwhile = self.meanwhile, None
                try:
                    meanwhile()
                except Exception:  # the reply must still be read: the message is out
                    log.exception("work while waiting for the relay's reply failed")

    def _marked(self, pipelined: bool = False) -> bool:
        """Run the mark (once), with MAIL FROM (pipelined: the envelope and DATA) written
        and no reply read yet."""
        mark, self.mark = self.mark, None
        if mark is None:
            return True
        try:
            marked = mark()
        except BaseException:
            self.close()  # a reply is left unread: this connection is not used again
            raise
        if not marked:
            if pipelined:
                # DATA may be accepted by now: only hanging up ends it with nothing sent
                # (a lone "." would end an empty message, which a lax relay might deliver).
                self.close()
            else:
                self.getreply()  # MAIL FROM's, whatever it is: then nothing of it is kept
                self.rset()
            raise NotMarked("not marked: the message did not go")
        return True

    def sendmail(self, from_addr: str, to_addrs: str | Sequence[str],
                 msg: SizedBuffer | str, mail_options: Sequence[str] = (),
                 rcpt_options: Sequence[str] = ()) -> dict[str, tuple[int, bytes]]:
        """smtplib's sendmail; where the relay offers PIPELINING (RFC 2920), with MAIL FROM,
        RCPT TO and DATA written at once, and their replies read together.

        Two round trips a message instead of four (the relay's replies were most of a
        letter's time, docs/benchmarks.md), and more over a real network, where each is a
        few milliseconds. smtplib has no pipelining, and the maintained clients that do
        (aiosmtplib) are asyncio's, which the RQ worker is not: this is smtplib's own
        conversation with the replies read later, nothing more. Anything smtplib would
        write differently (an address needing quotes, SMTPUTF8) goes through smtplib's own.
        """
        self.ehlo_or_helo_if_needed()
        recipients = [to_addrs] if isinstance(to_addrs, str) else list(to_addrs)
        if not (isinstance(msg, bytes) and self.has_extn("pipelining")
                and _PLAIN.fullmatch(from_addr) and all(map(_PLAIN.fullmatch, recipients))
                and not any(o.lower() == "smtputf8" for o in mail_options)):
            return super().sendmail(from_addr, to_addrs, msg, mail_options, rcpt_options)
        options = [f"size={len(msg)}"] if self.has_extn("size") else []
        rcpt = self._options(rcpt_options)
        self.send("".join([f"mail FROM:<{from_addr}>{self._options([*options, *mail_options])}"
                           "\r\n", *(f"rcpt TO:<{r}>{rcpt}\r\n" for r in recipients),
                           "data\r\n"]))
        self._marked(pipelined=True)  # while the relay reads the commands
        code, resp = self.getreply()
        if code == 421:
            self.close()
            raise smtplib.SMTPSenderRefused(code, resp, from_addr)
        refused: dict[str, tuple[int, bytes]] = {}
        for recipient in recipients:
            reply = self.getreply()
            if reply[0] not in (250, 251):
                refused[recipient] = reply
            if reply[0] == 421:
                self.close()
                raise smtplib.SMTPRecipientsRefused(refused)
        data_code, data_resp = self.getreply()
        if data_code == 421:
            self.close()
            raise smtplib.SMTPDataError(data_code, data_resp)
        if code != 250 or len(refused) == len(recipients):
            # RFC 2920 has a server refuse DATA then; one that took it anyway is hung up on,
            # never sent a lone ".": nothing of the message goes.
            if data_code == 354:
                self.close()
            else:
                self._reset()
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, resp, from_addr)
            raise smtplib.SMTPRecipientsRefused(refused)
        if data_code != 354:
            self._reset()
            raise smtplib.SMTPDataError(data_code, data_resp)
        # The message as smtplib's data() writes it: leading dots doubled, ended by CRLF.CRLF.
        body = _LEADING_DOT.sub(b"..", msg)
        self.send(body + (b".\r\n" if body.endswith(b"\r\n") else b"\r\n.\r\n"))
        code, resp = self.getreply()
        if code != 250:
            if code == 421:
                self.close()
            else:
                self._reset()
            raise smtplib.SMTPDataError(code, resp)
        return refused

    def _reset(self) -> None:
        """RSET after a refusal, as smtplib's sendmail does; a relay gone by then is no error."""
        with contextlib.suppress(smtplib.SMTPServerDisconnected):
            self.rset()

    # MAIL FROM and RCPT TO as smtplib writes them, without its quoteaddr for an address
    # that is plain already (every envelope address here is, checked by letters.emails):
    # email.utils.parseaddr walks it a character at a time, a tenth of a worker's CPU per
    # letter (docs/benchmarks.md, "Delivery"). Anything else goes through smtplib's own.
    def mail(self, sender: str, options: Sequence[str] = ()) -> tuple[int, bytes]:
        if not _PLAIN.fullmatch(sender) or any(o.lower() == "smtputf8" for o in options):
            self._marked()
            return super().mail(sender, options)
        self.putcmd("mail", f"FROM:<{sender}>{self._options(options)}")
        self._marked()  # while the relay reads the command
        return self.getreply()

    def rcpt(self, recip: str, options: Sequence[str] = ()) -> tuple[int, bytes]:
        if not _PLAIN.fullmatch(recip):
            return super().rcpt(recip, options)
        self.putcmd("rcpt", f"TO:<{recip}>{self._options(options)}")
        return self.getreply()

    def _options(self, options: Sequence[str]) -> str:
        return " " + " ".join(options) if options and self.does_esmtp else ""


class _SMTP(_EndOfData):
    pass


class _SMTPS(_EndOfData, smtplib.SMTP_SSL):
    pass


class Transport:
    """An SMTP connection opened lazily and reused; reconnects once if the server hung up."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._smtp: _EndOfData | None = None

    def _connect(self) -> _EndOfData:
        parts = urlsplit(self.url)
        query = parse_qs(parts.query)
        host = parts.hostname or "127.0.0.1"
        smtp: _EndOfData
        if parts.scheme == "smtps":
            smtp = _SMTPS(
                host, parts.port or 465, timeout=TIMEOUT, context=ssl.create_default_context()
            )
        else:
            smtp = _SMTP(host, parts.port or 25, timeout=TIMEOUT)
            if query.get("starttls", ["0"])[0] in ("1", "true", "yes"):
                smtp.starttls(context=ssl.create_default_context())
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        return smtp

    def _open(self) -> _EndOfData:
        try:
            return self._connect()
        except (smtplib.SMTPException, OSError) as exc:
            raise RelayError(f"{type(exc).__name__}: {exc}") from exc

    def send(self, msg: EmailMessage | Outgoing, resend_unconfirmed: bool = True, *,
             return_path: str | None = None, mark: Callable[[], bool] | None = None,
             meanwhile: Callable[[], None] | None = None) -> None:
        """Send one message; RelayError when the relay is unreachable, else SMTP errors.

        Every email goes with an envelope sender that names it (its bounce address: an
        Outgoing carries its own, an EmailMessage is given `return_path`), so a bounce or a
        complaint that comes back later is about a known email, never the From address.

        A connection lost before the message's end reconnects and sends it again, once. One
        lost after it (no reply to the final ".") raises Unconfirmed, unless
        `resend_unconfirmed`: then it goes once more, with the same bytes and Message-ID
        (most servers drop a repeated Message-ID). Letters to officials pass False.

        `mark`, if given, is called once, after MAIL FROM is written and before its reply is
        read, so that its work (a letter's durable on-wire mark) overlaps the relay's: the
        message's DATA follows only once it returned True; False raises NotMarked, and what
        it raises is raised. `meanwhile`, if given, is called at most once, after the
        message's final "." is written and before the relay's reply to it is read (work
        that does not depend on this message's fate: composing the next letter). It must
        not raise; what it raises is logged.
        """
        if not isinstance(msg, Outgoing) and not return_path:
            raise ValueError("an email without a bounce address (return_path)")
        verdict: list[bool] = []  # the mark's, kept across a reconnection: it runs once
        waited: list[bool] = []  # and `meanwhile` too, even when the message goes again

        def mark_once() -> bool:
            if not verdict:
                verdict.append(mark())  # type: ignore[misc]
            return verdict[0]

        def meanwhile_once() -> None:
            if not waited:
                waited.append(True)
                meanwhile()  # type: ignore[misc]

        def arm(smtp: _EndOfData) -> _EndOfData:
            smtp.mark = mark_once if mark is not None else None
            smtp.meanwhile = meanwhile_once if meanwhile is not None else None
            return smtp

        if self._smtp is None:
            self._smtp = self._open()
        try:
            try:
                self._deliver(arm(self._smtp), msg, return_path)
            except Unconfirmed:
                self.close()
                if not resend_unconfirmed:
                    raise
                self._smtp = self._open()
                self._deliver(arm(self._smtp), msg, return_path)
            except (smtplib.SMTPServerDisconnected, ConnectionError):
                # A relay drops idle connections between batches: reconnect once and resend.
                self.close()
                self._smtp = self._open()
                self._deliver(arm(self._smtp), msg, return_path)
        except BaseException:
            if self._smtp is not None and self._smtp.sock is None:
                self._smtp = None  # closed on the way (the mark raised): opened again later
            raise
        finally:
            if self._smtp is not None:
                self._smtp.mark = self._smtp.meanwhile = None

    @staticmethod
    def _deliver(smtp: _EndOfData, msg: EmailMessage | Outgoing, return_path: str | None) -> None:
        smtp.data_ended = False
        try:
            if isinstance(msg, Outgoing):
                smtp.sendmail(msg.sender, msg.recipients, msg.data)
            else:
                smtp.send_message(msg, from_addr=return_path)
        except OSError as exc:  # smtplib's errors are OSErrors too: only a lost line counts
            lost = (isinstance(exc, smtplib.SMTPServerDisconnected)
                    or not isinstance(exc, smtplib.SMTPException))
            # Once the final "." is out, a lost connection or a timeout leaves the outcome
            # unknown: the server may have taken the message just before it went.
            if smtp.data_ended and lost:
                raise Unconfirmed(f"no reply after the message: {type(exc).__name__}: {exc}"
                                  ) from exc
            raise

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def __enter__(self) -> Transport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def transport() -> Transport:
    """A new transport for the app's SMTP_URL; `sink` means this process's local sink."""
    cfg = current_app.config
    url = cfg["SMTP_URL"]
    # Checked again here, not only at start-up: tests and tools may change the config.
    check_mail_safety(cfg["ADVOCACY_MODE"], url, cfg["ADVOCACY_TEST_SMTP_HOSTS"])
    if url == "sink":
        from advocacy.delivery.sink import (
            process_sink,  # aiosmtpd: only in a process that runs the sink
        )

        url = process_sink(Path(cfg["OUTBOX_DIR"])).url
    return Transport(url)


def shared_transport() -> Transport:
    """The app's long-lived transport: a worker keeps one connection across jobs."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    pool: dict[str, Transport] = app.extensions.setdefault("advocacy_smtp", {})
    url = app.config["SMTP_URL"]
    if url not in pool:
        pool[url] = transport()
    return pool[url]


def close_shared_transports() -> None:
    for shared in current_app.extensions.pop("advocacy_smtp", {}).values():
        shared.close()


def smtp_refusal(exc: Exception) -> tuple[int, str] | None:
    """(code, text) of an SMTP refusal, or None for a broken connection."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return code, text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    if isinstance(exc, smtplib.SMTPResponseException):
        raw: bytes | str = exc.smtp_error
        return exc.smtp_code, raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    return None
