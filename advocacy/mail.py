"""The only code that talks SMTP: one connection, reused across a batch of messages."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

from .config import check_mail_safety
from .messages import Outgoing

TIMEOUT = 30


class RelayError(Exception):
    """The relay cannot be reached or refuses us (connection, TLS, login): not a letter's fault."""


class Transport:
    """An SMTP connection opened lazily and reused; reconnects once if the server hung up."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        parts = urlsplit(self.url)
        query = parse_qs(parts.query)
        host = parts.hostname or "127.0.0.1"
        smtp: smtplib.SMTP
        if parts.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(
                host, parts.port or 465, timeout=TIMEOUT, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, parts.port or 25, timeout=TIMEOUT)
            if query.get("starttls", ["0"])[0] in ("1", "true", "yes"):
                smtp.starttls(context=ssl.create_default_context())
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        return smtp

    def _open(self) -> smtplib.SMTP:
        try:
            return self._connect()
        except (smtplib.SMTPException, OSError) as exc:
            raise RelayError(f"{type(exc).__name__}: {exc}") from exc

    def send(self, msg: EmailMessage | Outgoing) -> None:
        """Send one message; RelayError when the relay is unreachable, else SMTP errors."""
        if self._smtp is None:
            self._smtp = self._open()
        try:
            self._deliver(self._smtp, msg)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            # A relay drops idle connections between batches: reconnect once and resend.
            self.close()
            self._smtp = self._open()
            self._deliver(self._smtp, msg)

    @staticmethod
    def _deliver(smtp: smtplib.SMTP, msg: EmailMessage | Outgoing) -> None:
        if isinstance(msg, Outgoing):
            smtp.sendmail(msg.sender, msg.recipients, msg.data)
        else:
            smtp.send_message(msg)

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
        from .sink import process_sink  # aiosmtpd: only in a process that runs the sink

        url = process_sink(Path(cfg["OUTBOX_DIR"])).url
    return Transport(url)


def sender_address(campaign_sender: str | None) -> str:
    """The envelope and From address: the campaign's own, else the server's ADVOCACY_SENDER."""
    return campaign_sender or str(current_app.config["ADVOCACY_SENDER"])


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
