"""Evidence is checked by decoding it: hostile files, built here byte by byte, are refused with
their reason, and real images and PDFs are taken."""

import io
import struct
import zipfile
import zlib

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, TextStringObject

from xinyong.rights import evidence
from xinyong.rights.evidence import EvidenceRefused, check_evidence
from xinyong.testing import samples


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A real grey PNG of ``width`` x ``height`` zero pixels: a few kilobytes that unpack to
    ``width * height`` bytes."""
    row = b"\x00" * (width + 1)  # filter byte 0, then the row's pixels
    pixels = zlib.compressobj(9)
    compressed = b"".join(pixels.compress(row) for _ in range(height)) + pixels.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", compressed)
        + chunk(b"IEND", b"")
    )


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("index.html", "<script>alert(document.cookie)</script>")
    return out.getvalue()


def refusal(name: str, content: bytes) -> EvidenceRefused:
    with pytest.raises(EvidenceRefused) as refused:
        check_evidence([(name, content)])
    return refused.value


def test_real_images_and_pdfs_are_taken() -> None:
    taken = check_evidence(
        [("a.png", samples.png(640, 480)), ("b.jpg", samples.jpeg()), ("c.pdf", samples.pdf(3))]
    )
    assert [item.content_type for item in taken] == ["image/png", "image/jpeg", "application/pdf"]


def test_a_png_decompression_bomb_is_refused() -> None:
    bomb = png_bomb(10_000, 5_000)  # 50 million pixels in about 50 kB
    assert len(bomb) < 100_000
    refused = refusal("receipt.png", bomb)
    assert refused.status == 422
    assert "10000 x 5000 pixels" in str(refused) and "decompression bomb" in str(refused)


def test_an_image_whose_header_claims_billions_of_pixels_is_refused() -> None:
    small = samples.jpeg(16, 16)
    frame = small.index(b"\xff\xc0")  # start of frame: length, precision, height, width
    claimed = small[: frame + 5] + struct.pack(">HH", 60_000, 60_000) + small[frame + 9 :]
    assert "decompression bomb" in str(refusal("photo.jpg", claimed))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("receipt.png", samples.png() + zip_archive()),
        ("photo.jpg", samples.jpeg() + zip_archive()),
        ("ruling.pdf", samples.pdf() + zip_archive()),
        ("receipt.png", samples.png() + b"<html><script>alert(1)</script></html>"),
    ],
)
def test_a_file_that_is_also_something_else_is_refused(name: str, content: bytes) -> None:
    assert zipfile.is_zipfile(io.BytesIO(content)) or b"<script>" in content
    refused = refusal(name, content)
    assert refused.status == 422 and "data follows the end" in str(refused)


def test_a_truncated_image_is_refused() -> None:
    whole = samples.png(200, 200)
    cut = whole[: len(whole) // 2] + whole[-12:]  # still ends with an IEND chunk
    assert "not a whole JPEG or PNG image" in str(refusal("scan.png", cut))


def _pdf(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_that_runs_a_script_or_carries_a_file_is_refused() -> None:
    scripted = PdfWriter()
    scripted.add_blank_page(width=595, height=842)
    scripted.root_object[NameObject("/OpenAction")] = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('hello');"),
        }
    )
    carrying = PdfWriter()
    carrying.add_blank_page(width=595, height=842)
    carrying.add_attachment("setup.exe", b"MZ" + b"\x00" * 64)
    for content in (_pdf(scripted), _pdf(carrying)):
        refused = refusal("ruling.pdf", content)
        assert "scripts, automatic actions or embedded files" in str(refused)


def _pdf_with_contents(data: bytes) -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    stream = DecodedStreamObject()
    stream.set_data(data)
    page[NameObject("/Contents")] = writer._add_object(stream.flate_encode())
    return _pdf(writer)


def test_a_pdf_decompression_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # 80 MB of page content in a file of about 80 kB: past what pypdf decodes of one stream.
    bomb = _pdf_with_contents(b" " * (80 * 2**20))
    assert len(bomb) < 200_000
    refused = refusal("ruling.pdf", bomb)
    assert refused.status == 422 and "Limit reached while decompressing" in str(refused)
    # Many pages, each under pypdf's limit, add up: the total is bounded too.
    monkeypatch.setattr(evidence, "MAX_PDF_DECODED_BYTES", 2**20)
    refused = refusal("ruling.pdf", _pdf_with_contents(b"0 0 m " * 200_000))
    assert "decompression bomb" in str(refused)


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",  # the magic number and nothing else
        b"%PDF-1.7\n" + b"\x00" * 1000 + b"\n%%EOF",
    ],
)
def test_a_pdf_in_name_only_is_refused(content: bytes) -> None:
    assert "not a readable PDF" in str(refusal("ruling.pdf", content))


def test_more_files_than_an_objection_takes_are_refused_before_any_is_read() -> None:
    files = [(f"receipt{n}.png", samples.png()) for n in range(evidence.MAX_FILES + 1)]
    with pytest.raises(EvidenceRefused) as refused:
        check_evidence(files)
    assert refused.value.status == 422
    assert f"at most {evidence.MAX_FILES}" in str(refused.value)
    assert len(check_evidence(files[: evidence.MAX_FILES])) == evidence.MAX_FILES
