"""Flask-Login's side: an organizer's session, as a user object that knows its account."""

from __future__ import annotations

from flask_login import UserMixin

from ..accounts import from_session_id, session_id
from ..extensions import login_manager
from ..models import Organizer


class SignedIn(UserMixin):  # type: ignore[misc]
    """The logged-in organizer; the session id carries the account's session version."""

    def __init__(self, organizer: Organizer) -> None:
        self.organizer = organizer

    def get_id(self) -> str:
        return session_id(self.organizer)


@login_manager.user_loader  # type: ignore[untyped-decorator]
def load(value: str) -> SignedIn | None:
    organizer = from_session_id(value)
    return SignedIn(organizer) if organizer else None
