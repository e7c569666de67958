"""Row validation against the catalogue: everything that can be decided without the store.

The checks run in the order a clerk would fix them, and the first failure is reported with the
field it concerns. Store-dependent rules (duplicates, corrections of unknown documents) are
decided by :mod:`xinyong.ingest.writer`.
"""

import hashlib
import math
import re
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from fastjsonschema import JsonSchemaValueException

from xinyong.identifiers import IdentifierKind, ParsedIdentifier, parse
from xinyong.ingest.readers import parse_json
from xinyong.ingest.rows import RECORD_COLUMNS, Rejection, SubjectFacts, ValidRow, document_key
from xinyong.ingest.values import RowInvalid, check_name, clean_row, shown
from xinyong.policy import FieldsValidator, Pack

OPS = ("submit", "correct", "withdraw")
COLUMNS = frozenset(RECORD_COLUMNS)
MAX_TEXT = {
    "document_no": 100,
    "subject_name": 200,
    "authority": 64,
    "record_type": 80,
    "subject_id": 64,
}
MAX_TEXT_BOUND = min(MAX_TEXT.values())  # text this short needs no per-column length check
MAX_FIELDS_BYTES = 16_384
MAX_AMOUNT = Decimal("1e13")  # 15 significant digits: exact in every backend
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
EARLIEST = date(1900, 1, 1)  # no decision the platform holds is older
# Amounts and days are written with ASCII digits: Decimal() and int() would also take "１２",
# "٣" or "²", which no clerk means as a number.
AMOUNT_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
DAY_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# What an identifier may be written with: ASCII letters and digits, and the spaces, dashes and
# full-width forms that ``xinyong.identifiers.normalise`` folds away; no other digit.
IDENTIFIER_TEXT = re.compile(
    "[0-9A-Za-z \\-\u3000\u2010-\u2015\u2212\uff0d\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]*"
)
NAME_FIELDS = ("name", "legal_representative_name")
KIND_OF_SUBJECT = {"person": IdentifierKind.RESIDENT_ID, "organisation": IdentifierKind.USCC}
SUBJECT_OF_KIND = {IdentifierKind.RESIDENT_ID: "person", IdentifierKind.USCC: "organisation"}
PARSED_CACHE = 200_000  # identifiers remembered per validator: a batch often repeats subjects


def content_hash(values: dict[str, Any]) -> str:
    """A stable digest of a record's content: equal content, equal hash, whatever the file format."""
    canonical = orjson.dumps(values, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.blake2b(canonical, digest_size=16).hexdigest()


class RowValidator:
    """Validates rows for one submission: one pack, one calendar day, maybe one authority."""

    def __init__(self, pack: Pack, today: date, *, authority: str | None = None) -> None:
        self.pack = pack
        self.today = today
        self.authority = authority
        self._allowed_kinds: dict[str, tuple[IdentifierKind, ...]] = {}
        self._parsed: dict[tuple[str, IdentifierKind | None], ParsedIdentifier] = {}
        # The pack's private attributes cost a pydantic lookup each; these run on every row.
        self._may_submit: dict[tuple[str, str], bool] = {}
        self._field_validators: dict[str, FieldsValidator] = {}
        # One object for each day and each catalogue code: a batch's verdicts are pickled to the
        # job's process, and pickle writes an object it has seen as a reference to it, which the
        # job reads back without building the value again (dates and codes recur across rows).
        self._days: dict[object, date] = {}

    def _parse(self, raw_id: str, kind: IdentifierKind | None = None) -> ParsedIdentifier:
        """``parse`` for this validator's day, cached: the same subjects recur across rows."""
        key = (raw_id, kind)
        parsed = self._parsed.get(key)
        if parsed is None:
            if len(self._parsed) >= PARSED_CACHE:
                self._parsed.clear()
            parsed = self._parsed[key] = parse(raw_id, kind, today=self.today)
        return parsed

    def _kinds(self, code: str) -> tuple[IdentifierKind, ...]:
        """The identifier kinds a record type's subjects carry (cached: this runs on every row)."""
        kinds = self._allowed_kinds.get(code)
        if kinds is None:
            subject_kinds = self.pack.record_types[code].subject_kinds
            kinds = self._allowed_kinds[code] = tuple(
                KIND_OF_SUBJECT[str(k)] for k in subject_kinds
            )
        return kinds

    def validate(self, row_no: int, row: dict[str, Any], raw: str) -> ValidRow | Rejection:
        try:
            return self._validate(row_no, row, raw)
        except RowInvalid as invalid:
            claimed = row.get("authority")
            if (
                self.authority is None
                and isinstance(claimed, str)
                and claimed in self.pack.authorities
            ):
                return Rejection(row_no, invalid.field, invalid.reason, raw, claimed)
            return Rejection(row_no, invalid.field, invalid.reason, raw, self.authority)

    def _validate(self, row_no: int, row: dict[str, Any], raw: str) -> ValidRow:
        clean_row(row)
        if not COLUMNS.issuperset(row):
            unknown = sorted(set(row) - COLUMNS)
            raise RowInvalid(unknown[0], f"unknown column '{shown(unknown[0])}'")
        op = _text(row, "op", required=False) or "submit"
        if op not in OPS:
            raise RowInvalid("op", f"op must be one of {', '.join(OPS)}, not '{shown(op)}'")
        op = sys.intern(op)

        code = _text(row, "record_type")
        record_type = self.pack.record_types.get(code)
        if record_type is None:
            raise RowInvalid("record_type", f"record type '{shown(code)}' is not in the catalogue")
        code = sys.intern(code)
        authority = _text(row, "authority", required=self.authority is None) or self.authority
        assert authority is not None
        if self.authority is not None and authority != self.authority:
            raise RowInvalid(
                "authority",
                f"row is for '{authority}' but this submission is for '{self.authority}'",
            )
        if authority not in self.pack.authorities:
            raise RowInvalid("authority", f"authority '{authority}' is not known")
        authority = sys.intern(authority)
        permitted = self._may_submit.get((authority, code))
        if permitted is None:
            permitted = self._may_submit[(authority, code)] = self.pack.may_submit(authority, code)
        if not permitted:
            raise RowInvalid("authority", f"authority '{authority}' may not submit '{code}'")
        document_no = _text(row, "document_no")
        check_name("document_no", document_no)

        registration_authority = self.pack.authorities[authority].registration_authority
        subject = self._subject(row, self._kinds(code), registration_authority)
        key = document_key(authority, code, document_no)
        if op == "withdraw":
            return ValidRow(
                row_no=row_no,
                op=op,
                document_key=key,
                record_type=code,
                authority=authority,
                document_no=document_no,
                subject=subject,
                decided_on=None,
                effective_on=None,
                severity="",
                amount=None,
                fields={},
                content_hash="",
                confirms_subject=False,
                legal_representative=None,
                raw=raw,
            )
        # Withdrawing its own decision is open to an authority; saying anything new is not,
        # outside its jurisdiction.
        refusal = self.pack.jurisdiction.refusal(authority, code, subject.kind, subject.identifier)
        if refusal is not None:
            raise RowInvalid("authority", refusal)

        decided_on = self._date(row, "decided_on")
        effective_on = self._date(row, "effective_on")
        if effective_on < decided_on:
            raise RowInvalid(
                "effective_on", f"effective_on {effective_on} is before decided_on {decided_on}"
            )
        severity = sys.intern(self._severity(row, record_type.severities))
        amount = self._amount(row, record_type.amount)
        fields = self._fields(row, code)
        representative = self._representative(fields)
        digest = content_hash(
            {
                "subject": subject.identifier,
                "subject_name": subject.name,
                "decided_on": decided_on,
                "effective_on": effective_on,
                "severity": severity,
                "amount": None if amount is None else str(amount),
                "fields": fields,
            }
        )
        return ValidRow(
            row_no=row_no,
            op=op,
            document_key=key,
            record_type=code,
            authority=authority,
            document_no=document_no,
            subject=subject,
            decided_on=decided_on,
            effective_on=effective_on,
            severity=severity,
            amount=amount,
            fields=fields,
            content_hash=digest,
            confirms_subject=record_type.confirms_subject,
            legal_representative=representative,
            raw=raw,
        )

    def _subject(
        self, row: dict[str, Any], allowed: tuple[IdentifierKind, ...], registration_authority: bool
    ) -> SubjectFacts:
        raw_id = _identifier_text("subject_id", _text(row, "subject_id"))
        parsed = self._parse(raw_id)
        if parsed.kind not in allowed:
            expected = " or ".join(
                "a resident identity number" if k is IdentifierKind.RESIDENT_ID else "a USCC"
                for k in allowed
            )
            raise RowInvalid("subject_id", f"'{shown(raw_id)}' is not {expected}")
        if not parsed.valid and not (parsed.suspect and registration_authority):
            raise RowInvalid("subject_id", "; ".join(parsed.errors) or "invalid identifier")
        name = _text(row, "subject_name", required=row.get("op") != "withdraw") or ""
        check_name("subject_name", name)
        return SubjectFacts(
            identifier=parsed.code,
            kind=SUBJECT_OF_KIND[parsed.kind],
            name=name,
            region=_shared(parsed.region_code),
            org_type=sys.intern(parsed.code[:2]) if parsed.kind is IdentifierKind.USCC else None,
            birth_date=self._day(parsed.birth_date),
            sex=parsed.sex,
            suspect=parsed.suspect,
        )

    def _representative(self, fields: dict[str, Any]) -> SubjectFacts | None:
        raw_id = fields.get("legal_representative_id")
        if not isinstance(raw_id, str):
            return None
        parsed = self._parse(
            _identifier_text("fields.legal_representative_id", raw_id), IdentifierKind.RESIDENT_ID
        )
        if not parsed.valid:
            reason = "; ".join(parsed.errors) or "invalid resident identity number"
            raise RowInvalid("fields.legal_representative_id", reason)
        name = fields.get("legal_representative_name")
        return SubjectFacts(
            identifier=parsed.code,
            kind="person",
            name=name if isinstance(name, str) else "",
            region=_shared(parsed.region_code),
            org_type=None,
            birth_date=self._day(parsed.birth_date),
            sex=parsed.sex,
            suspect=False,
        )

    def _day(self, day: date | None) -> date | None:
        """``day`` as the one object this validator hands out for it."""
        return None if day is None else self._days.setdefault(day, day)

    def _date(self, row: dict[str, Any], column: str) -> date:
        value = row.get(column)
        known = self._days.get(value) if type(value) is str else None
        if known is not None:  # a day's text seen before, already checked
            return known
        parsed = self._checked_date(value, column)
        shared = self._days.setdefault(parsed, parsed)
        if type(value) is str:
            self._days[value] = shared
        return shared

    def _checked_date(self, value: Any, column: str) -> date:
        if isinstance(value, str) and DAY_TEXT.fullmatch(value):  # the usual case first
            try:
                parsed = date.fromisoformat(value)
            except ValueError:
                raise RowInvalid(column, f"{column} '{value}' is not a real date") from None
        elif isinstance(value, datetime):  # a Parquet timestamp: a day only if it is midnight
            if value.tzinfo is not None or value != datetime.combine(value, datetime.min.time()):
                raise RowInvalid(column, f"{column} must be a day, not the instant {value}")
            parsed = value.date()
        elif isinstance(value, date):
            parsed = value
        elif value is None or value == "":
            raise RowInvalid(column, f"{column} is required")
        else:
            raise RowInvalid(
                column, f"{column} must be a date written YYYY-MM-DD, not '{shown(value)}'"
            )
        if parsed > self.today:
            raise RowInvalid(column, f"{column} {parsed} is in the future")
        if parsed < EARLIEST:
            raise RowInvalid(column, f"{column} {parsed} is before {EARLIEST}")
        return parsed

    def _severity(self, row: dict[str, Any], grades: Any) -> str:
        severity = _text(row, "severity", required=False)
        if not severity:
            if len(grades) == 1:
                return str(next(iter(grades)))
            raise RowInvalid("severity", f"severity is required: one of {', '.join(grades)}")
        if severity not in grades:
            raise RowInvalid(
                "severity",
                f"severity '{shown(severity)}' is not one of {', '.join(grades)} for this type",
            )
        return severity

    def _amount(self, row: dict[str, Any], rule: str) -> Decimal | None:
        value = row.get("amount")
        if value is None or value == "":
            if rule == "required":
                raise RowInvalid("amount", "amount is required for this record type")
            return None
        if rule == "forbidden":
            raise RowInvalid("amount", "this record type carries no amount")
        if isinstance(value, str) and AMOUNT_TEXT.fullmatch(value.strip()):
            amount = Decimal(value.strip())
        elif isinstance(value, float) and math.isfinite(value):
            amount = Decimal(repr(value))  # the shortest text that reads back as this float
        elif isinstance(value, int) and not isinstance(value, bool):
            amount = Decimal(value)
        else:
            raise RowInvalid(
                "amount", f"amount must be a number such as 1200.50, not '{shown(value)}'"
            )
        if not 0 <= amount < MAX_AMOUNT:
            raise RowInvalid("amount", f"amount {shown(value)} is out of range (0 to 10^13 yuan)")
        if amount != amount.quantize(CENT):
            raise RowInvalid("amount", f"amount {shown(value)} has fractions of a fen")
        # -0 is 0: one stored value, and one text in the ledger, whatever the row wrote.
        return amount.quantize(CENT) if amount else ZERO

    def _fields(self, row: dict[str, Any], code: str) -> dict[str, Any]:
        fields = row.get("fields")
        if fields is None or fields == "":
            fields = {}
        if isinstance(fields, str):
            try:
                fields = parse_json(fields)
            except ValueError as error:
                raise RowInvalid("fields", f"fields: {error}") from None
            if isinstance(fields, dict):
                clean_row(fields, path="fields", level=2)
        if not isinstance(fields, dict):
            raise RowInvalid("fields", "fields must be a JSON object")
        if len(orjson.dumps(fields)) > MAX_FIELDS_BYTES:
            raise RowInvalid("fields", f"fields is longer than {MAX_FIELDS_BYTES} bytes")
        check = self._field_validators.get(code)
        if check is None:
            check = self._field_validators[code] = self.pack.validator(code)
        try:
            check(fields)
        except JsonSchemaValueException as error:
            # fastjsonschema names the failing value "data.<path>"; the clerk knows it as fields.<path>
            name = error.name or "data"
            where = "fields" + name.removeprefix("data")
            if error.rule == "required" and isinstance(error.value, dict):
                missing = [name for name in error.rule_definition if name not in error.value]
                raise RowInvalid(
                    f"{where}.{missing[0]}", f"{where}.{missing[0]} is required"
                ) from None
            raise RowInvalid(where, f"{where} {error.message.removeprefix(name + ' ')}") from None
        for name in NAME_FIELDS:
            if isinstance(fields.get(name), str):
                check_name(f"fields.{name}", fields[name])
        return fields


def _shared(text: str | None) -> str | None:
    """A code of a bounded set (a region) as one object, for pickle to write once a batch."""
    return None if text is None else sys.intern(text)


def _identifier_text(field: str, text: str) -> str:
    if not text.isascii() and not IDENTIFIER_TEXT.fullmatch(text):
        wrong = next(char for char in text if not IDENTIFIER_TEXT.fullmatch(char))
        raise RowInvalid(
            field,
            f"{field} holds '{shown(wrong)}' (U+{ord(wrong):04X}): an identifier is written "
            "with the letters and digits 0-9 and A-Z",
        )
    return text


def _text(row: dict[str, Any], column: str, *, required: bool = True) -> str:
    value = row.get(column)
    if type(value) is str and value and len(value) <= MAX_TEXT_BOUND:  # the usual case, fast
        return value.strip()
    if value is None or value == "":
        if required:
            raise RowInvalid(column, f"{column} is required")
        return ""
    if not isinstance(value, str):
        raise RowInvalid(column, f"{column} must be text")
    value = value.strip()
    limit = MAX_TEXT.get(column)
    if limit is not None and len(value) > limit:
        raise RowInvalid(column, f"{column} is longer than {limit} characters")
    return value
