"""What a row becomes after reading and validation: a record to store, or a reason to refuse it."""

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from operator import attrgetter
from typing import Any, TypeVar

T = TypeVar("T")

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


def pickled_as_arguments(cls: type[T]) -> type[T]:
    """Pickle instances of a slotted dataclass as the arguments of its constructor.

    Verdicts cross from validation workers by the thousand; the unpickling dataclasses give a
    slotted class sets each field in a Python loop over ``fields()``, several times the cost of
    calling the class."""
    values = attrgetter(*(field.name for field in fields(cls)))  # type: ignore[arg-type]

    def reduce(self: T) -> tuple[type[T], tuple[Any, ...]]:
        return cls, values(self)

    setattr(cls, "__reduce__", reduce)  # noqa: B010
    return cls


@pickled_as_arguments
@dataclass(slots=True)
class Rejection:
    """A refused row: where it was, which field, and a reason a clerk can act on."""

    row_no: int
    field: str | None
    reason: str
    raw: str
    authority: str | None = None


@pickled_as_arguments
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


@pickled_as_arguments
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
    # The content members of the event that stores this row as a new version, hashed ahead for
    # a subject of ``subject.kind`` by the validation worker (``xinyong.ingest.pool``): a seal
    # (``xinyong.ledger.commitment.seal``); None where the row was validated here.
    sealed: bytes | None = None


def document_key(authority: str, record_type: str, document_no: str) -> str:
    """The identity of one decision across its versions."""
    return f"{authority}|{record_type}|{document_no}"
