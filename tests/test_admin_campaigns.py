"""Organizers set campaigns up and moderate letters that wait for them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from advocacy import clock
from advocacy.extensions import db
from advocacy.models import AuditEntry, Campaign, HoldReason, Letter, LetterStatus, LetterTemplate

from helpers import (
    PEOPLE,
    confirmation_link,
    csrf,
    log_in,
    seed_queued,
    submission,
    verified_as_a_file_may,
    work,
)

pytestmark = pytest.mark.usefixtures("people")
SETTINGS = {"name": "Free Azat Miftakhov", "sender": "", "opens_at": "", "closes_at": "",
            "bodies": ["un", "coe"], "relay": "5/second", "per_domain": "",
            "per_official_hour": "20/hour", "per_official_day": "100/day",
            "domains": "un.org = 2/minute", "window_on": "yes", "window_start": "09:00",
            "window_end": "17:00", "window_days": ["0", "1", "2"], "digest_at": "18:30",
            "privacy_notice": "Our own notice.\n\nSecond paragraph."}


def owner(app: Any) -> Any:
    client = app.test_client()
    log_in(client, PEOPLE["owner"])
    return client


def test_settings_are_saved_validated_and_audited(app: Any) -> None:
    client = owner(app)
    url = "/admin/campaigns/free-azat-miftakhov"
    reply = client.post(url, data={**SETTINGS, "csrf_token": csrf(client, url)})
    assert reply.status_code == 302
    campaign = db.session.scalar(select(Campaign))
    db.session.refresh(campaign)
    assert campaign.bodies == ["un", "coe"] and campaign.privacy_notice.startswith("Our own")
    assert campaign.limits["relay"] == "5/second" and campaign.limits["per_domain"] is None
    assert campaign.limits["domains"] == {"un.org": "2/minute"}
    assert campaign.limits["window"]["days"] == [0, 1, 2]
    page = client.get(url).data.decode()
    assert 'value="5/second"' in page and "un.org = 2/minute" in page
    # The notice supporters see, and the version their consent records, follow it.
    assert "Second paragraph." in client.get("/privacy").data.decode()
    assert client.post("/api/letters", json=submission(body="un")).status_code == 202
    refused = client.post("/api/letters", json=submission(body="gov", country="FR"))
    assert refused.status_code == 422 and "body" in refused.json["errors"]
    bad = {**SETTINGS, "relay": "lots", "sender": "not an address", "window_start": "18:00",
           "closes_at": "2020-01-01T00:00", "opens_at": "2021-01-01T00:00",
           "domains": "un.org 2/minute"}
    reply = client.post(url, data={**bad, "csrf_token": csrf(client, url)})
    text = reply.data.decode()
    assert reply.status_code == 422
    for field in ("sender", "closes_at", "domains"):
        assert f'id="{field}-error"' in text, field
    assert 'value="lots"' in text  # what was typed stays
    db.session.refresh(campaign)
    assert campaign.limits["relay"] == "5/second"  # nothing of it was saved
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "change campaign")) == 1


def test_closed_dates_stop_new_letters(app: Any, client: Any) -> None:
    campaign = db.session.scalar(select(Campaign))
    campaign.closes_at = clock.now() - timedelta(minutes=1)
    db.session.commit()
    reply = client.post("/api/letters", json=submission())
    assert reply.status_code == 409 and "is closed" in reply.json["errors"]["campaign"]
    campaign.closes_at, campaign.opens_at = None, clock.now() + timedelta(days=1)
    db.session.commit()
    reply = client.post("/api/letters", json=submission())
    assert reply.status_code == 409 and "opens on" in reply.json["errors"]["campaign"]
    campaign.opens_at = clock.now() - timedelta(days=1)
    db.session.commit()
    assert client.post("/api/letters", json=submission()).status_code == 202


def test_create_and_copy_a_campaign(app: Any) -> None:
    client = owner(app)
    token = csrf(client, "/admin/campaigns")
    bad = client.post("/admin/campaigns", data={"csrf_token": token, "slug": "Bad Slug",
                                                "name": ""})
    assert bad.status_code == 422 and 'id="slug-error"' in bad.data.decode()
    reply = client.post("/admin/campaigns/free-azat-miftakhov/copy",
                        data={"csrf_token": token, "slug": "second-appeal",
                              "name": "Second appeal"})
    assert reply.status_code == 302
    copy = db.session.scalar(select(Campaign).where(Campaign.slug == "second-appeal"))
    assert copy.status == "paused" and not copy.is_default
    letters = db.session.scalar(select(func.count()).select_from(LetterTemplate).where(
        LetterTemplate.campaign_id == copy.id))
    assert letters == 28  # 4 groups x 7 languages
    assert "second-appeal" in client.get("/admin/campaigns").data.decode()


def test_pause_and_resume_from_the_admin(app: Any) -> None:
    editor = app.test_client()
    log_in(editor, PEOPLE["editor"])
    url = "/admin/campaigns/free-azat-miftakhov"
    editor.post(f"{url}/sending", data={"csrf_token": csrf(editor, url), "paused": "yes"})
    assert db.session.scalar(select(Campaign.status)) == "paused"
    editor.post(f"{url}/sending", data={"csrf_token": csrf(editor, url), "paused": "no"})
    assert db.session.scalar(select(Campaign.status)) == "open"
    assert set(db.session.scalars(select(AuditEntry.action))) >= {"pause campaign",
                                                                  "resume campaign"}


def test_moderation_releases_and_cancels_with_a_reason(app: Any) -> None:
    ids = seed_queued(3)  # six letters to the two UN offices
    db.session.execute(Letter.__table__.update().where(Letter.id.in_(ids[:4])).values(
        status=LetterStatus.HELD, hold_reason=HoldReason.UNVERIFIED))
    db.session.execute(Letter.__table__.update().where(Letter.id.in_(ids[4:])).values(
        status=LetterStatus.NEEDS_REVIEW))
    db.session.commit()
    editor = app.test_client()
    log_in(editor, PEOPLE["editor"])
    page = editor.get("/admin/moderation").data.decode()
    assert page.count('name="letter"') == 6
    token = csrf(editor, "/admin/moderation")
    no_reason = editor.post("/admin/moderation", data={"csrf_token": token, "action": "cancel",
                                                       "letter": ids[:2], "reason": " "})
    assert "Say why" in editor.get(no_reason.headers["Location"]).data.decode()
    editor.post("/admin/moderation", data={"csrf_token": token, "action": "cancel",
                                           "letter": ids[:2], "reason": "duplicate writer"})
    editor.post("/admin/moderation", data={"csrf_token": token, "action": "release",
                                           "letter": ids[4:], "reason": "relay logs: not sent"})
    states = dict(db.session.execute(select(Letter.id, Letter.status)).all())
    assert [states[i] for i in ids] == ["cancelled"] * 2 + ["held"] * 2 + ["queued"] * 2
    notes = dict(db.session.execute(select(Letter.id, Letter.moderation_note)).all())
    assert notes[ids[0]] == "cancelled: duplicate writer"
    assert notes[ids[5]] == "released: relay logs: not sent"
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "cancel letters" in actions and "release letters" in actions
    work(app)  # the released letters go out
    assert db.session.scalar(select(Letter.status).where(Letter.id == ids[5])) == "sent"
    # A viewer reads, and cannot act.
    viewer = app.test_client()
    log_in(viewer, PEOPLE["viewer"])
    assert 'id="reason"' not in viewer.get("/admin/moderation").data.decode()
    assert viewer.post("/admin/moderation", data={
        "csrf_token": csrf(viewer, "/admin/moderation"), "action": "cancel",
        "letter": ids[2:4], "reason": "x"}).status_code == 403


def test_the_outbox_shows_what_officials_would_receive(app: Any, sink: Any) -> None:
    outbox = sink.handler.outbox  # the test's sink keeps files, like the built-in one
    app.config["OUTBOX_DIR"] = str(outbox)
    from advocacy.delivery.queue import enqueue_letters

    enqueue_letters(seed_queued(1))
    work(app)
    editor = app.test_client()
    log_in(editor, PEOPLE["editor"])
    page = editor.get("/admin/outbox").data.decode()
    names = sorted(p.name for p in outbox.iterdir())
    assert len(names) == 2 and all(name in page for name in names)
    message = editor.get(f"/admin/outbox/{names[0]}").data.decode()
    assert "Azat Miftakhov" in message and "Reply-To" in message
    assert editor.get("/admin/outbox/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert editor.get("/admin/outbox/nothing.eml").status_code == 404


def test_the_outbox_is_for_editors_and_hides_links_only_their_addressee_may_use(
    app: Any, sink: Any
) -> None:
    """A viewer who read an owner's invitation link in the outbox could make themself owner;
    whoever read a supporter's links could confirm, follow or erase their letters."""
    import re
    from email import message_from_bytes, policy

    from advocacy.delivery.queue import get_queue
    from advocacy.models import Organizer
    from advocacy.organizers import accounts

    outbox = sink.handler.outbox
    app.config["OUTBOX_DIR"] = str(outbox)
    owner_account = db.session.scalars(select(Organizer).where(
        Organizer.email == PEOPLE["owner"])).one()
    invitation, token = accounts.invite(owner_account, "second.owner@example.org", "owner")
    get_queue().enqueue("advocacy.delivery.send_invitation", invitation.id,
                        f"http://campaign.test/admin/invitation/{token}")
    assert app.test_client().post("/api/letters", json=submission()).status_code == 202
    work(app)
    texts = [message_from_bytes(p.read_bytes(), policy=policy.default).get_body(
        ("plain",)).get_content() for p in outbox.iterdir()]  # type: ignore[union-attr]
    secrets = [m for text in texts for m in re.findall(
        r"http://campaign\.test/(?:admin/invitation|confirm|status)/([^\s?]+)", text)]
    assert token in secrets and len(secrets) == 3  # invitation, confirmation, status links

    viewer = app.test_client()
    log_in(viewer, PEOPLE["viewer"])
    assert viewer.get("/admin/outbox").status_code == 403
    name = next(p.name for p in outbox.iterdir())
    assert viewer.get(f"/admin/outbox/{name}").status_code == 403
    assert "/admin/outbox" not in viewer.get("/admin/").data.decode()  # not offered either

    for role in ("editor", "owner"):  # not even an owner reads another's invitation link
        client = app.test_client()
        log_in(client, PEOPLE[role])
        pages = [client.get("/admin/outbox").data.decode()] + [
            client.get(f"/admin/outbox/{p.name}").data.decode() for p in outbox.iterdir()]
        assert all(reply for reply in pages)
        shown = "".join(pages)
        assert not [secret for secret in secrets if secret in shown], role
        assert "http://campaign.test/admin/[hidden]" in shown
        assert "http://campaign.test/confirm/[hidden]" in shown
        assert "Marie Dubois" in shown  # the rest of each message is there


def test_links_are_masked_wherever_they_point_and_whatever_the_sites_address() -> None:
    from advocacy.delivery.outbox import mask_links

    site = "https://letters.example.org"
    text = ("Confirm: https://LETTERS.example.org/confirm/MQ.aB3dE.fG4hI5jK6lM7nO8pQ9r\n"
            "Data: https://letters.example.org/my-data/Tk9uZQ.Zz9x1/download?x=1\n"
            "Old address: http://old.example.org/status/Xy7Kp2Qr9LmN4vB6tW8zA1sD3 .\n"
            "Page: https://letters.example.org/ and https://news.example.com/2024/"
            "a-long-article-title-in-words and <https://letters.example.org/privacy>")
    assert mask_links(text, site) == (
        "Confirm: https://LETTERS.example.org/confirm/[hidden]\n"
        "Data: https://letters.example.org/my-data/[hidden]\n"
        "Old address: http://old.example.org/status/[hidden] .\n"
        "Page: https://letters.example.org/ and https://news.example.com/2024/"
        "a-long-article-title-in-words and <https://letters.example.org/privacy>")


def test_going_live_lists_the_unverified_officials_first(app: Any) -> None:
    verified_as_a_file_may("un-wgad")
    owner_client = owner(app)
    page = owner_client.get("/admin/live").data.decode()
    assert "coe-commissioner-human-rights" in page and "un-wgad" not in page


def test_markup_typed_by_supporters_or_organizers_is_inert_everywhere(
    app: Any, client: Any, sink: Any
) -> None:

    script = "<script>alert(1)</script>"
    owner_client = owner(app)
    url = "/admin/campaigns/free-azat-miftakhov"
    owner_client.post(url, data={**SETTINGS, "name": f"Free Azat {script}", "window_on": "",
                                 "csrf_token": csrf(owner_client, url)})
    data = submission(personal_note=f"I say {script} and <b>mean it</b>.")
    assert client.post("/api/letters", json=data).status_code == 202
    work(app)
    assert client.post(confirmation_link(sink)).status_code == 200
    for page in ("/", "/privacy", "/embed", "/widget"):
        text = client.get(page).data.decode()
        assert script not in text, page
        # The campaign page and widget show the page's own title (campaigns/pages.py), not
        # the campaign's name; the snippet on /embed shows the name.
        assert "&lt;script&gt;" in text or page in ("/privacy", "/", "/widget"), page
    db.session.execute(Letter.__table__.update().values(status=LetterStatus.NEEDS_REVIEW))
    db.session.commit()
    for page in ("/admin/moderation", "/admin/campaigns", url, "/admin/audit"):
        text = owner_client.get(page).data.decode()
        assert script not in text, page
    mail = [m.message() for m in sink.received if m.rcpt_tos == ["marie.dubois@example.org"]]
    assert mail and all(m.get_content_type() == "text/plain" for m in mail)


def test_resending_ambiguous_letters_is_the_organizers_choice(app: Any) -> None:
    client = owner(app)
    url = "/admin/campaigns/free-azat-miftakhov"
    page = client.get(url).data.decode()
    assert 'id="resend_ambiguous"' in page and "same Message-ID" in page
    assert 'name="resend_ambiguous" value="yes" aria-describedby="resend_ambiguous-help">' in page
    campaign = db.session.scalar(select(Campaign))
    assert campaign is not None and campaign.resend_ambiguous is False  # a person decides
    reply = client.post(url, data={**SETTINGS, "resend_ambiguous": "yes",
                                   "csrf_token": csrf(client, url)})
    assert reply.status_code == 302
    db.session.refresh(campaign)
    assert campaign.resend_ambiguous is True
    assert 'value="yes" aria-describedby="resend_ambiguous-help" checked>' in client.get(
        url).data.decode()
    client.post(url, data={**SETTINGS, "csrf_token": csrf(client, url)})  # unticked
    db.session.refresh(campaign)
    assert campaign.resend_ambiguous is False
