"""Supporters found by their address's canonical form: a sub-address tag ("ada+x@") and, for
Gmail, dots and googlemail.com no longer make a new supporter

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    # The keys are the running app's (ADVOCACY_DATA_KEYS, ADVOCACY_LOOKUP_KEY): migrations run
    # inside it (advocacy init, flask db upgrade). lookup_hash now hashes the canonical form,
    # so a row whose address has a tag or is a Gmail one with dots gets a new hash; every
    # other row's hash stays as it was. No column changes: only values.
    from advocacy.crypto import lookup_hash, unseal

    conn = op.get_bind()
    keeper = {}  # new hash -> the supporter that keeps it (the first one)
    changed, duplicates = [], []
    for supporter_id, email, old in conn.execute(sa.text(
            "SELECT id, email, email_hash FROM supporter WHERE email IS NOT NULL"
            " AND email_hash IS NOT NULL ORDER BY id")).all():
        # (A row 0007 left without a hash stays so: its letters stay its own.)
        digest = lookup_hash(unseal(email))
        if digest in keeper:
            duplicates.append((supporter_id, keeper[digest]))
        else:
            keeper[digest] = supporter_id
            if digest != old:
                changed.append((supporter_id, digest))
    # Hashes cleared first, then set: a new hash may be another row's old one.
    for supporter_id in [i for i, _digest in changed] + [i for i, _kept in duplicates]:
        conn.execute(sa.text("UPDATE supporter SET email_hash = NULL WHERE id = :id"),
                     {"id": supporter_id})
    for supporter_id, digest in changed:
        conn.execute(sa.text("UPDATE supporter SET email_hash = :hash WHERE id = :id"),
                     {"hash": digest, "id": supporter_id})
    for duplicate, kept in duplicates:
        _merge_or_unhash(conn, duplicate, kept)


def _merge_or_unhash(conn, duplicate, kept):
    """Two rows for one inbox: its submissions and letters move to the first row, so that
    "my data" finds and erases all of them, unless both wrote to one official (which the
    letters' unique index forbids on one row: sent letters are history and stay). Then, as
    in 0007, the later row keeps no hash and its letters stay its own."""
    clash = conn.execute(sa.text(
        "SELECT 1 FROM letter d JOIN letter k ON k.campaign_id = d.campaign_id"
        " AND k.target_id = d.target_id AND k.supporter_id = :kept"
        " AND k.status != 'cancelled'"
        " WHERE d.supporter_id = :dup AND d.status != 'cancelled' LIMIT 1"),
        {"kept": kept, "dup": duplicate}).first()
    if clash is not None:
        return  # its hash is cleared already
    for table in ("letter", "submission"):
        conn.execute(sa.text(f"UPDATE {table} SET supporter_id = :kept"  # noqa: S608
                             " WHERE supporter_id = :dup"), {"kept": kept, "dup": duplicate})
    conn.execute(sa.text("DELETE FROM supporter WHERE id = :id"), {"id": duplicate})


def downgrade():
    # Back to hashes of the lowercased address, as the code before this revision made them
    # (computed here: the code no longer has that function). Merged rows stay merged.
    import hashlib
    import hmac

    from advocacy.crypto import keyring, normalised_email, unseal

    conn = op.get_bind()
    for supporter_id, email in conn.execute(sa.text(
            "SELECT id, email FROM supporter WHERE email IS NOT NULL"
            " AND email_hash IS NOT NULL")).all():
        digest = hmac.new(keyring().lookup_key, normalised_email(unseal(email)).encode(),
                          hashlib.sha256).hexdigest()
        conn.execute(sa.text("UPDATE supporter SET email_hash = :hash WHERE id = :id"),
                     {"hash": digest, "id": supporter_id})
