"""Valid request bodies the security tests send to reach past validation into the handlers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def participant(party_type: str) -> dict[str, Any]:
    return {"party_type": party_type, "organisation": {"zh": "安全测试单位", "en": "Security test org"},
            "display_name": {"zh": "安全测试", "en": "Security test"}, "region": "CN-SC.CD", "fields": ["5G"],
            "email": "security@example.com"}


def item(kind: str = "technology") -> dict[str, Any]:
    return {"kind": kind, "title": {"zh": "5G射频前端芯片", "en": "5G RF front-end chip"}, "fields": ["5G.RF"],
            "trl": 6, "region": "CN-SC.CD"}


def session() -> dict[str, Any]:
    """A session whose registration is open now and which starts in a month."""
    now = datetime.now(UTC)
    starts = now + timedelta(days=30)
    return {"title": {"zh": "成都高新区 5G通信专场", "en": "5G session, Chengdu high-tech zone"}, "fields": ["5G"],
            "city": "CN-SC.CD", "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=8)).isoformat(),
            "registration_opens_at": (now - timedelta(days=1)).isoformat(),
            "registration_closes_at": (starts - timedelta(days=1)).isoformat(),
            "capacity": {"presenters": 5, "attendees": 50},
            "meeting_plan": {"first_slot_at": (starts + timedelta(hours=2)).isoformat(), "slot_minutes": 20,
                             "slots": 6, "tables": 10}}
