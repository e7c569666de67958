"""A credit report printed as PDF (reportlab), with the subset of the CJK font its text needs
embedded: the bytes depend only on the report and its code, so a verifier can print it again
and compare (``xinyong.subjects.verification``)."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from xinyong.subjects.fonts import characters_of, font_name, truetype_subset
from xinyong.subjects.report import METADATA_PREFIX, Report, verify_link


class _QRCode(Flowable):
    """The verification link as a QR code drawn in vector."""

    def __init__(self, text: str, size: float) -> None:
        super().__init__()
        self.matrix = segno.make(text, error="m").matrix
        self.size = size
        self.width = self.height = size

    def draw(self) -> None:
        cells = len(self.matrix) + 8  # with the quiet zone the standard asks for
        cell = self.size / cells
        self.canv.setFillColor(colors.black)
        for y, row in enumerate(self.matrix):
            for x, dark in enumerate(row):
                if dark:
                    self.canv.rect(
                        (x + 4) * cell, self.size - (y + 5) * cell, cell, cell, stroke=0, fill=1
                    )


_PRINTED = (
    "报告编号 Report number：出具时间 Issued：出具机构 Issuer：出具对象 Issued to：范围 Covering："
    "验证 Verify at 验证码 Verification code：第页，共 Page of（）·— 0123456789"
)
"""The fixed text the PDF prints besides the report's content: its font needs these too."""


def render(report: Report, code: str) -> bytes:
    """The PDF, with its fonts embedded; the same report and code always give the same bytes."""
    content = report.content()
    characters = characters_of(content.decode() + code + _PRINTED)
    font = font_name(characters)
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(font, BytesIO(truetype_subset(characters))))
    # CJK text has no spaces: wordWrap="CJK" lets lines break between any two characters.
    body = ParagraphStyle("body", fontName=font, fontSize=8.5, leading=11, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontSize=6.5, leading=8)
    heading = ParagraphStyle("heading", parent=body, fontSize=12, leading=16, spaceBefore=8)
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=24)

    def document(out: BytesIO) -> SimpleDocTemplate:
        return SimpleDocTemplate(
            out,
            pagesize=landscape(A4),
            leftMargin=12 * mm,
            rightMargin=12 * mm,
            topMargin=12 * mm,
            bottomMargin=14 * mm,
            title=f"{report.title} — {report.name}",
            author=report.issuer,
            subject=METADATA_PREFIX + base64.b64encode(zlib.compress(content, 9)).decode(),
            keywords=[code],
            creator="xinyong",
            invariant=1,  # no creation time or random id: verification renders it again
        )

    def text(value: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(value).replace("\n", "<br/>"), style)

    link = verify_link(report, code)

    def story(width: float) -> list[Any]:
        return _story(report, code, link, width, text, (title, heading, small))

    # Twice: the first build counts the pages, so that every page can say "n of N".
    pages = _PageCount()
    draft = document(BytesIO())
    draft.build(story(draft.width), onFirstPage=pages.count, onLaterPages=pages.count)
    out = BytesIO()
    final = document(out)
    footer = _footer(font, report.number, pages.total)
    final.build(story(final.width), onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


class _PageCount:
    def __init__(self) -> None:
        self.total = 0

    def count(self, canvas: Canvas, _document: Any) -> None:
        self.total = canvas.getPageNumber()


def _footer(font: str, number: str, total: int) -> Callable[[Canvas, Any], None]:
    def draw(canvas: Canvas, _document: Any) -> None:
        page = canvas.getPageNumber()
        canvas.setFont(font, 7.5)
        canvas.drawRightString(
            landscape(A4)[0] - 12 * mm,
            7 * mm,
            f"报告编号 Report {number} · 第 {page} 页，共 {total} 页 Page {page} of {total}",
        )

    return draw


def _story(
    report: Report,
    code: str,
    link: str,
    width: float,
    text: Callable[..., Paragraph],
    styles: tuple[ParagraphStyle, ParagraphStyle, ParagraphStyle],
) -> list[Any]:
    title, heading, small = styles
    issued = Table(
        [
            [
                [
                    text(report.title, title),
                    *(text(line) for line in report.heading),
                    text(
                        f"报告编号 Report number：{report.number} · 出具时间 Issued："
                        f"{report.issued_at} · 出具机构 Issuer：{report.issuer}"
                    ),
                    text(
                        f"出具对象 Issued to：{report.issued_to} · 范围 Covering：{report.covering}"
                    ),
                    text(f"验证 Verify at {report.verify_at} · 验证码 Verification code：", small),
                    text(code, small),
                ],
                _QRCode(link, 34 * mm),
            ]
        ],
        colWidths=[width - 36 * mm, 36 * mm],
    )
    issued.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story: list[Any] = [issued]
    for section in report.sections:
        story.append(text(f"{section.title}（{len(section.rows)}）", heading))
        if not section.rows:
            story.append(text(section.empty))
            continue
        table = Table(
            [[text(column) for column in section.columns]]
            + [[text(cell) for cell in row] for row in section.rows],
            repeatRows=1,
            colWidths=[width / len(section.columns)] * len(section.columns),
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
    return story
