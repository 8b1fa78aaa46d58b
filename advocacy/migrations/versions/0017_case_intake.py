"""Case-intake offices (the WGAD's and OHCHR's urgent-action inboxes): reached by the
organizers' own formal submission, never offered to supporters as a target of their letters

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 16:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_intake', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.drop_column('case_intake')
