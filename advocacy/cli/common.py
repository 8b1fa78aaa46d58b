"""What the command groups share: JSON output, waiting for Ctrl-C."""

from __future__ import annotations

import json
from typing import Any

import click


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def until_interrupted() -> None:
    """Keep a server thread's process alive until Ctrl-C (or SIGINT)."""
    import time

    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
