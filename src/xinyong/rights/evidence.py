"""Evidence files sent with an objection: checked by their content, stored by their sha256.

The declared content type and the file name are the sender's claims; the type is read from the
file's first bytes (its magic number), and only PDF, JPEG and PNG are taken. Then the file is
decoded as what it claims to be, which the magic number alone cannot show:

- an image (Pillow) must declare at most ``MAX_PIXELS`` pixels, so that a small file cannot
  unpack into gigabytes (a decompression bomb), and must decode whole;
- a PDF (pypdf) must parse, have pages whose contents decode within ``MAX_PDF_DECODED_BYTES``,
  and carry no scripts, automatic actions or embedded files;
- the file must end where the image or the PDF ends: data after it is how a file is made to be
  two things at once (a polyglot, such as a PNG that is also a ZIP archive).

Files are stored content-addressed under ``<var>/evidence/``, so a file written by a request
that then failed is harmless and a file sent twice is stored once.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import filetype

if TYPE_CHECKING:
    from pypdf.generic import DictionaryObject

MAX_FILES = 5
MAX_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_BYTES = MAX_FILES * MAX_BYTES + 2**20
"""The largest body of an objection: every file at its largest, with room for the form."""
ALLOWED_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
MAX_PIXELS = 40_000_000
"""Larger than any phone photo or A4 scan at 600 dpi (35 million pixels)."""
MAX_PDF_DECODED_BYTES = 200 * 2**20
"""What a PDF's page contents may decode to, in all."""
IMAGES = {
    "image/png": ("PNG", b"\x00\x00\x00\x00IEND\xaeB`\x82"),
    "image/jpeg": ("JPEG", b"\xff\xd9"),
}
"""Pillow's name of each image type, and the bytes every such file ends with (a PNG's IEND
chunk, a JPEG's end-of-image marker)."""


class EvidenceRefused(ValueError):
    """A file or a set of files that cannot be taken, with the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Evidence:
    """A checked file, ready to store."""

    filename: str
    content_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def check_evidence(files: list[tuple[str, bytes]]) -> list[Evidence]:
    """Each ``(filename, content)`` checked: at most 5 files, 10 MB each, PDF, JPEG or PNG."""
    if len(files) > MAX_FILES:
        raise EvidenceRefused(422, f"at most {MAX_FILES} evidence files, not {len(files)}")
    checked = []
    for position, (filename, content) in enumerate(files, start=1):
        name = Path(filename or f"evidence-{position}").name[:255]
        if len(content) > MAX_BYTES:
            raise EvidenceRefused(
                413, f"evidence file {position} ({name}) is larger than {MAX_BYTES // 2**20} MB"
            )
        if not content:
            raise EvidenceRefused(422, f"evidence file {position} ({name}) is empty")
        content_type = filetype.guess_mime(content)
        if content_type not in ALLOWED_TYPES:
            found = content_type or "not a recognised type"
            raise EvidenceRefused(
                415,
                f"evidence file {position} ({name}) is {found}; send PDF, JPEG or PNG files",
            )
        problem = (
            _pdf_problem(content)
            if content_type == "application/pdf"
            else _image_problem(content, content_type)
        )
        if problem:
            raise EvidenceRefused(422, f"evidence file {position} ({name}): {problem}")
        checked.append(Evidence(name, content_type, content))
    return checked


def _image_problem(content: bytes, content_type: str) -> str | None:
    """Why a JPEG or PNG cannot be taken, or None."""
    # Pillow and pypdf load with the first evidence file: most processes never check one.
    from PIL import Image

    image_format, end = IMAGES[content_type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=(image_format,)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    return (
                        f"the image declares {width} x {height} pixels, more than the "
                        f"{MAX_PIXELS:,} taken (a decompression bomb?)"
                    )
                # A JPEG is decoded at an eighth of its size: every part of it is still read.
                image.draft(image.mode, (width // 8 or 1, height // 8 or 1))
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return f"the image declares more than {MAX_PIXELS:,} pixels (a decompression bomb?)"
    # Pillow raises many kinds of error on broken or hostile files; each means the same here.
    except Exception as error:
        return f"not a whole JPEG or PNG image ({error})"
    if not content.endswith(end):
        return "data follows the end of the image (a file that is also something else)"
    return None


def _pdf_problem(content: bytes) -> str | None:
    """Why a PDF cannot be taken, or None."""
    from pypdf import PdfReader
    from pypdf.generic import DictionaryObject

    if not content.rstrip().endswith(b"%%EOF"):
        return "data follows the end of the PDF (a file that is also something else)"
    try:
        reader = PdfReader(io.BytesIO(content))
        catalogue = reader.trailer["/Root"].get_object()
        if not isinstance(catalogue, DictionaryObject):
            return "the PDF has no catalogue"
        if _runs_something(catalogue):
            return "the PDF carries scripts, automatic actions or embedded files"
        if not reader.pages:
            return "the PDF has no pages"
        decoded = 0
        for page in reader.pages:
            if "/AA" in page:
                return "the PDF carries scripts, automatic actions or embedded files"
            contents = page.get_contents()
            decoded += len(contents.get_data()) if contents is not None else 0
            if decoded > MAX_PDF_DECODED_BYTES:
                return (
                    f"the PDF's pages decode to more than {MAX_PDF_DECODED_BYTES // 2**20} MB "
                    "(a decompression bomb?)"
                )
    # pypdf raises many kinds of error on broken or hostile files; each means the same here.
    except Exception as error:
        return f"not a readable PDF ({error})"
    return None


def _runs_something(catalogue: DictionaryObject) -> bool:
    """Whether a PDF acts when opened (an open action that runs a script or a program, or
    additional actions) or carries scripts or other files in its name tree."""
    from pypdf.generic import DictionaryObject

    if "/AA" in catalogue:
        return True
    names = catalogue.get("/Names")
    if names is not None and {"/JavaScript", "/EmbeddedFiles"} & set(names.get_object()):
        return True
    action = catalogue.get("/OpenAction")
    action = action.get_object() if action is not None else None
    return isinstance(action, DictionaryObject) and action.get("/S") in ("/JavaScript", "/Launch")


def evidence_path(var_dir: Path, sha256: str) -> Path:
    return var_dir / "evidence" / sha256[:2] / sha256


def store_evidence(var_dir: Path, evidence: Evidence) -> None:
    """Write the file under its sha256, atomically (a reader never sees half a file)."""
    path = evidence_path(var_dir, evidence.sha256)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    with os.fdopen(handle, "wb") as out:
        out.write(evidence.content)
    os.replace(temporary, path)
