"""The database: campaigns, bodies, targets, letter templates, supporters and letters."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocacy import clock
from advocacy.crypto import Sealed
from advocacy.extensions import Base


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use advocacy.clock.now()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class LetterStatus(enum.StrEnum):
    """A letter's state; its groupings and the moves between them are in letters.states."""

    UNCONFIRMED = "unconfirmed"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    HELD = "held"
    FAILED = "failed"
    NEEDS_REVIEW = "needs_review"
    CANCELLED = "cancelled"


class StatusColumn(TypeDecorator[LetterStatus]):
    """A letter's status: stored as its plain string (VARCHAR(20), as it always was, so no
    migration), read back as a `LetterStatus`. SQLAlchemy's own `Enum` type would keep the
    members' names, or add a CHECK constraint or a native type, changing the schema."""

    impl = String(20)
    cache_ok = True

    def process_result_value(self, value: str | None, dialect: Dialect) -> LetterStatus | None:
        return None if value is None else LetterStatus(value)


class HoldReason(enum.StrEnum):
    """Why a letter is held; the first three are released by time, the rest by an organizer."""

    LIMIT = "limit"
    WINDOW = "window"
    DIGEST = "digest"
    PAUSED = "paused"
    UNVERIFIED = "unverified"
    BOUNCED = "bounced"


class CampaignStatus(enum.StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


class Campaign(Base):
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default=CampaignStatus.OPEN)
    # The groups supporters may pick, as slugs, in the order the form lists them; empty
    # means the groups offered by default, in their positions (officials.groups.offered).
    bodies: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Rate limits and send window over the defaults (see advocacy.campaigns.limits.RateLimits).
    limits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sender: Mapped[str | None] = mapped_column(String(320))  # else ADVOCACY_SENDER
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # takes letters from
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # until
    # The organizer's privacy notice (Markdown-free plain text); None means the built-in one.
    privacy_notice: Mapped[str | None] = mapped_column(Text)
    # Where officials' replies go: "supporter" (Reply-To their own address) or "relay"
    # (reply+TOKEN@ the campaign's domain; kept for the supporter's status page, see
    # privacy/replies.py).
    reply_to: Mapped[str] = mapped_column(String(10), default="supporter")
    # The country holding the prisoner: supporters who give it as theirs are warned.
    detaining_country: Mapped[str] = mapped_column(String(2), default="")
    # The organizer's choice for a letter whose outcome is unknown (the connection dropped
    # after the whole message went out): send it again with the same Message-ID, which most
    # servers drop if it did arrive; by default a person decides (needs_review).
    resend_ambiguous: Mapped[bool] = mapped_column(Boolean, default=False)
    # The supporter's own paragraph: "optional", "encouraged" (the form asks for it) or
    # "required" (a letter without words of one's own is refused; campaigns.settings).
    note_mode: Mapped[str] = mapped_column(String(12), default="optional",
                                           server_default="optional")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class CampaignPage(Base):
    """One version of a campaign's public page in one language; the highest is current.

    Versioned as letters are (campaigns/pages.py): each save adds a row, so any version can
    come back. The story is Markdown, rendered and sanitised when shown.
    """

    __tablename__ = "campaign_page"
    __table_args__ = (UniqueConstraint("campaign_id", "language", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(300))  # also the meta description, OG card
    story: Mapped[str] = mapped_column(Text, default="")  # Markdown
    # An uploaded image's file name in the instance folder (pages.store_image), and its alt.
    image: Mapped[str | None] = mapped_column(String(80))
    image_alt: Mapped[str] = mapped_column(String(300), default="")
    news_date: Mapped[date | None] = mapped_column(Date)
    news: Mapped[str] = mapped_column(String(500), default="")
    goal: Mapped[int | None] = mapped_column(Integer)  # the counter's "N of GOAL"
    share_text: Mapped[str] = mapped_column(String(500), default="")
    origin: Mapped[str] = mapped_column(String(20))  # "file" or "organizer"
    content_hash: Mapped[str] = mapped_column(String(64))
    author: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Body(Base):
    """A group of offices supporters write to (the UI says "group"): rows, not code.

    The shipped ones come from targets/*.toml ([body] tables); organizers define more in the
    admin. Campaigns choose which they offer, in which order (Campaign.bodies)."""

    __tablename__ = "body"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Chosen by country: the supporter picks a country and writes to that country's offices.
    by_country: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where it comes in the list of a campaign that has not chosen its own order.
    position: Mapped[int] = mapped_column(Integer, default=0)
    # The letter languages its offices accept; empty means every language letters ship in.
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What writing to it may cost a supporter, per page language; shown when it is chosen.
    risk_notices: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Offered by campaigns that have not chosen their groups (an opt-in group is not).
    offered: Mapped[bool] = mapped_column(Boolean, default=True)
    # The [body] table as `advocacy init` last loaded it: an unchanged one keeps admin edits.
    file_hash: Mapped[str | None] = mapped_column(String(64))

    officials: Mapped[list[Official]] = relationship(back_populates="body")


class Official(Base):
    """An office (not a person) that letters are addressed to."""

    __tablename__ = "target"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id"), index=True)
    office: Mapped[str] = mapped_column(String(300))  # in English
    office_names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # other languages
    holder: Mapped[str] = mapped_column(String(200), default="")
    # "f" or "m" when the holder is known, else "": the salutation follows it (letters.salutations).
    # No default in Python: the database's (server_default) fills rows written without it.
    holder_gender: Mapped[str] = mapped_column(String(1), server_default="")
    country: Mapped[str] = mapped_column(String(2), default="", index=True)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    email: Mapped[str | None] = mapped_column(String(320))
    contact_page: Mapped[str | None] = mapped_column(String(500))
    postal_address: Mapped[str | None] = mapped_column(Text)
    salutations: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(500))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_by: Mapped[str | None] = mapped_column(String(320))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who last set the email address (None: a targets file): someone else must verify it.
    address_set_by: Mapped[int | None] = mapped_column(ForeignKey("organizer.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # An inbox for one documented case submission (the WGAD's, OHCHR's urgent-action one):
    # the organizers submit there formally; supporters' letters never go there. A server
    # default (0017), so that statements naming only older columns still insert a row.
    case_intake: Mapped[bool] = mapped_column(Boolean, server_default=false())
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    pause_reason: Mapped[str | None] = mapped_column(Text)  # when not an organizer's own
    # A complaint (an abuse report, RFC 5965) about our mail came from this office: it was
    # paused, and the dashboard says so until an organizer resumes it (delivery.bounces).
    complained_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The organizer's choice: past the daily cap, one digest instead of the overflow.
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    # The office's own say (officials.office_say), through the signed link in each letter:
    # every letter in one daily digest; a pause until a time (letters held, then released);
    # the address it says is right, unverified: letters keep going to `email` until an
    # organizer accepts it. No default in Python (the database's fills rows written without
    # it), as holder_gender: rows written through Core before 0023 must not name the column.
    digest_daily: Mapped[bool] = mapped_column(Boolean, server_default=false())
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    proposed_email: Mapped[str | None] = mapped_column(String(320))
    proposed_note: Mapped[str | None] = mapped_column(Text)
    proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bounce_reason: Mapped[str | None] = mapped_column(Text)
    # Hash of the file entry last loaded: a changed file entry wins, an unchanged one
    # leaves organizers' edits alone.
    file_hash: Mapped[str | None] = mapped_column(String(64))

    body: Mapped[Body] = relationship(back_populates="officials")


class LetterTemplate(Base):
    """One version of the appeal for a campaign, body and language; the highest is current."""

    __tablename__ = "letter_template"
    __table_args__ = (UniqueConstraint("campaign_id", "body_id", "language", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id"))
    language: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column("body", Text)
    default_salutation: Mapped[str] = mapped_column(String(200))
    # More subjects; each letter takes one of `subject` and these, chosen by a hash of its id
    # (letters.render.choose_subject), so a retried letter keeps its subject.
    subject_variants: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The editable part: words the supporter's paragraph starts with, theirs to change.
    suggested_note: Mapped[str] = mapped_column(Text, default="")
    # What each office is asked (letters.asks): by office key, by country code, or "default";
    # the text's {{ ask }} shows the one that fits the letter's official.
    asks: Mapped[dict[str, str] | None] = mapped_column(JSON)
    origin: Mapped[str] = mapped_column(String(20))  # "file" or "organizer"
    content_hash: Mapped[str] = mapped_column(String(64))
    author: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # A translation's source: the language it was written from and that letter's version then
    # (None for an original). Once the source has a newer version, this one is out of date.
    source_language: Mapped[str | None] = mapped_column(String(8))
    source_version: Mapped[int | None] = mapped_column(Integer)


class Supporter(Base):
    """Who wrote, found by a keyed hash of their address; the address itself is encrypted.

    Both are None once the supporter's data is scrubbed (privacy/retention.py) or erased on
    request.
    """

    __tablename__ = "supporter"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(Sealed)
    email_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Submission(Base):
    """What one supporter filled in once: their details and note, for the letters to the
    groups they ticked (one confirmation confirms them all)."""

    __tablename__ = "submission"
    # The rollup of submissions reads those made or confirmed since its watermark.
    __table_args__ = (
        Index("ix_submission_created_at", "created_at"),
        Index("ix_submission_confirmed_at", "confirmed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    supporter_id: Mapped[int] = mapped_column(ForeignKey("supporter.id"), index=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id"))  # the first group ticked
    # Every group ticked, as slugs, in order (None: body_id's alone, as before 0018); the
    # country of the offices is that of the group chosen by country among them.
    bodies: Mapped[list[str] | None] = mapped_column(JSON)
    target_country: Mapped[str] = mapped_column(String(2), default="")
    # Encrypted (crypto.Sealed), and "" once scrubbed.
    name: Mapped[str] = mapped_column(Sealed)
    city: Mapped[str] = mapped_column(Sealed)
    country: Mapped[str] = mapped_column(String(2))
    language: Mapped[str] = mapped_column(String(8))  # of the letters
    locale: Mapped[str | None] = mapped_column(String(8))  # of the supporter's pages and emails
    personal_note: Mapped[str] = mapped_column(Sealed, default="")
    # Whether the paragraph is the writer's own: not empty and not a suggested one unchanged
    # (letters.similarity.personalised). None: submitted before this was recorded. Kept
    # after the words are scrubbed, for the dashboard's and the hand-over report's shares.
    personalised: Mapped[bool | None] = mapped_column(Boolean)
    # Letters signed "A. M., City" instead of the full name.
    sign_initials: Mapped[bool] = mapped_column(Boolean, default=False)
    ref: Mapped[str | None] = mapped_column(String(80), index=True)
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Which privacy notice the supporter agreed to (see advocacy.intake.consent.notice_version).
    privacy_version: Mapped[str | None] = mapped_column(String(40))
    # A separate consent: the campaign may write to them later. Never implied by a letter.
    newsletter_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Another: the partner whose ref this is may write to them. Both become OptIn rows only
    # once the address is proven (intake.confirm): until then anyone could have typed it.
    partner_optin_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # And another: the paragraph may be quoted, signed with initials and city only, in the
    # report handed to the officials (reporting.handover). Never implied by the letter.
    quote_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Another separate consent: ask me, once, a while after delivery, whether an office
    # replied (delivery.reply_check); and when that one email was claimed for sending.
    reply_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the name, city and words were removed (privacy/retention.py); the counts stay.
    scrubbed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    campaign: Mapped[Campaign] = relationship()
    supporter: Mapped[Supporter] = relationship()
    letters: Mapped[list[Letter]] = relationship(back_populates="submission")


class Letter(Base):
    """One supporter to one official: one email."""

    __tablename__ = "letter"
    __table_args__ = (
        # One supporter writes to one official at most once per campaign (cancelled aside).
        Index(
            "uq_letter_once_per_official",
            "campaign_id",
            "supporter_id",
            "target_id",
            unique=True,
            sqlite_where=text("status != 'cancelled'"),
            postgresql_where=text("status != 'cancelled'"),
        ),
        Index("ix_letter_status_not_before", "status", "not_before"),
        # The dashboard counts the small states (all but sent) from this index alone.
        Index("ix_letter_status_campaign_target", "status", "campaign_id", "target_id"),
        # The rollup reads sent letters past its watermark, and caps look at the last day.
        Index("ix_letter_sent_at", "sent_at"),
        # The rollup counts again the days of letters that bounced since its last run.
        Index("ix_letter_bounced_at", "bounced_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    supporter_id: Mapped[int] = mapped_column(ForeignKey("supporter.id"))
    target_id: Mapped[int] = mapped_column(ForeignKey("target.id"), index=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("letter_template.id"))
    # Written only through advocacy.letters.states (its named transitions).
    status: Mapped[LetterStatus] = mapped_column(StatusColumn(), default=LetterStatus.UNCONFIRMED)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hold_reason: Mapped[str | None] = mapped_column(String(20))
    digest_key: Mapped[str | None] = mapped_column(String(80), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The organizer's reason when they released or cancelled the letter by hand.
    moderation_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set (durably) just before the letter's message goes to the relay, in the same commit
    # as the previous letter's outcome; cleared by each claim. A letter left `sending` by a
    # dead worker without it was never sent and is queued again; with it, it may have arrived.
    on_wire_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A bounce came back after the relay took it (delivery.bounces): sent, then failed.
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SHA-256 of the subject and text as sent, kept for the hand-over report after the text
    # itself can no longer be rendered (the supporter's words are scrubbed).
    content_hash: Mapped[str | None] = mapped_column(String(64))
    # How many letters to the same office, within the campaign's window, had words of their
    # own nearly the same as this one's when it was confirmed (delivery.alike): 0 means its
    # paragraph was distinct; past the campaign's `similar_after` it goes into the office's
    # digest. A count, nothing of the words. None: not counted (Redis away, or older).
    alike: Mapped[int | None] = mapped_column(Integer)
    # A reply to it came through the relay: "confirmed" (from the office) or "unconfirmed"
    # (privacy.replies). Kept when the reply itself goes with its writer's data, for the
    # offices' reply rates (reporting.reply_rates).
    relayed_reply: Mapped[str | None] = mapped_column(String(12))

    campaign: Mapped[Campaign] = relationship()
    submission: Mapped[Submission] = relationship(back_populates="letters")
    supporter: Mapped[Supporter] = relationship()
    official: Mapped[Official] = relationship()
    template: Mapped[LetterTemplate] = relationship()


class SentCount(Base):
    """Sent letters counted by day, body and supporter country, along one dimension.

    Filled by reporting.rollup from a watermark on Letter.sent_at, so the dashboard sums a few
    thousand rows instead of counting a million letters. `dimension` is "day" (value "":
    by day, body and country alone), "hour" (value "00" to "23", UTC), "target" (the target
    id), "language" or "ref" ("" for none); each also with a "*" after it: the same summed
    over supporter countries (country ""), for the views without a country filter.
    """

    __tablename__ = "sent_count"
    __table_args__ = (
        UniqueConstraint("dimension", "campaign_id", "day", "body_id", "country", "value"),
        # A range of days within a dimension, whatever the campaign (the hourly chart's week).
        Index("ix_sent_count_dimension_day", "dimension", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dimension: Mapped[str] = mapped_column(String(10))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    day: Mapped[date] = mapped_column(Date)
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id"))
    country: Mapped[str] = mapped_column(String(2))
    value: Mapped[str] = mapped_column(String(80))
    letters: Mapped[int] = mapped_column(Integer)


class SubmissionCount(Base):
    """Submissions by the day they were made, campaign, body and supporter country: how many,
    and how many of them were confirmed before the rollup's watermark (reporting.rollup)."""

    __tablename__ = "submission_count"
    __table_args__ = (UniqueConstraint("day", "campaign_id", "body_id", "country"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    day: Mapped[date] = mapped_column(Date)
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id"))
    country: Mapped[str] = mapped_column(String(2))
    submitted: Mapped[int] = mapped_column(Integer)
    confirmed: Mapped[int] = mapped_column(Integer)


class LatencyCount(Base):
    """Sent letters by campaign, day sent and how long they waited from confirmation
    (queued_at) to sent: `bucket` indexes reporting.rollup.LATENCY_BUCKETS (its length: longer
    than all), `seconds` is their waits added up. For the send-latency histogram."""

    __tablename__ = "latency_count"
    __table_args__ = (UniqueConstraint("day", "campaign_id", "bucket"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    day: Mapped[date] = mapped_column(Date)
    bucket: Mapped[int] = mapped_column(Integer)
    letters: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)


class RollupMark(Base):
    """How far the rollup has counted: sent letters before `upto` are in SentCount and
    LatencyCount, submissions made (and confirmations) before it in SubmissionCount."""

    __tablename__ = "rollup_mark"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    upto: Mapped[datetime] = mapped_column(UTCDateTime)


class Reply(Base):
    """An official's answer to a relayed letter, kept (encrypted) for the supporter to read."""

    __tablename__ = "reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id"), index=True)
    from_address: Mapped[str] = mapped_column(Sealed)
    subject: Mapped[str] = mapped_column(Sealed)
    text: Mapped[str] = mapped_column(Sealed)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # Whether a DKIM signature aligned with the official's domain vouches for it, and why
    # (privacy.replies.authenticate): anyone who learns a relay address can write to it.
    authenticated: Mapped[bool] = mapped_column(Boolean, default=False)
    authentication: Mapped[str] = mapped_column(String(200),
                                                default="not checked (received before checks)")

    letter: Mapped[Letter] = relationship()


class ReplyAnswer(Base):
    """A supporter's answer to "did you get a reply?" about one letter (privacy.reply_answers):
    yes, no or not yet, and the reply they chose to paste, encrypted. The answer stays for the
    counts; the pasted text goes with the submission's other words (privacy.retention)."""

    __tablename__ = "reply_answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id"), unique=True)
    answer: Mapped[str] = mapped_column(String(8))  # REPLY_ANSWERS
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    text: Mapped[str | None] = mapped_column(Sealed)

    letter: Mapped[Letter] = relationship()


# What a supporter may answer about a letter (ReplyAnswer.answer).
REPLY_ANSWERS = ("yes", "no", "not_yet")


class FollowUpRound(Base):
    """An organizers' dated follow-up to the offices that have not answered a campaign's
    letters (organizers.follow_ups): one short letter of theirs to each such office."""

    __tablename__ = "follow_up_round"
    __table_args__ = (UniqueConstraint("campaign_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    day: Mapped[date] = mapped_column(Date)  # the round's date, named in its letters
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    # The language the organizers wrote subject and text in: each letter's Content-Language,
    # and the office named in it where the office has a name in it.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("organizer.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    campaign: Mapped[Campaign] = relationship()


class FollowUpLetter(Base):
    """One office's letter of a follow-up round: sent through the delivery limits
    (delivery.follow_ups), at most once per office per round."""

    __tablename__ = "follow_up_letter"
    __table_args__ = (UniqueConstraint("round_id", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("follow_up_round.id"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("target.id"))
    # A letter's states (letters.states): queued, sending, sent, held (paused, unverified or
    # bounced office: organizers decide), failed (refused), needs_review (it may have
    # arrived), cancelled.
    status: Mapped[str] = mapped_column(String(12), default="queued")
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The claim, as a letter's: who took it and when, and the mark set (durably) just before
    # its message goes to the relay, cleared by each claim. Left `sending` by a dead worker,
    # one without the mark was never sent and is queued again; one with it may have arrived
    # and waits for an organizer (delivery.reconcile).
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_wire_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    round: Mapped[FollowUpRound] = relationship()
    official: Mapped[Official] = relationship()


class OwnMail(Base):
    """A supporter sent a letter themselves: opened it in their own mail, or said they sent it
    through the office's contact form or by post. Counted, nothing personal."""

    __tablename__ = "own_mail"
    __table_args__ = (Index("ix_own_mail_campaign_created", "campaign_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    target_id: Mapped[int] = mapped_column(ForeignKey("target.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # OWN_MAIL_CHANNELS, BY_HAND_CHANNELS
    language: Mapped[str] = mapped_column(String(8))
    ref: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Role(enum.StrEnum):
    """What an organizer may do; each role may do all that the ones below it may.

    A partner account is outside that ladder: it sees its own partner's figures and opt-ins,
    and nothing a viewer sees (organizers.accounts.may never grants it a rank)."""

    VIEWER = "viewer"  # read the dashboard, the letters, the templates and the targets
    EDITOR = "editor"  # also edit templates and targets, moderate letters
    OWNER = "owner"  # also accounts, campaigns, live mode and the audit log
    PARTNER = "partner"  # one partner's own figures and opted-in supporters, nothing else


class Partner(Base):
    """An organisation that embeds the campaigns: its pages pass `ref` (form, widget, API)."""

    __tablename__ = "partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    ref: Mapped[str] = mapped_column(String(80), unique=True)
    site_url: Mapped[str] = mapped_column(String(500), default="")
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class OptIn(Base):
    """A supporter's consent to hear from a partner (or, partner None, from the campaign
    itself: its newsletter). Recorded once the address is proven, kept while the consent
    stands (outside the letters' retention), emptied of the address and name when withdrawn
    and deleted when the supporter erases their data."""

    __tablename__ = "opt_in"
    __table_args__ = (
        # One standing opt-in per campaign, partner (or none) and address. Two partial
        # indexes: NULLs never clash in a unique index, so partner None needs its own.
        Index("uq_opt_in_campaign", "campaign_id", "email_hash", unique=True,
              sqlite_where=text("partner_id IS NULL"),
              postgresql_where=text("partner_id IS NULL")),
        Index("uq_opt_in_partner", "campaign_id", "partner_id", "email_hash", unique=True,
              sqlite_where=text("partner_id IS NOT NULL"),
              postgresql_where=text("partner_id IS NOT NULL")),
        Index("ix_opt_in_email_hash", "email_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"), index=True)
    # Encrypted like a submission's (crypto.Sealed); None once withdrawn.
    email: Mapped[str | None] = mapped_column(Sealed)
    name: Mapped[str | None] = mapped_column(Sealed)
    email_hash: Mapped[str | None] = mapped_column(String(64))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the box was ticked
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the address was proven
    # Which privacy notice the supporter saw (intake.consent.notice_version).
    notice_version: Mapped[str | None] = mapped_column(String(40))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign] = relationship()
    partner: Mapped[Partner | None] = relationship()


class Organizer(Base):
    __tablename__ = "organizer"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20), default=Role.OWNER)
    # The partner a partner account speaks for (role "partner"); None for every other role.
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of every session's id: raising it logs the account out everywhere.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    # The optional second factor, encrypted at rest like supporters' data; the one being set
    # up waits here too (not in the readable session cookie) until a code confirms it.
    totp_secret: Mapped[str | None] = mapped_column(Sealed)
    totp_pending: Mapped[str | None] = mapped_column(Sealed)
    # The last time step whose code was accepted: a code is good once.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class OrganizerSession(Base):
    """One login: the session cookie holds a random value whose hash is kept here. Logging out
    deletes the row, so a copy of the cookie taken before opens nothing afterwards."""

    __tablename__ = "organizer_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizer.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class RecoveryCode(Base):
    """One of an organizer's recovery codes: typed once instead of a second-factor code (a
    lost phone). Kept hashed like a password; a new set deletes the old one."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizer.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Invitation(Base):
    """An owner asked someone to join; the emailed link carries a token kept here as a hash."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"))  # role "partner"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[int] = mapped_column(ForeignKey("organizer.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One organizer action: who, what, on what, when. Written in the action's transaction."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int | None] = mapped_column(ForeignKey("organizer.id"), index=True)
    organizer_email: Mapped[str] = mapped_column(String(320))  # kept if the account goes
    action: Mapped[str] = mapped_column(String(80), index=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)


# How a supporter may send a letter from their own mail (OwnMail.channel).
OWN_MAIL_CHANNELS = ("mailto", "gmail", "outlook", "copy")
# How a supporter reaches an office that takes no email: its web contact form, or post. Counted
# (OwnMail.channel) when they say they sent it, apart from the letters we send and own mail.
BY_HAND_CHANNELS = ("form", "post")
