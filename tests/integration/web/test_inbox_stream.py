"""The web app's relay of the notification service's live stream: the unread count first, and a
refused stream (switched off in the preferences) ends the relay instead of breaking it."""

from __future__ import annotations

import httpx
import pytest

from services.notification.app import create_app as create_notification
from services.notification.settings import Settings as NotificationSettings
from services.web.app import create_app as create_web
from services.web.settings import Settings as WebSettings
from shared.auth import issue_token
from shared.party_types import PartyType
from tests.browser.conftest import serving
from tests.support import free_port
from tests.support import running

pytestmark = pytest.mark.integration


async def test_a_refused_stream_ends_the_relay_after_the_count(make_settings, registry_topics):
    notification = make_settings(NotificationSettings)
    token, _ = issue_token(notification, "p_stream_off", PartyType.ENTERPRISE)
    port = free_port()
    async with serving(create_notification(notification), port) as url:
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as api:
            answer = await api.put("/me/preferences", json={"channels": {"stream": False}})
            assert answer.status_code == 200, answer.text
        web = create_web(make_settings(WebSettings, notification_url=url))
        async with running(web, cookies={"hardtech_session": token}) as browser:
            relayed = await browser.get("/inbox/stream")
    assert relayed.status_code == 200
    assert relayed.text.replace("\r\n", "\n").strip() == "event: unread\ndata: 0\nretry: 60000"
