"""When the database or Redis is away: a clear 503 that says so, never a 500 or a hang.

The database holds every letter, so without it nothing can be taken or shown: the JSON API
answers 503 in JSON, pages answer 503 with a page in the supporter's language, both with
`Retry-After`. Without Redis the web still takes letters (their emails are queued later by
`reconcile`); only what needs Redis itself (the queue on the dashboard) answers 503.
`/healthz` reports both, for monitors and load balancers: 503 only without the database, so
a web that still takes letters stays in rotation while Redis is away ("degraded").
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from flask import Flask, render_template, request
from flask_babel import gettext as _
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, PendingRollbackError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from advocacy.connections import get_redis
from advocacy.extensions import db

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30
# Errors that say a service is away (or overloaded), not that the request or the code is wrong.
DATABASE_AWAY = (OperationalError, PendingRollbackError, PoolTimeoutError)


def _forget_the_failed_transaction() -> None:
    """The session refuses every statement after a lost connection until rolled back (the
    request's end does it too, unless the app context outlives the request)."""
    with contextlib.suppress(SQLAlchemyError):
        db.session.rollback()


def _unavailable(what: str, message: str) -> tuple[Any, int, dict[str, str]]:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.path.startswith("/api/"):
        return {"errors": {"_": message}, "unavailable": what}, 503, headers
    page = render_template("public/message.html", title=_("Back in a moment"), text=message)
    return page, 503, headers


def database_away(exc: Exception) -> tuple[Any, int, dict[str, str]]:
    # The type only: a driver's message may quote what was being written.
    log.warning("database unavailable: %s", type(exc).__name__)
    _forget_the_failed_transaction()
    return _unavailable("database", _(
        "The site cannot reach its database just now, so nothing was saved. Please try again"
        " in a minute; what you wrote is not lost if you go back."))


def close_session(_exc: BaseException | None) -> None:
    """The app context's end, before Flask-SQLAlchemy's own (teardowns run last-registered
    first): close the session, and when its rollback fails because the server ended the
    connection, drop it quietly. The answer has already gone; left to Flask-SQLAlchemy the
    failed rollback would raise out of the request (a 500 on a 503, or a dead thread)."""
    try:
        db.session.remove()
    except DATABASE_AWAY as exc:
        log.warning("database connection lost at the request's end: %s", type(exc).__name__)
        with contextlib.suppress(SQLAlchemyError):
            db.session.close()  # the connection is invalidated now: this only lets go of it
        db.session.registry.clear()


def redis_away(exc: RedisError) -> tuple[Any, int, dict[str, str]]:
    log.warning("redis unavailable: %s", type(exc).__name__)
    return _unavailable("redis", _("The site's queue is unavailable just now. Please try again"
                                   " in a minute."))


def service_states() -> dict[str, str]:
    """"ok" or "down" for the database and for Redis, each checked with one round trip."""
    states = {}
    try:
        db.session.execute(text("SELECT 1"))
        states["database"] = "ok"
    except DATABASE_AWAY:
        _forget_the_failed_transaction()
        states["database"] = "down"
    try:
        get_redis().ping()
        states["redis"] = "ok"
    except RedisError:
        states["redis"] = "down"
    return states


def healthz() -> tuple[dict[str, str], int]:
    """200 while the database answers ("degraded" without Redis); 503 without the database."""
    states = service_states()
    if states["database"] != "ok":
        return {"status": "unavailable", **states}, 503
    return {"status": "ok" if states["redis"] == "ok" else "degraded", **states}, 200


def register(app: Flask) -> None:
    for error in DATABASE_AWAY:
        app.register_error_handler(error, database_away)
    app.register_error_handler(RedisError, redis_away)
    app.teardown_appcontext(close_session)
    app.add_url_rule("/healthz", "healthz", healthz)
