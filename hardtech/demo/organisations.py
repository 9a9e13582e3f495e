"""Organisations and people for the demo data set.

Universities, research institutes and governments are real public bodies (what users of the
product would meet at a 科技成果直通车 session); enterprises, investors and most agencies are
fictional names composed from the parts below, so no real company is credited with made-up offers.
The focus fields of the real bodies are plausible, not authoritative.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.common import Language
from shared.regions import TRANSFER_CENTRES

ZH, EN = Language.ZH_CN, Language.EN


@dataclass(frozen=True)
class Organisation:
    zh: str
    en: str
    short: str  # ASCII, for e-mail addresses
    region: str  # its seat, or its China office for a foreign body
    fields: tuple[str, ...]
    language: Language = ZH
    country: str = "CN"  # where it files patents first (PCT receiving office)


def _org(zh: str, en: str, short: str, region: str, fields: str, language: Language = ZH,
         country: str = "CN") -> Organisation:
    return Organisation(zh, en, short, region, tuple(fields.split()), language, country)


UNIVERSITIES: tuple[Organisation, ...] = (
    _org("电子科技大学", "University of Electronic Science and Technology of China", "UESTC", "CN-SC.CD", "5G.RF 5G.RAN EIT.IC EIT.SEN"),
    _org("四川大学", "Sichuan University", "SCU", "CN-SC.CD", "BIO.DRUG BIO.DEV MAT.COMP"),
    _org("西南交通大学", "Southwest Jiaotong University", "SWJTU", "CN-SC.CD", "IMFG.ROB IIOT.TWIN 5G.IOT"),
    _org("重庆大学", "Chongqing University", "CQU", "CN-CQ.CQ", "IMFG.CNC ENE.BAT IIOT.EDGE"),
    _org("清华大学", "Tsinghua University", "THU", "CN-BJ.BJ", "EIT.AI EIT.IC 5G.OPT ENE.BAT"),
    _org("北京大学", "Peking University", "PKU", "CN-BJ.BJ", "BIO.GENE EIT.QIT BIO.DRUG"),
    _org("北京邮电大学", "Beijing University of Posts and Telecommunications", "BUPT", "CN-BJ.BJ", "5G.RAN 5G.IOT IIOT.SEC"),
    _org("北京航空航天大学", "Beihang University", "BUAA", "CN-BJ.BJ", "AERO.UAV AERO.SAT IMFG.AM"),
    _org("天津大学", "Tianjin University", "TJU", "CN-TJ.TJ", "IMFG.INSP PHO.IMG BIO.DEV"),
    _org("浙江大学", "Zhejiang University", "ZJU", "CN-ZJ.HZ", "IIOT.PLAT EIT.AI IMFG.ROB BIO.DX"),
    _org("上海交通大学", "Shanghai Jiao Tong University", "SJTU", "CN-SH.SH", "IMFG.ROB BIO.DEV EIT.SEN"),
    _org("复旦大学", "Fudan University", "FDU", "CN-SH.SH", "BIO.DRUG EIT.IC BIO.GENE"),
    _org("同济大学", "Tongji University", "TONGJI", "CN-SH.SH", "IIOT.TWIN ENE.H2 MAT.COMP"),
    _org("南京大学", "Nanjing University", "NJU", "CN-JS.NJ", "MAT.SEMI PHO.LAS EIT.DSP"),
    _org("东南大学", "Southeast University", "SEU", "CN-JS.NJ", "5G.RF 5G.OPT EIT.IC"),
    _org("苏州大学", "Soochow University", "SUDA", "CN-JS.SZ", "MAT.NANO BIO.DX EIT.DSP IMFG.INSP"),
    _org("中国科学技术大学", "University of Science and Technology of China", "USTC", "CN-AH.HF", "EIT.QIT MAT.NANO EIT.AI"),
    _org("华中科技大学", "Huazhong University of Science and Technology", "HUST", "CN-HB.WH", "PHO.LAS IMFG.AM IMFG.CNC 5G.OPT"),
    _org("武汉大学", "Wuhan University", "WHU", "CN-HB.WH", "AERO.SAT IIOT.PLAT BIO.DX"),
    _org("西安电子科技大学", "Xidian University", "XIDIAN", "CN-SN.XA", "5G.RF MAT.SEMI IIOT.SEC"),
    _org("西安交通大学", "Xi'an Jiaotong University", "XJTU", "CN-SN.XA", "IMFG.AM ENE.H2 IMFG.CNC"),
    _org("西北工业大学", "Northwestern Polytechnical University", "NWPU", "CN-SN.XA", "AERO.UAV MAT.COMP IMFG.AM"),
    _org("哈尔滨工业大学", "Harbin Institute of Technology", "HIT", "CN-HL.HEB", "IMFG.ROB AERO.SAT IMFG.INSP"),
    _org("中山大学", "Sun Yat-sen University", "SYSU", "CN-GD.GZ", "BIO.GENE BIO.DRUG BIO.DX"),
    _org("华南理工大学", "South China University of Technology", "SCUT", "CN-GD.GZ", "MAT.NANO EIT.DSP IMFG.INSP"),
    _org("南方科技大学", "Southern University of Science and Technology", "SUSTECH", "CN-GD.SZ", "BIO.DEV EIT.SEN 5G.RF"),
    _org("深圳大学", "Shenzhen University", "SZU", "CN-GD.SZ", "5G.OPT BIO.DX PHO.IMG"),
    _org("大连理工大学", "Dalian University of Technology", "DUT", "CN-LN.DL", "IMFG.CNC ENE.H2 MAT.COMP"),
    _org("吉林大学", "Jilin University", "JLU", "CN-JL.CC", "PHO.IMG BIO.DRUG MAT.SEMI"),
    _org("山东大学", "Shandong University", "SDU", "CN-SD.JN", "MAT.SEMI PHO.LAS IIOT.EDGE"),
    _org("厦门大学", "Xiamen University", "XMU", "CN-FJ.XM", "EIT.DSP BIO.DX ENE.PV"),
    _org("湖南大学", "Hunan University", "HNU", "CN-HN.CS", "IMFG.INSP EIT.SEN IIOT.EDGE"),
    _org("郑州大学", "Zhengzhou University", "ZZU", "CN-HA.ZZ", "BIO.DRUG MAT.COMP"),
    _org("香港科技大学", "The Hong Kong University of Science and Technology", "HKUST", "CN-HK.HK", "EIT.IC EIT.AI 5G.IOT", EN, "HK"),
    _org("香港大学", "The University of Hong Kong", "HKU", "CN-HK.HK", "BIO.GENE BIO.DX", EN, "HK"),
    _org("香港城市大学", "City University of Hong Kong", "CITYU", "CN-HK.HK", "5G.RF PHO.IMG", EN, "HK"),
    _org("澳门大学", "University of Macau", "UM", "CN-MO.MO", "BIO.DRUG EIT.IC", EN, "MO"),
    _org("西交利物浦大学", "Xi'an Jiaotong-Liverpool University", "XJTLU", "CN-JS.SZ", "IIOT.PLAT IMFG.ROB", EN, "GB"),
    _org("昆山杜克大学", "Duke Kunshan University", "DKU", "CN-JS.SZ", "BIO.DX EIT.AI", EN, "US"),
    _org("宁波诺丁汉大学", "University of Nottingham Ningbo China", "UNNC", "CN-ZJ.NB", "MAT.COMP ENE.BAT", EN, "GB"),
    _org("上海纽约大学", "NYU Shanghai", "NYUSH", "CN-SH.SH", "EIT.AI 5G.IOT", EN, "US"),
    _org("慕尼黑工业大学", "Technical University of Munich", "TUM", "CN-BJ.BJ", "IMFG.ROB IMFG.AM ENE.BAT", EN, "DE"),
    _org("苏黎世联邦理工学院", "ETH Zurich", "ETHZ", "CN-SH.SH", "EIT.QIT IMFG.ROB MAT.NANO", EN, "CH"),
    _org("帝国理工学院", "Imperial College London", "IMPERIAL", "CN-SH.SH", "BIO.DEV BIO.GENE 5G.RAN", EN, "GB"),
    _org("鲁汶大学", "KU Leuven", "KULEUVEN", "CN-GD.SZ", "EIT.IC BIO.DX", EN, "BE"),
    _org("新加坡国立大学", "National University of Singapore", "NUS", "CN-JS.SZ", "IIOT.TWIN BIO.DRUG EIT.SEN", EN, "SG"),
    _org("代尔夫特理工大学", "Delft University of Technology", "TUDELFT", "CN-GD.SZ", "5G.OPT PHO.LAS", EN, "NL"),
)

INSTITUTES: tuple[Organisation, ...] = (
    _org("中国科学院微电子研究所", "Institute of Microelectronics, CAS", "IMECAS", "CN-BJ.BJ", "EIT.IC MAT.SEMI"),
    _org("中国科学院半导体研究所", "Institute of Semiconductors, CAS", "SEMI-CAS", "CN-BJ.BJ", "MAT.SEMI PHO.LAS 5G.OPT"),
    _org("中国科学院自动化研究所", "Institute of Automation, CAS", "CASIA", "CN-BJ.BJ", "EIT.AI IMFG.ROB"),
    _org("中国科学院计算技术研究所", "Institute of Computing Technology, CAS", "ICT", "CN-BJ.BJ", "EIT.AI EIT.IC IIOT.EDGE"),
    _org("中国科学院上海微系统与信息技术研究所", "Shanghai Institute of Microsystem and Information Technology, CAS", "SIMIT", "CN-SH.SH", "EIT.SEN MAT.SEMI 5G.RF"),
    _org("中国科学院上海药物研究所", "Shanghai Institute of Materia Medica, CAS", "SIMM", "CN-SH.SH", "BIO.DRUG"),
    _org("中国科学院苏州纳米技术与纳米仿生研究所", "Suzhou Institute of Nano-Tech and Nano-Bionics, CAS", "SINANO", "CN-JS.SZ", "MAT.NANO MAT.SEMI EIT.SEN"),
    _org("中国科学院苏州生物医学工程技术研究所", "Suzhou Institute of Biomedical Engineering and Technology, CAS", "SIBET", "CN-JS.SZ", "BIO.DEV BIO.DX PHO.IMG"),
    _org("中国科学院深圳先进技术研究院", "Shenzhen Institute of Advanced Technology, CAS", "SIAT", "CN-GD.SZ", "BIO.DEV IMFG.ROB BIO.GENE EIT.AI"),
    _org("中国科学院光电技术研究所", "Institute of Optics and Electronics, CAS", "IOE", "CN-SC.CD", "PHO.IMG PHO.LAS IMFG.INSP"),
    _org("中国科学院成都有机化学研究所", "Chengdu Institute of Organic Chemistry, CAS", "CIOC", "CN-SC.CD", "BIO.DRUG MAT.COMP"),
    _org("中国科学院沈阳自动化研究所", "Shenyang Institute of Automation, CAS", "SIA", "CN-LN.SY", "IMFG.ROB IIOT.SEC IIOT.PLAT"),
    _org("中国科学院宁波材料技术与工程研究所", "Ningbo Institute of Materials Technology and Engineering, CAS", "NIMTE", "CN-ZJ.NB", "MAT.COMP MAT.NANO ENE.BAT"),
    _org("中国科学院大连化学物理研究所", "Dalian Institute of Chemical Physics, CAS", "DICP", "CN-LN.DL", "ENE.H2 ENE.BAT"),
    _org("中国科学院西安光学精密机械研究所", "Xi'an Institute of Optics and Precision Mechanics, CAS", "XIOPM", "CN-SN.XA", "PHO.LAS PHO.IMG AERO.SAT"),
    _org("中国科学院长春光学精密机械与物理研究所", "Changchun Institute of Optics, Fine Mechanics and Physics, CAS", "CIOMP", "CN-JL.CC", "PHO.IMG EIT.DSP AERO.SAT"),
    _org("中国科学院合肥物质科学研究院", "Hefei Institutes of Physical Science, CAS", "HFIPS", "CN-AH.HF", "EIT.SEN ENE.PV"),
    _org("中国信息通信研究院", "China Academy of Information and Communications Technology", "CAICT", "CN-BJ.BJ", "5G.RAN IIOT.PLAT IIOT.SEC"),
    _org("之江实验室", "Zhejiang Lab", "ZJLAB", "CN-ZJ.HZ", "EIT.AI IIOT.EDGE EIT.SEN"),
    _org("鹏城实验室", "Peng Cheng Laboratory", "PCL", "CN-GD.SZ", "5G.RAN EIT.AI 5G.OPT"),
    _org("深圳湾实验室", "Shenzhen Bay Laboratory", "SZBL", "CN-GD.SZ", "BIO.GENE BIO.DRUG"),
    _org("北京量子信息科学研究院", "Beijing Academy of Quantum Information Sciences", "BAQIS", "CN-BJ.BJ", "EIT.QIT"),
    _org("工业和信息化部电子第五研究所", "China Electronic Product Reliability and Environmental Testing Research Institute", "CEPREI", "CN-GD.GZ", "IMFG.INSP IIOT.SEC"),
    _org("紫金山实验室", "Purple Mountain Laboratories", "PML", "CN-JS.NJ", "5G.RAN 5G.RF 5G.OPT"),
    _org("香港应用科技研究院", "Hong Kong Applied Science and Technology Research Institute", "ASTRI", "CN-HK.HK", "5G.RAN EIT.IC IIOT.EDGE", EN, "HK"),
    _org("弗劳恩霍夫激光技术研究所", "Fraunhofer Institute for Laser Technology ILT", "ILT", "CN-JS.SZ", "PHO.LAS IMFG.AM", EN, "DE"),
    _org("弗劳恩霍夫制造技术与自动化研究所", "Fraunhofer Institute for Manufacturing Engineering and Automation IPA", "IPA", "CN-JS.SZ", "IMFG.ROB IIOT.PLAT IMFG.INSP", EN, "DE"),
    _org("比利时微电子研究中心", "imec", "IMEC", "CN-SH.SH", "EIT.IC 5G.RF EIT.SEN", EN, "BE"),
    _org("瑞士电子与微技术中心", "CSEM", "CSEM", "CN-GD.SZ", "EIT.SEN BIO.DEV", EN, "CH"),
    _org("荷兰应用科学研究组织", "TNO", "TNO", "CN-SH.SH", "5G.OPT IIOT.TWIN", EN, "NL"),
    _org("芬兰国家技术研究中心", "VTT Technical Research Centre of Finland", "VTT", "CN-BJ.BJ", "5G.IOT ENE.BAT", EN, "FI"),
    _org("新加坡科技研究局微电子研究所", "A*STAR Institute of Microelectronics", "ASTAR-IME", "CN-JS.SZ", "EIT.IC MAT.SEMI", EN, "SG"),
    _org("法国原子能委员会电子与信息技术实验室", "CEA-Leti", "LETI", "CN-SH.SH", "EIT.DSP EIT.SEN", EN, "FR"),
    _org("日本产业技术综合研究所", "National Institute of Advanced Industrial Science and Technology (AIST)", "AIST", "CN-SH.SH", "IMFG.ROB MAT.NANO", EN, "JP"),
)

GOVERNMENTS: tuple[Organisation, ...] = (
    _org("成都高新技术产业开发区管理委员会", "Chengdu Hi-tech Industrial Development Zone Administrative Committee", "CDHT", "CN-SC.CD", "5G.RAN 5G.RF EIT.IC BIO.DRUG"),
    _org("成都市科学技术局", "Chengdu Municipal Bureau of Science and Technology", "CDST", "CN-SC.CD", "5G.IOT EIT.AI AERO.UAV"),
    _org("四川省科学技术厅", "Sichuan Provincial Department of Science and Technology", "SCST", "CN-SC", "5G.RAN IIOT.PLAT BIO.DEV"),
    _org("绵阳科技城管理委员会", "Mianyang Science City Administrative Committee", "MYSC", "CN-SC.MY", "EIT.SEN 5G.RF"),
    _org("重庆市科学技术局", "Chongqing Municipal Science and Technology Bureau", "CQST", "CN-CQ.CQ", "IIOT.PLAT IMFG.ROB ENE.BAT"),
    _org("深圳市科技创新局", "Shenzhen Science, Technology and Innovation Bureau", "SZSTI", "CN-GD.SZ", "BIO.DRUG BIO.DEV EIT.IC 5G.RAN"),
    _org("深圳市南山区科技创新局", "Nanshan District Science, Technology and Innovation Bureau", "NSSTI", "CN-GD.SZ", "BIO.GENE BIO.DX EIT.AI"),
    _org("广州市科学技术局", "Guangzhou Municipal Science and Technology Bureau", "GZST", "CN-GD.GZ", "BIO.DX BIO.GENE"),
    _org("东莞松山湖高新技术产业开发区管理委员会", "Dongguan Songshan Lake Hi-tech Zone Administrative Committee", "SSL", "CN-GD.DG", "IMFG.ROB EIT.SEN"),
    _org("苏州工业园区管理委员会", "Suzhou Industrial Park Administrative Committee", "SIP", "CN-JS.SZ", "IMFG.ROB IMFG.INSP BIO.DEV MAT.NANO"),
    _org("苏州市科学技术局", "Suzhou Municipal Science and Technology Bureau", "SZKJ", "CN-JS.SZ", "IMFG.CNC IMFG.AM IIOT.PLAT"),
    _org("江苏省科学技术厅", "Jiangsu Provincial Department of Science and Technology", "JSST", "CN-JS", "IIOT.TWIN MAT.SEMI"),
    _org("无锡市科学技术局", "Wuxi Municipal Science and Technology Bureau", "WXST", "CN-JS.WX", "EIT.IC 5G.IOT"),
    _org("上海市科学技术委员会", "Science and Technology Commission of Shanghai Municipality", "STCSM", "CN-SH.SH", "BIO.DRUG EIT.IC EIT.AI"),
    _org("上海张江高新技术产业开发区管理委员会", "Shanghai Zhangjiang Hi-tech Park Administrative Committee", "ZJHT", "CN-SH.SH", "BIO.GENE EIT.IC"),
    _org("杭州市科学技术局", "Hangzhou Municipal Science and Technology Bureau", "HZST", "CN-ZJ.HZ", "IIOT.PLAT EIT.AI"),
    _org("宁波市科学技术局", "Ningbo Municipal Science and Technology Bureau", "NBST", "CN-ZJ.NB", "MAT.COMP IMFG.CNC"),
    _org("合肥高新技术产业开发区管理委员会", "Hefei Hi-tech Industry Development Zone Administrative Committee", "HFHT", "CN-AH.HF", "EIT.QIT ENE.PV"),
    _org("中关村科技园区管理委员会", "Administrative Committee of Zhongguancun Science Park", "ZGC", "CN-BJ.BJ", "EIT.AI EIT.QIT BIO.GENE"),
    _org("北京市科学技术委员会", "Beijing Municipal Science and Technology Commission", "BJST", "CN-BJ.BJ", "AERO.SAT 5G.OPT"),
    _org("天津滨海高新技术产业开发区管理委员会", "Tianjin Binhai Hi-tech Zone Administrative Committee", "TJHT", "CN-TJ.TJ", "ENE.BAT IIOT.SEC"),
    _org("雄安新区管理委员会", "Xiong'an New Area Administrative Committee", "XIONGAN", "CN-HE.XA", "IIOT.TWIN 5G.IOT"),
    _org("武汉东湖新技术开发区管理委员会", "Wuhan East Lake High-tech Zone Administrative Committee", "WHEL", "CN-HB.WH", "5G.OPT PHO.LAS"),
    _org("西安高新技术产业开发区管理委员会", "Xi'an High-tech Zone Administrative Committee", "XAHT", "CN-SN.XA", "AERO.UAV MAT.SEMI"),
    _org("厦门火炬高技术产业开发区管理委员会", "Xiamen Torch Hi-tech Zone Administrative Committee", "XMTORCH", "CN-FJ.XM", "EIT.DSP ENE.PV"),
    _org("青岛市科学技术局", "Qingdao Municipal Science and Technology Bureau", "QDST", "CN-SD.QD", "IIOT.PLAT IMFG.INSP"),
    _org("香港特别行政区政府创新科技署", "Innovation and Technology Commission, HKSAR Government", "ITC", "CN-HK.HK", "EIT.AI BIO.DEV", EN, "HK"),
)

# The national technology-transfer regional centres act as agencies; their names come from shared/.
TRANSFER_CENTRE_AGENCIES: tuple[Organisation, ...] = tuple(
    Organisation(c.zh, c.en, f"ntt-{c.code}", c.seat, ()) for c in TRANSFER_CENTRES
)
NAMED_AGENCIES: tuple[Organisation, ...] = (
    _org("清华大学技术转移研究院", "Tsinghua University Institute for Technology Transfer", "THU-ITT", "CN-BJ.BJ", ""),
    _org("中国技术交易所", "China Technology Exchange", "CTEX", "CN-BJ.BJ", ""),
    _org("上海技术交易所", "Shanghai Technology Exchange", "STEX", "CN-SH.SH", ""),
)

# Name parts for the fictional enterprises, investors and agencies.
BRAND_SYLLABLES: tuple[tuple[str, str], ...] = (
    ("芯", "xin"), ("瑞", "rui"), ("华", "hua"), ("科", "ke"), ("创", "chuang"), ("海", "hai"), ("天", "tian"),
    ("智", "zhi"), ("源", "yuan"), ("航", "hang"), ("博", "bo"), ("达", "da"), ("联", "lian"), ("微", "wei"),
    ("光", "guang"), ("通", "tong"), ("康", "kang"), ("泰", "tai"), ("睿", "rui"), ("晶", "jing"), ("宇", "yu"),
    ("恒", "heng"), ("迈", "mai"), ("诺", "nuo"), ("峰", "feng"), ("盛", "sheng"), ("捷", "jie"), ("锐", "rui"),
)
INDUSTRY_WORDS: dict[str, tuple[tuple[str, str], ...]] = {
    "EIT": (("微电子", "Microelectronics"), ("智能科技", "Intelligent Technology"), ("传感技术", "Sensing Technology")),
    "BIO": (("生物医药", "Biopharma"), ("医疗科技", "Medical Technology"), ("基因科技", "Genomics")),
    "5G": (("通信技术", "Communication Technology"), ("射频科技", "RF Technology"), ("物联科技", "IoT Technology")),
    "IIOT": (("工业互联", "Industrial Internet"), ("数字科技", "Digital Technology"), ("信息安全", "Information Security")),
    "IMFG": (("智能装备", "Intelligent Equipment"), ("机器人", "Robotics"), ("精密机械", "Precision Machinery")),
    "MAT": (("新材料", "Advanced Materials"), ("纳米科技", "Nanotechnology")),
    "ENE": (("新能源", "New Energy"), ("储能科技", "Energy Storage")),
    "AERO": (("航天科技", "Aerospace Technology"), ("无人机", "UAV")),
    "PHO": (("激光", "Laser"), ("光电", "Photonics")),
}
FOREIGN_ROOTS: tuple[tuple[str, str], ...] = (
    ("Nordlicht", "诺德利希特"), ("Alpina", "阿尔皮纳"), ("Helix", "赫利克斯"), ("Veritas", "维瑞塔斯"),
    ("Aurora", "奥罗拉"), ("Quantix", "宽迪克斯"), ("Meridian", "美瑞迪安"), ("Lumina", "卢米娜"),
    ("Cobalt", "科博特"), ("Stellar", "斯泰拉"), ("Tessera", "泰瑟拉"), ("Boreal", "博瑞尔"),
    ("Orbis", "奥比斯"), ("Vantage", "万蒂奇"), ("Kestrel", "凯斯特"), ("Solent", "索伦特"),
    ("Arcadia", "阿卡迪亚"), ("Fjord", "菲约德"), ("Zenith", "泽尼斯"), ("Halcyon", "海尔希恩"),
)
# (ISO country code, Chinese country name, legal-form suffix)
FOREIGN_COUNTRIES: tuple[tuple[str, str, str], ...] = (
    ("DE", "德国", "GmbH"), ("CH", "瑞士", "AG"), ("GB", "英国", "Ltd."), ("US", "美国", "Inc."),
    ("NL", "荷兰", "B.V."), ("FI", "芬兰", "Oy"), ("JP", "日本", "K.K."), ("SG", "新加坡", "Pte. Ltd."),
    ("FR", "法国", "SAS"), ("KR", "韩国", "Co., Ltd."), ("IL", "以色列", "Ltd."), ("SE", "瑞典", "AB"),
)
# Cities where foreign companies keep their China office.
FOREIGN_OFFICE_CITIES: tuple[str, ...] = ("CN-SH.SH", "CN-JS.SZ", "CN-GD.SZ", "CN-BJ.BJ", "CN-SC.CD", "CN-HK.HK", "CN-GD.GZ")

AGENCY_KINDS: tuple[tuple[str, str], ...] = (
    ("技术转移中心", "Technology Transfer Centre"), ("知识产权运营有限公司", "IP Operations Co., Ltd."),
    ("科技成果评估事务所", "Technology Valuation Partners"), ("律师事务所", "Law Firm"),
    ("科技企业孵化器", "Technology Incubator"), ("检测认证有限公司", "Testing and Certification Co., Ltd."),
)
FOREIGN_AGENCY_KINDS: tuple[tuple[str, str], ...] = (
    ("技术转移合伙公司", "Technology Transfer Partners"), ("知识产权咨询公司", "IP Advisory"),
    ("创新桥梁公司", "Innovation Bridge"),
)
INVESTOR_KINDS: tuple[tuple[str, str], ...] = (
    ("创业投资有限公司", "Venture Capital Co., Ltd."), ("产业投资基金", "Industrial Investment Fund"),
    ("资本管理有限公司", "Capital Management Co., Ltd."), ("科创投资集团", "Sci-Tech Investment Group"),
    ("天使投资基金", "Angel Fund"),
)
FOREIGN_INVESTOR_KINDS: tuple[tuple[str, str], ...] = (
    ("风险投资", "Ventures"), ("资本合伙", "Capital Partners"), ("硬科技基金", "Deep Tech Fund"),
)

# People: Chinese surnames and given names (with pinyin), and international names (with Chinese).
CN_SURNAMES: tuple[tuple[str, str], ...] = (
    ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"), ("黄", "Huang"),
    ("赵", "Zhao"), ("周", "Zhou"), ("吴", "Wu"), ("徐", "Xu"), ("孙", "Sun"), ("马", "Ma"), ("胡", "Hu"),
    ("郭", "Guo"), ("何", "He"), ("林", "Lin"), ("罗", "Luo"), ("高", "Gao"), ("梁", "Liang"),
)
CN_GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("伟", "Wei"), ("芳", "Fang"), ("敏", "Min"), ("静", "Jing"), ("磊", "Lei"), ("洋", "Yang"), ("勇", "Yong"),
    ("杰", "Jie"), ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"), ("华", "Hua"), ("建国", "Jianguo"),
    ("晓东", "Xiaodong"), ("海燕", "Haiyan"), ("志强", "Zhiqiang"), ("雪梅", "Xuemei"), ("宇航", "Yuhang"),
    ("思远", "Siyuan"), ("嘉怡", "Jiayi"),
)
INTERNATIONAL_NAMES: tuple[tuple[str, str], ...] = (
    ("Anna Müller", "安娜·穆勒"), ("James Carter", "詹姆斯·卡特"), ("Sophie Laurent", "索菲·洛朗"),
    ("Lars Jensen", "拉斯·延森"), ("Maria Rossi", "玛丽亚·罗西"), ("David Cohen", "大卫·科恩"),
    ("Emma Virtanen", "艾玛·维尔塔宁"), ("Kenji Tanaka", "田中健二"), ("Priya Nair", "普丽娅·奈尔"),
    ("Lucas de Vries", "卢卡斯·德弗里斯"), ("Hannah Schmidt", "汉娜·施密特"), ("Olivier Martin", "奥利维尔·马丁"),
    ("Park Ji-woon", "朴智云"), ("Tan Wei Ling", "陈慧玲"), ("Michael Brown", "迈克尔·布朗"),
    ("Elena García", "埃莱娜·加西亚"), ("Chan Ka Yan", "陈嘉欣"), ("Wong Tsz Hin", "黄子轩"),
)

# How each party type's contact person is titled: (Chinese format, English format).
CONTACT_TITLES: dict[str, tuple[tuple[str, str], ...]] = {
    "university": (("{zh}教授团队", "Prof. {en}'s group"), ("{zh}副教授课题组", "Assoc. Prof. {en}'s lab")),
    "institute": (("{zh}研究员课题组", "Research group of {en}"), ("{zh}研究员团队", "{en}'s research team")),
    "enterprise": (("{zh}（技术总监）", "{en}, CTO"), ("{zh}（总经理）", "{en}, General Manager"), ("{zh}（研发总监）", "{en}, R&D Director")),
    "agency": (("{zh}（技术经理人）", "{en}, Technology Manager"), ("{zh}（合伙人）", "{en}, Partner")),
    "investor": (("{zh}（合伙人）", "{en}, Partner"), ("{zh}（投资总监）", "{en}, Investment Director")),
    "government": (("{zh}（科技创新处）", "{en}, Science and Technology Innovation Division"), ("{zh}（产业促进局）", "{en}, Industry Promotion Bureau")),
}

# Where fictional organisations are seated (weights), and which fields each city leans to.
CITY_WEIGHTS: dict[str, int] = {
    "CN-GD.SZ": 14, "CN-SH.SH": 12, "CN-BJ.BJ": 12, "CN-JS.SZ": 11, "CN-SC.CD": 11, "CN-ZJ.HZ": 7,
    "CN-HB.WH": 5, "CN-SN.XA": 4, "CN-AH.HF": 4, "CN-JS.NJ": 4, "CN-GD.GZ": 4, "CN-CQ.CQ": 4,
    "CN-GD.DG": 3, "CN-JS.WX": 3, "CN-TJ.TJ": 2, "CN-SD.QD": 2, "CN-FJ.XM": 2, "CN-HN.CS": 2,
    "CN-LN.SY": 1, "CN-SC.MY": 1,
}
FIELD_WEIGHTS: dict[str, float] = {
    "EIT": 16, "BIO": 16, "5G": 15, "IIOT": 12, "IMFG": 15, "MAT": 7, "ENE": 8, "AERO": 5, "PHO": 6,
}
CITY_FIELD_BIAS: dict[str, dict[str, float]] = {
    "CN-SC.CD": {"5G": 3, "EIT": 1.5, "BIO": 1.3},
    "CN-GD.SZ": {"BIO": 2.5, "EIT": 1.5, "5G": 1.5},
    "CN-JS.SZ": {"IMFG": 3, "BIO": 1.5, "IIOT": 1.5, "MAT": 1.3},
    "CN-SH.SH": {"BIO": 2, "EIT": 1.5},
    "CN-BJ.BJ": {"EIT": 1.5, "AERO": 1.5},
    "CN-HB.WH": {"PHO": 3, "5G": 1.5},
    "CN-SN.XA": {"AERO": 3},
    "CN-AH.HF": {"EIT": 1.5, "ENE": 2},
    "CN-ZJ.HZ": {"IIOT": 2.5},
    "CN-GD.DG": {"IMFG": 2.5},
    "CN-CQ.CQ": {"IMFG": 1.5, "IIOT": 1.5},
}
