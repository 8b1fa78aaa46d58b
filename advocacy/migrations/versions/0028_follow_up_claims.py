"""Follow-up letters claimed as letters are: who took one and when (claimed_by, claimed_at),
and its message on the wire (on_wire_at), so that reconcile can bring back one left `sending`
by a worker that died

Revision ID: 0028
Revises: 0025
Create Date: 2026-12-05 00:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0028'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('follow_up_letter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('on_wire_at', sa.DateTime(timezone=True), nullable=True))
    # Follow-ups left `sending` before this revision carry no mark, yet may have gone out:
    # marked now (claimed when they were made, the only time known), reconcile hands them to
    # the organizers rather than sending them again (as 0011 did for letters).
    op.execute("UPDATE follow_up_letter SET claimed_at = created_at, on_wire_at = created_at"
               " WHERE status = 'sending'")


def downgrade():
    with op.batch_alter_table('follow_up_letter', schema=None) as batch_op:
        batch_op.drop_column('on_wire_at')
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claimed_by')
