"""The page a "did you get a reply?" link opens (delivery.reply_check sends the question).

One click on yes, no or not yet opens this page with that answer chosen; its button records
it, with the reply pasted if the supporter wishes. Opening the link alone records nothing:
mail scanners that fetch every link in an email would otherwise answer all three, as the
confirmation page guards against too."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _

from advocacy.extensions import csrf, request_limiter, submit_rate
from advocacy.letters.compose import official_label
from advocacy.links import ConfirmationError
from advocacy.models import REPLY_ANSWERS
from advocacy.privacy.reply_answers import MAX_PASTE, letter_for_answer, record_answer
from advocacy.public import Page, bp


def answer_labels() -> dict[str, str]:
    return {"yes": _("Yes, they replied"), "no": _("No, they did not reply"),
            "not_yet": _("Not yet")}


def _invalid(exc: ConfirmationError) -> Page:
    return render_template("public/message.html", title=_("Link not valid"), text=str(exc)), 404


@bp.get("/reply-answer/<token>")
def reply_answer_page(token: str) -> Page:
    try:
        letter, answer = letter_for_answer(token)
    except ConfirmationError as exc:
        return _invalid(exc)
    return render_template("public/reply_answer.html", token=token, answer=answer,
                           labels=answer_labels(), max_paste=MAX_PASTE,
                           official=official_label(letter.official, str(get_locale())))


@bp.post("/reply-answer/<token>")
@request_limiter.shared_limit(submit_rate, scope="submissions")
@csrf.exempt  # type: ignore[untyped-decorator]  # the signed token in the link is the secret
def reply_answer_post(token: str) -> Page:
    try:
        letter, linked = letter_for_answer(token)
    except ConfirmationError as exc:
        return _invalid(exc)
    chosen = request.form.get("answer", linked)
    record_answer(letter, chosen if chosen in REPLY_ANSWERS else linked,
                  request.form.get("reply", "")[:MAX_PASTE])
    return render_template(
        "public/message.html", title=_("Thank you: your answer is recorded"),
        text=_("It is counted for %(official)s, with the other supporters' answers, to show"
               " which offices reply. You may change it with the same link.",
               official=official_label(letter.official, str(get_locale()))))
