"""What each letter state means to the person who wrote the letter, in their language."""

from __future__ import annotations

# Lazy: the labels are read while a page renders, in that page's language. Imported as `_`
# so that `pybabel extract` finds them with its default keywords.
from flask_babel import lazy_gettext as _

STATE_LABELS = {
    "unconfirmed": _("Waiting for your confirmation"),
    "queued": _("Confirmed: going out soon"),
    "sending": _("Being sent"),
    "held": _("Confirmed: goes out later, within the office's hours and limits"),
    "sent": _("Delivered to the office's mail server"),
    "failed": _("Could not be delivered"),
    "needs_review": _("Being checked by the campaign"),
    "cancelled": _("Not sent"),
}


# Letters not yet handed to the relay: an erasure cancels them. (A letter `sending` at this
# moment is cancelled by its worker if not yet composed, else recorded as sent and scrubbed.)
ERASED = "cancelled: the supporter erased their data"
