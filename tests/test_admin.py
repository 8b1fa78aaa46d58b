"""/admin: who may do what, logging in (with the second factor), sessions, invitations."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest
from sqlalchemy import select, text

from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.models import AuditEntry, Organizer, Role
from advocacy.organizers.accounts import (
    INVITATION_LIFE,
    RANKS,
    accept_invitation,
    authenticate,
    invite,
)

from helpers import PASSWORD, PEOPLE, admin_routes, csrf, log_in, make_partner_account, work


def test_every_admin_route_refuses_anonymous_visitors(app: Any, client: Any) -> None:
    token = csrf(client)
    for method, url, role in admin_routes(app):
        if role is None:
            continue
        reply = client.open(url, method=method, data={"csrf_token": token})
        if method == "GET":
            assert reply.status_code == 302 and "/admin/login" in reply.headers["Location"], url
        else:
            assert reply.status_code == 401, (method, url)


@pytest.mark.parametrize("who", ["viewer", "editor"])
def test_every_admin_route_refuses_roles_below_its_own(
    app: Any, people: dict[str, Organizer], who: str
) -> None:
    client = app.test_client()
    assert log_in(client, PEOPLE[who]).status_code == 302
    token = csrf(client, "/admin/account")
    refused = 0
    for method, url, role in admin_routes(app):
        if role is None or url in ("/admin/logout", "/admin/logout-everywhere"):
            continue
        reply = client.open(url, method=method, data={"csrf_token": token})
        if role == Role.PARTNER or RANKS[Role(role)] > RANKS[Role(who)]:
            assert reply.status_code == 403, (who, method, url)
            refused += 1
        else:
            assert reply.status_code not in (401, 403), (who, method, url)
    assert refused > 0


def test_every_admin_route_refuses_a_partner_account_but_its_own(
    app: Any, people: dict[str, Organizer]
) -> None:
    """A partner account is no viewer: every organizer's page and action answers 403; its
    own page, its download and its own account's pages are all it opens."""
    client = app.test_client()
    make_partner_account("partner@ngo.test", "ngo")
    reply = log_in(client, "partner@ngo.test")
    assert reply.status_code == 302 and reply.headers["Location"] == "/admin/partner"
    token = csrf(client, "/admin/account")
    refused, opened = 0, []
    for method, url, role in admin_routes(app):
        if role is None or url in ("/admin/logout", "/admin/logout-everywhere"):
            continue
        reply = client.open(url, method=method, data={"csrf_token": token})
        if role == Role.PARTNER or url == "/admin/account":
            assert reply.status_code not in (401, 403), (method, url)
            opened.append(url)
        else:
            assert reply.status_code == 403, (method, url, reply.status_code)
            refused += 1
    assert refused > 40 and sorted(set(opened)) == [
        "/admin/account", "/admin/partner", "/admin/partner/opt-ins.csv"]
    # An owner is refused the partner account's pages (theirs are under /admin/partners).
    owner = app.test_client()
    log_in(owner, PEOPLE["owner"])
    assert owner.get("/admin/partner").status_code == 403


def test_every_admin_form_needs_its_csrf_token(app: Any, people: dict[str, Organizer]) -> None:
    client = app.test_client()
    log_in(client, PEOPLE["owner"])
    posts = [url for method, url, role in admin_routes(app) if method == "POST" and role]
    for url in posts:
        reply = client.post(url, data={"role": "viewer", "email": "x@example.org"})
        assert reply.status_code == 400, url
    assert db.session.scalar(select(Organizer.role).where(
        Organizer.email == PEOPLE["owner"])) == "owner"
    # And the login form itself.
    assert app.test_client().post("/admin/login", data={
        "email": PEOPLE["owner"], "password": PASSWORD}).status_code == 400


def test_a_wrong_password_says_so_and_opens_nothing(client: Any,
                                                    people: dict[str, Organizer]) -> None:
    reply = log_in(client, PEOPLE["owner"], "wrong password!")
    assert reply.status_code == 401 and "wrong" in reply.data.decode()
    assert log_in(client, "nobody@campaign.test").status_code == 401
    assert client.get("/admin/").status_code == 302
    reply = log_in(client, PEOPLE["owner"].upper())
    assert reply.status_code == 302 and client.get("/admin/").status_code == 200
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "log in" in actions


def from_address(app: Any, address: str) -> Any:
    """A browser at this IP address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_failed_logins_are_limited_per_account_and_source_and_lock_nobody_out(
    app: Any, people: dict[str, Organizer]
) -> None:
    statuses = [log_in(from_address(app, "203.0.113.7"), PEOPLE["owner"], f"guess {n}")
                .status_code for n in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    # The guesser's source stays refused, even with the right password...
    assert log_in(from_address(app, "203.0.113.7"), PEOPLE["owner"]).status_code == 429
    # ...but the owner, from where nobody failed, gets in: failing on purpose locks no one out.
    assert log_in(from_address(app, "198.51.100.2"), PEOPLE["owner"]).status_code == 302
    # Guessing other accounts from the same source meets the per-source limit soon.
    others = [log_in(from_address(app, "203.0.113.7"), f"someone{n}@campaign.test",
                     "guess").status_code for n in range(3)]
    assert others == [429] * 3  # 12 tries this minute from there, over 10/minute


def test_the_session_cookie_is_http_only_and_same_site(client: Any,
                                                       people: dict[str, Organizer]) -> None:
    reply = log_in(client, PEOPLE["viewer"])
    cookie = reply.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def turn_on_second_factor(app: Any, email: str) -> tuple[Any, str, int]:
    """A client logged in as this organizer, who turned the second factor on: the client, the
    secret, and the time step of the code it used."""
    client = app.test_client()
    log_in(client, email)
    page = client.get("/admin/account").data.decode()
    secret = totp_key(page)
    assert re.search(r'id="totp-qr"[^>]*><svg ', page)  # no typing 32 letters
    token = csrf(client, "/admin/account")
    assert client.post("/admin/account", data={"csrf_token": token, "action": "enable",
                                               "code": "000000"}).status_code == 422
    totp = pyotp.TOTP(secret)
    step = totp.timecode(datetime.now(UTC))
    reply = client.post("/admin/account", data={"csrf_token": token, "action": "enable",
                                                "code": totp.generate_otp(step)})
    assert reply.status_code == 200 and 'id="recovery-codes"' in reply.data.decode()
    return client, secret, step


def totp_key(page: str) -> str:
    """The key the account page shows to type by hand (in groups of four)."""
    found = re.search(r'id="totp-key">([A-Z2-7 ]+)<', page)
    assert found
    return found.group(1).replace(" ", "")


def password_then(app: Any, email: str, address: str = "127.0.0.1") -> tuple[Any, str]:
    """A client past the password, asked for the code; and the code form's CSRF token."""
    client = from_address(app, address)
    reply = log_in(client, email)
    assert reply.status_code == 302 and "/admin/login/code" in reply.headers["Location"]
    return client, csrf(client, "/admin/login/code")


def test_the_second_factor(app: Any, people: dict[str, Organizer]) -> None:
    client, secret, step = turn_on_second_factor(app, PEOPLE["owner"])
    assert client.get("/admin/").status_code == 200  # this session stays

    other, token = password_then(app, PEOPLE["owner"])
    assert other.get("/admin/").status_code == 302  # the password alone opens nothing
    assert other.post("/admin/login/code", data={"csrf_token": token,
                                                 "code": "123456"}).status_code == 401
    reply = other.post("/admin/login/code", data={
        "csrf_token": token, "code": pyotp.TOTP(secret).generate_otp(step + 1)})
    assert reply.status_code == 302 and other.get("/admin/").status_code == 200


def test_a_second_factor_code_is_good_once(app: Any, people: dict[str, Organizer]) -> None:
    _client, secret, step = turn_on_second_factor(app, PEOPLE["owner"])
    totp = pyotp.TOTP(secret)
    seen, token = password_then(app, PEOPLE["owner"])
    # The code typed to turn it on, seen over a shoulder: no use any more.
    assert seen.post("/admin/login/code", data={
        "csrf_token": token, "code": totp.generate_otp(step)}).status_code == 401
    assert seen.post("/admin/login/code", data={
        "csrf_token": token, "code": totp.generate_otp(step + 1)}).status_code == 302
    again, token = password_then(app, PEOPLE["owner"])
    assert again.post("/admin/login/code", data={
        "csrf_token": token, "code": totp.generate_otp(step + 1)}).status_code == 401
    assert again.get("/admin/").status_code == 302


def test_second_factor_codes_are_limited_per_account(app: Any,
                                                     people: dict[str, Organizer]) -> None:
    """Whoever has the password tries ten codes an hour, from however many addresses."""
    _client, secret, step = turn_on_second_factor(app, PEOPLE["owner"])
    statuses = []
    for n in range(11):
        client, token = password_then(app, PEOPLE["owner"], f"203.0.113.{n + 1}")
        statuses.append(client.post("/admin/login/code", data={
            "csrf_token": token, "code": f"{n:06d}"}).status_code)
    assert statuses == [401] * 10 + [429]


def test_second_factor_secrets_are_encrypted_and_the_pending_one_stays_on_the_server(
    app: Any, people: dict[str, Organizer]
) -> None:
    client = app.test_client()
    log_in(client, PEOPLE["editor"])
    page = client.get("/admin/account").data.decode()
    pending = totp_key(page)
    cookie = client.get_cookie("session")
    assert cookie is not None
    readable = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    assert pending not in json.dumps(readable)  # the cookie is signed, not secret
    assert pending in client.get("/admin/account").data.decode()  # the same key, kept

    _owner, secret, _step = turn_on_second_factor(app, PEOPLE["owner"])
    raw = db.session.execute(text("SELECT totp_secret, totp_pending FROM organizer")).all()
    stored = [value for row in raw for value in row if value]
    assert stored and not [v for v in stored if secret in v or pending in v]
    db.session.expire_all()
    owner = db.session.scalars(select(Organizer).where(Organizer.email == PEOPLE["owner"])).one()
    assert owner.totp_secret == secret and owner.totp_pending is None


def test_a_cookie_copied_before_logging_out_opens_nothing_after(
    app: Any, people: dict[str, Organizer]
) -> None:
    here = app.test_client()
    log_in(here, PEOPLE["owner"])
    other = app.test_client()
    log_in(other, PEOPLE["owner"])  # another browser of the same organizer
    cookie = here.get_cookie("session")
    assert cookie is not None
    copied = cookie.value
    thief = app.test_client()
    thief.set_cookie("session", copied, domain=cookie.domain)
    assert thief.get("/admin/").status_code == 200  # a copy works while the session lasts
    assert here.post("/admin/logout", data={
        "csrf_token": csrf(here, "/admin/account")}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", copied, domain=cookie.domain)
    assert replay.get("/admin/").status_code == 302
    assert thief.get("/admin/organizers").status_code == 302
    assert other.get("/admin/").status_code == 200  # logging out here ends this session only


def test_log_out_everywhere(app: Any, people: dict[str, Organizer]) -> None:
    here, there = app.test_client(), app.test_client()
    log_in(here, PEOPLE["editor"])
    log_in(there, PEOPLE["editor"])
    assert there.get("/admin/").status_code == 200
    here.post("/admin/logout-everywhere", data={"csrf_token": csrf(here, "/admin/account")})
    assert there.get("/admin/").status_code == 302
    assert here.get("/admin/").status_code == 302
    assert log_in(there, PEOPLE["editor"]).status_code == 302  # a new login works


def test_an_invitation_by_email_makes_an_account_once(
    app: Any, client: Any, sink: Sink, people: dict[str, Organizer]
) -> None:
    log_in(client, PEOPLE["owner"])
    token = csrf(client, "/admin/organizers")
    reply = client.post("/admin/organizers/invite", data={
        "csrf_token": token, "email": "New.Editor@Example.org", "role": "editor"})
    assert reply.status_code == 302
    work(app)
    [mail] = [m.message() for m in sink.received if m.rcpt_tos == ["new.editor@example.org"]]
    link = re.search(r"http://campaign\.test(/admin/invitation/\S+)", mail.get_content())
    assert link
    assert f"works once, for {INVITATION_LIFE.days} days):" in mail.get_content()
    newcomer = app.test_client()
    page = newcomer.get(link.group(1))
    assert page.status_code == 200 and "editor" in page.data.decode()
    token = csrf(newcomer, link.group(1))
    short = newcomer.post(link.group(1), data={"csrf_token": token, "password": "short",
                                               "again": "short"})
    assert short.status_code == 422 and "12 characters" in short.data.decode()
    reply = newcomer.post(link.group(1), data={"csrf_token": token, "password": PASSWORD,
                                               "again": PASSWORD})
    assert reply.status_code == 302 and newcomer.get("/admin/").status_code == 200
    assert app.test_client().get(link.group(1)).status_code == 404  # once only
    role = db.session.scalar(select(Organizer.role).where(
        Organizer.email == "new.editor@example.org"))
    assert role == "editor"


def test_a_second_invitation_to_an_address_that_has_an_account_says_so(
    app: Any, people: dict[str, Organizer]
) -> None:
    owner = people["owner"]
    _first, token = invite(owner, "twice@example.org", "editor")
    _second, again = invite(owner, "twice@example.org", "owner")
    newcomer = app.test_client()
    form = {"csrf_token": csrf(newcomer, f"/admin/invitation/{token}"), "password": PASSWORD,
            "again": PASSWORD}
    assert newcomer.post(f"/admin/invitation/{token}", data=form).status_code == 302

    late = app.test_client()
    page = late.get(f"/admin/invitation/{again}")
    assert page.status_code == 409
    assert "already an account for twice@example.org" in page.data.decode()
    assert "log in with it" in page.data.decode()
    # Opened before the first was accepted, sent after: the same answer, no account changed.
    reply = late.post(f"/admin/invitation/{again}", data={**form, "csrf_token": csrf(late)})
    assert reply.status_code == 409 and "already an account" in reply.data.decode()
    roles = db.session.scalars(select(Organizer.role).where(
        Organizer.email == "twice@example.org")).all()
    assert roles == ["editor"]


def test_accepting_an_invitation_revokes_the_others_to_that_address(
    app: Any, people: dict[str, Organizer]
) -> None:
    first, token = invite(people["owner"], "once@example.org", "viewer")
    second, _again = invite(people["owner"], "once@example.org", "viewer")
    accept_invitation(token, PASSWORD)
    db.session.expire_all()
    assert first.accepted_at is not None and second.revoked_at is not None


def test_a_role_change_applies_at_once_and_one_owner_always_stays(
    app: Any, people: dict[str, Organizer]
) -> None:
    owner, editor = app.test_client(), app.test_client()
    log_in(owner, PEOPLE["owner"])
    log_in(editor, PEOPLE["editor"])
    token = csrf(owner, "/admin/organizers")
    owner.post(f"/admin/organizers/{people['editor'].id}/role",
               data={"csrf_token": token, "role": "viewer"})
    assert editor.get("/admin/").status_code == 302  # logged out: the new role needs a login
    owner.post(f"/admin/organizers/{people['owner'].id}/role",
               data={"csrf_token": token, "role": "viewer"})
    assert db.session.scalar(select(Organizer.role).where(
        Organizer.email == PEOPLE["owner"])) == "owner"
    page = owner.get("/admin/organizers").data.decode()
    assert "at least one owner" in page
    audit = owner.get("/admin/audit").data.decode()
    assert "owner@campaign.test made editor@campaign.test viewer (was editor)." in audit


def test_what_organizers_type_is_escaped_in_the_admin(
    app: Any, client: Any, people: dict[str, Organizer]
) -> None:
    log_in(client, PEOPLE["owner"])
    token = csrf(client, "/admin/organizers")
    client.post("/admin/organizers/invite", data={
        "csrf_token": token, "email": "<script>alert(1)</script>@example.org", "role": "viewer"})
    page = client.get("/admin/organizers").data.decode()
    assert "<script>alert(1)" not in page


def test_create_organizer_normalises_the_address_as_an_invitation_does(runner: Any) -> None:
    made = runner.invoke(args=["create-organizer", " New.Owner@Example.ORG ", "--password",
                               PASSWORD])
    assert made.exit_code == 0, made.output
    assert "organizer new.owner@example.org (owner) ready" in made.output
    assert authenticate("new.owner@example.org", PASSWORD) is not None
    generated = runner.invoke(args=["create-organizer", "Viewer@Example.org", "--role", "viewer"])
    assert generated.exit_code == 0, generated.output
    password = re.search(r"password: (\S+)", generated.output)
    assert password and authenticate("viewer@example.org", password.group(1)) is not None

    refused = runner.invoke(args=["create-organizer", "not-an-address", "--password", PASSWORD])
    assert refused.exit_code == 2 and "EMAIL" in refused.output
    assert "It needs an @ sign" in refused.output  # (email_reasons, in English here)
    assert db.session.scalar(select(Organizer).where(Organizer.email.contains("not-an"))) is None
