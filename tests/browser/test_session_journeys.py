"""An organiser's and a participant's journey around one session, in Chromium, in Chinese and in
English: the organiser creates the session and sees registrations and the waitlist with names;
the participant finds it by city, registers, asks to meet a match and shows the check-in QR; the
organiser closes registration and sees the agenda board; the participant sees the agenda in the
session's local time with names and downloads the .ics while the inbox badge rises live; the
organiser checks the participant in by code.

The organiser role comes from the listing API as it is at this commit: a government participant
is an organiser. When #16 makes an operator grant the role, ``organiser`` below grants it there."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.browser.conftest import (LOADED, NEEDS_CHROMIUM, Account, Stack, account, check_page, round_trips, screenshot,
                                    sign_in)
from tests.support import OPERATOR, wait_for

pytestmark = [pytest.mark.integration, NEEDS_CHROMIUM]

CHINA = ZoneInfo("Asia/Shanghai")


def party(party_type: str, zh: str, en: str, language: str, region: str) -> dict:
    return {"party_type": party_type, "organisation": {"zh": zh, "en": en},
            "display_name": {"zh": "对接部", "en": "Partnerships"}, "region": region, "fields": ["5G"],
            "language": language}


OFFER = {"kind": "technology", "fields": ["5G.RAN"], "trl": 6,
         "title": {"zh": "毫米波基站天线阵列", "en": "Millimetre-wave base station antenna array"},
         "description": {"zh": "面向5G基站的毫米波天线阵列与波束成形技术",
                         "en": "mmWave antenna array and beamforming for 5G base stations"}}
NEED = {"kind": "technology", "fields": ["5G.RAN"], "trl": 5,
        "title": {"zh": "5G基站毫米波天线阵列需求", "en": "mmWave antenna array for 5G base stations"},
        "description": {"zh": "需要面向5G基站的毫米波天线阵列与波束成形技术",
                        "en": "We need a mmWave antenna array with beamforming for 5G base stations"}}

RUN = {
    "zh-CN": {"locale": "zh-CN", "city": "CN-SC.CD", "city_name": "成都", "title": "成都5G通信专场",
              "venue": "成都高新区菁蓉汇", "created": "专场已创建。", "closed": "报名已截止。洽谈议程将自动生成。",
              "register": "报名", "confirmed": "已确认", "must": "必须见面", "send": "提交",
              "requested": "已提交洽谈请求。", "waitlist": "候补中", "close": "截止报名", "check_in": "签到",
              "checked": "已签到。", "filter": "筛选", "edit": "编辑专场", "range": "超出允许的范围。",
              "moved": "成都高新区菁蓉汇B座", "updated": "专场已更新。", "university_zh": "四川大学", "university": "Sichuan University"},
    "en": {"locale": "en-GB", "city": "CN-GD.SZ", "city_name": "Shenzhen", "title": "Shenzhen 5G session",
           "venue": "Shenzhen Bay Innovation Centre", "created": "The session is created.",
           "closed": "Registration is closed. The agenda is planned next.", "register": "Register",
           "confirmed": "Confirmed", "must": "Must meet", "send": "Send",
           "requested": "Your meeting request was sent.", "waitlist": "On the waitlist", "close": "Close registration",
           "check_in": "Check in", "checked": "is checked in.", "filter": "Filter", "edit": "Edit the session",
           "range": "Out of the allowed range.", "moved": "Shenzhen Bay Innovation Centre, Hall B",
           "updated": "The session is updated.",
           "university_zh": "西南交通大学", "university": "Southwest Jiaotong University"},
}


async def organiser(stack: Stack, language: str) -> Account:
    """A government participant whom an operator has verified as an organiser."""
    host = await account(stack, party("government", "成都高新区管委会", "Chengdu Hi-tech Zone Administration",
                                      language, "CN-SC.CD"))
    async with httpx.AsyncClient(base_url=stack.listing, timeout=LOADED) as api:
        granted = await api.put(f"/participants/{host.participant_id}/organiser", headers=OPERATOR,
                                json={"granted": True, "reason": "verified host of the browser journeys"})
        assert granted.status_code == 200, granted.text
        token = (await api.post("/auth/token", json={"api_key": host.api_key})).json()["access_token"]
    return Account(host.participant_id, host.api_key, token)


def local_input(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize("language", ["zh-CN", "en"])
async def test_session_journeys(stack: Stack, browser, language: str):
    words = RUN[language]
    suffix = "zh" if language == "zh-CN" else "en"
    host = await organiser(stack, language)
    university = await account(stack, party("university", words["university_zh"], words["university"], language,
                                            "CN-SC.CD"))
    enterprise = await account(stack, party("enterprise", "成都星河通信有限公司", "Galaxy Telecom Chengdu", language,
                                            "CN-SC.CD"))
    investors = [await account(stack, party("investor", f"天府创投{n}号", f"Tianfu Ventures {n}", language, "CN-SC.CD"))
                 for n in (1, 2)]
    async with httpx.AsyncClient(base_url=stack.listing, timeout=LOADED) as api:
        offer = await api.post("/listings", json=OFFER, headers=university.headers)
        assert offer.status_code == 201
        assert (await api.post("/demands", json=NEED, headers=enterprise.headers)).status_code == 201

    # the organiser creates the session (times typed in local time)
    hosting = await browser.new_context(locale=words["locale"], viewport={"width": 1280, "height": 900})
    hosting.set_default_timeout(LOADED * 1000)
    desk = await hosting.new_page()
    await sign_in(desk, stack, host)
    await desk.goto(stack.web + "/organise/new")
    day = (datetime.now(UTC) + timedelta(days=10)).astimezone(CHINA).replace(hour=9, minute=0, second=0, microsecond=0)
    await desk.locator("#title_zh").fill(f"{RUN['zh-CN']['title']}")
    await desk.locator("#title_en").fill(f"{RUN['en']['title']}")
    await desk.locator("#fields").select_option("5G")
    await desk.locator("#city").select_option(words["city"])
    await desk.locator("#venue").fill(words["venue"])
    await desk.locator("#starts_at").fill(local_input(day))
    await desk.locator("#ends_at").fill(local_input(day + timedelta(hours=8)))
    await desk.locator("#registration_closes_at").fill(local_input(day - timedelta(days=1)))
    await desk.locator("#presenters").fill("1")
    await desk.locator("#attendees").fill("2")
    await desk.locator("#first_slot_at").fill(local_input(day + timedelta(hours=2)))
    await check_page(desk, language)
    await screenshot(desk, f"organiser-new-session-{suffix}")
    await desk.locator("form.card button[type=submit]").click()
    assert await desk.get_by_role("status").first.inner_text() == words["created"]
    session_id = desk.url.split("/organise/")[1].split("?")[0]
    await check_page(desk, language)

    # the organiser edits it: a number out of range is shown beside its field, then the venue moves
    await desk.get_by_role("link", name=words["edit"]).click()
    assert await desk.locator("#venue").input_value() == words["venue"]
    assert await desk.locator("#starts_at").input_value() == local_input(day)
    await desk.locator("#presenters").fill("0")
    await desk.locator("form.card button[type=submit]").click()
    assert await desk.locator("#presenters-error").inner_text() == words["range"]
    await check_page(desk, language)
    await desk.locator("#presenters").fill("1")
    await desk.locator("#venue").fill(words["moved"])
    await desk.locator("form.card button[type=submit]").click()
    assert await desk.get_by_role("status").first.inner_text() == words["updated"]
    assert words["moved"] in await desk.locator("main").inner_text()
    async with httpx.AsyncClient(base_url=stack.sessions, timeout=LOADED) as api:
        stored = (await api.get(f"/sessions/{session_id}")).json()
    assert (stored["venue"], stored["capacity"], stored["version"]) == (words["moved"], {"presenters": 1, "attendees": 2},
                                                                        2)

    # others register through the API: the university presents its offer (once the sessions service
    # has heard of it), an investor attends
    async def register(who: Account, body: dict) -> dict | None:
        async with httpx.AsyncClient(base_url=stack.sessions, timeout=LOADED) as api:
            answer = await api.post(f"/sessions/{session_id}/registrations", json=body, headers=who.headers)
        assert answer.status_code in (201, 422), answer.text
        return answer.json() if answer.status_code == 201 else None

    await wait_for(lambda: register(university, {"role": "presenter", "listing_ids": [offer.json()["id"]]}),
                   timeout=30, what="the university's registration as a presenter")
    assert (await register(investors[0], {"role": "attendee"}))["status"] == "confirmed"

    # the participant finds the session by city, registers and asks to meet the matched university
    visiting = await browser.new_context(locale=words["locale"], viewport={"width": 390, "height": 844})
    visiting.set_default_timeout(LOADED * 1000)
    phone = await visiting.new_page()
    await sign_in(phone, stack, enterprise)
    answer = await phone.goto(stack.web + "/sessions")
    assert answer.status == 200, await phone.locator("main").inner_text()
    await phone.locator("#city").select_option(words["city"])
    await phone.get_by_role("button", name=words["filter"]).click()
    await check_page(phone, language)
    await screenshot(phone, f"sessions-{suffix}")
    await phone.get_by_role("link", name=words["title"]).first.click()
    await phone.locator("#role").select_option("attendee")
    await phone.get_by_role("button", name=words["register"]).click()
    assert words["confirmed"] in await phone.locator(".registration").inner_text()
    code = (await phone.locator(".code").inner_text()).strip()
    assert len(code) >= 6
    assert await phone.locator("img.qr").evaluate("img => img.complete && img.naturalWidth > 0")

    async def matched() -> bool:  # with this run's university (the other runs' offers match too)
        async with httpx.AsyncClient(base_url=stack.matching, timeout=LOADED) as api:
            found = (await api.get("/matches", params={"limit": 100}, headers=enterprise.headers)).json()["items"]
        return any(m["offer"]["owner_id"] == university.participant_id for m in found)

    late = await register(investors[1], {"role": "attendee"})  # the attendees' seats are taken: it waits
    assert (late["status"], late["waitlist_position"]) == ("waitlisted", 1)
    await wait_for(matched, timeout=90, interval=1.0, what="the enterprise's match")
    await phone.reload()
    await phone.locator("#target_id").select_option(label=f"{words['university']} · Partnerships" if language == "en"
                                                    else f"{words['university_zh']} · 对接部")
    await phone.locator("#preference").select_option(label=words["must"])
    await phone.get_by_role("button", name=words["send"]).click()
    assert await phone.get_by_role("status").inner_text() == words["requested"]
    await check_page(phone, language)
    await screenshot(phone, f"session-{suffix}")

    # the organiser sees registrations and the waitlist with names, and closes registration
    await desk.goto(f"{stack.web}/organise/{session_id}")
    assert await round_trips(desk) == {"events_sessions": 1, "listing": 1}
    tables = await desk.locator("table").all_inner_texts()
    assert words["university" if language == "en" else "university_zh"] in tables[0]
    assert ("Tianfu Ventures 2" if language == "en" else "天府创投2号") in tables[1]
    assert words["waitlist"] in tables[1]
    await check_page(desk, language)
    await phone.goto(stack.web + "/agenda")
    await phone.evaluate("window.notReloaded = true")
    badge = phone.locator("#unread")
    before = int(await badge.inner_text() or 0)
    await desk.get_by_role("button", name=words["close"]).click()
    assert await desk.get_by_role("status").first.inner_text() == words["closed"]

    async def board_shown() -> bool:
        await desk.goto(f"{stack.web}/organise/{session_id}")
        return await desk.locator("table.board").count() == 1

    await wait_for(board_shown, timeout=90, interval=1.0, what="the agenda board")
    board = await desk.locator("table.board").inner_text()
    pair = (words["university"] in board and "Galaxy Telecom Chengdu" in board) if language == "en" else \
        (words["university_zh"] in board and "成都星河通信有限公司" in board)
    assert pair, board
    assert "12:00" in board or "11:00" in board  # slots in Beijing time: the first at 11:00
    await check_page(desk, language)
    await screenshot(desk, f"organiser-board-{suffix}")

    # the inbox badge rose without a reload; the agenda is in local time with names
    await phone.wait_for_function("n => Number(document.getElementById('unread').textContent) > n", arg=before,
                                  timeout=60_000)
    assert await phone.evaluate("window.notReloaded") is True
    await phone.reload()
    assert await round_trips(phone) == {"events_sessions": 1, "listing": 1}  # the agenda, then names
    row = await phone.locator("table.agenda tbody tr").first.inner_text()
    assert "11:00" in row and words["university" if language == "en" else "university_zh"] in row, row
    await check_page(phone, language)
    await screenshot(phone, f"agenda-{suffix}")
    async with phone.expect_download() as download:
        await phone.locator("a[href=\"/agenda.ics\"]").click()
    ics = (await (await download.value).path()).read_text()
    assert "BEGIN:VCALENDAR" in ics
    assert f"1:1 洽谈 / meeting: {words['university_zh']} · 对接部 / {words['university']} · Partnerships" in \
        re.sub(r"\r?\n[ \t]", "", ics), ics  # the counterpart named in both languages (lines are folded)
    await phone.goto(stack.web + "/teams")
    await check_page(phone, language)
    await phone.goto(stack.web + "/inbox")
    await check_page(phone, language)
    await screenshot(phone, f"inbox-{suffix}")

    # the organiser checks the participant in by the code on their phone
    await desk.goto(f"{stack.web}/organise/{session_id}")
    await desk.locator("#code").fill(code)
    await desk.get_by_role("button", name=words["check_in"]).click()
    checked = await desk.get_by_role("status").last.inner_text()
    assert ("Galaxy Telecom Chengdu" if language == "en" else "成都星河通信有限公司") in checked
    assert words["checked"] in checked
    await check_page(desk, language)
    await hosting.close()
    await visiting.close()
