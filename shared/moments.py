"""Instants from clients, made safe to compare and to store: MongoDB keeps UTC, and converting
a time near the calendar's ends (year 1 or 9999) with an offset overflows."""

from __future__ import annotations

from datetime import UTC, datetime


def to_utc(moment: datetime) -> datetime:
    """``moment`` in UTC (one without a zone is taken as UTC). Raises ValueError, which a request
    model turns into a 422 naming the field, rather than an OverflowError, which would be a 500."""
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise ValueError("out of the range of dates / 日期超出范围") from None
