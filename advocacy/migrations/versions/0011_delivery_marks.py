"""Delivery marks: a letter's message on the wire (on_wire_at), and the campaign's choice to
resend letters whose outcome is unknown (resend_ambiguous)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('on_wire_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resend_ambiguous', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    # Letters left `sending` before this revision carry no mark, yet may have gone out:
    # marked now, they still go to review rather than out again.
    op.execute("UPDATE letter SET on_wire_at = claimed_at WHERE status = 'sending'")


def downgrade():
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('resend_ambiguous')
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.drop_column('on_wire_at')
