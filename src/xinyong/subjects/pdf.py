"""A credit report printed as PDF (reportlab), with the subset of the CJK font its text needs
embedded: the bytes depend only on the report, its code and the renderer, so a verifier can
print it again and compare (``xinyong.subjects.verification``).

A change to how a report is printed changes its bytes, so the renderers are versioned: a PDF
names the one that printed it in its ``/Creator`` metadata, new reports are printed by
``CURRENT``, and a PDF is verified by printing it again with the renderer it names. A renderer
that has printed a report is kept as it was, or the reports it printed stop verifying.
"""

from __future__ import annotations

import base64
import string
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors, fonts
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
    """The verification link as a QR code drawn in vector: each dark cell a filled square, or
    (``as_path``) each run of dark cells in a row one rectangle of a single filled path, which
    is a fraction of the operators and bytes."""

    def __init__(self, text: str, size: float, as_path: bool) -> None:
        super().__init__()
        self.matrix = segno.make(text, error="m").matrix
        self.size = size
        self.width = self.height = size
        self.as_path = as_path

    def draw(self) -> None:
        cells = len(self.matrix) + 8  # with the quiet zone the standard asks for
        cell = self.size / cells
        self.canv.setFillColor(colors.black)
        if not self.as_path:
            for y, row in enumerate(self.matrix):
                for x, dark in enumerate(row):
                    if dark:
                        self.canv.rect(
                            (x + 4) * cell, self.size - (y + 5) * cell, cell, cell, stroke=0, fill=1
                        )
            return
        path = self.canv.beginPath()
        for y, row in enumerate(self.matrix):
            for start, end in dark_runs(row):
                path.rect(
                    (start + 4) * cell, self.size - (y + 5) * cell, (end - start) * cell, cell
                )
        self.canv.drawPath(path, stroke=0, fill=1)


def dark_runs(row: Sequence[object]) -> list[tuple[int, int]]:
    """The runs of dark (true) cells of a row, as ``(start, end)``, end excluded."""
    runs: list[tuple[int, int]] = []
    for x, dark in enumerate(row):
        if not dark:
            continue
        if runs and runs[-1][1] == x:
            runs[-1] = (runs[-1][0], x + 1)
        else:
            runs.append((x, x + 1))
    return runs


@dataclass(frozen=True)
class _Renderer:
    one_pass: bool
    """Build the document once and write "of N" when it saves; else build it twice, the first
    build counting the pages."""
    qr_as_path: bool
    """The QR code as one path (``_QRCode``)."""
    fixed_alphabet: bool
    """The font holds every character a number or code may take, whatever this report's are:
    reports of one subject then share a font, and the font is cut and registered once."""


FIRST = "xinyong"
"""The renderer of the first reports."""
CURRENT = "xinyong 2"
"""The renderer of new reports: about half the time of ``FIRST``."""
RENDERERS = {
    FIRST: _Renderer(one_pass=False, qr_as_path=False, fixed_alphabet=False),
    CURRENT: _Renderer(one_pass=True, qr_as_path=True, fixed_alphabet=True),
}
_ALPHABET = string.ascii_letters + string.digits + "-_.:+"
"""What a report number, an issue time and a verification code are written in."""


_PRINTED = (
    "报告编号 Report number：出具时间 Issued：出具机构 Issuer：出具对象 Issued to：范围 Covering："
    "验证 Verify at 验证码 Verification code：第页，共 Page of（）·— 0123456789"
)
"""The fixed text the PDF prints besides the report's content: its font needs these too."""


class Fonts:
    """The report fonts registered with reportlab, for the last ``kept`` sets of characters.

    reportlab keeps every font registered for the life of the process and has no way to forget
    one, and each report of other characters has a font of its own (about 170 KB for 200
    characters): anyone walking the public reports would grow the process without end. The
    older fonts are taken out of reportlab's registry again; a report is printed while the lock
    is held, so no font is forgotten while a report uses it."""

    def __init__(self, kept: int) -> None:
        self.kept = kept
        self._lock = threading.Lock()
        self._fonts: OrderedDict[str, None] = OrderedDict()

    @contextmanager
    def held(self, characters: str) -> Iterator[str]:
        """The name of the registered font of ``characters``, registered for as long as this
        is held."""
        with self._lock:
            font = font_name(characters)
            if font in self._fonts:
                self._fonts.move_to_end(font)
            else:
                pdfmetrics.registerFont(TTFont(font, BytesIO(truetype_subset(characters))))
                self._fonts[font] = None
                while len(self._fonts) > self.kept:
                    _forget(self._fonts.popitem(last=False)[0])
            yield font


def _forget(font: str) -> None:
    """Takes ``font`` out of the maps ``pdfmetrics.registerFont`` fills for a TrueType font."""
    registered = vars(pdfmetrics)["_fonts"].pop(font)
    vars(pdfmetrics)["_dynFaceNames"].pop(registered.face.name, None)
    family = font.lower()
    vars(fonts)["_ps2tt_map"].pop(family, None)
    mapped = vars(fonts)["_tt2ps_map"]
    for key in [key for key in mapped if key[0] == family]:
        del mapped[key]


FONTS = Fonts(kept=64)
"""As many as ``truetype_subset`` keeps cut."""


def render(report: Report, code: str, renderer: str = CURRENT) -> bytes:
    """The PDF, with its fonts embedded, printed by ``renderer`` (a name of ``RENDERERS``); the
    same report, code and renderer always give the same bytes."""
    version = RENDERERS[renderer]
    content = report.content()
    printed = _PRINTED + (_ALPHABET if version.fixed_alphabet else "")
    characters = characters_of(content.decode() + code + printed)
    with FONTS.held(characters) as font:
        return _printed(report, content, code, renderer, font)


def _printed(report: Report, content: bytes, code: str, renderer: str, font: str) -> bytes:
    version = RENDERERS[renderer]
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
            creator=renderer,
            invariant=1,  # no creation time or random id: verification renders it again
        )

    def text(value: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(value).replace("\n", "<br/>"), style)

    qr = _QRCode(verify_link(report, code), 34 * mm, version.qr_as_path)

    def story(width: float) -> list[Any]:
        return _story(report, code, qr, width, text, (title, heading, small))

    footer = partial(_footer, font, report.number)
    out = BytesIO()
    if version.one_pass:
        final = document(out)
        final.build(story(final.width), canvasmaker=partial(_FootedCanvas, footer))
        return out.getvalue()
    pages = _PageCount()
    draft = document(BytesIO())
    draft.build(story(draft.width), onFirstPage=pages.count, onLaterPages=pages.count)
    final = document(out)

    def on_page(canvas: Canvas, _document: Any) -> None:
        footer(canvas, pages.total)

    final.build(story(final.width), onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()


class _PageCount:
    def __init__(self) -> None:
        self.total = 0

    def count(self, canvas: Canvas, _document: Any) -> None:
        self.total = canvas.getPageNumber()


def _footer(font: str, number: str, canvas: Canvas, total: int) -> None:
    page = canvas.getPageNumber()
    canvas.setFont(font, 7.5)
    canvas.drawRightString(
        landscape(A4)[0] - 12 * mm,
        7 * mm,
        f"报告编号 Report {number} · 第 {page} 页，共 {total} 页 Page {page} of {total}",
    )


class _FootedCanvas(Canvas):
    """A canvas that keeps its pages until it saves, then draws each page's footer, which
    needs the number of pages, and writes them out: one build of the document instead of two."""

    def __init__(self, footer: Callable[[Canvas, int], None], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()  # type: ignore[attr-defined]  # what showPage does after writing

    def save(self) -> None:
        for page in self._pages:
            self.__dict__.update(page)
            self._footer(self, len(self._pages))
            super().showPage()
        super().save()


def _story(
    report: Report,
    code: str,
    qr: Flowable,
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
                qr,
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
