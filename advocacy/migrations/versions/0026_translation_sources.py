"""A translated letter records what it was written from (letter_template.source_language and
source_version), so the admin can say when a translation is out of date

The letters shipped as files were written from the English ones: each is linked to the
English version of its campaign and group that was current when it was loaded.

Revision ID: 0026
Revises: 0023
Create Date: 2026-12-04 21:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('letter_template', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_language', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('source_version', sa.Integer(), nullable=True))
    op.execute(
        "UPDATE letter_template SET source_language = 'en', source_version = ("
        " SELECT max(en.version) FROM letter_template en"
        " WHERE en.campaign_id = letter_template.campaign_id"
        " AND en.body_id = letter_template.body_id AND en.language = 'en'"
        " AND en.created_at <= letter_template.created_at)"
        " WHERE language <> 'en' AND origin = 'file' AND EXISTS ("
        " SELECT 1 FROM letter_template en"
        " WHERE en.campaign_id = letter_template.campaign_id"
        " AND en.body_id = letter_template.body_id AND en.language = 'en'"
        " AND en.created_at <= letter_template.created_at)")


def downgrade():
    with op.batch_alter_table('letter_template', schema=None) as batch_op:
        batch_op.drop_column('source_version')
        batch_op.drop_column('source_language')
