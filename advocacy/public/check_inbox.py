"""The "check your inbox" page a submission leads to, and its "send the email again".

The page names the address the email went to, masked (a•••@example.org): enough for the
supporter to spot a typo, too little to show a passer-by the whole address. It looks the
same whether or not the address wrote before (see intake.submit), and for a bot caught by
the honeypot: the resend then stands for no submission and sends nothing.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request
from flask_babel import gettext as _
from redis.exceptions import RedisError

from advocacy.delivery import queue
from advocacy.extensions import csrf, request_limiter
from advocacy.links import resend_request, resend_token
from advocacy.models import Campaign
from advocacy.public import bp, embeddable

# One resend a minute and five a day for one submission, whoever asks; and per connection,
# so that a stack of tokens cannot be used to mail many inboxes at once.
RESEND_PER_SUBMISSION = "1/minute;5/day"
RESEND_PER_CLIENT = "10/hour"


def masked(address: str) -> str:
    """a•••@example.org: the first character of the local part, then the whole domain."""
    local, at, domain = address.partition("@")
    if not at:
        return "•••"
    return f"{local[:1]}•••@{domain}"


def sent_page(
    campaign: Campaign | None,
    *,
    officials: list[dict[str, Any]],
    address: str,
    submission_id: int,
    embed: bool,
    contact_only: list[dict[str, Any]] | None = None,
    values: dict[str, str] | None = None,
    form_slug: str | None = None,
    more: list[dict[str, Any]] | None = None,
) -> str:
    """The page after a submission was taken (or a bot's, with no letters: id 0); with the
    offices of the chosen group that take no email, and how to reach them instead, and the
    groups not written to yet (`more`), the supporter's `values` kept for the form."""
    shown = masked(address)
    return render_template(
        "public/sent.html",
        campaign=campaign,
        officials=officials,
        contact_only=contact_only or [],
        embed=embed,
        address=shown,
        resend=resend_token(submission_id, shown),
        values=values,
        form_slug=form_slug,
        more=more or [],
    )


def _resend_key() -> str:
    token = (request.view_args or {}).get("token", "")
    return f"{current_app.config['QUEUE_NAME']}:resend:{token}"


def _too_soon(_limit: Any) -> Any:
    """The answer once a submission's resends are used up: the page again, with a word."""
    found = resend_request((request.view_args or {}).get("token", ""))
    return current_app.response_class(
        render_template(
            "public/sent.html",
            campaign=None,
            officials=[],
            address=found[1] if found else "",
            embed=request.form.get("embed") == "1",
            resend=None,
            too_soon=True,
        ),
        429,
    )


@bp.post("/resend/<token>")
@embeddable
@csrf.exempt  # type: ignore[untyped-decorator]  # the signed token is the secret
@request_limiter.limit(RESEND_PER_CLIENT)
@request_limiter.limit(RESEND_PER_SUBMISSION, key_func=_resend_key, on_breach=_too_soon)
def resend(token: str) -> tuple[str, int] | str:
    """Send the confirmation email again (say it went to spam or was deleted)."""
    found = resend_request(token)
    if found is None:
        return render_template(
            "public/message.html",
            title=_("Link not valid"),
            text=_("This page is too old: please write your letter again."),
        ), 400
    submission_id, address = found
    if submission_id:
        try:
            # The job sends nothing for a submission confirmed, erased or gone meanwhile.
            queue.enqueue_confirmation(submission_id)
        except RedisError:
            return render_template(
                "public/message.html",
                title=_("Please wait a moment"),
                text=_("The email cannot be sent again just now. Please try in a few minutes."),
            ), 503
    return render_template(
        "public/sent.html",
        campaign=None,
        officials=[],
        address=address,
        embed=request.form.get("embed") == "1",
        again=True,
        resend=token,
    )
