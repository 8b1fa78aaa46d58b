"""Changes between two versions as people read them: side by side, word by word.

A unified diff ("@@ -1,4 +1,23 @@", whole lines marked + and -) is written for programs; an
organizer wants to see which words changed. Lines are paired first (difflib's SequenceMatcher
over lines), then each changed pair is compared word by word. difflib is the standard
library's and does both; no other library is needed for texts of a few thousand words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

Mark = Literal["", "ins", "del"]
Part = tuple[Mark, str]  # a run of text: unchanged (""), inserted or deleted
CONTEXT = 1  # unchanged lines shown around a change
_TOKENS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Row:
    """One line of the side-by-side view: the line before (None where it did not exist) and
    after (None where it no longer does); `gap` stands for unchanged lines left out."""

    before: tuple[Part, ...] | None
    after: tuple[Part, ...] | None
    changed: bool = True
    gap: bool = False


def _words(line: str) -> list[str]:
    """Words and the blank space between them, so that joined they are the line again."""
    return _TOKENS.findall(line)


def _join(parts: list[Part]) -> tuple[Part, ...]:
    """Neighbouring runs with the same mark made one."""
    joined: list[Part] = []
    for mark, text in parts:
        if joined and joined[-1][0] == mark:
            joined[-1] = (mark, joined[-1][1] + text)
        elif text:
            joined.append((mark, text))
    return tuple(joined)


def word_pair(before: str, after: str) -> tuple[tuple[Part, ...], tuple[Part, ...]]:
    """Two versions of a line, each as runs: words only before marked "del", only after "ins"."""
    old, new = _words(before), _words(after)
    left: list[Part] = []
    right: list[Part] = []
    opcodes = SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    for n, (op, i1, i2, j1, j2) in enumerate(opcodes):
        # A space alone between two changes is part of them: "Yours sincerely" -> "With
        # respect" reads as one change, not two words and a space kept.
        between = 0 < n < len(opcodes) - 1
        if op == "equal" and not (between and not "".join(old[i1:i2]).strip()):
            left.append(("", "".join(old[i1:i2])))
            right.append(("", "".join(new[j1:j2])))
            continue
        left.append(("del", "".join(old[i1:i2])))
        right.append(("ins", "".join(new[j1:j2])))
    return _join(left), _join(right)


def side_by_side(before: list[str], after: list[str], context: int = CONTEXT) -> list[Row]:
    """The rows that show how `after` differs from `before`, with a little unchanged context."""
    rows: list[Row] = []
    opcodes = SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
    for n, (op, i1, i2, j1, j2) in enumerate(opcodes):
        if op == "equal":
            same = before[i1:i2]
            head = same[:context] if n > 0 else []
            tail = same[-context:] if n < len(opcodes) - 1 and context else []
            if len(head) + len(tail) >= len(same):
                head, tail = same, []
            rows += [Row((("", line),), (("", line),), changed=False) for line in head]
            if len(head) + len(tail) < len(same):
                rows.append(Row(None, None, changed=False, gap=True))
            rows += [Row((("", line),), (("", line),), changed=False) for line in tail]
            continue
        old, new = before[i1:i2], after[j1:j2]
        for k in range(max(len(old), len(new))):
            if k < len(old) and k < len(new):
                rows.append(Row(*word_pair(old[k], new[k])))
            elif k < len(old):
                rows.append(Row((("del", old[k]),) if old[k] else (), None))
            else:
                rows.append(Row(None, (("ins", new[k]),) if new[k] else ()))
    if rows and rows[0].gap:
        rows.pop(0)
    return rows
