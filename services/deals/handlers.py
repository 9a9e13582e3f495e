"""The use cases: open, confirm and close deals (each a decision of the stage machine written with
its event), list a participant's deals, keep what the consumer receives (opening a deal when both
parties accepted the match or their meeting was held at a session), and count the funnel from the
deal events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared.auth import Principal
from shared.events import CloudEvent
from shared.events.deals import CloseReason, DealData, DealStage
from shared.events.listing import ItemData, ParticipantData
from shared.events.matching import AgendaData, FeedbackDecision, MatchData, MatchFeedbackData
from shared.events.sessions import RegistrationData, SessionData
from shared.kafka import PermanentError
from shared.mongo import find_by_ids
from shared.outbox import OutboxRelay
from services.deals.domain import funnel, mine, outcomes, stages
from shared.domain_errors import Conflict, Forbidden, NotFound
from services.deals.domain.funnel import FunnelCounts, Increment, Step
from services.deals.domain.mine import MyDeal
from services.deals.domain.model import Contract, Deal, MatchSideRecord
from services.deals.metrics import CONTRACT_TURNOVER, DEAL_CHANGES, FUNNEL_KEY_STEPS, FUNNEL_STEPS, STEP_SECONDS
from services.deals.storage import DealStore

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _side(document: dict[str, Any]) -> MatchSideRecord:
    return MatchSideRecord.model_validate(document)


class DealService:
    def __init__(self, store: DealStore, relay: OutboxRelay, clock: Clock = utc_now):
        self.store = store
        self.relay = relay
        self.clock = clock

    # the parties' use cases

    async def open(self, match_id: str, opener: str) -> Deal:
        match = await self.store.match(match_id)
        if match is None:
            raise NotFound(f"no match {match_id!r} known to the deals service / 匹配不存在")
        deal = stages.open_deal(match_id, _side(match["offer"]), _side(match["need"]), opened_by=opener,
                                now=self.clock())
        if not await self._insert(deal, opener):
            raise Conflict(f"the match has a deal already: {deal.id} / 该匹配已有洽谈")
        return deal

    async def _insert(self, deal: Deal, opener: str) -> bool:
        staged = await self.store.insert(deal, "deal.opened.v1", opener)
        if staged is None:
            return False
        self.relay.notify(self.store.deals, deal.id, *staged)
        DEAL_CHANGES.labels("deal.opened.v1").inc()
        return True

    async def mine(self, participant_id: str, before: int | None, limit: int) -> tuple[list[MyDeal], int | None]:
        """One page of the participant's deals, the most recently listed first, and the cursor of the next page (None on
        the last): a bounded number of lookups by ``_id`` whatever the number of deals. A deal is
        listed once its ``deal.opened`` event is consumed, a moment after it opened."""
        last = await self.store.last_listed(participant_id)
        listed = await self.store.listed_deals(participant_id, mine.page_numbers(last, before, limit))
        deal_ids = list(dict.fromkeys(deal_id for _, deal_id in listed))  # a deal listed twice is shown once
        deals = await self.store.deals_by_ids(deal_ids)
        shown = [deals[d] for d in deal_ids if d in deals]
        matches = {m["_id"]: m for m in await find_by_ids(self.store.matches, [d.match_id for d in shown])}
        names = await self.store.participant_names([p.participant_id for d in shown for p in d.parties
                                                    if p.participant_id != participant_id])
        sessions = await self.store.session_titles([d.session_id for d in shown if d.session_id])
        items = [mine.my_deal(d, participant_id, matches.get(d.match_id), names, sessions) for d in shown]
        lowest = listed[-1][0] if listed else None
        return items, lowest if lowest is not None and lowest > 1 else None

    async def get(self, deal_id: str, caller: Principal) -> Deal:
        deal = await self.store.get(deal_id)
        if not caller.is_operator and caller.subject not in deal.party_ids():
            raise Forbidden("only the deal's parties and operators see a deal / 仅交易双方与运维可查看")
        return deal

    async def confirm(self, deal_id: str, participant_id: str, stage: DealStage, contract: Contract | None) -> Deal:
        return await self._mutate(deal_id, participant_id,
                                  lambda deal: stages.confirm(deal, participant_id, stage, contract, self.clock()))

    async def close(self, deal_id: str, participant_id: str, reason: CloseReason, comment: str | None) -> Deal:
        return await self._mutate(deal_id, participant_id,
                                  lambda deal: stages.close(deal, participant_id, reason, comment, self.clock()))

    async def _mutate(self, deal_id: str, changed_by: str, decide: Callable[[Deal], tuple[Deal, str]]) -> Deal:
        deal, event_type, staged = await self.store.mutate(deal_id, decide, changed_by)
        self.relay.notify(self.store.deals, deal_id, *staged)
        DEAL_CHANGES.labels(event_type).inc()
        return deal

    async def funnel(self, key: str, caller: Principal, session_id: str | None) -> FunnelCounts:
        """A session's funnel for its host and operators; the others (all, fields, regions, strategies,
        pairs: across sessions) for every verified organiser."""
        if (session_id is not None and not caller.is_operator
                and await self.store.session_host(session_id) != caller.subject):
            raise Forbidden("only the session's host and operators see its funnel / 仅活动主办方与运维可查看")
        return await self.store.counts(key)

    # what the consumer receives

    async def receive_item(self, item: ItemData) -> None:
        await self.store.save_item(item)

    async def receive_session(self, session: SessionData) -> None:
        await self.store.save_session(session.id, session.organiser_id, session.title)

    async def receive_participant(self, participant: ParticipantData) -> None:
        await self.store.save_participant(participant)

    async def receive_check_in(self, registration: RegistrationData, event: CloudEvent) -> None:
        """A check-in at a session: a meeting the agenda put the participant in, with a counterpart
        who checked in too, was held there and opens the match's deal."""
        await self.store.check_in(registration.session_id, registration.participant_id)
        for match_id in await self.store.meetings_of(registration.session_id, registration.participant_id):
            match = await self.store.match(match_id)
            if match is not None:  # else the match event, still to come, opens the deal
                await self._open_when_held(match, registration.session_id, event.time)

    async def receive_match(self, match: MatchData, event: CloudEvent) -> None:
        offer = MatchSideRecord(item_id=match.offer.item_id, owner_id=match.offer.owner_id,
                                party_type=match.offer.party_type.value, title=match.offer.title)
        need = MatchSideRecord(item_id=match.need.item_id, owner_id=match.need.owner_id,
                               party_type=match.need.party_type.value, title=match.need.title)
        fields, regions = await self.store.item_facts([need.item_id, offer.item_id])
        keys = funnel.match_keys(offer.party_type, need.party_type, fields, regions)
        await self.store.save_match(match.match_id, offer, need, created_at=event.time, keys=keys)
        stored = await self.store.match(match.match_id)
        assert stored is not None
        await self._count(f"{Step.MADE.value}|{match.match_id}", stored, stored["keys"], Increment(Step.MADE))
        for session_id in stored.get("sessions", []):  # agendas (and check-ins) that came before the match
            await self._made_in_session(stored, session_id)
            await self._open_when_held(stored, session_id, event.time)
        await self._open_when_both_accepted(stored, event.time)

    async def receive_feedback(self, feedback: MatchFeedbackData, event: CloudEvent) -> None:
        if feedback.decision is FeedbackDecision.ACCEPT:
            match = await self.store.accept(feedback.match_id, feedback.participant_id)
            if match is not None:  # else the match event, still to come, opens the deal
                await self._open_when_both_accepted(match, event.time)

    async def _open_when_both_accepted(self, match: dict[str, Any], now: datetime) -> None:
        """Both parties accepting a match opens its deal, once, whichever of the events comes last."""
        if {match["offer"]["owner_id"], match["need"]["owner_id"]} <= set(match.get("accepted_by", [])):
            deal = stages.open_deal(match["_id"], _side(match["offer"]), _side(match["need"]),
                                    opened_by=stages.BOTH_ACCEPTED, now=now)
            await self._insert(deal, stages.BOTH_ACCEPTED)  # a replay finds the deal there already

    async def _open_when_held(self, match: dict[str, Any], session_id: str, now: datetime) -> None:
        """A meeting on the match at a session both its parties checked in at opens its deal, once."""
        if await self.store.checked_in(session_id, [match["offer"]["owner_id"], match["need"]["owner_id"]]):
            deal = stages.open_deal(match["_id"], _side(match["offer"]), _side(match["need"]),
                                    opened_by=stages.MEETING_HELD, now=now, session_id=session_id)
            await self._insert(deal, stages.MEETING_HELD)  # one deal per match, however it opened first

    async def receive_agenda(self, agenda: AgendaData, event: CloudEvent) -> None:
        """A match scheduled at a session counts as made in that session's funnel; its meeting is
        held once both parties checked in there."""
        meetings: dict[str, list[str]] = {}
        for meeting in agenda.meetings:
            for participant_id in meeting.participant_ids:
                meetings.setdefault(participant_id, []).extend([meeting.match_id] if meeting.match_id else [])
        for participant_id, match_ids in sorted(meetings.items()):
            await self.store.set_meetings(agenda.session_id, participant_id, match_ids)
        for match_id in sorted({m.match_id for m in agenda.meetings if m.match_id}):
            match = await self.store.add_session(match_id, agenda.session_id)
            if match is not None:  # else counted (and opened) when the match event comes
                await self._made_in_session(match, agenda.session_id)
                await self._open_when_held(match, agenda.session_id, event.time)

    async def _made_in_session(self, match: dict[str, Any], session_id: str) -> None:
        await self._count(f"{Step.MADE.value}|{session_id}|{match['_id']}", match,
                          [funnel.key(funnel.Dimension.SESSION, session_id)], Increment(Step.MADE))

    async def receive_deal(self, deal: DealData, event: CloudEvent) -> None:
        """An opened deal listed for its parties; the funnel's steps after a match: accepted (a deal
        opened), met, signed; and closings."""
        if event.type == "deal.opened.v1":
            for party in deal.parties:
                await self.store.list_deal(party.participant_id, deal.deal_id)
        step = _step_of(event.type, deal)
        if step is None and event.type != "deal.closed.v1":
            return
        match = await self.store.match(deal.match_id)
        if match is None:
            raise PermanentError(f"deal {deal.deal_id} of unknown match {deal.match_id!r}")
        entered = deal.entered_at
        if step is None:
            assert deal.close_reason is not None
            await self._count(f"closed|{deal.match_id}", match, _keys(match),
                              Increment(None, closed_reason=deal.close_reason.value))
            await self._publish_priors(match)
            return
        if step is Step.ACCEPTED:
            increment = Increment(step, funnel.seconds_between(match["created_at"],
                                                               entered.get(DealStage.CONTACTED)))
        elif step is Step.MET:
            increment = Increment(step, funnel.seconds_between(entered.get(DealStage.CONTACTED),
                                                               entered.get(DealStage.MET)))
        else:
            contract = (await self.store.get(deal.deal_id)).contract  # the amount is in no event
            assert contract is not None
            increment = Increment(step, funnel.seconds_between(entered.get(DealStage.MET),
                                                               entered.get(DealStage.CONTRACT_SIGNED)),
                                  amount_cents=contract.amount_cents, currency=contract.currency)
        await self._count(f"{step.value}|{deal.match_id}", match, _keys(match), increment)
        if step is Step.SIGNED:
            await self._publish_priors(match)

    async def _publish_priors(self, match: dict[str, Any]) -> None:
        """A deal of the match ended: the priors of its fields and party-type pair, recomputed from
        the counters (also on a replay: the counters may have been written before a crash, the
        prior not; an unchanged prior is not published again)."""
        overall = await self.store.counts(funnel.ALL)
        for key in (k for k in match["keys"] if outcomes.is_outcome_key(k)):
            counts = await self.store.counts(key)
            staged = await self.store.save_prior(
                key, lambda version: outcomes.prior_data(key, counts, overall, version))  # noqa: B023 - called at once
            if staged is not None:
                self.relay.notify(self.store.priors, key, *staged)

    async def _count(self, mark: str, match: dict[str, Any], keys: list[str], increment: Increment) -> None:
        if await self.store.count(mark, keys, increment):
            FUNNEL_STEPS.labels(increment.label, funnel.pair(match["offer"]["party_type"],
                                                                  match["need"]["party_type"])).inc()
            for dimension, value in funnel.dimensions_of(keys):
                FUNNEL_KEY_STEPS.labels(increment.label, dimension, value).inc()
            if increment.currency is not None:
                CONTRACT_TURNOVER.labels(increment.currency).inc(increment.amount_cents / 100)
            if increment.step is not None and increment.seconds is not None:
                STEP_SECONDS.labels(increment.step.value).observe(max(increment.seconds, 0.0))


def _keys(match: dict[str, Any]) -> list[str]:
    return [*match["keys"], *(funnel.key(funnel.Dimension.SESSION, s) for s in match.get("sessions", []))]


def _step_of(event_type: str, deal: DealData) -> Step | None:
    if event_type == "deal.opened.v1":
        return Step.ACCEPTED
    if event_type == "deal.stage_reached.v1" and deal.stage is DealStage.MET:
        return Step.MET
    if event_type == "deal.stage_reached.v1" and deal.stage is DealStage.CONTRACT_SIGNED:
        return Step.SIGNED
    return None

