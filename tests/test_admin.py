"""/admin: who may do what, logging in (with the second factor), sessions, invitations."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

from advocacy.accounts import RANKS, authenticate
from advocacy.cli import set_organizer
from advocacy.extensions import db
from advocacy.models import AuditEntry, Organizer, Role
from advocacy.sink import Sink

from conftest import csrf_token, work

PASSWORD = "correct horse battery"
PEOPLE = {role: f"{role}@campaign.test" for role in ("viewer", "editor", "owner")}


@pytest.fixture
def people(app: Any) -> dict[str, Organizer]:
    return {role: set_organizer(email, PASSWORD, role) for role, email in PEOPLE.items()}


def csrf(client: Any, path: str = "/admin/login") -> str:
    return csrf_token(client.get(path).data)


def log_in(client: Any, email: str, password: str = PASSWORD) -> Any:
    return client.post("/admin/login", data={"email": email, "password": password,
                                             "csrf_token": csrf(client)})


def admin_routes(app: Any) -> list[tuple[str, str, Any]]:
    """(method, url, required role) of every admin route, with sample path arguments."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        view = app.view_functions[rule.endpoint]
        assert hasattr(view, "required_role"), f"{rule.endpoint}: neither @requires nor @public"
        url = re.sub(r"<int:\w+>", "1", re.sub(r"<(?:string:)?\w+>", "x", rule.rule))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, url, view.required_role))
    assert len(routes) > 10
    return routes


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
        if RANKS[Role(role)] > RANKS[Role(who)]:
            assert reply.status_code == 403, (who, method, url)
            refused += 1
        else:
            assert reply.status_code not in (401, 403), (who, method, url)
    assert refused > 0


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


def test_logins_are_limited_per_account(app: Any, people: dict[str, Organizer]) -> None:
    statuses = []
    for n in range(11):
        client = app.test_client()
        statuses.append(log_in(client, PEOPLE["owner"], f"guess number {n}").status_code)
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    assert log_in(app.test_client(), PEOPLE["owner"]).status_code == 429  # even the right one


def test_the_session_cookie_is_http_only_and_same_site(client: Any,
                                                       people: dict[str, Organizer]) -> None:
    reply = log_in(client, PEOPLE["viewer"])
    cookie = reply.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_second_factor(app: Any, people: dict[str, Organizer]) -> None:
    client = app.test_client()
    log_in(client, PEOPLE["owner"])
    page = client.get("/admin/account").data.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    token = csrf(client, "/admin/account")
    assert client.post("/admin/account", data={"csrf_token": token, "action": "enable",
                                               "code": "000000"}).status_code == 422
    code = pyotp.TOTP(secret).now()
    assert client.post("/admin/account", data={"csrf_token": token, "action": "enable",
                                               "code": code}).status_code == 302
    assert client.get("/admin/").status_code == 200  # this session stays

    other = app.test_client()
    reply = log_in(other, PEOPLE["owner"])
    assert reply.status_code == 302 and "/admin/login/code" in reply.headers["Location"]
    assert other.get("/admin/").status_code == 302  # the password alone opens nothing
    token = csrf(other, "/admin/login/code")
    assert other.post("/admin/login/code", data={"csrf_token": token,
                                                 "code": "123456"}).status_code == 401
    reply = other.post("/admin/login/code", data={"csrf_token": token,
                                                  "code": pyotp.TOTP(secret).now()})
    assert reply.status_code == 302 and other.get("/admin/").status_code == 200


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
    assert "change role" in audit and "before: editor; after: viewer" in audit


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
    assert "must have an @-sign" in refused.output
    assert db.session.scalar(select(Organizer).where(Organizer.email.contains("not-an"))) is None
