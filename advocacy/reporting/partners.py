"""Each partner's figures in a campaign, counted by the ref its pages pass: submissions,
confirmed ones, letters delivered, and supporters who opted in to hear from it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from advocacy.campaigns.opt_ins import opt_in_counts
from advocacy.extensions import db
from advocacy.models import Partner, Submission
from advocacy.reporting.dashboard import Filters, sent_by


@dataclass(frozen=True)
class PartnerFigures:
    submissions: int = 0
    confirmed: int = 0
    delivered: int = 0  # letters sent
    opt_ins: int = 0  # standing
    withdrawn: int = 0


@dataclass(frozen=True)
class CampaignFigures:
    """One campaign's counts by ref and opt-ins by partner, read once for every partner."""

    submitted: dict[str, tuple[int, int]]  # ref -> (submissions, confirmed)
    delivered: dict[str, int]  # ref -> letters sent
    opted: dict[int | None, tuple[int, int]]  # partner id -> (standing, withdrawn)

    def of(self, partner: Partner) -> PartnerFigures:
        submissions, confirmed = self.submitted.get(partner.ref, (0, 0))
        kept, gone = self.opted.get(partner.id, (0, 0))
        return PartnerFigures(submissions, confirmed, self.delivered.get(partner.ref, 0),
                              kept, gone)

    def own_news(self) -> tuple[int, int]:
        """The campaign's own newsletter: (standing opt-ins, withdrawn ones)."""
        return self.opted.get(None, (0, 0))


def campaign_figures(campaign_id: int, ref: str | None = None) -> CampaignFigures:
    """The counts of one campaign, of every ref or of one (a partner account's page)."""
    query = (select(Submission.ref, func.count(), func.count(Submission.confirmed_at))
             .where(Submission.campaign_id == campaign_id, Submission.ref.is_not(None))
             .group_by(Submission.ref))
    if ref is not None:
        query = query.where(Submission.ref == ref)
    submitted = {str(row_ref): (n, confirmed)
                 for row_ref, n, confirmed in db.session.execute(query)}
    return CampaignFigures(submitted, sent_by("ref", Filters(campaign_id)),
                           opt_in_counts(campaign_id))
