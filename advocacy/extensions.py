"""Flask extensions, created unbound and attached in create_app."""

from __future__ import annotations

import ipaddress
from typing import Any

from flask import current_app
from flask_babel import Babel
from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    # Named constraints, so Alembic migrations can alter them on SQLite and PostgreSQL alike.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
# Security headers (CSP, HSTS, frame and referrer rules) on every response.
talisman = Talisman()
# Scripts, styles and images from this site only: no inline script can run, whatever an
# attacker manages to put in a page. Forms may lead to the supporter's own mail program.
PAGE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "form-action": "'self' mailto: https://mail.google.com https://outlook.live.com",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}
EMBEDDABLE_POLICY = {**PAGE_POLICY, "frame-ancestors": "*"}


def security_headers(config: dict[str, Any]) -> dict[str, Any]:
    """Talisman's settings: no page framed but the widget, no link leaked in a Referer, HSTS
    in live mode (sent on HTTPS requests only; TLS itself ends at the proxy, hence no
    redirect here), the session cookie as config.py sets it."""
    return {
        "force_https": False,
        "frame_options": "DENY",
        "content_security_policy": PAGE_POLICY,
        "strict_transport_security": config["ADVOCACY_MODE"] == "live",
        "strict_transport_security_include_subdomains": False,
        "referrer_policy": "same-origin",
        "session_cookie_secure": config["SESSION_COOKIE_SECURE"],
        "session_cookie_samesite": config["SESSION_COOKIE_SAMESITE"],
        "permissions_policy": {"browsing-topics": "()", "interest-cohort": "()"},
    }
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
login_manager.login_view = "admin.login"
login_manager.session_protection = "strong"  # a session moved to another browser is dropped
# The JSON API is public and uses no cookies: any site may call it from the browser.
cors = CORS(resources={r"/api/*": {"origins": "*", "methods": ["GET", "POST"],
                                    "allow_headers": ["Content-Type"], "max_age": 3600}},
            supports_credentials=False, send_wildcard=True)


def client_network(address: str, ipv6_prefix: int) -> str:
    """Who the per-IP limits count: an IPv4 address, or the IPv6 network of `ipv6_prefix` bits
    around an IPv6 one (a home or a server is given a whole /64: counted by address, one
    machine would be billions of clients). An IPv4-mapped IPv6 address is its IPv4 address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an address (a test client's, say): counted as it is
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        host_bits = 128 - ipv6_prefix
        network = ipaddress.IPv6Address(int(ip) >> host_bits << host_bits)  # drops a %scope
        return f"{network}/{ipv6_prefix}"
    return str(ip)


def client_key() -> str:
    # Prefixed with the queue name, as every other key of this installation in Redis.
    network = client_network(get_remote_address(), current_app.config["IPV6_PREFIX"])
    return f"{current_app.config['QUEUE_NAME']}:{network}"


# Per-IP limits on submissions (moving window in Redis, like the delivery limits).
request_limiter = Limiter(client_key)  # requests per client (Flask-Limiter)


def submit_rate() -> str:
    """The per-IP limit shared by the form and the JSON API (ADVOCACY_SUBMIT_RATE)."""
    return str(current_app.config["SUBMIT_RATE"])


def limiter_storage(redis_url: str | None) -> str:
    """The `limits` storage URI for the app's Redis (memory when none is configured yet)."""
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite for several processes: WAL lets readers and a writer overlap; wait on locks."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
