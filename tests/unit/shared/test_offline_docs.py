"""Every service's /docs (Swagger UI) and /redoc load only from the service itself: no CDN."""

from __future__ import annotations

import re

import httpx

from shared.api.app import create_service_app
from shared.settings import ServiceSettings


async def test_swagger_ui_and_redoc_are_served_from_packaged_assets():
    app = create_service_app(ServiceSettings(), title="t", description="d", routers=[])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
        for page in ("/docs", "/redoc"):
            html = (await client.get(page)).text
            sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(r"url: *'([^']+)'", html)
            assert sources and all(s.startswith("/") for s in sources), (page, sources)
            for source in sources:
                answer = await client.get(source)
                assert answer.status_code == 200, source
        bundle = await client.get("/static-offline-docs/swagger-ui-bundle.js")
        assert len(bundle.content) > 500_000  # the real Swagger UI, not a stub
