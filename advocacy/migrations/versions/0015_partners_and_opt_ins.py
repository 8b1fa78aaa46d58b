"""Partners as records, partner accounts, and opt-ins (to hear from a partner, or the
campaign's own newsletter) in a table of their own, kept while the consent stands

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-03 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'partner',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('ref', sa.String(length=80), nullable=False),
        sa.Column('site_url', sa.String(length=500), nullable=False),
        sa.Column('contact_email', sa.String(length=320), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_partner')),
        sa.UniqueConstraint('ref', name=op.f('uq_partner_ref')),
    )
    op.create_table(
        'opt_in',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('partner_id', sa.Integer(), nullable=True),
        sa.Column('email', sa.Text(), nullable=True),
        sa.Column('name', sa.Text(), nullable=True),
        sa.Column('email_hash', sa.String(length=64), nullable=True),
        sa.Column('consented_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('notice_version', sa.String(length=40), nullable=True),
        sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'],
                                name=op.f('fk_opt_in_campaign_id_campaign')),
        sa.ForeignKeyConstraint(['partner_id'], ['partner.id'],
                                name=op.f('fk_opt_in_partner_id_partner')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_opt_in')),
    )
    with op.batch_alter_table('opt_in', schema=None) as batch_op:
        batch_op.create_index('ix_opt_in_email_hash', ['email_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_opt_in_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index('uq_opt_in_campaign', ['campaign_id', 'email_hash'], unique=True,
                              sqlite_where=sa.text('partner_id IS NULL'),
                              postgresql_where=sa.text('partner_id IS NULL'))
        batch_op.create_index('uq_opt_in_partner', ['campaign_id', 'partner_id', 'email_hash'],
                              unique=True, sqlite_where=sa.text('partner_id IS NOT NULL'),
                              postgresql_where=sa.text('partner_id IS NOT NULL'))
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partner_optin_at', sa.DateTime(timezone=True),
                                      nullable=True))
    for table in ('organizer', 'invitation'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('partner_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(op.f(f'fk_{table}_partner_id_partner'), 'partner',
                                        ['partner_id'], ['id'])
    _newsletter_consents_become_opt_ins()


def _newsletter_consents_become_opt_ins():
    """Newsletter consents of confirmed submissions whose data is still kept become opt-ins
    with no partner. The sealed name and address are copied as they are stored (the same
    keys read them in either table), so nothing is decrypted here; one row per campaign and
    address, the earliest consent. Unconfirmed ones become opt-ins when confirmed (code)."""
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT s.campaign_id, su.email_hash, su.email, s.name, s.newsletter_at,"
        " s.confirmed_at, s.privacy_version FROM submission s"
        " JOIN supporter su ON su.id = s.supporter_id"
        " WHERE s.newsletter_at IS NOT NULL AND s.confirmed_at IS NOT NULL"
        " AND s.scrubbed_at IS NULL AND su.email IS NOT NULL AND su.email_hash IS NOT NULL"
        " ORDER BY s.newsletter_at, s.id")).all()
    seen = set()
    for campaign_id, email_hash, email, name, consented, confirmed, version in rows:
        if (campaign_id, email_hash) in seen:
            continue
        seen.add((campaign_id, email_hash))
        conn.execute(sa.text(
            "INSERT INTO opt_in (campaign_id, partner_id, email, name, email_hash,"
            " consented_at, confirmed_at, notice_version)"
            " VALUES (:campaign, NULL, :email, :name, :hash, :consented, :confirmed,"
            " :version)"),
            {"campaign": campaign_id, "email": email, "name": name, "hash": email_hash,
             "consented": consented, "confirmed": confirmed, "version": version})


def downgrade():
    for table in ('invitation', 'organizer'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f'fk_{table}_partner_id_partner'), type_='foreignkey')
            batch_op.drop_column('partner_id')
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_column('partner_optin_at')
    with op.batch_alter_table('opt_in', schema=None) as batch_op:
        batch_op.drop_index('uq_opt_in_partner', sqlite_where=sa.text('partner_id IS NOT NULL'),
                            postgresql_where=sa.text('partner_id IS NOT NULL'))
        batch_op.drop_index('uq_opt_in_campaign', sqlite_where=sa.text('partner_id IS NULL'),
                            postgresql_where=sa.text('partner_id IS NULL'))
        batch_op.drop_index(batch_op.f('ix_opt_in_partner_id'))
        batch_op.drop_index('ix_opt_in_email_hash')
    op.drop_table('opt_in')
    op.drop_table('partner')
