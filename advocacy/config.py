"""Configuration from the environment (12-factor), with safe defaults."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from limits import parse_many

MODES = ("test", "live")
# Every variable the app reads; README's table and docker-compose.yml are checked against it.
ENVIRONMENT_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "SMTP_URL",
    "ADVOCACY_MODE",
    "ADVOCACY_SECRET_KEY",
    "ADVOCACY_SENDER",
    "ADVOCACY_PUBLIC_URL",
    "ADVOCACY_TEST_SMTP_HOSTS",
    "ADVOCACY_QUEUE",
    "ADVOCACY_INSTANCE_PATH",
    "ADVOCACY_SUBMIT_RATE",
    "ADVOCACY_METRICS_TOKEN",
    "ADVOCACY_DATA_KEYS",
    "ADVOCACY_LOOKUP_KEY",
    "ADVOCACY_RETENTION_DAYS",
    "ADVOCACY_REPLY_CHECK_DAYS",
    "ADVOCACY_REPLY_DOMAIN",
    "ADVOCACY_PROXIES",
    "ADVOCACY_IPV6_PREFIX",
    "PORT",
)
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
PG_CONNECT_TIMEOUT = 5  # seconds


class ConfigError(RuntimeError):
    """A configuration value is missing or wrong; the message says which and why."""


def _database_url(raw: str | None, instance: Path) -> str:
    if not raw:
        return f"sqlite:///{instance / 'advocacy.db'}"
    # psycopg 3 is the driver we ship; accept the URLs hosting providers hand out.
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def _instance_secret(raw: str | None, path: Path, make: Callable[[], str]) -> str:
    if raw:
        return raw.strip()
    if not path.exists():
        # Written once, readable by the owner only, so restarts keep links, sessions and
        # encrypted data readable.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
    return path.read_text().strip()


def _secret_key(raw: str | None, instance: Path) -> str:
    return _instance_secret(raw, instance / "secret_key", lambda: secrets.token_urlsafe(48))


def _data_keys(raw: str | None, instance: Path) -> list[str]:
    """Fernet keys, newest first: the first encrypts supporters' data, every one decrypts."""
    keys = [k.strip() for k in _instance_secret(
        raw, instance / "data_keys", lambda: Fernet.generate_key().decode()).split(",")]
    for position, key in enumerate(keys, 1):
        try:
            Fernet(key.encode())
        except ValueError:
            raise ConfigError(
                f"ADVOCACY_DATA_KEYS: key {position} is not a Fernet key (32 url-safe base64"
                " bytes; `advocacy new-data-key` makes one)") from None
    return keys


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip() or str(default)
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def smtp_host(url: str) -> str | None:
    """The host an SMTP_URL points at, or None for the built-in sink."""
    if url == "sink":
        return None
    return urlsplit(url).hostname


def check_mail_safety(mode: str, smtp_url: str, test_hosts: set[str]) -> None:
    """Refuse a test-mode configuration that could send mail beyond a local catcher."""
    if smtp_url != "sink" and urlsplit(smtp_url).scheme not in ("smtp", "smtps"):
        raise ConfigError(f"SMTP_URL must be 'sink', smtp://… or smtps://…, not {smtp_url!r}")
    host = smtp_host(smtp_url)
    if mode == "test" and host is not None and host not in LOOPBACK_HOSTS | test_hosts:
        raise ConfigError(
            f"ADVOCACY_MODE=test sends mail only to a local sink, but SMTP_URL points at {host!r}."
            " Use SMTP_URL=sink, a loopback catcher, name the catcher in ADVOCACY_TEST_SMTP_HOSTS,"
            " or set ADVOCACY_MODE=live."
        )


def engine_options(url: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The engine's options for this database. PostgreSQL gives up connecting after a few
    seconds, so a server that cannot be reached makes a 503, not a request that hangs, and a
    pooled connection is pinged before use (the server may have restarted since). A SQLite
    file has no server to lose: no ping, which would cost a statement per request."""
    if not url.startswith("postgresql"):
        return dict(options)
    connect_args = {"connect_timeout": PG_CONNECT_TIMEOUT, **options.get("connect_args", {})}
    return {"pool_pre_ping": True, **options, "connect_args": connect_args}


def from_environment(instance: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config from environment variables (see README, 'Configuration')."""
    env = os.environ if env is None else env
    instance.mkdir(parents=True, exist_ok=True)
    mode = env.get("ADVOCACY_MODE", "test").strip().lower()
    if mode not in MODES:
        raise ConfigError(f"ADVOCACY_MODE must be 'test' or 'live', not {mode!r}")
    smtp_url = env.get("SMTP_URL", "sink").strip() or "sink"
    test_hosts = {h.strip() for h in env.get("ADVOCACY_TEST_SMTP_HOSTS", "").split(",")} - {""}
    check_mail_safety(mode, smtp_url, test_hosts)
    submit_rate = env.get("ADVOCACY_SUBMIT_RATE", "10/minute;60/hour")
    try:
        parse_many(submit_rate)
    except ValueError:
        raise ConfigError(f"ADVOCACY_SUBMIT_RATE is not a rate such as 10/minute: {submit_rate!r}")\
            from None
    proxies = env.get("ADVOCACY_PROXIES", "0").strip() or "0"
    if not proxies.isdigit():
        raise ConfigError(f"ADVOCACY_PROXIES is a number of proxies in front (0, 1, …),"
                          f" not {proxies!r}")
    ipv6_prefix = _positive_int(env, "ADVOCACY_IPV6_PREFIX", 64)
    if ipv6_prefix > 128:
        raise ConfigError(f"ADVOCACY_IPV6_PREFIX is a prefix length (1 to 128), not {ipv6_prefix}")
    return {
        "SQLALCHEMY_DATABASE_URI": _database_url(env.get("DATABASE_URL"), instance),
        # A database error's message would otherwise carry the statement's values into logs.
        # engine_options adds PostgreSQL's connect timeout and ping before use.
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
        "REDIS_URL": env.get("REDIS_URL") or None,
        "SMTP_URL": smtp_url,
        "ADVOCACY_TEST_SMTP_HOSTS": test_hosts,
        "ADVOCACY_MODE": mode,
        "SECRET_KEY": _secret_key(env.get("ADVOCACY_SECRET_KEY"), instance),
        # Supporters' names, addresses and words are encrypted with these (advocacy/crypto.py).
        "DATA_KEYS": _data_keys(env.get("ADVOCACY_DATA_KEYS"), instance),
        "LOOKUP_KEY": _instance_secret(env.get("ADVOCACY_LOOKUP_KEY"), instance / "lookup_key",
                                       lambda: secrets.token_urlsafe(48)),
        # Days after a submission's last letter is sent (or given up) before its writer's
        # identity and words are scrubbed; counts stay.
        "RETENTION_DAYS": _positive_int(env, "ADVOCACY_RETENTION_DAYS", 30),
        # Replies to relayed letters come to reply+TOKEN@ this domain (the sender's if unset).
        "REPLY_DOMAIN": env.get("ADVOCACY_REPLY_DOMAIN", "").strip().lower(),
        "ADVOCACY_SENDER": env.get("ADVOCACY_SENDER", "letters@localhost"),
        "ADVOCACY_PUBLIC_URL": env.get(
            "ADVOCACY_PUBLIC_URL", f"http://127.0.0.1:{env.get('PORT', '5000')}"
        ).rstrip("/"),
        "QUEUE_NAME": env.get("ADVOCACY_QUEUE", "advocacy"),
        "METRICS_TOKEN": env.get("ADVOCACY_METRICS_TOKEN", ""),
        "OUTBOX_DIR": str(instance / "outbox"),
        # How long a confirmation link stays valid; unconfirmed letters expire with it.
        "CONFIRM_MAX_AGE": 7 * 24 * 3600,
        "LETTERS_PER_JOB": 50,
        # Letters claimed per UPDATE (fewer means more commits: docs/benchmarks.md). A worker
        # killed mid-chunk leaves one of them for review, the one on the wire; the rest are
        # queued again by reconcile.
        "CLAIM_SIZE": 20,
        # A limit that frees up within this many seconds is waited for; longer ones hold.
        "INLINE_WAIT_SECONDS": 2.0,
        "RETRY_BASE_SECONDS": 30.0,
        "RETRY_MAX_SECONDS": 3600.0,
        "MAX_ATTEMPTS": 8,
        # A letter `sending` for longer than this was left by a worker that died. None: as
        # long as a live worker may take over a claim, from the SMTP timeout and CLAIM_SIZE
        # and the job timeout (delivery/reconcile.py, review_wait); tests set a few seconds.
        "STALE_SENDING_SECONDS": None,
        "RECONCILE_EVERY_SECONDS": 60,
        # Days after a submission's last letter was delivered before supporters who asked for
        # it get the one email "did you get a reply?" (delivery.reply_check).
        "REPLY_CHECK_DAYS": _positive_int(env, "ADVOCACY_REPLY_CHECK_DAYS", 14),
        # GET /api/stats and the badge answer from a copy this many seconds old at most.
        "STATS_CACHE_SECONDS": 5,
        "MAX_CONTENT_LENGTH": 64 * 1024,
        # Reverse proxies in front whose X-Forwarded-For/-Proto are trusted (advocacy/serving.py).
        "PROXIES": int(proxies),
        # Under gunicorn, a client silent this long mid-request is dropped.
        "CLIENT_TIMEOUT_SECONDS": 20,
        # Organizers' sessions: not readable by scripts, not sent cross-site, HTTPS-only when the
        # site is served over HTTPS, and over after a working day.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("ADVOCACY_PUBLIC_URL", "").startswith("https://"),
        "PERMANENT_SESSION_LIFETIME": 12 * 3600,
        # Submissions per IP address (form and API alike), counted in Redis.
        "SUBMIT_RATE": submit_rate,
        # The per-IP limits count an IPv6 client by its network of this many bits (a /64 unless
        # ADVOCACY_IPV6_PREFIX says otherwise).
        "IPV6_PREFIX": ipv6_prefix,
        # Emails to one supporter address (confirmations, reminders, data links) in a moving
        # window of the rate's period, whoever typed it in: more submissions are still stored,
        # but mail nothing.
        # A supporter writing to all four bodies and asking for their data fits in it.
        "MAILS_PER_ADDRESS": "6/day",
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_HEADERS_ENABLED": True,
        # If Redis is away, count in memory rather than refuse supporters.
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    }
