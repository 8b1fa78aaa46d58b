"""Partners: records with their snippet and figures; partner accounts; supporters' opt-ins to
hear from a partner (or from the campaign: its newsletter), recorded once the address is
confirmed, kept through the letters' scrub, withdrawn or erased by the supporter, and
downloaded by their own partner (or, the newsletter's, by owners) alone."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from sqlalchemy import func, select, text

from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.models import AuditEntry, Letter, OptIn, Partner, Submission, Supporter

from helpers import (
    GOOD,
    ONE_DATABASE,
    PEOPLE,
    csrf,
    csrf_token,
    log_in,
    make_partner_account,
    submission,
    work,
)


def partner(ref: str, name: str) -> Partner:
    row = Partner(name=name, ref=ref)
    db.session.add(row)
    db.session.commit()
    return row


def person(name: str, email: str) -> dict[str, str]:
    return {"name": name, "email": email, "city": "Lyon", "country": "FR"}


def confirm_latest(app: Any, client: Any, sink: Sink, address: str, shows: str = "") -> None:
    """Run the queue, then follow the newest confirmation link mailed to `address` (whose
    page, before the button, `shows` this)."""
    work(app)
    mails = [m for m in sink.received
             if m.rcpt_tos == [address] and "confirm" in m.message()["Subject"].lower()]
    assert mails, [m.rcpt_tos for m in sink.received]
    match = re.search(r"https?://[^/\s]+(/confirm/\S+)", mails[-1].message().get_content())
    assert match
    assert shows in client.get(match.group(1)).data.decode()
    assert client.post(match.group(1)).status_code == 200


def opt_ins() -> list[tuple[str | None, str | None, str | None]]:
    """(partner ref, email, notice version) of every standing opt-in."""
    rows = db.session.execute(
        select(Partner.ref, OptIn.email, OptIn.notice_version)
        .outerjoin(Partner, OptIn.partner_id == Partner.id)
        .where(OptIn.withdrawn_at.is_(None)).order_by(OptIn.id))
    return [tuple(row) for row in rows]  # type: ignore[misc]


def write(client: Any, name: str, email: str, ref: str | None, **changes: Any) -> Any:
    data = submission(supporter=person(name, email), **changes)
    if ref is None:
        data.pop("ref")
    else:
        data["ref"] = ref
    reply = client.post("/api/letters", json=data)
    assert reply.status_code == 202, reply.json
    return reply


# --- partners as records ------------------------------------------------------------------

@ONE_DATABASE
def test_editors_add_and_edit_partners_each_with_its_snippet(
    app: Any, people: dict[str, Any]
) -> None:
    editor = app.test_client()
    log_in(editor, PEOPLE["editor"])
    token = csrf(editor, "/admin/partners")
    bad = editor.post("/admin/partners", data={
        "name": "", "ref": "Not A Ref", "site_url": "javascript:alert(1)",
        "contact_email": "nope", "csrf_token": token})
    assert bad.status_code == 422
    page = bad.data.decode()
    assert "A name is needed" in page and "lowercase letters" in page and "https://" in page
    assert db.session.scalar(select(func.count(Partner.id))) == 0

    added = editor.post("/admin/partners", data={
        "name": "Solidarité Azat", "ref": "solidarite-freeazat",
        "site_url": "https://solidarite.example", "contact_email": "hello@solidarite.example",
        "csrf_token": token})
    assert added.status_code == 302
    row = db.session.scalars(select(Partner)).one()
    page = editor.get(added.headers["Location"]).data.decode()
    # The snippet is shown as text to copy, escaped once, with the partner's ref in it.
    assert ("&lt;iframe id=&#34;advocacy-free-azat-miftakhov-solidarite-freeazat&#34;"
            " src=&#34;http://campaign.test/c/free-azat-miftakhov/widget"
            "?ref=solidarite-freeazat&amp;amp;lang=en&#34;") in page
    # with the script that sizes the frame, taking heights from this site's origin only
    assert "e.origin===&#34;http://campaign.test&#34;" in page
    assert "<script>addEventListener" not in page
    assert "/c/free-azat-miftakhov/badge.svg?lang=en" in page
    assert "<iframe" not in page

    again = editor.post("/admin/partners", data={"name": "Other", "ref": "solidarite-freeazat",
                                                  "csrf_token": token})
    assert again.status_code == 422 and "Another partner has this ref" in again.data.decode()
    saved = editor.post(f"/admin/partners/{row.id}", data={
        "name": "Solidarité avec Azat", "ref": "solidarite-freeazat", "site_url": "",
        "contact_email": "", "csrf_token": token})
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(Partner, row.id).name == "Solidarité avec Azat"  # type: ignore[union-attr]
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert "add partner" in actions and "edit partner" in actions

    viewer = app.test_client()
    log_in(viewer, PEOPLE["viewer"])
    assert viewer.get("/admin/partners").status_code == 403
    assert viewer.get(f"/admin/partners/{row.id}").status_code == 403


# --- the box on the form, and opt-ins recorded on confirmation ----------------------------

@ONE_DATABASE
def test_the_form_and_widget_offer_the_partner_box_only_with_a_partners_ref(
    client: Any,
) -> None:
    partner("amnesty-lyon", "Amnesty Lyon")
    for path in ("/?ref=amnesty-lyon", "/widget?ref=amnesty-lyon"):
        page = client.get(path).data.decode()
        box = re.search(r'<input type="checkbox" id="partner_optin"[^>]*>', page)
        assert box and "checked" not in box.group(0), path  # explicit: never ticked for them
        assert "Optional: Amnesty Lyon may email me about its campaigns" in page
    for path in ("/", "/?ref=someone-else", "/widget"):
        assert 'id="partner_optin"' not in client.get(path).data.decode(), path
    french = client.get("/?ref=amnesty-lyon&lang=fr").data.decode()
    assert "Amnesty Lyon peut m’écrire au sujet de ses campagnes" in french
    assert "Facultatif" in french
    # A partner's name is text, whatever an editor typed.
    partner("bold", '<b>Bold</b> & "Co"')
    page = client.get("/?ref=bold").data.decode()
    assert "<b>Bold</b>" not in page and "&lt;b&gt;Bold&lt;/b&gt; &amp;" in page


def test_opt_ins_wait_for_the_confirmation_then_are_kept_sealed(
    app: Any, client: Any, sink: Sink
) -> None:
    ngo = partner("ngo-one", "NGO One")
    write(client, "Ada Byron", "ada@example.org", "ngo-one", partner_optin=True,
          newsletter=True)
    # Unconfirmed: anyone could have typed this address; nobody may write to it yet.
    assert opt_ins() == []
    confirm_latest(app, client, sink, "ada@example.org", shows=(
        "<li>the campaign may email you news of this appeal;</li>\n  <li>NGO One may email you"
        " about its campaigns, and receives your name and email address for that.</li>"))
    assert opt_ins() == [(None, "ada@example.org", "builtin-4-supporter"),
                         ("ngo-one", "ada@example.org", "builtin-4-supporter")]
    stored = db.session.execute(text("SELECT email, name FROM opt_in")).all()
    assert all("ada" not in str(value).lower() for row in stored for value in row)
    row = db.session.scalars(select(OptIn).where(OptIn.partner_id == ngo.id)).one()
    assert row.name == "Ada Byron" and row.consented_at <= row.confirmed_at

    # A ref that is no partner's: the box was not offered, the API's flag is ignored.
    write(client, "Bo", "bo@example.org", "not-a-partner", partner_optin=True)
    confirm_latest(app, client, sink, "bo@example.org")
    # Without the flag, no opt-in for the partner whose page it was.
    write(client, "Cy", "cy@example.org", "ngo-one")
    confirm_latest(app, client, sink, "cy@example.org")
    assert len(opt_ins()) == 2
    refused = client.post("/api/letters", json=submission(partner_optin="yes"))
    assert refused.status_code == 422 and "partner_optin" in refused.json["errors"]


@ONE_DATABASE
def test_opt_ins_through_the_page_and_the_widget(app: Any, client: Any, sink: Sink) -> None:
    partner("ngo-one", "NGO One")
    page = client.get("/?ref=ngo-one")
    form = {**GOOD, "csrf_token": csrf_token(page.data), "ref": "ngo-one",
            "email": "page@example.org", "partner_optin": "yes"}
    assert client.post("/", data=form).status_code == 200
    widget = {**GOOD, "ref": "ngo-one", "email": "widget@example.org", "partner_optin": "yes",
              "newsletter": "yes"}
    assert client.post("/widget", data=widget).status_code == 200
    unticked = {**GOOD, "ref": "ngo-one", "email": "unticked@example.org"}
    assert client.post("/widget", data=unticked).status_code == 200
    for address in ("page@example.org", "widget@example.org", "unticked@example.org"):
        confirm_latest(app, client, sink, address)
    assert sorted(opt_ins(), key=str) == sorted([
        ("ngo-one", "page@example.org", "builtin-4-supporter"),
        ("ngo-one", "widget@example.org", "builtin-4-supporter"),
        (None, "widget@example.org", "builtin-4-supporter")], key=str)


@ONE_DATABASE
def test_one_address_writes_once_per_official_whichever_partner_it_came_through(
    app: Any, client: Any, sink: Sink
) -> None:
    partner("ngo-one", "NGO One")
    partner("ngo-two", "NGO Two")
    first = write(client, "Ada", "ada@example.org", "ngo-one")
    confirm_latest(app, client, sink, "ada@example.org")
    letters = db.session.scalar(select(func.count(Letter.id)))
    assert letters == len(first.json["officials"]) > 0
    # The same inbox, spelled otherwise, through the other partner: the same answer, and
    # not one more letter; the inbox alone learns that it had written already.
    second = write(client, "Ada", "Ada+two@Example.org", "ngo-two", partner_optin=True)
    assert second.json == first.json
    work(app)
    assert db.session.scalar(select(func.count(Letter.id))) == letters
    mails = [m.message() for m in sink.received
             if m.rcpt_tos == ["ada@example.org"]]  # (the inbox as it first wrote)
    assert len(mails) == 2 and "confirm" in mails[0]["Subject"].lower()
    assert "confirm" not in mails[1]["Subject"].lower()
    # Its box to hear from the second partner is all it holds to confirm: the email says so,
    # and confirming records that opt-in alone.
    text = mails[1].get_content()
    assert "Nothing is recorded until you confirm it here:" in text
    assert "There is nothing new to confirm." not in text
    link = re.search(r"https?://[^/\s]+(/confirm/\S+)", text)
    assert link and "Confirm your choice" in client.get(link.group(1)).data.decode()
    assert opt_ins() == []
    assert client.post(link.group(1)).status_code == 200
    assert opt_ins() == [("ngo-two", "ada@example.org", "builtin-4-supporter")]
    assert db.session.scalar(select(func.count(Letter.id))) == letters
    # A third time, with no box ticked: nothing at all to confirm, nothing kept.
    write(client, "Ada", "ada@example.org", "ngo-two")
    work(app)
    assert db.session.scalar(select(func.count(Submission.id)).where(
        Submission.ref == "ngo-two")) == 1


# --- downloads: a partner's own, the campaign's own for owners -----------------------------

def _rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode())))


def test_a_partner_account_sees_and_downloads_only_its_own(
    app: Any, client: Any, sink: Sink, people: dict[str, Any]
) -> None:
    one = make_partner_account("account@ngo-one.test", "ngo-one", "NGO One")
    partner("ngo-two", "NGO Two")
    write(client, "=SUM(1+1)", "formula@example.org", "ngo-one", partner_optin=True)
    write(client, "Two's", "two@example.org", "ngo-two", partner_optin=True, newsletter=True)
    write(client, "News Only", "news@example.org", "ngo-one", newsletter=True)
    write(client, "Unconfirmed", "later@example.org", "ngo-one", partner_optin=True)
    for address in ("formula@example.org", "two@example.org", "news@example.org"):
        confirm_latest(app, client, sink, address)
    work(app)  # the letters go out

    account = app.test_client()
    landing = log_in(account, "account@ngo-one.test")
    assert landing.headers["Location"] == "/admin/partner"
    page = account.get("/admin/partner").data.decode()
    assert "formula@example.org" in page
    for other in ("two@example.org", "news@example.org", "later@example.org"):
        assert other not in page
    figures = dict(re.findall(r'<th scope="row">([^<]+)</th><td class="num">(\d+)</td>', page))
    sent = db.session.scalar(select(func.count(Letter.id)).join(Submission).where(
        Submission.ref == "ngo-one", Letter.status == "sent"))
    assert sent and figures == {
        "Submissions": "3", "Confirmed by email": "2", "Letters delivered": str(sent),
        "Supporters who want to hear from NGO One": "1", "Withdrew since": "0"}

    download = account.get("/admin/partner/opt-ins.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.headers["Cache-Control"] == "no-store"
    rows = _rows(download.data)
    assert rows[0] == ["name", "email", "consented_at", "confirmed_at", "privacy_notice_version"]
    assert [r[:2] for r in rows[1:]] == [["'=SUM(1+1)", "formula@example.org"]]  # inert
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "download opt-ins")).one()
    assert entry.organizer_email == "account@ngo-one.test" and entry.details["count"] == 1
    assert entry.details["partner"] == "ngo-one"
    # Nothing else: no letters, no other partner, no campaign-wide figures.
    for url in ("/admin/", "/admin/export.csv", "/admin/letters", "/admin/newsletter.csv",
                "/admin/partners", f"/admin/partners/{one.id}"):
        assert account.get(url).status_code == 403, url

    # The campaign's own newsletter: owners download it; editors may not.
    editor = app.test_client()
    log_in(editor, PEOPLE["editor"])
    assert editor.get("/admin/newsletter.csv").status_code == 403
    owner = app.test_client()
    log_in(owner, PEOPLE["owner"])
    news = _rows(owner.get("/admin/newsletter.csv").data)
    assert sorted(r[1] for r in news[1:]) == ["news@example.org", "two@example.org"]
    assert db.session.scalar(select(AuditEntry.details).where(
        AuditEntry.organizer_email == PEOPLE["owner"],
        AuditEntry.action == "download opt-ins"))["count"] == 2
    listing = owner.get("/admin/partners").data.decode()
    assert "2 supporters agreed to hear from the campaign" in listing


# --- kept through the scrub; withdrawn or erased by the supporter -------------------------

def _data_link(app: Any, client: Any, sink: Sink, address: str) -> str:
    form = client.get("/my-data")
    client.post("/my-data", data={"email": address, "csrf_token": csrf_token(form.data)})
    work(app)
    mails = [m for m in sink.received
             if m.rcpt_tos == [address] and "Your data" in m.message()["Subject"]]
    assert mails
    match = re.search(r"https?://[^/\s]+(/my-data/[^?\s]+)", mails[-1].message().get_content())
    assert match
    return match.group(1)


def test_the_scrub_keeps_opt_ins_the_supporter_withdraws_or_erases_them(
    app: Any, client: Any, runner: Any, sink: Sink
) -> None:
    partner("ngo-one", "NGO One")
    write(client, "Ada Byron", "ada@example.org", "ngo-one", partner_optin=True,
          newsletter=True)
    write(client, "Bo Erased", "bo@example.org", "ngo-one", partner_optin=True)
    for address in ("ada@example.org", "bo@example.org"):
        confirm_latest(app, client, sink, address)
    work(app)
    result = runner.invoke(args=["purge", "--days", "0"])
    assert json.loads(result.output)["submissions"] == 2
    db.session.expire_all()
    # The letters' details are gone; the consents stand, with the address and name.
    assert set(db.session.scalars(select(Submission.name))) == {""}
    assert len(opt_ins()) == 3
    assert {o.name for o in db.session.scalars(select(OptIn))} == {"Ada Byron", "Bo Erased"}
    # ...and the supporter can still reach their data page to withdraw.
    assert db.session.scalar(select(func.count(Supporter.id)).where(
        Supporter.email.is_not(None))) == 2

    link = _data_link(app, client, sink, "ada@example.org")
    page = client.get(link)
    shown = page.data.decode()
    assert "NGO One, about its campaigns" in shown and "its news" in shown
    download = json.loads(client.get(f"{link}/download").data)
    assert [o["partner"] for o in download["opt_ins"]] == [None, "NGO One"]
    ngo_id = next(o["id"] for o in download["opt_ins"] if o["partner"])
    withdrawn = client.post(f"{link}/opt-ins/{ngo_id}/withdraw",
                            data={"csrf_token": csrf_token(page.data)})
    assert withdrawn.status_code == 303
    db.session.expire_all()
    gone = db.session.get(OptIn, ngo_id)
    assert gone is not None and gone.withdrawn_at is not None
    assert (gone.email, gone.name, gone.email_hash) == (None, None, None)
    assert ("ngo-one", "ada@example.org", "builtin-4-supporter") not in opt_ins()
    # Another supporter's opt-in cannot be withdrawn through this link.
    bo_id = next(o.id for o in db.session.scalars(select(OptIn)) if o.name == "Bo Erased")
    client.post(f"{link}/opt-ins/{bo_id}/withdraw", data={"csrf_token": csrf_token(page.data)})
    db.session.expire_all()
    assert db.session.get(OptIn, bo_id).withdrawn_at is None  # type: ignore[union-attr]
    # The last one withdrawn, with every letter scrubbed: the address is forgotten too.
    news_id = next(o["id"] for o in download["opt_ins"] if not o["partner"])
    client.post(f"{link}/opt-ins/{news_id}/withdraw", data={"csrf_token": csrf_token(page.data)})
    db.session.expire_all()
    assert client.get(link).status_code == 410

    # Bo erases everything: the opt-in goes with the rest.
    bo_link = _data_link(app, client, sink, "bo@example.org")
    bo_page = client.get(bo_link)
    assert client.post(f"{bo_link}/erase", data={
        "sure": "yes", "csrf_token": csrf_token(bo_page.data)}).status_code == 200
    db.session.expire_all()
    assert db.session.get(OptIn, bo_id) is None
    assert db.session.scalar(select(func.count(Supporter.id)).where(
        Supporter.email.is_not(None))) == 0
