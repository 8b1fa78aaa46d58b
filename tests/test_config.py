"""Configuration from the environment: documented defaults, refusals that keep mail local."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from advocacy.config import ConfigError, engine_options, from_environment


def test_defaults_are_local_and_safe(tmp_path: Path) -> None:
    cfg = from_environment(tmp_path, {})
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'advocacy.db'}"
    assert cfg["REDIS_URL"] is None  # the embedded Redis
    assert cfg["SMTP_URL"] == "sink" and cfg["ADVOCACY_MODE"] == "test"
    assert cfg["ADVOCACY_SENDER"] == "letters@localhost"
    assert cfg["OUTBOX_DIR"] == str(tmp_path / "outbox")


def test_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = from_environment(tmp_path, {})["SECRET_KEY"]
    assert len(first) >= 40
    assert from_environment(tmp_path, {})["SECRET_KEY"] == first
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert from_environment(tmp_path, {"ADVOCACY_SECRET_KEY": "given"})["SECRET_KEY"] == "given"


def test_data_keys_are_generated_once_kept_private_and_checked(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    first = from_environment(tmp_path, {})
    assert len(first["DATA_KEYS"]) == 1 and first["LOOKUP_KEY"]
    again = from_environment(tmp_path, {})
    assert (again["DATA_KEYS"], again["LOOKUP_KEY"]) == (first["DATA_KEYS"], first["LOOKUP_KEY"])
    for name in ("data_keys", "lookup_key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    new, old = Fernet.generate_key().decode(), first["DATA_KEYS"][0]
    given = from_environment(tmp_path, {"ADVOCACY_DATA_KEYS": f" {new} , {old}"})
    assert given["DATA_KEYS"] == [new, old]
    with pytest.raises(ConfigError, match="key 2 is not a Fernet key"):
        from_environment(tmp_path, {"ADVOCACY_DATA_KEYS": f"{new},not-a-key"})
    assert from_environment(tmp_path, {})["RETENTION_DAYS"] == 30
    assert from_environment(tmp_path, {"ADVOCACY_RETENTION_DAYS": "90"})["RETENTION_DAYS"] == 90
    for bad in ("0", "-1", "thirty"):
        with pytest.raises(ConfigError, match="ADVOCACY_RETENTION_DAYS"):
            from_environment(tmp_path, {"ADVOCACY_RETENTION_DAYS": bad})
    assert from_environment(tmp_path, {})["REPLY_CHECK_DAYS"] == 14
    assert from_environment(tmp_path, {"ADVOCACY_REPLY_CHECK_DAYS": "7"})["REPLY_CHECK_DAYS"] == 7
    with pytest.raises(ConfigError, match="ADVOCACY_REPLY_CHECK_DAYS"):
        from_environment(tmp_path, {"ADVOCACY_REPLY_CHECK_DAYS": "0"})


@pytest.mark.parametrize(
    ("given", "expected"),
    [("postgres://u:p@db/advocacy", "postgresql+psycopg://u:p@db/advocacy"),
     ("postgresql://u@db/a", "postgresql+psycopg://u@db/a"),
     ("postgresql+psycopg://u@db/a", "postgresql+psycopg://u@db/a"),
     ("sqlite:////srv/a.db", "sqlite:////srv/a.db")],
)
def test_database_url(tmp_path: Path, given: str, expected: str) -> None:
    cfg = from_environment(tmp_path, {"DATABASE_URL": given})
    assert cfg["SQLALCHEMY_DATABASE_URI"] == expected


def test_environment_values_are_used(tmp_path: Path) -> None:
    cfg = from_environment(tmp_path, {
        "REDIS_URL": "redis://cache:6379/2", "ADVOCACY_MODE": "live",
        "SMTP_URL": "smtp://user:pw@relay.example.org:587?starttls=1",
        "ADVOCACY_SENDER": "letters@freeazat.example",
    })
    assert cfg["REDIS_URL"] == "redis://cache:6379/2" and cfg["ADVOCACY_MODE"] == "live"
    assert cfg["SMTP_URL"].startswith("smtp://user:pw@relay")


def test_unknown_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ADVOCACY_MODE"):
        from_environment(tmp_path, {"ADVOCACY_MODE": "production"})


@pytest.mark.parametrize("url", ["smtp://relay.example.org:587", "smtps://u:p@10.0.0.5"])
def test_test_mode_never_sends_beyond_a_local_catcher(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="only to a local sink"):
        from_environment(tmp_path, {"SMTP_URL": url})


def test_test_mode_accepts_loopback_and_named_catchers(tmp_path: Path) -> None:
    assert from_environment(tmp_path, {"SMTP_URL": "smtp://127.0.0.1:1025"})["SMTP_URL"]
    named = {"SMTP_URL": "smtp://mailcatcher:1025", "ADVOCACY_TEST_SMTP_HOSTS": "mailcatcher"}
    assert from_environment(tmp_path, named)["SMTP_URL"] == "smtp://mailcatcher:1025"


def test_smtp_url_scheme_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SMTP_URL must be"):
        from_environment(tmp_path, {"SMTP_URL": "http://127.0.0.1"})


def test_submit_rate_is_checked(tmp_path: Path) -> None:
    assert from_environment(tmp_path, {"ADVOCACY_SUBMIT_RATE": "5/minute"})["SUBMIT_RATE"]
    with pytest.raises(ConfigError, match="ADVOCACY_SUBMIT_RATE"):
        from_environment(tmp_path, {"ADVOCACY_SUBMIT_RATE": "lots"})


def test_only_postgresql_connections_are_pinged_and_time_out() -> None:
    """A server can restart under a pool; a SQLite file cannot (a ping would cost a statement
    on every request)."""
    base = {"hide_parameters": True}
    pg = engine_options("postgresql+psycopg://postgres@127.0.0.1/x", base)
    assert pg["pool_pre_ping"] is True and pg["connect_args"]["connect_timeout"] > 0
    assert engine_options("sqlite:///x.db", base) == base
    assert engine_options("postgresql+psycopg://h/x", {"pool_pre_ping": False})[
        "pool_pre_ping"] is False  # an explicit choice stands
