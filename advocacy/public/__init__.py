"""Pages for supporters: the campaign page, its form and widget, confirmation, the status page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from babel import Locale
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    has_request_context,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select

from advocacy import clock
from advocacy.campaigns.pages import Shown, image_path, shown_page, story_html
from advocacy.campaigns.partners import frame_snippet, partner_for_ref
from advocacy.campaigns.settings import campaign_state, find_campaign, open_campaigns, refusal
from advocacy.delivery import queue
from advocacy.extensions import EMBEDDABLE_POLICY, csrf, db, request_limiter, submit_rate, talisman
from advocacy.guards import accepted_only, checks_nul_itself, mark_accepted
from advocacy.intake import own_mail
from advocacy.intake.confirm import asked_opt_ins, confirm, letter_states
from advocacy.intake.consent import contact_address, data_page, notice_version, retention_days
from advocacy.intake.submit import SubmissionError, submit
from advocacy.intake.validation import caught_in_honeypot, check_submission, valid_ref
from advocacy.letters.compose import rendered
from advocacy.letters.render import country_name
from advocacy.letters.states import STATE_LABELS
from advocacy.links import ConfirmationError, submission_for_token
from advocacy.models import OWN_MAIL_CHANNELS, Campaign, Official
from advocacy.officials.choose import writable
from advocacy.officials.files import LANGUAGES
from advocacy.privacy.retention import submission_for_status
from advocacy.privacy.rights import replies_to_submission
from advocacy.public import letter_form
from advocacy.reporting.dashboard import Filters
from advocacy.reporting.own_mail import own_mail_counts
from advocacy.reporting.stats import sent_count, stats_cache

bp = Blueprint("public", __name__)
Page = str | tuple[str, int]

View = TypeVar("View", bound=Callable[..., Any])


def embeddable(view: View) -> View:
    """Other sites may show this page in a frame: the widget and what its form leads to.

    Every other page refuses frames (extensions.security_headers).
    """
    marked: View = talisman(frame_options=None, content_security_policy=EMBEDDABLE_POLICY)(view)
    return marked


@bp.app_context_processor
def state_labels() -> dict[str, Any]:
    return {"state_labels": STATE_LABELS, "contact_address": contact_address,
            "retention_days": retention_days, "data_page": data_page,
            "channel_labels": channel_labels}


def channel_labels() -> dict[str, str]:
    """How each kind of office is written to, for the pages that list offices."""
    return {"email": _("by email"), "form": _("through its web contact form"),
            "post": _("by post")}


def language_bar() -> list[tuple[str, str]]:
    """Every language of the pages, (code, its name in itself): the bar at the top of the page
    and the alternates for search engines read it, so a language added to LANGUAGES appears."""
    return [(code, (Locale.parse(code).get_display_name(code) or code).capitalize())
            for code in LANGUAGES]


def page_language() -> str:
    """?lang=... when given, else the best of the browser's languages, else English (also
    outside a request: a command that words an error, or a job)."""
    if not has_request_context():
        return "en"
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return str(asked)
    return request.accept_languages.best_match(LANGUAGES) or "en"


def _home() -> Campaign:
    """The campaign on the home page (an owner chooses it), for the addresses without a slug
    that partners already embed; 404 when none is chosen."""
    campaign = find_campaign(None)
    if campaign is None:
        abort(404)
    return campaign


def _campaign(slug: str | None) -> Campaign:
    """The campaign at /c/<slug>, or the home campaign; a 404 page for an unknown slug."""
    campaign = find_campaign(slug) if slug else _home()
    if campaign is None:
        abort(404)
    return campaign


def _form_campaign() -> Campaign:
    """The campaign of the page a fetch came from: its hidden field, else the home one."""
    slug = request.form.get("campaign", "")
    if slug and not valid_ref(slug):
        abort(404)
    return _campaign(slug or None)


def _placeholders() -> dict[str, str]:
    return {"name": _("[your name]"), "city": _("[your city]"),
            "country": _("[your country]"), "email": _("[your email]"),
            "relay": _("[the campaign's reply address: yours stays private]")}


@bp.route("/", methods=["GET", "POST"], defaults={"slug": None})
@bp.route("/c/<slug>", methods=["GET", "POST"])
@checks_nul_itself
@csrf.exempt  # type: ignore[untyped-decorator]  # checked below, to keep what was typed
@request_limiter.shared_limit(submit_rate, scope="submissions", methods=["POST"],
                              deduct_when=accepted_only)
def index(slug: str | None) -> Page:
    """The campaign page and its form; works without JavaScript. `/` is the home campaign's
    page, or, when an owner chose none, the list of open campaigns."""
    campaign = find_campaign(slug)
    if campaign is None and slug is None and request.method == "GET":
        return render_template("public/campaigns.html", campaigns=[
            (c, shown_page(c, _language()).page) for c in open_campaigns(clock.now())])
    if campaign is None:
        abort(404)
    return campaign_page(campaign, embed=False)


def _language() -> str:
    return str(get_locale() or "en")


@bp.get("/badge.svg", defaults={"slug": None})
@bp.get("/c/<slug>/badge.svg")
@embeddable
def badge(slug: str | None) -> Response:
    """A counter for partners' pages (`<img src=".../badge.svg?lang=fr">`): letters delivered."""
    campaign = _campaign(slug or request.args.get("campaign") or None)
    count = stats_cache().get(f"sent:{campaign.id}", lambda: sent_count(campaign))
    label, shown = _("Letters delivered so far:"), format_decimal(count)
    # An estimate of the label's width (no font metrics here; Cyrillic letters are wider than
    # Latin ones), to which the SVG then fits the text itself (textLength): it never runs
    # into the number, whatever font the viewer has.
    split = 20 + int(sum(7 if ch.isascii() else 8.2 for ch in label))
    svg = render_template("public/badge.svg", label=label, count=shown, split=split,
                          width=split + 20 + 9 * len(shown), lang=str(get_locale() or "en"))
    return Response(svg, mimetype="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=30", "Vary": "Accept-Language"})


@bp.route("/widget", methods=["GET", "POST"], defaults={"slug": None})
@bp.route("/c/<slug>/widget", methods=["GET", "POST"])
@embeddable
@checks_nul_itself
@csrf.exempt  # type: ignore[untyped-decorator]  # see campaign_page
@request_limiter.shared_limit(submit_rate, scope="submissions", methods=["POST"],
                              deduct_when=accepted_only)
def widget(slug: str | None) -> Page:
    """The form for partner sites' iframes (the snippet is on /c/<slug>/embed)."""
    return campaign_page(_campaign(slug), embed=True)


def campaign_page(campaign: Campaign, embed: bool) -> Page:
    """Show the form, or take what it sent: a preview, a failed check, or the letters.

    The page's form carries a CSRF token. The widget's cannot: inside another site's frame
    the browser withholds our session cookie. It needs none: it acts for no logged-in user,
    and, like the open JSON API, it is guarded by the honeypot, the per-IP limit and the
    confirmation email.

    A campaign that takes no letters (paused, not yet open, closed) says so, shows no form
    and takes nothing posted to it.
    """
    language = _language()
    state = campaign_state(campaign, clock.now())
    if request.method == "POST":
        values = letter_form.with_defaults(request.form)
        ticked: list[str] | None = letter_form.ticked(request.form)
        letter_form.switch_page_language(values, language)
    else:
        values = {"body": request.args.get("body", ""), "language": language,
                  "country": request.args.get("country", ""), "ref": request.args.get("ref", "")}
        ticked = None
    choice = letter_form.chosen(campaign, values)
    options = letter_form.choices(choice.offered, language)
    if ticked is None:  # a new page: the one group its link names, or every group but
        # those with a risk notice (writing to them is a choice to make knowingly)
        ticked = [values["body"]] if values["body"] else [
            b.slug for b in choice.offered if not b.risk_notices]
        if not values["country"]:
            values["country"] = values["country_auto"] = letter_form.browser_country(
                list(request.accept_languages.values()),
                [c for c, _n in options["gov_countries"]])
    values["body"] = values.get("body") or (choice.body.slug if choice.body else "")
    # Ideas shown under the supporter's paragraph; the paragraph itself starts empty.
    suggestions = letter_form.suggestions(choice)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST" and state != "open":
        status = 409
    elif request.method == "POST" and values.get("action") != "preview":
        if not embed and not FlaskForm().validate():  # the CSRF token
            errors, status = {"_": _("The form had expired. Please send it again.")}, 400
        elif caught_in_honeypot(request.form):
            # The honeypot: a field people do not see. Bots get the same answer, nothing more.
            mark_accepted()
            return check_inbox.sent_page(campaign, officials=[], embed=embed, submission_id=0,
                                         address=values.get("email", ""))
        else:
            checked, problems = check_submission(letter_form.payload(
                values, campaign, by_country=any(
                    b.by_country for b in choice.offered if b.slug in ticked),
                bodies=ticked if request.form.get("groups_form") else None))
            if checked is None:
                errors, status = letter_form.field_errors(problems), 422
            else:
                try:
                    result = submit(checked, locale=language)
                except SubmissionError as exc:
                    errors, status = letter_form.field_errors(exc.errors), exc.status
                else:
                    mark_accepted()
                    return check_inbox.sent_page(
                        campaign, officials=result.officials, embed=embed,
                        submission_id=result.submission_id or 0, address=checked.email,
                        contact_only=result.contact_only, values=values,
                        form_slug=(request.view_args or {}).get("slug"),
                        more=[g for g in options["groups"] if g["slug"] not in ticked])
    shown = shown_page(campaign, language)
    preview = letter_form.preview(campaign, choice, values, _placeholders())
    page = render_template(
        "public/index.html", campaign=campaign, values=values, errors=errors, embed=embed,
        # The form posts back to the address it came from: /, /widget or /c/<slug>[/widget].
        form_slug=(request.view_args or {}).get("slug"),
        state=state, notice=refusal(campaign, clock.now()) if state != "open" else "",
        shown=shown, story=story_html(shown.page.story) if shown.page else "",
        language_names=_language_names(shown, language),
        sent=stats_cache().get(f"sent:{campaign.id}", lambda: sent_count(campaign)),
        own_mail_sent=stats_cache().get(f"own:{campaign.id}", lambda: sum(
            own_mail_counts(Filters(campaign.id)).values())),
        preview=preview,
        suggestions=suggestions, case_intake=letter_form.case_intake(campaign, language),
        by_hand_groups=letter_form.by_hand_offices(campaign, choice, ticked,
                                                   values.get("country", ""), language,
                                                   preview),
        countries=letter_form.countries(language), ticked=ticked, **options,
        detaining_name=country_name(campaign.detaining_country, language)
        if campaign.detaining_country else "",
        partner=partner_for_ref(values.get("ref")) if valid_ref(values.get("ref")) else None,
    )
    return page, status


def _language_names(shown: Shown, language: str) -> dict[str, str]:
    """The asked and the shown language, named in the page's language (for the notice)."""
    return {code: Locale.parse(code).get_display_name(language) or code
            for code in {shown.asked, shown.language}}


@bp.get("/page-images/<name>")
def page_image(name: str) -> Response:
    """A campaign page's image: named by its content, so it never changes: cached a year."""
    path = image_path(name)
    if path is None:
        abort(404)
    return send_file(path, mimetype="image/png" if name.endswith(".png") else "image/jpeg",
                     max_age=365 * 24 * 3600, conditional=True)


@bp.post("/preview")
@checks_nul_itself
@csrf.exempt  # type: ignore[untyped-decorator]  # changes nothing, answers only this page
@request_limiter.limit("300/minute")
def preview_fragment() -> dict[str, Any]:
    """The live preview: the parts of the page that follow what is typed, rendered here, so
    the page shows exactly what the worker will send (one renderer, not a copy in JS)."""
    campaign = _form_campaign()
    values = letter_form.with_defaults(request.form)
    choice = letter_form.chosen(campaign, values)
    preview = letter_form.preview(campaign, choice, values, _placeholders())
    by_hand_groups = letter_form.by_hand_offices(
        campaign, choice, letter_form.ticked(request.form), values.get("country", ""),
        str(get_locale() or "en"), preview)
    parts = {name: render_template(f"public/_{name}.html", preview=preview, values=values,
                                   embed=request.form.get("embed") == "1",
                                   by_hand_groups=by_hand_groups)
             for name in ("officials", "headers", "own_mail", "send")}
    parts["suggestions"] = render_template("public/_suggestions.html",
                                           suggestions=letter_form.suggestions(choice))
    return {**parts, "has_note": bool(preview and preview.get("has_note")),
            "before": preview["before"] if preview and preview.get("letter") else "",
            "after": preview["after"] if preview and preview.get("letter") else ""}


@bp.post("/own-mail")
@embeddable
@checks_nul_itself
@csrf.exempt  # type: ignore[untyped-decorator]  # a counted click; nothing is sent or kept
@request_limiter.limit("60/minute")
def own_mail_page() -> Any:
    """Open the letter in the supporter's own mail (or show it to copy), and count it."""
    campaign = _form_campaign()
    values = letter_form.with_defaults(request.form)
    channel, _sep, key = values.get("own_mail", "").partition(":")
    language = values.get("language", "en")
    official = db.session.scalar(
        select(Official).where(Official.key == key, *writable()))
    if channel not in OWN_MAIL_CHANNELS or official is None or not official.email:
        abort(400, _("Choose an official with an email address, and a way to write."))
    letter = letter_form.letter_to(campaign, values, key, _placeholders())
    if letter is None:
        abort(400, _("This official does not receive letters of this body."))
    ref = values.get("ref") or None
    own_mail.record(campaign, official, channel, language,
                    ref if valid_ref(ref) else None)
    rendered = letter["letter"]
    if channel == "copy":
        if request.accept_mimetypes.best == "application/json":
            return {"to": official.email, "subject": rendered.subject, "body": rendered.body}
        return render_template("public/own_mail.html", campaign=campaign, to=official.email,
                               letter=rendered, official=letter["to"],
                               embed=request.form.get("embed") == "1")
    return redirect(own_mail.compose_url(channel, official.email, rendered.subject,
                                         rendered.body), 303)


@bp.get("/privacy", defaults={"slug": None})
@bp.get("/c/<slug>/privacy")
def privacy(slug: str | None) -> str:
    campaign = _campaign(slug)
    return render_template("public/privacy.html", campaign=campaign,
                           version=notice_version(campaign))


@bp.get("/embed", defaults={"slug": None})
@bp.get("/c/<slug>/embed")
def embed_help(slug: str | None) -> str:
    """For partner organisations: the snippet to paste, and the JSON API for their own form."""
    campaign = _campaign(slug)
    base = current_app.config["ADVOCACY_PUBLIC_URL"]
    return render_template("public/embed.html", campaign=campaign, base=base,
                           snippet=frame_snippet(campaign, "your-organisation", _language()))


@bp.get("/status/<token>")
def status_page(token: str) -> Page:
    """A supporter's private page: each of their letters and its state."""
    try:
        submission = submission_for_status(token)
    except ConfirmationError as exc:
        return render_template("public/message.html", title=_("Link not valid"),
                               text=str(exc)), 404
    letters = letter_states(submission, str(get_locale()))
    return render_template("public/status.html", token=token, letters=letters,
                           texts=dict(rendered({x["id"]: x["official"] for x in letters})),
                           confirmed=submission.confirmed_at is not None,
                           replies=replies_to_submission(submission.id))


@bp.post("/status/<token>/data-link")
@request_limiter.shared_limit(submit_rate, scope="submissions")
def status_data_link(token: str) -> Page:
    """Email the writer a link to their data. The status page never shows one itself: its own
    link may be forwarded or seen, and the data page holds their address and words."""
    try:
        submission = submission_for_status(token)
    except ConfirmationError as exc:
        return render_template("public/message.html", title=_("Link not valid"),
                               text=str(exc)), 404
    queue.enqueue_data_link(submission.supporter_id, str(get_locale()))
    return render_template(
        "public/message.html", title=_("Check your inbox"),
        text=_("A link to your data is on its way to the address you wrote with. It is valid"
               " for two days."))


@bp.get("/confirm/<token>")
def confirm_page(token: str) -> tuple[str, int] | str:
    # Opening the link only shows a button: mail scanners that prefetch links must not confirm.
    try:
        submission = submission_for_token(token)
    except ConfirmationError as exc:
        return render_template("public/message.html", title=_("Link not valid"),
                               text=str(exc)), 400
    letters = letter_states(submission, str(get_locale()))
    # The letters as they will go out in the supporter's name: what the button confirms.
    waiting = {x["id"]: x["official"] for x in letters if x["status"] == "unconfirmed"}
    news, partner = asked_opt_ins(submission)
    return render_template("public/confirm.html", token=token, letters=letters,
                           texts=dict(rendered(waiting)) if waiting else {},
                           confirmed=submission.confirmed_at is not None,
                           asked_news=news, asked_partner=partner, **_card(submission.campaign))


@bp.post("/confirm/<token>")
@csrf.exempt  # type: ignore[untyped-decorator]  # the signed token in the link is the secret
def confirm_post(token: str) -> tuple[str, int] | str:
    try:
        submission = confirm(token)
    except ConfirmationError as exc:
        return render_template("public/message.html", title=_("Link not valid"),
                               text=str(exc)), 400
    return render_template("public/confirm.html", token=token,
                           letters=letter_states(submission, str(get_locale())),
                           confirmed=True, share=share_links(submission.campaign),
                           **_card(submission.campaign))


def _card(campaign: Campaign) -> dict[str, Any]:
    """What the page's description and Open Graph card need (public/_meta.html)."""
    return {"campaign": campaign, "shown": shown_page(campaign, _language())}


def share_links(campaign: Campaign) -> dict[str, Any]:
    """How to share the campaign page: its address and text for the Web Share API and "copy
    the link" (static/share.js), and plain links that work without JavaScript. No third-party
    script is ever loaded here. The text is the page's share text in the supporter's
    language, when organizers wrote one."""
    url = current_app.config["ADVOCACY_PUBLIC_URL"] + url_for("public.index", slug=campaign.slug)
    shown = shown_page(campaign, _language())
    campaign_name = shown.page.title if shown.page else campaign.name
    own = shown.page.share_text if shown.page and not shown.fell_back else ""
    message = own or _("I wrote to the officials for %(campaign)s. Please write too:",
                       campaign=campaign_name)
    both = quote(f"{message} {url}")
    return {"url": url, "title": campaign_name, "text": message, "links": [
        (_("Email"), f"mailto:?subject={quote(campaign_name)}&body={both}"),
        ("WhatsApp", f"https://wa.me/?text={both}"),
        ("Telegram", f"https://t.me/share/url?url={quote(url)}&text={quote(message)}"),
        ("Bluesky", f"https://bsky.app/intent/compose?text={both}"),
        ("Facebook", f"https://www.facebook.com/sharer/sharer.php?u={quote(url)}"),
        ("X", f"https://twitter.com/intent/tweet?text={both}"),
    ]}


from advocacy.public import (  # noqa: E402, F401  # register their pages on bp
    by_hand,
    check_inbox,
    my_data,
    office_say,
    reply_answer,
)
