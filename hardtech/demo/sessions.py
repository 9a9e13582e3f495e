"""The three hard-tech sessions of the demo, who registers for each, and who asks to meet whom.

Presenters are the owners of offers in the session's field (they pitch those offers); attendees are
those with needs in the field, investors whose thesis covers it and agencies serving it. Nearby
participants are likelier to come. Meeting requests follow real interest: a need-holder asks to
meet the presenters whose offers fit its needs best, investors the presenters in their thesis.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from hardtech.demo.model import Item, MeetingPlan, MeetingRequest, Offset, Participant, Registration, Session
from shared.events.common import LocalizedText
from shared.events.sessions import Capacity, MeetingPreference, Role
from shared.party_types import Kind, PartyType, Side
from shared.regions import Proximity, proximity
from shared.taxonomy import top_level

SLOT_MINUTES, SLOTS = 20, 12
# How much likelier a participant is to come, by how close it is to the session's city.
_CLOSENESS = {Proximity.SAME_CITY: 4.0, Proximity.SAME_PROVINCE: 3.0, Proximity.SAME_STRATEGY: 2.0,
              Proximity.SAME_CENTRE: 1.5, Proximity.ELSEWHERE: 1.0}


@dataclass(frozen=True)
class SessionSpec:
    key: str
    organiser: str  # English name of the organising body
    title: tuple[str, str]
    field: str
    city: str
    high_tech_zone: str
    venue: str
    opens_days_ago: int
    starts_in_days: int
    presenters: tuple[int, int]
    attendees: tuple[int, int]
    quotas: dict[PartyType, int] = dataclass_field(default_factory=dict)


SPECS: tuple[SessionSpec, ...] = (
    SessionSpec(
        "cd-5g", "Chengdu Hi-tech Industrial Development Zone Administrative Committee",
        ("科技成果直通车·成都高新区5G通信“硬科技”专场",
         "S&T Achievements Express: Chengdu Hi-tech Zone 5G Communications Hard-Tech Session"),
        "5G", "CN-SC.CD", "CDHT", "菁蓉汇（成都高新区） / Jingronghui, Chengdu Hi-tech Zone",
        opens_days_ago=10, starts_in_days=3, presenters=(14, 18), attendees=(26, 34),
        quotas={PartyType.INVESTOR: 8, PartyType.AGENCY: 6},
    ),
    SessionSpec(
        "sz-bio", "National Technology Transfer Southern Centre",
        ("科技成果直通车·深圳生物医药“硬科技”专场", "S&T Achievements Express: Shenzhen Biomedicine Hard-Tech Session"),
        "BIO", "CN-GD.SZ", "SZHT", "深圳湾创业广场 / Shenzhen Bay Venture Plaza",
        opens_days_ago=7, starts_in_days=5, presenters=(12, 16), attendees=(24, 32),
        quotas={PartyType.INVESTOR: 8},
    ),
    SessionSpec(
        "sip-imfg", "Suzhou Industrial Park Administrative Committee",
        ("科技成果直通车·苏州工业园区智能制造“硬科技”专场",
         "S&T Achievements Express: Suzhou Industrial Park Intelligent Manufacturing Hard-Tech Session"),
        "IMFG", "CN-JS.SZ", "SIP", "苏州国际博览中心 / Suzhou International Expo Centre",
        opens_days_ago=5, starts_in_days=7, presenters=(14, 18), attendees=(26, 36),
    ),
)


def weighted_sample(rng: random.Random, weights: dict[str, float], count: int) -> list[str]:
    """``count`` keys drawn without replacement, likelier by weight (Efraimidis–Spirakis)."""
    ranked = sorted(weights, key=lambda k: rng.random() ** (1.0 / weights[k]), reverse=True)
    return ranked[:count]


class SessionPlanner:
    def __init__(self, rng: random.Random, participants: list[Participant], items: list[Item]):
        self.rng = rng
        self.participants = {p.key: p for p in participants}
        self.items = items

    def in_field(self, spec: SessionSpec, owner: str, side: Side) -> list[Item]:
        return [i for i in self.items if i.owner == owner and i.side is side
                and any(top_level(c) == spec.field for c in i.fields)]

    def closeness(self, spec: SessionSpec, key: str) -> float:
        return _CLOSENESS[proximity(self.participants[key].region, spec.city)]

    def session(self, spec: SessionSpec, organiser: str, presenters: int, attendees: int) -> Session:
        start = spec.starts_in_days
        return Session(
            key=spec.key, organiser=organiser,
            title=LocalizedText(zh=spec.title[0], en=spec.title[1]),
            fields=[spec.field], city=spec.city, high_tech_zone=spec.high_tech_zone, venue=spec.venue,
            starts=Offset(days=start), ends=Offset(days=start, hours=8),
            registration_opens=Offset(days=-spec.opens_days_ago), registration_closes=Offset(days=start - 1),
            capacity=Capacity(presenters=presenters + 4, attendees=attendees + 12),
            quotas=spec.quotas,
            # pitches in the morning, 1:1 meetings in the afternoon
            meeting_plan=MeetingPlan(first_slot=Offset(days=start, hours=4), slot_minutes=SLOT_MINUTES, slots=SLOTS,
                                     tables=presenters, min_meetings=1, max_meetings=6),
        )

    def registrations(self, spec: SessionSpec, organiser: str) -> list[Registration]:
        rng = self.rng
        counts = {t: 0 for t in PartyType}

        def within_quota(keys: list[str], wanted: int) -> list[str]:
            chosen: list[str] = []
            for key in keys:
                party_type = self.participants[key].party_type
                if len(chosen) < wanted and counts[party_type] < spec.quotas.get(party_type, 10**6):
                    counts[party_type] += 1
                    chosen.append(key)
            return chosen

        pitching = {p.key: offers for p in self.participants.values()
                    if p.key != organiser and p.party_type is not PartyType.INVESTOR
                    and (offers := [o for o in self.in_field(spec, p.key, Side.OFFER)
                                    if o.kind in (Kind.TECHNOLOGY, Kind.POLICY)])}
        presenters = within_quota(
            weighted_sample(rng, {k: self.closeness(spec, k) * (1 + len(v)) for k, v in pitching.items()},
                            len(pitching)),
            rng.randint(*spec.presenters))
        interested = {p.key for p in self.participants.values()
                      if p.key != organiser and p.key not in presenters
                      and (self.in_field(spec, p.key, Side.NEED) or self.in_field(spec, p.key, Side.OFFER))}
        attendees = within_quota(
            weighted_sample(rng, {k: self.closeness(spec, k) for k in sorted(interested)}, len(interested)),
            rng.randint(*spec.attendees))
        registrations = []
        for key in presenters:
            pitched = sorted(pitching[key], key=lambda o: o.kind is not Kind.TECHNOLOGY)[:3]
            registrations.append(Registration(session=spec.key, participant=key, role=Role.PRESENTER,
                                              listings=[o.key for o in pitched], interests=self.interests(spec, key)))
        registrations += [Registration(session=spec.key, participant=key, role=Role.ATTENDEE,
                                       interests=self.interests(spec, key)) for key in attendees]
        return registrations

    def interests(self, spec: SessionSpec, key: str) -> list[str]:
        return [c for c in self.participants[key].fields if top_level(c) == spec.field] or [spec.field]

    def meeting_requests(self, spec: SessionSpec, registrations: Sequence[Registration]) -> list[MeetingRequest]:
        rng = self.rng
        presenters = [r for r in registrations if r.role is Role.PRESENTER]
        attendees = [r.participant for r in registrations if r.role is Role.ATTENDEE]
        pitched = {r.participant: [i for i in self.items if i.key in r.listings] for r in presenters}
        requests: dict[tuple[str, str], MeetingPreference] = {}

        def ask(requester: str, targets: list[str], preferences: Sequence[MeetingPreference]) -> None:
            for target, preference in zip(targets, preferences, strict=False):
                requests.setdefault((requester, target), preference)

        must, like = MeetingPreference.MUST_MEET, MeetingPreference.WOULD_LIKE
        for attendee in attendees:
            party_type = self.participants[attendee].party_type
            if party_type is PartyType.INVESTOR:
                thesis = {c for o in self.in_field(spec, attendee, Side.OFFER) for c in o.fields}
                fitting = [p for p, offers in pitched.items() if thesis & {c for o in offers for c in o.fields}]
                ask(attendee, rng.sample(fitting, min(3, len(fitting))), (must, like, like))
                continue
            needs = self.in_field(spec, attendee, Side.NEED)
            scored = sorted(((fit(needs, offers), p) for p, offers in pitched.items()), reverse=True)
            best = [p for score, p in scored if score > 0][:3]
            if party_type is PartyType.AGENCY and not best:
                best = rng.sample(list(pitched), min(2, len(pitched)))
            ask(attendee, best, (must, like, like) if needs else (like, like))

        investors = [a for a in attendees if self.participants[a].party_type is PartyType.INVESTOR]
        for presenter in pitched:
            if investors:
                ask(presenter, [rng.choice(investors)], (must,))
            if rng.random() < 0.15:  # a competitor they would rather not sit with
                rivals = [a for a in attendees if (a, presenter) not in requests and (presenter, a) not in requests
                          and self.participants[a].party_type is PartyType.ENTERPRISE]
                if rivals:
                    ask(presenter, [rng.choice(rivals)], (MeetingPreference.DECLINE,))
        return [MeetingRequest(session=spec.key, requester=requester, target=target, preference=preference)
                for (requester, target), preference in requests.items()]


def fit(needs: list[Item], offers: list[Item]) -> int:
    """How well a presenter's offers answer these needs: same kind and sub-field, then shared keywords."""
    return max((1 + len(set(n.keywords) & set(o.keywords))
                for n in needs for o in offers if n.kind is o.kind and set(n.fields) & set(o.fields)), default=0)


def build(rng: random.Random, participants: list[Participant], items: list[Item]
          ) -> tuple[list[Session], list[Registration], list[MeetingRequest]]:
    planner = SessionPlanner(rng, participants, items)
    sessions, registrations, requests = [], [], []
    for spec in SPECS:
        organiser = next(p.key for p in participants if p.organisation.en == spec.organiser)
        registered = planner.registrations(spec, organiser)
        presenters = sum(r.role is Role.PRESENTER for r in registered)
        sessions.append(planner.session(spec, organiser, presenters, len(registered) - presenters))
        registrations += registered
        requests += planner.meeting_requests(spec, registered)
    return sessions, registrations, requests
