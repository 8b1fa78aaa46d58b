"""The dashboard: sent letters rolled up by day, indexes for counting the small states

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 21:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sent_count',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dimension', sa.String(length=10), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('body_id', sa.Integer(), nullable=False),
        sa.Column('country', sa.String(length=2), nullable=False),
        sa.Column('value', sa.String(length=80), nullable=False),
        sa.Column('letters', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['body_id'], ['body.id'],
                                name=op.f('fk_sent_count_body_id_body')),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'],
                                name=op.f('fk_sent_count_campaign_id_campaign')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sent_count')),
        sa.UniqueConstraint('dimension', 'campaign_id', 'day', 'body_id', 'country', 'value',
                            name=op.f('uq_sent_count_dimension')),
    )
    op.create_table(
        'rollup_mark',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('upto', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_rollup_mark')),
    )
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.create_index('ix_letter_status_campaign_target',
                              ['status', 'campaign_id', 'target_id'], unique=False)
        batch_op.create_index('ix_letter_sent_at', ['sent_at'], unique=False)
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.create_index('ix_submission_campaign_created_confirmed',
                              ['campaign_id', 'created_at', 'confirmed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index('ix_submission_campaign_created_confirmed')
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.drop_index('ix_letter_sent_at')
        batch_op.drop_index('ix_letter_status_campaign_target')
    op.drop_table('rollup_mark')
    op.drop_table('sent_count')
