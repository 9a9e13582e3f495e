"""The whole product for the browser journeys: listing, events_sessions and notification served
in-process over real HTTP, matching as its own process (faust worker and query API), the web app
in front of them, all on free ports against the real broker and store; and Debian's Chromium
driven by Playwright (no browser download)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from hardtech.namespace import delete_namespace
from services.events_sessions.app import create_app as create_events_sessions
from services.events_sessions.settings import Settings as EventsSessionsSettings
from services.listing.app import create_app as create_listing
from services.listing.settings import Settings as ListingSettings
from services.matching.settings import Settings as MatchingSettings
from services.notification.app import create_app as create_notification
from services.notification.settings import Settings as NotificationSettings
from services.web.app import create_app as create_web
from services.web.domain import i18n
from services.web.domain.round_trips import round_trips as trips_of
from services.web.settings import Settings as WebSettings
from shared import topics
from shared.kafka import ensure_topics
from tests.infrastructure import Endpoints
from tests.integration.matching.conftest import MatchingProcess
from tests.support import free_port

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Seconds a request or a browser step may take: the machine running the suite may be shared and loaded.
LOADED = 60.0
RAW_ID = re.compile(r"\b[pmsld]_[0-9a-zA-Z]{6,}")
MESSAGE_KEY = re.compile(r"\b(?:" + "|".join(sorted({k.split(".")[0] for k in i18n.MESSAGES})) + r")\.[a-z_]+\b")
ENGLISH_MESSAGES = {en for zh, en in i18n.MESSAGES.values() if zh != en and len(en) > 3 and "{" not in en}

NEEDS_CHROMIUM = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason="Debian's chromium is not installed (apt-get install chromium)")


@asynccontextmanager
async def serving(app: Any, port: int) -> AsyncIterator[str]:
    """Serve an app with its lifespan over real HTTP in this event loop."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False,
                                           timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise AssertionError(f"server on port {port} stopped before starting")
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class Stack:
    web: str
    listing: str
    sessions: str
    matching: str
    notification: str
    namespace: str


@pytest.fixture(scope="package")
async def stack(infra: Endpoints, tmp_path_factory) -> AsyncIterator[Stack]:
    namespace = f"t{uuid.uuid4().hex[:10]}-"
    common = {"kafka_bootstrap_servers": infra.kafka_bootstrap_servers, "mongodb_uri": infra.mongodb_uri,
              "topic_prefix": namespace}

    def database(name: str) -> str:
        return f"{namespace.rstrip('-')}_{name}"

    ports = {name: free_port() for name in ("listing", "sessions", "matching", "notification", "web")}
    # The journeys sign up many participants from one address; the sign-up limits have tests of their own.
    listing = ListingSettings(**common, database=database("listing"), relay_poll_seconds=0.2, port=ports["listing"],
                              signup_rate_per_ip=1000, signup_rate_per_email=1000)
    sessions = EventsSessionsSettings(**common, database=database("sessions"), closer_interval_seconds=0.5,
                                      port=ports["sessions"])
    notification = NotificationSettings(**common, database=database("notification"), stream_poll_seconds=0.5,
                                        stream_ping_seconds=5, port=ports["notification"])
    matching = MatchingSettings(**common, database=database("matching"), port=ports["matching"],
                                datadir=tmp_path_factory.mktemp("matching"))
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    web = WebSettings(**common, port=ports["web"], api_timeout_seconds=LOADED, listing_url=urls["listing"], events_sessions_url=urls["sessions"],
                      matching_url=urls["matching"], notification_url=urls["notification"], name_cache_seconds=0)
    await ensure_topics(listing, topics.ALL)
    process = MatchingProcess(matching, tmp_path_factory.mktemp("logs") / "matching.log")
    try:
        await asyncio.to_thread(process.start)
        async with AsyncExitStack() as running:
            await running.enter_async_context(serving(create_listing(listing), ports["listing"]))
            await running.enter_async_context(serving(create_events_sessions(sessions), ports["sessions"]))
            await running.enter_async_context(serving(create_notification(notification), ports["notification"]))
            await running.enter_async_context(serving(create_web(web), ports["web"]))
            yield Stack(urls["web"], urls["listing"], urls["sessions"], urls["matching"], urls["notification"],
                        namespace)
    finally:
        process.stop()
        await delete_namespace(infra.kafka_bootstrap_servers, infra.mongodb_uri, namespace)


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        await chromium.close()


@dataclass
class Account:
    participant_id: str
    api_key: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def account(stack: Stack, body: dict[str, Any]) -> Account:
    """A participant registered through the listing API, as another client would."""
    async with httpx.AsyncClient(base_url=stack.listing, timeout=LOADED) as api:
        answer = await api.post("/participants", json=body)
        assert answer.status_code == 201, answer.text
        registered = answer.json()
        token = (await api.post("/auth/token", json={"api_key": registered["api_key"]})).json()["access_token"]
    return Account(registered["id"], registered["api_key"], token)


async def sign_in(page: Any, stack: Stack, who: Account) -> None:
    await page.goto(stack.web + "/signin")
    await page.locator("#api_key").fill(who.api_key)
    await page.locator("form.card button[type=submit]").click()
    await page.wait_for_url(stack.web + "/")


async def check_page(page: Any, language: str, answers_a_form: bool = False) -> str:
    """The page's visible text, once it is checked: no message key, no raw id, and nothing in the
    other language (an English page has no Chinese at all: the journeys' data is bilingual); and
    a page (not the answer to a form) waited for each service once, as its Server-Timing says."""
    if not answers_a_form:
        trips = await round_trips(page)
        assert all(n == 1 for n in trips.values()), f"more than one round trip to a service on {page.url}: {trips}"
    text = await page.locator("body").inner_text()
    assert not RAW_ID.findall(text), f"raw ids on {page.url}: {RAW_ID.findall(text)}"
    assert not MESSAGE_KEY.findall(text), f"untranslated keys on {page.url}: {MESSAGE_KEY.findall(text)}"
    if language == "en":
        chinese = [line for line in text.splitlines() if i18n.has_chinese(line) and line.strip() != "中文"]
        assert not chinese, f"Chinese on the English page {page.url}: {chinese}"
    else:
        lines = {line.strip() for line in text.splitlines()}
        english = sorted(lines & ENGLISH_MESSAGES - {"English"})
        assert not english, f"English on the Chinese page {page.url}: {english}"
    labels = await page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name)""")
    assert labels == [], f"form controls without a label on {page.url}: {labels}"
    return text


async def round_trips(page: Any) -> dict[str, int]:
    """The round trips to each service the page's server made, from its Server-Timing header."""
    return trips_of(await page.evaluate("""() => performance.getEntriesByType('navigation')[0].serverTiming
        .map(t => [t.name, t.description])"""))


async def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
