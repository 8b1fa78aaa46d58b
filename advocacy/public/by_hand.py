"""Offices that take no email: the supporter sends the letter themselves, through the office's
web contact form (the letter ready to copy) or by post (a printable letter), and says so.

Like own mail (intake/own_mail.py): nothing the supporter typed is kept; "I sent it" counts
the office, the channel, the language and the partner, no more."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from advocacy import clock
from advocacy.extensions import csrf, db, request_limiter
from advocacy.guards import checks_nul_itself
from advocacy.intake import own_mail
from advocacy.intake.validation import valid_ref
from advocacy.letters.compose import official_label
from advocacy.models import BY_HAND_CHANNELS, Official
from advocacy.officials.channels import address_lines, by_hand
from advocacy.officials.choose import writable
from advocacy.officials.files import LANGUAGES
from advocacy.public import _form_campaign, _placeholders, bp, embeddable, letter_form


def _office(channel: str, key: str) -> Official:
    """The office a supporter reaches by hand on this channel; 400 for any other."""
    official = db.session.scalar(select(Official).where(Official.key == key, *writable()))
    if channel not in BY_HAND_CHANNELS or official is None or channel not in by_hand(official):
        abort(400, _("Choose an office that takes letters by its contact form or by post."))
    return official


@bp.post("/by-hand")
@embeddable
@checks_nul_itself
@csrf.exempt  # type: ignore[untyped-decorator]  # shows a letter; nothing is sent or kept
@request_limiter.limit("60/minute")
def by_hand_page() -> Any:
    """The letter to one office, with the supporter's words: to paste into its contact form,
    or to print and post."""
    campaign = _form_campaign()
    values = letter_form.with_defaults(request.form)
    channel, _sep, key = values.get("by_hand", "").partition(":")
    official = _office(channel, key)
    # The letter of the office's own group: the page lists the offices of every group ticked,
    # whichever one the preview shows.
    values["body"] = official.body.slug
    if official.body.by_country:
        values["country"] = official.country or ""
    letter = letter_form.letter_to(campaign, values, key, _placeholders())
    if letter is None:
        abort(400, _("This official does not receive letters of this body."))
    language = values.get("language", "en")
    # What the supporter has not filled in yet stands in the letter as "[your city]"...: say
    # so before they paste or print it.
    gaps = [mark for mark in _placeholders().values() if mark in letter["letter"].body]
    return render_template(
        "public/by_hand.html", campaign=campaign, channel=channel, official=official,
        label=official_label(official, str(get_locale() or "en")),
        letter=letter["letter"], language=language, ref=values.get("ref", ""), gaps=gaps,
        address=address_lines(official.postal_address),
        date=format_date(clock.now().date(), format="long"),
        embed=request.form.get("embed") == "1")


@bp.post("/by-hand/sent")
@embeddable
@checks_nul_itself
@csrf.exempt  # type: ignore[untyped-decorator]  # a counted click; nothing is sent or kept
@request_limiter.limit("60/minute")
def by_hand_sent() -> Any:
    """The supporter says they sent it (or posted it): counted apart, nothing personal."""
    campaign = _form_campaign()
    channel, key = request.form.get("channel", ""), request.form.get("key", "")
    official = _office(channel, key)
    ref = request.form.get("ref") or None
    language = request.form.get("language", "")
    own_mail.record(campaign, official, channel, language if language in LANGUAGES else "en",
                    ref if valid_ref(ref) else None)
    return render_template(
        "public/message.html", title=_("Thank you"),
        text=_("Your letter to %(office)s is counted. Nothing you typed was kept.",
               office=official_label(official, str(get_locale() or "en"))))
