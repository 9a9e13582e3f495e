"""The demo's report: what participants, organisers and operators now see, read back from the
services; it ends with each session's funnel and turnover."""

from __future__ import annotations

from decimal import Decimal

import httpx
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Column, Table

from hardtech import devsink
from hardtech.demo.run import Demo
from hardtech.lag import render as render_lag
from shared.events.deals import (
    CLOSE_REASON_NAMES,
    CONTRACT_TYPE_NAMES,
    STAGE_NAMES,
    CloseReason,
    ContractType,
    DealStage,
)
from shared.party_types import PARTY_NAMES, PartyType

BEST_MATCHES = 5
CONSORTIA = 3
CONSORTIA_READ = 100  # the best scored, of which the fullest teams are shown


def _title(side: dict) -> str:
    title = side["title"]
    return " / ".join(t for t in (title.get("zh"), title.get("en")) if t)


async def best_matches(demo: Demo, out: Console) -> None:
    # one page, best first: the store answers every page with a scan, so the report reads no more
    page = await demo.api["matching"].json("GET", "/matches", token=demo.operator,
                                           params={"status": "active", "limit": BEST_MATCHES})
    out.rule("[bold]Best matches[/bold] (active, highest score first)")
    for match in page["items"]:
        out.print(f"[bold]{match['score']:.2f}[/bold]  {match['kind']}: {_title(match['offer'])}"
                  f"  ⇄  {_title(match['need'])}", highlight=False)
        explanation = match["explanation"]
        out.print("      " + "；".join(explanation["zh"]), highlight=False)
        out.print("      " + "; ".join(explanation["en"]), highlight=False)


async def consortia(demo: Demo, out: Console) -> None:
    page = await demo.api["matching"].json("GET", "/consortia", token=demo.operator,
                                           params={"status": "active", "limit": CONSORTIA_READ})
    views = sorted(page["items"], key=lambda v: (-len(v["consortium"]["members"]), -v["consortium"]["score"]))
    out.rule(f"[bold]Five-party consortia (五方联动)[/bold] (the fullest of the {len(views)} best scored)")
    table = Table("score", "members (role: organisation — why it fits)", "missing roles")
    for view in views[:CONSORTIA]:
        team = view["consortium"]
        members = "\n".join(_member_line(m) for m in team["members"])
        table.add_row(f"{team['score']:.2f}", members, ", ".join(team["missing_roles"]) or "none")
    out.print(table)


def _member_line(member: dict) -> str:
    """One line per member: role, organisation (zh / en, else the party type) and why it fits."""
    organisation = member.get("organisation")
    named = (" / ".join(t for t in (organisation.get("zh"), organisation.get("en")) if t) if organisation
             else PARTY_NAMES[PartyType(member["party_type"])][0])
    reason = member.get("reason")
    return f"{member['role']}: {named}" + (f" — {reason.get('zh') or reason.get('en')}" if reason else "")


async def one_agenda(demo: Demo, out: Console) -> None:
    requests = demo.data.meeting_requests
    key = max({r.requester for r in requests}, key=lambda k: (sum(r.requester == k for r in requests), k))
    participant = demo.data.participant(key)
    meetings = await demo.api["events_sessions"].pages("/me/agenda", token=demo.loaded.tokens[key])
    out.rule(f"[bold]Agenda of {participant.display_name.pick('zh')}[/bold] "
             f"({participant.organisation.pick('zh')}, {len(meetings)} meetings)")
    table = Table("time", "table", "counterpart", "must meet")
    names = {demo.loaded.ids[p.key]: p for p in demo.data.participants}
    for meeting in meetings:
        other = names.get(meeting["counterpart_id"])
        who = f"{other.organisation.pick('zh')} ({other.party_type.value})" if other else meeting["counterpart_id"]
        table.add_row(meeting["starts_at"][5:16].replace("T", " "), str(meeting["table"] + 1), who,
                      "yes" if meeting["must_meet"] else "")
    out.print(table)


async def notifications(demo: Demo, out: Console) -> None:
    metrics = (await demo.api["notification"].call("GET", "/metrics", token=demo.operator)).text
    sent: dict[str, int] = {}
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == "notifications_total" and sample.labels.get("outcome") == "sent":
                sent[sample.labels["channel"]] = sent.get(sample.labels["channel"], 0) + int(sample.value)
    try:
        async with httpx.AsyncClient(timeout=3) as client:  # not blocking the loop the demo runs on
            received = (await client.get(f"http://127.0.0.1:{devsink.HTTP_PORT}/counts")).json()
    except httpx.HTTPError:
        received = {}
    out.rule("[bold]Notifications delivered so far[/bold] (the fan-out goes on in the background)")
    table = Table("channel", "sent by the notification service", "received by the dev sink")
    for channel in sorted(sent):
        table.add_row(channel, str(sent[channel]), str(received.get(channel, "")))
    out.print(table)


async def lag(demo: Demo, out: Console) -> None:
    response = await demo.api["monitor"].call("GET", "/lag", token=demo.operator, params={"limit": 100},
                                              accept=(503,))
    body = response.json()
    out.rule("[bold]Consumer lag[/bold]")
    out.print(render_lag(body["items"], body.get("reason") if response.status_code == 503 else None),
              highlight=False, soft_wrap=True)


async def timings(demo: Demo, out: Console) -> None:
    measured = demo.timings
    out.rule("[bold]Measured (测量)[/bold]")
    if measured.lag_zero_seconds is not None:
        out.print(f"every consumer group ({measured.groups}) at lag 0 {measured.lag_zero_seconds:.1f} s after "
                  "the last input was posted / 最后一条输入后所有消费组追平", highlight=False)
    if measured.notice_after_event is not None and measured.notice_after_post is not None:
        out.print(f"a new match's notice on the participant's live stream (SSE) {measured.notice_after_event:.2f} s "
                  f"after the match event ({measured.notice_after_post:.2f} s after the need was posted) / "
                  "匹配事件到实时推送的时间", highlight=False)


WAYS = {"check-in": "双方签到会面 / meeting held (both checked in)", "both accepted": "双方接受匹配 / both accepted",
        "opened": "一方发起 / opened by a party"}


async def deals_and_funnels(demo: Demo, out: Console) -> None:
    """Each session's funnel (as its host sees it) and turnover, and the pairs the demo took on."""
    names = {demo.loaded.ids[p.key]: p.organisation.pick("zh") for p in demo.data.participants}
    out.rule("[bold]From match to contract (从匹配到成交)[/bold]: each session's funnel and turnover")
    # A Chinese title or an amount has no space to wrap at: folded, not cut ("科技成果 …") on a narrow terminal.
    table = Table(Column("session / 专场", overflow="fold"), "matches made\n匹配", "accepted\n接受", "met\n会面",
                  "signed\n签约", Column("turnover / 成交额", overflow="fold"), "closed / 未成交")
    for session in demo.data.sessions:
        funnel = await demo.api["deals"].json("GET", "/funnel", token=demo.loaded.tokens[session.organiser],
                                              params={"session": demo.loaded.ids[session.key]})
        turnover = [f"{currency} {Decimal(total):,.2f}".removesuffix(".00")
                    for currency, total in funnel["turnover"].items()]
        closed = [f"{' '.join(CLOSE_REASON_NAMES[CloseReason(r)])}: {n}" for r, n in funnel["closed"].items()]
        table.add_row(session.title.pick("zh"), *(_step(step) for step in funnel["steps"]),
                      "\n".join(turnover) or "—", "\n".join(closed) or "—")
    out.print(table)
    for outcome in demo.deals:
        first, second = (names.get(p, p) for p in outcome.participant_ids)
        stage_zh, stage_en = STAGE_NAMES[outcome.stage]
        line = f"{first} ⇄ {second}: {WAYS[outcome.way]} → {stage_zh} {stage_en}"
        if outcome.contract and outcome.stage is DealStage.CONTRACT_SIGNED:
            kind = CONTRACT_TYPE_NAMES[ContractType(outcome.contract["contract_type"])]
            line += f", {kind[0]} {kind[1]}, {outcome.contract['currency']} {Decimal(outcome.contract['amount']):,.2f}"
        out.print(line, highlight=False)


def _step(step: dict) -> str:
    """A funnel step's count, its conversion from the step before and the mean days it took."""
    parts = [str(step["count"])]
    if step["conversion"] is not None:
        parts.append(f"{step['conversion']:.0%}")
    if step["mean_days"] is not None:
        parts.append(f"{step['mean_days']:.2f} d")
    return "\n".join(parts)


async def print_report(demo: Demo, out: Console) -> None:
    for section in (best_matches, consortia, one_agenda, notifications, lag, timings, deals_and_funnels):
        await section(demo, out)
