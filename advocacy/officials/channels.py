"""How an office is reached: by email (we send the letter), through its web contact form or by
post (the supporter sends it themselves); several where it has several."""

from __future__ import annotations

from typing import Protocol

CHANNELS = ("email", "form", "post")


class Reachable(Protocol):
    """An office row or a file entry: what its channels are read from."""

    @property
    def email(self) -> str | None: ...
    @property
    def contact_page(self) -> str | None: ...
    @property
    def postal_address(self) -> str | None: ...


def channels(office: Reachable) -> list[str]:
    """The office's channels, in CHANNELS order."""
    has = {"email": office.email, "form": office.contact_page,
           "post": (office.postal_address or "").strip()}
    return [channel for channel in CHANNELS if has[channel]]


def by_hand(office: Reachable) -> list[str]:
    """What the supporter sends themselves: an office that takes email gets the letter from
    us; one that takes none, through its contact form or by post."""
    return [] if office.email else channels(office)


def address_lines(postal_address: str | None) -> list[str]:
    """A postal address as the lines of an envelope's address block."""
    return [line.strip() for line in (postal_address or "").splitlines() if line.strip()]
