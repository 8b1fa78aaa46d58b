"""Replies through the relay say whether they were confirmed to come from the official's
office (a DKIM signature aligned with its domain) and why; earlier ones were never checked

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('reply', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authenticated', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('authentication', sa.String(length=200), nullable=False,
                                      server_default='not checked (received before checks)'))


def downgrade():
    with op.batch_alter_table('reply', schema=None) as batch_op:
        batch_op.drop_column('authentication')
        batch_op.drop_column('authenticated')
