"""Rendering letter templates: organizer-edited Jinja in a sandbox, plain data in the context."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from flask_babel import gettext as _
from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from advocacy.letters.asks import ask_for
from advocacy.letters.salutations import for_holder

MAX_OUTPUT = 100_000  # characters one operator may produce
MAX_LETTER = 50_000  # characters of a whole letter: one is a few thousand

# What a letter template may use: text, these placeholders, {% if %}, and filters that cannot
# make text grow. Jinja's sandbox keeps templates away from Python's internals, but not from
# loops inside loops, recursive macros or `'%999999999s' % x`, each of which can hold a worker
# for hours or fill its memory; so everything else is refused before anything is rendered.
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "salutation": (),
    "ask": (),  # what this office is asked (letters.asks)
    "personal_note": (),
    "official": ("office", "holder", "country_name"),
    "supporter": ("name", "city", "country_name"),
    # The campaign page's dated latest news in the letter's language ("" when there is none).
    "campaign": ("name", "news", "news_date"),
}
FILTERS = ("upper", "lower", "title", "capitalize", "trim", "default")
TESTS = ("defined", "undefined", "none")
_ALLOWED_NODES = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.If, nodes.CondExpr,
    nodes.And, nodes.Or, nodes.Not, nodes.Compare, nodes.Operand, nodes.Concat,
)
def _refused() -> dict[str, str]:
    """How to name what was refused, for the organizer who typed it, in their language."""
    arithmetic = str(_("arithmetic (%(operator)s)"))
    return {
        "For": _("a loop (%(tag)s)", tag="{% for %}"), "Macro": _("a macro"),
        "CallBlock": "{% call %}", "Call": _("a function or method call"),
        "Assign": "{% set %}", "AssignBlock": "{% set %}", "With": "{% with %}",
        "FilterBlock": "{% filter %}", "Block": "{% block %}", "Extends": "{% extends %}",
        "Include": "{% include %}", "Import": "{% import %}", "FromImport": "{% from %}",
        "Mul": arithmetic % {"operator": "*"}, "Pow": arithmetic % {"operator": "**"},
        "Div": arithmetic % {"operator": "/"}, "FloorDiv": arithmetic % {"operator": "//"},
        "Mod": _("the modulo operator (%(sign)s)", sign="%"),
        "Add": _("arithmetic (+; join text with ~)"),
        "Sub": arithmetic % {"operator": "-"}, "List": _("a list"), "Tuple": _("a tuple"),
        "Dict": _("a dict"), "Slice": _("a slice"),
    }


class LetterEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, plus limits on `*` and `**`, which Jinja's sandbox lets grow unbounded."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > 64:
            raise SecurityError("exponent too large")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and (
                    len(seq) * times > MAX_OUTPUT
                ):
                    raise SecurityError("repetition too large")
        return super().call_binop(context, operator, left, right)


# Plain text: no autoescape (there is no HTML here), and nothing but str/dict data reaches it.
_env = LetterEnvironment(
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=StrictUndefined,
    autoescape=False,
)
# Nothing but the context: no range, lipsum, cycler, joiner, namespace or dict; few filters.
_env.globals.clear()
_env.filters = {name: _env.filters[name] for name in FILTERS}
_env.tests = {name: _env.tests[name] for name in TESTS}


class LetterRenderError(ValueError):
    """A template could not be rendered; the message says why."""


class NotAllowed(SecurityError):
    """The template uses something letters may not (see PLACEHOLDERS and FILTERS)."""


def _placeholder(node: nodes.Node) -> str | None:
    """`official.office` for official.office or official['office'], else None."""
    if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
        return f"{node.node.name}.{node.attr}"
    if (isinstance(node, nodes.Getitem) and isinstance(node.node, nodes.Name)
            and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str)):
        return f"{node.node.name}.{node.arg.value}"
    return None


def placeholder_names() -> list[str]:
    """Every placeholder a letter may use, as typed between {{ and }} ("official.office")."""
    return [f"{name}.{attr}" if attr else name
            for name, attrs in PLACEHOLDERS.items() for attr in attrs or ("",)]


def _known() -> str:
    return ", ".join(f"{name}.{attr}" if attr else name
                     for name, attrs in PLACEHOLDERS.items() for attr in attrs or ("",))


def check_source(tree: nodes.Node) -> None:
    """Raise NotAllowed, naming the line, for anything a letter may not contain."""
    line = _("line %(num)d: ", num=tree.lineno) if getattr(tree, "lineno", None) else ""
    if isinstance(tree, nodes.Getattr | nodes.Getitem):
        name = _placeholder(tree)
        group, _dot, attr = (name or "").partition(".")
        if name is None:
            raise NotAllowed(line + _("only the placeholders' parts may be looked up; the"
                                      " placeholders are %(known)s", known=_known()))
        if attr not in PLACEHOLDERS.get(group, ()):
            raise NotAllowed(line + _("unknown placeholder %(name)s; the placeholders are"
                                      " %(known)s", name=name, known=_known()))
        return
    if isinstance(tree, nodes.Name):
        if tree.name not in PLACEHOLDERS or PLACEHOLDERS[tree.name]:
            raise NotAllowed(line + _("unknown placeholder %(name)s; the placeholders are"
                                      " %(known)s", name=tree.name, known=_known()))
        return
    if isinstance(tree, nodes.Filter | nodes.Test):
        allowed = FILTERS if isinstance(tree, nodes.Filter) else TESTS
        if tree.name not in allowed or tree.kwargs or tree.dyn_args or tree.dyn_kwargs:
            raise NotAllowed(line + (
                _("the filter %(name)s is not allowed in a letter; the filters are %(allowed)s",
                  name=tree.name, allowed=", ".join(allowed))
                if isinstance(tree, nodes.Filter) else
                _("the test %(name)s is not allowed in a letter; the tests are %(allowed)s",
                  name=tree.name, allowed=", ".join(allowed))))
    elif not isinstance(tree, _ALLOWED_NODES):
        what = _refused().get(type(tree).__name__, type(tree).__name__)
        raise NotAllowed(line + _("%(what)s is not allowed in a letter: use placeholders,"
                                  " %(tag)s and the filters %(filters)s", what=what,
                                  tag="{% if %}", filters=", ".join(FILTERS)))
    for child in tree.iter_child_nodes():
        check_source(child)


@dataclass(frozen=True)
class RenderedLetter:
    subject: str
    body: str

    def digest(self) -> str:
        """SHA-256 of what the official read, as the hand-over report prints it."""
        return hashlib.sha256(f"{self.subject}\n\n{self.body}".encode()).hexdigest()


def initials(name: str) -> str:
    """'Azat Miftakhov' -> 'A. M.': how a supporter who asked not to be named signs."""
    return " ".join(f"{part[0]}." for part in name.replace("-", " ").split() if part[0].isalpha())


@lru_cache(maxsize=256)
def _compile(source: str) -> Template:
    tree = _env.parse(source)
    check_source(tree)
    return _env.from_string(tree)


def choose_subject(subject: str, variants: Sequence[str], seed: str) -> str:
    """One of the subject and its variants, chosen by a hash of the seed: the same for the
    same seed, and spread evenly over many seeds.

    The seed is the letter's id (a digest's key), so a retried letter keeps its subject. A
    hash rather than `id % n`: a supporter's letters have consecutive ids, one per official,
    and a plain modulo would give each official the same subject every time.
    """
    options = [subject, *(v for v in variants if v.strip())]
    digest = hashlib.sha256(seed.encode()).digest()
    return options[int.from_bytes(digest[:8], "big") % len(options)]


@lru_cache(maxsize=4096)
def country_name(code: str, language: str) -> str:
    """The country's name in the given language (the code itself when unknown)."""
    if not code:
        return ""
    try:
        return str(Locale.parse(language).territories.get(code.upper(), code.upper()))
    except (UnknownLocaleError, ValueError):
        return code.upper()


@lru_cache(maxsize=256)
def news_date(value: date | None, language: str) -> str:
    """The news's date as the letter's language writes it ("4 December 2026"). Cached: every
    letter in a language quotes the same news, and Babel's formatting cost a tenth of
    rendering a letter."""
    if value is None:
        return ""
    try:  # British English: the letters write "21 April 2026", as officials in Europe do
        return str(format_date(value, format="long",
                               locale="en_GB" if language == "en" else language))
    except (UnknownLocaleError, ValueError):
        return value.isoformat()


def letter_context(
    *,
    official: dict[str, Any],
    supporter: dict[str, str],
    personal_note: str,
    campaign_name: str,
    language: str,
    default_salutation: str,
    asks: Mapping[str, str] | None = None,
    news: tuple[date | None, str] = (None, ""),
) -> dict[str, Any]:
    """The only variables a letter template sees, as plain strings and dicts.

    `official` may carry its "key" and "holder_gender": the ask follows the key (and the
    country), the salutation the holder."""
    salutations = official.get("salutations") or {}
    gender = official.get("holder_gender", "") if official.get("holder") else ""
    news_text = news[1].strip() if news[0] is not None else ""
    return {
        "salutation": for_holder(salutations.get(language) or default_salutation, language,
                                 gender),
        "ask": ask_for(asks, official.get("key", ""), official.get("country", "")),
        "official": {
            "office": official.get("office", ""),
            "holder": official.get("holder", ""),
            "country_name": country_name(official.get("country", ""), language),
        },
        "supporter": {
            "name": supporter["name"],
            "city": supporter["city"],
            # A preview may name the country in words ("[your country]") before one is chosen.
            "country_name": supporter.get("country_name")
            or country_name(supporter["country"], language),
        },
        "personal_note": personal_note.strip(),
        "campaign": {"name": campaign_name, "news": news_text,
                     "news_date": news_date(news[0], language) if news_text else ""},
    }


def render_letter(subject: str, body: str, context: dict[str, Any]) -> RenderedLetter:
    """Render subject and body; any template error becomes a LetterRenderError."""
    try:
        rendered_subject = _compile(subject).render(context)
        rendered_body = _compile(body).render(context)
    except TemplateSyntaxError as exc:
        raise LetterRenderError(_("syntax error on line %(num)s: %(reason)s", num=exc.lineno,
                                  reason=exc.message)) from exc
    except NotAllowed as exc:
        raise LetterRenderError(str(exc)) from exc
    except RecursionError as exc:  # thousands of brackets deep: the parser recurses
        raise LetterRenderError(_("the template is nested too deeply")) from exc
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise LetterRenderError(f"{type(exc).__name__}: {exc}") from exc
    if len(rendered_body) + len(rendered_subject) > MAX_LETTER:
        raise LetterRenderError(_("the letter is too long (%(num)d characters; at most"
                                  " %(most)d)", num=len(rendered_body), most=MAX_LETTER))
    # A subject is one line, whatever the template or the data did.
    one_line = re.sub(r"\s+", " ", rendered_subject).strip()
    # Lines end in \n alone (a lone \r would reach the wire as a bare CR).
    lines = rendered_body.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"\n{3,}", "\n\n", lines).strip() + "\n"
    return RenderedLetter(subject=one_line, body=text)


NOTE_MAX = 2000


def has_control(value: str, allow_newlines: bool = False) -> bool:
    for ch in value:
        if allow_newlines and ch in "\n\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Cs", "Co") or ch in "\u2028\u2029":
            return True
    return False
