"""Benchmark of the notification service's fan-out on the real broker and store.

Match events (each to two parties) go through the service's consumer to the inbox, signed
webhooks and e-mail; in the same run:
  * capacity: a burst of events, inbox only: how many inbox notifications/s the consumer writes
    while it has a backlog, the most it can sustain;
  * sustained: events published at a steady rate for a while, every channel on: inbox
    notifications/s, webhooks/s and e-mails/s, p50/p99 from the event to its inbox entry, to the
    webhook's receipt and to the e-mail's receipt, and whether the service held the rate (every
    notification stored, p99 event -> inbox within 2 s).

A burst is published by a process of its own (the service's event loop and CPU time are the
consumer's alone); each run reports the process's CPU time per notification (in a burst the
consumer's; in sustained runs it includes publishing and both receivers).

The benchmark counts nothing in the store while it measures (a scan would compete with the
service): an inbox entry is timed when the service's ``Store.write_entries`` returns, i.e. once
it is stored, and every inbox is checked by ``_id`` reads of its head after the run. Webhooks go
to a real HTTP receiver that verifies each Standard Webhooks signature and answers after 10 ms,
e-mail to a real SMTP receiver (aiosmtpd, as the development sink ``hardtech.devsink``); both run
in a thread of their own, beside the service's event loop.

    .venv/bin/python -m bench.notification_fanout [--quick] [--burst 3000] [--capacity-only] [--warm] [--inbox-rates 50]
        [--rates 200,500] [--label NAME] [--out FILE] [--beside FILE]

To compare with other code (e.g. main): run it from a worktree of that code with ``--label`` and
``--out FILE``, then here with ``--beside FILE``: the section shows both, this code first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from datetime import UTC, datetime
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.common import free_port, percentile, write_section
from services.notification.app import create_app
from services.notification.domain.notices import Channel, notification_id
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

TREE = Path(__file__).resolve().parent.parent  # the code the burst's publisher runs
RECEIVER_DELAY = 0.010
recorded_warm: set[str] = set()  # recipients of warm-up entries stored
PAIRS = 250  # events cycle through this many (offer owner, need owner) pairs: 500 recipients
HOLD_P99_SECONDS = 2.0  # a rate is held when p99 event -> inbox stays within this (the SSE goal)
DRAIN_TIMEOUT = 180.0


class Receivers:
    """The webhook receiver (HTTP) and the mail receiver (SMTP), in a thread with its own loop."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.webhooks: dict[str, float] = {}  # "event id|recipient" -> first receipt
        self.emails: dict[str, float] = {}  # Message-ID -> first receipt
        self.bad_signatures = 0
        self.http_port = free_port()
        self.smtp_port = free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._smtp: Controller | None = None

    async def hook(self, request: Request) -> Response:
        name = request.path_params["name"]
        body = await request.body()
        try:
            payload = Webhook(self.secrets[name]).verify(body, dict(request.headers))
        except Exception:
            self.bad_signatures += 1
            return Response(status_code=400)
        self.webhooks.setdefault(f"{payload['data']['details']['match_id']}|{name}", time.time())
        await asyncio.sleep(RECEIVER_DELAY)
        return Response(status_code=204)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's hook name
        for line in envelope.content.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                self.emails.setdefault(line.split(b":", 1)[1].strip().decode(), time.time())
                break
        return "250 Message accepted for delivery"

    def start(self) -> None:
        app = Starlette(routes=[Route("/hooks/{name}", self.hook, methods=["POST"])])
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.http_port, log_config=None,
                                                     access_log=False))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        self._smtp = Controller(self, hostname="127.0.0.1", port=self.smtp_port)
        self._smtp.start()
        while not self._server.started:
            time.sleep(0.02)

    def stop(self) -> None:
        if self._smtp is not None:
            self._smtp.stop()
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join()

    def clear(self) -> None:
        self.webhooks.clear()
        self.emails.clear()


def _match(n: int, pair: str | None = None, token: str | None = None) -> Any:
    def side(item: str, owner: str, party: PartyType) -> MatchSide:
        return MatchSide(item_id=item, owner_id=owner, party_type=party, title=LocalizedText(zh="芯片", en="Chip"))

    pair = pair or str(n % PAIRS)
    data = MatchData(match_id=f"m_{n}", kind=Kind.TECHNOLOGY, offer=side(f"l_{n}", f"o_{pair}", PartyType.UNIVERSITY),
                     need=side(f"d_{n}", f"n_{pair}", PartyType.ENTERPRISE), score=0.8, features=[],
                     explanation=Explanation(zh=["领域一致"], en=["Same field"]))
    return new_event("match.created.v1", data, source="/bench", subject=f"m_{n}",
                     event_id=f"{token}-{n}" if token else None)


@dataclass
class Run:
    name: str
    rate: float | None  # notifications/s offered per channel (None: a burst)
    expected: int  # notifications per channel
    inbox: dict[str, float] = field(default_factory=dict)  # "match id|recipient" -> stored at
    webhooks: dict[str, float] = field(default_factory=dict)
    emails: dict[str, float] = field(default_factory=dict)
    sent_at: dict[str, float] = field(default_factory=dict)  # match id -> event time
    published_seconds: float = 0.0
    cpu_seconds: float | None = None  # this process's CPU time, from the burst's publishing to its last entry
    stored: int = 0  # the heads' count after the run (read by _id)
    channels: bool = False

    def latencies(self, received: dict[str, float]) -> list[float]:
        return [(at - self.sent_at[key.split("|")[0]]) * 1000 for key, at in received.items()]

    def rate_of(self, received: dict[str, float]) -> float:
        """Per second, from the first event to the last arrival."""
        if not received:
            return 0.0
        return len(received) / (max(received.values()) - min(self.sent_at.values()))

    def held(self) -> bool:
        lat = self.latencies(self.inbox)
        return (self.stored == self.expected and len(self.inbox) == self.expected
                and percentile(lat, 99) <= HOLD_P99_SECONDS * 1000)


def _record_inbox(store: Store, received: dict[str, float], match_of: dict[str, str]) -> None:
    """Time every inbox entry when the service's write of it returns (it is stored then)."""
    write = store.write_entries

    async def timed(entries: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
        result = await write(entries, *args, **kwargs)
        now = time.time()
        for entry in entries:
            if entry["event_id"] in match_of:
                received.setdefault(f"{match_of[entry['event_id']]}|{entry['recipient']}", now)
            else:  # the warm-up
                received.setdefault("warm-up", now)
                recorded_warm.add(entry["recipient"])
        return result

    store.write_entries = timed  # type: ignore[method-assign]


class BurstPublisher:
    """A burst is published by a process of its own (``--publish-burst``), started before the
    service's warm-up: the service's event loop and CPU time are then the consumer's alone, as in
    a deployment, where the service does not publish its own input (published from the service's
    loop, the burst took that loop for its first seconds and made the consumer's first fetches small)."""

    def __init__(self, topic: str, events: int, token: str):
        self._args = ("--publish-burst", topic, str(events), token)
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.notification_fanout", *self._args, cwd=TREE,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert self._process.stdout is not None
        if (await self._process.stdout.readline()).strip() != b"ready":
            raise RuntimeError("the burst's publisher did not start")

    async def publish(self, run: Run) -> None:
        """Publish the burst now; each event's time is when its publisher stamped it."""
        process = self._process
        assert process is not None and process.stdin is not None and process.stdout is not None
        started = time.time()
        process.stdin.write(b"go\n")
        await process.stdin.drain()
        run.sent_at.update(json.loads(await process.stdout.readline()))
        run.published_seconds = time.time() - started
        await process.wait()


async def _publish_burst_child(topic: str, events: int, token: str) -> None:
    """The burst's publisher (``--publish-burst``): ready once connected, then on ``go`` publishes
    every event at once and prints each match's event time (JSON)."""
    producer = Producer(Settings(), client_id="bench-burst")
    batch = [_match(n, token=token) for n in range(events)]
    await producer.reachable(10.0)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    batch = [e.model_copy(update={"time": datetime.now(UTC)}) for e in batch]
    await asyncio.gather(*(producer.send_event(topic, e, key=e.subject) for e in batch))
    print(json.dumps({e.data.match_id: e.time.timestamp() for e in batch}), flush=True)
    await producer.stop()


async def _publish(producer: Producer, topic: str, events: list[Any], rate: float, run: Run) -> None:
    """``rate`` notifications/s (two per event) in ticks of 50 ms."""
    started = time.time()
    per_second = rate / 2
    sent = 0
    pending: list[asyncio.Task[None]] = []
    while sent < len(events):
        due = min(len(events), int((time.time() - started) * per_second) + 1)
        for event in events[sent:due]:
            fresh = event.model_copy(update={"time": datetime.now(UTC)})
            run.sent_at[fresh.data.match_id] = fresh.time.timestamp()
            pending.append(asyncio.create_task(producer.send_event(topic, fresh, key=fresh.subject)))
        sent = due
        await asyncio.sleep(0.05)
    await asyncio.gather(*pending)
    run.published_seconds = time.time() - started


async def _wait_for(what: dict[str, float], expected: int, deadline: float) -> None:
    while len(what) < expected and time.time() < deadline:
        await asyncio.sleep(0.1)


async def run_once(name: str, events: int, *, rate: float | None, channels: bool, receivers: Receivers,
                   warm: bool = False) -> Run:
    prefix = f"bench{uuid.uuid4().hex[:8]}-"
    settings = Settings(topic_prefix=prefix, database=f"{prefix}notification", allow_private_webhooks=True,
                        delivery_poll_seconds=0.2,
                        smtp_host="127.0.0.1" if channels else None, smtp_port=receivers.smtp_port)
    await ensure_topics(settings, topics.ALL)
    mongo = make_client(settings.mongodb_uri)
    store = Store(mongo[settings.database], KeyedLocks())
    recipients = [f"{side}_{pair}" for pair in range(PAIRS) for side in ("o", "n")]
    if channels:
        for recipient in recipients:
            secret = receivers.secrets.setdefault(recipient, new_webhook_secret())
            preferences = Preferences.model_validate({"channels": {
                "webhook": {"enabled": True, "url": f"http://127.0.0.1:{receivers.http_port}/hooks/{recipient}"},
                "email": {"enabled": True, "address": f"{recipient}@bench.example"}}})
            await store.save_preferences(recipient, preferences, new_secret=secret, now=datetime.now(UTC))
    receivers.clear()
    run = Run(name, rate, 2 * events, webhooks=receivers.webhooks, channels=channels)
    token = uuid.uuid4().hex[:8]
    batch = [_match(n, token=token) for n in range(events)]
    match_of = {e.id: e.data.match_id for e in batch}
    app = create_app(settings)
    producer = Producer(settings, client_id="bench")
    burst = None
    if rate is None:
        burst = BurstPublisher(topics.MATCHES.full_name(prefix), events, token)
        await burst.start()
    async with app.router.lifespan_context(app):
        _record_inbox(app.state.store, run.inbox, match_of)
        # one event first, to the warm-up pair: the consumer has joined its group when it is stored
        warm_up = _match(-1, pair="warm")
        await producer.send_event(topics.MATCHES.full_name(prefix), warm_up, key=warm_up.subject)
        await _wait_for(run.inbox, 1, time.time() + 120)
        del run.inbox["warm-up"]
        if warm:  # a match to every pair first: the service has met every recipient before the burst
            recorded_warm.clear()
            seen = [_match(-2 - pair, pair=str(pair)) for pair in range(PAIRS)]
            await asyncio.gather(*(producer.send_event(topics.MATCHES.full_name(prefix), e, key=e.subject)
                                   for e in seen))
            deadline = time.time() + DRAIN_TIMEOUT
            while len(recorded_warm) < 2 * PAIRS and time.time() < deadline:
                await asyncio.sleep(0.1)
            run.inbox.pop("warm-up", None)
        cpu = time.process_time()
        if burst is not None:
            await burst.publish(run)
        else:
            await _publish(producer, topics.MATCHES.full_name(prefix), batch, rate, run)
        deadline = time.time() + DRAIN_TIMEOUT
        await _wait_for(run.inbox, run.expected, deadline)
        run.cpu_seconds = time.process_time() - cpu
        if channels:
            await _wait_for(receivers.webhooks, run.expected, deadline)
            await _wait_for(receivers.emails, run.expected, deadline)
    run.webhooks = dict(receivers.webhooks)
    # e-mails arrive under their Message-ID, <notification id@hardtech-express>
    run.emails = _emails_by_event(receivers.emails, batch)
    heads = await asyncio.gather(*(store.inbox_head(r) for r in recipients))
    run.stored = sum(h.count for h in heads) - (2 * PAIRS if warm else 0)
    await producer.stop()
    await mongo.drop_database(settings.database)
    await mongo.close()
    return run


def _emails_by_event(emails: dict[str, float], batch: list[Any]) -> dict[str, float]:
    ids = {}
    for event in batch:
        for recipient in (event.data.offer.owner_id, event.data.need.owner_id):
            ids[f"<{notification_id(event.id, recipient, Channel.EMAIL)}@hardtech-express>"] = \
                f"{event.data.match_id}|{recipient}"
    return {ids[m]: at for m, at in emails.items() if m in ids}


def _ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q):.0f}" if values else "—"


def _table(runs: list[Run]) -> str:
    lines = ["| run | offered notif./s | inbox notif./s | p50 → inbox ms | p99 → inbox ms | webhooks/s | "
             "p50 → webhook ms | p99 → webhook ms | e-mails/s | p50 → e-mail ms | p99 → e-mail ms | CPU µs / notif. | held |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for run in runs:
        inbox = run.latencies(run.inbox)
        cells = [run.name, "burst" if run.rate is None else f"{run.rate:.0f}", f"{run.rate_of(run.inbox):.0f}",
                 _ms(inbox, 50), _ms(inbox, 99)]
        for received in (run.webhooks, run.emails):
            if run.channels:
                latencies = run.latencies(received)
                cells += [f"{run.rate_of(received):.0f}", _ms(latencies, 50), _ms(latencies, 99)]
            else:
                cells += ["—", "—", "—"]
        cells.append("—" if run.cpu_seconds is None else f"{run.cpu_seconds / run.expected * 1e6:.0f}")
        missing = [f"{what} {len(got)}/{run.expected}" for what, got, on in
                   (("inbox", run.inbox, True), ("webhooks", run.webhooks, run.channels),
                    ("e-mails", run.emails, run.channels)) if on and len(got) < run.expected]
        if run.stored != run.expected:
            missing.append(f"stored {run.stored}/{run.expected}")
        verdict = "—" if run.rate is None else ("yes" if run.held() else "no")
        cells.append(verdict + (f" ({', '.join(missing)})" if missing else ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


async def main(quick: bool, rates: list[float] | None, label: str, burst: int | None,
               inbox_rates: list[float], capacity_only: bool = False, warm: bool = False) -> str:
    burst = burst or (500 if quick else 3000)
    seconds = 8 if quick else 20
    receivers = Receivers()
    receivers.start()
    try:
        runs = [await run_once("capacity: burst, inbox only" + (", recipients met before" if warm else ""), burst,
                               rate=None, channels=False, receivers=receivers, warm=warm)]
        capacity = runs[0].rate_of(runs[0].inbox)
        print(f"capacity {capacity:.0f} inbox notifications/s", flush=True)
        steady = [(rate, False) for rate in inbox_rates] + [
            (rate, True) for rate in rates or [round(capacity * share / 10) * 10 for share in (0.5, 0.8)]]
        if capacity_only:
            steady = []
        for rate, channels in steady:
            events = max(10, int(rate / 2 * seconds))
            runs.append(await run_once(f"sustained {seconds} s, {'every channel' if channels else 'inbox only'}",
                                       events, rate=max(rate, 1.0), channels=channels, receivers=receivers))
            print(_table(runs[-1:]), flush=True)
    finally:
        receivers.stop()
    table = _table(runs)
    print(table)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    body = (
        f"{label}: {'quick' if quick else 'full'} run, load average {load} (1/5/15 min) at the end. Match events "
        f"(`match.created.v1`), each to two parties of {2 * PAIRS}, go through the service's consumer on the real "
        "Kafka broker and FerretDB. Capacity: a burst of "
        f"{burst} events, inbox only, rate from the first event to the last entry stored (after one event "
        "first, stored before the burst: the consumer has joined its group). Sustained: events published "
        f"at the offered rate for {seconds} s with every channel on unless the run says inbox only (inbox, webhooks to a real HTTP receiver that "
        f"verifies each Standard Webhooks signature and answers after {RECEIVER_DELAY * 1000:.0f} ms, e-mail to a "
        f"real SMTP receiver); the rate is held when every notification is stored and p99 event → inbox is within "
        f"{HOLD_P99_SECONDS:.0f} s. Bad signatures seen: {receivers.bad_signatures}.\n\n"
        "An inbox entry is timed when the service's write of it returns (stored), from the event's CloudEvents "
        "`time`; nothing is counted in the store while measuring; after each run every inbox head is read by "
        "`_id` and its count checked.\n\n"
        f"{table}\n\n"
        "Command: `.venv/bin/python -m bench.notification_fanout " + " ".join(sys.argv[1:]) + "`")
    return body

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller burst and shorter steady runs")
    parser.add_argument("--rates", help="offered notifications/s of the sustained runs (default: 50%% and 80%% "
                                        "of the measured capacity)")
    parser.add_argument("--burst", type=int, help="events of the capacity run (default 3000, quick 500)")
    parser.add_argument("--inbox-rates", default="", help="offered notifications/s of sustained runs with the "
                                                          "inbox only (default none)")
    parser.add_argument("--capacity-only", action="store_true", help="the burst alone, no sustained runs")
    parser.add_argument("--warm", action="store_true", help="before the burst, one match to every pair: the "
                                                            "service has met every recipient (its steady state)")
    parser.add_argument("--label", default="This code", help="what the figures are of, in the section")
    parser.add_argument("--out", help="write the section's body here instead of bench/results/notification.md")
    parser.add_argument("--publish-burst", nargs=3, metavar=("TOPIC", "EVENTS", "TOKEN"), help=argparse.SUPPRESS)
    parser.add_argument("--beside", help="a body written with --out by a run on other code, shown after this one's")
    args = parser.parse_args()
    if args.publish_burst:  # the burst's publisher, a process of its own (BurstPublisher)
        topic, count, token = args.publish_burst
        asyncio.run(_publish_burst_child(topic, int(count), token))
        sys.exit(0)
    section = asyncio.run(main(args.quick, [float(r) for r in args.rates.split(",")] if args.rates else None,
                               args.label, args.burst, [float(r) for r in args.inbox_rates.split(",") if r],
                               args.capacity_only, args.warm))
    if args.beside:  # the same benchmark run on other code just before (e.g. main, from a worktree of it)
        section += "\n\n" + Path(args.beside).read_text().strip()
    if args.out:
        Path(args.out).write_text(section + "\n")
        print(f"wrote {args.out}")
    else:
        print(f"wrote {write_section('notification', 'Notification fan-out', section)}")
