"""POST /api/letters and GET /api/stats: every bad input gets a clear 4xx and stores nothing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from advocacy.extensions import db
from advocacy.models import Body, Campaign, CampaignStatus, Letter, LetterTemplate, Official

from helpers import statements, stored, submission, with_supporter, work

BAD = [
    pytest.param(with_supporter(email="not-an-address"), "supporter.email", id="bad-email"),
    pytest.param(with_supporter(email="a@b"), "supporter.email", id="email-no-tld"),
    pytest.param(with_supporter(email="x@example.org\r\nBcc: y@example.org"), "supporter.email",
                 id="email-header-injection"),
    pytest.param(with_supporter(name=""), "supporter.name", id="empty-name"),
    pytest.param(with_supporter(name="   "), "supporter.name", id="blank-name"),
    pytest.param(with_supporter(name="A" * 121), "supporter.name", id="long-name"),
    pytest.param(with_supporter(name="Eve\r\nBcc: victim@example.org"), "supporter.name",
                 id="newline-in-name"),
    pytest.param(with_supporter(name="<script>alert(1)</script>"), "supporter.name", id="html"),
    pytest.param(with_supporter(name="Null\x00Byte"), "supporter.name", id="nul"),
    pytest.param(with_supporter(city=None), "supporter.city", id="no-city"),
    pytest.param(with_supporter(country="France"), "supporter.country", id="country-name"),
    pytest.param(with_supporter(country="XX"), "supporter.country", id="unknown-country"),
    pytest.param(with_supporter(phone="123"), "supporter.phone", id="unknown-supporter-field"),
    pytest.param(submission(supporter="me"), "supporter", id="supporter-not-object"),
    pytest.param(submission(body="nato"), "body", id="unknown-body"),
    pytest.param(submission(body=None), "body", id="no-body"),
    pytest.param(submission(body="gov"), "country", id="gov-without-country"),
    pytest.param(submission(body="gov", country="ZZ"), "country", id="gov-unknown-country"),
    pytest.param(submission(country="FR"), "country", id="country-for-un"),
    pytest.param(submission(language="la"), "language", id="unsupported-language"),
    pytest.param(submission(consent=False), "consent", id="no-consent"),
    pytest.param(submission(consent="yes"), "consent", id="consent-not-true"),
    pytest.param(submission(personal_note="x" * 2001), "personal_note", id="long-note"),
    pytest.param(submission(personal_note="bell\x07"), "personal_note", id="control-in-note"),
    pytest.param(submission(personal_note=42), "personal_note", id="note-not-text"),
    pytest.param(submission(ref="Partner Org!"), "ref", id="bad-ref"),
    pytest.param(submission(extra=1), "extra", id="unknown-field"),
]


@pytest.mark.parametrize(("payload", "field"), BAD)
def test_bad_input_is_refused_with_a_field_message(
    client: Any, payload: dict[str, Any], field: str
) -> None:
    reply = client.post("/api/letters", json=payload)
    assert reply.status_code == 422, reply.json
    assert field in reply.json["errors"], reply.json
    assert reply.json["errors"][field].endswith((".", "!"))
    assert stored() == (0, 0, 0)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(b"{not json", "application/json"), (b"", "application/json"),
     (b"body=un", "application/x-www-form-urlencoded"), ("\xff\xfe".encode("latin-1"),
                                                         "application/json")],
    ids=["broken-json", "empty", "form-encoded", "invalid-utf8"],
)
def test_bad_json_is_refused(client: Any, data: bytes, content_type: str) -> None:
    reply = client.post("/api/letters", data=data, content_type=content_type)
    assert reply.status_code == 400
    assert "JSON" in reply.json["errors"]["_"]
    assert stored() == (0, 0, 0)


def test_json_that_is_not_an_object_is_refused(client: Any) -> None:
    reply = client.post("/api/letters", json=["un"])
    assert reply.status_code == 422 and reply.json["errors"] == {"_": "Send a JSON object."}


def test_oversized_body_is_refused(client: Any) -> None:
    reply = client.post("/api/letters", json=submission(personal_note="x" * 100_000))
    assert reply.status_code == 413
    assert stored() == (0, 0, 0)


def test_unknown_campaign(client: Any) -> None:
    reply = client.post("/api/letters", json=submission(campaign="no-such-campaign"))
    assert reply.status_code == 404 and "campaign" in reply.json["errors"]
    assert stored() == (0, 0, 0)


def test_the_same_letters_sent_at_once_are_stored_once(app: Any) -> None:
    # Every twin writes at once: the letters' unique index keeps one letter per official.
    # Each twin gets the same answer (a repeat address is never told apart), and the
    # confirmation jobs remove the twins' empty submissions.
    twins = 6
    start = threading.Barrier(twins)

    def post(_: int) -> int:
        client = app.test_client()
        start.wait()
        return int(client.post("/api/letters", json=submission()).status_code)

    with ThreadPoolExecutor(twins) as pool:
        codes = sorted(pool.map(post, range(twins)))
    assert codes == [202] * twins
    db.session.rollback()  # a fresh look at what the other connections committed
    assert stored() == (1, twins, 2)
    work(app)
    assert stored() == (1, 1, 2)


def test_campaign_defaults_to_the_default_campaign(client: Any) -> None:
    payload = submission()
    del payload["campaign"], payload["ref"], payload["personal_note"]
    assert client.post("/api/letters", json=payload).status_code == 202


def test_body_whose_offices_take_no_email_points_to_their_other_channels(client: Any) -> None:
    reply = client.post("/api/letters", json=submission(body="gov", country="FR"))
    assert reply.status_code == 422
    assert "contact pages or by post" in reply.json["errors"]["body"]
    # France's ministry and its human-rights ambassador publish a postal address only.
    offices = reply.json["contact_only"]
    assert len(offices) == 2 and all(o["contact_page"] is None for o in offices)
    assert all("quai d'Orsay" in o["postal_address"] for o in offices)
    assert stored() == (0, 0, 0)


def test_gov_letter_goes_to_that_countrys_minister(client: Any) -> None:
    reply = client.post("/api/letters", json=submission(body="gov", country="FI"))
    assert reply.status_code == 202, reply.json
    [official] = reply.json["officials"]
    assert "Foreign Affairs" in official["official"]


def test_a_name_in_another_script_is_welcome(client: Any) -> None:
    reply = client.post("/api/letters", json=with_supporter(name="Азат Мифтахов-Друг",
                                                             city="Алматы", country="KZ"))
    assert reply.status_code == 202, reply.json


def test_stats_shape(client: Any) -> None:
    client.post("/api/letters", json=submission())
    stats = client.get("/api/stats").json
    assert set(stats) >= {"letters", "by_body"}
    assert stats["letters"]["unconfirmed"] == 2
    assert set(stats["letters"]) >= {"unconfirmed", "queued", "sending", "sent", "held", "failed",
                                      "needs_review", "cancelled"}
    assert set(stats["by_body"]) == {"eu", "coe", "un", "gov"}
    assert client.get("/api/stats?campaign=free-azat-miftakhov").json == stats
    assert client.get("/api/stats?campaign=nope").status_code == 404


def un_officials() -> list[Official]:
    un = db.session.scalar(select(Body).where(Body.slug == "un"))
    return list(db.session.scalars(select(Official).where(Official.body_id == un.id)
                                   .order_by(Official.id)))


def test_a_submission_reads_what_it_needs_in_one_query(app: Any, client: Any) -> None:
    """Campaign, body, newest letter and officials: one SELECT, then the writing."""
    with statements() as seen:
        assert client.post("/api/letters", json=submission()).status_code == 202
    # At most one read, and the supporter, the submission and its letters written in one
    # statement each (not one per letter).
    assert len(seen) <= 4, seen


def test_the_letters_follow_what_organizers_changed(client: Any) -> None:
    """An official made inactive gets no letter; letters use the newest version."""
    first, *others = [t for t in un_officials() if t.email and t.active]
    assert others, "the UN has at least two officials who take email"
    first.active = False
    un = first.body_id
    newest = db.session.scalar(select(LetterTemplate).where(
        LetterTemplate.body_id == un, LetterTemplate.language == "en")
        .order_by(LetterTemplate.version.desc()).limit(1))
    db.session.add(LetterTemplate(
        campaign_id=newest.campaign_id, body_id=un, language="en", version=newest.version + 1,
        subject=newest.subject, text=newest.text, default_salutation=newest.default_salutation,
        origin="organizer", content_hash="0" * 64))
    db.session.commit()
    reply = client.post("/api/letters", json=submission())
    assert reply.status_code == 202, reply.json
    letters = db.session.scalars(select(Letter)).all()
    assert sorted(letter.target_id for letter in letters) == [t.id for t in others]
    versions = {db.session.get(LetterTemplate, letter.template_id).version for letter in letters}
    assert versions == {newest.version + 1}


def _pause() -> None:
    db.session.execute(update(Campaign).values(status=CampaignStatus.PAUSED))


def _only_eu() -> None:
    db.session.execute(update(Campaign).values(bodies=["eu"]))


def _no_english_letter() -> None:
    un = db.session.scalar(select(Body.id).where(Body.slug == "un"))
    db.session.execute(delete(LetterTemplate).where(LetterTemplate.body_id == un,
                                                    LetterTemplate.language == "en"))


def _no_active_official() -> None:
    db.session.execute(update(Official).values(active=False))


def _no_body() -> None:
    un = db.session.scalar(select(Body.id).where(Body.slug == "un"))
    db.session.execute(delete(LetterTemplate).where(LetterTemplate.body_id == un))
    db.session.execute(delete(Official).where(Official.body_id == un))
    db.session.execute(delete(Body).where(Body.id == un))


@pytest.mark.parametrize(("change", "payload", "status", "field", "words"), [
    (_pause, submission(), 409, "campaign", "is paused"),
    (_only_eu, submission(), 422, "body", "Choose one of: eu."),
    (_no_english_letter, submission(), 422, "language", "not available in this language"),
    (_no_active_official, submission(), 422, "body", "No official of this body"),
    (_no_active_official, submission(body="gov", country="FI"), 422, "country",
     "No official of this body"),
    (lambda: None, submission(body="gov", country="NZ"), 422, "country",
     "No official of this body"),
    (_no_body, submission(), 422, "body", "Choose one of: eu, coe, gov."),
], ids=["paused", "other-bodies", "no-letter-in-language", "no-active-official",
        "no-minister-active", "no-minister", "no-body"])
def test_what_the_campaign_cannot_take_is_said_and_nothing_stored(
    client: Any, change: Any, payload: dict[str, Any], status: int, field: str, words: str
) -> None:
    change()
    db.session.commit()
    reply = client.post("/api/letters", json=payload)
    assert reply.status_code == status, reply.json
    assert words in reply.json["errors"][field], reply.json
    assert stored() == (0, 0, 0)


def test_healthz_and_campaign_page(client: Any) -> None:
    assert client.get("/healthz").json == {"status": "ok", "database": "ok", "redis": "ok"}
    page = client.get("/")
    assert page.status_code == 200 and b"Azat Miftakhov" in page.data


def test_bad_confirmation_links(client: Any) -> None:
    assert client.get("/confirm/not-a-token").status_code == 400
    assert client.post("/confirm/not-a-token").status_code == 400


def test_submissions_are_limited_per_ip_address_in_redis(app: Any, client: Any) -> None:
    app.config["SUBMIT_RATE"] = "3/minute"
    for i in range(3):
        reply = client.post("/api/letters", json=with_supporter(email=f"p{i}@example.org"),
                            environ_base={"REMOTE_ADDR": "203.0.113.7"})
        assert reply.status_code == 202
    refused = client.post("/api/letters", json=with_supporter(email="p9@example.org"),
                          environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert refused.status_code == 429 and "_" in refused.json["errors"]
    assert refused.headers.get("Retry-After")
    other = client.post("/api/letters", json=with_supporter(email="q@example.org"),
                        environ_base={"REMOTE_ADDR": "198.51.100.2"})
    assert other.status_code == 202
    # The form counts against the same address.
    page = client.post("/", data={"action": "send"}, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert page.status_code == 429
    assert stored() == (4, 4, 8)


def test_partner_sites_may_call_the_api_from_their_pages(client: Any) -> None:
    origin = {"Origin": "https://partner.example"}
    preflight = client.options("/api/letters", headers={
        **origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Content-Type"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    posted = client.post("/api/letters", json=submission(), headers=origin)
    assert posted.status_code == 202 and posted.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/api/stats", headers=origin).headers["Access-Control-Allow-Origin"] == "*"
    # The pages themselves are not opened to other sites.
    assert "Access-Control-Allow-Origin" not in client.get("/", headers=origin).headers
