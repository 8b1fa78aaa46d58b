"""Why an email address was refused, in the reader's language (a supporter's on the form,
an organizer's in the admin: the core, so that every stage may word it).

email-validator explains itself in English only, in sentences that change between its
versions; its messages are sorted here into the few cases a supporter can act on, each
with a translated text. Anything not recognised gets a plain "check it for a typing
error", never the English sentence.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _

# The characters email-validator quotes at the end of some messages ("…characters: '@'.").
_ONE = r"(?:'[^']*'|U\+[0-9a-fA-F]+)"
_QUOTED = re.compile(rf":\s*({_ONE}(?:,\s*{_ONE})*)\.?\s*$")


def _characters(message: str) -> str:
    found = _QUOTED.search(message)
    if found:
        return found.group(1)
    # Spaces are named rather than quoted ("…before the @-sign: SPACE.").
    return str(_("a space")) if re.search(r"\bSPACE\.?\s*$", message) else ""


def email_reason(message: str) -> str:
    """A translated reason for one of email-validator's messages (EmailNotValidError)."""
    return str(_reason(message))


def _reason(message: str) -> Any:
    text = message.lower()
    chars = _characters(message)
    if "must have an @-sign" in text or "exactly one @" in text:
        return _("It needs an @ sign, as in name@example.org.")
    if "something before the @-sign" in text:
        return _("Something is missing before the @ sign.")
    if "something after the @-sign" in text:
        return _("Something is missing after the @ sign.")
    if "too long" in text:
        return _("It is too long.")
    if (
        "should have a period" in text
        or "top-level domain" in text
        or "special-use or reserved" in text
    ):
        return _("After the @ sign there should be a mail domain, such as example.org.")
    if "period" in text:
        return _("A dot cannot start or end either part of the address, or follow another dot.")
    if "internationalized characters before the @-sign" in text:
        return _("Before the @ sign, please use Latin letters, digits and . _ - + only.")
    if "after the @-sign" in text and "character" in text:
        if chars:
            return _(
                "After the @ sign there is a character that does not belong in an"
                " address: %(characters)s",
                characters=chars,
            )
        return _("After the @ sign there is a character that does not belong in an address.")
    if "character" in text:
        if chars:
            return _(
                "There is a character that does not belong in an address: %(characters)s",
                characters=chars,
            )
        return _("There is a character that does not belong in an address.")
    if "after the @-sign" in text:
        return _("After the @ sign there should be a mail domain, such as example.org.")
    return _("Please check it for a typing error.")
