"""Letters ask each office what it can deliver (letter_template.asks: an ask paragraph per
office key, per country, and a default), and salutations follow the holder
(target.holder_gender: "f", "m", or "" when the holder is unknown)

Revision ID: 0022
Revises: 0016
Create Date: 2026-12-04 17:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('letter_template', schema=None) as batch_op:
        batch_op.add_column(sa.Column('asks', sa.JSON(), nullable=True))
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holder_gender', sa.String(length=1), nullable=False,
                                      server_default=''))


def downgrade():
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.drop_column('holder_gender')
    with op.batch_alter_table('letter_template', schema=None) as batch_op:
        batch_op.drop_column('asks')
