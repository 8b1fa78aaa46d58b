"""Structured logs: one JSON object a line, for the worker's own messages; and no link's
secret in any log.

Messages carry ids and counts only, never a supporter's name, address or words: the fields
of a record are whatever the code passes as `extra={"fields": {...}}`, and the code passes
only those.

A signed link is a key: whoever holds `/status/<token>` or `/my-data/<token>` sees a
supporter's letters or data. The web servers' logs (gunicorn's access and error logs, the
development server's request lines, Flask's "Exception on <path>") print paths, so every
log that may carry one passes through RedactTokens, which cuts the token out.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

REDACTED = "[redacted]"
# The paths whose last part is a secret (every `<token>` route: tests/test_links.py checks
# the app's URL map against this list), whatever follows them (`/my-data/<token>/download`).
TOKEN_PATHS = ("confirm", "status", "my-data", "invitation", "resend", "reply-answer")
_TOKEN_IN_PATH = re.compile(
    r"(/(?:" + "|".join(map(re.escape, TOKEN_PATHS)) + r")/)[^/?#\s\"']+", re.IGNORECASE)
# And anything shaped like an itsdangerous signed token (payload.timestamp.signature, the
# signature 27 characters or more), wherever it stands: a Referer, an error's text.
_SIGNED = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{27,}")


def redact(text: str) -> str:
    """The text with every link's token replaced by [redacted]."""
    return _SIGNED.sub(REDACTED, _TOKEN_IN_PATH.sub(rf"\1{REDACTED}", text))


class RedactTokens(logging.Filter):
    """Cuts links' tokens out of a record's message and its traceback, before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def keep_tokens_out(*loggers: logging.Logger) -> None:
    """Redact tokens in everything these loggers are given (once per logger)."""
    for logger in loggers:
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
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
