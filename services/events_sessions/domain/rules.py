"""Validation of what organisers and registrants send, naming every bad field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from shared import regions, taxonomy
from shared.events.listing import ItemStatus
from shared.events.sessions import Role
from shared.domain_errors import Conflict, Forbidden, Invalid, Problem
from services.events_sessions.domain.model import Session, SessionSpec


# Far above any venue, and well within the 8-byte integers MongoDB stores.
MAX_COUNT = 1_000_000


def session_problems(spec: SessionSpec, now: datetime, *, new_deadline: bool = True) -> list[Problem]:
    """``new_deadline``: the registration deadline is being set, so it must lie ahead."""
    problems = [Problem(("fields", i), f"unknown field code {code!r} / 未知领域代码")
                for i, code in enumerate(spec.fields) if not taxonomy.is_known(code)]
    city = regions.REGIONS.get(spec.city)
    if city is None or not city.is_city:
        problems.append(Problem(("city",), f"unknown city code {spec.city!r}, e.g. CN-SC.CD / 未知城市代码"))
    if spec.high_tech_zone is not None:
        zone = regions.HIGH_TECH_ZONES.get(spec.high_tech_zone)
        if zone is None:
            problems.append(Problem(("high_tech_zone",),
                                    f"unknown high-tech zone {spec.high_tech_zone!r} / 未知高新区"))
        elif zone.city != spec.city:
            problems.append(Problem(("high_tech_zone",),
                                    f"{zone.en} is in {zone.city}, not in {spec.city} / 高新区不在该城市"))
    if spec.ends_at <= spec.starts_at:
        problems.append(Problem(("ends_at",), "must be after starts_at / 结束时间须晚于开始时间"))
    if spec.registration_closes_at <= spec.registration_opens_at:
        problems.append(Problem(("registration_closes_at",),
                                "must be after registration_opens_at / 报名截止须晚于报名开始"))
    if spec.registration_closes_at > spec.starts_at:
        problems.append(Problem(("registration_closes_at",),
                                "registration must close by starts_at / 报名须在活动开始前截止"))
    if new_deadline and spec.registration_closes_at <= now:
        problems.append(Problem(("registration_closes_at",), "is already past / 报名截止时间已过"))
    for party_type, quota in spec.quotas.items():
        if not 1 <= quota <= MAX_COUNT:
            problems.append(Problem(("quotas", party_type.value),
                                    f"a quota is between 1 and {MAX_COUNT} / 名额须在 1 至 {MAX_COUNT} 之间"))
    counts = {("capacity", "presenters"): spec.capacity.presenters, ("capacity", "attendees"): spec.capacity.attendees}
    if spec.meeting_plan is not None:
        counts.update({("meeting_plan", "min_meetings"): spec.meeting_plan.min_meetings,
                       ("meeting_plan", "max_meetings"): spec.meeting_plan.max_meetings})
    problems += [Problem(loc, f"at most {MAX_COUNT} / 不得超过 {MAX_COUNT}") for loc, count in counts.items()
                 if count > MAX_COUNT]
    plan = spec.meeting_plan
    if plan is not None:
        plan_ends = plan.first_slot_at + timedelta(minutes=plan.slots * plan.slot_minutes)
        if plan.first_slot_at < spec.starts_at or plan_ends > spec.ends_at:
            problems.append(Problem(("meeting_plan", "first_slot_at"),
                                    "all meeting slots must fit between starts_at and ends_at "
                                    "/ 洽谈时段须在活动时间内"))
        if plan.min_meetings > plan.max_meetings:
            problems.append(Problem(("meeting_plan", "min_meetings"),
                                    "must not exceed max_meetings / 不得超过最多场次"))
    return problems


def validate_session(spec: SessionSpec, now: datetime, *, new_deadline: bool = True) -> None:
    problems = session_problems(spec, now, new_deadline=new_deadline)
    if problems:
        raise Invalid(problems)


def validate_registration(*, participant_id: str, role: Role, listing_ids: list[str], interests: list[str],
                          listings: Mapping[str, tuple[str, ItemStatus]]) -> None:
    """``listings`` maps the named listing ids known locally to (owner id, status)."""
    problems = [Problem(("interests", i), f"unknown field code {code!r} / 未知领域代码")
                for i, code in enumerate(interests) if not taxonomy.is_known(code)]
    if role is Role.PRESENTER and not listing_ids:
        problems.append(Problem(("listing_ids",), "a presenter pitches at least one of their open listings / "
                                                  "路演者须至少提交一项本人发布的有效成果"))
    if role is Role.ATTENDEE and listing_ids:
        problems.append(Problem(("listing_ids",), "only presenters pitch listings / 仅路演者提交成果"))
    for i, listing_id in enumerate(listing_ids if role is Role.PRESENTER else []):
        owner_status = listings.get(listing_id)
        if owner_status is None:
            problems.append(Problem(("listing_ids", i), f"unknown listing {listing_id!r} / 未知成果"))
        elif owner_status[0] != participant_id:
            problems.append(Problem(("listing_ids", i), f"listing {listing_id!r} is not yours / 该成果不属于您"))
        elif owner_status[1] is not ItemStatus.OPEN:
            problems.append(Problem(("listing_ids", i),
                                    f"listing {listing_id!r} is {owner_status[1].value}, not open "
                                    "/ 该成果未处于发布状态"))
    if len(set(listing_ids)) != len(listing_ids):
        problems.append(Problem(("listing_ids",), "a listing is named twice / 成果重复"))
    if problems:
        raise Invalid(problems)


def ensure_accepting(session: Session, now: datetime) -> None:
    """Registrations and meeting requests are taken only while registration is open."""
    if not session.registration_open:
        raise Conflict("registration is closed / 报名已截止")
    if now < session.registration_opens_at:
        raise Conflict(f"registration opens at {session.registration_opens_at.isoformat()} / 报名尚未开始")
    if now >= session.registration_closes_at:
        raise Conflict("the registration window has ended / 报名时间已过")


def is_accepting(session: Session, now: datetime) -> bool:
    try:
        ensure_accepting(session, now)
        return True
    except Conflict:
        return False


def ensure_organiser_of(session: Session, actor_id: str, *, is_operator: bool) -> None:
    if not is_operator and session.organiser_id != actor_id:
        raise Forbidden("only this session's organiser or an operator may do this / 仅该活动的主办方或运营者可操作")
