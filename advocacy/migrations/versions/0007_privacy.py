"""Supporters' privacy: encrypted names, addresses and words, keyed-hash lookups, scrubbing,
replies through a relay, signing with initials

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 23:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_to', sa.String(length=10), nullable=False,
                                      server_default='supporter'))
        batch_op.add_column(sa.Column('detaining_country', sa.String(length=2), nullable=False,
                                      server_default=''))
    with op.batch_alter_table('supporter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_hash', sa.String(length=64), nullable=True))
        batch_op.drop_constraint('uq_supporter_email', type_='unique')
        batch_op.alter_column('email', existing_type=sa.String(length=320), type_=sa.Text(),
                              nullable=True)
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.alter_column('name', existing_type=sa.String(length=120), type_=sa.Text())
        batch_op.alter_column('city', existing_type=sa.String(length=120), type_=sa.Text())
        batch_op.add_column(sa.Column('sign_initials', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('scrubbed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_submission_scrubbed_at', ['scrubbed_at'], unique=False)
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_hash', sa.String(length=64), nullable=True))
    op.create_table(
        'reply',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('letter_id', sa.Integer(), nullable=False),
        sa.Column('from_address', sa.Text(), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['letter_id'], ['letter.id'],
                                name=op.f('fk_reply_letter_id_letter')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reply')),
    )
    with op.batch_alter_table('reply', schema=None) as batch_op:
        batch_op.create_index('ix_reply_letter_id', ['letter_id'], unique=False)
    # Russia holds Azat Miftakhov (the campaign this project ships with).
    op.execute("UPDATE campaign SET detaining_country = 'RU'"
               " WHERE slug = 'free-azat-miftakhov'")
    _encrypt_what_was_stored_in_clear()
    with op.batch_alter_table('supporter', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_supporter_email_hash', ['email_hash'])


def _encrypt_what_was_stored_in_clear():
    # The keys are the running app's (ADVOCACY_DATA_KEYS, ADVOCACY_LOOKUP_KEY): migrations run
    # inside it (advocacy init, flask db upgrade). Two supporters whose addresses differed
    # only in case become one hash; the later row keeps none and its letters stay its own.
    from advocacy.crypto import lookup_hash, seal

    conn = op.get_bind()
    seen = set()
    for supporter_id, email in conn.execute(
            sa.text("SELECT id, email FROM supporter ORDER BY id")).all():
        digest = lookup_hash(email)
        conn.execute(sa.text("UPDATE supporter SET email = :email, email_hash = :hash"
                             " WHERE id = :id"),
                     {"email": seal(email), "hash": None if digest in seen else digest,
                      "id": supporter_id})
        seen.add(digest)
    for row in conn.execute(sa.text(
            "SELECT id, name, city, personal_note FROM submission")).all():
        conn.execute(sa.text("UPDATE submission SET name = :name, city = :city,"
                             " personal_note = :note WHERE id = :id"),
                     {"name": seal(row.name), "city": seal(row.city),
                      "note": seal(row.personal_note or ""), "id": row.id})


def downgrade():
    # Not reversible: supporters' data is encrypted (the older code reads it as plain text),
    # scrubbed addresses are gone (the old NOT NULL and unique address cannot come back), and
    # officials' replies would be dropped. Refused rather than leaving a database nothing
    # can use: restore the backup taken before the upgrade (docs/operations.md).
    raise RuntimeError("0007 encrypted supporters' data and cannot be undone: restore the"
                       " backup taken before upgrading")
