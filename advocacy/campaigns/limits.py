"""A campaign's rate limits and send windows as organizers set them, and the moments they name."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from limits import parse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def _rate(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parse(value)
    except ValueError:
        raise ValueError(_("%(value)s is not a rate such as '10/second' or '30/hour'",
                           value=repr(value))) from None
    return value


class SendWindow(BaseModel):
    """Hours and weekdays (0 = Monday) in the official's own time zone."""

    model_config = ConfigDict(extra="forbid")
    start: time = time(8, 0)
    end: time = time(20, 0)
    days: Annotated[list[int], Field(min_length=1)] = [0, 1, 2, 3, 4]

    @model_validator(mode="after")
    def _order(self) -> SendWindow:
        if self.end <= self.start:
            raise ValueError(_("end must be after start"))
        if any(d not in range(7) for d in self.days):
            raise ValueError(_("days are 0 (Monday) to 6 (Sunday)"))
        return self


class RateLimits(BaseModel):
    """A campaign's limits; None switches one off."""

    model_config = ConfigDict(extra="forbid")
    relay: str | None = "10/second"
    per_domain: str | None = "120/minute"
    domains: dict[str, str] = {}
    per_official_hour: str | None = "30/hour"
    per_official_day: str | None = "300/day"
    window: SendWindow | None = SendWindow()
    # When an official's daily cap is full, their digest goes out at this local time.
    digest_at: time = time(20, 0)
    # Near-identical letters (delivery.alike): past `similar_after` letters to one office
    # whose own words are at least `similar_threshold` alike (MinHash's estimate of Jaccard
    # similarity over word shingles) within `similar_window` hours, the next ones go into
    # the office's digest instead of one email each. None switches it off. WriteToThem
    # holds letters more than 0.5 alike; offices read a pile of one text as one voice.
    similar_after: Annotated[int, Field(ge=1, le=100_000)] | None = 50
    similar_window: Annotated[int, Field(ge=1, le=24 * 30)] = 24
    similar_threshold: Annotated[float, Field(ge=0.5, le=0.95)] = 0.8

    _check_rates = field_validator("relay", "per_domain", "per_official_hour",
                                   "per_official_day")(_rate)

    @field_validator("domains")
    @classmethod
    def _check_domains(cls, v: dict[str, str]) -> dict[str, str]:
        for rate in v.values():
            _rate(rate)
        return {k.lower(): r for k, r in v.items()}


def campaign_limits(settings: dict[str, Any] | None) -> RateLimits:
    """The campaign's stored settings over the defaults."""
    return RateLimits.model_validate(settings or {})


def window_opens(window: SendWindow | None, timezone: str, now: datetime) -> datetime | None:
    """None when `now` is inside the send window, else when it next opens (in UTC)."""
    if window is None:
        return None
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    if local.weekday() in window.days and window.start <= local.time() < window.end:
        return None
    for ahead in range(8):
        day = local.date() + timedelta(days=ahead)
        if day.weekday() not in window.days:
            continue
        opening = datetime.combine(day, window.start, tzinfo=zone)
        if opening > local:
            return opening.astimezone(now.tzinfo)
    raise ValueError("a send window with no day in it")  # unreachable: days is not empty


def digest_time(limits: RateLimits, timezone: str, now: datetime) -> datetime:
    """When today's digest for an official in this time zone goes out."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    at = datetime.combine(local.date(), limits.digest_at, tzinfo=zone)
    return max(at, local).astimezone(now.tzinfo)
