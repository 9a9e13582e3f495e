"""A field glossary: technical terms of each top-level field of the taxonomy in Chinese and
English, kept by hand (reviewed 2026-12-07), for the zh↔en bridge of text relevance.

CC-CEDICT (``shared.lexicon``) is a general dictionary: the first gloss of an entry is often not
the technical sense (mass → 群众, delivery → 交割, vibration → 振荡, maintenance → 维修 where a
plant says 维护). The glossary names the sense a field uses (mass transfer → 巨量转移 in
displays, delivery → 递送 in gene therapy), and takes precedence over CC-CEDICT for the words it
covers. Each line is ``中文[/同义] = english[/synonym]``; ``*`` holds terms of every field, and
the taxonomy's own names (光通信 = Optical communications) are entries of every field too.

``matches_in_english`` and ``matches_in_chinese`` find the entries of an item's fields in its
text: English terms as whole words (a plural ``s`` ignored), Chinese terms anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from shared.caches import TEXT_CACHE_ENTRIES
from shared.taxonomy import FIELDS

_TABLE: dict[str, str] = {
    "*": """
        技术转让 = technology transfer
        技术许可/许可 = licence/license/licensing
        联合开发/合作开发 = joint development/co-development
        作价入股 = equity contribution
        中试 = pilot/pilot scale/pilot production
        样机 = prototype
        量产 = volume production/mass production
        产业化 = commercialisation/commercialization/industrialisation
        专利 = patent
        知识产权 = intellectual property
        良率 = yield
        可靠性 = reliability
        精度 = precision/accuracy
        检测 = inspection/testing/detection
        传感器 = sensor
        算法 = algorithm
        软件 = software
        芯片 = chip
        激光 = laser
        机器视觉 = machine vision
        深度学习 = deep learning
        故障诊断 = fault diagnosis
        预测性维护 = predictive maintenance
        振动 = vibration
        电机 = motor/electric motor
        泵 = pump
        风机 = fan/blower
        低功耗 = low power/low-power
        国产化/国产替代 = domestic substitution/localisation
        产线 = production line
        涂层 = coating
        薄膜 = thin film
        封装 = packaging/encapsulation
        电池 = battery
        储能 = energy storage
        无人机 = drone/uav
        机器人 = robot
        数据中心 = data centre/data center
        新能源汽车 = new-energy vehicle/electric vehicle
        天使轮 = angel round
        种子轮 = seed round
        早期 = early stage/early-stage
        成长期 = growth stage/growth-stage
        股权投资 = equity investment
        孵化 = incubation
        中试基地/中试平台 = pilot plant
        检验检测 = testing and certification
        技术经纪 = technology brokerage
        尽职调查 = due diligence
        法律 = legal
        技术评估/成果评估/评估与作价 = technology valuation/valuation
        国际技术转移 = international technology transfer
        跨境 = cross-border
        概念验证 = proof of concept/proof-of-concept
        示范 = demonstration
        应用场景 = application scenario
        联合实验室 = joint laboratory/joint lab
        专网 = private network
        专利布局 = patent portfolio/patent strategy
        人才 = talent
        补贴 = subsidy
        资助 = funding/grant
        """,
    "EIT": """
        集成电路 = integrated circuit
        处理器 = processor
        模数转换器 = analog-to-digital converter/adc
        电源管理 = power management
        先进封装 = advanced packaging
        流片 = tape-out/taped out
        晶圆 = wafer
        光刻 = lithography
        存算一体 = compute-in-memory
        加速器 = accelerator
        显示面板/面板 = display panel
        巨量转移 = mass transfer
        激光剥离 = laser lift-off
        背板 = backplane
        量子点 = quantum dot
        柔性显示 = flexible display
        薄膜封装 = thin-film encapsulation
        微显示 = microdisplay
        硅基 = silicon-based/on silicon
        压力传感器 = pressure sensor
        气体传感器 = gas sensor
        惯性传感器/惯性测量 = inertial sensor/imu
        图像传感器 = image sensor
        毫米波雷达 = millimetre-wave radar/mmwave radar
        激光雷达 = lidar
        大模型 = large model/foundation model/large language model/llm
        计算机视觉 = computer vision
        语音识别 = speech recognition
        知识图谱 = knowledge graph
        推理 = inference
        量子计算 = quantum computing
        量子通信 = quantum communication
        量子密钥分发 = quantum key distribution/qkd
        单光子 = single-photon/single photon
        超导 = superconducting
        """,
    "BIO": """
        创新药 = innovative drug/novel drug
        抗体 = antibody
        单克隆抗体/单抗 = monoclonal antibody
        双特异性抗体/双抗 = bispecific antibody
        抗体偶联药物 = antibody-drug conjugate/adc
        小分子 = small molecule
        药物靶点 = drug target
        临床前 = preclinical
        临床试验 = clinical trial
        递送 = delivery
        载体 = vector/carrier
        脂质纳米颗粒 = lipid nanoparticle/lnp
        基因编辑 = gene editing
        碱基编辑 = base editing/base editor
        基因治疗 = gene therapy
        细胞治疗 = cell therapy
        肝细胞 = liver cell/hepatocyte
        肝脏 = liver
        遗传病 = inherited disease/genetic disease
        肿瘤 = tumour/tumor/cancer
        病毒载体 = viral vector
        腺相关病毒 = adeno-associated virus/aav
        医疗器械 = medical device
        手术机器人 = surgical robot
        影像 = imaging
        超声 = ultrasound
        内窥镜 = endoscope
        植入 = implant/implantable
        可穿戴 = wearable
        体外诊断 = in-vitro diagnostic/in vitro diagnostic/ivd
        诊断试剂 = diagnostic reagent/diagnostic kit
        即时检验 = point-of-care/poct
        测序 = sequencing
        核酸 = nucleic acid
        化学发光 = chemiluminescence
        微流控 = microfluidic
        疫苗 = vaccine
        糖尿病 = diabetes
        制剂 = formulation
        原料药 = active pharmaceutical ingredient/api
        """,
    "5G": """
        基站 = base station
        小基站 = small cell
        射频 = radio frequency/rf
        前端 = front-end/front end
        天线 = antenna
        毫米波 = millimetre-wave/millimeter-wave/mmwave
        功率放大器/功放 = power amplifier/pa
        低噪声放大器 = low-noise amplifier/lna
        滤波器 = filter
        波束赋形 = beamforming
        大规模天线/大规模MIMO = massive mimo
        信道 = channel
        容量 = capacity
        无线接入网 = radio access network/ran
        开放无线接入网 = open ran/o-ran
        基带 = baseband
        光模块 = optical module/optical transceiver
        硅光 = silicon photonics
        光纤 = optical fibre/optical fiber
        相干 = coherent
        物联网 = internet of things/iot
        窄带物联网 = nb-iot
        模组 = module
        网关 = gateway
        低时延 = low latency/low-latency
        频段 = band/frequency band
        """,
    "IIOT": """
        工业互联网 = industrial internet
        工业互联网平台 = industrial internet platform
        设备管理 = asset management/equipment management
        旋转机械/旋转设备 = rotating machinery/rotating equipment
        状态监测 = condition monitoring
        监测 = monitoring
        停机 = downtime
        边缘计算 = edge computing
        边缘网关 = edge gateway
        时间敏感网络 = time-sensitive networking/tsn
        工控安全 = industrial control security/ics security
        入侵检测 = intrusion detection
        可编程逻辑控制器 = programmable logic controller/plc
        数字孪生 = digital twin
        仿真 = simulation
        制造执行系统 = manufacturing execution system/mes
        数据采集 = data acquisition
        标识解析 = identifier resolution
        能耗 = energy consumption
        """,
    "IMFG": """
        工业机器人 = industrial robot
        协作机器人 = collaborative robot/cobot
        移动机器人 = mobile robot/amr/agv
        焊接 = welding
        离线编程 = offline programming
        减速器 = reducer/gearbox
        伺服 = servo
        数控机床 = cnc machine tool
        五轴 = five-axis/5-axis
        主轴 = spindle
        加工 = machining
        增材制造 = additive manufacturing
        金属3D打印/3D打印 = 3d printing/metal 3d printing
        激光选区熔化 = selective laser melting/slm
        智能检测 = intelligent inspection
        缺陷检测 = defect detection/defect inspection
        视觉检测 = visual inspection/vision inspection
        在线检测 = inline inspection/in-line inspection
        尺寸测量 = dimensional measurement/dimensional gauge
        装配 = assembly
        """,
    "MAT": """
        半导体材料 = semiconductor material
        碳化硅 = silicon carbide/sic
        氮化镓 = gallium nitride/gan
        衬底 = substrate
        外延 = epitaxy/epitaxial
        光刻胶 = photoresist
        复合材料 = composite
        碳纤维 = carbon fibre/carbon fiber
        树脂 = resin
        纳米材料 = nanomaterial
        石墨烯 = graphene
        陶瓷 = ceramic
        """,
    "ENE": """
        光伏 = photovoltaic/pv/solar
        钙钛矿 = perovskite
        异质结 = heterojunction/hjt
        电池片 = solar cell
        组件 = module
        动力电池 = power battery/traction battery
        固态电池 = solid-state battery
        锂电池/锂离子电池 = lithium-ion battery/li-ion battery
        正极 = cathode
        负极 = anode
        电解质 = electrolyte
        电池管理 = battery management/bms
        氢能 = hydrogen
        电解槽 = electrolyser/electrolyzer
        燃料电池 = fuel cell
        储氢 = hydrogen storage
        """,
    "AERO": """
        卫星 = satellite
        导航 = navigation
        北斗 = beidou
        遥感 = remote sensing
        星载 = spaceborne/on-board
        无人机 = unmanned aerial vehicle/drone/uav
        飞控 = flight control
        续航 = endurance
        """,
    "PHO": """
        激光器 = laser
        光纤激光器 = fibre laser/fiber laser
        超快激光 = ultrafast laser
        飞秒 = femtosecond
        光学成像 = optical imaging
        镜头 = lens
        光谱 = spectral/spectroscopy
        红外 = infrared
        """,
}

_LATIN = re.compile(r"[a-z0-9][a-z0-9\-\+\.]*[a-z0-9\+]|[a-z0-9]")


def stem(word: str) -> str:
    """A Latin word without a plural ``s`` (editors → editor, cells → cell; not glass)."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def latin_words(text: str) -> list[str]:
    """The lower-cased Latin words of a text, as the glossary's English terms are matched."""
    return [stem(w) for w in _LATIN.findall(text.lower())]


@dataclass(frozen=True)
class Entry:
    zh: tuple[str, ...]
    en: tuple[str, ...]  # as written
    en_words: tuple[tuple[str, ...], ...]  # each English term as its stemmed words


def _parse(table: str) -> tuple[Entry, ...]:
    entries = []
    for line in filter(str.strip, table.splitlines()):
        zh, en = (side.strip() for side in line.split("="))
        english = tuple(t.strip() for t in en.split("/"))
        entries.append(Entry(zh=tuple(t.strip() for t in zh.split("/")), en=english,
                             en_words=tuple(tuple(latin_words(t)) for t in english)))
    return tuple(entries)


def _taxonomy_names() -> str:
    return "\n".join(f"{f.zh} = {f.en}" for f in FIELDS.values())


GLOSSARY: dict[str, tuple[Entry, ...]] = {
    field: _parse(table + ("\n" + _taxonomy_names() if field == "*" else "")) for field, table in _TABLE.items()}


@lru_cache(maxsize=1024)
def entries_of(top_fields: frozenset[str]) -> tuple[Entry, ...]:
    """The entries of these top-level fields and of every field."""
    return GLOSSARY["*"] + tuple(e for f in sorted(top_fields) for e in GLOSSARY.get(f, ()))


@lru_cache(maxsize=1024)
def _by_first_word(top_fields: frozenset[str]) -> dict[str, list[tuple[int, Entry, tuple[str, ...]]]]:
    """The English terms of these fields' entries by their first word, with the entry's rank."""
    index: dict[str, list[tuple[int, Entry, tuple[str, ...]]]] = {}
    for rank, entry in enumerate(entries_of(top_fields)):
        for term in entry.en_words:
            index.setdefault(term[0], []).append((rank, entry, term))
    return index


def matches_in_english(words: list[str], top_fields: frozenset[str]) -> tuple[list[Entry], set[int]]:
    """The entries with an English term among ``words`` (``latin_words`` of a text), in the
    glossary's order, and the positions of the words they cover."""
    return _matches_in_english(tuple(words), top_fields)


@lru_cache(maxsize=TEXT_CACHE_ENTRIES)
def _matches_in_english(words: tuple[str, ...], top_fields: frozenset[str]) -> tuple[list[Entry], set[int]]:
    index = _by_first_word(top_fields)
    found: dict[int, Entry] = {}
    covered: set[int] = set()
    for start, word in enumerate(words):
        for rank, entry, term in index.get(word, ()):
            if words[start:start + len(term)] == term:
                found[rank] = entry
                covered.update(range(start, start + len(term)))
    return [found[rank] for rank in sorted(found)], covered


@lru_cache(maxsize=TEXT_CACHE_ENTRIES)
def matches_in_chinese(text: str, top_fields: frozenset[str]) -> list[Entry]:
    """The entries with a Chinese term in ``text``."""
    return [e for e in entries_of(top_fields) if any(t in text for t in e.zh)]
