"""docs/operations.md names only commands, make targets and variables that exist."""

from __future__ import annotations

import re

from advocacy.cli import COMMANDS
from advocacy.config import ENVIRONMENT_VARIABLES

from helpers import ROOT

DOC = (ROOT / "docs" / "operations.md").read_text()
GUNICORNS_OWN = {"WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "POSTGRES_PASSWORD"}


def test_every_advocacy_command_exists() -> None:
    named = set(re.findall(r"(?:`|--rm web )advocacy ([a-z][a-z-]+)", DOC))
    known = {command.name for command in COMMANDS}
    assert named and named <= known, named - known


def test_every_make_target_exists() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"`make ([a-z]+)`", DOC))
    assert targets, "no `make target` found in docs/operations.md"
    for target in targets:
        assert re.search(rf"^{target}:", makefile, re.M), target


def test_every_variable_is_read_by_the_app_or_its_servers() -> None:
    named = set(re.findall(r"\b((?:ADVOCACY|SMTP|REDIS|DATABASE|WEB|GUNICORN|POSTGRES)_[A-Z0-9_]+)",
                           DOC))
    known = set(ENVIRONMENT_VARIABLES) | GUNICORNS_OWN
    assert named and named <= known, named - known


def test_every_file_it_points_to_exists() -> None:
    paths = set(re.findall(r"`((?:advocacy|docs|tests)/[\w/.]+\.\w+)`", DOC))
    assert paths, "no `advocacy/…`, `docs/…` or `tests/…` file found in docs/operations.md"
    for path in paths:
        assert (ROOT / path).exists(), path
