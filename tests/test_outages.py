"""A service away: the web answers a clear 503 at once (JSON on the API, a page on the form)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from advocacy import create_app
from advocacy.delivery.sink import free_port
from advocacy.extensions import db

from helpers import ROOT

LETTER = {"body": "un", "language": "en", "consent": True,
          "supporter": {"name": "Ada Example", "email": "ada@example.org", "city": "Lyon",
                        "country": "FR"}}


def as_described(reply: Any) -> Any:
    """The /healthz answer, checked against the OpenAPI description."""
    schema = schemathesis.openapi.from_path(ROOT / "advocacy" / "api" / "openapi.json")
    schema["/healthz"]["GET"].validate_response(reply)
    return reply


def without_redis(app: Any) -> None:
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app.extensions.pop("advocacy_redis", None)


def test_healthz_stays_200_but_degraded_while_redis_is_away(app: Any, client: Any) -> None:
    # A load balancer or compose's healthcheck must keep a web that still takes letters.
    without_redis(app)
    reply = as_described(client.get("/healthz"))
    assert reply.status_code == 200
    assert reply.json == {"status": "degraded", "database": "ok", "redis": "down"}
    # Letters are still taken: their confirmation emails are queued when Redis is back.
    assert client.post("/api/letters", json=LETTER).status_code == 202


@pytest.fixture
def no_database(tmp_path: Path, redis_url: str, queue_name: str,
                monkeypatch: pytest.MonkeyPatch) -> Any:
    """The app configured for a PostgreSQL server that does not answer."""
    monkeypatch.setenv("ADVOCACY_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app({
        "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone",
        "REDIS_URL": redis_url, "QUEUE_NAME": queue_name, "SUBMIT_RATE": "1000/minute",
    }).test_client()


def test_without_the_database_every_answer_is_a_clear_503(no_database: Any) -> None:
    started = time.monotonic()
    health = as_described(no_database.get("/healthz"))
    assert health.status_code == 503
    assert health.json == {"status": "unavailable", "database": "down", "redis": "ok"}

    api = no_database.post("/api/letters", json=LETTER)
    assert api.status_code == 503 and int(api.headers["Retry-After"]) > 0
    assert api.json["unavailable"] == "database"
    assert "nothing was saved" in api.json["errors"]["_"]

    form = no_database.post("/?lang=fr", data={"body": "un", "name": "Ada"})
    assert form.status_code == 503 and form.mimetype == "text/html"
    assert "Rien n’a été enregistré" in form.get_data(as_text=True)

    for path in ("/", "/api/stats", "/badge.svg", "/privacy"):
        assert no_database.get(path).status_code == 503, path
    assert time.monotonic() - started < 10  # refused at once: no request hangs


def test_healthz_is_503_when_both_are_away(no_database: Any) -> None:
    without_redis(no_database.application)
    health = as_described(no_database.get("/healthz"))
    assert health.status_code == 503
    assert health.json == {"status": "unavailable", "database": "down", "redis": "down"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # a server, not a file
def test_connections_a_restarted_postgresql_dropped_cost_no_request(app: Any, client: Any
                                                                     ) -> None:
    """Pooled connections the server ended (a restart, a failover) are pinged and replaced
    before use: the next request is answered, not a 503."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    assert client.get("/api/stats").status_code == 200
    db.session.remove()  # the pool now holds the connection
    admin = create_engine(url, poolclass=NullPool)
    with admin.connect() as conn:
        ended = conn.scalar(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    admin.dispose()
    assert ended >= 1
    assert client.get("/api/stats").status_code == 200


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_connection_ended_before_the_request_ends_does_not_raise(app: Any, client: Any
                                                                   ) -> None:
    """The server ends the connection after the answer is built but before the session is
    closed (a restart mid-request, CI's chaos run): the request's end lets it go quietly,
    and the next request gets a fresh connection."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    admin = create_engine(url, poolclass=NullPool)
    with app.app_context():
        pid = db.session.scalar(text("SELECT pg_backend_pid()"))  # a transaction is open
        with admin.connect() as conn:
            assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()  # leaving the app context closed the session without raising
    assert client.get("/api/stats").status_code == 200
