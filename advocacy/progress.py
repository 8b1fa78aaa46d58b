"""Progress bars for the long commands (init, export, export-letters, reconcile), on stderr.

Shown when stderr is a terminal, or when asked for with --progress (then drawn as on a
terminal, wherever stderr goes, like `pv -f`); hidden with --no-progress, and otherwise, so
scripts, cron mail and tests see only the command's own output on stdout. The bar is
click's (it comes with Flask). The work reports its steps through an `Advance`, so the
functions behind the commands know nothing of terminals.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TextIO, TypeVar, cast

import click

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

# Called with how many steps were done since its last call.
Advance = Callable[[int], object]
T = TypeVar("T")

option = click.option(
    "--progress/--no-progress", "progress", default=None,
    help="Show a progress bar on stderr (default: only when stderr is a terminal).")


def nothing(steps: int) -> None:
    """An Advance for callers that show no progress."""


def counted(items: Iterable[T], advance: Advance) -> Iterator[T]:
    """The items, one step reported as each is done with (when the next is asked for)."""
    for item in items:
        yield item
        advance(1)


class _Terminal:
    """A stream said to be a terminal, so that click draws the bar on it when asked to."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return True


def bar(length: int, label: str, shown: bool | None) -> ProgressBar[int]:
    """click's progress bar over `length` steps; `shown` None: when stderr is a terminal."""
    stream = sys.stderr
    if shown is None:
        shown = stream.isatty()
    return click.progressbar(length=length, label=label, hidden=not shown,
                             file=cast(TextIO, _Terminal(stream)) if shown else stream)
