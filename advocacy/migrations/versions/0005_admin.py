"""The admin: roles, sessions, second factor, invitations, audit log; campaign dates;
subject variants and suggested paragraphs; moderation notes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 21:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organizer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False,
                                      server_default='1'))
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('letter_template', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_variants', sa.JSON(), nullable=False,
                                      server_default='[]'))
        batch_op.add_column(sa.Column('suggested_note', sa.Text(), nullable=False,
                                      server_default=''))
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('moderation_note', sa.Text(), nullable=True))
    op.create_table(
        'invitation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('invited_by', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['invited_by'], ['organizer.id'],
                                name=op.f('fk_invitation_invited_by_organizer')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_invitation_token_hash')),
    )
    op.create_table(
        'audit_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organizer_id', sa.Integer(), nullable=True),
        sa.Column('organizer_email', sa.String(length=320), nullable=False),
        sa.Column('action', sa.String(length=80), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['organizer_id'], ['organizer.id'],
                                name=op.f('fk_audit_entry_organizer_id_organizer')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry')),
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entry_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_created_at'), ['created_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_organizer_id'), ['organizer_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entry_organizer_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_created_at'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_action'))
    op.drop_table('audit_entry')
    op.drop_table('invitation')
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.drop_column('moderation_note')
    with op.batch_alter_table('letter_template', schema=None) as batch_op:
        batch_op.drop_column('suggested_note')
        batch_op.drop_column('subject_variants')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('closes_at')
        batch_op.drop_column('opens_at')
    with op.batch_alter_table('organizer', schema=None) as batch_op:
        batch_op.drop_column('last_login_at')
        batch_op.drop_column('totp_secret')
        batch_op.drop_column('session_version')
        batch_op.drop_column('active')
