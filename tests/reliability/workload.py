"""A small, fully predictable workload driven through the services' public APIs, as users would,
and the checks that nothing was lost or duplicated afterwards.

One ``Round`` is: a government organiser opens a session; ``pairs`` universities each offer a
technology and ``pairs`` enterprises each need it (same sub-field, shared words, so each pair must
match); the universities register as presenters with their offer, the enterprises as attendees
asking to meet "their" university (must meet); registration closes, so an agenda must follow.
The client retries like a careful user's would: through connection errors and 5xx, with the same
Idempotency-Key, so a crash of a service never makes it give up or post twice."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from hardtech.demo.client import Api as DemoApi
from shared import taxonomy
from shared.events.matching import match_id
from tests.support import kafka_security

log = logging.getLogger(__name__)

RETRY_FOR = 150.0  # seconds a call keeps retrying through a crash and restart (matching restores slowly)
# The services' consumer groups (under the stack's namespace): what "every consumer resumed" means.
CONSUMER_GROUPS = ("matching", "matching-forward", "matching-projection", "notification", "events_sessions", "deals")
SUB_FIELDS = sorted(code for code, f in taxonomy.FIELDS.items() if f.parent)


class Api(DemoApi):
    """HTTP to one service that waits out crashes: transport errors, 5xx and 429 are retried
    (the demo's client, whose ``json`` and ``pages`` this reuses, gives up on them instead)."""

    def __init__(self, base_url: str):
        super().__init__(base_url)
        self.retried = 0

    async def call(self, method: str, path: str, *, token: str | None = None, json: Any = None,
                   params: dict[str, Any] | None = None, idempotency_key: str | None = None,
                   accept: tuple[int, ...] = (), retry_on: tuple[int, ...] = (),
                   retry_for: float = RETRY_FOR) -> httpx.Response:
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        deadline = time.monotonic() + retry_for
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                response = await self._client.request(method, path, json=json, params=params, headers=headers)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.is_success or response.status_code in accept:
                    return response
                last = f"{response.status_code} {response.text[:300]}"
                if response.status_code < 500 and response.status_code not in (429, *retry_on):
                    raise AssertionError(f"{method} {self._client.base_url}{path} answered {last}")
            self.retried += 1
            await asyncio.sleep(0.3)
        raise AssertionError(f"{method} {self._client.base_url}{path} kept failing for {retry_for:.0f}s: {last}")


@dataclass
class Apis:
    listing: Api
    events_sessions: Api
    matching: Api
    notification: Api
    monitor: Api
    deals: Api
    operator_token: str

    @classmethod
    def of(cls, urls: dict[str, str], operator_token: str) -> Apis:
        return cls(**{name: Api(url) for name, url in urls.items()}, operator_token=operator_token)

    def by_name(self) -> dict[str, Api]:
        return {"listing": self.listing, "events_sessions": self.events_sessions, "matching": self.matching,
                "notification": self.notification, "monitor": self.monitor, "deals": self.deals}

    async def close(self) -> None:
        for api in self.by_name().values():
            await api.close()


@dataclass
class Party:
    id: str
    token: str
    party_type: str


@dataclass
class Pair:
    university: Party
    enterprise: Party
    offer_id: str
    need_id: str

    @property
    def match_id(self) -> str:
        return match_id(self.offer_id, self.need_id)


def participant_body(tag: str, party_type: str, n: int) -> dict[str, Any]:
    return {"party_type": party_type, "organisation": {"zh": f"{tag}机构{party_type}{n}", "en": f"{tag} {party_type} {n}"},
            "display_name": {"zh": f"{tag}联系人{n}", "en": f"{tag} contact {n}"}, "region": "CN-SC.CD",
            "fields": ["5G"], "language": "zh-CN", "email": f"{party_type}{n}@{tag}.example.cn"}


def item_bodies(tag: str, n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """An offer and a need that belong together: the same sub-field and shared distinctive words."""
    code = SUB_FIELDS[n % len(SUB_FIELDS)]
    f = taxonomy.FIELDS[code]
    words = f"{f.en} {tag} module series {n}"
    offer = {"kind": "technology", "title": {"zh": f"{f.zh}成果{tag}{n}", "en": words}, "fields": [code],
             "keywords": [f"{tag}{n}", f.en], "trl": 6, "region": "CN-SC.CD"}
    need = {"kind": "technology", "title": {"zh": f"寻求{f.zh}{tag}{n}", "en": f"need {words}"}, "fields": [code],
            "keywords": [f"{tag}{n}", f.en], "trl": 5, "region": "CN-SC.CD"}
    return offer, need


def session_body(tag: str, pairs: int) -> dict[str, Any]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    return {"title": {"zh": f"科技成果直通车·可靠性专场{tag}", "en": f"S&T Express reliability session {tag}"},
            "fields": ["5G"], "city": "CN-SC.CD", "high_tech_zone": "CDHT", "venue": "成都高新区菁蓉汇",
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=8)).isoformat(),
            "registration_opens_at": (start - timedelta(days=10)).isoformat(),
            "registration_closes_at": (start - timedelta(days=1)).isoformat(),
            "capacity": {"presenters": pairs + 2, "attendees": pairs + 2},
            "meeting_plan": {"first_slot_at": (start + timedelta(hours=4)).isoformat(), "slot_minutes": 20,
                             "slots": 6, "tables": pairs + 2}}


@dataclass
class Round:
    """One run of the workload; ``tag`` keeps its data apart from other rounds on the same stack."""

    apis: Apis
    tag: str
    pairs: int
    organiser: Party | None = None
    session_id: str | None = None
    done: list[Pair] = field(default_factory=list)
    progress: asyncio.Event = field(default_factory=asyncio.Event)
    fault_after: int = 0  # ``progress`` is set once this many pairs are posted

    async def register(self, party_type: str, n: int, *, organiser: bool = False) -> Party:
        """Sign up (an organiser is then verified by the operator) and exchange the key for a token.
        A sign-up whose answer a crash lost is replayed without its key, which is shown once: the
        participant signs up again, under a new key, as a real client would."""
        for attempt in range(3):
            key = f"{self.tag}-{party_type}-{n}-{attempt}"
            registered = await self.apis.listing.json("POST", "/participants", idempotency_key=key, retry_on=(409,),
                                                      json=participant_body(self.tag, party_type, n))
            if registered["api_key"] is not None:
                break
        else:
            raise AssertionError(f"no sign-up of {party_type} {n} answered with its key")
        if organiser:
            await self.apis.listing.call("PUT", f"/participants/{registered['id']}/organiser", accept=(409,),
                                         token=self.apis.operator_token,
                                         json={"granted": True, "reason": "reliability workload: session host"})
        token = await self.apis.listing.json("POST", "/auth/token", json={"api_key": registered["api_key"]})
        return Party(registered["id"], token["access_token"], party_type)

    async def post(self, path: str, party: Party, body: dict[str, Any], key: str) -> str:
        """Post an offer or need; a 409 (the key's first request still in progress, or lost in a
        crash) is retried with the same key until the service answers it."""
        return (await self.apis.listing.json("POST", path, json=body, token=party.token,
                                             idempotency_key=f"{self.tag}-{key}", retry_on=(409,)))["id"]

    async def open_session(self) -> None:
        self.organiser = await self.register("government", 0, organiser=True)
        created = await self.apis.events_sessions.json("POST", "/sessions", json=session_body(self.tag, self.pairs),
                                                       token=self.organiser.token)
        self.session_id = created["id"]

    async def sessions_call(self, path: str, party: Party, body: dict[str, Any], *, retry_on: tuple[int, ...] = ()
                            ) -> None:
        """A write to events_sessions; 409 after a retry means the first attempt got through."""
        await self.apis.events_sessions.call("POST", f"/sessions/{self.session_id}{path}", json=body,
                                             token=party.token, accept=(201, 409), retry_on=retry_on)

    async def one_pair(self, n: int) -> Pair:
        university, enterprise = await self.register("university", n), await self.register("enterprise", n)
        offer, need = item_bodies(self.tag, n)
        pair = Pair(university, enterprise, await self.post("/listings", university, offer, f"offer-{n}"),
                    await self.post("/demands", enterprise, need, f"need-{n}"))
        # 422 until events_sessions has read the offer from the listings topic
        await self.sessions_call("/registrations", university,
                                 {"role": "presenter", "listing_ids": [pair.offer_id], "interests": [offer["fields"][0]]},
                                 retry_on=(422,))
        await self.sessions_call("/registrations", enterprise, {"role": "attendee"})
        await self.sessions_call("/meeting-requests", enterprise,
                                 {"target_id": university.id, "preference": "must_meet"})
        return pair

    async def run(self) -> None:
        await self.open_session()
        for n in range(self.pairs):
            self.done.append(await self.one_pair(n))
            if len(self.done) >= self.fault_after:
                self.progress.set()
        assert self.organiser is not None
        await self.apis.events_sessions.call("POST", f"/sessions/{self.session_id}/close", token=self.organiser.token,
                                             accept=(409,))

    def paired_parties(self) -> list[tuple[Pair, Party]]:
        """Both parties of every finished pair, each with its pair."""
        return [(pair, party) for pair in self.done for party in (pair.university, pair.enterprise)]

    def parties(self) -> list[Party]:
        return [party for _, party in self.paired_parties()]


async def until_progress(round_: Round, work: asyncio.Task[None]) -> None:
    """Wait until the round has posted enough to be mid-stream (or failed trying)."""
    progress = asyncio.create_task(round_.progress.wait())
    await asyncio.wait({progress, work}, timeout=180, return_when=asyncio.FIRST_COMPLETED)
    progress.cancel()
    if work.done():
        work.result()
    assert round_.progress.is_set(), f"round {round_.tag} made no progress in 180s"


class CountedTwice(AssertionError):
    """A record shown more than once: waiting never makes it right, so ``eventually`` fails at once."""


async def eventually(check: Callable[[], Awaitable[str | None]], *, timeout: float, what: str) -> None:
    """Poll ``check`` (None when satisfied, else what is missing) until it passes or time runs out."""
    deadline = time.monotonic() + timeout
    missing: str | None = "not checked"
    while time.monotonic() < deadline:
        try:
            missing = await check()
        except CountedTwice:
            raise
        except (httpx.HTTPError, AssertionError) as exc:
            missing = f"{type(exc).__name__}: {exc}"
        if missing is None:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}: {missing}")


async def topic_records(bootstrap: str, topic: str) -> list[ConsumerRecord]:
    """Every record on a topic now, from its start to its end offsets."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                auto_offset_reset="earliest", fetch_max_bytes=16 * 1024 * 1024,
                                max_partition_fetch_bytes=4 * 1024 * 1024, **kafka_security(bootstrap))
    await consumer.start()
    try:
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + 30
        while not consumer.assignment() and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
        ends = await consumer.end_offsets(list(consumer.assignment()))
        while time.monotonic() < deadline:
            if all([await consumer.position(tp) >= end for tp, end in ends.items()]):
                return records
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
        raise AssertionError(f"could not read {topic} to its end in 30s")
    finally:
        await consumer.stop()


def duplicates(values: list[Any]) -> list[Any]:
    return [v for v, n in Counter(values).items() if n > 1]


async def listed_once(api: Api, path: str, party: Party, id_field: str, what: str) -> list[dict[str, Any]]:
    """Everything ``path`` lists to ``party``; fails the test if an entry is listed twice."""
    items = await api.pages(path, token=party.token)
    twice = duplicates([item[id_field] for item in items])
    if twice:
        raise CountedTwice(f"{what} listed twice to {party.id}: {twice}")
    return items


async def matches_missing(round_: Round) -> str | None:
    """Every pair's match present and active for both parties, no match listed twice."""
    for pair, party in round_.paired_parties():
        seen = await listed_once(round_.apis.matching, "/matches", party, "match_id", "matches")
        if pair.match_id not in [m["match_id"] for m in seen]:
            return f"match {pair.match_id} not (yet) listed to {party.id}"
        if next(m for m in seen if m["match_id"] == pair.match_id)["status"] != "active":
            return f"match {pair.match_id} not active for {party.id}"
    return None


def once_each(counts: Counter[Any], expected: list[Any], what: str) -> str | None:
    """None when each of ``expected`` was counted exactly once; else what is missing. Counted
    twice fails the test at once: more is never made right by waiting."""
    twice = {key: counts[key] for key in expected if counts[key] > 1}
    if twice:
        raise CountedTwice(f"{what} more than once: {twice}")
    missing = [key for key in expected if not counts[key]]
    return f"{what} missing: {missing}" if missing else None


async def agenda_missing(round_: Round) -> str | None:
    """The session's agenda published, holding every must-meet pair exactly once; each party
    sees its meeting exactly once on /me/agenda."""
    assert round_.organiser is not None
    response = await round_.apis.events_sessions.call("GET", f"/sessions/{round_.session_id}/agenda",
                                                      token=round_.organiser.token, accept=(404,))
    if response.status_code == 404:
        return f"no agenda for session {round_.session_id} yet"
    meetings = Counter(frozenset(m["participant_ids"]) for m in response.json()["meetings"])
    pairs = [frozenset((p.university.id, p.enterprise.id)) for p in round_.done]
    lost = once_each(meetings, pairs, f"must-meet pairs in the agenda of {round_.session_id}")
    assert lost is None, lost  # the agenda is published whole
    for pair, party in round_.paired_parties():
        mine = await round_.apis.events_sessions.pages("/me/agenda", token=party.token)
        met = Counter(m["counterpart_id"] for m in mine if m["session_id"] == round_.session_id and m["must_meet"])
        counterpart = pair.enterprise.id if party is pair.university else pair.university.id
        if missing := once_each(met, [counterpart], f"{party.id}'s must-meet meeting on /me/agenda"):
            return missing
    return None


async def registrations_missing(round_: Round) -> str | None:
    """The organiser's list of the session's registrations: exactly both parties of every pair,
    once each, confirmed, universities presenting."""
    assert round_.organiser is not None
    listed = await round_.apis.events_sessions.pages(f"/sessions/{round_.session_id}/registrations",
                                                     token=round_.organiser.token)
    expected = {party.id: "presenter" if party.party_type == "university" else "attendee"
                for party in round_.parties()}
    if missing := once_each(Counter(r["participant_id"] for r in listed), list(expected), "registrations"):
        return missing
    assert {r["participant_id"]: (r["role"], r["status"]) for r in listed} == \
        {who: (role, "confirmed") for who, role in expected.items()}
    return None


async def listings_missing(round_: Round) -> str | None:
    """Each university's own offers are exactly its offer, each enterprise's own needs its need."""
    for pair in round_.done:
        for path, party, item in (("/listings", pair.university, pair.offer_id),
                                  ("/demands", pair.enterprise, pair.need_id)):
            mine = await round_.apis.listing.pages(path, token=party.token, params={"mine": "true"})
            assert [i["id"] for i in mine] == [item], f"{party.id}'s own {path}: {[i['id'] for i in mine]}"
    return None


ONCE_PER_ENTITY = ("match.created", "consortium.proposed", "agenda.published", "registration.confirmed")


def _identity(entry: dict[str, Any]) -> tuple[str, str]:
    """What makes two inbox entries the same thing to the participant reading them: a creation
    is told once per entity; an update once per content (two updates saying the same are one)."""
    data = entry["data"]
    if entry["type"] in ONCE_PER_ENTITY:
        entity = (data.get("match_id") or data.get("consortium_id") or data.get("registration_id")
                  or data.get("session_id"))
        return entry["type"], str(entity)
    return entry["type"], json.dumps(data, sort_keys=True)


async def notifications_missing(round_: Round) -> str | None:
    """Each party's inbox: its match, its registration and the agenda exactly once each, nothing
    there twice, and its unread count the number of entries listed (none was read)."""
    for pair, party in round_.paired_parties():
        inbox = await listed_once(round_.apis.notification, "/inbox", party, "id", "inbox entries")
        if same := duplicates([_identity(e) for e in inbox]):
            raise CountedTwice(f"{party.id} sees the same notification twice: " + "; ".join(
                f"{e['id']} {e['type']} seq {e['seq']} at {e['created_at']}: {json.dumps(e['data'])[:400]}"
                for e in inbox if _identity(e) in same))
        told = Counter((e["type"], e["data"].get("match_id") or e["data"].get("session_id")) for e in inbox)
        expected = [("match.created", pair.match_id), ("registration.confirmed", round_.session_id),
                    ("agenda.published", round_.session_id)]
        if missing := once_each(told, expected, f"{party.id}'s notices"):
            return missing
        unread = await round_.apis.notification.json("GET", "/inbox/unread-count", token=party.token)
        if unread["unread"] != len(inbox):
            return f"{party.id} has {len(inbox)} entries in the inbox, all unread, but an unread count of {unread}"
    return None


async def lag_left(apis: Apis, groups: list[str], since: float) -> str | None:
    """None once the monitor, in a sample taken after ``since``, shows each group with no lag
    left and a committed offset on every partition that holds records."""
    page = await apis.monitor.call("GET", "/lag", token=apis.operator_token, params={"limit": 1}, accept=(503,))
    sampled_at = page.json().get("sampled_at")
    if page.status_code != 200 or sampled_at is None or sampled_at < since:
        return f"no fresh lag sample since the input stopped (monitor answered {page.status_code})"
    for group in groups:
        response = await apis.monitor.call("GET", f"/lag/{group}", token=apis.operator_token, accept=(404, 503))
        if response.status_code != 200:
            return f"monitor answers {response.status_code} for {group}: {response.text[:200]}"
        lag = response.json()
        if lag["total_lag"] != 0:
            return f"{group} still {lag['total_lag']} messages behind"
        # faust reads its tables' changelogs from the start to restore them and never commits there
        behind = [f"{p['topic']}[{p['partition']}]" for p in lag["partitions"]
                  if p["committed_offset"] is None and p["log_end_offset"] > 0
                  and not p["topic"].endswith("-changelog")]
        if behind:
            return f"{group} never committed on {behind}"
    return None


async def check_everything(round_: Round, groups: list[str], *, timeout: float = 240.0) -> None:
    """Every record the round must produce present exactly once in each view that shows it (own
    offers and needs, the session's registrations, each party's matches, the agenda and each
    party's meeting, each party's notices and unread count), every consumer caught up."""
    started = time.monotonic()
    stages = {"listings": lambda: listings_missing(round_), "registrations": lambda: registrations_missing(round_),
              "matches": lambda: matches_missing(round_), "agenda": lambda: agenda_missing(round_),
              "notifications": lambda: notifications_missing(round_)}
    took = {}
    for stage, check in stages.items():
        await eventually(check, timeout=timeout, what=f"round {round_.tag}'s {stage}")
        took[stage] = round(time.monotonic() - started, 1)
    since = time.time()
    await eventually(lambda: lag_left(round_.apis, groups, since), timeout=timeout,
                     what=f"consumer groups {groups} to catch up")
    took["lag"] = round(time.monotonic() - started, 1)
    log.info("round %s checked (seconds since start of the check: %s; client retries: %s)", round_.tag, took,
             {name: api.retried for name, api in round_.apis.by_name().items()})
