"""Authenticity: a campaign's rule for the supporter's own paragraph (note_mode), whether a
submission's paragraph is the writer's own (personalised), and how many near-identical
letters to the same office came before a letter (alike)

Revision ID: 0020
Revises: 0016
Create Date: 2026-12-04 16:40:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("note_mode", sa.String(length=12), nullable=False, server_default="optional")
        )
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("personalised", sa.Boolean(), nullable=True))
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alike", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.drop_column("alike")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_column("personalised")
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_column("note_mode")
