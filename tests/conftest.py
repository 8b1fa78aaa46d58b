"""Fixtures on real components: Redis, SQLite and PostgreSQL, an aiosmtpd sink."""

from __future__ import annotations

import os
import re
import smtplib
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from redis.exceptions import RedisError

from advocacy import create_app
from advocacy.campaigns.bootstrap import load_data
from advocacy.delivery.sink import Sink, SinkHandler
from advocacy.extensions import db
from advocacy.organizers.controls import set_limits
from bench.stack import RedisServer, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
ENV_VARS = ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "ADVOCACY_MODE", "ADVOCACY_SECRET_KEY",
            "ADVOCACY_SENDER", "ADVOCACY_PUBLIC_URL", "ADVOCACY_TEST_SMTP_HOSTS",
            "ADVOCACY_QUEUE", "ADVOCACY_INSTANCE_PATH", "ADVOCACY_DATA_KEYS", "ADVOCACY_LOOKUP_KEY",
            "ADVOCACY_RETENTION_DAYS", "ADVOCACY_REPLY_DOMAIN", "ADVOCACY_PROXIES", "PORT")
LOCAL_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_pg_skip_reason: list[str] = []


# --- no test may reach a real mail server -------------------------------------------------

@pytest.fixture(autouse=True)
def _smtp_only_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    original = smtplib.SMTP.connect

    def guarded(self: smtplib.SMTP, host: str = "localhost", port: int = 0, *a: Any) -> Any:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise AssertionError(f"a test tried to send mail to {host}: only loopback is allowed")
        return original(self, host, port, *a)

    monkeypatch.setattr(smtplib.SMTP, "connect", guarded)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


# --- Redis: the machine's server when it answers, else the embedded one --------------------

def _local_redis_answers() -> bool:
    try:
        return bool(Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5).ping())
    except (RedisError, OSError):
        return False


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
    elif _local_redis_answers():
        yield "redis://127.0.0.1:6379/0"
    else:
        from advocacy.connections import start_embedded_redis, stop_embedded_redis

        url = start_embedded_redis(tmp_path_factory.mktemp("redis"))
        print(f"\n[advocacy tests] no Redis on 127.0.0.1:6379: using the embedded one ({url})")
        yield url
        stop_embedded_redis()


@pytest.fixture
def queue_name(redis_url: str) -> Iterator[str]:
    """A queue of this test's own, so parallel runs on one Redis never meet."""
    name = f"advocacy-test-{uuid.uuid4().hex[:10]}"
    yield name
    conn = Redis.from_url(redis_url)
    keys = list(conn.scan_iter(match=f"*{name}*", count=1000))
    if keys:
        conn.delete(*keys)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis server of the test's own, for tests that kill or restart it."""
    if not RedisServer.available():
        pytest.skip("no redis-server binary: this test kills or restarts a Redis of its own")
    with RedisServer(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def own_redis_url(redis_server: RedisServer) -> str:
    """The test's own Redis; a module that kills it overrides `redis_url` with this."""
    return redis_server.url


# --- SQL: SQLite always, PostgreSQL where one answers --------------------------------------

def _pg_admin_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=0.5).close()
    except OSError:
        return None
    return LOCAL_PG


@contextmanager
def _postgres_database() -> Iterator[str]:
    """A throwaway PostgreSQL database (or TEST_DATABASE_URL as given), or a loud skip."""
    import psycopg

    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
        return
    admin = _pg_admin_url()
    if admin is None:
        _pg_skip_reason.append("no PostgreSQL on 127.0.0.1:5432 and no TEST_DATABASE_URL")
        pytest.skip("PostgreSQL leg skipped: no server answers (set TEST_DATABASE_URL)")
    with ExitStack() as stack:
        try:
            url = stack.enter_context(throwaway_database(admin, "advocacy_test"))
        except psycopg.Error as exc:
            _pg_skip_reason.append(f"cannot create a database: {exc}")
            pytest.skip(f"PostgreSQL leg skipped: {exc}")
        yield url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One PostgreSQL database for the run; tests reset its tables."""
    with _postgres_database() as url:
        yield url


@pytest.fixture
def own_postgres_url() -> Iterator[str]:
    """A PostgreSQL database for this test alone (for whole processes that migrate it)."""
    with _postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return str(request.getfixturevalue("postgres_url"))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _pg_skip_reason:
        terminalreporter.write_sep("!", "POSTGRESQL LEG SKIPPED", red=True, bold=True)
        terminalreporter.write_line(f"{_pg_skip_reason[0]}: tests ran on SQLite only.")


# --- the app ------------------------------------------------------------------------------

@pytest.fixture
def sink(tmp_path: Path) -> Iterator[Sink]:
    with Sink(SinkHandler(outbox=tmp_path / "sink")) as running:
        yield running


@pytest.fixture
def app(
    database_url: str, redis_url: str, queue_name: str, sink: Sink, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    monkeypatch.setenv("ADVOCACY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "QUEUE_NAME": queue_name,
        "SMTP_URL": sink.url,
        "ADVOCACY_SENDER": "letters@campaign.test",
        "ADVOCACY_PUBLIC_URL": "http://campaign.test",
        "SUBMIT_RATE": "1000/minute",  # tests of the per-IP limit lower it
        "STATS_CACHE_SECONDS": 0,  # counts read right after a change
    })
    with app.app_context():
        db.drop_all()
        db.create_all()
        load_data(ROOT / "targets", ROOT / "templates")
        # Send windows follow the real clock; tests that need one set it and move the clock.
        set_limits(None, {"window": None})
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


def csrf_token(page: bytes) -> str:
    """The CSRF token in a page's form."""
    match = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1).decode()


def work(app: Any) -> None:
    """Run the queue dry in this process, as `advocacy worker --burst` would."""
    from rq import SimpleWorker

    from advocacy.connections import get_redis
    from advocacy.delivery.queue import get_queue

    with app.app_context():
        SimpleWorker([get_queue()], connection=get_redis()).work(burst=True, with_scheduler=True)


def stored() -> tuple[int, int, int]:
    """How many supporters, submissions and letters the database holds."""
    from sqlalchemy import func, select

    from advocacy.models import Letter, Submission, Supporter

    return tuple(  # type: ignore[return-value]
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Supporter, Submission, Letter)
    )


def seed_queued(supporters: int, body: str = "un", country: str = "") -> list[int]:
    """Confirmed letters from this many supporters to every emailed official of a body."""
    from sqlalchemy import select

    from advocacy import clock
    from advocacy.campaigns.settings import find_campaign
    from advocacy.crypto import lookup_hash
    from advocacy.letters.versions import current_template
    from advocacy.models import Body, Letter, LetterStatus, Submission, Supporter
    from advocacy.officials.choose import choose_officials

    campaign = find_campaign(None)
    body_row = db.session.scalars(select(Body).where(Body.slug == body)).one()
    assert campaign is not None
    template = current_template(campaign, body_row, "en")
    assert template is not None
    officials = [t for t in choose_officials(body_row, country) if t.email]
    now = clock.now()
    letters = []
    for i in range(supporters):
        address = f"supporter{i}-{uuid.uuid4().hex[:6]}@example.org"
        supporter = Supporter(email=address, email_hash=lookup_hash(address))
        submission = Submission(
            campaign_id=campaign.id, supporter=supporter, body_id=body_row.id,
            target_country=country, name=f"Supporter {i}", city="Lyon", country="FR",
            language="en", personal_note=f"Note number {i}.", consent_at=now, confirmed_at=now,
        )
        letters += [Letter(campaign_id=campaign.id, submission=submission, supporter=supporter,
                           target_id=t.id, template_id=template.id, status=LetterStatus.QUEUED,
                           queued_at=now) for t in officials]
    db.session.add_all(letters)
    db.session.commit()
    return [letter.id for letter in letters]


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements sent to the database meanwhile (inside the app's context)."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _claims_a_mark(statement: str) -> bool:
    return " ".join(statement.split()).upper().startswith(
        ("UPDATE ROLLUP_MARK", "INSERT INTO ROLLUP_MARK"))


def start_and_see_it_wait_on_its_claim(other: threading.Thread, blocked: float = 0.5) -> None:
    """Start `other` (a run with an app context of its own), see it send its claim of a mark
    (the UPDATE of rollup_mark, or the INSERT of the first one), and see that statement still
    unanswered `blocked` seconds later: it waits on the claim this thread holds."""
    from sqlalchemy import event

    claimed = threading.Event()
    log: list[tuple[str, str]] = []  # ("sent" | "done", statement), the other thread's

    def sent(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if threading.get_ident() == other.ident:
            log.append(("sent", statement))
            if _claims_a_mark(statement):
                claimed.set()

    def done(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if threading.get_ident() == other.ident:
            log.append(("done", statement))

    event.listen(db.engine, "before_cursor_execute", sent)
    event.listen(db.engine, "after_cursor_execute", done)
    try:
        other.start()
        assert claimed.wait(30), f"the other run sent no claim of a mark in 30 s: {log}"
        other.join(blocked)
        last = log[-1]
        assert other.is_alive() and last[0] == "sent" and _claims_a_mark(last[1]), (
            f"the other run did not wait on its claim: {log}")
    finally:
        event.remove(db.engine, "before_cursor_execute", sent)
        event.remove(db.engine, "after_cursor_execute", done)


def worker_env(app: Any, sink_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a worker process that works for this test's app."""
    return {**os.environ,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": app.config["REDIS_URL"], "ADVOCACY_QUEUE": app.config["QUEUE_NAME"],
            "SMTP_URL": sink_url, "ADVOCACY_SENDER": app.config["ADVOCACY_SENDER"],
            "ADVOCACY_SECRET_KEY": app.config["SECRET_KEY"],
            "ADVOCACY_DATA_KEYS": ",".join(app.config["DATA_KEYS"]),
            "ADVOCACY_LOOKUP_KEY": app.config["LOOKUP_KEY"],
            "ADVOCACY_INSTANCE_PATH": str(tmp_path / "worker-instance")}
