"""The dashboard in headless Chromium (Debian's package, driven by Playwright): it loads, takes the
operator token, draws the lag chart from live samples; a screenshot is kept in test-artifacts/."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import uvicorn

from services.monitor.app import create_app
from shared.settings import DEV_OPERATOR_TOKEN
from tests.support import free_port

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)")
async def test_dashboard_draws_lag_charts_in_chromium(cluster, registry_topics, monitor_settings, namespace):
    from playwright.async_api import async_playwright

    topic = await cluster.topic("shipments")
    await cluster.produce(topic, 30)
    await cluster.commit("shipping", {(topic, 0): 5})
    port = free_port()
    app = create_app(monitor_settings(sample_interval_seconds=0.5, port=port))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            # A token in the address is never taken: the page asks for it, and keeps it in the tab.
            await page.goto(f"http://127.0.0.1:{port}/dashboard?token={DEV_OPERATOR_TOKEN}&poll_ms=500")
            assert await page.locator("#login").is_visible()
            assert await page.evaluate("sessionStorage.getItem('hardtech-operator-token')") is None
            await page.fill("#token", DEV_OPERATOR_TOKEN)
            await page.press("#token", "Enter")
            line = page.locator(f'#chart-lag polyline.series[data-name="{namespace}shipping"]')
            await line.wait_for(state="attached", timeout=20_000)  # a flat line has no height: "hidden"
            await page.wait_for_function(
                "name => (document.querySelector(`#chart-lag polyline[data-name='${name}']`)"
                "?.getAttribute('points') || '').split(' ').length >= 3", arg=f"{namespace}shipping",
                timeout=20_000)
            await page.locator("#groups tbody tr", has_text=f"{namespace}shipping").wait_for(timeout=5_000)
            assert await page.evaluate("sessionStorage.getItem('hardtech-operator-token')") == DEV_OPERATOR_TOKEN
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "monitor-dashboard.png"), full_page=True)
            row = await page.locator("#groups tbody tr", has_text=f"{namespace}shipping").inner_text()
            assert "25" in row  # the lag in messages
            await browser.close()
    finally:
        server.should_exit = True
        await serving
    assert (ARTIFACTS / "monitor-dashboard.png").stat().st_size > 10_000


async def test_dashboard_asks_for_a_token_and_rejects_a_wrong_one(monitor):
    _, client = monitor
    page = await client.get("/dashboard", headers={"Authorization": ""})
    assert page.status_code == 200 and "Operator token" in page.text
    assert (await client.get("/dashboard/data", headers={"Authorization": ""})).status_code == 401
