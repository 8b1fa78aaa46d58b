"""Secrets and supporters' data on disk are the server user's alone: started for real (SQLite,
the embedded Redis, the local sink's outbox), every file 0600 and every folder 0700, even
under the usual umask 022; what an older version left open is closed on start; the command
line's export too."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from advocacy import create_app

from helpers import ROOT

# What `advocacy run` does on a fresh machine: the SQLite file in instance/, the embedded
# Redis saving its dump there, and the sink keeping each email, under a umask of 022.
START = """
import os, smtplib
from pathlib import Path
os.umask(0o022)
from advocacy import create_app
from advocacy.extensions import db
from advocacy.connections import get_redis, redis_url, stop_embedded_redis
from advocacy.delivery.sink import process_sink
app = create_app()
with app.app_context():
    db.create_all()
    redis_url(app)
    get_redis().set("advocacy-test", "1")
    get_redis().save()
    with smtplib.SMTP("127.0.0.1", process_sink(Path(app.config["OUTBOX_DIR"])).port) as smtp:
        smtp.sendmail("letters@localhost", ["someone@example.org"],
                      b"Subject: confirm\\r\\n\\r\\nhttp://127.0.0.1/confirm/secret\\r\\n")
    stop_embedded_redis()
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def everything_in(folder: Path) -> Iterator[Path]:
    yield folder
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            yield Path(root) / name


def test_a_fresh_start_writes_nothing_others_can_read(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    env = {"PATH": "/usr/bin:/bin", "ADVOCACY_INSTANCE_PATH": str(instance), "SMTP_URL": "sink",
           "ADVOCACY_QUEUE": "instance-files"}
    subprocess.run([sys.executable, "-c", START], env=env, cwd=ROOT, check=True, timeout=120)
    made = {path.relative_to(instance).as_posix(): mode(path)
            for path in everything_in(instance)}
    for name in ("secret_key", "data_keys", "lookup_key", "advocacy.db", "redis/advocacy.rdb"):
        assert made.get(name) == 0o600, (name, made)
    assert made["."] == made["redis"] == made["outbox"] == 0o700, made
    emails = [name for name in made if name.startswith("outbox/") and name.endswith(".eml")]
    assert len(emails) == 1 and made[emails[0]] == 0o600, made
    assert all(not m & 0o077 for m in made.values()), made


def test_what_an_older_version_left_open_is_closed_on_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    instance = tmp_path / "instance"
    (instance / "redis").mkdir(parents=True)
    (instance / "outbox").mkdir()
    files = {"secret_key": "an old secret key", "advocacy.db": "", "advocacy.db-wal": "",
             "redis/advocacy.rdb": "", "outbox/20261201T000000.000000-abcdef01.eml": "To: x\n"}
    for name, text in files.items():
        (instance / name).write_text(text)
    for path in everything_in(instance):
        path.chmod(0o755 if path.is_dir() else 0o644)
    elsewhere = tmp_path / "not-ours.txt"  # a link out of the folder is not followed
    elsewhere.write_text("")
    elsewhere.chmod(0o644)
    (instance / "outbox" / "link.eml").symlink_to(elsewhere)
    monkeypatch.setenv("ADVOCACY_INSTANCE_PATH", str(instance))
    app = create_app({"TESTING": True})
    assert app.config["SECRET_KEY"] == "an old secret key"
    for path in everything_in(instance):
        if not path.is_symlink():
            assert mode(path) == (0o700 if path.is_dir() else 0o600), path
    assert mode(elsewhere) == 0o644


def test_the_command_lines_export_is_the_owners_alone(app: Any, runner: Any,
                                                      tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        fresh, older = tmp_path / "fresh.csv", tmp_path / "older.csv"
        older.write_text("")
        older.chmod(0o644)
        for out in (fresh, older):
            result = runner.invoke(args=["export-letters", "-o", str(out)])
            assert result.exit_code == 0, result.output
            assert mode(out) == 0o600 and out.read_text().startswith('"letter"')
    finally:
        os.umask(previous)
