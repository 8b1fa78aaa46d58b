"""The supporter's journey: translated office names, privacy notice and consents, own mail

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 20:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('privacy_notice', sa.Text(), nullable=True))
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.add_column(sa.Column('office_names', sa.JSON(), nullable=False,
                                      server_default='{}'))
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('privacy_version', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('newsletter_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('locale', sa.String(length=8), nullable=True))
    op.create_table(
        'own_mail',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('ref', sa.String(length=80), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'],
                                name=op.f('fk_own_mail_campaign_id_campaign')),
        sa.ForeignKeyConstraint(['target_id'], ['target.id'],
                                name=op.f('fk_own_mail_target_id_target')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_own_mail')),
    )
    with op.batch_alter_table('own_mail', schema=None) as batch_op:
        batch_op.create_index('ix_own_mail_campaign_created', ['campaign_id', 'created_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_own_mail_target_id'), ['target_id'], unique=False)


def downgrade():
    with op.batch_alter_table('own_mail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_own_mail_target_id'))
        batch_op.drop_index('ix_own_mail_campaign_created')
    op.drop_table('own_mail')
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_column('locale')
        batch_op.drop_column('newsletter_at')
        batch_op.drop_column('privacy_version')
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.drop_column('office_names')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('privacy_notice')
