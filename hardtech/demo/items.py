"""Offers and needs of the demo, composed from the template tables.

About half of the technology needs are written with an existing technology offer in mind (same
sub-field and technology, a TRL the offer meets, an overlapping budget, a shared transfer mode),
so real matches exist; the others are drawn independently and match only where the text does.
Owners of technology offers also seek capital, services and policy support for them, which gives
the consortium builder its capital, service and policy roles to fill.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass

from hardtech.demo import templates as t
from hardtech.demo.model import Item, Participant
from hardtech.demo.organisations import Organisation
from shared.events.common import Language, LocalizedText, MoneyRange
from shared.events.listing import TransferMode
from shared.party_types import Kind, PartyType, Side
from shared.regions import REGIONS, STRATEGIES, centre_of, province_of, strategies_of
from shared.taxonomy import FIELDS, children, top_level

_CJK = re.compile(r"[\u3400-\u9fff]")
_WAN = 10_000  # one 万元 in CNY

# Sub-fields whose results are mostly software (protected by copyright rather than patents).
_SOFTWARE = frozenset({"EIT.AI", "IIOT.PLAT", "IIOT.SEC", "IIOT.TWIN", "5G.RAN"})
# TRL ranges of technology offers by the party type offering them.
_OFFER_TRL = {PartyType.UNIVERSITY: (3, 6), PartyType.INSTITUTE: (4, 7), PartyType.ENTERPRISE: (6, 9)}


@dataclass(frozen=True)
class Recipe:
    """What a technology item was composed from, so a need can be written to fit an offer."""

    sub: str
    tech: t.Term
    use: t.Text
    spec: t.Text


def nice(value: float) -> int:
    """Round to two significant figures, as people quote prices."""
    value = max(value, 1.0)
    return int(round(value, 1 - int(math.floor(math.log10(value)))))


def capitalised(text: str) -> str:
    """Capitalise a sentence unless it starts with a term that has capitals of its own (mRNA)."""
    first = text.split(" ", 1)[0]
    return text[0].upper() + text[1:] if not any(c.isupper() for c in first) else text


def in_sentence(name: str) -> str:
    """A field name inside a sentence: 'Edge computing' -> 'edge computing', 'RF front-end' kept."""
    return name[0].lower() + name[1:] if name[1:2].islower() else name


def with_article(phrase: str) -> str:
    """'a' or 'an' by sound: an RF module, an unmanned aircraft, a 5G network."""
    first = phrase.split(" ", 1)[0]
    vowel_sound = first[0] in "AEFHILMNORSX" if first.isupper() else first[0].lower() in "aeiou"
    return f"{'an' if vowel_sound else 'a'} {phrase}"


def field_names(codes: Iterable[str]) -> tuple[str, ...]:
    """The Chinese and English names of field codes, for keywords."""
    return tuple(name for c in codes for name in (FIELDS[c].zh, FIELDS[c].en))


def listed(codes: list[str]) -> t.Text:
    """Field names as a list inside a sentence, in Chinese and in English."""
    return "、".join(FIELDS[c].zh for c in codes), ", ".join(in_sentence(FIELDS[c].en) for c in codes)


def money_zh(low: int, high: int) -> str:
    return f"{low:,}–{high:,}万元"


def money_en(low: int, high: int) -> str:
    def millions(wan: int) -> str:
        return f"{wan / 100:,.2f}".rstrip("0").rstrip(".")

    return f"CNY {millions(low)}–{millions(high)} million"


def amount(low: int, high: int) -> MoneyRange:
    return MoneyRange(min=low * _WAN, max=high * _WAN, currency="CNY")


def cn_patent(rng: random.Random) -> str:
    """A Chinese invention-patent application number with its real check digit."""
    digits = f"{rng.randint(2016, 2024)}1{rng.randint(0, 9_999_999):07d}"
    check = sum(int(d) * w for d, w in zip(digits, (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5), strict=True)) % 11
    return f"CN{digits}.{'X' if check == 10 else check}"


class ItemFactory:
    def __init__(self, rng: random.Random, members: list[tuple[Participant, Organisation]]):
        self.rng = rng
        self.participants = {p.key: p for p, _ in members}
        self.countries = {p.key: o.country for p, o in members}
        self.items: list[Item] = []
        self.recipes: dict[str, Recipe] = {}

    # --- shared wording --------------------------------------------------------------------
    def languages(self, owner: Participant) -> tuple[bool, bool]:
        """(zh, en): most items are bilingual, the rest in the owner's language only."""
        if owner.language is Language.EN:
            return self.rng.random() < 0.6, True
        return True, self.rng.random() < 0.72

    @staticmethod
    def text(languages: tuple[bool, bool], zh: str, en: str) -> LocalizedText:
        return LocalizedText(zh=zh if languages[0] else None, en=capitalised(en) if languages[1] else None)

    @staticmethod
    def keywords(languages: tuple[bool, bool], *terms: str) -> list[str]:
        wanted = [term for term in terms if languages[0 if _CJK.search(term) else 1]]
        return list(dict.fromkeys(wanted))

    def modes(self, required: TransferMode | None = None, most: int = 2) -> list[TransferMode]:
        chosen = set(self.rng.sample(t.TECHNOLOGY_MODES, self.rng.randint(1, most)))
        if required is not None:
            chosen.add(required)
        return [m for m in t.TECHNOLOGY_MODES if m in chosen]

    @staticmethod
    def mode_names(modes: list[TransferMode]) -> tuple[str, str]:
        return "、".join(t.MODE_NAMES[m][0] for m in modes), " or ".join(t.MODE_NAMES[m][1] for m in modes)

    def region_preference(self, owner: Participant, partner: Participant | None = None) -> list[str]:
        roll = self.rng.random()
        if roll < 0.55:
            return []
        if roll < 0.85 or not strategies_of(owner.region):
            places = {province_of(owner.region)} | ({province_of(partner.region)} if partner else set())
            return sorted(places)
        strategy = sorted(strategies_of(owner.region))[0]
        return sorted(STRATEGIES[strategy][2])

    def compose(self, owner: Participant, side: Side, kind: Kind, title: t.Text, description: t.Text,
                terms: Iterable[str], recipe: Recipe | None = None, **fields) -> Item:
        """Add an item in the languages its owner writes, keeping the keywords of those languages."""
        langs = self.languages(owner)
        item = Item(key=f"i{len(self.items) + 1:04d}", owner=owner.key, side=side, kind=kind, region=owner.region,
                    title=self.text(langs, *title), description=self.text(langs, *description),
                    keywords=self.keywords(langs, *terms), **fields)
        self.items.append(item)
        if recipe is not None:
            self.recipes[item.key] = recipe
        return item

    def own_field(self, owner: Participant) -> str:
        """One of the owner's sub-fields, usually in its main field (listed first)."""
        main = [c for c in owner.fields if top_level(c) == top_level(owner.fields[0])]
        return self.rng.choice(main if self.rng.random() < 0.85 else owner.fields)

    def recipe(self, sub: str, tech: t.Term | None = None) -> Recipe:
        table = t.SUBFIELDS[sub]
        tech = tech or self.rng.choice(table.techs)
        return Recipe(sub, tech, self.rng.choice(table.uses_of(tech)), self.rng.choice(table.specs_of(tech)))

    def price(self, sub: str, trl: int) -> tuple[int, int]:
        low, high = t.PRICE_RANGE_WAN[top_level(sub)]
        value = low + (high - low) * self.rng.random() ** 2 * (0.4 + 0.6 * trl / 9)
        return nice(value), nice(value * self.rng.uniform(1.5, 2.5))

    # --- technology --------------------------------------------------------------------------
    def technology_item(self, owner: Participant, side: Side, recipe: Recipe, trl: int, price: tuple[int, int],
                        modes: list[TransferMode], ip: tuple[str, str, str] = ("", "", ""), **fields) -> Item:
        """A technology offer or need, worded from the side's title and description templates."""
        title_zh, title_en = self.rng.choice(t.OFFER_TITLES if side is Side.OFFER else t.NEED_TITLES)
        described_zh, described_en = t.TECHNOLOGY_DESCRIPTIONS[side]
        (stage_zh, stage_en), (modes_zh, modes_en), (low, high) = t.stage(trl), self.mode_names(modes), price
        words_zh = dict(org=owner.organisation.zh, tech=recipe.tech.zh, use=recipe.use[0], spec=recipe.spec[0],
                        stage=stage_zh, trl=trl, modes=modes_zh, money=money_zh(low, high), ip=ip[1])
        words_en = dict(org=owner.organisation.en, tech=recipe.tech.en, use=recipe.use[1], spec=recipe.spec[1],
                        stage=stage_en, trl=trl, modes=modes_en, money=money_en(low, high), ip=ip[2])
        return self.compose(
            owner, side, Kind.TECHNOLOGY,
            (title_zh.format(**words_zh), title_en.format(**words_en)),
            (described_zh.format(**words_zh), described_en.format(**words_en)),
            (*recipe.tech.keywords, *field_names([recipe.sub])), recipe,
            fields=[recipe.sub], trl=trl, transfer_modes=modes, amount=amount(low, high), **fields,
        )

    def technology_offer(self, owner: Participant) -> Item:
        rng = self.rng
        recipe = self.recipe(self.own_field(owner))
        trl = rng.randint(*_OFFER_TRL[owner.party_type])
        patents, ip = self.patents(owner, recipe.sub)
        return self.technology_item(
            owner, Side.OFFER, recipe, trl, self.price(recipe.sub, trl), self.modes(most=3), ip,
            ip_status=ip[0], patents=patents,
            region_preference=self.region_preference(owner) if rng.random() < 0.3 else [],
        )

    def patents(self, owner: Participant, sub: str) -> tuple[list[str], tuple[str, str, str]]:
        """Patent numbers and the (status, Chinese, English) sentence about the item's IP."""
        rng = self.rng
        likely = 0.6 if owner.party_type is PartyType.ENTERPRISE else 0.85
        if rng.random() > likely:
            if sub in _SOFTWARE:
                return [], ("software_copyright", "已登记软件著作权。", "Registered software copyright.")
            return [], ("trade_secret", "以技术秘密形式保护。", "Protected as know-how.")
        numbers = [cn_patent(rng) for _ in range(rng.randint(1, 3))]
        country = self.countries[owner.key]
        if country != "CN":  # foreign bodies file abroad first, then enter China
            numbers[0] = f"PCT/{country}{rng.randint(2016, 2024)}/{rng.randint(0, 999_999):06d}"
        granted = rng.randint(0, len(numbers))
        status = "patent_granted" if granted else ("pct_filed" if country != "CN" else "patent_pending")
        granted_zh, granted_en = (f"（已授权{granted}项）", f" ({granted} granted)") if granted else ("", "")
        return numbers, (status, f"已申请发明专利{len(numbers)}项{granted_zh}。",
                         f"Patent applications: {len(numbers)}{granted_en}.")

    def technology_need(self, owner: Participant, wanted: Item | None = None) -> Item:
        """A need for technology; written to fit ``wanted`` when given."""
        rng = self.rng
        if wanted is not None and wanted.trl is not None and wanted.amount is not None:
            base = self.recipes[wanted.key]
            fresh = self.recipe(base.sub, base.tech)
            recipe = Recipe(base.sub, base.tech, base.use if rng.random() < 0.6 else fresh.use,
                            base.spec if rng.random() < 0.7 else fresh.spec)
            trl = max(1, wanted.trl - rng.choice((0, 1, 2)))
            offered_low, offered_high = int(wanted.amount.min or 0) // _WAN, int(wanted.amount.max or 0) // _WAN
            budget = (nice(offered_low * rng.uniform(0.5, 0.9)),
                      max(nice(offered_high * rng.uniform(0.9, 1.6)), offered_low))
            modes = self.modes(required=rng.choice(wanted.transfer_modes), most=1)
            partner: Participant | None = self.participants[wanted.owner]
        else:
            recipe = self.recipe(self.own_field(owner))
            trl = rng.randint(4, 8)
            budget, modes, partner = self.price(recipe.sub, trl), self.modes(), None
        return self.technology_item(owner, Side.NEED, recipe, trl, budget, modes,
                                    region_preference=self.region_preference(owner, partner))

    # --- capital -------------------------------------------------------------------------------
    def capital_offer(self, investor: Participant) -> Item:
        rng = self.rng
        thesis = sorted(rng.sample(investor.fields, min(len(investor.fields), rng.randint(2, 3))),
                        key=investor.fields.index)
        angel = "Angel" in (investor.organisation.en or "")  # angel funds invest early only
        (round_zh, round_en), (ticket_low, ticket_high) = rng.choice(t.ROUNDS[:2] if angel else t.ROUNDS)
        low, high = nice(ticket_low * rng.uniform(1, 1.5)), nice(ticket_high * rng.uniform(0.7, 1))
        (names_zh, names_en), org = listed(thesis), investor.organisation
        return self.compose(
            investor, Side.OFFER, Kind.CAPITAL,
            (f"{round_zh}股权投资：{names_zh}", f"{round_en} equity investment: {names_en}"),
            (f"{org.zh}重点投资{names_zh}方向拥有核心知识产权的硬科技团队，单笔投资{money_zh(low, high)}，"
             f"可联合地方政府引导基金，并提供投后赋能。",
             f"{org.en} invests in hard-tech teams with core IP in {names_en}; ticket {money_en(low, high)}, "
             f"co-investing with local government guidance funds and supporting companies after the deal."),
            ("股权投资", "equity investment", round_zh, round_en, *field_names(thesis)),
            fields=thesis, transfer_modes=[TransferMode.EQUITY], amount=amount(low, high),
            region_preference=self.region_preference(investor),
        )

    def capital_need(self, offer: Item) -> Item:
        """The owner of a technology offer seeks funding to commercialise it."""
        rng = self.rng
        owner, recipe, trl = self.participants[offer.owner], self.recipes[offer.key], offer.trl or 5
        (round_zh, round_en), (ticket_low, ticket_high) = t.ROUNDS[min(3, max(0, (trl - 3) // 2 + rng.randint(0, 1)))]
        low = nice(rng.uniform(ticket_low, ticket_low + (ticket_high - ticket_low) * 0.5))
        high = nice(low * rng.uniform(1.5, 2.5))
        (purpose_zh, purpose_en), (stage_zh, stage_en) = rng.choice(t.FUNDING_PURPOSES), t.stage(trl)
        share = rng.choice((8, 10, 12, 15, 20))
        return self.compose(
            owner, Side.NEED, Kind.CAPITAL,
            (f"{recipe.tech.zh}产业化项目{round_zh}融资", f"{round_en} funding to commercialise {recipe.tech.en}"),
            (f"项目团队已完成{stage_zh}（TRL {trl}），拟融资{money_zh(low, high)}，"
             f"用于{purpose_zh}，计划出让{share}%股权。",
             f"The team has reached {stage_en} (TRL {trl}) and seeks {money_en(low, high)} for {purpose_en}, "
             f"offering {share}% equity."),
            (*recipe.tech.keywords, "股权投资", "equity investment", round_zh, round_en),
            fields=list(offer.fields), transfer_modes=[TransferMode.EQUITY], amount=amount(low, high),
            region_preference=self.region_preference(owner),
        )

    # --- services ------------------------------------------------------------------------------
    def service_offer(self, owner: Participant, catalogue: tuple[t.Service, ...]) -> Item:
        rng = self.rng
        service = rng.choice(catalogue)
        fields = owner.fields[:4]
        tops = list(dict.fromkeys(top_level(c) for c in fields))
        (names_zh, names_en), org = listed(tops), owner.organisation
        low = rng.choice((5, 10, 20, 30))
        high = low * rng.randint(2, 6)
        weeks = rng.choice((4, 6, 8, 12))
        centre = centre_of(owner.region)
        return self.compose(
            owner, Side.OFFER, Kind.SERVICE,
            (f"{service.name[0]}（{names_zh}）", f"{service.name[1]} in {names_en}"),
            (f"{org.zh}面向{names_zh}领域提供{service.name[0]}服务：{service.detail[0]}。"
             f"服务周期约{weeks}周，收费{money_zh(low, high)}。",
             f"{org.en} offers {service.name[1]} in {names_en}: {service.detail[1]}. "
             f"Typically {weeks} weeks; fee {money_en(low, high)}."),
            (*service.keywords, *field_names(tops)),
            fields=fields, transfer_modes=[TransferMode.SERVICE_CONTRACT], amount=amount(low, high),
            # a transfer centre serves the provinces of its region
            region_preference=sorted(centre.provinces) if centre and rng.random() < 0.5 else [],
        )

    def service_need(self, owner: Participant, offer: Item | None = None) -> Item:
        """A need for a service, for the owner's own technology offer when given."""
        rng = self.rng
        service = rng.choice(t.AGENCY_SERVICES + t.ENTERPRISE_SERVICES[:1])
        if offer is not None:
            recipe = self.recipes[offer.key]
            sub, extra = recipe.sub, recipe.tech.keywords
            subject = (recipe.tech.zh, recipe.tech.en, f"its {recipe.tech.en}")  # zh, in a title, in a sentence
        else:
            sub, extra = self.own_field(owner), ()
            project = with_article(f"{in_sentence(FIELDS[sub].en)} project")
            subject = (f"{FIELDS[sub].zh}项目", project, project)
        low = rng.choice((5, 10, 15, 20))
        high = low * rng.randint(2, 4)
        org = owner.organisation
        return self.compose(
            owner, Side.NEED, Kind.SERVICE,
            (f"{subject[0]}寻求{service.name[0]}服务", f"Seeking {service.name[1]} for {subject[1]}"),
            (f"{org.zh}的{subject[0]}拟推进转化，需要专业机构提供{service.name[0]}服务（{service.detail[0]}），"
             f"预算{money_zh(low, high)}。",
             f"{org.en} is commercialising {subject[2]} and needs {service.name[1]} ({service.detail[1]}); "
             f"budget {money_en(low, high)}."),
            (*service.keywords, *extra, *field_names([sub])),
            fields=[sub], transfer_modes=[TransferMode.SERVICE_CONTRACT], amount=amount(low, high),
            region_preference=self.region_preference(owner),
        )

    # --- policy --------------------------------------------------------------------------------
    def policy_offer(self, government: Participant, programme: t.Programme) -> Item:
        rng = self.rng
        top = top_level(rng.choice(government.fields))
        field_zh, field_en = FIELDS[top].zh, FIELDS[top].en
        name_zh, name_en = (n.format(field=f) for n, f in zip(programme.name, (field_zh, field_en), strict=True))
        low, high = rng.choice((20, 50, 100)), rng.choice((200, 500, 1000, 2000))
        region, org = REGIONS[government.region], government.organisation
        return self.compose(
            government, Side.OFFER, Kind.POLICY,
            (name_zh, name_en),
            (f"{org.zh}支持{field_zh}领域的项目：{programme.detail[0]}，单个项目支持{money_zh(low, high)}。"
             f"申报主体须在{region.zh}注册或承诺落地。",
             f"{org.en} supports projects in {in_sentence(field_en)}: {programme.detail[1]}; "
             f"{money_en(low, high)} per project. "
             f"Applicants must be registered in {region.en} or commit to moving there."),
            (*programme.keywords, field_zh, field_en),
            fields=[c.code for c in children(top)],  # a programme covers its whole industry
            transfer_modes=[TransferMode.SUBSIDY], amount=amount(low, high), region_preference=[government.region],
        )

    def policy_need(self, owner: Participant) -> Item:
        rng = self.rng
        need = rng.choice(t.POLICY_NEEDS)
        sub = self.own_field(owner)
        low = rng.choice((30, 50, 80, 100))
        high = low * rng.randint(2, 6)
        region, org, (sub_zh, sub_en) = REGIONS[owner.region], owner.organisation, field_names([sub])
        return self.compose(
            owner, Side.NEED, Kind.POLICY,
            (f"{sub_zh}项目申请{need.zh}", f"Seeking {need.en} for {with_article(in_sentence(sub_en) + ' project')}"),
            (f"{org.zh}计划在{region.zh}扩大{sub_zh}方向的研发和生产，"
             f"希望获得{need.zh}，预计需要{money_zh(low, high)}。",
             f"{org.en} plans to grow {in_sentence(sub_en)} R&D and production in {region.en} and seeks "
             f"{need.en} of about {money_en(low, high)}."),
            (*need.keywords, sub_zh, sub_en),
            fields=[sub], transfer_modes=[TransferMode.SUBSIDY], amount=amount(low, high),
            region_preference=[owner.region],
        )


def build(rng: random.Random, members: list[tuple[Participant, Organisation]]) -> list[Item]:
    make = ItemFactory(rng, members)
    everyone = [p for p, _ in members]
    of_type = {pt: [p for p in everyone if p.party_type is pt] for pt in PartyType}

    tech_offers = []
    for owner in everyone:
        count = {PartyType.UNIVERSITY: rng.randint(2, 3), PartyType.INSTITUTE: rng.randint(2, 3),
                 PartyType.ENTERPRISE: rng.choices((0, 1, 2), (1, 7, 2))[0]}.get(owner.party_type, 0)
        tech_offers += [make.technology_offer(owner) for _ in range(count)]

    # Needs written for offers: mostly enterprises in the offer's field, some governments.
    for offer in tech_offers:
        if rng.random() >= 0.55:
            continue
        buyers = of_type[PartyType.GOVERNMENT] if rng.random() < 0.1 else of_type[PartyType.ENTERPRISE]
        field = top_level(offer.fields[0])
        fitting = [p for p in buyers if p.organisation != make.participants[offer.owner].organisation
                   and any(top_level(c) == field for c in p.fields)]
        make.technology_need(rng.choice(fitting or buyers), offer)
    for party_type, share in ((PartyType.ENTERPRISE, 0.4), (PartyType.AGENCY, 0.3), (PartyType.GOVERNMENT, 0.3)):
        for owner in of_type[party_type]:
            if rng.random() < share:
                make.technology_need(owner)

    for investor in of_type[PartyType.INVESTOR]:
        for _ in range(rng.randint(1, 2)):
            make.capital_offer(investor)
    for offer in tech_offers:
        roll = rng.random()
        if roll < 0.25:
            make.capital_need(offer)
        elif roll < 0.40:
            make.service_need(make.participants[offer.owner], offer)

    for owner in everyone:
        catalogue, count = {
            PartyType.AGENCY: (t.AGENCY_SERVICES, rng.randint(2, 3)),
            PartyType.UNIVERSITY: (t.RESEARCH_SERVICES, int(rng.random() < 0.15)),
            PartyType.INSTITUTE: (t.RESEARCH_SERVICES, int(rng.random() < 0.15)),
            PartyType.ENTERPRISE: (t.ENTERPRISE_SERVICES, int(rng.random() < 0.1)),
            PartyType.GOVERNMENT: (t.GOVERNMENT_SERVICES, int(rng.random() < 0.4)),
            PartyType.INVESTOR: ((), 0),
        }[owner.party_type]
        for _ in range(count):
            make.service_offer(owner, catalogue)
    for party_type, share in ((PartyType.ENTERPRISE, 0.1), (PartyType.INVESTOR, 0.3)):
        for owner in of_type[party_type]:
            if rng.random() < share:
                make.service_need(owner)

    for government in of_type[PartyType.GOVERNMENT]:
        for programme in rng.sample(t.POLICY_PROGRAMMES, rng.randint(1, 3)):
            make.policy_offer(government, programme)
    for party_type, share in ((PartyType.ENTERPRISE, 0.3), (PartyType.UNIVERSITY, 0.1), (PartyType.INSTITUTE, 0.1)):
        for owner in of_type[party_type]:
            if rng.random() < share:
                make.policy_need(owner)
    return make.items
