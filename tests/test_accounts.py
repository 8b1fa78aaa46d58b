"""Organizers' accounts: the second factor's QR code, recovery codes, a forgotten password by
email, and the audit log in sentences."""

from __future__ import annotations

import ast
import html
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import zxingcpp
from PIL import Image, ImageDraw
from sqlalchemy import event, select

from advocacy import audit
from advocacy.admin.audit_words import SENTENCES
from advocacy.delivery.outbox import mask_links
from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.models import AuditEntry, Organizer, RecoveryCode

from helpers import PASSWORD, PEOPLE, ROOT, csrf, log_in, work

NEW_PASSWORD = "a new password, long enough"


def client_at(app: Any, address: str = "127.0.0.1") -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def qr_modules(svg: str) -> tuple[int, set[tuple[int, int]]]:
    """The dark modules of segno's SVG as drawn: its one path of horizontal strokes
    (M x y absolute, m dx dy relative, h length), in a square of the viewBox's modules."""
    size, scale = re.search(r'viewBox="0 0 (\d+) \d+".*?scale\((\d+)\)', svg).groups()  # type: ignore[union-attr]
    path = re.search(r'class="qrline"[^>]* d="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
    x = y = 0.0
    dark: set[tuple[int, int]] = set()
    tokens = re.findall(r"[Mmh]|-?\d+(?:\.\d+)?", path)
    i = 0
    while i < len(tokens):
        op = tokens[i]
        if op == "M":
            x, y, i = float(tokens[i + 1]), float(tokens[i + 2]), i + 3
        elif op == "m":
            x, y, i = x + float(tokens[i + 1]), y + float(tokens[i + 2]), i + 3
        else:
            length = int(float(tokens[i + 1]))
            dark |= {(int(x) + n, int(y)) for n in range(length)}
            x, i = x + length, i + 2
    return int(size) // int(scale), dark


def decoded(svg: str) -> list[str]:
    """What a QR reader (zxing-cpp) reads from the SVG, drawn module by module."""
    size, dark = qr_modules(svg)
    image = Image.new("L", (size * 6, size * 6), 255)
    draw = ImageDraw.Draw(image)
    for mx, my in dark:
        draw.rectangle([mx * 6, my * 6, mx * 6 + 5, my * 6 + 5], fill=0)
    return [found.text for found in zxingcpp.read_barcodes(image)]


def setup_page(client: Any) -> tuple[str, str, str]:
    """The account page's QR code (its SVG), the otpauth link and the key to type."""
    page = client.get("/admin/account").data.decode()
    svg = re.search(r'<figure[^>]*id="totp-qr"[^>]*>(<svg .*?</svg>)</figure>', page, re.S)
    uri = re.search(r'<a href="([^"]+)" id="totp-uri"', page)
    key = re.search(r'id="totp-key">([A-Z2-7 ]+)<', page)
    assert svg and uri and key, page
    return svg.group(1), html.unescape(uri.group(1)), key.group(1).replace(" ", "")


def turn_on(app: Any, email: str) -> tuple[Any, str, list[str], int]:
    """A client logged in as `email` that turned the second factor on: the client, the
    secret, the recovery codes as shown, the time step of the code used."""
    client = client_at(app)
    assert log_in(client, email).status_code == 302
    _svg, _uri, secret = setup_page(client)
    step = pyotp.TOTP(secret).timecode(datetime.now(UTC))
    reply = client.post("/admin/account", data={
        "csrf_token": csrf(client, "/admin/account"), "action": "enable",
        "code": pyotp.TOTP(secret).generate_otp(step)})
    assert reply.status_code == 200 and reply.headers["Cache-Control"] == "no-store"
    page = reply.data.decode()
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", page)
    return client, secret, codes, step


def past_the_password(app: Any, email: str, password: str = PASSWORD,
                      address: str = "127.0.0.1") -> tuple[Any, str]:
    client = client_at(app, address)
    reply = log_in(client, email, password)
    assert reply.status_code == 302 and "/admin/login/code" in reply.headers["Location"]
    return client, csrf(client, "/admin/login/code")


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


# --- the QR code ----------------------------------------------------------------------------

def test_setup_shows_the_key_as_a_qr_code_made_here(app: Any,
                                                    people: dict[str, Organizer]) -> None:
    client = client_at(app)
    log_in(client, PEOPLE["owner"])
    svg, uri, key = setup_page(client)
    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert unquote(parts.path) == f"/advocacy:{PEOPLE['owner']}"  # issuer and account
    assert query["secret"] == [key] and query["issuer"] == ["advocacy"]
    assert decoded(svg) == [uri]  # what a phone's camera reads is the link itself
    page = client.get("/admin/account").data.decode()
    assert "<img" not in page and "http" not in svg  # nothing fetched, from anywhere
    assert len(key) == 32 and key in page  # and the key is still there to type


# --- recovery codes -------------------------------------------------------------------------

def test_recovery_codes_are_shown_once_kept_hashed_and_each_logs_in_once(
    app: Any, people: dict[str, Organizer]
) -> None:
    client, _secret, codes, _step = turn_on(app, PEOPLE["owner"])
    assert len(codes) == 10 == len(set(codes))
    stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and all(h.startswith("scrypt:") for h in stored)
    assert not [c for c in codes for h in stored if c.replace("-", "") in h]
    assert "recovery-codes" not in client.get("/admin/account").data.decode()  # shown once
    assert "enable second factor" in actions() and "make recovery codes" in actions()

    phone_lost, token = past_the_password(app, PEOPLE["owner"])
    typed = codes[3].upper().replace("-", " ")  # as someone copies it from paper
    reply = phone_lost.post("/admin/login/code", data={"csrf_token": token, "code": typed})
    assert reply.status_code == 302
    landing = phone_lost.get("/admin/")
    assert landing.status_code == 200 and "9 are left" in landing.data.decode()
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "log in with a recovery code")).one()
    assert entry.details == {"remaining": 9}

    again, token = past_the_password(app, PEOPLE["owner"], address="203.0.113.9")
    assert again.post("/admin/login/code", data={
        "csrf_token": token, "code": codes[3]}).status_code == 401  # used up
    assert again.get("/admin/").status_code == 302
    assert again.post("/admin/login/code", data={
        "csrf_token": token, "code": "abcde-fghjk"}).status_code == 401  # never one
    assert again.post("/admin/login/code", data={
        "csrf_token": token, "code": codes[4]}).status_code == 302


def test_new_recovery_codes_void_the_old_ones(app: Any, people: dict[str, Organizer]) -> None:
    client, secret, old, step = turn_on(app, PEOPLE["editor"])
    token = csrf(client, "/admin/account")
    wrong = client.post("/admin/account", data={"csrf_token": token, "action": "new codes",
                                                 "code": "000000"})
    assert wrong.status_code == 422
    reply = client.post("/admin/account", data={
        "csrf_token": token, "action": "new codes",
        "code": pyotp.TOTP(secret).generate_otp(step + 1)})
    assert reply.status_code == 200
    new = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", reply.data.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert actions().count("make recovery codes") == 2

    other, token = past_the_password(app, PEOPLE["editor"])
    assert other.post("/admin/login/code", data={
        "csrf_token": token, "code": old[0]}).status_code == 401
    assert other.post("/admin/login/code", data={
        "csrf_token": token, "code": new[0]}).status_code == 302


def test_a_recovery_code_turns_the_second_factor_off_when_the_phone_is_lost(
    app: Any, people: dict[str, Organizer]
) -> None:
    client, _secret, codes, _step = turn_on(app, PEOPLE["viewer"])
    reply = client.post("/admin/account", data={
        "csrf_token": csrf(client, "/admin/account"), "action": "disable", "code": codes[0]})
    assert reply.status_code == 302
    db.session.expire_all()
    viewer = db.session.scalars(select(Organizer).where(
        Organizer.email == PEOPLE["viewer"])).one()
    assert viewer.totp_secret is None
    assert db.session.scalars(select(RecoveryCode)).all() == []  # they went with it
    assert log_in(client_at(app), PEOPLE["viewer"]).headers["Location"].endswith("/admin/")


# --- a forgotten password -------------------------------------------------------------------

def statements_during(app: Any, request: Any) -> list[str]:
    """The SQL a request runs, in order."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        request()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return seen


def test_a_forgotten_password_by_email_end_to_end(
    app: Any, sink: Sink, people: dict[str, Organizer]
) -> None:
    _client, secret, _codes, step = turn_on(app, PEOPLE["owner"])
    before = client_at(app, "198.51.100.4")
    assert log_in(before, PEOPLE["owner"]).status_code == 302  # (to the code: not logged in)
    login_page = client_at(app).get("/admin/login").data.decode()
    assert 'href="/admin/forgot"' in login_page

    asking = client_at(app)
    token = csrf(asking, "/admin/forgot")
    known: list[Any] = []
    unknown: list[Any] = []
    known_sql = statements_during(app, lambda: known.append(asking.post(
        "/admin/forgot", data={"csrf_token": token, "email": "Owner@Campaign.test "})))
    unknown_sql = statements_during(app, lambda: unknown.append(asking.post(
        "/admin/forgot", data={"csrf_token": token, "email": "nobody@campaign.test"})))
    # The same answer, and the same work (none on the accounts), whoever the address is.
    assert known[0].status_code == unknown[0].status_code == 200
    assert known[0].data == unknown[0].data and b'id="forgot-sent"' in known[0].data
    assert known_sql == unknown_sql
    assert not [s for s in known_sql if "organizer" in s.lower()]

    work(app)
    assert not [m for m in sink.received if "nobody@campaign.test" in m.rcpt_tos]
    [mail] = [m.message() for m in sink.received if m.rcpt_tos == [PEOPLE["owner"]]]
    text = mail.get_content()
    assert "for 1 hour" in text and mail["Subject"].startswith("Choose a new password")
    link = re.search(r"http://campaign\.test(/admin/reset/\S+)", text)
    assert link
    assert "send password reset link" in actions()
    assert "/admin/reset" not in mask_links(text, "http://campaign.test")  # test-mode outbox

    resetting = client_at(app)
    form = resetting.get(link.group(1))
    assert form.status_code == 200 and PEOPLE["owner"] in form.data.decode()
    token = csrf(resetting, link.group(1))
    short = resetting.post(link.group(1), data={"csrf_token": token, "password": "short",
                                                "again": "short"})
    assert short.status_code == 422 and "12 characters" in short.data.decode()
    differ = resetting.post(link.group(1), data={"csrf_token": token, "password": NEW_PASSWORD,
                                                 "again": NEW_PASSWORD + "!"})
    assert differ.status_code == 422
    done = resetting.post(link.group(1), data={"csrf_token": token, "password": NEW_PASSWORD,
                                               "again": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/login")
    assert actions()[-1] == "reset password by email"

    assert client_at(app).get(link.group(1)).status_code == 404  # once only
    assert log_in(client_at(app), PEOPLE["owner"]).status_code == 401  # the old password
    # The new password does not skip the second factor.
    after, token = past_the_password(app, PEOPLE["owner"], NEW_PASSWORD)
    assert after.get("/admin/").status_code == 302
    assert after.post("/admin/login/code", data={
        "csrf_token": token, "code": pyotp.TOTP(secret).generate_otp(step + 1)}
    ).status_code == 302
    assert after.get("/admin/").status_code == 200


def test_a_link_made_before_another_reset_dies_with_it(
    app: Any, sink: Sink, people: dict[str, Organizer]
) -> None:
    asking = client_at(app)
    token = csrf(asking, "/admin/forgot")
    for _ in range(2):
        asking.post("/admin/forgot", data={"csrf_token": token, "email": PEOPLE["editor"]})
    work(app)
    links = [re.search(r"http://campaign\.test(/admin/reset/\S+)", m.message().get_content())
             for m in sink.received if m.rcpt_tos == [PEOPLE["editor"]]]
    assert len(links) == 2 and all(links)
    first, second = (found.group(1) for found in links if found)
    client = client_at(app)
    client.post(second, data={"csrf_token": csrf(client, second), "password": NEW_PASSWORD,
                              "again": NEW_PASSWORD})
    assert client_at(app).get(first).status_code == 404
    assert client_at(app).get("/admin/reset/not-a-token").status_code == 404


def test_links_asked_for_are_limited_per_address_and_per_source(
    app: Any, sink: Sink, people: dict[str, Organizer]
) -> None:
    def ask(address: str, email: str) -> int:
        client = client_at(app, address)
        return int(client.post("/admin/forgot", data={
            "csrf_token": csrf(client, "/admin/forgot"), "email": email}).status_code)

    # One inbox gets three links an hour, however many places ask (and however spelled).
    spellings = [PEOPLE["viewer"], PEOPLE["viewer"].upper(), "viewer+x@campaign.test",
                 PEOPLE["viewer"]]
    assert [ask(f"203.0.113.{n}", e) for n, e in enumerate(spellings)] == [200] * 3 + [429]
    # One source asks five times a minute, whatever the addresses.
    assert [ask("198.51.100.7", f"someone{n}@example.org") for n in range(6)] == \
        [200] * 5 + [429]
    work(app)
    assert len([m for m in sink.received if m.rcpt_tos == [PEOPLE["viewer"]]]) == 3


# --- the audit log --------------------------------------------------------------------------

def _recorded_actions() -> set[str]:
    """Every action the code records: audit.record's second argument, its literal strings
    (a conditional's both), or, when it is a parameter, the literals its callers pass."""
    found: set[str] = set()
    for path in (ROOT / "advocacy").rglob("*.py"):
        tree = ast.parse(Path(path).read_text())
        functions = {f.name: f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)}
        for function in functions.values():
            for call in ast.walk(function):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr == "record" and isinstance(call.func.value, ast.Name)
                        and call.func.value.id == "audit"):
                    continue
                action = call.args[1]
                if isinstance(action, ast.Name):  # a parameter: what callers pass
                    position = [a.arg for a in function.args.args].index(action.id)
                    action = ast.Tuple(elts=[c.args[position] for c in ast.walk(tree)
                                             if isinstance(c, ast.Call)
                                             and isinstance(c.func, ast.Name)
                                             and c.func.id == function.name])
                found |= _literals(action)
    return found


def _literals(node: ast.expr) -> set[str]:
    """The strings an expression may be: a literal, either side of a conditional."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _literals(node.body) | _literals(node.orelse)
    if isinstance(node, ast.Tuple):
        return set().union(*(_literals(e) for e in node.elts))
    return set()


def test_every_recorded_action_has_its_sentence() -> None:
    recorded = _recorded_actions()
    assert len(recorded) > 35 and {"release letters", "pause official"} <= recorded
    assert sorted(recorded - set(SENTENCES)) == []


def test_the_audit_log_reads_as_sentences(app: Any, people: dict[str, Organizer]) -> None:
    owner = people["owner"]
    audit.record(owner, "pause official", "un-sr-torture")
    audit.record(owner, "release letters", "3 letters", reason="checked by hand",
                 letters=[4, 5, 6])
    audit.record(owner, "import officials", "officials.csv", added=["gov-se-pm"],
                 changed={"eu-ep-president": ["email", "contact_url"]}, unchanged=40)
    audit.record(owner, "edit official", "un-wgad", unverified=True,
                 email=["old@un.test", "new@un.test"])
    audit.record(None, "complaint received", "un-wgad", letter=7, kind="letter",
                 reason="abuse report", paused=True)
    audit.record(owner, "tidy the widgets", "w-1", how_many=2)  # unknown to this version
    db.session.commit()
    client = client_at(app)
    log_in(client, PEOPLE["owner"])
    page = html.unescape(client.get("/admin/audit").data.decode())
    who = PEOPLE["owner"]
    for said in (f"{who} paused the office un-sr-torture.", f"{who} released 3 letters.",
                 f"{who} imported offices from officials.csv.",
                 f"{who} changed the office un-wgad.",
                 "Someone at the office un-wgad marked a letter as spam: the office is paused.",
                 f"{who} logged in.", f"{who}: tidy the widgets, w-1."):
        assert said in page, said
    assert "<dt>Letters (ids)</dt><dd>4, 5, 6</dd>" in page
    assert "<dt>Changed</dt><dd>eu-ep-president: email, contact_url</dd>" in page
    assert "<dt>Email address</dt><dd>old@un.test → new@un.test</dd>" in page
    assert "<dt>Address no longer checked</dt><dd>yes</dd>" in page
    assert "<dt>How many</dt><dd>2</dd>" in page  # an unknown name, readable all the same
    main = page.split('id="audit-entries"')[1]
    assert "['" not in main and "{'" not in main and "': " not in main  # no Python reprs
