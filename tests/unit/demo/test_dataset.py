"""The shipped demo data set: big enough, valid against the event schemas, consistent in its
references, rich in real matches, and exactly what the generator produces for the default seed."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hardtech.demo.dataset import DEFAULT_PATH, DEFAULT_SEED, generate, load, main, render
from hardtech.demo.model import Dataset, Item
from hardtech.demo.templates import SUBFIELDS
from shared.events.common import Language
from shared.events.listing import ItemData, ItemStatus, ParticipantData
from shared.events.sessions import Role, SessionData
from shared.party_types import ORGANISER_TYPES, Kind, PartyType, Side, may_post
from shared.regions import HIGH_TECH_ZONES
from shared.regions import is_known as is_region
from shared.taxonomy import FIELDS, SEED_FIELDS, top_level
from shared.taxonomy import is_known as is_field

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def data() -> Dataset:
    return load()


def test_the_file_on_disk_is_what_the_default_seed_generates() -> None:
    assert DEFAULT_PATH.read_text(encoding="utf-8") == render(generate(DEFAULT_SEED)), (
        "hardtech/demo/data/dataset.json is stale: run `python -m hardtech.demo.dataset`"
    )


def test_the_file_stays_small() -> None:
    assert DEFAULT_PATH.stat().st_size < 1_500_000


def test_the_command_writes_a_seeded_data_set_that_loads_back(tmp_path: Path) -> None:
    target = tmp_path / "demo.json"
    main(["--seed", "7", "--output", str(target)])
    loaded = load(target)
    assert loaded.seed == 7
    assert render(loaded) == target.read_text(encoding="utf-8"), "what is written loads back unchanged"
    assert loaded != load(), "another seed gives another data set"


def test_counts_party_types_and_languages(data: Dataset) -> None:
    assert len(data.participants) >= 200
    assert set(Counter(p.party_type for p in data.participants)) == set(PartyType)
    english = sum(p.language is Language.EN for p in data.participants) / len(data.participants)
    assert 0.18 <= english <= 0.32
    assert len(data.items) >= 600
    languages = Counter((bool(i.title.zh), bool(i.title.en)) for i in data.items)
    assert languages[(True, True)] > len(data.items) / 2, "most items are bilingual"
    assert languages[(True, False)] >= 30 and languages[(False, True)] >= 30, "some only zh, some only en"
    for item in data.items:
        assert item.description is not None
        assert (bool(item.description.zh), bool(item.description.en)) == (bool(item.title.zh), bool(item.title.en))


def test_the_seed_fields_and_other_fields_are_covered(data: Dataset) -> None:
    by_field = Counter(top_level(c) for i in data.items for c in i.fields)
    for field in SEED_FIELDS:
        assert by_field[field] >= 50, field
    assert sum(n for f, n in by_field.items() if f not in SEED_FIELDS) >= 50
    assert {(i.side, i.kind) for i in data.items} == {(s, k) for s in Side for k in Kind}


def test_every_code_is_known(data: Dataset) -> None:
    for p in data.participants:
        assert is_region(p.region), p.key
        assert p.fields and all(is_field(c) for c in p.fields), p.key
    for i in data.items:
        assert all(is_field(c) and "." in c for c in i.fields), i.key
        assert i.region is not None and is_region(i.region), i.key
        assert all(is_region(r) for r in i.region_preference), i.key
    for s in data.sessions:
        assert is_region(s.city) and all(is_field(c) for c in s.fields)
        assert s.high_tech_zone is not None and HIGH_TECH_ZONES[s.high_tech_zone].city == s.city
    assert all(is_field(c) for r in data.registrations for c in r.interests)


def test_who_may_post_what_is_respected(data: Dataset) -> None:
    types = {p.key: p.party_type for p in data.participants}
    for item in data.items:
        assert may_post(types[item.owner], item.side, item.kind), item.key


def test_participants_validate_as_participant_events(data: Dataset) -> None:
    keys = [p.key for p in data.participants]
    assert len(set(keys)) == len(keys)
    emails = [p.email for p in data.participants]
    assert len(set(emails)) == len(emails)
    for p in data.participants:
        ParticipantData(id=p.key, **p.as_request())
        assert re.fullmatch(r"[a-z0-9.\-]+@example\.(org|com)", p.email), p.email


def test_items_validate_as_item_events(data: Dataset) -> None:
    types = {p.key: p.party_type for p in data.participants}
    for item in data.items:
        event = ItemData(id=item.key, side=item.side, owner_id=item.owner, owner_party_type=types[item.owner],
                         status=ItemStatus.OPEN, created_at=NOW, updated_at=NOW, **item.as_request())
        assert event.fields == item.fields
        if item.kind is Kind.TECHNOLOGY:
            assert item.trl is not None and item.transfer_modes and item.amount is not None


def test_items_stay_within_the_listing_api_limits(data: Dataset) -> None:
    """At most 10 field codes, 20 keywords or patents of 50 characters, titles of 200 characters."""
    for item in data.items:
        assert len(item.fields) <= 10 and len(item.region_preference) <= 20, item.key
        for strings in (item.keywords, item.patents):
            assert len(strings) <= 20 and all(0 < len(s) <= 50 for s in strings), item.key
        assert all(len(text) <= 200 for text in (item.title.zh, item.title.en) if text), item.key
    for p in data.participants:
        assert all(len(text) <= 200 for t in (p.organisation, p.display_name) for text in (t.zh, t.en) if text)


def test_patent_numbers_are_well_formed(data: Dataset) -> None:
    numbers = [n for i in data.items for n in i.patents]
    assert len(numbers) >= 200
    for number in numbers:
        if number.startswith("PCT/"):
            assert re.fullmatch(r"PCT/[A-Z]{2}20\d\d/\d{6}", number), number
            continue
        assert re.fullmatch(r"CN20\d\d1\d{7}\.[0-9X]", number), number
        digits, check = number[2:14], number[-1]
        total = sum(int(d) * w for d, w in zip(digits, (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5), strict=True)) % 11
        assert check == ("X" if total == 10 else str(total)), number


def test_sessions_validate_as_session_events(data: Dataset) -> None:
    assert {(s.city, s.high_tech_zone, tuple(s.fields)) for s in data.sessions} == {
        ("CN-SC.CD", "CDHT", ("5G",)), ("CN-GD.SZ", "SZHT", ("BIO",)), ("CN-JS.SZ", "SIP", ("IMFG",)),
    }
    for s in data.sessions:
        assert data.participant(s.organiser).party_type in ORGANISER_TYPES
        event = SessionData(id=s.key, organiser_id=s.organiser, **s.as_request(NOW))
        assert event.registration_opens_at < NOW < event.registration_closes_at < event.starts_at < event.ends_at
        plan = event.meeting_plan
        assert plan is not None and event.starts_at < plan.first_slot_at
        assert plan.first_slot_at + timedelta(minutes=plan.slots * plan.slot_minutes) <= event.ends_at


def test_registrations_are_consistent(data: Dataset) -> None:
    items = {i.key: i for i in data.items}
    for s in data.sessions:
        registered = [r for r in data.registrations if r.session == s.key]
        people = [r.participant for r in registered]
        assert 30 <= len(registered) <= 60, s.key
        assert len(set(people)) == len(people), "nobody registers twice"
        assert s.organiser not in people
        roles = Counter(r.role for r in registered)
        assert 0 < roles[Role.PRESENTER] <= s.capacity.presenters and 0 < roles[Role.ATTENDEE] <= s.capacity.attendees
        types = Counter(data.participant(p).party_type for p in people)
        assert all(types[t] <= quota for t, quota in s.quotas.items())
        for r in registered:
            assert r.interests and all(top_level(c) in s.fields for c in r.interests)
            if r.role is Role.PRESENTER:
                assert r.listings, r.participant
                for key in r.listings:
                    assert items[key].owner == r.participant and items[key].side is Side.OFFER
                    assert any(top_level(c) in s.fields for c in items[key].fields)
            else:
                assert not r.listings


def test_meeting_requests_stay_within_their_session(data: Dataset) -> None:
    registered = {(r.session, r.participant) for r in data.registrations}
    pairs = [(m.session, m.requester, m.target) for m in data.meeting_requests]
    assert len(set(pairs)) == len(pairs)
    for m in data.meeting_requests:
        assert m.requester != m.target
        assert (m.session, m.requester) in registered and (m.session, m.target) in registered
    for s in data.sessions:
        preferences = Counter(m.preference for m in data.meeting_requests if m.session == s.key)
        assert sum(preferences.values()) >= 30, s.key
        assert preferences["must_meet"] and preferences["would_like"]
    assert any(m.preference == "decline" for m in data.meeting_requests)


FIELD_NAMES = {name for f in FIELDS.values() for name in (f.zh, f.en)}


def fits(need: Item, offer: Item) -> bool:
    """A genuine correspondence: same kind and sub-field, a shared term beyond the field's name,
    and the offer's TRL, price and transfer modes within what the need accepts."""
    assert need.amount is not None and offer.amount is not None
    return (need.kind is offer.kind and bool(set(need.fields) & set(offer.fields))
            and bool(set(need.keywords) & set(offer.keywords) - FIELD_NAMES)
            and (need.trl is None or (offer.trl or 0) >= need.trl)
            and (need.amount.max or 0) >= (offer.amount.min or 0)
            and bool(set(need.transfer_modes) & set(offer.transfer_modes)))


@pytest.mark.parametrize("kind, least", [(Kind.TECHNOLOGY, 120), (Kind.CAPITAL, 20), (Kind.SERVICE, 15), (Kind.POLICY, 8)])
def test_many_needs_have_an_offer_that_genuinely_fits(data: Dataset, kind: Kind, least: int) -> None:
    offers = [i for i in data.items if i.side is Side.OFFER and i.kind is kind]
    needs = [i for i in data.items if i.side is Side.NEED and i.kind is kind]
    answered = [n for n in needs if any(fits(n, o) and o.owner != n.owner for o in offers)]
    assert len(answered) >= least
    assert len(answered) < len(needs), "not every need is answered: matching must discriminate"


def test_every_sub_field_has_templates_that_fit_its_technologies() -> None:
    assert set(SUBFIELDS) == {code for code, f in FIELDS.items() if f.parent}
    for sub, table in SUBFIELDS.items():
        assert len(table.techs) >= 2, sub
        for tech in table.techs:
            assert tech.keywords and table.uses_of(tech) and table.specs_of(tech), (sub, tech.en)


def test_each_session_has_matches_and_consortium_roles_among_its_registrants(data: Dataset) -> None:
    for s in data.sessions:
        registered = [r for r in data.registrations if r.session == s.key]
        pitched = [i for r in registered for i in data.items if i.key in r.listings]
        attendee_needs = [i for r in registered if r.role is Role.ATTENDEE for i in data.items_of(r.participant)
                          if i.side is Side.NEED and any(top_level(c) in s.fields for c in i.fields)]
        matched = {(n.key, o.key) for n in attendee_needs for o in pitched if fits(n, o)}
        assert len(matched) >= 5, s.key
        in_field = [i for i in data.items if i.side is Side.OFFER and any(top_level(c) in s.fields for c in i.fields)]
        owners = {kind: {data.participant(i.owner).party_type for i in in_field if i.kind is kind} for kind in Kind}
        assert PartyType.INVESTOR in owners[Kind.CAPITAL], s.key
        assert PartyType.AGENCY in owners[Kind.SERVICE], s.key
        assert PartyType.GOVERNMENT in owners[Kind.POLICY], s.key
