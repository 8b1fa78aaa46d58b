"""Supporters' personal data at rest: encrypted columns and the keyed hash used for lookups.

Names, cities, personal paragraphs, email addresses and replies are stored as Fernet tokens
(AES-128-CBC with HMAC-SHA256, from `cryptography`). The keys come from
ADVOCACY_DATA_KEYS, newest first: the first encrypts, all decrypt, so a key is rotated by
putting a new one in front and running `advocacy rotate-keys`, then dropping the old one.

An encrypted address cannot be looked up, so the supporter row also keeps an HMAC-SHA256
of the address's canonical form (`canonical_email`) under ADVOCACY_LOOKUP_KEY: "one letter
per official" and "what do you hold about me" find the row by it, and without the key it
says nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

EXTENSION = "advocacy.keyring"


class MissingKeyError(RuntimeError):
    """Stored data was encrypted with a key that is not configured."""


@dataclass(frozen=True)
class Keyring:
    fernet: MultiFernet
    lookup_key: bytes

    @classmethod
    def from_config(cls, data_keys: list[str], lookup_key: str) -> Keyring:
        return cls(MultiFernet([Fernet(k.encode()) for k in data_keys]), lookup_key.encode())


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Keyring.from_config(app.config["DATA_KEYS"],
                                                    app.config["LOOKUP_KEY"])


def keyring() -> Keyring:
    ring: Keyring = current_app.extensions[EXTENSION]
    return ring


def seal(text: str) -> str:
    return keyring().fernet.encrypt(text.encode()).decode("ascii")


def unseal(token: str) -> str:
    try:
        return keyring().fernet.decrypt(token.encode("ascii")).decode()
    except InvalidToken:
        raise MissingKeyError("supporter data was encrypted with a key that is not in"
                        " ADVOCACY_DATA_KEYS; put the old key back after the new one") from None


def reseal(token: str) -> str:
    """The same text encrypted with the newest key (MultiFernet.rotate)."""
    try:
        return keyring().fernet.rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise MissingKeyError("a stored token matches no key in ADVOCACY_DATA_KEYS") from None


def normalised_email(address: str) -> str:
    # email-validator has already normalised the domain; the local part is case-folded too,
    # so "Ada@x" and "ada@x" are one supporter for "one letter per official".
    return address.strip().lower()


# Gmail ignores dots in the local part and serves googlemail.com as gmail.com.
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def canonical_email(address: str) -> str:
    """One inbox's one form, for counting who wrote: never the address mail is sent to.

    A sub-address tag ("ada+anything@") is dropped for every domain: the major providers
    deliver it to "ada@", so each tag would otherwise count as a new supporter and write to
    the same official again. For Gmail, dots are dropped too and googlemail.com is gmail.com.
    Written here rather than taken from a library: the ones on PyPI look up MX records (no
    DNS from the web process) or are unmaintained, and these are the two rules we rely on.
    """
    local, _at, domain = normalised_email(address).rpartition("@")
    local = local.split("+", 1)[0] or local  # "+tag@" alone keeps its form
    if domain in GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def lookup_hash(address: str) -> str:
    """The keyed hash that finds an address's supporter: over its canonical form, so every
    spelling of one inbox (tags, Gmail's dots) is one supporter. Every lookup goes here."""
    return hmac.new(keyring().lookup_key, canonical_email(address).encode(),
                    hashlib.sha256).hexdigest()


class Sealed(TypeDecorator[str]):
    """A text column stored encrypted; the application reads and writes plain text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else seal(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else unseal(value)
