"""The letter's state machine (advocacy.letters.states): the table of moves, the named
transitions every status write uses, the groupings, and the column that stores the state."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.schema import CreateTable

from advocacy.delivery.batch import Batch
from advocacy.extensions import db
from advocacy.letters import states
from advocacy.letters.compose import load
from advocacy.letters.states import (
    ALLOWED,
    NAMED,
    ForbiddenTransition,
    LetterStatus,
    check,
    transition,
)
from advocacy.models import Letter

from helpers import seed_queued

PACKAGE = Path(__file__).resolve().parent.parent / "advocacy"
MOVES = {(source, to) for source, targets in ALLOWED.items() for to in targets}


def _named_moves() -> set[tuple[LetterStatus, LetterStatus]]:
    return {(source, t.to) for t in NAMED for source in t.sources}


def _reachable(start: LetterStatus) -> set[LetterStatus]:
    seen, todo = {start}, [start]
    while todo:
        for to in ALLOWED[todo.pop()]:
            if to not in seen:
                seen.add(to)
                todo.append(to)
    return seen


def test_the_table_covers_every_state_and_every_move_in_it_is_used() -> None:
    assert set(ALLOWED) == set(LetterStatus)
    # Each allowed move is made by some named transition, and each named one is allowed.
    assert _named_moves() == MOVES


def test_every_named_transition_is_written_somewhere_in_the_code() -> None:
    code = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py")
                     if p.name != "states.py" and "migrations" not in p.parts)
    names = [name for name, value in vars(states).items() if value in NAMED]
    assert len(names) == len(NAMED)
    unused = [n for n in names if not re.search(rf"\bstates\.{n}\b", code)]
    assert unused == []


def test_no_status_is_written_from_a_literal() -> None:
    """Every write of a letter's status names its transition (states.X.to, Batch.record)."""
    literal = re.compile(r"status\s*=\s*LetterStatus\.|\"status\":\s*LetterStatus\."
                         r"|\.record\([^)]*LetterStatus\.|\.status\s*=\s*LetterStatus\.")
    found = [f"{p.relative_to(PACKAGE)}:{n}" for p in PACKAGE.rglob("*.py")
             if "migrations" not in p.parts
             for n, line in enumerate(p.read_text().splitlines(), 1) if literal.search(line)]
    assert found == []


@pytest.mark.parametrize(("source", "to"), [
    (LetterStatus.SENT, LetterStatus.QUEUED),  # a sent letter never goes again by itself
    (LetterStatus.CANCELLED, LetterStatus.QUEUED),
    (LetterStatus.UNCONFIRMED, LetterStatus.SENDING),  # never claimed before its confirmation
    (LetterStatus.FAILED, LetterStatus.SENT),
    (LetterStatus.NEEDS_REVIEW, LetterStatus.SENDING),
])
def test_a_move_outside_the_table_raises(source: LetterStatus, to: LetterStatus) -> None:
    with pytest.raises(ForbiddenTransition):
        check(source, to)
    with pytest.raises(ForbiddenTransition):
        transition(source, to)
    # One forbidden source among allowed ones is enough to refuse the whole move.
    with pytest.raises(ForbiddenTransition):
        transition((LetterStatus.HELD, source), to)


def test_the_end_states_have_no_way_out_and_every_state_can_end() -> None:
    # Sent's one way out: a bounce after acceptance, signed (delivery.bounces); never again.
    assert ALLOWED[LetterStatus.SENT] == frozenset({LetterStatus.FAILED})
    assert ALLOWED[LetterStatus.CANCELLED] == frozenset()
    assert _reachable(states.INITIAL) == set(LetterStatus)
    for state in LetterStatus:
        assert _reachable(state) & {LetterStatus.SENT, LetterStatus.CANCELLED}, state


def test_the_groupings_agree() -> None:
    every = set(LetterStatus)
    # Each state is either waiting (something will move it) or final, never both.
    assert set(states.WAITING) | set(states.FINAL) == every
    assert not set(states.WAITING) & set(states.FINAL)
    # Only a person moves a final letter (an organizer retries a failed one); the machine
    # only turns a sent letter into a failed one when a signed bounce says it bounced.
    for state in states.FINAL:
        assert ALLOWED[state] <= {LetterStatus.QUEUED, LetterStatus.FAILED}
        assert LetterStatus.QUEUED not in ALLOWED[state] or state == LetterStatus.FAILED
        assert all(state not in t.sources for t in NAMED
                   if t not in (states.RETRY_BY_HAND, states.BOUNCE))
    assert states.BOUNCE.sources == (LetterStatus.SENT,)
    assert set(states.FOR_ORGANIZERS) <= set(states.WAITING)
    assert set(states.UNSENT) < set(states.ERASABLE) <= set(states.WAITING)
    # A letter in a worker's hands may be on the wire: neither an erasure nor a deactivation
    # cancels it in the database; its worker does.
    assert LetterStatus.SENDING not in states.ERASABLE
    assert set(states.SMALL) == every - {LetterStatus.SENT}
    assert set(states.STATE_LABELS) == every
    for grouping in (states.WAITING, states.FINAL, states.FOR_ORGANIZERS, states.UNSENT,
                     states.ERASABLE, states.SMALL):
        assert len(set(grouping)) == len(grouping)


def test_where_compares_one_state_with_equals_and_several_with_in() -> None:
    one = str(states.CONFIRM.where(Letter.status).compile())
    several = str(states.ERASE.where(Letter.status).compile())
    assert "letter.status = " in one
    assert "letter.status IN " in several


def test_the_status_is_stored_as_its_string_and_read_as_the_enum(app: Any) -> None:
    """The column is VARCHAR(20) as the migrations made it; what is stored does not change."""
    ddl = str(CreateTable(Letter.__table__).compile(db.engine))  # type: ignore[arg-type]
    assert re.search(r"\bstatus VARCHAR\(20\) NOT NULL", ddl), ddl
    ids = seed_queued(1)
    raw = db.session.execute(text("SELECT status FROM letter WHERE id = :id"),
                             {"id": ids[0]}).scalar_one()
    assert type(raw) is str and raw == "queued"
    read = db.session.scalar(select(Letter.status).where(Letter.id == ids[0]))
    assert type(read) is LetterStatus and read is LetterStatus.QUEUED
    db.session.expire_all()
    assert db.session.get(Letter, ids[0]).status is LetterStatus.QUEUED  # type: ignore[union-attr]


def test_a_batch_records_only_what_becomes_of_a_claimed_letter(app: Any) -> None:
    ids = seed_queued(1)
    letter = load(ids[:1])[0]
    batch = Batch()
    with pytest.raises(ForbiddenTransition):
        batch.record(letter, states.CONFIRM)  # unconfirmed -> queued is no claim's outcome
    with pytest.raises(ForbiddenTransition):
        batch.record(letter, states.RELEASE)
    assert batch.rows == [] and not batch.decided
    batch.record(letter, states.FAIL, last_error="x")
    batch.commit()
    db.session.expire_all()
    assert db.session.get(Letter, ids[0]).status == "failed"  # type: ignore[union-attr]
