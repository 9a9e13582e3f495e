"""A local mail and webhook sink for the development stack (like MailHog): an SMTP server that
keeps what the notification service sends, and an HTTP endpoint that takes signed webhook
deliveries (signatures themselves are verified in the notification tests). ``hardtech up`` runs
it so the demo can show every channel delivering for real.

Run as ``python -m hardtech.devsink``; ``GET /counts`` on its HTTP port says what arrived."""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from fastapi import FastAPI, Request, Response

from hardtech.paths import RUN

SMTP_PORT = int(os.environ.get("HARDTECH_SINK_SMTP_PORT", "1025"))
HTTP_PORT = int(os.environ.get("HARDTECH_SINK_HTTP_PORT", "8025"))
MAILBOX = RUN / "mail"
counts: Counter[str] = Counter()


class MailHandler:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's hook name
        MAILBOX.mkdir(parents=True, exist_ok=True)
        counts["email"] += 1
        (MAILBOX / f"{counts['email']:06d}.eml").write_bytes(envelope.content)
        return "250 Message accepted for delivery"


app = FastAPI(title="hardtech dev sink")


@app.post("/webhooks/{participant_id}")
async def webhook(participant_id: str, request: Request) -> Response:
    body = await request.body()
    if not request.headers.get("webhook-signature", "").startswith("v1,"):
        counts["webhook_unsigned"] += 1
        return Response(status_code=400)
    json.loads(body)  # a malformed body fails loudly here, as it would at a real receiver
    counts["webhook"] += 1
    return Response(status_code=204)


@app.get("/counts")
async def read_counts() -> dict[str, int]:
    return {k: v for k, v in counts.items() if v}


async def main() -> None:
    smtp = Controller(MailHandler(), hostname="127.0.0.1", port=SMTP_PORT)
    smtp.start()
    try:
        await uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=HTTP_PORT, log_level="warning")).serve()
    finally:
        smtp.stop()


if __name__ == "__main__":
    asyncio.run(main())
