"""Supporters' own words (issue 19): the campaign's rule for the personal paragraph at intake
(form and API), suggestions that are ideas and not one's own words, near-identical letters
to one office gathered in its digest (real Redis, real sink), and the shares organizers see."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select

from advocacy.campaigns.settings import find_campaign
from advocacy.delivery.reconcile import reconcile
from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.letters import similarity
from advocacy.letters.versions import current_template
from advocacy.links import confirmation_link
from advocacy.models import Body, HoldReason, Letter, LetterStatus, Official, Submission
from advocacy.organizers.controls import set_limits

from helpers import ONE_DATABASE, PEOPLE, SUPPORTER, csrf_token, log_in, post, submission, work

SUGGESTION = "As a teacher of mathematics, I ask you to act for Azat Miftakhov."
NEAR = (
    "I am a nurse in Lyon. Azat Miftakhov was beaten and jailed for his ideas; I ask"
    " you to use every means your office has to see him freed and safe."
)
# The same words as each supporter typed them: case, spacing and punctuation their own.
NEAR_AS_TYPED = [
    NEAR,
    NEAR.upper(),
    NEAR.replace(";", " -").replace(".", "!"),
    "  " + NEAR.replace(" ", "  "),
    NEAR.lower().replace(",", ""),
]
DISTINCT = [
    "My daughter studies mathematics in Grenoble and cannot believe a colleague is in prison.",
    "I was a political prisoner myself in 1983; letters from abroad kept me alive then.",
    "Our choir sang for Azat last Sunday in Nantes. Please ask after his health.",
    "Science needs free people. I teach physics and I write to you as a colleague of his.",
    "I read about the torture of prisoners in the camp and I cannot stay silent any more.",
]


def _mode(mode: str) -> None:
    campaign = find_campaign(None)
    assert campaign is not None
    campaign.note_mode = mode
    db.session.commit()


def _suggest(text: str) -> None:
    campaign = find_campaign(None)
    body = db.session.scalars(select(Body).where(Body.slug == "un")).one()
    assert campaign is not None
    template = current_template(campaign, body, "en")
    assert template is not None
    template.suggested_note = text
    db.session.commit()


def _submissions() -> list[Submission]:
    db.session.expire_all()
    return list(db.session.scalars(select(Submission).order_by(Submission.id)))


# --- the campaign's rule, at intake ------------------------------------------------------


@ONE_DATABASE
def test_a_required_paragraph_is_refused_when_missing_or_a_suggestion_unchanged(
    app: Any, client: Any
) -> None:
    _mode("required")
    _suggest(SUGGESTION)
    empty = client.post("/api/letters", json=submission(personal_note=""))
    assert empty.status_code == 422
    assert "a few words of their own" in empty.json["errors"]["personal_note"]
    # The suggestion as it stands, whatever its case, spacing and punctuation, is not theirs.
    copied = client.post(
        "/api/letters",
        json=submission(
            personal_note="  as a teacher of MATHEMATICS i ask you to act for azat miftakhov!! "
        ),
    )
    assert copied.status_code == 422
    assert "into your own words" in copied.json["errors"]["personal_note"]
    # In the supporter's language.
    french = client.post(
        "/api/letters", json=submission(personal_note=""), headers={"Accept-Language": "fr"}
    )
    assert "quelques mots" in french.json["errors"]["personal_note"]
    assert _submissions() == []
    assert (
        client.post(
            "/api/letters",
            json=submission(personal_note=SUGGESTION + " My students ask about him every week."),
        ).status_code
        == 202
    )
    [stored] = _submissions()
    assert stored.personalised is True


@ONE_DATABASE
def test_the_form_follows_the_campaigns_rule(app: Any, client: Any) -> None:
    _suggest(SUGGESTION)
    # Optional: no prompt; the paragraph starts empty, the suggestion shown as an idea (never
    # filled in as the supporter's own words, whatever the rule).
    page = client.get("/?lang=en").data.decode()
    assert "own-words-prompt" not in page and "(optional)" in page
    assert SUGGESTION in page and f">\n{SUGGESTION}</textarea>" not in page
    # Encouraged: a gentle prompt besides, the box still empty.
    _mode("encouraged")
    page = client.get("/?lang=en").data.decode()
    assert 'id="own-words-prompt"' in page and 'id="suggestions"' in page
    assert SUGGESTION in page and f">\n{SUGGESTION}</textarea>" not in page
    assert post(client, personal_note="").status_code == 200  # encouraged, not required
    # Required: refused with the reason next to the box, in the page's language.
    _mode("required")
    refused = post(client, personal_note="")
    assert refused.status_code == 422
    assert 'id="personal_note-error"' in refused.data.decode()
    assert "a few words of their own" in refused.data.decode()
    german = client.get("/?lang=de").data.decode()
    form = {
        "body": "un",
        "language": "en",
        "name": "Jonas Weber",
        "email": "j@example.org",
        "city": "Leipzig",
        "supporter_country": "DE",
        "consent": "yes",
        "personal_note": "",
        "action": "send",
        "csrf_token": csrf_token(german.encode()),
    }
    assert "ein paar eigene Worte" in client.post("/?lang=de", data=form).data.decode()
    assert len(_submissions()) == 1


@ONE_DATABASE
def test_an_unchanged_suggestion_counts_as_not_personalised(app: Any, client: Any) -> None:
    _suggest(SUGGESTION)
    for note in (
        SUGGESTION,
        "as a teacher of mathematics - I ask you to act for Azat Miftakhov",
        "",
        "I teach mathematics too, and I ask you to act for him.",
    ):
        data = submission(
            personal_note=note, supporter={**SUPPORTER, "email": f"s{len(note)}@example.org"}
        )
        assert client.post("/api/letters", json=data).status_code == 202
    assert [s.personalised for s in _submissions()] == [False, False, False, True]
    assert similarity.personalised("Free Azat!", ["free  azat"]) is False


def test_a_few_words_changed_still_share_a_band_and_other_words_do_not() -> None:
    """MinHash bands (keyed): a paragraph with one word changed is counted with the
    original; a paragraph of other words is not; the keys say nothing without the key."""
    key = similarity.shingle_key(b"lookup key of this instance")
    long = NEAR + " My hospital colleagues signed with me and we will keep writing every month."
    base = set(similarity.band_keys(long, True, key, 0.8))
    edited = set(similarity.band_keys(long.replace("Lyon", "Paris"), True, key, 0.8))
    assert len(base) == similarity.banding(0.8).bands == 10
    assert base & edited
    for other in DISTINCT:
        assert not base & set(similarity.band_keys(other, True, key, 0.8))
    assert base.isdisjoint(similarity.band_keys(long, True, b"another instance" * 2, 0.8))
    assert similarity.band_keys(long, False, key, 0.8) == [similarity.FORM_KEY]
    assert NEAR.lower() not in " ".join(base)


# --- near-identical letters to one office: one digest ------------------------------------


def _write_and_confirm(app: Any, client: Any, name: str, note: str) -> None:
    data = submission(
        personal_note=note,
        supporter={**SUPPORTER, "name": name, "email": f"{name.split()[0].lower()}@example.org"},
    )
    assert client.post("/api/letters", json=data).status_code == 202
    newest = _submissions()[-1]
    assert client.post(urlparse(confirmation_link(newest.id)).path).status_code == 200


def test_near_identical_letters_go_into_the_offices_digest_and_distinct_ones_one_by_one(
    app: Any, client: Any, sink: Sink, fake_now: Any, people: Any
) -> None:
    fake_now.set(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))  # Tuesday, 10:00 in Geneva
    # The clock stands still here: only the near-identical count may hold a letter back.
    set_limits(
        None,
        {
            "similar_after": 3,
            "relay": None,
            "per_domain": None,
            "per_official_day": None,
            "per_official_hour": None,
        },
    )
    names = ["Anna Roux", "Bruno Petit", "Chloe Martin", "David Morel", "Emma Girard"]
    for name, note in zip(names, NEAR_AS_TYPED, strict=True):
        _write_and_confirm(app, client, name, note)
    for n, note in enumerate(DISTINCT):
        _write_and_confirm(app, client, f"Writer{n} Own", note)
    work(app)

    db.session.expire_all()
    letters = list(db.session.scalars(select(Letter).order_by(Letter.id)))
    offices = {o.id: o.email for o in db.session.scalars(select(Official))}
    near = [
        lt
        for lt in letters
        if similarity.normalise(lt.submission.personal_note) == similarity.normalise(NEAR)
    ]
    own = [lt for lt in letters if lt not in near]
    # Each office counted its own: 0, 1, 2 alike before the first three; 3 and 4 after.
    assert sorted(lt.alike for lt in near) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert [lt.alike for lt in own] == [0] * len(own)
    held = [lt for lt in near if lt.status == LetterStatus.HELD]
    assert {lt.alike for lt in held} == {3, 4} and len(held) == 4
    assert {lt.hold_reason for lt in held} == {HoldReason.DIGEST}
    assert {lt.not_before for lt in held} == {datetime(2026, 11, 24, 19, 0, tzinfo=UTC)}
    assert {(lt.status, lt.last_error) for lt in own} == {(LetterStatus.SENT, None)}
    # One by one: 3 near-identical and 5 distinct letters to each of the two offices.
    letters_mail = [m for m in sink.received if "confirm" not in m.message()["Subject"].lower()]
    assert len(letters_mail) == 2 * (3 + 5)

    fake_now.set(datetime(2026, 11, 24, 19, 0, 1, tzinfo=UTC))
    assert reconcile()["digests"] == 2
    work(app)
    digests = [m for m in sink.received if "supporters today" in m.message()["Subject"]]
    assert sorted(r for m in digests for r in m.rcpt_tos) == sorted(
        {offices[lt.target_id] for lt in held}
    )
    for digest in digests:
        text = digest.message().get_content()
        assert "David Morel" in text and "Emma Girard" in text and "Anna Roux" not in text
    db.session.expire_all()
    assert {lt.status for lt in db.session.scalars(select(Letter))} == {LetterStatus.SENT}

    # The shares organizers see: 10 of 10 letters personalised; 2 x (1 + 5) distinct.
    admin = app.test_client()
    log_in(admin, PEOPLE["viewer"])
    page = admin.get("/admin/?campaign=free-azat-miftakhov").data.decode()
    assert 'id="own-words"' in page
    assert '20 of 20</td><td class="num">100.0%' in page
    assert '12 of 20</td><td class="num">60.0%' in page
    report = admin.get("/admin/report?official=un-sr-torture").data.decode()
    assert "100.0% of these letters carry a paragraph in their writer" in report
    assert "In 60.0% that paragraph is distinct" in report


@ONE_DATABASE
def test_letters_without_words_of_their_own_are_alike_and_the_count_can_be_off(
    app: Any, client: Any, sink: Sink
) -> None:
    """No paragraph, or a suggestion unchanged: the form letter, alike with every other;
    an empty count switches the routing off (the likeness is still counted)."""
    set_limits(None, {"similar_after": None, "window": None})
    _suggest(SUGGESTION)
    for n, note in enumerate(["", SUGGESTION, ""]):
        _write_and_confirm(app, client, f"Form{n} Writer", note)
    work(app)
    db.session.expire_all()
    letters = list(db.session.scalars(select(Letter)))
    assert sorted(lt.alike for lt in letters) == [0, 0, 1, 1, 2, 2]
    assert {lt.status for lt in letters} == {LetterStatus.SENT}


@ONE_DATABASE
def test_organizers_set_the_rule_and_the_near_identical_count(app: Any, people: Any) -> None:
    from test_admin_campaigns import SETTINGS

    from helpers import csrf

    owner = app.test_client()
    log_in(owner, PEOPLE["owner"])
    url = "/admin/campaigns/free-azat-miftakhov"
    page = owner.get(url).data.decode()
    assert 'id="note_mode"' in page and 'id="similar_after" name="similar_after"' in page
    assert 'value="50"' in page  # the default count
    settings = {
        **SETTINGS,
        "note_mode": "required",
        "similar_after": "10",
        "similar_window": "48",
        "similar_threshold": "0.9",
    }
    assert owner.post(url, data={**settings, "csrf_token": csrf(owner, url)}).status_code == 302
    campaign = find_campaign(None)
    assert campaign is not None
    db.session.refresh(campaign)
    assert campaign.note_mode == "required"
    assert (
        campaign.limits["similar_after"],
        campaign.limits["similar_window"],
        campaign.limits["similar_threshold"],
    ) == ("10", "48", "0.9")
    bad = {**settings, "note_mode": "sometimes", "similar_threshold": "0.2"}
    reply = owner.post(url, data={**bad, "csrf_token": csrf(owner, url)})
    assert reply.status_code == 422
    text = reply.data.decode()
    assert 'id="note_mode-error"' in text and 'id="similar_threshold-error"' in text
    # An empty count switches the routing off.
    off = {**settings, "similar_after": ""}
    assert owner.post(url, data={**off, "csrf_token": csrf(owner, url)}).status_code == 302
    db.session.refresh(campaign)
    assert campaign.limits["similar_after"] is None and campaign.note_mode == "required"
