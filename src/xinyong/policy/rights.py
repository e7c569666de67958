"""Rights procedures: the working-day deadlines of objections and repairs (``rights.yaml``).

Each item is one procedure (``objection`` or ``repair``): within how many working days the
record is marked, the case decided and the case closed, on which legal basis, and for repair
the record types that cannot be repaired at all.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from enum import StrEnum

from pydantic import Field, PositiveInt, model_validator

from xinyong.policy.catalogue import RecordTypeCode
from xinyong.policy.errors import Location
from xinyong.policy.models import Bilingual, CodedModel, ItemDocument, LegalBasis


class ProcedureCode(StrEnum):
    OBJECTION = "objection"
    """异议: the subject disputes a record; it is marked disputed and checked."""
    REPAIR = "repair"
    """信用修复: the subject corrected the conduct and asks to end publicity early."""


class RightsProcedure(CodedModel):
    """The deadlines of one procedure, in working days from the day the case is received."""

    code: ProcedureCode
    """``objection`` or ``repair``."""
    name: Bilingual
    """Name in Chinese and English."""
    legal_basis: tuple[LegalBasis, ...] = Field(min_length=1)
    """The rules the deadlines come from."""
    mark_within: PositiveInt | None = None
    """Objections only: working days within which the record is marked disputed."""
    decide_within: PositiveInt
    """Working days within which the deciding authority decides."""
    close_within: PositiveInt
    """Working days within which the whole case ends, at the latest."""
    unrepairable: tuple[RecordTypeCode, ...] = ()
    """Repair only: record types whose records cannot be repaired."""

    @model_validator(mode="after")
    def _consistent(self) -> RightsProcedure:
        if self.decide_within > self.close_within:
            raise ValueError(
                f"decide_within ({self.decide_within}) is after close_within ({self.close_within})"
            )
        if self.code is ProcedureCode.OBJECTION:
            if self.mark_within is None:
                raise ValueError("an objection procedure needs mark_within")
            if self.mark_within > self.decide_within:
                raise ValueError("mark_within is after decide_within")
            if self.unrepairable:
                raise ValueError("unrepairable belongs to the repair procedure")
        elif self.mark_within is not None:
            raise ValueError("mark_within belongs to the objection procedure")
        return self


class RightsDocument(ItemDocument):
    """The file ``rights.yaml``: the procedures of this pack."""

    rights: tuple[RightsProcedure, ...] = Field(min_length=1)
    """The procedures, at most one of each code."""

    def items(self) -> tuple[RightsProcedure, ...]:
        return self.rights


def rights_problems(
    procedure: RightsProcedure, known_types: Collection[str]
) -> Iterator[tuple[Location, str]]:
    """References from a procedure to record types the pack does not have."""
    for index, code in enumerate(procedure.unrepairable):
        if code not in known_types:
            yield ("unrepairable", index), f"unknown record type {code!r}"
