"""The six party types (五方联动: universities and institutes are one party, kept as two types),
the kinds of offers and needs, and the one rule of which party types may post which kinds."""

from __future__ import annotations

from enum import StrEnum


class PartyType(StrEnum):
    GOVERNMENT = "government"
    UNIVERSITY = "university"
    INSTITUTE = "institute"
    ENTERPRISE = "enterprise"
    AGENCY = "agency"
    INVESTOR = "investor"


class Kind(StrEnum):
    TECHNOLOGY = "technology"
    CAPITAL = "capital"
    SERVICE = "service"
    POLICY = "policy"


class Side(StrEnum):
    OFFER = "offer"  # a listing
    NEED = "need"  # a demand


PARTY_NAMES: dict[PartyType, tuple[str, str]] = {
    PartyType.GOVERNMENT: ("政府", "Government"),
    PartyType.UNIVERSITY: ("高校", "University"),
    PartyType.INSTITUTE: ("科研院所", "Research institute"),
    PartyType.ENTERPRISE: ("科技企业", "Tech enterprise"),
    PartyType.AGENCY: ("技术转移机构", "Technology-transfer agency"),
    PartyType.INVESTOR: ("投资机构", "Investor"),
}

# Who may offer what. Needs are open to every party type for every kind, except that nobody
# needs policy from a government and investors do not post capital needs.
OFFER_RULES: dict[PartyType, frozenset[Kind]] = {
    PartyType.GOVERNMENT: frozenset({Kind.POLICY, Kind.SERVICE}),
    PartyType.UNIVERSITY: frozenset({Kind.TECHNOLOGY, Kind.SERVICE}),
    PartyType.INSTITUTE: frozenset({Kind.TECHNOLOGY, Kind.SERVICE}),
    PartyType.ENTERPRISE: frozenset({Kind.TECHNOLOGY, Kind.SERVICE}),
    PartyType.AGENCY: frozenset({Kind.SERVICE}),
    PartyType.INVESTOR: frozenset({Kind.CAPITAL}),
}
NEED_RULES: dict[PartyType, frozenset[Kind]] = {
    PartyType.GOVERNMENT: frozenset({Kind.TECHNOLOGY, Kind.SERVICE, Kind.CAPITAL}),
    PartyType.UNIVERSITY: frozenset(Kind),
    PartyType.INSTITUTE: frozenset(Kind),
    PartyType.ENTERPRISE: frozenset(Kind),
    PartyType.AGENCY: frozenset({Kind.TECHNOLOGY, Kind.CAPITAL, Kind.POLICY}),
    PartyType.INVESTOR: frozenset({Kind.TECHNOLOGY, Kind.SERVICE, Kind.POLICY}),
}

# Government and agency participants may be granted the organiser role (by an operator) to host sessions.
ORGANISER_TYPES: frozenset[PartyType] = frozenset({PartyType.GOVERNMENT, PartyType.AGENCY})

def may_post(party_type: PartyType, side: Side, kind: Kind) -> bool:
    rules = OFFER_RULES if side is Side.OFFER else NEED_RULES
    return kind in rules[party_type]
