"""/admin: organizers run the campaign. Every route needs a login and a role.

Each view declares its role with `@requires(Role.X)`, or `@public` for the few that come
before a login (log in, the second factor, accepting an invitation); a test walks the URL
map and checks that every admin route does one or the other, and is refused as it should be.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user

from advocacy.models import Role
from advocacy.organizers.accounts import may

bp = Blueprint("admin", __name__, url_prefix="/admin")
View = TypeVar("View", bound=Callable[..., Any])


def requires(role: Role) -> Callable[[View], View]:
    """Log in first; then the organizer's role must include `role`, else 403."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                if request.method == "GET":
                    return redirect(url_for("admin.login", next=request.full_path))
                abort(401)
            if not may(current_user.organizer, role):
                abort(403)
            return view(*args, **kwargs)

        guarded.required_role = role  # type: ignore[attr-defined]  # read by the route test
        return guarded  # type: ignore[return-value]

    return decorate


def public(view: View) -> View:
    """A route open before login (and only those: the route test lists them)."""
    view.required_role = None  # type: ignore[attr-defined]
    return view


from advocacy.admin import (  # noqa: E402,F401  # the routes register themselves on bp
    auth,
    campaigns,
    dashboard,
    groups,
    letters,
    moderation,
    officials,
    outbox,
    pages,
    people,
)
