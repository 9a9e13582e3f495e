"""The demo's deals: in each session, a few pairs the agenda put at a table go on from the match, as
their parties would through the deals API. The first pair checks in at the session (its meeting is
held: the deal opens by itself) and signs a technology contract; the second accepts the match on
both sides (the deal opens by itself) and signs; the third is opened by a party, meets and closes
without a deal. A re-run finds each step done already (409) and goes on."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from hardtech.demo.client import ApiError
from hardtech.demo.model import Session
from shared.events.deals import CloseReason, ContractType, DealStage
from shared.events.listing import TransferMode

PAIRS_PER_SESSION = 3
SIGNED_STAGES = (DealStage.MET, DealStage.DUE_DILIGENCE, DealStage.TERM_SHEET, DealStage.CONTRACT_SIGNED)
# What the two signing pairs of each session sign: (contract type, transfer mode, amount in CNY).
CONTRACTS = ((ContractType.LICENCE, TransferMode.LICENCE, Decimal("1200000.00")),
             (ContractType.DEVELOPMENT, TransferMode.JOINT_DEVELOPMENT, Decimal("3500000.00")))


class Way(StrEnum):
    """How a pair's deal opens."""

    CHECK_IN = "check-in"  # both checked in at the session where the agenda put them together
    BOTH_ACCEPTED = "both accepted"  # both accepted the match
    OPENED = "opened"  # one party opened it


@dataclass(frozen=True)
class Plan:
    """What the demo does with one pair of a session's agenda."""

    session: str  # session key
    match_id: str
    participant_ids: tuple[str, str]
    way: Way
    contract: dict[str, Any] | None  # the contract record it signs, or None: it closes without a deal


@dataclass(frozen=True)
class Outcome:
    session: str
    match_id: str
    participant_ids: tuple[str, str]
    way: Way
    stage: DealStage
    contract: dict[str, Any] | None


def plans(session: Session, agenda: dict[str, Any], today: date) -> list[Plan]:
    """The first pairs of the agenda's meetings on a match, each pair once, with what each does."""
    chosen: list[dict[str, Any]] = []
    for meeting in sorted(agenda["meetings"], key=lambda m: (m["slot"], m["table"])):
        pair = set(meeting["participant_ids"])
        if meeting.get("match_id") and not any(pair & set(m["participant_ids"]) for m in chosen):
            chosen.append(meeting)
        if len(chosen) == PAIRS_PER_SESSION:
            break
    ways = (Way.CHECK_IN, Way.BOTH_ACCEPTED, Way.OPENED)
    return [Plan(session=session.key, match_id=m["match_id"], participant_ids=tuple(m["participant_ids"]),
                 way=way, contract=contract_of(session, index, today) if index < len(CONTRACTS) else None)
            for index, (m, way) in enumerate(zip(chosen, ways, strict=False))]


def contract_of(session: Session, index: int, today: date) -> dict[str, Any]:
    """The technology-contract record of a session's ``index``-th signing pair: in the session's
    field and city, signed today."""
    contract_type, mode, amount = CONTRACTS[index]
    return {"contract_type": contract_type.value, "amount": str(amount), "currency": "CNY",
            "transfer_mode": mode.value, "field": session.fields[0], "region": session.city,
            "signed_on": today.isoformat()}


class DealRunner:
    """Takes the planned pairs through the APIs with the parties' and organisers' tokens."""

    def __init__(self, demo: Any):
        self.demo = demo
        self.key_of = {pid: key for key, pid in demo.loaded.ids.items()}

    def pair(self, plan: Plan) -> str:
        """The pair as a person reads it: both organisations and the session."""
        ids = self.demo.loaded.ids
        names = {ids[p.key]: p.organisation.pick("zh") for p in self.demo.data.participants if p.key in ids}
        session = next(s for s in self.demo.data.sessions if s.key == plan.session)
        first, second = (names.get(p, p) for p in plan.participant_ids)
        return f"{first} × {second} ({session.title.pick('zh')})"

    def token(self, participant_id: str) -> str:
        return self.demo.loaded.tokens[self.key_of[participant_id]]

    async def run(self) -> list[Outcome | ApiError]:
        today = datetime.now(UTC).date()
        planned: list[Plan] = []
        for session in self.demo.data.sessions:
            agenda = await self.demo.api["events_sessions"].json(
                "GET", f"/sessions/{self.demo.loaded.ids[session.key]}/agenda",
                token=self.demo.loaded.tokens[session.organiser])
            planned += plans(session, agenda, today)
        taken = await asyncio.gather(*(self.take(plan) for plan in planned), return_exceptions=True)
        for result in taken:  # a pair that did not get through is reported; anything else is a bug
            if isinstance(result, BaseException) and not isinstance(result, ApiError):
                raise result
        return [r for r in taken if isinstance(r, (Outcome, ApiError))]

    async def take(self, plan: Plan) -> Outcome:
        await self.open(plan)
        deal = await self.deal_of(plan)
        first, second = plan.participant_ids
        for stage in SIGNED_STAGES if plan.contract else (DealStage.MET,):
            if DealStage(deal["stage"]) in (DealStage.CONTRACT_SIGNED, DealStage.CLOSED):
                break
            if _after(DealStage(deal["stage"]), stage):
                continue  # reached in an earlier run
            with_contract = {"contract": plan.contract} if stage is DealStage.CONTRACT_SIGNED else {}
            for participant_id, body in ((first, with_contract), (second, {})):
                deal = await self.deals("POST", f"/deals/{deal['id']}/confirmations", participant_id,
                                        json={"stage": stage.value, **body}) or deal
        if plan.contract is None and DealStage(deal["stage"]) is not DealStage.CLOSED:
            deal = await self.deals("POST", f"/deals/{deal['id']}/close", second,
                                    json={"reason": CloseReason.PRICE.value,
                                          "comment": "报价差距较大 / the prices were too far apart"}) or deal
        return Outcome(plan.session, plan.match_id, plan.participant_ids, plan.way, DealStage(deal["stage"]),
                       plan.contract)

    async def deals(self, method: str, path: str, participant_id: str, **options: Any) -> dict[str, Any] | None:
        """A deals API call as the participant; None when the step was done already (a re-run)."""
        response = await self.demo.api["deals"].call(method, path, token=self.token(participant_id),
                                                     accept=(409,), **options)
        return None if response.status_code == 409 else response.json()

    async def open(self, plan: Plan) -> None:
        if plan.way is Way.CHECK_IN:
            session_id = self.demo.loaded.ids[plan.session]
            host = next(s.organiser for s in self.demo.data.sessions if s.key == plan.session)
            organiser = self.demo.loaded.tokens[host]
            for participant_id in plan.participant_ids:
                seat = await self.demo.api["events_sessions"].json(
                    "GET", f"/sessions/{session_id}/registrations/me", token=self.token(participant_id))
                await self.demo.api["events_sessions"].call(
                    "POST", f"/sessions/{session_id}/check-ins", json={"code": seat["check_in_code"]},
                    token=organiser, accept=(409,))  # 409: checked in by an earlier run
        elif plan.way is Way.BOTH_ACCEPTED:
            for participant_id in plan.participant_ids:
                await self.demo.api["matching"].call("POST", f"/matches/{plan.match_id}/feedback",
                                                     json={"decision": "accept"}, token=self.token(participant_id),
                                                     accept=(409,))
        else:  # the deals service may not have read the match yet: 404 until it has
            deadline = time.monotonic() + 120
            while (await self.demo.api["deals"].call("POST", "/deals", json={"match_id": plan.match_id},
                                                     token=self.token(plan.participant_ids[1]),
                                                     accept=(404, 409))).status_code == 404:
                if time.monotonic() > deadline:
                    raise ApiError(f"the deals service has not read the match of {self.pair(plan)} within 120 s")
                await asyncio.sleep(1)

    async def deal_of(self, plan: Plan, patience: float = 120) -> dict[str, Any]:
        """The pair's deal from a party's list, once the deals service has opened and listed it."""
        deadline = time.monotonic() + patience
        while True:
            mine = await self.demo.api["deals"].pages("/me/deals", token=self.token(plan.participant_ids[0]))
            found = next((d for d in mine if d["match_id"] == plan.match_id), None)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise ApiError(f"no deal opened ({plan.way}) for {self.pair(plan)} within {patience:.0f} s")
            await asyncio.sleep(1)


def _after(stage: DealStage, wanted: DealStage) -> bool:
    """Whether the deal at ``stage`` reached ``wanted`` already."""
    order = list(SIGNED_STAGES)
    return stage in order and order.index(stage) >= order.index(wanted)
