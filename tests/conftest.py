"""Fixtures on real components: Redis, SQLite and PostgreSQL, an aiosmtpd sink."""

from __future__ import annotations

import os
import shutil
import smtplib
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import inspect, text, update
from werkzeug.serving import make_server

from advocacy import clock, create_app
from advocacy.campaigns.bootstrap import load_data
from advocacy.config import ENVIRONMENT_VARIABLES
from advocacy.delivery.sink import Sink, SinkHandler, free_port
from advocacy.extensions import db
from advocacy.models import Official, Organizer
from advocacy.organizers.accounts import set_organizer
from advocacy.organizers.controls import set_limits
from advocacy.testing.stack import RedisServer, throwaway_database

from helpers import CHROMIUM, PASSWORD, PEOPLE, ROOT, TlsRelay, relay_authenticator

# Every variable the app reads: none of a developer's shell may leak into a test.
ENV_VARS = ENVIRONMENT_VARIABLES
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


class _Rows:
    """One PostgreSQL database for the run, filled once; before each test its rows are put
    back as they were then (COPY in PostgreSQL's binary format, sequences included).

    Faster than building the schema again, and than copying a database per test (CREATE and
    DROP DATABASE wait on checkpoints). Whatever a test left connected (a worker, a thread)
    is disconnected first; a test that changed the schema (init's tests drop it all) gets it
    built again. Each reset connects afresh: the outage tests cut every connection.
    """

    def __init__(self, url: str) -> None:
        import psycopg
        from psycopg import sql

        self.url = url
        self.tables = [table.name for table in db.metadata.sorted_tables]
        self.rows: dict[str, bytes] = {}
        with psycopg.connect(_plain(url), autocommit=True) as conn, conn.cursor() as cur:
            for name in self.tables:
                table = sql.Identifier(name)
                if cur.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(table)
                               ).fetchone() == (True,):
                    with cur.copy(sql.SQL("COPY {} TO STDOUT (FORMAT BINARY)").format(table)
                                  ) as copy:
                        self.rows[name] = b"".join(bytes(block) for block in copy)
            self.sequences = cur.execute(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
            ).fetchall()

    def _schema_intact(self, conn: Any) -> bool:
        present = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
        return {name for (name,) in present} == set(self.tables)

    def _rebuild_schema(self, conn: Any) -> None:
        from psycopg import sql
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall():
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(
                sql.Identifier(name)))
        engine = create_engine(self.url, poolclass=NullPool)
        try:
            db.metadata.create_all(engine)
        finally:
            engine.dispose()

    def reset(self) -> None:
        import psycopg

        with psycopg.connect(_plain(self.url), autocommit=True) as conn:
            self._put_back(conn)

    def _put_back(self, conn: Any) -> None:
        from psycopg import sql

        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        if not self._schema_intact(conn):
            self._rebuild_schema(conn)
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(sql.SQL("TRUNCATE {}").format(
                sql.SQL(", ").join(map(sql.Identifier, self.tables))))
            for name in self.tables:
                if name in self.rows:
                    with cur.copy(sql.SQL("COPY {} FROM STDIN (FORMAT BINARY)").format(
                            sql.Identifier(name))) as copy:
                        copy.write(self.rows[name])
            for sequence, value in self.sequences:
                cur.execute("SELECT setval(%s, %s, %s)",
                            (sequence, value or 1, value is not None))


def _no_waiting_for_the_disk(url: str) -> None:
    """Commits on the run's throwaway database do not wait for the disk (synchronous_commit
    off): a crash of the shared server is no test's concern; the crash tests run clusters of
    their own (advocacy.testing.stack.PrivatePostgres)."""
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(_plain(url), autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit TO off").format(
            sql.Identifier(name)))


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def fill_database() -> None:
    """What `advocacy init` leaves, as every test starts: the schema, the shipped targets and
    letters, and send windows that follow the real clock (tests that need one set it and move
    the clock). Inside the app's context."""
    db.create_all()
    load_data(ROOT / "targets", ROOT / "templates")
    set_limits(None, {"window": None})
    # The engine's tests were written around the UN's two addressed inboxes (the WGAD's and
    # OHCHR's urgent-action inbox), which the shipped files mark as case-intake: never
    # offered to supporters. Tests start with them writable, a group of two offices that
    # take email; the tests of case-intake inboxes mark them again (test_channels*).
    db.session.execute(update(Official).where(Official.case_intake.is_(True))
                       .values(case_intake=False))
    db.session.commit()


def _filled(url: str, redis_url: str, instance: Path, empty_first: bool = False) -> None:
    """Fill the database at `url` once, with an app of its own, and let it go."""
    with pytest.MonkeyPatch.context() as env:
        for name in ENV_VARS:
            env.delenv(name, raising=False)
        env.setenv("ADVOCACY_INSTANCE_PATH", str(instance))
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                          "REDIS_URL": redis_url})
        with app.app_context():
            if empty_first:  # TEST_DATABASE_URL as a developer left it
                db.drop_all()
            fill_database()
            if url.startswith("sqlite"):  # the whole database in the file, no -wal beside it
                db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Path:
    """A SQLite file filled once per run; each test works on a copy of its own."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    _filled(f"sqlite:///{folder / 'template.db'}", redis_url, folder / "instance")
    return folder / "template.db"


@pytest.fixture(scope="session")
def postgres_rows(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[_Rows]:
    """The run's PostgreSQL database (a throwaway one, or TEST_DATABASE_URL emptied), filled
    once; each test starts from its rows as they were filled (see _Rows)."""
    with _postgres_database() as url:
        _filled(url, redis_url, tmp_path_factory.mktemp("postgres-template"), empty_first=True)
        if not os.environ.get("TEST_DATABASE_URL"):
            _no_waiting_for_the_disk(url)
        yield _Rows(url)


@pytest.fixture
def own_postgres_url() -> Iterator[str]:
    """An empty PostgreSQL database for this test alone (for whole processes that migrate it)."""
    with _postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The test's database as `advocacy init` leaves it (see fill_database): a copy of a
    SQLite file of its own, or the run's PostgreSQL database with its rows put back."""
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "test.db")
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    rows = request.getfixturevalue("postgres_rows")
    rows.reset()
    yield rows.url


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _pg_skip_reason:
        terminalreporter.write_sep("!", "POSTGRESQL LEG SKIPPED", red=True, bold=True)
        terminalreporter.write_line(f"{_pg_skip_reason[0]}: tests ran on SQLite only.")


# --- the app ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trust(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the test CA the one the default TLS context trusts."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))


@pytest.fixture(params=["starttls", "smtps"])
def relay(request: pytest.FixtureRequest, ca: trustme.CA) -> Iterator[TlsRelay]:
    """A relay that wants TLS and a login; its certificate is trusted only with `trust`."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    handler, port = SinkHandler(), free_port()
    options: dict[str, Any] = {"authenticator": relay_authenticator, "auth_required": True}
    if request.param == "starttls":
        options.update(tls_context=server_context, require_starttls=True)
    else:
        options.update(ssl_context=server_context, auth_require_tls=False)
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    yield TlsRelay(handler, port, request.param)
    controller.stop()


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
        if not inspect(db.engine).has_table("campaign"):
            fill_database()  # a database a module's own fixture made, empty
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


# --- organizers, the clock, the browser ------------------------------------------------------

@pytest.fixture
def people(app: Any) -> dict[str, Organizer]:
    return {role: set_organizer(email, PASSWORD, role) for role, email in PEOPLE.items()}


@pytest.fixture
def live(app: Any) -> Iterator[str]:
    """The test's app served on loopback by a real HTTP server."""
    port = free_port()
    app.config["ADVOCACY_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per module (Playwright's sync API holds an event loop in this
    thread while it lives: not across the other modules' tests). Without Debian's chromium,
    the test is skipped as helpers.needs_chromium skips the modules that use it throughout."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip("no chromium: .ci/run installs Debian's package")

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  # Nothing leaves this machine: every other host name fails to resolve.
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def fake_now(monkeypatch: pytest.MonkeyPatch) -> Any:
    class Clock:
        value = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)  # a Saturday

        def set(self, value: datetime) -> None:
            self.value = value

    fake = Clock()
    monkeypatch.setattr(clock, "now", lambda: fake.value)
    return fake
