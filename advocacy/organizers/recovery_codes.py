"""Recovery codes: typed once instead of a second-factor code, when the phone is lost.

Made when the second factor is turned on (and again on request, which voids the old set),
shown once, kept hashed with the passwords' own hasher (scrypt, werkzeug): a copy of the
database gives nobody a way in. Each is good once: a conditional UPDATE takes it, so two
requests racing with one code use it once.
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from advocacy import audit, clock
from advocacy.extensions import db
from advocacy.models import Organizer, RecoveryCode

COUNT = 10
# No letters or digits that read alike (0/o, 1/l/i): the codes are often copied by hand.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
LENGTH = 10  # about 50 bits each; guesses are also limited to ten an hour per account


def _plain(code: str) -> str:
    """What was typed, without the spaces and dashes that only help reading it."""
    return "".join(ch for ch in code.lower() if ch not in " -\t")


def shown(code: str) -> str:
    """A code as the page shows it: two groups of five."""
    return f"{code[:5]}-{code[5:]}"


def make_codes(organizer: Organizer) -> list[str]:
    """A new set of codes, in the caller's transaction; the old set no longer works. The
    only plain copies are returned, to be shown once."""
    codes = ["".join(secrets.choice(ALPHABET) for _ in range(LENGTH)) for _ in range(COUNT)]
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.organizer_id == organizer.id))
    db.session.add_all(RecoveryCode(organizer_id=organizer.id,
                                    code_hash=generate_password_hash(code, method="scrypt"))
                       for code in codes)
    audit.record(organizer, "make recovery codes", organizer.email, count=COUNT)
    return [shown(code) for code in codes]


def remaining(organizer: Organizer) -> int:
    return db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.organizer_id == organizer.id, RecoveryCode.used_at.is_(None))) or 0


def use_recovery_code(organizer: Organizer, code: str) -> bool:
    """Whether the code is one of the account's unused ones; it is then used up, in the
    caller's transaction. A code of the wrong shape costs no hashing."""
    typed = _plain(code)
    if len(typed) != LENGTH or not set(typed) <= set(ALPHABET):
        return False
    unused = db.session.execute(select(RecoveryCode.id, RecoveryCode.code_hash).where(
        RecoveryCode.organizer_id == organizer.id, RecoveryCode.used_at.is_(None))).all()
    for row_id, code_hash in unused:
        if check_password_hash(code_hash, typed):
            taken = db.session.execute(
                update(RecoveryCode)
                .where(RecoveryCode.id == row_id, RecoveryCode.used_at.is_(None))
                .values(used_at=clock.now())
                .execution_options(synchronize_session=False))
            return bool(taken.rowcount == 1)  # type: ignore[attr-defined]
    return False


def forget_codes(organizer: Organizer) -> None:
    """The second factor is off: its recovery codes go with it (in the caller's transaction)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.organizer_id == organizer.id))
