"""Structured logs: one JSON object a line, for the worker's own messages.

Messages carry ids and counts only, never a supporter's name, address or words: the fields
of a record are whatever the code passes as `extra={"fields": {...}}`, and the code passes
only those.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__  # the type only: values may be personal
        return json.dumps(entry, default=str)


def configure(level: int = logging.INFO) -> logging.Handler | None:
    """JSON lines on stderr for the `advocacy` loggers, once (a second call adds nothing)."""
    logger = logging.getLogger("advocacy")
    if any(isinstance(h.formatter, JsonLines) for h in logger.handlers):
        return None
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return handler


def quiet_smtp_servers() -> None:
    """aiosmtpd logs each line it receives at DEBUG: letters, replies and addresses. Our SMTP
    servers (the sink, the reply relay) keep their logs to warnings, whatever the root level."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)
