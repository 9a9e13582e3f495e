"""Template tables the demo data set composes its offers and needs from.

Per sub-field: the technologies people offer and need, the uses they serve and the performance
claims they make. Offers and needs draw on the same small tables, so a need and an offer in one
sub-field share real terms and matching by text has something to find. Further tables give the
services, policy programmes, investment rounds and wording every field shares.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.listing import TRANSFER_MODE_NAMES, TransferMode
from shared.party_types import Side

Text = tuple[str, str]  # (Chinese, English)


@dataclass(frozen=True)
class Term:
    """A thing offered or needed, in both languages, with its search keywords in either.

    ``uses`` and ``specs``, when given, replace the sub-field's for a technology that fits only
    some of them (a GLP-1 drug treats diabetes, not tumours).
    """

    zh: str
    en: str
    keywords: tuple[str, ...]
    uses: tuple[Text, ...] = ()
    specs: tuple[Text, ...] = ()


@dataclass(frozen=True)
class SubfieldTemplates:
    techs: tuple[Term, ...]
    uses: tuple[Text, ...]
    specs: tuple[Text, ...]

    def uses_of(self, tech: Term) -> tuple[Text, ...]:
        return tech.uses or self.uses

    def specs_of(self, tech: Term) -> tuple[Text, ...]:
        return tech.specs or self.specs


def _term(zh: str, en: str, *keywords: str, uses: list[Text] | None = None, specs: list[Text] | None = None) -> Term:
    return Term(zh, en, keywords, tuple(uses or ()), tuple(specs or ()))


def _sub(techs: list[Term], uses: list[Text], specs: list[Text]) -> SubfieldTemplates:
    return SubfieldTemplates(tuple(techs), tuple(uses), tuple(specs))


# --- 新一代电子信息 Next-generation electronic information -------------------------------------
EIT = {
    "EIT.IC": _sub(
        [
            _term("RISC-V低功耗处理器IP核", "low-power RISC-V processor IP core", "RISC-V", "处理器IP", "processor IP", "低功耗", "low power"),
            _term("高速SerDes接口IP", "high-speed SerDes interface IP", "SerDes", "高速接口", "high-speed interface"),
            _term("14位高速模数转换器芯片", "14-bit high-speed ADC chip", "ADC", "模数转换器", "analog-to-digital converter"),
            _term("存算一体AI加速芯片", "compute-in-memory AI accelerator chip", "存算一体", "compute-in-memory", "AI芯片", "AI accelerator"),
            _term("车规级电源管理芯片", "automotive-grade power management IC", "PMIC", "电源管理", "power management", "车规级", "automotive-grade"),
            _term("Chiplet先进封装互连技术", "chiplet advanced-packaging interconnect", "Chiplet", "先进封装", "advanced packaging"),
        ],
        [("物联网终端", "IoT end devices"), ("新能源汽车", "new-energy vehicles"), ("数据中心", "data centres"), ("工业控制", "industrial control")],
        [
            ("采用28nm工艺流片验证，功耗较同类产品降低30%", "taped out in 28 nm with 30% lower power than comparable parts"),
            ("已通过AEC-Q100可靠性考核", "qualified to AEC-Q100 reliability"),
            ("核心指标达到国际同类产品水平", "key figures on par with leading international products"),
        ],
    ),
    "EIT.DSP": _sub(
        [
            _term("Micro LED巨量转移技术", "Micro LED mass-transfer technology", "Micro LED", "巨量转移", "mass transfer",
                  specs=[("转移良率达到99.99%", "transfer yield of 99.99%")]),
            _term("柔性OLED薄膜封装工艺", "thin-film encapsulation for flexible OLED", "OLED", "柔性显示", "flexible display", "薄膜封装", "thin-film encapsulation",
                  specs=[("水汽透过率低于10⁻⁶ g/m²/天", "water-vapour transmission below 10⁻⁶ g/m²/day")]),
            _term("量子点色转换膜", "quantum-dot colour-conversion film", "量子点", "quantum dot", "色转换", "colour conversion",
                  specs=[("色域覆盖率达到BT.2020标准的90%以上", "colour gamut above 90% of BT.2020")]),
            _term("硅基OLED微显示器", "OLED-on-silicon microdisplay", "硅基OLED", "microdisplay", "微显示", "AR",
                  uses=[("AR/VR近眼显示", "AR/VR near-eye displays")], specs=[("像素密度超过3000 PPI", "pixel density above 3,000 PPI")]),
        ],
        [("AR/VR近眼显示", "AR/VR near-eye displays"), ("车载显示", "in-vehicle displays"), ("可穿戴设备", "wearables")],
        [
            ("像素密度超过3000 PPI", "pixel density above 3,000 PPI"),
            ("转移良率达到99.99%", "transfer yield of 99.99%"),
            ("色域覆盖率达到BT.2020标准的90%以上", "colour gamut above 90% of BT.2020"),
        ],
    ),
    "EIT.SEN": _sub(
        [
            _term("MEMS压力传感器", "MEMS pressure sensor", "MEMS", "压力传感器", "pressure sensor"),
            _term("高精度MEMS惯性测量单元", "high-precision MEMS inertial measurement unit", "MEMS", "IMU", "惯性导航", "inertial navigation"),
            _term("红外热电堆气体传感器", "infrared thermopile gas sensor", "气体传感器", "gas sensor", "红外", "infrared"),
            _term("柔性电子皮肤触觉传感器", "flexible e-skin tactile sensor", "柔性传感", "flexible sensor", "触觉", "tactile"),
        ],
        [("智能汽车", "smart vehicles"), ("工业过程监测", "industrial process monitoring"), ("消费电子", "consumer electronics"), ("服务机器人", "service robots")],
        [
            ("零点温漂小于0.02%FS/℃", "zero drift below 0.02 %FS/°C"),
            ("集成自校准ASIC，功耗低于10 μA", "self-calibrating ASIC on chip, drawing under 10 µA"),
            ("晶圆级封装，适合大批量生产", "wafer-level packaging for volume production"),
        ],
    ),
    "EIT.AI": _sub(
        [
            _term("工业视觉缺陷检测大模型", "large vision model for industrial defect detection", "机器视觉", "machine vision", "缺陷检测", "defect detection", "大模型", "large model",
                  uses=[("智能制造产线", "smart production lines"), ("3C电子质检", "3C electronics quality control")]),
            _term("多模态医学影像辅助诊断算法", "multimodal medical-imaging diagnosis algorithm", "医学影像", "medical imaging", "辅助诊断", "diagnosis", "深度学习", "deep learning",
                  uses=[("医院影像科", "hospital radiology"), ("基层医疗", "primary care")]),
            _term("端侧大模型量化压缩工具链", "on-device LLM quantisation and compression toolchain", "大模型", "LLM", "模型压缩", "quantisation", "端侧", "on-device",
                  uses=[("智能终端", "smart devices"), ("智能座舱", "smart cockpits")]),
            _term("知识图谱智能问答系统", "knowledge-graph question-answering system", "知识图谱", "knowledge graph", "问答", "question answering",
                  uses=[("政务服务", "government services"), ("智能客服", "customer service")]),
        ],
        [("智能制造产线", "smart production lines"), ("医院影像科", "hospital radiology"), ("智能终端", "smart devices"), ("政务服务", "government services")],
        [
            ("在公开数据集上准确率达到98.5%", "98.5% accuracy on public benchmarks"),
            ("推理延迟低于20毫秒", "inference latency under 20 ms"),
            ("支持国产GPU和NPU部署", "deployable on domestic GPUs and NPUs"),
        ],
    ),
    "EIT.QIT": _sub(
        [
            _term("量子密钥分发终端", "quantum key distribution terminal", "量子密钥分发", "QKD", "量子通信", "quantum communication",
                  uses=[("政务专网", "government private networks"), ("金融数据安全", "financial data security")],
                  specs=[("成码率达到10 kbps@100 km", "secure key rate of 10 kbps at 100 km")]),
            _term("超导量子比特测控系统", "superconducting-qubit control and readout system", "超导量子", "superconducting qubit", "测控", "control system",
                  uses=[("量子计算机", "quantum computers")], specs=[("支持64比特规模扩展", "scales to 64 qubits")]),
            _term("金刚石NV色心量子精密测量仪", "diamond NV-centre quantum sensor", "NV色心", "NV centre", "量子精密测量", "quantum sensing",
                  uses=[("生物磁测量", "biomagnetic measurement"), ("芯片无损检测", "non-destructive chip inspection")],
                  specs=[("磁场灵敏度达到1 nT/√Hz", "magnetic sensitivity of 1 nT/√Hz")]),
        ],
        [],
        [],
    ),
}

# --- 生物医药 Biomedicine -------------------------------------------------------------------
BIO = {
    "BIO.DRUG": _sub(
        [
            _term("靶向KRAS G12C的小分子抑制剂", "small-molecule KRAS G12C inhibitor", "KRAS", "小分子", "small molecule", "抑制剂", "inhibitor", "肿瘤", "oncology"),
            _term("双特异性抗体平台", "bispecific antibody platform", "双抗", "bispecific antibody", "抗体", "antibody"),
            _term("抗体偶联药物（ADC）连接子技术", "antibody-drug conjugate (ADC) linker technology", "ADC", "抗体偶联", "antibody-drug conjugate", "连接子", "linker"),
            _term("mRNA脂质纳米颗粒递送系统", "mRNA lipid-nanoparticle delivery system", "mRNA", "LNP", "脂质纳米颗粒", "lipid nanoparticle", "递送", "delivery",
                  uses=[("传染病疫苗", "infectious-disease vaccines"), ("肿瘤个性化疫苗", "personalised cancer vaccines")],
                  specs=[("已完成临床前药效与安全性评价", "preclinical efficacy and safety studies completed"),
                         ("递送效率较MC3提高3倍", "three times the delivery efficiency of MC3")]),
            _term("GLP-1受体激动剂口服制剂", "oral GLP-1 receptor agonist formulation", "GLP-1", "口服制剂", "oral formulation", "代谢疾病", "metabolic disease",
                  uses=[("2型糖尿病与肥胖", "type 2 diabetes and obesity")],
                  specs=[("已获得IND批件", "IND approval obtained"),
                         ("口服生物利用度较同类产品提高一倍", "twice the oral bioavailability of comparable products")]),
        ],
        [("非小细胞肺癌", "non-small-cell lung cancer"), ("实体瘤", "solid tumours"), ("HER2阳性乳腺癌", "HER2-positive breast cancer")],
        [
            ("已完成临床前药效与安全性评价", "preclinical efficacy and safety studies completed"),
            ("已获得IND批件", "IND approval obtained"),
            ("动物模型中肿瘤抑制率超过80%", "over 80% tumour growth inhibition in animal models"),
        ],
    ),
    "BIO.DEV": _sub(
        [
            _term("手术机器人力反馈系统", "force-feedback system for surgical robots", "手术机器人", "surgical robot", "力反馈", "force feedback",
                  uses=[("微创外科", "minimally invasive surgery"), ("骨科手术", "orthopaedic surgery")]),
            _term("可降解冠脉支架", "bioresorbable coronary stent", "可降解支架", "bioresorbable stent", "介入", "interventional",
                  uses=[("心血管介入", "cardiovascular intervention")]),
            _term("便携式超声成像设备", "portable ultrasound imaging device", "超声", "ultrasound", "便携式", "portable",
                  uses=[("基层医疗", "primary care"), ("急诊与院前急救", "emergency and pre-hospital care")]),
            _term("植入式神经刺激器", "implantable neurostimulator", "神经刺激", "neurostimulation", "脑机接口", "brain-computer interface",
                  uses=[("神经调控治疗", "neuromodulation therapy"), ("帕金森病治疗", "Parkinson's disease treatment")]),
        ],
        [],
        [
            ("已取得二类医疗器械注册证", "Class II registration certificate obtained"),
            ("完成动物实验和型式检验", "animal studies and type testing completed"),
            ("关键部件实现国产化替代", "key components sourced domestically"),
        ],
    ),
    "BIO.DX": _sub(
        [
            _term("化学发光免疫分析试剂", "chemiluminescence immunoassay reagents", "化学发光", "chemiluminescence", "免疫分析", "immunoassay",
                  uses=[("医院检验科", "hospital laboratories")],
                  specs=[("与进口试剂一致性超过95%", "over 95% concordance with imported reagents")]),
            _term("微流控POCT分子诊断芯片", "microfluidic POCT molecular-diagnostics chip", "微流控", "microfluidic", "POCT", "分子诊断", "molecular diagnostics",
                  uses=[("基层快速检测", "rapid testing in primary care")], specs=[("30分钟内出结果", "results within 30 minutes")]),
            _term("肿瘤早筛液体活检技术", "liquid-biopsy early cancer screening", "液体活检", "liquid biopsy", "早筛", "early screening", "ctDNA",
                  uses=[("肿瘤早筛", "cancer screening")]),
            _term("高通量测序文库构建试剂盒", "NGS library-preparation kit", "NGS", "高通量测序", "sequencing", "文库构建", "library prep"),
        ],
        [("医院检验科", "hospital laboratories"), ("肿瘤早筛", "cancer screening")],
        [
            ("检测灵敏度达到0.1%突变频率", "sensitivity down to 0.1% allele frequency"),
            ("与进口试剂一致性超过95%", "over 95% concordance with imported reagents"),
        ],
    ),
    "BIO.GENE": _sub(
        [
            _term("CAR-T细胞治疗技术", "CAR-T cell therapy", "CAR-T", "细胞治疗", "cell therapy",
                  uses=[("血液肿瘤", "haematological cancers"), ("自身免疫病", "autoimmune diseases")],
                  specs=[("体外杀伤效率超过90%", "over 90% in-vitro killing efficiency"), ("完成GMP级工艺开发", "GMP-grade process developed")]),
            _term("碱基编辑工具", "base-editing toolkit", "基因编辑", "gene editing", "碱基编辑", "base editing", "CRISPR",
                  specs=[("脱靶率低于0.1%", "off-target rate below 0.1%")]),
            _term("AAV基因治疗载体", "AAV gene-therapy vector", "AAV", "病毒载体", "viral vector", "基因治疗", "gene therapy",
                  specs=[("衣壳改造后转导效率提高5倍", "engineered capsid with five times the transduction efficiency"),
                         ("完成GMP级工艺开发", "GMP-grade process developed")]),
            _term("干细胞无血清培养体系", "serum-free stem-cell culture system", "干细胞", "stem cell", "无血清培养", "serum-free culture",
                  uses=[("再生医学", "regenerative medicine")], specs=[("细胞扩增倍数超过1000倍", "over 1,000-fold cell expansion")]),
        ],
        [("遗传性眼病", "inherited retinal disease"), ("罕见病", "rare diseases")],
        [],
    ),
}

# --- 5G通信 5G communications -----------------------------------------------------------------
FIVE_G = {
    "5G.RAN": _sub(
        [
            _term("5G小基站基带芯片", "baseband chip for 5G small cells", "小基站", "small cell", "基带", "baseband"),
            _term("O-RAN开放无线接入网软件", "O-RAN open radio-access-network software", "O-RAN", "开放无线接入", "open RAN"),
            _term("Massive MIMO波束赋形算法", "massive MIMO beamforming algorithm", "Massive MIMO", "波束赋形", "beamforming"),
            _term("5G专网核心网一体化设备", "integrated 5G private-network core", "5G专网", "private 5G", "核心网", "core network", "UPF"),
            _term("RedCap轻量化5G模组", "RedCap reduced-capability 5G module", "RedCap", "5G模组", "5G module"),
        ],
        [("工厂5G专网", "factory private 5G networks"), ("室内深度覆盖", "indoor deep coverage"), ("矿山与港口", "mines and ports"), ("智慧城市", "smart cities")],
        [
            ("单小区峰值速率超过1.5 Gbps", "peak cell throughput above 1.5 Gbps"),
            ("端到端时延低于10毫秒", "end-to-end latency under 10 ms"),
            ("通过3GPP R16协议一致性测试", "passes 3GPP Release 16 conformance tests"),
        ],
    ),
    "5G.RF": _sub(
        [
            _term("GaN射频功放芯片", "GaN RF power amplifier chip", "GaN", "氮化镓", "射频功放", "RF power amplifier", "PA",
                  specs=[("饱和输出功率达到45 dBm，功率附加效率超过55%", "45 dBm saturated output power with over 55% PAE"),
                         ("覆盖3.3–5.0 GHz全频段", "covers the full 3.3–5.0 GHz band")]),
            _term("毫米波相控阵天线模组", "mmWave phased-array antenna module", "毫米波", "mmWave", "相控阵", "phased array", "天线", "antenna",
                  specs=[("扫描角度±60°，EIRP达到60 dBm", "±60° scan with 60 dBm EIRP")]),
            _term("BAW体声波滤波器", "BAW filter", "BAW", "滤波器", "filter", "射频前端", "RF front-end",
                  uses=[("5G智能手机", "5G smartphones"), ("5G小基站", "5G small cells")]),
            _term("射频前端模组集成设计", "integrated RF front-end module design", "射频前端", "RF front-end", "模组", "module",
                  uses=[("5G智能手机", "5G smartphones"), ("卫星互联网终端", "satellite-internet terminals")]),
            _term("低剖面宽带基站天线", "low-profile wideband base-station antenna", "基站天线", "base-station antenna", "宽带", "wideband",
                  uses=[("宏基站", "macro base stations"), ("5G小基站", "5G small cells")],
                  specs=[("覆盖3.3–5.0 GHz全频段", "covers the full 3.3–5.0 GHz band"), ("增益达到18 dBi", "18 dBi gain")]),
        ],
        [("5G小基站", "5G small cells"), ("5G智能手机", "5G smartphones"), ("卫星互联网终端", "satellite-internet terminals"), ("宏基站", "macro base stations")],
        [
            ("插损低于1.5 dB", "insertion loss below 1.5 dB"),
            ("覆盖3.3–5.0 GHz全频段", "covers the full 3.3–5.0 GHz band"),
        ],
    ),
    "5G.OPT": _sub(
        [
            _term("400G硅光模块", "400G silicon-photonics transceiver", "硅光", "silicon photonics", "光模块", "optical transceiver", "400G"),
            _term("25G DFB激光器芯片", "25G DFB laser chip", "DFB", "激光器芯片", "laser chip", "25G"),
            _term("50G PON光接入设备", "50G PON optical-access equipment", "PON", "光接入", "optical access", "50G PON"),
            _term("空芯光纤", "hollow-core optical fibre", "空芯光纤", "hollow-core fibre", "低时延", "low latency",
                  uses=[("数据中心互联", "data-centre interconnect"), ("金融低时延专线", "low-latency financial links")],
                  specs=[("时延较传统光纤降低30%", "30% lower latency than standard fibre")]),
        ],
        [("5G前传", "5G fronthaul"), ("数据中心互联", "data-centre interconnect"), ("千兆光网", "gigabit broadband")],
        [
            ("功耗低于8 W", "under 8 W power consumption"),
            ("通过Telcordia GR-468可靠性认证", "Telcordia GR-468 qualified"),
            ("传输距离达到10 km", "10 km reach"),
        ],
    ),
    "5G.IOT": _sub(
        [
            _term("NB-IoT低功耗通信模组", "NB-IoT low-power communication module", "NB-IoT", "低功耗", "low power", "通信模组", "module",
                  specs=[("待机电流低于2 μA，电池寿命达到10年", "standby current under 2 µA and a 10-year battery life")]),
            _term("5G工业网关", "5G industrial gateway", "工业网关", "industrial gateway", "5G",
                  uses=[("智慧园区", "smart campuses"), ("工厂设备联网", "connected factory equipment")],
                  specs=[("支持5G LAN与TSN", "supports 5G LAN and TSN")]),
            _term("无源物联网标签芯片", "passive IoT tag chip", "无源物联网", "passive IoT", "标签", "tag", "RFID",
                  specs=[("读取距离达到10米", "10 m read range")]),
            _term("UWB室内高精度定位系统", "UWB indoor precise-positioning system", "UWB", "室内定位", "indoor positioning",
                  specs=[("定位精度达到10厘米", "10 cm positioning accuracy")]),
        ],
        [("智慧仓储物流", "smart warehousing and logistics"), ("智能表计", "smart metering"), ("智慧园区", "smart campuses")],
        [("支持百万级终端接入", "supports a million connected devices")],
    ),
}

# --- 工业互联网 Industrial internet -------------------------------------------------------------
IIOT = {
    "IIOT.PLAT": _sub(
        [
            _term("工业设备预测性维护平台", "predictive-maintenance platform for industrial equipment", "预测性维护", "predictive maintenance", "设备健康", "equipment health"),
            _term("标识解析二级节点系统", "industrial identifier-resolution secondary node", "标识解析", "identifier resolution", "二级节点"),
            _term("低代码工业APP开发平台", "low-code industrial app platform", "低代码", "low-code", "工业APP", "industrial app"),
            _term("能耗管理与碳足迹核算系统", "energy-management and carbon-footprint accounting system", "能耗管理", "energy management", "碳足迹", "carbon footprint"),
        ],
        [("离散制造企业", "discrete manufacturers"), ("流程工业", "process industries"), ("产业集群", "industrial clusters")],
        [
            ("已接入设备超过5万台", "over 50,000 machines connected"),
            ("故障预警准确率达到92%", "92% fault-prediction accuracy"),
            ("支持OPC UA、Modbus等30余种工业协议", "supports 30+ industrial protocols including OPC UA and Modbus"),
        ],
    ),
    "IIOT.EDGE": _sub(
        [
            _term("工业边缘智能控制器", "industrial edge AI controller", "边缘计算", "edge computing", "边缘控制器", "edge controller"),
            _term("时间敏感网络（TSN）交换芯片", "time-sensitive networking (TSN) switch chip", "TSN", "时间敏感网络", "time-sensitive networking"),
            _term("云边协同调度软件", "cloud-edge orchestration software", "云边协同", "cloud-edge", "调度", "orchestration"),
        ],
        [("产线实时控制", "real-time line control"), ("机器视觉质检", "machine-vision quality control"), ("智慧能源站", "smart energy stations")],
        [
            ("控制周期小于1毫秒", "control cycle under 1 ms"),
            ("算力达到32 TOPS", "32 TOPS of compute"),
            ("支持容器化部署", "container-based deployment"),
        ],
    ),
    "IIOT.SEC": _sub(
        [
            _term("工控协议深度包检测防火墙", "industrial firewall with deep packet inspection", "工控防火墙", "industrial firewall", "深度包检测", "DPI"),
            _term("工控系统漏洞挖掘平台", "ICS vulnerability-discovery platform", "漏洞挖掘", "vulnerability discovery", "工控系统", "ICS"),
            _term("PLC可信计算模块", "trusted-computing module for PLCs", "可信计算", "trusted computing", "PLC"),
        ],
        [("电力调度系统", "power dispatch systems"), ("石化装置", "petrochemical plants"), ("轨道交通", "rail transit")],
        [
            ("支持Modbus、S7、IEC 104等40余种协议解析", "parses 40+ protocols including Modbus, S7 and IEC 104"),
            ("通过等保2.0三级测评", "certified to MLPS 2.0 level 3"),
        ],
    ),
    "IIOT.TWIN": _sub(
        [
            _term("产线数字孪生建模与仿真系统", "production-line digital-twin modelling and simulation", "数字孪生", "digital twin", "仿真", "simulation",
                  uses=[("汽车总装线", "automotive assembly lines"), ("电子组装产线", "electronics assembly lines")],
                  specs=[("孪生模型与物理产线同步误差小于50毫秒", "twin stays within 50 ms of the physical line")]),
            _term("BIM+GIS城市数字孪生底座", "BIM+GIS city digital-twin platform", "数字孪生", "digital twin", "BIM", "GIS",
                  uses=[("智慧园区运营", "smart-park operations"), ("城市治理", "city management")],
                  specs=[("支持百万级实体实时渲染", "renders a million entities in real time")]),
            _term("设备三维可视化运维系统", "3D visual equipment-operations system", "三维可视化", "3D visualisation", "运维", "operations",
                  uses=[("风电场", "wind farms"), ("智慧园区运营", "smart-park operations")],
                  specs=[("故障定位时间缩短60%", "60% faster fault localisation")]),
        ],
        [],
        [],
    ),
}

# --- 智能制造 Intelligent manufacturing ---------------------------------------------------------
IMFG = {
    "IMFG.ROB": _sub(
        [
            _term("协作机器人关节模组", "collaborative-robot joint module", "协作机器人", "cobot", "关节模组", "joint module"),
            _term("高精度RV减速器", "high-precision RV reducer", "RV减速器", "RV reducer", "减速器", "reducer",
                  specs=[("背隙小于1弧分", "backlash under 1 arcmin"), ("额定寿命超过10000小时", "rated life above 10,000 h")]),
            _term("3D视觉引导无序抓取系统", "3D-vision bin-picking system", "3D视觉", "3D vision", "无序抓取", "bin picking"),
            _term("焊接机器人离线编程软件", "offline programming software for welding robots", "焊接机器人", "welding robot", "离线编程", "offline programming"),
            _term("AMR自主移动机器人调度系统", "AMR fleet-management system", "AMR", "移动机器人", "mobile robot", "调度", "fleet management"),
        ],
        [("3C电子装配", "3C electronics assembly"), ("汽车焊装", "automotive body welding"), ("物流分拣", "logistics sorting"), ("医药包装", "pharmaceutical packaging")],
        [
            ("重复定位精度达到±0.02 mm", "repeatability of ±0.02 mm"),
            ("生产节拍提升30%", "30% shorter cycle time"),
        ],
    ),
    "IMFG.CNC": _sub(
        [
            _term("五轴联动数控系统", "five-axis CNC control system", "五轴联动", "five-axis", "数控系统", "CNC controller"),
            _term("电主轴热误差补偿技术", "thermal-error compensation for motorised spindles", "电主轴", "motorised spindle", "热误差补偿", "thermal compensation"),
            _term("精密滚珠丝杠", "precision ball screw", "滚珠丝杠", "ball screw", "精密传动", "precision drive",
                  specs=[("精度等级达到P1级", "P1 accuracy grade")]),
        ],
        [("航空结构件加工", "aerospace structural machining"), ("模具制造", "mould making"), ("新能源汽车零部件", "EV components")],
        [
            ("定位精度达到3 μm", "3 µm positioning accuracy"),
            ("主轴转速达到24000 rpm", "spindle speed of 24,000 rpm"),
        ],
    ),
    "IMFG.AM": _sub(
        [
            _term("金属激光选区熔化（SLM）装备", "metal selective laser melting (SLM) system", "SLM", "激光选区熔化", "selective laser melting", "金属3D打印", "metal 3D printing"),
            _term("电弧增材制造工艺", "wire-arc additive manufacturing process", "电弧增材", "WAAM", "wire arc"),
            _term("钛合金3D打印粉末", "titanium-alloy powder for 3D printing", "钛合金", "titanium alloy", "金属粉末", "metal powder",
                  uses=[("航空发动机零件", "aero-engine parts"), ("骨科植入物", "orthopaedic implants")],
                  specs=[("氧含量低于800 ppm，球形度超过0.95", "oxygen below 800 ppm and sphericity above 0.95")]),
        ],
        [("航空发动机零件", "aero-engine parts"), ("骨科植入物", "orthopaedic implants"), ("随形冷却模具", "conformal-cooling moulds")],
        [
            ("成形尺寸达到800 mm", "800 mm build envelope"),
            ("致密度超过99.9%", "density above 99.9%"),
        ],
    ),
    "IMFG.INSP": _sub(
        [
            _term("AI视觉表面缺陷检测设备", "AI visual surface-defect inspection system", "视觉检测", "visual inspection", "缺陷检测", "defect detection", "机器视觉", "machine vision"),
            _term("工业CT无损检测系统", "industrial CT non-destructive testing system", "工业CT", "industrial CT", "无损检测", "NDT"),
            _term("激光在线尺寸测量仪", "inline laser dimensional gauge", "激光测量", "laser measurement", "在线检测", "inline inspection"),
        ],
        [("锂电池极片", "battery electrodes"), ("半导体晶圆", "semiconductor wafers"), ("汽车零部件", "auto parts"), ("PCB电路板", "printed circuit boards")],
        [
            ("漏检率低于0.05%", "miss rate under 0.05%"),
            ("检测速度达到每分钟120件", "120 parts per minute"),
            ("测量精度达到1 μm", "1 µm measurement accuracy"),
        ],
    ),
}

# --- Further hard-tech fields (fewer templates each) ------------------------------------------
FURTHER = {
    "MAT.SEMI": _sub(
        [
            _term("碳化硅单晶衬底", "silicon-carbide single-crystal substrate", "碳化硅", "SiC", "衬底", "substrate",
                  uses=[("功率器件", "power devices")], specs=[("微管密度低于0.1 cm⁻²", "micropipe density below 0.1 cm⁻²")]),
            _term("高纯电子特气", "high-purity electronic specialty gases", "电子特气", "specialty gas", "高纯",
                  specs=[("纯度达到6N", "6N purity")]),
            _term("ArF光刻胶", "ArF photoresist", "光刻胶", "photoresist", "ArF", specs=[("分辨率达到38 nm", "38 nm resolution")]),
        ],
        [("晶圆制造", "wafer fabs")],
        [],
    ),
    "MAT.COMP": _sub(
        [
            _term("T800级碳纤维复合材料", "T800-grade carbon-fibre composite", "碳纤维", "carbon fibre", "复合材料", "composite"),
            _term("热塑性复合材料快速成型", "rapid forming of thermoplastic composites", "热塑性", "thermoplastic", "复合材料", "composite"),
        ],
        [("轻量化车身", "lightweight car bodies"), ("无人机机体", "drone airframes")],
        [("拉伸强度超过2900 MPa", "tensile strength above 2,900 MPa"), ("减重40%", "40% weight reduction")],
    ),
    "MAT.NANO": _sub(
        [
            _term("石墨烯导热膜", "graphene thermal film", "石墨烯", "graphene", "导热", "thermal",
                  uses=[("手机散热", "smartphone thermal management")],
                  specs=[("导热系数达到1500 W/m·K", "thermal conductivity of 1,500 W/m·K"), ("可卷对卷量产", "roll-to-roll production")]),
            _term("纳米银导电墨水", "nano-silver conductive ink", "纳米银", "nano-silver", "导电墨水", "conductive ink",
                  uses=[("印刷电子", "printed electronics")], specs=[("电阻率低于5 μΩ·cm", "resistivity below 5 µΩ·cm")]),
            _term("气凝胶隔热材料", "aerogel thermal insulation", "气凝胶", "aerogel", "隔热", "insulation",
                  uses=[("动力电池防火", "battery fire protection")],
                  specs=[("导热系数低于0.018 W/m·K", "thermal conductivity below 0.018 W/m·K")]),
        ],
        [],
        [],
    ),
    "ENE.PV": _sub(
        [
            _term("钙钛矿/晶硅叠层电池", "perovskite/silicon tandem cell", "钙钛矿", "perovskite", "叠层电池", "tandem cell"),
            _term("TOPCon电池钝化工艺", "TOPCon passivation process", "TOPCon", "钝化", "passivation"),
        ],
        [("分布式光伏", "distributed PV"), ("光伏建筑一体化", "building-integrated PV")],
        [("转换效率达到31%", "31% conversion efficiency"), ("通过IEC 61215认证", "IEC 61215 certified")],
    ),
    "ENE.BAT": _sub(
        [
            _term("固态电解质", "solid-state electrolyte", "固态电池", "solid-state battery", "电解质", "electrolyte"),
            _term("钠离子电池正极材料", "sodium-ion cathode material", "钠离子电池", "sodium-ion battery", "正极", "cathode"),
            _term("储能电池管理系统", "battery management system for energy storage", "BMS", "电池管理", "battery management", "储能", "energy storage"),
        ],
        [("电动汽车", "electric vehicles"), ("电网储能", "grid storage"), ("电动两轮车", "e-bikes")],
        [("能量密度达到400 Wh/kg", "400 Wh/kg energy density"), ("循环寿命超过6000次", "over 6,000 cycles")],
    ),
    "ENE.H2": _sub(
        [
            _term("PEM电解水制氢装置", "PEM water electrolyser", "PEM", "电解水", "electrolysis", "制氢", "hydrogen production",
                  uses=[("绿氢化工", "green-hydrogen chemicals")], specs=[("电耗低于4.3 kWh/Nm³", "under 4.3 kWh/Nm³")]),
            _term("燃料电池膜电极", "fuel-cell membrane electrode assembly", "燃料电池", "fuel cell", "膜电极", "MEA",
                  uses=[("氢能重卡", "hydrogen heavy trucks")], specs=[("铂载量低于0.2 mg/cm²", "platinum loading under 0.2 mg/cm²")]),
        ],
        [],
        [],
    ),
    "AERO.SAT": _sub(
        [
            _term("低轨卫星通信载荷", "LEO satellite communication payload", "低轨卫星", "LEO satellite", "卫星通信", "satellite communication",
                  uses=[("卫星互联网", "satellite internet")], specs=[("载荷重量低于15 kg", "payload mass under 15 kg")]),
            _term("北斗高精度定位模组", "BeiDou high-precision positioning module", "北斗", "BeiDou", "高精度定位", "precise positioning", "RTK",
                  uses=[("自动驾驶", "autonomous driving"), ("精准农业", "precision agriculture")],
                  specs=[("定位精度达到厘米级", "centimetre-level accuracy")]),
        ],
        [],
        [],
    ),
    "AERO.UAV": _sub(
        [
            _term("长航时垂直起降固定翼无人机", "long-endurance VTOL fixed-wing drone", "垂直起降", "VTOL", "固定翼", "fixed-wing", "无人机", "drone",
                  specs=[("续航时间达到6小时", "6-hour endurance")]),
            _term("无人机集群协同控制", "drone-swarm coordination", "集群", "swarm", "协同控制", "coordination", "无人机", "drone",
                  specs=[("支持50架协同", "coordinates 50 aircraft")]),
        ],
        [("电力巡检", "power-line inspection"), ("应急测绘", "emergency mapping"), ("低空物流", "low-altitude logistics")],
        [],
    ),
    "PHO.LAS": _sub(
        [
            _term("万瓦级光纤激光器", "10 kW fibre laser", "光纤激光器", "fibre laser", "万瓦", "high power",
                  uses=[("厚板切割", "thick-plate cutting"), ("动力电池焊接", "battery welding")],
                  specs=[("电光转换效率超过45%", "over 45% wall-plug efficiency")]),
            _term("超快飞秒激光器", "ultrafast femtosecond laser", "飞秒", "femtosecond", "超快激光", "ultrafast laser",
                  uses=[("OLED面板精密加工", "OLED panel micromachining"), ("眼科手术", "eye surgery")],
                  specs=[("脉宽小于300 fs", "pulse width under 300 fs")]),
        ],
        [],
        [],
    ),
    "PHO.IMG": _sub(
        [
            _term("短波红外成像芯片", "short-wave infrared image sensor", "短波红外", "SWIR", "红外成像", "infrared imaging"),
            _term("计算光学成像镜头", "computational optical imaging lens", "计算成像", "computational imaging", "光学镜头", "optical lens"),
        ],
        [("半导体检测", "semiconductor inspection"), ("安防监控", "security surveillance"), ("农产品分选", "produce sorting")],
        [("分辨率达到1280×1024", "1280×1024 resolution"), ("镜头体积缩小60%", "60% smaller optics")],
    ),
}

SUBFIELDS: dict[str, SubfieldTemplates] = {**EIT, **BIO, **FIVE_G, **IIOT, **IMFG, **FURTHER}

# Typical price of a technology, in 万元 (10,000 CNY), per first-level field.
PRICE_RANGE_WAN: dict[str, tuple[int, int]] = {
    "EIT": (100, 3000), "BIO": (200, 8000), "5G": (100, 2000), "IIOT": (50, 800), "IMFG": (80, 1500),
    "MAT": (100, 2000), "ENE": (100, 3000), "AERO": (100, 2000), "PHO": (80, 1500),
}

OFFER_TITLES: tuple[Text, ...] = (
    ("面向{use}的{tech}", "{tech} for {use}"),
    ("{tech}及其在{use}中的应用", "{tech} and its use in {use}"),
    ("{use}用{tech}", "{tech} applied to {use}"),
)
NEED_TITLES: tuple[Text, ...] = (
    ("寻求{use}用{tech}", "Seeking {tech} for {use}"),
    ("{use}领域{tech}技术需求", "Wanted: {tech} for {use}"),
    ("征集{tech}解决方案（{use}）", "Call for solutions: {tech} for {use}"),
)

# Descriptions of technology offers and needs; {ip} is the sentence about an offer's patents.
TECHNOLOGY_DESCRIPTIONS: dict[Side, Text] = {
    Side.OFFER: ("{org}研发的{tech}，{spec}，适用于{use}等场景。{ip}当前处于{stage}阶段（TRL {trl}），"
                 "可通过{modes}方式合作，参考价格{money}。",
                 "{tech} developed by {org}: {spec}. Suited to {use}. {ip} At the {stage} stage (TRL {trl}); "
                 "available by {modes}, indicative price {money}."),
    Side.NEED: ("{org}在{use}方面有明确需求，拟引进{tech}，要求{spec}，技术成熟度不低于TRL {trl}。"
                "预算{money}，可接受{modes}方式合作。",
                "{org} needs {tech} for {use}: {spec}; TRL {trl} or higher. Budget {money}; open to {modes}."),
}

MODE_NAMES: dict[TransferMode, Text] = TRANSFER_MODE_NAMES
TECHNOLOGY_MODES: tuple[TransferMode, ...] = (
    TransferMode.LICENCE, TransferMode.ASSIGNMENT, TransferMode.EQUITY, TransferMode.JOINT_DEVELOPMENT,
)


def stage(trl: int) -> Text:
    """The development stage a technology readiness level stands for."""
    if trl <= 3:
        return ("原理验证", "proof of principle")
    if trl <= 5:
        return ("实验室样机", "laboratory prototype")
    if trl <= 7:
        return ("中试", "pilot production")
    return ("产业化", "volume production")


# Services offered by party type (agencies broker, universities and institutes open their labs,
# enterprises test and build, governments open pilot sites).
@dataclass(frozen=True)
class Service:
    name: Text
    detail: Text
    keywords: tuple[str, ...]


def _service(zh: str, en: str, detail: Text, *keywords: str) -> Service:
    return Service((zh, en), detail, keywords)


AGENCY_SERVICES: tuple[Service, ...] = (
    _service("技术成果评估与作价", "technology valuation", ("出具第三方评估报告，支持作价入股和挂牌交易", "third-party valuation reports for equity contributions and listed trades"), "技术评估", "technology valuation", "作价"),
    _service("专利布局与高价值专利培育", "patent portfolio strategy", ("开展专利导航、FTO分析和海外布局", "patent landscaping, freedom-to-operate analysis and filings abroad"), "专利布局", "patent strategy", "知识产权", "FTO"),
    _service("技术经纪与交易撮合", "technology brokerage", ("由持证技术经理人全程撮合并起草技术合同", "certified technology managers broker the deal and draft the contract"), "技术经纪", "technology brokerage", "技术合同", "deal matching"),
    _service("科技法律与尽职调查", "legal services and due diligence", ("覆盖权属核查、许可谈判和交易文件", "title checks, licence negotiation and transaction documents"), "尽职调查", "due diligence", "法律服务", "legal"),
    _service("概念验证与中试熟化", "proof of concept and pilot scale-up", ("提供概念验证资金对接与中试线资源", "proof-of-concept funding and access to pilot lines"), "概念验证", "proof of concept", "中试", "pilot"),
    _service("孵化空间与创业辅导", "incubation and start-up mentoring", ("提供办公与实验空间、创业导师和融资路演", "office and lab space, mentors and investor pitch days"), "孵化", "incubation", "创业辅导", "mentoring"),
    _service("国际技术转移与海外对接", "international technology transfer", ("对接欧洲、以色列和东南亚技术源与市场", "links to technology sources and markets in Europe, Israel and South-East Asia"), "国际技术转移", "international technology transfer", "cross-border"),
    _service("产业化融资顾问", "financing advisory", ("协助编制商业计划书并对接投资机构", "business plans and introductions to investors"), "融资顾问", "financing advisory", "投融资"),
)
RESEARCH_SERVICES: tuple[Service, ...] = (
    _service("共享仪器与测试平台", "shared instruments and test platform", ("开放大型仪器设备，提供委托测试", "large instruments open to outside users, with contract testing"), "测试平台", "test platform", "共享仪器"),
    _service("联合实验室共建", "joint laboratory", ("与企业共建联合实验室，共同承担研发项目", "joint labs with companies sharing R&D projects"), "联合实验室", "joint laboratory", "产学研", "industry-academia"),
    _service("技术培训与人才培养", "technical training", ("为企业工程师提供定制化培训", "tailored training for company engineers"), "技术培训", "training", "人才培养"),
)
ENTERPRISE_SERVICES: tuple[Service, ...] = (
    _service("检验检测与认证", "testing and certification", ("具备CNAS资质，出具检测报告", "CNAS-accredited test reports"), "检验检测", "testing", "认证", "certification"),
    _service("中试与小批量代工", "pilot runs and small-batch manufacturing", ("提供中试线和小批量试产能力", "pilot lines and small-batch production capacity"), "中试", "pilot", "代工", "contract manufacturing"),
    _service("应用场景验证", "application-scenario validation", ("在真实产线上验证新技术", "new technology validated on a real production line"), "应用场景", "application scenario", "验证", "validation"),
)
GOVERNMENT_SERVICES: tuple[Service, ...] = (
    _service("中试基地与应用场景开放", "pilot sites and open application scenarios", ("开放政府投资项目和国企场景供新技术验证", "government projects and state-owned sites opened for trials"), "中试", "pilot", "应用场景", "application scenario"),
    _service("企业落地与人才服务", "company landing and talent services", ("提供一站式注册、人才公寓和子女入学服务", "one-stop registration, talent housing and schooling"), "落地服务", "landing services", "人才", "talent"),
)

# Government policy programmes; {field} is a first-level field name.
@dataclass(frozen=True)
class Programme:
    name: Text
    detail: Text
    keywords: tuple[str, ...]


POLICY_PROGRAMMES: tuple[Programme, ...] = (
    Programme(("{field}产业专项扶持资金", "{field} industry support fund"), ("按项目研发投入的30%给予补助", "30% of project R&D spending reimbursed"), ("产业扶持", "industry support", "研发补贴", "R&D subsidy")),
    Programme(("科技成果转化后补助", "post-transfer commercialisation subsidy"), ("按技术合同成交额的10%给予奖励", "10% of the registered technology-contract value awarded"), ("成果转化", "commercialisation", "技术合同", "technology contract")),
    Programme(("首台（套）重大技术装备保险补偿", "first-of-a-kind equipment insurance compensation"), ("保费补贴比例最高80%", "up to 80% of the premium covered"), ("首台套", "first-of-a-kind", "保险补偿", "insurance")),
    Programme(("{field}应用场景示范项目", "{field} application-scenario demonstration projects"), ("开放政府与国企应用场景并给予示范奖励", "government and state-owned sites opened, with demonstration awards"), ("应用场景", "application scenario", "示范", "demonstration")),
    Programme(("高层次人才创新创业资助", "grants for high-level talent start-ups"), ("给予创业资助并配套人才公寓", "start-up grants plus talent housing"), ("人才", "talent", "创业资助", "start-up grant")),
    Programme(("概念验证与中试平台建设资助", "funding for proof-of-concept and pilot platforms"), ("按平台建设投入的40%给予资助", "40% of the platform investment funded"), ("概念验证", "proof of concept", "中试", "pilot")),
)
# What enterprises and researchers ask governments for; keywords overlap the programmes'.
POLICY_NEEDS: tuple[Term, ...] = (
    _term("研发费用补贴", "R&D subsidy", "研发补贴", "R&D subsidy", "产业扶持", "industry support"),
    _term("首台（套）保险补偿", "first-of-a-kind equipment insurance", "首台套", "first-of-a-kind", "insurance"),
    _term("应用场景示范机会", "an application-scenario pilot", "应用场景", "application scenario", "示范", "demonstration"),
    _term("人才计划支持", "talent-programme support", "人才", "talent", "创业资助", "start-up grant"),
    _term("成果转化奖励", "a commercialisation award", "成果转化", "commercialisation", "技术合同", "technology contract"),
    _term("概念验证资助", "proof-of-concept funding", "概念验证", "proof of concept", "中试", "pilot"),
)

# Investment rounds: name and the ticket range in 万元.
ROUNDS: tuple[tuple[Text, tuple[int, int]], ...] = (
    (("天使轮", "Angel"), (100, 500)),
    (("Pre-A轮", "Pre-Series A"), (300, 1000)),
    (("A轮", "Series A"), (1000, 5000)),
    (("B轮", "Series B"), (3000, 15000)),
    (("成长期", "Growth-stage"), (5000, 30000)),
)
FUNDING_PURPOSES: tuple[Text, ...] = (
    ("中试线建设", "building a pilot line"),
    ("量产工艺开发", "developing volume manufacturing"),
    ("团队扩充与市场拓展", "growing the team and the market"),
    ("产品注册与认证", "product registration and certification"),
)
