"""The admin's sentences about letters released, kept back or cancelled: counted with Babel's
ngettext (one letter, 2 letters; Russian's three forms), and with the reason a letter still
waits in the organizers' words."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_babel import gettext as _
from flask_babel import ngettext

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


def flash_pause(result: dict[str, Any], paused_text: str) -> None:
    """What a pause or a resume did (organizers.controls.set_paused's answer), as messages."""
    if result["paused"]:
        flash(paused_text)
        return
    flash(_("Resumed.") + " " + released(result["released"]))
    for sentence in kept_all(result["still_held"]):
        flash(sentence, "error")
