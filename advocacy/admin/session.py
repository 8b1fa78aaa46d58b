"""Flask-Login's side: an organizer's session, as a user object that knows its account."""

from __future__ import annotations

from flask_login import UserMixin

from advocacy.extensions import login_manager
from advocacy.models import Organizer
from advocacy.organizers.accounts import from_session_id


class SignedIn(UserMixin):  # type: ignore[misc]
    """The logged-in organizer, and the id of this session (accounts.open_session)."""

    def __init__(self, organizer: Organizer, session: str) -> None:
        self.organizer = organizer
        self.session = session

    def get_id(self) -> str:
        return self.session


@login_manager.user_loader  # type: ignore[untyped-decorator]
def load(value: str) -> SignedIn | None:
    """Every request: the session must still be kept on the server (not logged out)."""
    organizer = from_session_id(value)
    return SignedIn(organizer, value) if organizer else None
