"""The SMTP transport against a real aiosmtpd relay: STARTTLS, implicit TLS, login, failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from advocacy.delivery.mail import RelayError, Transport
from advocacy.delivery.sink import SinkHandler, free_port
from advocacy.letters.emails import Outgoing

from helpers import TlsRelay, seed_queued, work

MESSAGE = Outgoing("letters@campaign.test", ["office@example.org"],
                   b"Subject: hello\r\nTo: office@example.org\r\n\r\nBody\r\n")


def test_tls_and_login_then_many_messages_on_one_connection(relay: TlsRelay, trust: None) -> None:
    with Transport(relay.url()) as smtp:
        for _ in range(3):
            smtp.send(MESSAGE)
    assert [r.rcpt_tos for r in relay.handler.received] == [["office@example.org"]] * 3


def test_wrong_password_is_a_relay_error_not_a_letter_error(relay: TlsRelay, trust: None) -> None:
    with pytest.raises(RelayError, match="535|Authentication"), \
            Transport(relay.url("wrong")) as smtp:
        smtp.send(MESSAGE)
    assert relay.handler.received == []


def test_an_untrusted_certificate_is_refused(relay: TlsRelay) -> None:
    with pytest.raises(RelayError), Transport(relay.url()) as smtp:
        smtp.send(MESSAGE)
    assert relay.handler.received == []


def test_no_relay_listening_is_a_relay_error() -> None:
    with pytest.raises(RelayError), Transport(f"smtp://127.0.0.1:{free_port()}") as smtp:
        smtp.send(MESSAGE)


def test_a_dropped_connection_is_reopened_once(tmp_path: Path) -> None:
    from advocacy.delivery.sink import Sink

    with Sink(SinkHandler()) as sink:
        smtp = Transport(sink.url)
        smtp.send(MESSAGE)
        assert smtp._smtp is not None
        smtp._smtp.sock.close()  # type: ignore[union-attr]  # the relay hung up while idle
        smtp.send(MESSAGE)
        smtp.close()
        assert len(sink.received) == 2


def test_relay_down_keeps_letters_queued_for_later(app: Any, sink: Any) -> None:
    from sqlalchemy import select

    from advocacy.delivery.queue import enqueue_letters
    from advocacy.extensions import db
    from advocacy.models import Letter
    from advocacy.organizers.controls import set_limits


    set_limits(None, {"relay": None, "per_official_hour": None, "window": None})
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    ids = seed_queued(30)
    enqueue_letters(ids)
    work(app)
    db.session.expire_all()
    letters = db.session.scalars(select(Letter)).all()
    assert {lt.status for lt in letters} == {"queued"}
    assert all(lt.attempts <= 1 for lt in letters)
    # Each job tried one chunk, found the relay down, and put the rest off untouched.
    jobs = -(-len(ids) // app.config["LETTERS_PER_JOB"])
    assert sum(1 for lt in letters if lt.last_error) <= jobs * app.config["CLAIM_SIZE"]
    app.config["SMTP_URL"] = sink.url  # the relay is back
    app.config["RETRY_BASE_SECONDS"] = 0.0
    db.session.execute(Letter.__table__.update().values(not_before=None))
    db.session.commit()
    from advocacy.delivery.reconcile import reconcile

    reconcile()
    work(app)
    db.session.expire_all()
    assert {lt.status for lt in db.session.scalars(select(Letter))} == {"sent"}
    assert len(sink.received) == len(ids)


def test_a_connection_cut_after_the_whole_message_is_not_resent_unless_asked() -> None:
    """Once the final "." is out and no reply came, the message may have arrived: the
    transport says so (Unconfirmed) instead of sending it again, unless asked to resend; a
    cut before the end of DATA is retried at once, as ever."""
    from advocacy.delivery.mail import Unconfirmed
    from advocacy.delivery.sink import Sink

    # The sink's answer each time it asks, at DATA and then at the end of each message.
    plan = [False, True, False, True, False, False, True, False, False]
    handler = SinkHandler(hang_up=lambda point: plan.pop(0))
    with Sink(handler) as sink:
        smtp = Transport(sink.url)
        with pytest.raises(Unconfirmed):
            smtp.send(MESSAGE, resend_unconfirmed=False)
        assert len(sink.received) == 1  # it did arrive; the client could not know
        smtp.send(MESSAGE)  # cut again after the end, then sent once more, as asked
        assert len(sink.received) == 3
        smtp.send(MESSAGE, resend_unconfirmed=False)  # cut at DATA: nothing went, so again
        smtp.close()
        assert len(sink.received) == 4
        assert {m.data for m in sink.received} == {MESSAGE.data}  # the same bytes each time
        assert plan == []


@pytest.mark.parametrize("address", [
    "bounce+letter-12-abcDEF0123456789xyz_@campaign.test", "urgent-action@ohchr.org",
    "o'brien@x.ie", "{x}|~@y.z",  # plain: written without smtplib's parser
    "x y@z", "a,b@c", "a(b)@c", "<a@b>", '"a b"@c', "Ж@x", "a..b@c", "a@[1.2.3.4]",
])
def test_envelope_commands_are_smtplib_s_own(address: str) -> None:
    # MAIL FROM and RCPT TO skip smtplib's quoteaddr for plain addresses (it cost a tenth of
    # a letter's CPU): what goes on the wire must be what smtplib itself would write.
    from advocacy.delivery.mail import _SMTP

    def commands(client: Any) -> list[str]:
        written: list[str] = []
        client.putcmd = lambda cmd, args="": written.append(f"{cmd} {args}")
        client.getreply = lambda: (250, b"ok")
        client.does_esmtp = True
        client.mail(address, ["size=100"])
        client.rcpt(address)
        return written

    import smtplib

    assert commands(_SMTP()) == commands(smtplib.SMTP())


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "one-by-one"])
def test_the_mark_runs_once_before_the_message_and_no_mark_sends_nothing(pipelining: bool
                                                                          ) -> None:
    """`mark` runs while the relay reads MAIL FROM (with PIPELINING, the envelope and DATA),
    before any of the message goes; it runs once even when the connection drops and the
    message goes again; when it says no, or raises, the message does not go, and the
    transport goes on sending the next ones."""
    from advocacy.delivery.mail import NotMarked
    from advocacy.delivery.sink import Sink

    events: list[str] = []
    plan = [True]  # the first DATA is cut: the message goes again on a new connection

    def mark(answer: bool = True) -> bool:
        events.append("mark")
        return answer

    def seen() -> list[str]:
        # RCPT TO may cross the mark when pipelined: only one by one is its order fixed.
        return events if not pipelining else [e for e in events if e != "rcpt"]

    handler = SinkHandler(pipelining=pipelining,
                          rcpt_reply=lambda address: events.append("rcpt") and None,
                          reply=lambda item: events.append("message") and None,
                          hang_up=lambda point: point == "data" and bool(plan and plan.pop()))
    with Sink(handler) as sink:
        smtp = Transport(sink.url)
        smtp.send(MESSAGE, mark=mark)
        # Marked once, and the message went (again, on a new connection) after it.
        assert seen() == (["mark", "message"] if pipelining
                          else ["mark", "rcpt", "rcpt", "message"])
        assert len(sink.received) == 1
        events.clear()
        with pytest.raises(NotMarked):
            smtp.send(MESSAGE, mark=lambda: mark(False))
        assert seen() == ["mark"]  # no message (one by one: no RCPT TO, the MAIL reset)

        def broken() -> bool:
            raise RuntimeError("the database is away")
        with pytest.raises(RuntimeError):
            smtp.send(MESSAGE, mark=broken)
        assert len(sink.received) == 1
        smtp.send(MESSAGE)  # the next message goes, with no mark of its own
        smtp.send(MESSAGE, mark=mark)
        smtp.close()
        assert len(sink.received) == 3
        assert seen() == (["mark", "message", "mark", "message"] if pipelining
                          else ["mark", "rcpt", "message", "mark", "rcpt", "message"])


class Relay:
    """A relay on a raw socket, written out command by command, for what aiosmtpd will not
    do: it offers PIPELINING and answers nothing until the whole of a pipelined group
    (MAIL FROM to DATA) has come, so a client that waits for a reply between commands
    hangs; and, when told, it accepts DATA although it refused every recipient."""

    def __init__(self, refuse_rcpt: bool = False) -> None:
        import socket
        import threading

        self.refuse_rcpt = refuse_rcpt
        self.got: list[bytes] = []  # what came, a group or a message per item
        self.hung_up = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"smtp://127.0.0.1:{self._server.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self._server.accept()
        conn.settimeout(10)
        buffer = b""

        def until(end: bytes) -> bytes:
            nonlocal buffer
            while end not in buffer:
                chunk = conn.recv(65536)
                if not chunk:
                    raise ConnectionError("the client hung up")
                buffer += chunk
            head, _, buffer = buffer.partition(end)
            return head + end

        try:
            conn.sendall(b"220 relay.test\r\n")
            until(b"\r\n")  # EHLO
            conn.sendall(b"250-relay.test\r\n250-PIPELINING\r\n250 SIZE 1000000\r\n")
            while True:
                group = until(b"\r\n")
                while not group.lower().endswith((b"data\r\n", b"quit\r\n")):
                    group += until(b"\r\n")  # nothing is answered before DATA has come
                if group.lower() == b"quit\r\n":
                    conn.sendall(b"221 bye\r\n")
                    break
                self.got.append(group)
                rcpts = group.count(b"rcpt TO:")
                reply = b"550 no such mailbox\r\n" if self.refuse_rcpt else b"250 ok\r\n"
                conn.sendall(b"250 ok\r\n" + reply * rcpts + b"354 go ahead\r\n")
                self.got.append(until(b"\r\n.\r\n"))
                conn.sendall(b"250 kept\r\n")
        except (ConnectionError, OSError):
            pass
        finally:
            self.hung_up.set()
            conn.close()
            self._server.close()


def test_with_pipelining_the_envelope_and_data_go_in_one_write() -> None:
    """Where the relay offers PIPELINING, MAIL FROM, RCPT TO and DATA go without waiting for
    a reply (two round trips a message instead of four), the mark runs before any reply is
    read, and the message follows DATA's 354 with its leading dots doubled."""
    relay = Relay()
    text = b"Subject: dots\r\n\r\n.a line starting with a dot\r\n..and two\r\nend"
    message = Outgoing("letters@campaign.test", ["office@example.org", "desk@example.org"], text)
    marks: list[int] = []
    smtp = Transport(relay.url)
    smtp.send(message, mark=lambda: marks.append(len(relay.got)) or True)
    smtp.send(message)
    smtp.close()
    assert relay.hung_up.wait(10)
    group = (b"mail FROM:<letters@campaign.test> size=%d\r\n" % len(text)
             + b"rcpt TO:<office@example.org>\r\nrcpt TO:<desk@example.org>\r\ndata\r\n")
    body = (b"Subject: dots\r\n\r\n..a line starting with a dot\r\n...and two\r\nend"
            b"\r\n.\r\n")
    assert relay.got == [group, body, group, body]
    assert marks == [0] or marks == [1]  # before DATA's 354: the message had not gone


def test_a_relay_that_accepts_data_after_refusing_everyone_is_hung_up_on() -> None:
    """RFC 2920 has a relay refuse DATA when no recipient was taken; one that answers 354
    anyway gets nothing, not a lone "." (an empty message a lax relay might deliver)."""
    import smtplib

    relay = Relay(refuse_rcpt=True)
    smtp = Transport(relay.url)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        smtp.send(MESSAGE)
    assert refused.value.recipients == {"office@example.org": (550, b"no such mailbox")}
    assert relay.hung_up.wait(10)  # hung up on, without a QUIT in the middle of DATA
    assert len(relay.got) == 1 and relay.got[0].endswith(b"data\r\n")  # no message after


def test_refusals_when_pipelined_are_the_letter_s_and_the_connection_goes_on() -> None:
    """A refused recipient, a refused message: the same errors as one by one (the worker
    records them as ever), the transaction reset, and the next message on the same
    connection; one recipient refused of two, and the message goes to the other."""
    import smtplib

    from advocacy.delivery.mail import smtp_refusal
    from advocacy.delivery.sink import Sink

    handler = SinkHandler(
        rcpt_reply=lambda address: "550 5.1.1 no such mailbox" if "gone" in address else None,
        reply=lambda item: "554 5.7.1 refused" if b"spam" in item.data else None)
    two = Outgoing("letters@campaign.test", ["gone@example.org", "office@example.org"],
                   MESSAGE.data)
    with Sink(handler) as sink:
        smtp = Transport(sink.url)
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.send(Outgoing("letters@campaign.test", ["gone@example.org"], MESSAGE.data))
        assert smtp_refusal(refused.value) == (550, "5.1.1 no such mailbox")
        with pytest.raises(smtplib.SMTPDataError) as data:
            smtp.send(Outgoing("letters@campaign.test", ["office@example.org"],
                               b"Subject: spam\r\n\r\nspam\r\n"))
        assert smtp_refusal(data.value) == (554, "5.7.1 refused")
        connection = smtp._smtp
        smtp.send(two)
        assert smtp._smtp is connection  # the same connection all along
        smtp.close()
    assert [r.rcpt_tos for r in sink.received] == [["office@example.org"]]


def test_meanwhile_runs_once_the_message_is_out_and_cannot_lose_its_reply() -> None:
    """`meanwhile` runs after the message's final ".", before the relay's reply is read; if
    it raises, the reply is still read and the message counts as sent."""
    import threading

    from advocacy.delivery.sink import Sink

    ran = threading.Event()
    # The relay answers only once `meanwhile` ran (or refuses after a while): so it ran
    # with the message out and the reply not yet read.
    handler = SinkHandler(reply=lambda item: None if ran.wait(10) else "451 not meanwhile")
    with Sink(handler) as sink:
        smtp = Transport(sink.url)
        smtp.send(MESSAGE, meanwhile=ran.set)
        assert ran.is_set()

        def broken() -> None:
            ran.set()
            raise RuntimeError("composing the next letter failed")
        ran.clear()
        smtp.send(MESSAGE, meanwhile=broken)  # logged, not raised: the message went
        ran.set()
        smtp.send(MESSAGE)
        smtp.close()
    assert len(sink.received) == 3


def test_meanwhile_runs_once_when_an_unconfirmed_message_goes_again() -> None:
    """A message whose reply never came goes again when asked (same bytes): `meanwhile`
    does not run again (it claims the next letters: twice would take them from itself)."""
    from advocacy.delivery.sink import Sink

    calls: list[int] = []
    plan = [False, True, False, False]  # the sink's answers: cut after the first message
    with Sink(SinkHandler(hang_up=lambda point: plan.pop(0))) as sink:
        smtp = Transport(sink.url)
        smtp.send(MESSAGE, meanwhile=lambda: calls.append(1))
        smtp.close()
        assert len(sink.received) == 2 and plan == []
    assert calls == [1]
