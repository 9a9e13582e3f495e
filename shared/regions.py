"""Regions: provinces (ISO 3166-2:CN codes), major cities, national high-tech zones, the four
regional strategies and the national technology-transfer regional centres (国家技术转移区域中心).

A city code is its province code, a dot and a suffix (``CN-SC.CD`` is 成都), so the province of
any city is known from the code itself. Items and participants are *located* in a province or a
city (``is_known``); a *preference* may also name an area (``AREAS``): a regional strategy
(``RS-JJJ`` 京津冀, ``RS-YRD`` 长三角, ``RS-GBA`` 粤港澳大湾区, ``RS-CY`` 成渝) or the provinces a
national technology-transfer regional centre serves (``TTC-EAST`` 国家技术转移东部中心, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Region:
    code: str
    zh: str
    en: str
    province: str  # the region's own code for a province

    @property
    def is_city(self) -> bool:
        return self.code != self.province


_PROVINCES: dict[str, tuple[str, str]] = {
    "CN-BJ": ("北京", "Beijing"), "CN-TJ": ("天津", "Tianjin"), "CN-HE": ("河北", "Hebei"),
    "CN-SX": ("山西", "Shanxi"), "CN-NM": ("内蒙古", "Inner Mongolia"), "CN-LN": ("辽宁", "Liaoning"),
    "CN-JL": ("吉林", "Jilin"), "CN-HL": ("黑龙江", "Heilongjiang"), "CN-SH": ("上海", "Shanghai"),
    "CN-JS": ("江苏", "Jiangsu"), "CN-ZJ": ("浙江", "Zhejiang"), "CN-AH": ("安徽", "Anhui"),
    "CN-FJ": ("福建", "Fujian"), "CN-JX": ("江西", "Jiangxi"), "CN-SD": ("山东", "Shandong"),
    "CN-HA": ("河南", "Henan"), "CN-HB": ("湖北", "Hubei"), "CN-HN": ("湖南", "Hunan"),
    "CN-GD": ("广东", "Guangdong"), "CN-GX": ("广西", "Guangxi"), "CN-HI": ("海南", "Hainan"),
    "CN-CQ": ("重庆", "Chongqing"), "CN-SC": ("四川", "Sichuan"), "CN-GZ": ("贵州", "Guizhou"),
    "CN-YN": ("云南", "Yunnan"), "CN-XZ": ("西藏", "Tibet"), "CN-SN": ("陕西", "Shaanxi"),
    "CN-GS": ("甘肃", "Gansu"), "CN-QH": ("青海", "Qinghai"), "CN-NX": ("宁夏", "Ningxia"),
    "CN-XJ": ("新疆", "Xinjiang"), "CN-HK": ("香港", "Hong Kong"), "CN-MO": ("澳门", "Macao"),
    "CN-TW": ("台湾", "Taiwan"),
}

_CITIES: dict[str, tuple[str, str]] = {
    "CN-BJ.BJ": ("北京市", "Beijing"), "CN-TJ.TJ": ("天津市", "Tianjin"),
    "CN-HE.SJZ": ("石家庄", "Shijiazhuang"), "CN-HE.XA": ("雄安新区", "Xiong'an"),
    "CN-SH.SH": ("上海市", "Shanghai"), "CN-JS.NJ": ("南京", "Nanjing"), "CN-JS.SZ": ("苏州", "Suzhou"),
    "CN-JS.WX": ("无锡", "Wuxi"), "CN-ZJ.HZ": ("杭州", "Hangzhou"), "CN-ZJ.NB": ("宁波", "Ningbo"),
    "CN-AH.HF": ("合肥", "Hefei"), "CN-GD.GZ": ("广州", "Guangzhou"), "CN-GD.SZ": ("深圳", "Shenzhen"),
    "CN-GD.DG": ("东莞", "Dongguan"), "CN-GD.ZH": ("珠海", "Zhuhai"), "CN-GD.FS": ("佛山", "Foshan"),
    "CN-HK.HK": ("香港", "Hong Kong"), "CN-MO.MO": ("澳门", "Macao"),
    "CN-CQ.CQ": ("重庆市", "Chongqing"), "CN-SC.CD": ("成都", "Chengdu"), "CN-SC.MY": ("绵阳", "Mianyang"),
    "CN-HB.WH": ("武汉", "Wuhan"), "CN-SN.XA": ("西安", "Xi'an"), "CN-SD.JN": ("济南", "Jinan"),
    "CN-SD.QD": ("青岛", "Qingdao"), "CN-LN.SY": ("沈阳", "Shenyang"), "CN-LN.DL": ("大连", "Dalian"),
    "CN-JL.CC": ("长春", "Changchun"), "CN-HL.HEB": ("哈尔滨", "Harbin"), "CN-HN.CS": ("长沙", "Changsha"),
    "CN-HA.ZZ": ("郑州", "Zhengzhou"), "CN-FJ.FZ": ("福州", "Fuzhou"), "CN-FJ.XM": ("厦门", "Xiamen"),
}


class Strategy(StrEnum):
    """The four regional development strategies named in the seed."""

    JING_JIN_JI = "jingjinji"
    YANGTZE_DELTA = "yangtze_delta"
    GREATER_BAY = "greater_bay"
    CHENGYU = "chengyu"


STRATEGIES: dict[Strategy, tuple[str, str, frozenset[str]]] = {
    Strategy.JING_JIN_JI: ("京津冀", "Beijing-Tianjin-Hebei", frozenset({"CN-BJ", "CN-TJ", "CN-HE"})),
    Strategy.YANGTZE_DELTA: ("长三角", "Yangtze River Delta", frozenset({"CN-SH", "CN-JS", "CN-ZJ", "CN-AH"})),
    Strategy.GREATER_BAY: ("粤港澳大湾区", "Guangdong-Hong Kong-Macao Greater Bay Area",
                           frozenset({"CN-GD", "CN-HK", "CN-MO"})),
    Strategy.CHENGYU: ("成渝", "Chengdu-Chongqing", frozenset({"CN-SC", "CN-CQ"})),
}


@dataclass(frozen=True)
class TransferCentre:
    """A national technology-transfer regional centre and the provinces it serves."""

    code: str
    zh: str
    en: str
    seat: str  # city code
    provinces: frozenset[str]


TRANSFER_CENTRES: tuple[TransferCentre, ...] = (
    TransferCentre("cluster", "国家技术转移集聚区", "National Technology Transfer Cluster", "CN-BJ.BJ",
                   frozenset({"CN-BJ", "CN-TJ", "CN-HE", "CN-NM"})),
    TransferCentre("east", "国家技术转移东部中心", "National Technology Transfer Eastern Centre", "CN-SH.SH",
                   frozenset({"CN-SH", "CN-JS", "CN-ZJ", "CN-AH", "CN-FJ", "CN-JX", "CN-SD"})),
    TransferCentre("south", "国家技术转移南方中心", "National Technology Transfer Southern Centre", "CN-GD.SZ",
                   frozenset({"CN-GD", "CN-GX", "CN-HI", "CN-HK", "CN-MO"})),
    TransferCentre("southwest", "国家技术转移西南中心", "National Technology Transfer Southwest Centre", "CN-SC.CD",
                   frozenset({"CN-SC", "CN-CQ", "CN-GZ", "CN-YN", "CN-XZ"})),
    TransferCentre("central", "国家技术转移中部中心", "National Technology Transfer Central Centre", "CN-HB.WH",
                   frozenset({"CN-HB", "CN-HN", "CN-HA", "CN-SX"})),
    TransferCentre("northwest", "国家技术转移西北中心", "National Technology Transfer Northwest Centre", "CN-SN.XA",
                   frozenset({"CN-SN", "CN-GS", "CN-QH", "CN-NX", "CN-XJ"})),
    TransferCentre("northeast", "国家技术转移东北中心", "National Technology Transfer Northeast Centre", "CN-JL.CC",
                   frozenset({"CN-LN", "CN-JL", "CN-HL"})),
)


@dataclass(frozen=True)
class HighTechZone:
    code: str
    zh: str
    en: str
    city: str


HIGH_TECH_ZONES: dict[str, HighTechZone] = {
    z.code: z
    for z in (
        HighTechZone("ZGC", "中关村科技园区", "Zhongguancun Science Park", "CN-BJ.BJ"),
        HighTechZone("ZJ", "张江高新区", "Zhangjiang High-tech Zone", "CN-SH.SH"),
        HighTechZone("SIP", "苏州工业园区", "Suzhou Industrial Park", "CN-JS.SZ"),
        HighTechZone("SZHT", "深圳高新区", "Shenzhen High-tech Zone", "CN-GD.SZ"),
        HighTechZone("CDHT", "成都高新区", "Chengdu High-tech Zone", "CN-SC.CD"),
        HighTechZone("WHEL", "武汉东湖高新区", "Wuhan East Lake High-tech Zone", "CN-HB.WH"),
        HighTechZone("XAHT", "西安高新区", "Xi'an High-tech Zone", "CN-SN.XA"),
        HighTechZone("HFHT", "合肥高新区", "Hefei High-tech Zone", "CN-AH.HF"),
    )
}


def _build() -> dict[str, Region]:
    regions = {code: Region(code, zh, en, code) for code, (zh, en) in _PROVINCES.items()}
    for code, (zh, en) in _CITIES.items():
        regions[code] = Region(code, zh, en, code.split(".", 1)[0])
    return regions


REGIONS: dict[str, Region] = _build()


@dataclass(frozen=True)
class Area:
    """A region a preference may name beyond a province or city: the provinces it spans."""

    code: str
    zh: str
    en: str
    provinces: frozenset[str]
    strategy: Strategy | None = None  # set for a regional strategy, None for a centre's area


STRATEGY_CODES: dict[Strategy, str] = {
    Strategy.JING_JIN_JI: "RS-JJJ", Strategy.YANGTZE_DELTA: "RS-YRD", Strategy.GREATER_BAY: "RS-GBA",
    Strategy.CHENGYU: "RS-CY",
}

AREAS: dict[str, Area] = {
    **{STRATEGY_CODES[s]: Area(STRATEGY_CODES[s], zh, en, members, s) for s, (zh, en, members) in STRATEGIES.items()},
    **{f"TTC-{c.code.upper()}": Area(f"TTC-{c.code.upper()}", c.zh, c.en, c.provinces) for c in TRANSFER_CENTRES},
}


def is_known(code: str) -> bool:
    """A province or city: where an item or a participant is."""
    return code in REGIONS


def is_preference(code: str) -> bool:
    """What a region preference may name: a province, a city or an area (``AREAS``)."""
    return code in REGIONS or code in AREAS


def name(code: str, lang: str) -> str:
    """The Chinese (``zh``) or English name of a province, city or area."""
    place = REGIONS.get(code) or AREAS[code]
    return place.zh if lang == "zh" else place.en


def covers(preference: str, region: str) -> bool:
    """True when a place in ``region`` (province or city) is within the preferred one."""
    area = AREAS.get(preference)
    if area is not None:
        return province_of(region) in area.provinces
    return preference == region or preference == province_of(region)


def strategy_area(strategy: Strategy) -> Area:
    return AREAS[STRATEGY_CODES[strategy]]


def province_of(code: str) -> str:
    return code.split(".", 1)[0]


def strategies_of(code: str) -> frozenset[Strategy]:
    province = province_of(code)
    return frozenset(s for s, (_, _, members) in STRATEGIES.items() if province in members)


def centre_of(code: str) -> TransferCentre | None:
    province = province_of(code)
    return next((c for c in TRANSFER_CENTRES if province in c.provinces), None)


class Proximity(StrEnum):
    SAME_CITY = "same_city"
    SAME_PROVINCE = "same_province"
    SAME_STRATEGY = "same_strategy"
    SAME_CENTRE = "same_centre"
    ELSEWHERE = "elsewhere"


def proximity(a: str, b: str) -> Proximity:
    """How close two regions are, from the same city down to elsewhere."""
    if a == b and REGIONS[a].is_city:
        return Proximity.SAME_CITY
    if province_of(a) == province_of(b):
        return Proximity.SAME_PROVINCE
    if strategies_of(a) & strategies_of(b):
        return Proximity.SAME_STRATEGY
    centre_a, centre_b = centre_of(a), centre_of(b)
    if centre_a is not None and centre_a == centre_b:
        return Proximity.SAME_CENTRE
    return Proximity.ELSEWHERE
