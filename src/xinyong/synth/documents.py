"""Document numbers in the styles real authorities use, unique per (authority, record type).

Courts number cases, ``(2024)京0105执1234号``, one series per court, case kind and year.
Administrative bodies number decisions ``京朝市监罚〔2024〕123号``: the province, the district,
the body, what the document is, the year and a running number. Institutions use their own
reference styles. Numbers run in the order documents are issued, so a run is reproducible.
"""

from collections import defaultdict
from datetime import date

from xinyong.policy import Authority, AuthorityKind, AuthorityLevel, Pack
from xinyong.synth.population import DISTRICT_BY_CODE

_PROVINCES = {
    "11": "京", "12": "津", "13": "冀", "14": "晋", "15": "蒙", "21": "辽", "22": "吉",
    "23": "黑", "31": "沪", "32": "苏", "33": "浙", "34": "皖", "35": "闽", "36": "赣",
    "37": "鲁", "41": "豫", "42": "鄂", "43": "湘", "44": "粤", "45": "桂", "46": "琼",
    "50": "渝", "51": "川", "52": "贵", "53": "云", "54": "藏", "61": "陕", "62": "甘",
    "63": "青", "64": "宁", "65": "新",
}  # fmt: skip

_BODIES = {
    AuthorityKind.MARKET_REGULATION: "市监",
    AuthorityKind.CIVIL_AFFAIRS: "民",
    AuthorityKind.TAX: "税",
    AuthorityKind.CUSTOMS: "关",
    AuthorityKind.ENVIRONMENT: "环",
    AuthorityKind.HRSS: "人社",
    AuthorityKind.TRANSPORT: "交",
    AuthorityKind.HEALTH: "卫健",
    AuthorityKind.EDUCATION: "教",
    AuthorityKind.FINANCE: "财",
    AuthorityKind.INTELLECTUAL_PROPERTY: "知",
    AuthorityKind.PUBLIC_SECURITY: "公",
    AuthorityKind.HOUSING: "建",
    AuthorityKind.EMERGENCY: "应急",
    AuthorityKind.AGRICULTURE: "农",
    AuthorityKind.DRUG_ADMINISTRATION: "药监",
    AuthorityKind.RAILWAY: "铁",
    AuthorityKind.YOUTH_LEAGUE: "团",
    AuthorityKind.CREDIT_CENTRE: "信",
}

# What the document is, the character(s) before 〔year〕; penalties are 罚 whatever the body.
_DOCUMENT_MARKS = {
    "admin.licence": "许",
    "market.registration": "登",
    "civil.social_org_registration": "登",
    "market.registration_change": "变",
    "market.abnormal_operations": "异",
    "market.abnormal_operations_removal": "移",
    "market.serious_violation_listing": "严违",
    "tax.serious_violation": "违",
    "tax.credit_rating": "信评",
    "customs.credit_status": "信认",
    "hrss.social_insurance_arrears": "社欠",
    "hrss.wage_arrears": "欠薪",
    "honour.commendation": "表",
    "volunteer.service": "志",
    "health.blood_donation": "献",
    "professional.qualification": "资",
    "professional.qualification_revoked": "资撤",
    "transport.railway_safety_violation": "安罚",
    "contract.default": "合违",
    "commitment.made": "诺",
    "commitment.breach": "诺违",
    "voluntary.disclosure": "自",
}

_BANKS = {"icbc": "工银", "ccb": "建银", "boc": "中银", "abc": "农银", "bocom": "交银"}


def _region_mark(region: str) -> str:
    """``京`` for the city, ``京朝`` for Chaoyang: how decision numbers name where they are from."""
    province = _PROVINCES.get(region[:2], "")
    district = DISTRICT_BY_CODE.get(region)
    return province + (district.short if district else "")


def _court_mark(region: str) -> str:
    """Court codes in case numbers: ``京`` (high court), ``京0105`` (district court)."""
    province = _PROVINCES.get(region[:2], "")
    return province if region.endswith("0000") else province + region[2:]


def _patent_check(number: str) -> str:
    """Check character of a 12-digit CNIPA application number (weights 2-9 repeating)."""
    total = sum(int(digit) * (2 + position % 8) for position, digit in enumerate(number))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


class DocumentNumbers:
    """Issues document numbers for one run; every series starts at 1 for each year."""

    def __init__(self, pack: Pack) -> None:
        self._authorities = pack.authorities
        self._counters: defaultdict[tuple[str, str, int], int] = defaultdict(int)
        # Per (authority, record type): the number's template, worked out once.
        self._templates: dict[tuple[str, str], str] = {}

    def _next(self, authority: str, series: str, year: int) -> int:
        key = (authority, series, year)
        self._counters[key] += 1
        return self._counters[key]

    def court_case(self, authority: str, case_kind: str, year: int) -> str:
        """A new case number of ``case_kind`` (民初 first-instance civil, 执 enforcement ...)."""
        court = self._authorities[authority]
        number = self._next(authority, case_kind, year)
        return f"({year}){_court_mark(court.region)}{case_kind}{number}号"

    def issue(self, authority: str, record_type: str, decided_on: date) -> str:
        """The number of a new document of ``record_type`` decided on ``decided_on``."""
        body = self._authorities.get(authority)
        year = decided_on.year
        if body is not None and body.kind is AuthorityKind.COURT:
            return self.court_case(authority, self.case_kind(body, record_type), year)
        number = self._next(authority, record_type, year)
        if record_type == "ip.patent_grant":
            application = f"{year}1{number:07d}"
            return f"ZL{application}.{_patent_check(application)}"
        template = self._templates.get((authority, record_type))
        if template is None:
            template = self._templates[(authority, record_type)] = _template(
                authority, body, record_type
            )
        return template.format(year=year, number=number)

    @staticmethod
    def case_kind(court: Authority, record_type: str) -> str:
        if record_type == "court.judgment":
            # A district court hears first instance; the high court mostly appeals.
            return "民初" if court.level is AuthorityLevel.DISTRICT else "民终"
        return "执"


def _template(code: str, body: Authority | None, record_type: str) -> str:
    """How ``body`` numbers its documents of ``record_type``, with {year} and {number}."""
    local = code.partition(".")[2]
    if body is not None and body.kind is AuthorityKind.BANK:
        bank = next((mark for key, mark in _BANKS.items() if local.startswith(key)), "银")
        return bank + _region_mark(body.region) + "借字{year}第{number:06d}号"
    if body is None or body.kind not in _BODIES:
        return local.upper() + "-{year}-{number:06d}"
    mark = "罚" if record_type.endswith("penalty") else _DOCUMENT_MARKS.get(record_type, "决")
    region = "" if body.level is AuthorityLevel.NATIONAL else _region_mark(body.region)
    return region + _BODIES[body.kind] + mark + "〔{year}〕{number}号"
