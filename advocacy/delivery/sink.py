"""The local SMTP sink: a real SMTP server (aiosmtpd) on loopback that keeps every message."""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from advocacy.instance_files import private_dir
from advocacy.logs import quiet_smtp_servers


@dataclass
class Received:
    """One message as the sink got it: envelope, raw bytes and the time it arrived."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    received_at: float

    def message(self) -> EmailMessage:
        msg = message_from_bytes(self.data, policy=policy.default)
        if not isinstance(msg, EmailMessage):
            raise TypeError("the default policy yields EmailMessage")
        return msg


@dataclass
class SinkHandler:
    """Stores messages in memory and, when given a directory, as .eml files in it."""

    outbox: Path | None = None
    # Lets a test answer like a troubled relay: return e.g. "451 try later" to refuse.
    reply: Callable[[Received], str | None] | None = None
    # The same for each recipient (RCPT TO): e.g. "550 5.1.1 no such mailbox".
    rcpt_reply: Callable[[str], str | None] | None = None
    # Lets a test or a bench cut the connection like a failing relay: called with "data" when
    # the DATA command comes (cut before its 354: no content goes), and with "end" once a
    # whole message has come and been kept (cut before the reply: the client cannot know
    # that it arrived); True hangs up there.
    hang_up: Callable[[str], bool] | None = None
    # Keep messages in memory (tests read them); a long-running sink must not grow.
    keep: bool = True
    # Offer PIPELINING (RFC 2920), as the relays one sends through do (Postfix, Exim, the
    # big providers): aiosmtpd reads commands in order from its buffer and answers each in
    # turn, which is all a pipelining client needs, but does not say so in its EHLO.
    pipelining: bool = True
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname  # what aiosmtpd does when no handler answers EHLO
        if self.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")  # before "250 HELP"
        return responses

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if self.rcpt_reply is not None:
            refusal = self.rcpt_reply(address)
            if refusal:
                return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        item = Received(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            data=bytes(envelope.original_content or envelope.content),
            received_at=time.time(),
        )
        if self.reply is not None:
            refusal = self.reply(item)
            if refusal:
                return refusal
        if self.outbox is not None:
            # Every email, confirmation links included: the owner's alone, whatever the umask.
            private_dir(self.outbox)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")  # sorts in arrival order
            name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            tmp = self.outbox / f".{name}.tmp"
            with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
                fh.write(item.data)
            os.replace(tmp, self.outbox / name)  # readers never see half a message
        if self.keep:
            with self.lock:
                self.received.append(item)
        if self.hang_up is not None and self.hang_up("end"):
            _cut(server)
        return "250 Message accepted for delivery"


def _cut(server: Any) -> None:
    """Drop the connection now, without a word (an RST: as a relay that crashed)."""
    transport = server.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()


class _SinkSMTP(SMTP):
    """aiosmtpd's server, able to hang up when the DATA command comes (SinkHandler.hang_up)."""

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802
        hang_up = getattr(self.event_handler, "hang_up", None)
        if hang_up is not None and hang_up("data"):
            _cut(self)
            return
        await super().smtp_DATA(arg)


class _SinkController(Controller):
    def factory(self) -> SMTP:
        return _SinkSMTP(self.handler, **self.SMTP_kwargs)


def free_port() -> int:
    """A TCP port on loopback that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    """A running sink on 127.0.0.1; `url` is what SMTP_URL should say to reach it."""

    def __init__(self, handler: SinkHandler, port: int = 0) -> None:
        quiet_smtp_servers()
        self.handler = handler
        self.port = port or free_port()
        self._controller = _SinkController(handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> Sink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> Sink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)


_process_sink: Sink | None = None
_process_sink_lock = threading.Lock()


def process_sink(outbox: Path) -> Sink:
    """The sink this process uses for SMTP_URL=sink, started on first use."""
    global _process_sink
    with _process_sink_lock:
        if _process_sink is None:
            _process_sink = Sink(SinkHandler(outbox=outbox)).start()
        return _process_sink
