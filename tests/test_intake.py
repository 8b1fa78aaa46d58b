"""Issue 13, what a stranger can learn or cause with someone else's address: the answer to a
submission never says whether the address wrote before, mails to one address are capped a
day, one inbox is one supporter however its address is spelled, and names carry no links."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rq import Queue
from sqlalchemy import func, select

from advocacy.connections import get_redis
from advocacy.crypto import lookup_hash
from advocacy.delivery.queue import get_queue
from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.models import Body, Letter, LetterStatus, Official, Submission, Supporter

from helpers import (
    SUPPORTER,
    confirmation_link,
    csrf_token,
    give_the_coe_an_inbox,
    statements,
    stored,
    submission,
    work,
)

# Headers that differ between any two answers, whoever asks: the time, and the per-IP limit's
# count (the same for both addresses, it counts requests).
PER_REQUEST = {"Date", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"}


def as_writer(email: str, **changes: Any) -> dict[str, Any]:
    return submission(supporter={**SUPPORTER, "email": email}, **changes)


def answer(reply: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Everything a client sees of an answer, less what differs per request anyway (the
    session cookie is signed with the time: its value, not its being set; so is the token of
    "send the email again"), and the address as typed, masked ("v•••@example.org")."""
    headers = sorted((k, re.sub(r"^session=[^;]*", "session=…", v))
                     for k, v in reply.headers.items() if k not in PER_REQUEST)
    body = re.sub(rb"/resend/[^\"?]+", b"/resend/-", reply.data)
    return reply.status_code, headers, re.sub(rb"\w(\xe2\x80\xa2){3}@", b"*@", body)


def queued_jobs() -> list[str]:
    """The functions of the jobs waiting in this test's queue, oldest first."""
    queue: Queue = get_queue()
    return [job.func_name for job in queue.get_jobs()]


# -- 1. No "has this person written?" oracle -------------------------------------------------


def test_a_repeat_address_gets_the_very_answer_a_new_one_gets(app: Any, client: Any) -> None:
    assert client.post("/api/letters", json=as_writer("victim@example.org")).status_code == 202
    new = client.post("/api/letters", json=as_writer("someone.new@example.org"))
    repeat = client.post("/api/letters", json=as_writer("victim@example.org"))
    assert answer(repeat) == answer(new)
    assert new.status_code == 202 and "id" not in new.data.decode()  # no id to tell them apart
    # Nothing was added for the repeat: its empty submission goes with its email.
    assert stored() == (2, 3, 4)
    work(app)
    assert stored() == (2, 2, 4)


def test_the_form_answers_a_repeat_address_like_a_new_one(app: Any, client: Any) -> None:
    def post(email: str) -> Any:
        form = {"body": "un", "language": "en", "name": "Jonas Weber", "email": email,
                "city": "Leipzig", "supporter_country": "DE", "consent": "yes",
                "personal_note": "", "action": "send",
                "csrf_token": csrf_token(client.get("/").data)}
        return client.post("/", data=form)

    assert post("victim@example.org").status_code == 200
    # The page echoes the address typed (kept for writing to more groups), and nothing more.
    new, repeat = post("fresh1@example.org"), post("victim@example.org")
    (status, headers, page), seen_new = answer(repeat), answer(new)
    assert (status, headers, page.replace(b"victim@", b"fresh1@")) == seen_new
    assert "Check your inbox" in repeat.data.decode()


def test_a_repeat_address_costs_the_same_statements_and_the_same_job(
    app: Any, client: Any
) -> None:
    """Timing, measured by what makes it: the same SQL statements in the same order, and one
    confirmation job, for a new address and for one that wrote to every official before."""
    assert client.post("/api/letters", json=as_writer("victim@example.org")).status_code == 202
    get_queue().empty()
    with statements() as new:
        assert client.post("/api/letters", json=as_writer("fresh@example.org")).status_code == 202
    jobs_new = queued_jobs()
    get_queue().empty()
    with statements() as repeat:
        assert client.post("/api/letters", json=as_writer("victim@example.org")).status_code == 202
    jobs_repeat = queued_jobs()
    assert repeat == new and len(new) >= 4
    assert jobs_repeat == jobs_new == ["advocacy.delivery.send_confirmation"]



def test_asking_for_ones_data_costs_the_same_for_an_address_that_never_wrote(
    app: Any, client: Any, sink: Sink
) -> None:
    """/my-data: the same statements and the same one job for a writer and a stranger, the
    lookup left to the job; only the writer's inbox gets a link."""
    assert client.post("/api/letters", json=as_writer("writer@example.org")).status_code == 202
    work(app)
    form = client.get("/my-data")
    seen = []
    for address in ("writer@example.org", "stranger@example.org"):
        get_queue().empty()
        with statements() as run:
            reply = client.post("/my-data", data={"email": address,
                                                  "csrf_token": csrf_token(form.data)})
        seen.append((answer(reply), run, queued_jobs()))
    assert seen[0] == seen[1]
    assert seen[0][2] == ["advocacy.delivery.send_data_link_for"]
    get_queue().empty()
    before = mails_to(sink, "writer@example.org")
    for address in ("writer@example.org", "stranger@example.org"):
        client.post("/my-data", data={"email": address, "csrf_token": csrf_token(form.data)})
    work(app)
    assert mails_to(sink, "stranger@example.org") == 0
    assert mails_to(sink, "writer@example.org") == before + 1

def new_un_official() -> Official:
    un = db.session.scalars(select(Body).where(Body.slug == "un")).one()
    official = Official(key="un-new-rapporteur", body=un, office="Special Rapporteur on Newness",
                    email="newness@un.example.org", source="https://example.org/source",
                    verified=True, languages=["en"])
    db.session.add(official)
    db.session.commit()
    return official


def test_only_the_inbox_learns_what_it_had_already_written(
    app: Any, client: Any, sink: Sink
) -> None:
    assert client.post("/api/letters", json=submission()).status_code == 202
    work(app)
    client.post(confirmation_link(sink))
    work(app)
    new_un_official()
    sink.handler.received.clear()
    assert client.post("/api/letters", json=submission()).status_code == 202
    work(app)
    [mail] = [m.message() for m in sink.received if m.rcpt_tos == [SUPPORTER["email"].lower()]]
    text = mail.get_content()
    # The new letter to confirm, the officials already written to named as such.
    already = text[text.index("already written"):text.index("Nothing is sent until")]
    assert "Working Group" in already and "Newness" not in already
    assert "Special Rapporteur on Newness" in text
    client.post(confirmation_link(sink))
    work(app)
    assert db.session.scalar(select(func.count(Letter.id)).where(
        Letter.status == LetterStatus.SENT)) == 3


# -- Names and cities: no links, no invisible characters; the letter shown before it goes -----

REFUSED = [
    ("name", "Visit evil.xyz to claim", "web or email address"),
    ("name", "https://evil.example/login", "web or email address"),
    ("name", "Marie www.evil.example", "web or email address"),
    ("name", "Write to me at a@evil.org", "web or email address"),
    ("city", "paypal.com", "web or email address"),
    ("name", "Marie \u202eesioD", "invisible or text-direction"),
    ("name", "Ma\u200brie", "invisible or text-direction"),
    ("city", "Ly\u2066on", "invisible or text-direction"),
]


@pytest.mark.parametrize(("field", "value", "message"), REFUSED)
def test_names_and_cities_refuse_links_and_invisible_characters(
    client: Any, field: str, value: str, message: str
) -> None:
    reply = client.post("/api/letters", json=submission(supporter={**SUPPORTER, field: value}))
    assert reply.status_code == 422
    assert message in reply.json["errors"][f"supporter.{field}"]
    form = {"body": "un", "language": "en", "name": "Jonas Weber", "email": "j@example.org",
            "city": "Leipzig", "supporter_country": "DE", "consent": "yes", "action": "send",
            field: value, "csrf_token": csrf_token(client.get("/").data)}
    page = client.post("/", data=form)
    assert page.status_code == 422
    text = page.data.decode()
    assert f'aria-describedby="{field}-error"' in text and message in text
    assert stored() == (0, 0, 0)


@pytest.mark.parametrize("name", ["J.R.R. Tolkien", "St. John-Smith", "محمد\u200cرضا",
                                  "Jean.Paul Sartre", "Анна-Мария"])
def test_real_names_still_pass(client: Any, name: str) -> None:
    reply = client.post("/api/letters", json=submission(
        supporter={**SUPPORTER, "name": name, "city": "St.Petersburg"}))
    assert reply.status_code == 202, reply.json


def test_the_email_and_the_confirmation_page_show_the_letters_that_will_go(
    app: Any, client: Any, sink: Sink
) -> None:
    note = "I teach mathematics in Lyon and stand with Azat."
    assert client.post("/api/letters", json=submission(personal_note=note)).status_code == 202
    work(app)
    [mail] = sink.received
    text = mail.message().get_content()
    shown = text[text.index("This is what will be sent by email in your name"):]
    assert shown.count(note) == 2 and shown.count("To: ") == 2 and "Marie Dubois" in shown
    page = client.get(confirmation_link(sink)).data.decode()
    assert page.count(note) == 2 and "What will be sent in your name" in page


# -- 5. At most so many mails to one address a day, silently ---------------------------------


def mails_to(sink: Sink, address: str) -> int:
    return sum(1 for m in sink.received if m.rcpt_tos == [address])


def test_my_data_requests_mail_an_address_at_most_its_daily_cap(
    app: Any, client: Any, sink: Sink
) -> None:
    app.config["MAILS_PER_ADDRESS"] = "3/day"
    victim = SUPPORTER["email"].lower()
    assert client.post("/api/letters", json=submission()).status_code == 202
    form = client.get("/my-data")
    answers = set()
    for _attempt in range(5):
        reply = client.post("/my-data", data={"email": victim,
                                              "csrf_token": csrf_token(form.data)})
        answers.add((reply.status_code, reply.data))
    assert len(answers) == 1  # the page says the same every time
    work(app)
    assert mails_to(sink, victim) == 3
    # Counted by the address's keyed hash: the address itself is in no Redis key.
    keys = [k.decode() for k in get_redis().scan_iter(f"*{app.config['QUEUE_NAME']}*mailcap*")]
    assert keys and all(lookup_hash(victim) in k for k in keys)
    assert not [k for k in get_redis().scan_iter("*") if b"@" in k or b"dubois" in k.lower()]


def test_repeated_submissions_mail_at_most_the_cap_and_stay_stored(
    app: Any, client: Any, sink: Sink
) -> None:
    app.config["MAILS_PER_ADDRESS"] = "2/day"
    victim = SUPPORTER["email"].lower()
    bodies = [{"body": "un"}, {"body": "coe"}, {"body": "gov", "country": "FI"}, {"body": "un"}]
    give_the_coe_an_inbox()
    for changes in bodies:
        assert client.post("/api/letters", json=submission(**changes)).status_code == 202
    # And spelled otherwise: the same inbox, the same count.
    tagged = "marie.dubois+again@example.org"
    assert client.post("/api/letters", json=as_writer(tagged)).status_code == 202
    work(app)
    assert mails_to(sink, victim) == 2 and mails_to(sink, tagged) == 0
    # Those with letters stay, to be confirmed through the reminder's link; the two that
    # had nothing new (the UN again) are gone.
    assert db.session.scalar(select(func.count(Submission.id))) == 3
    # Each is marked handled, so reconcile does not queue its email again every minute.
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Submission.id)).where(
        Submission.confirmation_sent_at.is_(None))) == 0


# -- One inbox, one supporter ----------------------------------------------------------------


@pytest.mark.parametrize(("spelling", "canonical"), [
    ("Ada.Lovelace+campaign@GoogleMail.com", "adalovelace@gmail.com"),
    ("a.d.a.lovelace@gmail.com", "adalovelace@gmail.com"),
    ("ada+x+y@example.org", "ada@example.org"),
    ("Ada.Lovelace@example.org", "ada.lovelace@example.org"),  # dots matter outside Gmail
])
def test_canonical_form(spelling: str, canonical: str) -> None:
    from advocacy.crypto import canonical_email

    assert canonical_email(spelling) == canonical


def test_one_inbox_writes_once_to_an_official_however_it_is_spelled(
    app: Any, client: Any, sink: Sink
) -> None:
    first = "ada.lovelace@gmail.com"
    for spelling in (first, "adalovelace+1@gmail.com", "Ada.Love.Lace+2@googlemail.com"):
        assert client.post("/api/letters", json=as_writer(spelling)).status_code == 202
    assert db.session.scalar(select(func.count(Supporter.id))) == 1
    assert db.session.scalar(select(func.count(Letter.id))) == 2
    supporter = db.session.scalars(select(Supporter)).one()
    assert supporter.email == first  # mail goes to the address as first given
    work(app)
    assert {tuple(m.rcpt_tos) for m in sink.received} == {(first,)}
    # "My data" finds the supporter under any spelling, and mails the address they gave.
    sink.handler.received.clear()
    form = client.get("/my-data")
    client.post("/my-data", data={"email": "a.d.a.lovelace+me@gmail.com",
                                  "csrf_token": csrf_token(form.data)})
    work(app)
    [mail] = sink.received
    assert mail.rcpt_tos == [first] and re.search(r"/my-data/\S+", mail.message().get_content())

