"""The participants of the demo: real universities, institutes and governments, fictional
enterprises, investors and agencies, about a quarter of them international and English-preferring."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping

from hardtech.demo import organisations as orgs
from hardtech.demo.model import Participant
from hardtech.demo.organisations import EN, Organisation
from shared.events.common import Language, LocalizedText
from shared.party_types import PartyType
from shared.regions import REGIONS
from shared.taxonomy import children, top_level

# How many fictional organisations of each kind: (Chinese, international).
ENTERPRISES = (64, 26)
INVESTORS = (24, 8)
AGENCIES = (14, 4)


class Names:
    """Draws fresh organisation names so no two fictional bodies share one."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.taken: set[str] = set()

    def fresh(self, make: Callable[[], tuple[str, str, str]]) -> tuple[str, str, str]:
        while True:
            zh, en, short = make()
            if en not in self.taken:
                self.taken.add(en)
                return zh, en, short

    def chinese(self, city: str, kind: tuple[str, str]) -> tuple[str, str, str]:
        def make() -> tuple[str, str, str]:
            (a_zh, a_py), (b_zh, b_py) = self.rng.sample(orgs.BRAND_SYLLABLES, 2)
            brand = (a_py + b_py).capitalize()
            city_zh, city_en = _city_names(city)
            return f"{city_zh}{a_zh}{b_zh}{kind[0]}", f"{city_en} {brand} {kind[1]}", brand.lower()

        return self.fresh(make)

    def foreign(self, kind: tuple[str, str], country: tuple[str, str, str] | None = None) -> tuple[str, str, str]:
        def make() -> tuple[str, str, str]:
            root_en, root_zh = self.rng.choice(orgs.FOREIGN_ROOTS)
            if country is None:
                return f"{root_zh}{kind[0]}", f"{root_en} {kind[1]}", root_en.lower()
            _, country_zh, legal = country
            return f"{country_zh}{root_zh}{kind[0]}公司", f"{root_en} {kind[1]} {legal}", root_en.lower()

        return self.fresh(make)


def _city_names(code: str) -> tuple[str, str]:
    region = REGIONS[code]
    return region.zh.removesuffix("市"), region.en


def weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, [weights[k] for k in keys])[0]


def sample_fields(rng: random.Random, city: str | None, count: int) -> tuple[str, ...]:
    """Sub-fields for a fictional organisation: mostly one first-level field, leaning to its city's."""
    bias = orgs.CITY_FIELD_BIAS.get(city or "", {})
    weights = {f: w * bias.get(f, 1.0) for f, w in orgs.FIELD_WEIGHTS.items()}
    main = weighted(rng, weights)
    subs = [c.code for c in children(main)]
    picked = rng.sample(subs, min(count, len(subs)))
    if rng.random() < 0.25:  # a second field on the side
        other = weighted(rng, {f: w for f, w in weights.items() if f != main})
        picked.append(rng.choice(children(other)).code)
    return tuple(picked)


def fictional(rng: random.Random, names: Names, party_type: PartyType) -> list[Organisation]:
    """The fictional enterprises, investors or agencies, Chinese ones first."""
    kinds, foreign_kinds, (domestic, international) = {
        PartyType.ENTERPRISE: (None, None, ENTERPRISES),
        PartyType.INVESTOR: (orgs.INVESTOR_KINDS, orgs.FOREIGN_INVESTOR_KINDS, INVESTORS),
        PartyType.AGENCY: (orgs.AGENCY_KINDS, orgs.FOREIGN_AGENCY_KINDS, AGENCIES),
    }[party_type]
    field_count = 2 if party_type is PartyType.ENTERPRISE else 3
    result = []
    for _ in range(domestic):
        city = weighted(rng, orgs.CITY_WEIGHTS)
        fields = sample_fields(rng, city, field_count)
        kind = rng.choice(kinds or orgs.INDUSTRY_WORDS[top_level(fields[0])])
        if party_type is PartyType.ENTERPRISE:
            kind = (f"{kind[0]}有限公司", f"{kind[1]} Co., Ltd.")
        zh, en, short = names.chinese(city, kind)
        result.append(Organisation(zh, en, short, city, fields))
    for _ in range(international):
        city = rng.choice(orgs.FOREIGN_OFFICE_CITIES)
        fields = sample_fields(rng, None, field_count)
        country = rng.choice(orgs.FOREIGN_COUNTRIES)
        if party_type is PartyType.ENTERPRISE:
            zh, en, short = names.foreign(rng.choice(orgs.INDUSTRY_WORDS[top_level(fields[0])]), country)
        else:
            assert foreign_kinds is not None  # investors and agencies have foreign kinds
            zh, en, short = names.foreign(rng.choice(foreign_kinds))
        result.append(Organisation(zh, en, short, city, fields, EN, country[0]))
    return result


def with_fields(rng: random.Random, bodies: Iterable[Organisation]) -> list[Organisation]:
    """Agencies named without fields get a focus drawn like a fictional body's."""
    return [b if b.fields else Organisation(b.zh, b.en, b.short, b.region, sample_fields(rng, b.region, 3),
                                            b.language, b.country)
            for b in bodies]


def contact(rng: random.Random, party_type: PartyType, language: Language) -> LocalizedText:
    if language == EN:
        name_en, name_zh = rng.choice(orgs.INTERNATIONAL_NAMES)
    else:
        (s_zh, s_en), (g_zh, g_en) = rng.choice(orgs.CN_SURNAMES), rng.choice(orgs.CN_GIVEN_NAMES)
        name_zh, name_en = s_zh + g_zh, f"{s_en} {g_en}"
    zh_format, en_format = rng.choice(orgs.CONTACT_TITLES[party_type.value])
    return LocalizedText(zh=zh_format.format(zh=name_zh), en=en_format.format(en=name_en))


def build(rng: random.Random) -> list[tuple[Participant, Organisation]]:
    """Every participant with the organisation it stands for (items need its patent office)."""
    names = Names(rng)
    bodies: list[tuple[PartyType, Organisation]] = [
        *((PartyType.GOVERNMENT, o) for o in orgs.GOVERNMENTS),
        *((PartyType.UNIVERSITY, o) for o in orgs.UNIVERSITIES),
        *((PartyType.INSTITUTE, o) for o in orgs.INSTITUTES),
        *((PartyType.AGENCY, o) for o in with_fields(rng, orgs.TRANSFER_CENTRE_AGENCIES + orgs.NAMED_AGENCIES)),
        *((t, o) for t in (PartyType.AGENCY, PartyType.INVESTOR, PartyType.ENTERPRISE)
          for o in fictional(rng, names, t)),
    ]
    rng.shuffle(bodies)
    participants = []
    for number, (party_type, body) in enumerate(bodies, start=1):
        key = f"p{number:03d}"
        domain = "example.com" if party_type in (PartyType.ENTERPRISE, PartyType.INVESTOR) else "example.org"
        participants.append((Participant(
            key=key,
            party_type=party_type,
            organisation=LocalizedText(zh=body.zh, en=body.en),
            display_name=contact(rng, party_type, body.language),
            region=body.region,
            fields=list(body.fields),  # main field first
            language=body.language,
            email=f"{key}.{body.short.lower()}@{domain}",
        ), body))
    return participants
