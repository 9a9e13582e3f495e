"""Digest windows: notices of a recipient in digest mode are gathered per window and sent once."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta


def window_end(now: datetime, window_seconds: float) -> datetime:
    """The end of the fixed window ``now`` falls in (windows are aligned to the epoch)."""
    ends = math.floor(now.timestamp() / window_seconds) * window_seconds + window_seconds
    return datetime.fromtimestamp(ends, UTC)


def digest_id(recipient: str, channel: str, end: datetime) -> str:
    return f"{recipient}|{channel}|{end.isoformat()}"


def due_at(end: datetime, grace_seconds: float) -> datetime:
    return end + timedelta(seconds=grace_seconds)
