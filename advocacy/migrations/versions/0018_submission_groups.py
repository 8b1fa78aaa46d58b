"""Several groups in one submission: the slugs of the groups a submission writes to, in the
order ticked (body_id stays the first of them), so that one confirmation confirms all

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-04 16:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bodies', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_column('bodies')
