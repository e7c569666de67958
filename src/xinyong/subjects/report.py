"""The printable credit report: a file laid out once as sections, rendered as HTML (a Jinja2
template) or PDF (reportlab), numbered, and signed so that anyone can verify it.

Two reports: the subject's own, of its whole file (``credit_report``), and anyone's download of
an organisation's public file (``public_report``). Every value is shown through the labels the
pages use, in Chinese (the headings are bilingual), never as a code. Every report carries a
verification code (``subjects.verification``) printed in full and as a QR code linking to
``/verify``; the PDF also carries the code and its own content in its metadata, so that an
uploaded PDF can be checked byte for byte against the report as issued.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

import orjson
import segno
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from xinyong.clock import china_day, utc_now
from xinyong.identifiers.regions import region_name
from xinyong.policy import Pack
from xinyong.web import labels, signed_in_labels
from xinyong.web.i18n import ZH, translations

METADATA_PREFIX = "xinyong-report:"
"""Starts the PDF's Subject metadata: the report's content, compressed, for verification."""
WHOLE_FILE = "信用主体本人的完整信用档案 The subject's whole file"
PUBLIC_FILE = "公开信用信息 Public credit information"
TO_SUBJECT = "信用主体本人 The subject"
TO_ANYONE = "公众 Anyone"
KIND_NAMES = {"person": "自然人 person", "organisation": "法人和非法人组织 organisation"}
NOTHING = "—"

_templates = Environment(
    loader=PackageLoader("xinyong.subjects", "templates"), autoescape=select_autoescape()
)


@dataclass(frozen=True)
class Section:
    title: str
    columns: tuple[str, ...]
    rows: Sequence[Sequence[str]]
    empty: str


@dataclass(frozen=True)
class Report:
    """What a report shows, and nothing else: the signature covers exactly this."""

    number: str
    issued_at: str
    """UTC, to the second."""
    issuer: str
    issued_to: str
    covering: str
    name: str
    identifier: str
    """As the report shows it (a resident identity number masked on a public report)."""
    as_of: str
    verify_at: str
    """The verification page's address, printed with the code."""
    title: str
    heading: list[str]
    sections: list[Section] = field(default_factory=list)
    footer: str = (
        "对记录有异议可提出异议；符合条件可申请信用修复，不收取任何费用。"
        "You may object to any record, and apply for credit repair when eligible; "
        "there is never a fee."
    )

    def content(self) -> bytes:
        """The canonical bytes of the report (sorted keys, no whitespace): what is signed."""
        return orjson.dumps(asdict(self), option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_content(cls, content: bytes) -> Report:
        data = orjson.loads(content)
        sections = [
            Section(**{**section, "columns": tuple(section["columns"])})
            for section in data.pop("sections")
        ]
        return cls(**data, sections=sections)


def zh_label(table: Mapping[str, str], code: str | None) -> str:
    """A code's name in Chinese, from the same catalogue the pages use."""
    if not code:
        return NOTHING
    message = table.get(code)
    return translations(ZH).gettext(message) if message else code


def _zh(name: Mapping[str, str] | None, fallback: str | None) -> str:
    return name["zh"] if name else (fallback or NOTHING)


def _text(value: object) -> str:
    return NOTHING if value is None or value == "" else str(value)


def new_number() -> str:
    """``XY-<day in China>-<10 random characters>``: unique and not guessable."""
    day = china_day(utc_now()).strftime("%Y%m%d")
    return f"XY-{day}-{base64.b32encode(secrets.token_bytes(10)).decode()[:10]}"


def _records(file: Mapping[str, Any]) -> Section:
    rows = []
    for record in file["records"]:
        current = record["versions"][-1]
        history = "\n".join(
            f"v{version['version']}: "
            + "，".join(
                f"{zh_label(signed_in_labels.EVENTS, event['kind'])} {event['at'][:10]}"
                for event in version["events"]
            )
            for version in record["versions"]
        )
        amount = f" ¥{current['amount']}" if current["amount"] else ""
        rows.append(
            (
                current["decided_on"],
                _zh(record["record_type_name"], record["record_type"]),
                _zh(record["authority_name"], record["authority"]),
                record["document_no"],
                zh_label(labels.SEVERITIES, current["severity"]) + amount,
                zh_label(signed_in_labels.DISCLOSURES, record["disclosure"]),
                zh_label(signed_in_labels.RECORD_STATUSES, record["status"]),
                history,
            )
        )
    return Section(
        "信用记录 Records",
        (
            "决定日期 Decided",
            "类型 Type",
            "提供单位 Authority",
            "文号 Document",
            "程度 Severity",
            "公开范围 Disclosure",
            "状态 Status",
            "历史 History",
        ),
        rows,
        "没有记录。No records.",
    )


def _entries(file: Mapping[str, Any]) -> Section:
    rows = [
        (
            _zh(entry["list_name"], entry["list"]),
            zh_label(signed_in_labels.ENTRY_STATES, entry["state"])
            + (
                f"（{zh_label(signed_in_labels.END_REASONS, entry['end_reason'])}）"
                if entry["end_reason"]
                else ""
            ),
            _text(entry["started_on"]),
            _text(entry["ended_on"]),
            f"{entry['grounds']['authority']} {entry['grounds']['document_no']}",
        )
        for entry in file["entries"]
    ]
    return Section(
        "名单 List entries",
        ("名单 List", "状态 State", "起 From", "止 Until", "依据 Grounds"),
        rows,
        "不在任何名单上。On no list.",
    )


def _scores(file: Mapping[str, Any], pack: Pack) -> Section:
    def graded(scheme: str, value: object, grade: str) -> str:
        found = pack.schemes.get(scheme)
        name = found.grade_name(grade) if found else None
        shown = f"{name.zh}（{grade}）" if name else grade
        return shown if value is None else f"{value} · {shown}"

    rows = [
        (
            _zh(score["scheme"]["name"], score["scheme"]["code"]),
            graded(score["scheme"]["code"], score["value"], score["grade"]),
            "\n".join(
                f"{_zh(item['rule_name'], item['rule'])} {item['points']:+}"
                + (f" · {item['document_no']}" if item["document_no"] else "")
                + (f" · {item['window_start']}–{item['window_end']}" if item["window_end"] else "")
                for item in score["contributions"]
            )
            or NOTHING,
            "\n".join(
                f"{step['date']}: {graded(score['scheme']['code'], step['value'], step['grade'])}"
                for step in score["timeline"]
            )
            or NOTHING,
        )
        for score in file["scores"]
    ]
    return Section(
        "评分 Scores and why",
        ("方案 Scheme", "分值 Score", "依据 Contributions", "将来变化 What will change it"),
        rows,
        "没有适用的评分方案。No scheme rates this subject.",
    )


def _decisions(file: Mapping[str, Any]) -> Section:
    rows = [
        (
            _zh(decision["action_name"], decision["action"]),
            zh_label(labels.EFFECTS, decision["effect"]),
            "\n".join(
                f"{_zh(measure['name'], measure['code'])}（{zh_label(labels.EFFECTS, measure['effect'])}）"
                for measure in decision["measures"]
            )
            or NOTHING,
            decision["valid_until"],
        )
        for decision in file["decisions"]
    ]
    return Section(
        "今日核查结果 What a check would decide today",
        ("事项 Action", "结果 Effect", "措施 Measures", "有效至 Valid until"),
        rows,
        "没有适用的核查事项。No action applies.",
    )


def _accesses(file: Mapping[str, Any], pack: Pack) -> Section:
    actions = action_names(pack)
    rows = [
        (
            access["at"],
            access["who"] + (f"（{access['authority']}）" if access["authority"] else ""),
            zh_label(signed_in_labels.ROLES, access["role"]),
            access["purpose"],
            (
                f"{zh_label(signed_in_labels.ACCESS_KINDS, 'check')}："
                f"{actions(access['action'])}，{zh_label(labels.EFFECTS, access['effect'])}"
            )
            if access["kind"] == "check"
            else access["what"],
        )
        for access in file["accesses"]
    ]
    return Section(
        "查询记录 Who read what is not published",
        ("时间 When", "查询者 Who", "角色 Role", "目的 Purpose", "内容 What"),
        rows,
        "尚无人查询非公开信息。No one has read what is not published.",
    )


def action_names(pack: Pack) -> Callable[[str], str]:
    """An action's Chinese name by its code."""

    def named(code: str) -> str:
        action = pack.actions.get(code)
        return action.name.zh if action else code

    return named


def _subject_line(name: str, identifier: str, kind: str, region: str | None) -> str:
    """The subject's name, identifier, kind and region: the division's name with its code
    (a code that names no known division is shown alone)."""
    named = region_name(region)
    where = f"{named}（{region}）" if named else region
    return f"{name} · {identifier} · {KIND_NAMES.get(kind, kind)}" + (
        f" · {where}" if where else ""
    )


def credit_report(file: Mapping[str, Any], pack: Pack, issuer: str, verify_at: str) -> Report:
    """The subject's own report, from its whole file (``subjects.service.whole_file``)."""
    subject = file["subject"]
    return Report(
        number=new_number(),
        issued_at=utc_now().isoformat(timespec="seconds"),
        issuer=issuer,
        issued_to=TO_SUBJECT,
        covering=WHOLE_FILE,
        name=subject["name"],
        identifier=subject["identifier"],
        as_of=file["as_of"],
        verify_at=verify_at,
        title="信用报告 Credit report",
        heading=[
            _subject_line(
                subject["name"], subject["identifier"], subject["kind"], subject["region"]
            ),
            f"截至 As of {file['as_of']} · 本报告免费，不限次数。Free and unlimited.",
        ],
        sections=[
            _records(file),
            _entries(file),
            _scores(file, pack),
            _decisions(file),
            _accesses(file, pack),
        ],
    )


REGISTRATION_COLUMNS = {
    "name": "名称 Name",
    "org_type": "类型 Type",
    "registered_capital": "注册资本 Registered capital",
    "address": "住所 Address",
    "established_on": "成立日期 Established",
    "registered_on": "登记日期 Registered",
    "document_no": "登记文号 Document",
}


def public_report(file: Mapping[str, Any], issuer: str, verify_at: str) -> Report:
    """Anyone's report of a subject's public file (``portal.public_file.public_file``)."""
    subject = file["subject"]
    registration = file["registration"] or {}
    representative = file["legal_representative"]
    registered = [
        (label, _text(registration.get(key)))
        for key, label in REGISTRATION_COLUMNS.items()
        if registration.get(key) not in (None, "")
    ]
    if representative:
        registered.append(
            (
                "法定代表人 Legal representative",
                f"{representative['name']}（{representative['since']} 起）",
            )
        )
    records = [
        (
            record["decided_on"],
            _zh(record["record_type_name"], record["record_type"]),
            _zh(record["authority_name"], record["authority"]),
            record["document_no"],
            zh_label(labels.SEVERITIES, record["severity"])
            + (f" ¥{record['amount']}" if record["amount"] else ""),
            _text(record["public_until"]),
            "；".join(
                f"{zh_label(labels.FIELDS, key)}：{_text(value)}"
                for key, value in record["fields"].items()
            )
            or NOTHING,
        )
        for group in file["record_groups"]
        for record in group["records"]
    ]
    entries = [
        (
            _zh(entry["list_name"], entry["list"]),
            zh_label(labels.LIST_KINDS, entry["kind"]),
            entry["started_on"],
            entry["ends_on"],
            f"{_zh(entry['owner_name'], None)} {entry['document_no']}",
        )
        for entry in file["entries"]
    ]
    return Report(
        number=new_number(),
        issued_at=utc_now().isoformat(timespec="seconds"),
        issuer=issuer,
        issued_to=TO_ANYONE,
        covering=PUBLIC_FILE,
        name=subject["name"],
        identifier=subject["id"],
        as_of=file["as_of"],
        verify_at=verify_at,
        title="公共信用信息报告 Public credit report",
        heading=[
            _subject_line(subject["name"], subject["id"], subject["kind"], subject["region"]),
            f"截至 As of {file['as_of']} · 仅含依法公开的信息。Public information only.",
        ],
        sections=[
            Section(
                "登记信息 Registration",
                ("项目 Item", "内容 Value"),
                registered,
                "没有登记信息。No registration data.",
            ),
            Section(
                "公开记录 Public records",
                (
                    "决定日期 Decided",
                    "类型 Type",
                    "提供单位 Authority",
                    "文号 Document",
                    "程度 Severity",
                    "公示至 Public until",
                    "内容 Details",
                ),
                records,
                "没有公开记录。No public records.",
            ),
            Section(
                "名单 List entries",
                ("名单 List", "类别 Kind", "起 From", "止 Until", "列入单位与文号 Listed by"),
                entries,
                "不在任何名单上。On no list.",
            ),
        ],
    )


def verify_link(report: Report, code: str) -> str:
    return f"{report.verify_at}?code={quote(code, safe='')}"


def qr_svg(report: Report, code: str) -> Markup:
    """The verification link as an inline SVG QR code."""
    svg = segno.make(verify_link(report, code), error="m").svg_inline(scale=2, omitsize=True)
    return Markup(svg)


def render_html(report: Report, code: str) -> str:
    return _templates.get_template("report.html").render(
        report=report, code=code, link=verify_link(report, code), qr=qr_svg(report, code)
    )


def render_pdf(report: Report, code: str, renderer: str | None = None) -> bytes:
    """The PDF, with its fonts embedded, printed by ``renderer`` (a name of
    ``subjects.pdf.RENDERERS``; by default the current one); the same report, code and renderer
    always give the same bytes."""
    # The PDF's libraries (reportlab, fontTools) load with the first PDF: a fifth of a second
    # of start-up that a process serving no PDF would pay for nothing.
    from xinyong.subjects.pdf import CURRENT, render

    return render(report, code, renderer or CURRENT)
