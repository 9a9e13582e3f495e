"""Benchmark of the notification service's fan-out on the real broker and store.

Publishes a burst of match events (each to two parties) and measures, in the same run:
  * inbox only:                        notifications/s into the inbox, p50/p99 event -> inbox entry
  * inbox + webhooks, 1 at a time:     the same plus webhooks/s and p99 event -> webhook received
  * inbox + webhooks, concurrent (32): the service's default delivery concurrency
The webhook receiver is a real HTTP server in this process that verifies every signature and
answers after 10 ms, like a nearby receiver would.

    .venv/bin/python -m bench.notification_fanout [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import uvicorn
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.common import free_port, write_section
from services.notification.app import create_app
from services.notification.domain.preferences import Preferences, new_webhook_secret
from services.notification.settings import Settings
from services.notification.storage import Store
from shared import topics
from shared.events import new_event
from shared.events.common import LocalizedText
from shared.events.matching import Explanation, MatchData, MatchSide
from shared.kafka import Producer, ensure_topics
from shared.locks import KeyedLocks
from shared.mongo import make_client
from shared.party_types import Kind, PartyType

RECEIVER_DELAY = 0.010


class Receiver:
    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.received: dict[str, float] = {}  # webhook id -> time received
        self.by_event: dict[str, float] = {}  # "event id|recipient" -> time received
        self.bad_signatures = 0

    async def hook(self, request: Request) -> Response:
        name = request.path_params["name"]
        body = await request.body()
        try:
            payload = Webhook(self.secrets[name]).verify(body, dict(request.headers))
        except Exception:
            self.bad_signatures += 1
            return Response(status_code=400)
        now = time.time()
        self.received.setdefault(request.headers["webhook-id"], now)
        self.by_event.setdefault(f"{payload['data']['details']['match_id']}|{name}", now)
        await asyncio.sleep(RECEIVER_DELAY)
        return Response(status_code=204)


def _match(n: int):
    def side(item: str, owner: str, party: PartyType) -> MatchSide:
        return MatchSide(item_id=item, owner_id=owner, party_type=party, title=LocalizedText(zh="芯片", en="Chip"))

    data = MatchData(match_id=f"m_{n}", kind=Kind.TECHNOLOGY, offer=side(f"l_{n}", f"o_{n}", PartyType.UNIVERSITY),
                     need=side(f"d_{n}", f"n_{n}", PartyType.ENTERPRISE), score=0.8, features=[],
                     explanation=Explanation(zh=["领域一致"], en=["Same field"]))
    return new_event("match.created.v1", data, source="/bench", subject=f"m_{n}")


@dataclass
class Run:
    name: str
    notifications: int
    inbox_seconds: float
    inbox_latencies: list[float]
    webhooks: int = 0
    webhook_seconds: float = 0.0
    webhook_latencies: list[float] | None = None


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _serve(app, port: int) -> tuple[uvicorn.Server, asyncio.Task]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    return server, task


async def run_once(name: str, events: int, *, webhooks: bool, concurrency: int, receiver: Receiver,
                   receiver_url: str) -> Run:
    prefix = f"bench{uuid.uuid4().hex[:8]}-"
    settings = Settings(topic_prefix=prefix, database=f"{prefix}notification", allow_private_webhooks=True,
                        delivery_concurrency=concurrency, delivery_poll_seconds=0.2)
    await ensure_topics(settings, topics.ALL)
    mongo = make_client(settings.mongodb_uri)
    store = Store(mongo[settings.database], KeyedLocks())
    recipients = [r for n in range(events) for r in (f"o_{n}", f"n_{n}")]
    if webhooks:
        for recipient in recipients:
            url = f"{receiver_url}/hooks/{recipient}"
            secret = receiver.secrets.setdefault(recipient, new_webhook_secret())
            preferences = Preferences.model_validate({"channels": {"webhook": {"enabled": True, "url": url}}})
            await store.save_preferences(recipient, preferences, new_secret=secret, now=datetime.now(UTC))
    receiver.received.clear()
    receiver.by_event.clear()
    app = create_app(settings)
    producer = Producer(settings, client_id="bench")
    matches = topics.MATCHES.full_name(prefix)
    sent_at: dict[str, float] = {}
    async with app.router.lifespan_context(app):
        batch = [_match(n) for n in range(events)]
        started = time.time()
        await asyncio.gather(*(producer.send_event(matches, e, key=e.subject) for e in batch))
        for event in batch:
            sent_at[event.data.match_id] = event.time.timestamp()
        expected = 2 * events
        while sum(h.get("count", 0) for h in await store.inbox_heads.find({}, {"count": 1}).to_list()) < expected:
            await asyncio.sleep(0.25)
        inbox_done = time.time()
        entries = [e for head in await store.inbox_heads.find({}, {"seq": 1}).to_list()
                   for e in await store.slots(head["_id"], range(1, head["seq"] + 1))]
        inbox_latencies = [e["created_at"].timestamp() - sent_at[e["data"]["match_id"]] for e in entries]
        run = Run(name, expected, inbox_done - started, inbox_latencies)
        if webhooks:
            while len(receiver.received) < expected:
                await asyncio.sleep(0.25)
            run.webhooks = expected
            run.webhook_seconds = max(receiver.received.values()) - started
            run.webhook_latencies = [at - sent_at[key.split("|")[0]] for key, at in receiver.by_event.items()]
    await producer.stop()
    await mongo.drop_database(settings.database)
    await mongo.close()
    return run


def _table(runs: list[Run]) -> str:
    base = runs[0].notifications / runs[0].inbox_seconds
    lines = ["| run | inbox notif./s | vs inbox only | p50 → inbox ms | p99 → inbox ms | webhooks/s | "
             "p50 → webhook ms | p99 → webhook ms |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for run in runs:
        rate = run.notifications / run.inbox_seconds
        hooks = ("—", "—", "—") if not run.webhooks else (
            f"{run.webhooks / run.webhook_seconds:.0f}", f"{_p(run.webhook_latencies, 0.5):.0f}",
            f"{_p(run.webhook_latencies, 0.99):.0f}")
        lines.append(f"| {run.name} | {rate:.0f} | {rate / base:.2f}× | {_p(run.inbox_latencies, 0.5):.0f} | "
                     f"{_p(run.inbox_latencies, 0.99):.0f} | {hooks[0]} | {hooks[1]} | {hooks[2]} |")
    return "\n".join(lines)


async def main(quick: bool) -> None:
    events = 50 if quick else 300
    receiver = Receiver()
    receiver_port = free_port()
    server, task = await _serve(Starlette(routes=[Route("/hooks/{name}", receiver.hook, methods=["POST"])]),
                                receiver_port)
    url = f"http://127.0.0.1:{receiver_port}"
    try:
        runs = [
            await run_once("inbox only", events, webhooks=False, concurrency=32, receiver=receiver, receiver_url=url),
            await run_once("inbox + webhooks, 1 at a time", events, webhooks=True, concurrency=1,
                           receiver=receiver, receiver_url=url),
            await run_once("inbox + webhooks, 32 concurrent", events, webhooks=True, concurrency=32,
                           receiver=receiver, receiver_url=url),
        ]
    finally:
        server.should_exit = True
        await task
    table = _table(runs)
    print(table)
    speedup = (runs[2].webhooks / runs[2].webhook_seconds) / (runs[1].webhooks / runs[1].webhook_seconds)
    body = (
        f"{'Quick' if quick else 'Full'} run: a burst of {events} `match.created.v1` events, each to two parties "
        f"({2 * events} notifications per channel), on the real Kafka broker and FerretDB; webhooks go to a real "
        f"HTTP receiver in the same process that verifies each Standard Webhooks signature and answers after "
        f"{RECEIVER_DELAY * 1000:.0f} ms (bad signatures seen: {receiver.bad_signatures}).\n\n"
        "Latency runs from the event's creation (its CloudEvents `time`, just before the burst is published) to "
        "the inbox entry's `created_at` and to the receiver's first receipt; it includes the queueing of the "
        "burst, so it is the latency under load, not of one event alone.\n\n"
        f"{table}\n\n"
        f"Concurrent delivery delivers webhooks {speedup:.1f}× as fast as one-at-a-time delivery to the same "
        "receiver. The inbox column compares the consumer's throughput with and without webhooks queued.\n\n"
        "Command: `.venv/bin/python -m bench.notification_fanout" + (" --quick`" if quick else "`"))
    written = write_section("notification", "Notification fan-out", body)
    print(f"webhooks: concurrent / one at a time = {speedup:.1f}x; wrote {written}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller burst, under two minutes")
    asyncio.run(main(parser.parse_args().quick))
