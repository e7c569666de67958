"""Verification codes of credit reports: who issued a report, when, to whom, covering what.

A code is ``XY1.<claims>.<signature>`` (base64url): the claims are a small JSON object (report
number, issue time, issuer, to whom, what it covers, the subject's name and identifier as the
report shows them, the day it speaks for, and the SHA-256 of the report's canonical content),
signed with Ed25519 by the platform's report key. The report key is its own, not the ledger's:
a signature by the ledger key means "this is the log", and one key should not sign two kinds
of statement. It is created on first use under ``<var_dir>/reports/signing.key`` (mode 0600) in
the ledger's signed-note key format, and its public half is served at ``/v1/verify/key``.

A code alone confirms the claims and nothing else: what the report shows is not in it. An
uploaded PDF is checked in full: its metadata carries the code, the report's content and the
name of the renderer that printed it (``/Creator``, see ``subjects.pdf``); the content must hash
to the signed digest, and printing it again with that renderer must give the uploaded bytes,
so that any change to the file, seen or unseen, is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import zlib
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import orjson

from xinyong.ledger.checkpoint import SigningKey, VerifierKey, read_signing_key
from xinyong.subjects.report import METADATA_PREFIX, Report, render_pdf

PREFIX = "XY1."
KEY_NAME = "xinyong-reports"
DOMAIN = b"xinyong credit report v1\n"
"""Signed before the claims, so that the signature means nothing in another protocol."""
MAX_CODE = 4096
MAX_CONTENT = 8 * 2**20


class NotGenuine(Exception):
    """The code or the file is not a report this platform issued, as issued."""


@dataclass(frozen=True)
class Claims:
    number: str
    issued_at: str
    issuer: str
    issued_to: str
    covering: str
    name: str
    identifier: str
    as_of: str
    digest: str
    """SHA-256 of the report's canonical content, hex."""


def claims_of(report: Report) -> Claims:
    return Claims(
        number=report.number,
        issued_at=report.issued_at,
        issuer=report.issuer,
        issued_to=report.issued_to,
        covering=report.covering,
        name=report.name,
        identifier=report.identifier,
        as_of=report.as_of,
        digest=hashlib.sha256(report.content()).hexdigest(),
    )


def report_key(path: Path) -> SigningKey:
    """The report key at ``path``, created there on first use (by one process only: the file
    appears complete or not at all)."""
    try:
        return read_signing_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = SigningKey.generate(KEY_NAME)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(key.encode() + "\n")
    try:
        os.link(draft, path)
    except FileExistsError:
        return read_signing_key(path)
    finally:
        draft.unlink()
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(report: Report, key: SigningKey) -> str:
    """The verification code of ``report``."""
    claims = orjson.dumps(claims_of(report), option=orjson.OPT_SORT_KEYS)
    return f"{PREFIX}{_b64(claims)}.{_b64(key.sign(DOMAIN + claims))}"


def read_code(code: str, verifier: VerifierKey) -> Claims:
    """The claims of a genuine code; ``NotGenuine`` for anything else."""
    text = "".join(code.split())  # a code copied from print may carry line breaks
    if len(text) > MAX_CODE or not text.startswith(PREFIX) or text.count(".") != 2:
        raise NotGenuine("this is not a verification code of this platform")
    encoded_claims, encoded_signature = text.removeprefix(PREFIX).split(".")
    try:
        claims, signature = _unb64(encoded_claims), _unb64(encoded_signature)
    except (binascii.Error, ValueError):
        raise NotGenuine("the code is damaged: check that it was copied whole") from None
    if not verifier.verify(DOMAIN + claims, signature):
        raise NotGenuine("the code's signature does not verify: the code was altered or forged")
    try:
        return Claims(**orjson.loads(claims))
    except (orjson.JSONDecodeError, TypeError):
        raise NotGenuine("the code's content is not a report's") from None


def read_pdf(data: bytes, verifier: VerifierKey) -> tuple[Claims, Report]:
    """The claims and content of an uploaded PDF that is a report exactly as issued."""
    # pypdf and the renderers load with the first report checked: most processes never check one.
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    from xinyong.subjects.pdf import RENDERERS

    try:
        metadata = PdfReader(BytesIO(data)).metadata
    except (PdfReadError, ValueError, OSError, KeyError, TypeError, AttributeError, IndexError):
        raise NotGenuine("this file is not a readable PDF") from None
    except RecursionError:  # a hostile file nests objects without end
        raise NotGenuine("this file is not a readable PDF") from None
    code = str(metadata.get("/Keywords", "")) if metadata else ""
    packed = str(metadata.get("/Subject", "")) if metadata else ""
    renderer = str(metadata.get("/Creator", "")) if metadata else ""
    if not code.startswith(PREFIX) or not packed.startswith(METADATA_PREFIX):
        raise NotGenuine("this PDF is not a credit report of this platform")
    if renderer not in RENDERERS:
        raise NotGenuine(
            "this PDF names a renderer this platform never printed reports with: "
            "it is not a report as issued"
        )
    claims = read_code(code, verifier)
    try:
        packed_content = base64.b64decode(packed.removeprefix(METADATA_PREFIX), validate=True)
        content = zlib.decompressobj().decompress(packed_content, MAX_CONTENT)
    except (binascii.Error, ValueError, zlib.error):
        raise NotGenuine("the report's content in this PDF is damaged") from None
    # Checked before it is read: only content the platform signed is ever parsed.
    if hashlib.sha256(content).hexdigest() != claims.digest:
        raise NotGenuine("the report's content was altered after it was issued")
    report = Report.from_content(content)
    if render_pdf(report, code, renderer) != data:
        raise NotGenuine("this PDF was altered after it was issued: it is not the report as issued")
    return claims, report
