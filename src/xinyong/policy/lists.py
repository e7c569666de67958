"""Lists: black (失信), red (守信) and watch (重点关注) lists and their rules (``lists.yaml``).

A list says which records put a subject on it (entry rules), for how long (duration, and the
extension an authority may add), which records take it off again (removal), and the
measures its own legal basis applies. Memoranda add more measures to lists they name.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, JsonValue, PositiveInt, model_validator

from xinyong.policy.authorities import AuthorityCode
from xinyong.policy.catalogue import RecordTypeCode, Severity
from xinyong.policy.models import (
    Bilingual,
    CodedModel,
    ItemDocument,
    LegalBasis,
    NonEmpty,
    PolicyModel,
)


class ListKind(StrEnum):
    BLACK = "black"
    RED = "red"
    WATCH = "watch"


class Extension(StrEnum):
    """Whether a measure also binds the legal representative of a listed organisation."""

    NONE = "none"
    WHILE_REPRESENTING = "while_representing"
    """The person who represents the organisation at the time of the check."""
    AT_LISTING = "at_listing"
    """The person who represented it when it was listed, wherever they are now (a bar on
    serving as legal representative elsewhere)."""


class EntryRule(PolicyModel):
    """Records that put a subject on the list: one record type, and conditions on it."""

    record_type: RecordTypeCode
    """The grounding record type."""
    severities: tuple[Severity, ...] = ()
    """Grades that qualify; empty means every grade of the type."""
    min_amount: float | None = None
    """Least amount (yuan) that qualifies; records without an amount then do not."""
    fields: dict[str, tuple[JsonValue, ...]] = Field(default_factory=dict)
    """Field name to the values that qualify (``grade: [A]``)."""


class ExtensionRule(PolicyModel):
    """An extension the deciding authority may add, read from a field of the grounding record."""

    field: NonEmpty
    """Field of the grounding record holding the months added."""
    max_months: PositiveInt
    """The most that may be added; a larger value is cut to it."""


class RemovalRule(PolicyModel):
    """Records that end an entry early."""

    record_types: tuple[RecordTypeCode, ...] = Field(min_length=1)
    """Types whose records end the entry, from their effective date."""
    same_fields: tuple[NonEmpty, ...] = ()
    """Fields whose values must equal the grounding record's (``case_no``: performance in one
    case does not end a listing in another)."""


class AppliedMeasure(PolicyModel):
    """A measure a list or memorandum applies, and whether it binds legal representatives."""

    measure: NonEmpty
    """Code of the measure."""
    extends_to_legal_representative: Extension = Extension.NONE
    """See ``Extension``."""
    months: PositiveInt | None = None
    """Applies for at most this many months from the start of the entry (a 1-year travel
    ban on a 3-year listing); ``null`` for as long as the entry."""


class CreditList(CodedModel):
    """A black, red or watch list."""

    code: NonEmpty
    """Stable identifier, e.g. ``court.defaulters``."""
    kind: ListKind
    """Black, red or watch."""
    name: Bilingual
    """Name in Chinese and English."""
    owner: AuthorityCode
    """The authority that keeps the list."""
    legal_basis: tuple[LegalBasis, ...] = Field(min_length=1)
    """The law that creates the list."""
    entry: tuple[EntryRule, ...] = Field(min_length=1)
    """A record matching any rule puts its subject on the list."""
    duration_months: PositiveInt
    """How long an entry lasts from the grounding record's effective date; never beyond the
    record's own maximum publicity period."""
    extension: ExtensionRule | None = None
    """An extension the authority may add to the duration."""
    removal: RemovalRule | None = None
    """Records that end an entry before its duration."""
    measures: tuple[AppliedMeasure, ...] = ()
    """Measures the list's own legal basis applies (memoranda add others)."""
    published: bool = False
    """Its owner publishes the list itself, even where the records that ground it are not
    public (the tax service publishes its A-grade taxpayers; the ratings stay shared). An
    entry then shows the organisation, the list and its dates, never the record. Only
    record types of organisations may ground such a list."""

    @model_validator(mode="after")
    def _no_repeated_measures(self) -> CreditList:
        codes = [applied.measure for applied in self.measures]
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        if repeated:
            raise ValueError(f"measures listed more than once: {', '.join(repeated)}")
        return self


class ListsDocument(ItemDocument):
    """The file ``lists.yaml``: a list of lists."""

    lists: tuple[CreditList, ...] = Field(min_length=1)
    """The lists of this pack."""

    def items(self) -> tuple[CreditList, ...]:
        return self.lists
