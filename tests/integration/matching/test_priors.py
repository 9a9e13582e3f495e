"""Deal-outcome priors through the real broker: a ``conversion.prior_updated.v1`` record on the
``conversion-priors`` topic re-ranks the matches of its field and party-type pair."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from shared import topics
from shared.auth import issue_token
from shared.events import decode
from shared.events.deals import PRIOR_CAP, ConversionPriorData
from shared.events.matching import match_id
from shared.party_types import PartyType
from tests.integration.matching.conftest import MatchingProcess, Publisher
from tests.support import read_records, wait_for
from tests.unit.matching.factories import need, offer

pytestmark = pytest.mark.integration


async def test_a_prior_on_the_topic_re_ranks_an_existing_pair(registry_topics, matching_process: MatchingProcess,
                                                              publisher: Publisher):
    settings = matching_process.settings
    await asyncio.to_thread(matching_process.start)
    # a university's and an enterprise's offer alike for one need: the university's 0.002 ahead (party fit)
    tech_need = need("n", owner="buyer", fields=["5G.OPT"], zh="射频芯片 基站 天线 光纤")
    uni = offer("uni", owner="lab", fields=["5G.RAN"], zh="射频芯片 基站 天线", party=PartyType.UNIVERSITY)
    ent = offer("ent", owner="maker", fields=["5G.RAN"], zh="射频芯片 基站 天线", party=PartyType.ENTERPRISE)
    await publisher.item(uni)
    await publisher.item(ent)
    # both offers handled before the need, so both pairs are scored with the same text statistics
    await read_records(settings.kafka_bootstrap_servers, topics.MATCHING_WORK.full_name(settings.topic_prefix),
                       count=2)
    await publisher.item(tech_need)
    matches = topics.MATCHES.full_name(settings.topic_prefix)
    created = {e.data.offer.item_id: e.data for e in
               (decode(r.value) for r in await read_records(settings.kafka_bootstrap_servers, matches, count=2))}
    assert {m.match_id for m in created.values()} == {match_id("uni", "n"), match_id("ent", "n")}
    assert round(created["uni"].score - created["ent"].score, 6) == 0.002

    # deals of 5G between enterprises tend to sign: the enterprise's offer moves up by the ranking
    # bound, half the published cap (services/matching/domain/priors.py, WEIGHT)
    await publisher.publish("conversion.prior_updated.v1", ConversionPriorData(
        field="5G", offer_party_type=PartyType.ENTERPRISE, need_party_type=PartyType.ENTERPRISE, signed=8,
        closed={}, conversion=0.9, baseline=0.5, prior=PRIOR_CAP, version=1), key="5G|enterprise>enterprise")
    events = [decode(r.value) for r in await read_records(settings.kafka_bootstrap_servers, matches, count=3)]
    (updated,) = [e for e in events if e.type == "match.updated.v1"]  # the three partitions interleave
    assert updated.data.match_id == match_id("ent", "n")
    assert updated.data.score == round(created["ent"].score + 0.025, 6)
    part = updated.data.features[-1]
    assert (part.name, part.value, part.weight, part.contribution) == ("conversion", 1.0, 0.025, 0.025)
    assert updated.data.features[:-1] == created["ent"].features
    assert updated.data.explanation.en[-1] == "Deals in this field and party pairing tend to sign: +2.5 points"

    token, _ = issue_token(settings, "buyer", PartyType.ENTERPRISE)
    async with httpx.AsyncClient(base_url=matching_process.url, headers={"Authorization": f"Bearer {token}"}) as api:
        async def ranked():
            items = (await api.get("/matches")).json()["items"]
            order = [(i["offer"]["item_id"], i["score"]) for i in items]
            return order if len(order) == 2 and order[0][0] == "ent" else None

        assert await wait_for(ranked, what="the enterprise's offer ranked first") == [
            ("ent", updated.data.score), ("uni", created["uni"].score)]
