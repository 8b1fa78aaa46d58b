"""Groups of offices: list them; editors and owners add and edit them."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from advocacy.admin import bp, requires
from advocacy.extensions import db
from advocacy.models import Body, Official, Role
from advocacy.officials import groups as group_rows
from advocacy.officials.files import LANGUAGES
from advocacy.organizers import group_edits
from advocacy.organizers.accounts import may


@bp.get("/groups")
@requires(Role.VIEWER)
def groups() -> Any:
    counts = dict(db.session.execute(select(Official.body_id, func.count(Official.id)).where(
        Official.active.is_(True)).group_by(Official.body_id)).all())
    return render_template("admin/groups.html", groups=group_rows.all_groups(), counts=counts,
                           editor=may(current_user.organizer, Role.EDITOR))


def _form(group: Body | None, form: group_edits.GroupForm, errors: dict[str, str]) -> str:
    return render_template("admin/group_form.html", group=group, values=form.values,
                           chosen_languages=form.languages, errors=errors, languages=LANGUAGES,
                           other_languages=group_edits.OTHER_LANGUAGES)


def _refused(group: Body | None, exc: group_edits.InvalidGroup) -> tuple[str, int]:
    db.session.rollback()
    shown = group_edits.GroupForm(request.form.to_dict(), request.form.getlist("languages"))
    return _form(group, shown, exc.errors), 422


@bp.route("/groups/new", methods=["GET", "POST"])
@requires(Role.EDITOR)
def new_group() -> Any:
    if request.method == "POST":
        try:
            group = group_edits.save_group(current_user.organizer, None, request.form)
        except group_edits.InvalidGroup as exc:
            return _refused(None, exc)
        flash(_("Group %(slug)s added. Add its officials and write its letters; then offer it"
                " on a campaign (Campaigns, settings).", slug=group.slug))
        return redirect(url_for("admin.groups"))
    return _form(None, group_edits.form_of(None), {})


def _group(slug: str) -> Body:
    found: Body = db.first_or_404(select(Body).where(Body.slug == slug))
    return found


@bp.get("/groups/<slug>")
@requires(Role.VIEWER)
def group(slug: str) -> Any:
    found = _group(slug)
    return _form(found, group_edits.form_of(found), {})


@bp.post("/groups/<slug>")
@requires(Role.EDITOR)
def group_save(slug: str) -> Any:
    found = _group(slug)
    try:
        group_edits.save_group(current_user.organizer, found, request.form)
    except group_edits.InvalidGroup as exc:
        return _refused(found, exc)
    flash(_("Saved %(slug)s.", slug=found.slug))
    return redirect(url_for("admin.groups"))
