"""/admin: organizers run the campaign. Every route needs a login and a role.

Each view declares its role with `@requires(Role.X)`, or `@public` for the few that come
before a login (log in, the second factor, accepting an invitation); a test walks the URL
map and checks that every admin route does one or the other, and is refused as it should be.
`@requires(Role.PARTNER)` is for partner accounts alone (their own partner's page); every
other route refuses them, but for the account's own (log out, second factor), which say
`partner_accounts=True`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import format_date
from flask_login import current_user

from advocacy.letters.states import organizer_label
from advocacy.models import Organizer, Role
from advocacy.organizers.accounts import may, partner_of

bp = Blueprint("admin", __name__, url_prefix="/admin")
View = TypeVar("View", bound=Callable[..., Any])


def requires(role: Role, partner_accounts: bool = False) -> Callable[[View], View]:
    """Log in first; then the organizer's role must include `role`, else 403. Role.PARTNER
    lets in partner accounts alone; `partner_accounts` lets them in besides `role`."""

    def allowed(organizer: Organizer) -> bool:
        if role == Role.PARTNER or (partner_accounts and organizer.role == Role.PARTNER):
            return partner_of(organizer) is not None
        return may(organizer, role)

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                if request.method == "GET":
                    return redirect(url_for("admin.login", next=request.full_path))
                abort(401)
            if not allowed(current_user.organizer):
                abort(403)
            return view(*args, **kwargs)

        guarded.required_role = role  # type: ignore[attr-defined]  # read by the route test
        guarded.partner_accounts = partner_accounts  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


@bp.context_processor
def _words() -> dict[str, Any]:
    """Letters' states in the organizers' words on every admin page (letters.states)."""
    return {"state_label": organizer_label, "format_date": format_date}


def public(view: View) -> View:
    """A route open before login (and only those: the route test lists them)."""
    view.required_role = None  # type: ignore[attr-defined]
    return view


from advocacy.admin import (  # noqa: E402,F401  # the routes register themselves on bp
    auth,
    campaigns,
    dashboard,
    follow_ups,
    groups,
    letters,
    moderation,
    officials,
    outbox,
    pages,
    partners,
    people,
)
