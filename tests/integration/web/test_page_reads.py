"""What the web app's match, team and inbox pages cost the store, over the real matching and listing
services (broker and store): a page of 20 matches and the page of teams are each one ``_id``
look-up on matching (the participant's listing, which holds each match's and consortium's copy),
plus listing's look-ups of the names shown (one each); the pages of
matches link forward and back through matching's cursors and rank on across pages, and the inbox
likewise (20 entries a page, a few look-ups on notification). The home page counts the visitor's
items without reading them, and a session's page asks only for what it shows."""

from __future__ import annotations

import re
from contextlib import AsyncExitStack

import httpx
import pytest

from services.events_sessions.app import create_app as create_events_sessions
from services.events_sessions.settings import Settings as EventsSessionsSettings
from services.listing.app import create_app as create_listing
from services.listing.settings import Settings as ListingSettings
from services.matching.app import create_app as create_matching
from services.matching.ledger import SOURCE
from services.matching.settings import Settings as MatchingSettings
from services.notification.app import create_app as create_notification
from services.notification.domain import inbox
from services.web.app import create_app as create_web
from services.web.settings import Settings as WebSettings
from shared.auth import Role, issue_token
from shared.events import new_event
from shared.events.common import LocalizedText
from shared.events.matching import (
    ConsortiumData, ConsortiumMember, ConsortiumRole, Explanation, FeatureScore, MatchData, MatchSide,
)
from shared.party_types import Kind, PartyType
from tests.browser.conftest import serving
from tests.integration.events_sessions.conftest import Clock, session_body
from tests.integration.listing.conftest import item_body, register
from tests.integration.notification.conftest import auth, publish
from tests.support import free_port, running, wait_for
from tests.unit.notification import samples

pytestmark = pytest.mark.integration
CSRF = "csrf-page-reads"
ME = "p_ent"
PAGE_LINK = re.compile(r'<a href="([^"]+)" rel="(prev|next)">')
TIMING = re.compile(r'([a-z_]+);dur=([0-9.]+)(?:;desc="([^"]*)")?')


def _match(n: int, need_owner: str = ME) -> MatchData:
    side = {"title": LocalizedText(zh=f"条目{n}", en=f"Item {n}")}
    return MatchData(match_id=f"m_{n:03d}", kind=Kind.TECHNOLOGY, score=round(0.3 + n / 100, 2),
                     offer=MatchSide(item_id=f"o{n}", owner_id=f"p_uni{n % 5}", party_type=PartyType.UNIVERSITY, **side),
                     need=MatchSide(item_id=f"n{n}", owner_id=need_owner, party_type=PartyType.ENTERPRISE, **side),
                     features=[FeatureScore(name="field", value=1, weight=0.3, contribution=0.3)],
                     explanation=Explanation(zh=["领域：5G通信"], en=["Field: 5G communications"]))


def _team(n: int) -> ConsortiumData:
    members = [ConsortiumMember(role=role, participant_id=pid, party_type=party, item_id=f"i{n}{pid}")
               for role, pid, party in ((ConsortiumRole.TECHNOLOGY_SEEKER, ME, PartyType.ENTERPRISE),
                                        (ConsortiumRole.TECHNOLOGY_PROVIDER, f"p_uni{n % 5}", PartyType.UNIVERSITY),
                                        (ConsortiumRole.CAPITAL, f"p_inv{n % 3}", PartyType.INVESTOR))]
    return ConsortiumData(consortium_id=f"c_{n:03d}", technology_match_id=f"m_{n:03d}", members=members,
                          missing_roles=[ConsortiumRole.SERVICE, ConsortiumRole.POLICY], score=0.5 + n / 100)


async def test_a_page_of_matches_and_the_teams_are_one_lookup_on_matching(make_settings, registry_topics,
                                                                          mongo_commands):
    matching_settings = make_settings(MatchingSettings)
    matching = create_matching(matching_settings)
    async with AsyncExitStack() as stack:
        matching_url = await stack.enter_async_context(serving(matching, free_port()))
        listing_url = await stack.enter_async_context(serving(create_listing(make_settings(ListingSettings)),
                                                              free_port()))
        web = create_web(make_settings(WebSettings, matching_url=matching_url, listing_url=listing_url))
        app = await stack.enter_async_context(running(web))
        await matching.state.store.project_many([
            *(new_event("match.created.v1", _match(n), source=SOURCE) for n in range(45)),
            *(new_event("consortium.proposed.v1", _team(n), source=SOURCE) for n in range(12))])
        headers = {"cookie": f"hardtech_session={issue_token(matching_settings, ME, PartyType.ENTERPRISE)[0]}; "
                             f"hardtech_csrf={CSRF}; hardtech_lang=en"}

        async def shown(path: str) -> tuple[list[str], dict[str, str], dict[str, int]]:
            mongo_commands.clear()
            answer = await app.get(path, headers=headers)
            assert answer.status_code == 200, answer.text[-1000:]
            ranks = re.findall(r'<span class="rank">No\. (\d+)</span>', answer.text)
            links = {rel: href.replace("&amp;", "&") for href, rel in PAGE_LINK.findall(answer.text)}
            return ranks, links, mongo_commands.lookups()

        ranks, links, lookups = await shown("/matches")
        assert ranks == [str(n) for n in range(1, 21)] and set(links) == {"next"}
        # matching's listing of the participant, the page's matches by _id, and the names of the five
        # counterparts (listing, by _id; none of them has signed up here, so none is kept by the app
        # and each page asks again)
        assert lookups == {"matches_by_participant": 1, "matches": 20, "participants": 5}
        ranks, links, lookups = await shown(links["next"])
        assert ranks == [str(n) for n in range(21, 41)] and set(links) == {"prev", "next"}
        assert lookups == {"matches_by_participant": 1, "matches": 20, "participants": 5}
        second = links
        ranks, links, lookups = await shown(links["next"])
        assert ranks == [str(n) for n in range(41, 46)] and set(links) == {"prev"}
        assert "41–45 of 45 active matches" in (await app.get(second["next"], headers=headers)).text
        assert (await shown(links["prev"]))[0] == [str(n) for n in range(21, 41)]
        assert (await shown(second["prev"]))[0] == [str(n) for n in range(1, 21)]

        mongo_commands.clear()
        teams = await app.get("/teams", headers=headers)
        assert teams.status_code == 200 and teams.text.count('class="card team"') == 12, teams.text[-2000:]
        assert mongo_commands.lookups() == {"consortia_by_participant": 1, "consortia": 12,
                                            "participants": 9}  # the listing, each team by _id, every member
        assert mongo_commands.scans() == []


async def test_a_page_of_the_inbox_is_twenty_entries_in_a_few_lookups(make_settings, notification_settings, producer,
                                                                   mongo_commands):
    settings = notification_settings()
    await publish(producer, settings, *(samples.match_created(need_owner=ME, match_id=f"m_{n}") for n in range(45)))
    async with AsyncExitStack() as stack:
        notification = create_notification(settings)
        notification_url = await stack.enter_async_context(serving(notification, free_port()))
        app = await stack.enter_async_context(running(create_web(make_settings(WebSettings,
                                                                               notification_url=notification_url))))
        api = await stack.enter_async_context(httpx.AsyncClient(base_url=notification_url))

        async def delivered() -> bool:
            return (await api.get("/inbox/unread-count", headers=auth(settings, ME))).json()["unread"] == 45

        await wait_for(delivered, timeout=60, what="45 entries in the inbox")
        headers = {"cookie": f"hardtech_session={issue_token(settings, ME, PartyType.ENTERPRISE)[0]}; "
                             f"hardtech_csrf={CSRF}; hardtech_lang=en"}

        async def shown(path: str) -> tuple[int, dict[str, str], dict[str, int]]:
            mongo_commands.clear()
            answer = await app.get(path, headers=headers)
            assert answer.status_code == 200, answer.text[-1000:]
            links = {rel: href.replace("&amp;", "&") for href, rel in PAGE_LINK.findall(answer.text)}
            return answer.text.count('class="card entry'), links, mongo_commands.lookups()

        # entries 1-20 and 21-40 are full buckets, 41-45 the newest: a page reads the newest tip
        # (the service wrote it, so it knows its version and reads no hint) and the next version
        # (missing), the buckets its window reaches that the tip
        # does not hold (a tip holds the buckets its write filled: how many depends on the fetches
        # the 45 records came in), and the read flags of each bucket shown
        tip = await notification.state.store.inbox_head(ME)
        in_tip = {inbox.bucket_of(n) for n in tip.kept}

        def expected(reached: set[int], flags: int) -> dict[str, int]:
            buckets = len(reached - in_tip)
            return {"inbox_tips": 2, **({"inbox_buckets": buckets} if buckets else {}),
                    "inbox_flags": flags}

        entries, links, lookups = await shown("/inbox")
        assert (entries, set(links), lookups) == (20, {"next"}, expected({0, 1}, 3))
        entries, second, lookups = await shown(links["next"])
        assert (entries, set(second), lookups) == (20, {"prev", "next"}, expected({0, 1}, 2))
        entries, third, lookups = await shown(second["next"])
        assert (entries, set(third), lookups) == (5, {"prev"}, expected({0}, 1))
        assert (await shown(third["prev"]))[1] == second and (await shown(second["prev"]))[1] == links
        assert mongo_commands.scans() == []


async def test_a_session_page_asks_only_for_what_it_shows(make_settings, registry_topics, mongo_commands):
    """A session's page reads the session and the visitor's registration (events_sessions); while
    registration is open, the visitor's open offers (listing) before they register, their matches
    and the counterparts' names (matching, listing) once registered; once it is closed, nothing else."""
    sessions_settings = make_settings(EventsSessionsSettings)
    matching = create_matching(make_settings(MatchingSettings))
    async with AsyncExitStack() as stack:
        sessions_url = await stack.enter_async_context(
            serving(create_events_sessions(sessions_settings, clock=Clock()), free_port()))
        matching_url = await stack.enter_async_context(serving(matching, free_port()))
        listing_url = await stack.enter_async_context(serving(create_listing(make_settings(ListingSettings)),
                                                              free_port()))
        app = await stack.enter_async_context(running(create_web(make_settings(
            WebSettings, events_sessions_url=sessions_url, matching_url=matching_url, listing_url=listing_url))))
        api = await stack.enter_async_context(httpx.AsyncClient(base_url=sessions_url))
        await matching.state.store.project_many([new_event("match.created.v1", _match(n), source=SOURCE)
                                                 for n in range(25)])
        organiser = {"authorization": "Bearer " + issue_token(sessions_settings, "p_gov", PartyType.GOVERNMENT,
                                                              frozenset({Role.ORGANISER}))[0]}
        token = issue_token(sessions_settings, ME, PartyType.ENTERPRISE)[0]
        created = await api.post("/sessions", json=session_body(), headers=organiser)
        assert created.status_code == 201, created.text
        path = f"/sessions/{created.json()['id']}"
        headers = {"cookie": f"hardtech_session={token}; hardtech_csrf={CSRF}; hardtech_lang=en"}

        async def shown() -> tuple[str, dict[str, int], dict[str, str]]:
            mongo_commands.clear()
            answer = await app.get(path, headers=headers)
            assert answer.status_code == 200, answer.text[-1000:]
            waited = {name: desc for name, _, desc in TIMING.findall(answer.headers["server-timing"]) if desc}
            return answer.text, mongo_commands.lookups(), waited

        page, lookups, waited = await shown()  # open, not registered: the form with the visitor's offers
        assert 'name="listing_ids"' not in page and 'action="' + path + '/register"' in page  # (none posted)
        assert set(waited) == {"events_sessions", "listing"} and "matches_by_participant" not in lookups
        assert lookups["sessions"] == 2
        registered = await api.post(f"{path}/registrations", json={"role": "attendee"},
                                    headers={"authorization": f"Bearer {token}"})
        assert registered.status_code == 201, registered.text
        page, lookups, waited = await shown()  # registered: the counterparts of the matches to ask to meet
        assert page.count('<option value="p_uni') == 5 and set(waited) == {"events_sessions", "matching", "listing"}
        # the listing of matches, then each of the 25 active matches by _id (matching's page layout)
        assert lookups == {"sessions": 2, "matches_by_participant": 1, "matches": 25, "participants": 5}
        assert (await api.post(f"{path}/close", headers=organiser)).status_code == 200
        page, lookups, waited = await shown()  # closed: the session and the registration alone
        assert 'name="target_id"' not in page and set(waited) == {"events_sessions"}
        assert lookups == {"sessions": 2}
        assert all(desc == "requests 2, round trips 1" for desc in waited.values())
        assert mongo_commands.scans() == []


async def test_the_home_page_counts_the_items_without_reading_them(make_settings, notification_settings,
                                                                   registry_topics, mongo_commands):
    """The home page: the three best matches and how many (matching), the unread count
    (notification), then the profile, how many offers and needs (listing's index, no item read) and
    the three counterparts' names (listing), each service once."""
    matching = create_matching(make_settings(MatchingSettings))
    async with AsyncExitStack() as stack:
        matching_url = await stack.enter_async_context(serving(matching, free_port()))
        listing_url = await stack.enter_async_context(serving(create_listing(make_settings(ListingSettings)),
                                                              free_port()))
        notification_url = await stack.enter_async_context(serving(create_notification(notification_settings()),
                                                                   free_port()))
        app = await stack.enter_async_context(running(create_web(make_settings(
            WebSettings, matching_url=matching_url, listing_url=listing_url, notification_url=notification_url))))
        listing = await stack.enter_async_context(httpx.AsyncClient(base_url=listing_url))
        me = await register(listing, "enterprise")
        for n in range(3):
            posted = await listing.post("/demands", headers=me.headers,
                                        json=item_body(title={"en": f"Need {n}"}, keywords=[], description=None))
            assert posted.status_code == 201, posted.text
        await matching.state.store.project_many([
            new_event("match.created.v1", _match(n, need_owner=me.id), source=SOURCE) for n in range(12)])
        token = me.headers["Authorization"].removeprefix("Bearer ")
        headers = {"cookie": f"hardtech_session={token}; hardtech_csrf={CSRF}; hardtech_lang=en"}
        for read in ("the first time", "again"):
            mongo_commands.clear()
            answer = await app.get("/", headers=headers)
            assert answer.status_code == 200, answer.text[-1000:]
            assert "0 offers" in answer.text and "3 needs" in answer.text and "12 matches" in answer.text
            waited = {name: desc for name, _, desc in TIMING.findall(answer.headers["server-timing"]) if desc}
            assert waited == {"matching": "requests 1, round trips 1", "notification": "requests 1, round trips 1",
                              "listing": "requests 3, round trips 1"}
            # the profile and the three names by _id, the owner term's two heads and one posting (no
            # item); the listing of matches and the three best by _id (the first time: matching keeps
            # them, read again only when their entry's stamp changes); the unread count of an empty inbox (no tip to remember)
            assert mongo_commands.lookups() == {"participants": 1 + 3, "search_heads": 2, "search_postings": 1,
                                                "matches_by_participant": 1,
                                                **({"matches": 3} if read == "the first time" else {}),
                                                "inbox_heads": 1, "inbox_tips": 2, "inbox_reads": 1}, read
        assert mongo_commands.scans() == []
