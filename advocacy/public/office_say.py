"""The office's own page, behind the signed link at the foot of each letter: one daily digest,
a week's pause, or the right address (officials.office_say). No login: the link is the key."""

from __future__ import annotations

from email_validator import EmailNotValidError
from flask import abort, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from advocacy import clock
from advocacy.extensions import db, request_limiter
from advocacy.intake.validation import normalise_email
from advocacy.letters.compose import official_label, page_title
from advocacy.links import ConfirmationError, office_for_token
from advocacy.models import Campaign, Official
from advocacy.officials import office_say
from advocacy.public import Page, bp

NOTE_MAX = 1000


def _office(token: str) -> tuple[Official, Campaign]:
    """The office and campaign a link stands for; else a page saying what is wrong with it."""
    try:
        official_id, campaign_id = office_for_token(token)
    except ConfirmationError as exc:
        abort(make_response(render_template("public/message.html", title=_("Link not valid"),
                                            text=str(exc)), 404))
    official, campaign = db.session.get(Official, official_id), db.session.get(Campaign,
                                                                                campaign_id)
    if official is None or campaign is None:
        abort(404)
    return official, campaign


def _campaign_name(campaign: Campaign) -> str:
    """The campaign's name in the page's language (its page's title), as the letters name it."""
    return page_title(campaign.id, str(get_locale())) or campaign.name


def _page(token: str, official: Official, campaign: Campaign, email: str = "", note: str = "",
          error: str | None = None) -> str:
    return render_template("public/office_say.html", token=token, campaign=campaign,
                           campaign_name=_campaign_name(campaign),
                           office=official_label(official, str(get_locale())),
                           official=official, email=email, note=note, error=error,
                           now=clock.now())


@bp.get("/office/<token>")
@request_limiter.limit("60/minute")
def office_say_page(token: str) -> str:
    official, campaign = _office(token)
    return _page(token, official, campaign)


def _choice_rate() -> str:
    """Choices per client: an office makes one now and then; more is someone playing."""
    return str(current_app.config.get("OFFICE_SAY_RATE", "10/hour"))


@bp.post("/office/<token>")
@request_limiter.limit(_choice_rate)
def office_say_choose(token: str) -> Page | BaseResponse:
    official, campaign = _office(token)
    choice = request.form.get("choice")
    if choice == "digest":
        office_say.ask_digest(official, campaign.id)
    elif choice == "pause":
        office_say.pause_for_a_week(official, campaign.id)
    elif choice == "address":
        typed = request.form.get("email", "")[:320].strip()
        note = request.form.get("note", "")[:NOTE_MAX].strip()
        try:
            address = normalise_email(typed)
        except EmailNotValidError:
            return _page(token, official, campaign, typed, note,
                         _("This is not a valid email address.")), 422
        office_say.propose_address(official, campaign.id, address, note)
    else:
        abort(400)
    return redirect(url_for("public.office_say_done", token=token, choice=choice,
                            lang=get_locale()), 303)


@bp.get("/office/<token>/done")
def office_say_done(token: str) -> str:
    official, campaign = _office(token)
    texts = {
        "digest": _("From now on, these letters reach you as one email a day."),
        "pause": _("No letters will reach you for a week. They wait, and come after that."),
        "address": _("We keep sending to the current address until one of our"
                     " organizers has checked the new one."),
    }
    choice = request.args.get("choice", "")
    text = texts.get(choice)
    if text is None:
        abort(404)
    return render_template("public/office_say_done.html", text=text, campaign=campaign,
                           token=token, choice=choice,
                           campaign_name=_campaign_name(campaign),
                           office=official_label(official, str(get_locale())))
