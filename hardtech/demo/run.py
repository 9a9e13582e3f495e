"""`hardtech demo`: load the demo data set through the services' APIs, close registration, wait
for matches, consortia and agendas, take a few pairs of each session to contracts, and print what
the participants, organisers and operators see."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hardtech import devsink
from hardtech.demo.client import Api, ApiError
from hardtech.demo.dataset import load
from hardtech.demo.deals import DealRunner, Outcome
from hardtech.demo.model import Dataset
from hardtech.demo.signins import KEYS, kept_keys, save_keys
from hardtech.stack import SERVICES, operator_token
from shared import topics
from shared.party_types import Side
from shared.settings import CommonSettings

T = TypeVar("T")
RESULT_GROUPS = ("matching", "deals")  # the consumer groups the deals step needs at lag 0, in pipeline order
PROBE_GROUPS = ("matching", "matching-projection")  # through which a withdrawal reaches the matches read model
URLS = {s.name: s.url for s in SERVICES}
WEBHOOK_PARTICIPANTS = 12  # how many participants the demo points at the dev sink's webhook receiver


@dataclass
class Timings:
    """What the demo measured, for its report."""

    lag_zero_seconds: float | None = None  # from the last input posted to every group at lag 0
    groups: int = 0
    notice_after_event: float | None = None  # match event appended → its notice on the SSE stream
    notice_after_post: float | None = None  # need posted → that notice


@dataclass
class Loaded:
    """Keys of the data set mapped to what the services assigned."""

    ids: dict[str, str] = field(default_factory=dict)  # participant, item and session keys → ids
    tokens: dict[str, str] = field(default_factory=dict)  # participant key → token
    api_keys: dict[str, str] = field(default_factory=dict)  # participant key → API key (for the web app)
    # When the data set's first item was posted: the demo's clock, so that a re-run (whose posts
    # replay the stored answers, see ``run_key``) sends the same session times and is replayed too.
    first_posted: datetime | None = None
    last_input: float | None = None  # time.monotonic() when the last input was posted


class Demo:
    def __init__(self, dataset: Dataset, console: Console):
        self.data = dataset
        self.console = console
        self.api = {name: Api(url) for name, url in URLS.items()}
        self.operator = operator_token()
        self.kept = kept_keys()  # from an earlier run on this stack: its sign-ups replay without keys
        self.loaded = Loaded()
        self.run_key = f"demo-{dataset.seed}"
        self.timings = Timings()
        self.settings = CommonSettings()
        self.deals: list[Outcome] = []  # the pairs taken on from their match, for the report

    async def close(self) -> None:
        await asyncio.gather(*(api.close() for api in self.api.values()))

    async def _each(self, progress: Progress, label: str, things: Iterable[T],
                    action: Callable[[T], Awaitable[None]]) -> None:
        """Run ``action`` for every thing concurrently, with a progress bar."""
        todo = list(things)
        task = progress.add_task(label, total=len(todo))

        async def one(thing: T) -> None:
            await action(thing)
            progress.advance(task)

        await asyncio.gather(*(one(t) for t in todo))

    # -- loading ---------------------------------------------------------------------------------

    async def register_participant(self, participant: Any) -> None:
        """Sign up (a re-run replays the sign-up, which shows no key: the key kept from the first
        run is used), then exchange the key for a token."""
        registered = await self.api["listing"].json("POST", "/participants", json=participant.as_request(),
                                                    idempotency_key=f"{self.run_key}-{participant.key}")
        self.loaded.ids[participant.key] = registered["id"]
        if registered["api_key"] is not None:
            self.loaded.api_keys[participant.key] = registered["api_key"]
        elif participant.key in self.kept:
            self.loaded.api_keys[participant.key] = self.kept[participant.key]
        else:
            raise ApiError(f"participant {participant.key} exists on this stack but its API key is not in "
                           f"{KEYS}; wipe the stack's data (`make down`, remove .local/data) to start over")

    async def grant_organiser(self, session: Any) -> None:
        """An operator verifies each session's host, as a real deployment would before it hosts."""
        await self.api["listing"].call(
            "PUT", f"/participants/{self.loaded.ids[session.organiser]}/organiser", token=self.operator,
            json={"granted": True, "reason": f"demo: hosts {session.key}"}, accept=(409,))

    async def sign_in(self, participant: Any) -> None:
        api_key = self.loaded.api_keys[participant.key]
        token = await self.api["listing"].json("POST", "/auth/token", json={"api_key": api_key})
        self.loaded.tokens[participant.key] = token["access_token"]

    async def post_item(self, item: Any) -> None:
        path = "/listings" if item.side is Side.OFFER else "/demands"
        posted = await self.api["listing"].json("POST", path, json=item.as_request(),
                                                token=self.loaded.tokens[item.owner],
                                                idempotency_key=f"{self.run_key}-{item.key}")
        self.loaded.ids[item.key] = posted["id"]
        posted_at = datetime.fromisoformat(posted["created_at"])
        if self.loaded.first_posted is None or posted_at < self.loaded.first_posted:
            self.loaded.first_posted = posted_at

    async def create_session(self, session: Any, now: datetime) -> None:
        created = await self.api["events_sessions"].json(
            "POST", "/sessions", json=session.as_request(now), token=self.loaded.tokens[session.organiser],
            idempotency_key=f"{self.run_key}-{session.key}")
        self.loaded.ids[session.key] = created["id"]

    async def register(self, registration: Any, patience: float = 600) -> None:
        """Register; a presenter's listings reach the sessions service through the listings
        topic, so an 'unknown listing' answer means: not there yet, try again shortly."""
        body = {"role": registration.role.value, "interests": registration.interests,
                "listing_ids": [self.loaded.ids[k] for k in registration.listings]}
        deadline = time.monotonic() + patience
        while True:
            response = await self.api["events_sessions"].call(
                "POST", f"/sessions/{self.loaded.ids[registration.session]}/registrations", json=body,
                token=self.loaded.tokens[registration.participant], accept=(409, 422))
            if response.status_code != 422:
                return
            if "unknown listing" not in response.text or time.monotonic() > deadline:
                raise ApiError(f"registration refused: {response.text[:300]}")
            await asyncio.sleep(1)

    async def request_meeting(self, request: Any) -> None:
        await self.api["events_sessions"].call(
            "POST", f"/sessions/{self.loaded.ids[request.session]}/meeting-requests",
            json={"target_id": self.loaded.ids[request.target], "preference": request.preference.value},
            token=self.loaded.tokens[request.requester], accept=(409,))

    async def close_registration(self, session: Any) -> None:
        await self.api["events_sessions"].call("POST", f"/sessions/{self.loaded.ids[session.key]}/close",
                                               token=self.loaded.tokens[session.organiser], accept=(409,))

    async def point_webhooks_at_sink(self, participant: Any) -> None:
        pid = self.loaded.ids[participant.key]
        prefs = {"channels": {"webhook": {"enabled": True,
                                          "url": f"http://127.0.0.1:{devsink.HTTP_PORT}/webhooks/{pid}"}}}
        await self.api["notification"].call("PUT", "/me/preferences", json=prefs,
                                            token=self.loaded.tokens[participant.key])

    async def load(self) -> None:
        columns = (TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self.console) as progress:
            await self._each(progress, "registering participants", self.data.participants,
                             self.register_participant)
            save_keys(self.data, self.loaded.ids, self.loaded.api_keys)
            await self._each(progress, "verifying session organisers", self.data.sessions, self.grant_organiser)
            await self._each(progress, "signing in", self.data.participants, self.sign_in)
            await self._each(progress, "webhook preferences", self.data.participants[:WEBHOOK_PARTICIPANTS],
                             self.point_webhooks_at_sink)
            await self._each(progress, "posting offers and needs", self.data.items, self.post_item)
            clock = self.loaded.first_posted or datetime.now(UTC)
            await self._each(progress, "creating sessions", self.data.sessions,
                             lambda s: self.create_session(s, clock))
            await self._each(progress, "registering for sessions", self.data.registrations, self.register)
            await self._each(progress, "requesting 1:1 meetings", self.data.meeting_requests, self.request_meeting)
            await self._each(progress, "closing registration", self.data.sessions, self.close_registration)
        self.loaded.last_input = time.monotonic()

    async def take_pairs_to_contracts(self) -> None:
        with self.console.status("taking a few pairs of each session to contracts (签约)"):
            taken = await DealRunner(self).run()
        self.deals = [t for t in taken if isinstance(t, Outcome)]
        for failed in (t for t in taken if isinstance(t, ApiError)):
            self.console.print(f"[yellow]warning:[/] {failed}; that pair is left out of the report")
        self.loaded.last_input = time.monotonic()

    # -- waiting ---------------------------------------------------------------------------------

    async def _agenda_ready(self, session: Any) -> bool:
        response = await self.api["events_sessions"].call(
            "GET", f"/sessions/{self.loaded.ids[session.key]}/agenda",
            token=self.loaded.tokens[session.organiser], accept=(404,))
        return response.status_code == 200

    async def _caught_up(self, group: str) -> bool:
        response = await self.api["monitor"].call("GET", f"/lag/{group}", token=self.operator, accept=(404, 503))
        return response.status_code == 200 and caught_up(response.json())

    async def wait_for_results(self, timeout: float = 600) -> None:
        """Wait for every session's agenda, and for the groups the deals step reads through: matching (every
        match made) and then deals (every match and check-in known to the deals service, whose lists the step
        polls)."""
        columns = (TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        deadline = time.monotonic() + timeout
        with Progress(*columns, console=self.console) as progress:
            agendas = progress.add_task("waiting for agendas", total=len(self.data.sessions))
            groups = progress.add_task("waiting for matching, then deals", total=len(RESULT_GROUPS))
            ready: set[str] = set()
            while True:
                for session in self.data.sessions:
                    if session.key not in ready and await self._agenda_ready(session):
                        ready.add(session.key)
                        progress.advance(agendas)
                # In order, in one pass: deals at lag 0 counts only once matching has nothing left to give it.
                done = 0
                for group in RESULT_GROUPS:
                    if not await self._caught_up(group):
                        break
                    done += 1
                progress.update(groups, completed=done)
                if len(ready) == len(self.data.sessions) and done == len(RESULT_GROUPS):
                    return
                if time.monotonic() > deadline:
                    behind = ", ".join(RESULT_GROUPS[done:])
                    raise ApiError(f"timed out after {timeout:.0f}s waiting for agendas ({len(ready)} of "
                                   f"{len(self.data.sessions)}) and for consumer groups at lag 0: {behind}")
                await asyncio.sleep(1)

    async def _groups(self) -> list[dict[str, Any]] | None:
        """Every consumer group the monitor sees (None while it has no fresh sample)."""
        groups: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            response = await self.api["monitor"].call("GET", "/lag", token=self.operator, params=params,
                                                      accept=(503,))
            if response.status_code != 200:
                return None
            body = response.json()
            groups += body["items"]
            cursor = body.get("next_cursor")
            if not cursor:
                return groups

    async def wait_for_lag_zero(self, timeout: float = 900) -> None:
        """Wait until every consumer group of the stack has consumed everything (lag 0, nothing awaiting a first
        commit) and record how long after the last input that was."""
        started = self.loaded.last_input or time.monotonic()
        deadline = time.monotonic() + timeout
        with Progress(TextColumn("{task.description:<34}"), TextColumn("{task.fields[behind]}"),
                      TimeElapsedColumn(), console=self.console) as progress:
            task = progress.add_task("waiting for every group at lag 0", behind="")
            ours = {spec.full_name(self.settings.topic_prefix)
                    for spec in (*topics.ALL, topics.MATCHING_WORK, topics.MATCHING_OWNERS)}
            while True:
                # The stack's own groups: a broker shared with a test run also holds its test groups.
                groups = [g for g in await self._groups() or [] if any(p["topic"] in ours for p in g["partitions"])]
                behind = [g for g in groups if not caught_up(g)]
                if groups and not behind:
                    self.timings.lag_zero_seconds = time.monotonic() - started
                    self.timings.groups = len(groups)
                    return
                progress.update(task, behind=", ".join(f"{g['group']} {g['total_lag']}" for g in behind[:3]))
                if time.monotonic() > deadline:
                    raise ApiError(f"timed out after {timeout:.0f}s waiting for lag 0 of: "
                                   + ", ".join(g["group"] for g in behind))
                await asyncio.sleep(1)

    async def time_a_match_notice(self, timeout: float = 60) -> None:
        """Subscribe to the live stream as one participant, post a need that matches an offer of
        someone else, and time its match notice from the match event (the record's timestamp on
        the matches topic) and from the post."""
        need = next(i for i in self.data.items if i.side is Side.NEED)
        offer = next(i for i in self.data.items if i.side is Side.OFFER and i.kind is need.kind
                     and i.owner != need.owner)
        token = self.loaded.tokens[need.owner]
        matches = topics.MATCHES.full_name(self.settings.topic_prefix)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap_servers, group_id=None,
                                    enable_auto_commit=False, **self.settings.kafka_client_options())
        await consumer.start()
        try:
            # The topic was created from the registry, with the registry's partitions.
            partitions = [TopicPartition(matches, p) for p in range(topics.MATCHES.partitions)]
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            for partition in partitions:  # fix the positions now, before the post
                await consumer.position(partition)
            async with httpx.AsyncClient(base_url=URLS["notification"], timeout=timeout) as client, \
                    client.stream("GET", "/stream", headers={"Authorization": f"Bearer {token}"}) as stream:
                if stream.status_code != 200:
                    raise ApiError(f"the live stream answered {stream.status_code}")
                posted = await self.api["listing"].json(
                    "POST", "/demands", json=offer.as_request(), token=token,
                    idempotency_key=f"{self.run_key}-probe-{time.time_ns()}")
                posted_at = time.time()
                async with asyncio.timeout(timeout):
                    match_id, arrived = await _match_notice(stream, posted["id"])
                    appended = await _appended_at(consumer, match_id)
        except TimeoutError:
            raise ApiError(f"no match notice for the posted need on the live stream within {timeout:.0f}s") from None
        finally:
            await consumer.stop()
        self.timings.notice_after_event = arrived - appended
        self.timings.notice_after_post = arrived - posted_at
        await self.withdraw_probe(posted["id"], match_id, token)

    async def withdraw_probe(self, need_id: str, match_id: str, token: str, timeout: float = 120) -> None:
        """The probe copies an offer as a need (a perfect match): withdraw it, and wait until its matches are
        retracted in the read model, so that the report shows the demo's own matches."""
        await self.api["listing"].json("POST", f"/demands/{need_id}/withdraw", token=token,
                                       idempotency_key=f"{self.run_key}-probe-withdraw-{need_id}")
        deadline = time.monotonic() + timeout

        async def retracted() -> bool:  # the timed match first, then whatever else the same batch carried
            match = await self.api["matching"].json("GET", f"/matches/{match_id}", token=token)
            return match["status"] != "active" and all([await self._caught_up(g) for g in PROBE_GROUPS])

        while not await retracted():
            if time.monotonic() > deadline:
                raise ApiError(f"the probe's matches were not retracted within {timeout:.0f}s")
            await asyncio.sleep(1)


def caught_up(group: dict[str, Any]) -> bool:
    return group["total_lag"] == 0 and group["uncommitted_partitions"] == 0


async def _match_notice(stream: httpx.Response, item_id: str) -> tuple[str, float]:
    """The id of the first match notice about ``item_id`` on an SSE stream, and when it arrived."""
    async for line in stream.aiter_lines():
        if not line.startswith("data:"):
            continue
        entry = json.loads(line[len("data:"):])
        data = entry.get("data", {})
        if entry.get("type") == "match.created" and data.get("own", {}).get("item_id") == item_id:
            return data["match_id"], time.time()
    raise ApiError("the live stream ended")


async def _appended_at(consumer: AIOKafkaConsumer, match_id: str) -> float:
    """When the broker appended the first record of this match (its timestamp, in seconds)."""
    while True:
        for records in (await consumer.getmany(timeout_ms=500)).values():
            for record in records:
                if record.key == match_id.encode():
                    return record.timestamp / 1000


async def run(console: Console) -> Demo:
    demo = Demo(load(), console)
    try:
        await demo.load()
        await demo.wait_for_results()
        await demo.take_pairs_to_contracts()
        await demo.wait_for_lag_zero()
        await demo.time_a_match_notice()
        return demo
    except ApiError:
        await demo.close()
        raise
