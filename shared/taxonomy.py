"""The field taxonomy: two levels with stable codes and names in Chinese and English.

The first five fields are the seed's focus for hard-tech sessions; the others are further
hard-tech fields. A sub-field code is its field code, a dot and a suffix (``EIT.IC``), so the
parent of any code is known without a lookup table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    code: str
    zh: str
    en: str
    parent: str | None = None

    def name(self, lang: str) -> str:
        return self.zh if lang.startswith("zh") else self.en


_TREE: dict[tuple[str, str, str], list[tuple[str, str, str]]] = {
    ("EIT", "新一代电子信息", "Next-generation electronic information"): [
        ("IC", "集成电路", "Integrated circuits"),
        ("DSP", "新型显示", "Advanced displays"),
        ("SEN", "智能传感器", "Smart sensors"),
        ("AI", "人工智能", "Artificial intelligence"),
        ("QIT", "量子信息", "Quantum information"),
    ],
    ("BIO", "生物医药", "Biomedicine"): [
        ("DRUG", "创新药", "Innovative drugs"),
        ("DEV", "医疗器械", "Medical devices"),
        ("DX", "体外诊断", "In-vitro diagnostics"),
        ("GENE", "基因与细胞治疗", "Gene and cell therapy"),
    ],
    ("5G", "5G通信", "5G communications"): [
        ("RAN", "无线接入网", "Radio access network"),
        ("RF", "射频与天线", "RF front-end and antennas"),
        ("OPT", "光通信", "Optical communications"),
        ("IOT", "物联网", "Internet of Things"),
    ],
    ("IIOT", "工业互联网", "Industrial internet"): [
        ("PLAT", "工业互联网平台", "Industrial internet platforms"),
        ("EDGE", "边缘计算", "Edge computing"),
        ("SEC", "工控安全", "Industrial control security"),
        ("TWIN", "数字孪生", "Digital twins"),
    ],
    ("IMFG", "智能制造", "Intelligent manufacturing"): [
        ("ROB", "工业机器人", "Industrial robots"),
        ("CNC", "高档数控机床", "High-end CNC machine tools"),
        ("AM", "增材制造", "Additive manufacturing"),
        ("INSP", "智能检测", "Intelligent inspection"),
    ],
    ("MAT", "新材料", "Advanced materials"): [
        ("SEMI", "半导体材料", "Semiconductor materials"),
        ("COMP", "复合材料", "Composites"),
        ("NANO", "纳米材料", "Nanomaterials"),
    ],
    ("ENE", "新能源", "New energy"): [
        ("PV", "光伏", "Photovoltaics"),
        ("BAT", "动力电池与储能", "Batteries and energy storage"),
        ("H2", "氢能", "Hydrogen"),
    ],
    ("AERO", "航空航天", "Aerospace"): [
        ("SAT", "卫星与导航", "Satellites and navigation"),
        ("UAV", "无人机", "Unmanned aerial vehicles"),
    ],
    ("PHO", "光电子与激光", "Photonics and lasers"): [
        ("LAS", "激光器", "Lasers"),
        ("IMG", "光学成像", "Optical imaging"),
    ],
}

SEED_FIELDS: tuple[str, ...] = ("EIT", "BIO", "5G", "IIOT", "IMFG")


def _build() -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for (code, zh, en), children in _TREE.items():
        fields[code] = Field(code, zh, en)
        for suffix, czh, cen in children:
            child = f"{code}.{suffix}"
            fields[child] = Field(child, czh, cen, parent=code)
    return fields


FIELDS: dict[str, Field] = _build()


def is_known(code: str) -> bool:
    return code in FIELDS


def top_level(code: str) -> str:
    """The first-level field of a code (itself when it is first-level)."""
    return code.split(".", 1)[0]


def children(code: str) -> list[Field]:
    return [f for f in FIELDS.values() if f.parent == code]


def unknown_codes(codes: list[str]) -> list[str]:
    return [c for c in codes if c not in FIELDS]
