"""Target groups as data: a group is chosen by country or not, has a position, may accept
only some letter languages, may carry a risk notice per language, and may be opt-in (not
offered by default); like officials, a group keeps organizers' edits while its file is unchanged

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-03 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = "0013"
branch_labels = None
depends_on = None

# Where the four shipped groups come, as the public form listed them (the United Nations
# first, its default choice); targets/*.toml say the same, and `advocacy init` keeps it so.
SHIPPED_POSITIONS = {"un": 1, "eu": 2, "coe": 3, "gov": 4}


def upgrade():
    with op.batch_alter_table('body', schema=None) as batch_op:
        batch_op.add_column(sa.Column('by_country', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('position', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('languages', sa.JSON(), nullable=False,
                                      server_default='[]'))
        batch_op.add_column(sa.Column('risk_notices', sa.JSON(), nullable=False,
                                      server_default='{}'))
        batch_op.add_column(sa.Column('offered', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column('file_hash', sa.String(length=64), nullable=True))
    # The national governments were the one group chosen by country (code said "gov").
    op.execute("UPDATE body SET by_country = true WHERE slug = 'gov'")
    for slug, position in SHIPPED_POSITIONS.items():
        op.execute(sa.text("UPDATE body SET position = :position WHERE slug = :slug")
                   .bindparams(position=position, slug=slug))


def downgrade():
    with op.batch_alter_table('body', schema=None) as batch_op:
        batch_op.drop_column('file_hash')
        batch_op.drop_column('offered')
        batch_op.drop_column('risk_notices')
        batch_op.drop_column('languages')
        batch_op.drop_column('position')
        batch_op.drop_column('by_country')
