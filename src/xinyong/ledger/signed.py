"""Signed documents: any bytes, vouched for by an Ed25519 key in a C2SP signed note.

Published datasets, relying-party feeds and the check reports of mirrors travel as a document
(the exact bytes: a manifest, a feed head, a batch) beside a signed note whose text names
what the document is and its SHA-256::

    xinyong-signed/1
    dataset-manifest
    3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b

    — credit.example.gov.cn/ledger keuIzHQyDIQBEWOGmPNS28eVD24UIqlhymke...

The note is the signed-note format the ledger's checkpoints use, with the same keys, so
anything that checks a checkpoint can check a document (Go's ``golang.org/x/mod/sumdb/note``
included): open the note with the key, compare the kind, hash the document, compare. The
first line keeps a document note from ever reading as a checkpoint (whose first line is the
log's origin and second a tree size) and the kind keeps one kind of document from standing in
for another. Nothing here knows what is inside a document.
"""

from __future__ import annotations

import hashlib
import re

from xinyong.ledger.checkpoint import (
    CheckpointError,
    SigningKey,
    VerifierKey,
    open_note,
    sign_note,
)

FORMAT = "xinyong-signed/1"
_KIND = re.compile(r"[a-z][a-z0-9-]{0,63}")


class SignatureError(ValueError):
    """A note that is malformed, signed by another key, for another kind, or for other bytes."""


def digest(document: bytes) -> str:
    """SHA-256 of ``document``, hex: what a note signs and what a manifest lists."""
    return hashlib.sha256(document).hexdigest()


def sign(document: bytes, kind: str, key: SigningKey) -> str:
    """The signed note by ``key`` vouching that ``document`` is a ``kind``."""
    if not _KIND.fullmatch(kind):
        raise ValueError(f"a kind is lower-case letters, digits and '-': {kind!r}")
    return sign_note(f"{FORMAT}\n{kind}\n{digest(document)}\n", key)


def verify(document: bytes, note: str, kind: str, key: VerifierKey) -> None:
    """Return if ``note`` is ``key``'s signature on ``document`` as a ``kind``; else raise
    ``SignatureError`` saying why."""
    try:
        text = open_note(note, key)
    except CheckpointError as error:
        raise SignatureError(str(error)) from None
    lines = text.split("\n")[:-1]
    if len(lines) != 3 or lines[0] != FORMAT:
        raise SignatureError(f"not a {FORMAT} note")
    if lines[1] != kind:
        raise SignatureError(f"the note signs a {lines[1]!r}, not a {kind!r}")
    if lines[2] != digest(document):
        raise SignatureError(f"the {kind} was changed after it was signed: its SHA-256 differs")
