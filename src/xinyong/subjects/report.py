"""The printable credit report: the whole file laid out once as sections, rendered as HTML
(a Jinja2 template) or PDF (reportlab).

The PDF uses reportlab's built-in CID font ``STSong-Light``, so Chinese renders without any
font installed on the machine (the reader's PDF viewer supplies the glyphs).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from jinja2 import Environment, PackageLoader, select_autoescape
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from xinyong.clock import utc_now

FONT = "STSong-Light"
KIND_NAMES = {"person": "自然人 person", "organisation": "法人和非法人组织 organisation"}

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
    title: str
    name: str
    heading: list[str]
    sections: list[Section] = field(default_factory=list)
    footer: str = (
        "对记录有异议可提出异议；符合条件可申请信用修复，不收取任何费用。"
        "You may object to any record, and apply for credit repair when eligible; "
        "there is never a fee."
    )


def _zh(name: Mapping[str, str] | None, fallback: str) -> str:
    return name["zh"] if name else fallback


def _records(file: Mapping[str, Any]) -> Section:
    rows = []
    for record in file["records"]:
        current = record["versions"][-1]
        history = "\n".join(
            f"v{version['version']}: "
            + ", ".join(f"{event['kind']} {event['at'][:10]}" for event in version["events"])
            for version in record["versions"]
        )
        amount = f" ¥{current['amount']}" if current["amount"] else ""
        rows.append(
            (
                current["decided_on"],
                _zh(record["record_type_name"], record["record_type"]),
                _zh(record["authority_name"], record["authority"]),
                record["document_no"],
                current["severity"] + amount,
                record["disclosure"] or "",
                record["status"],
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
            "公开 Disclosure",
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
            entry["state"] + (f" ({entry['end_reason']})" if entry["end_reason"] else ""),
            entry["started_on"],
            entry["ended_on"],
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


def _scores(file: Mapping[str, Any]) -> Section:
    rows = [
        (
            _zh(score["scheme"]["name"], score["scheme"]["code"]),
            f"{score['value']} ({score['grade']})",
            "\n".join(
                f"{_zh(item['rule_name'], item['rule'])} {item['points']:+}"
                + (f" · {item['document_no']}" if item["document_no"] else "")
                + (f" · {item['window_start']}–{item['window_end']}" if item["window_end"] else "")
                for item in score["contributions"]
            ),
            "\n".join(
                f"{step['date']}: {step['value']} ({step['grade']})" for step in score["timeline"]
            ),
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
            decision["effect"],
            "\n".join(
                f"{_zh(measure['name'], measure['code'])} ({measure['effect']})"
                for measure in decision["measures"]
            ),
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


def _accesses(file: Mapping[str, Any]) -> Section:
    rows = [
        (
            access["at"],
            access["who"] + (f" ({access['authority']})" if access["authority"] else ""),
            access["role"],
            access["purpose"],
            access["what"],
        )
        for access in file["accesses"]
    ]
    return Section(
        "查询记录 Who looked at non-public data",
        ("时间 When", "查询者 Who", "角色 Role", "目的 Purpose", "内容 What"),
        rows,
        "尚无人查询非公开信息。No one has read non-public data.",
    )


def credit_report(file: Mapping[str, Any]) -> Report:
    """The report's content, from a whole file (``subjects.service.whole_file``)."""
    subject = file["subject"]
    generated = utc_now().isoformat(timespec="seconds")
    return Report(
        title="信用报告 Credit report",
        name=subject["name"],
        heading=[
            f"{subject['name']} · {subject['identifier']} · "
            + KIND_NAMES.get(subject["kind"], subject["kind"])
            + (f" · {subject['region']}" if subject["region"] else ""),
            f"截至 As of {file['as_of']} · 生成 Generated {generated} · "
            "本报告免费，不限次数。Free and unlimited.",
        ],
        sections=[_records(file), _entries(file), _scores(file), _decisions(file), _accesses(file)],
    )


def render_html(file: Mapping[str, Any]) -> str:
    return _templates.get_template("report.html").render(report=credit_report(file))


def render_pdf(file: Mapping[str, Any]) -> bytes:
    report = credit_report(file)
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    # CJK text has no spaces: wordWrap="CJK" lets lines break between any two characters.
    body = ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=11, wordWrap="CJK")
    heading = ParagraphStyle("heading", parent=body, fontSize=12, leading=16, spaceBefore=8)
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=24)
    out = BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"{report.title} — {report.name}",
    )

    def text(value: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(value).replace("\n", "<br/>"), style)

    story: list[Any] = [text(report.title, title)]
    story += [text(line) for line in report.heading]
    for section in report.sections:
        story.append(text(f"{section.title} ({len(section.rows)})", heading))
        if not section.rows:
            story.append(text(section.empty))
            continue
        table = Table(
            [[text(column) for column in section.columns]]
            + [[text(cell) for cell in row] for row in section.rows],
            repeatRows=1,
            colWidths=[document.width / len(section.columns)] * len(section.columns),
        )
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#cbd2d9")),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f2f4")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.append(table)
    story += [Spacer(1, 4 * mm), text(report.footer)]
    document.build(story)
    return out.getvalue()
