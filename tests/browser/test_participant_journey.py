"""A participant's journey in Chromium, in Chinese and in English: sign up with pickers in their
language, post a need (the API's 422 errors shown beside their fields), see the match with the
counterpart's name, its explanation and score parts, decline it with a reason, edit and withdraw
the need, sign out and back in with the API key. Every page is checked for message keys, raw ids
and the other language; screenshots go to docs/screenshots/."""

from __future__ import annotations


import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import LOADED, NEEDS_CHROMIUM, Stack, check_page, screenshot
from tests.support import wait_for

pytestmark = [pytest.mark.integration, NEEDS_CHROMIUM]

UNIVERSITY = {"party_type": "university", "organisation": {"zh": "电子科技大学", "en": "UESTC"},
              "display_name": {"zh": "技术转移中心", "en": "Technology Transfer Office"}, "region": "CN-SC.CD",
              "fields": ["5G"], "language": "zh-CN"}
OFFER = {"kind": "technology", "fields": ["5G.RAN"], "trl": 6, "region": "CN-SC.CD",
         "title": {"zh": "毫米波基站天线阵列", "en": "Millimetre-wave base station antenna array"},
         "description": {"zh": "面向5G基站的毫米波天线阵列与波束成形技术", "en": "mmWave antenna array and beamforming for 5G base stations"},
         "keywords": ["antenna", "beamforming"]}
TEXT = {
    "zh-CN": {"locale": "zh-CN", "org": "成都星河通信有限公司", "person": "研发部", "party": "科技企业",
              "region": "成都", "field": "无线接入网", "need": "5G基站毫米波天线阵列需求", "signup": "注册",
              "post_need": "发布需求", "post": "发布", "required": "必填。", "choose": "请至少选择一项。", "number": "请输入数字。",
              "saved": "已保存。", "counterpart": "电子科技大学", "reason": "阶段过早", "decline": "拒绝",
              "sent": "已提交您的反馈。", "why": "匹配理由", "edit": "编辑", "save": "保存", "withdraw": "撤回",
              "withdrawn": "已撤回", "signout": "退出", "signin": "登录", "welcome": "欢迎",
              "edited": "5G基站毫米波天线阵列与波束成形需求", "title_zh": "标题（中文）", "prefs_saved": "设置已保存。", "format": "格式不正确。"},
    "en": {"locale": "en-GB", "org": "Galaxy Telecom Chengdu", "person": "R&D department", "party": "Tech enterprise",
           "region": "Chengdu", "field": "Radio access network", "need": "mmWave antenna array for 5G base stations",
           "signup": "Sign up", "post_need": "Post a need", "post": "Post", "required": "Required.", "choose": "Choose at least one.",
           "number": "Enter a number.", "saved": "Saved.", "counterpart": "UESTC", "reason": "Too early a stage",
           "decline": "Decline", "sent": "Your answer was sent.", "why": "Why this match", "edit": "Edit",
           "save": "Save", "withdraw": "Withdraw", "withdrawn": "Withdrawn", "signout": "Sign out",
           "signin": "Sign in", "welcome": "Welcome", "edited": "mmWave antenna array and beamforming need",
           "title_zh": "Title (Chinese)", "prefs_saved": "Settings saved.", "format": "Not in the right format."},
}


async def university_with_offer(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.listing, timeout=LOADED) as api:
        registered = (await api.post("/participants", json=UNIVERSITY)).json()
        token = (await api.post("/auth/token", json={"api_key": registered["api_key"]})).json()["access_token"]
        answer = await api.post("/listings", json=OFFER, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 201, answer.text


@pytest.mark.parametrize("language", ["zh-CN", "en"])
async def test_participant_journey(stack: Stack, browser, language: str):
    words = TEXT[language]
    await university_with_offer(stack)
    context = await browser.new_context(locale=words["locale"], viewport={"width": 390, "height": 844})
    context.set_default_timeout(LOADED * 1000)
    page = await context.new_page()
    suffix = "zh" if language == "zh-CN" else "en"

    # sign up: party type, region and fields from pickers in the browser's language
    await page.goto(stack.web + "/")
    await check_page(page, language)
    await page.get_by_role("link", name=words["signup"]).first.click()
    await page.locator("#party_type").select_option(label=words["party"])
    await page.locator("#organisation_zh").fill("成都星河通信有限公司")
    await page.locator("#organisation_en").fill("Galaxy Telecom Chengdu")
    await page.locator("#display_name_zh").fill("研发部")
    await page.locator("#display_name_en").fill("R&D department")
    await page.locator("#region").select_option(label=words["region"])
    await page.locator("#fields").select_option(label=words["field"])
    await page.locator("#language").select_option(language)
    await check_page(page, language)
    await screenshot(page, f"signup-{suffix}")
    await page.locator("form.card button[type=submit]").click()
    api_key = await page.locator("#new-key").input_value()
    assert len(api_key) > 20
    await check_page(page, language, answers_a_form=True)  # signed up, then signed in: two round trips
    cookies = {c["name"]: c for c in await context.cookies()}
    assert api_key not in str(cookies)  # the key is never kept, only the token
    assert cookies["hardtech_session"]["httpOnly"] and cookies["hardtech_session"]["sameSite"] == "Strict"

    # post a need: first with errors, shown beside their fields
    await page.goto(stack.web + "/items")
    await check_page(page, language)
    await page.get_by_role("link", name=words["post_need"]).click()
    await page.locator("#kind").select_option("technology")
    await page.locator("#trl").fill("six")
    await page.get_by_role("button", name=words["post"]).click()
    assert await page.locator("#trl-error").inner_text() == words["number"]
    await page.locator("#trl").fill("5")
    await page.get_by_role("button", name=words["post"]).click()
    assert await page.locator("#fields-error").inner_text() == words["choose"]
    assert await page.locator("#title_zh-error").inner_text() == words["required"]
    await expect(page.locator("#fields")).to_have_attribute("aria-invalid", "true")
    await check_page(page, language)
    await screenshot(page, f"need-errors-{suffix}")
    await page.locator("#title_zh").fill("5G基站毫米波天线阵列需求")
    await page.locator("#title_en").fill("mmWave antenna array for 5G base stations")
    await page.locator("#description_zh").fill("需要面向5G基站的毫米波天线阵列与波束成形技术")
    await page.locator("#description_en").fill("We need a mmWave antenna array with beamforming for 5G base stations")
    await page.locator("#fields").select_option("5G.RAN")
    await page.locator("#region").select_option("CN-SC.CD")
    await page.get_by_role("button", name=words["post"]).click()
    assert await page.get_by_role("status").inner_text() == words["saved"]
    assert await page.locator(".item h3").all_inner_texts() == [words["need"]]
    await check_page(page, language)

    # the match, named and explained in the participant's language
    async def match_shown() -> bool:
        await page.goto(stack.web + "/matches")
        return await page.locator("article.match").count() > 0

    await wait_for(match_shown, timeout=90, interval=1.0, what="the match in the browser")
    card = page.locator("article.match", has=page.locator("h3", has_text=words["counterpart"])).first
    assert await card.locator(".theirs").inner_text() == OFFER["title"]["zh" if language == "zh-CN" else "en"]
    assert await card.locator(".explanation li").count() >= 1
    await card.locator("summary").click()
    assert await card.locator(".parts li").count() == 7
    await check_page(page, language)
    await screenshot(page, f"matches-{suffix}")
    await card.locator("h3 a").click()  # the match's own page, where a link from a notice lands
    assert "/matches/" in page.url and await page.locator("article.match").count() == 1
    await check_page(page, language)
    card = page.locator("article.match")
    await card.locator("summary").click()
    await card.locator("select[name=reason]").select_option(label=words["reason"])
    await card.get_by_role("button", name=words["decline"]).click()
    assert await page.get_by_role("status").inner_text() == words["sent"]
    await check_page(page, language)

    # notification settings: the API's refusal beside its field, then saved
    await page.goto(stack.web + "/preferences")
    await page.locator("#email_enabled").check()
    await page.locator("#email_address").fill("not-an-address")
    await page.locator("#min_match_score").fill("30")
    await page.locator("form.card button[type=submit]").click()
    await expect(page.locator("#email_address")).to_have_attribute("aria-invalid", "true")
    assert await page.locator("#email_address-error").inner_text() == words["format"]
    await check_page(page, language)
    await page.locator("#email_address").fill("rd@galaxy-telecom.cn")
    await page.locator("form.card button[type=submit]").click()
    assert await page.get_by_role("status").inner_text() == words["prefs_saved"]
    assert await page.locator("#min_match_score").input_value() == "30"
    await check_page(page, language)
    await screenshot(page, f"preferences-{suffix}")

    # edit, then withdraw the need
    await page.goto(stack.web + "/items")
    await page.get_by_role("link", name=words["edit"]).click()
    await page.locator("#title_zh").fill("5G基站毫米波天线阵列与波束成形需求")
    await page.locator("#title_en").fill("mmWave antenna array and beamforming need")
    await check_page(page, language)
    await page.get_by_role("button", name=words["save"]).click()
    assert await page.locator(".item h3").all_inner_texts() == [words["edited"]]
    await page.get_by_role("button", name=words["withdraw"]).click()
    assert words["withdrawn"] in await page.locator(".item .meta").inner_text()

    # sign out; sign in again with the key; the home page in the participant's language
    await page.get_by_role("button", name=words["signout"]).click()
    await page.goto(stack.web + "/signin")
    await check_page(page, language)
    await page.locator("#api_key").fill(api_key)
    await page.locator("form.card button[type=submit]").click()
    assert words["welcome"] in await page.locator("h1").inner_text()
    await check_page(page, language)
    await screenshot(page, f"home-{suffix}")
    await context.close()


async def test_a_form_without_its_csrf_token_is_refused(stack: Stack):
    async with httpx.AsyncClient(base_url=stack.web, timeout=LOADED) as client:
        page = await client.get("/signin")
        assert page.status_code == 200 and "hardtech_csrf" in page.cookies
        refused = await client.post("/signin", data={"api_key": "x", "csrf": "not-the-cookie"})
        assert refused.status_code == 403
        wrong_key = await client.post("/signin", data={"api_key": "x", "csrf": page.cookies["hardtech_csrf"]},
                                      headers={"accept-language": "en"})
        assert wrong_key.status_code == 401 and "That key is not valid" in wrong_key.text
