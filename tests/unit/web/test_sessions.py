"""Sessions as the web app shows them: summaries, the organiser's form, the board and the agenda."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from services.web.domain import sessions, views

SESSION = {"id": "s_1", "title": {"zh": "成都5G专场", "en": "Chengdu 5G session"}, "city": "CN-SC.CD",
           "high_tech_zone": "CDHT", "venue": "菁蓉汇", "fields": ["5G", "IMFG.ROB"],
           "starts_at": "2026-12-12T01:00:00Z", "ends_at": "2026-12-12T09:00:00Z",
           "registration_closes_at": "2026-12-11T01:00:00Z", "capacity": {"presenters": 5, "attendees": 50},
           "seats_taken": {"presenter": 2, "attendee": 10}, "waitlisted": {"presenter": 1, "attendee": 2},
           "accepting_registrations": True}


def test_a_session_is_summarised_in_its_time_zone_and_language():
    zh = sessions.summary(SESSION, "zh-CN")
    assert zh.when == "2026年12月12日（周六）09:00–17:00" and zh.zone == "北京时间"
    assert zh.where == "四川 · 成都 · 成都高新区 · 菁蓉汇" and zh.fields == "5G通信、工业机器人"
    assert zh.seats == "路演 2/5，观众 10/50，候补 3"
    en = sessions.summary(SESSION, "en")
    assert en.when == "Sat 12 Dec 2026, 09:00–17:00" and en.fields == "5G communications, Industrial robots"
    assert sessions.in_zone(SESSION, "CDHT") and not sessions.in_zone(SESSION, "ZGC") and sessions.in_zone(SESSION, "")


FORM = {"title_zh": "成都5G专场", "title_en": "", "fields": ["5G"], "city": "CN-SC.CD", "high_tech_zone": "",
        "venue": " 菁蓉汇 ", "starts_at": "2026-12-12T09:00", "ends_at": "2026-12-12T17:00",
        "registration_closes_at": "2026-12-11T09:00", "presenters": "5", "attendees": "50", "quota_investor": "10",
        "first_slot_at": "2026-12-12T11:00", "slot_minutes": "20", "slots": "6", "tables": "10"}


def test_the_organisers_form_becomes_the_api_body_in_local_time():
    now = datetime(2026, 12, 1, tzinfo=UTC)
    parsed = sessions.session_form(FORM, now, "en")
    assert parsed.errors == {}
    body = parsed.body
    assert body["starts_at"] == "2026-12-12T09:00:00+08:00" and body["registration_opens_at"] == "2026-11-30T23:59:00+00:00"
    assert body["title"] == {"zh": "成都5G专场"} and body["venue"] == "菁蓉汇" and body["high_tech_zone"] is None
    assert body["capacity"] == {"presenters": 5, "attendees": 50} and body["quotas"] == {"investor": 10}
    assert body["meeting_plan"] == {"first_slot_at": "2026-12-12T11:00:00+08:00", "slot_minutes": 20, "slots": 6,
                                    "tables": 10}
    broken = sessions.session_form({**FORM, "starts_at": "", "tables": "ten", "title_zh": ""}, now, "zh-CN")
    assert broken.errors == {"starts_at": "请填写日期和时间。", "tables": "请输入数字。"} and "title" not in broken.body
    assert sessions.form_errors({"capacity_presenters": "a", "meeting_plan_slots": "b", "title": "c",
                                 "quotas_investor": "d"}) == {"presenters": "a", "slots": "b", "title_zh": "c",
                                                              "quota_investor": "d"}


AGENDA = {"slots": [{"index": 1, "starts_at": "2026-12-12T03:20:00Z", "ends_at": "2026-12-12T03:40:00Z"},
                    {"index": 0, "starts_at": "2026-12-12T03:00:00Z", "ends_at": "2026-12-12T03:20:00Z"}],
          "meetings": [{"slot": 1, "table": 1, "participant_ids": ["p_a", "p_b"], "must_meet": True},
                       {"slot": 0, "table": 0, "participant_ids": ["p_a", "p_c"]}]}


def test_the_board_is_tables_by_slots_with_names():
    board = sessions.board(AGENDA, "CN-SC.CD", {"p_a": "UESTC", "p_b": "Galaxy"}, "(unknown)")
    assert board.slots == ["11:00–11:20", "11:20–11:40"]
    assert board.tables[0][0].names == ["UESTC", "(unknown)"] and board.tables[0][1] is None
    assert board.tables[1][1].names == ["UESTC", "Galaxy"] and board.tables[1][1].must_meet


def test_a_participants_agenda_is_in_each_sessions_zone_with_names():
    meetings = [{"session_id": "s_1", "session_title": {"zh": "专场", "en": "Session"}, "city": "CN-BJ.BJ", "slot": 0,
                 "table": 2,
                 "starts_at": "2026-12-12T03:20:00Z", "ends_at": "2026-12-12T03:40:00Z", "counterpart_id": "p_x",
                 "must_meet": False}]
    rows = sessions.agenda_rows(meetings, {"p_x": "清华大学"}, "?", "zh-CN")
    assert [(r.when, r.table, r.counterpart, r.session_title) for r in rows] == [
        ("2026年12月12日（周六）11:20–11:40", 3, "清华大学", "专场")]


def test_meeting_targets_are_each_counterpart_once_best_first():
    def row(match_id: str, rank: int, counterpart: str) -> views.MatchRow:
        return views.MatchRow(match_id, counterpart, rank, 50, True, counterpart.upper(), "", "", "", [])

    rows = [row("m_2", 2, "p_b"), row("m_3", 3, "p_a"), row("m_1", 1, "p_a")]
    assert sessions.meeting_targets(rows) == [("p_a", "P_A"), ("p_b", "P_B")]


def test_registrations_are_split_into_seats_in_arrival_order_and_the_waitlist_by_position():
    registrations = [{"participant_id": "p_1", "status": "confirmed"},
                     {"participant_id": "p_2", "status": "waitlisted", "waitlist_position": 2},
                     {"participant_id": "p_3", "status": "checked_in"},
                     {"participant_id": "p_4", "status": "waitlisted", "waitlist_position": 1}]
    seated, waiting = sessions.seated_and_waiting(registrations)
    assert [r["participant_id"] for r in seated] == ["p_1", "p_3"]
    assert [r["participant_id"] for r in waiting] == ["p_4", "p_2"]


NOW = datetime(2026, 12, 1, tzinfo=UTC)
AS_STORED = {**SESSION, "organiser_id": "p_host", "registration_opens_at": "2026-11-01T00:00:00Z",
             "title": {"zh": "成都5G专场", "en": None}, "high_tech_zone": None, "venue": "菁蓉汇", "fields": ["5G"],
             "starts_at": "2026-12-12T01:00:00Z", "ends_at": "2026-12-12T09:00:00Z",
             "registration_closes_at": "2026-12-11T01:00:00Z", "quotas": {"investor": 10},
             "meeting_plan": {"first_slot_at": "2026-12-12T03:00:00Z", "slot_minutes": 20, "slots": 6, "tables": 10,
                              "min_meetings": 1, "max_meetings": 4}}


def test_a_session_becomes_its_edit_form_in_local_time():
    values = sessions.session_values(AS_STORED)
    assert {k: values[k] for k in ("starts_at", "registration_closes_at", "first_slot_at", "title_en", "tables",
                                   "quota_investor", "high_tech_zone", "max_meetings")} == {
        "starts_at": "2026-12-12T09:00", "registration_closes_at": "2026-12-11T09:00",
        "first_slot_at": "2026-12-12T11:00", "title_en": "", "tables": "10", "quota_investor": "10",
        "high_tech_zone": "", "max_meetings": "4"}
    carried = sessions.original_values(json.dumps(values))
    assert carried == values
    assert sessions.original_values("{not json") == {} and sessions.original_values('{"tables": 3, "fields": [1]}') == {}
    original = sessions.session_form(carried, NOW, "en").body
    unchanged = sessions.session_form({k: v for k, v in values.items() if k not in sessions.PLAN_LIMITS}, NOW, "en")
    assert unchanged.errors == {} and sessions.session_changes(original, unchanged.body) == {}


def test_an_edit_sends_only_what_changed_and_keeps_the_meeting_plans_limits():
    values = sessions.session_values(AS_STORED)
    original = sessions.session_form(values, NOW, "en").body
    typed = {**{k: v for k, v in values.items() if k not in sessions.PLAN_LIMITS}, "venue": " 天府软件园 ",
             "ends_at": "2026-12-12T18:00", "tables": "12"}
    edited = sessions.session_form(typed, NOW, "en")
    assert sessions.session_changes(original, edited.body) == {
        "venue": "天府软件园", "ends_at": "2026-12-12T18:00:00+08:00",
        "meeting_plan": {"first_slot_at": "2026-12-12T11:00:00+08:00", "slot_minutes": 20, "slots": 6, "tables": 12,
                         "min_meetings": 1, "max_meetings": 4}}
    cleared = sessions.session_form({**typed, "title_zh": " "}, NOW, "en")
    assert sessions.session_changes(original, cleared.body)["title"] is None


def test_a_session_page_asks_only_for_what_it_shows():
    open_, closed = sessions.summary(SESSION, "en"), sessions.summary({**SESSION, "accepting_registrations": False}, "en")
    confirmed, waitlisted, cancelled = ({"status": s} for s in ("confirmed", "waitlisted", "cancelled"))
    assert [sessions.session_page_asks(open_, r) for r in (None, cancelled, confirmed, waitlisted)] == [
        "offers", "offers", "targets", "targets"]
    assert [sessions.session_page_asks(closed, r) for r in (None, cancelled, confirmed)] == [None, None, None]
