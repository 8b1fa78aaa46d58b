"""Rendering letter templates: organizer-edited Jinja in a sandbox, plain data in the context."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_OUTPUT = 100_000  # characters one operator may produce: a letter is a few thousand


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


class LetterRenderError(ValueError):
    """A template could not be rendered; the message says why."""


@dataclass(frozen=True)
class RenderedLetter:
    subject: str
    body: str


@lru_cache(maxsize=256)
def _compile(source: str) -> Template:
    return _env.from_string(source)


@lru_cache(maxsize=4096)
def country_name(code: str, language: str) -> str:
    """The country's name in the given language (the code itself when unknown)."""
    if not code:
        return ""
    try:
        return str(Locale.parse(language).territories.get(code.upper(), code.upper()))
    except (UnknownLocaleError, ValueError):
        return code.upper()


def letter_context(
    *,
    official: dict[str, Any],
    supporter: dict[str, str],
    personal_note: str,
    campaign_name: str,
    language: str,
    default_salutation: str,
) -> dict[str, Any]:
    """The only variables a letter template sees, as plain strings and dicts."""
    salutations = official.get("salutations") or {}
    return {
        "salutation": salutations.get(language) or default_salutation,
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
        "campaign": {"name": campaign_name},
    }


def render_letter(subject: str, body: str, context: dict[str, Any]) -> RenderedLetter:
    """Render subject and body; any template error becomes a LetterRenderError."""
    try:
        rendered_subject = _compile(subject).render(context)
        rendered_body = _compile(body).render(context)
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        # SecurityError is a TemplateError; huge ranges raise OverflowError (ArithmeticError).
        raise LetterRenderError(f"{type(exc).__name__}: {exc}") from exc
    # A subject is one line, whatever the template or the data did.
    one_line = re.sub(r"\s+", " ", rendered_subject).strip()
    text = re.sub(r"\n{3,}", "\n\n", rendered_body.replace("\r\n", "\n")).strip() + "\n"
    return RenderedLetter(subject=one_line, body=text)
