"""What one check found: its status and, unless it is ok, what to fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Check:
    name: str    # what was checked: "spf", "dkim", "dmarc", "relay-tls", …
    status: str  # ok, warn or fail
    found: str   # what the check saw, in one sentence
    fix: str = ""  # what to do about it, in one sentence; empty when ok

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def failed(checks: list[Check]) -> bool:
    return any(check.status == FAIL for check in checks)


def as_text(checks: list[Check]) -> str:
    """One line per check, its fix indented below it."""
    width = max((len(check.name) for check in checks), default=0)
    lines = []
    for check in checks:
        lines.append(f"{check.status:<4}  {check.name:<{width}}  {check.found}")
        if check.fix:
            lines.append(f"{'':<4}  {'':<{width}}  fix: {check.fix}")
    return "\n".join(lines)
