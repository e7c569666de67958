"""Versioned PDF renderers: a report printed by an earlier renderer still verifies, a new report
is printed by the current one and verifies too, and a PDF that names a renderer this platform
does not have is refused with a reason."""

import re
import string
from io import BytesIO
from itertools import pairwise
from pathlib import Path

import pytest
import segno
from hypothesis import example, given
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter
from reportlab.lib import fonts as reportlab_fonts
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics

from xinyong.ledger.checkpoint import SigningKey, VerifierKey
from xinyong.subjects.pdf import CURRENT, FIRST, Fonts, dark_runs, render
from xinyong.subjects.report import Report, Section, verify_link
from xinyong.subjects.verification import KEY_NAME, NotGenuine, claims_of, issue, read_pdf

DATA = Path(__file__).parent / "data"
PRINTED_BY_FIRST = DATA / "report-xinyong.pdf"
"""``REPORT`` as the renderer ``xinyong`` printed it (commit 8bf7b02, before renderers had
versions), signed by the key of ``report-key.pub``: the bytes a report issued then has."""
VERIFIER = VerifierKey.parse((DATA / "report-key.pub").read_text().strip())
REPORT = Report(
    number="XY-20261207-ABCDEFGHIJ",
    issued_at="2026-12-07T01:02:03+00:00",
    issuer="公共信用信息平台",
    issued_to="公众 Anyone",
    covering="公开信用信息 Public credit information",
    name="北京示例科技有限公司",
    identifier="91110105000000011X",
    as_of="2026-12-07",
    verify_at="https://credit.example.gov.cn/verify",
    title="公共信用信息报告 Public credit report",
    heading=["北京示例科技有限公司 · 91110105000000011X · 法人和非法人组织 organisation"],
    sections=[
        Section(
            "公开记录 Public records",
            ("决定日期 Decided", "类型 Type", "文号 Document", "程度 Severity"),
            # Enough rows for three pages: the footer's "of N" is what the renderers differ in.
            [
                (
                    f"2024-{month:02}-{day:02}",
                    "行政处罚 penalty",
                    f"京朝市监罚〔2024〕{n}号",
                    "一般",
                )
                for n, (month, day) in enumerate(
                    ((1 + i % 12, 1 + i % 28) for i in range(90)), start=1
                )
            ],
            "没有公开记录。No public records.",
        ),
        Section("名单 List entries", ("名单 List",), [], "不在任何名单上。On no list."),
    ],
)


def pages_of(data: bytes) -> list[list[str]]:
    """Each page's lines of text, sorted: the renderers write the footer at different points
    of a page's content."""
    return [sorted(page.extract_text().splitlines()) for page in PdfReader(BytesIO(data)).pages]


def creator(data: bytes) -> str:
    metadata = PdfReader(BytesIO(data)).metadata
    assert metadata is not None
    return str(metadata["/Creator"])


def test_a_report_printed_by_the_first_renderer_still_verifies() -> None:
    data = PRINTED_BY_FIRST.read_bytes()
    assert creator(data) == FIRST
    claims, report = read_pdf(data, VERIFIER)
    assert report.content() == REPORT.content() and claims == claims_of(REPORT)


def test_the_current_renderer_prints_the_same_report_once_and_it_verifies() -> None:
    old = PRINTED_BY_FIRST.read_bytes()
    code = str(PdfReader(BytesIO(old)).metadata["/Keywords"])  # type: ignore[index]
    new = render(REPORT, code)
    assert CURRENT != FIRST and creator(new) == CURRENT and new != old
    claims, report = read_pdf(new, VERIFIER)
    assert report.content() == REPORT.content() and claims == claims_of(REPORT)
    # The same pages saying the same things, each with its number of the right total.
    old_pages, new_pages = pages_of(old), pages_of(new)
    assert len(new_pages) == len(old_pages) >= 3
    assert new_pages == old_pages
    for page, lines in enumerate(new_pages, start=1):
        assert any(line.endswith(f"Page {page} of {len(new_pages)}") for line in lines)


def test_a_pdf_naming_a_renderer_that_does_not_exist_is_refused() -> None:
    key = SigningKey.generate(KEY_NAME)
    data = render(REPORT, issue(REPORT, key))
    named = data.replace(f"({CURRENT})".encode(), b"(xinyong 9)", 1)
    assert named != data  # the same length: the file still reads as a PDF
    with pytest.raises(NotGenuine, match="renderer"):
        read_pdf(named, key.verifier)
    # Named the first renderer, whose printing it is not: its bytes are not what that one prints.
    writer = PdfWriter(clone_from=BytesIO(data))
    writer.add_metadata({"/Creator": FIRST})
    relabelled = BytesIO()
    writer.write(relabelled)
    with pytest.raises(NotGenuine, match="altered after it was issued"):
        read_pdf(relabelled.getvalue(), key.verifier)


@given(st.lists(st.booleans(), max_size=40))
@example([])
@example([True, True, False, True])
def test_the_runs_of_a_row_cover_exactly_its_dark_cells(row: list[bool]) -> None:
    runs = dark_runs(row)
    covered = [x for start, end in runs for x in range(start, end)]
    assert covered == [x for x, dark in enumerate(row) if dark]
    # Each run as long as it can be: never two that touch.
    assert all(end < start for (_, end), (start, _) in pairwise(runs))


def fonts_of(data: bytes) -> set[str]:
    return {
        str(font.get_object()["/BaseFont"])
        for page in PdfReader(BytesIO(data)).pages
        for font in page["/Resources"]["/Font"].values()
    }


def test_reports_of_one_file_share_their_font_under_the_current_renderer() -> None:
    # Codes of other letters and digits (render takes any text as the code): the first renderer
    # cut a font for each, the current one holds every letter and digit in one.
    codes = ("XY1." + string.ascii_lowercase, "XY1." + string.ascii_uppercase + string.digits)
    current = [fonts_of(render(REPORT, code)) for code in codes]
    assert current[0] == current[1]
    first = [fonts_of(render(REPORT, code, FIRST)) for code in codes]
    assert first[0] != first[1]


def drawn_qr(data: bytes) -> list[list[bool]]:
    """The QR code of the current renderer's first page, read back from its one filled path."""
    page = PdfReader(BytesIO(data)).pages[0].get_contents()
    assert page is not None
    content = page.get_data().decode("latin-1")
    begins = content.index("\nn ")  # the path; no number nor "re" holds an "f"
    path = content[begins : content.index("f", begins)]
    rects = [
        tuple(float(number) for number in found.groups())
        for found in re.finditer(r"(\S+) (\S+) (\S+) (\S+) re", path)
    ]
    size = 34 * mm
    cell = min(height for *_, height in rects)
    side = round(size / cell) - 8  # the quiet zone is 4 cells each side
    matrix = [[False] * side for _ in range(side)]
    for x, y, width, _ in rects:
        row, start = round((size - y) / cell) - 5, round(x / cell) - 4
        for column in range(start, start + round(width / cell)):
            matrix[row][column] = True
    return matrix


def test_the_current_renderer_draws_the_qr_code_of_the_verification_link() -> None:
    code = "XY1." + string.ascii_letters * 8
    expected = segno.make(verify_link(REPORT, code), error="m").matrix
    assert drawn_qr(render(REPORT, code)) == [[bool(cell) for cell in row] for row in expected]


def registry_sizes() -> list[int]:
    """The sizes of every map reportlab fills when a TrueType font is registered."""
    return [
        len(vars(module)[name])
        for module, name in (
            (pdfmetrics, "_fonts"),
            (pdfmetrics, "_dynFaceNames"),
            (reportlab_fonts, "_ps2tt_map"),
            (reportlab_fonts, "_tt2ps_map"),
        )
    ]


def test_fonts_of_other_characters_do_not_pile_up_in_the_process() -> None:
    # Each subject's report has characters of its own, so a walk of the public reports would
    # register a font per subject: only the last few are kept, the others forgotten.
    fonts = Fonts(kept=2)
    before = registry_sizes()
    names = []
    for characters in ("甲乙", "丙丁", "戊己", "庚辛"):
        with fonts.held(characters) as name:
            names.append(name)
            assert name in pdfmetrics.getRegisteredFontNames()
    registered = set(pdfmetrics.getRegisteredFontNames())
    assert names[:2] == [name for name in names if name not in registered]
    assert set(names[2:]) <= registered
    assert [after - was for after, was in zip(registry_sizes(), before, strict=True)] == [
        2,
        2,
        2,
        8,  # bold and italic of each family
    ]
    # A forgotten font is registered again when its characters come back.
    with fonts.held("甲乙") as name:
        assert name == names[0] and name in pdfmetrics.getRegisteredFontNames()
    assert names[2] not in pdfmetrics.getRegisteredFontNames()
