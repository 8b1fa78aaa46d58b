"""The admin's sentences about letters released, kept back or cancelled: counted with Babel's
ngettext (one letter, 2 letters; Russian's three forms), and with the reason a letter still
waits in the organizers' words."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_babel import gettext as _
from flask_babel import ngettext

from advocacy.organizers.follow_ups import Office
from advocacy.organizers.holds import Blocker


def released(n: int) -> str:
    if n == 0:
        return str(_("No letter was released."))
    return str(
        ngettext(
            "%(num)d letter released: it goes out within the office's hours and limits.",
            "%(num)d letters released: they go out within the offices' hours and limits.",
            n,
        )
    )


def cancelled(n: int) -> str:
    return str(ngettext("%(num)d letter cancelled.", "%(num)d letters cancelled.", n))


def retried(n: int) -> str:
    return str(ngettext("%(num)d letter queued again.", "%(num)d letters queued again.", n))


def kept(blocker: str, n: int) -> str:
    """Why n letters still wait, and what to do about it."""
    if blocker == Blocker.CAMPAIGN_PAUSED:
        return str(
            ngettext(
                "%(num)d letter still waits: its campaign is paused. Resume the"
                " campaign to send it.",
                "%(num)d letters still wait: their campaign is paused."
                " Resume the campaign to send them.",
                n,
            )
        )
    if blocker == Blocker.OFFICE_PAUSED:
        return str(
            ngettext(
                "%(num)d letter still waits: its office is paused. Resume the office on"
                " its page to send it.",
                "%(num)d letters still wait: their office is"
                " paused. Resume the office on its page to send them.",
                n,
            )
        )
    if blocker == Blocker.OFFICE_INACTIVE:
        return str(
            ngettext(
                "%(num)d letter still waits: its office is inactive.",
                "%(num)d letters still wait: their office is inactive.",
                n,
            )
        )
    if blocker == Blocker.UNVERIFIED:
        return str(
            ngettext(
                "%(num)d letter still waits: its office's address is not verified."
                " Verify it on the office's page first.",
                "%(num)d letters still wait:"
                " their office's address is not verified. Verify it on the office's"
                " page first.",
                n,
            )
        )
    return str(
        ngettext(
            "%(num)d letter still waits: its office's address bounced. Correct the address first.",
            "%(num)d letters still wait: their office's address"
            " bounced. Correct the address first.",
            n,
        )
    )


def kept_all(counts: dict[str, int]) -> list[str]:
    return [kept(blocker, n) for blocker, n in counts.items()]


def follow_ups_kept(o: Office) -> str:
    """Why an office's chosen follow-ups were not released, and what to do first."""
    n, office = o.letters, o.office
    if o.blocker == Blocker.CAMPAIGN_PAUSED:
        return str(ngettext(
            "Not released: the campaign is paused, so %(num)d follow-up letter to %(office)s would"
            " only be held again. Resume the campaign first, then release it.",
            "Not released: the campaign is paused, so the %(num)d follow-up letters to"
            " %(office)s would only be held again. Resume the campaign first, then release"
            " them.", n, office=office))
    if o.blocker == Blocker.OFFICE_PAUSED:
        return str(ngettext(
            "Not released: %(office)s is paused, so %(num)d follow-up letter to it would only be"
            " held again. Resume the office on its page first, then release the letter.",
            "Not released: %(office)s is paused, so its %(num)d follow-up letters would only"
            " be held again. Resume the office on its page first, then release them.",
            n, office=office))
    if o.blocker == Blocker.UNVERIFIED:
        return str(ngettext(
            "Not released: the address of %(office)s is not verified, so %(num)d follow-up letter"
            " to it would only be held again. Verify the address on the office's page first, then"
            " release the letter.",
            "Not released: the address of %(office)s is not verified, so its %(num)d"
            " follow-up letters would only be held again. Verify it on the office's page"
            " first, then release them.", n, office=office))
    if o.blocker == Blocker.BOUNCED:
        return str(ngettext(
            "Not released: the address of %(office)s bounced, so %(num)d follow-up letter to it"
            " would only be held again. Correct the address on the office's page first, then"
            " release the letter.",
            "Not released: the address of %(office)s bounced, so its %(num)d follow-up"
            " letters would only be held again. Correct the address on the office's page"
            " first, then release them.", n, office=office))
    if o.blocker == Blocker.NO_ADDRESS:
        return str(ngettext(
            "Not released: %(office)s has no email address, so %(num)d follow-up letter to it"
            " cannot go. Give the office an address on its page first, or cancel the letter.",
            "Not released: %(office)s has no email address, so its %(num)d follow-up letters"
            " cannot go. Give the office an address on its page first, or cancel them.",
            n, office=office))
    return str(ngettext(
        "Not released: %(office)s is no longer active, so %(num)d follow-up letter to it cannot"
        " go. Cancel the letter.",
        "Not released: %(office)s is no longer active, so its %(num)d follow-up letters"
        " cannot go. Cancel them.", n, office=office))


def follow_ups_later(o: Office) -> str:
    """Released, but the office asked for a pause: they go when it ends."""
    until = o.until.strftime("%Y-%m-%d %H:%M UTC") if o.until else ""
    return str(ngettext(
        "%(office)s paused its letters until %(until)s: %(num)d follow-up letter to it goes out"
        " then, by itself.",
        "%(office)s paused its letters until %(until)s: its %(num)d follow-up letters go"
        " out then, by themselves.", o.letters, office=o.office, until=until))


def flash_pause(result: dict[str, Any], paused_text: str) -> None:
    """What a pause or a resume did (organizers.controls.set_paused's answer), as messages."""
    if result["paused"]:
        flash(paused_text)
        return
    flash(_("Resumed.") + " " + released(result["released"]))
    if n := result.get("follow_ups_released", 0):
        flash(ngettext("%(num)d follow-up letter the pause held goes out again too.",
                       "%(num)d follow-up letters the pause held go out again too.", n))
    for sentence in kept_all(result["still_held"]):
        flash(sentence, "error")
