"""Names of the shared lists (party types, fields, regions, high-tech zones) in a language, and the
pickers built from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared import regions, taxonomy
from shared.party_types import NEED_RULES, OFFER_RULES, PARTY_NAMES, Kind, PartyType, Side
from services.web.domain.i18n import ZH, translate


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    group: str | None = None


def _pick(zh: str, en: str, language: str) -> str:
    return zh if language == ZH else en


def party_name(party_type: str, language: str) -> str:
    zh, en = PARTY_NAMES[PartyType(party_type)]
    return _pick(zh, en, language)


def field_name(code: str, language: str) -> str:
    found = taxonomy.FIELDS.get(code)
    return found.name(language) if found else code


def region_name(code: str | None, language: str) -> str:
    if not code:
        return ""
    found = regions.REGIONS.get(code)
    if found is None:
        return code
    if found.is_city and found.province != code:
        province = regions.REGIONS[found.province]
        own = _pick(found.zh, found.en, language)
        parent = _pick(province.zh, province.en, language)
        return own if own.startswith(parent) or parent.startswith(own) else f"{parent} · {own}"
    return _pick(found.zh, found.en, language)


def zone_name(code: str | None, language: str) -> str:
    if not code:
        return ""
    zone = regions.HIGH_TECH_ZONES.get(code)
    return _pick(zone.zh, zone.en, language) if zone else code


def text(value: dict[str, Any] | None, language: str) -> str:
    """A LocalizedText from an API ({"zh": …, "en": …}) in ``language``, else in the other one."""
    if not value:
        return ""
    first, second = ("zh", "en") if language == ZH else ("en", "zh")
    return value.get(first) or value.get(second) or ""


def participant_name(participant: dict[str, Any], language: str) -> str:
    """``organisation · person``, or the organisation alone when the person is not named apart."""
    organisation = text(participant.get("organisation"), language)
    person = text(participant.get("display_name"), language)
    return f"{organisation} · {person}" if person and person != organisation else organisation


def party_options(language: str) -> list[Option]:
    return [Option(p.value, party_name(p, language)) for p in PartyType]


def field_options(language: str) -> list[Option]:
    """Every field and sub-field, each sub-field grouped under its field."""
    options = []
    for field in taxonomy.FIELDS.values():
        group = field_name(field.parent or field.code, language)
        label = field.name(language) if field.parent else f"{field.name(language)}（全部）" if language == ZH \
            else f"{field.name(language)} (all)"
        options.append(Option(field.code, label, group))
    return options


def top_field_options(language: str) -> list[Option]:
    return [Option(f.code, f.name(language)) for f in taxonomy.FIELDS.values() if f.parent is None]


def region_options(language: str) -> list[Option]:
    """Provinces and their cities, grouped by province."""
    options = []
    for region in regions.REGIONS.values():
        if not region.is_city:
            province = _pick(region.zh, region.en, language)
            options.append(Option(region.code, province, province))
    for region in regions.REGIONS.values():
        if region.is_city:
            seat = regions.REGIONS[region.province]
            options.append(Option(region.code, _pick(region.zh, region.en, language),
                                  _pick(seat.zh, seat.en, language)))
    return sorted(options, key=lambda o: (o.group or "", o.value != regions.REGIONS[o.value].province, o.value))


def city_options(language: str) -> list[Option]:
    return [Option(r.code, region_name(r.code, language)) for r in regions.REGIONS.values() if r.is_city]


def zone_options(language: str) -> list[Option]:
    return [Option(z.code, f"{_pick(z.zh, z.en, language)}") for z in regions.HIGH_TECH_ZONES.values()]


def kind_options(party_type: str, side: str, language: str) -> list[Option]:
    """The kinds this party type may post on this side (the listing service's rule)."""
    rules = OFFER_RULES if Side(side) is Side.OFFER else NEED_RULES
    allowed = rules[PartyType(party_type)]
    return [Option(k.value, translate(language, f"kind.{k.value}")) for k in Kind if k in allowed]
