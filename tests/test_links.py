"""Signed links are keys to a supporter's letters and data: they reach no log, the status link
dies with the data it shows, the status page hands out no data link (it offers to email one),
and every private page keeps out of caches and search engines."""

from __future__ import annotations

import http.client
import logging
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from advocacy import clock
from advocacy.delivery.queue import get_queue
from advocacy.delivery.sink import Sink, free_port
from advocacy.extensions import db
from advocacy.links import confirmation_link, data_link, status_link
from advocacy.logs import REDACTED, JsonLines, redact
from advocacy.models import Letter, LetterStatus, Submission
from advocacy.privacy.retention import purge
from advocacy.privacy.rights import erase

from helpers import PEOPLE, admin_routes, csrf_token, log_in, submission, work, worker_env

BASE = "http://campaign.test"


def written(client: Any, **changes: Any) -> Submission:
    """A supporter's submission through the API, unconfirmed."""
    reply = client.post("/api/letters", json=submission(**changes))
    assert reply.status_code == 202, reply.json
    return db.session.scalars(select(Submission).order_by(Submission.id.desc())).first()


def path_of(link: str) -> str:
    assert link.startswith(BASE + "/")
    return link[len(BASE):]


def tokens_of(sub: Submission) -> dict[str, str]:
    """The path of each signed link of a submission and its supporter."""
    return {"status": path_of(status_link(sub.id)),
            "confirm": path_of(confirmation_link(sub.id)),
            "my-data": path_of(data_link(sub.supporter_id))}


# --- no token in any log -----------------------------------------------------------------

def test_every_route_that_takes_a_token_is_redacted(app: Any) -> None:
    """TOKEN_PATHS in advocacy/logs.py covers every `<token>` route of the app."""
    token = secrets.token_urlsafe(32)
    routes = [rule.rule for rule in app.url_map.iter_rules() if "token" in rule.arguments]
    assert len(routes) >= 6, routes
    for rule in routes:
        path = re.sub(r"<(?:\w+:)?token>", token, re.sub(r"<int:\w+>", "1", rule))
        line = f'127.0.0.1 - - "GET {path}?lang=fr HTTP/1.1" 200 "{BASE}{path}"'
        assert token not in redact(line) and REDACTED in redact(line), rule


def test_a_signed_token_is_redacted_wherever_it_stands(app: Any, client: Any) -> None:
    sub = written(client)
    token = status_link(sub.id).rsplit("/", 1)[1]
    assert redact(f"error with {token} in its text") == f"error with {REDACTED} in its text"


def test_the_workers_json_lines_hold_no_token(app: Any, client: Any) -> None:
    sub = written(client)
    link = status_link(sub.id)
    record = logging.LogRecord("advocacy.delivery.jobs", logging.WARNING, __file__, 1,
                               "could not send %s", (link,), None)
    line = JsonLines().format(record)
    assert link.rsplit("/", 1)[1] not in line and "/status/[redacted]" in line


def test_flasks_exception_log_holds_no_token(
    app: Any, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flask logs "Exception on <path>" for a 500: the path's token is cut out."""
    sub = written(client)
    path = tokens_of(sub)["status"]

    def broken(*_: Any) -> Any:
        raise RuntimeError(f"failed at {path}")

    monkeypatch.setattr("advocacy.public.letter_states", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(logging.Formatter().format(record))

    handler = Keep()
    app.logger.addHandler(handler)
    try:
        assert client.get(path).status_code == 500
    finally:
        app.logger.removeHandler(handler)
    token = path.rsplit("/", 1)[1]
    assert records and "/status/[redacted]" in records[0]
    assert not any(token in record for record in records), records


@pytest.fixture
def gunicorn(app: Any, sink: Sink, tmp_path: Path) -> Iterator[tuple[int, Path, Path]]:
    """gunicorn as docker-compose runs it (the package's settings, an access log), on
    loopback, serving this test's database; yields its port and its two logs."""
    port = free_port()
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:advocacy.gunicorn_conf",
         "--bind", f"127.0.0.1:{port}", "--workers", "1", "--access-logfile", str(access),
         "--error-logfile", str(errors), "--log-level", "debug",
         f"advocacy:create_app({{'ADVOCACY_PUBLIC_URL': '{BASE}'}})"],
        env=worker_env(app, sink.url, tmp_path), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if request(port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(errors.read_text()[-3000:] if errors.exists() else "no gunicorn")
            time.sleep(0.2)
        yield port, access, errors
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def request(port: int, path: str, **headers: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        conn.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_gunicorns_logs_hold_no_token(
    app: Any, client: Any, gunicorn: tuple[int, Path, Path]
) -> None:
    port, access, errors = gunicorn
    sub = written(client)
    paths = tokens_of(sub)
    invitation = f"/admin/invitation/{secrets.token_urlsafe(32)}"
    assert request(port, paths["status"] + "?lang=fr",
                   Referer=BASE + paths["confirm"])[0] == 200
    assert request(port, paths["confirm"])[0] == 200
    assert request(port, paths["my-data"], Referer=BASE + paths["status"])[0] == 200
    assert request(port, paths["my-data"] + "/download")[0] == 200
    assert request(port, invitation)[0] == 404
    # gunicorn writes a line once the answer is sent: wait for the last one.
    deadline = time.monotonic() + 20
    while access.read_text().count("\n") < 6 and time.monotonic() < deadline:
        time.sleep(0.1)
    logged = access.read_text()
    assert logged.count("/status/[redacted]") >= 2 and "/my-data/[redacted]/download" in logged
    assert "/admin/invitation/[redacted]" in logged
    everything = logged + errors.read_text()
    secrets_sent = [p.rsplit("/", 1)[1] for p in (*paths.values(), invitation)]
    for secret in secrets_sent:
        assert secret not in everything, secret


def test_gunicorns_error_lines_hold_no_token(tmp_path: Path) -> None:
    """gunicorn's "Error handling request <uri>" line and its traceback, for a failed request."""
    from gunicorn.config import Config

    from advocacy.gunicorn_conf import RedactingLogger

    cfg = Config()
    cfg.set("errorlog", str(tmp_path / "error.log"))
    log = RedactingLogger(cfg)
    token = "MQ.aBcDeF." + secrets.token_urlsafe(20)
    try:
        try:
            raise RuntimeError(f"failed on /my-data/{token}/download")
        except RuntimeError:
            log.exception("Error handling request %s", f"/status/{token}?lang=fr")
    finally:
        for handler in list(log.error_log.handlers):
            handler.close()
            log.error_log.removeHandler(handler)
    written = (tmp_path / "error.log").read_text()
    assert "Error handling request /status/[redacted]?lang=fr" in written
    assert "RuntimeError: failed on /my-data/[redacted]/download" in written
    assert token not in written


# --- the status link lives as long as the data it shows ---------------------------------

def test_the_status_link_works_while_the_data_is_kept(app: Any, client: Any) -> None:
    sub = written(client)
    path = tokens_of(sub)["status"]
    assert client.get(path).status_code == 200
    # Letters still waiting long after they were written: the data is kept, so is the page.
    long_ago = clock.now() - timedelta(days=app.config["RETENTION_DAYS"] * 3)
    db.session.execute(update(Submission).values(created_at=long_ago))
    db.session.execute(update(Letter).values(created_at=long_ago))
    db.session.commit()
    assert client.get(path).status_code == 200


def test_the_status_link_dies_once_past_the_retention_period(app: Any, client: Any) -> None:
    sub = written(client)
    path = tokens_of(sub)["status"]
    days = app.config["RETENTION_DAYS"]
    # Delivered a day less than the retention period ago: still shown.
    sent = clock.now() - timedelta(days=days - 1)
    db.session.execute(update(Submission).values(created_at=sent - timedelta(hours=1)))
    db.session.execute(update(Letter).values(status=LetterStatus.SENT, sent_at=sent))
    db.session.commit()
    assert client.get(path).status_code == 200
    # Past it: the link is dead even before the purge has run...
    db.session.execute(update(Submission).values(created_at=sent - timedelta(days=2)))
    db.session.execute(update(Letter).values(sent_at=sent - timedelta(days=2)))
    db.session.commit()
    gone = client.get(path)
    assert gone.status_code == 404 and "expired" in gone.data.decode()
    # ...and stays dead after it.
    assert purge().submissions == 1
    assert client.get(path).status_code == 404


def test_the_status_link_dies_when_the_supporter_erases_their_data(
    app: Any, client: Any
) -> None:
    sub = written(client)
    path = tokens_of(sub)["status"]
    assert client.get(path).status_code == 200
    erase(sub.supporter_id)
    gone = client.get(path)
    assert gone.status_code == 404 and "expired" in gone.data.decode()


# --- the status page offers a data link by email, never the link itself -----------------

def test_the_status_page_emails_a_data_link_and_shows_none(
    app: Any, client: Any, sink: Sink
) -> None:
    sub = written(client)
    path = tokens_of(sub)["status"]
    page = client.get(path + "?lang=fr")
    shown = page.data.decode()
    assert "/my-data/" not in shown and data_link(sub.supporter_id) not in shown
    action = re.search(r'<form method="post" action="([^"]+)"', shown)
    assert action and action.group(1).startswith(path + "/data-link")
    # CSRF-protected like the other forms.
    assert client.post(action.group(1)).status_code == 400
    assert get_queue().count == 1  # only the confirmation email
    asked = client.post(action.group(1), data={"csrf_token": csrf_token(page.data)})
    assert asked.status_code == 200 and "boîte" in asked.data.decode().lower()
    job = get_queue().jobs[-1]
    assert job.func_name == "advocacy.delivery.send_data_link"
    assert job.args == (sub.supporter_id, "fr")
    work(app)
    [mail] = [m for m in sink.received if "/my-data/" in m.message().get_body().get_content()]
    assert mail.rcpt_tos == ["marie.dubois@example.org"]
    # A bad or dead status link asks for nothing.
    before = get_queue().count
    bad = client.post(path[:-3] + "/data-link", data={"csrf_token": csrf_token(page.data)})
    assert bad.status_code == 404 and get_queue().count == before


# --- private pages keep out of caches and search engines --------------------------------

def private(reply: Any) -> bool:
    return (reply.headers.get("Cache-Control") == "no-store"
            and reply.headers.get("X-Robots-Tag") == "noindex")


def test_every_private_page_is_kept_out_of_caches_and_search_engines(
    app: Any, client: Any, people: Any
) -> None:
    sub = written(client)
    paths = tokens_of(sub)
    # The pages, with good tokens.
    for path in (paths["status"], paths["confirm"], paths["my-data"], "/my-data"):
        reply = client.get(path)
        assert reply.status_code == 200 and private(reply), path
    # Every route under them, with a bad token: the error pages too.
    public_private = [rule for rule in app.url_map.iter_rules()
                      if rule.rule.startswith(("/status/", "/confirm/", "/my-data"))]
    assert len(public_private) >= 6
    for rule in public_private:
        url = rule.rule.replace("<token>", "not-a-token")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            reply = client.open(url, method=method)
            assert reply.status_code >= 400 or url == "/my-data", (method, url)
            assert private(reply), (method, url, reply.status_code)
    # Every page a signed link opens (the reply question's, the office's...), bad token too.
    for rule in app.url_map.iter_rules():
        if "<token>" in rule.rule:
            url = rule.rule.replace("<token>", "not-a-token")
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                assert private(client.open(url, method=method)), (method, url)
    # Every admin page, logged out (the login page, redirections) and logged in.
    for method, url, _role in admin_routes(app):
        assert private(client.open(url, method=method)), (method, url)
    organizer = app.test_client()
    assert log_in(organizer, PEOPLE["owner"]).status_code == 302
    for method, url, _role in admin_routes(app):
        reply = organizer.open(url, method=method)
        assert private(reply), (method, url, reply.status_code)
    # Not the public pages: they may be cached and listed.
    assert not private(client.get("/")) and not private(client.get("/privacy"))
