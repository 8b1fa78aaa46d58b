"""Campaign pages: each campaign's public page content per language, versioned

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 18:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'campaign_page',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('summary', sa.String(length=300), nullable=False),
        sa.Column('story', sa.Text(), nullable=False),
        sa.Column('image', sa.String(length=80), nullable=True),
        sa.Column('image_alt', sa.String(length=300), nullable=False),
        sa.Column('news_date', sa.Date(), nullable=True),
        sa.Column('news', sa.String(length=500), nullable=False),
        sa.Column('goal', sa.Integer(), nullable=True),
        sa.Column('share_text', sa.String(length=500), nullable=False),
        sa.Column('origin', sa.String(length=20), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('author', sa.String(length=320), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('campaign_id', 'language', 'version'),
    )
    with op.batch_alter_table('campaign_page', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_page_campaign_id'), ['campaign_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('campaign_page', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_page_campaign_id'))
    op.drop_table('campaign_page')
