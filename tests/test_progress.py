"""Progress bars of the long commands: on stderr on a terminal or when asked, never on stdout."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from advocacy.reporting.rollup import roll_up

from helpers import NOW, seed_queued, send, worker_env

BAR = re.compile(r"\[#+\]  100%")  # click's bar, drawn to its end


def run(runner: Any, *args: str) -> Any:
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize(("command", "label"), [
    (["export-letters", "-o", "{out}/letters.csv"], "Sent letters"),
    (["export", "--targets-dir", "{out}/t", "--templates-dir", "{out}/l"], "Writing files"),
    (["reconcile"], "Reconciling"),
])
def test_a_long_command_draws_its_bar_on_stderr_when_asked(
    app: Any, runner: Any, tmp_path: Path, command: list[str], label: str
) -> None:
    send(seed_queued(2, "un"), NOW - timedelta(days=1))
    roll_up()  # so that reconcile has the same to say each time
    out = tmp_path / "out"
    out.mkdir()
    args = [arg.format(out=out) for arg in command]

    def written() -> list[tuple[Path, bytes]]:
        return sorted((p.relative_to(out), p.read_bytes()) for p in out.rglob("*") if p.is_file())

    quiet = run(runner, *args)  # the runner's stderr is no terminal: no bar
    files = written()
    loud = run(runner, *args, "--progress")
    assert quiet.stderr == "" and quiet.stdout.strip()
    assert loud.stdout == quiet.stdout  # the output scripts read is the same
    assert loud.stderr.count(label) > 1 and BAR.search(loud.stderr), loud.stderr
    assert written() == files
    assert run(runner, *args, "--no-progress").stderr == ""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_bar_shows_by_itself_when_stderr_is_a_terminal(
    app: Any, sink: Any, tmp_path: Path
) -> None:
    send(seed_queued(3, "un"), NOW - timedelta(days=1))
    out = tmp_path / "letters.csv"
    terminal, stderr = pty.openpty()
    try:
        done = subprocess.run(  # noqa: S603  # this interpreter, fixed arguments
            [sys.executable, "-m", "advocacy", "export-letters", "-o", str(out)],
            env=worker_env(app, sink.url, tmp_path), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=stderr, timeout=60, check=False)
    finally:
        os.close(stderr)
    shown = b""
    while True:
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # the other end is closed: all is read
            break
        if not chunk:
            break
        shown += chunk
    os.close(terminal)
    assert done.returncode == 0, shown
    assert done.stdout.decode() == f"6 letters written to {out}\n"
    assert b"Sent letters" in shown and BAR.search(shown.decode()), shown
