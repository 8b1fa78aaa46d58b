"""The dashboard's counts: submissions rolled up by day (the confirmation rate), sent letters
by how long they waited (the send-latency histogram), sent counts read by a range of days

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 23:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'submission_count',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('body_id', sa.Integer(), nullable=False),
        sa.Column('country', sa.String(length=2), nullable=False),
        sa.Column('submitted', sa.Integer(), nullable=False),
        sa.Column('confirmed', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['body_id'], ['body.id'],
                                name=op.f('fk_submission_count_body_id_body')),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'],
                                name=op.f('fk_submission_count_campaign_id_campaign')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_count')),
        sa.UniqueConstraint('day', 'campaign_id', 'body_id', 'country',
                            name=op.f('uq_submission_count_day')),
    )
    op.create_table(
        'latency_count',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('bucket', sa.Integer(), nullable=False),
        sa.Column('letters', sa.Integer(), nullable=False),
        sa.Column('seconds', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'],
                                name=op.f('fk_latency_count_campaign_id_campaign')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_latency_count')),
        sa.UniqueConstraint('day', 'campaign_id', 'bucket', name=op.f('uq_latency_count_day')),
    )
    with op.batch_alter_table('sent_count', schema=None) as batch_op:
        batch_op.create_index('ix_sent_count_dimension_day', ['dimension', 'day'], unique=False)
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index('ix_submission_campaign_created_confirmed')
        batch_op.create_index('ix_submission_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_submission_confirmed_at', ['confirmed_at'], unique=False)
    # Counted again from the start by the next rollup: SentCount's rows along the new
    # dimensions (the same summed over countries), SubmissionCount's and LatencyCount's.
    op.execute("DELETE FROM sent_count")
    op.execute("DELETE FROM rollup_mark WHERE name = 'sent'")  # not the purge's


def downgrade():
    op.execute("DELETE FROM sent_count")
    op.execute("DELETE FROM rollup_mark WHERE name = 'sent'")  # not the purge's
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index('ix_submission_confirmed_at')
        batch_op.drop_index('ix_submission_created_at')
        batch_op.create_index('ix_submission_campaign_created_confirmed',
                              ['campaign_id', 'created_at', 'confirmed_at'], unique=False)
    with op.batch_alter_table('sent_count', schema=None) as batch_op:
        batch_op.drop_index('ix_sent_count_dimension_day')
    op.drop_table('latency_count')
    op.drop_table('submission_count')
