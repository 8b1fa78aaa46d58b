"""`advocacy rotate-keys`: re-encrypt stored personal data with the newest key.

Put a new key first in ADVOCACY_DATA_KEYS (`advocacy new-data-key`), keep the old ones after
it, run this, then drop the old keys. Lookup hashes are recomputed too, so a changed
ADVOCACY_LOOKUP_KEY takes effect at the same time. Rows are read and written as stored
tokens, a chunk per transaction; a run that stops halfway is simply run again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Table, Text, bindparam, select, type_coerce, update

from advocacy.crypto import Sealed, lookup_hash, reseal, unseal
from advocacy.extensions import db

CHUNK = 1000


def _sealed_columns(table: Table) -> list[Column[Any]]:
    return [c for c in table.columns if isinstance(c.type, Sealed)]


def _rotate_table(table: Table) -> int:
    columns = _sealed_columns(table)
    hashed = "email_hash" in table.c
    raw = [type_coerce(c, Text).label(c.name) for c in columns]
    if hashed:  # a row left without a hash (one inbox, two rows: migrations 0007, 0012) keeps none
        raw.append(table.c.email_hash.label("email_hash"))
    values: dict[str, Any] = {c.name: type_coerce(bindparam(f"new_{c.name}"), Text)
                              for c in columns}
    if hashed:
        values["email_hash"] = bindparam("new_email_hash")
    statement = update(table).where(table.c.id == bindparam("row_id")).values(values)
    done, last = 0, 0
    while True:
        rows = db.session.execute(select(table.c.id, *raw).where(table.c.id > last)
                                  .order_by(table.c.id).limit(CHUNK)).mappings().all()
        if not rows:
            return done
        params = []
        for row in rows:
            entry: dict[str, Any] = {"row_id": row["id"]}
            for c in columns:
                token = row[c.name]
                entry[f"new_{c.name}"] = None if token is None else reseal(token)
            if hashed:
                email = row["email"]
                entry["new_email_hash"] = (None if email is None or row["email_hash"] is None
                                           else lookup_hash(unseal(email)))
            params.append(entry)
        db.session.execute(statement, params)
        db.session.commit()
        done += len(rows)
        last = rows[-1]["id"]


def rotate_keys() -> dict[str, int]:
    """Every encrypted value now under the first key; returns rows rewritten per table."""
    return {t.name: _rotate_table(t) for t in db.metadata.sorted_tables if _sealed_columns(t)}
