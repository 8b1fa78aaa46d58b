"""The worker's jobs: claim letters, apply limits and windows, compose, send, record.

Jobs take ids, never objects. The database decides: a letter is claimed with one
conditional UPDATE (queued -> sending), so a duplicated job cannot send it twice. Just before
a letter's message goes to the relay, one durable commit records the previous letter's
outcome and marks this one as on the wire (`on_wire_at`). So a worker killed mid-chunk
leaves at most one letter that may have arrived without a recorded outcome: `reconcile`
hands that one to an organizer (needs_review) and queues the chunk's unmarked letters
again, which were never sent.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import smtplib
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from redis.exceptions import RedisError
from sqlalchemy import Connection, Table, bindparam, or_, select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from . import clock, mail, queue
from .crypto import lookup_hash
from .extensions import db
from .letters import (
    LetterRenderError,
    RenderedLetter,
    choose_subject,
    country_name,
    initials,
    letter_context,
    render_letter,
)
from .messages import (
    Outgoing,
    already_written_message,
    confirmation_message,
    data_link_message,
    digest_message,
    invitation_message,
    letter_message,
    reply_notice_message,
)
from .models import (
    Body,
    Campaign,
    CampaignStatus,
    HoldReason,
    Invitation,
    Letter,
    LetterStatus,
    LetterTemplate,
    Reply,
    Submission,
    Supporter,
    Target,
)
from .ratelimit import Limiter, MailCap, RateLimits, campaign_limits, digest_time, window_opens
from .replies import reply_address
from .rights import ERASED
from .services import confirmation_link, data_link, find_campaign, official_label, status_link
from .targets import chosen, office_name

log = logging.getLogger(__name__)
# Added at random to each wait on a limit, so workers that wait for the same slot do not
# all wake at the same instant.
WAIT_JITTER = 0.01
# The reason a letter goes to review when it may or may not have reached the official.
AMBIGUOUS = "ambiguous: may have arrived"
# Recording a batch's outcomes is tried this many times, waiting 0.5, 1, 2, 4, 8, 10... s.
RECORD_ATTEMPTS = 8
RECORD_RETRY_BASE = 0.25
RECORD_RETRY_MAX = 10.0


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _default_campaign_sender() -> tuple[str, str]:
    """The default campaign's name and From address, for mail that belongs to no letter."""
    campaign = find_campaign(None)
    return (campaign.name if campaign else "advocacy",
            mail.sender_address(campaign.sender if campaign else None))


def send_invitation(invitation_id: int, link: str) -> bool:
    """Email an invitation to organize; False if it was used or revoked in the meantime."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.accepted_at or invitation.revoked_at:
        return False
    name, sender = _default_campaign_sender()
    mail.shared_transport().send(invitation_message(
        to_email=invitation.email, campaign_name=name, sender=sender, role=invitation.role,
        link=link))
    return True


def mail_cap() -> MailCap:
    """The app's cap on emails to one supporter address (config MAILS_PER_ADDRESS)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cap = app.extensions.get("advocacy_mail_cap")
    if cap is None:
        cap = MailCap(queue.get_redis(), app.config["QUEUE_NAME"],
                      app.config["MAILS_PER_ADDRESS"])
        app.extensions["advocacy_mail_cap"] = cap
    return cap  # type: ignore[no-any-return]


def _may_mail(address: str, what: str) -> bool:
    """Count one email to this address; False, and a log line without it, past the cap.

    Checked here, where the mail is sent, so every way of asking for one (form, API, "my
    data", reminders, links on the status page) counts against the same cap, silently.
    """
    if mail_cap().take(lookup_hash(address)):
        return True
    log.info("%s not sent: this address's daily cap of mails is reached", what,
             extra={"fields": {"event": "mail cap", "mail": what}})
    return False


def _letters_of(submission_id: int, locale: str) -> list[tuple[int, str, str]]:
    """(letter id, status, official named in `locale`) of a submission's letters."""
    return [(i, status, official_label(t, locale)) for i, status, t in db.session.execute(
        select(Letter.id, Letter.status, Target)
        .join(Target, Letter.target_id == Target.id)
        .where(Letter.submission_id == submission_id).order_by(Letter.id))]


def rendered(letters: dict[int, str]) -> list[tuple[str, RenderedLetter]]:
    """Each letter (id: its official's label) as it will go out: for the supporter to see."""
    shown = []
    for row in load(list(letters)):
        try:
            shown.append((letters[row.id], render(row)))
        except LetterRenderError:
            continue  # it will fail on sending too, and the status page will say so
    return shown


def already_written(submission: Submission) -> list[tuple[str, Submission]]:
    """Officials this submission was for whom its supporter had already written to (or asked
    to) in the campaign, each with that earlier submission."""
    body = db.session.get(Body, submission.body_id)
    if body is None:
        return []
    locale = submission.locale or submission.language
    rows = db.session.execute(
        select(Target, Submission)
        .join(Letter, Letter.target_id == Target.id)
        .join(Submission, Letter.submission_id == Submission.id)
        .where(Letter.supporter_id == submission.supporter_id,
               Letter.campaign_id == submission.campaign_id,
               Letter.submission_id != submission.id,
               Letter.status != LetterStatus.CANCELLED,
               *chosen(body.id, body.slug, submission.target_country))
        .order_by(Target.id))
    return [(official_label(target, locale), earlier) for target, earlier in rows]


def _earlier_links(earlier: list[Submission], locale: str) -> list[tuple[str, str]]:
    """For each earlier submission: its confirmation link while it waits for one, else the
    link to follow its letters. The email carrying them goes to the inbox that wrote them."""
    links = []
    for sub in earlier:
        waiting = sub.confirmed_at is None and db.session.scalar(
            select(Letter.id).where(Letter.submission_id == sub.id,
                                    Letter.status == LetterStatus.UNCONFIRMED).limit(1))
        if waiting:
            links.append((_("Your earlier letters still wait for your confirmation: confirm"
                            " them here:"), f"{confirmation_link(sub.id)}?lang={locale}"))
        links.append((_("Follow your earlier letters here (keep this link to yourself):"),
                      f"{status_link(sub.id)}?lang={locale}"))
    return links


def send_confirmation(submission_id: int, reminder: bool = False) -> bool:
    """Email the supporter the link that confirms a submission; False if nothing was sent.

    The email says what the answer to the submission could not: which officials this
    address had already written to. A submission that got no letter at all (every official
    written before) is told so and then removed: it holds nothing to confirm or follow.
    """
    submission = db.session.get(Submission, submission_id)
    if submission is None or submission.confirmed_at is not None:
        return False
    to_email = submission.supporter.email
    if to_email is None:
        return False  # erased at the supporter's request in the meantime
    locale = submission.locale or submission.language
    letters = _letters_of(submission_id, locale)
    waiting = {i: official for i, status, official in letters
               if status == LetterStatus.UNCONFIRMED}
    if reminder:
        if submission.reminder_sent_at is not None:
            return False  # one reminder at most
        if not waiting:
            # None for letters that have expired; marked so that reconcile stops asking.
            _handled(submission, reminder=True)
            return False
    already = [] if reminder else already_written(submission)
    if not letters:
        return _send_already_written(submission, to_email, locale, already)
    if not _may_mail(to_email, "reminder" if reminder else "confirmation"):
        # Marked as handled, or reconcile would queue it again every minute; the reminder
        # a day later (within the cap then) still brings the link.
        _handled(submission, reminder)
        return False
    with force_locale(locale):  # the language of the supporter's pages
        msg = confirmation_message(
            to_email=to_email,
            to_name=submission.name,
            campaign_name=submission.campaign.name,
            sender=mail.sender_address(submission.campaign.sender),
            link=f"{confirmation_link(submission_id)}?lang={locale}",
            officials=[official for _i, _status, official in letters],
            status_link=f"{status_link(submission_id)}?lang={locale}",
            reminder=reminder,
            letters=rendered(waiting),
            already=[official for official, _earlier in already],
        )
    mail.shared_transport().send(msg)
    _handled(submission, reminder)
    return True


def _handled(submission: Submission, reminder: bool) -> None:
    """Record that this submission's confirmation (or its reminder) is dealt with."""
    if reminder:
        submission.reminder_sent_at = clock.now()
    else:
        submission.confirmation_sent_at = clock.now()
    db.session.commit()


def _send_already_written(submission: Submission, to_email: str, locale: str,
                          already: list[tuple[str, Submission]]) -> bool:
    """Tell the inbox that it had written to every official asked for; drop the submission."""
    sent = False
    if _may_mail(to_email, "already written"):
        earlier = list({sub.id: sub for _official, sub in already}.values())
        with force_locale(locale):
            msg = already_written_message(
                to_email=to_email, campaign_name=submission.campaign.name,
                sender=mail.sender_address(submission.campaign.sender),
                already=[official for official, _sub in already],
                earlier=_earlier_links(earlier, locale))
        mail.shared_transport().send(msg)
        sent = True
    # Nothing in it to confirm, send or follow: who typed this in, and their words, go.
    db.session.delete(submission)
    db.session.commit()
    return sent


def send_data_link(supporter_id: int, locale: str) -> bool:
    """Email a supporter the link to their own data; False if it was erased meanwhile or the
    address's daily cap of mails is reached."""
    supporter = db.session.get(Supporter, supporter_id)
    if supporter is None or supporter.email is None:
        return False
    if not _may_mail(supporter.email, "data link"):
        return False
    name, sender = _default_campaign_sender()
    with force_locale(locale):
        msg = data_link_message(
            to_email=supporter.email, campaign_name=name, sender=sender,
            link=f"{data_link(supporter_id)}?lang={locale}")
    mail.shared_transport().send(msg)
    return True


def send_data_link_for(email_hash: str, locale: str) -> bool:
    """The data link asked for on /my-data, to the supporter with this lookup hash; False
    for an address that never wrote here (the page said the same either way)."""
    supporter_id = db.session.scalar(select(Supporter.id).where(Supporter.email_hash == email_hash))
    return supporter_id is not None and send_data_link(supporter_id, locale)


def notify_reply(reply_id: int) -> bool:
    """Tell a supporter that an official replied; the reply itself stays on the status page."""
    reply = db.session.get(Reply, reply_id)
    if reply is None or not reply.authenticated:  # an unconfirmed one only waits, marked
        return False
    submission = reply.letter.submission
    to_email = submission.supporter.email
    if to_email is None:
        return False
    locale = submission.locale or submission.language
    with force_locale(locale):
        msg = reply_notice_message(
            to_email=to_email, campaign_name=submission.campaign.name,
            sender=mail.sender_address(submission.campaign.sender),
            official=official_label(reply.letter.target, locale),
            status_link=f"{status_link(submission.id)}?lang={locale}")
    mail.shared_transport().send(msg)
    return True


LETTERS = cast(Table, Letter.__table__)  # Core statements: the hot path skips the ORM


def claim(letter_ids: list[int]) -> list[int]:
    """Take due queued letters for sending, in one conditional UPDATE; returns those taken."""
    now = clock.now()
    taken = db.session.execute(
        update(LETTERS)
        .where(
            LETTERS.c.id.in_(letter_ids),
            LETTERS.c.status == LetterStatus.QUEUED,
            or_(LETTERS.c.not_before.is_(None), LETTERS.c.not_before <= now),
        )
        .values(status=LetterStatus.SENDING, claimed_at=now, claimed_by=worker_id(),
                attempts=LETTERS.c.attempts + 1, on_wire_at=None)
        .returning(LETTERS.c.id)
    ).scalars().all()
    db.session.commit()
    return list(taken)


@dataclass(frozen=True)
class LetterRow:
    """One letter and everything deciding and composing it needs, as plain values."""

    id: int
    campaign_id: int
    target_id: int
    attempts: int
    campaign_name: str
    campaign_status: str
    campaign_limits: dict[str, Any]
    campaign_sender: str | None
    campaign_reply_to: str
    campaign_resend_ambiguous: bool
    target_key: str
    target_email: str | None
    target_office: str
    target_office_names: dict[str, str]
    target_holder: str
    target_country: str
    target_salutations: dict[str, str]
    target_timezone: str
    target_active: bool
    target_paused: bool
    target_verified: bool
    target_bounced: bool
    target_digest: bool
    name: str
    city: str
    country: str
    personal_note: str
    sign_initials: bool
    supporter_email: str | None
    language: str
    subject: str
    body: str
    default_salutation: str
    subject_variants: list[str]

    @property
    def office_in_language(self) -> str:
        """The office's name in the letter's language, for the To header and the text."""
        return office_name(self.target_office, self.target_office_names, self.language)

    @property
    def signature(self) -> str:
        """The name the letter is signed with: initials when the supporter asked for that."""
        return initials(self.name) if self.sign_initials else self.name


_ROW_COLUMNS = (
    Letter.id, Letter.campaign_id, Letter.target_id, Letter.attempts,
    Campaign.name, Campaign.status, Campaign.limits, Campaign.sender, Campaign.reply_to,
    Campaign.resend_ambiguous,
    Target.key, Target.email, Target.office, Target.office_names, Target.holder, Target.country,
    Target.salutations,
    Target.timezone, Target.active, Target.paused, Target.verified,
    Target.bounced_at.is_not(None), Target.digest,
    Submission.name, Submission.city, Submission.country, Submission.personal_note,
    Submission.sign_initials, Supporter.email,
    LetterTemplate.language, LetterTemplate.subject, LetterTemplate.body,
    LetterTemplate.default_salutation, LetterTemplate.subject_variants,
)


def load(letter_ids: list[int]) -> list[LetterRow]:
    """The letters with everything composing them needs, in one query (no ORM objects)."""
    rows = db.session.execute(
        select(*_ROW_COLUMNS)
        .join(Campaign, Letter.campaign_id == Campaign.id)
        .join(Target, Letter.target_id == Target.id)
        .join(Submission, Letter.submission_id == Submission.id)
        .join(Supporter, Letter.supporter_id == Supporter.id)
        .join(LetterTemplate, Letter.template_id == LetterTemplate.id)
        .where(Letter.id.in_(letter_ids))
        .order_by(Letter.id)
    )
    return [LetterRow(*row) for row in rows]


def render(letter: LetterRow) -> RenderedLetter:
    """The letter's subject and text, from the template version the supporter saw."""
    # One of the subjects, chosen by the letter's id: a retried letter keeps its subject.
    subject = choose_subject(letter.subject, letter.subject_variants or [], str(letter.id))
    return render_letter(subject, letter.body, context_of(letter))


def compose(letter: LetterRow, rendered: RenderedLetter | None = None) -> Outgoing:
    """The email for one letter: From the campaign, Reply-To the supporter or the relay."""
    if not letter.target_email:
        raise LetterRenderError(f"{letter.target_key} has no email address")
    if letter.supporter_email is None:
        raise LetterRenderError("the supporter's data was erased")
    sender = mail.sender_address(letter.campaign_sender)
    reply_to = (reply_address(letter.id, sender) if letter.campaign_reply_to == "relay"
                else letter.supporter_email)
    return letter_message(
        letter_id=letter.id,
        rendered=rendered or render(letter),
        official_email=letter.target_email,
        official_office=letter.office_in_language,
        supporter_name=letter.signature,
        supporter_email=reply_to,
        campaign_name=letter.campaign_name,
        sender=sender,
        language=letter.language,
    )


def context_of(letter: LetterRow) -> dict[str, Any]:
    return letter_context(
        official={"office": letter.office_in_language, "holder": letter.target_holder,
                  "country": letter.target_country, "salutations": letter.target_salutations},
        supporter={"name": letter.signature, "city": letter.city, "country": letter.country},
        personal_note=letter.personal_note,
        campaign_name=letter.campaign_name,
        language=letter.language,
        default_salutation=letter.default_salutation,
    )


_SENT = update(LETTERS).where(LETTERS.c.id == bindparam("letter_id")).values(
    status=LetterStatus.SENT, sent_at=bindparam("sent_at"), last_error=None, hold_reason=None,
    content_hash=bindparam("content_hash"))
# On the wire, only while this claim still holds the letter: its state, and the attempt and
# worker it was claimed by (reconcile may have queued it again, thinking the worker dead).
_MARK = update(LETTERS).where(
    LETTERS.c.id == bindparam("mark_id"), LETTERS.c.status == LetterStatus.SENDING,
    LETTERS.c.attempts == bindparam("mark_attempts"),
    LETTERS.c.claimed_by == bindparam("mark_by")).values(on_wire_at=bindparam("mark_at"))


@dataclass
class Batch:
    """What happened to a chunk of letters, written in one transaction, then acted upon."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    sent: list[dict[str, Any]] = field(default_factory=list)
    releases: dict[datetime, list[int]] = field(default_factory=dict)
    # Letters whose outcome is in this batch, or that went on the wire: the claimed letters
    # not among them were never tried when a chunk breaks off, and go back to the queue.
    decided: set[int] = field(default_factory=set)
    _conn: Connection | None = None

    def record(self, letter: LetterRow, status: LetterStatus, **values: Any) -> None:
        self.rows.append({"id": letter.id, "status": status, **values})
        self.counts[status.value] += 1
        self.decided.add(letter.id)

    def record_sent(self, letter: LetterRow, content_hash: str | None = None) -> None:
        self.sent.append({"letter_id": letter.id, "sent_at": clock.now(),
                          "content_hash": content_hash})
        self.counts["sent"] += 1
        self.decided.add(letter.id)

    def on_wire(self, letter: LetterRow) -> bool:
        """Record the outcomes so far and mark `letter` as going to the relay, in one commit.

        The commit is durable (never lost in a database crash), and comes before the
        message's first byte: a letter left `sending` without the mark was never sent, and
        every letter before it has its outcome. False when the letter is no longer this
        claim's (reconcile took it back from a worker it thought dead): it must not go.
        """
        self.decided.add(letter.id)
        try:
            return self._write(mark=letter)
        except SQLAlchemyError:
            with contextlib.suppress(SQLAlchemyError):
                db.session.rollback()
            self.decided.discard(letter.id)  # not marked: it goes back to the queue
            raise

    def hold(self, letter: LetterRow, reason: HoldReason, until: datetime | None,
             note: str, **values: Any) -> None:
        self.record(letter, LetterStatus.HELD, hold_reason=reason, not_before=until,
                    last_error=note, **values)
        if until is not None and reason in (HoldReason.LIMIT, HoldReason.WINDOW):
            # One release job per moment, however many letters wait for it.
            self.releases.setdefault(until, []).append(letter.id)

    def _write(self, mark: LetterRow | None = None) -> bool:
        # Committed durably: an outcome lost in a database crash would leave a letter that
        # arrived marked on the wire, for a person to ask about again (bench/chaos.py).
        if self.rows or self.targets:  # the rarer outcomes, through the session
            # Bulk UPDATE by primary key, grouped by the set of columns each row changes.
            for keys in {tuple(sorted(r)) for r in self.rows}:
                db.session.execute(update(Letter), [r for r in self.rows
                                                    if tuple(sorted(r)) == keys])
            if self.targets:
                db.session.execute(update(Target), self.targets)
            db.session.commit()
            self.rows, self.targets = [], []
        marked = False
        if self.sent or mark is not None:
            # Every letter's two statements, built once, on a connection kept for the chunk:
            # through the session each commit would also take a pooled connection and ping
            # it, which cost more than the writes (bench/delivery.py).
            conn = self._connection()
            try:
                if self.sent:
                    conn.execute(_SENT, self.sent)  # sent, each with its own time
                if mark is not None:
                    marked = conn.execute(_MARK, {
                        "mark_id": mark.id, "mark_attempts": mark.attempts,
                        "mark_by": worker_id(), "mark_at": clock.now()}).rowcount == 1
                conn.commit()
            except SQLAlchemyError:
                self.close()  # a connection that failed is not used again
                raise
            self.sent = []
        return marked

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = db.engine.connect()
        return self._conn

    def close(self) -> None:
        """Give back the chunk's connection."""
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._conn.close()
            self._conn = None

    def commit(self) -> None:
        if not (self.sent or self.rows or self.targets):
            self.close()
            return
        # The letters have gone out (or not) already: what happened must be recorded, so a
        # database away for a moment (a restart) is waited for rather than given up on, which
        # would leave the letters `sending` and send them to review. The writes are by id and
        # set values, so writing them again after a lost answer changes nothing.
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                self._write()
                break
            except OperationalError as exc:
                with contextlib.suppress(SQLAlchemyError):
                    db.session.rollback()
                self.close()
                if attempt == RECORD_ATTEMPTS:
                    raise
                log.warning("recording a batch failed (%s); trying again", type(exc).__name__,
                            extra={"fields": {"event": "record retry", "attempt": attempt}})
                time.sleep(min(RECORD_RETRY_MAX, RECORD_RETRY_BASE * 2 ** attempt))
        self.close()
        try:
            for until, letter_ids in self.releases.items():
                schedule_release(letter_ids, until)
            for action in self.after_commit:
                action()
        except RedisError as exc:
            # The letters are recorded: reconcile releases held ones and queues due ones
            # again once Redis answers.
            log.warning("could not schedule what follows a batch: %s", type(exc).__name__,
                        extra={"fields": {"event": "schedule skipped",
                                          "error": type(exc).__name__}})
        self.after_commit = []
        self.releases = {}


def due_second(when: datetime) -> datetime:
    """`when` rounded up to a whole second: the moment RQ's scheduler can hold to."""
    # RQ scores a scheduled job in whole seconds, rounded down, so a job asked for 12.4 s
    # would run at 12 s, find its letter not yet due, and leave it to the next reconcile.
    whole = when.replace(microsecond=0)
    return whole if whole == when else whole + timedelta(seconds=1)


def _enqueue_at(when: datetime, func: Callable[..., Any], *args: Any,
                job_id: str | None = None) -> None:
    q = queue.get_queue()
    if when <= clock.now():
        q.enqueue(func, *args, job_id=job_id)
    else:
        q.enqueue_at(due_second(when), func, *args, job_id=job_id)


def schedule_release(letter_ids: list[int], when: datetime) -> None:
    """Ask the queue to release held letters when their time comes (reconcile also does)."""
    _enqueue_at(when + timedelta(seconds=1), release_letters, letter_ids)


def schedule_digest(key: str, when: datetime) -> None:
    job_id = "digest-" + key.replace(":", "_")  # one job per digest, however many letters
    _enqueue_at(when, send_digest, key, job_id=job_id)


def _limits(letter: LetterRow, cache: dict[int, RateLimits]) -> RateLimits:
    if letter.campaign_id not in cache:
        cache[letter.campaign_id] = campaign_limits(letter.campaign_limits)
    return cache[letter.campaign_id]


def _gate(letter: LetterRow, limits: RateLimits, limiter: Limiter, batch: Batch) -> bool:
    """Everything that may keep a letter back; True when it may go now."""
    cfg = current_app.config
    if not letter.target_active:
        batch.record(letter, LetterStatus.CANCELLED, last_error="the official was deactivated")
        return False
    if letter.campaign_status != CampaignStatus.OPEN or letter.target_paused:
        batch.hold(letter, HoldReason.PAUSED, None, "paused by the organizers")
        return False
    if cfg["ADVOCACY_MODE"] == "live" and not letter.target_verified:
        # targets-sources.md: nothing goes by email to an unverified address in live mode.
        batch.hold(letter, HoldReason.UNVERIFIED, None, "the official's address is unverified")
        return False
    if letter.target_bounced:
        batch.hold(letter, HoldReason.BOUNCED, None, "the official's address bounced")
        return False
    now = clock.now()
    opens = window_opens(limits.window, letter.target_timezone, now)
    if opens is not None:
        batch.hold(letter, HoldReason.WINDOW, opens, "outside the official's send window")
        return False
    domain = (letter.target_email or "").rpartition("@")[2].lower()
    while (wait := limiter.acquire(limits, letter.target_key, domain, time.time())) is not None:
        if wait.scope == "official_day" and letter.target_digest:
            local_day = now.astimezone(ZoneInfo(letter.target_timezone)).date()
            key = f"{letter.campaign_id}:{letter.target_id}:{local_day.isoformat()}"
            at = digest_time(limits, letter.target_timezone, now)
            batch.hold(letter, HoldReason.DIGEST, at, "daily cap reached: goes in the digest",
                       digest_key=key)
            batch.after_commit.append(functools.partial(schedule_digest, key, at))
            return False
        if wait.seconds <= cfg["INLINE_WAIT_SECONDS"]:
            time.sleep(wait.seconds + random.uniform(0, WAIT_JITTER))  # noqa: S311
            continue
        # Counted from now, not from `now` above: the letter may have waited inline since,
        # and the wait is measured from the limiter's last look. Whole seconds (rounded up),
        # so letters held together share one release job.
        until = (clock.now() + timedelta(seconds=wait.seconds + 1)).replace(microsecond=0)
        batch.hold(letter, HoldReason.LIMIT, until, f"rate limit: {wait.scope}")
        return False
    return True


def _smtp_refusal(exc: Exception) -> tuple[int, str] | None:
    """(code, text) of an SMTP refusal, or None for a broken connection."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return code, text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    if isinstance(exc, smtplib.SMTPResponseException):
        raw: bytes | str = exc.smtp_error
        return exc.smtp_code, raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    return None


def _put_back(letters: list[LetterRow], reason: str, batch: Batch) -> None:
    """Claimed letters never tried (Redis away, say): queued again, the attempt not counted."""
    later = clock.now() + timedelta(seconds=current_app.config["RETRY_BASE_SECONDS"])
    for letter in letters:
        batch.record(letter, LetterStatus.QUEUED, not_before=later, last_error=reason,
                     attempts=letter.attempts - 1)
        batch.counts["put back"] += 1


def _retry_later(letter: LetterRow, reason: str, batch: Batch) -> None:
    """Back to the queue after an exponential, jittered wait; failed after MAX attempts."""
    cfg = current_app.config
    if letter.attempts >= cfg["MAX_ATTEMPTS"]:  # attempts counts this one (set by claim)
        batch.record(letter, LetterStatus.FAILED,
                     last_error=f"gave up after {letter.attempts} tries: {reason}")
        return
    base = cfg["RETRY_BASE_SECONDS"] * 2 ** (letter.attempts - 1)
    delay = min(cfg["RETRY_MAX_SECONDS"], base) * random.uniform(0.5, 1.5)  # noqa: S311
    until = clock.now() + timedelta(seconds=delay)
    batch.record(letter, LetterStatus.QUEUED, not_before=until, last_error=reason)
    batch.counts["retry"] += 1
    letter_id = letter.id
    batch.after_commit.append(functools.partial(_enqueue_at, until, deliver_letters, [letter_id]))


def _send(letter: LetterRow, smtp: mail.Transport, batch: Batch) -> bool:
    """Send one letter and record the outcome; False when the relay itself is unreachable."""
    if letter.supporter_email is None:  # erased after this letter was claimed
        batch.record(letter, LetterStatus.CANCELLED, last_error=ERASED)
        return True
    try:
        rendered = render(letter)
        msg = compose(letter, rendered)
    except LetterRenderError as exc:
        batch.record(letter, LetterStatus.FAILED, last_error=f"template: {exc}")
        return True
    if not batch.on_wire(letter):
        batch.counts["taken back"] += 1  # reconcile queued it again: another claim sends it
        return True
    try:
        # With the campaign's consent, a message whose outcome is unknown goes once more
        # at once, with the same Message-ID; else never: a person decides.
        smtp.send(msg, resend_unconfirmed=letter.campaign_resend_ambiguous)
    except mail.Unconfirmed as exc:
        if letter.campaign_resend_ambiguous:  # unknown twice over: again later, same Message-ID
            _retry_later(letter, f"{AMBIGUOUS}; sent again as the campaign chose: {exc}"[:500],
                         batch)
        else:
            batch.record(letter, LetterStatus.NEEDS_REVIEW,
                         last_error=f"{AMBIGUOUS}: the connection dropped after the whole "
                                    "message went out, before the relay's answer")
        return True
    except mail.RelayError as exc:
        _retry_later(letter, f"relay: {exc}"[:500], batch)
        return False
    except (smtplib.SMTPException, OSError) as exc:
        refusal = _smtp_refusal(exc)
        if refusal is None or isinstance(exc, smtplib.SMTPSenderRefused):
            # The connection broke, or the relay refused our sender: not the official's fault.
            smtp.close()
            _retry_later(letter, f"{type(exc).__name__}: {exc}"[:500], batch)
            return True
        code, text = refusal
        reason = f"{code} {text}"[:1000]
        if code < 500:
            _retry_later(letter, reason, batch)
            return True
        batch.record(letter, LetterStatus.FAILED, last_error=reason)
        if isinstance(exc, smtplib.SMTPRecipientsRefused) or text.startswith("5.1."):
            # The address itself is refused: flag it, hold the rest until someone looks.
            batch.targets.append({"id": letter.target_id, "bounced_at": clock.now(),
                                  "bounce_reason": reason})
        return True
    batch.record_sent(letter, rendered.digest())
    return True


def deliver_letters(letter_ids: list[int]) -> dict[str, int]:
    """Deliver a batch: claim a chunk at a time, one SMTP connection for all of it."""
    cfg = current_app.config
    smtp = mail.shared_transport()
    limiter = limiter_for_app()
    counts: Counter[str] = Counter()
    limits_cache: dict[int, RateLimits] = {}
    for start in range(0, len(letter_ids), cfg["CLAIM_SIZE"]):
        chunk = list(letter_ids[start : start + cfg["CLAIM_SIZE"]])
        claimed = claim(chunk)
        counts["skipped"] += len(chunk) - len(claimed)
        if not claimed:
            continue
        batch = Batch()
        relay_up, redis_down = True, ""
        letters = load(claimed)
        # The session's read ends here: the chunk writes on a connection of its own, and a
        # transaction left open would hold its snapshot (and a pooled connection) meanwhile.
        db.session.commit()
        try:
            for letter in letters:
                if not relay_up:  # no use trying each letter against a relay that is down
                    _retry_later(letter, "relay unreachable", batch)
                    continue
                try:
                    go = _gate(letter, _limits(letter, limits_cache), limiter, batch)
                except RedisError as exc:  # the limits cannot be counted: nothing more goes
                    redis_down = f"{type(exc).__name__}: {exc}"[:300]
                    break
                if go:
                    relay_up = _send(letter, smtp, batch)
        finally:
            # What was done is recorded even if something broke off; letters not tried go
            # back to the queue now (not to review after the stale wait: none went out).
            untried = [lt for lt in letters if lt.id not in batch.decided]
            if redis_down:
                _put_back(untried, f"not sent: the rate limits could not be checked "
                                   f"({redis_down})", batch)
            else:  # an unexpected error: the attempt counts, so a letter that breaks
                for letter in untried:  # every worker ends failed, not in a loop
                    _retry_later(letter, "not sent: its batch broke off", batch)
            batch.commit()
            counts.update(batch.counts)
        if redis_down:
            # The rest of the job stays queued in the database; reconcile enqueues it again
            # once Redis answers.
            log.warning("Redis away: %d letters put back in the queue", len(untried),
                        extra={"fields": {"event": "redis away", "put_back": len(untried)}})
            break
        if not relay_up:
            # The rest of the job waits in the queue for its retry; reconcile sees to it.
            rest = list(letter_ids[start + cfg["CLAIM_SIZE"]:])
            if rest:
                with contextlib.suppress(RedisError):
                    _enqueue_at(clock.now() + timedelta(seconds=cfg["RETRY_BASE_SECONDS"]),
                                deliver_letters, rest)
            break
    log.info("batch of %d: %s", len(letter_ids), dict(counts),
             extra={"fields": {"event": "batch", "letters": len(letter_ids), **counts}})
    return dict(counts)


def limiter_for_app() -> Limiter:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    limiter = app.extensions.get("advocacy_limiter")
    if limiter is None:
        limiter = Limiter(queue.get_redis(), app.config["QUEUE_NAME"])
        app.extensions["advocacy_limiter"] = limiter
    return limiter  # type: ignore[no-any-return]


def release_letters(letter_ids: list[int]) -> dict[str, int]:
    """Held letters whose time has come go back to the queue, and out."""
    released = db.session.execute(
        update(Letter)
        .where(
            Letter.id.in_(letter_ids),
            Letter.status == LetterStatus.HELD,
            Letter.hold_reason.in_([HoldReason.LIMIT, HoldReason.WINDOW]),
            Letter.not_before <= clock.now() + timedelta(seconds=1),
        )
        .values(status=LetterStatus.QUEUED, hold_reason=None)
        .returning(Letter.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    db.session.commit()
    return deliver_letters(sorted(released)) if released else {}


def send_digest(key: str) -> int:
    """One email to an official with the day's overflow; returns how many letters it carries."""
    now = clock.now()
    ids = db.session.execute(
        update(Letter)
        .where(Letter.digest_key == key, Letter.status == LetterStatus.HELD,
               Letter.hold_reason == HoldReason.DIGEST)
        # Marked on the wire with the claim: the digest goes out right after, and a worker
        # that died in between leaves its letters to review, never to go out one by one.
        .values(status=LetterStatus.SENDING, claimed_at=now, claimed_by=worker_id(),
                attempts=Letter.attempts + 1, on_wire_at=now)
        .returning(Letter.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    db.session.commit()
    if not ids:
        return 0
    letters = load(list(ids))
    first = letters[0]
    entries = [
        {"name": lt.signature, "city": lt.city,
         "country_name": country_name(lt.country, first.language),
         "personal_note": lt.personal_note}
        for lt in letters
    ]
    # Chosen by the digest's key, as its Message-ID is: a retried digest keeps its subject.
    subject = choose_subject(first.subject, first.subject_variants or [], key)
    subject = render_letter(subject, "-", context_of(first)).subject
    with force_locale(first.language):  # the language the letters are written in
        msg = digest_message(
            digest_key=key, official_email=first.target_email or "",
            official_office=first.office_in_language,
            salutation=first.target_salutations.get(first.language) or first.default_salutation,
            campaign_name=first.campaign_name,
            sender=mail.sender_address(first.campaign_sender),
            entries=entries, subject=subject,
        )
    batch = Batch()
    smtp = mail.shared_transport()
    try:
        smtp.send(msg, resend_unconfirmed=first.campaign_resend_ambiguous)
    except mail.Unconfirmed as exc:
        later = now + timedelta(seconds=current_app.config["RETRY_BASE_SECONDS"])
        for letter in letters:
            if first.campaign_resend_ambiguous:  # same Message-ID: derived from the key
                batch.record(letter, LetterStatus.HELD, hold_reason=HoldReason.DIGEST,
                             not_before=later, last_error=f"digest: {AMBIGUOUS}: {exc}"[:500])
            else:
                batch.record(letter, LetterStatus.NEEDS_REVIEW,
                             last_error=f"digest: {AMBIGUOUS}: {exc}"[:500])
        if first.campaign_resend_ambiguous:
            batch.after_commit.append(lambda: schedule_digest(key, later))
        batch.commit()
        return 0
    except (smtplib.SMTPException, OSError) as exc:
        refusal = _smtp_refusal(exc)
        if refusal is not None and refusal[0] >= 500:
            for letter in letters:
                batch.record(letter, LetterStatus.FAILED, last_error=f"digest: {refusal}")
        else:
            smtp.close()
            later = now + timedelta(seconds=current_app.config["RETRY_BASE_SECONDS"])
            for letter in letters:
                batch.record(letter, LetterStatus.HELD, hold_reason=HoldReason.DIGEST,
                             not_before=later, last_error=f"digest: {exc}"[:500])
            batch.after_commit.append(lambda: schedule_digest(key, later))
        batch.commit()
        return 0
    for letter in letters:
        batch.record_sent(letter)
    batch.commit()
    return len(letters)
