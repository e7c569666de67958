"""Deliberately malformed rows, planted so that ingest's quarantine has real work to do.

Each planted row is a copy of a good row with exactly one thing wrong, under a document
number of its own, so the good row it came from is still ingested. Each kind breaks a rule
that ingest can check without the store.
"""

import random
from datetime import date, timedelta
from typing import Any

from xinyong.identifiers import IdentifierKind, resident_id, uscc
from xinyong.policy import Authority, Pack
from xinyong.synth.conduct import PERSON, Subject
from xinyong.synth.days import add_years
from xinyong.synth.documents import DocumentNumbers
from xinyong.synth.population import miskeyed
from xinyong.synth.writers import fields_text

BAD_CHECK_CHARACTER = "bad_check_character"
FUTURE_DECISION = "future_decision"
EFFECTIVE_BEFORE_DECIDED = "effective_before_decided"
UNKNOWN_SEVERITY = "unknown_severity"
MISSING_REQUIRED_FIELD = "missing_required_field"
WRONG_FIELD_TYPE = "wrong_field_type"
UNKNOWN_RECORD_TYPE = "unknown_record_type"
AUTHORITY_NOT_ALLOWED = "authority_not_allowed"
OUTSIDE_JURISDICTION = "outside_jurisdiction"
MALFORMED_FIELDS_JSON = "malformed_fields_json"
OVER_LONG_TEXT = "over_long_text"

DEFECT_KINDS = (
    BAD_CHECK_CHARACTER,
    FUTURE_DECISION,
    EFFECTIVE_BEFORE_DECIDED,
    UNKNOWN_SEVERITY,
    MISSING_REQUIRED_FIELD,
    WRONG_FIELD_TYPE,
    UNKNOWN_RECORD_TYPE,
    AUTHORITY_NOT_ALLOWED,
    OUTSIDE_JURISDICTION,
    MALFORMED_FIELDS_JSON,
    OVER_LONG_TEXT,
)

# Codes a clerk might type that are not in any catalogue item.
_UNCATALOGUED = (
    "court.mediation_agreement",
    "market.annual_report_late",
    "tax.invoice_irregularity",
    "police.traffic_offence",
    "hrss.labour_dispute",
    "transport.parking_offence",
)
_UNKNOWN_GRADES = ("critical", "severe", "grave", "特别严重")
_FUTURE_YEARS = 10
# A planted future date lies at least this far past the as-of date, so that it is still in
# the future when the files are ingested some time later.
_FUTURE_MARGIN_YEARS = 2

Row = dict[str, Any]


class DefectPlanter:
    def __init__(self, pack: Pack, numbers: DocumentNumbers, as_of: date) -> None:
        self._pack = pack
        self._numbers = numbers
        self._as_of = as_of
        self._well_after = add_years(as_of, _FUTURE_MARGIN_YEARS)
        self._uncatalogued = [code for code in _UNCATALOGUED if code not in pack.record_types]
        self._registration_authorities = sorted(
            code for code, authority in pack.authorities.items() if authority.registration_authority
        )

    def plant(
        self, rng: random.Random, good: Row, subject: Subject, authority: Authority
    ) -> tuple[Row, str]:
        """A malformed copy of the submitted row ``good`` and the kind of its defect."""
        kind = rng.choice([k for k in DEFECT_KINDS if self._applies(k, good, subject, authority)])
        row = dict(good)
        row["fields"] = dict(good["fields"])
        if kind == UNKNOWN_RECORD_TYPE:
            row["record_type"] = rng.choice(self._uncatalogued)
        elif kind == AUTHORITY_NOT_ALLOWED:
            row["authority"] = rng.choice(self._not_allowed(good, subject))
        elif kind == OUTSIDE_JURISDICTION:
            row["authority"] = rng.choice(self._out_of_reach(good, subject))
        self._renumber(row, good)
        self._spoil(rng, kind, row, subject)
        return row, kind

    def _applies(self, kind: str, row: Row, subject: Subject, authority: Authority) -> bool:
        """Whether ``row`` can carry a defect of ``kind`` and that defect alone."""
        if kind == BAD_CHECK_CHARACTER:
            return not authority.registration_authority  # from one, a bad check is accepted
        if kind == MISSING_REQUIRED_FIELD:
            return bool(self._required_present(row))
        if kind == WRONG_FIELD_TYPE:
            return bool(self._typed_present(row))
        if kind == AUTHORITY_NOT_ALLOWED:
            return bool(self._not_allowed(row, subject))
        if kind == OUTSIDE_JURISDICTION:
            return bool(self._out_of_reach(row, subject))
        if kind == OVER_LONG_TEXT:
            return bool(self._bounded_texts(row))
        if kind == UNKNOWN_RECORD_TYPE:
            return bool(self._uncatalogued)
        return True

    def _spoil(self, rng: random.Random, kind: str, row: Row, subject: Subject) -> None:
        if kind == BAD_CHECK_CHARACTER:
            code = row["subject_id"]
            person = subject.kind == PERSON
            alphabet = resident_id.CHECK_CHARACTERS if person else uscc.ALPHABET
            candidates = [code[:17] + ch for ch in alphabet if ch != code[17]]
            reading = IdentifierKind.RESIDENT_ID if person else IdentifierKind.USCC
            row["subject_id"] = miskeyed(candidates, reading, rng, self._as_of)
        elif kind == FUTURE_DECISION:
            # A typo of a decade (2034 for 2024), of as many decades as it takes to land well
            # after the as-of date even for an old registration.
            years = _FUTURE_YEARS
            while add_years(_day(row["decided_on"]), years) <= self._well_after:
                years += _FUTURE_YEARS
            for column in ("decided_on", "effective_on"):
                row[column] = add_years(_day(row[column]), years).isoformat()
        elif kind == EFFECTIVE_BEFORE_DECIDED:
            earlier = _day(row["decided_on"]) - timedelta(days=rng.randint(1, 30))
            row["effective_on"] = earlier.isoformat()
        elif kind == UNKNOWN_SEVERITY:
            grades = self._pack.record_types[row["record_type"]].severities
            row["severity"] = rng.choice(
                [grade for grade in _UNKNOWN_GRADES if grade not in grades]
            )
        elif kind == MISSING_REQUIRED_FIELD:
            del row["fields"][rng.choice(self._required_present(row))]
        elif kind == WRONG_FIELD_TYPE:
            name, json_type = rng.choice(self._typed_present(row))
            # A number written out in words, a code typed as a bare number.
            row["fields"][name] = "十二" if json_type in ("integer", "number", "boolean") else 12345
        elif kind == MALFORMED_FIELDS_JSON:
            text = fields_text(row["fields"])
            row["fields"] = text[: len(text) - rng.randint(1, min(len(text) - 1, 8))]
        elif kind == OVER_LONG_TEXT:
            name, limit = rng.choice(self._bounded_texts(row))
            # The whole decision pasted into one cell.
            value = str(row["fields"][name])
            row["fields"][name] = (value * (limit // max(1, len(value)) + 2))[
                : limit + rng.randint(1, 200)
            ]

    def _renumber(self, row: Row, good: Row) -> None:
        """A number of the planted row's own; fields that repeat the document number follow."""
        number = self._numbers.issue(row["authority"], row["record_type"], _day(row["decided_on"]))
        for name, value in row["fields"].items():
            if value == good["document_no"]:
                row["fields"][name] = number
        row["document_no"] = number

    def _schema(self, row: Row) -> dict[str, Any]:
        return self._pack.record_types[row["record_type"]].fields

    def _required_present(self, row: Row) -> list[str]:
        required = self._schema(row).get("required")
        return (
            [name for name in required or () if name in row["fields"]]
            if isinstance(required, list)
            else []
        )

    def _typed_present(self, row: Row) -> list[tuple[str, str]]:
        properties = self._schema(row).get("properties") or {}
        assert isinstance(properties, dict)
        return [
            (name, str(schema["type"]))
            for name, schema in properties.items()
            if name in row["fields"]
            and isinstance(schema, dict)
            and isinstance(schema.get("type"), str)
        ]

    def _bounded_texts(self, row: Row) -> list[tuple[str, int]]:
        properties = self._schema(row).get("properties") or {}
        assert isinstance(properties, dict)
        return [
            (name, int(schema["maxLength"]))
            for name, schema in properties.items()
            if name in row["fields"]
            and isinstance(schema, dict)
            and schema.get("type") == "string"
            and isinstance(schema.get("maxLength"), int)
            and "enum" not in schema
        ]

    def _not_allowed(self, row: Row, subject: Subject) -> list[str]:
        return [
            code
            for code in self._candidates(subject)
            if not self._pack.may_submit(code, row["record_type"])
        ]

    def _out_of_reach(self, row: Row, subject: Subject) -> list[str]:
        """Authorities that may submit the row's type, but not about this subject: another
        district's office, or an office that does not register it."""
        record_type = row["record_type"]
        return [
            code
            for code in self._candidates(subject)
            if self._pack.may_submit(code, record_type)
            and self._pack.jurisdiction.refusal(code, record_type, subject.kind, subject.identifier)
        ]

    def _candidates(self, subject: Subject) -> list[str]:
        # A suspect code stays acceptable only from a registration authority, so the planted
        # row must come from one too, or it would be wrong twice.
        if subject.suspect:
            return self._registration_authorities
        return sorted(self._pack.authorities)


def _day(text: str) -> date:
    return date.fromisoformat(text)
