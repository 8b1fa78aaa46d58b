"""Downloading opt-ins: a partner's own, or (owners) the campaign's own newsletter's. Each
download is a CSV whose cells cannot run as formulas, and an audit entry with its count."""

from __future__ import annotations

import io

from advocacy import audit
from advocacy.campaigns.opt_ins import EXPORT_COLUMNS, export_rows
from advocacy.csv_safety import InertWriter
from advocacy.extensions import db
from advocacy.models import Campaign, Organizer, Partner


def opt_ins_csv(by: Organizer, campaign: Campaign, partner: Partner | None) -> str:
    """The standing opt-ins of `campaign` for `partner` (None: the campaign's own), as CSV;
    the audit log records who took how many. The caller has checked that `by` may."""
    rows = export_rows(campaign.id, partner.id if partner else None)
    buffer = io.StringIO()
    writer = InertWriter(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow(row)
    audit.record(by, "download opt-ins", partner.ref if partner else "newsletter",
                 campaign=campaign.slug, partner=partner.ref if partner else None,
                 count=len(rows))
    db.session.commit()
    return buffer.getvalue()
