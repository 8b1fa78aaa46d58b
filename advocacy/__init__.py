"""advocacy: letters from supporters to officials, confirmed by email, sent through a queue."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask


def _fresh_request_state() -> None:
    """Forget what extensions cached on the app context for an earlier request.

    Flask-Babel (the locale), Flask-WTF (the CSRF token) and Flask-Login (the user) cache on
    the app context, which outlives a request when one was already pushed (a CLI command, a
    test); each request must find its own.
    """
    from flask import g
    from flask_babel import refresh

    refresh()
    for name in ("csrf_token", "csrf_valid", "_login_user"):
        g.pop(name, None)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The application factory: configuration from the environment, then test overrides."""
    from flask_babel import get_locale
    from sqlalchemy import event

    from advocacy import admin, api, cli, crypto, guards, logs, outages, public, serving
    from advocacy.config import engine_options, from_environment
    from advocacy.extensions import (
        babel,
        cors,
        csrf,
        db,
        limiter_storage,
        login_manager,
        request_limiter,
        security_headers,
        sqlite_pragmas,
        talisman,
    )
    from advocacy.instance_files import restrict_umask, secure_instance
    from advocacy.reporting import metrics

    # Before anything is written: secrets, the database, Redis's dump, the outbox are ours alone.
    restrict_umask()
    instance = os.environ.get("ADVOCACY_INSTANCE_PATH")
    app = Flask(__name__, instance_path=str(Path(instance).resolve()) if instance else None,
                instance_relative_config=True)
    app.config.from_mapping(from_environment(Path(app.instance_path)))
    if test_config:
        app.config.from_mapping(test_config)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
        app.config["SQLALCHEMY_DATABASE_URI"], app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    secure_instance(Path(app.instance_path), app.config["SQLALCHEMY_DATABASE_URI"])

    # Flask logs "Exception on <path>" here: no link's token in it (logs.RedactTokens).
    logs.keep_tokens_out(app.logger)
    crypto.init_app(app)
    db.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", sqlite_pragmas)
    csrf.init_app(app)
    cors.init_app(app)
    talisman.init_app(app, **security_headers(app.config))
    app.config.setdefault("RATELIMIT_STORAGE_URI", limiter_storage(app.config["REDIS_URL"]))
    request_limiter.init_app(app)
    babel.init_app(app, locale_selector=public.page_language)
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["page_languages"] = public.language_bar()
    app.before_request(_fresh_request_state)
    login_manager.init_app(app)
    from advocacy.admin import session as _loader  # noqa: F401  # registers the user loader
    app.register_blueprint(public.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(metrics.bp)
    csrf.exempt(api.bp)  # JSON for other sites: no cookies, no session to ride on
    cli.register(app)
    guards.register(app)
    outages.register(app)
    serving.wrap(app)

    return app
