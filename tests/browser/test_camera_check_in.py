"""An organiser checks a participant in by pointing the device's camera at the QR code on the
participant's phone: Chromium's fake camera plays a video of that QR code (made here from the
code the registration answered), the page reads it from the video's frames and checks the
participant in. Debian's Chromium reads no QR codes itself on Linux (no BarcodeDetector
formats), so this is the vendored jsQR path, as on most desktop browsers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import segno

from tests.browser.conftest import ARGS, CHROMIUM, LOADED, NEEDS_CHROMIUM, Stack, account, check_page, sign_in
from tests.browser.test_session_journeys import organiser, party
from tests.security import bodies

pytestmark = [pytest.mark.integration, NEEDS_CHROMIUM]

WIDTH, HEIGHT = 480, 360


def qr_video(code: str, path: Path, frames: int = 10) -> Path:
    """A still video (YUV4MPEG2, grey) of the QR code of ``code``, black on white, centred."""
    matrix = segno.make_qr(code, error="m").matrix
    quiet = 4  # modules of white around the code, as a reader expects
    scale = (HEIGHT - 40) // (len(matrix) + 2 * quiet)
    side = scale * (len(matrix) + 2 * quiet)
    left, top = (WIDTH - side) // 2, (HEIGHT - side) // 2
    luma = bytearray([235]) * (WIDTH * HEIGHT)
    for row, modules in enumerate(matrix):
        for column, dark in enumerate(modules):
            if dark:
                for y in range(top + (row + quiet) * scale, top + (row + quiet + 1) * scale):
                    start = y * WIDTH + left + (column + quiet) * scale
                    luma[start:start + scale] = bytes([16]) * scale
    chroma = bytes([128]) * (WIDTH // 2 * HEIGHT // 2 * 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + bytes(luma) + chroma)
    return path


async def test_an_organiser_checks_a_participant_in_with_the_camera(stack: Stack, tmp_path: Path):
    from playwright.async_api import async_playwright

    host = await organiser(stack, "zh-CN")
    guest = await account(stack, party("investor", "天府创投", "Tianfu Ventures", "zh-CN", "CN-SC.CD"))
    async with httpx.AsyncClient(base_url=stack.sessions, timeout=LOADED) as api:
        created = await api.post("/sessions", json=bodies.session(), headers=host.headers)
        assert created.status_code == 201, created.text
        session_id = created.json()["id"]
        registered = await api.post(f"/sessions/{session_id}/registrations", json={"role": "attendee"},
                                    headers=guest.headers)
        assert registered.status_code == 201, registered.text
    code = registered.json()["check_in_code"]
    video = qr_video(code, tmp_path / "qr.y4m")

    camera = [*ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={video}"]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=camera)
        try:
            context = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
            context.set_default_timeout(LOADED * 1000)
            await context.grant_permissions(["camera"], origin=stack.web)
            desk = await context.new_page()
            await sign_in(desk, stack, host)
            await desk.goto(f"{stack.web}/organise/{session_id}")
            await desk.get_by_role("button", name="用摄像头扫码").click()
            await desk.wait_for_url(lambda url: "checked=" in url)
            assert await desk.get_by_role("status").last.inner_text() == "天府创投 · 对接部 已签到。"
            await check_page(desk, "zh-CN")
        finally:
            await browser.close()
    async with httpx.AsyncClient(base_url=stack.sessions, timeout=LOADED) as api:
        mine = await api.get(f"/sessions/{session_id}/registrations/me", headers=guest.headers)
    assert mine.json()["status"] == "checked_in"
