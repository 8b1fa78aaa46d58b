"""Property tests (hypothesis) over every field of the form and of POST /api/letters, and the
query strings of the pages: whatever is sent, a 2xx or a 4xx, never a 5xx; a refusal names
the field that caused it and stores nothing."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from advocacy.extensions import db
from advocacy.models import Submission

from helpers import GOOD, csrf_token, stored, submission

MISSING = object()
SETTINGS = settings(max_examples=120, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
_serial = itertools.count()

# Text a person or a script might send: any Unicode, control characters and line separators
# mixed in, and strings far longer than any field takes (up to past the 64 KiB body limit).
nasty_chars = st.sampled_from(["\r\n", "\n", "\r", "\x00", "\u2028", "\u2029", "\u0085", "\t",
                               "\x1b", "\x7f", "\ufeff", "\u202e", "=?utf-8?b?QmNjOg==?=",
                               "\r\nBcc: x@evil.example", "<", ">", "{{", "%s"])
texts = st.one_of(
    st.text(),
    st.lists(st.one_of(st.text(max_size=5), nasty_chars), max_size=8).map("".join),
    st.builds(lambda ch, n: ch * n, st.sampled_from(["a", "é", "€", "\U0001f600", "\x01"]),
              st.integers(100, 70_000)),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=6,
)

API_FIELDS = ["campaign", "body", "country", "language", "supporter", "supporter.name",
              "supporter.email", "supporter.city", "supporter.country", "personal_note",
              "consent", "newsletter", "sign_initials", "ref"]
FORM_FIELDS = ["name", "email", "city", "supporter_country", "country", "body", "language",
               "personal_note", "consent", "newsletter", "sign_initials", "ref", "action",
               "switch_language",
               "website", "csrf_token", "embed"]


def fresh_email() -> str:
    """Each example writes as someone new, so a refusal is never 'already written'."""
    return f"prop{next(_serial)}@example.org"


def replaced(data: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    parent, _dot, key = field.rpartition(".")
    holder = data[parent] if parent else data
    if value is MISSING:
        holder.pop(key, None)
    else:
        holder[key] = value
    return data


def names(field: str, errors: dict[str, str]) -> bool:
    """The refusal says which field: the field itself or one inside it (or, for body, the
    country a government needs)."""
    return any(key == field or key.startswith(f"{field}.") for key in errors) or (
        field == "body" and "country" in errors)


@SETTINGS
@given(field=st.sampled_from(API_FIELDS), value=st.just(MISSING) | json_values)
def test_every_json_field_with_anything_in_it(client: Any, field: str, value: Any) -> None:
    payload = submission()
    payload["supporter"]["email"] = fresh_email()
    payload = replaced(payload, field, value)
    before = stored()
    reply = client.post("/api/letters", json=payload)
    assert reply.status_code < 500, reply.data[:500]
    assert reply.is_json
    if reply.status_code >= 400:
        assert stored() == before
        assert all(isinstance(m, str) and m for m in reply.json["errors"].values())
        if reply.status_code in (404, 422):
            assert names(field, reply.json["errors"]), (field, value, reply.json)
    else:
        assert reply.status_code == 202, reply.json


@SETTINGS
@given(value=json_values.filter(lambda v: not isinstance(v, dict)))
def test_json_that_is_not_an_object(client: Any, value: Any) -> None:
    reply = client.post("/api/letters", data=json.dumps(value), content_type="application/json")
    assert reply.status_code in (400, 413, 422) and "_" in reply.json["errors"]
    assert stored() == (0, 0, 0)


def _form_post(client: Any, path: str, field: str, value: Any) -> tuple[Any, tuple[int, ...]]:
    form = {**GOOD, "email": fresh_email()}
    if path == "/":
        form["csrf_token"] = csrf_token(client.get("/").data)
    if value is MISSING:
        form.pop(field, None)
    else:
        form[field] = value
    before = stored()
    return client.post(path, data=form), before


def _check_form_reply(reply: Any, before: tuple[int, ...], field: str) -> None:
    assert reply.status_code < 500, reply.data[:500]
    if reply.status_code >= 400:
        assert stored() == before
    if reply.status_code == 422:
        page = reply.data.decode()
        anchors = [f'href="#{field}"'] + (
            ['href="#country"', 'href="#bodies"'] if field == "body" else [])
        assert any(a in page for a in anchors), (field, page[:3000])


@SETTINGS
@given(field=st.sampled_from(FORM_FIELDS), value=st.just(MISSING) | texts)
def test_every_field_of_the_campaign_form(client: Any, field: str, value: Any) -> None:
    reply, before = _form_post(client, "/", field, value)
    _check_form_reply(reply, before, field)


@SETTINGS
@given(field=st.sampled_from(FORM_FIELDS), value=st.just(MISSING) | texts)
def test_every_field_of_the_widget(client: Any, field: str, value: Any) -> None:
    reply, before = _form_post(client, "/widget", field, value)
    _check_form_reply(reply, before, field)


PAGES = ["/", "/widget", "/api/stats", "/badge.svg", "/embed", "/privacy", "/healthz",
         "/status/x", "/confirm/x", "/api/openapi.json"]
query_keys = st.sampled_from(["lang", "body", "country", "ref", "campaign", "x"])


@SETTINGS
@given(page=st.sampled_from(PAGES),
       query=st.dictionaries(query_keys, texts.filter(lambda t: len(t) < 3000), max_size=3),
       raw=st.binary(max_size=40))
def test_any_query_string_on_any_page(client: Any, page: str, query: dict[str, str],
                                      raw: bytes) -> None:
    assert client.get(page, query_string=query).status_code < 500
    # Bytes as they come, valid UTF-8 or not (WSGI hands them over as latin-1).
    raw_query = (b"ref=" + raw + b"&lang=" + raw + b"&campaign=" + raw).decode("latin-1")
    assert client.get(page, environ_overrides={"QUERY_STRING": raw_query}).status_code < 500


# --- the same, case by case: what each refusal looks like -----------------------------------

def test_an_oversized_form_gets_a_page_and_the_api_json(client: Any) -> None:
    page = client.post("/widget", data={**GOOD, "personal_note": "x" * 70_000})
    assert page.status_code == 413 and page.mimetype == "text/html"
    assert "Too much at once" in page.data.decode()
    api = client.post("/api/letters", data=b"{" + b" " * 70_000 + b"}",
                      content_type="application/json")
    assert api.status_code == 413 and "_" in api.json["errors"]
    assert stored() == (0, 0, 0)


def test_nul_is_refused_before_the_database_sees_it(client: Any) -> None:
    # PostgreSQL cannot compare text holding NUL: these were 500s on PostgreSQL.
    for url in ("/api/stats?campaign=%00", "/badge.svg?campaign=%00", "/?body=%00"):
        reply = client.get(url)
        assert reply.status_code == 400, url
    assert "_" in client.get("/api/stats?campaign=%00").json["errors"]
    # The supporters' forms: a message by the field (NUL is a control character), or the
    # value left out where it is only looked up.
    reply = client.post("/widget", data={**GOOD, "name": "Jo\x00nas"})
    assert reply.status_code == 422 and 'href="#name"' in reply.data.decode()
    reply = client.post("/widget", data={**GOOD, "supporter_country": "\x00"})
    assert reply.status_code == 422 and 'href="#supporter_country"' in reply.data.decode()
    assert client.post("/preview", data={"body": "\x00", "language": "\x00"}).status_code == 200
    assert client.post("/own-mail", data={"own_mail": "copy:\x00"}).status_code == 400
    # Any other form: refused at the door.
    assert client.post("/admin/login", data={"email": "a\x00@example.org"}).status_code == 400
    assert stored() == (0, 0, 0)


def test_bytes_that_are_not_utf8(client: Any) -> None:
    # In the query string, raw: werkzeug's request.args raised, a 500.
    for page in ("/", "/api/stats", "/widget"):
        reply = client.get(page, environ_overrides={"QUERY_STRING": "lang=\xff\xfe"})
        assert reply.status_code == 400, page
    # Percent-encoded, they stay as they are, and a page still shows.
    assert client.get("/?ref=%ff%fe").status_code == 200
    # In a form body, percent-encoded: werkzeug keeps bytes that are not UTF-8 quoted, so the
    # name is the plain text "%FF%FE", taken like any other.
    form = "&".join(f"{k}={v}" for k, v in {**GOOD, "name": "%ff%fe"}.items())
    reply = client.post("/widget", data=form.encode(),
                        content_type="application/x-www-form-urlencoded")
    assert reply.status_code == 200
    assert db.session.scalars(select(Submission.name)).all() == ["%FF%FE"]
    # Raw in the body: the form cannot be read, its fields are missing, nothing is stored.
    raw = form.replace("%ff%fe", "\udcff").encode("utf-8", "surrogateescape")
    reply = client.post("/widget", data=raw, content_type="application/x-www-form-urlencoded")
    assert reply.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 1
    # In JSON: 400, not JSON.
    reply = client.post("/api/letters", data=b'{"body": "\xff"}', content_type="application/json")
    assert reply.status_code == 400
