"""Identifiers of credit subjects: validate, decode, normalise and mask.

- resident identity number (公民身份号码), GB 11643-1999: natural persons;
- unified social credit code (统一社会信用代码, USCC), GB 32100-2015: organisations;
- organisation code (组织机构代码), GB 11714-1997: positions 9-17 of a USCC, and the key of
  organisations in records from before the USCC.

``parse`` never raises for bad input: it returns a ``ParsedIdentifier`` that tells valid codes,
malformed ones and *suspect* ones apart. Suspect means that only check characters are wrong;
registries have issued such codes, so ingest keeps them, flagged, when a registration
authority provides them. ``validate`` is the raising variant.
"""

from dataclasses import asdict, dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Literal

from xinyong.clock import china_today
from xinyong.identifiers import orgcode, resident_id, uscc
from xinyong.identifiers.normalise import normalise
from xinyong.identifiers.regions import region_name
from xinyong.identifiers.resident_id import Sex
from xinyong.identifiers.uscc import CodeName

__all__ = [
    "CodeName",
    "IdentifierKind",
    "InvalidIdentifier",
    "ParsedIdentifier",
    "Sex",
    "Status",
    "mask",
    "normalise",
    "parse",
    "parse_org_code",
    "parse_resident_id",
    "parse_uscc",
    "validate",
    "validate_org_code",
    "validate_resident_id",
    "validate_uscc",
]


class IdentifierKind(StrEnum):
    """Which standard a code follows; the value is the name used in JSON and on the CLI."""

    RESIDENT_ID = "resident_id"
    USCC = "uscc"
    ORG_CODE = "org_code"


Status = Literal["valid", "suspect", "invalid"]


@dataclass(frozen=True, slots=True)
class ParsedIdentifier:
    """The outcome of reading one identifier.

    ``code`` is the normalised input. ``valid`` means no errors; ``suspect`` means the only
    errors are wrong check characters. ``errors`` and ``warnings`` are sentences a clerk can
    act on. The decoded fields are filled for the kind they belong to, as far as the input
    allowed: ``region_code`` for both resident IDs and USCCs, ``birth_date`` and ``sex`` for
    resident IDs, the rest for USCCs.
    """

    raw: str
    code: str
    kind: IdentifierKind
    valid: bool
    suspect: bool
    errors: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    region_code: str | None = None
    birth_date: date | None = None
    sex: Sex | None = None
    registration_authority: CodeName | None = None
    entity_type: CodeName | None = None
    org_code: str | None = None
    org_code_valid: bool | None = None

    @property
    def status(self) -> Status:
        """``valid``, ``suspect`` (only check characters wrong) or ``invalid``."""
        if self.valid:
            return "valid"
        return "suspect" if self.suspect else "invalid"

    @property
    def masked(self) -> str:
        """The code as public views may show it (see ``mask``)."""
        return mask(self.code, self.kind)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict with the same keys for every kind (None where not applicable)."""
        return {
            "raw": self.raw,
            "code": self.code,
            "kind": self.kind.value,
            "status": self.status,
            "valid": self.valid,
            "suspect": self.suspect,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "masked": self.masked,
            "region_code": self.region_code,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "sex": self.sex,
            "registration_authority": _code_name(self.registration_authority),
            "entity_type": _code_name(self.entity_type),
            "org_code": self.org_code,
            "org_code_valid": self.org_code_valid,
        }


def _code_name(value: CodeName | None) -> dict[str, str] | None:
    return asdict(value) if value is not None else None


class InvalidIdentifier(ValueError):
    """Raised by the ``validate*`` functions; ``suspect`` is True if only checks are wrong."""

    def __init__(self, parsed: ParsedIdentifier) -> None:
        self.parsed = parsed
        self.reason = "; ".join(parsed.errors)
        self.suspect = parsed.suspect
        # The masked code: exception messages end up in logs, which are not public views.
        super().__init__(f"{parsed.status} {parsed.kind.value} {parsed.masked}: {self.reason}")


def parse_resident_id(raw: str, *, today: date | None = None) -> ParsedIdentifier:
    """Read ``raw`` as a GB 11643 resident identity number; birth dates after ``today`` fail."""
    return _resident_id(raw, normalise(raw), today)


def parse_uscc(raw: str) -> ParsedIdentifier:
    """Read ``raw`` as a GB 32100 unified social credit code."""
    return _uscc(raw, normalise(raw))


def parse_org_code(raw: str) -> ParsedIdentifier:
    """Read ``raw`` as a GB 11714 organisation code (``XXXXXXXX-X`` or without the hyphen)."""
    return _org_code(raw, normalise(raw))


def parse(
    raw: str, kind: IdentifierKind | None = None, *, today: date | None = None
) -> ParsedIdentifier:
    """Read ``raw`` as ``kind``, or detect the kind when it is None. Never raises for bad input.

    Detection, on the normalised code:

    - 18 characters shaped like a resident ID (17 digits, then a digit or X): a resident ID if
      it is valid as one. Otherwise a USCC if it is valid as one (all-digit USCCs exist).
      Otherwise, whichever reading the typist more likely meant: a resident ID if positions
      7-14 are a calendar date or its MOD 11-2 check holds, else a USCC.
    - any other 18 characters: a USCC;
    - at most 13 characters: an organisation code (9 once the hyphen is gone);
    - anything else: a resident ID if it is all digits (perhaps ending in X), else a USCC, so
      the errors speak of the kind the input looked like.
    """
    code = normalise(raw)
    if kind is None:
        found = _detect(raw, code, today)
    elif kind == IdentifierKind.RESIDENT_ID:
        found = _resident_id(raw, code, today)
    elif kind == IdentifierKind.USCC:
        found = _uscc(raw, code)
    else:
        found = _org_code(raw, code)
    return _division_checked(found)


NATIONAL = "100000"
"""The region code of a USCC issued at national level: not a division, and not a mistake."""


def _division_checked(found: ParsedIdentifier) -> ParsedIdentifier:
    """A warning when the region code names no division GB/T 2260 has ever listed."""
    region = found.region_code
    if region is None or region == NATIONAL or region_name(region) is not None:
        return found
    if not (len(region) == 6 and region.isascii() and region.isdigit()):
        return found  # the code is malformed, and its errors say so
    warning = f"region code {region} is not an administrative division GB/T 2260 has listed"
    return replace(found, warnings=(*found.warnings, warning))


def _detect(raw: str, code: str, today: date | None) -> ParsedIdentifier:
    if len(code) == 18:
        if not resident_id.has_shape(code):
            return _uscc(raw, code)
        person = _resident_id(raw, code, today)
        if person.valid:
            return person
        organisation = _uscc(raw, code)
        if organisation.valid:
            return organisation
        if person.birth_date is not None or resident_id.check_character(code[:17]) == code[17]:
            return person
        return organisation
    if len(code) <= 13:
        return _org_code(raw, code)
    digits = code.removesuffix("X")
    if digits.isascii() and digits.isdigit():
        return _resident_id(raw, code, today)
    return _uscc(raw, code)


def _resident_id(raw: str, code: str, today: date | None) -> ParsedIdentifier:
    found = resident_id.examine(code, today or china_today())
    return ParsedIdentifier(
        raw=raw,
        code=code,
        kind=IdentifierKind.RESIDENT_ID,
        valid=not found.errors,
        suspect=found.suspect,
        errors=found.errors,
        region_code=found.region_code,
        birth_date=found.birth_date,
        sex=found.sex,
    )


def _uscc(raw: str, code: str) -> ParsedIdentifier:
    found = uscc.examine(code)
    return ParsedIdentifier(
        raw=raw,
        code=code,
        kind=IdentifierKind.USCC,
        valid=not found.errors,
        suspect=found.suspect,
        errors=found.errors,
        warnings=found.warnings,
        region_code=found.region_code,
        registration_authority=found.registration_authority,
        entity_type=found.entity_type,
        org_code=found.org_code,
        org_code_valid=found.org_code_valid,
    )


def _org_code(raw: str, code: str) -> ParsedIdentifier:
    found = orgcode.examine(code)
    return ParsedIdentifier(
        raw=raw,
        code=code,
        kind=IdentifierKind.ORG_CODE,
        valid=not found.errors,
        suspect=found.suspect,
        errors=found.errors,
    )


def validate(
    raw: str, kind: IdentifierKind | None = None, *, today: date | None = None
) -> ParsedIdentifier:
    """Like ``parse``, but raise ``InvalidIdentifier`` unless the code is valid."""
    return _valid(parse(raw, kind, today=today))


def validate_resident_id(raw: str, *, today: date | None = None) -> ParsedIdentifier:
    """Like ``parse_resident_id``, but raise ``InvalidIdentifier`` unless the code is valid."""
    return _valid(parse_resident_id(raw, today=today))


def validate_uscc(raw: str) -> ParsedIdentifier:
    """Like ``parse_uscc``, but raise ``InvalidIdentifier`` unless the code is valid."""
    return _valid(parse_uscc(raw))


def validate_org_code(raw: str) -> ParsedIdentifier:
    """Like ``parse_org_code``, but raise ``InvalidIdentifier`` unless the code is valid."""
    return _valid(parse_org_code(raw))


def _valid(parsed: ParsedIdentifier) -> ParsedIdentifier:
    if not parsed.valid:
        raise InvalidIdentifier(parsed)
    return parsed


def mask(code: str, kind: IdentifierKind) -> str:
    """The code as public views may show it.

    Resident identity numbers lose their birth date (``110105********002X``); anything given
    as a resident ID that is not 18 characters is hidden entirely. USCCs and organisation codes
    are public registrations and are shown in full, normalised.
    """
    normalised = normalise(code)
    if kind == IdentifierKind.RESIDENT_ID:
        return resident_id.mask(normalised)
    return normalised
