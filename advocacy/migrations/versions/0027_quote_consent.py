"""A supporter's consent to have their paragraph quoted, signed with initials and city only, in
the hand-over report given to the officials (submission.quote_at)

Revision ID: 0027
Revises: 0022
Create Date: 2026-12-04 21:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quote_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_column('quote_at')
