"""Supporters writing and confirming in a thread, while faults happen (bench/chaos.py, slow tests).

The stream posts letters to the JSON API and opens each accepted submission's confirmation
link (built from the database, as the email carries it), through whatever `Web` it is
given: HTTP to gunicorn in the bench, Flask's test client in the tests. It counts every
answer by kind and status, and keeps the ids of the letters accepted (found in the database
by the writer's address: the answer names no letter, see services.submit).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from advocacy.crypto import lookup_hash
from advocacy.extensions import db
from advocacy.links import confirmation_link
from advocacy.models import Letter, Supporter


class Web(Protocol):
    def post(self, path: str, data: dict[str, Any] | None = None) -> tuple[int, Any]: ...


class Http:
    """POSTs to a server on loopback, one keep-alive connection per thread."""

    def __init__(self, port: int) -> None:
        self.port, self.local = port, threading.local()

    def post(self, path: str, data: dict[str, Any] | None = None) -> tuple[int, Any]:
        if not hasattr(self.local, "conn"):
            self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn = self.local.conn
        try:
            conn.request("POST", path, body=json.dumps(data or {}),
                         headers={"Content-Type": "application/json"})
            reply = conn.getresponse()
            body = reply.read()
        except OSError:
            conn.close()
            return 0, None  # no answer at all (counted as status 0)
        is_json = reply.getheader("Content-Type", "").startswith("application/json")
        return reply.status, json.loads(body) if is_json else None


# An office that takes email in the shipped files: Finland's foreign ministry (the UN's
# addressed inboxes take case submissions only, and no Council of Europe office publishes an
# address). Its letters go to the test's own sink.
GROUPS = {"body": "gov", "country": "FI"}


def supporter_letter(email: str) -> dict[str, Any]:
    return {**GROUPS, "language": "en", "consent": True,
            "supporter": {"name": "Chaos Reader", "email": email, "city": "Lyon",
                          "country": "FR"}}


class Stream:
    """Supporters submitting through the JSON API and confirming, in a thread."""

    def __init__(self, app: Flask, web: Callable[[], Web], per_second: float = 15,
                 prefix: str = "chaos") -> None:
        self.app, self.web, self.pause, self.prefix = app, web, 1 / per_second, prefix
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.accepted: list[int] = []
        self.unconfirmed: list[str] = []  # the address of each accepted submission
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Stream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        web, n = self.web(), 0
        while not self._stop.is_set():
            n += 1
            status, body = web.post("/api/letters",
                                    supporter_letter(f"{self.prefix}-{n}@example.org"))
            self.statuses["submit", status] += 1
            if status == 202:
                self.unconfirmed.append(f"{self.prefix}-{n}@example.org")
            self.confirm_waiting(web)
            time.sleep(self.pause)

    def confirm_waiting(self, web: Web) -> None:
        """Open each waiting confirmation link; those that fail are tried again later."""
        for address in list(self.unconfirmed):
            try:
                with self.app.app_context():
                    rows = db.session.execute(
                        select(Letter.submission_id, Letter.id)
                        .join(Supporter, Letter.supporter_id == Supporter.id)
                        .where(Supporter.email_hash == lookup_hash(address))).all()
                    link = confirmation_link(rows[0][0])
            except OperationalError:
                return  # the database is away: later
            status, _ = web.post("/confirm/" + link.rsplit("/confirm/", 1)[1])
            self.statuses["confirm", status] += 1
            if status == 200:
                self.unconfirmed.remove(address)
                self.accepted += [letter_id for _submission, letter_id in rows]

    def finish(self, timeout: float = 30) -> None:
        """Stop writing; confirm what is left."""
        self.__exit__()
        web = self.web()
        deadline = time.monotonic() + timeout
        while self.unconfirmed and time.monotonic() < deadline:
            self.confirm_waiting(web)
            time.sleep(0.2)
        assert not self.unconfirmed, "confirmations still refused after the fault ended"

    def server_errors(self, allowed: frozenset[int] = frozenset()) -> dict[Any, int]:
        """Answers that were 5xx (but those allowed) or no answer at all."""
        return {k: n for k, n in self.statuses.items()
                if (k[1] >= 500 or k[1] == 0) and k[1] not in allowed}
