"""Replies and accountability: replies relayed are counted per letter (letter.relayed_reply),
supporters may be asked, once, whether an office replied
(submission.reply_check_at, reply_asked_at; reply_answer), and organizers send dated
follow-up rounds to the offices that have not answered (follow_up_round, follow_up_letter)

Revision ID: 0024
Revises: 0027
Create Date: 2026-12-04 21:00:00

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_check_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('reply_asked_at', sa.DateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('relayed_reply', sa.String(length=12), nullable=True))
    # Replies already kept count too.
    op.execute("UPDATE letter SET relayed_reply = 'unconfirmed'"
               " WHERE id IN (SELECT letter_id FROM reply)")
    op.execute("UPDATE letter SET relayed_reply = 'confirmed'"
               " WHERE id IN (SELECT letter_id FROM reply WHERE authenticated)")
    op.create_table(
        'reply_answer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('letter_id', sa.Integer(), nullable=False),
        sa.Column('answer', sa.String(length=8), nullable=False),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('text', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['letter_id'], ['letter.id'],
                                name=op.f('fk_reply_answer_letter_id_letter')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_answer')),
        sa.UniqueConstraint('letter_id', name=op.f('uq_reply_answer_letter_id')),
    )
    op.create_table(
        'follow_up_round',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'],
                                name=op.f('fk_follow_up_round_campaign_id_campaign')),
        sa.ForeignKeyConstraint(['created_by'], ['organizer.id'],
                                name=op.f('fk_follow_up_round_created_by_organizer')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up_round')),
        sa.UniqueConstraint('campaign_id', 'day', name=op.f('uq_follow_up_round_campaign_id')),
    )
    op.create_table(
        'follow_up_letter',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('not_before', sa.DateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['round_id'], ['follow_up_round.id'],
                                name=op.f('fk_follow_up_letter_round_id_follow_up_round')),
        sa.ForeignKeyConstraint(['target_id'], ['target.id'],
                                name=op.f('fk_follow_up_letter_target_id_target')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up_letter')),
        sa.UniqueConstraint('round_id', 'target_id',
                            name=op.f('uq_follow_up_letter_round_id')),
    )
    with op.batch_alter_table('follow_up_letter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_up_letter_round_id'), ['round_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('follow_up_letter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_up_letter_round_id'))
    op.drop_table('follow_up_letter')
    op.drop_table('follow_up_round')
    op.drop_table('reply_answer')
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.drop_column('relayed_reply')
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_column('reply_asked_at')
        batch_op.drop_column('reply_check_at')
