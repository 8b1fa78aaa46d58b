"""What every request passes before a view, and the pages for requests refused outright."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, abort, current_app, g, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from advocacy.logs import TOKEN_PATHS

NUL = "\x00"
View = TypeVar("View", bound=Callable[..., Any])


def checks_nul_itself(view: View) -> View:
    """For the supporters' forms: NUL in what they typed gets a message by its field, as any
    control character does, and the form drops it from the values it looks up (letter_form)."""
    view.checks_nul_itself = True  # type: ignore[attr-defined]
    return view


def mark_accepted() -> None:
    """Record that this request's submission was taken: the per-IP limit counts it."""
    g.submission_accepted = True


def accepted_only(response: Response) -> bool:
    """Whether the per-IP limit on submissions counts this request (its `deduct_when`).

    Only submissions taken count: a 202 of the JSON API, or a form that reached "check your
    inbox". Refused ones (a typo in an address, a missing consent) do not, so a classroom or
    an office behind one address is not locked out by its own mistakes. Each request is still
    checked against the limit before it runs, so a flood of accepted submissions is stopped.
    """
    return response.status_code == 202 or bool(g.get("submission_accepted"))


def _holds_nul(values: MultiDict[str, str]) -> bool:
    return any(NUL in key or NUL in value for key, value in values.items(multi=True))


def refuse_unreadable() -> None:
    """Refuse, before anything reads them, requests the views cannot take as text.

    Raw bytes that are not UTF-8 in the query string make werkzeug's `request.args` raise
    (its maintainers keep it so), and so would the page's language chosen from `?lang=`: the
    message stays in English. No field takes a NUL character, and PostgreSQL cannot even
    compare text holding one: refused in the path, the query string and forms (but for the
    supporters' forms, which check field by field: see checks_nul_itself).
    """
    try:
        request.query_string.decode()
    except UnicodeDecodeError:
        abort(400, "The query string is not valid UTF-8.")
    view = current_app.view_functions.get(request.endpoint or "")
    form_checked = request.method != "POST" or getattr(view, "checks_nul_itself", False)
    if NUL in request.path or _holds_nul(request.args) or (
            not form_checked and _holds_nul(request.form)):
        abort(400, _("The request contains a NUL character, which no field takes."))


def _kind_pages() -> dict[int, tuple[str, str]]:
    """Refusals a supporter may meet on the form, said plainly in their language."""
    return {
        429: (_("Please wait a moment"),
              _("Many letters came from this connection just now. Please try again in a"
                " minute; what you wrote is not lost if you go back.")),
        404: (_("Page not found"),
              _("There is nothing at this address. A campaign's page may have moved: the"
                " home page lists the campaigns taking letters.")),
        500: (_("Something went wrong on our side"),
              _("The page could not be shown. Please try again in a few minutes; if you were"
                " sending letters, nothing is sent until you confirm them by email.")),
        413: (_("Too much at once"),
              _("What was sent is larger than this site takes. Please go back and shorten"
                " it: your own paragraph may have up to 2,000 characters.")),
    }


def http_error(exc: HTTPException) -> Any:
    """The JSON API answers errors in JSON, like its successes; pages get a page in the
    site's frame and the visitor's language (an unexpected exception comes here as a 500)."""
    if request.path.startswith("/api/"):
        return {"errors": {"_": exc.description}}, exc.code
    if exc.response is not None:  # a page of its own (a limit's on_breach built one)
        return exc.response
    # Only these read the page's language: a 400 for a query string that is not UTF-8 cannot.
    if exc.code in (404, 413, 429, 500):
        title, text = _kind_pages()[exc.code]
        return render_template("public/message.html", title=title, text=text,
                               home=True), exc.code
    return exc


# Pages that show a supporter's letters or data, or the organizers' (admin): by path, so that
# their error pages (a bad token, a 405) are covered as well as the pages themselves. Every
# page a signed link opens is one (the same list the logs redact: logs.TOKEN_PATHS).
PRIVATE_PATHS = (*(f"/{path}/" for path in TOKEN_PATHS), "/my-data", "/admin")


def keep_private_pages_private(response: Response) -> Response:
    """No cache (a browser's, a proxy's) keeps a private page, and no search engine lists one
    that a leaked link led it to."""
    if request.path.startswith(PRIVATE_PATHS):
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex"
    return response


class JsonProvider(DefaultJSONProvider):
    """Flask's JSON, but a body nested too deeply to parse is malformed JSON (a ValueError,
    hence a 400 wherever a view reads JSON), not a RecursionError and a 500. Python's parser
    recurses once per level; 64 KiB of "[" is far past its limit."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def register(app: Flask) -> None:
    app.json = JsonProvider(app)
    # First of all: the extensions' own hooks may read the query string.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_unreadable)
    app.register_error_handler(HTTPException, http_error)
    app.after_request(keep_private_pages_private)
