"""A follow-up round's language (follow_up_round.language): the one its organizers wrote it
in, given to each of its letters; rounds written before are taken as English

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('follow_up_round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=False,
                                      server_default='en'))


def downgrade():
    with op.batch_alter_table('follow_up_round', schema=None) as batch_op:
        batch_op.drop_column('language')
