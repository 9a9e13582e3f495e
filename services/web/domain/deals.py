"""Deals as the web app shows them, in the visitor's language: a participant's list, one deal with
the stage it confirms next, and a session's (or everyone's) funnel for organisers."""

from __future__ import annotations

import itertools
from typing import Any

from services.web.domain import names
from services.web.domain.i18n import ZH, translate
from services.web.domain.names import Option
from shared.events.deals import (
    CLOSE_REASON_NAMES,
    CONTRACT_TYPE_NAMES,
    STAGE_NAMES,
    CloseReason,
    ContractType,
    DealStage,
)
from shared import regions
from shared.events.listing import TRANSFER_MODE_NAMES, TransferMode
from shared.party_types import Kind, PartyType, Side, may_post

ORDER = (DealStage.CONTACTED, DealStage.MET, DealStage.DUE_DILIGENCE, DealStage.TERM_SHEET, DealStage.CONTRACT_SIGNED)
ENDED = (DealStage.CONTRACT_SIGNED, DealStage.CLOSED)


def _pick(pair: tuple[str, str], language: str) -> str:
    return pair[0] if language == ZH else pair[1]


def stage_name(stage: str, language: str) -> str:
    return _pick(STAGE_NAMES[DealStage(stage)], language)


def next_stage(stage: str) -> DealStage | None:
    """The stage a deal at ``stage`` moves to next; None once it ended."""
    current = DealStage(stage)
    return None if current in ENDED else ORDER[ORDER.index(current) + 1]


def counterpart_name(counterpart: dict[str, Any], language: str) -> str:
    """Organisation · person, else the party type (a profile the deals service has not read yet)."""
    organisation = names.text(counterpart.get("organisation"), language)
    person = names.text(counterpart.get("display_name"), language)
    if not organisation:
        return names.party_name(counterpart["party_type"], language)
    return f"{organisation} · {person}" if person and person != organisation else organisation


def deal_row(deal: dict[str, Any], language: str) -> dict[str, Any]:
    """One line of the participant's list (``GET /me/deals``'s item)."""
    session = deal.get("session")
    return {"id": deal["id"], "counterpart": counterpart_name(deal["counterpart"], language),
            "your_item": names.text(deal.get("your_item"), language),
            "their_item": names.text(deal.get("their_item"), language),
            "stage": stage_name(deal["stage"], language),
            "pending": stage_name(deal["pending_stage"], language) if deal.get("pending_stage") else None,
            "waiting_for_you": deal["waiting_for_you"],
            "session": names.text(session.get("title"), language) if session else None,
            "updated_at": deal["updated_at"][:10]}


def deal_view(deal: dict[str, Any], viewer: str, language: str) -> dict[str, Any]:
    """One deal (``GET /deals/{id}``) as a party sees it: the stages so far, what it may do next."""
    entered = deal["entered_at"]
    upcoming = next_stage(deal["stage"])
    pending = deal.get("pending_stage")
    contract = deal.get("contract")
    return {
        "id": deal["id"], "stage": stage_name(deal["stage"], language), "ended": upcoming is None,
        "stages": [{"name": stage_name(s, language), "on": entered.get(s.value, "")[:10]}
                   for s in (*ORDER, DealStage.CLOSED) if s.value in entered],
        "next": upcoming.value if upcoming else None,
        "next_name": stage_name(upcoming, language) if upcoming else None,
        "pending": pending is not None,
        "confirmed_by_you": pending is not None and viewer in deal["confirmed_by"],
        # the first to confirm contract_signed records the contract; the other confirms that record
        "records_contract": upcoming is DealStage.CONTRACT_SIGNED and pending is None,
        "contract": None if contract is None else {
            "type": _pick(CONTRACT_TYPE_NAMES[ContractType(contract["contract_type"])], language),
            "amount": f"{contract['currency']} {float(contract['amount']):,.2f}",
            "mode": _pick(TRANSFER_MODE_NAMES[TransferMode(contract["transfer_mode"])], language),
            "field": names.field_name(contract["field"], language),
            "region": names.region_name(contract["region"], language), "signed_on": contract["signed_on"]},
        "close_reason": _pick(CLOSE_REASON_NAMES[CloseReason(deal["close_reason"])], language)
        if deal.get("close_reason") else None,
        "close_comment": deal.get("close_comment"),
    }


def close_reason_options(language: str) -> list[Option]:
    return [Option(r.value, _pick(CLOSE_REASON_NAMES[r], language)) for r in CloseReason]


def contract_type_options(language: str) -> list[Option]:
    return [Option(c.value, _pick(CONTRACT_TYPE_NAMES[c], language)) for c in ContractType]


def transfer_mode_options(language: str) -> list[Option]:
    return [Option(m.value, _pick(TRANSFER_MODE_NAMES[m], language)) for m in TransferMode]


FUNNEL_DIMENSIONS = ("field", "region", "strategy", "pair")  # besides a session (linked) or all of them


def funnel_options(language: str) -> list[Option]:
    """What a funnel can be read for besides a session: ``dimension:value``, grouped by dimension."""
    group = {d: translate(language, f"funnel.by_{d}") for d in FUNNEL_DIMENSIONS}
    pairs = sorted({(offerer, seeker) for kind in Kind for offerer in PartyType for seeker in PartyType
                    if may_post(offerer, Side.OFFER, kind) and may_post(seeker, Side.NEED, kind)})
    return [
        *(Option(f"field:{o.value}", o.label, group["field"]) for o in names.top_field_options(language)),
        *(Option(f"region:{r.code}", _pick((r.zh, r.en), language), group["region"])
          for r in regions.REGIONS.values() if not r.is_city),
        *(Option(f"strategy:{s.value}", _pick((zh, en), language), group["strategy"])
          for s, (zh, en, _) in regions.STRATEGIES.items()),
        *(Option(f"pair:{o.value}>{n.value}", f"{names.party_name(o, language)} → {names.party_name(n, language)}",
                 group["pair"]) for o, n in pairs),
    ]


def grouped(options: list[Option]) -> list[tuple[str | None, list[Option]]]:
    """Options in runs of one group, in their order."""
    return [(group, list(run)) for group, run in itertools.groupby(options, key=lambda o: o.group)]


def funnel_filter(by: str | None) -> dict[str, str]:
    """The deals API's query for a ``dimension:value`` choice; none (all) for anything else."""
    dimension, _, value = (by or "").partition(":")
    return {dimension: value} if dimension in FUNNEL_DIMENSIONS and value else {}


def funnel_rows(funnel: dict[str, Any], language: str) -> list[dict[str, Any]]:
    """The funnel's steps: label, count, conversion from the step before, mean days it took."""
    return [{"label": step["label_zh"] if language == ZH else step["label_en"], "count": step["count"],
             "conversion": None if step["conversion"] is None else f"{step['conversion']:.0%}",
             "days": None if step["mean_days"] is None else f"{step['mean_days']:.1f}"}
            for step in funnel["steps"]]


def funnel_money(funnel: dict[str, Any], language: str) -> dict[str, Any]:
    return {"turnover": [f"{currency} {float(total):,.2f}" for currency, total in funnel["turnover"].items()],
            "closed": [(_pick(CLOSE_REASON_NAMES[CloseReason(r)], language), n) for r, n in funnel["closed"].items()]}
