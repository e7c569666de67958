"""What happens in the city: how often each kind of record occurs, and realistic values.

The policy pack says what a valid record is; this module says what a plausible one is. Every
choice here is a preference that the pack filters: a grade, enum value or authority the pack
does not know is never used, and a record type the pack lacks is never generated.

Rates are the chance that a subject gets at least one record of the kind in the five years
before the as-of date; ``repeats`` is the chance of each further one.
"""

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from xinyong.policy import Authority, AuthorityKind
from xinyong.synth.population import District, NamePools

PERSON = "person"
ORGANISATION = "organisation"


@dataclass(frozen=True, slots=True)
class Subject:
    """The subject of a record as an authority names it."""

    kind: str  # person | organisation
    identifier: str
    name: str
    district: District
    suspect: bool  # its code carries a wrong check character (registries only)
    form: str = ""  # organisations: GB 32100 registration-authority and entity-type codes


@dataclass(slots=True)
class Occasion:
    """One decision being drawn up: everything a field or an amount may depend on."""

    rng: random.Random
    record_type: str
    subject: Subject
    authority: Authority
    decided_on: date
    severity: str
    pools: NamePools
    # Values several fields share (a violation and its legal basis), drawn once.
    memo: dict[str, Any] = field(default_factory=dict)


FieldDraw = Callable[[Occasion], Any]
AmountDraw = Callable[[Occasion, Mapping[str, Any]], float | None]


def money(rng: random.Random, low: float, high: float, step: float = 0.01) -> float:
    """A log-uniform sum between ``low`` and ``high`` yuan, rounded to ``step`` (fines are
    round numbers, debts are not)."""
    value = math.exp(rng.uniform(math.log(low), math.log(high)))
    return round(round(value / step) * step, 2)


def weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


@dataclass(frozen=True, slots=True)
class Conduct:
    """A kind of record that happens to subjects of one kind at a given rate."""

    record_type: str
    subject: str
    rate: float
    repeats: float = 0.0
    authority_kinds: Mapping[AuthorityKind, float] = field(default_factory=dict)
    severities: Mapping[str, float] = field(default_factory=dict)
    amount: AmountDraw | None = None
    lag_days: tuple[int, int] = (0, 7)  # from decision to effect
    forms: tuple[str, ...] = ()  # organisations: only these GB 32100 code prefixes ("91")
    national: float = 0.3  # weight of a national body against a local one


# --- amounts -------------------------------------------------------------------------------

_FINE_RANGES = {
    (PERSON, "minor"): (50, 2_000, 50),
    (PERSON, "general"): (500, 20_000, 100),
    (PERSON, "serious"): (5_000, 200_000, 1_000),
    (ORGANISATION, "minor"): (500, 5_000, 100),
    (ORGANISATION, "general"): (5_000, 200_000, 500),
    (ORGANISATION, "serious"): (100_000, 5_000_000, 1_000),
}


def _fine(occasion: Occasion, fields: Mapping[str, Any]) -> float | None:
    # A warning, suspension or closure carries no sum; a fine or confiscation does.
    if fields.get("penalty_kind", "fine") not in ("fine", "confiscation"):
        return None
    low, high, step = _FINE_RANGES.get(
        (occasion.subject.kind, occasion.severity), _FINE_RANGES[(occasion.subject.kind, "general")]
    )
    return money(occasion.rng, low, high, step)


def _sum(person: tuple[float, float], organisation: tuple[float, float]) -> AmountDraw:
    def draw(occasion: Occasion, fields: Mapping[str, Any]) -> float:
        low, high = person if occasion.subject.kind == PERSON else organisation
        return money(occasion.rng, low, high)

    return draw


def _wages(occasion: Occasion, fields: Mapping[str, Any]) -> float:
    workers = int(fields.get("workers_affected", 10))
    return round(workers * occasion.rng.uniform(3_000, 12_000) * occasion.rng.randint(1, 6), 2)


def _loan(occasion: Occasion, fields: Mapping[str, Any]) -> float:
    ranges = {
        "mortgage": (300_000, 5_000_000),
        "business": (100_000, 20_000_000),
        "credit_card": (2_000, 100_000),
        "student": (8_000, 60_000),
    }
    low, high = ranges.get(str(fields.get("loan_kind")), (5_000, 300_000))
    return money(occasion.rng, low, high)


# --- conducts -------------------------------------------------------------------------------

_PENALTY_GRADES = {"minor": 0.55, "general": 0.38, "serious": 0.07}
_PERSON_PENALISERS = {
    AuthorityKind.PUBLIC_SECURITY: 6.0,
    AuthorityKind.TRANSPORT: 2.0,
    AuthorityKind.MARKET_REGULATION: 1.0,
    AuthorityKind.HOUSING: 0.5,
    AuthorityKind.HEALTH: 0.4,
    AuthorityKind.TAX: 0.4,
    AuthorityKind.HRSS: 0.2,
    AuthorityKind.AGRICULTURE: 0.2,
}
_ORGANISATION_PENALISERS = {
    AuthorityKind.MARKET_REGULATION: 8.0,
    AuthorityKind.EMERGENCY: 2.0,
    AuthorityKind.HOUSING: 2.0,
    AuthorityKind.TRANSPORT: 1.5,
    AuthorityKind.TAX: 1.5,
    AuthorityKind.HEALTH: 1.0,
    AuthorityKind.HRSS: 1.0,
    AuthorityKind.EDUCATION: 0.5,
    AuthorityKind.CUSTOMS: 0.5,
    AuthorityKind.AGRICULTURE: 0.4,
    AuthorityKind.CIVIL_AFFAIRS: 0.3,
    AuthorityKind.DRUG_ADMINISTRATION: 0.3,
}
_LICENSERS_OF_PEOPLE = {AuthorityKind.TRANSPORT: 3.0, AuthorityKind.PUBLIC_SECURITY: 1.0}
_LICENSERS = {
    AuthorityKind.MARKET_REGULATION: 5.0,
    AuthorityKind.HEALTH: 1.5,
    AuthorityKind.TRANSPORT: 1.5,
    AuthorityKind.HOUSING: 1.5,
    AuthorityKind.EMERGENCY: 1.0,
    AuthorityKind.ENVIRONMENT: 1.0,
    AuthorityKind.EDUCATION: 0.5,
    AuthorityKind.DRUG_ADMINISTRATION: 0.5,
    AuthorityKind.AGRICULTURE: 0.3,
}
_QUALIFIERS = {
    AuthorityKind.HRSS: 3.0,
    AuthorityKind.HEALTH: 1.5,
    AuthorityKind.EDUCATION: 1.5,
    AuthorityKind.HOUSING: 1.0,
    AuthorityKind.FINANCE: 1.0,
}
_HONOURERS = {
    AuthorityKind.YOUTH_LEAGUE: 2.0,
    AuthorityKind.HRSS: 1.0,
    AuthorityKind.MARKET_REGULATION: 1.0,
    AuthorityKind.TAX: 1.0,
    AuthorityKind.CIVIL_AFFAIRS: 0.5,
}
_COMMITMENT_TAKERS = {
    AuthorityKind.CREDIT_CENTRE: 2.0,
    AuthorityKind.MARKET_REGULATION: 3.0,
    AuthorityKind.HOUSING: 1.0,
    AuthorityKind.TAX: 1.0,
    AuthorityKind.FINANCE: 1.0,
    AuthorityKind.HRSS: 0.5,
}

_MARKET = ("91", "92", "93")  # organisations market regulation registers

# People's loans, cards and overdue events come from their credit history (``credit``).
PERSON_CONDUCT: tuple[Conduct, ...] = (
    Conduct("court.judgment", PERSON, 0.025, 0.1, lag_days=(10, 30)),
    Conduct("court.defaulter_listing", PERSON, 0.004, lag_days=(0, 3)),
    Conduct("court.consumption_restriction", PERSON, 0.002, lag_days=(0, 2)),
    Conduct(
        "admin.penalty",
        PERSON,
        0.015,
        0.2,
        authority_kinds=_PERSON_PENALISERS,
        severities=_PENALTY_GRADES,
        amount=_fine,
        lag_days=(3, 15),
    ),
    Conduct(
        "transport.railway_safety_violation",
        PERSON,
        0.002,
        authority_kinds={AuthorityKind.RAILWAY: 7.0, AuthorityKind.PUBLIC_SECURITY: 2.0},
        lag_days=(0, 3),
        national=5.0,
    ),
    Conduct("tax.serious_violation", PERSON, 0.0003, amount=_sum((1e5, 5e6), (1e5, 3e7))),
    Conduct("hrss.wage_arrears", PERSON, 0.0005, amount=_wages),
    Conduct(
        "environment.penalty",
        PERSON,
        0.001,
        severities=_PENALTY_GRADES,
        amount=_fine,
        lag_days=(3, 15),
    ),
    Conduct(
        "food_drug.penalty",
        PERSON,
        0.001,
        severities=_PENALTY_GRADES,
        amount=_fine,
        lag_days=(3, 15),
    ),
    Conduct(
        "ip.infringement_penalty",
        PERSON,
        0.0005,
        severities=_PENALTY_GRADES,
        amount=_fine,
        lag_days=(3, 15),
    ),
    Conduct("commitment.made", PERSON, 0.01, authority_kinds=_COMMITMENT_TAKERS, lag_days=(0, 0)),
    Conduct("honour.commendation", PERSON, 0.006, authority_kinds=_HONOURERS),
    # Civic conduct is common enough that the city pilot's additions (volunteer service,
    # blood donation, honours) move a visible share of people into its upper grades.
    Conduct(
        "volunteer.service",
        PERSON,
        0.10,
        0.8,
        authority_kinds={AuthorityKind.YOUTH_LEAGUE: 4.0, AuthorityKind.CIVIL_AFFAIRS: 1.0},
        lag_days=(0, 0),
    ),
    Conduct("health.blood_donation", PERSON, 0.05, 0.6, lag_days=(0, 0)),
    Conduct("professional.qualification", PERSON, 0.04, 0.2, authority_kinds=_QUALIFIERS),
    Conduct("admin.licence", PERSON, 0.01, authority_kinds=_LICENSERS_OF_PEOPLE),
    # Patents are granted by the national office.
    Conduct("ip.patent_grant", PERSON, 0.003, national=20.0),
    Conduct("voluntary.disclosure", PERSON, 0.002, lag_days=(0, 0)),
)

ORGANISATION_CONDUCT: tuple[Conduct, ...] = (
    Conduct("admin.licence", ORGANISATION, 0.30, 0.3, authority_kinds=_LICENSERS),
    Conduct(
        "admin.penalty",
        ORGANISATION,
        0.07,
        0.3,
        authority_kinds=_ORGANISATION_PENALISERS,
        severities=_PENALTY_GRADES,
        amount=_fine,
        lag_days=(3, 15),
    ),
    Conduct(
        "environment.penalty",
        ORGANISATION,
        0.015,
        severities=_PENALTY_GRADES,
        amount=_fine,
        lag_days=(3, 15),
    ),
    Conduct(
        "food_drug.penalty",
        ORGANISATION,
        0.02,
        authority_kinds={
            AuthorityKind.MARKET_REGULATION: 4.0,
            AuthorityKind.DRUG_ADMINISTRATION: 1.0,
        },
        severities=_PENALTY_GRADES,
        amount=_fine,
        lag_days=(3, 15),
    ),
    Conduct(
        "ip.infringement_penalty",
        ORGANISATION,
        0.004,
        severities=_PENALTY_GRADES,
        amount=_fine,
        lag_days=(3, 15),
    ),
    Conduct("market.abnormal_operations", ORGANISATION, 0.06, lag_days=(0, 0), forms=_MARKET),
    Conduct(
        "market.serious_violation_listing", ORGANISATION, 0.002, lag_days=(0, 3), forms=_MARKET
    ),
    Conduct("tax.credit_rating", ORGANISATION, 0.6, lag_days=(0, 0), forms=("91", "93")),
    Conduct("tax.serious_violation", ORGANISATION, 0.003, amount=_sum((1e5, 5e6), (1e5, 3e7))),
    Conduct("customs.credit_status", ORGANISATION, 0.03, lag_days=(0, 0), forms=("91",)),
    Conduct(
        "hrss.social_insurance_arrears",
        ORGANISATION,
        0.012,
        severities={"general": 0.8, "serious": 0.2},
        amount=_sum((1e4, 5e5), (2e4, 2e6)),
    ),
    Conduct("hrss.wage_arrears", ORGANISATION, 0.005, amount=_wages, forms=("91",)),
    Conduct("court.judgment", ORGANISATION, 0.05, 0.3, lag_days=(10, 30)),
    Conduct("court.defaulter_listing", ORGANISATION, 0.006, lag_days=(0, 3)),
    Conduct(
        "contract.default",
        ORGANISATION,
        0.008,
        severities={"general": 0.75, "serious": 0.25},
        amount=_sum((5e4, 1e6), (5e4, 1e7)),
        forms=("91",),
    ),
    Conduct(
        "commitment.made",
        ORGANISATION,
        0.12,
        0.3,
        authority_kinds=_COMMITMENT_TAKERS,
        lag_days=(0, 0),
    ),
    Conduct("honour.commendation", ORGANISATION, 0.012, authority_kinds=_HONOURERS),
    Conduct("ip.patent_grant", ORGANISATION, 0.04, 0.8, forms=("91",), national=20.0),
    Conduct("bank.loan_repaid_on_time", ORGANISATION, 0.12, 0.4, amount=_loan, lag_days=(0, 0)),
    Conduct(
        "bank.loan_default",
        ORGANISATION,
        0.012,
        severities={"general": 0.7, "serious": 0.3},
        amount=_loan,
        lag_days=(0, 0),
    ),
    Conduct("credit_service.evaluation", ORGANISATION, 0.03, lag_days=(0, 0), forms=("91",)),
    Conduct("voluntary.disclosure", ORGANISATION, 0.01, lag_days=(0, 0)),
)

# A record type the pack has and the tables above do not: still generated, rarely, with
# values drawn from its schema alone.
UNLISTED_RATE = 0.002

# Repeat offenders: a few subjects collect most negative records.
REPEAT_OFFENDER_SHARE = {PERSON: 0.004, ORGANISATION: 0.015}
REPEAT_OFFENDER_FACTOR = 12.0
REPEAT_OFFENDER_REPEATS = 0.35

# How often a defaulter listing follows a judgment, how often a listing brings a consumption
# restriction, and how often the obligation is later performed.
JUDGMENT_LEADS_TO_LISTING = 0.2
LISTING_RESTRICTS_CONSUMPTION = 0.85
LISTING_PERFORMED = 0.45
ABNORMAL_REMOVED = 0.55
ABNORMAL_ESCALATED = 0.5  # of those still listed after three years
COMMITMENT_BREACHED = 0.03
QUALIFICATION_REVOKED = 0.01
OBLIGATIONS = {PERSON: (5_000.0, 3e6), ORGANISATION: (2e4, 2e7)}  # sums owed in enforcement

# Grades of records that only follow others in a story.
FOLLOW_UP_GRADES: Mapping[str, Mapping[str, float]] = {
    "commitment.breach": {"general": 0.8, "serious": 0.2},
    "professional.qualification_revoked": {"serious": 0.7, "general": 0.3},
}
REVOCATION_REASONS = (
    "以欺骗、贿赂等不正当手段取得资格",
    "因违法执业被依法吊销",
    "出租、出借资格证书",
)
ESCALATION_REASON = "被列入经营异常名录届满3年仍未履行相关义务"


# --- field values --------------------------------------------------------------------------

_VIOLATIONS: Mapping[AuthorityKind, tuple[tuple[str, str], ...]] = {
    AuthorityKind.MARKET_REGULATION: (
        ("发布虚假广告", "《中华人民共和国广告法》第五十五条"),
        ("未按规定明码标价", "《中华人民共和国价格法》第四十二条"),
        ("从事无照经营", "《无证无照经营查处办法》第十三条"),
        ("销售不合格产品", "《中华人民共和国产品质量法》第五十条"),
        ("未按规定使用计量器具", "《中华人民共和国计量法》第二十七条"),
    ),
    AuthorityKind.PUBLIC_SECURITY: (
        ("殴打他人", "《中华人民共和国治安管理处罚法》第四十三条"),
        ("扰乱公共场所秩序", "《中华人民共和国治安管理处罚法》第二十三条"),
        ("饮酒后驾驶机动车", "《中华人民共和国道路交通安全法》第九十一条"),
        ("未取得机动车驾驶证驾驶机动车", "《中华人民共和国道路交通安全法》第九十九条"),
        ("出租房屋未按规定登记承租人信息", "《中华人民共和国治安管理处罚法》第五十七条"),
    ),
    AuthorityKind.TRANSPORT: (
        ("未取得道路运输经营许可擅自从事道路运输经营", "《中华人民共和国道路运输条例》第六十三条"),
        ("未取得网约车运输证从事网约车经营", "《网络预约出租汽车经营服务管理暂行办法》第三十四条"),
        ("货运车辆超限运输", "《公路安全保护条例》第六十四条"),
    ),
    AuthorityKind.HOUSING: (
        ("未取得施工许可证擅自施工", "《建筑工程施工许可管理办法》第十二条"),
        ("违反工程质量管理规定", "《建设工程质量管理条例》第六十四条"),
        ("发布虚假房源信息", "《房地产经纪管理办法》第三十七条"),
    ),
    AuthorityKind.EMERGENCY: (
        ("未按规定对从业人员进行安全生产教育和培训", "《中华人民共和国安全生产法》第九十七条"),
        ("未建立事故隐患排查治理制度", "《中华人民共和国安全生产法》第一百零一条"),
    ),
    AuthorityKind.HEALTH: (
        ("未取得医疗机构执业许可证擅自执业", "《医疗机构管理条例》第四十三条"),
        ("公共场所卫生质量不符合卫生标准", "《公共场所卫生管理条例》第十四条"),
    ),
    AuthorityKind.EDUCATION: (
        ("违规开展学科类校外培训", "《中华人民共和国民办教育促进法》第六十二条"),
    ),
    AuthorityKind.TAX: (
        ("未按照规定期限办理纳税申报", "《中华人民共和国税收征收管理法》第六十二条"),
        ("未按照规定开具发票", "《中华人民共和国发票管理办法》第三十五条"),
    ),
    AuthorityKind.CUSTOMS: (
        ("进出口货物申报不实", "《中华人民共和国海关行政处罚实施条例》第十五条"),
    ),
    AuthorityKind.HRSS: (
        ("未依法与劳动者订立书面劳动合同", "《中华人民共和国劳动合同法》第八十二条"),
        ("违反工作时间规定延长劳动者工作时间", "《劳动保障监察条例》第二十五条"),
    ),
    AuthorityKind.AGRICULTURE: (("经营假农药", "《农药管理条例》第五十五条"),),
    AuthorityKind.CIVIL_AFFAIRS: (("未按规定参加年度检查", "《社会团体登记管理条例》第三十条"),),
    AuthorityKind.FINANCE: (("未按规定设置会计账簿", "《中华人民共和国会计法》第四十二条"),),
    AuthorityKind.ENVIRONMENT: (
        ("超标排放大气污染物", "《中华人民共和国大气污染防治法》第九十九条"),
        ("未依法取得排污许可证排放污染物", "《排污许可管理条例》第三十三条"),
        ("未批先建，违反建设项目环境影响评价制度", "《中华人民共和国环境影响评价法》第三十一条"),
        ("夜间施工噪声超标", "《中华人民共和国噪声污染防治法》第七十七条"),
    ),
    AuthorityKind.DRUG_ADMINISTRATION: (
        ("未遵守药品经营质量管理规范", "《中华人民共和国药品管理法》第一百二十六条"),
        ("销售劣药", "《中华人民共和国药品管理法》第一百一十七条"),
    ),
    AuthorityKind.INTELLECTUAL_PROPERTY: (("假冒专利", "《中华人民共和国专利法》第六十八条"),),
}
_FOOD_VIOLATIONS = (
    ("销售不符合食品安全标准的食品", "《中华人民共和国食品安全法》第一百二十四条"),
    ("未取得食品经营许可从事食品经营", "《中华人民共和国食品安全法》第一百二十二条"),
    ("餐饮服务场所卫生条件不符合要求", "《中华人民共和国食品安全法》第一百二十六条"),
)
_IP_VIOLATIONS = {
    "trademark": ("销售侵犯注册商标专用权的商品", "《中华人民共和国商标法》第六十条"),
    "patent": ("假冒他人专利", "《中华人民共和国专利法》第六十八条"),
    "geographical_indication": ("擅自使用地理标志", "《地理标志产品保护办法》第三十八条"),
}
_GENERIC_VIOLATION = ("违反行政管理秩序", "相关法律、法规")


def _violation(occasion: Occasion) -> tuple[str, str]:
    if "violation" not in occasion.memo:
        if occasion.record_type == "ip.infringement_penalty":
            pair = _IP_VIOLATIONS.get(_right_kind(occasion), _GENERIC_VIOLATION)
        elif occasion.record_type == "food_drug.penalty" and (
            occasion.authority.kind is not AuthorityKind.DRUG_ADMINISTRATION
        ):
            pair = occasion.rng.choice(_FOOD_VIOLATIONS)
        else:
            pair = occasion.rng.choice(
                _VIOLATIONS.get(occasion.authority.kind, (_GENERIC_VIOLATION,))
            )
        occasion.memo["violation"] = pair
    violation: tuple[str, str] = occasion.memo["violation"]
    return violation


def _right_kind(occasion: Occasion) -> str:
    if "right_kind" not in occasion.memo:
        occasion.memo["right_kind"] = weighted(
            occasion.rng, {"trademark": 70, "patent": 25, "geographical_indication": 5}
        )
    right_kind: str = occasion.memo["right_kind"]
    return right_kind


def _penalty_kind(occasion: Occasion) -> str:
    grades = {
        "minor": {"warning": 65, "fine": 35},
        "general": {"fine": 75, "confiscation": 10, "suspension": 10, "warning": 5},
        "serious": {"fine": 45, "suspension": 20, "licence_revocation": 15, "closure": 10},
    }
    weights = dict(grades.get(occasion.severity, grades["general"]))
    if occasion.severity == "serious" and occasion.subject.kind == PERSON:
        weights.pop("closure")
        if occasion.authority.kind is AuthorityKind.PUBLIC_SECURITY:
            weights["detention"] = 25  # only the police detain, and only people
    return weighted(occasion.rng, weights)


_LICENCES: Mapping[AuthorityKind, tuple[tuple[str, str], ...]] = {
    AuthorityKind.MARKET_REGULATION: (("食品经营许可证", "JY"), ("特种设备使用登记证", "TS")),
    AuthorityKind.HEALTH: (("医疗机构执业许可证", "PDY"), ("公共场所卫生许可证", "京卫公证字")),
    AuthorityKind.TRANSPORT: (
        ("道路运输经营许可证", "京交运管许可"),
        ("网络预约出租汽车驾驶员证", "京网约驾"),
    ),
    AuthorityKind.HOUSING: (("建筑工程施工许可证", "京建施"), ("建筑业企业资质证书", "D2")),
    AuthorityKind.EMERGENCY: (
        ("安全生产许可证", "京FM安许证字"),
        ("危险化学品经营许可证", "京应急危化经"),
    ),
    AuthorityKind.ENVIRONMENT: (("排污许可证", "91"),),
    AuthorityKind.EDUCATION: (("民办学校办学许可证", "教民"),),
    AuthorityKind.DRUG_ADMINISTRATION: (("药品经营许可证", "京AA"),),
    AuthorityKind.AGRICULTURE: (("农药经营许可证", "农药经"),),
    AuthorityKind.PUBLIC_SECURITY: (("保安员证", "京公保"),),
}


def _licence(occasion: Occasion) -> tuple[str, str]:
    if "licence" not in occasion.memo:
        choices = _LICENCES.get(occasion.authority.kind, (("行政许可决定书", "许"),))
        name, prefix = occasion.rng.choice(choices)
        number = f"{prefix}{occasion.decided_on.year}{occasion.rng.randrange(10**8):08d}"
        occasion.memo["licence"] = (name, number)
    licence: tuple[str, str] = occasion.memo["licence"]
    return licence


_QUALIFICATIONS: Mapping[AuthorityKind, tuple[str, ...]] = {
    AuthorityKind.HRSS: (
        "经济师（中级）",
        "高级工程师",
        "电工（高级工）",
        "中式烹调师（中级）",
        "育婴员",
        "人力资源管理师",
    ),
    AuthorityKind.HEALTH: ("执业医师", "执业护士", "执业药师"),
    AuthorityKind.EDUCATION: ("高级中学教师资格", "小学教师资格", "幼儿园教师资格"),
    AuthorityKind.HOUSING: ("一级建造师", "二级建造师", "注册监理工程师"),
    AuthorityKind.FINANCE: ("会计专业技术资格（中级）", "会计专业技术资格（初级）"),
}

_HONOURS = {
    PERSON: (
        "北京市劳动模范",
        "首都见义勇为好市民",
        "北京市三八红旗手",
        "北京市诚信之星",
        "北京市优秀志愿者",
    ),
    ORGANISATION: (
        "首都文明单位",
        "北京市诚信经营示范单位",
        "守合同重信用企业",
        "北京市模范集体",
        "纳税信用A级纳税人",
    ),
}
_COMMITMENTS = (
    "申请食品经营许可告知承诺",
    "申请建筑业企业资质告知承诺",
    "申请信用修复信用承诺",
    "参与政府采购信用承诺",
    "申请财政补贴资金信用承诺",
    "证明事项告知承诺",
)
_DISCLOSURES = {
    PERSON: ("职业技能等级证书", "志愿服务证明", "个人信用报告（自愿公示）"),
    ORGANISATION: (
        "ISO 9001质量管理体系认证证书",
        "高新技术企业证书",
        "专精特新中小企业认定",
        "企业社会责任报告",
    ),
}
_CAUSES = {
    PERSON: (
        "民间借贷纠纷",
        "信用卡纠纷",
        "金融借款合同纠纷",
        "房屋租赁合同纠纷",
        "机动车交通事故责任纠纷",
        "劳动争议",
    ),
    ORGANISATION: (
        "买卖合同纠纷",
        "建设工程施工合同纠纷",
        "服务合同纠纷",
        "劳动争议",
        "金融借款合同纠纷",
        "房屋租赁合同纠纷",
    ),
}
_SERIOUS_LISTING_REASONS = (
    "提交虚假材料取得市场主体登记，被依法撤销登记",
    "因危害食品安全被吊销营业执照",
    "一年内因同一违法行为受到两次以上行政处罚",
)
_TAX_VIOLATIONS = ("偷税", "逃避追缴欠税", "骗取出口退税", "虚开增值税专用发票", "抗税")
_TAX_GRADES = {"A": 30, "B": 45, "M": 15, "C": 7, "D": 3}
_TAX_SCORES = {"A": (90.0, 100.0), "B": (70.0, 89.9), "C": (40.0, 69.9), "D": (0.0, 39.9)}


def tax_grade(rng: random.Random, repeat_offender: bool) -> tuple[str, float | None]:
    """A tax credit grade with a score in its band (grade M has no score: a new taxpayer)."""
    grade = weighted(rng, {"C": 50, "D": 50} if repeat_offender else _TAX_GRADES)
    band = _TAX_SCORES.get(grade)
    return grade, None if band is None else round(rng.uniform(*band), 1)


def _volunteer_organisation(occasion: Occasion) -> str:
    street = occasion.rng.choice(occasion.pools.streets)
    return f"北京市{occasion.subject.district.name}{street}社区志愿服务队"


def _between(low: int, high: int) -> FieldDraw:
    return lambda occasion: occasion.rng.randint(low, high)


def _pick(*values: str) -> FieldDraw:
    return lambda occasion: occasion.rng.choice(values)


def _weights(weights: Mapping[str, float]) -> FieldDraw:
    return lambda occasion: weighted(occasion.rng, weights)


# Field values by (record type, field), then by field alone. Values a story links to other
# records (case numbers, legal representatives) are not drawn here but passed in.
FIELD_DRAWS: Mapping[tuple[str, str], FieldDraw] = {
    ("court.judgment", "cause"): lambda o: o.rng.choice(_CAUSES[o.subject.kind]),
    ("court.obligation_performed", "how"): _weights(
        {
            "performed": 60,
            "settlement_performed": 25,
            "enforcement_terminated": 10,
            "basis_revoked": 5,
        }
    ),
    ("court.defaulter_listing", "ground"): _weights(
        {
            "able_but_refuses": 70,
            "breaks_asset_reporting": 10,
            "evades_by_sham_litigation_or_hiding_assets": 8,
            "breaks_consumption_restriction": 5,
            "obstructs_by_false_evidence_violence_or_threats": 4,
            "refuses_settlement": 3,
        }
    ),
    ("market.abnormal_operations", "reason"): _weights(
        {
            "no_annual_report": 70,
            "unreachable_address": 22,
            "no_disclosure": 5,
            "false_information": 3,
        }
    ),
    ("market.serious_violation_listing", "reason"): _pick(*_SERIOUS_LISTING_REASONS),
    ("customs.credit_status", "status"): _weights(
        {"other": 45, "advanced_certified": 50, "untrustworthy": 5}
    ),
    ("credit_service.evaluation", "rating"): _weights(
        {"AAA": 5, "AA": 20, "A": 35, "BBB": 25, "BB": 10, "B": 5}
    ),
    ("credit_service.evaluation", "agency"): lambda o: o.authority.name.zh,
    ("tax.serious_violation", "violation"): _pick(*_TAX_VIOLATIONS),
    ("tax.serious_violation", "case_no"): lambda o: (
        f"京税稽检〔{o.decided_on.year}〕{o.rng.randint(1, 3000)}号"
    ),
    ("ip.infringement_penalty", "right_kind"): _right_kind,
    ("honour.commendation", "title"): lambda o: o.rng.choice(_HONOURS[o.subject.kind]),
    ("honour.commendation", "level"): _weights(
        {"municipal": 60, "district": 30, "national": 5, "provincial": 5}
    ),
    ("voluntary.disclosure", "title"): lambda o: o.rng.choice(_DISCLOSURES[o.subject.kind]),
    ("professional.qualification", "title"): lambda o: o.rng.choice(
        _QUALIFICATIONS.get(o.authority.kind, ("专业技术资格",))
    ),
    ("professional.qualification", "certificate_no"): lambda o: (
        f"{o.decided_on.year}{o.rng.randrange(10**12):012d}"
    ),
}
FIELD_DRAWS_BY_NAME: Mapping[str, FieldDraw] = {
    "penalty_kind": _penalty_kind,
    "violation": lambda o: _violation(o)[0],
    "basis": lambda o: _violation(o)[1],
    "licence_name": lambda o: _licence(o)[0],
    "licence_no": lambda o: _licence(o)[1],
    "valid_until": lambda o: (o.decided_on + timedelta(days=5 * 365)).isoformat(),
    "conduct": _weights(
        {"smoking_on_bullet_train": 45, "fare_evasion": 30, "ticket_scalping": 10, "other": 15}
    ),
    "months_in_arrears": _between(2, 24),
    "workers_affected": lambda o: int(money(o.rng, 3, 300, 1)),
    "days_overdue": lambda o: int(money(o.rng, 31, 720, 1)),
    "loan_kind": lambda o: weighted(
        o.rng,
        {"mortgage": 30, "consumer": 30, "credit_card": 25, "student": 5, "other": 10}
        if o.subject.kind == PERSON
        else {"business": 85, "other": 15},
    ),
    "months": lambda o: o.rng.choice((6, 12, 24, 36, 60, 120, 240, 360)),
    "hours": lambda o: money(o.rng, 2, 300, 0.5),
    "organisation": _volunteer_organisation,
    "volume_ml": _weights({"200": 30, "300": 25, "400": 45}),
    "subject_matter": _pick(*_COMMITMENTS),
    "contract_no": lambda o: f"BJCG-{o.decided_on.year}-{o.rng.randrange(10**5):05d}",
}
