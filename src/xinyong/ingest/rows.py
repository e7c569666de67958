"""What a row becomes after reading and validation: a record to store, or a reason to refuse it."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

# The record format's columns (docs/ingest.md), in the order CSV and Parquet files carry them.
RECORD_COLUMNS = (
    "record_type",
    "subject_id",
    "subject_name",
    "authority",
    "document_no",
    "decided_on",
    "effective_on",
    "severity",
    "amount",
    "fields",
    "op",
)


@dataclass(slots=True)
class Rejection:
    """A refused row: where it was, which field, and a reason a clerk can act on."""

    row_no: int
    field: str | None
    reason: str
    raw: str
    authority: str | None = None


@dataclass(slots=True)
class SubjectFacts:
    """What the identifier and the row tell about the subject."""

    identifier: str
    kind: str  # person | organisation
    name: str
    region: str | None
    org_type: str | None
    birth_date: date | None
    sex: str | None
    suspect: bool


@dataclass(slots=True)
class ValidRow:
    """A row that passed every check that needs no knowledge of the store."""

    row_no: int
    op: str  # submit | correct | withdraw
    document_key: str
    record_type: str
    authority: str
    document_no: str
    subject: SubjectFacts
    decided_on: date | None
    effective_on: date | None
    severity: str
    amount: Decimal | None
    fields: dict[str, Any]
    content_hash: str
    confirms_subject: bool
    legal_representative: SubjectFacts | None
    raw: str


def document_key(authority: str, record_type: str, document_no: str) -> str:
    """The identity of one decision across its versions."""
    return f"{authority}|{record_type}|{document_no}"
