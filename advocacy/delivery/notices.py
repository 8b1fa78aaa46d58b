"""Service emails to supporters and organizers: invitations, confirmations and reminders,
data links and reply notices. Each is a job taking ids; each supporter address gets at most
MAILS_PER_ADDRESS of them (mail_cap)."""

from __future__ import annotations

import logging

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from advocacy import clock, connections
from advocacy.campaigns.partners import partner_for_ref
from advocacy.campaigns.settings import find_campaign
from advocacy.crypto import lookup_hash
from advocacy.delivery import mail
from advocacy.delivery.limits import MailCap
from advocacy.extensions import db
from advocacy.letters.addresses import bounce_address, sender_address
from advocacy.letters.compose import official_label, page_title, rendered
from advocacy.letters.emails import (
    already_written_message,
    confirmation_message,
    data_link_message,
    invitation_message,
    proof_message,
    reply_notice_message,
)
from advocacy.letters.versions import Draft, render_sample
from advocacy.links import confirmation_link, data_link, status_link
from advocacy.models import (
    Body,
    Campaign,
    Invitation,
    Letter,
    LetterStatus,
    LetterTemplate,
    Official,
    Organizer,
    Reply,
    Submission,
    Supporter,
)
from advocacy.officials.choose import chosen

log = logging.getLogger(__name__)


def _default_campaign_sender() -> tuple[str, str]:
    """The default campaign's name and From address, for mail that belongs to no letter."""
    campaign = find_campaign(None)
    return (campaign.name if campaign else "advocacy",
            sender_address(campaign.sender if campaign else None))


def send_invitation(invitation_id: int, link: str) -> bool:
    """Email an invitation to organize; False if it was used or revoked in the meantime."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.accepted_at or invitation.revoked_at:
        return False
    name, sender = _default_campaign_sender()
    mail.shared_transport().send(invitation_message(
        to_email=invitation.email, campaign_name=name, sender=sender, role=invitation.role,
        link=link, valid_for=invitation.expires_at - invitation.created_at),
        return_path=bounce_address("invite", invitation.id, sender))
    return True


def mail_cap() -> MailCap:
    """The app's cap on emails to one supporter address (config MAILS_PER_ADDRESS)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cap = app.extensions.get("advocacy_mail_cap")
    if cap is None:
        cap = MailCap(connections.get_redis(), app.config["QUEUE_NAME"],
                      app.config["MAILS_PER_ADDRESS"])
        app.extensions["advocacy_mail_cap"] = cap
    return cap  # type: ignore[no-any-return]


def may_mail(address: str, what: str) -> bool:
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
        select(Letter.id, Letter.status, Official)
        .join(Official, Letter.target_id == Official.id)
        .where(Letter.submission_id == submission_id).order_by(Letter.id))]


def already_written(submission: Submission) -> list[tuple[str, Submission]]:
    """Officials this submission was for whom its supporter had already written to (or asked
    to) in the campaign, each with that earlier submission: of every group it ticked."""
    slugs = submission.bodies or []
    ticked = (list(db.session.scalars(select(Body).where(Body.slug.in_(slugs)))) if slugs
              else [b for b in [db.session.get(Body, submission.body_id)] if b is not None])
    if not ticked:
        return []
    locale = submission.locale or submission.language
    rows = db.session.execute(
        select(Official, Submission)
        .join(Letter, Letter.target_id == Official.id)
        .join(Submission, Letter.submission_id == Submission.id)
        .where(Letter.supporter_id == submission.supporter_id,
               Letter.campaign_id == submission.campaign_id,
               Letter.submission_id != submission.id,
               Letter.status != LetterStatus.CANCELLED,
               or_(*(and_(*chosen(body.id, body.by_country, submission.target_country))
                     for body in ticked)))
        .order_by(Official.id))
    return [(official_label(official, locale), earlier) for official, earlier in rows]


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
    if not may_mail(to_email, "reminder" if reminder else "confirmation"):
        # Marked as handled, or reconcile would queue it again at each pass; the reminder
        # (reconcile.REMIND_AFTER later, within the cap by then) still brings the link.
        _handled(submission, reminder)
        return False
    with force_locale(locale):  # the language of the supporter's pages
        msg = confirmation_message(
            to_email=to_email,
            to_name=submission.name,
            campaign_name=page_title(submission.campaign_id, locale) or submission.campaign.name,
            sender=sender_address(submission.campaign.sender),
            link=f"{confirmation_link(submission_id)}?lang={locale}",
            officials=[official for _i, _status, official in letters],
            status_link=f"{status_link(submission_id)}?lang={locale}",
            reminder=reminder,
            letters=rendered(waiting),
            already=[official for official, _earlier in already],
        )
    mail.shared_transport().send(msg, return_path=bounce_address(
        "confirm", submission_id, sender_address(submission.campaign.sender)))
    _handled(submission, reminder)
    return True


def _handled(submission: Submission, reminder: bool) -> None:
    """Record that this submission's confirmation (or its reminder) is dealt with."""
    if reminder:
        submission.reminder_sent_at = clock.now()
    else:
        submission.confirmation_sent_at = clock.now()
    db.session.commit()


def _asks_opt_in(submission: Submission) -> bool:
    """Whether the submission ticked a box to hear from the campaign or its partner (one
    whose ref is a partner's): that, and only that, is left to confirm."""
    return submission.newsletter_at is not None or (
        submission.partner_optin_at is not None and partner_for_ref(submission.ref) is not None)


def _send_already_written(submission: Submission, to_email: str, locale: str,
                          already: list[tuple[str, Submission]]) -> bool:
    """Tell the inbox that it had written to every official asked for; drop the submission,
    unless it ticked a box to hear from someone: the email brings the link that confirms
    that alone (intake.confirm records it, as for any submission)."""
    sent = False
    opt_in = _asks_opt_in(submission)
    if may_mail(to_email, "already written"):
        earlier = list({sub.id: sub for _official, sub in already}.values())
        with force_locale(locale):
            msg = already_written_message(
                to_email=to_email, campaign_name=submission.campaign.name,
                sender=sender_address(submission.campaign.sender),
                already=[official for official, _sub in already],
                earlier=_earlier_links(earlier, locale),
                opt_in_link=f"{confirmation_link(submission.id)}?lang={locale}"
                if opt_in else None)
        mail.shared_transport().send(msg, return_path=bounce_address(
            "already", submission.id, sender_address(submission.campaign.sender)))
        sent = True
    if sent and opt_in:
        _handled(submission, reminder=False)  # kept, with no letter, until confirmed or scrubbed
        return sent
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
    if not may_mail(supporter.email, "data link"):
        return False
    name, sender = _default_campaign_sender()
    with force_locale(locale):
        msg = data_link_message(
            to_email=supporter.email, campaign_name=name, sender=sender,
            link=f"{data_link(supporter_id)}?lang={locale}")
    mail.shared_transport().send(msg, return_path=bounce_address("data", supporter_id, sender))
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
            sender=sender_address(submission.campaign.sender),
            official=official_label(reply.letter.official, locale),
            status_link=f"{status_link(submission.id)}?lang={locale}")
    mail.shared_transport().send(msg, return_path=bounce_address(
        "reply", reply_id, sender_address(submission.campaign.sender)))
    return True


def send_proof(template_id: int, target_id: int, organizer_id: int) -> bool:
    """The job: render the version for the official and email it to the organizer alone."""
    template = db.session.get(LetterTemplate, template_id)
    official = db.session.get(Official, target_id)
    organizer = db.session.get(Organizer, organizer_id)
    if template is None or official is None or organizer is None or not organizer.active:
        log.info("test letter %s not sent: version, official or organizer gone", template_id)
        return False
    campaign = db.session.get_one(Campaign, template.campaign_id)
    sample = render_sample(campaign, Draft.of(template), official, template.language)
    sender = sender_address(campaign.sender)
    mail.shared_transport().send(proof_message(
        to_email=organizer.email, sender=sender, campaign_name=campaign.name,
        version=template.version, official=sample.to or official.office, subject=sample.subject,
        other_subjects=sample.other_subjects, text=sample.text),
        return_path=bounce_address("test", organizer.id, sender))
    return True
