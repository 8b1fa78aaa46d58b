"""x"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from advocacy.extensions import db
from advocacy.letters.addresses import reply_address, sender_address
from advocacy.letters.emails import (
    Outgoing,
    letter_message,
)
from advocacy.letters.render import (
    LetterRenderError,
    RenderedLetter,
    choose_subject,
    initials,
    letter_context,
    render_letter,
)
from advocacy.models import (
    Campaign,
    Letter,
    LetterTemplate,
    Submission,
    Supporter,
    Target,
)
from advocacy.officials.files import office_name


def label_of(office: str, holder: str) -> str:
    return f"{office} ({holder})" if holder else office


def official_label(target: Target, language: str = "en") -> str:
    """The office in the language (English when it has no name in it), and who holds it."""
    return label_of(office_name(target.office, target.office_names, language), target.holder)


def official_data(target: Target, language: str) -> dict[str, Any]:
    """What a letter's template sees of an official, the office named in the letter's language."""
    return {"office": office_name(target.office, target.office_names, language),
            "holder": target.holder, "country": target.country,
            "salutations": target.salutations}


def envelope(campaign: Campaign, target: Target, language: str,
             supporter_name: str) -> dict[str, str]:
    """The To and From lines of a letter, as the official's mail program shows them."""
    sender = sender_address(campaign.sender)
    office = office_name(target.office, target.office_names, language)
    return {"to": f"{office} <{target.email}>" if target.email else "",
            "from": f"{supporter_name} via {campaign.name} <{sender}>"}


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
    sender = sender_address(letter.campaign_sender)
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


def rendered(letters: dict[int, str]) -> list[tuple[str, RenderedLetter]]:
    """Each letter (id: its official's label) as it will go out: for the supporter to see."""
    shown = []
    for row in load(list(letters)):
        try:
            shown.append((letters[row.id], render(row)))
        except LetterRenderError:
            continue  # it will fail on sending too, and the status page will say so
    return shown
