"""Evidence files sent with an objection: checked by their content, stored by their sha256.

The declared content type and the file name are the sender's claims; the type is read from the
file's first bytes (its magic number), and only PDF, JPEG and PNG are taken. Files are stored
content-addressed under ``<var>/evidence/``, so a file written by a request that then failed is
harmless and a file sent twice is stored once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import filetype

MAX_FILES = 5
MAX_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_BYTES = MAX_FILES * MAX_BYTES + 2**20
"""The largest body of an objection: every file at its largest, with room for the form."""
ALLOWED_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


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
        checked.append(Evidence(name, content_type, content))
    return checked


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
