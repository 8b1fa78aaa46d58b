"""The office's own say (issue 19): an office may ask, through the signed link at the foot of
each letter, for one daily digest (digest_daily), a week's pause (paused_until), or give
the right address (proposed_email, kept apart and unverified until an organizer accepts it)

Revision ID: 0023
Revises: 0024
Create Date: 2026-12-04 17:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_daily', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('paused_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('proposed_email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('proposed_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.drop_column('proposed_at')
        batch_op.drop_column('proposed_note')
        batch_op.drop_column('proposed_email')
        batch_op.drop_column('paused_until')
        batch_op.drop_column('digest_daily')
