"""Organizers' security: sessions that logging out ends, second-factor secrets encrypted (the
pending one kept here) and each code good once, who set an official's address (four eyes)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:00:00

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'organizer_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organizer_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['organizer_id'], ['organizer.id'],
                                name=op.f('fk_organizer_session_organizer_id_organizer')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_organizer_session')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_organizer_session_token_hash')),
    )
    with op.batch_alter_table('organizer_session', schema=None) as batch_op:
        batch_op.create_index('ix_organizer_session_organizer_id', ['organizer_id'],
                              unique=False)
    with op.batch_alter_table('organizer', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=64),
                              type_=sa.Text(), existing_nullable=True)
        batch_op.add_column(sa.Column('totp_pending', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address_set_by', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_target_address_set_by_organizer'), 'organizer',
                                    ['address_set_by'], ['id'])
    _encrypt_second_factor_secrets()
    _who_set_each_unverified_address()


def _encrypt_second_factor_secrets():
    # The key is the running app's (ADVOCACY_DATA_KEYS), as in 0007: migrations run inside it.
    from advocacy.crypto import seal

    conn = op.get_bind()
    for organizer_id, secret in conn.execute(sa.text(
            "SELECT id, totp_secret FROM organizer WHERE totp_secret IS NOT NULL")).all():
        conn.execute(sa.text("UPDATE organizer SET totp_secret = :secret WHERE id = :id"),
                     {"secret": seal(secret), "id": organizer_id})


def _who_set_each_unverified_address():
    # From the audit log: the last organizer who added an official with its address, edited
    # the address, or imported a change to it. Only unverified addresses need it.
    conn = op.get_bind()
    setter = {}
    rows = conn.execute(sa.text(
        "SELECT organizer_id, action, subject, details FROM audit_entry WHERE action IN"
        " ('add official', 'edit official', 'import officials') ORDER BY id")).all()
    for organizer_id, action, subject, details in rows:
        details = json.loads(details) if isinstance(details, str) else (details or {})
        if action == 'add official' and details.get('email'):
            setter[subject] = organizer_id
        elif action == 'edit official' and 'email' in details:
            setter[subject] = organizer_id
        elif action == 'import officials':
            for key in details.get('added', []):
                setter[key] = organizer_id
            for key, fields in (details.get('changed') or {}).items():
                if 'email' in fields:
                    setter[key] = organizer_id
    for key, organizer_id in setter.items():
        if organizer_id is not None:
            conn.execute(sa.text("UPDATE target SET address_set_by = :who WHERE key = :key"
                                 " AND verified = :no AND email IS NOT NULL"),
                         {"who": organizer_id, "key": key, "no": False})


def downgrade():
    # Not reversible: the second-factor secrets are encrypted (the older code reads them as
    # plain text). Restore the backup taken before the upgrade (docs/operations.md).
    raise RuntimeError("0009 encrypted organizers' second-factor secrets and cannot be undone:"
                       " restore the backup taken before upgrading")
