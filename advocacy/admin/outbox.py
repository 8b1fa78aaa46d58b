"""Before going live: the outbox of test mode, and what live mode will hold back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import abort, current_app, render_template

from advocacy.admin import bp, requires
from advocacy.delivery import outbox
from advocacy.models import Role


def _folder() -> Path:
    return Path(current_app.config["OUTBOX_DIR"])


def _site() -> str:
    return str(current_app.config["ADVOCACY_PUBLIC_URL"])


# Editors and owners: the outbox shows supporters' names and addresses (its links masked).
@bp.get("/outbox")
@requires(Role.EDITOR)
def outbox_list() -> Any:
    return render_template("admin/outbox.html", messages=outbox.newest(_folder(), _site()),
                           mode=current_app.config["ADVOCACY_MODE"],
                           smtp=current_app.config["SMTP_URL"], hidden=outbox.HIDDEN)


@bp.get("/outbox/<name>")
@requires(Role.EDITOR)
def outbox_message(name: str) -> Any:
    found = outbox.read(_folder(), name, _site())
    if found is None:
        abort(404)
    headers, text = found
    return render_template("admin/outbox_message.html", headers=headers, text=text,
                           hidden=outbox.HIDDEN)


@bp.get("/live")
@requires(Role.OWNER)
def going_live() -> Any:
    """The checklist: unverified officials first (live mode holds their letters), then how."""
    return render_template("admin/live.html", unverified=outbox.unverified_officials(),
                           mode=current_app.config["ADVOCACY_MODE"])
