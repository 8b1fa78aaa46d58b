"""Several groups in one submission (issue 18): one Submission, its letters to every group
ticked, one confirmation email for all; each group's rules hold as if written alone."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.models import Body, Letter, LetterStatus, Official, Submission

from helpers import confirmation_link, give_the_coe_an_inbox, submission, work


@pytest.fixture(autouse=True)
def coe_inbox(app: Any) -> None:
    give_the_coe_an_inbox()  # the shipped files give no Council of Europe office an address


def _groups(submission_id: int | None = None) -> list[str]:
    query = (
        select(Body.slug)
        .join(Official, Official.body_id == Body.id)
        .join(Letter, Letter.target_id == Official.id)
    )
    if submission_id is not None:
        query = query.where(Letter.submission_id == submission_id)
    return sorted(db.session.scalars(query))


def test_one_submission_writes_to_several_groups_and_one_confirmation_confirms_all(
    app: Any, client: Any, sink: Sink
) -> None:
    data = submission(body=None, bodies=["un", "coe", "gov"], country="FI")
    del data["body"]
    reply = client.post("/api/letters", json=data)
    assert reply.status_code == 202, reply.json
    with app.app_context():
        [one] = db.session.scalars(select(Submission)).all()
        assert one.bodies == ["un", "coe", "gov"] and one.target_country == "FI"
        assert set(_groups(one.id)) == {"un", "coe", "gov"}
    work(app)
    confirmations = [m for m in sink.received if "confirm" in m.message()["Subject"].lower()]
    assert len(confirmations) == 1
    mail = confirmations[0].message().get_content()
    for office in (
        "Special Rapporteur on torture",
        "Council of Europe Commissioner",
        "Ulkoministeriö",
    ):
        assert office in mail
    assert client.post(confirmation_link(sink)).status_code == 200
    with app.app_context():
        assert set(db.session.scalars(select(Letter.status))) == {LetterStatus.QUEUED}


def test_a_group_written_to_before_gets_no_second_letter(app: Any, client: Any) -> None:
    assert client.post("/api/letters", json=submission(body="un")).status_code == 202
    again = submission(bodies=["un", "coe"])
    del again["body"]
    assert client.post("/api/letters", json=again).status_code == 202
    with app.app_context():
        first, second = db.session.scalars(select(Submission).order_by(Submission.id)).all()
        assert set(_groups(first.id)) == {"un"} and set(_groups(second.id)) == {"coe"}
        assert _groups().count("un") == len(set(_groups(first.id))) * _groups(first.id).count("un")


def test_the_email_of_a_repeat_names_the_earlier_letters_of_every_group(
    app: Any, client: Any, sink: Sink
) -> None:
    both = submission(bodies=["un", "coe"])
    del both["body"]
    assert client.post("/api/letters", json=both).status_code == 202
    work(app)
    assert client.post("/api/letters", json=both).status_code == 202  # the same answer
    work(app)
    first, again = [m.message() for m in sink.received]
    assert again["Subject"] != first["Subject"]  # not a second confirmation: "already"
    text = again.get_content()
    for office in ("Special Rapporteur on torture", "Council of Europe Commissioner"):
        assert office in text  # written before, in either group


def test_a_list_of_groups_is_checked(client: Any) -> None:
    for bodies, field in (
        ([], "bodies"),
        ("un", "bodies"),
        (["UN!"], "bodies"),
        (["coe", "nowhere"], "body"),
    ):
        data = submission(bodies=bodies)
        del data["body"]
        reply = client.post("/api/letters", json=data)
        assert reply.status_code in (404, 422), (bodies, reply.json)
        assert field in reply.json["errors"], (bodies, reply.json)
    mixed = submission(body="eu", bodies=["un", "coe"])
    reply = client.post("/api/letters", json=mixed)
    assert reply.status_code == 422 and "body" in reply.json["errors"]
    # The governments with no country: the country is asked for, as for that group alone.
    data = submission(bodies=["un", "gov"])
    del data["body"]
    reply = client.post("/api/letters", json=data)
    assert reply.status_code == 422 and "country" in reply.json["errors"]
