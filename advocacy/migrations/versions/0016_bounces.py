"""Bounces and complaints after acceptance: why an office is paused (pause_reason), when a
complaint about our mail came from it (complained_at, for the dashboard's alert), and when a
sent letter bounced (bounced_at: the rollup counts its day again)

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-03 18:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bounced_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_letter_bounced_at', ['bounced_at'], unique=False)
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pause_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('complained_at', sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.drop_column('complained_at')
        batch_op.drop_column('pause_reason')
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.drop_index('ix_letter_bounced_at')
        batch_op.drop_column('bounced_at')
