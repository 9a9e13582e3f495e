"""The query API in-process over the real store: a participant sees only their own matches,
operators see all, filters and cursors, errors that name the problem, feedback through the outbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from services.matching.app import WORKER_STALE_SECONDS, create_app
from services.matching.ledger import SOURCE
from services.matching.settings import Settings
from services.matching.storage import WORKERS
from shared import topics
from shared.auth import issue_token
from shared.events import new_event
from shared.events.common import LocalizedText
from shared.events.matching import (
    AgendaData, AgendaSlot, ConsortiumData, ConsortiumMember, ConsortiumRetractedData, ConsortiumRole, Explanation,
    FeatureScore, MatchData, MatchRetractedData, MatchSide, Meeting, RetractReason,
)
from shared.party_types import Kind, PartyType
from shared.settings import DEV_OPERATOR_TOKEN
from tests.support import read_events, running

pytestmark = pytest.mark.integration


def _side(item: str, owner: str, party: PartyType) -> MatchSide:
    return MatchSide(item_id=item, owner_id=owner, party_type=party, title=LocalizedText(zh=f"条目{item}"))


def _match(n: int, owner: str, score: float, kind: Kind = Kind.TECHNOLOGY) -> MatchData:
    return MatchData(match_id=f"m_{n:03d}", kind=kind, offer=_side(f"o{n}", f"uni{n}", PartyType.UNIVERSITY),
                     need=_side(f"n{n}", owner, PartyType.ENTERPRISE), score=score,
                     features=[FeatureScore(name="field", value=1, weight=0.3, contribution=0.3)],
                     explanation=Explanation(zh=["领域：5G通信"], en=["Field: 5G communications"]))


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_readiness_and_metrics_come_from_the_workers_heartbeats(registry_topics, make_settings):
    """The API is ready when a worker wrote a fresh heartbeat saying it is ready and its projection
    runs; a heartbeat older than WORKER_STALE_SECONDS is a worker gone. /metrics includes the
    live worker's metrics, merged into the API's own families with the worker's name."""
    settings = make_settings(Settings)
    app = create_app(settings)
    async with running(app) as client:
        workers = app.state.store.db[WORKERS]
        worker_metrics = ('# HELP events_consumed_total Events handled by a consumer\n'
                          '# TYPE events_consumed_total counter\n'
                          'events_consumed_total{service="matching",type="listing.created.v1"} 3.0\n')

        async def checks(**heartbeat: object) -> dict[str, bool]:
            await workers.replace_one({"_id": "w1"}, {"metrics": worker_metrics, **heartbeat}, upsert=True)
            response = await client.get("/readyz")
            return {name: response.json()["checks"][name] for name in ("worker", "projection")}

        now = datetime.now(UTC)
        assert await checks(ready=False, projection=True, at=now) == {"worker": False, "projection": True}
        assert await checks(ready=True, projection=False, at=now) == {"worker": True, "projection": False}
        assert await checks(ready=True, projection=True, at=now) == {"worker": True, "projection": True}
        assert (await client.get("/readyz")).status_code == 200
        metrics = (await client.get("/metrics", headers=_auth(DEV_OPERATOR_TOKEN))).text
        assert metrics.count("# TYPE events_consumed_total counter") == 1
        assert 'events_consumed_total{process="w1",service="matching",type="listing.created.v1"} 3.0' in metrics
        stale = now - timedelta(seconds=WORKER_STALE_SECONDS + 1)
        assert await checks(ready=True, projection=True, at=stale) == {"worker": False, "projection": False}
        assert "w1" not in (await client.get("/metrics", headers=_auth(DEV_OPERATOR_TOKEN))).text


async def test_matches_are_listed_filtered_paged_and_fed_back(registry_topics, make_settings):
    settings = make_settings(Settings)
    app = create_app(settings)
    async with running(app) as client:
        store = app.state.store
        matches = [_match(1, "ent", 0.9), _match(2, "ent", 0.7, Kind.CAPITAL), _match(3, "ent", 0.7),
                   _match(4, "other", 0.8)]
        for match in matches:
            await store.project(new_event("match.created.v1", match, source=SOURCE))
        retracted = matches[2]
        await store.project(new_event("match.retracted.v1", MatchRetractedData(
            match_id=retracted.match_id, kind=retracted.kind, offer=retracted.offer, need=retracted.need,
            reason=RetractReason.NEED_WITHDRAWN), source=SOURCE))
        await store.project(new_event("consortium.proposed.v1", ConsortiumData(
            consortium_id="c_1", technology_match_id="m_001", score=0.4, missing_roles=[ConsortiumRole.POLICY],
            members=[ConsortiumMember(role=ConsortiumRole.TECHNOLOGY_SEEKER, participant_id="ent",
                                      party_type=PartyType.ENTERPRISE, item_id="n1")]), source=SOURCE))
        ent = _auth(issue_token(settings, "ent", PartyType.ENTERPRISE)[0])
        operator = _auth(DEV_OPERATOR_TOKEN)

        first = (await client.get("/matches", params={"limit": 2}, headers=ent)).json()
        assert [m["match_id"] for m in first["items"]] == ["m_001", "m_002"]
        rest = (await client.get("/matches", params={"limit": 2, "cursor": first["next_cursor"]}, headers=ent)).json()
        assert [m["match_id"] for m in rest["items"]] == ["m_003"] and rest["next_cursor"] is None
        assert rest["items"][0]["status"] == "retracted" and rest["items"][0]["retract_reason"] == "need_withdrawn"
        active = (await client.get("/matches", params={"status": "active", "kind": "technology", "min_score": 0.5},
                                   headers=ent)).json()
        assert [m["match_id"] for m in active["items"]] == ["m_001"]
        assert (first["total"], rest["total"], active["total"]) == (3, 3, 1)  # all pages, as filtered
        everything = (await client.get("/matches", headers=operator)).json()
        assert [m["match_id"] for m in everything["items"]] == ["m_001", "m_004", "m_002", "m_003"]
        assert everything["total"] is None

        assert (await client.get("/matches/m_004", headers=ent)).status_code == 403
        missing = await client.get("/matches/m_999", headers=ent)
        assert missing.status_code == 404 and "m_999" in missing.json()["detail"]
        assert (await client.get("/matches")).status_code == 401
        bad_cursor = await client.get("/matches", params={"cursor": "nope"}, headers=ent)
        assert bad_cursor.status_code == 422 and bad_cursor.json()["detail"][0]["loc"] == ["query", "cursor"]
        bad_score = await client.get("/matches", params={"min_score": 2}, headers=ent)
        assert bad_score.status_code == 422 and bad_score.json()["detail"][0]["loc"] == ["query", "min_score"]

        no_reason = await client.post("/matches/m_001/feedback", json={"decision": "decline"}, headers=ent)
        assert no_reason.status_code == 422 and "reason" in no_reason.text
        unknown = await client.post("/matches/m_001/feedback", json={"decision": "accept", "x": 1}, headers=ent)
        assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "x"]
        assert (await client.post("/matches/m_001/feedback", json={"decision": "accept"},
                                  headers=operator)).status_code == 403
        closed = await client.post("/matches/m_003/feedback", json={"decision": "accept"}, headers=ent)
        assert closed.status_code == 409
        declined = await client.post("/matches/m_001/feedback",
                                     json={"decision": "decline", "reason": "not_our_field"}, headers=ent)
        assert declined.status_code == 202, declined.text
        published = await read_events(settings.kafka_bootstrap_servers,
                                      topics.MATCH_FEEDBACK.full_name(settings.topic_prefix), count=1)
        assert published[0].id == declined.json()["event_id"]
        assert published[0].data.reason.value == "not_our_field" and published[0].data.participant_id == "ent"

        await store.project(new_event("match.retracted.v1", MatchRetractedData(
            match_id="m_001", kind=Kind.TECHNOLOGY, offer=matches[0].offer, need=matches[0].need,
            reason=RetractReason.DECLINED, for_participant="ent"), source=SOURCE))
        mine = (await client.get("/matches/m_001", headers=ent)).json()
        uni = _auth(issue_token(settings, "uni1", PartyType.UNIVERSITY)[0])
        theirs = (await client.get("/matches/m_001", headers=uni)).json()
        assert mine["status"] == "retracted" and theirs["status"] == "active"

        consortia = (await client.get("/consortia", headers=ent)).json()
        assert [c["consortium"]["consortium_id"] for c in consortia["items"]] == ["c_1"]
        assert (await client.get("/consortia", headers=uni)).json()["items"] == []


async def test_a_participants_pages_are_id_lookups(registry_topics, make_settings, mongo_commands):
    settings = make_settings(Settings)
    app = create_app(settings)
    async with running(app) as client:
        store = app.state.store
        for n in range(30):
            await store.project(new_event("match.created.v1", _match(n, "ent", round(0.5 + n / 100, 2),
                                                                     Kind.CAPITAL if n % 3 else Kind.TECHNOLOGY),
                                          source=SOURCE))
        await store.project(new_event("consortium.proposed.v1", ConsortiumData(
            consortium_id="c_1", technology_match_id="m_000", score=0.4, missing_roles=[ConsortiumRole.POLICY],
            members=[ConsortiumMember(role=ConsortiumRole.TECHNOLOGY_SEEKER, participant_id="ent",
                                      party_type=PartyType.ENTERPRISE, item_id="n0")]), source=SOURCE))
        start = datetime(2030, 7, 1, 9, tzinfo=UTC)
        await store.project(new_event("agenda.published.v1", AgendaData(
            session_id="s1", version=1, slots=[AgendaSlot(index=0, starts_at=start, ends_at=start + timedelta(minutes=20))],
            meetings=[Meeting(slot=0, table=0, participant_ids=("ent", "uni1"))]), source=SOURCE))
        ent = _auth(issue_token(settings, "ent", PartyType.ENTERPRISE)[0])
        mongo_commands.clear()
        first = (await client.get("/matches", params={"limit": 5}, headers=ent)).json()
        # a page of matches is the participant's listing (one text: what the filters read), then the
        # page's matches by _id
        assert [(name, collection) for name, collection, _ in mongo_commands.filters()] == [
            ("find", "matches_by_participant"), *[("find", "matches")] * 5]
        listing = await store.db["matches_by_participant"].find_one({"_id": "ent"})
        assert set(listing) == {"_id", "listing"} and len(json.loads(listing["listing"])) == 30
        second = (await client.get("/matches", params={"limit": 5, "cursor": first["next_cursor"]},
                                   headers=ent)).json()
        assert [m["match_id"] for m in first["items"] + second["items"]] == [f"m_{n:03d}" for n in range(29, 19, -1)]
        assert first["items"][0] == (await client.get("/matches/m_029", headers=ent)).json()
        # read again: the listing alone, each match kept with its entry's stamp; one changed since is read
        await store.project(new_event("match.updated.v1", _match(27, "ent", 0.775), source=SOURCE))
        mongo_commands.clear()
        again = (await client.get("/matches", params={"limit": 5}, headers=ent)).json()
        assert [(name, collection) for name, collection, _ in mongo_commands.filters()] == [
            ("find", "matches_by_participant"), ("find", "matches")]
        assert [(m["match_id"], m["score"]) for m in again["items"]] == [
            ("m_029", 0.79), ("m_028", 0.78), ("m_027", 0.775), ("m_026", 0.76), ("m_025", 0.75)]
        # declined by the viewer (no new stamp): their page says so at once
        await store.project(new_event("match.retracted.v1", MatchRetractedData(
            match_id="m_026", kind=Kind.CAPITAL, offer=_side("o26", "uni26", PartyType.UNIVERSITY),
            need=_side("n26", "ent", PartyType.ENTERPRISE), reason=RetractReason.DECLINED, for_participant="ent"),
            source=SOURCE))
        mongo_commands.clear()
        declined = (await client.get("/matches", params={"limit": 5}, headers=ent)).json()
        assert [(m["match_id"], m["status"]) for m in declined["items"]][3] == ("m_026", "retracted")
        assert [(name, collection) for name, collection, _ in mongo_commands.filters()] == [
            ("find", "matches_by_participant")]
        first = declined
        # a listing of the layout before the text (an entry per match, most with a copy of it) reads the
        # same, the copies without look-ups; the next write of it folds it into the text
        stored = {d["_id"]: d async for d in store.db["matches"].find({})}
        listing = await store.db["matches_by_participant"].find_one({"_id": "ent"})
        legacy = {i: {**{k: v for k, v in e.items() if k != "stamp"}, "reason": None,
                      "updated_at": stored[i]["updated_at"],
                      **({"data_json": stored[i]["data_json"]} if i != "m_029" else {})}
                  for i, e in json.loads(listing["listing"]).items()}
        await store.db["matches_by_participant"].replace_one({"_id": "ent"}, {"entries": legacy})
        mongo_commands.clear()
        assert (await client.get("/matches", params={"limit": 5}, headers=ent)).json() == first
        assert [(name, collection) for name, collection, _ in mongo_commands.filters()] == [
            ("find", "matches_by_participant"), ("find", "matches")]  # m_029 had no copy
        await store.project(new_event("match.created.v1", _match(30, "ent", 0.1, Kind.CAPITAL), source=SOURCE))
        folded = await store.db["matches_by_participant"].find_one({"_id": "ent"})
        assert set(folded) == {"_id", "listing"} and len(json.loads(folded["listing"])) == 31
        assert (await client.get("/matches", params={"limit": 5}, headers=ent)).json()["items"] == first["items"]
        technology = (await client.get("/matches", params={"kind": "technology", "min_score": 0.7, "status": "active"},
                                       headers=ent)).json()
        assert [m["match_id"] for m in technology["items"]] == ["m_027", "m_024", "m_021"]
        consortia = (await client.get("/consortia", params={"status": "active"}, headers=ent)).json()
        assert [c["consortium"]["consortium_id"] for c in consortia["items"]] == ["c_1"]
        agenda = (await client.get("/agendas/s1", headers=ent)).json()
        assert [m["participant_ids"] for m in agenda["meetings"]] == [["ent", "uni1"]]
        assert mongo_commands.filters() and mongo_commands.scans() == []


def _team(consortium_id: str, score: float, *members: str) -> ConsortiumData:
    return ConsortiumData(consortium_id=consortium_id, technology_match_id=f"m_{consortium_id}", score=score,
                          missing_roles=[ConsortiumRole.POLICY],
                          members=[ConsortiumMember(role=ConsortiumRole.CAPITAL, participant_id=p,
                                                    party_type=PartyType.INVESTOR, item_id=f"o_{p}") for p in members])


async def test_a_participants_consortia_are_their_listing_alone_and_a_member_left_out_drops_them(
        registry_topics, make_settings, mongo_commands):
    settings = make_settings(Settings)
    app = create_app(settings)
    async with running(app) as client:
        store = app.state.store
        for team in (_team("c_1", 0.6, "ent", "uni", "inv"), _team("c_2", 0.8, "ent"), _team("c_3", 0.5, "ent")):
            await store.project(new_event("consortium.proposed.v1", team, source=SOURCE))
        who = {p: _auth(issue_token(settings, p, PartyType.ENTERPRISE)[0]) for p in ("ent", "uni", "inv", "pol")}

        async def listed(participant: str, read: int, **params: str) -> list[tuple[str, str, list[str]]]:
            """The page, having read the listing and ``read`` consortia by _id (the others kept)."""
            mongo_commands.clear()
            items = (await client.get("/consortia", params=params, headers=who[participant])).json()["items"]
            assert [(name, collection) for name, collection, _ in mongo_commands.filters()] == [
                ("find", "consortia_by_participant"), *[("find", "consortia")] * read]
            return [(c["consortium"]["consortium_id"], c["status"],
                     [m["participant_id"] for m in c["consortium"]["members"]]) for c in items]

        assert await listed("ent", 3, status="active") == [
            ("c_2", "active", ["ent"]), ("c_1", "active", ["ent", "uni", "inv"]), ("c_3", "active", ["ent"])]
        assert await listed("inv", 0) == [("c_1", "active", ["ent", "uni", "inv"])]  # kept from ent's page
        # a later proposal leaves the investor out; in one batch, another comes in and goes again
        await store.project_many([
            new_event("consortium.updated.v1", _team("c_1", 0.7, "ent", "uni"), source=SOURCE),
            new_event("consortium.updated.v1", _team("c_3", 0.5, "ent", "pol"), source=SOURCE),
            new_event("consortium.updated.v1", _team("c_3", 0.55, "ent"), source=SOURCE),
            new_event("consortium.retracted.v1", ConsortiumRetractedData(
                consortium_id="c_2", technology_match_id="m_c_2", participant_ids=["ent"], reason="outranked"),
                source=SOURCE)])
        assert await listed("inv", 0) == [] and await listed("pol", 0) == []
        assert await listed("uni", 1) == [("c_1", "active", ["ent", "uni"])]  # changed since it was kept
        assert await listed("ent", 1, status="active") == [("c_1", "active", ["ent", "uni"]),
                                                           ("c_3", "active", ["ent"])]
        assert await listed("ent", 1, status="retracted") == [("c_2", "retracted", ["ent"])]
        mongo_commands.clear()
        retracted = (await client.get("/consortia", params={"status": "retracted"}, headers=who["ent"])).json()
        assert retracted["items"][0]["retract_reason"] == "outranked"
        # a listing of the layout before the text, with a copy of c_3 and none of c_1: c_1 is read by _id
        listing = json.loads((await store.db["consortia_by_participant"].find_one({"_id": "ent"}))["listing"])
        c_3 = await store.db["consortia"].find_one({"_id": "c_3"})
        listing["c_3"].update(data_json=c_3["data_json"], reason=None, updated_at=c_3["updated_at"])
        await store.db["consortia_by_participant"].replace_one({"_id": "ent"}, {"entries": {
            i.replace("_", "-"): {k: v for k, v in e.items() if k != "stamp"} for i, e in listing.items()}})
        mongo_commands.clear()
        before = (await client.get("/consortia", params={"status": "active"}, headers=who["ent"])).json()["items"]
        assert [c["consortium"]["consortium_id"] for c in before] == ["c_1", "c_3"]
        assert [(name, collection) for name, collection, _ in mongo_commands.filters()] == [
            ("find", "consortia_by_participant"), ("find", "consortia")]
        assert mongo_commands.filters() and mongo_commands.scans() == []
