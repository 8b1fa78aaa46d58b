"""/admin: organizers run the campaign. Every route needs a login and a role.

Each view declares its role with `@requires(Role.X)`, or `@public` for the few that come
before a login (log in, the second factor, a forgotten password, accepting an invitation);
a test walks the URL map and checks that every admin route does one or the other, and is
refused as it should be.
`@requires(Role.PARTNER)` is for partner accounts alone (their own partner's page); every
other route refuses them, but for the account's own (log out, second factor), which say
`partner_accounts=True`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from babel import UnknownLocaleError
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape

from advocacy.admin import reasons
from advocacy.letters.states import organizer_label
from advocacy.models import Body, Organizer, Role
from advocacy.officials import choices
from advocacy.officials.groups import group_name, language_name
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


def _language() -> str:
    return str(get_locale() or "en")


def group_label(group: Body) -> str:
    """A group's name in the organizer's language, where the group has one."""
    return group_name(group, _language())


def language_label(code: str) -> str:
    """A language's name in the organizer's language, as a label ("Englisch", "Anglais")."""
    return choices.language_name(code, _language())


def language_word(code: str) -> str:
    """A language's name as a sentence has it ("anglais" in French); the code if unknown."""
    try:
        return language_name(code, _language())
    except (UnknownLocaleError, ValueError):
        return code


def role_label(role: str) -> str:
    """An account's role in the organizer's language."""
    return str({"owner": _("owner"), "editor": _("editor"), "viewer": _("viewer"),
                "partner": _("partner")}.get(role, role))


def reason_html(note: str | None) -> Markup:
    """Delivery's note on a letter (its last_error) in the organizer's words, its detail
    (the relay's own words) after it, small; a note of no known kind as it is, escaped."""
    found = reasons.read(note)
    if found is None:
        return Markup("")
    if not found.sentence or not found.detail:
        return escape(found.sentence or found.detail)
    return Markup('{} <small class="reason-detail">{}</small>').format(found.sentence,
                                                                        found.detail)


def reason_text(note: str | None) -> str:
    """The same as plain text, for a note quoted inside a sentence of the page."""
    found = reasons.read(note)
    return "" if found is None else " ".join(filter(None, (found.sentence, found.detail)))


# Also as filters, for a list of codes: `g.languages | map("language_word") | join(", ")`.
bp.add_app_template_filter(language_label, "language_label")
bp.add_app_template_filter(language_word, "language_word")
bp.add_app_template_filter(reason_html, "reason")
bp.add_app_template_filter(reason_text, "reason_text")


@bp.context_processor
def _words() -> dict[str, Any]:
    """Letters' states in the organizers' words on every admin page (letters.states), and
    groups and languages named in the organizer's language."""
    return {"state_label": organizer_label, "format_date": format_date,
            "group_label": group_label, "language_label": language_label,
            "language_word": language_word, "role_label": role_label}


@bp.errorhandler(403)
def _not_for_this_role(exc: Exception) -> Any:
    """Refused by `requires`: said in the organizer's words, not Werkzeug's English."""
    return render_template(
        "admin/message.html", title=_("Not for your role"),
        text=_("Your account's role does not open this page or do this action. An owner of"
               " the campaign can change roles, under Organizers.")), 403


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
    password,
    people,
)
